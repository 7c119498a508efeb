// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CAEC prototype's failure cases (see `docs/csm.md`, "Comparison with CAEC"), each shown
//! not to happen here.

use rmm_abi::csm::CsmMode;
use rmm_abi::rmi::states::{RealmState, Ripas};

use super::*;
use crate::effect::CsmExit;
use crate::error::{HostError, RealmError};
use crate::model::world::{PAR, Page, apt_pa};

/// CAEC: 8-bit tags reused after a realm dies. Here ids come from monotonic counters.
#[test]
fn ids_are_never_reused() {
    let mut c = World::empty().csm;
    let mut seen = std::vec::Vec::new();
    for round in 0..50 {
        let out = c
            .apt_create(rd(0), apt_pa(0), RealmState::New, PAR)
            .unwrap();
        let Reply::Realm(id) = out.reply else {
            panic!()
        };
        assert!(!seen.contains(&id.get()), "round {round}");
        seen.push(id.get());
        c.apt_destroy(rd(0), apt_pa(0)).unwrap();
    }
    let (mut w, region, share) = offered(CsmMode::Read);
    w.csm.revoke(rd(0), share).unwrap();
    w.csm.destroy(rd(0), region).unwrap();
    let view = w.clone();
    let Reply::Region(r2) = w.csm.create(rd(0), pages(0, 2), &view).unwrap().reply else {
        panic!()
    };
    assert!(r2 > region);
    let Reply::Share(s2) = w
        .csm
        .share(rd(0), r2, id_of(&w, 1), CsmMode::Read)
        .unwrap()
        .reply
    else {
        panic!()
    };
    assert!(s2 > share);
}

/// CAEC: read-only recorded but mappings always read-write. Here the alias carries the mode.
#[test]
fn read_only_is_enforced_in_stage2() {
    let (w, _, _) = attached(CsmMode::Read);
    assert_eq!(
        w.realms[1].pages[2],
        Page::Alias {
            provider: 0,
            page: 0,
            writable: false
        }
    );
    // And the checker rejects a writable alias of a read-only grant.
    let mut bad = w.clone();
    bad.realms[1].pages[2] = Page::Alias {
        provider: 0,
        page: 0,
        writable: true,
    };
    let v = bad.csm.check_stage2(&bad).unwrap_err();
    assert_eq!(v.invariant, crate::invariants::Invariant::S1);
}

/// CAEC: DATA_DESTROY through a consumer IPA destroyed the provider's page.
#[test]
fn no_destroy_through_a_consumer_alias() {
    let (w, _, _) = attached(CsmMode::ReadWrite);
    refused(&w, HostError::AliasEntry, |c, _| {
        c.data_destroy(rd(1), 2 * PAGE_SIZE)
    });
}

/// CAEC: ATTACH trusted a slot index from the realm. Here ACCEPT takes a ShareId, looked up and
/// checked against the caller; any other value is just an unknown share.
#[test]
fn no_index_from_the_realm() {
    let (w, _, share) = offered(CsmMode::Read);
    let p = id_of(&w, 0);
    for raw in [0u64, 2, 3, 64, 1 << 32, u64::MAX] {
        let result = crate::Call::decode(
            rmm_abi::csm::CsmRsiCommand::Accept,
            [raw, p.get(), 2 * PAGE_SIZE, 2 * PAGE_SIZE],
        )
        .and_then(|call| w.csm.clone().rsi(rd(1), call, &w));
        assert_eq!(
            result.map(|o| o.reply),
            Err(RealmError::UnknownShare),
            "{raw}"
        );
    }
    // The right id by the wrong realm is unknown too.
    refused(&w, RealmError::UnknownShare, |c, v| {
        c.accept(rd(2), share, p, 2 * PAGE_SIZE, v)
    });
}

/// CAEC: a failing ATTACH left the pages mapped before the failure. Here ACCEPT maps nothing
/// unless every page is ready, and never maps over a page the consumer still owns.
#[test]
fn no_partial_attach() {
    let (w, _, share) = offered(CsmMode::ReadWrite);
    let p = id_of(&w, 0);
    // One window page released (RIPAS EMPTY) but still assigned: exit 7, nothing recorded.
    let mut released = w.clone();
    released.realms[1].pages[3] = Page::Data(Ripas::Empty);
    let mut c = released.csm.clone();
    let out = c.accept(rd(1), share, p, 2 * PAGE_SIZE, &released).unwrap();
    assert_eq!(out.reply, Reply::Restart);
    assert_eq!(
        effects(&out),
        [Effect::ExitToHost {
            exit: CsmExit::Prepare,
            range: pages(2, 2)
        }]
    );
    assert_eq!(c, released.csm, "nothing recorded");
    released.apply(&out).unwrap();
    assert_eq!(
        released.realms[1].pages[2],
        Page::Unassigned(Ripas::Empty),
        "nothing mapped"
    );
    assert_eq!(released.realms[1].pages[3], Page::Data(Ripas::Empty));
    // One window page still the consumer's private RAM (never released): refused, no exit,
    // nothing mapped, so the host is never asked to destroy memory the realm still uses.
    let mut private = w.clone();
    private.realms[1].pages[3] = Page::Data(Ripas::Ram);
    refused(&private, RealmError::NotEmpty, |c, v| {
        c.accept(rd(1), share, p, 2 * PAGE_SIZE, v)
    });
}

/// CAEC: trusted that the host scrubbed the window (exit 7). Here every retry re-checks: a host
/// that does nothing, half the work, or the work without level-3 tables gets exit 7 again.
#[test]
fn host_preparation_is_never_trusted() {
    let (w, _, share) = offered(CsmMode::ReadWrite);
    let p = id_of(&w, 0);
    // The consumer released both pages (RIPAS EMPTY); the host has not destroyed them.
    let mut lazy = w.clone();
    lazy.realms[1].pages[2] = Page::Data(Ripas::Empty);
    lazy.realms[1].pages[3] = Page::Data(Ripas::Empty);
    let mut half = lazy.clone();
    half.realms[1].pages[2] = Page::Unassigned(Ripas::Empty);
    let mut no_tables = w.clone();
    no_tables.realms[1].tables[1] = false;
    for view in [&lazy, &half, &no_tables] {
        for _retry in 0..3 {
            let mut c = view.csm.clone();
            let out = c.accept(rd(1), share, p, 2 * PAGE_SIZE, view).unwrap();
            assert_eq!(out.reply, Reply::Restart);
            assert_eq!(
                effects(&out),
                [Effect::ExitToHost {
                    exit: CsmExit::Prepare,
                    range: pages(2, 2)
                }]
            );
            assert_eq!(c, view.csm);
        }
    }
    // Once the window really is unassigned RIPAS EMPTY under level-3 tables, it maps.
    let mut c = w.csm.clone();
    assert!(matches!(
        c.accept(rd(1), share, p, 2 * PAGE_SIZE, &w).unwrap().reply,
        Reply::Accepted { .. }
    ));
}

/// CAEC: REALM_DESTROY with a live APT left dangling state.
#[test]
fn no_realm_destroy_with_a_live_apt() {
    let (w, _, _) = attached(CsmMode::ReadWrite);
    for i in 0..3 {
        assert_eq!(
            w.csm.realm_destroy(rd(i)).map(|o| o.reply),
            Err(HostError::AptBound)
        );
    }
}
