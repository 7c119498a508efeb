// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CSM RSI calls (`RSI_CSM_{CREATE,SHARE,ACCEPT,DETACH,REVOKE,DESTROY,QUERY}`,
//! 0xC6000190–96, `docs/csm.md`): registers decoded once into a `csm::Call` (every value
//! checked there), then one operation of [`crate::sharing`]: the CSM lock (a pending host
//! interrupt while waiting for it exits with `RMI_EXIT_IRQ` and the call runs again), the RDs
//! it involves, the check, the commit and the effects. A call that needs the host (exit 7:
//! prepare the window; exit 8: populate the region) exits with the range in
//! `ripas_base`/`ripas_top` and runs again from the start on re-entry, every check made
//! again.

use super::answer::Answer;
use super::args::CsmArgs;
use crate::arch::Machine;
use crate::exec::RecEnv;
use crate::sharing::csm_rd;
use crate::sharing::lock::CsmGuard;
use crate::sharing::lock::LockedRds;
use crate::sharing::operation::Operation;
use crate::sharing::store::{GranuleStore, empty_cell};
use csm::{Call, RealmError, Reply};
use rmm_abi::csm::CsmRsiCommand;
use rmm_abi::rmi::exit::RecExitReason;
use rmm_abi::rsi::status::RsiStatus;

/// Handles CSM call `command` with the realm's registers `x`. Out of line and outside the
/// world switch (`rsi::dispatch` defers it): its frame holds the RD locks and the tables'
/// cells, which no other RSI call should pay for.
#[inline(never)]
pub fn handle<M: Machine>(env: &RecEnv<'_, M>, command: CsmRsiCommand, args: CsmArgs) -> Answer {
    let status = |s: RsiStatus| Answer::Return([s.as_u64(), 0, 0, 0]);
    let call = match Call::decode(command, args.regs) {
        Ok(call) => call,
        Err(error) => return status(error.status()),
    };
    let Some(csm) = env.monitor.csm.lock_for_realm(env.machine) else {
        return Answer::Restart(RecExitReason::Irq, 0, 0);
    };
    operate(env, call, csm)
}

/// [`handle`]'s operation, with the CSM lock held.
fn operate<'a, M: Machine>(env: &RecEnv<'a, M>, call: Call, csm: CsmGuard<'a>) -> Answer {
    let status = |s: RsiStatus| Answer::Return([s.as_u64(), 0, 0, 0]);
    // The REC keeps its RD an RD, so the lock of the caller's RD cannot fail.
    let (own, peer) = (empty_cell(), empty_cell());
    let cells = [&own, &peer];
    let mut store = GranuleStore::new(env.machine, &cells);
    let mut rds = LockedRds::new();
    let Ok(mut op) = Operation::begin(
        &env.monitor.granules,
        csm,
        env.rd,
        Some(&call),
        &mut store,
        &mut rds,
    ) else {
        return status(RsiStatus::ErrorUnknown);
    };
    let caller = csm_rd(env.rd);
    if let Err(error) = op.check(RealmError::AptCorrupt, |csm, store, view, plan| {
        csm.fw_check_rsi(store, caller, call, view, plan)
    }) {
        return status(error.status());
    }
    let outcome = op.commit();
    if let Some((exit, range)) = Operation::<M>::exit_of(outcome) {
        return Answer::Restart(exit.reason(), range.base(), range.end());
    }
    let [x1, x2, x3, x4] = outcome.reply.registers();
    let ok = RsiStatus::Success.as_u64();
    match outcome.reply {
        Reply::Query(_) => Answer::ReturnWide([ok, x1, x2, x3, x4]),
        Reply::Done
        | Reply::Restart
        | Reply::Partial
        | Reply::Realm(_)
        | Reply::Region(_)
        | Reply::Share(_)
        | Reply::Accepted { .. } => Answer::Return([ok, x1, x2, x3]),
    }
}
