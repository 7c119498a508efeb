// SPDX-License-Identifier: MIT OR Apache-2.0
//! Granule tracking: one small descriptor per 4 KiB granule of NS DRAM, and its lock.
//!
//! - [`addr`]: [`GranuleAddr`], a physical address proven granule-aligned.
//! - [`descriptor`]: the 16-bit descriptor word (lock bit, state, reference count).
//! - [`table`]: [`GranuleTable`], the descriptors of every granule in the boot manifest's DRAM
//!   banks, sized at boot, and [`LockedGranule`], the only way to read or change one.
//!
//! Locking rules (those of the reference RMM, which keep four CPUs safe at once):
//! 1. external granules (named by RMI arguments: NS, DELEGATED, RD, REC) before internal ones
//!    (RTT, DATA, REC_AUX), and external granules in ascending PA order;
//! 2. a granule's state is checked only after it is locked;
//! 3. RTTs are walked hand over hand from the root;
//! 4. a DELEGATED granule is all zeros whenever it is unlocked.
//!
//! This module owns the descriptors only; it never touches granule contents (that is
//! [`crate::arch::Machine`]'s job).

pub mod addr;
pub mod descriptor;
pub mod table;

pub use addr::GranuleAddr;
pub use table::{GranuleTable, LockedGranule};
