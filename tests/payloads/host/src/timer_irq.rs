// SPDX-License-Identifier: MIT OR Apache-2.0
//! A host interrupt on demand, for measuring how long the RMM keeps one pending: the EL2
//! physical timer (CNTHP, PPI 26 on QEMU `virt` and the FVP) as a Non-secure Group 1
//! interrupt. This hypervisor runs with IRQs masked, so it never takes the interrupt; what
//! matters is that the line is asserted while the RMM runs, which the RMM sees in ISR_EL1
//! (and which makes a running realm exit with `RMI_EXIT_IRQ`). TF-A switches neither CNTHP
//! nor the GIC's Group 1 enables between the NS and Realm worlds, so the timer keeps counting
//! while the RMM runs.
//!
//! [`HostTimerIrq::enable`] sets the GIC up through [`crate::gic::HostGic`] (Group 1 NS on,
//! the PPI enabled in this CPU's redistributor) and checks the interrupt really shows as
//! pending; dropping it stops the timer and disables the PPI again.

use crate::gic::{self, HostGic};
use crate::regs;
use realm_protocol::irq::HOST_TIMER_INTID;

/// The timer's priority (any unmasked one: the hypervisor never takes the interrupt).
const PRIORITY: u8 = 0x80;
/// ISR_EL1.I: a physical IRQ is pending at this CPU.
const ISR_I: u64 = 1 << 7;

/// Whether the physical IRQ line is up.
fn irq_line() -> bool {
    gic::isr_el1() & ISR_I != 0
}

/// Polls for the IRQ line to reach `up` (boundedly); true if it did.
fn line_becomes(up: bool) -> bool {
    (0..10_000).any(|_| irq_line() == up)
}

/// The EL2 physical timer wired up as a host interrupt; dropping it undoes the set-up.
pub struct HostTimerIrq {
    gic: HostGic,
}

impl HostTimerIrq {
    /// Enables the timer's interrupt up to the CPU interface and checks that a fired timer
    /// shows as a pending physical IRQ and a cancelled one does not; `None` otherwise (then
    /// the timer is stopped and the PPI disabled again).
    pub fn enable() -> Option<Self> {
        gic::set_cnthp_ctl(0);
        let gic = HostGic::init().ok()?;
        let this = Self { gic };
        this.gic
            .enable_ppi(HOST_TIMER_INTID as u32, PRIORITY)
            .ok()?;
        // Fire at once: the line must come up, and go down again when cancelled.
        this.fire_after(0);
        let seen = line_becomes(true);
        this.cancel();
        let cleared = line_becomes(false);
        (seen && cleared).then_some(this)
    }

    /// Makes the interrupt pending `ticks` counter ticks from now (instructions, under
    /// QEMU's `-icount shift=0`).
    pub fn fire_after(&self, ticks: u64) {
        gic::set_cnthp_cval(regs::counter() + ticks);
        gic::set_cnthp_ctl(1);
    }

    /// Stops the timer, which takes the interrupt down.
    pub fn cancel(&self) {
        gic::set_cnthp_ctl(0);
    }
}

impl Drop for HostTimerIrq {
    fn drop(&mut self) {
        gic::set_cnthp_ctl(0);
        self.gic.disable_ppi(HOST_TIMER_INTID as u32);
    }
}
