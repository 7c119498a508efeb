// SPDX-License-Identifier: MIT OR Apache-2.0
//! The monitor's state fixed at cold boot.
//!
//! [`Monitor`] is built once from [`crate::boot::cold_boot`]'s result and shared read-only by
//! all CPUs. The RMI service loop that uses it is `rmi::serve`, a floor above.

use crate::arch::{Machine, VmidWidth};
use crate::attestation::Attestation;
use crate::boot::BootConfig;
use crate::boot::args::RawBootArgs;
use crate::granule::GranuleTable;
use crate::realm::vmid::VmidSet;
use crate::sharing::SharedMemory;
use rmm_abi::el3::BootError;

/// Everything the RMM learned at cold boot, and the granule table.
#[derive(Debug)]
pub struct Monitor {
    /// What cold boot validated and derived (arguments, manifest, feature register 0, VMID
    /// width, stage-2 output size, the ID registers and vGIC realms get): the one copy, so a
    /// new boot value is added in one place, [`BootConfig`].
    pub config: BootConfig,
    /// Every granule of NS DRAM.
    pub granules: GranuleTable,
    /// VMIDs of live realms (8 KiB, kept out of the monitor value so building it never puts
    /// the set on a boot stack).
    pub vmids: &'static VmidSet,
    /// The realm attestation key and platform token, once EL3 provided them at cold boot
    /// ([`crate::attestation::provision_into`]); empty if it could not.
    pub attestation: spin::Once<Attestation>,
    /// Confidential Shared Memory: the global CSM state behind the CSM lock (6 KiB, kept out
    /// of the monitor value for the same reason as `vmids`).
    pub csm: &'static SharedMemory,
}

impl Monitor {
    /// The monitor for a validated boot, tracking granules in `granules` and realm VMIDs in
    /// `vmids` (empty), and CSM state in `csm` (no CSM realm).
    pub fn new(
        config: BootConfig,
        granules: GranuleTable,
        vmids: &'static VmidSet,
        csm: &'static SharedMemory,
    ) -> Self {
        Self {
            config,
            granules,
            vmids,
            attestation: spin::Once::new(),
            csm,
        }
    }

    /// Puts the calling CPU's resting EL2 controls in place for this monitor's realms (their
    /// VMID width above all, see [`Machine::install_resting_controls`]). Every CPU calls it
    /// once, at cold or warm boot, before it serves RMI.
    pub fn prepare_cpu(&self, machine: &impl Machine) {
        machine.install_resting_controls(VmidWidth::from_bits(self.config.vmid_bits));
    }

    /// Validates a secondary CPU's warm-boot arguments; returns its index.
    pub fn warm_boot(&self, raw: RawBootArgs) -> Result<usize, BootError> {
        crate::boot::args::validate_warm(raw, self.config.boot.cpu_count)
    }
}
