// SPDX-License-Identifier: MIT OR Apache-2.0
//! RSI: the calls a realm makes to the RMM with `smc`, and the SMCCC services around them.
//!
//! [`dispatch`] decodes the function id once into a [`RealmCall`] (low 32 bits of x0, SVE hint
//! cleared, as the reference RMM does), names the handler's argument registers once into its
//! struct ([`args`]), and returns an [`RsiAction`] saying what happens to
//! the realm: back to it with new x0..x3, or out to the host with the exit the handler wrote
//! into REC_ENTER's record (lent to every handler as `exit`: zeroed, reason SYNC, written
//! only on the path that leaves the realm). The matches are exhaustive (and
//! `clippy::wildcard_enum_match_arm` is denied here), so a new command in `rmm-abi` fails to
//! compile until it is handled. Every handler validates every argument; nothing a realm
//! passes can make the RMM fail.

#![deny(clippy::wildcard_enum_match_arm)]

pub mod answer;
pub mod args;
pub mod attest;
pub mod csm;
pub mod host_call;
pub mod ipa_state;
pub mod measurement;
pub mod psci;
pub mod realm_config;

use crate::arch::Machine;
use crate::arch::world::RealmContext;
use crate::exec::RecEnv;
use crate::exec::exit_record::ExitRecord;
use crate::invariant;
use args::{
    AttestContinueArgs, AttestInitArgs, CsmArgs, HostCallArgs, IpaStateGetArgs, IpaStateSetArgs,
    MeasurementExtendArgs, MeasurementReadArgs, PsciArgs, RealmConfigArgs, Regs, VersionArgs,
};
use rmm_abi::csm::CsmRsiCommand;
use rmm_abi::psci::PsciCommand;
use rmm_abi::rsi::RsiCommand;
use rmm_abi::rsi::status::RsiStatus;
use rmm_abi::smc::{SMC_SVE_HINT, SMC_UNKNOWN, SMCCC_VERSION};

/// RSI ABI version 1.0 (`major << 16 | minor`).
pub const RSI_VERSION_1_0: u64 = 1 << 16;

/// SMCCC version 1.2, what SMCCC_VERSION reports.
pub const SMCCC_VERSION_1_2: u64 = 0x1_0002;

/// What an RSI call does to the realm. The exits carry no record: the handler wrote it in
/// place (an exit record is 344 bytes; built by value at every exit site and moved out, it
/// cost REC_ENTER about 2 KB of code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RsiAction {
    /// Back to the realm after the call: x0..x3 become these (x4..x30 kept).
    Return([u64; 4]),
    /// Back to the realm with x0..x8 set (RSI_MEASUREMENT_READ).
    ReturnWide([u64; 9]),
    /// Out to the host after the call (the realm's registers unchanged, PC past the SMC).
    Exit,
    /// Out to the host after the call, with the realm's x0..x3 already set to these (PC past
    /// the SMC): RSI_IPA_STATE_SET, PSCI CPU_SUSPEND and CPU_OFF.
    ReturnAndExit([u64; 4]),
    /// Out to the host with an emulated stage-2 abort; the realm will retry the SMC.
    Stage2Abort,
    /// Out to the host with a (non-synchronous) exit, the call not made: the realm's
    /// registers and PC unchanged, so the SMC runs again from the start when the host
    /// re-enters the REC (the CSM exits 7 and 8, and `RMI_EXIT_IRQ` while a CSM call waited
    /// for the CSM lock).
    Restart,
}

impl RsiAction {
    /// Status only.
    pub fn status(status: RsiStatus) -> Self {
        Self::Return([status.as_u64(), 0, 0, 0])
    }
}

/// What a realm's SMC asks for, decoded once from x0 (low 32 bits, SVE hint cleared, as the
/// reference RMM reads it): every service the RMM answers is a typed command, so a command
/// added to `rmm-abi` does not compile until [`dispatch`] handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealmCall {
    /// An RSI 1.0 command.
    Rsi(RsiCommand),
    /// A CSM extension call (SMCCC vendor hypervisor service range, OEN 6).
    Csm(CsmRsiCommand),
    /// A call in either PSCI range: the function, or `None` for one the RMM does not
    /// implement (PSCI `NOT_SUPPORTED`), which includes every id with the SVE hint set.
    Psci(Option<PsciCommand>),
    /// SMCCC_VERSION.
    SmcccVersion,
    /// Anything else: `SMC_UNKNOWN`.
    Unknown,
}

impl RealmCall {
    /// Decodes x0.
    #[inline(always)]
    pub fn decode(x0: u64) -> Self {
        let id = (x0 as u32) & !(SMC_SVE_HINT as u32);
        if let Some(command) = RsiCommand::from_fid(u64::from(id)) {
            Self::Rsi(command)
        } else if psci::in_range(id) {
            // The id as the realm passed it (SVE hint not cleared), as the reference RMM.
            Self::Psci(PsciCommand::from_fid(x0 as u32))
        } else if id == SMCCC_VERSION {
            Self::SmcccVersion
        } else if let Some(command) = CsmRsiCommand::from_fid(u64::from(id)) {
            Self::Csm(command)
        } else {
            Self::Unknown
        }
    }
}

/// Handles the SMC the realm in `ctx` made; an exit is written into `exit`.
pub fn dispatch<M: Machine>(
    env: &RecEnv<'_, M>,
    ctx: &RealmContext,
    exit: &mut ExitRecord,
) -> RsiAction {
    let x = &ctx.gprs.x;
    match RealmCall::decode(x[0]) {
        RealmCall::Rsi(command) => rsi_command(env, command, x, exit),
        RealmCall::Psci(command) => psci::handle(env, command, PsciArgs::decode(x), exit),
        RealmCall::SmcccVersion => RsiAction::Return([SMCCC_VERSION_1_2, 0, 0, 0]),
        // Handled outside the world switch, as RSI_ATTEST_TOKEN_CONTINUE is (below): a CSM
        // operation's decoded tables and RD locks are the deepest frames of a CSM realm's
        // calls, and without the world switch's frame under them they fit a CPU's stack.
        RealmCall::Csm(_) if cfg!(feature = "csm") => defer(env),
        // Without the `csm` feature the CSM calls are unknown.
        RealmCall::Csm(_) => RsiAction::Return([SMC_UNKNOWN, 0, 0, 0]),
        RealmCall::Unknown => RsiAction::Return([SMC_UNKNOWN, 0, 0, 0]),
    }
}

/// Stops the world switch for the realm's SMC, to be made outside it by [`dispatch_deferred`]:
/// as for a restart (the call not made, PC unchanged), with the REC saying why. The exit
/// record is left alone: REC_ENTER makes the call before anything reads it.
fn defer<M: Machine>(env: &RecEnv<'_, M>) -> RsiAction {
    env.rec.defer_call();
    RsiAction::Restart
}

/// Handles the SMC the realm in `ctx` made, which [`dispatch`] deferred: called outside the
/// world switch. The realm's registers are as they were (the REC did not run since), so the
/// call decodes as it did; one [`dispatch`] does not defer can only be an RMM bug.
pub fn dispatch_deferred<M: Machine>(
    env: &RecEnv<'_, M>,
    ctx: &RealmContext,
    exit: &mut ExitRecord,
) -> RsiAction {
    let x = &ctx.gprs.x;
    match RealmCall::decode(x[0]) {
        RealmCall::Csm(command) if cfg!(feature = "csm") => {
            csm::handle(env, command, CsmArgs::decode(x)).action(exit)
        }
        RealmCall::Rsi(RsiCommand::AttestTokenContinue) => {
            attest::continue_token(env, AttestContinueArgs::decode(x)).action(exit)
        }
        RealmCall::Rsi(_)
        | RealmCall::Csm(_)
        | RealmCall::Psci(_)
        | RealmCall::SmcccVersion
        | RealmCall::Unknown => {
            invariant::broken_at("a realm call was deferred that is not one to defer", x[0])
        }
    }
}

/// Handles RSI 1.0 `command` with the realm's registers `x`.
#[inline(always)]
fn rsi_command<M: Machine>(
    env: &RecEnv<'_, M>,
    command: RsiCommand,
    x: &Regs,
    exit: &mut ExitRecord,
) -> RsiAction {
    match command {
        RsiCommand::Version => {
            let status = if VersionArgs::decode(x).requested == RSI_VERSION_1_0 {
                RsiStatus::Success
            } else {
                RsiStatus::ErrorInput
            };
            RsiAction::Return([status.as_u64(), RSI_VERSION_1_0, RSI_VERSION_1_0, 0])
        }
        // Every feature register index reads as zero in RMM 1.0.
        RsiCommand::Features => RsiAction::status(RsiStatus::Success),
        RsiCommand::MeasurementRead => measurement::read(env, MeasurementReadArgs::decode(x)),
        RsiCommand::MeasurementExtend => {
            measurement::extend(env, &MeasurementExtendArgs::decode(x)).action(exit)
        }
        RsiCommand::RealmConfig => realm_config::handle(env, RealmConfigArgs::decode(x), exit),
        RsiCommand::HostCall => host_call::exit(env, HostCallArgs::decode(x), exit),
        RsiCommand::IpaStateGet => ipa_state::get(env, IpaStateGetArgs::decode(x)),
        RsiCommand::AttestTokenInit => attest::init(env, &AttestInitArgs::decode(x)).action(exit),
        // Handled outside the world switch: its signing steps are the deepest path on a CPU's
        // stack, and without the world switch's frame under them a CPU's stack can be
        // smaller. The world switch stops as for a restart (the call not made, PC unchanged),
        // the REC says why, and REC_ENTER makes the call with `dispatch_deferred` and enters
        // the realm again if it resumes. (Told apart through the REC, not a variant of the
        // action or the trap's outcome: either made every resuming trap's decode longer.)
        RsiCommand::AttestTokenContinue => defer(env),
        RsiCommand::IpaStateSet => ipa_state::set(env, IpaStateSetArgs::decode(x), exit),
    }
}
