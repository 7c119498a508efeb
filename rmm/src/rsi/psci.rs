// SPDX-License-Identifier: MIT OR Apache-2.0
//! Realm PSCI: the power-state calls a realm makes with `smc`, answered by the RMM where it
//! can decide alone and forwarded to the host where only the host can act (starting another
//! REC, asking whether one is on, powering the realm off).
//!
//! Behaviour is the reference RMM's (`docs/reference/tf-rmm-rel0-realm-execution-facts.md`
//! §5): PSCI 1.1; CPU_ON and AFFINITY_INFO on another REC leave the calling REC waiting for
//! RMI_PSCI_COMPLETE (`rmi::psci_complete`), which writes the result into it; CPU_OFF makes
//! the REC not runnable; SYSTEM_OFF and SYSTEM_RESET put the whole realm in SYSTEM_OFF.
//! This file decides only what the calling REC sees and what the host is told; it never
//! touches another REC.

use super::RsiAction;
use super::args::PsciArgs;
use crate::arch::Machine;
use crate::exec::RecEnv;
use crate::exec::exit_record::ExitRecord;
use crate::locks;
use crate::realm::descriptor::Rd;
use rmm_abi::psci::{
    PSCI_AFFINITY_INFO, PSCI_AFFINITY_INFO_SMC32, PSCI_AFFINITY_ON, PSCI_CPU_OFF, PSCI_CPU_ON,
    PSCI_CPU_ON_SMC32, PSCI_CPU_SUSPEND, PSCI_CPU_SUSPEND_SMC32, PSCI_FEATURES, PSCI_FNUM_LAST,
    PSCI_SYSTEM_OFF, PSCI_SYSTEM_RESET, PSCI_VERSION_1_1, PsciCommand, PsciReturn,
};
use rmm_abi::rmi::exit::RecExitReason;
use rmm_abi::rmi::states::RealmState;
use rmm_abi::smc::SMCCC_VERSION;

/// Whether `id` (SVE hint cleared) is in one of the two PSCI ranges.
pub const fn in_range(id: u32) -> bool {
    let base = id & !0xFFFF;
    (base == 0x8400_0000 || base == 0xC400_0000) && id & 0xFFFF <= PSCI_FNUM_LAST
}

/// A PSCI return code as the realm sees it (64-bit, sign-extended even for SMC32 calls).
pub const fn code(ret: PsciReturn) -> u64 {
    ret as i64 as u64
}

/// The REC index a PSCI `target_cpu` (MPIDR_EL1 layout) names: Aff0\[3:0\], Aff1, Aff2 and
/// Aff3 packed as REC_CREATE numbers RECs. Like the reference RMM, the other bits (Aff0\[7:4\],
/// \[31:24\], \[63:40\]) are ignored, not refused.
pub const fn target_index(mpidr: u64) -> u64 {
    (mpidr & 0xF)
        | ((mpidr >> 8) & 0xFF) << 4
        | ((mpidr >> 16) & 0xFF) << 12
        | ((mpidr >> 32) & 0xFF) << 20
}

/// The functions PSCI_FEATURES reports as implemented (PSCI_VERSION itself is not among
/// them in the reference RMM).
const FEATURES: [u32; 10] = [
    PSCI_CPU_SUSPEND_SMC32,
    PSCI_CPU_SUSPEND,
    PSCI_CPU_OFF,
    PSCI_CPU_ON_SMC32,
    PSCI_CPU_ON,
    PSCI_AFFINITY_INFO_SMC32,
    PSCI_AFFINITY_INFO,
    PSCI_SYSTEM_OFF,
    PSCI_SYSTEM_RESET,
    PSCI_FEATURES,
];

/// Handles the PSCI call `command` (decoded by `rsi::RealmCall::decode` from x0 with the SVE
/// hint bit not cleared: a PSCI id with it set is `None`, not supported, as in the reference
/// RMM) with its arguments `args`. Exhaustive: a function added to [`PsciCommand`] does not
/// compile until it is handled here.
pub fn handle<M: Machine>(
    env: &RecEnv<'_, M>,
    command: Option<PsciCommand>,
    args: PsciArgs,
    exit: &mut ExitRecord,
) -> RsiAction {
    let Some(command) = command else {
        return answer(PsciReturn::NotSupported);
    };
    match command {
        PsciCommand::Version => RsiAction::Return([PSCI_VERSION_1_1, 0, 0, 0]),
        PsciCommand::CpuSuspend => {
            // Every power state is treated as standby: done at once, the host only told.
            forward(&args, false, exit);
            RsiAction::ReturnAndExit([0; 4])
        }
        PsciCommand::CpuOff => {
            env.rec.set_runnable(false);
            forward(&args, false, exit);
            RsiAction::ReturnAndExit([0; 4])
        }
        PsciCommand::CpuOn => cpu_on(env, &args, exit),
        PsciCommand::AffinityInfo => affinity_info(env, &args, exit),
        PsciCommand::SystemOff | PsciCommand::SystemReset => {
            system_off(env);
            forward(&args, false, exit);
            RsiAction::Exit
        }
        PsciCommand::Features => {
            let asked = args.target as u32;
            let ret = if FEATURES.contains(&asked) || asked == SMCCC_VERSION {
                PsciReturn::Success
            } else {
                PsciReturn::NotSupported
            };
            answer(ret)
        }
    }
}

/// Writes the exit that tells the host about the call: `gprs[0]` = the realm's x0 (the
/// function id) and, with `target`, `gprs[1]` = its x1 (the target CPU).
fn forward(args: &PsciArgs, target: bool, exit: &mut ExitRecord) {
    exit.reason = RecExitReason::Psci;
    exit.gprs[0] = args.fid;
    if target {
        exit.gprs[1] = args.target;
    }
}

fn answer(ret: PsciReturn) -> RsiAction {
    RsiAction::Return([code(ret), 0, 0, 0])
}

/// Number of RECs the realm has (the RD counts them; read without its lock, like the
/// reference RMM: a REC being created concurrently is not yet a valid target either way).
fn rec_count<M: Machine>(env: &RecEnv<'_, M>) -> u64 {
    Rd::new(env.machine, env.rd).rec_count()
}

/// CPU_ON(x1 = target, x2 = entry, x3 = context id): refused here for a bad entry point,
/// target or the caller itself; otherwise the host decides (RMI_PSCI_COMPLETE). Only the
/// function id and the target are shown to the host: the entry point and context id stay
/// in the calling REC until the completion copies them into the target.
fn cpu_on<M: Machine>(env: &RecEnv<'_, M>, args: &PsciArgs, exit: &mut ExitRecord) -> RsiAction {
    if !env.realm.s2.in_par(args.entry) {
        return answer(PsciReturn::InvalidAddress);
    }
    let target = target_index(args.target);
    if target >= rec_count(env) {
        return answer(PsciReturn::InvalidParameters);
    }
    if target == env.rec.index() {
        return answer(PsciReturn::AlreadyOn);
    }
    env.rec.set_psci_pending(true);
    forward(args, true, exit);
    RsiAction::Exit
}

/// AFFINITY_INFO(x1 = target, x2 = lowest affinity level): only level 0 exists; the caller
/// itself is on; any other REC's state is settled by RMI_PSCI_COMPLETE.
fn affinity_info<M: Machine>(
    env: &RecEnv<'_, M>,
    args: &PsciArgs,
    exit: &mut ExitRecord,
) -> RsiAction {
    // The lowest affinity level, in x2.
    if args.entry != 0 {
        return answer(PsciReturn::InvalidParameters);
    }
    let target = target_index(args.target);
    if target >= rec_count(env) {
        return answer(PsciReturn::InvalidParameters);
    }
    if target == env.rec.index() {
        return RsiAction::Return([PSCI_AFFINITY_ON, 0, 0, 0]);
    }
    env.rec.set_psci_pending(true);
    forward(args, true, exit);
    RsiAction::Exit
}

/// SYSTEM_OFF and SYSTEM_RESET: the realm is in SYSTEM_OFF from now on, so no REC of it
/// enters again (REC_ENTER: RMI_ERROR_REALM, index 1). The host learns it from the exit.
/// The RD outlives its RECs, so one that is not an RD can only be an RMM bug: the monitor
/// stops ([`locks::running_rd`]) rather than let the realm run on as if it had powered off.
fn system_off<M: Machine>(env: &RecEnv<'_, M>) {
    let _rd = locks::running_rd(&env.monitor.granules, env.rd);
    Rd::new(env.machine, env.rd).set_state(RealmState::SystemOff);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_index_packs_the_affinity_fields_as_rec_create_numbers_recs() {
        // (MPIDR, REC index): each field alone, all together, and the ignored bits.
        for (mpidr, index) in [
            (0x0, 0),
            (0x7, 7),
            (0x1_00, 1 << 4),
            (0xAB_00, 0xAB << 4),
            (0x1_0000, 1 << 12),
            (0xCD_0000, 0xCD << 12),
            (0x1_0000_0000, 1 << 20),
            (0xEF_0000_0000, 0xEF << 20),
            (0xEF_00CD_AB05, 0xEF << 20 | 0xCD << 12 | 0xAB << 4 | 5),
            // Aff0[7:4], bits [31:24] and [63:40]: ignored.
            (0xFFFF_FF00_FF00_00F0, 0),
            (0xFFFF_FF00_FF00_00F3, 3),
        ] {
            assert_eq!(target_index(mpidr), index, "{mpidr:#x}");
        }
    }
}
