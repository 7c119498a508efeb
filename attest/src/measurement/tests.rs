// SPDX-License-Identifier: MIT OR Apache-2.0
//! Each measurement is recomputed here from raw bytes placed at the reference's offsets
//! (RMM 1.0-rel0 C.3), independently of the `rmm_abi` layouts the code uses.

extern crate std;

use super::*;
use sha2::{Digest, Sha256, Sha512};
use std::vec::Vec;

fn put(buf: &mut [u8], offset: usize, bytes: &[u8]) {
    buf[offset..offset + bytes.len()].copy_from_slice(bytes);
}

fn reference_hash(algorithm: HashAlgorithm, bytes: &[u8]) -> Vec<u8> {
    match algorithm {
        HashAlgorithm::Sha256 => Sha256::digest(bytes).to_vec(),
        HashAlgorithm::Sha512 => Sha512::digest(bytes).to_vec(),
    }
}

fn padded(hash: Vec<u8>) -> Measurement {
    let mut out = [0; 64];
    out[..hash.len()].copy_from_slice(&hash);
    out
}

const BOTH: [HashAlgorithm; 2] = [HashAlgorithm::Sha256, HashAlgorithm::Sha512];

#[test]
fn digests_are_the_standard_ones_zero_padded() {
    let abc256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    let hex: std::string::String = digest(HashAlgorithm::Sha256, &[b"a", b"bc"])
        .iter()
        .map(|b| std::format!("{b:02x}"))
        .collect();
    assert_eq!(&hex[..64], abc256);
    assert!(
        hex[64..].chars().all(|c| c == '0'),
        "SHA-256 leaves bytes 32..64 zero"
    );
    let abc512 = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a";
    let hex: std::string::String = digest(HashAlgorithm::Sha512, &[b"abc"])
        .iter()
        .map(|b| std::format!("{b:02x}"))
        .collect();
    assert_eq!(&hex[..64], abc512);
}

#[test]
fn rim_init_hashes_the_params_page_with_only_the_measured_fields() {
    for algorithm in BOTH {
        let params = MeasuredRealmParams {
            flags: 0b10,
            s2sz: 40,
            sve_vl: 3,
            num_bps: 5,
            num_wps: 3,
            pmu_num_ctrs: 7,
            hash_algo: algorithm,
        };
        let mut page = [0u8; 4096];
        put(&mut page, 0x00, &0b10u64.to_le_bytes());
        put(&mut page, 0x08, &[40]);
        put(&mut page, 0x10, &[3]);
        put(&mut page, 0x18, &[5]);
        put(&mut page, 0x20, &[3]);
        put(&mut page, 0x28, &[7]);
        put(&mut page, 0x30, &[algorithm as u8]);
        assert_eq!(
            rim_init(&SOFT, &params),
            padded(reference_hash(algorithm, &page))
        );
    }
}

#[test]
fn data_descriptor_is_byte_exact_with_and_without_content() {
    let content: [u8; 4096] = core::array::from_fn(|i| (i * 7) as u8);
    for algorithm in BOTH {
        let rim = digest(algorithm, &[b"previous"]);
        for flags in [0, MEASURE_CONTENT] {
            let mut desc = [0u8; 0x100];
            put(&mut desc, 0x00, &[0x0]);
            put(&mut desc, 0x08, &0x100u64.to_le_bytes());
            put(&mut desc, 0x10, &rim);
            put(&mut desc, 0x50, &0x8000_3000u64.to_le_bytes());
            put(&mut desc, 0x58, &flags.to_le_bytes());
            if flags == MEASURE_CONTENT {
                put(
                    &mut desc,
                    0x60,
                    &padded(reference_hash(algorithm, &content)),
                );
            }
            assert_eq!(
                extend_data(&SOFT, algorithm, &rim, 0x8000_3000, flags, &content),
                padded(reference_hash(algorithm, &desc)),
                "{algorithm:?} flags {flags}"
            );
        }
    }
}

#[test]
fn rec_descriptor_hashes_the_measured_rec_params() {
    let gprs: [u64; 8] = [1, 2, 3, 4, 5, 6, 7, 0xFFFF_FFFF_FFFF_FFFF];
    for algorithm in BOTH {
        let rim = digest(algorithm, &[b"rim"]);
        let mut params = [0u8; 4096];
        put(&mut params, 0x000, &1u64.to_le_bytes());
        put(&mut params, 0x200, &0x8008_0000u64.to_le_bytes());
        for (i, g) in gprs.iter().enumerate() {
            put(&mut params, 0x300 + 8 * i, &g.to_le_bytes());
        }
        let mut desc = [0u8; 0x100];
        put(&mut desc, 0x00, &[0x1]);
        put(&mut desc, 0x08, &0x100u64.to_le_bytes());
        put(&mut desc, 0x10, &rim);
        put(&mut desc, 0x50, &padded(reference_hash(algorithm, &params)));
        assert_eq!(
            extend_rec(&SOFT, algorithm, &rim, 1, 0x8008_0000, &gprs),
            padded(reference_hash(algorithm, &desc))
        );
    }
}

#[test]
fn ripas_descriptor_holds_base_and_top() {
    for algorithm in BOTH {
        let rim = digest(algorithm, &[b"rim"]);
        let mut desc = [0u8; 0x100];
        put(&mut desc, 0x00, &[0x2]);
        put(&mut desc, 0x08, &0x100u64.to_le_bytes());
        put(&mut desc, 0x10, &rim);
        put(&mut desc, 0x50, &0x4000_0000u64.to_le_bytes());
        put(&mut desc, 0x58, &0x4020_0000u64.to_le_bytes());
        assert_eq!(
            extend_ripas(&SOFT, algorithm, &rim, 0x4000_0000, 0x4020_0000),
            padded(reference_hash(algorithm, &desc))
        );
    }
}

#[test]
fn rem_extension_hashes_the_digest_length_of_the_old_value() {
    for algorithm in BOTH {
        let rem = digest(algorithm, &[b"rem"]);
        let value = [0xAB; 64];
        for size in [0, 1, 32, 64] {
            let mut input = rem[..digest_len(algorithm)].to_vec();
            input.extend_from_slice(&value[..size]);
            assert_eq!(
                extend_rem(&SOFT, algorithm, &rem, &value[..size]),
                Some(padded(reference_hash(algorithm, &input)))
            );
        }
        assert_eq!(extend_rem(&SOFT, algorithm, &rem, &[0; 65]), None);
    }
}

/// The RIM of REALM_CREATE as it was computed before the page was hashed without being built: a whole
/// zeroed `RmiRealmParams` with the seven fields set, hashed in one piece.
fn materialised_rim_init(params: &MeasuredRealmParams) -> Measurement {
    let mut page = RealmParams::zeroed();
    page.flags = params.flags;
    page.s2sz = u64::from(params.s2sz);
    page.sve_vl = u64::from(params.sve_vl);
    page.num_bps = u64::from(params.num_bps);
    page.num_wps = u64::from(params.num_wps);
    page.pmu_num_ctrs = u64::from(params.pmu_num_ctrs);
    page.hash_algo = params.hash_algo as u64;
    digest(params.hash_algo, &[page.as_bytes()])
}

/// REC_CREATE's content hash as it was computed before: a whole zeroed `RmiRecParams`.
fn materialised_rec_content(
    algorithm: HashAlgorithm,
    flags: u64,
    pc: u64,
    gprs: &[u64; REC_CREATE_NR_GPRS],
) -> Measurement {
    let mut page = RecParams::zeroed();
    page.flags = flags;
    page.pc = pc;
    page.gprs = *gprs;
    digest(algorithm, &[page.as_bytes()])
}

#[test]
fn rim_init_equals_the_materialised_page() {
    let sets = [
        (0, 32, 0, 2, 2, 0),
        (0b10, 40, 3, 5, 3, 7),
        (0b111, 48, 15, 16, 16, 31),
        (u64::MAX, u32::MAX, u32::MAX, u32::MAX, u32::MAX, u32::MAX),
        (1 << 63, 0, 0, 0, 0, 0),
    ];
    for algorithm in BOTH {
        for (flags, s2sz, sve_vl, num_bps, num_wps, pmu_num_ctrs) in sets {
            let params = MeasuredRealmParams {
                flags,
                s2sz,
                sve_vl,
                num_bps,
                num_wps,
                pmu_num_ctrs,
                hash_algo: algorithm,
            };
            assert_eq!(
                rim_init(&SOFT, &params),
                materialised_rim_init(&params),
                "{params:?}"
            );
        }
    }
}

#[test]
fn rec_content_equals_the_materialised_page() {
    let sets: [(u64, u64, [u64; 8]); 4] = [
        (1, 0x8008_0000, [1, 2, 3, 4, 5, 6, 7, 0xFFFF_FFFF_FFFF_FFFF]),
        (0, 0, [0; 8]),
        (u64::MAX, u64::MAX, [u64::MAX; 8]),
        (
            3,
            0x4000_0000_0000,
            core::array::from_fn(|i| (i as u64) << 60),
        ),
    ];
    for algorithm in BOTH {
        let rim = digest(algorithm, &[b"rim"]);
        for (flags, pc, gprs) in sets {
            let content = materialised_rec_content(algorithm, flags, pc, &gprs);
            let desc = MeasurementDescRec::new(rim, content);
            assert_eq!(
                extend_rec(&SOFT, algorithm, &rim, flags, pc, &gprs),
                digest(algorithm, &[desc.as_bytes()]),
                "{algorithm:?} {flags:#x} {pc:#x}"
            );
        }
    }
}

/// [`digest_zero_extended`] of a page holding the first `N - HALF_PAGE` bytes of `bytes`.
fn zero_extended<const N: usize>(algorithm: HashAlgorithm, bytes: &[u8]) -> Measurement {
    let mut page = [0u8; N];
    let head = N - HALF_PAGE;
    page[..head].copy_from_slice(&bytes[..head]);
    digest_zero_extended(&SOFT, algorithm, &page)
}

#[test]
fn zero_extended_pages_hash_as_the_whole_page() {
    // Heads of whole blocks and of odd lengths, none, and half the page: each digest is that
    // of the head followed by zeros to 4 KiB.
    let bytes: [u8; HALF_PAGE] = core::array::from_fn(|i| (i as u8) | 1);
    for algorithm in BOTH {
        let cases = [
            (0, zero_extended::<{ HALF_PAGE }>(algorithm, &bytes)),
            (1, zero_extended::<{ HALF_PAGE + 1 }>(algorithm, &bytes)),
            (56, zero_extended::<{ HALF_PAGE + 56 }>(algorithm, &bytes)),
            (128, zero_extended::<{ HALF_PAGE + 128 }>(algorithm, &bytes)),
            (832, zero_extended::<{ HALF_PAGE + 832 }>(algorithm, &bytes)),
            (
                2047,
                zero_extended::<{ HALF_PAGE + 2047 }>(algorithm, &bytes),
            ),
            (
                HALF_PAGE,
                zero_extended::<{ 2 * HALF_PAGE }>(algorithm, &bytes),
            ),
        ];
        for (head, digest) in cases {
            let mut page = [0u8; PARAMS_PAGE_SIZE];
            page[..head].copy_from_slice(&bytes[..head]);
            assert_eq!(
                digest,
                padded(reference_hash(algorithm, &page)),
                "{algorithm:?} head of {head} bytes"
            );
        }
    }
}
