// SPDX-License-Identifier: MIT OR Apache-2.0
//! The GICv3 as the test hypervisor uses it.
//!
//! CPU discovery from the redistributors: one frame per CPU, each with that CPU's affinity
//! in GICR_TYPER and a Last bit on the final one. This finds exactly the CPUs the machine
//! has (`-smp N` on QEMU), with their MPIDRs, without parsing a device tree.
//!
//! This CPU's own interrupts ([`HostGic`], [`acknowledge`], [`end_of_interrupt`]): enough
//! of a driver for the interrupt scenarios, which enable a timer PPI and poll for it.

use crate::platform::{GICD_BASE, GICR_BASE, GICR_STRIDE, MAX_CPUS};
use crate::runner::{Failure, Outcome};
use crate::{ensure, fail};

const GICR_TYPER: u64 = 0x08;
const TYPER_LAST: u64 = 1 << 4;
/// Frames scanned at most before giving up on finding the Last bit.
const MAX_FRAMES: usize = 256;

/// MPIDRs of the CPUs found (only the first `count` entries are valid).
pub struct Cpus {
    /// Affinity (MPIDR format: Aff0 [7:0], Aff1 [15:8], Aff2 [23:16], Aff3 [39:32]).
    pub mpidr: [u64; MAX_CPUS],
    /// Number of CPUs found, capped at `MAX_CPUS`.
    pub count: usize,
    /// True if the machine has more CPUs than we can drive.
    pub truncated: bool,
}

/// Reads every redistributor's GICR_TYPER.
pub fn discover_cpus() -> Cpus {
    let mut cpus = Cpus {
        mpidr: [0; MAX_CPUS],
        count: 0,
        truncated: false,
    };
    for frame in 0..MAX_FRAMES {
        let addr = GICR_BASE + frame as u64 * GICR_STRIDE + GICR_TYPER;
        // SAFETY: GICR_TYPER of a redistributor frame of the board's GICv3: a read-only,
        // side-effect-free 64-bit register, NS-accessible.
        let typer = unsafe { core::ptr::read_volatile(addr as *const u64) };
        let aff = typer >> 32;
        let mpidr = (aff & 0xFF_FFFF) | ((aff >> 24) << 32);
        if cpus.count < MAX_CPUS {
            cpus.mpidr[cpus.count] = mpidr;
            cpus.count += 1;
        } else {
            cpus.truncated = true;
        }
        if typer & TYPER_LAST != 0 {
            break;
        }
    }
    cpus
}

// ---------------------------------------------------------------------------------------
// This CPU's interrupts: the pieces of a GICv3 driver the interrupt scenarios need.
//
// TF-A (2.12, QEMU and FVP) turns affinity routing on, wakes the redistributors and puts
// SGIs and PPIs in Group 1 Non-secure, but enables only the Secure groups (GICD_CTLR G0 and
// G1S, ICC_IGRPEN1_EL3 G1S): Group 1 NS is the Non-secure software's to enable, in the
// distributor (GICD_CTLR.EnableGrp1A, NS view) and at the CPU interface (ICC_IGRPEN1_EL1).
// [`HostGic::init`] checks what it can see from NS-EL2, enables what is off, and opens the
// priority mask. The hypervisor never unmasks PSTATE.I: it polls ICC_IAR1_EL1 after an IRQ
// exit.

const GICD_CTLR: u64 = 0x0;
/// GICD_CTLR, Non-secure view: EnableGrp1A (Group 1 NS) and ARE_NS.
const GICD_CTLR_NS_GRP1: u32 = 1 << 1;
const GICD_CTLR_NS_ARE: u32 = 1 << 4;
/// GICD_CTLR.RWP: a write is still taking effect.
const GICD_CTLR_RWP: u32 = 1 << 31;
const GICR_WAKER: u64 = 0x14;
const WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;
/// The SGI/PPI page follows the RD_base page of each redistributor frame.
const SGI_BASE: u64 = 0x1_0000;
const GICR_ISENABLER0: u64 = 0x100;
const GICR_ICENABLER0: u64 = 0x180;
const GICR_ICPENDR0: u64 = 0x280;
const GICR_IPRIORITYR: u64 = 0x400;

/// INTID an acknowledge returns when nothing is pending.
pub const SPURIOUS: u32 = 1023;

macro_rules! read_reg {
    ($name:ident, $reg:literal) => {
        #[doc = concat!("Reads ", $reg, ".")]
        pub fn $name() -> u64 {
            let value: u64;
            // SAFETY: reading a GIC CPU-interface or timer register at NS-EL2 changes
            // nothing, except ICC_IAR1_EL1, which acknowledges (only `acknowledge` reads it).
            unsafe {
                core::arch::asm!(concat!("mrs {}, ", $reg), out(reg) value, options(nostack));
            }
            value
        }
    };
}

macro_rules! write_reg {
    ($name:ident, $reg:literal) => {
        #[doc = concat!("Writes ", $reg, ", then ISB.")]
        pub fn $name(value: u64) {
            // SAFETY: a GIC CPU-interface or EL2 timer register of this CPU, which the
            // hypervisor owns; no memory is touched.
            unsafe {
                core::arch::asm!(concat!("msr ", $reg, ", {}"), "isb", in(reg) value,
                    options(nostack));
            }
        }
    };
}

read_reg!(icc_iar1, "S3_0_C12_C12_0");
write_reg!(set_icc_eoir1, "S3_0_C12_C12_1");
read_reg!(icc_hppir1, "S3_0_C12_C12_2");
read_reg!(icc_ctlr, "S3_0_C12_C12_4");
read_reg!(icc_igrpen1, "S3_0_C12_C12_7");
write_reg!(set_icc_igrpen1, "S3_0_C12_C12_7");
read_reg!(icc_pmr, "S3_0_C4_C6_0");
write_reg!(set_icc_pmr, "S3_0_C4_C6_0");
write_reg!(set_icc_dir, "S3_0_C12_C11_1");
read_reg!(icc_sre_el2, "S3_4_C12_C9_5");
read_reg!(isr_el1, "isr_el1");
read_reg!(daif, "daif");
read_reg!(cnthp_ctl, "cnthp_ctl_el2");
write_reg!(set_cnthp_ctl, "cnthp_ctl_el2");
write_reg!(set_cnthp_cval, "cnthp_cval_el2");

fn read32(addr: u64) -> u32 {
    // SAFETY: a 32-bit register of the board's GICv3 distributor or of this CPU's
    // redistributor, NS-accessible, read with the MMU off (Device memory).
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

fn write32(addr: u64, value: u32) {
    // SAFETY: as in `read32`; the registers written (enable, pending, priority) change only
    // this CPU's SGIs and PPIs.
    unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
}

/// The RD_base of the redistributor whose GICR_TYPER affinity is this CPU's MPIDR.
pub fn this_redistributor() -> Option<u64> {
    let me = crate::regs::mpidr_el1() & 0xFF_00FF_FFFF;
    for frame in 0..MAX_FRAMES {
        let base = GICR_BASE + frame as u64 * GICR_STRIDE;
        // SAFETY: as in `discover_cpus`.
        let typer = unsafe { core::ptr::read_volatile((base + GICR_TYPER) as *const u64) };
        let aff = typer >> 32;
        if (aff & 0xFF_FFFF) | ((aff >> 24) << 32) == me {
            return Some(base);
        }
        if typer & TYPER_LAST != 0 {
            break;
        }
    }
    None
}

/// This CPU's interrupt controller, as the NS hypervisor drives it.
pub struct HostGic {
    /// RD_base of this CPU's redistributor.
    rd: u64,
}

impl HostGic {
    /// Finds this CPU's redistributor, checks what TF-A set up, enables Group 1 NS in the
    /// distributor and at this CPU interface if they are off, and opens the priority mask
    /// (ICC_PMR_EL1 = 0xFF).
    pub fn init() -> Result<Self, Failure> {
        let daif = daif();
        ensure!(
            daif & (1 << 7) != 0,
            "PSTATE.I is clear (DAIF {daif:#x}): the hypervisor must poll, not take IRQs"
        );
        let sre = icc_sre_el2();
        ensure!(
            sre & 1 == 1,
            "ICC_SRE_EL2 {sre:#x}: the system register interface is off"
        );
        let ctlr = read32(GICD_BASE + GICD_CTLR);
        ensure!(
            ctlr & GICD_CTLR_NS_ARE != 0,
            "GICD_CTLR (NS view) {ctlr:#x}: affinity routing is off for Non-secure"
        );
        if ctlr & GICD_CTLR_NS_GRP1 == 0 {
            write32(GICD_BASE + GICD_CTLR, ctlr | GICD_CTLR_NS_GRP1);
            let deadline = crate::regs::deadline_after(1);
            while read32(GICD_BASE + GICD_CTLR) & GICD_CTLR_RWP != 0 {
                ensure!(
                    crate::regs::counter() < deadline,
                    "GICD_CTLR.RWP stays set after enabling Group 1 NS"
                );
            }
            let ctlr = read32(GICD_BASE + GICD_CTLR);
            ensure!(
                ctlr & GICD_CTLR_NS_GRP1 != 0,
                "GICD_CTLR (NS view) {ctlr:#x}: Group 1 NS does not enable"
            );
        }
        let Some(rd) = this_redistributor() else {
            fail!("no redistributor has this CPU's affinity");
        };
        let waker = read32(rd + GICR_WAKER);
        ensure!(
            waker & WAKER_CHILDREN_ASLEEP == 0,
            "GICR_WAKER {waker:#x}: this CPU's redistributor is asleep"
        );
        if icc_igrpen1() & 1 == 0 {
            set_icc_igrpen1(1);
        }
        let igrpen1 = icc_igrpen1();
        ensure!(
            igrpen1 & 1 == 1,
            "ICC_IGRPEN1_EL1 reads {igrpen1:#x} after enabling Group 1"
        );
        set_icc_pmr(0xFF);
        let pmr = icc_pmr();
        ensure!(pmr != 0, "ICC_PMR_EL1 reads 0 after writing 0xFF");
        Ok(Self { rd })
    }

    /// Enables PPI `intid` (16..=31) with `priority` (the Non-secure view). The enable
    /// reads back only if the PPI is in Group 1 NS (Secure ones are RAZ/WI here), which
    /// checks TF-A's grouping.
    pub fn enable_ppi(&self, intid: u32, priority: u8) -> Outcome {
        ensure!((16..32).contains(&intid), "INTID {intid} is not a PPI");
        let sgi = self.rd + SGI_BASE;
        let word = sgi + GICR_IPRIORITYR + u64::from(intid / 4) * 4;
        let shift = (intid % 4) * 8;
        write32(
            word,
            (read32(word) & !(0xFF << shift)) | u32::from(priority) << shift,
        );
        write32(sgi + GICR_ICPENDR0, 1 << intid);
        write32(sgi + GICR_ISENABLER0, 1 << intid);
        let enabled = read32(sgi + GICR_ISENABLER0);
        ensure!(
            enabled & (1 << intid) != 0,
            "PPI {intid} does not enable (GICR_ISENABLER0 {enabled:#x}): not Group 1 NS?"
        );
        Ok(())
    }

    /// Disables PPI `intid` and clears its pending state.
    pub fn disable_ppi(&self, intid: u32) {
        let sgi = self.rd + SGI_BASE;
        write32(sgi + GICR_ICENABLER0, 1 << intid);
        write32(sgi + GICR_ICPENDR0, 1 << intid);
    }
}

/// Acknowledges the highest-priority pending Group 1 interrupt ([`SPURIOUS`] if none).
pub fn acknowledge() -> u32 {
    (icc_iar1() & 0xFF_FFFF) as u32
}

/// Ends interrupt `intid` (priority drop, and deactivation if EOImode splits them).
pub fn end_of_interrupt(intid: u32) {
    set_icc_eoir1(u64::from(intid));
    if icc_ctlr() & 2 != 0 {
        set_icc_dir(u64::from(intid));
    }
}

/// The highest-priority pending Group 1 interrupt ([`SPURIOUS`] if none), not acknowledged.
pub fn highest_pending() -> u32 {
    (icc_hppir1() & 0xFF_FFFF) as u32
}
