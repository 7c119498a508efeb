// SPDX-License-Identifier: MIT OR Apache-2.0
//! Saving and loading the FP/SIMD registers (V0..V31, FPCR, FPSR) of the CPU, for the world
//! switch: the host's are put aside while a realm runs, and the realm's are kept in its REC.
//!
//! The firmware is built soft-float, so the compiler never uses these registers; only the
//! RMM's SHA-2 routines do, and they save and restore what they touch themselves.

use crate::arch::world::FpRegs;

core::arch::global_asm!(
    ".arch_extension fp",
    ".arch_extension simd",
    ".section .text.rmm_fp_regs, \"ax\"",
    // x0 = *mut FpRegs.
    ".global rmm_fp_save",
    "rmm_fp_save:",
    "stp q0, q1, [x0, #0]",
    "stp q2, q3, [x0, #32]",
    "stp q4, q5, [x0, #64]",
    "stp q6, q7, [x0, #96]",
    "stp q8, q9, [x0, #128]",
    "stp q10, q11, [x0, #160]",
    "stp q12, q13, [x0, #192]",
    "stp q14, q15, [x0, #224]",
    "stp q16, q17, [x0, #256]",
    "stp q18, q19, [x0, #288]",
    "stp q20, q21, [x0, #320]",
    "stp q22, q23, [x0, #352]",
    "stp q24, q25, [x0, #384]",
    "stp q26, q27, [x0, #416]",
    "stp q28, q29, [x0, #448]",
    "stp q30, q31, [x0, #480]",
    "mrs x1, fpcr",
    "mrs x2, fpsr",
    "str x1, [x0, #512]",
    "str x2, [x0, #520]",
    "ret",
    // x0 = *const FpRegs.
    ".global rmm_fp_load",
    "rmm_fp_load:",
    "ldp q0, q1, [x0, #0]",
    "ldp q2, q3, [x0, #32]",
    "ldp q4, q5, [x0, #64]",
    "ldp q6, q7, [x0, #96]",
    "ldp q8, q9, [x0, #128]",
    "ldp q10, q11, [x0, #160]",
    "ldp q12, q13, [x0, #192]",
    "ldp q14, q15, [x0, #224]",
    "ldp q16, q17, [x0, #256]",
    "ldp q18, q19, [x0, #288]",
    "ldp q20, q21, [x0, #320]",
    "ldp q22, q23, [x0, #352]",
    "ldp q24, q25, [x0, #384]",
    "ldp q26, q27, [x0, #416]",
    "ldp q28, q29, [x0, #448]",
    "ldp q30, q31, [x0, #480]",
    "ldr x1, [x0, #512]",
    "ldr x2, [x0, #520]",
    "msr fpcr, x1",
    "msr fpsr, x2",
    "ret",
);

unsafe extern "C" {
    fn rmm_fp_save(regs: *mut FpRegs);
    fn rmm_fp_load(regs: *const FpRegs);
}

/// Copies the CPU's FP/SIMD registers into `regs`.
pub fn save(regs: &mut FpRegs) {
    // SAFETY: `regs` is a valid, exclusively borrowed `FpRegs` (528 bytes, 8-aligned, the
    // layout the routine writes); the routine changes only x1, x2 (caller-saved) and memory
    // inside `regs`, and FP/SIMD access is not trapped at EL2 (CPTR_EL2.TFP clear).
    unsafe { rmm_fp_save(regs) }
}

/// Loads the CPU's FP/SIMD registers from `regs`.
pub fn load(regs: &FpRegs) {
    // SAFETY: `regs` is a valid `FpRegs`; the routine reads only it and changes x1, x2
    // (caller-saved), V0..V31, FPCR and FPSR, which no compiled RMM code uses (soft-float
    // target) and which the SHA-2 routines save and restore around themselves.
    unsafe { rmm_fp_load(regs) }
}
