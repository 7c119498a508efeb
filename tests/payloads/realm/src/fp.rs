// SPDX-License-Identifier: MIT OR Apache-2.0
//! The realm's FP/SIMD registers: EL1 access is opened here, the registers are moved by
//! `realm_protocol::fp`.

pub use realm_protocol::fp::{FpState, load, save};

/// Lets EL1 use FP/SIMD (CPACR_EL1.FPEN = 0b11), so only the RMM could stop it.
pub fn enable() {
    // SAFETY: CPACR_EL1 is the realm's own; opening FP/SIMD access changes nothing else.
    unsafe {
        core::arch::asm!(
            "mrs {t}, cpacr_el1",
            "orr {t}, {t}, #(3 << 20)",
            "msr cpacr_el1, {t}",
            "isb",
            t = out(reg) _,
            options(nostack),
        )
    };
}
