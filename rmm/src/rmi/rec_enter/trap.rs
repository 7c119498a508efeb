// SPDX-License-Identifier: MIT OR Apache-2.0
//! What a realm's exception means (the reference RMM's `handle_realm_exit`): most are
//! handled here and the realm resumes; the rest become an exit to the host carrying only the
//! syndrome bits the host needs to act (sanitised ESR, page offset of FAR, HPFAR), written
//! into REC_ENTER's exit record (`exit`: zeroed, reason SYNC) only on the path that leaves.

use crate::arch::Machine;
use crate::arch::world::{RealmContext, RealmTrap, TrapKind};
use crate::exec::RecEnv;
use crate::exec::exit_record::ExitRecord;
use crate::exec::inject;
use crate::exec::realm_memory::ripas_run;
use crate::log_line::hex8;
use crate::realm::rec::LastExit;
use crate::rsi::{self, RsiAction};
use crate::vcpu::esr::{
    EA, EC_MASK, EC_SMC64, Esr, ExceptionClass, FNV, FSC_MASK, FaultStatus, IL, ISV, SAS_MASK, SF,
    WNR, fault_ipa_page,
};
use core::ops::ControlFlow;
use rmm_abi::rmi::exit::RecExitReason;
use rmm_abi::rmi::states::Ripas;

/// `ESR_ELx.SET` (synchronous error type).
const SET_MASK: u64 = 0b11 << 11;
/// ESR bits shown for aborts the host cannot emulate: EC, SET, FnV, EA, FSC.
pub const NONEMULATED_MASK: u64 = EC_MASK | SET_MASK | FNV | EA | FSC_MASK;
/// ESR bits shown for emulatable MMIO aborts: the above plus ISV, SAS, SF, WnR.
pub const EMULATED_MASK: u64 = NONEMULATED_MASK | ISV | SAS_MASK | SF | WNR;
/// ESR bits shown for WFI/WFE: EC and TI\[0\].
pub const WFX_MASK: u64 = EC_MASK | 1;
/// ESR bits shown for an SError: IDS, AET, EA, DFSC.
pub const SERROR_MASK: u64 = 1 << 24 | 0b111 << 10 | EA | FSC_MASK;
/// PSTATE.nRW: the realm was in AArch32.
const PSTATE_NRW: u64 = 1 << 4;

/// What happens after a trap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Back into the realm.
    Resume,
    /// Back into the realm, which now takes an exception the RMM injected.
    Injected,
    /// Out to the host with the exit written into the record; `last` is what the next
    /// REC_ENTER may complete.
    Exit {
        /// The syndrome to remember (`None` leaves the REC's record as it was).
        last: Option<LastExit>,
    },
}

/// An exit for `reason` with nothing else to show (the record's other fields stay zero).
fn exit_for(record: &mut ExitRecord, reason: RecExitReason) -> Outcome {
    record.reason = reason;
    Outcome::Exit { last: None }
}

/// Handles one trap of the realm running with `ctx`; an exit is written into `record`.
pub fn handle<M: Machine>(
    env: &RecEnv<'_, M>,
    ctx: &mut RealmContext,
    trap: &RealmTrap,
    record: &mut ExitRecord,
) -> Outcome {
    match trap.kind {
        TrapKind::Sync => sync(env, ctx, trap, record),
        // A timer's output changed while the host had the CPU: the host hears of it as an
        // interrupt, before the realm runs.
        TrapKind::Irq | TrapKind::TimerChanged => exit_for(record, RecExitReason::Irq),
        TrapKind::Fiq => exit_for(record, RecExitReason::Fiq),
        TrapKind::SError => {
            record.reason = RecExitReason::SError;
            record.esr = trap.esr & SERROR_MASK;
            Outcome::Exit {
                last: Some(raw_last(trap, trap.esr)),
            }
        }
    }
}

fn raw_last(trap: &RealmTrap, esr: u64) -> LastExit {
    LastExit {
        esr,
        far: trap.far,
        hpfar: trap.hpfar,
    }
}

/// A synchronous exit (`record` written): remember the raw syndrome, with ISV cleared
/// unless the host saw it.
fn sync_exit(trap: &RealmTrap, record: &ExitRecord) -> Outcome {
    let esr = if record.esr & ISV == 0 {
        trap.esr & !ISV
    } else {
        trap.esr
    };
    Outcome::Exit {
        last: Some(raw_last(trap, esr)),
    }
}

#[inline(always)]
fn sync<M: Machine>(
    env: &RecEnv<'_, M>,
    ctx: &mut RealmContext,
    trap: &RealmTrap,
    record: &mut ExitRecord,
) -> Outcome {
    let esr = Esr::new(trap.esr);
    match esr.class() {
        ExceptionClass::Wfx => {
            ctx.gprs.advance_pc();
            record.esr = trap.esr & WFX_MASK;
            sync_exit(trap, record)
        }
        ExceptionClass::Hvc64 => {
            // HVC's preferred return address is the next instruction, and so is the
            // injected exception's (as the reference RMM does).
            let next = ctx.gprs.pc;
            inject::undefined(ctx, next);
            Outcome::Injected
        }
        ExceptionClass::Smc64 => smc(env, ctx, trap, record),
        ExceptionClass::SysReg => sysreg(env, ctx, trap, esr, record),
        ExceptionClass::InstructionAbort => instruction_abort(env, ctx, trap, esr, record),
        ExceptionClass::DataAbort => data_abort(env, ctx, trap, esr, record),
        // SVE (0x19), SME (0x1D): the realm has neither, so the access is UNDEFINED for it.
        // FP/SIMD (0x07) and pointer authentication (0x09) trap only until the world switch
        // loads the realm's registers or keys on its first use, and never reach here then;
        // should they, they are refused the same way.
        ExceptionClass::FpAccess | ExceptionClass::Other(0x09 | 0x19 | 0x1D) => {
            let pc = ctx.gprs.pc;
            inject::undefined(ctx, pc);
            Outcome::Injected
        }
        ExceptionClass::Other(class) => {
            // A realm can raise these at will (BRK, illegal execution state...), so they must
            // not reach the shared console at the default level, and the line carries only
            // the 6-bit class, never the realm's PC, syndrome or registers.
            crate::log_debug!(
                "realm exception class {} not handled: a SYNC exit",
                hex8(u64::from(class)),
            );
            sync_exit(trap, record)
        }
    }
}

/// ESR bits shown for a trapped GIC CPU interface write: EC, IL and the ISS fields of a
/// system register trap (Op0, Op2, Op1, CRn, Rt, CRm, direction; ISS\[24:22\] are RES0).
pub const SYSREG_MASK: u64 = EC_MASK | IL | 0x3F_FFFF;

/// Whether a trapped system register access (ISS of EC 0x18) is to the GIC CPU interface
/// registers the host emulates: TF-RMM's ICC group (`op0 = 3, op1 = 0 or 4, CRn = 12,
/// CRm = 8..15`: ICC_SGI0R_EL1, ICC_SGI1R_EL1 and ICC_ASGI1R_EL1, which trap by
/// architecture while HCR_EL2.IMO/FMO route interrupts to EL2, and ICC_DIR_EL1, which traps
/// when the host sets ICH_HCR_EL2.TDIR) and ICC_PMR_EL1.
fn is_gic_cpu_interface(iss: u64) -> bool {
    let op0 = (iss >> 20) & 0b11;
    let op2 = (iss >> 17) & 0b111;
    let op1 = (iss >> 14) & 0b111;
    let crn = (iss >> 10) & 0xF;
    let crm = (iss >> 1) & 0xF;
    let icc_group = op0 == 3 && op1 & 0b11 == 0 && crn == 12 && crm & 0b1000 != 0;
    let icc_pmr = op0 == 3 && op1 == 0 && crn == 4 && crm == 6 && op2 == 0;
    icc_group || icc_pmr
}

/// A trapped system register access: a read of the ID space (`op0 = 3, op1 = 0, CRn = 0`,
/// trapped by HCR_EL2.TID3) gets the sanitised value ([`crate::vcpu::id_regs`]); a write to
/// the GIC CPU interface ([`is_gic_cpu_interface`]: sending an SGI, deactivating an
/// interrupt) goes to the host, which emulates it: an `RMI_EXIT_SYNC` with the syndrome
/// ([`SYSREG_MASK`]) and the written value in `gprs[0]`, as the reference RMM does; any
/// other access reads as zero and ignores writes (the reference RMM's default). Either way
/// the realm continues after the instruction.
fn sysreg<M: Machine>(
    env: &RecEnv<'_, M>,
    ctx: &mut RealmContext,
    trap: &RealmTrap,
    esr: Esr,
    record: &mut ExitRecord,
) -> Outcome {
    let iss = esr.raw();
    let is_read = iss & 1 != 0;
    let rt = ((iss >> 5) & 0x1F) as usize;
    let op0 = (iss >> 20) & 0b11;
    let op2 = ((iss >> 17) & 0b111) as u8;
    let op1 = (iss >> 14) & 0b111;
    let crn = (iss >> 10) & 0xF;
    let crm = ((iss >> 1) & 0xF) as u8;
    ctx.gprs.advance_pc();
    if !is_read && is_gic_cpu_interface(iss) {
        record.esr = trap.esr & SYSREG_MASK;
        record.gprs[0] = if rt < 31 { ctx.gprs.x[rt] } else { 0 };
        return sync_exit(trap, record);
    }
    if is_read && rt < 31 {
        ctx.gprs.x[rt] = if op0 == 3 && op1 == 0 && crn == 0 {
            env.monitor.config.realm_id_regs.read(crm, op2)
        } else {
            0
        };
    }
    Outcome::Resume
}

/// What an RSI call's action does to the realm's registers, and what follows: the match
/// [`smc`] and [`deferred`] share. A macro, not a function: written out in `smc`, LLVM threads
/// each call's constant action straight to the resuming branch; through a shared function
/// (inlined or not) the RSI path of a resuming trap took 10 instructions more.
macro_rules! answer {
    ($action:expr, $ctx:expr, $trap:expr, $record:expr) => {
        match $action {
            RsiAction::Return(regs) => {
                $ctx.gprs.x[..4].copy_from_slice(&regs);
                $ctx.gprs.advance_pc();
                Outcome::Resume
            }
            RsiAction::ReturnWide(regs) => {
                $ctx.gprs.x[..9].copy_from_slice(&regs);
                $ctx.gprs.advance_pc();
                Outcome::Resume
            }
            RsiAction::Exit => {
                $ctx.gprs.advance_pc();
                sync_exit($trap, $record)
            }
            RsiAction::ReturnAndExit(regs) => {
                $ctx.gprs.x[..4].copy_from_slice(&regs);
                $ctx.gprs.advance_pc();
                sync_exit($trap, $record)
            }
            RsiAction::Stage2Abort => sync_exit($trap, $record),
            RsiAction::Restart => Outcome::Exit { last: None },
        }
    };
}

fn smc<M: Machine>(
    env: &RecEnv<'_, M>,
    ctx: &mut RealmContext,
    trap: &RealmTrap,
    record: &mut ExitRecord,
) -> Outcome {
    answer!(rsi::dispatch(env, ctx, record), ctx, trap, record)
}

/// Handles the SMC the REC deferred (`Rec::take_deferred_call`), outside the world switch:
/// `true` if the realm resumes, `false` if it exits to the host with the exit written into
/// `record` and what the next REC_ENTER may complete in `outcome`.
#[inline(never)]
pub fn deferred<M: Machine>(
    env: &RecEnv<'_, M>,
    ctx: &mut RealmContext,
    record: &mut ExitRecord,
    outcome: &mut Option<Option<LastExit>>,
) -> bool {
    // The syndrome the world switch read for the SMC: its class, 32-bit instruction length
    // (the immediate is not kept, and nothing reads it back).
    let trap = RealmTrap {
        kind: TrapKind::Sync,
        esr: EC_SMC64 | IL,
        far: 0,
        hpfar: 0,
    };
    match answer!(rsi::dispatch_deferred(env, ctx, record), ctx, &trap, record) {
        Outcome::Resume | Outcome::Injected => true,
        Outcome::Exit { last } => {
            *outcome = Some(last);
            false
        }
    }
}

/// The RIPAS of the protected IPA page `ipa`.
fn ripas_at<M: Machine>(env: &RecEnv<'_, M>, ipa: u64) -> Option<Ripas> {
    ripas_run(
        &env.monitor.granules,
        env.machine,
        &env.realm.s2,
        ipa,
        ipa + crate::GRANULE_SIZE as u64,
    )
    .map(|(_, ripas)| ripas)
}

/// Whether the abort must be answered by injecting an external abort into the realm: an
/// IPA outside its space, protected memory with RIPAS EMPTY, or a stage-2 permission fault
/// in the protected half. The realm's own pages are mapped read-write and executable, so
/// such a fault is a write to a read-only CSM alias or a fetch from any alias: nothing the
/// host could fix (an exit would only loop), the realm's to take.
fn realm_gets_sea<M: Machine>(
    env: &RecEnv<'_, M>,
    fipa: u64,
    esr: Esr,
    unprotected_too: bool,
) -> bool {
    let s2 = &env.realm.s2;
    if !s2.in_ipa_space(fipa) {
        return true;
    }
    if !s2.in_par(fipa) {
        return unprotected_too;
    }
    esr.fault_status() == FaultStatus::Permission || ripas_at(env, fipa) == Some(Ripas::Empty)
}

/// What every abort checks first: an external abort is reported as it is; an abort the realm
/// must take itself (see [`realm_gets_sea`]) becomes an injected external abort. `Continue`
/// means the abort is the host's to see, at the fault IPA page it carries.
fn abort_prelude<M: Machine>(
    env: &RecEnv<'_, M>,
    ctx: &mut RealmContext,
    trap: &RealmTrap,
    esr: Esr,
    unprotected_too: bool,
    record: &mut ExitRecord,
) -> ControlFlow<Outcome, u64> {
    if esr.external() {
        record.esr = trap.esr & NONEMULATED_MASK;
        return ControlFlow::Break(sync_exit(trap, record));
    }
    let fipa = fault_ipa_page(trap.hpfar);
    if realm_gets_sea(env, fipa, esr, unprotected_too) {
        inject::external_abort(ctx, esr, trap.far);
        return ControlFlow::Break(Outcome::Injected);
    }
    ControlFlow::Continue(fipa)
}

fn instruction_abort<M: Machine>(
    env: &RecEnv<'_, M>,
    ctx: &mut RealmContext,
    trap: &RealmTrap,
    esr: Esr,
    record: &mut ExitRecord,
) -> Outcome {
    // Instructions cannot be fetched from the unprotected half.
    if let ControlFlow::Break(handled) = abort_prelude(env, ctx, trap, esr, true, record) {
        return handled;
    }
    if esr.fault_status() == FaultStatus::Translation {
        record.esr = trap.esr & NONEMULATED_MASK;
        record.hpfar = trap.hpfar;
    }
    sync_exit(trap, record)
}

fn data_abort<M: Machine>(
    env: &RecEnv<'_, M>,
    ctx: &mut RealmContext,
    trap: &RealmTrap,
    esr: Esr,
    record: &mut ExitRecord,
) -> Outcome {
    let fipa = match abort_prelude(env, ctx, trap, esr, false, record) {
        ControlFlow::Continue(fipa) => fipa,
        ControlFlow::Break(handled) => return handled,
    };
    record.hpfar = trap.hpfar;
    let aarch32 = ctx.gprs.pstate & PSTATE_NRW != 0;
    if aarch32 || env.realm.s2.in_par(fipa) {
        record.esr = trap.esr & NONEMULATED_MASK;
    } else if !esr.isv() {
        // Not emulatable (no syndrome for the access, e.g. a load/store pair): SRT and SAS
        // are RES0, so there is no value to show, and the access syndrome (WnR, SAS, SF) is
        // the realm's business. The host sees where it happened, to map the page.
        record.esr = trap.esr & NONEMULATED_MASK;
        record.far = trap.far & 0xFFF;
    } else {
        record.esr = trap.esr & EMULATED_MASK;
        record.far = trap.far & 0xFFF;
        if esr.is_write() {
            let rt = esr.srt();
            let value = if rt < 31 { ctx.gprs.x[rt] } else { 0 };
            let bits = esr.access_bytes() * 8;
            record.gprs[0] = if bits >= 64 {
                value
            } else {
                value & ((1 << bits) - 1)
            };
        }
    }
    sync_exit(trap, record)
}
