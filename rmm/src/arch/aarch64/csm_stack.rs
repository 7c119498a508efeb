// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CSM stack: one stack, shared by all CPUs, on which the holder of the CSM lock runs a
//! CSM operation (its RD locks, the state machine's decoded tables, its plan and effects).
//!
//! CSM operations are serialised by the one CSM lock, so they need one deep stack, not one per
//! CPU: every per-CPU stack is sized for the deepest path without CSM (token signing), and
//! this stack for the deepest CSM operation. It lives in the `.stacks` section after the
//! per-CPU stacks and is mapped in the stack window's slot after the last CPU's, with its own
//! unmapped guard hole below it (`mmu/layout.rs`); an overflow is reported as `stack overflow
//! on the CSM stack` (see [`super::vectors`]).
//!
//! [`run`] switches SP to the top of this stack, calls the operation and switches back. Only
//! one CPU is on it at a time, and [`run`] enforces that itself with an owner word: the
//! callers hold the CSM lock, but an operation releases it at its end, still on this stack,
//! so the next holder may find the previous one on its way out and waits for it (a few
//! instructions). A nested switch on the same CPU can only be an RMM bug and stops the
//! monitor.

use super::entry::mmu_on;
use crate::MAX_CPUS;
use crate::mmu::layout::{StackArea, stack_va_top};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Bytes of the CSM stack: the deepest CSM operation (a CSM RSI call with its decoded
/// tables; `docs/csm.md`, "The CSM stack") within the static bound `cargo xtask test` checks
/// (`xtask/src/stack_depth.rs`); the 48 KiB below it in its 64 KiB slot are the guard hole.
pub const CSM_STACK_SIZE: usize = 16 * 1024;

/// The stack, in the NOLOAD `.stacks` section (not cleared, not in the image file).
#[repr(C, align(4096))]
pub struct CsmStack(pub(super) UnsafeCell<[u8; CSM_STACK_SIZE]>);

// SAFETY: only the CPU recorded in `OWNER` runs on it (see `run`); other Rust code touches it
// only through raw pointers in `stack_probe` (painting it before any CPU can use it, reading
// the paint back).
unsafe impl Sync for CsmStack {}

/// The CSM stack.
#[unsafe(link_section = ".stacks")]
pub static CSM_STACK: CsmStack = CsmStack(UnsafeCell::new([0; CSM_STACK_SIZE]));

/// The CPU on the CSM stack, plus one; zero while it is free.
static OWNER: AtomicUsize = AtomicUsize::new(0);

/// The stack window slot of the CSM stack: the one after the last CPU's.
pub const SLOT: u64 = MAX_CPUS as u64;

/// The CSM stack, for the memory map.
pub fn area() -> StackArea {
    StackArea {
        pa: CSM_STACK.0.get() as u64,
        size: CSM_STACK_SIZE as u64,
        count: 1,
        first_slot: SLOT,
    }
}

/// Runs `f` on the CSM stack and returns when it does (waiting first while another CPU is
/// still on it). The caller holds the CSM lock. Before the MMU is on (no realm exists yet,
/// so no CSM operation can run) `f` runs where it is.
pub fn run(f: &mut dyn FnMut()) {
    if !mmu_on() {
        f();
        return;
    }
    let me = super::sysreg::cpu_index() + 1;
    while let Err(owner) = OWNER.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed) {
        if owner == me {
            super::fatal::stop(format_args!(
                "a CSM operation switched to the CSM stack twice"
            ));
        }
        core::hint::spin_loop();
    }
    extern "C" fn trampoline(f: *mut &mut dyn FnMut()) {
        // SAFETY: `f` points at the `&mut dyn FnMut()` in `run`'s frame on the caller's
        // stack, which stays live (and untouched by anyone else) until the switch back.
        unsafe { (*f)() }
    }
    let mut f = f;
    // SAFETY: the stack window maps the CSM stack below `stack_va_top(SLOT)` (16-byte
    // aligned) as Normal write-back memory whenever the MMU is on with the RMM's tables, and
    // `OWNER` makes this CPU its only user until the release below. SP moves there for the
    // call and back after it: x20 (callee-saved, so the trampoline keeps it) holds the
    // caller's SP, and the clobber_abi covers every register the call may change. Everything
    // the closure refers to stays where it is (on the caller's stack or in statics),
    // addressed by pointers.
    unsafe {
        core::arch::asm!(
            "mov x20, sp",
            "mov sp, {top}",
            "blr {trampoline}",
            "mov sp, x20",
            top = in(reg) stack_va_top(SLOT),
            trampoline = in(reg) trampoline as *const () as u64,
            in("x0") &mut f as *mut &mut dyn FnMut(),
            out("x20") _,
            clobber_abi("C"),
        )
    }
    OWNER.store(0, Ordering::Release);
}

/// `[bottom, top)` of the CSM stack in the stack window and the guard hole below it.
pub fn ranges() -> ((u64, u64), (u64, u64)) {
    let area = area();
    (area.va_range(0), area.guard_range(0))
}
