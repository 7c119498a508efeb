// SPDX-License-Identifier: MIT OR Apache-2.0
//! Streaming SVE mode (FEAT_SME) left by the host.
//!
//! PSTATE.SM and PSTATE.ZA are not banked per world, and neither EL3 (TF-A 2.12 switches no
//! SME state between worlds; its RMM dispatcher leaves SME untrapped for the Realm world
//! whenever it is untrapped for the host) nor an exception changes them: a host that issues
//! its SMC in Streaming SVE mode enters the RMM with PSTATE.SM = 1. In that mode most
//! Advanced SIMD instructions are illegal (the RMM's SHA-2 routines would take an exception
//! at R-EL2) and a realm would run with the host's streaming mode in force. So before the
//! RMM's own SIMD use ([`super::sha2_hw`]) and before every realm entry
//! ([`super::world_switch::run_realm`]), [`leave_streaming_mode`] clears PSTATE.SM if it is
//! set, keeping the host's V0–V31, FPCR and FPSR (what SMCCC asks a callee to preserve).
//! PSTATE.ZA and the ZA/ZT0 storage are left alone: realms cannot reach them (CPTR_EL2.TSM
//! traps every SME instruction and SVCR access of a realm) and the RMM never uses them. As
//! TF-RMM, the RMM takes FEAT_SME in the ID registers to mean that EL3 lets R-EL2 access
//! SVCR (TF-A's RMM dispatcher sets CPTR_EL3.ESM for the Realm world whenever it does for
//! the host, and the host cannot enter Streaming SVE mode otherwise).

use core::sync::atomic::{AtomicBool, Ordering};

use super::fp_regs;
use crate::arch::world::FpRegs;

/// Whether the CPU implements FEAT_SME (set at boot; every CPU of a system has the same).
static SME: AtomicBool = AtomicBool::new(false);

/// `CPTR_EL2.TSM` (E2H = 0): SME instructions and SVCR accesses at EL2, EL1 and EL0 trap.
const CPTR_EL2_TSM: u64 = 1 << 12;

/// SVCR (`S3_3_C4_C2_2`) bit 0: PSTATE.SM.
const SVCR_SM: u64 = 1;

/// At cold and warm boot: records whether this CPU has FEAT_SME and, if so, stops trapping
/// SVCR accesses at R-EL2 (`CPTR_EL2.TSM` in the RMM's own CPTR_EL2, which is RES1 without
/// SME and stays set for realms: `world_switch`'s CPTR values) so [`leave_streaming_mode`]
/// can read it.
pub fn init_cpu(sme_present: bool) {
    if sme_present {
        SME.store(true, Ordering::Relaxed);
        // SAFETY: clears one trap bit of this CPU's CPTR_EL2 (SME at EL2 and below; realms
        // run with their own CPTR_EL2, which sets it) and synchronises; no memory effects.
        unsafe {
            core::arch::asm!(
                "mrs {v}, cptr_el2",
                "bic {v}, {v}, #{tsm}",
                "msr cptr_el2, {v}",
                "isb",
                v = out(reg) _,
                tsm = const CPTR_EL2_TSM,
                options(nomem, nostack, preserves_flags),
            )
        };
    }
}

/// Leaves Streaming SVE mode if the host left the CPU in it (see the module text). Costs a
/// load and a branch without FEAT_SME, and an SVCR read with it.
#[inline(always)]
pub fn leave_streaming_mode() {
    if SME.load(Ordering::Relaxed) && svcr() & SVCR_SM != 0 {
        stop_streaming();
    }
}

/// SVCR. Only with FEAT_SME, after [`init_cpu`] untrapped it at R-EL2.
#[inline(always)]
fn svcr() -> u64 {
    let value: u64;
    // SAFETY: reading SVCR has no side effects; callers check FEAT_SME first, and
    // `init_cpu` cleared CPTR_EL2.TSM on this CPU (EL3 leaves SME untrapped for the Realm
    // world whenever the CPU has it: module text).
    unsafe {
        core::arch::asm!("mrs {}, S3_3_C4_C2_2", out(reg) value,
            options(nomem, nostack, preserves_flags))
    };
    value
}

/// PSTATE.SM = 0, keeping V0–V31, FPCR and FPSR: the SIMD&FP register loads and stores and
/// the FPCR/FPSR accesses [`fp_regs`] uses are legal in Streaming SVE mode; leaving it sets
/// every Z, P and FFR register to zero (and FPSR to a fixed value), so the registers are put
/// back afterwards. The host loses the bits of its streaming Z registers above 128 and its
/// P registers and FFR, as with SVE state in general (`docs/architecture.md`).
#[cold]
#[inline(never)]
fn stop_streaming() {
    let mut regs = FpRegs::default();
    fp_regs::save(&mut regs);
    // SAFETY: writes SVCR with SM clear and ZA as it was (the MSR form of SMSTOP SM) and
    // synchronises: it zeroes the Z, P and FFR registers, which compiled RMM code never uses
    // (soft-float target); V0–V31, FPCR and FPSR were saved above and are loaded below.
    unsafe {
        core::arch::asm!(
            "msr S3_3_C4_C2_2, {v}",
            "isb",
            v = in(reg) svcr() & !SVCR_SM,
            options(nomem, nostack, preserves_flags),
        )
    };
    fp_regs::load(&regs);
}
