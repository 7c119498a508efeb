// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CSM RSI calls (`RSI_CSM_{CREATE,SHARE,ACCEPT,DETACH,REVOKE,DESTROY,QUERY}`,
//! 0xC6000190–96, `docs/csm.md`): registers decoded once into a `csm::Call` (every value
//! checked there), then one operation of [`crate::sharing`]: the CSM lock (a pending host
//! interrupt while waiting for it exits with `RMI_EXIT_IRQ` and the call runs again), the RDs
//! it involves, the check, the commit and the effects. A call that needs the host (exit 7:
//! prepare the window; exit 8: populate the region) exits with the range in
//! `ripas_base`/`ripas_top` and runs again from the start on re-entry, every check made
//! again.

use super::RsiAction;
use crate::arch::Machine;
use crate::exec::RecEnv;
use crate::exec::exit_record::ExitRecord;
use crate::sharing::csm_rd;
use crate::sharing::operation::Operation;
use csm::{Call, RealmError, Reply};
use rmm_abi::csm::CsmRsiCommand;
use rmm_abi::rmi::exit::RecExitReason;
use rmm_abi::rsi::status::RsiStatus;

/// Handles CSM call `command` with the realm's registers `x`. Out of line: its frame holds
/// the plan and the locks (about 15 KiB), which no other RSI call should pay for.
#[inline(never)]
pub fn handle<M: Machine>(env: &RecEnv<'_, M>, command: CsmRsiCommand, x: &[u64; 31]) -> RsiAction {
    let call = match Call::decode(command, [x[1], x[2], x[3], x[4]]) {
        Ok(call) => call,
        Err(error) => return RsiAction::status(error.status()),
    };
    let Some(csm) = env.monitor.csm.lock_for_realm(env.machine) else {
        return RsiAction::Restart(ExitRecord::new(RecExitReason::Irq));
    };
    // The REC keeps its RD an RD, so the lock of the caller's RD cannot fail.
    let Ok(mut op) = Operation::begin(&env.monitor.granules, env.machine, csm, env.rd, Some(&call))
    else {
        return RsiAction::status(RsiStatus::ErrorUnknown);
    };
    let caller = csm_rd(env.rd);
    if let Err(error) = op.check(RealmError::AptCorrupt, |csm, store, view, plan| {
        csm.fw_check_rsi(store, caller, call, view, plan)
    }) {
        return RsiAction::status(error.status());
    }
    let outcome = op.commit();
    if let Some((exit, range)) = Operation::<M>::exit_of(outcome) {
        let mut record = ExitRecord::new(exit.reason());
        record.ripas = [range.base(), range.end(), 0];
        return RsiAction::Restart(record);
    }
    let [x1, x2, x3, x4] = outcome.reply.registers();
    match outcome.reply {
        // x4 carries QUERY's mode and attached bit; x5..x8 read as zero.
        Reply::Query(_) => {
            RsiAction::ReturnWide([RsiStatus::Success.as_u64(), x1, x2, x3, x4, 0, 0, 0, 0])
        }
        Reply::Done
        | Reply::Restart
        | Reply::Realm(_)
        | Reply::Region(_)
        | Reply::Share(_)
        | Reply::Accepted { .. } => RsiAction::Return([RsiStatus::Success.as_u64(), x1, x2, x3]),
    }
}
