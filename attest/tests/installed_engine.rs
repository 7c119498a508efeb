// SPDX-License-Identifier: MIT OR Apache-2.0
//! The engine the firmware installs (`attest::sha384_digest::install`) is the one RFC 6979's
//! HMAC-DRBG hashes with while signing, and the signature does not change with it. Its own
//! test binary: the installed engine is process-wide.

use attest::sha::{SOFT, Sha2Engine};
use attest::token::es384::SignState;
use attest::token::key::RealmSigningKey;
use std::sync::atomic::{AtomicUsize, Ordering};

const SAMPLE_KEY: &[u8; 48] = include_bytes!("data/tfa-sample-realm-attest-key.bin");

/// Counts the SHA-512-family blocks it compresses and delegates to software.
struct Counting(AtomicUsize);

impl Sha2Engine for Counting {
    fn compress256(&self, state: &mut [u32; 8], blocks: &[[u8; 64]]) {
        SOFT.compress256(state, blocks)
    }

    fn compress512(&self, state: &mut [u64; 8], blocks: &[[u8; 128]]) {
        self.0.fetch_add(blocks.len(), Ordering::Relaxed);
        SOFT.compress512(state, blocks)
    }
}

static COUNTING: Counting = Counting(AtomicUsize::new(0));

#[test]
fn signing_hashes_through_the_installed_engine() {
    let mut raw = *SAMPLE_KEY;
    let key = RealmSigningKey::from_raw_scalar(&mut raw).unwrap();
    let message: &[&[u8]] = &[b"a token's Sig_structure", &[7u8; 300]];
    let reference = key.sign(message).unwrap();
    attest::sha384_digest::install(&COUNTING);
    let mut state = SignState::new();
    let signature = loop {
        if let Some(signature) = key.sign_step(&mut state, message).unwrap() {
            break signature;
        }
    };
    // The message's SHA-384 (3 blocks) and the HMAC-DRBG's (at least 4 HMACs of 2 hashes).
    let blocks = COUNTING.0.load(Ordering::Relaxed);
    assert!(
        blocks >= 3 + 8,
        "{blocks} blocks through the installed engine"
    );
    assert_eq!(signature, reference);
}
