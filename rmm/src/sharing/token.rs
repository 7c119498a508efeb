// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CSM claims of a realm token (65001 `csm-realm-id`, 65002 `csm-shares`, `docs/csm.md`):
//! a snapshot of the realm's APT taken by RSI_ATTEST_TOKEN_INIT under the CSM lock — every
//! grant it gave (role provider) and every grant it received (role consumer), each with the
//! peer's RealmId, RIM, RPV and hash algorithm, the size, the mode and whether it is attached.
//!
//! The peers' RD fields are read without their RD locks: a peer named by an APT is ACTIVE (a
//! consumer must be ACTIVE to be offered a grant, a provider to make one), so its RIM is
//! final, and its RPV and hash algorithm never change; its RD cannot go away while the CSM
//! lock is held (an APT keeps its realm, and APT_DESTROY takes the CSM lock).

use super::lock::CsmState;
use super::store::{GranuleStore, Tables};
use crate::arch::Machine;
use crate::granule::GranuleAddr;
use crate::realm::descriptor::Rd;
use attest::token::{CsmShare, Role, ShareMode};
use csm::AptStore;
use rmm_abi::csm::CsmMode;
use rmm_abi::rmi::states::HashAlgorithm;

/// Most shares a realm holds (8 regions × 4 grants + 16 received grants), the claim's bound.
pub const MAX_SHARES: usize = attest::token::csm::MAX_SHARES;

const _: () = assert!(
    MAX_SHARES
        == apt::capacity::FW_REGIONS * apt::capacity::FW_GRANTS + apt::capacity::FW_ATTACHMENTS
);

/// An unused entry of the snapshot storage.
pub const NO_SHARE: CsmShare = CsmShare {
    role: Role::Provider,
    region_id: 0,
    share_id: 0,
    peer_realm_id: 0,
    peer_rim: [0; 64],
    peer_rpv: [0; 64],
    peer_hash: HashAlgorithm::Sha256,
    size: 0,
    mode: ShareMode::Read,
    attached: false,
};

/// Writes the CSM claims of the realm with RD `rd` into `state.shares`; returns its RealmId
/// and how many shares were written, or `None` if it has no APT. The caller holds the CSM
/// lock (`state`).
pub fn snapshot(
    state: &mut CsmState,
    machine: &impl Machine,
    rd: GranuleAddr,
) -> Option<(u64, usize)> {
    let CsmState { csm, scratch } = state;
    let shares = scratch.shares();
    let me = super::csm_rd(rd);
    let entry = *csm.entry(me)?;
    // Its own table only: one cell.
    let tables = Tables::<1>::EMPTY;
    let mut store = GranuleStore::new(machine, &tables);
    store.add(me, GranuleAddr::new(entry.apt_pa)?);
    let apt = store.table(me)?;
    let peer = |id: apt::RealmId| -> Option<(Measurement64, [u8; 64], HashAlgorithm)> {
        let e = csm.by_id(id)?;
        let rd = Rd::new(machine, GranuleAddr::new(e.rd.0)?);
        Some((rd.rim(), rd.rpv(), rd.config().hash))
    };
    let mut n = 0;
    for region in apt.regions() {
        for grant in region.grants() {
            if let (Some(slot), Some((rim, rpv, hash))) = (shares.get_mut(n), peer(grant.consumer))
            {
                *slot = CsmShare {
                    role: Role::Provider,
                    region_id: region.id.get(),
                    share_id: grant.share.get(),
                    peer_realm_id: grant.consumer.get(),
                    peer_rim: rim,
                    peer_rpv: rpv,
                    peer_hash: hash,
                    size: region.range.size(),
                    mode: mode(grant.mode),
                    attached: grant.state == apt::GrantState::Attached,
                };
                n += 1;
            }
        }
    }
    for received in apt.attachments() {
        if let (Some(slot), Some((rim, rpv, hash))) = (shares.get_mut(n), peer(received.provider)) {
            *slot = CsmShare {
                role: Role::Consumer,
                region_id: received.region.get(),
                share_id: received.share.get(),
                peer_realm_id: received.provider.get(),
                peer_rim: rim,
                peer_rpv: rpv,
                peer_hash: hash,
                size: received.size,
                mode: mode(received.mode),
                attached: received.window.is_some(),
            };
            n += 1;
        }
    }
    Some((entry.id.get(), n))
}

type Measurement64 = rmm_abi::measurement::Measurement;

fn mode(mode: CsmMode) -> ShareMode {
    match mode {
        CsmMode::Read => ShareMode::Read,
        CsmMode::ReadWrite => ShareMode::ReadWrite,
    }
}
