// SPDX-License-Identifier: MIT OR Apache-2.0
//! The realm's EL1 exception vectors. A synchronous exception the running check announced
//! with [`expect`] is recorded and skipped (the faulting instruction is stepped over); an IRQ
//! (taken only where the interrupt scenarios unmask them) goes to [`crate::irq::handle`] and
//! the interrupted code resumes; any other exception is reported to the hypervisor as
//! [`HostCallCode::Exception`] and the realm stops.

use crate::host_call;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use realm_protocol::HostCallCode;

static EXPECTING: AtomicBool = AtomicBool::new(false);
static STEP_OVER: AtomicBool = AtomicBool::new(true);
static TAKEN_ESR: AtomicU64 = AtomicU64::new(0);

/// The next synchronous exception is expected: record it and step over the instruction.
pub fn expect() {
    expect_returning(true);
}

/// The next synchronous exception is expected; resume after the faulting instruction if
/// `step_over`, else at the return address as taken (an HVC's already points past it).
pub fn expect_returning(step_over: bool) {
    TAKEN_ESR.store(0, Ordering::SeqCst);
    STEP_OVER.store(step_over, Ordering::SeqCst);
    EXPECTING.store(true, Ordering::SeqCst);
}

/// ESR_EL1 of the expected exception, if it was taken (and stops expecting).
pub fn taken() -> Option<u64> {
    EXPECTING.store(false, Ordering::SeqCst);
    match TAKEN_ESR.swap(0, Ordering::SeqCst) {
        0 => None,
        esr => Some(esr & !(1 << 63)),
    }
}

core::arch::global_asm!(
    ".section .text.vectors, \"ax\"",
    ".balign 0x800",
    ".global realm_vectors",
    "realm_vectors:",
    ".irp kind, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    ".balign 0x80",
    "sub sp, sp, #176",
    "stp x0, x1, [sp, #0]",
    "mov x0, #\\kind",
    "b realm_vector_common",
    ".endr",
    "realm_vector_common:",
    "stp x2, x3, [sp, #16]",
    "stp x4, x5, [sp, #32]",
    "stp x6, x7, [sp, #48]",
    "stp x8, x9, [sp, #64]",
    "stp x10, x11, [sp, #80]",
    "stp x12, x13, [sp, #96]",
    "stp x14, x15, [sp, #112]",
    "stp x16, x17, [sp, #128]",
    "stp x18, x29, [sp, #144]",
    "str x30, [sp, #160]",
    "mrs x1, esr_el1",
    "mrs x2, elr_el1",
    "mrs x3, far_el1",
    "bl {handler}",
    "msr elr_el1, x0",
    "ldp x0, x1, [sp, #0]",
    "ldp x2, x3, [sp, #16]",
    "ldp x4, x5, [sp, #32]",
    "ldp x6, x7, [sp, #48]",
    "ldp x8, x9, [sp, #64]",
    "ldp x10, x11, [sp, #80]",
    "ldp x12, x13, [sp, #96]",
    "ldp x14, x15, [sp, #112]",
    "ldp x16, x17, [sp, #128]",
    "ldp x18, x29, [sp, #144]",
    "ldr x30, [sp, #160]",
    "add sp, sp, #176",
    "eret",
    handler = sym realm_exception,
);

/// IRQs from the current EL with SP_ELx (the realm runs at EL1h).
const IRQ_CURRENT_EL_SPX: u64 = 5;

/// Handles an exception from vector `kind`; returns where to resume.
extern "C" fn realm_exception(kind: u64, esr: u64, elr: u64, far: u64) -> u64 {
    if kind == IRQ_CURRENT_EL_SPX {
        crate::irq::handle();
        return elr;
    }
    // Synchronous exceptions from the current EL with SP_ELx are vector 4.
    if kind == 4 && EXPECTING.swap(false, Ordering::SeqCst) {
        TAKEN_ESR.store(esr | 1 << 63, Ordering::SeqCst);
        return if STEP_OVER.load(Ordering::SeqCst) {
            elr + 4
        } else {
            elr
        };
    }
    host_call::call(HostCallCode::Exception, &[esr, elr, far, kind]);
    host_call::done(u64::MAX)
}
