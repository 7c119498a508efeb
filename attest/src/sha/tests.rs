// SPDX-License-Identifier: MIT OR Apache-2.0
//! The engine seam with the software engine against FIPS 180-4's examples and digests from
//! coreutils' `sha256sum`/`sha512sum`, and against the `sha2` crate's own hashers on random
//! input cut into random pieces.

extern crate std;

use super::*;
use core::sync::atomic::{AtomicUsize, Ordering};
use proptest::prelude::*;
use sha2::Digest;
use std::vec::Vec;

fn hex(bytes: &[u8]) -> std::string::String {
    bytes.iter().map(|b| std::format!("{b:02x}")).collect()
}

const TWO_BLOCK_256: &[u8] = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
const TWO_BLOCK_512: &[u8] = b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

#[test]
fn fips_180_4_examples_sha256() {
    let cases: [(&[u8], &str); 3] = [
        (
            b"abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            b"",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (
            TWO_BLOCK_256,
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
    ];
    for (message, expected) in cases {
        assert_eq!(hex(&sha256(&SOFT, &[message])), expected);
    }
}

#[test]
fn fips_180_4_examples_sha512() {
    let cases: [(&[u8], &str); 3] = [
        (
            b"abc",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
        (
            b"",
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
             47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
        ),
        (
            TWO_BLOCK_512,
            "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018\
             501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
        ),
    ];
    for (message, expected) in cases {
        assert_eq!(hex(&sha512(&SOFT, &[message])), expected);
    }
}

#[test]
fn a_zero_page_and_a_million_a() {
    let page = [0u8; 4096];
    assert_eq!(
        hex(&sha256(&SOFT, &[&page])),
        "ad7facb2586fc6e966c004d7d1d16b024f5805ff7cb47c7a85dabd8b48892ca7"
    );
    assert_eq!(
        hex(&sha512(&SOFT, &[&page])),
        "2d23913d3759ef01704a86b4bee3ac8a29002313ecc98a7424425a78170f2195\
         77822fd77e4ae96313547696ad7d5949b58e12d5063ef2ee063b595740a3a12d"
    );
    // FIPS 180-4's long message, fed in pieces that straddle every block boundary.
    let a = [b'a'; 1000];
    let parts: Vec<&[u8]> = (0..1000).map(|_| &a[..]).collect();
    assert_eq!(
        hex(&sha256(&SOFT, &parts)),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    );
    assert_eq!(
        hex(&sha512(&SOFT, &parts)),
        "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb\
         de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"
    );
}

#[test]
fn the_page_vector_is_the_pattern_it_claims() {
    let page: Vec<u8> = (0..4096).map(|i: u32| (i * 7 + 3) as u8).collect();
    let vector = &KAT_VECTORS[4];
    assert_eq!(vector.message, KatMessage::Page);
    assert_eq!(sha256(&SOFT, &[&page]), vector.sha256);
    assert_eq!(sha512(&SOFT, &[&page]), vector.sha512);
    assert_eq!(
        hex(&vector.sha256),
        "7486da8f1e13943fae21a0b043f1e99640d7d8ebafb25266478b5cddae1272b5"
    );
}

#[test]
fn every_length_around_the_padding_boundaries_matches_sha2() {
    let data: Vec<u8> = (0..300u32).map(|i| (i * 31 + 5) as u8).collect();
    for len in 0..=data.len() {
        let m = &data[..len];
        assert_eq!(
            sha256(&SOFT, &[m])[..],
            sha2::Sha256::digest(m)[..],
            "{len}"
        );
        assert_eq!(
            sha512(&SOFT, &[m])[..],
            sha2::Sha512::digest(m)[..],
            "{len}"
        );
    }
}

#[test]
fn the_software_engine_passes_its_known_answer_test() {
    assert_eq!(known_answer_test(&SOFT, true), Ok(()));
}

/// The software engine with one state bit flipped after `flip_after` compressions of the
/// chosen size: a stand-in for a faulty accelerator.
struct Faulty {
    sha512: bool,
    flip_after: usize,
    calls: AtomicUsize,
}

impl Faulty {
    fn new(sha512: bool, flip_after: usize) -> Self {
        Self {
            sha512,
            flip_after,
            calls: AtomicUsize::new(0),
        }
    }
}

impl Sha2Engine for Faulty {
    fn compress256(&self, state: &mut [u32; 8], blocks: &[[u8; 64]]) {
        SOFT.compress256(state, blocks);
        if !self.sha512 && self.calls.fetch_add(1, Ordering::Relaxed) == self.flip_after {
            state[3] ^= 1 << 7;
        }
    }

    fn compress512(&self, state: &mut [u64; 8], blocks: &[[u8; 128]]) {
        SOFT.compress512(state, blocks);
        if self.sha512 && self.calls.fetch_add(1, Ordering::Relaxed) == self.flip_after {
            state[6] ^= 1 << 40;
        }
    }
}

#[test]
fn the_known_answer_test_catches_a_faulty_engine() {
    for sha512 in [false, true] {
        // Each call that can go wrong is caught, whichever vector it belongs to.
        for flip_after in 0..12 {
            let engine = Faulty::new(sha512, flip_after);
            let result = known_answer_test(&engine, true);
            let failure = result.expect_err("a flipped bit must fail the test");
            assert_eq!(
                failure.algorithm,
                if sha512 { "SHA-512" } else { "SHA-256" }
            );
        }
    }
    // A faulty SHA-512 goes unnoticed only when SHA-512 is not checked (FEAT_SHA256 alone).
    let engine = Faulty::new(true, 0);
    assert_eq!(known_answer_test(&engine, false), Ok(()));
}

/// Records the number of blocks of every call, to check how input reaches the engine.
struct Recording(std::sync::Mutex<Vec<usize>>);

impl Sha2Engine for Recording {
    fn compress256(&self, state: &mut [u32; 8], blocks: &[[u8; 64]]) {
        self.0.lock().unwrap().push(blocks.len());
        SOFT.compress256(state, blocks);
    }

    fn compress512(&self, state: &mut [u64; 8], blocks: &[[u8; 128]]) {
        self.0.lock().unwrap().push(blocks.len());
        SOFT.compress512(state, blocks);
    }
}

#[test]
fn whole_blocks_go_to_the_engine_in_one_call_and_padding_in_another() {
    let engine = Recording(std::sync::Mutex::new(Vec::new()));
    // A 256-byte measurement descriptor: 4 blocks, then the padding block.
    let desc = [0x5au8; 256];
    assert_eq!(sha256(&engine, &[&desc]), sha256(&SOFT, &[&desc]));
    assert_eq!(*engine.0.lock().unwrap(), [4, 1]);
    engine.0.lock().unwrap().clear();
    // 56 bytes leave no room for the length: two padding blocks, still one call.
    assert_eq!(
        sha256(&engine, &[&desc[..56]]),
        sha256(&SOFT, &[&desc[..56]])
    );
    assert_eq!(*engine.0.lock().unwrap(), [2]);
    engine.0.lock().unwrap().clear();
    // A 4 KiB page under SHA-512: 32 blocks at once, then one padding block.
    let page = [1u8; 4096];
    assert_eq!(sha512(&engine, &[&page]), sha512(&SOFT, &[&page]));
    assert_eq!(*engine.0.lock().unwrap(), [32, 1]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_messages_in_random_pieces_match_sha2(
        data in proptest::collection::vec(any::<u8>(), 0..1200),
        cuts in proptest::collection::vec(any::<u16>(), 0..6),
    ) {
        let mut cuts: Vec<usize> = cuts.iter().map(|&c| usize::from(c) % (data.len() + 1)).collect();
        cuts.sort_unstable();
        let mut parts: Vec<&[u8]> = Vec::new();
        let mut start = 0;
        for cut in cuts {
            parts.push(&data[start..cut]);
            start = cut;
        }
        parts.push(&data[start..]);
        prop_assert_eq!(&sha256(&SOFT, &parts)[..], &sha2::Sha256::digest(&data)[..]);
        prop_assert_eq!(&sha512(&SOFT, &parts)[..], &sha2::Sha512::digest(&data)[..]);
    }
}
