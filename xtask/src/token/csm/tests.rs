// SPDX-License-Identifier: MIT OR Apache-2.0
//! The verifier's CSM claims: tokens made by `attest`'s encoder (TF-A's sample key and
//! platform token) with CSM claims decode to what went in, verify as CCA tokens, and every
//! mismatch with the host's expectations (wrong peer RIM, missing or extra share, wrong realm
//! id, ...) is reported; malformed claims are errors.

use super::*;
use crate::token::verify;
use attest::token::{
    CsmClaims as InCsm, CsmShare, RealmClaims, RealmSigningKey, Role as InRole, ShareMode,
    ShareSlice, TokenSession,
};
use rmm_abi::rmi::states::HashAlgorithm;

const SAMPLE_KEY: &[u8; 48] =
    include_bytes!("../../../../attest/tests/data/tfa-sample-realm-attest-key.bin");
const SAMPLE_PLATFORM_TOKEN: &[u8] =
    include_bytes!("../../../../attest/tests/data/tfa-sample-platform-token.bin");

/// Input share `i`: both roles, modes and peer algorithms.
pub(crate) fn input_share(i: usize) -> CsmShare {
    let peer_hash = if i.is_multiple_of(2) {
        HashAlgorithm::Sha256
    } else {
        HashAlgorithm::Sha512
    };
    CsmShare {
        role: if i < 3 {
            InRole::Provider
        } else {
            InRole::Consumer
        },
        region_id: 10 + i as u64,
        share_id: 20 + i as u64,
        peer_realm_id: 30 + i as u64,
        peer_rim: [0x50 + i as u8; 64],
        peer_rpv: [0x60 + i as u8; 64],
        peer_hash,
        size: 0x2000 * (i as u64 + 1),
        mode: if i.is_multiple_of(3) {
            ShareMode::Read
        } else {
            ShareMode::ReadWrite
        },
        attached: i % 2 == 1,
    }
}

/// What the host expects of input share `i` (written out independently of the encoder).
pub(crate) fn expected_share(i: usize) -> Share {
    let rim_len = if i.is_multiple_of(2) { 32 } else { 64 };
    Share {
        role: if i < 3 {
            Role::Provider
        } else {
            Role::Consumer
        },
        region_id: 10 + i as u64,
        share_id: 20 + i as u64,
        peer_realm_id: 30 + i as u64,
        peer_rim: vec![0x50 + i as u8; rim_len],
        peer_rpv: vec![0x60 + i as u8; 64],
        peer_hash_algo: if rim_len == 32 { "sha-256" } else { "sha-512" }.into(),
        size: 0x2000 * (i as u64 + 1),
        mode: if i.is_multiple_of(3) { 1 } else { 3 },
        attached: i % 2 == 1,
    }
}

/// A token of realm `realm_id` with input shares `0..n` (`None`: a realm without an APT).
pub(crate) fn csm_token(challenge: [u8; 64], csm: Option<(u64, usize)>) -> Vec<u8> {
    let mut raw = *SAMPLE_KEY;
    let key = RealmSigningKey::from_raw_scalar(&mut raw).unwrap();
    let rpv = [0x77; 64];
    let rim = [0x11; 64];
    let rems = [[0x21; 64], [0x22; 64], [0x23; 64], [0x24; 64]];
    let shares: Vec<CsmShare> = (0..csm.map_or(0, |(_, n)| n)).map(input_share).collect();
    let source = ShareSlice(&shares);
    let claims = RealmClaims {
        challenge: &challenge,
        personalization: &rpv,
        public_key: key.public_key(),
        hash_algo: HashAlgorithm::Sha256,
        rim: &rim,
        rems: &rems,
        csm: csm.map(|(realm_id, _)| InCsm {
            realm_id,
            shares: &source,
        }),
    };
    let mut store = vec![0u8; attest::token::session::STORE_BYTES];
    let mut session = TokenSession::new();
    let len = session
        .init_with(&mut store[..], &claims, SAMPLE_PLATFORM_TOKEN.len())
        .unwrap();
    let mut out = vec![0u8; len];
    session
        .continue_token_with(
            &key,
            &store[..],
            &attest::sha::SOFT,
            SAMPLE_PLATFORM_TOKEN,
            &mut out,
            || false,
        )
        .unwrap();
    out
}

fn expected(realm_id: u64, n: usize) -> CsmClaims {
    CsmClaims {
        realm_id,
        shares: (0..n).map(expected_share).collect(),
    }
}

#[test]
fn a_csm_token_decodes_to_what_went_in_and_verifies() {
    let token = csm_token([5; 64], Some((42, 6)));
    let r = verify(&token).unwrap();
    assert!(r.signature_ok && r.binding_ok, "a CCA verifier accepts it");
    assert_eq!(r.rim, [0x11; 32]);
    assert_eq!(
        r.claim_order,
        [
            10, 44235, 44237, 44236, 44240, 265, 44238, 44239, 65001, 65002
        ]
    );
    let want = expected(42, 6);
    assert_eq!(r.csm.as_ref(), Some(&want));
    assert!(check(r.csm.as_ref(), Some(&want)).is_empty());
    let text = crate::token::render(&r);
    assert!(text.contains("65001 csm-realm-id          42"), "{text}");
    assert!(
        text.contains("[5] Consumer region 15 share 25 peer 35"),
        "{text}"
    );

    // Shares match in any order.
    let mut shuffled = want.clone();
    shuffled.shares.reverse();
    assert!(check(r.csm.as_ref(), Some(&shuffled)).is_empty());

    // A CSM realm with no shares: an empty array.
    let r = verify(&csm_token([5; 64], Some((7, 0)))).unwrap();
    assert_eq!(r.csm, Some(expected(7, 0)));

    // No APT: no claims, and none expected.
    let r = verify(&csm_token([5; 64], None)).unwrap();
    assert_eq!(r.csm, None);
    assert_eq!(r.claim_order.len(), 8);
    assert!(check(None, None).is_empty());
}

#[test]
fn mismatches_are_rejected() {
    let r = verify(&csm_token([5; 64], Some((42, 6)))).unwrap();
    let got = r.csm.as_ref();
    let problem = |edit: &dyn Fn(&mut CsmClaims)| {
        let mut want = expected(42, 6);
        edit(&mut want);
        check(got, Some(&want))
    };
    type Edit = Box<dyn Fn(&mut CsmClaims)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "wrong peer RIM",
            Box::new(|w| w.shares[3].peer_rim[0] ^= 1),
            "Consumer share 23: peer RIM",
        ),
        (
            "missing share",
            Box::new(|w| w.shares.push(expected_share(6))),
            "Consumer share 26 missing",
        ),
        (
            "extra share",
            Box::new(|w| {
                w.shares.remove(0);
            }),
            "Provider share 20 not expected",
        ),
        (
            "wrong realm id",
            Box::new(|w| w.realm_id = 43),
            "csm-realm-id 42, expected 43",
        ),
        (
            "wrong peer realm",
            Box::new(|w| w.shares[0].peer_realm_id = 99),
            "peer realm id 30, expected 99",
        ),
        (
            "wrong role",
            Box::new(|w| w.shares[0].role = Role::Consumer),
            "Consumer share 20 missing",
        ),
        (
            "wrong mode",
            Box::new(|w| w.shares[1].mode = 1),
            "mode 3, expected 1",
        ),
        (
            "not attached",
            Box::new(|w| w.shares[1].attached = false),
            "attached true, expected false",
        ),
        (
            "wrong size",
            Box::new(|w| w.shares[2].size = 0x1000),
            "size 24576, expected 4096",
        ),
        (
            "wrong peer RPV",
            Box::new(|w| w.shares[4].peer_rpv[63] = 0),
            "peer RPV",
        ),
        (
            "wrong algorithm",
            Box::new(|w| w.shares[4].peer_hash_algo = "sha-512".into()),
            "peer hash algorithm sha-256, expected sha-512",
        ),
        (
            "wrong region",
            Box::new(|w| w.shares[5].region_id = 1),
            "region id 15, expected 1",
        ),
    ];
    for (what, edit, reason) in cases {
        let problems = problem(&*edit);
        assert!(
            problems.iter().any(|p| p.contains(reason)),
            "{what}: {problems:?}"
        );
    }
    // Expected without claims, or claims where none were expected.
    let none = verify(&csm_token([5; 64], None)).unwrap();
    assert_eq!(
        check(none.csm.as_ref(), Some(&expected(42, 0))),
        ["no CSM claims (65001, 65002) in the token"]
    );
    assert_eq!(check(got, None).len(), 1);
    // A share listed twice in a token.
    let mut twice = expected(42, 2);
    twice.shares.push(expected_share(1));
    assert!(
        check(Some(&twice), Some(&expected(42, 2)))
            .iter()
            .any(|p| p.contains("listed twice"))
    );
}

/// A well-formed share map as ciborium values, with `edit` applied.
fn share_value(edit: impl Fn(&mut Vec<(Value, Value)>)) -> Value {
    let mut entries: Vec<(Value, Value)> = vec![
        (1.into(), 1.into()),
        (2.into(), 2.into()),
        (3.into(), 3.into()),
        (4.into(), 4.into()),
        (5.into(), Value::Bytes(vec![0; 32])),
        (6.into(), Value::Bytes(vec![0; 64])),
        (7.into(), "sha-256".into()),
        (8.into(), 4096.into()),
        (9.into(), 3.into()),
        (10.into(), true.into()),
    ];
    edit(&mut entries);
    Value::Map(entries)
}

#[test]
fn malformed_claims_are_errors() {
    let claims = |shares: Value| vec![(REALM_ID, Value::from(1)), (SHARES, shares)];
    let ok = claims(Value::Array(vec![share_value(|_| {})]));
    assert_eq!(decode(&ok).unwrap().unwrap().shares.len(), 1);
    assert!(decode(&ok[..1]).is_err(), "65001 alone");
    assert!(decode(&ok[1..]).is_err(), "65002 alone");
    assert!(decode(&[]).unwrap().is_none());
    assert!(decode(&claims(Value::from(1))).is_err(), "not an array");
    assert!(
        decode(&[(REALM_ID, Value::from(-1)), ok[1].clone()]).is_err(),
        "negative realm id"
    );
    type Edit = Box<dyn Fn(&mut Vec<(Value, Value)>)>;
    let bad: Vec<(&str, Edit)> = vec![
        ("role 0", Box::new(|e| e[0].1 = 0.into())),
        ("role 3", Box::new(|e| e[0].1 = 3.into())),
        ("mode 2", Box::new(|e| e[8].1 = 2.into())),
        (
            "short RIM",
            Box::new(|e| e[4].1 = Value::Bytes(vec![0; 31])),
        ),
        ("RIM for sha-512", Box::new(|e| e[6].1 = "sha-512".into())),
        (
            "short RPV",
            Box::new(|e| e[5].1 = Value::Bytes(vec![0; 32])),
        ),
        ("unknown algorithm", Box::new(|e| e[6].1 = "sha-384".into())),
        ("attached not bool", Box::new(|e| e[9].1 = 1.into())),
        ("size not uint", Box::new(|e| e[7].1 = "big".into())),
        (
            "missing key",
            Box::new(|e| {
                e.pop();
            }),
        ),
        ("extra key", Box::new(|e| e.push((11.into(), 0.into())))),
        ("keys out of order", Box::new(|e| e.swap(0, 1))),
    ];
    for (what, edit) in bad {
        assert!(
            decode(&claims(Value::Array(vec![share_value(&*edit)]))).is_err(),
            "{what}"
        );
    }
    assert!(decode(&claims(Value::Array(vec![Value::from(1)]))).is_err());
}
