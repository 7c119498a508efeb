// SPDX-License-Identifier: MIT OR Apache-2.0
//! The monitor's fatal stop: what happens when the RMM finds an inconsistency that only a bug
//! of its own can cause (never anything a host or realm did).
//!
//! The CPU logs one line naming the broken rule and stops for good, in the middle of the
//! command it was serving: that command never returns to the host, no realm runs on this CPU
//! again, and every lock it held stays held, so no other CPU can act on the half-changed
//! state either. Going on instead could hand memory to the wrong party.

use crate::log_line::{Arg, Line};
use aarch64_cpu::asm::wfe;

/// Stops this CPU for good, after logging `what` (which rule broke) as an error:
/// `RMM FATAL: <what>; this CPU stops`.
#[cold]
#[inline(never)]
pub fn stop(what: &Line<'_>) -> ! {
    crate::log_error!("RMM FATAL: {}; this CPU stops", Arg::Line(what));
    halt()
}

/// Stops this CPU for good, silently (the caller reported why, or there is nothing to say).
pub fn halt() -> ! {
    loop {
        wfe();
    }
}
