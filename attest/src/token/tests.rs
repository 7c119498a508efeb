// SPDX-License-Identifier: MIT OR Apache-2.0
//! Unit tests of the token pieces: CBOR heads, the COSE_Key and claims goldens (written out
//! by hand from the reference, not from the encoder), lengths, the session's state errors and
//! the RSI argument checks. Decoding and signature verification with an independent
//! implementation are in `attest/tests/token.rs`.

extern crate std;

use super::cbor::{bstr_head, bstr_item_len};
use super::claims::{CLAIMS_MAX_LEN, claims_len};
use super::collection::{PLATFORM_TOKEN_MAX, token_len};
use super::rsi::{ContinueArgs, challenge_from_regs};
use super::session::{Phase, SESSION_WORDS, SavedSession, saved_bytes, saved_bytes_mut};
use super::*;
use minicbor::Encoder;
use rmm_abi::measurement::Measurement;
use rmm_abi::rmi::states::HashAlgorithm;
use rmm_abi::rsi::RsiStatus;
use std::format;

const SAMPLE_KEY: &[u8; 48] = include_bytes!("../../tests/data/tfa-sample-realm-attest-key.bin");
const SAMPLE_PLATFORM_TOKEN: &[u8] =
    include_bytes!("../../tests/data/tfa-sample-platform-token.bin");

/// The sample key's public point, computed with Python's `cryptography` (OpenSSL), not p384.
const SAMPLE_X: &str = "76f988091be585ed41801aecfab858548c63057e16b0e676120bbd0d2f9c29e056c5d41a0130eb9c21517899dc23146b";
const SAMPLE_Y: &str = "28e1b062bd3ea4b315fd219f1cbb528cb6e74ca49be16773734f61a1ca61031b2bbf3d918f2f94ffc4228e50919544ae";
/// The challenge claim inside TF-A's sample platform token.
const SAMPLE_PLATFORM_CHALLENGE: &str =
    "0d22e08a98469058486318283489bdb36f09dbefeb1864df433fa6e54ea2d711";

fn hex(s: &str) -> ([u8; 128], usize) {
    let mut out = [0u8; 128];
    let b = s.as_bytes();
    let val = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("bad hex"),
    };
    for i in 0..b.len() / 2 {
        out[i] = val(b[2 * i]) << 4 | val(b[2 * i + 1]);
    }
    (out, b.len() / 2)
}

fn sample_key() -> RealmSigningKey {
    let mut raw = *SAMPLE_KEY;
    RealmSigningKey::from_raw_scalar(&mut raw).expect("sample key is valid")
}

/// Runs every signing step of an Unsigned session; returns how many it took.
fn sign_all(s: &mut TokenSession, key: &RealmSigningKey) -> usize {
    let mut steps = 1;
    while s.sign_step(key).unwrap() == SignStatus::InProgress {
        steps += 1;
    }
    steps
}

/// Appends `parts` into a fixed buffer (the crate is no_std; tests avoid std where easy).
struct Bytes {
    buf: [u8; 1024],
    len: usize,
}

impl Bytes {
    fn new() -> Self {
        Self {
            buf: [0; 1024],
            len: 0,
        }
    }
    fn push(&mut self, b: &[u8]) -> &mut Self {
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
        self
    }
    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Head arguments on both sides of every length class of RFC 8949's heads (and the two
/// simple values the CSM claims use, 20 and 21).
const HEAD_ARGUMENTS: [u64; 14] = [
    0,
    1,
    20,
    21,
    23,
    24,
    25,
    255,
    256,
    0xFFFF,
    0x1_0000,
    0xFFFF_FFFF,
    0x1_0000_0000,
    u64::MAX,
];

/// Writes one head with minicbor's encoder.
type WriteHead<'a> = &'a dyn Fn(&mut Encoder<&mut [u8]>);

#[test]
fn bstr_heads_match_minicbor() {
    // Every argument a content length can be here (the last, u64::MAX, has no item length).
    for len in HEAD_ARGUMENTS[..HEAD_ARGUMENTS.len() - 1]
        .iter()
        .map(|&l| l as usize)
    {
        let mut buf = [0u8; 9];
        let mut enc = Encoder::new(&mut buf[..]);
        enc.bytes_len(len as u64).unwrap();
        let n = 9 - enc.into_writer().len();
        assert_eq!(bstr_head(len).as_bytes(), &buf[..n], "len {len}");
        assert_eq!(bstr_item_len(len), n + len);
        assert!(!bstr_head(len).is_empty());
    }
}

#[test]
fn heads_of_every_major_type_match_minicbor() {
    use super::cbor::{MAJOR_ARRAY, MAJOR_SIMPLE, MAJOR_TSTR, MAJOR_UINT, head};
    for value in HEAD_ARGUMENTS {
        // What minicbor writes for the head `write` encodes.
        let minicbor = |write: WriteHead<'_>| {
            let mut buf = [0u8; 9];
            let mut enc = Encoder::new(&mut buf[..]);
            write(&mut enc);
            let n = 9 - enc.into_writer().len();
            buf[..n].to_vec()
        };
        let cases: [(u8, WriteHead<'_>); 3] = [
            (MAJOR_UINT, &|e| {
                e.u64(value).unwrap();
            }),
            (MAJOR_TSTR, &|e| {
                e.str_len(value).unwrap();
            }),
            (MAJOR_ARRAY, &|e| {
                e.array(value).unwrap();
            }),
        ];
        for (major, write) in cases {
            assert_eq!(
                head(major, value).as_bytes(),
                minicbor(write),
                "major {major}, {value}"
            );
        }
    }
    for flag in [false, true] {
        let mut buf = [0u8; 1];
        Encoder::new(&mut buf[..]).bool(flag).unwrap();
        assert_eq!(
            head(MAJOR_SIMPLE, 20 + u64::from(flag)).as_bytes(),
            &buf[..]
        );
    }
}

#[test]
fn cose_key_of_sample_key_is_the_107_byte_golden() {
    let key = sample_key();
    let (x, _) = hex(SAMPLE_X);
    let (y, _) = hex(SAMPLE_Y);
    let mut want = Bytes::new();
    want.push(&[0xa4, 0x01, 0x02, 0x20, 0x02, 0x21, 0x58, 0x30])
        .push(&x[..48])
        .push(&[0x22, 0x58, 0x30])
        .push(&y[..48]);
    assert_eq!(want.len, 107);
    assert_eq!(key.public_key().as_bytes().as_slice(), want.as_slice());
    let (challenge, _) = hex(SAMPLE_PLATFORM_CHALLENGE);
    assert_eq!(key.public_key().platform_challenge(), challenge[..32]);
}

#[test]
fn raw_key_is_wiped_and_bad_scalars_are_refused() {
    let mut raw = *SAMPLE_KEY;
    let _key = RealmSigningKey::from_raw_scalar(&mut raw).unwrap();
    assert_eq!(raw, [0; 48]);

    for bad in [[0u8; 48], [0xFF; 48]] {
        let mut raw = bad;
        assert_eq!(
            RealmSigningKey::from_raw_scalar(&mut raw).err(),
            Some(TokenError::InvalidKey)
        );
        assert_eq!(raw, [0; 48]);
    }

    let mut page = [0x5Au8; 64];
    page[..48].copy_from_slice(SAMPLE_KEY);
    assert_eq!(
        RealmSigningKey::from_raw_slice(&mut page).err(),
        Some(TokenError::InvalidKey),
        "a 64-byte buffer is not a key"
    );
    assert_eq!(page, [0; 64], "wiped anyway");
    let mut exact = *SAMPLE_KEY;
    let key = RealmSigningKey::from_raw_slice(&mut exact).unwrap();
    assert_eq!(key.public_key(), sample_key().public_key());
    assert_eq!(exact, [0; 48]);
    assert!(!format!("{key:?}").contains("20, 17"), "no scalar in Debug");
}

struct Inputs {
    challenge: [u8; 64],
    rpv: [u8; 64],
    rim: Measurement,
    rems: [Measurement; 4],
}

/// Known inputs: challenge 0..63, RPV 0x80..0xBF, RIM 0xA0 and REM i = 0xB0 + i, padded with
/// 0xEE past the digest length (which must not appear in the token).
fn known_inputs(algo: HashAlgorithm) -> Inputs {
    let h = algo.digest_len();
    let fill = |v: u8| {
        let mut m = [0xEE; 64];
        m[..h].fill(v);
        m
    };
    Inputs {
        challenge: core::array::from_fn(|i| i as u8),
        rpv: core::array::from_fn(|i| 0x80 + i as u8),
        rim: fill(0xA0),
        rems: [fill(0xB1), fill(0xB2), fill(0xB3), fill(0xB4)],
    }
}

fn claims<'a>(i: &'a Inputs, key: &'a CoseKey, algo: HashAlgorithm) -> RealmClaims<'a> {
    RealmClaims {
        challenge: &i.challenge,
        personalization: &i.rpv,
        public_key: key,
        hash_algo: algo,
        rim: &i.rim,
        rems: &i.rems,
        csm: None,
    }
}

/// The claims map written out by hand from reference C.1 (keys, types, TF-RMM's order).
fn golden_claims(i: &Inputs, key: &CoseKey, algo: HashAlgorithm) -> Bytes {
    let h = algo.digest_len();
    let (name, bstr_h): (&[u8], &[u8]) = match algo {
        HashAlgorithm::Sha256 => (b"sha-256", &[0x58, 0x20]),
        HashAlgorithm::Sha512 => (b"sha-512", &[0x58, 0x40]),
    };
    let mut b = Bytes::new();
    b.push(&[0xa8]) // map(8)
        .push(&[0x0a, 0x58, 0x40]) // 10: bstr(64)
        .push(&i.challenge)
        .push(&[0x19, 0xac, 0xcb, 0x58, 0x40]) // 44235: bstr(64)
        .push(&i.rpv)
        .push(&[0x19, 0xac, 0xcd, 0x58, 0x6b]) // 44237: bstr(107)
        .push(key.as_bytes())
        .push(&[0x19, 0xac, 0xcc, 0x67]) // 44236: tstr(7)
        .push(name)
        .push(&[0x19, 0xac, 0xd0, 0x67]) // 44240: tstr(7)
        .push(b"sha-256")
        .push(&[0x19, 0x01, 0x09, 0x78, 0x1c]) // 265: tstr(28)
        .push(b"tag:arm.com,2023:realm#1.0.0")
        .push(&[0x19, 0xac, 0xce]) // 44238
        .push(bstr_h)
        .push(&i.rim[..h])
        .push(&[0x19, 0xac, 0xcf, 0x84]); // 44239: array(4)
    for rem in &i.rems {
        b.push(bstr_h).push(&rem[..h]);
    }
    b
}

#[test]
fn claims_map_golden_sha256_and_sha512() {
    let key = sample_key();
    for (algo, len) in [(HashAlgorithm::Sha256, 481), (HashAlgorithm::Sha512, 641)] {
        let inputs = known_inputs(algo);
        let want = golden_claims(&inputs, key.public_key(), algo);
        let mut out = [0u8; CLAIMS_MAX_LEN];
        let n = claims(&inputs, key.public_key(), algo)
            .encode(&mut out)
            .unwrap();
        assert_eq!(&out[..n], want.as_slice(), "{algo:?}");
        assert_eq!(n, len);
        assert_eq!(claims_len(algo), len);
    }
    assert_eq!(CLAIMS_MAX_LEN, 641);
}

#[test]
fn claims_into_short_buffers_fail() {
    let key = sample_key();
    let inputs = known_inputs(HashAlgorithm::Sha256);
    let c = claims(&inputs, key.public_key(), HashAlgorithm::Sha256);
    let mut out = [0u8; 481];
    for n in [0, 1, 100, 480] {
        assert_eq!(
            c.encode(&mut out[..n]),
            Err(TokenError::BufferTooSmall),
            "{n}"
        );
    }
    assert_eq!(c.encode(&mut out), Ok(481));
}

#[test]
fn token_lengths_with_the_sample_platform_token() {
    // TF-RMM's token with the sample platform token is 2,124 bytes (SHA-256 realm).
    assert_eq!(SAMPLE_PLATFORM_TOKEN.len(), 1518);
    assert_eq!(token_len(HashAlgorithm::Sha256, 1518), 2124);
    assert_eq!(token_len(HashAlgorithm::Sha512, 1518), 2284);
}

#[test]
fn session_runs_init_sign_copy_and_ends_idle() {
    let key = sample_key();
    let inputs = known_inputs(HashAlgorithm::Sha256);
    let mut s = TokenSession::new();
    let mut buf = [0u8; 4096];

    assert_eq!(s.phase(), Phase::Idle);
    assert_eq!(s.token_len(), 0);
    assert_eq!(
        s.copy_out(SAMPLE_PLATFORM_TOKEN, &mut buf),
        Err(TokenError::NoTokenInProgress)
    );
    assert_eq!(s.sign_step(&key), Err(TokenError::NoTokenInProgress));
    assert_eq!(
        s.continue_token(&key, SAMPLE_PLATFORM_TOKEN, &mut buf, || false),
        Err(TokenError::NoTokenInProgress)
    );
    assert_eq!(
        TokenError::NoTokenInProgress.rsi_status(),
        RsiStatus::ErrorState
    );

    let c = claims(&inputs, key.public_key(), HashAlgorithm::Sha256);
    assert_eq!(s.init(&c, SAMPLE_PLATFORM_TOKEN.len()), Ok(2124));
    assert_eq!(s.phase(), Phase::Unsigned);
    assert_eq!(
        s.copy_out(SAMPLE_PLATFORM_TOKEN, &mut buf),
        Err(TokenError::NotSigned)
    );
    // A pending interrupt after every signing step: each CONTINUE makes exactly one step
    // and yields, nothing copied; the last step's yield leaves the token signed.
    for step in 1..=es384::STEPS {
        let r = s.continue_token(&key, SAMPLE_PLATFORM_TOKEN, &mut buf, || true);
        assert_eq!(r, Ok(Continue::Yield));
        assert_eq!(r.unwrap().rsi_status(), RsiStatus::Incomplete);
        assert_eq!(r.unwrap().written(), 0);
        assert!(r.unwrap().exits_to_host());
        if step < es384::STEPS {
            assert_eq!(s.phase(), Phase::Unsigned);
            assert_eq!(s.signing_steps_done(), step);
        }
    }
    assert_eq!(s.phase(), Phase::Signed { copied: 0 });
    assert_eq!(s.signing_steps_done(), 0);
    assert_eq!(s.sign_step(&key), Ok(SignStatus::Done));

    // Wrong platform token length.
    assert_eq!(
        s.copy_out(&SAMPLE_PLATFORM_TOKEN[1..], &mut buf),
        Err(TokenError::PlatformTokenChanged)
    );
    // A zero-size buffer copies nothing.
    assert_eq!(
        s.copy_out(SAMPLE_PLATFORM_TOKEN, &mut buf[..0]),
        Ok(Continue::Incomplete { written: 0 })
    );
    let r = s.continue_token(&key, SAMPLE_PLATFORM_TOKEN, &mut buf[..2000], || true);
    assert_eq!(
        r,
        Ok(Continue::Incomplete { written: 2000 }),
        "no yield once signed"
    );
    let r = s.continue_token(&key, SAMPLE_PLATFORM_TOKEN, &mut buf[2000..], || false);
    assert_eq!(r, Ok(Continue::Done { written: 124 }));
    assert_eq!(r.unwrap().rsi_status(), RsiStatus::Success);
    assert_eq!(r.unwrap().written(), 124);
    assert_eq!(s.phase(), Phase::Idle);
    assert_eq!(&buf[..7], &[0xd9, 0x01, 0x8f, 0xa2, 0x19, 0xac, 0xca]);
    assert_eq!(
        s.copy_out(SAMPLE_PLATFORM_TOKEN, &mut buf),
        Err(TokenError::NoTokenInProgress),
        "CONTINUE after the last byte is a state error"
    );
}

#[test]
fn init_restarts_and_refuses_oversized_platform_tokens() {
    let key = sample_key();
    let inputs = known_inputs(HashAlgorithm::Sha512);
    let c = claims(&inputs, key.public_key(), HashAlgorithm::Sha512);
    let mut s = TokenSession::default();
    let mut buf = [0u8; 100];
    s.init(&c, 1518).unwrap();
    assert_eq!(s.sign_step(&key), Ok(SignStatus::InProgress));
    assert_eq!(s.signing_steps_done(), 1);
    assert_eq!(s.init(&c, 1518), Ok(2284));
    assert_eq!(
        s.signing_steps_done(),
        0,
        "INIT drops a signature in progress"
    );
    assert_eq!(sign_all(&mut s, &key), es384::STEPS);
    s.copy_out(SAMPLE_PLATFORM_TOKEN, &mut buf).unwrap();
    assert_eq!(s.phase(), Phase::Signed { copied: 100 });
    assert_eq!(s.init(&c, 1518), Ok(2284));
    assert_eq!(
        s.phase(),
        Phase::Unsigned,
        "INIT abandons the token in progress"
    );
    assert_eq!(
        s.init(&c, PLATFORM_TOKEN_MAX + 1),
        Err(TokenError::PlatformTokenTooLarge)
    );
    assert_eq!(s.phase(), Phase::Idle);
    assert!(s.init(&c, PLATFORM_TOKEN_MAX).is_ok());
}

#[test]
fn challenge_comes_from_x1_to_x8_little_endian() {
    let regs: [u64; 8] =
        core::array::from_fn(|i| 0x0706050403020100 + 0x0808080808080808 * i as u64);
    let c = challenge_from_regs(&regs);
    assert_eq!(c, core::array::from_fn(|i| i as u8));
}

#[test]
fn continue_args_checks() {
    let ok = ContinueArgs::from_regs(0x8000_0000, 0, 0x1000).unwrap();
    assert_eq!(ok.range(), 0..0x1000);
    assert_eq!(
        ContinueArgs::from_regs(0x1000, 0xFFF, 1).unwrap().range(),
        0xFFF..0x1000
    );
    assert_eq!(ContinueArgs::from_regs(0x1000, 0x10, 0).unwrap().size, 0);
    for (x1, x2, x3) in [
        (0x1001, 0, 1),        // unaligned
        (0x1000, 0x1000, 0),   // offset past the granule
        (0x1000, 0xFFF, 2),    // end past the granule
        (0x1000, 0, 0x1001),   // size past the granule
        (0x1000, 8, u64::MAX), // wraps
        (0x1000, u64::MAX, 1), // wraps
        (u64::MAX, 0, 0),
    ] {
        assert_eq!(
            ContinueArgs::from_regs(x1, x2, x3),
            Err(RsiStatus::ErrorInput),
            "{x1:#x} {x2:#x} {x3:#x}"
        );
    }
}

#[test]
fn sessions_survive_save_and_restore_and_garbage_restores_idle() {
    use super::session::SESSION_BYTES;
    const { assert!(SESSION_BYTES.is_multiple_of(8) && SESSION_BYTES <= 4096) };
    // A zeroed granule holds an Idle session.
    assert_eq!(
        TokenSession::restore(&[0; SESSION_BYTES]).phase(),
        Phase::Idle
    );
    let key = sample_key();
    let inputs = known_inputs(HashAlgorithm::Sha256);
    let c = claims(&inputs, key.public_key(), HashAlgorithm::Sha256);
    let mut direct = TokenSession::new();
    direct.init(&c, SAMPLE_PLATFORM_TOKEN.len()).unwrap();
    // The same session driven through a save/restore round trip between every call gives
    // the same bytes as the one kept in memory.
    let mut saved = [0u8; SESSION_BYTES];
    direct.save(&mut saved);
    assert_eq!(TokenSession::restore(&saved).phase(), Phase::Unsigned);
    sign_all(&mut direct, &key);
    let mut expected = [0u8; 2124];
    let mut at = 0;
    while at < expected.len() {
        let end = (at + 97).min(expected.len());
        direct
            .copy_out(SAMPLE_PLATFORM_TOKEN, &mut expected[at..end])
            .unwrap();
        at = end;
    }
    // Through the saved form after every signing step (a pending interrupt each time) and
    // every chunk.
    let mut got = [0u8; 2124];
    let mut at = 0;
    let mut yields = 0;
    loop {
        let mut s = TokenSession::restore(&saved);
        let end = (at + 97).min(got.len());
        let r = s
            .continue_token(&key, SAMPLE_PLATFORM_TOKEN, &mut got[at..end], || true)
            .unwrap();
        s.save(&mut saved);
        if r == Continue::Yield {
            yields += 1;
            continue;
        }
        at += r.written() as usize;
        if let Continue::Done { .. } = r {
            break;
        }
    }
    assert_eq!(yields, es384::STEPS, "one yield per signing step");
    assert_eq!(at, 2124);
    assert_eq!(got, expected);
    assert_eq!(
        TokenSession::restore(&saved).phase(),
        Phase::Idle,
        "the last byte leaves an Idle session"
    );
    // Corruptions: unknown phase, lengths out of range, copied past the end.
    direct.init(&c, SAMPLE_PLATFORM_TOKEN.len()).unwrap();
    // A signature in progress whose saved state is corrupt restores Idle.
    direct.sign_step(&key).unwrap();
    direct.save(&mut saved);
    let mut bad = saved;
    let nonce_at = super::session::STATE_AT + 8;
    bad[nonce_at..nonce_at + 48].fill(0xff); // k >= n
    assert_eq!(TokenSession::restore(&saved).phase(), Phase::Unsigned);
    assert_eq!(TokenSession::restore(&saved).signing_steps_done(), 1);
    assert_eq!(TokenSession::restore(&bad).phase(), Phase::Idle);
    // The caller's copy of the saved form loses the signature in progress, nothing else.
    let mut wiped: SavedSession = [0; SESSION_WORDS];
    saved_bytes_mut(&mut wiped).copy_from_slice(&saved);
    super::session::wipe_saved_secrets(&mut wiped);
    let wiped = saved_bytes(&wiped);
    assert_eq!(wiped[..nonce_at - 8], saved[..nonce_at - 8]);
    assert!(wiped[nonce_at - 8..].iter().all(|&b| b == 0));
    assert!(saved[nonce_at..nonce_at + 48].iter().any(|&b| b != 0));
    sign_all(&mut direct, &key);
    direct.save(&mut saved);
    assert_eq!(
        TokenSession::restore(&saved).phase(),
        Phase::Signed { copied: 0 }
    );
    for (word, value) in [
        (0usize, 3u64),
        (0, u64::MAX),
        (1, 2124),
        (1, u64::MAX),
        (2, PLATFORM_TOKEN_MAX as u64 + 1),
        (3, 0),
        (3, CLAIMS_MAX_LEN as u64 + 1),
    ] {
        let mut bad = saved;
        bad[word * 8..word * 8 + 8].copy_from_slice(&value.to_le_bytes());
        assert_eq!(
            TokenSession::restore(&bad).phase(),
            Phase::Idle,
            "word {word} = {value:#x}"
        );
    }
    // Unsigned with bytes copied is impossible.
    let mut bad = saved;
    bad[..8].copy_from_slice(&1u64.to_le_bytes());
    bad[8..16].copy_from_slice(&5u64.to_le_bytes());
    assert_eq!(TokenSession::restore(&bad).phase(), Phase::Idle);
}
