// SPDX-License-Identifier: MIT OR Apache-2.0
//! Applying the state machine's effects to the stage-2 tables, through the `rtt` primitives,
//! while the operation still holds the CSM lock and the RD locks (S9).
//!
//! - `MapAliases`: every window page, an unassigned RIPAS EMPTY entry under a level-3 table
//!   (the check made sure), becomes an alias of the provider's DATA granule at the same
//!   offset of the region, counted in the consumer's table. The provider's entry is read from
//!   its own table (S8): no address ever comes from the state machine.
//! - `UnmapAliases`: every window alias becomes unassigned with the RIPAS the effect names,
//!   uncounted, without an invalidation per page: the `InvalidateTlbs` that always follows
//!   invalidates the window once (per IPA for a few pages, the whole VMID otherwise), with
//!   barriers, before the operation returns and so before any page changes hands.
//!
//! An entry that is not what the checked plan promised can only be an RMM bug: the monitor
//! stops ([`crate::invariant`]).

use super::lock::LockedRds;
use crate::arch::Machine;
use crate::granule::GranuleTable;
use crate::invariant;
use crate::realm::descriptor::Rd;
use crate::rtt::change::{invalidate_ipa, invalidate_vmid};
use crate::rtt::entry::Entry;
use crate::rtt::level::RttLevel;
use crate::rtt::walk::{Walk, for_each_stretch, walk};
use csm::Effect;
use rmm_abi::csm::CsmMode;
use rmm_abi::rmi::states::Ripas;

/// Up to this many pages are invalidated one IPA at a time; larger windows invalidate the
/// consumer's whole VMID once (cheaper than thousands of broadcast TLBIs, and what the
/// reference RMM does for ranges).
pub const PER_IPA_LIMIT: u64 = 8;

const PAGE: u64 = crate::GRANULE_SIZE as u64;

/// Applies one effect other than `ExitToHost` (which the caller turns into the REC exit).
pub fn apply(
    granules: &GranuleTable,
    machine: &impl Machine,
    rds: &LockedRds<'_>,
    effect: &Effect,
) {
    match *effect {
        Effect::MapAliases {
            consumer,
            window,
            provider,
            source,
            mode,
        } => {
            // Inline here (out of line the link reshaped the per-page loop below: ACCEPT
            // 8 MiB +2.6%); the other effects read it out of line.
            let provider_s2 = Rd::new(machine, rds.get(provider)).config().s2;
            let consumer_s2 = Rd::new(machine, rds.get(consumer)).config().s2;
            let writable = mode == CsmMode::ReadWrite;
            for_each_stretch(
                granules,
                machine,
                &consumer_s2,
                window.base(),
                window.pages(),
                |stretch| {
                    let offset = stretch.ipa - window.base();
                    let leaf = stretch.walk;
                    if leaf.level != RttLevel::LEAF {
                        invariant::broken_at(
                            "a CSM window to map has no level-3 table",
                            stretch.ipa,
                        );
                    }
                    // One provider walk per provider table (or block): [lo, hi) is what it maps.
                    let mut source_walk: Option<(Walk<'_>, u64, u64)> = None;
                    for i in 0..stretch.pages {
                        let src_ipa = source + offset + i * PAGE;
                        if !matches!(&source_walk, Some((_, lo, hi)) if (*lo..*hi).contains(&src_ipa))
                        {
                            // Release the previous provider table first: a walk that stopped
                            // at a block holds the level-2 table the next walk passes through
                            // (keeping it while walking again deadlocked this CPU on its own
                            // lock at a region running from a block into the table after it).
                            drop(source_walk.take());
                            let w = walk(granules, machine, &provider_s2, src_ipa, RttLevel::LEAF);
                            let span = if w.level == RttLevel::LEAF {
                                RttLevel::LEAF.table_span()
                            } else {
                                w.level.entry_size()
                            };
                            let lo = src_ipa / span * span;
                            source_walk = Some((w, lo, lo + span));
                        }
                        let Some((src, _, _)) = source_walk.as_ref() else {
                            continue;
                        };
                        let pa = provider_page(machine, src, src_ipa);
                        let index = leaf.index + i as usize;
                        if leaf.entry_at(machine, index) != Entry::Unassigned(Ripas::Empty) {
                            invariant::broken_at(
                                "a CSM alias over a used entry",
                                stretch.ipa + i * PAGE,
                            );
                        }
                        leaf.set_at(machine, index, Entry::Alias { pa, writable });
                        leaf.count_entry();
                    }
                },
            );
        }
        Effect::UnmapAliases {
            consumer,
            window,
            ripas,
        } => {
            let s2 = Rd::new(machine, rds.get(consumer)).config_out_of_line().s2;
            for_each_stretch(
                granules,
                machine,
                &s2,
                window.base(),
                window.pages(),
                |stretch| {
                    let leaf = stretch.walk;
                    if leaf.level != RttLevel::LEAF {
                        invariant::broken_at(
                            "a CSM window to unmap has no level-3 table",
                            stretch.ipa,
                        );
                    }
                    for i in 0..stretch.pages as usize {
                        let index = leaf.index + i;
                        if !matches!(leaf.entry_at(machine, index), Entry::Alias { .. }) {
                            invariant::broken_at(
                                "a CSM unmap of a non-alias",
                                stretch.ipa + i as u64 * PAGE,
                            );
                        }
                        // Invalid from here on; the InvalidateTlbs after this effect removes
                        // every cached translation before the operation returns.
                        leaf.break_at(machine, index, Entry::Unassigned(ripas));
                        leaf.uncount_entry();
                    }
                },
            );
        }
        Effect::InvalidateTlbs { realm, range } => {
            let vmid = Rd::new(machine, rds.get(realm)).config_out_of_line().vmid;
            if range.pages() <= PER_IPA_LIMIT {
                for i in 0..range.pages() {
                    invalidate_ipa(machine, vmid, range.base() + i * PAGE);
                }
            } else {
                invalidate_vmid(machine, vmid);
            }
        }
        Effect::ExitToHost { .. } => {}
    }
}

/// The provider's DATA granule at `ipa`, which `src` (a walk of the provider's tables that
/// reached the entry mapping `ipa`) maps as assigned RAM: a page, or a page of a block.
fn provider_page(machine: &impl Machine, src: &Walk<'_>, ipa: u64) -> u64 {
    let index = src.level.index(ipa);
    match src.entry_at(machine, index) {
        Entry::Assigned {
            pa,
            ripas: Ripas::Ram,
        } => pa + (ipa - src.level.align_down(ipa)) / PAGE * PAGE,
        _ => invariant::broken_at("a CSM source page is not assigned RAM", ipa),
    }
}
