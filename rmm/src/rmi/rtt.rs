// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_RTT_CREATE, RMI_RTT_DESTROY, RMI_RTT_FOLD and RMI_RTT_READ_ENTRY: building and
//! taking apart a realm's stage-2 tables.
//!
//! Check order is the reference RMM's (TF-RMM `runtime/rmi/rtt.c` at rmm-spec-v1.0-rel0;
//! `docs/reference/tf-rmm-rel0-facts.md` §11.1–11.4), which meets the specification's
//! failure-condition ordering (`docs/conformance.md`), except that RTT_FOLD of a level-1
//! table that would make a block fails with the table's level, as the specification's
//! `rtt_homo` says (the reference names the parent's). Unlike the reference, the RD stays
//! locked for the whole command (the reference releases it once the root is locked): the
//! lock order RD → tables is the same, and it keeps the realm's configuration stable.
//!
//! Refcounts: a table counts its entries that are tables or assigned protected memory
//! (`Entry::is_counted`); a valid entry that is removed or replaced is followed by a
//! stage-2 TLB invalidation for the realm's VMID (break before make).

use super::args::{RttCreateArgs, RttEntryArgs};
use super::error::{Handled, RmiError};
use super::locks::{lock_rd, lock_two};
use super::rtt_args::{PA_LIMIT, entry_args, table_args};
use crate::arch::Machine;
use crate::granule::{GranuleAddr, LockedGranule};
use crate::monitor::Monitor;
use crate::rtt::change::{add_entries, build_entry, remove_entries};
use crate::rtt::entry::Entry;
use crate::rtt::level::{ENTRIES, RttLevel};
use crate::rtt::walk::{lock_table, walk};
use rmm_abi::rmi::states::{GranuleState, Ripas, RttEntryState};

/// Entries of a full table, as a reference count.
const FULL: u16 = ENTRIES as u16;

/// Handles RMI_RTT_CREATE(x1 = rd, x2 = rtt, x3 = ipa, x4 = level).
#[inline(always)]
pub fn create(monitor: &Monitor, machine: &impl Machine, args: RttCreateArgs) -> Handled {
    let RttCreateArgs {
        rd: rd_pa,
        rtt: rtt_pa,
        ipa,
        level: raw_level,
    } = args;
    let (mut rtt, rd) = lock_two(
        &monitor.granules,
        (rtt_pa, GranuleState::Delegated),
        (rd_pa, GranuleState::Rd),
    )?;
    let config = crate::realm::descriptor::Rd::new(machine, rd.addr()).config();
    let s2 = config.s2;
    let (level, parent_level) = table_args(&s2, ipa, raw_level)?;
    if rtt.addr().get() >= PA_LIMIT {
        return Err(RmiError::Input.into());
    }
    let mut parent = walk(&monitor.granules, machine, &s2, ipa, parent_level);
    if parent.level != parent_level {
        return Err(RmiError::Rtt(parent.level).into());
    }
    let old = parent.entry(machine);
    match old {
        // A table is there already; an alias is a level-3 entry, never a parent: both are
        // refused as the entry's state.
        Entry::Table(_) | Entry::Alias { .. } => return Err(RmiError::Rtt(parent_level).into()),
        Entry::Unassigned(_) | Entry::UnassignedNs => {
            fill(machine, &rtt, level, old, 0);
            parent.count_entry();
        }
        Entry::Assigned { pa, .. } => {
            // Unfolding a block: the parent's count for the block becomes the count for
            // the table; the new table counts its 512 entries.
            fill(machine, &rtt, level, old, pa);
            add_entries(&mut rtt, FULL);
        }
        Entry::AssignedNs { desc } => {
            fill(machine, &rtt, level, old, desc & crate::rtt::entry::OA_MASK);
            parent.count_entry();
        }
    }
    rtt.set_state(GranuleState::Rtt);
    parent.replace(machine, config.vmid, ipa, Entry::Table(rtt.addr()));
    Ok([])
}

/// Fills the (zeroed) new table at `level` with what `parent` mapped: 512 copies of an
/// unassigned entry, or 512 entries of an assigned block's kind at consecutive addresses
/// from `pa`.
fn fill(
    machine: &impl Machine,
    table: &LockedGranule<'_>,
    level: RttLevel,
    parent: Entry,
    pa: u64,
) {
    // A zeroed granule already holds UNASSIGNED EMPTY everywhere: nothing to write.
    if parent == Entry::Unassigned(Ripas::Empty) {
        return;
    }
    let size = level.entry_size();
    for index in 0..ENTRIES {
        build_entry(
            machine,
            table,
            level,
            index,
            parent.with_pa(pa + index as u64 * size, level),
        );
    }
}

/// Handles RMI_RTT_DESTROY(x1 = rd, x2 = ipa, x3 = level) → x1 = RTT PA, x2 = top.
#[inline(always)]
pub fn destroy(monitor: &Monitor, machine: &impl Machine, args: RttEntryArgs) -> Handled<2> {
    let RttEntryArgs {
        rd: rd_pa,
        ipa,
        level: raw_level,
    } = args;
    let (_rd, config) = lock_rd(monitor, machine, rd_pa)?;
    let s2 = config.s2;
    let (level, parent_level) = table_args(&s2, ipa, raw_level)?;
    let mut parent = walk(&monitor.granules, machine, &s2, ipa, parent_level);
    let child = match parent.entry(machine) {
        Entry::Table(child) if parent.level == parent_level => child,
        Entry::Table(_)
        | Entry::Unassigned(_)
        | Entry::Assigned { .. }
        | Entry::UnassignedNs
        | Entry::AssignedNs { .. }
        | Entry::Alias { .. } => {
            let top = parent.nonlive_top(machine, ipa);
            return Err(RmiError::Rtt(parent.level).with([0, top]));
        }
    };
    let mut child = lock_table(&monitor.granules, child);
    if child.refcount() != 0 {
        return Err(RmiError::Rtt(level).with([0, ipa]));
    }
    let replacement = if s2.in_par(ipa) {
        Entry::Unassigned(Ripas::Destroyed)
    } else {
        Entry::UnassignedNs
    };
    // Unprotected mappings are not counted: the table may still map pages the realm used.
    if holds_valid_entry(machine, child.addr()) {
        parent.replace_subtree(machine, config.vmid, replacement);
    } else {
        parent.replace(machine, config.vmid, ipa, replacement);
    }
    parent.uncount_entry();
    machine.zero_granule(child.addr());
    child.set_state(GranuleState::Delegated);
    Ok([child.addr().get(), parent.nonlive_top(machine, ipa)])
}

/// Whether any entry of the table at `table` is valid (a mapping the MMU may have cached).
fn holds_valid_entry(machine: &impl Machine, table: GranuleAddr) -> bool {
    (0..ENTRIES).any(|index| Entry::is_valid(machine.read_word(table, index)))
}

/// Handles RMI_RTT_FOLD(x1 = rd, x2 = ipa, x3 = level of the table) → x1 = RTT PA.
#[inline(always)]
pub fn fold(monitor: &Monitor, machine: &impl Machine, args: RttEntryArgs) -> Handled<1> {
    let RttEntryArgs {
        rd: rd_pa,
        ipa,
        level: raw_level,
    } = args;
    let (_rd, config) = lock_rd(monitor, machine, rd_pa)?;
    let s2 = config.s2;
    let (level, parent_level) = table_args(&s2, ipa, raw_level)?;
    let mut parent = walk(&monitor.granules, machine, &s2, ipa, parent_level);
    if parent.level != parent_level {
        return Err(RmiError::Rtt(parent.level).into());
    }
    let Entry::Table(child) = parent.entry(machine) else {
        return Err(RmiError::Rtt(parent_level).into());
    };
    let mut child = lock_table(&monitor.granules, child);
    let read = |index| Entry::decode(machine.read_word(child.addr(), index), level);
    let first = read(0);
    let uniform = |want: Entry| (0..ENTRIES).all(|i| read(i) == want);
    // Blocks may not be made below level 1 (TF-RMM `S2TT_MIN_BLOCK_LEVEL`).
    let block_allowed = parent_level.get() >= super::rtt_args::MIN_BLOCK_LEVEL;
    let folded = match child.refcount() {
        0 => {
            // Uniform means equal to the first entry: one scan, for the first entry's kind.
            let unassigned = matches!(first, Entry::Unassigned(_) | Entry::UnassignedNs);
            if unassigned && uniform(first) {
                first
            } else if let Some(block) = contiguous_block(&read, first, level, parent_level) {
                // A table below level 2 is not homogeneous for a block (RMM 1.0 A5.5.6):
                // `rtt_homo`, the table's own level (TF-RMM rel0 names the parent's).
                if !block_allowed {
                    return Err(RmiError::Rtt(level).into());
                }
                block
            } else {
                return Err(RmiError::Rtt(level).into());
            }
        }
        FULL => {
            if !block_allowed {
                return Err(RmiError::Rtt(level).into());
            }
            contiguous_block(&read, first, level, parent_level).ok_or(RmiError::Rtt(level))?
        }
        _ => return Err(RmiError::Rtt(level).into()),
    };
    // Counted blocks (assigned memory) move their single count from the child's 512 to the
    // parent's entry, which already counts one (the table); uncounted ones drop it.
    if folded.is_counted() {
        remove_entries(&mut child, FULL);
    } else {
        parent.uncount_entry();
    }
    // A live block replaces 512 live entries, each of which a CPU may have cached.
    if Entry::is_valid(folded.encode(parent_level)) {
        parent.replace_subtree(machine, config.vmid, folded);
    } else {
        parent.replace(machine, config.vmid, ipa, folded);
    }
    machine.zero_granule(child.addr());
    child.set_state(GranuleState::Delegated);
    Ok([child.addr().get()])
}

/// If the table's 512 entries at `level` are all assigned memory of one kind (or all
/// unprotected mappings with the same attributes) at consecutive addresses starting at a
/// `parent_level`-aligned `first`, the block entry that replaces them.
fn contiguous_block(
    read: &impl Fn(usize) -> Entry,
    first: Entry,
    level: RttLevel,
    parent_level: RttLevel,
) -> Option<Entry> {
    let (base, attrs) = match first {
        Entry::Assigned { pa, .. } => (pa, 0),
        Entry::AssignedNs { desc } => (
            desc & crate::rtt::entry::OA_MASK,
            Entry::host_desc(desc) & !crate::rtt::entry::OA_MASK,
        ),
        // An alias maps another realm's page: 512 of them never fold into a block the
        // consumer would appear to own (the research prototype's bug).
        Entry::Unassigned(_) | Entry::UnassignedNs | Entry::Table(_) | Entry::Alias { .. } => {
            return None;
        }
    };
    if !parent_level.is_aligned(base) {
        return None;
    }
    let size = level.entry_size();
    let same = (0..ENTRIES).all(|i| {
        let want_pa = base + i as u64 * size;
        match (first, read(i)) {
            (Entry::Assigned { ripas, .. }, Entry::Assigned { pa, ripas: r }) => {
                r == ripas && pa == want_pa
            }
            (Entry::AssignedNs { .. }, Entry::AssignedNs { desc }) => {
                let host = Entry::host_desc(desc);
                host & crate::rtt::entry::OA_MASK == want_pa
                    && host & !crate::rtt::entry::OA_MASK == attrs
            }
            _ => false,
        }
    });
    if !same {
        return None;
    }
    Some(match first {
        Entry::AssignedNs { desc } => Entry::assigned_ns(Entry::host_desc(desc), parent_level),
        other @ (Entry::Unassigned(_)
        | Entry::Assigned { .. }
        | Entry::UnassignedNs
        | Entry::Table(_)
        | Entry::Alias { .. }) => other,
    })
}

/// Handles RMI_RTT_READ_ENTRY(x1 = rd, x2 = ipa, x3 = level) → x1 walk level, x2 state,
/// x3 descriptor, x4 RIPAS.
#[inline(always)]
pub fn read_entry(monitor: &Monitor, machine: &impl Machine, args: RttEntryArgs) -> Handled<4> {
    let RttEntryArgs {
        rd: rd_pa,
        ipa,
        level: raw_level,
    } = args;
    let (_rd, config) = lock_rd(monitor, machine, rd_pa)?;
    let s2 = config.s2;
    let level = entry_args(&s2, ipa, raw_level)?;
    let at = walk(&monitor.granules, machine, &s2, ipa, level);
    let (state, desc, ripas) = match at.entry(machine) {
        Entry::Unassigned(ripas) => (RttEntryState::Unassigned, 0, ripas),
        // The output address for every assigned entry, DESTROYED included (TF-RMM returned
        // 0 there until its v0.6.0 fix; the specification asks for the address).
        Entry::Assigned { pa, ripas } => (RttEntryState::Assigned, pa, ripas),
        Entry::UnassignedNs => (RttEntryState::Unassigned, 0, Ripas::Empty),
        Entry::AssignedNs { desc } => (
            RttEntryState::Assigned,
            Entry::host_desc(desc),
            Ripas::Empty,
        ),
        Entry::Table(table) => (RttEntryState::Table, table.get(), Ripas::Empty),
        // A CSM alias is the realm's RAM, but not the host's page: no address is shown, so
        // the host can tell it from a DATA granule of its own (those are never at PA 0).
        Entry::Alias { .. } => (RttEntryState::Assigned, 0, Ripas::Ram),
    };
    Ok([at.level.as_u64(), state as u64, desc, ripas as u64])
}
