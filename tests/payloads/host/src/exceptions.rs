// SPDX-License-Identifier: MIT OR Apache-2.0
//! NS-EL2 exception vectors. A fault a test provoked on purpose (see [`probe_read`]) is
//! recorded and skipped; any other exception becomes a FAIL line for the running test, and
//! that CPU stops (the primary first prints the summary and powers off).

use crate::platform::MAX_CPUS;
use crate::regs;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering, compiler_fence};

/// Registers saved on exception entry; restored (with a possibly changed ELR) on return.
#[repr(C)]
pub struct Frame {
    /// x0..x30.
    pub x: [u64; 31],
    /// ELR_EL2.
    pub elr: u64,
    /// SPSR_EL2.
    pub spsr: u64,
    _pad: u64,
}

core::arch::global_asm!(
    ".section .text.vectors, \"ax\"",
    ".balign 0x800",
    ".global host_vectors",
    "host_vectors:",
    ".irp kind, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    ".balign 0x80",
    "sub sp, sp, #272",
    "stp x0, x1, [sp, #0]",
    "mov x0, #\\kind",
    "b host_vector_common",
    ".endr",
    "host_vector_common:",
    "stp x2, x3, [sp, #16]",
    "stp x4, x5, [sp, #32]",
    "stp x6, x7, [sp, #48]",
    "stp x8, x9, [sp, #64]",
    "stp x10, x11, [sp, #80]",
    "stp x12, x13, [sp, #96]",
    "stp x14, x15, [sp, #112]",
    "stp x16, x17, [sp, #128]",
    "stp x18, x19, [sp, #144]",
    "stp x20, x21, [sp, #160]",
    "stp x22, x23, [sp, #176]",
    "stp x24, x25, [sp, #192]",
    "stp x26, x27, [sp, #208]",
    "stp x28, x29, [sp, #224]",
    "mrs x1, elr_el2",
    "mrs x2, spsr_el2",
    "stp x30, x1, [sp, #240]",
    "str x2, [sp, #256]",
    "mov x1, sp",
    "bl host_exception",
    "ldp x30, x1, [sp, #240]",
    "ldr x2, [sp, #256]",
    "msr elr_el2, x1",
    "msr spsr_el2, x2",
    "ldp x2, x3, [sp, #16]",
    "ldp x4, x5, [sp, #32]",
    "ldp x6, x7, [sp, #48]",
    "ldp x8, x9, [sp, #64]",
    "ldp x10, x11, [sp, #80]",
    "ldp x12, x13, [sp, #96]",
    "ldp x14, x15, [sp, #112]",
    "ldp x16, x17, [sp, #128]",
    "ldp x18, x19, [sp, #144]",
    "ldp x20, x21, [sp, #160]",
    "ldp x22, x23, [sp, #176]",
    "ldp x24, x25, [sp, #192]",
    "ldp x26, x27, [sp, #208]",
    "ldp x28, x29, [sp, #224]",
    "ldp x0, x1, [sp, #0]",
    "add sp, sp, #272",
    "eret",
);

const _: () = assert!(core::mem::size_of::<Frame>() == 272);

/// A fault recorded while a test expected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// ESR_EL2 at the fault.
    pub esr: u64,
    /// FAR_EL2 at the fault.
    pub far: u64,
}

impl Fault {
    /// Exception class (ESR_EL2.EC).
    pub fn class(&self) -> u64 {
        (self.esr >> 26) & 0x3F
    }

    /// Data/instruction fault status code (ESR_EL2.ISS.DFSC).
    pub fn status_code(&self) -> u64 {
        self.esr & 0x3F
    }
}

struct FaultSlot {
    expecting: AtomicBool,
    taken: AtomicBool,
    esr: AtomicU64,
    far: AtomicU64,
}

static SLOTS: [FaultSlot; MAX_CPUS] = [const {
    FaultSlot {
        expecting: AtomicBool::new(false),
        taken: AtomicBool::new(false),
        esr: AtomicU64::new(0),
        far: AtomicU64::new(0),
    }
}; MAX_CPUS];

/// Reads 8 bytes at `pa`; a synchronous fault is caught and returned instead of failing the
/// test (the load is skipped).
pub fn probe_read(pa: u64) -> Result<u64, Fault> {
    let slot = &SLOTS[regs::cpu_slot() % MAX_CPUS];
    slot.taken.store(false, Ordering::SeqCst);
    slot.expecting.store(true, Ordering::SeqCst);
    compiler_fence(Ordering::SeqCst);
    // SAFETY: a plain aligned load from a physical address (MMU off). If the address is not
    // readable by the NS world the resulting synchronous exception is caught by
    // `host_exception`, which skips this one load instruction.
    let value = unsafe { core::ptr::read_volatile(pa as *const u64) };
    compiler_fence(Ordering::SeqCst);
    slot.expecting.store(false, Ordering::SeqCst);
    if slot.taken.load(Ordering::SeqCst) {
        Err(Fault {
            esr: slot.esr.load(Ordering::SeqCst),
            far: slot.far.load(Ordering::SeqCst),
        })
    } else {
        Ok(value)
    }
}

const SYNC_CURRENT_EL_SPX: u64 = 4;

#[unsafe(no_mangle)]
extern "C" fn host_exception(kind: u64, frame: &mut Frame) {
    let esr = regs::esr_el2();
    let far = regs::far_el2();
    let slot = &SLOTS[regs::cpu_slot() % MAX_CPUS];
    if kind == SYNC_CURRENT_EL_SPX && slot.expecting.swap(false, Ordering::SeqCst) {
        slot.esr.store(esr, Ordering::SeqCst);
        slot.far.store(far, Ordering::SeqCst);
        slot.taken.store(true, Ordering::SeqCst);
        frame.elr += 4;
        return;
    }
    crate::runner::unexpected_exception(kind, esr, frame.elr, far)
}
