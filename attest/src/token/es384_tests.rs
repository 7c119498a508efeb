// SPDX-License-Identifier: MIT OR Apache-2.0
//! Tests of the stepped ES384 signer (`es384.rs`): byte-identical to p384's one-shot
//! `try_multipart_sign` (and so to RFC 6979's published vectors), resumable from its saved
//! form after every step, a fixed and bounded number of steps, the restart with the next
//! nonce, and refusal of corrupted saved states.

extern crate std;

use super::es384::{DIGITS, MAX_ATTEMPTS, SCHEDULE, STATE_BYTES, STEPS, SignState};
use super::key::{RealmSigningKey, SIGNATURE_LEN};
use p384::ecdsa::signature::Verifier;
use p384::ecdsa::{Signature, SigningKey, VerifyingKey};
use std::vec::Vec;

const SAMPLE_KEY: &[u8; 48] = include_bytes!("../../tests/data/tfa-sample-realm-attest-key.bin");

fn key(raw: &[u8; 48]) -> RealmSigningKey {
    let mut raw = *raw;
    RealmSigningKey::from_raw_scalar(&mut raw).expect("valid key")
}

fn unhex<const N: usize>(s: &str) -> [u8; N] {
    let s: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    assert_eq!(s.len(), 2 * N);
    core::array::from_fn(|i| {
        u8::from_str_radix(core::str::from_utf8(&s[2 * i..2 * i + 2]).unwrap(), 16).unwrap()
    })
}

/// Signs in steps, counting them; `through_bytes` saves and restores the state between
/// every two steps, as the RMM does through the REC's auxiliary granule.
fn stepped(key: &RealmSigningKey, parts: &[&[u8]], through_bytes: bool) -> ([u8; 96], usize) {
    let mut state = SignState::new();
    for steps in 1..=STEPS + 1 {
        let done = key.sign_step(&mut state, parts).expect("step");
        if let Some(signature) = done {
            return (signature, steps);
        }
        if through_bytes {
            let mut bytes = [0u8; STATE_BYTES];
            state.save(&mut bytes);
            state = SignState::restore(&bytes).expect("a saved state restores");
        }
    }
    panic!("more than {STEPS} steps");
}

/// Messages of many shapes, split into parts in several ways.
fn messages() -> Vec<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for len in [0usize, 1, 47, 48, 111, 112, 128, 641, 700, 3000] {
        let m: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
        out.push(std::vec![m.clone()]);
        let cut = len / 3;
        out.push(std::vec![m[..cut].to_vec(), Vec::new(), m[cut..].to_vec()]);
    }
    out
}

#[test]
fn schedule_covers_every_digit_in_a_bounded_number_of_steps() {
    const { assert!(STEPS >= 3, "signing must really be split") };
    const { assert!(STEPS <= 8, "and not into many tiny steps") };
    assert_eq!(
        SCHEDULE.iter().map(|&n| usize::from(n)).sum::<usize>(),
        DIGITS
    );
    assert!(
        SCHEDULE.iter().all(|&n| n > 0 && usize::from(n) <= 24),
        "{SCHEDULE:?}"
    );
    const { assert!(STATE_BYTES <= 256) };
}

#[test]
fn stepped_signatures_equal_p384_one_shot_signatures() {
    let mut keys = std::vec![key(SAMPLE_KEY)];
    for seed in [1u8, 0x5a, 0xfe] {
        let mut raw: [u8; 48] = core::array::from_fn(|i| (i as u8).wrapping_mul(seed) ^ seed);
        raw[0] &= 0x7f; // below the order
        keys.push(key(&raw));
    }
    for key in &keys {
        for message in messages() {
            let parts: Vec<&[u8]> = message.iter().map(Vec::as_slice).collect();
            let one_shot = key.sign(&parts).unwrap();
            for through_bytes in [false, true] {
                let (signature, steps) = stepped(key, &parts, through_bytes);
                assert_eq!(signature, one_shot, "{} bytes", parts.concat().len());
                assert_eq!(steps, STEPS);
            }
        }
    }
}

#[test]
fn rfc6979_p384_sha384_vectors() {
    // RFC 6979 A.2.6 (also in p384's own tests): the stepped signer gives the published r ‖ s.
    let key = key(&unhex(
        "6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d896d5724e4c70a825f872c9ea60d2edf5",
    ));
    for (message, expected) in [
        (
            &b"sample"[..],
            "94edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c81a648152e44acf96e36dd1e80fabe46
             99ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94fa329c145786e679e7b82c71a38628ac8",
        ),
        (
            &b"test"[..],
            "8203b63d3c853e8d77227fb377bcf7b7b772e97892a80f36ab775d509d7a5feb0542a7f0812998da8f1dd3ca3cf023db
             ddd0760448d42d8a43af45af836fce4de8be06b485e9b61b827c2f13173923e06a739f040649a667bf3b828246baa5a5",
        ),
    ] {
        let (signature, _) = stepped(&key, &[message], true);
        assert_eq!(signature, unhex::<SIGNATURE_LEN>(expected));
    }
}

#[test]
fn a_restart_takes_the_next_rfc6979_nonce_and_still_verifies() {
    // r or s = 0 cannot be provoked (probability ~2^-383); force the restart's state instead:
    // attempt 1 signs with the second RFC 6979 candidate, a different valid signature.
    let key = key(SAMPLE_KEY);
    let message: &[&[u8]] = &[b"restart"];
    let (first, _) = stepped(&key, message, false);
    let mut bytes = [0u8; STATE_BYTES];
    SignState::new().save(&mut bytes);
    bytes[4..8].copy_from_slice(&1u32.to_le_bytes());
    let mut state = SignState::restore(&bytes).unwrap();
    let mut signature = None;
    for _ in 0..STEPS {
        signature = key.sign_step(&mut state, message).unwrap();
    }
    let second = signature.expect("done after STEPS steps");
    assert_ne!(first, second);
    let mut raw = *SAMPLE_KEY;
    let verifier = VerifyingKey::from(&SigningKey::from_slice(&raw).unwrap());
    raw.fill(0);
    let second = Signature::from_slice(&second).unwrap();
    assert!(verifier.verify(b"restart", &second).is_ok());
}

#[test]
fn the_state_is_wiped_when_done_and_corruption_is_refused() {
    let key = key(SAMPLE_KEY);
    let message: &[&[u8]] = &[b"state"];
    let mut state = SignState::new();
    assert!(key.sign_step(&mut state, message).unwrap().is_none());
    assert_eq!(state.steps_done(), 1);
    let mut saved = [0u8; STATE_BYTES];
    state.save(&mut saved);
    assert!(SignState::restore(&saved).is_some());

    // Step out of range, identity flag other than 0/1, reserved bytes, nonce 0 or >= n,
    // a partial point off the curve.
    let mut cases: Vec<[u8; STATE_BYTES]> = Vec::new();
    for (at, value) in [(0, STEPS as u8), (0, 0xff), (1, 2), (2, 1), (3, 0x80)] {
        let mut bad = saved;
        bad[at] = value;
        cases.push(bad);
    }
    for k in [0x00, 0xff] {
        let mut bad = saved;
        bad[8..8 + 48].fill(k);
        cases.push(bad);
    }
    let mut bad = saved;
    bad[8 + 2 * 48 + 47] ^= 1; // x
    cases.push(bad);
    // An attempt at the bound (also when not started: the first step would draw that many
    // DRBG candidates).
    for from in [saved, [0; STATE_BYTES]] {
        let mut bad = from;
        bad[4..8].copy_from_slice(&MAX_ATTEMPTS.to_le_bytes());
        cases.push(bad);
    }
    for (i, bad) in cases.iter().enumerate() {
        assert!(SignState::restore(bad).is_none(), "case {i}");
    }
    let mut last = [0; STATE_BYTES];
    last[4..8].copy_from_slice(&(MAX_ATTEMPTS - 1).to_le_bytes());
    assert!(SignState::restore(&last).is_some());
    // Not started: nothing else is looked at.
    assert!(SignState::restore(&[0; STATE_BYTES]).is_some());

    let mut signature = None;
    while signature.is_none() {
        signature = key.sign_step(&mut state, message).unwrap();
    }
    state.save(&mut saved);
    assert_eq!(saved, [0; STATE_BYTES], "nothing of the nonce is left");
    assert!(std::format!("{state:?}").starts_with("SignState { step: 0"));
}

/// The realm public key (`d·G` with the signer's fixed-base multiplication) is p384's own
/// public key for the sample key, for the scalars at both ends of the range and for a spread
/// of others; scalars 0 and `n` and beyond are refused as keys.
#[test]
fn the_public_key_is_p384s() {
    use p384::elliptic_curve::point::AffineCoordinates;
    let n_minus_1 = unhex::<48>(
        "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52972",
    );
    let mut scalars: Vec<[u8; 48]> = std::vec![*SAMPLE_KEY, n_minus_1];
    let mut one = [0u8; 48];
    one[47] = 1;
    scalars.push(one);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..16 {
        let mut raw = [0u8; 48];
        for chunk in raw.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_be_bytes());
        }
        raw[0] &= 0x7f; // below n
        scalars.push(raw);
    }
    for raw in &scalars {
        let ours = key(raw);
        let theirs = *SigningKey::from_slice(raw)
            .unwrap()
            .verifying_key()
            .as_affine();
        let x: [u8; 48] = theirs.x().into();
        let y: [u8; 48] = theirs.y().into();
        assert_eq!(
            ours.public_key(),
            &super::cose_key::CoseKey::from_coordinates(&x, &y),
            "{raw:02x?}"
        );
    }
    let mut n = n_minus_1;
    n[47] += 1;
    for mut bad in [[0u8; 48], n, [0xff; 48]] {
        assert!(RealmSigningKey::from_raw_scalar(&mut bad).is_err());
        assert_eq!(bad, [0; 48], "the raw scalar is wiped on failure too");
    }
}
