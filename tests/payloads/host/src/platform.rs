//! Board constants for the test hypervisor: QEMU `virt` by default, the FVP with `--features fvp`.

/// Most CPUs the hypervisor drives (one stack each).
pub const MAX_CPUS: usize = 8;

#[cfg(not(feature = "fvp"))]
mod board {
    /// NS console (UART0), shared with TF-A and the RMM.
    pub const UART_BASE: u64 = 0x0900_0000;
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
    /// A range of NS DRAM that no DRAM bank covers.
    pub const NOT_DRAM: u64 = 0x3000_0000;
    /// First address past the last DRAM bank (QEMU's manifest bank ends at 4 GiB).
    pub const DRAM_END: u64 = 0x1_0000_0000;
}

#[cfg(feature = "fvp")]
mod board {
    /// NS console (UART0).
    pub const UART_BASE: u64 = 0x1C09_0000;
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
    /// A range of NS DRAM that no DRAM bank covers.
    pub const NOT_DRAM: u64 = 0x3000_0000;
    /// First address past the last DRAM bank.
    pub const DRAM_END: u64 = 0x9_0000_0000;
}

pub use board::*;

/// Bytes between two GICv3 redistributors (RD_base + SGI_base frames).
pub const GICR_STRIDE: u64 = 0x2_0000;
