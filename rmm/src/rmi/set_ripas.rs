// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_RTT_SET_RIPAS: the host carrying out (part of) the RIPAS change a REC asked for with
//! RSI_IPA_STATE_SET.
//!
//! Check order, outputs and the per-entry rules are the reference RMM's
//! (`docs/reference/tf-rmm-rel0-realm-execution-facts.md` §6): `top <= base` before anything
//! is looked up; the RD and the REC locked together (ERROR_INPUT); a running REC or one of
//! another realm is ERROR_REC; the call must continue exactly where the change stands
//! (`base` = the REC's next address, `top` within the range asked for). Then, unlike the
//! reference (which never looks at it), a `top` that is not granule aligned is ERROR_INPUT
//! (the specification's `top_gran_align`, ordered before `no_progress`), before the walk:
//! an unaligned `top` never changes anything. The walk from
//! `base` stops at the deepest existing table; whole entries of that one table are changed
//! while they fit under `top`, and the first entry that cannot change ends the call. x1 is
//! the first address not changed, which the REC remembers; the change stays pending until
//! the next REC_ENTER tells the realm.

use super::args::SetRipasArgs;
use super::error::{Handled, Refusal, RmiError};
use super::locks::lock_two;
use crate::arch::Machine;
use crate::invariant;
use crate::monitor::Monitor;
use crate::realm::descriptor::Rd;
use crate::realm::rec::Rec;
use crate::rtt::change::invalidate_vmid;
use crate::rtt::entry::Entry;
use crate::rtt::level::{ENTRIES, RttLevel};
use crate::rtt::walk::walk;
use crate::sharing::lock::CsmGuard;
use crate::sharing::ripas::check_ripas_change;
use rmm_abi::rmi::states::{GranuleState, Ripas};

/// Handles RMI_RTT_SET_RIPAS(x1 = rd, x2 = rec, x3 = base, x4 = top) → x1 = the first
/// address not changed.
///
/// For a CSM realm the change is checked again under the CSM lock (S11, `docs/csm.md`): the
/// realm's RSI_IPA_STATE_SET was checked when it was made, but another REC of the realm may
/// have created a region or accepted a window in the range since. A range that touches the
/// realm's regions or windows is `RMI_ERROR_INPUT` and changes nothing. The CSM lock comes
/// before the RD (`docs/locking.md`): the binding is read under the RD lock, and for a CSM
/// realm the command starts again with the CSM lock held.
#[inline(always)]
pub fn handle(monitor: &Monitor, machine: &impl Machine, args: SetRipasArgs) -> Handled<1> {
    match apply(monitor, machine, args, None) {
        Err(Retry::WithCsmLock) => {
            let mut csm = monitor.csm.lock();
            match apply(monitor, machine, args, Some(&mut csm)) {
                Ok(out) => Ok(out),
                Err(Retry::Refused(refusal)) => Err(refusal),
                Err(Retry::WithCsmLock) => {
                    invariant::broken("RTT_SET_RIPAS asked twice for the CSM lock")
                }
            }
        }
        Err(Retry::Refused(refusal)) => Err(refusal),
        Ok(out) => Ok(out),
    }
}

/// Why [`apply`] did not finish.
enum Retry {
    /// The command's refusal.
    Refused(Refusal),
    /// The realm is a CSM realm and the CSM lock is not held: nothing was changed.
    WithCsmLock,
}

impl From<RmiError> for Retry {
    fn from(error: RmiError) -> Self {
        Retry::Refused(error.into())
    }
}

fn apply(
    monitor: &Monitor,
    machine: &impl Machine,
    args: SetRipasArgs,
    csm: Option<&mut CsmGuard<'_>>,
) -> Result<[u64; 1], Retry> {
    let SetRipasArgs {
        rd: rd_pa,
        rec: rec_pa,
        base,
        top,
    } = args;
    if top <= base {
        return Err(RmiError::Input.into());
    }
    let (rd, rec_granule) = lock_two(
        &monitor.granules,
        (rd_pa, GranuleState::Rd),
        (rec_pa, GranuleState::Rec),
    )?;
    if rec_granule.refcount() != 0 {
        return Err(RmiError::Rec.into());
    }
    let rec = Rec::new(machine, rec_granule.addr());
    if rec.rd() != rd.addr() {
        return Err(RmiError::Rec.into());
    }
    let change = rec.ripas_change();
    if base != change.addr || top > change.top {
        return Err(RmiError::Input.into());
    }
    if !top.is_multiple_of(crate::GRANULE_SIZE as u64) {
        return Err(RmiError::Input.into());
    }
    let realm = Rd::new(machine, rd.addr());
    if let Some(apt) = realm.apt().filter(|_| cfg!(feature = "csm")) {
        let Some(csm) = csm else {
            return Err(Retry::WithCsmLock);
        };
        csm_allows(csm, machine, rd.addr(), apt, base, top)?;
    }
    let config = realm.config();
    let s2 = config.s2;
    // `base` is the REC's next address, which RSI_IPA_STATE_SET kept inside the protected
    // half; the reference RMM reports a base outside the IPA space at the walk's level too.
    if !s2.in_par(base) {
        return Err(RmiError::Input.into());
    }
    let at = walk(&monitor.granules, machine, &s2, base, RttLevel::LEAF);
    let level = at.level;
    if !level.is_aligned(base) {
        return Err(RmiError::Rtt(level).into());
    }
    let size = level.entry_size();
    let mut addr = base;
    let mut invalidate = false;
    for index in at.index..ENTRIES {
        let next = addr + size;
        if next > top {
            break;
        }
        let raw = machine.read_word(at.table.addr(), index);
        let Some(changed) =
            Entry::decode(raw, level).with_ripas(change.ripas, change.change_destroyed)
        else {
            break;
        };
        invalidate |= at.batch_at(machine, index, raw, changed);
        addr = next;
    }
    if invalidate {
        // RAM taken away from the realm: no CPU may keep using the old mapping once the
        // host is told the change is done.
        invalidate_vmid(machine, config.vmid);
    }
    if addr == base {
        return Err(RmiError::Rtt(level).into());
    }
    rec.set_ripas_change(&crate::realm::rec::RipasChange { addr, ..change });
    Ok([addr])
}

/// S11 under the CSM lock: `[base, top)` may not touch the realm's regions or windows
/// (`RMI_ERROR_INPUT`; the check itself is out of line, so the state machine's plan is not
/// on every call's stack).
fn csm_allows(
    csm: &mut CsmGuard<'_>,
    machine: &impl Machine,
    rd: crate::granule::GranuleAddr,
    apt: crate::granule::GranuleAddr,
    base: u64,
    top: u64,
) -> Result<(), RmiError> {
    let range = apt::IpaRange::new(base, top - base).ok_or(RmiError::Input)?;
    check_ripas_change(csm, machine, rd, apt, range).map_err(|_| RmiError::Input)
}

/// What RTT_SET_RIPAS may do to one entry.
trait RipasUpdate: Sized {
    /// The entry with RIPAS `ripas`, or `None` if it cannot change (a table, the
    /// unprotected half, a CSM alias, or DESTROYED without `change_destroyed`).
    fn with_ripas(self, ripas: Ripas, change_destroyed: bool) -> Option<Self>;
}

impl RipasUpdate for Entry {
    fn with_ripas(self, ripas: Ripas, change_destroyed: bool) -> Option<Self> {
        match self {
            Entry::Unassigned(Ripas::Destroyed)
            | Entry::Assigned {
                ripas: Ripas::Destroyed,
                ..
            } if !change_destroyed => None,
            Entry::Unassigned(_) => Some(Entry::Unassigned(ripas)),
            Entry::Assigned { pa, .. } => Some(Entry::Assigned { pa, ripas }),
            // A CSM alias keeps RIPAS RAM while it exists: the change stops there.
            Entry::Table(_)
            | Entry::UnassignedNs
            | Entry::AssignedNs { .. }
            | Entry::Alias { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_change_stops_at_a_csm_alias_whatever_is_asked() {
        let alias = Entry::Alias {
            pa: 0x8800_0000,
            writable: true,
        };
        for ripas in [Ripas::Empty, Ripas::Ram] {
            for change_destroyed in [false, true] {
                assert_eq!(alias.with_ripas(ripas, change_destroyed), None);
            }
        }
        assert_eq!(
            Entry::Unassigned(Ripas::Ram).with_ripas(Ripas::Empty, false),
            Some(Entry::Unassigned(Ripas::Empty))
        );
    }
}
