//! Shared helpers for the host integration tests in `tests/`: booting a monitor from a
//! simulated EL3 exactly as TF-A would, on QEMU-like hardware.
//!
//! The tests themselves live in `tests/*.rs`; this library only sets the scene.

use rmm::GRANULE_SIZE;
use rmm::arch::fake::ManifestBuilder;
use rmm::boot::{self, args::RawBootArgs};
use rmm::cpu_features::CpuIdRegisters;
use rmm::monitor::Monitor;
use rmm_abi::el3::BootError;

/// The RMM image range on QEMU (the 24 MiB Realm carve-out, minus the shared page).
pub const QEMU_IMAGE: (u64, u64) = (0x4010_0000, 0x418F_F000);

/// Entry registers as TF-A 2.12 passes them on QEMU (interface 0.4, 32 CPUs).
pub fn qemu_args() -> RawBootArgs {
    RawBootArgs {
        cpu_index: 0,
        ifc_version: 0x4,
        cpu_count: 32,
        shared_page: 0x418F_F000,
    }
}

/// ID registers of QEMU 10 `-cpu max`: 52-bit PA, SVE, 6 BRPs, 4 WRPs, 4 list registers.
pub fn qemu_cpu() -> CpuIdRegisters {
    CpuIdRegisters {
        id_aa64mmfr0: 0x6,
        id_aa64pfr0: 1 << 32,
        id_aa64dfr0: (3 << 20) | (5 << 12) | (9 << 8),
        ich_vtr: 3,
    }
}

/// Cold-boots a monitor from `args` and the shared page `builder` writes.
pub fn boot_with(args: RawBootArgs, builder: &ManifestBuilder) -> Result<Monitor, BootError> {
    let page = builder.build();
    boot::cold_boot(
        args,
        QEMU_IMAGE,
        |pa, out: &mut [u8; GRANULE_SIZE]| {
            assert_eq!(pa, args.shared_page, "copied a page other than x3");
            *out = page;
        },
        &qemu_cpu(),
    )
}

/// A monitor booted exactly as on QEMU.
pub fn qemu_monitor() -> Monitor {
    boot_with(qemu_args(), &ManifestBuilder::qemu()).expect("QEMU boot arguments are valid")
}
