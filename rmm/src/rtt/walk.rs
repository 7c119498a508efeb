// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`Stage2`]: the shape of a realm's stage-2 tables (root tables, start level, IPA width),
//! and [`walk`], the hand-over-hand descent that every RTT command starts with.
//!
//! Locking: the caller holds the realm's RD lock (which keeps the roots alive); the walk
//! locks the root table, then each next-level table before releasing its parent, so a table
//! is never reached after it was destroyed or folded. It returns the last table still locked.

use super::entry::Entry;
use super::level::{ENTRIES, RttLevel};
use crate::arch::Machine;
use crate::granule::{GranuleAddr, GranuleTable, LockedGranule};
use crate::locks;

/// The largest number of concatenated starting-level tables (the architecture's limit).
pub const MAX_ROOTS: u64 = 16;

/// A realm's stage-2 translation shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage2 {
    /// First starting-level table; the others follow contiguously.
    pub rtt_base: GranuleAddr,
    /// Level of the starting tables.
    pub start_level: RttLevel,
    /// Number of concatenated starting tables (1..=16).
    pub num_roots: u64,
    /// IPA width in bits.
    pub ipa_bits: u8,
}

impl Stage2 {
    /// Size of the IPA space.
    pub const fn ipa_limit(&self) -> u64 {
        1 << self.ipa_bits
    }

    /// End of the protected half (the Protected Address Range is `[0, par_end)`).
    pub const fn par_end(&self) -> u64 {
        1 << (self.ipa_bits - 1)
    }

    /// True if `ipa` is in the protected half.
    pub const fn in_par(&self, ipa: u64) -> bool {
        ipa < self.par_end()
    }

    /// True if `ipa` is in the IPA space at all.
    pub const fn in_ipa_space(&self, ipa: u64) -> bool {
        ipa < self.ipa_limit()
    }

    /// The `n`th starting-level table.
    pub fn root(&self, n: u64) -> GranuleAddr {
        GranuleAddr::new(self.rtt_base.get() + n * crate::GRANULE_SIZE as u64)
            .unwrap_or(self.rtt_base)
    }

    /// The starting-level table that maps `ipa` (which must be in the IPA space).
    pub fn root_for(&self, ipa: u64) -> GranuleAddr {
        let index = ipa / self.start_level.table_span();
        self.root(index.min(self.num_roots - 1))
    }
}

/// Where a walk stopped: the table at `level`, locked, and the index of `ipa`'s entry in it.
#[derive(Debug)]
pub struct Walk<'t> {
    /// The level of `table`.
    pub level: RttLevel,
    /// The table the walk reached, still locked.
    pub table: LockedGranule<'t>,
    /// Index of the entry for the walked IPA.
    pub index: usize,
}

impl Walk<'_> {
    /// The raw entry for the walked IPA.
    pub fn raw(&self, machine: &impl Machine) -> u64 {
        machine.read_word(self.table.addr(), self.index)
    }

    /// The decoded entry for the walked IPA.
    pub fn entry(&self, machine: &impl Machine) -> Entry {
        Entry::decode(self.raw(machine), self.level)
    }

    /// The decoded entry `index` of the walked table (a neighbour of the walked IPA's, for
    /// loops over the pages one table maps).
    pub fn entry_at(&self, machine: &impl Machine, index: usize) -> Entry {
        Entry::decode(machine.read_word(self.table.addr(), index), self.level)
    }

    /// The "top of the non-live region" the destroy commands report for `ipa` (the address
    /// that was walked): `ipa` itself if its entry is live; otherwise the IPA of the next live
    /// entry in the same table, or the end of the range the table maps. Like the reference
    /// RMM, the scan never looks past this table. Out of line: seven commands report it,
    /// mostly on their error paths, and each inlined copy carried the scan.
    #[inline(never)]
    pub fn nonlive_top(&self, machine: &impl Machine, ipa: u64) -> u64 {
        let live = |index| {
            Entry::decode(machine.read_word(self.table.addr(), index), self.level).is_live()
        };
        if live(self.index) {
            return ipa;
        }
        let stop = (self.index + 1..ENTRIES)
            .find(|&i| live(i))
            .unwrap_or(ENTRIES);
        self.level.align_down(ipa) + (stop - self.index) as u64 * self.level.entry_size()
    }
}

/// Locks `table`, a root or a table an entry points to (the walk's, and RTT_DESTROY's and
/// RTT_FOLD's child table), through [`locks::table`]: one that is not in the RTT state can
/// only be an RMM bug, and stops the monitor. Always inlined into the walk's loop: the
/// firmware's link at a size level left it out of line, a call per level on every walk
/// (REC_ENTER's round trip +5%, RTT_CREATE +11%).
#[inline(always)]
pub fn lock_table(granules: &GranuleTable, table: GranuleAddr) -> LockedGranule<'_> {
    locks::table(granules, table)
}

/// Walks `s2` for `ipa` (in the IPA space) down to `target` at most, stopping early at the
/// first entry that is not a table. Returns the last table reached, locked.
pub fn walk<'t>(
    granules: &'t GranuleTable,
    machine: &impl Machine,
    s2: &Stage2,
    ipa: u64,
    target: RttLevel,
) -> Walk<'t> {
    let mut level = s2.start_level;
    let mut table = lock_table(granules, s2.root_for(ipa));
    loop {
        let index = level.index(ipa);
        let next_level = match level.child() {
            Some(child) if level < target => child,
            _ => {
                return Walk {
                    level,
                    table,
                    index,
                };
            }
        };
        let Entry::Table(next) = Entry::decode(machine.read_word(table.addr(), index), level)
        else {
            return Walk {
                level,
                table,
                index,
            };
        };
        // Hand over hand: the child is locked before the parent is released.
        table = lock_table(granules, next);
        level = next_level;
    }
}

/// One stretch of a range that a single walk covers: the table the walk reached, the index
/// of the stretch's first entry, its first IPA and its length in pages. At level 3 a stretch
/// is up to the rest of the table; above, it is the part of the range one block or
/// unassigned entry maps.
pub struct Stretch<'w, 't> {
    /// The walk (its table locked).
    pub walk: &'w mut Walk<'t>,
    /// First IPA of the stretch.
    pub ipa: u64,
    /// Pages in the stretch.
    pub pages: u64,
}

/// Walks `s2` over the protected pages `[base, base + pages × 4 KiB)` (in the IPA space), one
/// [`Stretch`] at a time, calling `f` on each; the walk's table is locked during the call.
/// Used where an operation reads or writes every page of a range (CSM summaries and
/// aliases): one walk per 512 pages instead of one per page.
pub fn for_each_stretch<'t>(
    granules: &'t GranuleTable,
    machine: &impl Machine,
    s2: &Stage2,
    base: u64,
    pages: u64,
    mut f: impl FnMut(Stretch<'_, 't>),
) {
    let page = crate::GRANULE_SIZE as u64;
    let mut done = 0;
    while done < pages {
        let ipa = base + done * page;
        let mut walk = walk(granules, machine, s2, ipa, RttLevel::LEAF);
        let span = if walk.level == RttLevel::LEAF {
            (ENTRIES - walk.index) as u64
        } else {
            (walk.level.align_down(ipa) + walk.level.entry_size() - ipa) / page
        };
        let n = span.min(pages - done);
        f(Stretch {
            walk: &mut walk,
            ipa,
            pages: n,
        });
        done += n;
    }
}
