// SPDX-License-Identifier: MIT OR Apache-2.0
//! `csm::Stage2View` for the locked realms: summaries of a range of a realm's stage 2,
//! computed by walking its tables (hand over hand, under its RD lock, which the operation
//! holds), and whether a realm is ACTIVE. No address leaves this file towards the state
//! machine (S8): only page counts.

use super::lock::LockedRds;
use crate::arch::Machine;
use crate::granule::GranuleTable;
use crate::realm::descriptor::Rd;
use crate::rtt::entry::Entry;
use crate::rtt::level::RttLevel;
use crate::rtt::walk::for_each_stretch;
use csm::{RangeSummary, Stage2View};
use rmm_abi::rmi::states::{RealmState, Ripas};

/// The stage-2 tables and states of the realms an operation locked.
pub struct TableView<'a, M: Machine> {
    /// The granule table.
    pub granules: &'a GranuleTable,
    /// The machine.
    pub machine: &'a M,
    /// The locked RDs.
    pub rds: &'a LockedRds<'a>,
}

impl<M: Machine> Stage2View for TableView<'_, M> {
    fn summarize(&self, realm: apt::Rd, range: apt::IpaRange) -> RangeSummary {
        let rd = Rd::new(self.machine, self.rds.get(realm));
        let s2 = rd.config_out_of_line().s2;
        let mut sum = RangeSummary::default();
        // The state machine asks only about ranges inside the protected half it checked;
        // anything else is summarised as DESTROYED, the most restrictive reading.
        if range.end() > s2.par_end() {
            sum.destroyed = range.pages();
            return sum;
        }
        for_each_stretch(
            self.granules,
            self.machine,
            &s2,
            range.base(),
            range.pages(),
            |stretch| {
                let walk = &*stretch.walk;
                if walk.level != RttLevel::LEAF {
                    sum.missing_tables += stretch.pages;
                    count(&mut sum, walk.entry(self.machine), stretch.pages);
                    return;
                }
                for i in 0..stretch.pages as usize {
                    count(&mut sum, walk.entry_at(self.machine, walk.index + i), 1);
                }
            },
        );
        sum
    }

    fn realm_active(&self, realm: apt::Rd) -> bool {
        Rd::new(self.machine, self.rds.get(realm)).state() == RealmState::Active
    }
}

/// Adds `pages` pages with `entry` to `sum`.
#[inline(always)]
fn count(sum: &mut RangeSummary, entry: Entry, pages: u64) {
    let field = match entry {
        Entry::Assigned {
            ripas: Ripas::Ram, ..
        } => &mut sum.assigned_ram,
        Entry::Assigned {
            ripas: Ripas::Empty,
            ..
        } => &mut sum.assigned_empty,
        Entry::Unassigned(Ripas::Ram) => &mut sum.unassigned_ram,
        Entry::Unassigned(Ripas::Empty) => &mut sum.unassigned_empty,
        Entry::Alias { .. } => &mut sum.aliases,
        // DESTROYED, and what the protected half never holds (read as the most restrictive).
        Entry::Assigned {
            ripas: Ripas::Destroyed,
            ..
        }
        | Entry::Unassigned(Ripas::Destroyed)
        | Entry::UnassignedNs
        | Entry::AssignedNs { .. }
        | Entry::Table(_) => &mut sum.destroyed,
    };
    *field += pages;
}
