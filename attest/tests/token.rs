// SPDX-License-Identifier: MIT OR Apache-2.0
//! The attestation token decoded and verified with an independent implementation (coset,
//! ciborium, p384's verifier): TF-A's sample key and platform token, every claim's type and
//! value, the signature, the platform binding, chunked retrieval against the one-shot token,
//! buffers that are too small, and random inputs that must never panic.

use attest::token::claims::{CLAIMS_MAX_LEN, keys};
use attest::token::collection::{encode_cca_token, token_len};
use attest::token::es384;
use attest::token::rsi::{ContinueArgs, GRANULE_SIZE, challenge_from_regs};
use attest::token::session::Phase;
use attest::token::sign1::encode_realm_token;
use attest::token::stream::TokenStream;
use attest::token::{Continue, CoseKey, RealmClaims, RealmSigningKey, TokenError, TokenSession};
use ciborium::Value;
use coset::{
    CborSerializable, CoseKeyBuilder, CoseSign1, CoseSign1Builder, HeaderBuilder,
    TaggedCborSerializable, iana,
};
use p384::ecdsa::signature::Verifier;
use p384::ecdsa::{Signature, VerifyingKey};
use proptest::prelude::*;
use rmm_abi::measurement::Measurement;
use rmm_abi::rmi::states::HashAlgorithm;
use rmm_abi::rsi::RsiStatus;
use sha2::{Digest, Sha256};

const SAMPLE_KEY: &[u8; 48] = include_bytes!("data/tfa-sample-realm-attest-key.bin");
const SAMPLE_PLATFORM_TOKEN: &[u8] = include_bytes!("data/tfa-sample-platform-token.bin");

fn sample_key() -> RealmSigningKey {
    let mut raw = *SAMPLE_KEY;
    RealmSigningKey::from_raw_scalar(&mut raw).unwrap()
}

#[derive(Clone, Debug)]
struct Inputs {
    challenge: [u8; 64],
    rpv: [u8; 64],
    algo: HashAlgorithm,
    rim: Measurement,
    rems: [Measurement; 4],
}

impl Inputs {
    fn known(algo: HashAlgorithm) -> Self {
        Self {
            challenge: std::array::from_fn(|i| 0xC0 ^ i as u8),
            rpv: std::array::from_fn(|i| i as u8),
            algo,
            rim: [0x11; 64],
            rems: [[0x21; 64], [0x22; 64], [0x23; 64], [0x24; 64]],
        }
    }

    fn claims<'a>(&'a self, key: &'a CoseKey) -> RealmClaims<'a> {
        RealmClaims {
            challenge: &self.challenge,
            personalization: &self.rpv,
            public_key: key,
            hash_algo: self.algo,
            rim: &self.rim,
            rems: &self.rems,
            csm: None,
        }
    }
}

/// Runs INIT and CONTINUE with buffers of `chunk` bytes until done; returns the bytes.
fn retrieve(
    key: &RealmSigningKey,
    inputs: &Inputs,
    platform: &[u8],
    chunk: usize,
) -> (usize, Vec<u8>) {
    let mut session = TokenSession::new();
    let bound = session
        .init(&inputs.claims(key.public_key()), platform.len())
        .unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    for _ in 0..100_000 {
        match session
            .continue_token(key, platform, &mut buf, || false)
            .unwrap()
        {
            Continue::Yield => unreachable!("never asked to yield"),
            Continue::Incomplete { written } => out.extend_from_slice(&buf[..written]),
            Continue::Done { written } => {
                out.extend_from_slice(&buf[..written]);
                return (bound, out);
            }
        }
    }
    panic!("no progress with chunk {chunk}");
}

/// The token assembled in one shot, independently of the session: coset builds the
/// Sig_structure, the key signs it, minicbor encodes the realm token and the collection.
fn one_shot(key: &RealmSigningKey, inputs: &Inputs, platform: &[u8]) -> Vec<u8> {
    let mut claims = [0u8; CLAIMS_MAX_LEN];
    let n = inputs.claims(key.public_key()).encode(&mut claims).unwrap();
    let payload = claims[..n].to_vec();
    let unsigned = CoseSign1Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::ES384)
                .build(),
        )
        .payload(payload.clone())
        .build();
    let signature = key.sign(&[&unsigned.tbs_data(b"")]).unwrap();
    let mut realm = vec![0u8; 2048];
    let realm_len = encode_realm_token(&payload, &signature, &mut realm).unwrap();
    realm.truncate(realm_len);

    // coset serialises the same COSE_Sign1 byte for byte.
    let by_coset = CoseSign1Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::ES384)
                .build(),
        )
        .payload(payload)
        .signature(signature.to_vec())
        .build()
        .to_tagged_vec()
        .unwrap();
    assert_eq!(realm, by_coset);

    let mut token = vec![0u8; 8192];
    let len = encode_cca_token(platform, &realm, &mut token).unwrap();
    token.truncate(len);
    token
}

/// What an independent verifier extracts from a CCA token.
#[derive(Debug)]
struct Verified {
    platform: Vec<u8>,
    realm_claims: Vec<(i128, Value)>,
    public_key_claim: Vec<u8>,
}

fn int_key(k: &Value) -> i128 {
    k.as_integer().map(i128::from).expect("integer key")
}

/// Decodes with ciborium/coset and verifies the realm signature with p384's verifier.
fn verify(token: &[u8]) -> Verified {
    let value: Value = ciborium::from_reader(token).expect("CBOR");
    let Value::Tag(399, inner) = value else {
        panic!("not tag 399: {value:?}")
    };
    let Value::Map(entries) = *inner else {
        panic!("collection is not a map")
    };
    let keys: Vec<i128> = entries.iter().map(|(k, _)| int_key(k)).collect();
    assert_eq!(keys, [44234, 44241], "collection keys and order");
    let platform = entries[0].1.as_bytes().expect("platform bstr").clone();
    let realm = entries[1].1.as_bytes().expect("realm bstr").clone();

    let sign1 = CoseSign1::from_tagged_slice(&realm).expect("COSE_Sign1 tag 18");
    assert_eq!(
        sign1.protected.header.alg,
        Some(coset::Algorithm::Assigned(iana::Algorithm::ES384))
    );
    assert_eq!(
        sign1.protected.original_data.as_deref(),
        Some(&[0xa1, 0x01, 0x38, 0x22][..])
    );
    assert!(sign1.unprotected.is_empty(), "empty unprotected header");
    assert_eq!(sign1.signature.len(), 96);
    let payload = sign1.payload.clone().expect("payload");
    let claims: Value = ciborium::from_reader(payload.as_slice()).expect("claims CBOR");
    let Value::Map(claims) = claims else {
        panic!("claims are not a map")
    };
    let realm_claims: Vec<(i128, Value)> =
        claims.into_iter().map(|(k, v)| (int_key(&k), v)).collect();
    let public_key_claim = realm_claims
        .iter()
        .find(|(k, _)| *k == 44237)
        .and_then(|(_, v)| v.as_bytes().cloned())
        .expect("public key claim");

    let cose_key = coset::CoseKey::from_slice(&public_key_claim).expect("COSE_Key");
    assert_eq!(cose_key.kty, coset::KeyType::Assigned(iana::KeyType::EC2));
    let param = |label: i64| {
        cose_key
            .params
            .iter()
            .find(|(l, _)| *l == coset::Label::Int(label))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(param(-1), Value::from(iana::EllipticCurve::P_384 as u64));
    let mut sec1 = vec![0x04];
    sec1.extend_from_slice(param(-2).as_bytes().unwrap());
    sec1.extend_from_slice(param(-3).as_bytes().unwrap());
    let verifying_key = VerifyingKey::from_sec1_bytes(&sec1).expect("a P-384 point");
    sign1
        .verify_signature(b"", |sig, data| {
            let sig = Signature::from_slice(sig).map_err(|_| "bad signature encoding")?;
            verifying_key
                .verify(data, &sig)
                .map_err(|_| "signature does not verify")
        })
        .expect("realm signature verifies under the public key claim");
    Verified {
        platform,
        realm_claims,
        public_key_claim,
    }
}

fn check_claims(v: &Verified, inputs: &Inputs, key: &RealmSigningKey) {
    let h = inputs.algo.digest_len();
    let bytes = |b: &[u8]| Value::Bytes(b.to_vec());
    let text = |t: &str| Value::Text(t.to_string());
    let expected: Vec<(i128, Value)> = vec![
        (10, bytes(&inputs.challenge)),
        (44235, bytes(&inputs.rpv)),
        (44237, bytes(key.public_key().as_bytes())),
        (
            44236,
            text(match inputs.algo {
                HashAlgorithm::Sha256 => "sha-256",
                HashAlgorithm::Sha512 => "sha-512",
            }),
        ),
        (44240, text("sha-256")),
        (265, text("tag:arm.com,2023:realm#1.0.0")),
        (44238, bytes(&inputs.rim[..h])),
        (
            44239,
            Value::Array(inputs.rems.iter().map(|r| bytes(&r[..h])).collect()),
        ),
    ];
    assert_eq!(
        v.realm_claims, expected,
        "every claim, its type, value and position"
    );
    assert_eq!(keys::CHALLENGE, 10);
}

/// The challenge claim (10) of a platform token (a COSE_Sign1 itself).
fn platform_challenge(platform: &[u8]) -> Vec<u8> {
    let sign1 = CoseSign1::from_tagged_slice(platform).expect("platform COSE_Sign1");
    let claims: Value = ciborium::from_reader(sign1.payload.unwrap().as_slice()).unwrap();
    let Value::Map(claims) = claims else { panic!() };
    claims
        .into_iter()
        .find(|(k, _)| int_key(k) == 10)
        .and_then(|(_, v)| v.as_bytes().cloned())
        .expect("platform challenge claim")
}

#[test]
fn sample_token_decodes_verifies_and_binds() {
    let key = sample_key();
    for algo in [HashAlgorithm::Sha256, HashAlgorithm::Sha512] {
        let inputs = Inputs::known(algo);
        let (bound, token) = retrieve(&key, &inputs, SAMPLE_PLATFORM_TOKEN, 4096);
        assert_eq!(token.len(), bound, "INIT's bound is the exact size");
        assert_eq!(token.len(), token_len(algo, SAMPLE_PLATFORM_TOKEN.len()));
        let v = verify(&token);
        assert_eq!(v.platform, SAMPLE_PLATFORM_TOKEN);
        check_claims(&v, &inputs, &key);
        // The platform token binds SHA-256 of the realm public key claim, byte for byte.
        assert_eq!(
            platform_challenge(&v.platform),
            Sha256::digest(&v.public_key_claim).to_vec()
        );
    }
    assert_eq!(
        retrieve(
            &key,
            &Inputs::known(HashAlgorithm::Sha256),
            SAMPLE_PLATFORM_TOKEN,
            4096
        )
        .1
        .len(),
        2124,
        "TF-RMM's size with the sample platform token"
    );
}

#[test]
fn cose_key_matches_coset() {
    let key = sample_key();
    let bytes = key.public_key().as_bytes();
    let by_coset = CoseKeyBuilder::new_ec2_pub_key(
        iana::EllipticCurve::P_384,
        bytes[8..56].to_vec(),
        bytes[59..107].to_vec(),
    )
    .build()
    .to_vec()
    .unwrap();
    assert_eq!(by_coset, bytes.as_slice());
}

#[test]
fn chunked_retrieval_matches_the_one_shot_token() {
    let key = sample_key();
    for algo in [HashAlgorithm::Sha256, HashAlgorithm::Sha512] {
        let inputs = Inputs::known(algo);
        let want = one_shot(&key, &inputs, SAMPLE_PLATFORM_TOKEN);
        for chunk in [
            1, 2, 3, 7, 13, 64, 97, 255, 1000, 1517, 2123, 2124, 2125, 4096,
        ] {
            let (_, got) = retrieve(&key, &inputs, SAMPLE_PLATFORM_TOKEN, chunk);
            assert!(got == want, "{algo:?} chunk {chunk}");
        }
    }
}

/// The Linux guest's loop: CONTINUE(offset, 4096 - offset) into one granule, offset += x1
/// while INCOMPLETE, restarting at 0 when the granule is full.
#[test]
fn linux_guest_style_retrieval() {
    let key = sample_key();
    let inputs = Inputs::known(HashAlgorithm::Sha512);
    let want = one_shot(&key, &inputs, SAMPLE_PLATFORM_TOKEN);
    let mut session = TokenSession::new();
    let bound = session
        .init(
            &inputs.claims(key.public_key()),
            SAMPLE_PLATFORM_TOKEN.len(),
        )
        .unwrap();
    let mut granule = vec![0u8; GRANULE_SIZE as usize];
    let mut out = Vec::new();
    let mut offset = 3000u64; // start part-way into the granule, as a realm may
    let mut yields = 0;
    loop {
        let args = ContinueArgs::from_regs(0x4000_0000, offset, GRANULE_SIZE - offset).unwrap();
        let dst = &mut granule[args.range()];
        let r = session
            .continue_token(&key, SAMPLE_PLATFORM_TOKEN, dst, || {
                yields += 1;
                yields == 2 // a host interrupt pending once, part way through signing
            })
            .unwrap();
        let n = r.written() as usize;
        out.extend_from_slice(&granule[args.offset..args.offset + n]);
        offset += n as u64;
        if offset == GRANULE_SIZE {
            offset = 0;
        }
        if r.rsi_status() == RsiStatus::Success {
            break;
        }
        assert_eq!(r.rsi_status(), RsiStatus::Incomplete);
    }
    assert_eq!(yields, es384::STEPS, "asked once per signing step only");
    assert_eq!(out.len(), bound);
    assert_eq!(out, want);
}

#[test]
fn buffers_too_small() {
    let key = sample_key();
    let inputs = Inputs::known(HashAlgorithm::Sha256);
    let mut claims = [0u8; CLAIMS_MAX_LEN];
    let n = inputs.claims(key.public_key()).encode(&mut claims).unwrap();
    let sig = [7u8; 96];
    let mut buf = vec![0u8; 4096];
    let realm_len = encode_realm_token(&claims[..n], &sig, &mut buf).unwrap();
    assert_eq!(realm_len, 590);
    assert_eq!(
        encode_realm_token(&claims[..n], &sig, &mut buf[..realm_len - 1]),
        Err(TokenError::BufferTooSmall)
    );
    let realm = buf[..realm_len].to_vec();
    let mut out = vec![0u8; 2124];
    assert_eq!(
        encode_cca_token(SAMPLE_PLATFORM_TOKEN, &realm, &mut out),
        Ok(2124)
    );
    assert_eq!(
        encode_cca_token(SAMPLE_PLATFORM_TOKEN, &realm, &mut out[..2123]),
        Err(TokenError::BufferTooSmall)
    );
    assert_eq!(
        inputs.claims(key.public_key()).encode(&mut claims[..n - 1]),
        Err(TokenError::BufferTooSmall)
    );
}

#[test]
fn stream_reads_any_range_of_the_token() {
    let key = sample_key();
    let inputs = Inputs::known(HashAlgorithm::Sha256);
    let want = one_shot(&key, &inputs, SAMPLE_PLATFORM_TOKEN);
    let mut claims = [0u8; CLAIMS_MAX_LEN];
    let n = inputs.claims(key.public_key()).encode(&mut claims).unwrap();
    let realm = CoseSign1::from_tagged_slice(&verify_realm_bytes(&want)).unwrap();
    let signature: [u8; 96] = realm.signature.try_into().unwrap();
    let stream = TokenStream::new(SAMPLE_PLATFORM_TOKEN, &claims[..n], &signature);
    assert_eq!(stream.len(), want.len());
    assert!(!stream.is_empty());
    let mut buf = vec![0u8; 3000];
    for offset in [
        0, 1, 6, 7, 9, 10, 1527, 1528, 1534, 1542, 2000, 2027, 2029, 2123, 2124, 5000,
    ] {
        for len in [0, 1, 5, 100, 3000] {
            let n = stream.read_at(offset, &mut buf[..len]);
            let end = (offset + len).min(want.len());
            let expect = want.get(offset..end).unwrap_or(&[]);
            assert_eq!(&buf[..n], expect, "offset {offset} len {len}");
        }
    }
}

fn verify_realm_bytes(token: &[u8]) -> Vec<u8> {
    let value: Value = ciborium::from_reader(token).unwrap();
    let Value::Tag(_, inner) = value else {
        panic!()
    };
    let Value::Map(entries) = *inner else {
        panic!()
    };
    entries[1].1.as_bytes().unwrap().clone()
}

fn arb_algo() -> impl Strategy<Value = HashAlgorithm> {
    prop_oneof![Just(HashAlgorithm::Sha256), Just(HashAlgorithm::Sha512)]
}

fn arb_inputs() -> impl Strategy<Value = Inputs> {
    (
        prop::array::uniform32(any::<u8>()),
        any::<[u8; 16]>(),
        arb_algo(),
        any::<u8>(),
        prop::array::uniform4(any::<u8>()),
    )
        .prop_map(|(c, r, algo, rim, rems)| Inputs {
            challenge: std::array::from_fn(|i| c[i % 32] ^ (i as u8)),
            rpv: std::array::from_fn(|i| r[i % 16].wrapping_add(i as u8)),
            algo,
            rim: std::array::from_fn(|i| rim ^ i as u8),
            rems: std::array::from_fn(|j| std::array::from_fn(|i| rems[j].wrapping_mul(i as u8))),
        })
}

/// One step a realm or the RMM may take in any order.
#[derive(Clone, Debug)]
enum Op {
    Init(usize),
    Sign,
    Copy(usize),
    Continue(usize, bool),
    CopyWrongPlatform(usize),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0usize..20_000).prop_map(Op::Init),
        2 => Just(Op::Sign),
        4 => (0usize..5000).prop_map(Op::Copy),
        4 => ((0usize..5000), any::<bool>()).prop_map(|(n, y)| Op::Continue(n, y)),
        1 => (0usize..100).prop_map(Op::CopyWrongPlatform),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random claims, random chunk sizes: the reassembled token verifies, carries the inputs
    /// and equals the one-shot token.
    #[test]
    fn random_claims_and_chunks(inputs in arb_inputs(), chunk in 1usize..700) {
        let key = sample_key();
        let (bound, token) = retrieve(&key, &inputs, SAMPLE_PLATFORM_TOKEN, chunk);
        prop_assert_eq!(token.len(), bound);
        let v = verify(&token);
        check_claims(&v, &inputs, &key);
        prop_assert!(token == one_shot(&key, &inputs, SAMPLE_PLATFORM_TOKEN));
    }

    /// Any sequence of operations, with platform tokens of any length, never panics, and the
    /// session's answers follow its phase.
    #[test]
    fn random_operation_sequences_never_panic(
        inputs in arb_inputs(),
        ops in prop::collection::vec(arb_op(), 0..40),
    ) {
        let key = sample_key();
        let mut session = TokenSession::new();
        let mut platform = SAMPLE_PLATFORM_TOKEN.to_vec();
        let mut buf = vec![0u8; 5000];
        for op in ops {
            let before = session.phase();
            match op {
                Op::Init(len) => {
                    platform = vec![0xA5; len];
                    let r = session.init(&inputs.claims(key.public_key()), len);
                    match r {
                        Ok(bound) => prop_assert_eq!(bound, token_len(inputs.algo, len)),
                        Err(e) => prop_assert_eq!(e, TokenError::PlatformTokenTooLarge),
                    }
                }
                Op::Sign => {
                    let r = session.sign_step(&key);
                    prop_assert_eq!(r.is_err(), before == Phase::Idle);
                }
                Op::Copy(n) => {
                    let r = session.copy_out(&platform, &mut buf[..n]);
                    match before {
                        Phase::Idle => prop_assert_eq!(r, Err(TokenError::NoTokenInProgress)),
                        Phase::Unsigned => prop_assert_eq!(r, Err(TokenError::NotSigned)),
                        Phase::Signed { copied } => {
                            let total = session_total(&inputs, platform.len());
                            let w = r.unwrap().written() as usize;
                            prop_assert_eq!(w, n.min(total - copied));
                        }
                    }
                }
                Op::Continue(n, y) => {
                    let r = session.continue_token(&key, &platform, &mut buf[..n], || y);
                    if before == Phase::Idle {
                        prop_assert_eq!(r, Err(TokenError::NoTokenInProgress));
                        prop_assert_eq!(r.unwrap_err().rsi_status(), RsiStatus::ErrorState);
                    } else {
                        let r = r.unwrap();
                        prop_assert_eq!(r == Continue::Yield, y && before == Phase::Unsigned);
                    }
                }
                Op::CopyWrongPlatform(extra) => {
                    let wrong = vec![0u8; platform.len() + extra + 1];
                    let r = session.copy_out(&wrong, &mut buf[..10]);
                    prop_assert!(r.is_err());
                    prop_assert_eq!(session.phase(), before);
                }
            }
        }
    }

    /// CONTINUE's registers: any values are either refused with RSI_ERROR_INPUT or give a
    /// range inside the granule.
    #[test]
    fn continue_args_never_escape_the_granule(x1: u64, x2 in prop_oneof![any::<u64>(), 0u64..0x1100], x3 in prop_oneof![any::<u64>(), 0u64..0x1100]) {
        match ContinueArgs::from_regs(x1, x2, x3) {
            Ok(a) => {
                prop_assert_eq!(a.ipa % 0x1000, 0);
                prop_assert!(a.range().start < 0x1000 && a.range().end <= 0x1000);
            }
            Err(e) => prop_assert_eq!(e, RsiStatus::ErrorInput),
        }
    }

    #[test]
    fn challenge_registers_round_trip(regs: [u64; 8]) {
        let c = challenge_from_regs(&regs);
        for (i, r) in regs.iter().enumerate() {
            prop_assert_eq!(u64::from_le_bytes(c[i * 8..i * 8 + 8].try_into().unwrap()), *r);
        }
    }

    /// Any 48 bytes either make a key whose COSE_Key round-trips through coset, or are
    /// refused; the raw bytes are wiped either way.
    #[test]
    fn any_raw_key_bytes(raw: [u8; 48]) {
        let mut copy = raw;
        match RealmSigningKey::from_raw_scalar(&mut copy) {
            Ok(key) => {
                let parsed = coset::CoseKey::from_slice(key.public_key().as_bytes());
                prop_assert!(parsed.is_ok());
            }
            Err(e) => prop_assert_eq!(e, TokenError::InvalidKey),
        }
        prop_assert_eq!(copy, [0u8; 48]);
    }
}

fn session_total(inputs: &Inputs, platform_len: usize) -> usize {
    token_len(inputs.algo, platform_len)
}
