// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CCA tokens the test hypervisor prints in the end-to-end transcript, verified on the
//! host by the independent verifier ([`crate::token::verify`]: ciborium, coset, p384).
//!
//! The hypervisor prints, per token `<name>`:
//!
//! ```text
//! ATTEST <name> challenge|rpv|rim|rem1|rem2|rem3|rem4 <hex>
//! TOKEN <name> <byte offset> <hex>
//! TOKEN <name> end <length>
//! ```
//!
//! Each expected token becomes one `TEST xtask.token.<name>` result: it passes only if the
//! token is complete (contiguous hunks, the declared length), decodes, its realm signature
//! verifies under its public key claim, the platform token is present and its challenge is
//! SHA-256 of that claim, the challenge, RPV, RIM and REMs are what the hypervisor printed
//! (its RIM computed from the image it loaded, its REMs from the known extends), and the
//! profile, algorithms and claim order are the reference RMM's. A missing token fails.
//!
//! A CSM realm's token has the claims 65001 and 65002 after the reference RMM's eight:
//! [`judge`] accepts them (as a verifier that knows only the CCA profile ignores them), and
//! [`judge_csm`] also compares them with what the host expects ([`token::csm::check`]).

use crate::token;
use crate::transcript::TestLine;
use std::collections::BTreeMap;

/// The tokens `cargo xtask test` expects from the suite group.
pub const SUITE_TOKENS: &[&str] = &[
    "attest.sha256",
    "attest.pair0.sha512",
    "attest.pair1.sha512",
];

/// The reference RMM's claim order.
const CLAIM_ORDER: [i128; 8] = [10, 44235, 44237, 44236, 44240, 265, 44238, 44239];

/// The CSM claims, after the reference RMM's in a CSM realm's token.
const CSM_CLAIMS: [i128; 2] = [token::csm::REALM_ID, token::csm::SHARES];

/// One token as the transcript gave it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Printed {
    /// Bytes, in offset order.
    pub bytes: Vec<u8>,
    /// The length the `end` line declared.
    pub declared: Option<usize>,
    /// `ATTEST` fields by name.
    pub fields: BTreeMap<String, Vec<u8>>,
    /// What went wrong while reading it.
    pub problems: Vec<String>,
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Every token printed in `output`, by name.
pub fn extract(output: &str) -> BTreeMap<String, Printed> {
    let mut tokens: BTreeMap<String, Printed> = BTreeMap::new();
    for line in output.lines().map(str::trim_end) {
        if let Some(rest) = line.strip_prefix("TOKEN ") {
            let mut parts = rest.split(' ');
            let (Some(name), Some(at), Some(value)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let t = tokens.entry(name.to_string()).or_default();
            if at == "end" {
                t.declared = value.parse().ok();
                if t.declared.is_none() {
                    t.problems.push(format!("bad end line `{line}`"));
                }
                continue;
            }
            match (at.parse::<usize>(), hex(value)) {
                (Ok(at), Some(bytes)) if at == t.bytes.len() => t.bytes.extend(bytes),
                (Ok(at), Some(_)) => t.problems.push(format!(
                    "hunk at offset {at} where {} was expected",
                    t.bytes.len()
                )),
                _ => t.problems.push(format!("garbled line `{line}`")),
            }
        } else if let Some(rest) = line.strip_prefix("ATTEST ") {
            let mut parts = rest.split(' ');
            let (Some(name), Some(field), Some(value)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let t = tokens.entry(name.to_string()).or_default();
            match hex(value) {
                Some(bytes) => {
                    t.fields.insert(field.to_string(), bytes);
                }
                None => t.problems.push(format!("garbled line `{line}`")),
            }
        }
    }
    tokens
}

/// Every reason `printed` is not a valid token for what the hypervisor expected (the CCA
/// checks; CSM claims, if any, are not compared: [`judge_csm`]).
pub fn judge(printed: &Printed) -> Vec<String> {
    judge_report(printed).0
}

/// [`judge`], and the token's CSM claims must be `expected` ([`token::csm::check`]: the
/// realm id, and every share with the peer RIM the host computed); `None` expects a token
/// without CSM claims.
#[allow(
    dead_code,
    reason = "the API for the QEMU CSM scenarios, which do not exist yet; tested here"
)]
pub fn judge_csm(printed: &Printed, expected: Option<&token::csm::CsmClaims>) -> Vec<String> {
    let (mut problems, report) = judge_report(printed);
    if let Some(report) = report {
        problems.extend(token::csm::check(report.csm.as_ref(), expected));
    }
    problems
}

/// The CCA problems and, if the token decodes, its report.
fn judge_report(printed: &Printed) -> (Vec<String>, Option<token::Report>) {
    let mut problems = printed.problems.clone();
    match printed.declared {
        None => problems.push("no `TOKEN <name> end <length>` line".into()),
        Some(n) if n != printed.bytes.len() => problems.push(format!(
            "{} bytes printed, {n} declared",
            printed.bytes.len()
        )),
        Some(_) => {}
    }
    let report = match token::verify(&printed.bytes) {
        Ok(report) => report,
        Err(e) => {
            problems.push(format!("does not decode: {e}"));
            return (problems, None);
        }
    };
    if !report.signature_ok {
        problems.push("the realm signature does not verify under the public key claim".into());
    }
    if report.platform_token.is_empty() {
        problems.push("no platform token".into());
    }
    if !report.binding_ok {
        problems.push(format!(
            "the platform token's challenge {:02x?} is not SHA-256 of the realm public key claim",
            report.platform_challenge
        ));
    }
    let mut expect = |field: &str, got: &[u8]| match printed.fields.get(field) {
        None => problems.push(format!("the hypervisor printed no {field}")),
        Some(want) if want.as_slice() != got => {
            problems.push(format!("{field} is {got:02x?}, expected {want:02x?}"));
        }
        Some(_) => {}
    };
    expect("challenge", &report.challenge);
    expect("rpv", &report.rpv);
    expect("rim", &report.rim);
    for (i, rem) in report.rems.iter().enumerate() {
        expect(&format!("rem{}", i + 1), rem);
    }
    if report.rems.len() != 4 {
        problems.push(format!("{} REMs, expected 4", report.rems.len()));
    }
    let algo = match report.rim.len() {
        32 => "sha-256",
        64 => "sha-512",
        _ => "?",
    };
    if report.hash_algo != algo {
        problems.push(format!(
            "measurement algorithm {:?} for a {}-byte RIM",
            report.hash_algo,
            report.rim.len()
        ));
    }
    if report.public_key_hash_algo != "sha-256" {
        problems.push(format!(
            "public-key hash algorithm {:?}",
            report.public_key_hash_algo
        ));
    }
    if report.profile != "tag:arm.com,2023:realm#1.0.0" {
        problems.push(format!("profile {:?}", report.profile));
    }
    let order_ok = report.claim_order == CLAIM_ORDER
        || (report.claim_order.len() == CLAIM_ORDER.len() + CSM_CLAIMS.len()
            && report.claim_order[..CLAIM_ORDER.len()] == CLAIM_ORDER
            && report.claim_order[CLAIM_ORDER.len()..] == CSM_CLAIMS);
    if !order_ok {
        problems.push(format!("claim order {:?}", report.claim_order));
    }
    (problems, Some(report))
}

/// One result per expected token (missing ones fail), plus any unexpected token printed.
pub fn check(output: &str, expected: &[&str]) -> Vec<TestLine> {
    let printed = extract(output);
    let mut results = Vec::new();
    for name in expected {
        let problems = match printed.get(*name) {
            None => vec!["the transcript has no such token".to_string()],
            Some(p) => judge(p),
        };
        results.push(TestLine {
            name: format!("xtask.token.{name}"),
            passed: problems.is_empty(),
            reason: problems.join("; "),
        });
    }
    for name in printed.keys().filter(|n| !expected.contains(&n.as_str())) {
        results.push(TestLine {
            name: format!("xtask.token.{name}"),
            passed: false,
            reason: "a token nobody expected (add it to the list)".into(),
        });
    }
    results
}

#[cfg(test)]
mod tests;
