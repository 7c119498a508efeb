// SPDX-License-Identifier: MIT OR Apache-2.0
//! The realm's entry points. The RMM enters REC 0 at the image base at R-EL1 with the MMU
//! off, and x0..x7 as the hypervisor passed them in RmiRecParams. The image starts with a
//! branch and its bounds (start and end, NOLOAD stacks included, so the hypervisor knows how
//! much memory to give it), then clears BSS, takes its stack, installs its vectors and calls
//! `realm_main(x0, x1, x2, x3)`.
//!
//! Other RECs either start at [`realm_secondary_entry`] when REC 0 turns them on with PSCI
//! CPU_ON, with their REC index as the context id in x0 (they call
//! `realm_secondary_main(index)`), or are created runnable and enter at the image base like
//! REC 0 (the attestation scenario's pair mode; the hypervisor always starts REC 0 first).
//! Either way each takes the stack of its MPIDR's Aff0 and only REC 0 clears BSS.

use core::cell::UnsafeCell;
use realm_protocol::MAX_RECS;

/// Bytes of stack per REC.
pub const STACK_SIZE: usize = 8 * 1024;

/// Bytes of stack of each other REC.
pub const SECONDARY_STACK_SIZE: usize = STACK_SIZE;

/// The stack (NOLOAD: the hypervisor gives the realm zeroed memory for it).
#[repr(C, align(4096))]
pub struct Stack<const N: usize>(UnsafeCell<[u8; N]>);

// SAFETY: Rust never accesses the arrays; each is the stack of exactly one REC.
unsafe impl<const N: usize> Sync for Stack<N> {}

/// REC 0's stack, referenced only by the assembly below.
#[unsafe(link_section = ".stacks")]
pub static STACK: Stack<STACK_SIZE> = Stack(UnsafeCell::new([0; STACK_SIZE]));

/// The stacks of RECs 1.., referenced only by the assembly below.
#[unsafe(link_section = ".stacks")]
pub static SECONDARY_STACKS: [Stack<SECONDARY_STACK_SIZE>; MAX_RECS - 1] =
    [const { Stack(UnsafeCell::new([0; SECONDARY_STACK_SIZE])) }; MAX_RECS - 1];

/// Where RECs other than REC 0 start (the PSCI CPU_ON entry point).
pub fn secondary_entry_ipa() -> u64 {
    realm_secondary_entry as *const () as u64
}

unsafe extern "C" {
    /// The entry point of RECs 1.. (x0 = REC index); defined in the assembly below.
    fn realm_secondary_entry();
}

core::arch::global_asm!(
    ".section .text.entry, \"ax\"",
    ".global realm_entry",
    "realm_entry:",
    "b 1f",
    ".balign 8",
    ".quad __image_start",
    ".quad __image_end",
    "1:",
    // The hard-float build (`msgbench`) may use FP/SIMD anywhere: open it first.
    ".if {fpen}",
    "mrs x9, cpacr_el1",
    "orr x9, x9, #(3 << 20)",
    "msr cpacr_el1, x9",
    "isb",
    ".endif",
    "mov x19, x0",
    "mov x20, x1",
    "mov x21, x2",
    "mov x22, x3",
    // RECs other than REC 0 entering here take their own stack and leave BSS alone.
    "mrs x0, mpidr_el1",
    "and x0, x0, #0xF",
    "cbnz x0, 5f",
    "adrp x11, __bss_start",
    "add x11, x11, :lo12:__bss_start",
    "adrp x12, __bss_end",
    "add x12, x12, :lo12:__bss_end",
    "2:",
    "cmp x11, x12",
    "b.hs 3f",
    "str xzr, [x11], #8",
    "b 2b",
    "3:",
    "adrp x9, {stack}",
    "add x9, x9, :lo12:{stack}",
    "ldr x10, ={stack_size}",
    "add sp, x9, x10",
    "adrp x9, realm_vectors",
    "add x9, x9, :lo12:realm_vectors",
    "msr vbar_el1, x9",
    "isb",
    "mov x0, x19",
    "mov x1, x20",
    "mov x2, x21",
    "mov x3, x22",
    "bl {main}",
    "4:",
    "wfe",
    "b 4b",
    "5:",
    "bl 7f",
    "adrp x9, realm_vectors",
    "add x9, x9, :lo12:realm_vectors",
    "msr vbar_el1, x9",
    "isb",
    "mov x0, x19",
    "mov x1, x20",
    "mov x2, x21",
    "mov x3, x22",
    "bl {main}",
    "b 4b",
    // x0 = REC index, 1..MAX_RECS: sets SP to the top of its stack; anything else parks.
    "7:",
    "sub x9, x0, #1",
    "cmp x9, #{secondaries}",
    "b.hs 6f",
    "adrp x10, {stacks}",
    "add x10, x10, :lo12:{stacks}",
    "add x9, x9, #1",
    "mov x11, #{secondary_stack_size}",
    "madd x10, x9, x11, x10",
    "mov sp, x10",
    "ret",
    ".global realm_secondary_entry",
    "realm_secondary_entry:",
    "mov x19, x0",
    "bl 7b",
    "mov x0, x19",
    "adrp x9, realm_vectors",
    "add x9, x9, :lo12:realm_vectors",
    "msr vbar_el1, x9",
    "isb",
    "bl {secondary_main}",
    "6:",
    "wfe",
    "b 6b",
    fpen = const cfg!(feature = "msgbench") as u64,
    stack = sym STACK,
    stack_size = const STACK_SIZE,
    main = sym crate::realm_main,
    stacks = sym SECONDARY_STACKS,
    secondaries = const MAX_RECS - 1,
    secondary_stack_size = const SECONDARY_STACK_SIZE,
    secondary_main = sym crate::realm_secondary_main,
);
