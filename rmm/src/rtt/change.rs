// SPDX-License-Identifier: MIT OR Apache-2.0
//! The one way handlers change a realm's stage-2 tables: entries written through a locked
//! [`Walk`] (or into a table being built, [`build_entry`]), a valid entry replaced only by
//! break-before-make with the TLB invalidation it needs, the stage-2 TLB invalidations
//! themselves ([`invalidate_ipa`], [`invalidate_vmid`]), and table reference counts kept with
//! the entries they count. No other module writes a table entry or invalidates a stage-2 TLB.
//!
//! The TLB rule: once a valid entry has been made invalid, the realm's translations of that
//! IPA are invalidated on every CPU (broadcast, with barriers, under the realm's VMID) before
//! the new entry is written and before the command returns, so no CPU keeps a stale
//! translation of a page that may change hands. `docs/locking.md` states it with the locks.
//! A reference count that leaves 0..=512 can only be an RMM bug: it stops the monitor
//! ([`crate::invariant`]).

use super::entry::Entry;
use super::level::RttLevel;
use super::walk::Walk;
use crate::arch::Machine;
use crate::granule::LockedGranule;
use crate::invariant;
use rmm_abi::rmi::states::Ripas;

impl Walk<'_> {
    /// Writes entry `index` of the walked table over one that is not valid (a neighbour of
    /// the walked IPA's), with the rule of [`Walk::set`].
    pub fn set_at(&self, machine: &impl Machine, index: usize, entry: Entry) {
        machine.write_word(self.table.addr(), index, entry.encode(self.level));
    }

    /// Writes the entry for the walked IPA over one that is not valid (no TLB entry can hold
    /// it); a valid entry is replaced with [`Walk::replace`], which invalidates.
    pub fn set(&self, machine: &impl Machine, entry: Entry) {
        machine.write_word(self.table.addr(), self.index, entry.encode(self.level));
    }

    /// Writes `new` over the entry for the walked IPA, `ipa`, in the realm with `vmid`: if the
    /// old entry is valid it is made invalid first and the realm's TLB entries for `ipa` are
    /// invalidated on every CPU (break-before-make); an invalid old entry is simply replaced.
    #[inline(always)]
    pub fn replace(&self, machine: &impl Machine, vmid: u16, ipa: u64, new: Entry) {
        if Entry::is_valid(self.raw(machine)) {
            self.set(machine, Entry::Unassigned(Ripas::Empty));
            machine.invalidate_stage2_ipa(vmid, ipa);
        }
        self.set(machine, new);
    }

    /// [`Self::replace`] for a table entry whose subtree holds valid leaves (a table of live
    /// unprotected mappings being destroyed, or folded into the block that replaces it): the
    /// realm may have cached each of those pages on its own, and invalidating `ipa` alone
    /// would leave every other page's entry alive (and next to the new block, a TLB
    /// conflict). Between break and make it invalidates the realm's whole VMID instead.
    #[inline(always)]
    pub fn replace_subtree(&self, machine: &impl Machine, vmid: u16, new: Entry) {
        if Entry::is_valid(self.raw(machine)) {
            self.set(machine, Entry::Unassigned(Ripas::Empty));
            machine.invalidate_stage2(vmid);
        }
        self.set(machine, new);
    }

    /// Makes entry `index` of the walked table invalid (`new` is not valid) without
    /// invalidating the TLBs: the break of a batch. The caller invalidates the realm's
    /// translations of every entry it broke (per IPA, or its whole VMID once) before it
    /// releases the realm's RD lock or returns, and before any page the entries mapped
    /// changes hands (CSM's `UnmapAliases`, always followed by its `InvalidateTlbs`).
    #[inline(always)]
    pub fn break_at(&self, machine: &impl Machine, index: usize, new: Entry) {
        let raw = new.encode(self.level);
        if Entry::is_valid(raw) {
            invariant::broken_at("a break writes a valid entry", raw);
        }
        self.set_at(machine, index, new);
    }

    /// Writes `new` over entry `index` of the walked table, whose raw value the caller read as
    /// `old`, as one entry of a batch (RTT_SET_RIPAS over a table's entries): returns whether
    /// `old` was valid. A valid entry is only ever made invalid (a break) or written with
    /// itself here, never replaced by another valid one; if any old entry was valid the
    /// caller invalidates the realm's whole VMID once for the batch ([`invalidate_vmid`])
    /// before it releases the realm's RD lock, so no CPU keeps a translation the batch broke.
    #[inline(always)]
    pub fn batch_at(&self, machine: &impl Machine, index: usize, old: u64, new: Entry) -> bool {
        machine.write_word(self.table.addr(), index, new.encode(self.level));
        Entry::is_valid(old)
    }

    /// Counts one more entry of the walked table (an entry became a table or assigned).
    #[inline(always)]
    pub fn count_entry(&mut self) {
        invariant::holds(self.table.get_ref(), "RTT reference count, one entry more");
    }

    /// Counts one entry of the walked table less.
    #[inline(always)]
    pub fn uncount_entry(&mut self) {
        invariant::holds(self.table.put_ref(), "RTT reference count, one entry less");
    }
}

/// Writes `entry` as entry `index` of `table`, a table at `level` being built: locked, not yet
/// reachable from any realm's tables, so no walk or TLB can hold its entries (RTT_CREATE's new
/// table, REALM_CREATE's roots). An all-zero entry (UNASSIGNED EMPTY) is not written: a new
/// table is a zeroed DELEGATED granule.
#[inline(always)]
pub fn build_entry(
    machine: &impl Machine,
    table: &LockedGranule<'_>,
    level: RttLevel,
    index: usize,
    entry: Entry,
) {
    let raw = entry.encode(level);
    if raw != 0 {
        machine.write_word(table.addr(), index, raw);
    }
}

/// Invalidates every stage-2 translation of the realm with `vmid` on every CPU (broadcast,
/// with barriers): after a batch of breaks ([`Walk::batch_at`], CSM's `UnmapAliases` of many
/// pages) and when a whole realm goes (REALM_DESTROY, so no TLB entry is inherited by the
/// next realm with this VMID).
#[inline(always)]
pub fn invalidate_vmid(machine: &impl Machine, vmid: u16) {
    machine.invalidate_stage2(vmid);
}

/// Invalidates the realm's (`vmid`) stage-2 translations of the page at `ipa` on every CPU,
/// after a break of that page's entry ([`Walk::break_at`]).
#[inline(always)]
pub fn invalidate_ipa(machine: &impl Machine, vmid: u16, ipa: u64) {
    machine.invalidate_stage2_ipa(vmid, ipa);
}

/// Adds `n` to the reference count of `table`, a table being built or taken apart.
#[inline(always)]
pub fn add_entries(table: &mut LockedGranule<'_>, n: u16) {
    invariant::holds(table.add_refs(n), "RTT reference count, entries added");
}

/// Takes `n` from the reference count of `table`.
#[inline(always)]
pub fn remove_entries(table: &mut LockedGranule<'_>, n: u16) {
    invariant::holds(table.sub_refs(n), "RTT reference count, entries removed");
}
