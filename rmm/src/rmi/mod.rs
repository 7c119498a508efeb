// SPDX-License-Identifier: MIT OR Apache-2.0
//! The RMI dispatcher: one request in (x0..x7 as EL3 forwarded them), one result out (the
//! host's x0..x4).
//!
//! The function id is decoded once (SVE hint stripped) into a typed command and its arguments
//! into the command's struct ([`args`]); the match over the command is exhaustive, so a
//! command added to `rmm_abi::rmi::RmiCommand` does not compile until it is handled here.
//! Each implemented command has its own module that validates its arguments and returns its
//! outputs. Every RMM 1.0 command is implemented, and the CSM extension's two commands
//! (`apt`); every unassigned id in the RMI range answers `SMC_UNKNOWN`. Results follow
//! SMCCC: outputs a command does not define read as zero, except x4, which is preserved.

#![deny(clippy::wildcard_enum_match_arm)]

pub mod apt;
pub mod args;
pub mod data;
pub mod error;
pub mod features;
pub mod granule;
pub mod locks;
pub mod ns_page;
pub mod psci_complete;
pub mod realm;
pub mod realm_params;
pub mod rec;
pub mod rec_enter;
pub mod ripas;
pub mod rtt;
pub mod rtt_args;
pub mod set_ripas;
pub mod unprotected;
pub mod version;

pub use crate::arch::{RmiRequest, RmiResult};

use crate::arch::{El3Port, Machine};
use crate::monitor::Monitor;
use args::{
    AptArgs, DataCreateArgs, DataCreateUnknownArgs, DataDestroyArgs, FeaturesArgs, GranuleArgs,
    InitRipasArgs, MapUnprotectedArgs, PsciCompleteArgs, RdArgs, RealmCreateArgs, RecArgs,
    RecCreateArgs, RecEnterArgs, RttCreateArgs, RttEntryArgs, SetRipasArgs, VersionArgs,
};
use error::{Handled, outputs, outputs_inline};
use rmm_abi::rmi::RmiCommand;
use rmm_abi::smc::SMC_UNKNOWN;

/// What a command handler returns: x0 and up to four outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RmiOutputs {
    /// Packed status (or `SMC_UNKNOWN`).
    pub x0: u64,
    /// x1.. outputs; only the first `count` are defined by the command.
    pub values: [u64; 4],
    /// How many of `values` the command defines.
    pub count: usize,
}

impl RmiOutputs {
    /// Status only.
    pub const fn status(x0: u64) -> Self {
        Self {
            x0,
            values: [0; 4],
            count: 0,
        }
    }

    /// Status and the `N` (at most four) outputs the command defines; the rest are zero.
    pub fn with<const N: usize>(x0: u64, outputs: [u64; N]) -> Self {
        const { assert!(N <= 4, "RMI commands return at most four outputs") };
        let mut values = [0; 4];
        let mut i = 0;
        while i < N {
            values[i] = outputs[i];
            i += 1;
        }
        Self {
            x0,
            values,
            count: N,
        }
    }

    /// Lays the outputs out for the host: undefined x1..x3 are zero (`values` is zero past
    /// `count`), x4 is preserved unless the command defines it. Straight-line code: this is
    /// on every RMI call's path.
    fn into_result(self, request: &RmiRequest) -> RmiResult {
        let [x1, x2, x3, x4] = self.values;
        let x4 = if self.count == 4 { x4 } else { request.regs[4] };
        RmiResult {
            regs: [self.x0, x1, x2, x3, x4],
        }
    }
}

/// Handles one RMI request.
///
/// Every handler but RMI_VERSION's runs in its own out-of-line [`run`] (or [`run_cold`])
/// frame: inlined into this one they gave it a 6.5 KiB frame and twelve saved registers that
/// every command paid, RMI_VERSION included, and put that frame under REC_ENTER's stack too.
pub fn dispatch(monitor: &Monitor, machine: &impl Machine, request: &RmiRequest) -> RmiResult {
    let (m, h, r) = (monitor, machine, request);
    let outputs = match RmiCommand::from_fid(r.regs[0]) {
        Some(RmiCommand::Version) => outputs_inline(version::handle(m, h, VersionArgs::decode(r))),
        Some(RmiCommand::Features) => {
            run_cold(|a| features::handle(m, h, a), FeaturesArgs::decode(r))
        }
        Some(RmiCommand::GranuleDelegate) => {
            run(|a| granule::delegate(m, h, a), GranuleArgs::decode(r))
        }
        Some(RmiCommand::GranuleUndelegate) => {
            run(|a| granule::undelegate(m, h, a), GranuleArgs::decode(r))
        }
        Some(RmiCommand::RealmCreate) => {
            run_cold(|a| realm::create(m, h, a), RealmCreateArgs::decode(r))
        }
        Some(RmiCommand::RealmActivate) => {
            run_cold(|a| realm::activate(m, h, a), RdArgs::decode(r))
        }
        Some(RmiCommand::RealmDestroy) => run_cold(|a| realm::destroy(m, h, a), RdArgs::decode(r)),
        Some(RmiCommand::RecAuxCount) => run_cold(|a| rec::aux_count(m, h, a), RdArgs::decode(r)),
        Some(RmiCommand::RecCreate) => run_cold(|a| rec::create(m, h, a), RecCreateArgs::decode(r)),
        Some(RmiCommand::RecDestroy) => run_cold(|a| rec::destroy(m, h, a), RecArgs::decode(r)),
        Some(RmiCommand::RttCreate) => run(|a| rtt::create(m, h, a), RttCreateArgs::decode(r)),
        Some(RmiCommand::RttDestroy) => {
            run_cold(|a| rtt::destroy(m, h, a), RttEntryArgs::decode(r))
        }
        Some(RmiCommand::RttFold) => run_cold(|a| rtt::fold(m, h, a), RttEntryArgs::decode(r)),
        Some(RmiCommand::RttReadEntry) => {
            run(|a| rtt::read_entry(m, h, a), RttEntryArgs::decode(r))
        }
        Some(RmiCommand::RttInitRipas) => run(|a| ripas::init(m, h, a), InitRipasArgs::decode(r)),
        Some(RmiCommand::RttMapUnprotected) => {
            run_cold(|a| unprotected::map(m, h, a), MapUnprotectedArgs::decode(r))
        }
        Some(RmiCommand::RttUnmapUnprotected) => {
            run_cold(|a| unprotected::unmap(m, h, a), RttEntryArgs::decode(r))
        }
        Some(RmiCommand::DataCreate) => run(|a| data::create(m, h, a), DataCreateArgs::decode(r)),
        Some(RmiCommand::DataCreateUnknown) => run(
            |a| data::create_unknown(m, h, a),
            DataCreateUnknownArgs::decode(r),
        ),
        Some(RmiCommand::DataDestroy) => {
            run(|a| data::destroy(m, h, a), DataDestroyArgs::decode(r))
        }
        Some(RmiCommand::RecEnter) => run(|a| rec_enter::handle(m, h, a), RecEnterArgs::decode(r)),
        Some(RmiCommand::RttSetRipas) => {
            run(|a| set_ripas::handle(m, h, a), SetRipasArgs::decode(r))
        }
        Some(RmiCommand::PsciComplete) => run_cold(
            |a| psci_complete::handle(m, h, a),
            PsciCompleteArgs::decode(r),
        ),
        Some(RmiCommand::AptCreate) if cfg!(feature = "csm") => {
            run_cold(|a| apt::create(m, h, a), AptArgs::decode(r))
        }
        Some(RmiCommand::AptDestroy) if cfg!(feature = "csm") => {
            run_cold(|a| apt::destroy(m, h, a), AptArgs::decode(r))
        }
        // Without the `csm` feature the CSM commands are unknown.
        Some(RmiCommand::AptCreate | RmiCommand::AptDestroy) => RmiOutputs::status(SMC_UNKNOWN),
        None => RmiOutputs::status(SMC_UNKNOWN),
    };
    outputs.into_result(request)
}

/// Runs `handler` on `args` in a frame of its own and packs its result there, where it is
/// still in registers (one instance per command: each handler is inlined into its own).
#[inline(never)]
fn run<A, const N: usize>(handler: impl FnOnce(A) -> Handled<N>, args: A) -> RmiOutputs {
    outputs(handler(args))
}

/// [`run`] for a command off the hot paths (a realm's or REC's set-up and teardown, the
/// configuration commands, CSM's APT commands): its instance is `#[cold]`, so the link's
/// outliner shares its repeated instruction sequences with the other cold code
/// (`.cargo/config.toml`). REALM_CREATE and REC_CREATE pay 0.1% for it, every other measured
/// command nothing (`docs/benchmarks.md`, "The lean monitor, tenth steps").
#[cold]
#[inline(never)]
fn run_cold<A, const N: usize>(handler: impl FnOnce(A) -> Handled<N>, args: A) -> RmiOutputs {
    outputs(handler(args))
}

impl Monitor {
    /// Handles one RMI request ([`dispatch`]).
    pub fn handle_rmi(&self, machine: &impl Machine, request: &RmiRequest) -> RmiResult {
        dispatch(self, machine, request)
    }
}

/// Serves RMI requests until EL3 stops sending them (on hardware: never).
pub fn serve(
    monitor: &Monitor,
    machine: &impl Machine,
    el3: &mut impl El3Port,
    first: Option<RmiRequest>,
) {
    let mut next = first;
    while let Some(request) = next {
        let result = monitor.handle_rmi(machine, &request);
        next = el3.rmi_complete(&result);
    }
}
