// SPDX-License-Identifier: MIT OR Apache-2.0
//! Inconsistencies that only a bug in the RMM can cause, and the one way the monitor reacts
//! to them: the fatal stop.
//!
//! Two kinds of inconsistency exist. Those a host or realm can cause (a granule in the wrong
//! state, an entry already mapped) are errors the command returns before it changes anything.
//! Those only an RMM bug can cause (a table's reference count out of range, a mapped page
//! that is not a DATA granule, a stage-2 table not in the RTT state, a TLB invalidation in
//! the wrong regime) stop the monitor: [`broken`] panics. On hardware it first logs
//! `RMM invariant broken: <rule> (<value>)` as an error, then the panic handler (`firmware`)
//! logs `RMM FATAL: panic at <the caller's file:line>: RMM invariant broken; this CPU stops`
//! and halts the CPU in the middle of the command, its locks still held, so neither the host
//! nor a realm ever sees the half-changed state and no other CPU can act on it. In host
//! tests the panic (`RMM invariant broken: <rule> (<value>)`) fails the test.
//! `docs/architecture.md` lists which checks are which.

use crate::log_line::{Line, hex};

/// An error only an RMM bug can cause, named for the fatal stop ([`holds`]).
pub trait BrokenRule: Copy {
    /// What went wrong, in a few words.
    fn what(self) -> &'static str;
}

/// Stops the monitor: `what` names the rule an RMM bug broke. Out of line, as [`broken_at`].
#[cold]
#[inline(never)]
#[track_caller]
pub fn broken(what: &'static str) -> ! {
    stop(&crate::line_of!("{}", what))
}

/// The stop itself: every path above ends here.
#[cold]
#[track_caller]
fn stop(what: &Line<'_>) -> ! {
    #[cfg(target_os = "none")]
    {
        crate::log_error!("RMM invariant broken: {}", crate::log_line::Arg::Line(what));
        panic!("RMM invariant broken")
    }
    #[cfg(not(target_os = "none"))]
    {
        let mut line = crate::log_line::LineBuffer::new();
        line.push_line(what);
        panic!("RMM invariant broken: {}", line.text())
    }
}

/// Stops the monitor over `value` (an address, a raw word): `what` names the rule an RMM bug
/// broke. Out of line, so that a check on a hot path costs a compare and a call, not the
/// building of a message (which made the handlers' frames bigger and kept the firmware's
/// size-level link from inlining them).
#[cold]
#[inline(never)]
#[track_caller]
pub fn broken_at(what: &'static str, value: u64) -> ! {
    stop(&crate::line_of!("{} ({})", what, hex(value)))
}

/// Stops the monitor if `result` is an error: for operations whose failure only an RMM bug
/// can cause (a table's reference count leaving 0..=512, say).
#[inline(always)]
#[track_caller]
pub fn holds<E: BrokenRule>(result: Result<(), E>, what: &'static str) {
    if let Err(error) = result {
        failed(what, error.what());
    }
}

/// [`holds`]'s stop, out of line as [`broken_at`] is.
#[cold]
#[inline(never)]
#[track_caller]
fn failed(what: &'static str, error: &'static str) -> ! {
    stop(&crate::line_of!("{}: {}", what, error))
}
