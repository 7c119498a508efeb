// SPDX-License-Identifier: MIT OR Apache-2.0
//! The firmware's global state at full capacity: 256 CSM realms at once (issue 17), every table
//! a firmware-capacity APT kept as its encoded granule, all of them sharing in a ring.

use apt::FwApt;
use apt::capacity::{FW_ATTACHMENTS, FW_GRANTS, FW_REGIONS};
use rmm_abi::csm::CsmMode;
use rmm_abi::rmi::states::{RealmState, Ripas};

use super::*;
use crate::state::{FW_REALMS, FW_STATIC_LIMIT, FwCsm};

/// Regions lie below 1 MiB and are populated; windows lie at 1 MiB and are released (unassigned
/// RIPAS EMPTY under level-3 tables); every realm is ACTIVE.
struct Ring;

const WINDOW: u64 = 1 << 20;

impl Stage2View for Ring {
    fn summarize(&self, _: Rd, range: IpaRange) -> RangeSummary {
        if range.base() < WINDOW {
            RangeSummary {
                assigned_ram: range.pages(),
                ..Default::default()
            }
        } else {
            RangeSummary {
                unassigned_empty: range.pages(),
                ..Default::default()
            }
        }
    }
    fn realm_active(&self, _: Rd) -> bool {
        true
    }
}

fn ring_rd(i: usize) -> Rd {
    Rd(0x8000_0000 + 0x10_0000 * i as u64)
}

/// Granules holding firmware-capacity tables only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Store(GranuleStore<FW_REGIONS, FW_GRANTS, FW_ATTACHMENTS>);

impl AptStore<FW_REGIONS, FW_GRANTS, FW_ATTACHMENTS> for Store {
    fn table(&self, rd: Rd) -> Option<crate::Lent<'_, [u64]>> {
        self.0.table(rd)
    }
    fn edit(&mut self, rd: Rd, fresh: bool, edit: &mut dyn FnMut(&mut [u64]) -> bool) -> bool {
        self.0.edit(rd, fresh, edit)
    }
    fn clear(&mut self, rd: Rd) {
        AptStore::<FW_REGIONS, FW_GRANTS, FW_ATTACHMENTS>::clear(&mut self.0, rd)
    }
}

fn run<E: core::fmt::Debug + From<Corrupt>>(
    csm: &mut FwCsm,
    store: &mut Store,
    plan: Result<Plan, E>,
) -> Result<Outcome, E> {
    let plan = plan?;
    Ok(csm.commit::<FW_REGIONS, FW_GRANTS, FW_ATTACHMENTS>(plan, store)?)
}

/// Creates the APT of ring realm `i` (RD `ring_rd(i)`, parameter window `par`) and returns its
/// RealmId.
fn create_realm(csm: &mut FwCsm, store: &mut Store, i: usize, par: u64) -> RealmId {
    let p =
        Plan::of(|p| csm.check_apt_create(ring_rd(i), 0x1000 + i as u64, RealmState::New, par, p));
    match run(csm, store, p)
        .expect("APT_CREATE of a ring realm")
        .reply
    {
        Reply::Realm(id) => id,
        other => panic!("APT_CREATE replied {other:?}"),
    }
}

#[test]
fn the_firmware_state_fits_its_static_budget() {
    let size = core::mem::size_of::<FwCsm>();
    std::println!("size_of::<FwCsm>() = {size} bytes for {FW_REALMS} realms");
    assert!(size <= FW_STATIC_LIMIT);
    assert_eq!(
        size,
        256 * 24 + 3 * 8 + 8,
        "index, counters, test-only fault switch"
    );
}

#[test]
fn two_hundred_and_fifty_six_csm_realms_at_once() {
    let mut csm = FwCsm::new();
    let mut store = Store::default();
    let par = 2 * WINDOW;
    let ids: std::vec::Vec<_> = (0..FW_REALMS)
        .map(|i| create_realm(&mut csm, &mut store, i, par))
        .collect();
    assert_eq!(csm.realms().count(), FW_REALMS);
    // The 257th is refused, and nothing changes.
    let before = (csm.clone(), store.clone());
    let p = Plan::of(|p| csm.check_apt_create(ring_rd(FW_REALMS), 0x1000, RealmState::New, par, p));
    assert_eq!(p.map(|_| ()), Err(HostError::Full));
    assert_eq!((csm.clone(), store.clone()), before);

    // Every realm shares a 4-page region read-only with the next one, which accepts it.
    let mut shares = std::vec::Vec::new();
    for i in 0..FW_REALMS {
        let p = Plan::of(|p| csm.check_create(&store, ring_rd(i), pages(0, 4), &Ring, p));
        let Reply::Region(region) = run(&mut csm, &mut store, p).unwrap().reply else {
            panic!()
        };
        let next = ids[(i + 1) % FW_REALMS];
        let p = Plan::of(|p| {
            csm.check_share(&store, ring_rd(i), region, next, CsmMode::Read, &Ring, p)
        });
        let Reply::Share(share) = run(&mut csm, &mut store, p).unwrap().reply else {
            panic!()
        };
        shares.push(share);
    }
    for i in 0..FW_REALMS {
        let from = (i + FW_REALMS - 1) % FW_REALMS;
        let share = shares[from];
        let p = Plan::of(|p| {
            csm.check_accept(
                &store,
                ring_rd(i),
                share,
                ids[from],
                WINDOW,
                4 * PAGE_SIZE,
                &Ring,
                p,
            )
        });
        let out = run(&mut csm, &mut store, p).unwrap();
        assert_eq!(
            effects(&out),
            [Effect::MapAliases {
                consumer: ring_rd(i),
                window: IpaRange::new(WINDOW, 4 * PAGE_SIZE).unwrap(),
                provider: ring_rd(from),
                source: 0,
                mode: CsmMode::Read,
            }]
        );
    }
    csm.check::<FW_REGIONS, FW_GRANTS, FW_ATTACHMENTS>(&store)
        .unwrap();
    for i in 0..FW_REALMS {
        let t: FwApt = store.0.decoded(ring_rd(i)).unwrap();
        assert_eq!(t.windows().count(), 1);
        assert_eq!(t.regions().flat_map(|r| r.grants()).count(), 1);
    }

    // APT_DESTROY of realm 7 involves exactly itself and its two neighbours, unmaps the
    // window of its consumer (8) and its own window, and leaves the other 255 realms' state
    // consistent.
    let involved = csm.involved::<FW_REGIONS, FW_GRANTS, FW_ATTACHMENTS>(&store, ring_rd(7), None);
    assert_eq!(involved.rds(), [ring_rd(6), ring_rd(7), ring_rd(8)]);
    let p = Plan::of(|p| csm.check_apt_destroy(&store, ring_rd(7), 0x1000 + 7, p));
    let out = run(&mut csm, &mut store, p).unwrap();
    let window = IpaRange::new(WINDOW, 4 * PAGE_SIZE).unwrap();
    let mut unmapped: std::vec::Vec<Rd> = effects(&out)
        .iter()
        .filter_map(|e| match *e {
            Effect::UnmapAliases {
                consumer,
                window: w,
                ripas: Ripas::Destroyed,
            } if w == window => Some(consumer),
            _ => None,
        })
        .collect();
    unmapped.sort();
    assert_eq!(unmapped, [ring_rd(7), ring_rd(8)]);
    assert_eq!(csm.realms().count(), FW_REALMS - 1);
    csm.check::<FW_REGIONS, FW_GRANTS, FW_ATTACHMENTS>(&store)
        .unwrap();
    let six: FwApt = store.0.decoded(ring_rd(6)).unwrap();
    assert_eq!(six.regions().flat_map(|r| r.grants()).count(), 0);
    let eight: FwApt = store.0.decoded(ring_rd(8)).unwrap();
    assert_eq!(eight.attachments().count(), 0);

    // The freed index slot takes a new realm, with a RealmId never used before.
    let id = create_realm(&mut csm, &mut store, FW_REALMS, par);
    assert!(ids.iter().all(|old| old.get() < id.get()));
    assert_eq!(csm.realms().count(), FW_REALMS);
}

/// RSI_CSM_CREATE of four populated pages at page `base` of ring realm `i`.
fn ring_region(csm: &mut FwCsm, store: &mut Store, i: usize, base: u64) -> RegionId {
    let p = Plan::of(|p| csm.check_create(&*store, ring_rd(i), pages(base, 4), &Ring, p));
    match run(csm, store, p).expect("RSI_CSM_CREATE").reply {
        Reply::Region(r) => r,
        other => panic!("RSI_CSM_CREATE replied {other:?}"),
    }
}

/// RSI_CSM_SHARE of ring realm `i`'s region `r` with `to`, read only.
fn ring_share(csm: &mut FwCsm, store: &mut Store, i: usize, r: RegionId, to: RealmId) -> ShareId {
    let p = Plan::of(|p| csm.check_share(&*store, ring_rd(i), r, to, CsmMode::Read, &Ring, p));
    match run(csm, store, p).expect("RSI_CSM_SHARE").reply {
        Reply::Share(s) => s,
        other => panic!("RSI_CSM_SHARE replied {other:?}"),
    }
}

/// RSI_CSM_ACCEPT by ring realm `i` of `s` from `from`, at the window.
fn ring_accept(csm: &mut FwCsm, store: &mut Store, i: usize, s: ShareId, from: RealmId) {
    let p = Plan::of(|p| {
        csm.check_accept(
            &*store,
            ring_rd(i),
            s,
            from,
            WINDOW,
            4 * PAGE_SIZE,
            &Ring,
            p,
        )
    });
    run(csm, store, p).unwrap();
}

/// RMI_APT_DESTROY of ring realm `i`, step after step until it is done, checking the whole
/// state after each: the replies and the consumers whose aliases went, sorted.
fn destroy_in_steps(
    csm: &mut FwCsm,
    store: &mut Store,
    i: usize,
) -> (std::vec::Vec<Reply>, std::vec::Vec<Rd>) {
    let mut replies = std::vec::Vec::new();
    let mut unmapped = std::vec::Vec::new();
    loop {
        let p = Plan::of(|p| csm.check_apt_destroy(&*store, ring_rd(i), 0x1000 + i as u64, p));
        let out = run(csm, store, p).unwrap();
        assert!(out.effects.iter().count() <= crate::MAX_EFFECTS);
        for e in out.effects.iter() {
            if let Effect::UnmapAliases { consumer, .. } = *e {
                unmapped.push(consumer);
            }
        }
        // Every step leaves a consistent state behind it.
        csm.check::<FW_REGIONS, FW_GRANTS, FW_ATTACHMENTS>(store)
            .unwrap();
        replies.push(out.reply);
        if out.reply != Reply::Partial || replies.len() > 64 {
            break;
        }
    }
    unmapped.sort();
    (replies, unmapped)
}

#[test]
fn apt_destroy_of_a_realm_with_many_relations_runs_in_batches() {
    let mut csm = FwCsm::new();
    let mut store = Store::default();
    let par = 4 * WINDOW;
    let ids: std::vec::Vec<_> = (0..7)
        .map(|i| create_realm(&mut csm, &mut store, i, par))
        .collect();
    // Realm 0 shares two regions with realms 1–4 (8 grants; realms 1 and 2 accept the
    // first), and receives a grant from realm 5 (accepted) and one from realm 6 (offered):
    // 10 relations, more than two batches.
    let a = ring_region(&mut csm, &mut store, 0, 0);
    let b = ring_region(&mut csm, &mut store, 0, 4);
    for c in 1..5 {
        let s = ring_share(&mut csm, &mut store, 0, a, ids[c]);
        if c <= 2 {
            ring_accept(&mut csm, &mut store, c, s, ids[0]);
        }
        ring_share(&mut csm, &mut store, 0, b, ids[c]);
    }
    for p in [5, 6] {
        let r = ring_region(&mut csm, &mut store, p, 0);
        let s = ring_share(&mut csm, &mut store, p, r, ids[0]);
        if p == 5 {
            ring_accept(&mut csm, &mut store, 0, s, ids[5]);
        }
    }
    csm.check::<FW_REGIONS, FW_GRANTS, FW_ATTACHMENTS>(&store)
        .unwrap();

    let (replies, unmapped) = destroy_in_steps(&mut csm, &mut store, 0);
    assert_eq!(replies, [Reply::Partial, Reply::Partial, Reply::Done]);
    assert_eq!(unmapped, [ring_rd(0), ring_rd(1), ring_rd(2)]);
    assert!(csm.entry(ring_rd(0)).is_none());
    for c in 1..5 {
        assert_eq!(
            store.0.decoded(ring_rd(c)).unwrap().attachments().count(),
            0
        );
    }
    for p in [5, 6] {
        let t = store.0.decoded(ring_rd(p)).unwrap();
        assert_eq!(t.regions().flat_map(|r| r.grants()).count(), 0);
    }
}

/// The batches count a realm's relations on both sides together: a provider with more grants
/// than one batch and nothing received, and a consumer with more received grants than one
/// batch and no region, each take two steps.
#[test]
fn apt_destroy_batches_one_sided_realms_too() {
    let mut csm = FwCsm::new();
    let mut store = Store::default();
    let ids: std::vec::Vec<_> = (0..7)
        .map(|i| create_realm(&mut csm, &mut store, i, 4 * WINDOW))
        .collect();
    // Realm 0 gives five grants, realm 6 receives five.
    let a = ring_region(&mut csm, &mut store, 0, 0);
    let b = ring_region(&mut csm, &mut store, 0, 4);
    for c in 1..6 {
        ring_share(&mut csm, &mut store, 0, if c < 4 { a } else { b }, ids[c]);
        let r = ring_region(&mut csm, &mut store, c, 0);
        ring_share(&mut csm, &mut store, c, r, ids[6]);
    }
    for realm in [0, 6] {
        let (replies, _) = destroy_in_steps(&mut csm, &mut store, realm);
        assert_eq!(replies, [Reply::Partial, Reply::Done], "realm {realm}");
        assert!(csm.entry(ring_rd(realm)).is_none());
    }
    for c in 1..6 {
        let t = store.0.decoded(ring_rd(c)).unwrap();
        assert_eq!(t.attachments().count(), 0, "realm {c}");
        assert_eq!(t.regions().flat_map(|r| r.grants()).count(), 0, "realm {c}");
    }
}

/// A region may be exactly `MAX_REGION_SIZE` long (the firmware's largest share), not a page
/// more.
#[test]
fn a_region_may_be_as_large_as_the_bound_and_no_larger() {
    let mut csm = FwCsm::new();
    let mut store = Store::default();
    create_realm(&mut csm, &mut store, 0, 4 * apt::capacity::MAX_REGION_SIZE);
    let largest = apt::capacity::MAX_REGION_SIZE / PAGE_SIZE;
    let create = |csm: &mut FwCsm, store: &mut Store, base: u64, pages_count: u64| {
        let p =
            Plan::of(|p| csm.check_create(&*store, ring_rd(0), pages(base, pages_count), &Ring, p));
        run(csm, store, p).map(|out| out.reply)
    };
    // The ring counts a range that starts below 1 MiB as populated.
    assert_eq!(
        create(&mut csm, &mut store, 0, largest + 1),
        Err(RealmError::TooLarge)
    );
    assert!(matches!(
        create(&mut csm, &mut store, 0, largest),
        Ok(Reply::Region(_))
    ));
}

/// The most realms one operation can involve with the firmware capacities (`MAX_INVOLVED`,
/// 49): a realm whose 8 regions each have 4 grants to distinct consumers and whose 16
/// attachment slots hold grants of 16 distinct providers. Its APT_DESTROY involves every one
/// of them and runs to the end in batches, every step leaving a consistent state.
#[test]
fn a_realm_with_every_relation_slot_used_involves_max_involved_realms() {
    let mut csm = FwCsm::new();
    let mut store = Store::default();
    let ids: std::vec::Vec<_> = (0..crate::MAX_INVOLVED)
        .map(|i| create_realm(&mut csm, &mut store, i, 4 * WINDOW))
        .collect();
    let mut consumer = 1;
    for r in 0..FW_REGIONS as u64 {
        let region = ring_region(&mut csm, &mut store, 0, 4 * r);
        for _ in 0..FW_GRANTS {
            ring_share(&mut csm, &mut store, 0, region, ids[consumer]);
            consumer += 1;
        }
    }
    for provider in consumer..crate::MAX_INVOLVED {
        let region = ring_region(&mut csm, &mut store, provider, 0);
        ring_share(&mut csm, &mut store, provider, region, ids[0]);
    }
    assert_eq!(
        crate::MAX_INVOLVED,
        1 + FW_REGIONS * FW_GRANTS + FW_ATTACHMENTS
    );
    let involved = csm.involved(&store, ring_rd(0), None);
    let mut all: std::vec::Vec<_> = (0..crate::MAX_INVOLVED).map(ring_rd).collect();
    all.sort();
    assert_eq!(involved.rds(), &all[..]);
    let (replies, _) = destroy_in_steps(&mut csm, &mut store, 0);
    let steps = (crate::MAX_INVOLVED - 1).div_ceil(crate::APT_DESTROY_BATCH);
    assert_eq!(replies.len(), steps);
    assert_eq!(replies.last(), Some(&Reply::Done));
    assert!(csm.entry(ring_rd(0)).is_none());
}

/// The lock order: `Involved` keeps its RDs ascending and unique whatever order they come
/// in (each inserted into the sorted prefix), and refuses one more than `MAX_INVOLVED`.
#[test]
fn involved_rds_stay_ascending_and_unique_up_to_the_limit() {
    let mut involved = crate::plan::Involved::new();
    for rd in [5, 3, 9, 3, 1, 7, 5, 2] {
        assert!(involved.add(Rd(rd)));
    }
    assert_eq!(involved.rds(), [1, 2, 3, 5, 7, 9].map(Rd));
    let mut full = crate::plan::Involved::new();
    for rd in (1..=crate::MAX_INVOLVED as u64).rev() {
        assert!(full.add(Rd(2 * rd)));
    }
    assert!(full.rds().windows(2).all(|pair| pair[0] < pair[1]));
    assert_eq!(full.rds().len(), crate::MAX_INVOLVED);
    assert!(full.add(Rd(4)), "one it holds is no addition");
    assert!(!full.add(Rd(3)), "one more than the limit");
    assert!(!full.contains(Rd(3)));
}
