// SPDX-License-Identifier: MIT OR Apache-2.0
//! The few system registers the test hypervisor reads.

macro_rules! read_sysreg {
    ($name:ident, $reg:literal) => {
        #[doc = concat!("Reads ", $reg, ".")]
        pub fn $name() -> u64 {
            let value: u64;
            // SAFETY: reading this register at NS-EL2 has no side effects.
            unsafe {
                core::arch::asm!(concat!("mrs {}, ", $reg), out(reg) value, options(nomem, nostack));
            }
            value
        }
    };
}

read_sysreg!(esr_el2, "esr_el2");
read_sysreg!(far_el2, "far_el2");
read_sysreg!(mpidr_el1, "mpidr_el1");
read_sysreg!(tpidr_el2, "tpidr_el2");
read_sysreg!(cntfrq_el0, "cntfrq_el0");
read_sysreg!(id_aa64mmfr0_el1, "id_aa64mmfr0_el1");
read_sysreg!(id_aa64dfr0_el1, "id_aa64dfr0_el1");
read_sysreg!(ich_vtr_el2, "S3_4_C12_C11_1");

/// CNTPCT_EL0 after an ISB, so earlier instructions have retired.
pub fn counter() -> u64 {
    let value: u64;
    // SAFETY: ISB and a counter read have no side effects.
    unsafe {
        core::arch::asm!("isb", "mrs {}, cntpct_el0", out(reg) value, options(nomem, nostack));
    }
    value
}

/// The counter value `seconds` from now.
pub fn deadline_after(seconds: u64) -> u64 {
    counter() + seconds * cntfrq_el0()
}

/// This CPU's slot (set by the entry code).
pub fn cpu_slot() -> usize {
    tpidr_el2() as usize
}

/// Waits for an event (or an interrupt) without burning the CPU.
pub fn wfe() {
    // SAFETY: WFE only pauses this CPU until an event.
    unsafe { core::arch::asm!("wfe", options(nomem, nostack)) }
}

/// Wakes CPUs waiting in `wfe`.
pub fn sev() {
    // SAFETY: SEV only signals an event.
    unsafe { core::arch::asm!("dsb sy", "sev", options(nostack)) }
}
