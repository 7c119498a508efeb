// SPDX-License-Identifier: MIT OR Apache-2.0
//! What REC_ENTER finishes before the realm runs again, from the host's `RecEnter`: an
//! injected external abort or an emulated MMIO access for the last exit, the outcome of a
//! RIPAS change, and the results of a pending host call. Order and errors are the reference
//! RMM's (§2.3–2.6 of `docs/reference/tf-rmm-rel0-realm-execution-facts.md`).

use crate::arch::Machine;
use crate::arch::world::RealmContext;
use crate::exec::RecEnv;
use crate::exec::exit_record::ExitRecord;
use crate::exec::inject;
use crate::realm::rec::{LastExit, Rec, RipasChange};
use crate::rsi::host_call;
use crate::vcpu::esr::{Esr, ExceptionClass, fault_ipa_page, load_value};
use rmm_abi::rmi::rec_run::{REC_RUN_NR_GPRS, RecEnterFlags};
use rmm_abi::rmi::states::Ripas;
use rmm_abi::rsi::status::RsiStatus;

/// `RSI_ACCEPT` / `RSI_REJECT`: the host's answer to a RIPAS change, as the realm sees it.
pub const RSI_ACCEPT: u64 = 0;
/// See [`RSI_ACCEPT`].
pub const RSI_REJECT: u64 = 1;

/// The host asked for something the last exit does not allow (REC_ENTER fails with
/// RMI_ERROR_REC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CannotComplete;

/// Applies INJECT_SEA and EMUL_MMIO from `RecEnter.flags` to the REC's context `ctx`, given
/// the last exit's syndrome `last`; `mmio_value` is `RecEnter.gprs[0]` (read by the caller
/// only when EMUL_MMIO is set, since nothing else uses it).
pub fn emulation(
    realm_par_end: u64,
    flags: RecEnterFlags,
    mmio_value: u64,
    last: &LastExit,
    ctx: &mut RealmContext,
) -> Result<(), CannotComplete> {
    let esr = Esr::new(last.esr);
    let was_data_abort = esr.class() == ExceptionClass::DataAbort;
    let inject_sea = flags.contains(RecEnterFlags::INJECT_SEA);
    if inject_sea {
        // Only an abort on an unprotected IPA may be answered with an external abort.
        if !was_data_abort || fault_ipa_page(last.hpfar) < realm_par_end {
            return Err(CannotComplete);
        }
        inject::external_abort(ctx, esr, last.far);
    }
    if flags.contains(RecEnterFlags::EMUL_MMIO) && !inject_sea {
        if !was_data_abort || !esr.isv() {
            return Err(CannotComplete);
        }
        let rt = esr.srt();
        if !esr.is_write() && rt < 31 {
            ctx.gprs.x[rt] = load_value(esr, mmio_value);
        }
        ctx.gprs.advance_pc();
    }
    Ok(())
}

/// Delivers a pending host call's results (`RecEnter.gprs`); `true` if the realm cannot run
/// yet, with the exit written into `exit`.
pub fn host_call<M: Machine>(
    env: &RecEnv<'_, M>,
    gprs: &[u64; REC_RUN_NR_GPRS],
    ctx: &mut RealmContext,
    exit: &mut ExitRecord,
) -> bool {
    host_call::complete(env, gprs, &mut ctx.gprs.x, exit)
}

/// Finishes a pending RIPAS change: the realm learns how far RTT_SET_RIPAS got (x1 = the
/// first address not changed) and whether the host refused the rest (x2). As in the
/// reference RMM, a host can only refuse a change to RAM, and only one it did not finish:
/// anything else is reported as accepted. The change is no longer pending afterwards.
pub fn ripas_change<M: Machine>(rec: &Rec<'_, M>, flags: RecEnterFlags, ctx: &mut RealmContext) {
    if !rec.ripas_change_pending() {
        return;
    }
    let change = rec.ripas_change();
    let rejected = flags.contains(RecEnterFlags::RIPAS_RESPONSE);
    let refused = rejected && change.ripas == Ripas::Ram && change.addr != change.top;
    ctx.gprs.x[0] = RsiStatus::Success.as_u64();
    ctx.gprs.x[1] = change.addr;
    ctx.gprs.x[2] = if refused { RSI_REJECT } else { RSI_ACCEPT };
    rec.set_ripas_change(&RipasChange {
        base: 0,
        top: 0,
        ..change
    });
}
