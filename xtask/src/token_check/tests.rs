// SPDX-License-Identifier: MIT OR Apache-2.0
//! The transcript side of the token check: extraction, every kind of damage, and the
//! comparisons with what the hypervisor printed.

use super::*;
use attest::token::{RealmClaims, RealmSigningKey, TokenSession};
use rmm_abi::rmi::states::HashAlgorithm;
use std::fmt::Write as _;

const SAMPLE_KEY: &[u8; 48] =
    include_bytes!("../../../attest/tests/data/tfa-sample-realm-attest-key.bin");
const SAMPLE_PLATFORM_TOKEN: &[u8] =
    include_bytes!("../../../attest/tests/data/tfa-sample-platform-token.bin");

const RIM: [u8; 64] = [0x11; 64];
const REMS: [[u8; 64]; 4] = [[0x21; 64], [0x22; 64], [0x23; 64], [0x24; 64]];

fn token(challenge: [u8; 64], platform: &[u8]) -> Vec<u8> {
    let mut raw = *SAMPLE_KEY;
    let key = RealmSigningKey::from_raw_scalar(&mut raw).unwrap();
    let rpv = [0x77; 64];
    let claims = RealmClaims {
        challenge: &challenge,
        personalization: &rpv,
        public_key: key.public_key(),
        hash_algo: HashAlgorithm::Sha256,
        rim: &RIM,
        rems: &REMS,
        csm: None,
    };
    let mut session = TokenSession::new();
    let len = session.init(&claims, platform.len()).unwrap();
    let mut out = vec![0u8; len];
    session
        .continue_token(&key, platform, &mut out, || false)
        .unwrap();
    out
}

fn hexs(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// A transcript as the hypervisor prints it, with `edit` applied to the lines.
fn transcript(
    name: &str,
    token: &[u8],
    challenge: [u8; 64],
    edit: impl Fn(&mut Vec<String>),
) -> String {
    let mut lines = vec!["TEST cpu0.something PASS".to_string()];
    lines.push(format!("ATTEST {name} challenge {}", hexs(&challenge)));
    lines.push(format!("ATTEST {name} rpv {}", hexs(&[0x77; 64])));
    lines.push(format!("ATTEST {name} rim {}", hexs(&RIM[..32])));
    for (i, rem) in REMS.iter().enumerate() {
        lines.push(format!("ATTEST {name} rem{} {}", i + 1, hexs(&rem[..32])));
    }
    for (i, chunk) in token.chunks(96).enumerate() {
        lines.push(format!("TOKEN {name} {} {}", i * 96, hexs(chunk)));
    }
    lines.push(format!("TOKEN {name} end {}", token.len()));
    edit(&mut lines);
    lines.join("\n")
}

fn only(out: &str) -> TestLine {
    let results = check(out, &["t"]);
    assert_eq!(results.len(), 1, "{results:?}");
    results[0].clone()
}

#[test]
fn a_good_token_passes_and_a_missing_one_fails() {
    let t = token([5; 64], SAMPLE_PLATFORM_TOKEN);
    let r = only(&transcript("t", &t, [5; 64], |_| {}));
    assert!(r.passed, "{}", r.reason);
    assert_eq!(r.name, "xtask.token.t");
    let r = check("TEST cpu0.x PASS\n", &["t"]);
    assert!(!r[0].passed);
    assert!(r[0].reason.contains("no such token"));
}

type Edit = Box<dyn Fn(&mut Vec<String>)>;

#[test]
fn damage_is_caught() {
    let t = token([5; 64], SAMPLE_PLATFORM_TOKEN);
    let cases: Vec<(&str, Edit)> = vec![
        (
            "lost hunk",
            Box::new(|l| {
                l.retain(|x| !x.starts_with("TOKEN t 96 "));
            }),
        ),
        ("no end", Box::new(|l| l.retain(|x| !x.contains(" end ")))),
        (
            "wrong end",
            Box::new(|l| {
                let last = l.len() - 1;
                l[last] = "TOKEN t end 5".into();
            }),
        ),
        ("garbled", Box::new(|l| l.push("TOKEN t 9999 zz".into()))),
        (
            "other challenge",
            Box::new(|l| {
                l[1] = format!("ATTEST t challenge {}", hexs(&[6; 64]));
            }),
        ),
        (
            "other rim",
            Box::new(|l| l[3] = format!("ATTEST t rim {}", hexs(&[0; 32]))),
        ),
        (
            "other rem",
            Box::new(|l| l[7] = format!("ATTEST t rem4 {}", hexs(&[0; 32]))),
        ),
        ("no rpv", Box::new(|l| l.retain(|x| !x.contains(" rpv ")))),
        (
            "flipped signature",
            Box::new(|l| {
                // The signature is the token's last 96 bytes: flip a hex digit of the last hunk.
                let i = l.len() - 2;
                let s = &mut l[i];
                let n = s.len() - 3;
                let c = if &s[n..n + 1] == "0" { "1" } else { "0" };
                s.replace_range(n..n + 1, c);
            }),
        ),
    ];
    for (what, edit) in cases {
        let r = only(&transcript("t", &t, [5; 64], edit));
        assert!(!r.passed, "{what} passed");
    }
}

#[test]
fn a_platform_token_bound_to_another_key_fails() {
    // The same platform token with one byte of its challenge changed.
    let mut platform = SAMPLE_PLATFORM_TOKEN.to_vec();
    let at = platform
        .windows(4)
        .position(|w| w == [0x0d, 0x22, 0xe0, 0x8a])
        .expect("the sample challenge");
    platform[at] ^= 1;
    let t = token([5; 64], &platform);
    let r = only(&transcript("t", &t, [5; 64], |_| {}));
    assert!(!r.passed);
    assert!(r.reason.contains("not SHA-256"), "{}", r.reason);
}

#[test]
fn unexpected_tokens_fail() {
    let t = token([5; 64], SAMPLE_PLATFORM_TOKEN);
    let out = transcript("t", &t, [5; 64], |_| {}) + "\n" + &transcript("u", &t, [5; 64], |_| {});
    let r = check(&out, &["t"]);
    assert_eq!(r.len(), 2);
    assert!(r[0].passed);
    assert!(!r[1].passed);
}

#[test]
fn csm_tokens_pass_the_cca_checks_and_judge_csm_compares_the_claims() {
    use crate::token::csm::CsmClaims;
    use crate::token::csm::tests::{csm_token, expected_share};
    let t = csm_token([5; 64], Some((42, 4)));
    // The transcript helper prints the RPV, RIM and REMs csm_token used.
    let out = transcript("t", &t, [5; 64], |_| {});
    let r = only(&out);
    assert!(
        r.passed,
        "a CCA-only check accepts the CSM claims: {}",
        r.reason
    );
    let printed = extract(&out).remove("t").unwrap();
    let want = CsmClaims {
        realm_id: 42,
        shares: (0..4).map(expected_share).collect(),
    };
    assert_eq!(judge_csm(&printed, Some(&want)), Vec::<String>::new());
    let mut wrong_rim = want.clone();
    wrong_rim.shares[2].peer_rim[5] ^= 0x80;
    let problems = judge_csm(&printed, Some(&wrong_rim));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("peer RIM"));
    let mut missing = want.clone();
    missing.shares.push(expected_share(4));
    assert!(judge_csm(&printed, Some(&missing))[0].contains("missing"));
    let wrong_id = CsmClaims {
        realm_id: 41,
        ..want.clone()
    };
    assert!(judge_csm(&printed, Some(&wrong_id))[0].contains("csm-realm-id"));
    assert_eq!(judge_csm(&printed, None).len(), 1, "claims nobody expected");
    // A token without CSM claims, judged with and without expectations.
    let plain = csm_token([5; 64], None);
    let out = transcript("t", &plain, [5; 64], |_| {});
    let printed = extract(&out).remove("t").unwrap();
    assert!(judge_csm(&printed, None).is_empty());
    assert!(judge_csm(&printed, Some(&want))[0].contains("no CSM claims"));
    // Claims out of place are not the reference order.
    let mut damaged = t.clone();
    let at = damaged
        .windows(3)
        .position(|w| w == [0x19, 0xfd, 0xe9])
        .expect("key 65001");
    damaged[at + 2] = 0xe8; // 65000: an unknown claim where 65001 was
    let out = transcript("t", &damaged, [5; 64], |_| {});
    let r = only(&out);
    assert!(!r.passed);
}
