// SPDX-License-Identifier: MIT OR Apache-2.0
//! The RMI dispatcher: one request in (x0..x7 as EL3 forwarded them), one result out (the
//! host's x0..x4).
//!
//! The function id is decoded once (SVE hint stripped) into a typed command and its arguments
//! into the command's struct ([`args`]); the match over the command is exhaustive, so a
//! command added to `rmm_abi::rmi::RmiCommand` does not compile until it is handled here.
//! Each implemented command has its own module that validates its arguments and returns its
//! outputs. Every RMM 1.0 command is implemented; the CSM extension's two commands (until it
//! is wired in) and every unassigned id in the RMI range answer `SMC_UNKNOWN`. Results follow
//! SMCCC: outputs a command does not define read as zero, except x4, which is preserved.

#![deny(clippy::wildcard_enum_match_arm)]

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
    DataCreateArgs, DataCreateUnknownArgs, DataDestroyArgs, FeaturesArgs, GranuleArgs,
    InitRipasArgs, MapUnprotectedArgs, PsciCompleteArgs, RdArgs, RealmCreateArgs, RecArgs,
    RecCreateArgs, RecEnterArgs, RttCreateArgs, RttEntryArgs, SetRipasArgs, VersionArgs,
};
use error::outputs;
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
/// Every handler but RMI_VERSION's is its own function (`#[inline(never)]` on each): inlined
/// into this one they gave it a 6.5 KiB frame and twelve saved registers that every command
/// paid, RMI_VERSION included, and put that frame under REC_ENTER's stack too.
pub fn dispatch(monitor: &Monitor, machine: &impl Machine, request: &RmiRequest) -> RmiResult {
    let (m, h, r) = (monitor, machine, request);
    let Some(command) = RmiCommand::from_fid(r.regs[0]) else {
        return RmiOutputs::status(SMC_UNKNOWN).into_result(r);
    };
    let outputs = match command {
        RmiCommand::Version => outputs(version::handle(VersionArgs::decode(r))),
        RmiCommand::Features => outputs(features::handle(m, FeaturesArgs::decode(r))),
        RmiCommand::GranuleDelegate => outputs(granule::delegate(m, h, GranuleArgs::decode(r))),
        RmiCommand::GranuleUndelegate => outputs(granule::undelegate(m, h, GranuleArgs::decode(r))),
        RmiCommand::RealmCreate => outputs(realm::create(m, h, RealmCreateArgs::decode(r))),
        RmiCommand::RealmActivate => outputs(realm::activate(m, h, RdArgs::decode(r))),
        RmiCommand::RealmDestroy => outputs(realm::destroy(m, h, RdArgs::decode(r))),
        RmiCommand::RecAuxCount => outputs(rec::aux_count(m, h, RdArgs::decode(r))),
        RmiCommand::RecCreate => outputs(rec::create(m, h, RecCreateArgs::decode(r))),
        RmiCommand::RecDestroy => outputs(rec::destroy(m, h, RecArgs::decode(r))),
        RmiCommand::RttCreate => outputs(rtt::create(m, h, RttCreateArgs::decode(r))),
        RmiCommand::RttDestroy => outputs(rtt::destroy(m, h, RttEntryArgs::decode(r))),
        RmiCommand::RttFold => outputs(rtt::fold(m, h, RttEntryArgs::decode(r))),
        RmiCommand::RttReadEntry => outputs(rtt::read_entry(m, h, RttEntryArgs::decode(r))),
        RmiCommand::RttInitRipas => outputs(ripas::init(m, h, InitRipasArgs::decode(r))),
        RmiCommand::RttMapUnprotected => {
            outputs(unprotected::map(m, h, MapUnprotectedArgs::decode(r)))
        }
        RmiCommand::RttUnmapUnprotected => {
            outputs(unprotected::unmap(m, h, RttEntryArgs::decode(r)))
        }
        RmiCommand::DataCreate => outputs(data::create(m, h, DataCreateArgs::decode(r))),
        RmiCommand::DataCreateUnknown => {
            outputs(data::create_unknown(m, h, DataCreateUnknownArgs::decode(r)))
        }
        RmiCommand::DataDestroy => outputs(data::destroy(m, h, DataDestroyArgs::decode(r))),
        RmiCommand::RecEnter => outputs(rec_enter::handle(m, h, RecEnterArgs::decode(r))),
        RmiCommand::RttSetRipas => outputs(set_ripas::handle(m, h, SetRipasArgs::decode(r))),
        RmiCommand::PsciComplete => {
            outputs(psci_complete::handle(m, h, PsciCompleteArgs::decode(r)))
        }
        // The CSM extension's commands: not wired into the monitor yet.
        RmiCommand::AptCreate | RmiCommand::AptDestroy => RmiOutputs::status(SMC_UNKNOWN),
    };
    outputs.into_result(request)
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
