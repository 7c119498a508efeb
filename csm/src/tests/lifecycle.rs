// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RMI_APT_CREATE`, `RMI_APT_DESTROY`, `RMI_REALM_DESTROY`.

use rmm_abi::csm::CsmMode;
use rmm_abi::rmi::states::{RealmState, Ripas};
use rmm_abi::rmi::status::RmiStatus;

use super::*;
use crate::error::HostError;
use crate::model::world::{PAR, apt_pa};

#[test]
fn apt_create_assigns_fresh_ids() {
    let mut c = World::empty().csm;
    let a = c
        .apt_create(rd(0), apt_pa(0), RealmState::New, PAR)
        .unwrap();
    let b = c
        .apt_create(rd(1), apt_pa(1), RealmState::New, PAR)
        .unwrap();
    assert_eq!(a.reply, Reply::Realm(RealmId::new(1).unwrap()));
    assert_eq!(b.reply, Reply::Realm(RealmId::new(2).unwrap()));
    assert_eq!(a.reply.registers(), [1, 0, 0, 0]);
    assert!(a.effects.is_empty());
    c.check().unwrap();
}

#[test]
fn apt_create_errors() {
    let w = World::ready();
    let mut empty = World::empty();
    refused(&empty, HostError::RealmNotNew, |c, _| {
        c.apt_create(rd(0), apt_pa(0), RealmState::Active, PAR)
    });
    refused(&empty, HostError::RealmNotNew, |c, _| {
        c.apt_create(rd(0), apt_pa(0), RealmState::SystemOff, PAR)
    });
    refused(&empty, HostError::BadPar, |c, _| {
        c.apt_create(rd(0), apt_pa(0), RealmState::New, 0)
    });
    refused(&empty, HostError::BadPar, |c, _| {
        c.apt_create(rd(0), apt_pa(0), RealmState::New, PAR + 1)
    });
    refused(&w, HostError::AptBound, |c, _| {
        c.apt_create(rd(0), 0x9000, RealmState::New, PAR)
    });
    // Capacity: the model has 3 slots.
    for i in 0..3 {
        empty
            .csm
            .apt_create(rd(i), apt_pa(i), RealmState::New, PAR)
            .unwrap();
    }
    refused(&empty, HostError::Full, |c, _| {
        c.apt_create(NOBODY, 1, RealmState::New, PAR)
    });
    let mut c = World::empty().csm;
    c.next_realm = u64::MAX;
    let before = c.clone();
    assert_eq!(
        c.apt_create(rd(0), 1, RealmState::New, PAR)
            .map(|o| o.reply),
        Err(HostError::IdsExhausted)
    );
    assert_eq!(c, before);
}

#[test]
fn apt_destroy_errors() {
    let w = World::ready();
    refused(&w, HostError::NoApt, |c, _| c.apt_destroy(NOBODY, 0));
    refused(&w, HostError::WrongApt, |c, _| {
        c.apt_destroy(rd(0), apt_pa(1))
    });
}

#[test]
fn apt_destroy_of_a_provider_destroys_consumer_windows() {
    let (mut w, _, _) = attached(CsmMode::ReadWrite);
    let out = w.csm.apt_destroy(rd(0), apt_pa(0)).unwrap();
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
    assert!(w.csm.entry(rd(0)).is_none());
    assert_eq!(w.csm.apt(rd(1)).unwrap().attachments().count(), 0);
    w.csm.check().unwrap();
    w.csm.check_stage2(&w).unwrap();
}

#[test]
fn apt_destroy_of_a_consumer_drops_its_grants() {
    let (mut w, region, _) = attached(CsmMode::Read);
    // Also an offered grant to realm 1 from realm 2.
    let view = w.clone();
    let Reply::Region(r2) = w.csm.create(rd(2), pages(0, 2), &view).unwrap().reply else {
        panic!()
    };
    let c = id_of(&w, 1);
    w.csm.share(rd(2), r2, c, CsmMode::Read).unwrap();
    let out = w.csm.apt_destroy(rd(1), apt_pa(1)).unwrap();
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
    let p = w.csm.apt(rd(0)).unwrap();
    let reg = p.regions().find(|r| r.id == region).unwrap();
    assert_eq!(reg.grants().count(), 0, "attached grant dropped");
    assert_eq!(
        w.csm
            .apt(rd(2))
            .unwrap()
            .regions()
            .flat_map(|r| r.grants())
            .count(),
        0
    );
    w.csm.check().unwrap();
}

#[test]
fn realm_destroy_refused_while_apt_bound() {
    let w = World::ready();
    assert_eq!(w.csm.realm_destroy(rd(0)), Err(HostError::AptBound));
    assert_eq!(HostError::AptBound.status(), RmiStatus::ErrorRealm);
    assert!(w.csm.realm_destroy(NOBODY).is_ok());
}
