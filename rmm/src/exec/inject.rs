// SPDX-License-Identifier: MIT OR Apache-2.0
//! Injecting exceptions into a realm: the realm's EL1 takes them as if the hardware had
//! raised them (ESR/ELR/SPSR/FAR_EL1 set, PC at its vector, PSTATE EL1h with DAIF masked).

use crate::arch::world::RealmContext;
use crate::realm::rec::INITIAL_PSTATE;
use crate::vcpu::esr::{EA, EC_MASK, Esr, FNV, FSC_MASK, IL, S1PTW};

/// `SPSR.M[3:0]` values.
const MODE_MASK: u64 = 0b1111;
const EL1T: u64 = 0b0100;
const EL1H: u64 = 0b0101;
/// `SPSR.M[4]`: AArch32.
const NRW: u64 = 1 << 4;

/// ESR_EL1 of an UNDEFINED exception (EC 0, IL).
pub const UNDEF_ESR: u64 = IL;

/// Fault status code of a synchronous external abort.
const FSC_SEA: u64 = 0x10;

/// The vector offset for an exception taken from `pstate` to EL1.
fn vector_offset(pstate: u64) -> u64 {
    if pstate & NRW != 0 {
        0x600
    } else {
        match pstate & MODE_MASK {
            EL1H => 0x200,
            EL1T => 0x000,
            _ => 0x400,
        }
    }
}

/// Takes a synchronous exception with syndrome `esr` to the realm's EL1, returning to
/// `return_pc`.
fn take(ctx: &mut RealmContext, esr: u64, return_pc: u64) {
    ctx.el1.esr = esr;
    ctx.el1.elr = return_pc;
    ctx.el1.spsr = ctx.gprs.pstate;
    ctx.gprs.pc = ctx.el1.vbar.wrapping_add(vector_offset(ctx.gprs.pstate));
    ctx.gprs.pstate = INITIAL_PSTATE;
}

/// Makes the realm take an UNDEFINED exception that returns to `return_pc`.
pub fn undefined(ctx: &mut RealmContext, return_pc: u64) {
    take(ctx, UNDEF_ESR, return_pc);
}

/// Makes the realm take a synchronous external abort for the abort `esr` at `far` that
/// stopped it at `ctx.gprs.pc` (not advanced). The class becomes "from the current EL" if it
/// came from EL1.
pub fn external_abort(ctx: &mut RealmContext, esr: Esr, far: u64) {
    let from_el1 = ctx.gprs.pstate & NRW == 0 && ctx.gprs.pstate & MODE_MASK != 0;
    let mut value = esr.raw() & !(EC_MASK | FSC_MASK | FNV | S1PTW);
    let mut class = (esr.raw() & EC_MASK) >> 26;
    if from_el1 {
        class += 1;
    }
    value |= class << 26 | FSC_SEA | EA;
    ctx.el1.far = far;
    let pc = ctx.gprs.pc;
    take(ctx, value, pc);
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::FromZeros;

    fn realm_at_el1h() -> RealmContext {
        let mut ctx = RealmContext::new_zeroed();
        ctx.gprs.pc = 0x8_1234;
        ctx.gprs.pstate = 0x3C5;
        ctx.el1.vbar = 0x8_0800;
        ctx
    }

    #[test]
    fn undefined_goes_to_the_current_el_vector() {
        let mut ctx = realm_at_el1h();
        undefined(&mut ctx, 0x8_1238);
        assert_eq!(ctx.el1.esr, 0x0200_0000);
        assert_eq!(ctx.el1.elr, 0x8_1238);
        assert_eq!(ctx.el1.spsr, 0x3C5);
        assert_eq!(ctx.gprs.pc, 0x8_0A00);
        assert_eq!(ctx.gprs.pstate, 0x3C5);
    }

    #[test]
    fn undefined_from_el0_uses_the_lower_el_vector() {
        let mut ctx = realm_at_el1h();
        ctx.gprs.pstate = 0; // EL0t
        undefined(&mut ctx, 0x4000);
        assert_eq!(ctx.gprs.pc, 0x8_0C00);
        assert_eq!(ctx.el1.spsr, 0);
    }

    #[test]
    fn external_abort_from_el1() {
        let mut ctx = realm_at_el1h();
        // Data abort from a lower EL, ISV, translation fault level 3.
        let esr = Esr::new(0x24 << 26 | IL | 1 << 24 | 0x07);
        external_abort(&mut ctx, esr, 0x8000_1010);
        assert_eq!(ctx.el1.esr >> 26, 0x25, "class adjusted to current EL");
        assert_eq!(ctx.el1.esr & FSC_MASK, FSC_SEA);
        assert_ne!(ctx.el1.esr & EA, 0);
        assert_eq!(ctx.el1.far, 0x8000_1010);
        assert_eq!(ctx.el1.elr, 0x8_1234, "returns to the faulting instruction");
        assert_eq!(ctx.gprs.pc, 0x8_0A00);
    }

    #[test]
    fn external_abort_from_el0_or_aarch32_stays_a_lower_el_abort() {
        // (PSTATE, vector offset): EL0t; AArch32 User (M[4] set, M[3:0] = 0); AArch32 SVC
        // (M[3:0] = 3, which alone would read as EL0h-like: M[4] decides).
        for (pstate, vector) in [(0x3C0, 0x400), (0x10, 0x600), (0x13, 0x600)] {
            let mut ctx = realm_at_el1h();
            ctx.gprs.pstate = pstate;
            let esr = Esr::new(0x24 << 26 | IL | 1 << 24 | 0x07);
            external_abort(&mut ctx, esr, 0x8000_1010);
            assert_eq!(
                ctx.el1.esr >> 26,
                0x24,
                "{pstate:#x}: still from a lower EL"
            );
            assert_eq!(ctx.el1.esr & FSC_MASK, FSC_SEA, "{pstate:#x}");
            assert_eq!(ctx.el1.spsr, pstate);
            assert_eq!(ctx.gprs.pc, 0x8_0800 + vector, "{pstate:#x}");
        }
    }
}
