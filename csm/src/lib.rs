// SPDX-License-Identifier: MIT OR Apache-2.0
//! # `csm`: the Confidential Shared Memory state machine
//!
//! The global CSM state ([`Csm`]: id counters and a bounded RealmId → RD index; each realm's
//! regions, grants and attachments live in its APT granule, read and written through an
//! [`AptStore`]) and one function per operation — `RMI_APT_CREATE`,
//! `RMI_APT_DESTROY`, `RSI_CSM_{CREATE,SHARE,ACCEPT,DETACH,REVOKE,DESTROY,QUERY}` and the host
//! events that touch CSM — each taking the state, the caller's identity and (where pages
//! matter) a [`Stage2View`], and returning either an error with nothing changed or an
//! [`Outcome`]: the [`Effect`]s for the monitor to apply and the [`Reply`]. Each operation is a
//! check (`check_*`, returning a [`Plan`]) and a commit ([`Csm::commit`]): see [`plan`]. The
//! crate never touches memory or hardware, allocates nothing and cannot panic on any input.
//!
//! * [`state`] — the global state, id allocation (never reused) and shared lookups;
//! * [`plan`] — the store interface, check-then-commit, and the realms an operation involves;
//! * [`ops`] — the operations, one file per group;
//! * [`effect`] — effects and replies; [`error`] — errors and their status codes;
//! * [`view`] — what the state machine reads from the stage-2 tables;
//! * [`fw`] — the firmware's concrete entry points (compiled once, here);
//! * `invariants` — S1–S11 as a checker (tests, debug builds, feature `invariants`);
//! * `model` — the exhaustive model checker (tests, feature `model`).
//!
//! `docs/csm.md` is the specification; every transition there is a function here.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod effect;
pub mod error;
pub mod fw;
#[cfg(any(test, debug_assertions, feature = "invariants"))]
pub mod invariants;
#[cfg(any(test, feature = "model"))]
pub mod model;
pub mod ops;
pub mod plan;
pub mod state;
pub mod view;

pub use effect::{CsmExit, Effect, Effects, MAX_EFFECTS, Outcome, QueryInfo, Reply};
pub use error::{HostError, RealmError};
pub use fw::FwStore;
pub use ops::call::{Call, HostEvent};
pub use plan::{
    APT_DESTROY_BATCH, AptStore, Change, Corrupt, Edit, Involved, Lent, MAX_EDITS, MAX_INVOLVED,
    MAX_LENT, Plan,
};
pub use state::{Csm, FW_REALMS, FW_STATIC_LIMIT, Fault, FwCsm, IndexEntry};
pub use view::{RangeSummary, Stage2View};

#[cfg(test)]
mod tests;
