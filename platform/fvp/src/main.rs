// SPDX-License-Identifier: MIT OR Apache-2.0
//! The RMM firmware image for the Arm FVP (`FVP_Base_RevC-2xAEMvA`), booted by TF-A
//! `PLAT=fvp ENABLE_RME=1`.
//!
//! Board facts only: the image is linked at 0xFDC00000 (see `build.rs`), and the console used
//! before the boot manifest is validated is UART3 (0x1C0C0000, FVP `terminal_3`), the one TF-A
//! assigns to the RMM. Everything else comes from EL3 at boot.
#![no_std]
#![no_main]

use rmm::platform::PlatformConfig;

static FVP_BASE: PlatformConfig = PlatformConfig {
    name: "Arm FVP Base RevC",
    early_console_base: 0x1C0C_0000,
};

/// Called by the shared entry code on every CPU, cold and warm.
#[unsafe(no_mangle)]
extern "C" fn rmm_platform_main(x0: u64, x1: u64, x2: u64, x3: u64, cold: u64) -> ! {
    rmm::firmware::start(&FVP_BASE, x0, x1, x2, x3, cold != 0)
}
