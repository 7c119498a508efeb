// SPDX-License-Identifier: MIT OR Apache-2.0
//! RSI_IPA_STATE_GET and RSI_IPA_STATE_SET: reading the RIPAS of the realm's protected
//! memory, and asking the host to change it.
//!
//! A change is recorded in the REC ([`RipasChange`]) and handed to the host as a
//! RIPAS_CHANGE exit; the host applies it with RMI_RTT_SET_RIPAS (possibly in several calls,
//! possibly only in part) and answers ACCEPT or REJECT in the next REC_ENTER, which tells
//! the realm how far the change got (`rmi::rec_enter::complete::ripas_change`).

use super::RsiAction;
use super::args::{IpaStateGetArgs, IpaStateSetArgs};
use crate::arch::Machine;
use crate::exec::RecEnv;
use crate::exec::exit_record::ExitRecord;
use crate::exec::realm_memory::ripas_run;
use crate::realm::descriptor::Rd;
use crate::realm::rec::RipasChange;
use crate::sharing::lock::CsmGuard;
use crate::sharing::ripas::check_ripas_change;
use rmm_abi::rmi::exit::RecExitReason;
use rmm_abi::rmi::states::Ripas;
use rmm_abi::rsi::status::RsiStatus;

/// `RSI_CHANGE_DESTROYED`: the only flags value that lets DESTROYED entries change (the
/// reference RMM compares the whole register with it).
pub const RSI_CHANGE_DESTROYED: u64 = 1;

/// Handles RSI_IPA_STATE_SET(x1 = base, x2 = top, x3 = ripas, x4 = flags): records the
/// change and exits to the host with the realm's x0 = SUCCESS, x1 = top (both overwritten
/// when the host completes the change). Checks as the reference RMM
/// (`docs/reference/tf-rmm-rel0-realm-execution-facts.md` §4.5): a RIPAS other than EMPTY
/// or RAM, a misaligned or empty range, or one reaching past the protected half is
/// RSI_ERROR_INPUT; the flags are not checked, nor whether a change is already pending
/// (it cannot be: the REC does not run until the host completes it).
pub fn set<M: Machine>(
    env: &RecEnv<'_, M>,
    args: IpaStateSetArgs,
    exit: &mut ExitRecord,
) -> RsiAction {
    let IpaStateSetArgs {
        base,
        top,
        ripas,
        flags,
    } = args;
    let granule = crate::GRANULE_SIZE as u64;
    let ripas = match ripas {
        0 => Ripas::Empty,
        1 => Ripas::Ram,
        _ => return RsiAction::status(RsiStatus::ErrorInput),
    };
    let valid = base.is_multiple_of(granule)
        && top.is_multiple_of(granule)
        && base < top
        && top <= env.realm.s2.par_end();
    if !valid {
        return RsiAction::status(RsiStatus::ErrorInput);
    }
    if cfg!(feature = "csm") {
        match csm_memory(env, base, top) {
            Gate::Open => {}
            Gate::Refused(status) => return RsiAction::status(status),
            Gate::Irq => {
                exit.reason = RecExitReason::Irq;
                return RsiAction::Restart;
            }
        }
    }
    env.rec.set_ripas_change(&RipasChange {
        base,
        top,
        addr: base,
        ripas,
        change_destroyed: flags == RSI_CHANGE_DESTROYED,
    });
    exit.reason = RecExitReason::RipasChange;
    exit.ripas = [base, top, ripas as u64];
    RsiAction::ReturnAndExit([RsiStatus::Success.as_u64(), top, 0, 0])
}

/// Whether a RIPAS change may go ahead (small: returned from out of line into REC_ENTER).
enum Gate {
    /// Yes.
    Open,
    /// No: this status.
    Refused(RsiStatus),
    /// A host interrupt became pending while waiting for the CSM lock: exit, call not made.
    Irq,
}

/// S11 (`docs/csm.md`): a CSM realm may not change the RIPAS of its own regions or windows
/// (RSI_ERROR_INPUT). Checked under the CSM lock (a pending host interrupt while waiting for
/// it exits with `RMI_EXIT_IRQ`, the call not made). The host's RTT_SET_RIPAS checks again
/// when it applies the change.
#[inline(never)]
fn csm_memory<M: Machine>(env: &RecEnv<'_, M>, base: u64, top: u64) -> Gate {
    let rd = Rd::new(env.machine, env.rd);
    // Unlocked hint (the REC keeps its RD an RD); read again under the CSM lock.
    if rd.apt().is_none() {
        return Gate::Open;
    }
    let Some(guard) = env.monitor.csm.lock_for_realm(env.machine) else {
        return Gate::Irq;
    };
    csm_memory_locked(env, base, top, guard)
}

/// [`csm_memory`] with the CSM lock held.
fn csm_memory_locked<M: Machine>(
    env: &RecEnv<'_, M>,
    base: u64,
    top: u64,
    mut guard: CsmGuard<'_>,
) -> Gate {
    let rd = Rd::new(env.machine, env.rd);
    let (Some(apt), Some(range)) = (rd.apt(), apt::IpaRange::new(base, top - base)) else {
        return Gate::Open;
    };
    match check_ripas_change(&mut guard, env.machine, env.rd, apt, range) {
        Ok(()) => Gate::Open,
        Err(error) => Gate::Refused(error.status()),
    }
}

/// Handles RSI_IPA_STATE_GET(x1 = base, x2 = top): x1 = the end of the run of entries from
/// `base` with the same RIPAS (at most `top`, and never past the last-level table that maps
/// `base`), x2 = that RIPAS.
pub fn get<M: Machine>(env: &RecEnv<'_, M>, args: IpaStateGetArgs) -> RsiAction {
    let IpaStateGetArgs { base, top } = args;
    let s2 = &env.realm.s2;
    let granule = crate::GRANULE_SIZE as u64;
    let valid = base.is_multiple_of(granule)
        && s2.in_par(base)
        && top.is_multiple_of(granule)
        && top != 0
        && s2.in_par(top - 1)
        && base < top;
    if !valid {
        return RsiAction::status(RsiStatus::ErrorInput);
    }
    match ripas_run(&env.monitor.granules, env.machine, s2, base, top) {
        Some((end, ripas)) => {
            RsiAction::Return([RsiStatus::Success.as_u64(), end, ripas as u64, 0])
        }
        None => RsiAction::status(RsiStatus::ErrorInput),
    }
}
