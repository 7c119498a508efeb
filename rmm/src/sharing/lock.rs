// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CSM lock and the RD locks after it (`docs/locking.md`): the CSM lock first, then the
//! RDs an operation involves in ascending physical address order, then tables.
//!
//! [`SharedMemory`] owns the global CSM state (`csm::FwCsm`: id counters and the
//! RealmId → RD index, 6,168 bytes) and the plan in progress (about 1 KiB) behind the one
//! CSM lock. Host commands wait for it; a
//! REC waiting for it in an RSI call stops waiting when a host interrupt is pending, so the
//! call can exit with `RMI_EXIT_IRQ` before it changes anything and simply run again.
//! [`LockedRds`] holds the RD locks an operation takes after it.

use crate::arch::Machine;
use crate::granule::{GranuleAddr, GranuleTable, LockedGranule};
use crate::invariant;
use crate::locks;
use csm::{FwCsm, MAX_INVOLVED, Plan};
use rmm_abi::rmi::states::GranuleState;
use spin::mutex::{SpinMutex, SpinMutexGuard};

/// What the CSM lock protects: the global state, and the one plan being checked and
/// committed (about 1 KiB, kept here once rather than on every CPU's stack; only the lock
/// holder uses it). `Clone` for rigs that save and restore a monitor's state.
#[derive(Debug, Clone)]
pub struct CsmState {
    /// Id counters and the RealmId → RD index.
    pub csm: FwCsm,
    /// The plan of the operation in progress.
    pub plan: Plan,
}

/// The global CSM state behind the CSM lock.
#[derive(Debug)]
pub struct SharedMemory {
    state: SpinMutex<CsmState>,
}

impl Default for SharedMemory {
    fn default() -> Self {
        Self::new()
    }
}

/// The CSM lock, held.
pub type CsmGuard<'a> = SpinMutexGuard<'a, CsmState>;

impl SharedMemory {
    /// No CSM realm yet.
    pub const fn new() -> Self {
        Self {
            state: SpinMutex::new(CsmState {
                csm: FwCsm::new(),
                plan: Plan::empty(),
            }),
        }
    }

    /// Forgets every CSM realm: for a rig that boots a new monitor (on a new machine) on the
    /// same static state. Firmware boots once and never calls it.
    pub fn reset(&self) {
        self.state.lock().csm = FwCsm::new();
    }

    /// Takes the CSM lock, waiting as long as it takes (host commands).
    pub fn lock(&self) -> CsmGuard<'_> {
        self.state.lock()
    }

    /// Takes the CSM lock for a running REC: `None` if a host interrupt became pending while
    /// it waited (the caller exits with `RMI_EXIT_IRQ`, having changed nothing). Out of line
    /// (three CSM calls take it).
    #[inline(never)]
    pub fn lock_for_realm(&self, machine: &impl Machine) -> Option<CsmGuard<'_>> {
        loop {
            if let Some(guard) = self.state.try_lock() {
                return Some(guard);
            }
            if machine.host_irq_pending() {
                return None;
            }
            core::hint::spin_loop();
        }
    }
}

/// Why the RDs could not be locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdLockError {
    /// The RD the command names is not an RD (or not a tracked granule).
    NotRd,
}

/// The RDs of one operation, locked in ascending address order.
#[derive(Debug)]
pub struct LockedRds<'t> {
    slots: [Option<LockedGranule<'t>>; MAX_INVOLVED],
    len: usize,
}

impl Default for LockedRds<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'t> LockedRds<'t> {
    /// No RD locked: storage the operation's owner keeps in its frame, so the locks are
    /// taken in place and never moved. Out of line: clearing every slot is some 50 stores,
    /// written once, here, not at each operation.
    #[inline(never)]
    pub fn new() -> Self {
        Self {
            slots: [const { None }; MAX_INVOLVED],
            len: 0,
        }
    }

    /// Locks `rds` (ascending, as `csm::Csm::involved` returns them) into this empty list.
    /// `named`, the RD the command or the running REC names, must be among them: if it is not
    /// an RD the locks are released and `NotRd` returned. Every other RD was named by an APT
    /// the CSM lock protects, so it is an RD (an APT keeps its realm alive): one that is not
    /// can only be an RMM bug, and stops the monitor.
    pub fn lock(
        &mut self,
        granules: &'t GranuleTable,
        rds: &[apt::Rd],
        named: GranuleAddr,
    ) -> Result<(), RdLockError> {
        for rd in rds {
            let addr = GranuleAddr::new(rd.0).filter(|a| granules.is_tracked(*a));
            let locked = addr.and_then(|a| locks::lock(granules, a, GranuleState::Rd).ok());
            let Some(slot) = self.slots.get_mut(self.len) else {
                invariant::broken("more RDs than an operation involves");
            };
            match locked {
                Some(granule) => *slot = Some(granule),
                None if rd.0 == named.get() => {
                    self.slots.iter_mut().for_each(|slot| *slot = None);
                    self.len = 0;
                    return Err(RdLockError::NotRd);
                }
                None => invariant::broken_at("an APT names a granule that is not an RD", rd.0),
            }
            self.len += 1;
        }
        if !self.holds(named) {
            invariant::broken_at("the named RD is not among the RDs it involves", named.get());
        }
        Ok(())
    }

    /// True if `addr` is one of the locked RDs. Out of line, as [`LockedRds::get`]: each
    /// of the seven places that asked inlined the search.
    #[inline(never)]
    pub fn holds(&self, addr: GranuleAddr) -> bool {
        self.slots
            .iter()
            .take(self.len)
            .flatten()
            .any(|g| g.addr() == addr)
    }

    /// The locked RD with the state machine's name `rd`; an RD that is not locked can only be
    /// asked for by an RMM bug (the state machine's plan reached outside what it involved).
    #[inline(never)]
    pub fn get(&self, rd: apt::Rd) -> GranuleAddr {
        match GranuleAddr::new(rd.0).filter(|a| self.holds(*a)) {
            Some(addr) => addr,
            None => invariant::broken_at("a plan reached an RD it did not lock", rd.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CSM's static memory: the index and counters, and one plan, within the 8 KiB that
    /// `docs/csm.md` allows CSM's static memory (there is no other: CSM operations run on the
    /// CPU's own stack).
    #[test]
    fn the_csm_state_is_one_index_and_one_plan() {
        let total = core::mem::size_of::<SharedMemory>();
        let index = core::mem::size_of::<FwCsm>();
        let plan = core::mem::size_of::<Plan>();
        std::println!("SharedMemory {total} B = FwCsm {index} B + Plan {plan} B + lock");
        assert!(total <= index + plan + 16);
        assert!(total <= csm::FW_STATIC_LIMIT, "{total} bytes");
    }
}
