// SPDX-License-Identifier: MIT OR Apache-2.0
//! The real `arch` implementation for the RMM at R-EL2 (bare-metal aarch64 builds only).
//!
//! - [`entry`]: the image entry point for cold and warm boot (assembly): per-CPU stack, BSS
//!   cleared once, vectors installed, then the platform's `rmm_platform_main`.
//! - [`vectors`]: the exception vector table: the NS-copy fault fix-up, the realm's exits;
//!   every other
//!   exception is reported with ESR/ELR/FAR before the CPU stops.
//! - [`fatal`]: the fatal stop for inconsistencies only an RMM bug can cause.
//! - [`smc`]: the SMC instruction and the [`El3Smc`](smc::El3Smc) port.
//! - [`mem`]: `memcpy` and `memset` (assembly, general-purpose registers only), four times
//!   faster than the portable ones on the aligned moves the compiler emits for larger values.
//! - [`mmu`]: turning stage-1 translation and the caches on, on every CPU.
//! - [`machine`]: [`HwMachine`](machine::HwMachine), the `Machine` services (GTSI SMCs,
//!   granule zeroing and word access, host-memory copies).
//! - [`ns_access`]: the host-memory copy routine whose faults are fixed up into errors.
//! - [`sha2_hw`]: SHA-256/SHA-512 block compression with the Armv8 SHA-2 instructions (the
//!   only code that touches vector registers, saving and restoring them), its boot-time
//!   self-test and the choice between it and software.
//! - [`sysreg`]: the system registers the core reads.
//! - [`sme`]: leaving the Streaming SVE mode a host may call in (FEAT_SME), before the
//!   RMM's own SIMD use and before every realm entry.
//! - [`el3_attest`]: EL3's attestation services (realm attestation key, platform token)
//!   through the locked shared page.
//! - [`interrupts`]: whether a physical interrupt is pending (`ISR_EL1`).
//! - [`stack_probe`]: the per-CPU stacks painted at cold boot and their high-water marks.
//! - [`tlb`]: stage-2 TLB invalidation for realms, and the resting VTCR_EL2 it checks.
//! - `realm_sysregs`: the `mrs!`/`msr!` macros of the world switch and `vgic_regs`.
//! - [`vgic_regs`]: the GICv3 virtual CPU interface registers a realm's run loads and
//!   saves, and the per-CPU `ICC_SRE_EL2` set-up.
//! - [`world_switch`]: entering a realm and coming back on its exceptions (assembly), with
//!   the EL1 register swap and the realm's EL2 configuration around it.
//! - [`pl011`]: the console driver.

pub mod el3_attest;
pub mod entry;
pub mod fatal;
pub mod fp_regs;
pub mod interrupts;
pub mod machine;
pub mod mem;
pub mod mmu;
pub mod ns_access;
pub mod pl011;
mod realm_sysregs;
pub mod sha2_hw;
pub mod smc;
pub mod sme;
pub mod stack_probe;
pub mod sysreg;
pub mod tlb;
pub mod vectors;
pub mod vgic_regs;
pub mod world_switch;
