// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CSM claims of a realm token (65001 `csm-realm-id`, 65002 `csm-shares`, `docs/csm.md`):
//! read from the realm's APT by RSI_ATTEST_TOKEN_INIT under the CSM lock — every grant it
//! gave (role provider) and every grant it received (role consumer), each with the peer's
//! RealmId, RIM, RPV and hash algorithm, the size, the mode and whether it is attached.
//! [`AptShares`] hands them to the token encoder one at a time, read from a copy of the
//! table's words when asked: no list of them is kept anywhere (it was an 8 KiB snapshot).
//!
//! The peers' RD fields are read without their RD locks: a peer named by an APT is ACTIVE (a
//! consumer must be ACTIVE to be offered a grant, a provider to make one), so its RIM is
//! final, and its RPV and hash algorithm never change; its RD cannot go away while the CSM
//! lock is held (an APT keeps its realm, and APT_DESTROY takes the CSM lock).

use super::lock::CsmState;
use crate::arch::Machine;
use crate::granule::GranuleAddr;
use crate::invariant;
use crate::realm::descriptor::Rd;
use apt::capacity::FW_TABLE_WORDS;
use attest::token::{CsmShare, CsmShares, Role, ShareMode};
use csm::FwCsm;
use rmm_abi::csm::CsmMode;
use rmm_abi::rmi::states::HashAlgorithm;

/// Most shares a realm holds (8 regions × 4 grants + 16 received grants), the claim's bound.
pub const MAX_SHARES: usize = attest::token::csm::MAX_SHARES;

const _: () = assert!(
    MAX_SHARES
        == apt::capacity::FW_REGIONS * apt::capacity::FW_GRANTS + apt::capacity::FW_ATTACHMENTS
);

/// The shares of one CSM realm's token, read from a checked copy of its APT's words as the
/// encoder asks (under the CSM lock, which the caller holds for as long as this lives).
pub struct AptShares<'a, M: Machine> {
    csm: &'a FwCsm,
    machine: &'a M,
    words: &'a [u64; FW_TABLE_WORDS],
}

impl<'a, M: Machine> AptShares<'a, M> {
    /// Copies the table words of the APT of the realm with RD `rd` into `words`, checks them,
    /// and returns its RealmId and its shares; `None` if the realm has no APT. The caller
    /// holds the CSM lock (`state`). A table whose fields do not check, or of another owner,
    /// can only be an RMM bug (APT granules are Realm PAS and written only by CSM
    /// operations): the monitor stops.
    pub fn read(
        state: &'a CsmState,
        machine: &'a M,
        rd: GranuleAddr,
        words: &'a mut [u64; FW_TABLE_WORDS],
    ) -> Option<(u64, Self)> {
        let entry = *state.csm.entry(super::csm_rd(rd))?;
        let granule = GranuleAddr::new(entry.apt_pa)?;
        let checked = super::store::load_checked(machine, granule, words);
        if !checked || apt::capacity::FwAptWords::from_checked(&words[..]).owner() != entry.id {
            invariant::broken_at("a realm's APT does not check", rd.get());
        }
        let shares = Self {
            csm: &state.csm,
            machine,
            words,
        };
        Some((entry.id.get(), shares))
    }

    /// The peer's RIM, RPV and hash algorithm. Every realm an APT names is a CSM realm (S4):
    /// one that is not can only be an RMM bug, and stops the monitor.
    fn peer(&self, id: apt::RealmId) -> (Measurement64, [u8; 64], HashAlgorithm) {
        let Some(rd) = self.csm.by_id(id).and_then(|e| GranuleAddr::new(e.rd.0)) else {
            invariant::broken_at("an APT names a RealmId that is no CSM realm", id.get());
        };
        let rd = Rd::new(self.machine, rd);
        (rd.rim(), rd.rpv(), rd.config_out_of_line().hash)
    }
}

impl<M: Machine> CsmShares for AptShares<'_, M> {
    fn count(&self) -> usize {
        apt::capacity::fw::relation_count(&self.words[..])
    }

    fn share(&self, index: usize) -> Option<CsmShare> {
        let relation = apt::capacity::fw::relation(&self.words[..], index)?;
        let (peer_rim, peer_rpv, peer_hash) = self.peer(relation.peer);
        Some(CsmShare {
            role: if relation.given {
                Role::Provider
            } else {
                Role::Consumer
            },
            region_id: relation.region.get(),
            share_id: relation.share.get(),
            peer_realm_id: relation.peer.get(),
            peer_rim,
            peer_rpv,
            peer_hash,
            size: relation.size,
            mode: mode(relation.mode),
            attached: relation.attached,
        })
    }
}

type Measurement64 = rmm_abi::measurement::Measurement;

fn mode(mode: CsmMode) -> ShareMode {
    match mode {
        CsmMode::Read => ShareMode::Read,
        CsmMode::ReadWrite => ShareMode::ReadWrite,
    }
}
