// SPDX-License-Identifier: MIT OR Apache-2.0
//! # `apt`: the Access Permission Table granule
//!
//! One CSM-capable realm's table: its provider regions with their grants, and its consumer
//! attachments, in fixed capacity ([`capacity`]) so the whole table fits one 4 KiB granule
//! (checked at compile time for every instantiation). The crate owns:
//!
//! * [`ids`] — `RealmId`, `RegionId`, `ShareId` (never 0) and the owner handle `Rd`;
//! * [`range`] — a checked, page-aligned IPA range;
//! * [`table`] — the typed table ([`Apt`], [`Region`], [`Grant`], [`Attachment`]) and its
//!   slot helpers;
//! * [`words`] — the table as its granule holds it, read and edited in place record by record
//!   (what the monitor uses): the record offsets, decoders and writers;
//! * [`codec`] — the whole table to and from its granule, with validation: a table decoded
//!   from a granule is checked completely (magic, version, capacities, every field and every
//!   cross-record rule); decoding never panics on any input (the tests', the model
//!   checker's and the fuzz targets' view of a granule).
//!
//! The crate never touches memory or hardware: the monitor hands it bytes. The CSM semantics
//! (who may change what) live in the `csm` crate; `docs/csm.md` is the specification.
#![no_std]
#![forbid(unsafe_code)]

pub mod capacity;
pub mod codec;
pub mod ids;
pub mod range;
pub mod table;
pub mod words;

pub use capacity::{FwApt, GRANULE_SIZE};
pub use codec::DecodeError;
pub use ids::{Rd, RealmId, RegionId, ShareId};
pub use range::{IpaRange, PAGE_SIZE};
pub use table::{Apt, Attachment, Grant, GrantState, Region, RegionState, Relation};
pub use words::{AptWords, AptWordsMut};
