// SPDX-License-Identifier: MIT OR Apache-2.0
//! The RMM image entry point, shared by cold and warm boot.
//!
//! EL3 enters at the image base at R-EL2 with the MMU and caches off, all exceptions masked
//! and no stack, with x0 = CPU index and x1..x3 = boot arguments (zero on warm boot). The
//! first entry ever is the cold boot (a flag in `.data` says so); it clears BSS exactly once.
//! Every CPU gets its own stack from [`STACKS`], records its index in TPIDR_EL2 and installs
//! the vectors; a warm-booting CPU also turns its MMU on with the tables the boot CPU built
//! (before it uses its stack). Then it calls `rmm_platform_main(x0, x1, x2, x3, cold)`.
//! A CPU index too large for a stack is reported to EL3 as `RMM_BOOT_COMPLETE(-4)` from
//! assembly, since no Rust can run without a stack.

use crate::MAX_CPUS;
use core::cell::UnsafeCell;
use core::sync::atomic::AtomicU64;
use rmm_abi::el3::{BootError, RMM_BOOT_COMPLETE};

/// Bytes of stack per CPU. Signing an attestation token inside REC_ENTER is the deepest path
/// (16,464 bytes measured on QEMU with `stack_probe`), so 16 KiB is too little.
pub const STACK_SIZE: usize = 24 * 1024;

/// Per-CPU boot stacks, in a NOLOAD section (not cleared, not in the image file).
#[repr(C, align(4096))]
pub struct Stacks(pub(super) UnsafeCell<[[u8; STACK_SIZE]; MAX_CPUS]>);

// SAFETY: each CPU uses only its own slice as its stack, set up by the entry assembly; Rust
// code touches the array only through raw pointers in `stack_probe` (painting stacks no
// one uses yet, and reading the paint back).
unsafe impl Sync for Stacks {}

/// The stacks. Referenced only by the entry assembly.
#[unsafe(link_section = ".stacks")]
pub static STACKS: Stacks = Stacks(UnsafeCell::new([[0; STACK_SIZE]; MAX_CPUS]));

/// 1 until the first (cold) boot has cleared BSS. Lives in `.data`, so it survives the clear.
#[unsafe(no_mangle)]
pub static RMM_COLD_BOOT_PENDING: AtomicU64 = AtomicU64::new(1);

core::arch::global_asm!(
    ".section .text.entry, \"ax\"",
    ".global rmm_entry",
    "rmm_entry:",
    // Keep the boot arguments in callee-saved registers.
    "mov x19, x0",
    "mov x20, x1",
    "mov x21, x2",
    "mov x22, x3",
    "cmp x0, #{max_cpus}",
    "b.hs 8f",
    // sp = STACKS + (cpu + 1) * STACK_SIZE
    "adrp x9, {stacks}",
    "add x9, x9, :lo12:{stacks}",
    "ldr x10, ={stack_size}",
    "madd x9, x0, x10, x9",
    "add sp, x9, x10",
    "msr tpidr_el2, x0",
    "adrp x9, rmm_vectors",
    "add x9, x9, :lo12:rmm_vectors",
    "msr vbar_el2, x9",
    "isb",
    // Cold boot if the flag is still set: clear BSS, then the flag.
    "adrp x9, {cold}",
    "add x9, x9, :lo12:{cold}",
    "ldr x10, [x9]",
    "mov x4, #0",
    "cbz x10, 3f",
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
    "str xzr, [x9]",
    "dsb sy",
    "mov x4, #1",
    "b 4f",
    // Warm boot: MMU and caches on before the stack is touched (see `mmu`).
    "3:",
    "bl rmm_mmu_enable",
    "mov x4, #0",
    "4:",
    "mov x0, x19",
    "mov x1, x20",
    "mov x2, x21",
    "mov x3, x22",
    "bl rmm_platform_main",
    "b 9f",
    // CPU index out of range: report and stop.
    "8:",
    "ldr x0, ={boot_complete}",
    "ldr x1, ={cpu_id_error}",
    "smc #0",
    "9:",
    "wfe",
    "b 9b",
    max_cpus = const MAX_CPUS,
    stack_size = const STACK_SIZE,
    stacks = sym STACKS,
    cold = sym RMM_COLD_BOOT_PENDING,
    boot_complete = const RMM_BOOT_COMPLETE as u64,
    cpu_id_error = const BootError::CpuIdOutOfRange.code(),
);
