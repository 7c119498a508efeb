// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CSM claims of a realm token (`docs/csm.md`, "Attestation token"), decoded
//! independently of `attest`'s encoder, and checked against what the host expects.
//!
//! | key | claim | value |
//! |---|---|---|
//! | 65001 | `csm-realm-id` | uint |
//! | 65002 | `csm-shares` | array of maps {1 role (1 provider, 2 consumer), 2 region id, 3 share id, 4 peer realm id, 5 peer RIM (bstr 32/64), 6 peer RPV (bstr 64), 7 peer hash algorithm (tstr), 8 size, 9 mode (1 read, 3 read/write), 10 attached (bool)} |
//!
//! The claims are optional: a realm without an APT has neither, a CSM realm both. The CCA
//! checks ([`super::verify`], [`crate::token_check::judge`]) accept a token either way, as a
//! verifier that knows only the CCA realm profile does (it ignores claims it does not
//! know); [`check`] compares the claims with the host's expectations.

use ciborium::Value;

/// `csm-realm-id`.
pub const REALM_ID: i128 = 65001;
/// `csm-shares`.
pub const SHARES: i128 = 65002;

/// Share map keys.
mod key {
    pub const ROLE: i128 = 1;
    pub const REGION_ID: i128 = 2;
    pub const SHARE_ID: i128 = 3;
    pub const PEER_REALM_ID: i128 = 4;
    pub const PEER_RIM: i128 = 5;
    pub const PEER_RPV: i128 = 6;
    pub const PEER_HASH_ALGO: i128 = 7;
    pub const SIZE: i128 = 8;
    pub const MODE: i128 = 9;
    pub const ATTACHED: i128 = 10;
}

/// Which side of a grant the token's realm is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// It gave the grant (role 1).
    Provider,
    /// It received the grant (role 2).
    Consumer,
}

/// One entry of `csm-shares`, decoded; also what the host expects of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// Which side the realm is on.
    pub role: Role,
    /// The provider's RegionId.
    pub region_id: u64,
    /// The grant's ShareId.
    pub share_id: u64,
    /// The other realm's RealmId.
    pub peer_realm_id: u64,
    /// The other realm's RIM (its digest length: 32 or 64 bytes).
    pub peer_rim: Vec<u8>,
    /// The other realm's RPV (64 bytes).
    pub peer_rpv: Vec<u8>,
    /// The other realm's measurement algorithm (`"sha-256"` / `"sha-512"`).
    pub peer_hash_algo: String,
    /// The region's size in bytes.
    pub size: u64,
    /// 1 read, 3 read and write.
    pub mode: u64,
    /// Whether the consumer has the region mapped.
    pub attached: bool,
}

/// The CSM claims of a token; also what the host expects of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsmClaims {
    /// `csm-realm-id`.
    pub realm_id: u64,
    /// `csm-shares`, in token order.
    pub shares: Vec<Share>,
}

fn uint(v: &Value, what: &str) -> Result<u64, String> {
    v.as_integer()
        .and_then(|i| u64::try_from(i).ok())
        .ok_or_else(|| format!("{what} is not an unsigned integer"))
}

/// Decodes one share map: exactly keys 1..=10 in ascending order, each of its type, role,
/// mode, RIM and RPV lengths and algorithm name valid.
fn share(v: &Value, i: usize) -> Result<Share, String> {
    let Value::Map(entries) = v else {
        return Err(format!("csm-shares[{i}] is not a map"));
    };
    let keys: Vec<i128> = entries
        .iter()
        .map(|(k, _)| k.as_integer().map_or(-1, i128::from))
        .collect();
    if keys != (1..=10).collect::<Vec<i128>>() {
        return Err(format!(
            "csm-shares[{i}] has keys {keys:?}, expected 1..=10"
        ));
    }
    let field = |k: i128| &entries[(k - 1) as usize].1;
    let name = |what: &str| format!("csm-shares[{i}] {what}");
    let role = match uint(field(key::ROLE), &name("role"))? {
        1 => Role::Provider,
        2 => Role::Consumer,
        r => return Err(format!("csm-shares[{i}] role {r}, expected 1 or 2")),
    };
    let bytes = |k: i128, what: &str| {
        field(k)
            .as_bytes()
            .cloned()
            .ok_or_else(|| format!("csm-shares[{i}] {what} is not a byte string"))
    };
    let peer_hash_algo = field(key::PEER_HASH_ALGO)
        .as_text()
        .ok_or_else(|| name("peer hash algorithm is not a text string"))?
        .to_string();
    let rim_len = match peer_hash_algo.as_str() {
        "sha-256" => 32,
        "sha-512" => 64,
        other => return Err(format!("csm-shares[{i}] peer hash algorithm {other:?}")),
    };
    let peer_rim = bytes(key::PEER_RIM, "peer RIM")?;
    if peer_rim.len() != rim_len {
        return Err(format!(
            "csm-shares[{i}] peer RIM of {} bytes for {peer_hash_algo}",
            peer_rim.len()
        ));
    }
    let peer_rpv = bytes(key::PEER_RPV, "peer RPV")?;
    if peer_rpv.len() != 64 {
        return Err(format!(
            "csm-shares[{i}] peer RPV of {} bytes",
            peer_rpv.len()
        ));
    }
    let mode = uint(field(key::MODE), &name("mode"))?;
    if mode != 1 && mode != 3 {
        return Err(format!("csm-shares[{i}] mode {mode}, expected 1 or 3"));
    }
    Ok(Share {
        role,
        region_id: uint(field(key::REGION_ID), &name("region id"))?,
        share_id: uint(field(key::SHARE_ID), &name("share id"))?,
        peer_realm_id: uint(field(key::PEER_REALM_ID), &name("peer realm id"))?,
        peer_rim,
        peer_rpv,
        peer_hash_algo,
        size: uint(field(key::SIZE), &name("size"))?,
        mode,
        attached: field(key::ATTACHED)
            .as_bool()
            .ok_or_else(|| name("attached is not a bool"))?,
    })
}

/// The CSM claims among a token's realm claims: `None` if it has neither, an error if it has
/// only one or either is malformed.
pub fn decode(claims: &[(i128, Value)]) -> Result<Option<CsmClaims>, String> {
    let find = |k: i128| claims.iter().find(|(key, _)| *key == k).map(|(_, v)| v);
    match (find(REALM_ID), find(SHARES)) {
        (None, None) => Ok(None),
        (Some(_), None) | (None, Some(_)) => {
            Err("only one of the CSM claims 65001 and 65002".to_string())
        }
        (Some(id), Some(shares)) => {
            let realm_id = uint(id, "csm-realm-id")?;
            let Value::Array(items) = shares else {
                return Err("csm-shares is not an array".to_string());
            };
            let shares = items
                .iter()
                .enumerate()
                .map(|(i, v)| share(v, i))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(CsmClaims { realm_id, shares }))
        }
    }
}

/// Every way the token's CSM claims (`got`) differ from what the host expects: `None`
/// expects a token without them. Shares are matched by (role, share id) in any order; a
/// share expected but absent, present but not expected, listed twice, or with any field
/// different (the peer RIM the host computed, say) is a problem.
pub fn check(got: Option<&CsmClaims>, expected: Option<&CsmClaims>) -> Vec<String> {
    let mut problems = Vec::new();
    let (got, expected) = match (got, expected) {
        (None, None) => return problems,
        (Some(_), None) => {
            problems.push("CSM claims in the token of a realm expected without them".into());
            return problems;
        }
        (None, Some(_)) => {
            problems.push("no CSM claims (65001, 65002) in the token".into());
            return problems;
        }
        (Some(got), Some(expected)) => (got, expected),
    };
    if got.realm_id != expected.realm_id {
        problems.push(format!(
            "csm-realm-id {}, expected {}",
            got.realm_id, expected.realm_id
        ));
    }
    let id = |s: &Share| (s.role, s.share_id);
    for (i, share) in got.shares.iter().enumerate() {
        if got.shares[..i].iter().any(|s| id(s) == id(share)) {
            problems.push(format!(
                "{:?} share {} listed twice",
                share.role, share.share_id
            ));
        }
    }
    for want in &expected.shares {
        match got.shares.iter().find(|s| id(s) == id(want)) {
            None => problems.push(format!("{:?} share {} missing", want.role, want.share_id)),
            Some(share) => problems.extend(differences(share, want)),
        }
    }
    for share in &got.shares {
        if !expected.shares.iter().any(|s| id(s) == id(share)) {
            problems.push(format!(
                "{:?} share {} not expected",
                share.role, share.share_id
            ));
        }
    }
    problems
}

/// The fields of `got` that are not `want`'s.
fn differences(got: &Share, want: &Share) -> Vec<String> {
    let mut out = Vec::new();
    let mut diff = |what: &str, g: String, w: String| {
        if g != w {
            out.push(format!(
                "{:?} share {}: {what} {g}, expected {w}",
                want.role, want.share_id
            ));
        }
    };
    diff(
        "region id",
        got.region_id.to_string(),
        want.region_id.to_string(),
    );
    diff(
        "peer realm id",
        got.peer_realm_id.to_string(),
        want.peer_realm_id.to_string(),
    );
    diff(
        "peer RIM",
        super::hex(&got.peer_rim),
        super::hex(&want.peer_rim),
    );
    diff(
        "peer RPV",
        super::hex(&got.peer_rpv),
        super::hex(&want.peer_rpv),
    );
    diff(
        "peer hash algorithm",
        got.peer_hash_algo.clone(),
        want.peer_hash_algo.clone(),
    );
    diff("size", got.size.to_string(), want.size.to_string());
    diff("mode", got.mode.to_string(), want.mode.to_string());
    diff(
        "attached",
        got.attached.to_string(),
        want.attached.to_string(),
    );
    out
}

#[cfg(test)]
pub(crate) mod tests;
