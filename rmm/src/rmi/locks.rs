// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI's face of the locking module ([`crate::locks`]): every way an RMI command locks the
//! granules its arguments name, by the rules in `docs/locking.md`: external granules in
//! ascending PA order, each state checked once it is locked; an RD ([`lock_rd`]) before its
//! tables; a run of roots.
//!
//! Every failure here is `RMI_ERROR_INPUT`: a misaligned or untracked address, the same
//! granule named twice, or a granule in the wrong state.

use super::error::RmiError;
use crate::arch::Machine;
use crate::granule::{GranuleAddr, GranuleTable, LockedGranule};
use crate::locks;
use crate::monitor::Monitor;
use crate::realm::descriptor::{Rd, RealmConfig};
use rmm_abi::rmi::states::GranuleState;

/// `raw` as a granule address the table tracks.
pub fn tracked(granules: &GranuleTable, raw: u64) -> Result<GranuleAddr, RmiError> {
    aligned(raw).and_then(|addr| {
        if granules.is_tracked(addr) {
            Ok(addr)
        } else {
            Err(RmiError::Input)
        }
    })
}

/// `raw` as a granule address (aligned; whether the table tracks it is the lock's check, which
/// answers the same `RMI_ERROR_INPUT`, so the lookup is done once).
fn aligned(raw: u64) -> Result<GranuleAddr, RmiError> {
    GranuleAddr::new(raw).ok_or(RmiError::Input)
}

/// Locks `addr` in `state`, inlined (the helpers below are out of line themselves); not
/// tracked or in another state is `RMI_ERROR_INPUT`.
#[inline(always)]
fn lock_input(
    granules: &GranuleTable,
    addr: GranuleAddr,
    state: GranuleState,
) -> Result<LockedGranule<'_>, RmiError> {
    locks::lock_inline(granules, addr, state).map_err(|_| RmiError::Input)
}

/// Locks the granule at `raw`, which must be tracked and in `state`. Out of line with the
/// lock inlined into it: one call on the commands' paths, as for [`lock_two`].
#[inline(never)]
pub fn lock_one(
    granules: &GranuleTable,
    raw: u64,
    state: GranuleState,
) -> Result<LockedGranule<'_>, RmiError> {
    lock_input(granules, aligned(raw)?, state)
}

/// Locks the two distinct granules `a` and `b` (address, expected state) in ascending
/// address order and returns them in argument order. Out of line, the locks inlined.
#[inline(never)]
pub fn lock_two(
    granules: &GranuleTable,
    a: (u64, GranuleState),
    b: (u64, GranuleState),
) -> Result<(LockedGranule<'_>, LockedGranule<'_>), RmiError> {
    let addr_a = aligned(a.0)?;
    let addr_b = aligned(b.0)?;
    if addr_a == addr_b {
        return Err(RmiError::Input);
    }
    let lock = |addr, state| lock_input(granules, addr, state);
    if addr_a < addr_b {
        let first = lock(addr_a, a.1)?;
        let second = lock(addr_b, b.1)?;
        Ok((first, second))
    } else {
        let first = lock(addr_b, b.1)?;
        let second = lock(addr_a, a.1)?;
        Ok((second, first))
    }
}

/// Locks the RD at `raw` (state RD) and reads its configuration. Always inlined, with the lock
/// itself out of line: out of line as a whole it returned the lock and the configuration
/// through memory and the caller copied them out, a `memcpy` of about 50 instructions
/// (DATA_DESTROY 803; 739 like this, 702 all inlined for 1,468 more bytes of text;
/// `docs/benchmarks.md`, "The lean monitor, sixth steps").
#[inline(always)]
pub fn lock_rd<'t, M: Machine>(
    monitor: &'t Monitor,
    machine: &M,
    raw: u64,
) -> Result<(LockedGranule<'t>, RealmConfig), RmiError> {
    let rd = lock_rd_granule(monitor, raw)?;
    let config = Rd::new(machine, rd.addr()).config();
    Ok((rd, config))
}

/// [`lock_rd`]'s lock, out of line: the tracked check, the bank search and the lock are the
/// bulk of it, and only the configuration needs to be read where it is used.
#[inline(never)]
fn lock_rd_granule(monitor: &Monitor, raw: u64) -> Result<LockedGranule<'_>, RmiError> {
    lock_input(&monitor.granules, aligned(raw)?, GranuleState::Rd)
}

/// Up to this many granules locked together (a realm's 16 root tables).
pub const MAX_RUN: usize = 16;

/// A run of contiguous granules, all locked.
#[derive(Debug)]
pub struct LockedRun<'t> {
    slots: [Option<LockedGranule<'t>>; MAX_RUN],
    len: usize,
}

impl<'t> LockedRun<'t> {
    /// Locks the `count` (1..=[`MAX_RUN`]) granules from `base` upwards, each of which must be
    /// in `state`. On any failure the ones already locked are released.
    pub fn lock(
        granules: &'t GranuleTable,
        base: u64,
        count: u64,
        state: GranuleState,
    ) -> Result<Self, RmiError> {
        if count == 0 || count > MAX_RUN as u64 {
            return Err(RmiError::Input);
        }
        let mut run = Self {
            slots: [const { None }; MAX_RUN],
            len: 0,
        };
        for i in 0..count {
            let pa = i
                .checked_mul(crate::GRANULE_SIZE as u64)
                .and_then(|offset| base.checked_add(offset))
                .ok_or(RmiError::Input)?;
            run.slots[i as usize] = Some(lock_one(granules, pa, state)?);
            run.len += 1;
        }
        Ok(run)
    }

    /// The locked granules, in address order (`take`, not a slice: no bounds-check panic).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut LockedGranule<'t>> {
        self.slots.iter_mut().take(self.len).flatten()
    }

    /// The locked granules, in address order.
    pub fn iter(&self) -> impl Iterator<Item = &LockedGranule<'t>> {
        self.slots.iter().take(self.len).flatten()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::boot::manifest::DramLayout;
    use core::sync::atomic::AtomicU16;
    use std::vec::Vec;

    #[test]
    fn a_run_is_one_to_max_run_granules() {
        let granules = MAX_RUN + 1;
        let dram =
            DramLayout::from_banks(&[(0x8000_0000, granules as u64 * 0x1000)]).expect("valid bank");
        let storage = (0..granules).map(|_| AtomicU16::new(0)).collect::<Vec<_>>();
        let table = GranuleTable::new(&dram, storage.leak()).expect("fits");
        let lock = |count| LockedRun::lock(&table, 0x8000_0000, count, GranuleState::Undelegated);
        for count in [0, MAX_RUN as u64 + 1, u64::MAX] {
            assert!(
                matches!(lock(count), Err(RmiError::Input)),
                "{count} granules"
            );
        }
        for count in [1, MAX_RUN as u64] {
            let run = lock(count).expect("a run of tracked granules");
            let addrs: Vec<u64> = run.iter().map(|g| g.addr().get()).collect();
            let expected: Vec<u64> = (0..count).map(|i| 0x8000_0000 + i * 0x1000).collect();
            assert_eq!(addrs, expected, "{count} granules, ascending");
        }
    }
}
