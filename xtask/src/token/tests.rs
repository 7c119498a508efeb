// SPDX-License-Identifier: MIT OR Apache-2.0
//! The verifier against tokens made by `attest`'s encoder with TF-A's sample key and platform
//! token, and against broken ones.

use super::*;
use attest::token::{RealmClaims, RealmSigningKey, TokenSession};
use rmm_abi::rmi::states::HashAlgorithm;

const SAMPLE_KEY: &[u8; 48] =
    include_bytes!("../../../attest/tests/data/tfa-sample-realm-attest-key.bin");
const SAMPLE_PLATFORM_TOKEN: &[u8] =
    include_bytes!("../../../attest/tests/data/tfa-sample-platform-token.bin");

fn token(key: &RealmSigningKey, algo: HashAlgorithm) -> Vec<u8> {
    let challenge = [0x5C; 64];
    let rpv = [0x77; 64];
    let rim = [0x01; 64];
    let rems = [[0x02; 64], [0x03; 64], [0x04; 64], [0x05; 64]];
    let claims = RealmClaims {
        challenge: &challenge,
        personalization: &rpv,
        public_key: key.public_key(),
        hash_algo: algo,
        rim: &rim,
        rems: &rems,
        csm: None,
    };
    let mut session = TokenSession::new();
    let len = session.init(&claims, SAMPLE_PLATFORM_TOKEN.len()).unwrap();
    let mut out = vec![0u8; len];
    let r = session
        .continue_token(key, SAMPLE_PLATFORM_TOKEN, &mut out, || false)
        .unwrap();
    assert_eq!(r.written() as usize, len);
    out
}

fn key() -> RealmSigningKey {
    let mut raw = *SAMPLE_KEY;
    RealmSigningKey::from_raw_scalar(&mut raw).unwrap()
}

#[test]
fn verifies_a_sample_token() {
    let key = key();
    let r = verify(&token(&key, HashAlgorithm::Sha256)).unwrap();
    assert!(r.signature_ok);
    assert!(r.binding_ok);
    assert_eq!(r.challenge, [0x5C; 64]);
    assert_eq!(r.rpv, [0x77; 64]);
    assert_eq!(r.rim, [0x01; 32]);
    assert_eq!(
        r.rems,
        vec![vec![2; 32], vec![3; 32], vec![4; 32], vec![5; 32]]
    );
    assert_eq!(r.hash_algo, "sha-256");
    assert_eq!(r.public_key_hash_algo, "sha-256");
    assert_eq!(r.profile, "tag:arm.com,2023:realm#1.0.0");
    assert_eq!(
        r.claim_order,
        [10, 44235, 44237, 44236, 44240, 265, 44238, 44239]
    );
    assert_eq!(r.platform_token, SAMPLE_PLATFORM_TOKEN);
    assert_eq!(r.platform_claims.len(), 9);
    let text = render(&r);
    assert!(text.contains("realm signature under the public key claim: OK"));
    assert!(text.contains("SHA-256(public key claim): OK"));
    assert!(text.contains("software components"));

    let r = verify(&token(&key, HashAlgorithm::Sha512)).unwrap();
    assert!(r.signature_ok && r.binding_ok);
    assert_eq!(r.rim, [0x01; 64]);
}

#[test]
fn hex_input_is_decoded() {
    let key = key();
    let t = token(&key, HashAlgorithm::Sha256);
    let mut text = String::from("0x");
    for (i, b) in t.iter().enumerate() {
        text.push_str(&format!("{b:02x}"));
        if i % 32 == 31 {
            text.push('\n');
        }
    }
    assert_eq!(decode_input(text.as_bytes()), t);
    assert_eq!(decode_input(&t), t, "binary passes through");
}

/// `hexdump -C` of `bytes`, as util-linux and busybox print it (`*` for repeated lines).
fn hexdump_c(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut previous: Option<&[u8]> = None;
    let mut starred = false;
    for (i, line) in bytes.chunks(16).enumerate() {
        if previous == Some(line) && line.len() == 16 {
            if !starred {
                out.push_str("*\n");
                starred = true;
            }
            continue;
        }
        starred = false;
        previous = Some(line);
        out.push_str(&format!("{:08x} ", i * 16));
        for (j, b) in line.iter().enumerate() {
            out.push_str(if j == 8 { "  " } else { " " });
            out.push_str(&format!("{b:02x}"));
        }
        let ascii: String = line
            .iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!("  |{ascii}|\r\n"));
    }
    out.push_str(&format!("{:08x}\n", bytes.len()));
    out
}

#[test]
fn hexdump_c_output_is_decoded() {
    let key = key();
    let t = token(&key, HashAlgorithm::Sha256);
    assert_eq!(decode_input(hexdump_c(&t).as_bytes()), t);
    // Repeated lines (`*`), a short last line, an ASCII column holding `|` and digits.
    let mut bytes = vec![0u8; 80];
    bytes.extend_from_slice(b"|12 34 56|");
    let text = hexdump_c(&bytes);
    assert!(text.contains("*\n"), "{text}");
    assert_eq!(decode_input(text.as_bytes()), bytes);
    // Pasted with leading blanks, a blank line, the shell's prompt and a log line the console
    // put between the hexdump's lines.
    let mut pasted = format!("\n~ # cat outblob | hexdump -C\n  {}", hexdump_c(&t));
    pasted = pasted.replacen(
        "\n00000010",
        "\nRMM[0] INFO  attestation: signing\n00000010",
        1,
    );
    assert!(pasted.contains("RMM[0]"));
    assert_eq!(decode_input(pasted.as_bytes()), t);
    // A gap in the offsets is not hexdump output (it is read as plain hex digits instead).
    let broken = "00000000  01 02\n00000010  03\n";
    assert_ne!(decode_input(broken.as_bytes()), [1, 2, 3]);
}

#[test]
fn a_changed_byte_fails_the_signature_and_another_key_fails_the_binding() {
    let key = key();
    let t = token(&key, HashAlgorithm::Sha256);
    // The last byte is the end of the signature; 2124 - 269 is inside the claims (the RIM).
    for at in [t.len() - 1, t.len() - 269] {
        let mut bad = t.clone();
        bad[at] ^= 1;
        let r = verify(&bad).unwrap();
        assert!(!r.signature_ok, "byte {at}");
    }
    let mut other = [0x42u8; 48];
    let other = RealmSigningKey::from_raw_scalar(&mut other).unwrap();
    let r = verify(&token(&other, HashAlgorithm::Sha256)).unwrap();
    assert!(r.signature_ok, "self-consistent");
    assert!(
        !r.binding_ok,
        "the sample platform token is bound to the sample key only"
    );
}

#[test]
fn malformed_tokens_are_errors() {
    assert!(verify(&[]).is_err());
    assert!(
        verify(&[0xd9, 0x01, 0x8f, 0xa0]).is_err(),
        "empty collection"
    );
    assert!(verify(&[0xd8, 0x12, 0x80]).is_err(), "not tag 399");
    let t = token(&key(), HashAlgorithm::Sha256);
    assert!(verify(&t[..t.len() - 1]).is_err(), "truncated");
}
