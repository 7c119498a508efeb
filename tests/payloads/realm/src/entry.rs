//! The realm's entry point. The RMM enters at the image base at R-EL1 with the MMU off, and
//! x0..x7 as the hypervisor passed them in RmiRecParams. The image starts with a branch and
//! its bounds (start and end, NOLOAD stack included) (so the hypervisor knows how much memory to give it), then clears BSS, takes
//! its stack, installs its vectors and calls `realm_main(x0, x1, x2, x3)`.
//!
//! Two RECs may run the image (the attestation scenario's pair mode): each takes the stack
//! of its MPIDR's Aff0 (0 or 1), and only REC 0 clears BSS (the hypervisor always starts
//! REC 0 first).

use core::cell::UnsafeCell;

/// Bytes of stack per REC.
pub const STACK_SIZE: usize = 8 * 1024;

/// RECs with a stack of their own.
pub const MAX_RECS: usize = 2;

/// The stack (NOLOAD: the hypervisor gives the realm zeroed memory for it).
#[repr(C, align(4096))]
pub struct Stack(UnsafeCell<[u8; STACK_SIZE * MAX_RECS]>);

// SAFETY: Rust never accesses the array; it is the RECs' stacks, one slice per REC.
unsafe impl Sync for Stack {}

/// The stack, referenced only by the assembly below.
#[unsafe(link_section = ".stacks")]
pub static STACK: Stack = Stack(UnsafeCell::new([0; STACK_SIZE * MAX_RECS]));

core::arch::global_asm!(
    ".section .text.entry, \"ax\"",
    ".global realm_entry",
    "realm_entry:",
    "b 1f",
    ".balign 8",
    ".quad __image_start",
    ".quad __image_end",
    "1:",
    "mov x19, x0",
    "mov x20, x1",
    "mov x21, x2",
    "mov x22, x3",
    "mrs x13, mpidr_el1",
    "and x13, x13, #1",
    "cbnz x13, 3f",
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
    "madd x9, x13, x10, x9",
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
    stack = sym STACK,
    stack_size = const STACK_SIZE,
    main = sym crate::realm_main,
);
