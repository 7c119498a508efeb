//! # `rmm`: the Realm Management Monitor core
//!
//! Everything the monitor decides lives here, as plain Rust that runs under `cargo test` on the
//! host; everything that touches the CPU lives behind [`arch`]. The firmware images in
//! `platform/*` are thin: a [`platform::PlatformConfig`] and a call into `firmware::start`.
//!
//! Layout:
//! - [`boot`]: the RMM-EL3 boot protocol: boot-argument and boot-manifest validation, the
//!   error code each failure reports in `RMM_BOOT_COMPLETE`.
//! - [`monitor`]: the state fixed at cold boot and the RMI service loop.
//! - [`rmi`]: the RMI dispatcher and one module per implemented command.
//! - [`realm`]: the Realm Descriptor and REC objects, and VMID allocation.
//! - [`rtt`]: realm stage-2 tables: levels, entries, the locked walk.
//! - [`exec`]: realm execution (REC_ENTER's run loop, trap handling, exit records).
//! - [`rsi`]: the realm's calls to the RMM.
//! - [`attestation`]: the realm attestation key and platform token from EL3, and signing.
//! - [`cpu_features`]: raw ID registers in, RMI feature register 0 out.
//! - [`invariant`]: the fatal stop for inconsistencies only an RMM bug can cause.
//! - [`logger`]: a `log` backend that prints whole lines under a lock.
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
pub mod logger;
pub mod mmu;
pub mod monitor;
pub mod platform;
pub mod realm;
pub mod rmi;
pub mod rsi;
pub mod rtt;
pub mod vcpu;

/// The largest number of CPUs the RMM supports: one boot stack and one per-CPU slot each.
/// TF-A passes its `PLATFORM_CORE_COUNT` (32 on QEMU `virt`, 8 on the default FVP) in x2.
pub const MAX_CPUS: usize = 32;

/// Size of a granule, the unit of memory the RMM tracks and protects.
pub const GRANULE_SIZE: usize = 4096;
