// SPDX-License-Identifier: MIT OR Apache-2.0
//! `mrs!` / `msr!` for the system registers a realm's run switches: the EL1/EL0 registers,
//! the EL2 controls of the run, and the GIC virtual CPU interface (ICH_*) with ICC_SRE_EL2.
//! Used only by [`super::world_switch`] and [`super::vgic_regs`]; the RMM's own
//! configuration registers are written elsewhere.

/// Reads system register `$reg` (a name or an `S<op0>_<op1>_C<n>_C<m>_<op2>` encoding).
macro_rules! mrs {
    ($reg:literal) => {{
        let value: u64;
        // SAFETY: reading a system register has no side effect on memory.
        unsafe {
            core::arch::asm!(concat!("mrs {}, ", $reg), out(reg) value,
                options(nomem, nostack, preserves_flags))
        };
        value
    }};
}

/// Writes `$value` to system register `$reg`.
macro_rules! msr {
    ($reg:literal, $value:expr) => {{
        let value: u64 = $value;
        // SAFETY: the registers written through this macro configure EL1/EL0 (which only
        // the realm or the host's guests use, never the RMM), the EL2 controls of a realm's
        // run (whose RMM values `run_realm` restores before it returns), or the GIC virtual
        // CPU interface and ICC_SRE_EL2 (which only decide what lower ELs see of interrupts);
        // none changes the RMM's own translation or memory.
        unsafe {
            core::arch::asm!(concat!("msr ", $reg, ", {}"), in(reg) value,
                options(nomem, nostack, preserves_flags))
        };
    }};
}

pub(super) use {mrs, msr};
