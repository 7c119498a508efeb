//! What REC_ENTER finishes before the realm runs again, from the host's `RecEnter`: an
//! injected external abort or an emulated MMIO access for the last exit, and the results of
//! a pending host call. Order and errors are the reference RMM's (§2.3–2.5 of
//! `docs/reference/tf-rmm-rel0-realm-execution-facts.md`).

use super::RecEnv;
use super::esr::{Esr, ExceptionClass, fault_ipa_page, load_value};
use super::exit_record::ExitRecord;
use super::inject;
use crate::arch::Machine;
use crate::arch::world::RealmContext;
use crate::realm::rec::LastExit;
use crate::rsi::host_call;
use rmm_abi::rmi::rec_run::{REC_RUN_NR_GPRS, RecEnterFlags};

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

/// Delivers a pending host call's results (`RecEnter.gprs`); `Some(exit)` if the realm cannot
/// run yet.
pub fn host_call<M: Machine>(
    env: &RecEnv<'_, M>,
    gprs: &[u64; REC_RUN_NR_GPRS],
    ctx: &mut RealmContext,
) -> Option<ExitRecord> {
    host_call::complete(env, gprs, &mut ctx.gprs.x)
}
