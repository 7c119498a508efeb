// SPDX-License-Identifier: MIT OR Apache-2.0
//! The exhaustive model checker (tests and feature `model` only).
//!
//! * [`world`] — a model of the monitor around the state machine: realms' lifecycles, a small
//!   stage-2 table per realm (pages, level-3 tables, aliases), stale TLB entries, and the
//!   application of effects exactly as the monitor must do it;
//! * [`action`] — every operation by every realm and every host event, with argument choices
//!   including hostile ones, and one checked step (S3, S5, S7, S10, S11 around the step; S1,
//!   S2, S4, S6, S8 after it);
//! * [`canon`] — canonical form: live ids renamed in creation order, slots sorted, realms
//!   permuted to the smallest form (symmetric realms alike);
//! * [`explore`] — breadth-first search to a depth bound, with a counterexample trace.
//!
//! Own explorer rather than `stateright`: the canonicalisation needs full control of the state
//! representation, the fingerprint set keeps memory at 16 bytes per state, and it adds no
//! dependency (stateright pulls an HTTP server and a JSON stack into the build of a 2-core
//! machine).

pub mod action;
pub mod canon;
pub mod explore;
pub mod world;

#[cfg(test)]
mod tests;
