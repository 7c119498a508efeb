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

use crate::sha::{SOFT, Sha2Engine, sha256, sha512};
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

/// The initial RIM of a realm created with `params`.
pub fn rim_init(engine: &dyn Sha2Engine, params: &MeasuredRealmParams) -> Measurement {
    let mut page = RealmParams::zeroed();
    page.flags = params.flags;
    page.s2sz = u64::from(params.s2sz);
    page.sve_vl = u64::from(params.sve_vl);
    page.num_bps = u64::from(params.num_bps);
    page.num_wps = u64::from(params.num_wps);
    page.pmu_num_ctrs = u64::from(params.pmu_num_ctrs);
    page.hash_algo = params.hash_algo as u64;
    digest_with(engine, params.hash_algo, &[page.as_bytes()])
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

/// The RIM after REC_CREATE of a runnable REC with these initial `flags`, `pc` and `gprs`.
pub fn extend_rec(
    engine: &dyn Sha2Engine,
    algorithm: HashAlgorithm,
    rim: &Measurement,
    flags: u64,
    pc: u64,
    gprs: &[u64; REC_CREATE_NR_GPRS],
) -> Measurement {
    let mut params = RecParams::zeroed();
    params.flags = flags;
    params.pc = pc;
    params.gprs = *gprs;
    let content = digest_with(engine, algorithm, &[params.as_bytes()]);
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
