// SPDX-License-Identifier: MIT OR Apache-2.0
//! Stage-2 TLB maintenance for realms, broadcast to every CPU in the Inner Shareable domain,
//! and the resting VTCR_EL2 it depends on.
//!
//! With VTCR_EL2.VS = 0 a CPU ignores VMID\[15:8\] when it matches TLB entries, so an
//! invalidation for VMID 0x100 issued under VS = 0 would hit VMID 0x00 and leave 0x100's
//! entries alive. Realms run with VS = 1 where the CPU has 16-bit VMIDs; the RMM therefore
//! writes the same VS into its own resting VTCR_EL2 on every CPU at boot
//! ([`install_resting_vtcr`]) instead of trusting EL3's value (TF-A leaves 0), and every
//! invalidation checks that regime is still in force before it runs.

use super::fatal;
use crate::arch::VmidWidth;
use crate::log_line::{dec, hex};
use core::sync::atomic::{AtomicU8, Ordering};

/// VTCR_EL2.VS: 16-bit VMIDs.
const VTCR_VS: u64 = 1 << 19;
/// VTCR_EL2 bit 31 is RES1.
const VTCR_RES1: u64 = 1 << 31;

/// The VMID width realms use, in bits (0 until the boot CPU set it).
static REALM_VMID_BITS: AtomicU8 = AtomicU8::new(0);

/// The resting VTCR_EL2 for realms with `width`-bit VMIDs. The RMM's own code runs with
/// stage 2 off (HCR_EL2.VM = 0), so only VS matters at rest.
const fn resting_vtcr(width: VmidWidth) -> u64 {
    match width {
        VmidWidth::Bits8 => VTCR_RES1,
        VmidWidth::Bits16 => VTCR_RES1 | VTCR_VS,
    }
}

/// Writes this CPU's resting VTCR_EL2 for realms with `width`-bit VMIDs and records the width
/// the invalidations check against. The world switch saves this value at every realm entry
/// and puts it back at every exit.
pub fn install_resting_vtcr(width: VmidWidth) {
    REALM_VMID_BITS.store(width.bits(), Ordering::Relaxed);
    let value = resting_vtcr(width);
    // SAFETY: no realm runs on this CPU and the RMM's own translation regime (EL2) does not
    // use VTCR_EL2; the write only decides how later EL1&0 TLB maintenance matches VMIDs.
    unsafe { core::arch::asm!("msr vtcr_el2, {}", "isb", in(reg) value, options(nostack)) };
}

/// Stops the monitor unless this CPU's VTCR_EL2.VS is the one realms run with and `vmid`
/// fits that width: otherwise an invalidation would miss the realm's entries. The checks are
/// inlined into each invalidation; the stops, with their log lines, are not.
#[inline(always)]
fn check_regime(vmid: u16) {
    let vtcr: u64;
    // SAFETY: reading VTCR_EL2 has no side effects.
    unsafe { core::arch::asm!("mrs {}, vtcr_el2", out(reg) vtcr, options(nomem, nostack)) };
    let width = match REALM_VMID_BITS.load(Ordering::Relaxed) {
        16 => VmidWidth::Bits16,
        8 => VmidWidth::Bits8,
        _ => width_unset(vmid),
    };
    if vtcr & VTCR_VS != resting_vtcr(width) & VTCR_VS || !width.holds(vmid) {
        wrong_regime(vmid, vtcr, width);
    }
}

/// [`check_regime`]'s stop when no VMID width was installed.
#[cold]
#[inline(never)]
fn width_unset(vmid: u16) -> ! {
    fatal::stop(&crate::line_of!(
        "TLB invalidation for VMID {} before the VMID width was set",
        hex(u64::from(vmid)),
    ))
}

/// [`check_regime`]'s stop when VTCR_EL2.VS or `vmid` does not match the realms' width.
#[cold]
#[inline(never)]
fn wrong_regime(vmid: u16, vtcr: u64, width: VmidWidth) -> ! {
    fatal::stop(&crate::line_of!(
        "TLB invalidation for VMID {} under VTCR_EL2 {}, but realms use {}-bit VMIDs: it \
         would miss the realm's entries",
        hex(u64::from(vmid)),
        hex(vtcr),
        dec(u64::from(width.bits())),
    ))
}

/// Invalidates the TLB entries of the realm with `vmid` for `ipa` on every CPU: the stage-2
/// entries for that IPA at every level (`TLBI IPAS2E1IS`, which takes IPA\[51:12\] in bits
/// \[39:0\]), then, once those are complete, every stage-1 entry of the VMID
/// (`TLBI VMALLE1IS`), since a combined stage-1/2 entry cannot be found by IPA. VTTBR_EL2 is
/// borrowed for the VMID as in [`invalidate_vmid`].
pub fn invalidate_ipa(vmid: u16, ipa: u64) {
    check_regime(vmid);
    let tagged = u64::from(vmid) << 48;
    let operand = (ipa >> 12) & ((1 << 40) - 1);
    // SAFETY: as in `invalidate_vmid`: only VTTBR_EL2 (restored) and TLB contents change; the
    // DSB between the two TLBIs orders the stage-2 invalidation before the stage-1 one, and
    // the last DSB completes both on every CPU before the command goes on.
    unsafe {
        core::arch::asm!(
            "mrs {saved}, vttbr_el2",
            "msr vttbr_el2, {tagged}",
            "isb",
            "dsb ishst",
            "tlbi ipas2e1is, {operand}",
            "dsb ish",
            "tlbi vmalle1is",
            "dsb ish",
            "msr vttbr_el2, {saved}",
            "isb",
            saved = out(reg) _,
            tagged = in(reg) tagged,
            operand = in(reg) operand,
            options(nostack),
        )
    };
}

/// Invalidates all stage-1 and stage-2 TLB entries tagged with `vmid` on every CPU.
///
/// TLBI VMALLS12E1IS acts on the VMID in this CPU's VTTBR_EL2, so the VMID is loaded there
/// for the duration. No realm runs on this CPU while the RMM handles an RMI command, so
/// VTTBR_EL2 is free to borrow; its old value is restored before returning.
pub fn invalidate_vmid(vmid: u16) {
    check_regime(vmid);
    let tagged = u64::from(vmid) << 48;
    // SAFETY: only VTTBR_EL2 (restored before the block ends) and TLB contents change. TLB
    // invalidation never removes a translation the RMM itself depends on (its own stage-1
    // regime is EL2, untouched by an EL1&0 operation), and the DSBs make it complete on
    // every CPU before the command reports success.
    unsafe {
        core::arch::asm!(
            "mrs {saved}, vttbr_el2",
            "msr vttbr_el2, {tagged}",
            "isb",
            "dsb ishst",
            "tlbi vmalls12e1is",
            "dsb ish",
            "msr vttbr_el2, {saved}",
            "isb",
            saved = out(reg) _,
            tagged = in(reg) tagged,
            options(nostack),
        )
    };
}
