// SPDX-License-Identifier: MIT OR Apache-2.0
//! Realm execution services: what a running REC's handlers (the RSI calls, and REC_ENTER's
//! trap handling and completion above them) share.
//!
//! - [`RecEnv`]: what a running REC's handlers may use.
//! - [`config`]: the EL2 configuration a realm runs under (stage 2, traps, virtual MPIDR).
//! - [`exit_record`]: the sanitised exit the host sees.
//! - [`inject`]: exceptions the RMM makes the realm take.
//! - [`realm_memory`]: reaching the realm's own memory for RSI arguments.
//!
//! This floor sits above `realm` and `monitor` and below `rsi`; what each realm exception
//! means (`rmi::rec_enter::trap`) and finishing what the last exit left pending
//! (`rmi::rec_enter::complete`) sit above `rsi`, so nothing here calls up into it. Only
//! [`crate::arch::world::RealmCpu`] touches the CPU; everything here runs on the host
//! against the fake.

pub mod config;
pub mod exit_record;
pub mod inject;
pub mod realm_memory;

use crate::arch::Machine;
use crate::granule::GranuleAddr;
use crate::monitor::Monitor;
use crate::realm::descriptor::RealmConfig;
use crate::realm::rec::Rec;
use crate::rtt::level::RttLevel;
use exit_record::ExitRecord;
use rmm_abi::rmi::exit::RecExitReason;

/// What a running REC's handlers may use: the monitor, the machine, the REC (referenced,
/// not locked), its realm's RD address and fixed configuration.
pub struct RecEnv<'a, M: Machine> {
    /// The monitor.
    pub monitor: &'a Monitor,
    /// The machine.
    pub machine: &'a M,
    /// The running REC.
    pub rec: Rec<'a, M>,
    /// Its realm's RD.
    pub rd: GranuleAddr,
    /// Its realm's configuration.
    pub realm: RealmConfig,
}

/// The exit the reference RMM reports when an RSI argument's page is not mapped: a data
/// abort (EC 0x24, IL clear) with a translation fault at the level the walk stopped, HPFAR
/// from the realm's argument (`ipa >> 8`, unaligned bits included), FAR zero.
pub fn stage2_abort(exit: &mut ExitRecord, level: RttLevel, ipa: u64) {
    exit.reason = RecExitReason::Sync;
    exit.esr = 0x24 << 26 | (0x04 + level.as_u64());
    exit.hpfar = ipa >> 8;
}
