// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask token <file>`: decodes a CCA attestation token (binary, hex text, or the
//! output of `hexdump -C`, as pasted from a realm's console) and
//! prints the collection, a summary of the platform token, the realm claims, and whether the
//! realm signature verifies under the realm public key claim and the platform token's
//! challenge binds that key (SHA-256 of the claim's bytes).
//!
//! [`verify`] does the work with crates independent of the RMM's encoder (ciborium, coset,
//! p384's verifier) and returns a [`Report`], so the end-to-end test can check a token the
//! realm printed. The platform token's own signature is not checked: that needs the
//! platform's key (for TF-A's sample token, the TF-M test key).
//!
//! A CSM realm's token also has the claims 65001 and 65002 after the REMs ([`csm`]): they
//! are decoded into [`Report::csm`] and checked against the host's expectations by
//! [`csm::check`]; everything else treats them as a CCA verifier does, by ignoring them.

use crate::cmd::Result;
use ciborium::Value;
use coset::{CborSerializable, CoseSign1, TaggedCborSerializable, iana};
use p384::ecdsa::signature::Verifier;
use p384::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::Path;

/// Tag of the CCA token collection.
const TAG_CCA_TOKEN: u64 = 399;
/// Collection keys.
const PLATFORM_TOKEN: i128 = 44234;
const REALM_TOKEN: i128 = 44241;

/// Realm claim keys.
mod realm {
    pub const CHALLENGE: i128 = 10;
    pub const PROFILE: i128 = 265;
    pub const RPV: i128 = 44235;
    pub const HASH_ALGO: i128 = 44236;
    pub const PUBLIC_KEY: i128 = 44237;
    pub const RIM: i128 = 44238;
    pub const REMS: i128 = 44239;
    pub const PUBLIC_KEY_HASH_ALGO: i128 = 44240;
}

/// Platform claim keys (Arm CCA platform token) and their names, for the summary.
const PLATFORM_CLAIMS: [(i128, &str); 9] = [
    (265, "profile"),
    (10, "challenge"),
    (2396, "implementation id"),
    (256, "instance id"),
    (2401, "platform config"),
    (2395, "lifecycle"),
    (2402, "hash algorithm"),
    (2400, "verification service"),
    (2399, "software components"),
];

/// What the verifier found in a token.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The platform token's bytes.
    pub platform_token: Vec<u8>,
    /// The platform token's claims, (key, value) in their order.
    pub platform_claims: Vec<(i128, Value)>,
    /// The platform token's challenge claim (10), if present.
    pub platform_challenge: Option<Vec<u8>>,
    /// Realm challenge (10).
    pub challenge: Vec<u8>,
    /// Realm personalization value (44235).
    pub rpv: Vec<u8>,
    /// Realm public key claim (44237): the encoded COSE_Key.
    pub public_key: Vec<u8>,
    /// Measurement hash algorithm (44236).
    pub hash_algo: String,
    /// Public-key hash algorithm (44240).
    pub public_key_hash_algo: String,
    /// Profile (265).
    pub profile: String,
    /// RIM (44238).
    pub rim: Vec<u8>,
    /// REMs (44239).
    pub rems: Vec<Vec<u8>>,
    /// Realm claim keys in the order they appear.
    pub claim_order: Vec<i128>,
    /// Whether the realm token's ES384 signature verifies under the public key claim.
    pub signature_ok: bool,
    /// Whether the platform challenge is SHA-256 of the public key claim.
    pub binding_ok: bool,
    /// The CSM claims (65001, 65002) of a CSM realm's token.
    pub csm: Option<csm::CsmClaims>,
}

fn err(msg: impl Into<String>) -> crate::cmd::Error {
    msg.into().into()
}

fn int_key(k: &Value) -> Result<i128> {
    k.as_integer()
        .map(i128::from)
        .ok_or_else(|| err(format!("non-integer map key {k:?}")))
}

fn int_map(v: Value, what: &str) -> Result<Vec<(i128, Value)>> {
    let Value::Map(entries) = v else {
        return Err(err(format!("{what} is not a map")));
    };
    entries
        .into_iter()
        .map(|(k, v)| Ok((int_key(&k)?, v)))
        .collect()
}

fn claim(claims: &[(i128, Value)], key: i128) -> Result<&Value> {
    claims
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .ok_or_else(|| err(format!("realm claim {key} missing")))
}

fn bytes_claim(claims: &[(i128, Value)], key: i128) -> Result<Vec<u8>> {
    claim(claims, key)?
        .as_bytes()
        .cloned()
        .ok_or_else(|| err(format!("realm claim {key} is not a byte string")))
}

fn text_claim(claims: &[(i128, Value)], key: i128) -> Result<String> {
    claim(claims, key)?
        .as_text()
        .map(str::to_owned)
        .ok_or_else(|| err(format!("realm claim {key} is not a text string")))
}

/// The verifying key of a P-384 COSE_Key, if it is one.
fn verifying_key(cose_key: &[u8]) -> Option<VerifyingKey> {
    let key = coset::CoseKey::from_slice(cose_key).ok()?;
    if key.kty != coset::KeyType::Assigned(iana::KeyType::EC2) {
        return None;
    }
    let param = |label: i64| {
        key.params
            .iter()
            .find(|(l, _)| *l == coset::Label::Int(label))
            .map(|(_, v)| v)
    };
    if param(-1)? != &Value::from(iana::EllipticCurve::P_384 as u64) {
        return None;
    }
    let mut sec1 = vec![0x04];
    sec1.extend_from_slice(param(-2)?.as_bytes()?);
    sec1.extend_from_slice(param(-3)?.as_bytes()?);
    VerifyingKey::from_sec1_bytes(&sec1).ok()
}

/// Decodes and checks a CCA token. Malformed CBOR or missing claims are errors; a bad
/// signature or binding is reported in the result.
pub fn verify(token: &[u8]) -> Result<Report> {
    let value: Value = ciborium::from_reader(token).map_err(|e| err(format!("not CBOR: {e}")))?;
    let Value::Tag(TAG_CCA_TOKEN, inner) = value else {
        return Err(err("not a CCA token (tag 399)"));
    };
    let collection = int_map(*inner, "the collection")?;
    let order: Vec<i128> = collection.iter().map(|(k, _)| *k).collect();
    if order != [PLATFORM_TOKEN, REALM_TOKEN] {
        return Err(err(format!(
            "collection keys {order:?}, expected [44234, 44241]"
        )));
    }
    let platform_token = bytes_claim(&collection, PLATFORM_TOKEN)?;
    let realm_token = bytes_claim(&collection, REALM_TOKEN)?;

    let platform = CoseSign1::from_tagged_slice(&platform_token)
        .map_err(|e| err(format!("platform token is not a COSE_Sign1: {e:?}")))?;
    let platform_payload: Value =
        ciborium::from_reader(platform.payload.as_deref().unwrap_or_default())
            .map_err(|e| err(format!("platform claims are not CBOR: {e}")))?;
    let platform_claims = int_map(platform_payload, "the platform claims")?;
    let platform_challenge = claim(&platform_claims, 10)
        .ok()
        .and_then(|v| v.as_bytes().cloned());

    let sign1 = CoseSign1::from_tagged_slice(&realm_token)
        .map_err(|e| err(format!("realm token is not a tagged COSE_Sign1: {e:?}")))?;
    if sign1.protected.header.alg != Some(coset::Algorithm::Assigned(iana::Algorithm::ES384)) {
        return Err(err(format!(
            "realm token algorithm {:?}, expected ES384",
            sign1.protected.header.alg
        )));
    }
    let payload: Value = ciborium::from_reader(sign1.payload.as_deref().unwrap_or_default())
        .map_err(|e| err(format!("realm claims are not CBOR: {e}")))?;
    let claims = int_map(payload, "the realm claims")?;

    let public_key = bytes_claim(&claims, realm::PUBLIC_KEY)?;
    let signature_ok = verifying_key(&public_key).is_some_and(|key| {
        sign1
            .verify_signature(b"", |sig, data| {
                let sig = Signature::from_slice(sig).map_err(|_| ())?;
                key.verify(data, &sig).map_err(|_| ())
            })
            .is_ok()
    });
    let binding_ok = platform_challenge.as_deref() == Some(Sha256::digest(&public_key).as_slice());
    let rems = match claim(&claims, realm::REMS)? {
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_bytes()
                    .cloned()
                    .ok_or_else(|| err("a REM is not a byte string"))
            })
            .collect::<Result<Vec<_>>>()?,
        _ => return Err(err("the REMs claim is not an array")),
    };
    let csm = csm::decode(&claims).map_err(err)?;
    Ok(Report {
        csm,
        challenge: bytes_claim(&claims, realm::CHALLENGE)?,
        rpv: bytes_claim(&claims, realm::RPV)?,
        hash_algo: text_claim(&claims, realm::HASH_ALGO)?,
        public_key_hash_algo: text_claim(&claims, realm::PUBLIC_KEY_HASH_ALGO)?,
        profile: text_claim(&claims, realm::PROFILE)?,
        rim: bytes_claim(&claims, realm::RIM)?,
        rems,
        claim_order: claims.iter().map(|(k, _)| *k).collect(),
        public_key,
        platform_token,
        platform_claims,
        platform_challenge,
        signature_ok,
        binding_ok,
    })
}

/// The token bytes in `text`: `hexdump -C` output (offsets, hex bytes and the ASCII column,
/// with `*` for repeated lines, as busybox's and util-linux's `hexdump -C` print it, e.g.
/// pasted from a realm's console), hex digits (whitespace and a `0x` prefix allowed), or else
/// the raw bytes.
pub fn decode_input(raw: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(raw).unwrap_or("");
    if let Some(bytes) = hexdump_canonical(text) {
        return bytes;
    }
    let digits: String = text
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let is_hex = !digits.is_empty()
        && digits.len().is_multiple_of(2)
        && digits.chars().all(|c| c.is_ascii_hexdigit());
    if !is_hex {
        return raw.to_vec();
    }
    (0..digits.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&digits[i..i + 2], 16).ok())
        .collect()
}

/// The bytes of `hexdump -C` output, or `None` if `text` is not that: every line that starts
/// with an offset of 8 to 16 hex digits (the next byte's) has up to 16 bytes as pairs of hex
/// digits and the ASCII column between `|`s; `*` alone repeats the line before up to the next
/// offset; a last line with the offset only gives the length. Other lines (a shell prompt, a
/// log line the console interleaved) are skipped; the offsets must follow on without a gap.
fn hexdump_canonical(text: &str) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let mut last: Vec<u8> = Vec::new();
    let mut repeat = false;
    let mut lines = 0;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line == "*" {
            repeat = true;
            continue;
        }
        let (offset, rest) = line.split_once(' ').unwrap_or((line, ""));
        if !(8..=16).contains(&offset.len()) || !offset.chars().all(|c| c.is_ascii_hexdigit()) {
            // Not a hexdump line: the console's other output (a prompt, the RMM's log).
            continue;
        }
        let offset = usize::from_str_radix(offset, 16).ok()?;
        if repeat {
            if last.is_empty() || offset < out.len() {
                return None;
            }
            while out.len() < offset {
                out.extend_from_slice(&last);
            }
            out.truncate(offset);
            repeat = false;
        }
        if offset != out.len() {
            return None;
        }
        let hex_part = rest.split('|').next().unwrap_or("");
        let mut bytes = Vec::new();
        for word in hex_part.split_whitespace() {
            if word.len() != 2 {
                return None;
            }
            bytes.push(u8::from_str_radix(word, 16).ok()?);
        }
        if bytes.len() > 16 || (bytes.is_empty() && !rest.trim().is_empty()) {
            return None;
        }
        lines += 1;
        out.extend_from_slice(&bytes);
        if !bytes.is_empty() {
            last = bytes;
        }
    }
    (lines > 0 && !out.is_empty()).then_some(out)
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

fn show(v: &Value) -> String {
    match v {
        Value::Bytes(b) => format!("h'{}' ({} bytes)", hex(b), b.len()),
        Value::Text(t) => format!("\"{t}\""),
        Value::Integer(i) => format!("{}", i128::from(*i)),
        Value::Array(items) => format!("array of {}", items.len()),
        Value::Map(items) => format!("map of {}", items.len()),
        other => format!("{other:?}"),
    }
}

fn ok(b: bool) -> &'static str {
    if b { "OK" } else { "FAILED" }
}

/// The report as text for people.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "CCA token (tag 399)");
    let _ = writeln!(
        s,
        "  platform token (44234): {} bytes",
        r.platform_token.len()
    );
    for (key, value) in &r.platform_claims {
        let name = PLATFORM_CLAIMS
            .iter()
            .find(|(k, _)| k == key)
            .map_or("?", |(_, n)| n);
        let _ = writeln!(s, "    {key:>5} {name:<21} {}", show(value));
    }
    let _ = writeln!(s, "  realm token (44241): COSE_Sign1, ES384");
    let _ = writeln!(s, "    claim order {:?}", r.claim_order);
    let _ = writeln!(s, "       10 challenge             {}", hex(&r.challenge));
    let _ = writeln!(s, "    44235 personalization value {}", hex(&r.rpv));
    let _ = writeln!(s, "    44237 public key            {}", hex(&r.public_key));
    let _ = writeln!(s, "    44236 hash algorithm        {}", r.hash_algo);
    let _ = writeln!(
        s,
        "    44240 public key hash alg.  {}",
        r.public_key_hash_algo
    );
    let _ = writeln!(s, "      265 profile               {}", r.profile);
    let _ = writeln!(s, "    44238 RIM                   {}", hex(&r.rim));
    for (i, rem) in r.rems.iter().enumerate() {
        let _ = writeln!(s, "    44239 REM[{i}]                {}", hex(rem));
    }
    if let Some(c) = &r.csm {
        let _ = writeln!(s, "    65001 csm-realm-id          {}", c.realm_id);
        let _ = writeln!(
            s,
            "    65002 csm-shares            {} entries",
            c.shares.len()
        );
        for (i, sh) in c.shares.iter().enumerate() {
            let mode = if sh.mode == 3 { "rw" } else { "r" };
            let _ = writeln!(
                s,
                "      [{i}] {:?} region {} share {} peer {} size {:#x} {mode}{} peer {} RIM {} RPV {}",
                sh.role,
                sh.region_id,
                sh.share_id,
                sh.peer_realm_id,
                sh.size,
                if sh.attached { " attached" } else { "" },
                sh.peer_hash_algo,
                hex(&sh.peer_rim),
                hex(&sh.peer_rpv),
            );
        }
    }
    let _ = writeln!(
        s,
        "realm signature under the public key claim: {}",
        ok(r.signature_ok)
    );
    let _ = writeln!(
        s,
        "platform challenge = SHA-256(public key claim): {}",
        ok(r.binding_ok)
    );
    s
}

/// `cargo xtask token <file>`.
pub fn run(args: &[String]) -> Result {
    let [path] = args else {
        return Err(err(
            "usage: cargo xtask token <file (binary, hex, or `hexdump -C` output)>",
        ));
    };
    let raw = std::fs::read(Path::new(path)).map_err(|e| err(format!("{path}: {e}")))?;
    let report = verify(&decode_input(&raw))?;
    print!("{}", render(&report));
    if report.signature_ok && report.binding_ok {
        Ok(())
    } else {
        Err(err("the token does not verify"))
    }
}

pub mod csm;

#[cfg(test)]
mod tests;
