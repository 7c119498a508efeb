// SPDX-License-Identifier: MIT OR Apache-2.0
//! Realm measurements: the RIM's initial value and its extensions, and REM extension.
//!
//! Every function takes the hash engine to compress with ([`crate::sha`]: the CPU's SHA-2
//! instructions in the RMM, software elsewhere) and the realm's hash algorithm, and returns a
//! full 64-byte measurement buffer; SHA-256 fills the first 32 bytes and leaves the rest zero (TF-RMM's convention,
//! which RSI_MEASUREMENT_READ and the attestation token rely on). Descriptor layouts come from
//! `rmm_abi::measurement`; what goes into them is RMM 1.0-rel0's rule (reference C.3):
//!
//! | event | hashed |
//! |---|---|
//! | REALM_CREATE | a 4 KiB `RmiRealmParams` that is zero except `flags`, `s2sz`, `sve_vl`, `num_bps`, `num_wps`, `pmu_num_ctrs`, `hash_algo` |
//! | DATA_CREATE | the DATA descriptor: current RIM, IPA, flags, and H(content) if measured |
//! | REC_CREATE (runnable) | the REC descriptor: current RIM and H(`RmiRecParams` zero except `flags`, `pc`, `gprs`) |
//! | RTT_INIT_RIPAS | the RIPAS descriptor, once per RTT entry: current RIM, entry base and top |
//! | RSI_MEASUREMENT_EXTEND | H(REM\[0..hash length\] ‖ value\[0..size\]) |
//!
//! The two parameter pages (REALM_CREATE's and REC_CREATE's) are hashed without being built:
//! both are zero past their first few hundred bytes, so [`digest_zero_extended`] keeps only
//! half a page and those bytes, and hashes the page as two views of it. The digest is that of
//! the whole 4 KiB page, byte for byte.

use crate::sha::{SOFT, Sha2Engine, sha256, sha512};
use core::mem::{offset_of, size_of};
use rmm_abi::measurement::{
    MAX_MEASUREMENT_SIZE, Measurement, MeasurementDescData, MeasurementDescRec,
    MeasurementDescRipas,
};
use rmm_abi::rmi::realm_params::RealmParams;
use rmm_abi::rmi::rec_params::{REC_CREATE_NR_GPRS, RecParams};
use rmm_abi::rmi::states::HashAlgorithm;
use zerocopy::IntoBytes;

/// `RmiDataFlags` value that asks for the content to be measured.
pub const MEASURE_CONTENT: u64 = 1;

/// Length in bytes of `algorithm`'s digest.
pub const fn digest_len(algorithm: HashAlgorithm) -> usize {
    match algorithm {
        HashAlgorithm::Sha256 => 32,
        HashAlgorithm::Sha512 => 64,
    }
}

/// H(parts[0] ‖ parts[1] ‖ …) with `engine`, zero-padded to 64 bytes.
pub fn digest_with(
    engine: &dyn Sha2Engine,
    algorithm: HashAlgorithm,
    parts: &[&[u8]],
) -> Measurement {
    let mut out = [0u8; MAX_MEASUREMENT_SIZE];
    match algorithm {
        HashAlgorithm::Sha256 => out[..32].copy_from_slice(&sha256(engine, parts)),
        HashAlgorithm::Sha512 => out.copy_from_slice(&sha512(engine, parts)),
    }
    out
}

/// [`digest_with`] the software engine (for hosts and tests; the RMM passes the engine its
/// CPU offers).
pub fn digest(algorithm: HashAlgorithm, parts: &[&[u8]]) -> Measurement {
    digest_with(&SOFT, algorithm, parts)
}

/// The realm parameters that REALM_CREATE measures, already validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasuredRealmParams {
    /// `flags`.
    pub flags: u64,
    /// `s2sz` (the reference RMM reads and measures the low 32 bits of each of these
    /// fields; values the realm's flags leave unused are measured unvalidated).
    pub s2sz: u32,
    /// `sve_vl`.
    pub sve_vl: u32,
    /// `num_bps`.
    pub num_bps: u32,
    /// `num_wps`.
    pub num_wps: u32,
    /// `pmu_num_ctrs`.
    pub pmu_num_ctrs: u32,
    /// `hash_algo` (also the algorithm of the measurement).
    pub hash_algo: HashAlgorithm,
}

/// Size of the parameter pages REALM_CREATE and REC_CREATE measure.
const PARAMS_PAGE_SIZE: usize = 4096;

const _: () = assert!(size_of::<RealmParams>() == PARAMS_PAGE_SIZE);
const _: () = assert!(size_of::<RecParams>() == PARAMS_PAGE_SIZE);

/// Half a parameter page: a whole number of SHA-256 (64-byte) and SHA-512 (128-byte) blocks.
const HALF_PAGE: usize = PARAMS_PAGE_SIZE / 2;

const _: () = assert!(HALF_PAGE.is_multiple_of(128));

/// H(a parameter page that is zero past its first `N - HALF_PAGE` bytes) with `engine`,
/// zero-padded to 64 bytes, without building the page. `page` holds those bytes and then
/// [`HALF_PAGE`] zeros; the page is `page[..HALF_PAGE]` (its first half: the head, then zeros)
/// followed by `page[N - HALF_PAGE..]` (its second half, all zeros). Each view is whole hash
/// blocks and goes to the engine in one call straight from `page`.
fn digest_zero_extended<const N: usize>(
    engine: &dyn Sha2Engine,
    algorithm: HashAlgorithm,
    page: &[u8; N],
) -> Measurement {
    const { assert!(N >= HALF_PAGE && N <= PARAMS_PAGE_SIZE) };
    digest_with(
        engine,
        algorithm,
        &[&page[..HALF_PAGE], &page[N - HALF_PAGE..]],
    )
}

/// The bytes of `RmiRealmParams` that REALM_CREATE measures: its first seven fields, one run
/// of 64-bit slots from offset 0 (the rest of the page is zero).
const REALM_HEAD: usize = offset_of!(RealmParams, hash_algo) + 8;

const _: () = assert!(offset_of!(RealmParams, flags) == 0);
const _: () = assert!(REALM_HEAD == 7 * 8);

/// The initial RIM of a realm created with `params`: the hash of a 4 KiB `RmiRealmParams`
/// that is zero except for the seven measured fields.
pub fn rim_init(engine: &dyn Sha2Engine, params: &MeasuredRealmParams) -> Measurement {
    let head: [u64; 7] = [
        params.flags,
        u64::from(params.s2sz),
        u64::from(params.sve_vl),
        u64::from(params.num_bps),
        u64::from(params.num_wps),
        u64::from(params.pmu_num_ctrs),
        params.hash_algo as u64,
    ];
    let mut page = [0u8; REALM_HEAD + HALF_PAGE];
    page[..REALM_HEAD].copy_from_slice(head.as_bytes());
    digest_zero_extended(engine, params.hash_algo, &page)
}

/// The RIM after DATA_CREATE of `content` at `ipa` with `flags` (content is hashed only if
/// `flags` is [`MEASURE_CONTENT`]).
pub fn extend_data(
    engine: &dyn Sha2Engine,
    algorithm: HashAlgorithm,
    rim: &Measurement,
    ipa: u64,
    flags: u64,
    content: &[u8; 4096],
) -> Measurement {
    let content_hash = if flags == MEASURE_CONTENT {
        digest_with(engine, algorithm, &[content])
    } else {
        [0; MAX_MEASUREMENT_SIZE]
    };
    let desc = MeasurementDescData::new(*rim, ipa, flags, content_hash);
    digest_with(engine, algorithm, &[desc.as_bytes()])
}

/// The bytes of `RmiRecParams` that REC_CREATE's measurement may find non-zero: up to the end
/// of `gprs`, after `flags` and `pc`.
const REC_HEAD: usize = offset_of!(RecParams, gprs) + 8 * REC_CREATE_NR_GPRS;

const _: () = assert!(offset_of!(RecParams, flags) < offset_of!(RecParams, gprs));
const _: () = assert!(offset_of!(RecParams, pc) < offset_of!(RecParams, gprs));

/// The RIM after REC_CREATE of a runnable REC with these initial `flags`, `pc` and `gprs`.
pub fn extend_rec(
    engine: &dyn Sha2Engine,
    algorithm: HashAlgorithm,
    rim: &Measurement,
    flags: u64,
    pc: u64,
    gprs: &[u64; REC_CREATE_NR_GPRS],
) -> Measurement {
    // The hash of a 4 KiB `RmiRecParams` that is zero except for these three fields.
    let mut page = [0u8; REC_HEAD + HALF_PAGE];
    let mut put = |offset: usize, bytes: &[u8]| {
        if let Some(slot) = page.get_mut(offset..offset + bytes.len()) {
            slot.copy_from_slice(bytes);
        }
    };
    put(offset_of!(RecParams, flags), flags.as_bytes());
    put(offset_of!(RecParams, pc), pc.as_bytes());
    put(offset_of!(RecParams, gprs), gprs.as_bytes());
    let content = digest_zero_extended(engine, algorithm, &page);
    let desc = MeasurementDescRec::new(*rim, content);
    digest_with(engine, algorithm, &[desc.as_bytes()])
}

/// The RIM after RTT_INIT_RIPAS processed one RTT entry covering `[base, top)`.
pub fn extend_ripas(
    engine: &dyn Sha2Engine,
    algorithm: HashAlgorithm,
    rim: &Measurement,
    base: u64,
    top: u64,
) -> Measurement {
    let desc = MeasurementDescRipas::new(*rim, base, top);
    digest_with(engine, algorithm, &[desc.as_bytes()])
}

/// REM after RSI_MEASUREMENT_EXTEND with `value` (at most 64 bytes; `None` if longer).
pub fn extend_rem(
    engine: &dyn Sha2Engine,
    algorithm: HashAlgorithm,
    rem: &Measurement,
    value: &[u8],
) -> Option<Measurement> {
    if value.len() > MAX_MEASUREMENT_SIZE {
        return None;
    }
    Some(digest_with(
        engine,
        algorithm,
        &[&rem[..digest_len(algorithm)], value],
    ))
}

#[cfg(test)]
mod tests;
