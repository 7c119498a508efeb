//! Stage-2 TLB maintenance for realms, broadcast to every CPU in the Inner Shareable domain.

/// Invalidates all stage-1 and stage-2 TLB entries tagged with `vmid` on every CPU.
///
/// TLBI VMALLS12E1IS acts on the VMID in this CPU's VTTBR_EL2, so the VMID is loaded there
/// for the duration. No realm runs on this CPU while the RMM handles an RMI command, so
/// VTTBR_EL2 is free to borrow; its old value is restored before returning.
pub fn invalidate_vmid(vmid: u16) {
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
