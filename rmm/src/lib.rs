// SPDX-License-Identifier: MIT OR Apache-2.0
//! # `rmm`: the Realm Management Monitor core
//!
//! Everything the monitor decides lives here, as plain Rust that runs under `cargo test` on the
//! host; everything that touches the CPU lives behind [`arch`]. The firmware images in
//! `platform/*` are thin: a [`platform::PlatformConfig`] and a call into `firmware::start`.
//!
//! Layout:
//! - [`boot`]: the RMM-EL3 boot protocol: boot-argument and boot-manifest validation, the
//!   error code each failure reports in `RMM_BOOT_COMPLETE`.
//! - [`monitor`]: the state fixed at cold boot.
//! - [`rmi`]: the RMI service loop (`serve`), the dispatcher and one module per command
//!   (REC_ENTER's run loop and trap handling in `rmi::rec_enter`).
//! - [`realm`]: the Realm Descriptor and REC objects, and VMID allocation.
//! - [`rtt`]: realm stage-2 tables: levels, entries, the locked walk.
//! - [`exec`]: realm execution's environment (`RecEnv`, entry configuration, exit records,
//!   injection, realm memory).
//! - [`rsi`]: the realm's calls to the RMM.
//! - [`sharing`]: Confidential Shared Memory in the monitor: the CSM lock, APT granules,
//!   stage-2 summaries and alias effects for the `csm` state machine.
//! - [`attestation`]: the realm attestation key and platform token from EL3, and signing.
//! - [`cpu_features`]: raw ID registers in, RMI feature register 0 out.
//! - [`invariant`]: the fatal stop for inconsistencies only an RMM bug can cause.
//! - [`locks`]: the one module that takes granule locks (named and RMM-owned granules).
//! - [`log_line`]: log lines without `core::fmt` (levels, pieces, the global sink) and the
//!   `log_*!` macros every floor logs with.
//! - [`logger`]: the console logger that prints whole lines under a lock.
//! - [`arch`]: the boundary (traits), its aarch64 implementation and the host fake.
//! - `firmware` (bare-metal builds only): the composition root, cold and warm boot wiring the
//!   monitor to `arch::aarch64`, then the RMI loop.
#![cfg_attr(not(test), no_std)]

pub mod arch;
pub mod attestation;
pub mod boot;
pub mod cpu_features;
pub mod exec;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod firmware;
pub mod granule;
pub mod invariant;
pub mod locks;
pub mod log_line;
pub mod logger;
pub mod mmu;
pub mod monitor;
pub mod platform;
pub mod realm;
pub mod register_args;
pub mod rmi;
pub mod rsi;
pub mod rtt;
pub mod sharing;
pub mod vcpu;

/// The largest number of CPUs the RMM supports: one boot stack and one per-CPU slot each.
/// TF-A passes its `PLATFORM_CORE_COUNT` (32 on QEMU `virt`, 8 on the default FVP) in x2.
/// 32 unless the build sets `RMM_MAX_CPUS` (1 to 256; `cargo xtask build --max-cpus N`).
pub const MAX_CPUS: usize = match option_env!("RMM_MAX_CPUS") {
    Some(digits) => parse_max_cpus(digits),
    None => 32,
};

/// `RMM_MAX_CPUS` as a number; a bad value stops the build.
const fn parse_max_cpus(digits: &str) -> usize {
    let bytes = digits.as_bytes();
    let mut value = 0;
    let mut i = 0;
    while i < bytes.len() {
        assert!(bytes[i].is_ascii_digit(), "RMM_MAX_CPUS is not a number");
        value = value * 10 + (bytes[i] - b'0') as usize;
        assert!(value <= 256, "RMM_MAX_CPUS is above 256");
        i += 1;
    }
    assert!(value >= 1, "RMM_MAX_CPUS must be at least 1");
    value
}

/// Size of a granule, the unit of memory the RMM tracks and protects.
pub const GRANULE_SIZE: usize = 4096;
