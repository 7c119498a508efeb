// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Armv8 SHA-2 instructions as the RMM's hash engine ([`Sha2Engine`]).
//!
//! Two hand-written block compression routines, `rmm_sha256_compress_hw` (FEAT_SHA256:
//! SHA256H, SHA256H2, SHA256SU0, SHA256SU1) and `rmm_sha512_compress_hw` (FEAT_SHA512:
//! SHA512H, SHA512H2, SHA512SU0, SHA512SU1). Padding and output stay in `attest::sha`.
//!
//! **The FP/SIMD rule.** The RMM is built for the soft-float target, so the compiler never
//! touches a vector register: they hold the live FP/SIMD state of whoever called into R-EL2
//! (the NS host now, realms later), which nobody saves on the way in. These two routines are
//! the only code in the image that uses vector registers, and each one stores exactly the
//! registers it uses (the whole 128 bits of each) on its stack before touching them and
//! reloads them before returning: SHA-256 uses v0–v25, SHA-512 v0–v21. Neither instruction set
//! reads or writes FPCR or FPSR (no floating point, no saturation), so those need no saving.
//! `cargo xtask test` checks that the image uses FP/SIMD registers in these two functions only
//! and that each saves every register it names.
//!
//! SVE: an Advanced SIMD write of `Vn` zeroes bits above 128 of `Zn` up to the vector length
//! in effect at R-EL2. The RMM never sets `ZCR_EL2`, so that length is whatever TF-A gives the
//! Realm world; if a host used SVE with longer vectors, the upper bits of the registers above
//! could be lost. The RMM reports SVE to no realm yet; saving SVE state is part of realm entry.
//!
//! **Selection.** At cold boot [`init_cold`] enables FP/SIMD at R-EL2 ([`enable_fp_simd`]),
//! reads ID_AA64ISAR0_EL1.SHA2 and runs `attest::sha::known_answer_test` on the hardware
//! engine. On a mismatch the RMM logs an ERROR and keeps measuring in software: a faulty
//! accelerator must not produce wrong measurements, and the software engine is always
//! correct, only slower. Warm-booting CPUs enable FP/SIMD for themselves ([`init_warm`]) and
//! drop back to software if they lack the instructions the boot CPU had.

use crate::cpu_features::{CpuIdRegisters, Sha2Instructions, sha2_instructions};
use crate::log_line::{dec, hex};
use attest::sha::{KatFailure, SOFT, Sha2Engine, known_answer_test};
use core::sync::atomic::{AtomicU8, Ordering};

core::arch::global_asm!(
    ".arch_extension fp",
    ".arch_extension simd",
    ".arch_extension sha2",
    ".arch_extension sha3",
    // One group of four SHA-256 rounds: W+K from message vector w0 and constant vector k,
    // then (while sched) the next message vector w0 := W[i+16..i+19] from w0..w3.
    ".macro rmm_sha256_quad w0, w1, w2, w3, k, sched",
    "add v8.4s, v\\w0\\().4s, v\\k\\().4s",
    ".if \\sched",
    "sha256su0 v\\w0\\().4s, v\\w1\\().4s",
    ".endif",
    "mov v9.16b, v0.16b",
    "sha256h q0, q1, v8.4s",
    "sha256h2 q1, q9, v8.4s",
    ".if \\sched",
    "sha256su1 v\\w0\\().4s, v\\w2\\().4s, v\\w3\\().4s",
    ".endif",
    ".endm",
    // Two SHA-512 rounds. The working variables are in pairs: ab = [a, b] (a in the low
    // lane), cd, ef, gh, and s is free. SHA512H takes [f, g], [d, e] and [g + WK(t+1),
    // h + WK(t)] and gives both rounds' T1; SHA512H2 turns them into the new [a, b]. After the
    // two rounds: ab' = gh's register, cd' = ab, ef' = s = cd + T1s, gh' = ef, s' = cd.
    // While sched, message pair m := W[2j+16, 2j+17] from m, m1, m4, m5 and m7.
    ".macro rmm_sha512_dround ab, cd, ef, gh, s, m, m1, m4, m5, m7, sched",
    "ld1 {{v13.2d}}, [x4], #16",
    "add v9.2d, v\\m\\().2d, v13.2d",
    "ext v9.16b, v9.16b, v9.16b, #8",
    "ext v10.16b, v\\ef\\().16b, v\\gh\\().16b, #8",
    "ext v11.16b, v\\cd\\().16b, v\\ef\\().16b, #8",
    "add v\\gh\\().2d, v\\gh\\().2d, v9.2d",
    "sha512h q\\gh, q10, v11.2d",
    ".if \\sched",
    "sha512su0 v\\m\\().2d, v\\m1\\().2d",
    "ext v12.16b, v\\m4\\().16b, v\\m5\\().16b, #8",
    "sha512su1 v\\m\\().2d, v\\m7\\().2d, v12.2d",
    ".endif",
    "add v\\s\\().2d, v\\cd\\().2d, v\\gh\\().2d",
    "sha512h2 q\\gh, q\\cd, v\\ab\\().2d",
    ".endm",
    //
    // void rmm_sha256_compress_hw(u32 state[8], const u8 *blocks, usize count, const u32 k[64])
    //
    // v0 = [a b c d], v1 = [e f g h]; v2, v3 = their values before the block; v4..v7 the
    // message schedule; v8 = W+K; v9 = a copy of v0; v10..v25 = K.
    ".section .text.rmm_sha256_compress_hw, \"ax\", %progbits",
    ".balign 16",
    ".global rmm_sha256_compress_hw",
    ".type rmm_sha256_compress_hw, %function",
    "rmm_sha256_compress_hw:",
    "cbz x2, 2f",
    "sub sp, sp, #416",
    "stp q0, q1, [sp, #0]",
    "stp q2, q3, [sp, #32]",
    "stp q4, q5, [sp, #64]",
    "stp q6, q7, [sp, #96]",
    "stp q8, q9, [sp, #128]",
    "stp q10, q11, [sp, #160]",
    "stp q12, q13, [sp, #192]",
    "stp q14, q15, [sp, #224]",
    "stp q16, q17, [sp, #256]",
    "stp q18, q19, [sp, #288]",
    "stp q20, q21, [sp, #320]",
    "stp q22, q23, [sp, #352]",
    "stp q24, q25, [sp, #384]",
    "ld1 {{v10.4s, v11.4s, v12.4s, v13.4s}}, [x3], #64",
    "ld1 {{v14.4s, v15.4s, v16.4s, v17.4s}}, [x3], #64",
    "ld1 {{v18.4s, v19.4s, v20.4s, v21.4s}}, [x3], #64",
    "ld1 {{v22.4s, v23.4s, v24.4s, v25.4s}}, [x3]",
    "ld1 {{v0.4s, v1.4s}}, [x0]",
    "1:",
    "ld1 {{v4.16b, v5.16b, v6.16b, v7.16b}}, [x1], #64",
    "rev32 v4.16b, v4.16b",
    "rev32 v5.16b, v5.16b",
    "rev32 v6.16b, v6.16b",
    "rev32 v7.16b, v7.16b",
    "mov v2.16b, v0.16b",
    "mov v3.16b, v1.16b",
    "rmm_sha256_quad 4, 5, 6, 7, 10, 1",
    "rmm_sha256_quad 5, 6, 7, 4, 11, 1",
    "rmm_sha256_quad 6, 7, 4, 5, 12, 1",
    "rmm_sha256_quad 7, 4, 5, 6, 13, 1",
    "rmm_sha256_quad 4, 5, 6, 7, 14, 1",
    "rmm_sha256_quad 5, 6, 7, 4, 15, 1",
    "rmm_sha256_quad 6, 7, 4, 5, 16, 1",
    "rmm_sha256_quad 7, 4, 5, 6, 17, 1",
    "rmm_sha256_quad 4, 5, 6, 7, 18, 1",
    "rmm_sha256_quad 5, 6, 7, 4, 19, 1",
    "rmm_sha256_quad 6, 7, 4, 5, 20, 1",
    "rmm_sha256_quad 7, 4, 5, 6, 21, 1",
    "rmm_sha256_quad 4, 5, 6, 7, 22, 0",
    "rmm_sha256_quad 5, 6, 7, 4, 23, 0",
    "rmm_sha256_quad 6, 7, 4, 5, 24, 0",
    "rmm_sha256_quad 7, 4, 5, 6, 25, 0",
    "add v0.4s, v0.4s, v2.4s",
    "add v1.4s, v1.4s, v3.4s",
    "subs x2, x2, #1",
    "b.ne 1b",
    "st1 {{v0.4s, v1.4s}}, [x0]",
    "ldp q0, q1, [sp, #0]",
    "ldp q2, q3, [sp, #32]",
    "ldp q4, q5, [sp, #64]",
    "ldp q6, q7, [sp, #96]",
    "ldp q8, q9, [sp, #128]",
    "ldp q10, q11, [sp, #160]",
    "ldp q12, q13, [sp, #192]",
    "ldp q14, q15, [sp, #224]",
    "ldp q16, q17, [sp, #256]",
    "ldp q18, q19, [sp, #288]",
    "ldp q20, q21, [sp, #320]",
    "ldp q22, q23, [sp, #352]",
    "ldp q24, q25, [sp, #384]",
    "add sp, sp, #416",
    "2:",
    "ret",
    ".size rmm_sha256_compress_hw, . - rmm_sha256_compress_hw",
    //
    // void rmm_sha512_compress_hw(u64 state[8], const u8 *blocks, usize count, const u64 k[80])
    //
    // v0..v4 the working pairs (see the macro); v5..v8 = the state before the block;
    // v9 = W+K swapped; v10, v11 = SHA512H's [f, g] and [d, e]; v12 = [W(t-7), W(t-6)];
    // v13 = a K pair; v14..v21 = the message schedule; x4 walks K; x5 counts the passes.
    ".section .text.rmm_sha512_compress_hw, \"ax\", %progbits",
    ".balign 16",
    ".global rmm_sha512_compress_hw",
    ".type rmm_sha512_compress_hw, %function",
    "rmm_sha512_compress_hw:",
    "cbz x2, 2f",
    "sub sp, sp, #352",
    "stp q0, q1, [sp, #0]",
    "stp q2, q3, [sp, #32]",
    "stp q4, q5, [sp, #64]",
    "stp q6, q7, [sp, #96]",
    "stp q8, q9, [sp, #128]",
    "stp q10, q11, [sp, #160]",
    "stp q12, q13, [sp, #192]",
    "stp q14, q15, [sp, #224]",
    "stp q16, q17, [sp, #256]",
    "stp q18, q19, [sp, #288]",
    "stp q20, q21, [sp, #320]",
    "ld1 {{v0.2d, v1.2d, v2.2d, v3.2d}}, [x0]",
    "1:",
    "ld1 {{v14.16b, v15.16b, v16.16b, v17.16b}}, [x1], #64",
    "ld1 {{v18.16b, v19.16b, v20.16b, v21.16b}}, [x1], #64",
    "rev64 v14.16b, v14.16b",
    "rev64 v15.16b, v15.16b",
    "rev64 v16.16b, v16.16b",
    "rev64 v17.16b, v17.16b",
    "rev64 v18.16b, v18.16b",
    "rev64 v19.16b, v19.16b",
    "rev64 v20.16b, v20.16b",
    "rev64 v21.16b, v21.16b",
    "mov v5.16b, v0.16b",
    "mov v6.16b, v1.16b",
    "mov v7.16b, v2.16b",
    "mov v8.16b, v3.16b",
    "mov x4, x3",
    // Rounds 0..63, with the schedule, as four passes of eight double rounds. The message
    // registers' names repeat every eight double rounds, the working pairs' every five; after
    // eight, [a, b], [c, d], [e, f], [g, h] are in v4, v2, v0, v1 (v3 free), and four moves
    // put them back in v0..v3 for the next pass. (Written out, the 40 double rounds took
    // 1.8 KiB; a pass costs the moves and the loop's two instructions.)
    "mov x5, #4",
    "3:",
    "rmm_sha512_dround 0, 1, 2, 3, 4, 14, 15, 18, 19, 21, 1",
    "rmm_sha512_dround 3, 0, 4, 2, 1, 15, 16, 19, 20, 14, 1",
    "rmm_sha512_dround 2, 3, 1, 4, 0, 16, 17, 20, 21, 15, 1",
    "rmm_sha512_dround 4, 2, 0, 1, 3, 17, 18, 21, 14, 16, 1",
    "rmm_sha512_dround 1, 4, 3, 0, 2, 18, 19, 14, 15, 17, 1",
    "rmm_sha512_dround 0, 1, 2, 3, 4, 19, 20, 15, 16, 18, 1",
    "rmm_sha512_dround 3, 0, 4, 2, 1, 20, 21, 16, 17, 19, 1",
    "rmm_sha512_dround 2, 3, 1, 4, 0, 21, 14, 17, 18, 20, 1",
    "mov v3.16b, v1.16b",
    "mov v1.16b, v2.16b",
    "mov v2.16b, v0.16b",
    "mov v0.16b, v4.16b",
    "subs x5, x5, #1",
    "b.ne 3b",
    // Rounds 64..79, no schedule; they end with the pairs in v4, v2, v0, v1 again, which the
    // additions of the state before the block put back in v0..v3.
    "rmm_sha512_dround 0, 1, 2, 3, 4, 14, 15, 18, 19, 21, 0",
    "rmm_sha512_dround 3, 0, 4, 2, 1, 15, 16, 19, 20, 14, 0",
    "rmm_sha512_dround 2, 3, 1, 4, 0, 16, 17, 20, 21, 15, 0",
    "rmm_sha512_dround 4, 2, 0, 1, 3, 17, 18, 21, 14, 16, 0",
    "rmm_sha512_dround 1, 4, 3, 0, 2, 18, 19, 14, 15, 17, 0",
    "rmm_sha512_dround 0, 1, 2, 3, 4, 19, 20, 15, 16, 18, 0",
    "rmm_sha512_dround 3, 0, 4, 2, 1, 20, 21, 16, 17, 19, 0",
    "rmm_sha512_dround 2, 3, 1, 4, 0, 21, 14, 17, 18, 20, 0",
    "add v3.2d, v1.2d, v8.2d",
    "add v1.2d, v2.2d, v6.2d",
    "add v2.2d, v0.2d, v7.2d",
    "add v0.2d, v4.2d, v5.2d",
    "subs x2, x2, #1",
    "b.ne 1b",
    "st1 {{v0.2d, v1.2d, v2.2d, v3.2d}}, [x0]",
    "ldp q0, q1, [sp, #0]",
    "ldp q2, q3, [sp, #32]",
    "ldp q4, q5, [sp, #64]",
    "ldp q6, q7, [sp, #96]",
    "ldp q8, q9, [sp, #128]",
    "ldp q10, q11, [sp, #160]",
    "ldp q12, q13, [sp, #192]",
    "ldp q14, q15, [sp, #224]",
    "ldp q16, q17, [sp, #256]",
    "ldp q18, q19, [sp, #288]",
    "ldp q20, q21, [sp, #320]",
    "add sp, sp, #352",
    "2:",
    "ret",
    ".size rmm_sha512_compress_hw, . - rmm_sha512_compress_hw",
    ".purgem rmm_sha256_quad",
    ".purgem rmm_sha512_dround",
    ".text",
);

unsafe extern "C" {
    /// Compresses `count` 64-byte blocks at `blocks` into the SHA-256 `state` with round
    /// constants `k`. Uses and restores v0–v25; clobbers x1–x3 and the flags.
    ///
    /// # Safety
    ///
    /// The CPU implements FEAT_SHA256 and FP/SIMD is not trapped at the current EL; `state`
    /// points to 8 writable words, `blocks` to `count` × 64 readable bytes, `k` to [`K256`];
    /// the stack has 416 bytes free.
    fn rmm_sha256_compress_hw(state: *mut u32, blocks: *const u8, count: usize, k: *const u32);

    /// Compresses `count` 128-byte blocks at `blocks` into the SHA-512 `state` with round
    /// constants `k`. Uses and restores v0–v21; clobbers x1–x4 and the flags.
    ///
    /// # Safety
    ///
    /// The CPU implements FEAT_SHA512 and FP/SIMD is not trapped at the current EL; `state`
    /// points to 8 writable doublewords, `blocks` to `count` × 128 readable bytes, `k` to
    /// [`K512`]; the stack has 352 bytes free.
    fn rmm_sha512_compress_hw(state: *mut u64, blocks: *const u8, count: usize, k: *const u64);
}

/// SHA-256's round constants K0..K63 (FIPS 180-4 §4.2.2), loaded by the routine.
static K256: [u32; 64] = [
    0x428a_2f98,
    0x7137_4491,
    0xb5c0_fbcf,
    0xe9b5_dba5,
    0x3956_c25b,
    0x59f1_11f1,
    0x923f_82a4,
    0xab1c_5ed5,
    0xd807_aa98,
    0x1283_5b01,
    0x2431_85be,
    0x550c_7dc3,
    0x72be_5d74,
    0x80de_b1fe,
    0x9bdc_06a7,
    0xc19b_f174,
    0xe49b_69c1,
    0xefbe_4786,
    0x0fc1_9dc6,
    0x240c_a1cc,
    0x2de9_2c6f,
    0x4a74_84aa,
    0x5cb0_a9dc,
    0x76f9_88da,
    0x983e_5152,
    0xa831_c66d,
    0xb003_27c8,
    0xbf59_7fc7,
    0xc6e0_0bf3,
    0xd5a7_9147,
    0x06ca_6351,
    0x1429_2967,
    0x27b7_0a85,
    0x2e1b_2138,
    0x4d2c_6dfc,
    0x5338_0d13,
    0x650a_7354,
    0x766a_0abb,
    0x81c2_c92e,
    0x9272_2c85,
    0xa2bf_e8a1,
    0xa81a_664b,
    0xc24b_8b70,
    0xc76c_51a3,
    0xd192_e819,
    0xd699_0624,
    0xf40e_3585,
    0x106a_a070,
    0x19a4_c116,
    0x1e37_6c08,
    0x2748_774c,
    0x34b0_bcb5,
    0x391c_0cb3,
    0x4ed8_aa4a,
    0x5b9c_ca4f,
    0x682e_6ff3,
    0x748f_82ee,
    0x78a5_636f,
    0x84c8_7814,
    0x8cc7_0208,
    0x90be_fffa,
    0xa450_6ceb,
    0xbef9_a3f7,
    0xc671_78f2,
];

/// SHA-512's round constants K0..K79 (FIPS 180-4 §4.2.3), loaded by the routine.
static K512: [u64; 80] = [
    0x428a_2f98_d728_ae22,
    0x7137_4491_23ef_65cd,
    0xb5c0_fbcf_ec4d_3b2f,
    0xe9b5_dba5_8189_dbbc,
    0x3956_c25b_f348_b538,
    0x59f1_11f1_b605_d019,
    0x923f_82a4_af19_4f9b,
    0xab1c_5ed5_da6d_8118,
    0xd807_aa98_a303_0242,
    0x1283_5b01_4570_6fbe,
    0x2431_85be_4ee4_b28c,
    0x550c_7dc3_d5ff_b4e2,
    0x72be_5d74_f27b_896f,
    0x80de_b1fe_3b16_96b1,
    0x9bdc_06a7_25c7_1235,
    0xc19b_f174_cf69_2694,
    0xe49b_69c1_9ef1_4ad2,
    0xefbe_4786_384f_25e3,
    0x0fc1_9dc6_8b8c_d5b5,
    0x240c_a1cc_77ac_9c65,
    0x2de9_2c6f_592b_0275,
    0x4a74_84aa_6ea6_e483,
    0x5cb0_a9dc_bd41_fbd4,
    0x76f9_88da_8311_53b5,
    0x983e_5152_ee66_dfab,
    0xa831_c66d_2db4_3210,
    0xb003_27c8_98fb_213f,
    0xbf59_7fc7_beef_0ee4,
    0xc6e0_0bf3_3da8_8fc2,
    0xd5a7_9147_930a_a725,
    0x06ca_6351_e003_826f,
    0x1429_2967_0a0e_6e70,
    0x27b7_0a85_46d2_2ffc,
    0x2e1b_2138_5c26_c926,
    0x4d2c_6dfc_5ac4_2aed,
    0x5338_0d13_9d95_b3df,
    0x650a_7354_8baf_63de,
    0x766a_0abb_3c77_b2a8,
    0x81c2_c92e_47ed_aee6,
    0x9272_2c85_1482_353b,
    0xa2bf_e8a1_4cf1_0364,
    0xa81a_664b_bc42_3001,
    0xc24b_8b70_d0f8_9791,
    0xc76c_51a3_0654_be30,
    0xd192_e819_d6ef_5218,
    0xd699_0624_5565_a910,
    0xf40e_3585_5771_202a,
    0x106a_a070_32bb_d1b8,
    0x19a4_c116_b8d2_d0c8,
    0x1e37_6c08_5141_ab53,
    0x2748_774c_df8e_eb99,
    0x34b0_bcb5_e19b_48a8,
    0x391c_0cb3_c5c9_5a63,
    0x4ed8_aa4a_e341_8acb,
    0x5b9c_ca4f_7763_e373,
    0x682e_6ff3_d6b2_b8a3,
    0x748f_82ee_5def_b2fc,
    0x78a5_636f_4317_2f60,
    0x84c8_7814_a1f0_ab72,
    0x8cc7_0208_1a64_39ec,
    0x90be_fffa_2363_1e28,
    0xa450_6ceb_de82_bde9,
    0xbef9_a3f7_b2c6_7915,
    0xc671_78f2_e372_532b,
    0xca27_3ece_ea26_619c,
    0xd186_b8c7_21c0_c207,
    0xeada_7dd6_cde0_eb1e,
    0xf57d_4f7f_ee6e_d178,
    0x06f0_67aa_7217_6fba,
    0x0a63_7dc5_a2c8_98a6,
    0x113f_9804_bef9_0dae,
    0x1b71_0b35_131c_471b,
    0x28db_77f5_2304_7d84,
    0x32ca_ab7b_40c7_2493,
    0x3c9e_be0a_15c9_bebc,
    0x431d_67c4_9c10_0d4c,
    0x4cc5_d4be_cb3e_42b6,
    0x597f_299c_fc65_7e2a,
    0x5fcb_6fab_3ad6_faec,
    0x6c44_198c_4a47_5817,
];

/// The hardware engine: SHA-256 in hardware, SHA-512 in hardware if `sha512`, else in
/// software. Only the two statics below exist, and [`engine`] hands them out only after the
/// CPU was found to have the instructions, FP/SIMD was enabled and the self-test passed.
pub struct HwSha2 {
    sha512: bool,
}

/// FEAT_SHA256 only.
static HW_SHA256: HwSha2 = HwSha2 { sha512: false };
/// FEAT_SHA256 and FEAT_SHA512.
static HW_SHA256_512: HwSha2 = HwSha2 { sha512: true };

impl Sha2Engine for HwSha2 {
    fn compress256(&self, state: &mut [u32; 8], blocks: &[[u8; 64]]) {
        // The SHA-2 instructions are illegal in the host's Streaming SVE mode.
        super::sme::leave_streaming_mode();
        // SAFETY: this engine exists only where FEAT_SHA256 was detected, and every CPU
        // enabled FP/SIMD at R-EL2 before serving (`init_cold`, `init_warm`); the pointers
        // come from references of exactly the sizes the routine reads and writes; it restores
        // every vector register it uses; 416 bytes of stack are far below the RMM's 16 KiB.
        unsafe {
            rmm_sha256_compress_hw(
                state.as_mut_ptr(),
                blocks.as_ptr().cast(),
                blocks.len(),
                K256.as_ptr(),
            );
        }
    }

    fn compress512(&self, state: &mut [u64; 8], blocks: &[[u8; 128]]) {
        if !self.sha512 {
            SOFT.compress512(state, blocks);
            return;
        }
        super::sme::leave_streaming_mode();
        // SAFETY: as for `compress256`, with FEAT_SHA512 detected for this engine.
        unsafe {
            rmm_sha512_compress_hw(
                state.as_mut_ptr(),
                blocks.as_ptr().cast(),
                blocks.len(),
                K512.as_ptr(),
            );
        }
    }
}

const SOFTWARE: u8 = 0;
const HARDWARE_SHA256: u8 = 1;
const HARDWARE_SHA256_512: u8 = 2;

/// The engine in use; written at cold boot (before any RMI call) and lowered by a warm boot
/// on a CPU with fewer instructions.
static SELECTED: AtomicU8 = AtomicU8::new(SOFTWARE);

/// The engine measurements use now.
pub fn engine() -> &'static dyn Sha2Engine {
    match SELECTED.load(Ordering::Acquire) {
        HARDWARE_SHA256_512 => &HW_SHA256_512,
        HARDWARE_SHA256 => &HW_SHA256,
        _ => &SOFT,
    }
}

/// `CPTR_EL2.TFP` in the `HCR_EL2.E2H = 0` layout the RMM runs with.
const CPTR_EL2_TFP: u64 = 1 << 10;

/// Stops trapping FP/SIMD instructions at R-EL2 on this CPU and returns the old CPTR_EL2.
///
/// Safe because the only code that executes such instructions is the two routines above,
/// which save and restore every vector register they use, and the soft-float build (checked
/// by `cargo xtask test`) guarantees no other code does. With E2H = 0, TFP also traps lower
/// ELs' FP/SIMD to EL2: realm entry, which runs realms at EL1, sets CPTR_EL2 for them itself.
pub fn enable_fp_simd() -> u64 {
    let old: u64;
    // SAFETY: clears one trap bit of this CPU's CPTR_EL2 and synchronises; it changes no
    // memory and no register state other than the scratch register.
    unsafe {
        core::arch::asm!(
            "mrs {old}, cptr_el2",
            "bic {new}, {old}, #{tfp}",
            "msr cptr_el2, {new}",
            "isb",
            old = out(reg) old,
            new = out(reg) _,
            tfp = const CPTR_EL2_TFP,
            options(nomem, nostack, preserves_flags),
        );
    }
    old
}

fn level(instructions: Sha2Instructions) -> u8 {
    match instructions {
        Sha2Instructions::None => SOFTWARE,
        Sha2Instructions::Sha256 => HARDWARE_SHA256,
        Sha2Instructions::Sha256And512 => HARDWARE_SHA256_512,
    }
}

/// Self-tests the hardware engine for `instructions`; the level that passed.
fn self_test(instructions: Sha2Instructions) -> Result<u8, KatFailure> {
    match instructions {
        Sha2Instructions::None => Ok(SOFTWARE),
        Sha2Instructions::Sha256 => known_answer_test(&HW_SHA256, false).map(|()| HARDWARE_SHA256),
        Sha2Instructions::Sha256And512 => {
            known_answer_test(&HW_SHA256_512, true).map(|()| HARDWARE_SHA256_512)
        }
    }
}

/// Cold boot, before the first RMI request: enables FP/SIMD, detects and self-tests the
/// SHA-2 instructions, and selects the engine. Logs what it chose.
pub fn init_cold(cpu: &CpuIdRegisters) {
    let cptr = enable_fp_simd();
    if cptr & CPTR_EL2_TFP != 0 {
        crate::log_info!(
            "FP/SIMD was trapped at R-EL2 (CPTR_EL2 = {}); enabled for hashing",
            hex(cptr),
        );
    }
    let instructions = sha2_instructions(cpu);
    let chosen = match self_test(instructions) {
        Ok(level) => level,
        Err(failure) => {
            crate::log_error!(
                "hash engine: the {} instructions gave a wrong {} digest of the {} vector; \
                 measuring in software",
                if instructions == Sha2Instructions::Sha256 {
                    "SHA-256"
                } else {
                    "SHA-256/512"
                },
                failure.algorithm,
                failure.vector,
            );
            // A SHA-256-only retry would keep half the speed-up; a CPU that fails its
            // self-test is not trusted with either.
            SOFTWARE
        }
    };
    SELECTED.store(chosen, Ordering::Release);
    crate::log_info!(
        "hash engine: {}",
        match chosen {
            HARDWARE_SHA256_512 => "SHA-256 and SHA-512 instructions (self-test passed)",
            HARDWARE_SHA256 => "SHA-256 instructions (self-test passed), SHA-512 in software",
            _ => "software",
        },
    );
}

/// Warm boot of another CPU, before it serves RMI: enables FP/SIMD on it, and if it lacks
/// instructions the selected engine uses, selects software for every CPU (with an ERROR).
pub fn init_warm(cpu: &CpuIdRegisters, cpu_index: u64) {
    enable_fp_simd();
    let here = level(sha2_instructions(cpu));
    let selected = SELECTED.load(Ordering::Acquire);
    if here < selected {
        crate::log_error!(
            "CPU {} lacks SHA-2 instructions the boot CPU has; measuring in software",
            dec(cpu_index),
        );
        SELECTED.store(SOFTWARE, Ordering::Release);
    }
}
