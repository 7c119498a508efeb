// SPDX-License-Identifier: MIT OR Apache-2.0
//! Board constants for the test hypervisor: QEMU `virt` by default, the FVP with `--features fvp`.

/// Most CPUs the hypervisor drives (one stack each).
pub const MAX_CPUS: usize = 8;

#[cfg(not(feature = "fvp"))]
mod board {
    /// NS console (UART0), shared with TF-A and the RMM.
    pub const UART_BASE: u64 = 0x0900_0000;
    /// GICv3 distributor.
    pub const GICD_BASE: u64 = 0x0800_0000;
    /// First GICv3 redistributor frame.
    pub const GICR_BASE: u64 = 0x080A_0000;
    /// Where `cargo xtask` asks QEMU (`-device loader`) to write the run mode.
    pub const MAILBOX: u64 = 0x5FFF_F000;
    /// A granule inside the RMM's Realm PAS carve-out (its image base).
    pub const RMM_IMAGE: u64 = 0x4010_0000;
    /// Where this hypervisor is loaded (BL33), an NS granule.
    pub const IMAGE_BASE: u64 = 0x6000_0000;
    /// NS DRAM the hypervisor donates to realms: 1 MiB per CPU slot from here.
    pub const GRANULE_POOL: u64 = 0x5000_0000;
    /// NS DRAM for the realm scenarios and benchmarks ([`REALM_POOL_SIZE`] bytes). QEMU's
    /// DRAM is 0x4000_0000..0x1_0000_0000; the RMM's carve-out is 0x4010_0000..0x4190_0000,
    /// [`GRANULE_POOL`] uses 0x5000_0000..0x5080_0000, the mailbox is at 0x5FFF_F000 and
    /// this image occupies 0x6000_0000..0x6040_0000, so 0x7000_0000..0x7400_0000 is free.
    pub const REALM_POOL: u64 = 0x7000_0000;
    /// A 1 GiB-aligned GiB of NS DRAM nothing else uses: the output of a level-1
    /// unprotected mapping in a realm that never runs (nothing reads it).
    pub const NS_GIB: u64 = 0xC000_0000;
    /// NS DRAM for the CSM mode's realms ([`CSM_POOL_SIZE`] bytes, below [`NS_GIB`]; that
    /// mode runs nothing else that uses DRAM above [`REALM_POOL`]).
    pub const CSM_POOL: u64 = 0x8000_0000;
    /// A range of NS DRAM that no DRAM bank covers.
    pub const NOT_DRAM: u64 = 0x3000_0000;
    /// First address past the last DRAM bank (QEMU's manifest bank ends at 4 GiB).
    pub const DRAM_END: u64 = 0x1_0000_0000;
}

#[cfg(feature = "fvp")]
mod board {
    /// NS console (UART0).
    pub const UART_BASE: u64 = 0x1C09_0000;
    /// GICv3 distributor.
    pub const GICD_BASE: u64 = 0x2F00_0000;
    /// First GICv3 redistributor frame.
    pub const GICR_BASE: u64 = 0x2F10_0000;
    /// Run-mode mailbox, above the 4 MiB image (absent unless the model preloads it with
    /// `--data`).
    pub const MAILBOX: u64 = 0x8A00_0000;
    /// A granule inside the RMM's Realm PAS carve-out (its image base).
    pub const RMM_IMAGE: u64 = 0xFDC0_0000;
    /// Where this hypervisor is loaded (BL33), an NS granule.
    pub const IMAGE_BASE: u64 = 0x8800_0000;
    /// NS DRAM the hypervisor donates to realms: 1 MiB per CPU slot from here.
    pub const GRANULE_POOL: u64 = 0x9000_0000;
    /// NS DRAM for the realm scenarios and benchmarks ([`REALM_POOL_SIZE`] bytes): above
    /// [`GRANULE_POOL`] and this image, far below the RMM's carve-out at 0xFDC0_0000.
    pub const REALM_POOL: u64 = 0xA000_0000;
    /// A 1 GiB-aligned GiB of NS DRAM (the second bank): the output of a level-1
    /// unprotected mapping in a realm that never runs (nothing reads it).
    pub const NS_GIB: u64 = 0x8_8000_0000;
    /// NS DRAM for the CSM mode's realms ([`CSM_POOL_SIZE`] bytes, after [`NS_GIB`]).
    pub const CSM_POOL: u64 = 0x8_C000_0000;
    /// A range of NS DRAM that no DRAM bank covers.
    pub const NOT_DRAM: u64 = 0x3000_0000;
    /// First address past the last DRAM bank.
    pub const DRAM_END: u64 = 0x9_0000_0000;
}

pub use board::*;

/// Bytes of [`REALM_POOL`] in use: 8 per-CPU slots of 1 MiB (16 MiB reserved), then 6
/// windows of 8 MiB for the primary's realm scenarios (see `scenarios/realms.rs`; window 5
/// runs the test realm): 16 + 48 = 64 MiB. The benchmarks, which run alone, reuse the same
/// range.
pub const REALM_POOL_SIZE: u64 = 64 << 20;

/// Bytes of [`CSM_POOL`]: 64 MiB for each of the (at most 4) CSM realms alive at once.
pub const CSM_POOL_SIZE: u64 = 256 << 20;

/// Bytes between two GICv3 redistributors (RD_base + SGI_base frames).
pub const GICR_STRIDE: u64 = 0x2_0000;
