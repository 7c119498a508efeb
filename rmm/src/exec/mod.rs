//! Realm execution: what REC_ENTER does between checking its arguments and answering the
//! host.
//!
//! - [`config`]: the EL2 configuration a realm runs under (stage 2, traps, virtual MPIDR).
//! - [`esr`]: syndrome decoding.
//! - [`trap`]: what each realm exception means: handled here and back to the realm, or an
//!   exit to the host with a sanitised [`exit_record::ExitRecord`].
//! - [`complete`]: finishing what the last exit left pending, from the host's `RecEnter`.
//! - [`inject`]: exceptions the RMM makes the realm take.
//! - [`id_regs`]: the ID register values realms read.
//! - [`gic`]: the virtual GIC state the host passes in and sees out.
//! - [`realm_memory`]: reaching the realm's own memory for RSI arguments.
//!
//! Only [`crate::arch::world::RealmCpu`] touches the CPU; everything here runs on the host
//! against the fake.

pub mod complete;
pub mod config;
pub mod esr;
pub mod exit_record;
pub mod gic;
pub mod id_regs;
pub mod inject;
pub mod realm_memory;
pub mod trap;

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
pub fn stage2_abort(level: RttLevel, ipa: u64) -> ExitRecord {
    let mut exit = ExitRecord::new(RecExitReason::Sync);
    exit.esr = 0x24 << 26 | (0x04 + level.as_u64());
    exit.hpfar = ipa >> 8;
    exit
}
