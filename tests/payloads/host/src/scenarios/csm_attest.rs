// SPDX-License-Identifier: MIT OR Apache-2.0
//! CSM in attestation tokens (`docs/csm.md`, claims 65001 `csm-realm-id` and 65002
//! `csm-shares`): a provider and its consumer, attached read-write, each collect a token
//! (`RSI_ATTEST_TOKEN_INIT`/`CONTINUE` through a protected page, copied to their unprotected
//! page). The hypervisor prints both tokens (`ATTEST`/`TOKEN` lines, as the attestation
//! scenarios do, with the RIM it computed itself) and what their CSM claims must say:
//!
//! ```text
//! CSM <token> realm <RealmId>
//! CSM <token> share <n> <role: 1 provider, 2 consumer> <RegionId> <ShareId> <peer RealmId> <size> <mode> <attached>
//! CSM <token> share <n> rim <the peer's RIM, hex>
//! CSM <token> share <n> rpv <the peer's RPV, hex>
//! ```
//!
//! `cargo xtask test` verifies each token (CCA checks, `xtask.token.csm.*` lines) and
//! compares its CSM claims with these lines (`token_check::judge_csm`); so the provider's
//! token must name the consumer and its RIM, and the consumer's token the provider and its.

use super::attestation::{print_hex, print_token_bytes};
use super::csm_realm::Host;
use super::csm_realm::{CsmRealm, Realms, expect, rsi_status, with_realms};
use super::csm_share::{Grant, MODE_RW, PAIR, SEED, SMALL, accept, offer};
use super::realm_vm::POPULATE_IPA;
use crate::println;
use crate::runner::Words;
use crate::runner::{Failure, Outcome, Scenario};
use core::fmt::Write;
use realm_protocol::attest::challenge;
use realm_protocol::csm::{Op, REGION_IPA, WINDOW_IPA};
use realm_protocol::rpv_byte;

/// Run by the primary.
pub const SCENARIOS: &[Scenario] = &[Scenario {
    name: "csm_tokens_of_provider_and_consumer",
    run: tokens,
}];

/// The tokens this scenario prints (`cargo xtask test` expects them).
pub const TOKEN_NAMES: [&str; 2] = ["csm.provider", "csm.consumer"];

/// Bytes of a SHA-256 RIM.
const RIM_LEN: usize = 32;

/// `realm`'s token for challenge `seed`, printed as `name` with what it must say; returns
/// its length.
pub(super) fn print_token(realm: &CsmRealm, name: &str, seed: u64) -> Result<u64, Failure> {
    let (shared_ipa, page) = realm.shared();
    let r = realm.call(Op::Attest, &[shared_ipa, POPULATE_IPA, seed])?;
    expect(
        format_args!(
            "{}: the token's last RSI_ATTEST_TOKEN_CONTINUE ({})",
            realm.name,
            Words(&r[..2])
        ),
        r[0],
        rsi_status::SUCCESS,
    )?;
    print_hex(name, "challenge", &challenge(seed));
    print_hex(name, "rpv", &core::array::from_fn::<u8, 64, _>(rpv_byte));
    print_hex(name, "rim", &realm.rim[..RIM_LEN]);
    for n in 1..=4 {
        let mut label = crate::console::Line::new();
        let _ = write!(label, "rem{n}");
        print_hex(name, label.as_str(), &[0; RIM_LEN]);
    }
    print_token_bytes(page, name)
}

/// Prints what `name`'s CSM claims must say: `me`'s RealmId, and share 0, `g` as `role`
/// with `peer`.
pub(super) fn print_claims(name: &str, me: &CsmRealm, role: u64, g: &Grant, peer: &CsmRealm) {
    println!("CSM {name} realm {}", me.id);
    println!(
        "CSM {name} share 0 {role} {} {} {} {} {} 1",
        g.region, g.share, peer.id, g.size, g.mode
    );
    let mut line = crate::console::Line::new();
    let _ = write!(line, "CSM {name} share 0 rim ");
    for b in &peer.rim[..RIM_LEN] {
        let _ = write!(line, "{b:02x}");
    }
    println!("{}", line.as_str());
    let mut line = crate::console::Line::new();
    let _ = write!(line, "CSM {name} share 0 rpv ");
    for i in 0..64 {
        let _ = write!(line, "{:02x}", rpv_byte(i));
    }
    println!("{}", line.as_str());
}

/// Scenario 10.
fn tokens() -> Outcome {
    with_realms(PAIR, &|r: &Realms<'_>| {
        let (p, c) = (r.get(0), r.get(1));
        let g = offer(p, c, REGION_IPA, SMALL, SEED, 8, MODE_RW)?;
        accept(c, p, &g, WINDOW_IPA, &Host::default())?;
        print_token(p, TOKEN_NAMES[0], 0x11)?;
        print_claims(TOKEN_NAMES[0], p, 1, &g, c);
        print_token(c, TOKEN_NAMES[1], 0x22)?;
        print_claims(TOKEN_NAMES[1], c, 2, &g, p);
        Ok(())
    })
}
