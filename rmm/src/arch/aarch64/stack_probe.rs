// SPDX-License-Identifier: MIT OR Apache-2.0
//! How much of each CPU's stack has ever been used: the cold boot paints every stack (its
//! own below the current stack pointer) with a pattern, and [`high_water`] finds the lowest
//! word that no longer holds it. Used to report the depth of the deepest paths (signing an
//! attestation token) against [`STACK_SIZE`].

use super::entry::{STACK_SIZE, STACKS};
use crate::MAX_CPUS;

const PAINT: u64 = 0x5AC3_5AC3_5AC3_5AC3;
/// Bytes left unpainted just below the painting function's own stack pointer.
const MARGIN: usize = 512;

fn stack_base(cpu: usize) -> usize {
    STACKS.0.get() as usize + (cpu % MAX_CPUS) * STACK_SIZE
}

/// Paints every CPU's stack; the calling (boot) CPU's only below its stack pointer. Called
/// once, on the cold boot CPU, before any other CPU has started.
#[inline(never)]
pub fn paint(boot_cpu: usize) {
    let sp: usize;
    // SAFETY: reading the stack pointer has no side effects.
    unsafe { core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack)) };
    for cpu in 0..MAX_CPUS {
        let base = stack_base(cpu);
        let end = if cpu == boot_cpu {
            sp.saturating_sub(MARGIN).max(base)
        } else {
            base + STACK_SIZE
        };
        let mut at = base;
        while at + 8 <= end {
            // SAFETY: `[base, end)` lies inside STACKS (the section the entry code carves
            // the per-CPU stacks from). No other CPU runs yet, so the other stacks are
            // unused; on this CPU the range ends MARGIN bytes below the live stack pointer
            // and the stack grows down from above it, so nothing live is overwritten.
            unsafe { (at as *mut u64).write_volatile(PAINT) };
            at += 8;
        }
    }
}

/// Bytes of `cpu`'s stack used at its deepest since [`paint`].
pub fn high_water(cpu: usize) -> usize {
    used(stack_base(cpu), STACK_SIZE)
}

/// Bytes used at the deepest of the painted stack `[base, base + size)`.
fn used(base: usize, size: usize) -> usize {
    let mut at = base;
    while at < base + size {
        // SAFETY: inside a painted stack (a CPU's in STACKS); an aligned read of memory that is either
        // still paint (never used) or was used below the current frames, which no one
        // writes concurrently except the CPU using it (a racy read only makes the result stale).
        if unsafe { (at as *const u64).read_volatile() } != PAINT {
            break;
        }
        at += 8;
    }
    base + size - at
}
