// SPDX-License-Identifier: MIT OR Apache-2.0
//! The RSI calls: each success and each error.

use crate::plan::{Change, Plan};
use rmm_abi::csm::CsmMode;
use rmm_abi::rmi::states::Ripas;

use super::*;
use crate::effect::{CsmExit, QueryInfo};
use crate::error::RealmError;
use crate::model::world::Page;

#[test]
fn create_success_and_errors() {
    let w = World::ready();
    let mut c = w.csm.clone();
    let out = c.create(rd(0), pages(0, 2), &w).unwrap();
    assert_eq!(out.reply, Reply::Region(RegionId::new(1).unwrap()));
    assert!(out.effects.is_empty());
    refused(&w, RealmError::NoApt, |c, v| {
        c.create(NOBODY, pages(0, 1), v)
    });
    refused(&w, RealmError::OutsidePar, |c, v| {
        c.create(rd(0), pages(3, 2), v)
    });
    let mut one = w.clone();
    one.csm.create(rd(0), pages(0, 2), &w).unwrap();
    refused(&one, RealmError::Overlap, |c, v| {
        c.create(rd(0), pages(1, 1), v)
    });
    let mut w2 = w.clone();
    w2.realms[0].pages = [Page::Data(Ripas::Ram); 4];
    let mut two = w2.clone();
    two.csm.create(rd(0), pages(0, 1), &w2).unwrap();
    two.csm.create(rd(0), pages(1, 1), &w2).unwrap();
    refused(&two, RealmError::Full, |c, _| {
        c.create(rd(0), pages(2, 1), &w2)
    });
    let mut empty_page = w.clone();
    empty_page.realms[0].pages[1] = Page::Data(Ripas::Empty);
    refused(&empty_page, RealmError::NotRam, |c, v| {
        c.create(rd(0), pages(0, 2), v)
    });
    let mut destroyed = w.clone();
    destroyed.realms[0].pages[2] = Page::Unassigned(Ripas::Destroyed);
    refused(&destroyed, RealmError::NotRam, |c, v| {
        c.create(rd(0), pages(2, 2), v)
    });
    let mut exhausted = w.clone();
    exhausted.csm.next_region = u64::MAX;
    refused(&exhausted, RealmError::IdsExhausted, |c, v| {
        c.create(rd(0), pages(0, 2), v)
    });
}

#[test]
fn create_asks_the_host_to_populate_and_rechecks() {
    let mut w = World::ready();
    // Pages 2–3 reclaimed as RAM (RSI_IPA_STATE_SET) but never populated: exit 8 for the
    // range, nothing recorded.
    w.realms[0].pages[2] = Page::Unassigned(Ripas::Ram);
    w.realms[0].pages[3] = Page::Unassigned(Ripas::Ram);
    let mut c = w.csm.clone();
    let out = c.create(rd(0), pages(2, 2), &w).unwrap();
    assert_eq!(out.reply, Reply::Restart);
    assert_eq!(
        effects(&out),
        [Effect::ExitToHost {
            exit: CsmExit::Populate,
            range: pages(2, 2)
        }]
    );
    assert_eq!(c, w.csm);
    // The host populates one page only: the retry exits again.
    let mut half = w.clone();
    half.realms[0].pages[2] = Page::Data(Ripas::Ram);
    assert_eq!(
        c.create(rd(0), pages(2, 2), &half).unwrap().reply,
        Reply::Restart
    );
    half.realms[0].pages[3] = Page::Data(Ripas::Ram);
    assert!(matches!(
        c.create(rd(0), pages(2, 2), &half).unwrap().reply,
        Reply::Region(_)
    ));
}

#[test]
fn share_success_and_errors() {
    let (w, region, share) = offered(CsmMode::Read);
    assert_eq!(share.get(), 1);
    let c1 = id_of(&w, 1);
    let c2 = id_of(&w, 2);
    let mut c = w.csm.clone();
    let out = c.share(rd(0), region, c2, CsmMode::ReadWrite).unwrap();
    assert_eq!(out.reply, Reply::Share(ShareId::new(2).unwrap()));
    c.check().unwrap();
    refused(&w, RealmError::NoApt, |c, _| {
        c.share(NOBODY, region, c1, CsmMode::Read)
    });
    refused(&w, RealmError::UnknownRegion, |c, _| {
        c.share(rd(1), region, c2, CsmMode::Read)
    });
    refused(&w, RealmError::UnknownRegion, |c, _| {
        c.share(rd(0), RegionId::new(99).unwrap(), c2, CsmMode::Read)
    });
    refused(&w, RealmError::SelfShare, |c, _| {
        c.share(rd(0), region, id_of(w_ref(&w), 0), CsmMode::Read)
    });
    refused(&w, RealmError::UnknownRealm, |c, _| {
        c.share(rd(0), region, RealmId::new(99).unwrap(), CsmMode::Read)
    });
    refused(&w, RealmError::DuplicateGrant, |c, _| {
        c.share(rd(0), region, c1, CsmMode::ReadWrite)
    });
    let mut exhausted = w.clone();
    exhausted.csm.next_share = u64::MAX;
    refused(&exhausted, RealmError::IdsExhausted, |c, _| {
        c.share(rd(0), region, c2, CsmMode::Read)
    });
}

fn w_ref(w: &World) -> &World {
    w
}

/// Every range is populated RAM (for tests that do not care about pages).
struct Populated;

impl crate::view::Stage2View for Populated {
    fn summarize(&self, _: Rd, range: IpaRange) -> crate::view::RangeSummary {
        crate::view::RangeSummary {
            assigned_ram: range.pages(),
            ..Default::default()
        }
    }
    fn realm_active(&self, _: Rd) -> bool {
        true
    }
}

#[test]
fn share_is_full_with_every_grant_slot_used() {
    // Tables of one region with one grant and one received grant, kept encoded.
    let mut c: crate::Csm<4> = crate::Csm::new();
    let mut s = GranuleStore::<1, 1, 1>::default();
    let create = |c: &mut crate::Csm<4>, s: &mut GranuleStore<1, 1, 1>, r: IpaRange| {
        let p = Plan::of(|p| c.check_create::<1, 1, 1>(s, rd(0), r, &Populated, p))?;
        Ok::<_, RealmError>(c.commit::<1, 1, 1>(p, s)?)
    };
    let share = |c: &mut crate::Csm<4>, s: &mut GranuleStore<1, 1, 1>, region, to| {
        let p = Plan::of(|p| {
            c.check_share::<1, 1, 1>(s, rd(0), region, to, CsmMode::Read, &Populated, p)
        })?;
        Ok::<_, RealmError>(c.commit::<1, 1, 1>(p, s)?)
    };
    for i in 0..3 {
        let p = Plan::of(|p| {
            c.check_apt_create(
                rd(i),
                i as u64,
                rmm_abi::rmi::states::RealmState::New,
                1 << 20,
                p,
            )
        })
        .unwrap();
        c.commit::<1, 1, 1>(p, &mut s).unwrap();
    }
    let Reply::Region(region) = create(&mut c, &mut s, pages(0, 1)).unwrap().reply else {
        panic!()
    };
    let ids: std::vec::Vec<RealmId> = c.realms().map(|e| e.id()).collect();
    share(&mut c, &mut s, region, ids[1]).unwrap();
    let before = (c.clone(), s.clone());
    assert_eq!(
        share(&mut c, &mut s, region, ids[2]).map(|o| o.reply),
        Err(RealmError::Full)
    );
    assert_eq!((c.clone(), s.clone()), before);
    assert_eq!(
        create(&mut c, &mut s, pages(4, 1)).map(|o| o.reply),
        Err(RealmError::Full)
    );
    assert_eq!((c, s), before);
}

/// A plan whose edit does not apply (a grant that is not there) or leaves a table that breaks
/// the table rules (a second region over the first) does not commit, and its tables stay as
/// they were: only a monitor bug could make such a plan, and the monitor stops on it.
#[test]
fn a_plan_that_does_not_apply_or_breaks_a_table_does_not_commit() {
    let (w, region, _) = offered(CsmMode::Read);
    let range = w.apt(0).unwrap().region(region).unwrap().1.range;
    let changes = [
        Change::RemoveGrant(ShareId::new(999).unwrap()),
        Change::AddRegion {
            id: RegionId::new(999).unwrap(),
            range,
        },
    ];
    for change in changes {
        let mut csm = w.csm.clone();
        let mut plan = Plan::empty();
        plan.edit(rd(0), change).unwrap();
        assert_eq!(
            csm.global.commit(plan, &mut csm.apts),
            Err(Corrupt),
            "{change:?}"
        );
        assert_eq!(csm.apts, w.csm.apts, "{change:?}");
    }
}

/// The monitor keeps one plan under the CSM lock and reuses it for every operation: a check
/// starts from nothing, whatever the plan held before (effects, edits, counters, reply).
#[test]
fn a_reused_plan_holds_only_the_last_checks_work() {
    let (w, _, share) = offered(CsmMode::Read);
    let (p, size) = (id_of(&w, 0), 2 * PAGE_SIZE);
    let (global, apts) = (&w.csm.global, &w.csm.apts);
    let mut plan = Plan::empty();
    global
        .check_accept(apts, rd(1), share, p, size, size, &w, &mut plan)
        .unwrap();
    assert_eq!(plan.outcome().effects.len(), 1);
    assert!(!plan.outcome().effects.is_empty());
    global
        .check_query(apts, rd(0), Some(share), &mut plan)
        .unwrap();
    let fresh = Plan::of(|f| global.check_query(apts, rd(0), Some(share), f)).unwrap();
    assert_eq!(plan, fresh);
    assert!(plan.outcome().effects.is_empty());
    assert_eq!(plan.outcome().effects.len(), 0);
}

#[test]
fn accept_success() {
    let (mut w, _, share) = offered(CsmMode::ReadWrite);
    let p = id_of(&w, 0);
    let view = w.clone();
    let out = w.csm.accept(rd(1), share, p, 2 * PAGE_SIZE, &view).unwrap();
    assert_eq!(
        out.reply,
        Reply::Accepted {
            size: 2 * PAGE_SIZE,
            mode: CsmMode::ReadWrite
        }
    );
    assert_eq!(out.reply.registers(), [2 * PAGE_SIZE, 3, 0, 0]);
    assert_eq!(
        effects(&out),
        [Effect::MapAliases {
            consumer: rd(1),
            window: pages(2, 2),
            provider: rd(0),
            source: 0,
            mode: CsmMode::ReadWrite
        }]
    );
    w.apply(&out).unwrap();
    assert_eq!(
        w.realms[1].pages[2],
        Page::Alias {
            provider: 0,
            page: 0,
            writable: true
        }
    );
    assert_eq!(
        w.realms[1].pages[3],
        Page::Alias {
            provider: 0,
            page: 1,
            writable: true
        }
    );
    w.csm.check().unwrap();
    w.csm.check_stage2(&w).unwrap();
}

#[test]
fn accept_errors() {
    let (w, _, share) = offered(CsmMode::Read);
    let p = id_of(&w, 0);
    let base = 2 * PAGE_SIZE;
    refused(&w, RealmError::NoApt, |c, v| {
        c.accept(NOBODY, share, p, base, v)
    });
    refused(&w, RealmError::UnknownShare, |c, v| {
        c.accept(rd(1), ShareId::new(77).unwrap(), p, base, v)
    });
    refused(&w, RealmError::UnknownShare, |c, v| {
        c.accept(rd(2), share, p, base, v)
    });
    refused(&w, RealmError::UnknownShare, |c, v| {
        c.accept(rd(0), share, p, base, v)
    });
    refused(&w, RealmError::WrongProvider, |c, v| {
        c.accept(rd(1), share, id_of(v, 2), base, v)
    });
    refused(&w, RealmError::BadRange, |c, v| {
        c.accept(rd(1), share, p, base + 1, v)
    });
    refused(&w, RealmError::BadRange, |c, v| {
        c.accept(rd(1), share, p, u64::MAX - 4095, v)
    });
    refused(&w, RealmError::OutsidePar, |c, v| {
        c.accept(rd(1), share, p, 3 * PAGE_SIZE, v)
    });
    let mut own = w.clone();
    own.csm
        .create(rd(1), pages(2, 1), &{
            let mut v = w.clone();
            v.realms[1].pages[2] = Page::Data(Ripas::Ram);
            v
        })
        .unwrap();
    refused(&own, RealmError::Overlap, |c, v| {
        c.accept(rd(1), share, p, base, v)
    });
    // The consumer names the size it expects (x4): anything but the region's is refused.
    for size in [PAGE_SIZE, 3 * PAGE_SIZE, 0, u64::MAX] {
        refused(&w, RealmError::WrongSize, |c, v| {
            c.accept_sized(rd(1), share, p, base, size, v)
        });
    }
    // The whole window must be RIPAS EMPTY (released by the consumer): RAM, assigned or not,
    // and DESTROYED (the host took memory; the realm must acknowledge it with
    // CHANGE_DESTROYED first) are refused without an exit.
    for page in [
        Page::Unassigned(Ripas::Ram),
        Page::Data(Ripas::Ram),
        Page::Unassigned(Ripas::Destroyed),
        Page::Data(Ripas::Destroyed),
    ] {
        let mut not_empty = w.clone();
        not_empty.realms[1].pages[3] = page;
        refused(&not_empty, RealmError::NotEmpty, |c, v| {
            c.accept(rd(1), share, p, base, v)
        });
    }
    let mut not_ready = w.clone();
    not_ready.realms[0].pages[1] = Page::Unassigned(Ripas::Ram);
    refused(&not_ready, RealmError::ProviderNotReady, |c, v| {
        c.accept(rd(1), share, p, base, v)
    });
    let (att, _, share) = attached(CsmMode::Read);
    refused(&att, RealmError::AlreadyAttached, |c, v| {
        c.accept(rd(1), share, p, 0, v)
    });
}

/// ACCEPT reads the grant from both tables. Where the consumer's record disagrees with the
/// provider's in the region, its size or the mode, each alone (only a monitor bug could
/// write such tables), the call is refused as a corrupt table and nothing changes.
#[test]
fn accept_refuses_a_grant_whose_two_records_disagree() {
    let (w, _, share) = offered(CsmMode::Read);
    let p = id_of(&w, 0);
    let base = 2 * PAGE_SIZE;
    let edits: [fn(&mut apt::Attachment); 3] = [
        |a| a.region = RegionId::new(a.region.get() + 100).unwrap(),
        |a| a.size = PAGE_SIZE,
        |a| a.mode = CsmMode::ReadWrite,
    ];
    for edit in edits {
        let mut bad = w.clone();
        let mut table = bad.apt(1).unwrap();
        let record = table.attachments.iter_mut().flatten();
        edit(record.into_iter().find(|a| a.share == share).unwrap());
        let size = table.attachment(share).unwrap().size;
        bad.csm.apts.set(1, Some(&table));
        refused(&bad, RealmError::AptCorrupt, |c, v| {
            c.accept_sized(rd(1), share, p, base, size, v)
        });
    }
}

/// A received grant takes one of the consumer's attachment slots from SHARE on (offered or
/// attached), so ACCEPT never runs out of room: SHARE to a consumer whose slots are all used
/// is refused (`Full`), and attaching does not free or use a slot.
#[test]
fn share_is_full_when_the_consumer_has_no_free_attachment_slot() {
    let mut w = World::ready();
    let v = w.clone();
    let c1 = id_of(&w, 1);
    let mut shares = std::vec::Vec::new();
    for i in [0, 2] {
        let Reply::Region(r) = w.csm.create(rd(i), pages(0, 1), &v).unwrap().reply else {
            panic!()
        };
        let Reply::Share(s) = w.csm.share(rd(i), r, c1, CsmMode::Read).unwrap().reply else {
            panic!()
        };
        shares.push((i, s));
    }
    // Realm 0's second region: realm 1 holds two received grants (the model's capacity).
    let Reply::Region(r) = w.csm.create(rd(0), pages(1, 1), &v).unwrap().reply else {
        panic!()
    };
    refused(&w, RealmError::Full, |c, _| {
        c.share(rd(0), r, c1, CsmMode::Read)
    });
    // Realm 2 still has room.
    let mut other = w.clone();
    other
        .csm
        .share(rd(0), r, id_of(&w, 2), CsmMode::Read)
        .unwrap();
    // Attaching one of the received grants changes nothing about the slots.
    let (i, s) = shares[0];
    let v = w.clone();
    let out = w
        .csm
        .accept_sized(rd(1), s, id_of(&v, i), 2 * PAGE_SIZE, PAGE_SIZE, &v)
        .unwrap();
    w.apply(&out).unwrap();
    assert_eq!(w.apt(1).unwrap().attachments().count(), 2);
    refused(&w, RealmError::Full, |c, _| {
        c.share(rd(0), r, c1, CsmMode::Read)
    });
}

#[test]
fn detach_success_and_errors() {
    let (w, _, share) = attached(CsmMode::ReadWrite);
    let mut d = w.clone();
    let out = d.csm.detach(rd(1), share).unwrap();
    assert_eq!(
        effects(&out),
        [
            Effect::UnmapAliases {
                consumer: rd(1),
                window: pages(2, 2),
                ripas: Ripas::Ram
            },
            Effect::InvalidateTlbs {
                realm: rd(1),
                range: pages(2, 2)
            },
        ]
    );
    d.apply(&out).unwrap();
    assert_eq!(d.realms[1].pages[2], Page::Unassigned(Ripas::Ram));
    let g = d.csm.find_grant(share).unwrap().2;
    assert_eq!(g.state, apt::GrantState::Offered, "the grant remains");
    d.csm.check().unwrap();
    d.csm.check_stage2(&d).unwrap();
    refused(&w, RealmError::NoApt, |c, _| c.detach(NOBODY, share));
    refused(&w, RealmError::UnknownShare, |c, _| {
        c.detach(rd(1), ShareId::new(9).unwrap())
    });
    refused(&w, RealmError::UnknownShare, |c, _| c.detach(rd(0), share));
    refused(&w, RealmError::UnknownShare, |c, _| c.detach(rd(2), share));
    refused(&d, RealmError::NotAttached, |c, _| c.detach(rd(1), share));
}

#[test]
fn revoke_success_and_errors() {
    let (w, _, share) = attached(CsmMode::ReadWrite);
    let mut r = w.clone();
    let out = r.csm.revoke(rd(0), share).unwrap();
    assert_eq!(
        effects(&out),
        [
            Effect::UnmapAliases {
                consumer: rd(1),
                window: pages(2, 2),
                ripas: Ripas::Empty
            },
            Effect::InvalidateTlbs {
                realm: rd(1),
                range: pages(2, 2)
            },
        ]
    );
    r.apply(&out).unwrap();
    assert!(r.csm.find_grant(share).is_none());
    r.csm.check().unwrap();
    r.csm.check_stage2(&r).unwrap();
    // Gone for good.
    let p = id_of(&r, 0);
    refused(&r, RealmError::UnknownShare, |c, v| {
        c.accept(rd(1), share, p, 2 * PAGE_SIZE, v)
    });
    refused(&r, RealmError::UnknownShare, |c, _| c.revoke(rd(0), share));
    refused(&w, RealmError::NoApt, |c, _| c.revoke(NOBODY, share));
    refused(&w, RealmError::UnknownShare, |c, _| c.revoke(rd(1), share));
    // Revoking an offered grant: no effects.
    let (mut o, _, s) = offered(CsmMode::Read);
    assert!(o.csm.revoke(rd(0), s).unwrap().effects.is_empty());
}

#[test]
fn destroy_success_and_errors() {
    let (w, region, share) = attached(CsmMode::ReadWrite);
    let mut d = w.clone();
    let out = d.csm.destroy(rd(0), region).unwrap();
    assert_eq!(
        effects(&out),
        [
            Effect::UnmapAliases {
                consumer: rd(1),
                window: pages(2, 2),
                ripas: Ripas::Empty
            },
            Effect::InvalidateTlbs {
                realm: rd(1),
                range: pages(2, 2)
            },
        ]
    );
    d.apply(&out).unwrap();
    assert!(d.csm.find_grant(share).is_none());
    assert_eq!(d.csm.apt(rd(0)).unwrap().regions().count(), 0);
    d.csm.check().unwrap();
    refused(&w, RealmError::NoApt, |c, _| c.destroy(NOBODY, region));
    refused(&w, RealmError::UnknownRegion, |c, _| {
        c.destroy(rd(1), region)
    });
    refused(&d, RealmError::UnknownRegion, |c, _| {
        c.destroy(rd(0), region)
    });
}

#[test]
fn query() {
    let (w, _, share) = attached(CsmMode::Read);
    let p = id_of(&w, 0);
    let c = id_of(&w, 1);
    assert_eq!(
        w.csm.query(rd(2), None).unwrap().reply,
        Reply::Query(QueryInfo {
            realm: id_of(&w, 2),
            consumer: None,
            size: 0,
            mode: None,
            attached: false
        })
    );
    let info = Reply::Query(QueryInfo {
        realm: p,
        consumer: Some(c),
        size: 2 * PAGE_SIZE,
        mode: Some(CsmMode::Read),
        attached: true,
    });
    assert_eq!(w.csm.query(rd(0), Some(share)).unwrap().reply, info);
    assert_eq!(w.csm.query(rd(1), Some(share)).unwrap().reply, info);
    assert_eq!(
        info.registers(),
        [
            p.get(),
            c.get(),
            2 * PAGE_SIZE,
            // Bits 1:0 the mode (read), bit 8 attached: the ABI's numbers, not the constant's.
            0x101
        ]
    );
    assert_eq!(
        w.csm.query(rd(2), Some(share)).map(|o| o.reply),
        Err(RealmError::UnknownShare)
    );
    assert_eq!(
        w.csm.query(NOBODY, None).map(|o| o.reply),
        Err(RealmError::NoApt)
    );
    assert_eq!(
        w.csm.query(rd(1), ShareId::new(42)).map(|o| o.reply),
        Err(RealmError::UnknownShare)
    );
}

/// SHARE needs the consumer ACTIVE, so the peer RIM a token reports is final.
#[test]
fn share_needs_an_active_consumer() {
    let mut w = World::ready();
    let view = w.clone();
    let Reply::Region(region) = w.csm.create(rd(0), pages(0, 2), &view).unwrap().reply else {
        panic!()
    };
    let consumer = id_of(&w, 1);
    let mut new = w.clone();
    new.realms[1].life = crate::model::world::Life::New;
    refused(&new, RealmError::PeerNotActive, |c, v| {
        let p = Plan::of(|p| {
            c.global
                .check_share(&c.apts, rd(0), region, consumer, CsmMode::Read, v, p)
        });
        c.done(p)
    });
    // The same call succeeds once the consumer is ACTIVE.
    let p = Plan::of(|p| {
        w.csm.global.check_share(
            &w.csm.apts,
            rd(0),
            region,
            consumer,
            CsmMode::Read,
            &view,
            p,
        )
    });
    assert!(matches!(w.csm.done(p).unwrap().reply, Reply::Share(_)));
}
