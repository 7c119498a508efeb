// SPDX-License-Identifier: MIT OR Apache-2.0
//! # `csm`: the Confidential Shared Memory state machine
//!
//! The CSM state of every realm ([`Csm`]) and one pure function per operation — `RMI_APT_CREATE`,
//! `RMI_APT_DESTROY`, `RSI_CSM_{CREATE,SHARE,ACCEPT,DETACH,REVOKE,DESTROY,QUERY}` and the host
//! events that touch CSM — each taking the state, the caller's identity and (where pages
//! matter) a [`Stage2View`], and returning either an error with nothing changed or an
//! [`Outcome`]: the [`Effect`]s for the monitor to apply and the [`Reply`]. The crate never
//! touches memory or hardware, allocates nothing and cannot panic on any input.
//!
//! * [`state`] — the state, id allocation (never reused) and shared lookups;
//! * [`ops`] — the operations, one file per group;
//! * [`effect`] — effects and replies; [`error`] — errors and their status codes;
//! * [`view`] — what the state machine reads from the stage-2 tables;
//! * `invariants` — S1–S11 as a checker (tests, debug builds, feature `invariants`);
//! * `model` — the exhaustive model checker (tests, feature `model`).
//!
//! `docs/csm.md` is the specification; every transition there is a function here.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod effect;
pub mod error;
#[cfg(any(test, debug_assertions, feature = "invariants"))]
pub mod invariants;
#[cfg(any(test, feature = "model"))]
pub mod model;
pub mod ops;
pub mod state;
pub mod view;

pub use effect::{CsmExit, Effect, Effects, MAX_EFFECTS, Outcome, QueryInfo, Reply};
pub use error::{HostError, RealmError};
pub use ops::call::Call;
pub use state::{Csm, Fault, FwCsm, RealmEntry};
pub use view::{RangeSummary, Stage2View};

#[cfg(test)]
mod tests;
