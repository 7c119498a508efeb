// SPDX-License-Identifier: MIT OR Apache-2.0
//! The R-EL2 exception vector table, which is also the image's first 2 KiB and holds the world
//! switch's assembly (below): EL3 enters at the image base, vector 0, which branches to
//! `rmm_entry` ([`super::entry`]). The four current-EL SP_EL0 vectors can never be taken (the
//! RMM runs on SP_EL2 from its first instruction), so their 512 bytes hold that branch and the
//! handlers below instead of padding, and the table needs no alignment padding before it
//! (`cargo xtask size` counts 2 KiB less).
//!
//! One exception is expected: a synchronous data abort (EC 0x25) taken by the NS-memory copy
//! routine (its PC between `rmm_ns_access_start` and `rmm_ns_access_end`), which resumes at
//! `rmm_ns_access_fault` so the copy returns an error (see [`super::ns_access`]). The check
//! uses x9 and x10 only, which that routine never relies on.
//!
//! The world switch's assembly lives in the table's spare bytes (see [`super::world_switch`]
//! for the Rust around it and the frame layout): the way into the realm, `rmm_realm_run`,
//! fills the rest of the current-EL synchronous vector after its branch; the four lower-EL
//! AArch64 vectors are the realm's way back, each the whole exit path (32 instructions that
//! fill the vector) returning from `rmm_realm_run` with the vector's number, so a realm exit
//! takes no branch before it is back in Rust and neither half costs bytes outside the table.
//!
//! Every other exception is unexpected: the vector reports what happened (which vector,
//! ESR_EL2, ELR_EL2, FAR_EL2, SPSR_EL2) and stops the CPU.
//!
//! **Stack overflow.** No current-EL vector touches the stack before it has chosen one: the
//! fix-up check above uses x9 and x10 only, and the common path resets SP to the top of this
//! CPU's own stack (its identity alias, valid with the MMU on or off) before it calls Rust,
//! passing the SP the exception was taken with. An overflow of a guarded stack (see
//! [`super::entry`]) is a data abort in the unmapped hole below it, so it arrives here and
//! not as a recursive fault; if that SP, or the faulting address of a data abort, lies in
//! this CPU's guard hole, the report is the one fatal line
//! `stack overflow on CPU n: SP=… FAR_EL2=… ELR_EL2=…, below its stack [bottom, top); this
//! CPU stops`. The frames of the overflowed stack are overwritten by the report (they are
//! lost anyway) and the CPU halts like any other fatal stop ([`super::fatal`]): no other
//! CPU's stack has been touched. The realm-exit vectors (8 to 11) keep SP and push 16
//! bytes onto the SP the world switch left (a few KiB above the bottom of the stack), so
//! they need no check.

use super::entry::{STACK_SIZE, STACKS, stack_area};
use super::world_switch::{FRAME, FRAME_GPRS};
use crate::arch::world::{GPRS_PC_OFFSET, GPRS_PSTATE_OFFSET};
use crate::log_line::{dec, hex, hex64};

/// Exception class of a data abort taken without a change in exception level.
const EC_DATA_ABORT_SAME_EL: u64 = 0x25;

core::arch::global_asm!(
    // The image's first bytes (the linker script puts `.text.entry` first).
    ".section .text.entry, \"ax\"",
    ".balign 0x800",
    ".global rmm_vectors",
    "rmm_vectors:",
    // Vectors 0 to 3 (current EL with SP_EL0) can never be taken: `rmm_entry` selects SP_EL2
    // before anything else and nothing selects SP_EL0 again. Their 512 bytes hold the image
    // entry (EL3 enters at the image base: a branch to `rmm_entry`) and the current-EL
    // handlers below, so the table costs no alignment padding.
    "b rmm_entry",
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
    "mov x5, sp",
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
    ".ltorg",
    // Fails to assemble if the code above ran past vector 3.
    ".org rmm_vectors + 0x200",
    ".irp kind, 4,5,6,7,8,9,10,11,12,13,14,15",
    // Each vector at its offset: fails to assemble if the one before ran past it.
    ".org rmm_vectors + \\kind * 0x80",
    // A symbol per vector, so that a disassembly (and `cargo xtask size`'s stack bounds) ends
    // the code before it there.
    "rmm_vector_\\kind:",
    ".if \\kind == 4",
    "b rmm_sync_current_el",
    // The vector's other 124 bytes: the world switch's way into the realm (31 instructions).
    // x0 = *mut RealmGprs. Saves the RMM's callee-saved registers and `gprs` in its frame
    // (`world_switch::FRAME`), loads the realm's registers, PC and PSTATE and enters it; the
    // realm-exit vectors below return from here with the vector number (0 sync, 1 IRQ,
    // 2 FIQ, 3 SError).
    ".global rmm_realm_run",
    "rmm_realm_run:",
    "sub sp, sp, #{frame}",
    "stp x19, x20, [sp, #0]",
    "stp x21, x22, [sp, #16]",
    "stp x23, x24, [sp, #32]",
    "stp x25, x26, [sp, #48]",
    "stp x27, x28, [sp, #64]",
    "stp x29, x30, [sp, #80]",
    "str x0, [sp, #{frame_gprs}]",
    "ldr x1, [x0, #{pc}]",
    "msr elr_el2, x1",
    "ldr x1, [x0, #{pstate}]",
    "msr spsr_el2, x1",
    "ldp x2, x3, [x0, #16]",
    "ldp x4, x5, [x0, #32]",
    "ldp x6, x7, [x0, #48]",
    "ldp x8, x9, [x0, #64]",
    "ldp x10, x11, [x0, #80]",
    "ldp x12, x13, [x0, #96]",
    "ldp x14, x15, [x0, #112]",
    "ldp x16, x17, [x0, #128]",
    "ldp x18, x19, [x0, #144]",
    "ldp x20, x21, [x0, #160]",
    "ldp x22, x23, [x0, #176]",
    "ldp x24, x25, [x0, #192]",
    "ldp x26, x27, [x0, #208]",
    "ldp x28, x29, [x0, #224]",
    "ldr x30, [x0, #240]",
    "ldp x0, x1, [x0, #0]",
    "eret",
    // No straight-line speculation past the eret.
    "dsb nsh",
    "isb",
    ".elseif \\kind >= 8 && \\kind <= 11",
    // From the realm (AArch64 at EL1/EL0): the world switch's way back, whole, in each of
    // the four vectors (32 instructions, the vector's 128 bytes exactly). SP_EL2 is where
    // `rmm_realm_run` left it, at its frame (`world_switch::FRAME`): stash the realm's x0
    // and x1, store its registers through the frame's `gprs` pointer, restore the RMM's
    // callee-saved registers and return from `rmm_realm_run` with the vector's number.
    "stp x0, x1, [sp, #-16]!",
    "ldr x0, [sp, #16 + {frame_gprs}]",
    "stp x2, x3, [x0, #16]",
    "stp x4, x5, [x0, #32]",
    "stp x6, x7, [x0, #48]",
    "stp x8, x9, [x0, #64]",
    "stp x10, x11, [x0, #80]",
    "stp x12, x13, [x0, #96]",
    "stp x14, x15, [x0, #112]",
    "stp x16, x17, [x0, #128]",
    "stp x18, x19, [x0, #144]",
    "stp x20, x21, [x0, #160]",
    "stp x22, x23, [x0, #176]",
    "stp x24, x25, [x0, #192]",
    "stp x26, x27, [x0, #208]",
    "stp x28, x29, [x0, #224]",
    "str x30, [x0, #240]",
    "ldp x2, x3, [sp], #16",
    "stp x2, x3, [x0, #0]",
    "mrs x2, elr_el2",
    "str x2, [x0, #{pc}]",
    "mrs x2, spsr_el2",
    "str x2, [x0, #{pstate}]",
    "mov x0, #(\\kind - 8)",
    "ldp x19, x20, [sp, #0]",
    "ldp x21, x22, [sp, #16]",
    "ldp x23, x24, [sp, #32]",
    "ldp x25, x26, [sp, #48]",
    "ldp x27, x28, [sp, #64]",
    "ldp x29, x30, [sp, #80]",
    "add sp, sp, #{frame}",
    "ret",
    ".else",
    "mov x0, #\\kind",
    "b rmm_vector_common",
    ".endif",
    ".endr",
    stacks = sym STACKS,
    stack_size = const STACK_SIZE,
    ec_data_abort = const EC_DATA_ABORT_SAME_EL,
    frame = const FRAME,
    frame_gprs = const FRAME_GPRS,
    pc = const GPRS_PC_OFFSET,
    pstate = const GPRS_PSTATE_OFFSET,
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

/// Whether an exception taken with `sp` (and, for a data abort, `far`) is an overflow of
/// CPU `cpu`'s guarded stack: either lies in the guard hole below it.
fn is_stack_overflow(cpu: u64, esr: u64, far: u64, sp: u64) -> bool {
    let (hole, bottom) = stack_area().guard_range(cpu);
    let in_hole = |a: u64| (hole..bottom).contains(&a);
    let data_abort = esr >> 26 == EC_DATA_ABORT_SAME_EL;
    in_hole(sp) || (data_abort && in_hole(far))
}

/// Reports an unexpected exception (`sp`: the stack pointer it was taken with); the assembly
/// stops the CPU when this returns.
#[unsafe(no_mangle)]
extern "C" fn rmm_unexpected_exception(
    kind: u64,
    esr: u64,
    elr: u64,
    far: u64,
    spsr: u64,
    sp: u64,
) {
    let cpu = super::sysreg::cpu_index() as u64;
    if is_stack_overflow(cpu, esr, far, sp) {
        let (bottom, top) = stack_area().va_range(cpu);
        crate::log_error!(
            "stack overflow on CPU {}: SP={} FAR_EL2={} ELR_EL2={}, below its stack [{}, {}); \
             this CPU stops",
            dec(cpu),
            hex64(sp),
            hex64(far),
            hex64(elr),
            hex(bottom),
            hex(top),
        );
        return;
    }
    let name = usize::try_from(kind)
        .ok()
        .and_then(|k| VECTOR_NAMES.get(k))
        .copied()
        .unwrap_or("unknown vector");
    crate::log_error!(
        "unexpected exception ({}): ESR_EL2={} ELR_EL2={} FAR_EL2={} SPSR_EL2={}; this CPU stops",
        name,
        hex64(esr),
        hex64(elr),
        hex64(far),
        hex64(spsr),
    );
}
