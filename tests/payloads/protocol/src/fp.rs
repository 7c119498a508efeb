// SPDX-License-Identifier: MIT OR Apache-2.0
//! The FP/SIMD registers (V0..V31, FPCR, FPSR) of the CPU running a test payload, for the
//! register-state checks on both sides of the world switch: the hypervisor fills its own
//! with a pattern around every REC_ENTER, the realm checks it never sees that pattern and
//! that its own values survive exits. Both payloads are built soft-float, so only this code
//! touches these registers.

/// V0..V31 as 64 words, then FPCR and FPSR; 16-byte aligned for the `q` stores (this code
/// runs with its MMU off, where unaligned accesses fault).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C, align(16))]
pub struct FpState(pub [u64; 66]);

/// Reads every FP/SIMD register into `state`.
pub fn save(state: &mut FpState) {
    // SAFETY: `state` is 528 writable bytes; the stores write only there. FP/SIMD access is
    // not trapped for the caller (the realm opens CPACR_EL1 first; NS-EL2 never traps it).
    unsafe {
        core::arch::asm!(
            ".arch_extension fp",
            ".arch_extension simd",
            "stp q0, q1, [{p}, #0]", "stp q2, q3, [{p}, #32]",
            "stp q4, q5, [{p}, #64]", "stp q6, q7, [{p}, #96]",
            "stp q8, q9, [{p}, #128]", "stp q10, q11, [{p}, #160]",
            "stp q12, q13, [{p}, #192]", "stp q14, q15, [{p}, #224]",
            "stp q16, q17, [{p}, #256]", "stp q18, q19, [{p}, #288]",
            "stp q20, q21, [{p}, #320]", "stp q22, q23, [{p}, #352]",
            "stp q24, q25, [{p}, #384]", "stp q26, q27, [{p}, #416]",
            "stp q28, q29, [{p}, #448]", "stp q30, q31, [{p}, #480]",
            "mrs {t}, fpcr", "str {t}, [{p}, #512]",
            "mrs {t}, fpsr", "str {t}, [{p}, #520]",
            p = in(reg) state.0.as_mut_ptr(),
            t = out(reg) _,
            options(nostack),
        )
    };
}

/// Loads every FP/SIMD register from `state`.
pub fn load(state: &FpState) {
    // SAFETY: `state` is 528 readable bytes; nothing compiled in this payload uses the
    // FP/SIMD registers, so changing them breaks no invariant.
    unsafe {
        core::arch::asm!(
            ".arch_extension fp",
            ".arch_extension simd",
            "ldp q0, q1, [{p}, #0]", "ldp q2, q3, [{p}, #32]",
            "ldp q4, q5, [{p}, #64]", "ldp q6, q7, [{p}, #96]",
            "ldp q8, q9, [{p}, #128]", "ldp q10, q11, [{p}, #160]",
            "ldp q12, q13, [{p}, #192]", "ldp q14, q15, [{p}, #224]",
            "ldp q16, q17, [{p}, #256]", "ldp q18, q19, [{p}, #288]",
            "ldp q20, q21, [{p}, #320]", "ldp q22, q23, [{p}, #352]",
            "ldp q24, q25, [{p}, #384]", "ldp q26, q27, [{p}, #416]",
            "ldp q28, q29, [{p}, #448]", "ldp q30, q31, [{p}, #480]",
            "ldr {t}, [{p}, #512]", "msr fpcr, {t}",
            "ldr {t}, [{p}, #520]", "msr fpsr, {t}",
            p = in(reg) state.0.as_ptr(),
            t = out(reg) _,
            options(nostack),
        )
    };
}
