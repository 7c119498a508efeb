// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`GranuleTable`]: the descriptor of every granule in NS DRAM, and its lock.
//!
//! The table is sized at boot from the manifest's DRAM banks (two bytes per granule) and its
//! storage is handed in by the boot code, so no compile-time maximum limits the DRAM we track.
//! A granule's descriptor is read or changed only through [`LockedGranule`], which holds the
//! descriptor's lock bit and releases it (with release ordering) when dropped.

use super::GranuleAddr;
use super::descriptor::{self, LOCK_BIT, MAX_REFCOUNT};
use crate::GRANULE_SIZE;
use crate::boot::manifest::{DramLayout, MAX_DRAM_BANKS};
use core::sync::atomic::{AtomicU16, Ordering};
use rmm_abi::rmi::states::GranuleState;

const GRANULE: u64 = GRANULE_SIZE as u64;

/// Why a granule could not be locked in the state the caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GranuleLockError {
    /// The address is not in any DRAM bank the RMM tracks.
    NotTracked,
    /// The granule is tracked but in another state.
    WrongState,
}

/// One DRAM bank as the table indexes it.
#[derive(Debug, Clone, Copy, Default)]
struct IndexedBank {
    base: u64,
    end: u64,
    first_index: usize,
}

impl IndexedBank {
    fn contains(&self, pa: u64) -> bool {
        pa >= self.base && pa < self.end
    }
}

/// Descriptors for every granule of the DRAM banks.
#[derive(Debug)]
pub struct GranuleTable {
    banks: [IndexedBank; MAX_DRAM_BANKS],
    bank_count: usize,
    entries: &'static [AtomicU16],
}

impl GranuleTable {
    /// Bytes of storage the table needs for `dram`.
    pub fn storage_bytes(dram: &DramLayout) -> u64 {
        dram.granule_count() * core::mem::size_of::<AtomicU16>() as u64
    }

    /// Number of descriptors the table needs for `dram`.
    pub fn entry_count(dram: &DramLayout) -> usize {
        usize::try_from(dram.granule_count()).unwrap_or(usize::MAX)
    }

    /// A table over `dram` using `storage`, which must hold at least
    /// [`entry_count`](Self::entry_count) descriptors, all zero (every granule UNDELEGATED,
    /// unlocked, unreferenced). `None` if `storage` is too small.
    pub fn new(dram: &DramLayout, storage: &'static [AtomicU16]) -> Option<Self> {
        if storage.len() < Self::entry_count(dram) {
            return None;
        }
        let mut banks = [IndexedBank::default(); MAX_DRAM_BANKS];
        let mut first_index = 0usize;
        for (slot, bank) in banks.iter_mut().zip(dram.banks()) {
            *slot = IndexedBank {
                base: bank.base,
                end: bank.end(),
                first_index,
            };
            first_index += usize::try_from(bank.size / GRANULE).ok()?;
        }
        Some(Self {
            banks,
            bank_count: dram.banks().len(),
            entries: storage,
        })
    }

    /// The banks in use (`new` copied at most [`MAX_DRAM_BANKS`] of them; a `get`, so that no
    /// caller carries a bounds-check panic for a count the constructor bounds).
    fn banks(&self) -> &[IndexedBank] {
        self.banks.get(..self.bank_count).unwrap_or(&self.banks)
    }

    /// Number of granules tracked.
    pub fn len(&self) -> usize {
        self.banks()
            .last()
            .map_or(0, |b| b.first_index + ((b.end - b.base) / GRANULE) as usize)
    }

    /// True if no granule is tracked (never, for a valid manifest).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entry(&self, addr: GranuleAddr) -> Option<&AtomicU16> {
        let pa = addr.get();
        // The first bank before the others, outside the loop: it is the only one on many
        // platforms (QEMU's `virt`), and every RMI command that names a granule comes here.
        // The firmware is linked at a size level, which does not peel the loop itself
        // (DELEGATE and UNDELEGATE paid 4 instructions of loop set-up).
        let banks = self.banks();
        let bank = match banks.first() {
            Some(first) if first.contains(pa) => first,
            _ => banks.get(1..)?.iter().find(|b| b.contains(pa))?,
        };
        let index = bank.first_index + ((pa - bank.base) / GRANULE) as usize;
        self.entries.get(index)
    }

    /// True if `addr` is a granule of tracked DRAM.
    pub fn is_tracked(&self, addr: GranuleAddr) -> bool {
        self.entry(addr).is_some()
    }

    /// The state of `addr` without locking it: a snapshot that may change at once. Only for
    /// decisions that are re-checked under the lock or that stay safe if stale (an NS page
    /// that is changed under us faults, and the fault is handled).
    pub fn state_unlocked(&self, addr: GranuleAddr) -> Option<GranuleState> {
        self.entry(addr)
            .map(|e| descriptor::decode_state(e.load(Ordering::Acquire)))
    }

    /// Locks `addr` whatever its state. `None` if it is not tracked.
    pub fn lock_any(&self, addr: GranuleAddr) -> Option<LockedGranule<'_>> {
        let word = self.entry(addr)?;
        Some(LockedGranule::acquire(word, addr))
    }

    /// Locks `addr` and checks that it is in `expected` state; on a state mismatch the lock
    /// is released before returning. Only [`crate::locks`] calls the lock functions (its unit
    /// test checks it); everything else locks through it.
    ///
    /// Out of line: inlined, the lookup, the lock loop and the check were about 200 bytes at
    /// each of 26 places. The paths whose every instruction counts use
    /// [`GranuleTable::lock_inline`]: DELEGATE and UNDELEGATE, the stage-2 walk's tables,
    /// REC_ENTER's REC, DATA_DESTROY's page, and the `rmi::locks` helpers (out of line
    /// themselves, so each command still makes one call per lock).
    #[inline(never)]
    pub fn lock(
        &self,
        addr: GranuleAddr,
        expected: GranuleState,
    ) -> Result<LockedGranule<'_>, GranuleLockError> {
        self.lock_inline(addr, expected)
    }

    /// [`GranuleTable::lock`], inlined into the caller.
    #[inline(always)]
    pub fn lock_inline(
        &self,
        addr: GranuleAddr,
        expected: GranuleState,
    ) -> Result<LockedGranule<'_>, GranuleLockError> {
        let locked = self.lock_any(addr).ok_or(GranuleLockError::NotTracked)?;
        // The raw field against the expected state's encoding: exact, and no decoding (and
        // so no fatal-stop branch) on the path every command takes.
        if descriptor::holds_state(locked.value, expected) {
            Ok(locked)
        } else {
            Err(GranuleLockError::WrongState)
        }
    }

    /// Every tracked granule's address with its state and reference count, read without
    /// locking. For tests and invariant checks on a quiescent table.
    pub fn snapshot(&self) -> impl Iterator<Item = (GranuleAddr, GranuleState, u16)> + '_ {
        self.banks().iter().flat_map(move |bank| {
            (bank.base..bank.end)
                .step_by(GRANULE_SIZE)
                .enumerate()
                .filter_map(move |(i, pa)| {
                    let word = self
                        .entries
                        .get(bank.first_index + i)?
                        .load(Ordering::Acquire);
                    Some((
                        GranuleAddr::new(pa)?,
                        descriptor::decode_state(word),
                        descriptor::refcount(word),
                    ))
                })
        })
    }
}

/// A granule whose lock this CPU holds. Dropping it releases the lock.
#[derive(Debug)]
pub struct LockedGranule<'a> {
    word: &'a AtomicU16,
    addr: GranuleAddr,
    /// The descriptor as we last wrote it (lock bit set). Nobody else writes it while we hold
    /// the lock.
    value: u16,
}

/// Why a reference count could not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefcountError {
    /// Incrementing would exceed [`MAX_REFCOUNT`].
    Overflow,
    /// Decrementing would go below zero.
    Underflow,
}

impl crate::invariant::BrokenRule for RefcountError {
    fn what(self) -> &'static str {
        match self {
            RefcountError::Overflow => "overflow",
            RefcountError::Underflow => "underflow",
        }
    }
}

impl<'a> LockedGranule<'a> {
    fn acquire(word: &'a AtomicU16, addr: GranuleAddr) -> Self {
        loop {
            let current = word.load(Ordering::Relaxed);
            if current & LOCK_BIT == 0
                && word
                    .compare_exchange_weak(
                        current,
                        current | LOCK_BIT,
                        Ordering::Acquire,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                return Self {
                    word,
                    addr,
                    value: current | LOCK_BIT,
                };
            }
            core::hint::spin_loop();
        }
    }

    /// The granule's address.
    pub fn addr(&self) -> GranuleAddr {
        self.addr
    }

    /// The granule's state.
    pub fn state(&self) -> GranuleState {
        descriptor::decode_state(self.value)
    }

    /// The granule's reference count.
    pub fn refcount(&self) -> u16 {
        descriptor::refcount(self.value)
    }

    /// Changes the granule's state (visible to others once the lock is released).
    pub fn set_state(&mut self, state: GranuleState) {
        self.store(descriptor::with_state(self.value, state));
    }

    /// Adds one reference.
    pub fn get_ref(&mut self) -> Result<(), RefcountError> {
        let count = self.refcount();
        if count >= MAX_REFCOUNT {
            return Err(RefcountError::Overflow);
        }
        self.store(descriptor::with_refcount(self.value, count + 1));
        Ok(())
    }

    /// Adds `n` references (a block unfolded into a table of `n` counted entries).
    pub fn add_refs(&mut self, n: u16) -> Result<(), RefcountError> {
        let count = self
            .refcount()
            .checked_add(n)
            .filter(|c| *c <= MAX_REFCOUNT)
            .ok_or(RefcountError::Overflow)?;
        self.store(descriptor::with_refcount(self.value, count));
        Ok(())
    }

    /// Drops `n` references.
    pub fn sub_refs(&mut self, n: u16) -> Result<(), RefcountError> {
        let count = self
            .refcount()
            .checked_sub(n)
            .ok_or(RefcountError::Underflow)?;
        self.store(descriptor::with_refcount(self.value, count));
        Ok(())
    }

    /// Drops one reference.
    pub fn put_ref(&mut self) -> Result<(), RefcountError> {
        let count = self.refcount();
        let new = count.checked_sub(1).ok_or(RefcountError::Underflow)?;
        self.store(descriptor::with_refcount(self.value, new));
        Ok(())
    }

    fn store(&mut self, value: u16) {
        self.value = value | LOCK_BIT;
        self.word.store(self.value, Ordering::Relaxed);
    }
}

impl Drop for LockedGranule<'_> {
    fn drop(&mut self) {
        self.word.store(self.value & !LOCK_BIT, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::boot::manifest::DramLayout;
    use std::sync::Arc;
    use std::vec::Vec;

    fn storage(n: usize) -> &'static [AtomicU16] {
        (0..n).map(|_| AtomicU16::new(0)).collect::<Vec<_>>().leak()
    }

    fn two_banks() -> DramLayout {
        DramLayout::from_banks(&[(0x8000_0000, 0x4000), (0x1_0000_0000, 0x2000)])
            .expect("valid banks")
    }

    fn g(pa: u64) -> GranuleAddr {
        GranuleAddr::new(pa).expect("aligned")
    }

    #[test]
    fn indexes_every_bank_and_nothing_else() {
        let dram = two_banks();
        let table = GranuleTable::new(&dram, storage(6)).expect("fits");
        assert_eq!(table.len(), 6);
        for pa in [0x8000_0000, 0x8000_3000, 0x1_0000_0000, 0x1_0000_1000] {
            assert!(table.is_tracked(g(pa)), "{pa:#x}");
        }
        for pa in [0, 0x7FFF_F000, 0x8000_4000, 0xFFFF_F000, 0x1_0000_2000] {
            assert!(!table.is_tracked(g(pa)), "{pa:#x}");
        }
    }

    #[test]
    fn too_small_storage_is_refused() {
        assert!(GranuleTable::new(&two_banks(), storage(5)).is_none());
        assert_eq!(GranuleTable::storage_bytes(&two_banks()), 12);
    }

    #[test]
    fn lock_checks_state_and_releases_on_mismatch() {
        let table = GranuleTable::new(&two_banks(), storage(6)).expect("fits");
        let a = g(0x8000_1000);
        assert_eq!(
            table.lock(a, GranuleState::Delegated).unwrap_err(),
            GranuleLockError::WrongState
        );
        {
            let mut locked = table.lock(a, GranuleState::Undelegated).expect("NS");
            locked.set_state(GranuleState::Delegated);
            locked.get_ref().expect("room");
        }
        let locked = table
            .lock(a, GranuleState::Delegated)
            .expect("lock was released");
        assert_eq!(locked.refcount(), 1);
        assert_eq!(
            table
                .lock(g(0x9000_0000), GranuleState::Undelegated)
                .unwrap_err(),
            GranuleLockError::NotTracked
        );
    }

    #[test]
    fn refcount_saturates_with_errors_not_wraps() {
        let table = GranuleTable::new(&two_banks(), storage(6)).expect("fits");
        let mut locked = table.lock_any(g(0x8000_0000)).expect("tracked");
        assert_eq!(locked.put_ref(), Err(RefcountError::Underflow));
        for _ in 0..MAX_REFCOUNT {
            locked.get_ref().expect("below max");
        }
        assert_eq!(locked.get_ref(), Err(RefcountError::Overflow));
        assert_eq!(locked.refcount(), MAX_REFCOUNT);
        assert_eq!(locked.state(), GranuleState::Undelegated);
    }

    /// Every change made under the lock keeps the lock bit set in the shared word (a store
    /// that cleared it would let another CPU take a lock that is still held); dropping the
    /// guard clears it and publishes the change.
    #[test]
    fn changes_under_the_lock_keep_it_held() {
        let table = GranuleTable::new(&two_banks(), storage(6)).expect("fits");
        let a = g(0x1_0000_1000);
        let word = table.entry(a).expect("tracked");
        let held = |what: &str| assert_ne!(word.load(Ordering::Relaxed) & LOCK_BIT, 0, "{what}");
        {
            let mut locked = table.lock(a, GranuleState::Undelegated).expect("free");
            held("after locking");
            locked.set_state(GranuleState::Rtt);
            held("after set_state");
            locked.get_ref().expect("room");
            held("after get_ref");
            locked.add_refs(511).expect("room");
            held("after add_refs");
            assert_eq!(locked.refcount(), 512);
            locked.sub_refs(500).expect("enough");
            held("after sub_refs");
            assert_eq!(locked.refcount(), 12);
            locked.put_ref().expect("enough");
            held("after put_ref");
            assert_eq!(locked.refcount(), 11);
            assert_eq!(locked.state(), GranuleState::Rtt);
            assert_eq!(locked.addr(), a);
        }
        assert_eq!(
            word.load(Ordering::Relaxed),
            descriptor::with_refcount(descriptor::with_state(0, GranuleState::Rtt), 11),
            "released, with the changes"
        );
        assert_eq!(table.state_unlocked(a), Some(GranuleState::Rtt));
        assert_eq!(
            table.state_unlocked(g(0x1_0000_0000)),
            Some(GranuleState::Undelegated)
        );
        assert_eq!(table.state_unlocked(g(0x9000_0000)), None);
    }

    /// Multi-granule reference changes are exact and refuse to leave 0..=MAX_REFCOUNT,
    /// changing nothing when they refuse.
    #[test]
    fn reference_counts_move_by_exactly_n() {
        let table = GranuleTable::new(&two_banks(), storage(6)).expect("fits");
        let mut locked = table.lock_any(g(0x8000_3000)).expect("tracked");
        assert_eq!(locked.sub_refs(1), Err(RefcountError::Underflow));
        assert_eq!(locked.sub_refs(0), Ok(()));
        locked.add_refs(512).expect("room");
        assert_eq!(locked.sub_refs(513), Err(RefcountError::Underflow));
        assert_eq!(locked.refcount(), 512);
        locked.sub_refs(512).expect("exactly enough");
        assert_eq!(locked.refcount(), 0);
        locked.add_refs(MAX_REFCOUNT).expect("up to the maximum");
        assert_eq!(locked.refcount(), MAX_REFCOUNT);
        assert_eq!(locked.add_refs(1), Err(RefcountError::Overflow));
        assert_eq!(locked.add_refs(u16::MAX), Err(RefcountError::Overflow));
        assert_eq!(locked.refcount(), MAX_REFCOUNT);
        locked.sub_refs(MAX_REFCOUNT - 1).expect("enough");
        assert_eq!(locked.refcount(), 1);
        assert_eq!(locked.state(), GranuleState::Undelegated);
    }

    /// Each granule has its own descriptor, in both banks, and the snapshot lists every one
    /// with its state and count.
    #[test]
    fn snapshot_lists_every_granule_of_every_bank() {
        let table = GranuleTable::new(&two_banks(), storage(6)).expect("fits");
        assert!(!table.is_empty());
        for (pa, state, refs) in [
            (0x8000_0000, GranuleState::Delegated, 1),
            (0x8000_3000, GranuleState::Rd, 2),
            (0x1_0000_0000, GranuleState::Rtt, 3),
            (0x1_0000_1000, GranuleState::Data, 4),
        ] {
            let mut locked = table.lock_any(g(pa)).expect("tracked");
            locked.set_state(state);
            locked.add_refs(refs).expect("room");
        }
        let seen: Vec<_> = table.snapshot().map(|(a, s, n)| (a.get(), s, n)).collect();
        assert_eq!(
            seen,
            [
                (0x8000_0000, GranuleState::Delegated, 1),
                (0x8000_1000, GranuleState::Undelegated, 0),
                (0x8000_2000, GranuleState::Undelegated, 0),
                (0x8000_3000, GranuleState::Rd, 2),
                (0x1_0000_0000, GranuleState::Rtt, 3),
                (0x1_0000_1000, GranuleState::Data, 4),
            ]
        );
        // Exactly the storage the table needs: the last granule uses the last descriptor.
        let exact = storage(6);
        let table = GranuleTable::new(&two_banks(), exact).expect("fits");
        table
            .lock_any(g(0x1_0000_1000))
            .expect("tracked")
            .set_state(GranuleState::Data);
        assert_eq!(
            descriptor::decode_state(exact[5].load(Ordering::Relaxed)),
            GranuleState::Data
        );
        assert_eq!(
            descriptor::decode_state(exact[4].load(Ordering::Relaxed)),
            GranuleState::Undelegated
        );
    }

    /// A held lock stops another thread until it is released.
    #[test]
    fn a_held_lock_blocks_another_taker() {
        let table: &'static GranuleTable = std::boxed::Box::leak(std::boxed::Box::new(
            GranuleTable::new(&two_banks(), storage(6)).expect("fits"),
        ));
        let a = g(0x8000_1000);
        let mut locked = table.lock_any(a).expect("tracked");
        locked.set_state(GranuleState::Delegated);
        let (tx, rx) = std::sync::mpsc::channel();
        let other = std::thread::spawn(move || {
            let state = table.lock_any(a).expect("tracked").state();
            tx.send(state).expect("receiver alive");
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(200))
                .is_err(),
            "another thread took a held lock"
        );
        drop(locked);
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(10)),
            Ok(GranuleState::Delegated)
        );
        other.join().expect("no panic");
    }

    #[test]
    fn the_lock_excludes_other_threads() {
        let table = Arc::new(GranuleTable::new(&two_banks(), storage(6)).expect("fits"));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let table = Arc::clone(&table);
                std::thread::spawn(move || {
                    for _ in 0..400 {
                        let mut locked = table.lock_any(g(0x8000_2000)).expect("tracked");
                        // A non-atomic read-modify-write that loses updates without the lock.
                        let count = locked.refcount();
                        std::thread::yield_now();
                        locked.store(descriptor::with_refcount(locked.value, count + 1));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("no panic");
        }
        let locked = table.lock_any(g(0x8000_2000)).expect("tracked");
        assert_eq!(locked.refcount(), 1600);
    }
}
