// SPDX-License-Identifier: MIT OR Apache-2.0
//! RSI_HOST_CALL: the realm hands the host an immediate and 31 registers through an
//! `RsiHostCall` in its memory; the host's answers go back into the same structure at the
//! next REC_ENTER ([`complete`]).

use super::RsiAction;
use crate::arch::Machine;
use crate::exec::RecEnv;
use crate::exec::exit_record::ExitRecord;
use crate::exec::realm_memory::{Access, Unreachable, with_granule};
use crate::exec::stage2_abort;
use rmm_abi::rmi::exit::RecExitReason;
use rmm_abi::rmi::states::Ripas;
use rmm_abi::rsi::host_call::{RSI_HOST_CALL_ALIGN, RSI_HOST_CALL_NR_GPRS, RsiHostCall};
use rmm_abi::rsi::status::RsiStatus;
use zerocopy::{FromZeros, IntoBytes};

const GRANULE_MASK: u64 = crate::GRANULE_SIZE as u64 - 1;

/// Handles RSI_HOST_CALL(x1 = IPA of the structure): copies it into a host-call exit.
pub fn exit<M: Machine>(env: &RecEnv<'_, M>, ipa: u64) -> RsiAction {
    // 0x100-aligned, so it cannot cross a granule.
    if !ipa.is_multiple_of(RSI_HOST_CALL_ALIGN) || !env.realm.s2.in_par(ipa) {
        return RsiAction::status(RsiStatus::ErrorInput);
    }
    let machine = env.machine;
    let mut call = RsiHostCall::new_zeroed();
    let offset = (ipa & GRANULE_MASK) as usize;
    let read = with_granule(
        &env.monitor.granules,
        machine,
        &env.realm.s2,
        ipa & !GRANULE_MASK,
        Access::Read,
        |page| machine.read_realm(page, offset, call.as_mut_bytes()),
    );
    match read {
        Ok(()) => {
            let mut exit = ExitRecord::new(RecExitReason::HostCall);
            exit.imm = u64::from(call.imm);
            exit.gprs = call.gprs;
            env.rec.set_host_call_pending(true);
            RsiAction::Exit(exit)
        }
        Err(Unreachable::NotMapped { level, ripas }) if ripas != Ripas::Empty => {
            RsiAction::Stage2Abort(stage2_abort(level, ipa))
        }
        Err(_) => RsiAction::status(RsiStatus::ErrorInput),
    }
}

/// Delivers the host's `gprs` to the realm's pending host call (at the IPA still in its x1),
/// as REC_ENTER does before running the realm: x0 becomes RSI_SUCCESS, `imm` is untouched.
/// Nothing pending, results delivered, or results dropped because the page became EMPTY:
/// `None`, the realm may run. The structure's page unmapped: the exit that asks the host to
/// map it first.
pub fn complete<M: Machine>(
    env: &RecEnv<'_, M>,
    gprs: &[u64; RSI_HOST_CALL_NR_GPRS],
    regs: &mut [u64; 31],
) -> Option<ExitRecord> {
    if !env.rec.host_call_pending() {
        return None;
    }
    let ipa = regs[1];
    let machine = env.machine;
    let offset = (ipa & GRANULE_MASK) as usize;
    let written = with_granule(
        &env.monitor.granules,
        machine,
        &env.realm.s2,
        ipa & !GRANULE_MASK,
        Access::Write,
        |page| machine.write_realm(page, offset + 8, gprs.as_bytes()),
    );
    match written {
        Ok(()) => {
            regs[0] = RsiStatus::Success.as_u64();
            env.rec.set_host_call_pending(false);
            None
        }
        Err(Unreachable::NotMapped { level, ripas }) if ripas != Ripas::Empty => {
            Some(stage2_abort(level, ipa))
        }
        // EMPTY (or no longer valid): the reference RMM drops the results and leaves x0
        // holding the HOST_CALL function id.
        Err(_) => {
            env.rec.set_host_call_pending(false);
            None
        }
    }
}
