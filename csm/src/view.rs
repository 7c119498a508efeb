// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`Stage2View`]: the only thing the state machine reads besides its own state — a summary
//! of a range of a realm's stage-2 table, which the monitor computes by walking the realm's RTT
//! under its lock. The state machine decides from it; it never sees a physical address.

use apt::{IpaRange, Rd};

/// Page counts over a range of one realm's stage 2. Every page is counted in exactly one of
/// the first four fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RangeSummary {
    /// Assigned to one of the realm's own DATA granules, RIPAS RAM.
    pub assigned_ram: u64,
    /// Unassigned, RIPAS RAM.
    pub unassigned_ram: u64,
    /// RIPAS EMPTY or DESTROYED, assigned or not.
    pub other: u64,
    /// CSM aliases (of another realm's granules).
    pub aliases: u64,
    /// Pages not covered by a level-3 table (a block mapping or no table yet).
    pub missing_tables: u64,
}

/// Read access to the realms' stage-2 tables, supplied by the monitor.
pub trait Stage2View {
    /// The summary of `range` in `realm`'s stage 2.
    fn summarize(&self, realm: Rd, range: IpaRange) -> RangeSummary;
}
