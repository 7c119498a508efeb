//! RSI: the calls a realm makes to the RMM with `smc`, and the SMCCC services around them.
//!
//! [`dispatch`] decodes the function id once (low 32 bits of x0, SVE hint cleared, as the
//! reference RMM does) and returns an [`RsiAction`] saying what happens to the realm: back to
//! it with new x0..x3, or out to the host. Every handler validates every argument; nothing a
//! realm passes can make the RMM fail.

pub mod attest;
pub mod host_call;
pub mod ipa_state;
pub mod measurement;
pub mod psci;
pub mod realm_config;

use crate::arch::Machine;
use crate::arch::world::RealmContext;
use crate::exec::RecEnv;
use crate::exec::exit_record::ExitRecord;
use rmm_abi::rsi::fid;
use rmm_abi::rsi::status::RsiStatus;
use rmm_abi::smc::{SMC_SVE_HINT, SMC_UNKNOWN, SMCCC_VERSION};

/// RSI ABI version 1.0 (`major << 16 | minor`).
pub const RSI_VERSION_1_0: u64 = 1 << 16;

/// SMCCC version 1.2, what SMCCC_VERSION reports.
pub const SMCCC_VERSION_1_2: u64 = 0x1_0002;

/// What an RSI call does to the realm.
// The exit record travels by value once per exit; the RMM has no heap to box it in.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RsiAction {
    /// Back to the realm after the call: x0..x3 become these (x4..x30 kept).
    Return([u64; 4]),
    /// Back to the realm with x0..x8 set (RSI_MEASUREMENT_READ).
    ReturnWide([u64; 9]),
    /// Out to the host after the call (the realm's registers unchanged, PC past the SMC).
    Exit(ExitRecord),
    /// Out to the host after the call, with the realm's x0..x3 already set to these (PC past
    /// the SMC): RSI_IPA_STATE_SET, PSCI CPU_SUSPEND and CPU_OFF.
    ReturnAndExit([u64; 4], ExitRecord),
    /// Out to the host with an emulated stage-2 abort; the realm will retry the SMC.
    Stage2Abort(ExitRecord),
}

impl RsiAction {
    /// Status only.
    pub fn status(status: RsiStatus) -> Self {
        Self::Return([status.as_u64(), 0, 0, 0])
    }
}

/// Handles the SMC the realm in `ctx` made.
pub fn dispatch<M: Machine>(env: &RecEnv<'_, M>, ctx: &RealmContext) -> RsiAction {
    let x = &ctx.gprs.x;
    let id = (x[0] as u32) & !(SMC_SVE_HINT as u32);
    match id {
        fid::VERSION => {
            let status = if x[1] == RSI_VERSION_1_0 {
                RsiStatus::Success
            } else {
                RsiStatus::ErrorInput
            };
            RsiAction::Return([status.as_u64(), RSI_VERSION_1_0, RSI_VERSION_1_0, 0])
        }
        // Every feature register index reads as zero in RMM 1.0.
        fid::FEATURES => RsiAction::status(RsiStatus::Success),
        fid::MEASUREMENT_READ => measurement::read(env, x[1]),
        fid::MEASUREMENT_EXTEND => measurement::extend(env, x),
        fid::REALM_CONFIG => realm_config::handle(env, x[1]),
        fid::HOST_CALL => host_call::exit(env, x[1]),
        fid::IPA_STATE_GET => ipa_state::get(env, x[1], x[2]),
        fid::ATTEST_TOKEN_INIT => attest::init(env, x),
        fid::ATTEST_TOKEN_CONTINUE => attest::continue_token(env, x),
        fid::IPA_STATE_SET => ipa_state::set(env, x[1], x[2], x[3], x[4]),
        id if psci::in_range(id) => psci::handle(env, ctx),
        SMCCC_VERSION => RsiAction::Return([SMCCC_VERSION_1_2, 0, 0, 0]),
        _ => RsiAction::Return([SMC_UNKNOWN, 0, 0, 0]),
    }
}
