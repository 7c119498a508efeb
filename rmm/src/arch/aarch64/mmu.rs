// SPDX-License-Identifier: MIT OR Apache-2.0
//! Turning the RMM's stage-1 translation on, on every CPU.
//!
//! The boot CPU builds the tables (with [`crate::mmu`]) while its MMU is still off, records
//! the register values in [`MMU_REGS`] (a non-cacheable write, so it reaches memory), cleans
//! stale lines out of its data cache and calls [`enable`]. Secondary CPUs call
//! `rmm_mmu_enable` from the entry assembly before they touch their stack, so no CPU ever
//! mixes cacheable and non-cacheable accesses to the same memory.

use core::sync::atomic::{AtomicU64, Ordering};

/// `MAIR_EL2`, `TCR_EL2`, `TTBR0_EL2`, `SCTLR_EL2`, `HCR_EL2` for every CPU, in that order.
/// All zero until the boot CPU has built the tables; a CPU that finds `SCTLR_EL2 == 0` here
/// leaves its MMU off (cold boot failed, and it will report an error anyway).
#[unsafe(no_mangle)]
pub static MMU_REGS: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

core::arch::global_asm!(
    ".section .text.rmm_mmu_enable, \"ax\"",
    ".global rmm_mmu_enable",
    // Uses x9..x14 only and no stack: secondaries call it before their stack is usable.
    "rmm_mmu_enable:",
    "adrp x9, MMU_REGS",
    "add x9, x9, :lo12:MMU_REGS",
    "ldp x10, x11, [x9]",
    "ldp x12, x13, [x9, #16]",
    "ldr x14, [x9, #32]",
    "cbz x13, 1f",
    "msr hcr_el2, x14",
    "msr mair_el2, x10",
    "msr tcr_el2, x11",
    "msr ttbr0_el2, x12",
    "isb",
    "tlbi alle2",
    "ic iallu",
    "dsb nsh",
    "isb",
    "msr sctlr_el2, x13",
    "isb",
    "1:",
    "ret",
);

unsafe extern "C" {
    fn rmm_mmu_enable();
}

/// The values every CPU loads, published for the secondaries.
#[derive(Debug, Clone, Copy)]
pub struct MmuRegs {
    /// `MAIR_EL2`.
    pub mair: u64,
    /// `TCR_EL2`.
    pub tcr: u64,
    /// `TTBR0_EL2` (root table PA).
    pub ttbr0: u64,
    /// `SCTLR_EL2` with the MMU on.
    pub sctlr: u64,
    /// `HCR_EL2`.
    pub hcr: u64,
}

/// Publishes `regs` and turns this CPU's MMU and caches on.
///
/// # Safety
///
/// The MMU must be off, and `regs.ttbr0` must point to complete tables that map this code,
/// the stack, and all data in use with their current physical addresses (an identity map),
/// written to memory (not only to a cache). Lines of memory this CPU wrote with the MMU off
/// must not be stale in its data cache: the caller invalidates them first
/// ([`invalidate_dcache_range`]).
pub unsafe fn enable(regs: MmuRegs) {
    for (slot, value) in MMU_REGS
        .iter()
        .zip([regs.mair, regs.tcr, regs.ttbr0, regs.sctlr, regs.hcr])
    {
        slot.store(value, Ordering::Relaxed);
    }
    // SAFETY: the caller guarantees the tables identity-map everything in use, so execution
    // continues at the next instruction with the same stack and data; the routine uses only
    // caller-saved registers x9..x14, which the call clobbers anyway.
    unsafe { rmm_mmu_enable() };
}

/// Smallest data cache line, from `CTR_EL0.DminLine`.
fn dcache_line() -> u64 {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    4 << ((ctr >> 16) & 0xF)
}

/// Invalidates (without cleaning) the data cache lines of `[start, end)` to the point of
/// coherency.
///
/// # Safety
///
/// Any dirty data cached for the range is discarded: the caller must know memory holds the
/// truth (the range was written only with the MMU off, or cleaned).
pub unsafe fn invalidate_dcache_range(start: u64, end: u64) {
    let line = dcache_line();
    let mut addr = start & !(line - 1);
    while addr < end {
        // SAFETY: `dc ivac` on a mapped or flat-mapped (MMU off) address only drops cache
        // lines; the caller guarantees no data is lost.
        unsafe { core::arch::asm!("dc ivac, {}", in(reg) addr, options(nostack)) };
        addr += line;
    }
    // SAFETY: barriers have no memory-safety effects.
    unsafe { core::arch::asm!("dsb sy", "isb", options(nostack)) };
}
