// SPDX-License-Identifier: MIT OR Apache-2.0
//! Realm Translation Tables: the stage-2 tables the RMM builds for each realm on the host's
//! request, in delegated granules the host can neither read nor write.
//!
//! - [`level`]: [`RttLevel`](level::RttLevel) and the address arithmetic of 4 KiB tables.
//! - [`entry`]: [`Entry`](entry::Entry), one table entry decoded, and its encoding.
//! - [`walk`]: a realm's stage-2 shape and the hand-over-hand locked walk.
//! - [`change`]: the one API for changing an entry (writes over invalid entries,
//!   break-before-make, batches, entries of a table being built), the stage-2 TLB
//!   invalidations, and the table reference counts.
//!
//! This module owns table contents only; which command may change what is `rmi`'s business.

pub mod change;
pub mod entry;
pub mod level;
pub mod walk;
