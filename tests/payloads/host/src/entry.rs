// SPDX-License-Identifier: MIT OR Apache-2.0
//! Entry points and stacks. TF-A enters `host_entry` on the primary CPU at NS-EL2 with the MMU
//! off; secondaries enter `host_secondary_entry` through PSCI CPU_ON with x0 = their slot (the
//! context id we passed). Each CPU gets its own stack and records its slot in TPIDR_EL2; the
//! primary alone clears BSS.

use crate::platform::MAX_CPUS;
use core::cell::UnsafeCell;

/// Bytes of stack per CPU.
pub const STACK_SIZE: usize = 32 * 1024;

/// Per-CPU stacks (NOLOAD: not cleared, not in the image file).
#[repr(C, align(4096))]
pub struct Stacks(UnsafeCell<[[u8; STACK_SIZE]; MAX_CPUS]>);

// SAFETY: Rust never accesses the array; each CPU uses only its own slice as its stack.
unsafe impl Sync for Stacks {}

/// The stacks, referenced only by the assembly below.
#[unsafe(link_section = ".stacks")]
pub static STACKS: Stacks = Stacks(UnsafeCell::new([[0; STACK_SIZE]; MAX_CPUS]));

core::arch::global_asm!(
    ".section .text.entry, \"ax\"",
    ".global host_entry",
    "host_entry:",
    "adrp x11, __bss_start",
    "add x11, x11, :lo12:__bss_start",
    "adrp x12, __bss_end",
    "add x12, x12, :lo12:__bss_end",
    "1:",
    "cmp x11, x12",
    "b.hs 2f",
    "str xzr, [x11], #8",
    "b 1b",
    "2:",
    "mov x0, #0",
    "adr x30, {primary}",
    "b 3f",
    ".global host_secondary_entry",
    "host_secondary_entry:",
    "cmp x0, #{max_cpus}",
    "b.hs 9f",
    "adr x30, {secondary}",
    // Common: x0 = slot, x30 = Rust entry.
    "3:",
    "adrp x9, {stacks}",
    "add x9, x9, :lo12:{stacks}",
    "ldr x10, ={stack_size}",
    "madd x9, x0, x10, x9",
    "add sp, x9, x10",
    "msr tpidr_el2, x0",
    // FP/SIMD at NS-EL2 (CPTR_EL2.TFP, E2H = 0): the FP/SIMD scenario writes the vector
    // registers itself; compiled code never uses them (soft-float target).
    "mrs x9, cptr_el2",
    "bic x9, x9, #(1 << 10)",
    "msr cptr_el2, x9",
    "adrp x9, host_vectors",
    "add x9, x9, :lo12:host_vectors",
    "msr vbar_el2, x9",
    "isb",
    "blr x30",
    "9:",
    "wfe",
    "b 9b",
    max_cpus = const MAX_CPUS,
    stack_size = const STACK_SIZE,
    stacks = sym STACKS,
    primary = sym crate::primary_main,
    secondary = sym crate::secondary_main,
);

unsafe extern "C" {
    /// Entry point for secondaries (only its address is used, for PSCI CPU_ON).
    pub fn host_secondary_entry();
}
