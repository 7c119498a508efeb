// SPDX-License-Identifier: MIT OR Apache-2.0
//! Shared helpers for the host integration tests in `tests/`: booting a monitor from a
//! simulated EL3 exactly as TF-A would, on QEMU-like hardware.
//!
//! The tests themselves live in `tests/*.rs`; this library only sets the scene.

pub mod csm;
pub mod held;
pub mod host;
pub mod running;
pub mod snapshot;

use core::sync::atomic::AtomicU16;
use rmm::arch::fake::{FakeMachine, ManifestBuilder};
use rmm::boot::{self, args::RawBootArgs};
use rmm::cpu_features::{CpuIdRegisters, MoreIdRegisters};
use rmm::granule::{GranuleAddr, GranuleTable};
use rmm::monitor::Monitor;
use rmm::rmi::RmiRequest;
use rmm_abi::el3::BootError;
use rmm_abi::rmi::states::GranuleState;

/// The RMM image range on QEMU (the 24 MiB Realm carve-out, minus the shared page).
pub const QEMU_IMAGE: (u64, u64) = (0x4010_0000, 0x418F_F000);

/// The RMM image range on the FVP (the 32 MiB carve-out at 0xFDC0_0000, minus the shared
/// page at its end).
pub const FVP_IMAGE: (u64, u64) = (0xFDC0_0000, 0xFFBF_F000);

/// Entry registers as TF-A 2.12 passes them on QEMU (interface 0.4, 32 CPUs).
pub fn qemu_args() -> RawBootArgs {
    RawBootArgs {
        cpu_index: 0,
        ifc_version: 0x4,
        cpu_count: 32,
        shared_page: 0x418F_F000,
    }
}

/// ID registers of QEMU 10 `-cpu max`: 52-bit PA, SVE, AMU, 6 BRPs, 4 WRPs, 4 list
/// registers with 5 priority bits, SHA-256 and SHA-512 instructions, MTE, SME, BTI, pointer authentication.
pub fn qemu_cpu() -> CpuIdRegisters {
    CpuIdRegisters {
        id_aa64mmfr0: 0x6,
        id_aa64mmfr1: 2 << 4,
        id_aa64pfr0: 1 << 44 | 1 << 32 | 0x11,
        id_aa64dfr0: (3 << 20) | (5 << 12) | (9 << 8),
        ich_vtr: 0x9000_0003,
        id_aa64isar0: 2 << 12,
        more: MoreIdRegisters {
            id_aa64pfr1: 1 << 24 | 3 << 8 | 1,
            id_aa64zfr0: 0x0011_0000_0001,
            id_aa64dfr1: 1 << 48 | 1 << 36 | 1,
            id_aa64afr0: 0,
            id_aa64afr1: 0,
            id_aa64isar1: 0x1 << 28 | 0x1 << 24 | 0x3 << 20 | 0x5 << 4 | 0x1,
            id_aa64isar2: 0x1 << 28 | 0x1 << 16 | 0x2,
            id_aa64mmfr2: 0x1011,
        },
    }
}

/// [`qemu_cpu`] with ID_AA64MMFR0_EL1.PARange = `parange` (0 = 32 bits, 1 = 36, 2 = 40,
/// 3 = 42, 4 = 44, 5 = 48, 6 = 52): the physical address width the RMM offers realms.
pub fn qemu_cpu_with_pa_range(parange: u64) -> CpuIdRegisters {
    let mut cpu = qemu_cpu();
    cpu.id_aa64mmfr0 = (cpu.id_aa64mmfr0 & !0xF) | (parange & 0xF);
    cpu
}

/// Cold-boots a monitor from `args` and the shared page `builder` writes, with a granule
/// table sized from the manifest (zeroed storage, as the firmware's boot allocator gives it).
pub fn boot_with(args: RawBootArgs, builder: &ManifestBuilder) -> Result<Monitor, BootError> {
    boot_with_image(args, builder, QEMU_IMAGE)
}

/// [`boot_with`] for an RMM image at `image`.
pub fn boot_with_image(
    args: RawBootArgs,
    builder: &ManifestBuilder,
    image: (u64, u64),
) -> Result<Monitor, BootError> {
    boot_on_cpu(args, builder, image, &qemu_cpu())
}

/// [`boot_with_image`] on a CPU with ID registers `cpu`.
pub fn boot_on_cpu(
    args: RawBootArgs,
    builder: &ManifestBuilder,
    image: (u64, u64),
    cpu: &CpuIdRegisters,
) -> Result<Monitor, BootError> {
    let page = builder.build();
    let config = boot::cold_boot(
        args,
        image,
        |pa, out: &mut boot::manifest::PageWords| {
            assert_eq!(pa, args.shared_page, "copied a page other than x3");
            *out = boot::manifest::page_words(&page);
        },
        cpu,
    )?;
    let entries = GranuleTable::entry_count(&config.manifest.dram);
    let storage: &'static [AtomicU16] = (0..entries)
        .map(|_| AtomicU16::new(0))
        .collect::<Vec<_>>()
        .leak();
    let granules =
        GranuleTable::new(&config.manifest.dram, storage).expect("storage sized for the table");
    Ok(Monitor::new(
        config,
        granules,
        Box::leak(Box::new(rmm::realm::vmid::VmidSet::new())),
        Box::leak(Box::new(rmm::sharing::SharedMemory::new())),
    ))
}

/// A monitor booted exactly as on QEMU.
pub fn qemu_monitor() -> Monitor {
    boot_with(qemu_args(), &ManifestBuilder::qemu()).expect("QEMU boot arguments are valid")
}

/// A booted monitor and the simulated machine it runs on, driven one RMI call at a time
/// through the real dispatcher.
pub struct Rig {
    /// The monitor, booted as on QEMU (or FVP).
    pub monitor: Monitor,
    /// Simulated memory with PAS tags and EL3's GTSI.
    pub machine: FakeMachine,
}

impl Rig {
    /// QEMU `virt`: 3 GiB of DRAM at 0x4000_0000, the RMM carve-out at 0x4010_0000.
    pub fn qemu() -> Self {
        Self::on(qemu_monitor(), FakeMachine::qemu())
    }

    /// `monitor` on `machine`, with the boot CPU prepared as the firmware prepares every CPU.
    pub fn on(monitor: Monitor, machine: FakeMachine) -> Self {
        monitor.prepare_cpu(&machine);
        Self { monitor, machine }
    }

    /// QEMU `virt` on a CPU with ID registers `cpu` (e.g. [`qemu_cpu_with_pa_range`]).
    pub fn qemu_on_cpu(cpu: &CpuIdRegisters) -> Self {
        let monitor = boot_on_cpu(qemu_args(), &ManifestBuilder::qemu(), QEMU_IMAGE, cpu)
            .expect("QEMU boot arguments are valid");
        Self::on(monitor, FakeMachine::qemu())
    }

    /// The FVP: two DRAM banks, the carve-out at 0xFDC0_0000 (outside both).
    pub fn fvp() -> Self {
        let args = RawBootArgs {
            shared_page: 0xFFBF_F000,
            ..qemu_args()
        };
        let monitor = boot_with_image(args, &ManifestBuilder::fvp(), FVP_IMAGE)
            .expect("FVP boot arguments are valid");
        let banks: Vec<(u64, u64)> = monitor
            .config
            .manifest
            .dram
            .banks()
            .iter()
            .map(|b| (b.base, b.size))
            .collect();
        Self::on(
            monitor,
            FakeMachine::new(&banks, (FVP_IMAGE.0, 0xFFC0_0000)),
        )
    }

    /// Issues RMI `fid` with arguments x1.. and returns the host's x0..x4.
    pub fn call(&self, fid: u64, args: &[u64]) -> [u64; 5] {
        self.monitor
            .handle_rmi(&self.machine, &RmiRequest::new(fid, args))
            .regs
    }

    /// The granule table's state for `pa`.
    pub fn state(&self, pa: u64) -> Option<GranuleState> {
        self.monitor
            .granules
            .state_unlocked(GranuleAddr::new(pa).expect("aligned"))
    }
}
