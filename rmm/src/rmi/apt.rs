// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_APT_CREATE and RMI_APT_DESTROY (Confidential Shared Memory, `docs/csm.md`): binding
//! a host-donated granule to a NEW realm as its Access Permission Table, which makes it a
//! CSM realm with a fresh RealmId, and unbinding it, which tears down every alias of and into
//! the realm.
//!
//! Locks (`docs/locking.md`): the CSM lock first; CREATE then locks the RD and the DELEGATED
//! granule as external granules in ascending address order; DESTROY locks every RD the
//! realm's table names, ascending, then the APT granule. Every check is made before anything
//! changes; errors in the order `docs/csm.md` lists them. Both take the CSM lock first.

use super::args::AptArgs;
use super::error::{Handled, RmiError};
use super::locks::{lock_two, tracked};
use crate::arch::Machine;
use crate::granule::GranuleAddr;
use crate::invariant;
use crate::locks;
use crate::monitor::Monitor;
use crate::realm::descriptor::Rd;
use crate::sharing::csm_rd;
use crate::sharing::lock::CsmGuard;
use crate::sharing::lock::LockedRds;
use crate::sharing::operation::Operation;
use crate::sharing::store::{GranuleStore, empty_cell};
use csm::HostError;
use rmm_abi::rmi::states::GranuleState;

/// The RMI error for a refusal of the state machine (a corrupt table stops the monitor
/// before it gets here).
pub fn host_error(error: HostError) -> RmiError {
    match error {
        HostError::RealmNotNew
        | HostError::AptBound
        | HostError::NoApt
        | HostError::Full
        | HostError::IdsExhausted
        | HostError::AptCorrupt => RmiError::Realm(0),
        HostError::WrongApt | HostError::BadPar => RmiError::Input,
        HostError::AliasEntry => RmiError::Rtt(crate::rtt::level::RttLevel::LEAF),
    }
}

/// Handles RMI_APT_CREATE(x1 = rd, x2 = apt).
#[inline(always)]
pub fn create(monitor: &Monitor, machine: &impl Machine, args: AptArgs) -> Handled {
    create_locked(monitor, machine, args, monitor.csm.lock())
}

/// [`create`] with the CSM lock held.
fn create_locked(
    monitor: &Monitor,
    machine: &impl Machine,
    args: AptArgs,
    mut guard: CsmGuard<'_>,
) -> Handled {
    let (rd, mut apt) = lock_two(
        &monitor.granules,
        (args.rd, GranuleState::Rd),
        (args.apt, GranuleState::Delegated),
    )?;
    let realm = Rd::new(machine, rd.addr());
    // APT_CREATE only writes the new, empty table: one cell, the commit's working table.
    let working = empty_cell();
    let cells = [&working];
    let mut store = GranuleStore::new(machine, &cells);
    store.add(csm_rd(rd.addr()), apt.addr());
    let state = &mut *guard;
    state
        .csm
        .fw_check_apt_create(
            csm_rd(rd.addr()),
            apt.addr().get(),
            realm.state(),
            realm.config().s2.par_end(),
            &mut state.plan,
        )
        .map_err(checked(host_error))?;
    apt.set_state(GranuleState::Apt);
    if state.csm.fw_commit(&state.plan, &mut store).is_err() {
        invariant::broken_at("a checked APT_CREATE did not commit", apt.addr().get());
    }
    realm.set_apt(Some(apt.addr()));
    Ok([])
}

/// Handles RMI_APT_DESTROY(x1 = rd, x2 = apt).
#[inline(always)]
pub fn destroy(monitor: &Monitor, machine: &impl Machine, args: AptArgs) -> Handled {
    let named = tracked(&monitor.granules, args.rd)?;
    destroy_locked(monitor, machine, args, named, monitor.csm.lock())
}

/// [`destroy`] with the CSM lock held.
fn destroy_locked(
    monitor: &Monitor,
    machine: &impl Machine,
    args: AptArgs,
    named: GranuleAddr,
    csm: CsmGuard<'_>,
) -> Handled {
    let (own, peer) = (empty_cell(), empty_cell());
    let cells = [&own, &peer];
    let mut store = GranuleStore::new(machine, &cells);
    let mut rds = LockedRds::new();
    let mut op = Operation::begin(&monitor.granules, csm, named, None, &mut store, &mut rds)
        .map_err(|_| RmiError::Input)?;
    op.check(HostError::AptCorrupt, |csm, store, _, plan| {
        csm.fw_check_apt_destroy(store, csm_rd(named), args.apt, plan)
    })
    .map_err(host_error)?;
    // The bound granule (the check compared it with x2): after the RD locks.
    let Some(apt_addr) = Rd::new(machine, named).apt() else {
        invariant::broken_at("a CSM realm's RD names no APT", named.get());
    };
    let mut apt =
        locks::owned(&monitor.granules, apt_addr, GranuleState::Apt).unwrap_or_else(|| {
            invariant::broken_at("an RD's APT is not an APT granule", apt_addr.get())
        });
    // Commits and unmaps every alias of and into the realm, invalidating, a batch of
    // relations per step, under the same locks (the last step zeroes the APT). A step after
    // the first that is refused can only be an RMM bug: the first made every check.
    while op.commit().reply == csm::Reply::Partial {
        op.check(HostError::AptCorrupt, |csm, store, _, plan| {
            csm.fw_check_apt_destroy(store, csm_rd(named), args.apt, plan)
        })
        .unwrap_or_else(|_| {
            invariant::broken_at("a later APT_DESTROY step was refused", named.get())
        });
    }
    Rd::new(machine, named).set_apt(None);
    apt.set_state(GranuleState::Delegated);
    Ok([])
}

/// `map` for a refusal; a corrupt table can only be an RMM bug and stops the monitor.
fn checked(map: fn(HostError) -> RmiError) -> impl Fn(HostError) -> RmiError {
    move |error| {
        if error == HostError::AptCorrupt {
            invariant::broken("an APT does not decode (APT command)");
        }
        map(error)
    }
}
