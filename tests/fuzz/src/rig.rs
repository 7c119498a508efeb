// SPDX-License-Identifier: MIT OR Apache-2.0
//! A monitor booted as on QEMU but over a small DRAM (so the invariant checks can afford to
//! look at every granule after every command), reusing one granule-table storage and one
//! VMID set across runs: the fuzzer boots a monitor per input, millions of times, and the
//! integration tests' `boot_with` leaks both.

use core::sync::atomic::{AtomicU16, Ordering};
use rmm::GRANULE_SIZE;
use rmm::arch::fake::{FakeMachine, ManifestBuilder};
use rmm::attestation::{self, Attestation};
use rmm::boot;
use rmm::granule::GranuleTable;
use rmm::monitor::Monitor;
use rmm::realm::vmid::VmidSet;
use rmm_integration_tests::{QEMU_IMAGE, Rig, qemu_args, qemu_cpu};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// DRAM: 8 MiB of host memory at 0x8000_0000 (where the integration tests' host allocates
/// from); the RMM carve-out lies outside it, as on the FVP.
pub const BANKS: [(u64, u64); 1] = [(0x8000_0000, 0x0080_0000)];

/// The RMM carve-out (as on QEMU).
pub const CARVEOUT: (u64, u64) = (0x4010_0000, 0x4190_0000);

struct Shared {
    storage: &'static [AtomicU16],
    vmids: &'static VmidSet,
    csm: &'static rmm::sharing::SharedMemory,
    /// VMIDs the last run's realms may have claimed.
    used: Vec<u16>,
    /// The realm attestation key and platform token [`Lease::boot_attested`] gives the next
    /// monitor: provisioned from the fake EL3 once per process (the P-384 import is the
    /// expensive part), handed from monitor to monitor ([`Lease::keep_attestation`]).
    attestation: Option<Attestation>,
}

static SHARED: OnceLock<Mutex<Shared>> = OnceLock::new();

/// The storage and VMID set one run at a time may use (runs in one process are serialised:
/// the corpus replay tests run on several threads).
pub struct Lease {
    guard: MutexGuard<'static, Shared>,
}

impl Lease {
    /// Waits for the shared storage.
    pub fn take() -> Self {
        let shared = SHARED.get_or_init(|| {
            let layout = rmm::boot::manifest::DramLayout::from_banks(&BANKS).expect("valid banks");
            let n = GranuleTable::entry_count(&layout);
            Mutex::new(Shared {
                storage: (0..n).map(|_| AtomicU16::new(0)).collect::<Vec<_>>().leak(),
                vmids: Box::leak(Box::new(VmidSet::new())),
                csm: Box::leak(Box::new(rmm::sharing::SharedMemory::new())),
                used: Vec::new(),
                attestation: None,
            })
        });
        Self {
            guard: shared.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// A freshly booted monitor on a fresh machine: every granule UNDELEGATED, no VMID
    /// claimed.
    pub fn boot(&mut self) -> Rig {
        for entry in self.guard.storage {
            entry.store(0, Ordering::Relaxed);
        }
        self.guard.csm.reset();
        for vmid in std::mem::take(&mut self.guard.used) {
            self.guard.vmids.release(vmid);
        }
        let builder = ManifestBuilder {
            banks: BANKS.to_vec(),
            ..ManifestBuilder::qemu()
        };
        let page = builder.build();
        let args = qemu_args();
        let config = boot::cold_boot(
            args,
            QEMU_IMAGE,
            |_, out: &mut [u8; GRANULE_SIZE]| *out = page,
            &qemu_cpu(),
        )
        .expect("the fuzz rig's manifest is valid");
        let granules = GranuleTable::new(&config.manifest.dram, self.guard.storage)
            .expect("storage sized for the table");
        let monitor = Monitor::new(config, granules, self.guard.vmids, self.guard.csm);
        Rig::on(monitor, FakeMachine::new(&BANKS, CARVEOUT))
    }

    /// [`Lease::boot`] with attestation provisioned: the key and platform token of an earlier
    /// run given back with [`Lease::keep_attestation`], or (the first time in a process, or
    /// after a run that panicked) provisioned from the fake EL3's sample key and token. They
    /// never change after provisioning (the token sessions live in the RECs), so the monitor
    /// is as fresh as [`Lease::boot`]'s.
    pub fn boot_attested(&mut self) -> Rig {
        let rig = self.boot();
        let material = match self.guard.attestation.take() {
            Some(material) => material,
            None => {
                let buffer = vec![0u8; attest::token::collection::PLATFORM_TOKEN_MAX];
                attestation::provision(&rig.machine, buffer.leak())
                    .expect("the fake EL3's sample key and token provision")
            }
        };
        rig.monitor.attestation.call_once(|| material);
        rig
    }

    /// Takes the attestation material back from `rig` (a run's monitor, about to be
    /// dropped) for the next [`Lease::boot_attested`].
    pub fn keep_attestation(&mut self, rig: &mut Rig) {
        let once = std::mem::take(&mut rig.monitor.attestation);
        if let Some(material) = once.try_into_inner() {
            self.guard.attestation = Some(material);
        }
    }

    /// Notes that a realm of this run may claim `vmid` (released at the next boot).
    pub fn note_vmid(&mut self, vmid: u16) {
        self.guard.used.push(vmid);
    }
}
