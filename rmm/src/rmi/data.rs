// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_DATA_CREATE, RMI_DATA_CREATE_UNKNOWN and RMI_DATA_DESTROY: protected pages of a realm.
//!
//! Check order is the reference RMM's (`docs/reference/tf-rmm-rel0-facts.md` §11.8–11.10):
//! DATA_CREATE checks its flags and the source page first, then locks the data granule and
//! the RD, then refuses a realm that is not NEW *before* looking at the IPA; a fault reading
//! the source is `RMI_ERROR_INPUT` after the table checks. The source is copied once,
//! straight into the data granule (no copy on the stack), and measured there: what is
//! measured is exactly what the realm gets, and the host cannot change it after the fact. A
//! fault part way through the copy leaves the granule DELEGATED, so it is zeroed again before
//! the error (every unlocked DELEGATED granule reads as zero: `rmi/granule.rs`).

use super::apt::host_error;
use super::args::{DataCreateArgs, DataCreateUnknownArgs, DataDestroyArgs};
use super::error::{Handled, RmiError};
use super::locks::{lock_rd, lock_two, tracked};
use super::rtt_args::{PA_LIMIT, data_ipa};
use crate::GRANULE_SIZE;
use crate::arch::Machine;
use crate::granule::GranuleAddr;
use crate::invariant;
use crate::locks;
use crate::monitor::Monitor;
use crate::realm::descriptor::{Rd, RealmConfig};
use crate::rtt::entry::Entry;
use crate::rtt::level::RttLevel;
use crate::rtt::walk::walk;
use crate::sharing::csm_rd;
use crate::sharing::lock::CsmGuard;
use crate::sharing::lock::LockedRds;
use crate::sharing::operation::Operation;
use crate::sharing::store::{GranuleStore, empty_cell};
use attest::measurement::{MEASURE_CONTENT, extend_data};
use csm::HostError;
use rmm_abi::rmi::states::{GranuleState, RealmState, Ripas};

/// What DATA_CREATE puts in the granule.
enum Content {
    /// A copy of host page `src`, measured into the RIM with `flags`.
    Copy { src: u64, flags: u64 },
    /// Nothing (the granule stays zero); not measured.
    Unknown,
}

/// Handles RMI_DATA_CREATE(x1 = rd, x2 = data, x3 = ipa, x4 = src, x5 = flags).
#[inline(always)]
pub fn create(monitor: &Monitor, machine: &impl Machine, args: DataCreateArgs) -> Handled {
    let DataCreateArgs {
        rd,
        data,
        ipa,
        src,
        flags,
    } = args;
    if flags > MEASURE_CONTENT {
        return Err(RmiError::Input.into());
    }
    let src_addr = tracked(&monitor.granules, src)?;
    if monitor.granules.state_unlocked(src_addr) != Some(GranuleState::Undelegated) {
        return Err(RmiError::Input.into());
    }
    populate(
        monitor,
        machine,
        rd,
        data,
        ipa,
        Content::Copy { src, flags },
    )?;
    Ok([])
}

/// Handles RMI_DATA_CREATE_UNKNOWN(x1 = rd, x2 = data, x3 = ipa).
#[inline(always)]
pub fn create_unknown(
    monitor: &Monitor,
    machine: &impl Machine,
    args: DataCreateUnknownArgs,
) -> Handled {
    let DataCreateUnknownArgs { rd, data, ipa } = args;
    populate(monitor, machine, rd, data, ipa, Content::Unknown)?;
    Ok([])
}

fn populate(
    monitor: &Monitor,
    machine: &impl Machine,
    rd_pa: u64,
    data_pa: u64,
    ipa: u64,
    content: Content,
) -> Result<(), RmiError> {
    let (mut data, rd) = lock_two(
        &monitor.granules,
        (data_pa, GranuleState::Delegated),
        (rd_pa, GranuleState::Rd),
    )?;
    let realm = Rd::new(machine, rd.addr());
    // Only measured content is refused once the realm runs: unknown content may be added
    // to an active realm (the host populating memory the realm accepted).
    if matches!(content, Content::Copy { .. }) && realm.state() != RealmState::New {
        return Err(RmiError::Realm(0));
    }
    let config = realm.config();
    let s2 = config.s2;
    data_ipa(&s2, ipa)?;
    if data.addr().get() >= PA_LIMIT {
        return Err(RmiError::Input);
    }
    let mut leaf = walk(&monitor.granules, machine, &s2, ipa, RttLevel::LEAF);
    if leaf.level != RttLevel::LEAF {
        return Err(RmiError::Rtt(leaf.level));
    }
    let Entry::Unassigned(ripas) = leaf.entry(machine) else {
        return Err(RmiError::Rtt(RttLevel::LEAF));
    };
    let pa = data.addr().get();
    let entry = match content {
        Content::Copy { src, flags } => {
            let src = tracked(&monitor.granules, src)?;
            if machine.copy_ns_to_realm(src, data.addr()).is_err() {
                // The granule stays DELEGATED: clear what the copy wrote before the fault.
                machine.zero_granule(data.addr());
                return Err(RmiError::Input);
            }
            // Measured in place (on hardware the granule is lent, not copied).
            let engine = machine.sha2_engine();
            let rim = realm.rim();
            let rim = machine.with_realm_value(data.addr(), 0, |page: &mut [u8; GRANULE_SIZE]| {
                extend_data(engine, config.hash, &rim, ipa, flags, page)
            });
            realm.set_rim(&rim);
            // Measured content is always mapped as RAM, whatever the RIPAS was.
            Entry::Assigned {
                pa,
                ripas: Ripas::Ram,
            }
        }
        Content::Unknown => Entry::Assigned { pa, ripas },
    };
    leaf.set(machine, entry);
    leaf.count_entry();
    data.set_state(GranuleState::Data);
    Ok(())
}

/// Handles RMI_DATA_DESTROY(x1 = rd, x2 = ipa) → x1 = data PA, x2 = top.
///
/// Everything is checked before anything changes: the entry, then the DATA granule it maps,
/// locked (RD, tables root to leaf, then the DATA granule: `docs/locking.md`). An assigned
/// entry whose granule is not DATA can only be an RMM bug, and stops the monitor.
///
/// A CSM realm's page may be a provider page of a live region: the region becomes Damaged
/// and every consumer's window is unmapped (RIPAS DESTROYED) and invalidated before the page
/// is zeroed (`docs/csm.md`). For such a realm the command takes the CSM lock and every RD
/// its table names first (`docs/locking.md`): it looks at the RD's APT binding under the RD
/// lock, and if there is one starts again in that order.
#[inline(always)]
pub fn destroy(monitor: &Monitor, machine: &impl Machine, args: DataDestroyArgs) -> Handled<2> {
    let DataDestroyArgs { rd, ipa } = args;
    let named = {
        let (rd, config) = lock_rd(monitor, machine, rd)?;
        if !cfg!(feature = "csm") || Rd::new(machine, rd.addr()).apt().is_none() {
            return destroy_locked(monitor, machine, &config, ipa, |_| Ok(()));
        }
        rd.addr()
    };
    destroy_csm(monitor, machine, named, ipa)
}

/// DATA_DESTROY of a CSM realm: the CSM lock, every RD its table names, then the walk, with
/// the state machine's check and effects before the page changes. Out of line, and on the CSM
/// stack: the plan and the locks are not on the stack of every DATA_DESTROY.
#[cold]
#[inline(never)]
fn destroy_csm(
    monitor: &Monitor,
    machine: &impl Machine,
    named: GranuleAddr,
    ipa: u64,
) -> Handled<2> {
    destroy_csm_locked(monitor, machine, named, ipa, monitor.csm.lock())
}

/// [`destroy_csm`] with the CSM lock held.
fn destroy_csm_locked(
    monitor: &Monitor,
    machine: &impl Machine,
    named: GranuleAddr,
    ipa: u64,
    csm: CsmGuard<'_>,
) -> Handled<2> {
    let (own, peer) = (empty_cell(), empty_cell());
    let cells = [&own, &peer];
    let mut store = GranuleStore::new(machine, &cells);
    let mut rds = LockedRds::new();
    let mut op = Operation::begin(&monitor.granules, csm, named, None, &mut store, &mut rds)
        .map_err(|_| RmiError::Input)?;
    let config = Rd::new(machine, named).config();
    destroy_locked(monitor, machine, &config, ipa, |ipa| {
        op.check(HostError::AptCorrupt, |csm, store, _, plan| {
            csm.fw_check_data_destroy(store, csm_rd(named), ipa, plan)
        })
        .map_err(host_error)?;
        op.commit();
        Ok(())
    })
}

/// DATA_DESTROY with the realm's RD (and, for a CSM realm, the CSM lock and its peers' RDs)
/// held; `csm` runs once the entry is known to be assigned and before it changes.
fn destroy_locked(
    monitor: &Monitor,
    machine: &impl Machine,
    config: &RealmConfig,
    ipa: u64,
    csm: impl FnOnce(u64) -> Result<(), RmiError>,
) -> Handled<2> {
    let s2 = config.s2;
    data_ipa(&s2, ipa)?;
    let mut leaf = walk(&monitor.granules, machine, &s2, ipa, RttLevel::LEAF);
    if leaf.level != RttLevel::LEAF {
        let top = leaf.nonlive_top(machine, ipa);
        return Err(RmiError::Rtt(leaf.level).with([0, top]));
    }
    let Entry::Assigned { pa, ripas } = leaf.entry(machine) else {
        let top = leaf.nonlive_top(machine, ipa);
        return Err(RmiError::Rtt(RttLevel::LEAF).with([0, top]));
    };
    let mut data = GranuleAddr::new(pa)
        .and_then(|addr| locks::owned_inline(&monitor.granules, addr, GranuleState::Data))
        .unwrap_or_else(|| invariant::broken_at("an assigned entry maps a non-DATA granule", pa));
    csm(ipa)?;
    let after = match ripas {
        Ripas::Empty => Ripas::Empty,
        Ripas::Ram | Ripas::Destroyed => Ripas::Destroyed,
    };
    leaf.replace(machine, config.vmid, ipa, Entry::Unassigned(after));
    leaf.uncount_entry();
    machine.zero_granule(data.addr());
    data.set_state(GranuleState::Delegated);
    Ok([pa, leaf.nonlive_top(machine, ipa)])
}
