//! # `csm`: the Confidential Shared Memory state machine (not yet implemented)
//!
//! This crate will own the CSM state machine across all realms: `RealmId`, `RegionId` and
//! `ShareId` allocation (never reused), one pure function per operation (APT_CREATE,
//! APT_DESTROY, CREATE, SHARE, ACCEPT, DETACH, REVOKE, DESTROY, QUERY, and the host-side events
//! that touch CSM), each returning either an error with the state unchanged or the list of
//! effects for the monitor to apply; and the security invariants S1–S11 as a checker function
//! used by the model checker, property tests and debug builds of the monitor.
//!
//! It may depend only on `rmm-abi` and `apt`, and never touches memory or hardware.
//!
//! Nothing here is callable yet, on purpose: no placeholder pretends to work.
#![no_std]
