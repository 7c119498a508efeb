//! A host interrupt on demand, for measuring how long the RMM keeps one pending: the EL2
//! physical timer (CNTHP, PPI 26 on QEMU `virt` and the FVP) as a Non-secure Group 1
//! interrupt. This hypervisor runs with IRQs masked, so it never takes the interrupt; what
//! matters is that the line is asserted while the RMM runs, which the RMM sees in ISR_EL1
//! (and which makes a running realm exit with `RMI_EXIT_IRQ`). TF-A switches neither CNTHP
//! nor the GIC's Group 1 enables between the NS and Realm worlds, so the timer keeps counting
//! while the RMM runs.
//!
//! [`HostTimerIrq::enable`] turns on what TF-A leaves off (the distributor's Group 1
//! enable, the PPI in this CPU's redistributor, the CPU interface's Group 1 enable and
//! priority mask) and checks the interrupt really shows as pending; dropping it puts those
//! back.

use crate::platform::{GICD_BASE, GICR_BASE, GICR_STRIDE};
use crate::regs;

/// INTID of the Non-secure EL2 physical timer.
const CNTHP_INTID: u32 = 26;
/// Redistributor frames scanned for this CPU's.
const MAX_FRAMES: u64 = 256;

const GICD_CTLR: u64 = 0x0;
/// Non-secure view of GICD_CTLR: EnableGrp1 (bit 0) and EnableGrp1A (bit 1), as Linux writes
/// them, and the register-write-pending bit.
const CTLR_ENABLE_G1: u32 = 0b11;
const CTLR_RWP: u32 = 1 << 31;
const GICR_TYPER: u64 = 0x08;
const TYPER_LAST: u64 = 1 << 4;
/// SGI_base frame of a redistributor, and its set-/clear-enable registers.
const SGI_FRAME: u64 = 0x1_0000;
const GICR_ISENABLER0: u64 = SGI_FRAME + 0x100;
const GICR_ICENABLER0: u64 = SGI_FRAME + 0x180;

fn read32(pa: u64) -> u32 {
    // SAFETY: a GICv3 distributor or redistributor register, NS-accessible; aligned MMIO.
    unsafe { core::ptr::read_volatile(pa as *const u32) }
}

fn write32(pa: u64, value: u32) {
    // SAFETY: as in `read32`; these writes change only interrupt enables this module owns.
    unsafe { core::ptr::write_volatile(pa as *mut u32, value) }
}

fn read64(pa: u64) -> u64 {
    // SAFETY: GICR_TYPER, a read-only 64-bit redistributor register; aligned MMIO.
    unsafe { core::ptr::read_volatile(pa as *const u64) }
}

macro_rules! sysreg {
    ($read:ident, $write:ident, $reg:literal) => {
        fn $read() -> u64 {
            let value: u64;
            // SAFETY: reading this register at NS-EL2 has no side effects.
            unsafe {
                core::arch::asm!(concat!("mrs {}, ", $reg), out(reg) value, options(nomem, nostack));
            }
            value
        }

        fn $write(value: u64) {
            // SAFETY: this register only controls the host's own timer or GIC CPU interface;
            // the ISB makes the change take effect before the next instruction.
            unsafe {
                core::arch::asm!(concat!("msr ", $reg, ", {}"), "isb", in(reg) value, options(nostack));
            }
        }
    };
}

sysreg!(cnthp_ctl, set_cnthp_ctl, "cnthp_ctl_el2");
sysreg!(cnthp_cval, set_cnthp_cval, "cnthp_cval_el2");
sysreg!(icc_pmr, set_icc_pmr, "S3_0_C4_C6_0");
sysreg!(icc_igrpen1, set_icc_igrpen1, "S3_0_C12_C12_7");

/// `ISR_EL1` at EL2: the physical interrupt lines (I = bit 7).
fn irq_line() -> bool {
    let isr: u64;
    // SAFETY: reading ISR_EL1 has no side effects.
    unsafe { core::arch::asm!("mrs {}, isr_el1", out(reg) isr, options(nomem, nostack)) };
    isr & (1 << 7) != 0
}

/// This CPU's redistributor frame, found by its affinity in GICR_TYPER.
fn own_redistributor() -> Option<u64> {
    let mpidr = regs::mpidr_el1();
    let want = (mpidr & 0xFF_FFFF) | ((mpidr >> 32 & 0xFF) << 24);
    for frame in 0..MAX_FRAMES {
        let base = GICR_BASE + frame * GICR_STRIDE;
        let typer = read64(base + GICR_TYPER);
        if typer >> 32 == want {
            return Some(base);
        }
        if typer & TYPER_LAST != 0 {
            break;
        }
    }
    None
}

fn wait_rwp() {
    for _ in 0..1_000_000 {
        if read32(GICD_BASE + GICD_CTLR) & CTLR_RWP == 0 {
            return;
        }
    }
}

/// The EL2 physical timer wired up as a host interrupt; dropping it undoes the set-up.
pub struct HostTimerIrq {
    redistributor: u64,
    saved_ctlr: u32,
    saved_pmr: u64,
    saved_igrpen1: u64,
    saved_cnthp_ctl: u64,
    saved_cnthp_cval: u64,
}

impl HostTimerIrq {
    /// Enables the timer's interrupt up to the CPU interface and checks that a fired timer
    /// shows as a pending physical IRQ; `None` if it does not (then nothing is left changed).
    pub fn enable() -> Option<Self> {
        let redistributor = own_redistributor()?;
        let this = Self {
            redistributor,
            saved_ctlr: read32(GICD_BASE + GICD_CTLR),
            saved_pmr: icc_pmr(),
            saved_igrpen1: icc_igrpen1(),
            saved_cnthp_ctl: cnthp_ctl(),
            saved_cnthp_cval: cnthp_cval(),
        };
        set_cnthp_ctl(0);
        write32(GICD_BASE + GICD_CTLR, this.saved_ctlr | CTLR_ENABLE_G1);
        wait_rwp();
        write32(redistributor + GICR_ISENABLER0, 1 << CNTHP_INTID);
        set_icc_pmr(0xFF);
        set_icc_igrpen1(1);
        // Fire at once: the line must come up, and go down again when cancelled.
        this.fire_after(0);
        let mut seen = false;
        for _ in 0..10_000 {
            if irq_line() {
                seen = true;
                break;
            }
        }
        this.cancel();
        let mut cleared = false;
        for _ in 0..10_000 {
            if !irq_line() {
                cleared = true;
                break;
            }
        }
        (seen && cleared).then_some(this)
    }

    /// Makes the interrupt pending `ticks` counter ticks from now (instructions, under
    /// QEMU's `-icount shift=0`).
    pub fn fire_after(&self, ticks: u64) {
        set_cnthp_cval(regs::counter() + ticks);
        set_cnthp_ctl(1);
    }

    /// Stops the timer, which takes the interrupt down.
    pub fn cancel(&self) {
        set_cnthp_ctl(0);
    }
}

impl Drop for HostTimerIrq {
    fn drop(&mut self) {
        set_cnthp_ctl(0);
        write32(self.redistributor + GICR_ICENABLER0, 1 << CNTHP_INTID);
        set_icc_igrpen1(self.saved_igrpen1);
        set_icc_pmr(self.saved_pmr);
        write32(GICD_BASE + GICD_CTLR, self.saved_ctlr);
        wait_rwp();
        set_cnthp_cval(self.saved_cnthp_cval);
        set_cnthp_ctl(self.saved_cnthp_ctl);
    }
}
