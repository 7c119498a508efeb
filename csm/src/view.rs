// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`Stage2View`]: the only things the state machine reads about realms besides their APTs —
//! a summary of a range of a realm's stage-2 table, which the monitor computes by walking the
//! realm's RTT under its lock, and whether a realm is ACTIVE. The state machine decides from
//! them; it never sees a physical address.

use apt::{IpaRange, Rd};

/// Page counts over a range of one realm's stage 2. Every page is counted in exactly one of
/// the first six fields; `missing_tables` counts again those without a level-3 table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RangeSummary {
    /// Assigned to one of the realm's own DATA granules, RIPAS RAM.
    pub assigned_ram: u64,
    /// Unassigned, RIPAS RAM.
    pub unassigned_ram: u64,
    /// Assigned, RIPAS EMPTY.
    pub assigned_empty: u64,
    /// Unassigned, RIPAS EMPTY.
    pub unassigned_empty: u64,
    /// RIPAS DESTROYED, assigned or not.
    pub destroyed: u64,
    /// CSM aliases (of another realm's granules).
    pub aliases: u64,
    /// Pages not covered by a level-3 table (a block mapping or no table yet).
    pub missing_tables: u64,
}

/// Read access to the realms' stage-2 tables and lifecycle, supplied by the monitor.
pub trait Stage2View {
    /// The summary of `range` in `realm`'s stage 2.
    fn summarize(&self, realm: Rd, range: IpaRange) -> RangeSummary;
    /// True if `realm` is ACTIVE (its measurement is final).
    fn realm_active(&self, realm: Rd) -> bool;
}
