// SPDX-License-Identifier: MIT OR Apache-2.0
//! The R-EL2 exception vector table.
//!
//! One exception is expected: a synchronous data abort (EC 0x25) taken by the NS-memory copy
//! routine (its PC between `rmm_ns_access_start` and `rmm_ns_access_end`), which resumes at
//! `rmm_ns_access_fault` so the copy returns an error (see [`super::ns_access`]). The check
//! uses x9 and x10 only, which that routine never relies on.
//!
//! The four lower-EL AArch64 vectors are the realm's way back: they hand over to the world
//! switch's exit path (see [`super::world_switch`]) with the vector's number in x1.
//!
//! Every other exception is unexpected: the vector reports what happened (which vector,
//! ESR_EL2, ELR_EL2, FAR_EL2, SPSR_EL2) and stops the CPU. The handler first resets SP to the
//! top of this CPU's own stack, so even a stack overflow gets reported instead of faulting
//! again. Later work adds realm exits here.

use super::entry::{STACK_SIZE, STACKS};

/// Exception class of a data abort taken without a change in exception level.
const EC_DATA_ABORT_SAME_EL: u64 = 0x25;

core::arch::global_asm!(
    ".section .text.vectors, \"ax\"",
    ".balign 0x800",
    ".global rmm_vectors",
    "rmm_vectors:",
    ".irp kind, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    ".balign 0x80",
    ".if \\kind == 4",
    "b rmm_sync_current_el",
    ".elseif \\kind >= 8 && \\kind <= 11",
    // From the realm (AArch64 at EL1/EL0): back into `rmm_realm_run`'s caller.
    "stp x0, x1, [sp, #-16]!",
    "mov x1, #(\\kind - 8)",
    "b rmm_realm_exit",
    ".else",
    "mov x0, #\\kind",
    "b rmm_vector_common",
    ".endif",
    ".endr",
    // Synchronous, current EL: fix up a data abort in the NS copy routine.
    "rmm_sync_current_el:",
    "mrs x9, esr_el2",
    "lsr x9, x9, #26",
    "cmp x9, #{ec_data_abort}",
    "b.ne 2f",
    "mrs x9, elr_el2",
    "adrp x10, rmm_ns_access_start",
    "add x10, x10, :lo12:rmm_ns_access_start",
    "cmp x9, x10",
    "b.lo 2f",
    "adrp x10, rmm_ns_access_end",
    "add x10, x10, :lo12:rmm_ns_access_end",
    "cmp x9, x10",
    "b.hs 2f",
    "adrp x10, rmm_ns_access_fault",
    "add x10, x10, :lo12:rmm_ns_access_fault",
    "msr elr_el2, x10",
    "eret",
    "2:",
    "mov x0, #4",
    "rmm_vector_common:",
    "mrs x9, tpidr_el2",
    "adrp x10, {stacks}",
    "add x10, x10, :lo12:{stacks}",
    "ldr x11, ={stack_size}",
    "madd x10, x9, x11, x10",
    "add sp, x10, x11",
    "mrs x1, esr_el2",
    "mrs x2, elr_el2",
    "mrs x3, far_el2",
    "mrs x4, spsr_el2",
    "bl rmm_unexpected_exception",
    "1:",
    "wfe",
    "b 1b",
    stacks = sym STACKS,
    stack_size = const STACK_SIZE,
    ec_data_abort = const EC_DATA_ABORT_SAME_EL,
);

/// Names of the 16 vectors, in table order.
const VECTOR_NAMES: [&str; 16] = [
    "sync, current EL, SP_EL0",
    "IRQ, current EL, SP_EL0",
    "FIQ, current EL, SP_EL0",
    "SError, current EL, SP_EL0",
    "sync, current EL, SP_ELx",
    "IRQ, current EL, SP_ELx",
    "FIQ, current EL, SP_ELx",
    "SError, current EL, SP_ELx",
    "sync, lower EL, AArch64",
    "IRQ, lower EL, AArch64",
    "FIQ, lower EL, AArch64",
    "SError, lower EL, AArch64",
    "sync, lower EL, AArch32",
    "IRQ, lower EL, AArch32",
    "FIQ, lower EL, AArch32",
    "SError, lower EL, AArch32",
];

/// Reports an unexpected exception; the assembly stops the CPU when this returns.
#[unsafe(no_mangle)]
extern "C" fn rmm_unexpected_exception(kind: u64, esr: u64, elr: u64, far: u64, spsr: u64) {
    let name = usize::try_from(kind)
        .ok()
        .and_then(|k| VECTOR_NAMES.get(k))
        .copied()
        .unwrap_or("unknown vector");
    log::error!(
        "unexpected exception ({name}): ESR_EL2={esr:#018x} ELR_EL2={elr:#018x} \
         FAR_EL2={far:#018x} SPSR_EL2={spsr:#018x}; this CPU stops"
    );
}
