// SPDX-License-Identifier: MIT OR Apache-2.0
//! Host events at CSM IPAs and `RSI_IPA_STATE_SET` over CSM memory (S11).

use rmm_abi::csm::CsmMode;
use rmm_abi::rmi::states::Ripas;

use super::*;
use crate::error::{HostError, RealmError};
use crate::model::world::Page;

#[test]
fn data_destroy_of_a_provider_page_damages_the_region() {
    let (mut w, region, share) = attached(CsmMode::ReadWrite);
    let out = w.csm.data_destroy(rd(0), PAGE_SIZE).unwrap();
    assert_eq!(
        effects(&out),
        [
            Effect::UnmapAliases {
                consumer: rd(1),
                window: pages(2, 2),
                ripas: Ripas::Destroyed
            },
            Effect::InvalidateTlbs {
                realm: rd(1),
                range: pages(2, 2)
            },
        ]
    );
    w.apply(&out).unwrap();
    assert!(
        !w.aliased(0, 1),
        "no alias left before the granule is destroyed (S3)"
    );
    w.realms[0].pages[1] = Page::Unassigned(Ripas::Destroyed);
    let reg = *w
        .csm
        .apt(rd(0))
        .unwrap()
        .regions()
        .find(|r| r.id == region)
        .unwrap();
    assert_eq!(reg.state, apt::RegionState::Damaged);
    assert_eq!(reg.grants().count(), 0, "grants revoked");
    w.csm.check().unwrap();
    w.csm.check_stage2(&w).unwrap();
    // Damaged: only DESTROY; the old share is gone; a second destroy is a no-op.
    let p = id_of(&w, 0);
    let c = id_of(&w, 1);
    refused(&w, RealmError::RegionDamaged, |cs, _| {
        cs.share(rd(0), region, c, CsmMode::Read)
    });
    refused(&w, RealmError::UnknownShare, |cs, v| {
        cs.accept(rd(1), share, p, 2 * PAGE_SIZE, v)
    });
    assert!(
        w.csm
            .clone()
            .data_destroy(rd(0), 0)
            .unwrap()
            .effects
            .is_empty()
    );
    assert!(
        w.csm
            .clone()
            .destroy(rd(0), region)
            .unwrap()
            .effects
            .is_empty()
    );
}

#[test]
fn data_destroy_elsewhere_is_not_csm_business() {
    let w = World::ready();
    let mut c = w.csm.clone();
    assert!(c.data_destroy(rd(0), 0).unwrap().effects.is_empty());
    assert!(c.data_destroy(NOBODY, 0).unwrap().effects.is_empty());
    assert_eq!(c, w.csm);
}

#[test]
fn alias_entries_are_not_the_consumers_granules() {
    let (w, _, _) = attached(CsmMode::ReadWrite);
    for ipa in [2 * PAGE_SIZE, 3 * PAGE_SIZE, 3 * PAGE_SIZE + 8] {
        refused(&w, HostError::AliasEntry, |c, _| c.data_destroy(rd(1), ipa));
        assert_eq!(
            w.csm.data_create(rd(1), ipa).map(|o| o.reply),
            Err(HostError::AliasEntry)
        );
    }
    assert_eq!(
        w.csm.rtt_fold(rd(1), pages(2, 2)).map(|o| o.reply),
        Err(HostError::AliasEntry)
    );
    assert_eq!(
        w.csm.rtt_fold(rd(1), pages(0, 512)).map(|o| o.reply),
        Err(HostError::AliasEntry)
    );
    assert!(w.csm.rtt_fold(rd(1), pages(0, 2)).is_ok());
    assert!(w.csm.data_create(rd(1), 0).is_ok());
    assert_eq!(
        HostError::AliasEntry.status(),
        rmm_abi::rmi::status::RmiStatus::ErrorRtt
    );
}

#[test]
fn ipa_state_set_over_csm_memory_is_refused_until_it_is_gone() {
    let (w, region, share) = attached(CsmMode::ReadWrite);
    for (i, r) in [
        (0, pages(0, 1)),
        (0, pages(1, 2)),
        (1, pages(3, 1)),
        (1, pages(0, 4)),
    ] {
        assert_eq!(
            w.csm.ipa_state_set(rd(i), r).map(|o| o.reply),
            Err(RealmError::CsmMemory)
        );
    }
    assert!(w.csm.ipa_state_set(rd(0), pages(2, 2)).is_ok());
    assert!(w.csm.ipa_state_set(rd(2), pages(0, 4)).is_ok());
    let mut gone = w.clone();
    gone.csm.revoke(rd(0), share).unwrap();
    assert!(
        gone.csm.ipa_state_set(rd(1), pages(2, 2)).is_ok(),
        "window gone"
    );
    assert!(
        gone.csm.ipa_state_set(rd(0), pages(0, 2)).is_err(),
        "region still live"
    );
    gone.csm.data_destroy(rd(0), 0).unwrap();
    assert!(
        gone.csm.ipa_state_set(rd(0), pages(0, 2)).is_err(),
        "region damaged"
    );
    gone.csm.destroy(rd(0), region).unwrap();
    assert!(
        gone.csm.ipa_state_set(rd(0), pages(0, 2)).is_ok(),
        "region gone"
    );
}
