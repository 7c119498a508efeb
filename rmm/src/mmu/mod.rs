// SPDX-License-Identifier: MIT OR Apache-2.0
//! The RMM's own stage-1 translation at R-EL2, as pure logic: which ranges are mapped, with
//! which attributes, and the translation tables and control-register values that say so.
//!
//! - [`attrs`]: memory kinds, permissions, PAS, and their descriptor bits; MAIR/TCR/SCTLR.
//! - [`layout`]: the RMM's memory map, derived from its image sections, the carve-out and the
//!   boot manifest.
//! - [`tables`]: a builder that writes 4 KiB-granule, 48-bit-VA translation tables into a
//!   pool of pages, and a software walker that reads them back (for tests and self-checks).
//!
//! The tables are built once on the boot CPU and never change; the arch layer installs them
//! on every CPU. Nothing here touches a system register.

pub mod attrs;
pub mod layout;
pub mod tables;
