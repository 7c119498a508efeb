// SPDX-License-Identifier: MIT OR Apache-2.0
//! Measurements end to end. The RMM hashes with the CPU's SHA-2 instructions, which work in
//! vector registers that hold the caller's live FP/SIMD state (TF-A does not save it on the
//! way to the Realm world: `CTX_INCLUDE_FPREGS=0`), so:
//!
//! - `host_fp_simd_survives_measuring_calls` (every CPU, so warm-booted CPUs too): the host
//!   fills v0–v31, FPCR and FPSR with a pattern, makes an RMI call that hashes (REALM_CREATE,
//!   RTT_INIT_RIPAS, measured DATA_CREATE, REC_CREATE; SHA-256 and SHA-512 realms), reads them
//!   back and compares, for each call.
//! - `rim_matches_host_software_sha` (the `fault` group, whose test-only RMM build answers the
//!   RIM probe): the RIM after a realm's measured set-up equals what this host computes with
//!   the `sha2` crate in software, from descriptors it lays out itself at the offsets of RMM
//!   1.0-rel0 C.3 (not from `rmm-abi`'s types), for SHA-256 and SHA-512.

use super::pool::{Pool, check, check_ok};
use super::realms::{Realm, create_rec, window};
use crate::platform::REALM_POOL;
use crate::realm::{MEASURE_CONTENT, PAGE, Shape, fill_page, table_end};
use crate::rmi::{self, X4, status};
use crate::runner::{Outcome, Scenario};
use crate::{ensure, fail, regs};
use rmm_abi::rmi::fid::TEST_FAULT_INJECTION;
use sha2::{Digest, Sha256, Sha512};

/// Run by every CPU (after the realm scenarios, in the same 1 MiB slot as their stress).
pub const EVERY_CPU: &[Scenario] = &[Scenario {
    name: "host_fp_simd_survives_measuring_calls",
    run: fp_simd_survives,
}];

/// Run by CPU 0 in the fault group (needs the RMM's `fault-injection` build).
pub const RIM_PROBE: &[Scenario] = &[Scenario {
    name: "rim_matches_host_software_sha",
    run: rim_matches,
}];

const MIB: u64 = 1 << 20;
/// VMIDs of this file's realms: `VMID_BASE + CPU slot`.
const VMID_BASE: u64 = 0x200;

/// v0..v31, each as [low, high] doublewords. 16-byte aligned: with the MMU off memory is
/// Device memory, where a Q-register load or store must be aligned to 16 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C, align(16))]
struct VectorRegs([[u64; 2]; 32]);

/// FPCR with DN, FZ and RMode = 0b11 (round towards zero): all writable, none the reset value.
const FPCR_PATTERN: u64 = (1 << 25) | (1 << 24) | (3 << 22);
/// FPSR with QC and every cumulative exception flag set.
const FPSR_PATTERN: u64 = (1 << 27) | 0x9F;

fn pattern(seed: u64) -> VectorRegs {
    VectorRegs(core::array::from_fn(|i| {
        let i = i as u64;
        [
            seed ^ i.wrapping_mul(0x0101_0101_0101_0101),
            !seed.rotate_left(i as u32 + 1) ^ (i << 56),
        ]
    }))
}

/// Loads `v` into v0..v31 and sets FPCR and FPSR.
fn set_fp_simd(v: &VectorRegs, fpcr: u64, fpsr: u64) {
    // SAFETY: reads the 512 bytes of `v`; writes only the FP/SIMD registers, FPCR and FPSR,
    // which no compiled code of this soft-float hypervisor uses. NS-EL2 does not trap FP/SIMD
    // (the entry code clears CPTR_EL2.TFP).
    unsafe {
        core::arch::asm!(
            // The soft-float target assembles FP/SIMD instructions only when asked.
            ".arch_extension fp",
            ".arch_extension simd",
            "ldp q0, q1, [{p}]",
            "ldp q2, q3, [{p}, #32]",
            "ldp q4, q5, [{p}, #64]",
            "ldp q6, q7, [{p}, #96]",
            "ldp q8, q9, [{p}, #128]",
            "ldp q10, q11, [{p}, #160]",
            "ldp q12, q13, [{p}, #192]",
            "ldp q14, q15, [{p}, #224]",
            "ldp q16, q17, [{p}, #256]",
            "ldp q18, q19, [{p}, #288]",
            "ldp q20, q21, [{p}, #320]",
            "ldp q22, q23, [{p}, #352]",
            "ldp q24, q25, [{p}, #384]",
            "ldp q26, q27, [{p}, #416]",
            "ldp q28, q29, [{p}, #448]",
            "ldp q30, q31, [{p}, #480]",
            "msr fpcr, {fpcr}",
            "msr fpsr, {fpsr}",
            p = in(reg) v.0.as_ptr(),
            fpcr = in(reg) fpcr,
            fpsr = in(reg) fpsr,
            options(nostack, readonly, preserves_flags),
        );
    }
}

/// Reads v0..v31, FPCR and FPSR.
fn get_fp_simd() -> (VectorRegs, u64, u64) {
    let mut v = VectorRegs([[0; 2]; 32]);
    let (fpcr, fpsr): (u64, u64);
    // SAFETY: writes the 512 bytes of `v`; reads FP/SIMD registers, FPCR and FPSR only.
    unsafe {
        core::arch::asm!(
            ".arch_extension fp",
            ".arch_extension simd",
            "stp q0, q1, [{p}]",
            "stp q2, q3, [{p}, #32]",
            "stp q4, q5, [{p}, #64]",
            "stp q6, q7, [{p}, #96]",
            "stp q8, q9, [{p}, #128]",
            "stp q10, q11, [{p}, #160]",
            "stp q12, q13, [{p}, #192]",
            "stp q14, q15, [{p}, #224]",
            "stp q16, q17, [{p}, #256]",
            "stp q18, q19, [{p}, #288]",
            "stp q20, q21, [{p}, #320]",
            "stp q22, q23, [{p}, #352]",
            "stp q24, q25, [{p}, #384]",
            "stp q26, q27, [{p}, #416]",
            "stp q28, q29, [{p}, #448]",
            "stp q30, q31, [{p}, #480]",
            "mrs {fpcr}, fpcr",
            "mrs {fpsr}, fpsr",
            p = in(reg) v.0.as_mut_ptr(),
            fpcr = out(reg) fpcr,
            fpsr = out(reg) fpsr,
            options(nostack, preserves_flags),
        );
    }
    (v, fpcr, fpsr)
}

/// Runs `call` (an RMI call and its checks) between setting the FP/SIMD registers to a
/// pattern from `seed` and checking they still hold it.
fn preserving<T>(
    seed: u64,
    what: &str,
    call: impl FnOnce() -> Result<T, crate::runner::Failure>,
) -> Result<T, crate::runner::Failure> {
    let want = pattern(seed);
    set_fp_simd(&want, FPCR_PATTERN, FPSR_PATTERN);
    let result = call();
    let (got, fpcr, fpsr) = get_fp_simd();
    let value = result?;
    if let Some(i) = (0..32).find(|&i| got.0[i] != want.0[i]) {
        let ([want_lo, want_hi], [got_lo, got_hi]) = (want.0[i], got.0[i]);
        fail!(
            "{what}: v{i} changed across the call: {want_hi:#018x}_{want_lo:016x} became \
             {got_hi:#018x}_{got_lo:016x}"
        );
    }
    ensure!(
        fpcr == FPCR_PATTERN && fpsr == FPSR_PATTERN,
        "{what}: FPCR {fpcr:#x} / FPSR {fpsr:#x} changed (set {FPCR_PATTERN:#x} / \
         {FPSR_PATTERN:#x})"
    );
    Ok(value)
}

fn fp_simd_survives() -> Outcome {
    let slot = regs::cpu_slot() as u64;
    // The realm stress scenario's slot, which it has given back in full.
    let base = REALM_POOL + slot * MIB;
    let mut pool = Pool::new(base, base + MIB * 3 / 4, base + MIB);
    let rd = pool.delegate()?;
    let root = pool.delegate()?;
    let tables = pool.delegate_many::<2>()?;
    let data = pool.delegate()?;
    let rec = pool.delegate()?;
    let aux = pool.delegate_run(16)?;
    let params = pool.ns_page()?;
    let src = pool.ns_page()?;
    fill_page(src, 0xF9_5140 + slot);
    for hash in [0, 1] {
        let shape = Shape {
            s2sz: 39,
            start_level: 1,
            num_roots: 1,
            hash,
            vmid: VMID_BASE + slot,
        };
        let seed = 0x5EED_0000_0000_0000 | (slot << 32) | (hash << 16);
        let realm = preserving(seed, "REALM_CREATE", || {
            Realm::create_with(rd, root, params, shape)
        })?;
        let built = realm.tables_to(0, 3, &tables)?;
        preserving(seed + 1, "RTT_INIT_RIPAS", || {
            check(
                rmi::rtt_init_ripas(rd, 0, 4 * PAGE),
                [status::SUCCESS, 4 * PAGE, 0, 0, X4],
                format_args!("RTT_INIT_RIPAS(0, 4 pages)"),
            )
        })?;
        let ipa = 8 * PAGE;
        preserving(seed + 2, "DATA_CREATE measured", || {
            check(
                rmi::data_create(rd, data, ipa, src, MEASURE_CONTENT),
                [status::SUCCESS, 0, 0, 0, src],
                format_args!("DATA_CREATE({ipa:#x})"),
            )
        })?;
        preserving(seed + 3, "REC_CREATE", || {
            create_rec(&mut pool, &realm, rec, 0, aux)
        })?;
        check_ok(rmi::rec_destroy(rec), format_args!("REC_DESTROY"))?;
        check(
            rmi::data_destroy(rd, ipa),
            [status::SUCCESS, data, table_end(ipa, 3), 0, X4],
            format_args!("DATA_DESTROY({ipa:#x})"),
        )?;
        realm.destroy_tables(0, &built)?;
        realm.destroy()?;
    }
    pool.undelegate_all()
}

// ---------------------------------------------------------------------------------------
// The RIM against the host's own computation.

fn put(buf: &mut [u8], offset: usize, bytes: &[u8]) {
    buf[offset..offset + bytes.len()].copy_from_slice(bytes);
}

/// H(bytes) with the realm's algorithm (0 = SHA-256, 1 = SHA-512), zero-padded to 64 bytes.
fn hash(algorithm: u64, bytes: &[u8]) -> [u8; 64] {
    let mut out = [0; 64];
    if algorithm == 0 {
        out[..32].copy_from_slice(&Sha256::digest(bytes));
    } else {
        out.copy_from_slice(&Sha512::digest(bytes));
    }
    out
}

/// The measurement descriptor of RMM 1.0-rel0 C.3: type, length 0x100, the current RIM, then
/// type-specific fields from offset 0x50.
fn descriptor(kind: u8, rim: &[u8; 64], fields: &[(usize, &[u8])]) -> [u8; 0x100] {
    let mut desc = [0; 0x100];
    put(&mut desc, 0x00, &[kind]);
    put(&mut desc, 0x08, &0x100u64.to_le_bytes());
    put(&mut desc, 0x10, rim);
    for (offset, bytes) in fields {
        put(&mut desc, *offset, bytes);
    }
    desc
}

/// The realm's RIM as the RMM holds it, through the test-only probe (mode 2).
fn probe_rim(rd: u64) -> Result<[u8; 64], crate::runner::Failure> {
    let mut rim = [0; 64];
    for (i, chunk) in rim.chunks_exact_mut(8).enumerate() {
        let out = rmi::call(u64::from(TEST_FAULT_INJECTION), &[rd, 2, i as u64, X4]).0;
        ensure!(
            out[0] == 0 && out[2..] == [0, 0, X4],
            "RIM probe word {i}: {out:#x?} (is this the fault-injection build?)"
        );
        chunk.copy_from_slice(&out[1].to_le_bytes());
    }
    Ok(rim)
}

fn rim_matches() -> Outcome {
    let mut pool = window(0);
    let rd = pool.delegate()?;
    let root = pool.delegate()?;
    let tables = pool.delegate_many::<2>()?;
    let data = pool.delegate_many::<2>()?;
    let rec = pool.delegate()?;
    let aux = pool.delegate_run(16)?;
    let params = pool.ns_page()?;
    let src = pool.ns_page()?;
    fill_page(src, 0x0123_4567_89AB_CDEF);
    // SAFETY: `src` is an NS page of this scenario's window (MMU off): 512 aligned words.
    let content: [u8; 4096] = core::array::from_fn(|i| unsafe {
        let word = core::ptr::read_volatile((src + (i as u64 & !7)) as *const u64);
        word.to_le_bytes()[i % 8]
    });
    for algorithm in [0, 1] {
        let shape = Shape {
            s2sz: 39,
            start_level: 1,
            num_roots: 1,
            hash: algorithm,
            vmid: VMID_BASE,
        };
        let realm = Realm::create_with(rd, root, params, shape)?;
        // REALM_CREATE: a zero RmiRealmParams page but for the measured fields.
        let mut page = [0u8; 4096];
        put(&mut page, 0x08, &39u64.to_le_bytes());
        put(&mut page, 0x18, &2u64.to_le_bytes());
        put(&mut page, 0x20, &2u64.to_le_bytes());
        put(&mut page, 0x30, &algorithm.to_le_bytes());
        let mut rim = hash(algorithm, &page);
        let built = realm.tables_to(0, 3, &tables)?;
        // RTT_INIT_RIPAS of 4 pages: one descriptor per level-3 entry.
        check(
            rmi::rtt_init_ripas(rd, 0, 4 * PAGE),
            [status::SUCCESS, 4 * PAGE, 0, 0, X4],
            format_args!("RTT_INIT_RIPAS(0, 4 pages)"),
        )?;
        for base in (0..4).map(|i| i * PAGE) {
            let top = base + PAGE;
            rim = hash(
                algorithm,
                &descriptor(
                    2,
                    &rim,
                    &[(0x50, &base.to_le_bytes()), (0x58, &top.to_le_bytes())],
                ),
            );
        }
        // A measured and an unmeasured DATA_CREATE from the same page.
        for (i, flags) in [MEASURE_CONTENT, 0].into_iter().enumerate() {
            let ipa = (8 + i as u64) * PAGE;
            check(
                rmi::data_create(rd, data[i], ipa, src, flags),
                [status::SUCCESS, 0, 0, 0, src],
                format_args!("DATA_CREATE({ipa:#x}, flags {flags})"),
            )?;
            let content_hash = if flags == MEASURE_CONTENT {
                hash(algorithm, &content)
            } else {
                [0; 64]
            };
            rim = hash(
                algorithm,
                &descriptor(
                    0,
                    &rim,
                    &[
                        (0x50, &ipa.to_le_bytes()),
                        (0x58, &flags.to_le_bytes()),
                        (0x60, &content_hash),
                    ],
                ),
            );
        }
        // A runnable REC 0 (pc 0, gprs 0..7): H(RmiRecParams zero but flags, pc, gprs).
        create_rec(&mut pool, &realm, rec, 0, aux)?;
        let mut rec_page = [0u8; 4096];
        put(&mut rec_page, 0x000, &1u64.to_le_bytes());
        for g in 0..8u64 {
            put(&mut rec_page, 0x300 + 8 * g as usize, &g.to_le_bytes());
        }
        rim = hash(
            algorithm,
            &descriptor(1, &rim, &[(0x50, &hash(algorithm, &rec_page))]),
        );
        let got = probe_rim(rd)?;
        if got != rim {
            fail!(
                "hash {algorithm}: the RMM's RIM starts {:02x?}, the host computed {:02x?}",
                &got[..16],
                &rim[..16]
            );
        }
        check_ok(rmi::rec_destroy(rec), format_args!("REC_DESTROY"))?;
        for (i, ipa) in [8 * PAGE, 9 * PAGE].into_iter().enumerate() {
            let top = if i == 0 { 9 * PAGE } else { table_end(ipa, 3) };
            check(
                rmi::data_destroy(rd, ipa),
                [status::SUCCESS, data[i], top, 0, X4],
                format_args!("DATA_DESTROY({ipa:#x})"),
            )?;
        }
        realm.destroy_tables(0, &built)?;
        realm.destroy()?;
    }
    pool.undelegate_all()
}
