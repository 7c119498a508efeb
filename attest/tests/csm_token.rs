// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CSM claims (65001 `csm-realm-id`, 65002 `csm-shares`) decoded with an independent
//! implementation (ciborium, coset, p384's verifier): every share field, the largest token
//! (48 shares) with its bounded signing steps and its session saved and restored between
//! calls, a CSM-free token byte for byte as before, and the refusals (too many shares, a store
//! too small or missing).

use attest::token::claims::{CLAIMS_MAX_LEN, claims_len};
use attest::token::csm::{CSM_CLAIMS_MAX_LEN, MAX_SHARES, SHARE_MAX_LEN, share_keys};
use attest::token::es384;
use attest::token::session::{
    HASH_STEP_BLOCKS, HASH_WITH_FIRST_STEP_MAX, SESSION_BYTES, STORE_BYTES, hash_steps,
    message_len, signing_steps,
};
use attest::token::{
    Continue, CoseKey, CsmClaims, CsmShare, RealmClaims, RealmSigningKey, Role, ShareMode,
    ShareSlice, SignStatus, TokenError, TokenSession,
};
use ciborium::Value;
use coset::{CoseSign1, TaggedCborSerializable};
use p384::ecdsa::signature::Verifier;
use p384::ecdsa::{Signature, VerifyingKey};
use rmm_abi::measurement::Measurement;
use rmm_abi::rmi::states::HashAlgorithm;

const SAMPLE_KEY: &[u8; 48] = include_bytes!("data/tfa-sample-realm-attest-key.bin");
const SAMPLE_PLATFORM_TOKEN: &[u8] = include_bytes!("data/tfa-sample-platform-token.bin");
/// The sample key's public point (computed with OpenSSL), uncompressed SEC1.
const SAMPLE_X: &str = "76f988091be585ed41801aecfab858548c63057e16b0e676120bbd0d2f9c29e056c5d41a0130eb9c21517899dc23146b";
const SAMPLE_Y: &str = "28e1b062bd3ea4b315fd219f1cbb528cb6e74ca49be16773734f61a1ca61031b2bbf3d918f2f94ffc4228e50919544ae";

fn sample_key() -> RealmSigningKey {
    let mut raw = *SAMPLE_KEY;
    RealmSigningKey::from_raw_scalar(&mut raw).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

struct Inputs {
    challenge: [u8; 64],
    rpv: [u8; 64],
    algo: HashAlgorithm,
    rim: Measurement,
    rems: [Measurement; 4],
}

impl Inputs {
    fn new(algo: HashAlgorithm) -> Self {
        Self {
            challenge: std::array::from_fn(|i| 0xC0 ^ i as u8),
            rpv: std::array::from_fn(|i| i as u8),
            algo,
            rim: [0x11; 64],
            rems: [[0x21; 64], [0x22; 64], [0x23; 64], [0x24; 64]],
        }
    }

    fn claims<'a>(&'a self, key: &'a CoseKey, csm: Option<CsmClaims<'a>>) -> RealmClaims<'a> {
        RealmClaims {
            challenge: &self.challenge,
            personalization: &self.rpv,
            public_key: key,
            hash_algo: self.algo,
            rim: &self.rim,
            rems: &self.rems,
            csm,
        }
    }
}

/// Share `i` of a varied list: both roles, both modes, both hash algorithms, attached or
/// not; the RIM padded with 0xEE past its digest length (which must not appear in the
/// token).
fn share(i: usize) -> CsmShare {
    let peer_hash = if i.is_multiple_of(3) {
        HashAlgorithm::Sha512
    } else {
        HashAlgorithm::Sha256
    };
    let mut peer_rim = [0xEE; 64];
    peer_rim[..peer_hash.digest_len()].fill(0x40 + i as u8);
    CsmShare {
        role: if i.is_multiple_of(2) {
            Role::Provider
        } else {
            Role::Consumer
        },
        region_id: 1 + i as u64 / 4,
        share_id: 100 + i as u64,
        peer_realm_id: 1000 + i as u64,
        peer_rim,
        peer_rpv: [0x80 + i as u8; 64],
        peer_hash,
        size: 0x1000 << (i % 12),
        mode: if i % 4 == 1 {
            ShareMode::Read
        } else {
            ShareMode::ReadWrite
        },
        attached: !i.is_multiple_of(5),
    }
}

/// The largest share map: every number at its longest encoding, SHA-512.
fn largest_share(i: usize) -> CsmShare {
    CsmShare {
        role: Role::Consumer,
        region_id: u64::MAX - i as u64,
        share_id: u64::MAX - 100 - i as u64,
        peer_realm_id: u64::MAX - 200 - i as u64,
        peer_rim: [i as u8; 64],
        peer_rpv: [!(i as u8); 64],
        peer_hash: HashAlgorithm::Sha512,
        size: u64::MAX,
        mode: ShareMode::ReadWrite,
        attached: true,
    }
}

/// A token made through a session with its CSM claims in `store`, the session saved and
/// restored between every call, yielding after every signing step, copied 1,000 bytes at a
/// time. Returns the token and the signing steps it took.
fn make_token(
    key: &RealmSigningKey,
    claims: &RealmClaims<'_>,
    store: &mut [u8],
) -> (Vec<u8>, usize) {
    let mut session = TokenSession::new();
    let len = session
        .init_with(store, claims, SAMPLE_PLATFORM_TOKEN.len())
        .unwrap();
    assert_eq!(session.claims_len(), claims.encoded_len());
    let mut saved = [0u8; SESSION_BYTES];
    session.save(&mut saved);
    let mut out = vec![0u8; len];
    let mut at = 0;
    let mut steps = 0;
    loop {
        let mut s = TokenSession::restore(&saved);
        let end = (at + 1000).min(len);
        let r = s
            .continue_token_with(
                key,
                &*store,
                &attest::sha::SOFT,
                SAMPLE_PLATFORM_TOKEN,
                &mut out[at..end],
                || true,
            )
            .unwrap();
        s.save(&mut saved);
        match r {
            Continue::Yield => {
                steps += 1;
                if steps < signing_steps(claims.encoded_len()) {
                    assert_eq!(s.signing_steps_done(), steps);
                }
            }
            Continue::Incomplete { written } => at += written,
            Continue::Done { written } => {
                at += written;
                break;
            }
        }
    }
    assert_eq!(at, len);
    (out, steps)
}

/// Decodes the token and checks the realm signature; returns the realm claims.
fn realm_claims(token: &[u8]) -> Vec<(i128, Value)> {
    let Value::Tag(399, inner) = ciborium::from_reader(token).unwrap() else {
        panic!("not tag 399");
    };
    let Value::Map(collection) = *inner else {
        panic!("collection not a map");
    };
    assert_eq!(collection.len(), 2);
    let realm = collection[1].1.as_bytes().unwrap();
    let sign1 = CoseSign1::from_tagged_slice(realm).unwrap();
    let mut sec1 = vec![0x04];
    sec1.extend(unhex(SAMPLE_X));
    sec1.extend(unhex(SAMPLE_Y));
    let vk = VerifyingKey::from_sec1_bytes(&sec1).unwrap();
    sign1
        .verify_signature(b"", |sig, data| {
            vk.verify(data, &Signature::from_slice(sig).unwrap())
        })
        .expect("the realm signature verifies");
    let payload: Value = ciborium::from_reader(sign1.payload.as_deref().unwrap()).unwrap();
    let Value::Map(claims) = payload else {
        panic!("claims not a map");
    };
    claims
        .into_iter()
        .map(|(k, v)| (i128::from(k.as_integer().unwrap()), v))
        .collect()
}

fn uint(v: &Value) -> u64 {
    u64::try_from(i128::from(v.as_integer().expect("an integer"))).unwrap()
}

/// Checks a decoded `csm-shares` entry against its input, field by field.
fn check_share(got: &Value, want: &CsmShare) {
    let Value::Map(entries) = got else {
        panic!("a share is not a map");
    };
    let keys: Vec<u64> = entries.iter().map(|(k, _)| uint(k)).collect();
    assert_eq!(keys, (1..=10).collect::<Vec<u64>>(), "keys 1..=10 in order");
    let field = |k: u64| &entries[k as usize - 1].1;
    assert_eq!(uint(field(share_keys::ROLE)), want.role as u64);
    assert_eq!(uint(field(share_keys::REGION_ID)), want.region_id);
    assert_eq!(uint(field(share_keys::SHARE_ID)), want.share_id);
    assert_eq!(uint(field(share_keys::PEER_REALM_ID)), want.peer_realm_id);
    let h = want.peer_hash.digest_len();
    assert_eq!(
        field(share_keys::PEER_RIM).as_bytes().unwrap().as_slice(),
        &want.peer_rim[..h]
    );
    assert_eq!(
        field(share_keys::PEER_RPV).as_bytes().unwrap().as_slice(),
        &want.peer_rpv
    );
    let name = if h == 32 { "sha-256" } else { "sha-512" };
    assert_eq!(field(share_keys::PEER_HASH_ALGO).as_text(), Some(name));
    assert_eq!(uint(field(share_keys::SIZE)), want.size);
    assert_eq!(uint(field(share_keys::MODE)), want.mode as u64);
    assert_eq!(field(share_keys::ATTACHED).as_bool(), Some(want.attached));
}

fn check_csm_claims(claims: &[(i128, Value)], realm_id: u64, shares: &[CsmShare]) {
    let order: Vec<i128> = claims.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        order,
        [
            10, 44235, 44237, 44236, 44240, 265, 44238, 44239, 65001, 65002
        ],
        "the reference order, then the CSM claims"
    );
    assert_eq!(uint(&claims[8].1), realm_id);
    let Value::Array(got) = &claims[9].1 else {
        panic!("csm-shares is not an array");
    };
    assert_eq!(got.len(), shares.len());
    for (got, want) in got.iter().zip(shares) {
        check_share(got, want);
    }
}

#[test]
fn csm_claims_decode_field_by_field() {
    let key = sample_key();
    let shares: Vec<CsmShare> = (0..7).map(share).collect();
    let source = ShareSlice(&shares);
    for algo in [HashAlgorithm::Sha256, HashAlgorithm::Sha512] {
        let inputs = Inputs::new(algo);
        let csm = CsmClaims {
            realm_id: 7,
            shares: &source,
        };
        let claims = inputs.claims(key.public_key(), Some(csm));
        let mut store = vec![0u8; STORE_BYTES];
        let (token, steps) = make_token(&key, &claims, &mut store);
        assert_eq!(steps, signing_steps(claims.encoded_len()));
        let decoded = realm_claims(&token);
        check_csm_claims(&decoded, 7, &shares);
        // The CCA claims are what they are without CSM.
        assert_eq!(
            decoded[0].1.as_bytes().unwrap().as_slice(),
            &inputs.challenge
        );
        assert_eq!(
            decoded[6].1.as_bytes().unwrap().len(),
            algo.digest_len(),
            "RIM"
        );
        // The whole map encoded contiguously is the session's payload.
        let mut flat = vec![0u8; claims.encoded_len()];
        assert_eq!(claims.encode(&mut flat), Ok(flat.len()));
        assert_eq!(flat[0], 0xaa, "map(10)");
        let realm_at = token.len() - (8 + 3 + flat.len() + 2 + 96);
        assert_eq!(&token[realm_at + 11..realm_at + 11 + flat.len()], &flat[..]);
    }
}

#[test]
fn a_csm_realm_without_shares_has_an_empty_array() {
    let key = sample_key();
    let inputs = Inputs::new(HashAlgorithm::Sha256);
    let csm = CsmClaims {
        realm_id: u64::MAX,
        shares: &ShareSlice(&[]),
    };
    let claims = inputs.claims(key.public_key(), Some(csm));
    assert_eq!(csm.encoded_len(), 3 + 9 + 3 + 1);
    let mut store = vec![0u8; STORE_BYTES];
    let (token, steps) = make_token(&key, &claims, &mut store);
    assert_eq!(
        steps,
        es384::STEPS,
        "a short message is hashed in the first step"
    );
    check_csm_claims(&realm_claims(&token), u64::MAX, &[]);
}

#[test]
fn without_csm_the_token_is_byte_for_byte_the_old_one() {
    let key = sample_key();
    for algo in [HashAlgorithm::Sha256, HashAlgorithm::Sha512] {
        let inputs = Inputs::new(algo);
        let claims = inputs.claims(key.public_key(), None);
        // The plain API (no store), in one call.
        let mut plain = TokenSession::new();
        let len = plain.init(&claims, SAMPLE_PLATFORM_TOKEN.len()).unwrap();
        let mut want = vec![0u8; len];
        plain
            .continue_token(&key, SAMPLE_PLATFORM_TOKEN, &mut want, || false)
            .unwrap();
        // The same token signed in one shot by p384 over the same message.
        let mut flat = [0u8; CLAIMS_MAX_LEN];
        let n = claims.encode(&mut flat).unwrap();
        assert_eq!(n, claims_len(algo));
        let mut sig_structure = vec![0x84, 0x6a];
        sig_structure.extend(b"Signature1");
        sig_structure.extend([0x44, 0xa1, 0x01, 0x38, 0x22, 0x40, 0x59]);
        sig_structure.extend((n as u16).to_be_bytes());
        sig_structure.extend(&flat[..n]);
        let signature = key.sign(&[&sig_structure]).unwrap();
        assert_eq!(&want[want.len() - 96..], &signature);
        // Through the store API, with a store (unused) and steps.
        let mut store = vec![0xA5u8; STORE_BYTES];
        let (got, steps) = make_token(&key, &claims, &mut store);
        assert_eq!(got, want);
        assert_eq!(steps, es384::STEPS);
        assert!(store.iter().all(|&b| b == 0xA5), "nothing written");
        let decoded = realm_claims(&got);
        assert_eq!(decoded.len(), 8);
    }
}

#[test]
fn the_largest_token_48_shares() {
    use apt::capacity::{FW_ATTACHMENTS, FW_GRANTS, FW_REGIONS};
    assert_eq!(MAX_SHARES, FW_REGIONS * FW_GRANTS + FW_ATTACHMENTS);
    assert_eq!(MAX_SHARES, 48);
    assert_eq!(SHARE_MAX_LEN, 190);
    assert_eq!(CSM_CLAIMS_MAX_LEN, 3 + 9 + 3 + 2 + 48 * 190);
    assert_eq!(STORE_BYTES, CSM_CLAIMS_MAX_LEN);
    const { assert!(SESSION_BYTES <= 4096, "the session stays in one granule") };
    let key = sample_key();
    let shares: Vec<CsmShare> = (0..MAX_SHARES).map(largest_share).collect();
    let source = ShareSlice(&shares);
    let inputs = Inputs::new(HashAlgorithm::Sha512);
    let csm = CsmClaims {
        realm_id: u64::MAX,
        shares: &source,
    };
    assert_eq!(csm.encoded_len(), CSM_CLAIMS_MAX_LEN);
    let claims = inputs.claims(key.public_key(), Some(csm));
    let total = claims_len(HashAlgorithm::Sha512) + CSM_CLAIMS_MAX_LEN;
    assert_eq!(claims.encoded_len(), total);
    // The store of exactly the maximum holds it.
    let mut store = vec![0u8; STORE_BYTES];
    let (token, steps) = make_token(&key, &claims, &mut store);
    let expect_len = 7 + 3 + SAMPLE_PLATFORM_TOKEN.len() + 3 + 3 + (8 + 3 + total + 2 + 96);
    assert_eq!(token.len(), expect_len);
    println!(
        "48 shares: claims {total} bytes, token {} bytes, {steps} signing steps",
        token.len()
    );
    // Hashed in steps of its own: each compresses at most HASH_STEP_BLOCKS blocks (+2 for
    // the padding), then the signature's six.
    let message = message_len(total);
    assert!(message > HASH_WITH_FIRST_STEP_MAX);
    assert_eq!(hash_steps(message), message / 128 / HASH_STEP_BLOCKS + 1);
    assert_eq!(steps, hash_steps(message) + es384::STEPS);
    assert_eq!(steps, 9);
    check_csm_claims(&realm_claims(&token), u64::MAX, &shares);
}

#[test]
fn too_many_shares_or_too_small_a_store_is_refused() {
    let key = sample_key();
    let inputs = Inputs::new(HashAlgorithm::Sha256);
    let shares: Vec<CsmShare> = (0..MAX_SHARES + 1).map(share).collect();
    let source = ShareSlice(&shares);
    let mut store = vec![0u8; 4 * STORE_BYTES];
    let mut session = TokenSession::new();
    let too_many = inputs.claims(
        key.public_key(),
        Some(CsmClaims {
            realm_id: 1,
            shares: &source,
        }),
    );
    assert_eq!(
        session.init_with(&mut store[..], &too_many, SAMPLE_PLATFORM_TOKEN.len()),
        Err(TokenError::BufferTooSmall)
    );
    assert_eq!(session.token_len(), 0, "Idle after a refused INIT");
    let csm = CsmClaims {
        realm_id: 1,
        shares: &ShareSlice(&shares[..3]),
    };
    let claims = inputs.claims(key.public_key(), Some(csm));
    // No store: the plain INIT refuses CSM claims.
    assert_eq!(
        session.init(&claims, SAMPLE_PLATFORM_TOKEN.len()),
        Err(TokenError::BufferTooSmall)
    );
    // One byte short.
    let need = csm.encoded_len();
    assert_eq!(
        session.init_with(&mut store[..need - 1], &claims, SAMPLE_PLATFORM_TOKEN.len()),
        Err(TokenError::BufferTooSmall)
    );
    let len = session
        .init_with(&mut store[..need], &claims, SAMPLE_PLATFORM_TOKEN.len())
        .unwrap();
    // Signing or copying without the store (or with a shorter one) is refused.
    assert_eq!(session.sign_step(&key), Err(TokenError::BufferTooSmall));
    assert_eq!(
        session.sign_step_with(&key, &store[..need - 1], &attest::sha::SOFT),
        Err(TokenError::BufferTooSmall)
    );
    while session
        .sign_step_with(&key, &store[..need], &attest::sha::SOFT)
        .unwrap()
        == SignStatus::InProgress
    {}
    let mut out = vec![0u8; len];
    assert_eq!(
        session.copy_out(SAMPLE_PLATFORM_TOKEN, &mut out),
        Err(TokenError::BufferTooSmall)
    );
    assert_eq!(
        session.copy_out_with(&store[..need], SAMPLE_PLATFORM_TOKEN, &mut out),
        Ok(Continue::Done { written: len })
    );
    check_csm_claims(&realm_claims(&out), 1, &shares[..3]);
}

#[test]
fn a_corrupt_saved_hash_restores_idle() {
    let key = sample_key();
    let inputs = Inputs::new(HashAlgorithm::Sha512);
    let shares: Vec<CsmShare> = (0..MAX_SHARES).map(share).collect();
    let source = ShareSlice(&shares);
    let claims = inputs.claims(
        key.public_key(),
        Some(CsmClaims {
            realm_id: 3,
            shares: &source,
        }),
    );
    let mut store = vec![0u8; STORE_BYTES];
    let mut session = TokenSession::new();
    session
        .init_with(&mut store[..], &claims, SAMPLE_PLATFORM_TOKEN.len())
        .unwrap();
    assert_eq!(
        session.sign_step_with(&key, &store[..], &attest::sha::SOFT),
        Ok(SignStatus::InProgress)
    );
    assert_eq!(session.signing_steps_done(), 1);
    let mut saved = [0u8; SESSION_BYTES];
    session.save(&mut saved);
    assert_eq!(TokenSession::restore(&saved).signing_steps_done(), 1);
    // The words after the signature in progress: CSM length, bytes hashed, state (the claims
    // are padded to a whole number of words).
    let hash_at = (4 * 8 + CLAIMS_MAX_LEN).next_multiple_of(8) + 96 + es384::STATE_BYTES;
    assert_eq!(
        saved[hash_at..hash_at + 8],
        (session.csm_len() as u64).to_le_bytes()
    );
    assert_eq!(
        saved[hash_at + 8..hash_at + 16],
        (HASH_STEP_BLOCKS as u64 * 128).to_le_bytes()
    );
    for (offset, value) in [(0, CSM_CLAIMS_MAX_LEN as u64 + 1), (8, 4095), (8, 1 << 40)] {
        let mut bad = saved;
        bad[hash_at + offset..hash_at + offset + 8].copy_from_slice(&value.to_le_bytes());
        assert_eq!(
            TokenSession::restore(&bad).token_len(),
            0,
            "{offset} = {value}"
        );
    }
}

/// Counts the blocks it compresses and delegates to software.
struct CountingEngine(std::sync::atomic::AtomicUsize);

impl attest::sha::Sha2Engine for CountingEngine {
    fn compress256(&self, state: &mut [u32; 8], blocks: &[[u8; 64]]) {
        attest::sha::SOFT.compress256(state, blocks)
    }

    fn compress512(&self, state: &mut [u64; 8], blocks: &[[u8; 128]]) {
        self.0
            .fetch_add(blocks.len(), std::sync::atomic::Ordering::Relaxed);
        attest::sha::SOFT.compress512(state, blocks)
    }
}

#[test]
fn the_message_is_hashed_with_the_engine_the_caller_gives() {
    let key = sample_key();
    let inputs = Inputs::new(HashAlgorithm::Sha256);
    let shares: Vec<CsmShare> = (0..3).map(share).collect();
    let source = ShareSlice(&shares);
    let claims = inputs.claims(
        key.public_key(),
        Some(CsmClaims {
            realm_id: 9,
            shares: &source,
        }),
    );
    let sign = |engine: &dyn attest::sha::Sha2Engine| {
        let mut store = vec![0u8; STORE_BYTES];
        let mut session = TokenSession::new();
        let len = session
            .init_with(&mut store[..], &claims, SAMPLE_PLATFORM_TOKEN.len())
            .unwrap();
        while session.sign_step_with(&key, &store[..], engine).unwrap() == SignStatus::InProgress {}
        let mut out = vec![0u8; len];
        session
            .copy_out_with(&store[..], SAMPLE_PLATFORM_TOKEN, &mut out)
            .unwrap();
        out
    };
    let counting = CountingEngine(std::sync::atomic::AtomicUsize::new(0));
    let with_counting = sign(&counting);
    // The realm token's message (its Sig_structure: the claims with three CSM shares, over
    // 512 bytes) is SHA-384'd block by block through the engine.
    let blocks = counting.0.load(std::sync::atomic::Ordering::Relaxed);
    assert!(blocks >= 4, "{blocks} blocks");
    // Same token (the signature is deterministic, RFC 6979) as with software alone.
    assert_eq!(with_counting, sign(&attest::sha::SOFT));
}
