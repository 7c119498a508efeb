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
use rmm_abi::rmi::rec_run::{RecEnter, RecEnterFlags};

/// The host asked for something the last exit does not allow (REC_ENTER fails with
/// RMI_ERROR_REC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CannotComplete;

/// Applies INJECT_SEA and EMUL_MMIO from `enter` to the REC's context `ctx`, given the last
/// exit's syndrome `last`.
pub fn emulation(
    realm_par_end: u64,
    enter: &RecEnter,
    last: &LastExit,
    ctx: &mut RealmContext,
) -> Result<(), CannotComplete> {
    let flags = RecEnterFlags::from_bits_truncate(enter.flags);
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
            ctx.gprs.x[rt] = load_value(esr, enter.gprs[0]);
        }
        ctx.gprs.advance_pc();
    }
    Ok(())
}

/// Delivers a pending host call's results; `Some(exit)` if the realm cannot run yet.
pub fn host_call<M: Machine>(
    env: &RecEnv<'_, M>,
    enter: &RecEnter,
    ctx: &mut RealmContext,
) -> Option<ExitRecord> {
    host_call::complete(env, &enter.gprs, &mut ctx.gprs.x)
}
