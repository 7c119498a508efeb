// SPDX-License-Identifier: MIT OR Apache-2.0
//! The RMM firmware image for QEMU `virt` with FEAT_RME, booted by TF-A `PLAT=qemu`.
//!
//! Board facts only: the image is linked at 0x40100000 (see `build.rs`), and the console used
//! before the boot manifest is validated is UART0 (0x09000000), the PL011 TF-A and the NS world
//! share. Everything else comes from EL3 at boot.
#![no_std]
#![no_main]

use rmm::platform::PlatformConfig;

static QEMU_VIRT: PlatformConfig = PlatformConfig {
    name: "QEMU virt",
    early_console_base: 0x0900_0000,
};

/// Called by the shared entry code on every CPU, cold and warm.
#[unsafe(no_mangle)]
extern "C" fn rmm_platform_main(x0: u64, x1: u64, x2: u64, x3: u64, cold: u64) -> ! {
    rmm::firmware::start(&QEMU_VIRT, x0, x1, x2, x3, cold != 0)
}
