//! # `apt`: the Access Permission Table granule (not yet implemented)
//!
//! This crate will own the APT: one realm's typed, fixed-capacity 4 KiB table of its
//! Confidential Shared Memory provider regions (with their grants) and its consumer
//! attachments, the capacity limits (checked at compile time to fit one granule), and the
//! encoding and validation of a table read back from a granule (a corrupted table is detected,
//! never trusted).
//!
//! It may depend only on `rmm-abi`. It never touches memory or hardware: the monitor hands it
//! bytes and applies what it returns. The design is in `docs/architecture.md` and
//! `../shared/design/CSM.md`; the work is tracked as the CSM state-machine issue.
//!
//! Nothing here is callable yet, on purpose: no placeholder pretends to work.
#![no_std]
