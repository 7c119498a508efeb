// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_REALM_CREATE, RMI_REALM_ACTIVATE and RMI_REALM_DESTROY.
//!
//! Check order is the reference RMM's (TF-RMM `runtime/rmi/realm.c`, rmm-spec-v1.0-rel0;
//! `docs/reference/tf-rmm-rel0-facts.md` §5–7). The realm's VMID is claimed during
//! validation and released on every later failure and on destroy.

use super::args::{RdArgs, RealmCreateArgs};
use super::error::{Handled, RmiError};
use super::locks::{LockedRun, lock_one};
use super::realm_params::{self, HostRealmParams, ValidParams};
use crate::GRANULE_SIZE;
use crate::arch::Machine;
use crate::granule::LockedGranule;
use crate::monitor::Monitor;
use crate::realm::descriptor::{Rd, RealmConfig};
use crate::rtt::change::{build_entry, invalidate_vmid};
use crate::rtt::entry::Entry;
use crate::rtt::level::ENTRIES;
use crate::rtt::walk::Stage2;
use attest::measurement::rim_init;
use rmm_abi::rmi::states::{GranuleState, RealmState};

/// Handles RMI_REALM_CREATE(x1 = rd, x2 = params PA).
#[inline(always)]
pub fn create(monitor: &Monitor, machine: &impl Machine, args: RealmCreateArgs) -> Handled {
    let RealmCreateArgs {
        rd: rd_pa,
        params: params_pa,
    } = args;
    let params = HostRealmParams::read(&monitor.granules, machine, params_pa)?;
    let valid = realm_params::validate(&params, monitor.config.features, monitor.config.vmid_bits)?;
    // The VMID is reserved last in validation; from here on every failure releases it.
    if !monitor.vmids.claim(valid.vmid) {
        return Err(RmiError::Input.into());
    }
    if let Err(error) = lock_and_build(monitor, machine, rd_pa, &valid, &params) {
        monitor.vmids.release(valid.vmid);
        return Err(error.into());
    }
    Ok([])
}

fn lock_and_build(
    monitor: &Monitor,
    machine: &impl Machine,
    rd_pa: u64,
    valid: &ValidParams,
    params: &HostRealmParams,
) -> Result<(), RmiError> {
    let s2 = valid.s2;
    let base = s2.rtt_base.get();
    let roots_end = base.checked_add(s2.num_roots * GRANULE_SIZE as u64);
    // The RD may not be one of the root tables. (If the range wraps, the reference RMM's
    // containment test is false; locking the roots then fails anyway.)
    if roots_end.is_some_and(|end| rd_pa >= base && rd_pa < end) {
        return Err(RmiError::Input);
    }
    // External granules in ascending address order.
    let granules = &monitor.granules;
    let (mut rd, mut roots) = if rd_pa < base {
        let rd = lock_one(granules, rd_pa, GranuleState::Delegated)?;
        let roots = LockedRun::lock(granules, base, s2.num_roots, GranuleState::Delegated)?;
        (rd, roots)
    } else {
        let roots = LockedRun::lock(granules, base, s2.num_roots, GranuleState::Delegated)?;
        let rd = lock_one(granules, rd_pa, GranuleState::Delegated)?;
        (rd, roots)
    };

    let config = RealmConfig {
        s2,
        vmid: valid.vmid,
        hash: valid.measured.hash_algo,
        flags: valid.measured.flags,
        sve_vl: valid.measured.sve_vl as u8,
        num_bps: valid.measured.num_bps as u8,
        num_wps: valid.measured.num_wps as u8,
        pmu_num_ctrs: valid.measured.pmu_num_ctrs as u8,
    };
    let rim = rim_init(machine.sha2_engine(), &valid.measured);
    Rd::new(machine, rd.addr()).initialise(&config, &params.rpv, &rim);
    for (n, root) in roots.iter_mut().enumerate() {
        init_root(machine, &s2, n as u64, root);
        root.set_state(GranuleState::Rtt);
    }
    rd.set_state(GranuleState::Rd);
    Ok(())
}

/// Fills root table `n`: entries in the protected half stay UNASSIGNED EMPTY (all-zero, as
/// the delegated granule already is); entries in the unprotected half become UNASSIGNED_NS;
/// entries past the IPA space stay zero.
fn init_root(machine: &impl Machine, s2: &Stage2, n: u64, table: &LockedGranule<'_>) {
    let level = s2.start_level;
    let first_ipa = n * level.table_span();
    for index in 0..ENTRIES {
        let ipa = first_ipa + index as u64 * level.entry_size();
        if !s2.in_ipa_space(ipa) {
            break;
        }
        if !s2.in_par(ipa) {
            build_entry(machine, table, level, index, Entry::UnassignedNs);
        }
    }
}

/// Handles RMI_REALM_ACTIVATE(x1 = rd).
#[inline(always)]
pub fn activate(monitor: &Monitor, machine: &impl Machine, args: RdArgs) -> Handled {
    let rd = lock_one(&monitor.granules, args.rd, GranuleState::Rd)?;
    let realm = Rd::new(machine, rd.addr());
    if realm.state() != RealmState::New {
        return Err(RmiError::Realm(0).into());
    }
    realm.set_state(RealmState::Active);
    Ok([])
}

/// Locks `raw` as an RD that no REC references: wrong address or state is ERROR_INPUT, a
/// live REC is ERROR_REALM.
fn lock_unused_rd<'t>(monitor: &'t Monitor, raw: u64) -> Result<LockedGranule<'t>, RmiError> {
    let rd = lock_one(&monitor.granules, raw, GranuleState::Rd)?;
    if rd.refcount() != 0 {
        return Err(RmiError::Realm(0));
    }
    Ok(rd)
}

/// Handles RMI_REALM_DESTROY(x1 = rd).
#[inline(always)]
pub fn destroy(monitor: &Monitor, machine: &impl Machine, args: RdArgs) -> Handled {
    let RdArgs { rd: rd_pa } = args;
    let mut rd = lock_unused_rd(monitor, rd_pa)?;
    // A CSM realm keeps its RD until RMI_APT_DESTROY (S6): peers' tables name it. The binding
    // changes only under the RD lock, held here, so the CSM lock is not needed to read it.
    if Rd::new(machine, rd.addr()).apt().is_some() {
        return Err(RmiError::Realm(0).into());
    }
    let config = Rd::new(machine, rd.addr()).config();
    let s2 = config.s2;
    // The roots are internal granules now (state RTT), reached through the locked RD.
    let mut roots = LockedRun::lock(
        &monitor.granules,
        s2.rtt_base.get(),
        s2.num_roots,
        GranuleState::Rtt,
    )
    .map_err(|_| RmiError::Realm(0))?;
    // Live tables or protected memory under any root keep the realm alive. Unprotected
    // mappings are not counted (reference RMM rule) and go with the roots.
    if roots.iter().any(|root| root.refcount() != 0) {
        return Err(RmiError::Realm(0).into());
    }
    for root in roots.iter_mut() {
        machine.zero_granule(root.addr());
        root.set_state(GranuleState::Delegated);
    }
    // Entries of the unprotected half may have been valid mappings: no TLB entry may outlive
    // them, and none may be inherited by the next realm with this VMID.
    invalidate_vmid(machine, config.vmid);
    monitor.vmids.release(config.vmid);
    machine.zero_granule(rd.addr());
    rd.set_state(GranuleState::Delegated);
    Ok([])
}
