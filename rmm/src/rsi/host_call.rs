// SPDX-License-Identifier: MIT OR Apache-2.0
//! RSI_HOST_CALL: the realm hands the host an immediate and 31 registers through an
//! `RsiHostCall` in its memory; the host's answers go back into the same structure at the
//! next REC_ENTER ([`complete`]).

use super::RsiAction;
use super::args::HostCallArgs;
use crate::arch::Machine;
use crate::exec::RecEnv;
use crate::exec::exit_record::ExitRecord;
use crate::exec::realm_memory::{Access, Unreachable, with_granule};
use crate::exec::stage2_abort;
use rmm_abi::rmi::exit::RecExitReason;
use rmm_abi::rmi::states::Ripas;
use rmm_abi::rsi::host_call::{RSI_HOST_CALL_ALIGN, RSI_HOST_CALL_NR_GPRS, RsiHostCall};
use rmm_abi::rsi::status::RsiStatus;
use zerocopy::IntoBytes;

const GRANULE_MASK: u64 = crate::GRANULE_SIZE as u64 - 1;
/// Where `RsiHostCall.imm` (a `u16`) is.
const IMM_OFFSET: usize = core::mem::offset_of!(RsiHostCall, imm);
/// Where `RsiHostCall.gprs` is.
const GPRS_OFFSET: usize = core::mem::offset_of!(RsiHostCall, gprs);

/// Handles RSI_HOST_CALL(x1 = IPA of the structure): copies it into a host-call exit, read
/// straight into `exit`'s registers.
pub fn exit<M: Machine>(
    env: &RecEnv<'_, M>,
    args: HostCallArgs,
    exit: &mut ExitRecord,
) -> RsiAction {
    let HostCallArgs { ipa } = args;
    // 0x100-aligned, so it cannot cross a granule.
    if !ipa.is_multiple_of(RSI_HOST_CALL_ALIGN) || !env.realm.s2.in_par(ipa) {
        return RsiAction::status(RsiStatus::ErrorInput);
    }
    let machine = env.machine;
    let offset = (ipa & GRANULE_MASK) as usize;
    // The registers are read straight into the exit record, 8-byte aligned there and in the
    // structure (through a `RsiHostCall` on the stack they were moved twice, once
    // misaligned); the immediate as its whole word (the fake machine checks that accesses are
    // whole words), its reserved bytes not shown.
    let mut imm = 0u64;
    let read = with_granule(
        &env.monitor.granules,
        machine,
        &env.realm.s2,
        ipa & !GRANULE_MASK,
        Access::Read,
        |page| {
            machine.read_realm(page, offset + IMM_OFFSET, imm.as_mut_bytes());
            machine.read_realm(page, offset + GPRS_OFFSET, exit.gprs.as_mut_bytes());
        },
    );
    match read {
        Ok(()) => {
            exit.reason = RecExitReason::HostCall;
            exit.imm = u64::from_le(imm) & u64::from(u16::MAX);
            env.rec.set_host_call_pending(true);
            RsiAction::Exit
        }
        Err(Unreachable::NotMapped { level, ripas }) if ripas != Ripas::Empty => {
            stage2_abort(exit, level, ipa);
            RsiAction::Stage2Abort
        }
        Err(_) => RsiAction::status(RsiStatus::ErrorInput),
    }
}

/// Delivers the host's `gprs` to the realm's pending host call (at the IPA still in its x1),
/// as REC_ENTER does before running the realm: x0 becomes RSI_SUCCESS, `imm` is untouched.
/// Nothing pending, results delivered, or results dropped because the page became EMPTY:
/// `false`, the realm may run. The structure's page unmapped: `true`, with the exit that
/// asks the host to map it first written into `exit`.
pub fn complete<M: Machine>(
    env: &RecEnv<'_, M>,
    gprs: &[u64; RSI_HOST_CALL_NR_GPRS],
    regs: &mut [u64; 31],
    exit: &mut ExitRecord,
) -> bool {
    if !env.rec.host_call_pending() {
        return false;
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
        |page| machine.write_realm(page, offset + GPRS_OFFSET, gprs.as_bytes()),
    );
    match written {
        Ok(()) => {
            regs[0] = RsiStatus::Success.as_u64();
            env.rec.set_host_call_pending(false);
            false
        }
        Err(Unreachable::NotMapped { level, ripas }) if ripas != Ripas::Empty => {
            stage2_abort(exit, level, ipa);
            true
        }
        // EMPTY (or no longer valid): the reference RMM drops the results and leaves x0
        // holding the HOST_CALL function id.
        Err(_) => {
            env.rec.set_host_call_pending(false);
            false
        }
    }
}
