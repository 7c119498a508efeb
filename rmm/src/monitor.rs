// SPDX-License-Identifier: MIT OR Apache-2.0
//! The monitor's state fixed at cold boot.
//!
//! [`Monitor`] is built once from [`crate::boot::cold_boot`]'s result and shared read-only by
//! all CPUs. The RMI service loop that uses it is `rmi::serve`, a floor above.

use crate::arch::{Machine, VmidWidth};
use crate::attestation::Attestation;
use crate::boot::BootConfig;
use crate::boot::args::{ColdBootArgs, RawBootArgs};
use crate::boot::manifest::BootManifest;
use crate::granule::GranuleTable;
use crate::realm::vmid::VmidSet;
use crate::vcpu::gic::VgicShape;
use crate::vcpu::id_regs::RealmIdRegisters;
use rmm_abi::el3::BootError;
use rmm_abi::rmi::features::FeatureRegister0;

/// Everything the RMM learned at cold boot, and the granule table.
#[derive(Debug)]
pub struct Monitor {
    /// Validated cold-boot arguments.
    pub boot: ColdBootArgs,
    /// Validated boot manifest.
    pub manifest: BootManifest,
    /// RMI feature register 0, as RMI_FEATURES reports it.
    pub features: FeatureRegister0,
    /// Width of realm VMIDs (8 or 16).
    pub vmid_bits: u8,
    /// VTCR_EL2.PS for realms.
    pub stage2_ps: u8,
    /// The ID register values realms read.
    pub realm_id_regs: RealmIdRegisters,
    /// The GICv3 virtual CPU interface realms get.
    pub vgic: VgicShape,
    /// Every granule of NS DRAM.
    pub granules: GranuleTable,
    /// VMIDs of live realms (8 KiB, kept out of the monitor value so building it never puts
    /// the set on a boot stack).
    pub vmids: &'static VmidSet,
    /// The realm attestation key and platform token, once EL3 provided them at cold boot
    /// ([`crate::attestation::provision_into`]); empty if it could not.
    pub attestation: spin::Once<Attestation>,
}

impl Monitor {
    /// The monitor for a validated boot, tracking granules in `granules` and realm VMIDs in
    /// `vmids` (empty).
    pub fn new(config: BootConfig, granules: GranuleTable, vmids: &'static VmidSet) -> Self {
        Self {
            boot: config.boot,
            manifest: config.manifest,
            features: config.features,
            vmid_bits: config.vmid_bits,
            stage2_ps: config.stage2_ps,
            realm_id_regs: config.realm_id_regs,
            vgic: config.vgic,
            granules,
            vmids,
            attestation: spin::Once::new(),
        }
    }

    /// Puts the calling CPU's resting EL2 controls in place for this monitor's realms (their
    /// VMID width above all, see [`Machine::install_resting_controls`]). Every CPU calls it
    /// once, at cold or warm boot, before it serves RMI.
    pub fn prepare_cpu(&self, machine: &impl Machine) {
        machine.install_resting_controls(VmidWidth::from_bits(self.vmid_bits));
    }

    /// Validates a secondary CPU's warm-boot arguments; returns its index.
    pub fn warm_boot(&self, raw: RawBootArgs) -> Result<usize, BootError> {
        crate::boot::args::validate_warm(raw, self.boot.cpu_count)
    }
}
