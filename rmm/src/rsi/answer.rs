// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`Answer`]: what an out-of-line RSI handler (the CSM calls, attestation, measurement
//! extension) returns, a few words, instead of a whole [`RsiAction`].
//!
//! REC_ENTER's exit loop is one function with the RSI dispatcher inlined into it. An
//! out-of-line handler returns a few words; [`Answer::action`], inlined into the dispatcher,
//! writes an exit into REC_ENTER's record and gives the dispatcher's action.

use super::RsiAction;
use crate::exec::exit_record::ExitRecord;
use crate::exec::stage2_abort;
use crate::rtt::level::RttLevel;
use rmm_abi::rmi::exit::RecExitReason;
use rmm_abi::rsi::status::RsiStatus;

/// A small RSI result; [`Answer::action`] is the dispatcher's [`RsiAction`] for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// x0..x3 (x4.. kept).
    Return([u64; 4]),
    /// x0..x4, x5..x8 zero (RSI_CSM_QUERY).
    ReturnWide([u64; 5]),
    /// Exit to the host with this reason and range (`ripas_base`, `ripas_top`); the call is
    /// not made and runs again on re-entry.
    Restart(RecExitReason, u64, u64),
    /// x0..x3 set, then exit to the host with this reason (an interrupted token signature:
    /// RSI_INCOMPLETE and `RMI_EXIT_IRQ`).
    ReturnAndExit([u64; 4], RecExitReason),
    /// An emulated stage-2 abort at `level` for the argument at this IPA; the realm retries.
    Stage2Abort(RttLevel, u64),
}

impl Answer {
    /// Status only.
    pub const fn status(status: RsiStatus) -> Self {
        Self::Return([status.as_u64(), 0, 0, 0])
    }

    /// The dispatcher's action for this answer; an exit is written into `exit`.
    #[inline(always)]
    pub fn action(self, exit: &mut ExitRecord) -> RsiAction {
        match self {
            Answer::Return(regs) => RsiAction::Return(regs),
            Answer::ReturnWide([x0, x1, x2, x3, x4]) => {
                RsiAction::ReturnWide([x0, x1, x2, x3, x4, 0, 0, 0, 0])
            }
            Answer::Restart(reason, base, top) => {
                exit.reason = reason;
                exit.ripas = [base, top, 0];
                RsiAction::Restart
            }
            Answer::ReturnAndExit(regs, reason) => {
                exit.reason = reason;
                RsiAction::ReturnAndExit(regs)
            }
            Answer::Stage2Abort(level, ipa) => {
                stage2_abort(exit, level, ipa);
                RsiAction::Stage2Abort
            }
        }
    }
}
