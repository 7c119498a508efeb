// SPDX-License-Identifier: MIT OR Apache-2.0
//! Inconsistencies that only a bug in the RMM can cause, and the one way the monitor reacts
//! to them: the fatal stop.
//!
//! Two kinds of inconsistency exist. Those a host or realm can cause (a granule in the wrong
//! state, an entry already mapped) are errors the command returns before it changes anything.
//! Those only an RMM bug can cause (a table's reference count out of range, a mapped page
//! that is not a DATA granule, a stage-2 table not in the RTT state, a TLB invalidation in
//! the wrong regime) stop the monitor: [`broken`] panics, and on hardware the panic handler
//! (`firmware`) logs `RMM FATAL: …` and halts the CPU in the middle of the command, its locks
//! still held, so neither the host nor a realm ever sees the half-changed state and no other
//! CPU can act on it. In host tests the panic fails the test. `docs/architecture.md` lists
//! which checks are which.

/// Stops the monitor: `what` names the rule an RMM bug broke. Out of line, as [`broken_at`].
#[cold]
#[inline(never)]
#[track_caller]
pub fn broken(what: &'static str) -> ! {
    stop(format_args!("{what}"))
}

/// The stop itself: every path above ends here.
#[cold]
#[track_caller]
fn stop(what: core::fmt::Arguments<'_>) -> ! {
    panic!("RMM invariant broken: {what}")
}

/// Stops the monitor over `value` (an address, a raw word): `what` names the rule an RMM bug
/// broke. Out of line, so that a check on a hot path costs a compare and a call, not the
/// building of a message (which made the handlers' frames bigger and kept the firmware's
/// size-level link from inlining them).
#[cold]
#[inline(never)]
#[track_caller]
pub fn broken_at(what: &'static str, value: u64) -> ! {
    stop(format_args!("{what} ({value:#x})"))
}

/// Stops the monitor if `result` is an error: for operations whose failure only an RMM bug
/// can cause (a table's reference count leaving 0..=512, say).
#[inline(always)]
#[track_caller]
pub fn holds<E: core::fmt::Display>(result: Result<(), E>, what: &'static str) {
    if let Err(error) = result {
        failed(what, &error);
    }
}

/// [`holds`]'s stop, out of line as [`broken_at`] is.
#[cold]
#[inline(never)]
#[track_caller]
fn failed(what: &'static str, error: &dyn core::fmt::Display) -> ! {
    stop(format_args!("{what}: {error}"))
}
