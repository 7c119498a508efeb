// SPDX-License-Identifier: MIT OR Apache-2.0
//! The RMM-EL3 boot protocol, as pure logic: validate what EL3 passed, and build the
//! [`BootConfig`] the monitor is built from, or name the `RMM_BOOT_COMPLETE` error.
//!
//! The arch layer does the hardware side (stacks, BSS, vectors, copying the shared page,
//! reading ID registers, issuing the SMC); this module decides.

pub mod args;
pub mod manifest;

use crate::GRANULE_SIZE;
use crate::cpu_features::{
    CpuIdRegisters, RMM_CAPABILITIES, feature_register_0, stage2_ps, vmid_bits,
};
use crate::vcpu::gic::VgicShape;
use crate::vcpu::id_regs::RealmIdRegisters;
use args::{ColdBootArgs, RawBootArgs};
use manifest::BootManifest;
use rmm_abi::el3::BootError;
use rmm_abi::rmi::features::FeatureRegister0;

/// What cold boot validated: the boot arguments, the manifest and the features derived from
/// the CPU. The monitor is built from this plus the granule table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootConfig {
    /// Validated cold-boot arguments.
    pub boot: ColdBootArgs,
    /// Validated boot manifest.
    pub manifest: BootManifest,
    /// RMI feature register 0.
    pub features: FeatureRegister0,
    /// Width of realm VMIDs (8 or 16).
    pub vmid_bits: u8,
    /// VTCR_EL2.PS for realms.
    pub stage2_ps: u8,
    /// The ID register values realms read.
    pub realm_id_regs: RealmIdRegisters,
    /// The GICv3 virtual CPU interface (from ICH_VTR_EL2).
    pub vgic: VgicShape,
}

/// Cold boot: checks the entry registers, then (only if they are valid) asks `copy_shared_page`
/// to copy the shared page in once, and parses the manifest from that copy.
///
/// `image` is the RMM image's PA range, which the shared page must not overlap.
pub fn cold_boot(
    raw: RawBootArgs,
    image: (u64, u64),
    copy_shared_page: impl FnOnce(u64, &mut manifest::PageWords),
    cpu: &CpuIdRegisters,
) -> Result<BootConfig, BootError> {
    let boot = args::validate_cold(raw, image)?;
    let mut page = [0u64; GRANULE_SIZE / 8];
    copy_shared_page(boot.shared_page, &mut page);
    let manifest = manifest::parse(&page, boot.shared_page)?;
    Ok(BootConfig {
        boot,
        manifest,
        features: feature_register_0(cpu, &RMM_CAPABILITIES),
        vmid_bits: vmid_bits(cpu),
        stage2_ps: stage2_ps(cpu),
        realm_id_regs: RealmIdRegisters::from_cpu(cpu),
        vgic: VgicShape::from_ich_vtr(cpu.ich_vtr),
    })
}

/// The value of x1 in `RMM_BOOT_COMPLETE`: 0 or the negative error code.
pub fn boot_status(result: Result<(), BootError>) -> u64 {
    match result {
        Ok(()) => 0,
        Err(e) => e.code(),
    }
}
