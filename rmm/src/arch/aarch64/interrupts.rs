// SPDX-License-Identifier: MIT OR Apache-2.0
//! Pending physical interrupts, for long RSI work that must not delay the host's.

/// Whether a physical IRQ, FIQ or SError is pending at this CPU: `ISR_EL1` read at EL2
/// shows the physical lines (what TF-RMM's `check_pending_irq` reads).
pub fn interrupt_pending() -> bool {
    let isr: u64;
    // SAFETY: reading ISR_EL1 has no side effects and touches no memory.
    unsafe { core::arch::asm!("mrs {}, isr_el1", out(reg) isr, options(nomem, nostack)) };
    isr != 0
}
