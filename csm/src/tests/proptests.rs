// SPDX-License-Identifier: MIT OR Apache-2.0
//! Property tests with long random operation sequences: on the model world (every step fully
//! checked, as in the model checker, but hundreds of steps deep), and at firmware capacities
//! (8 realms, tables of 8 regions × 4 grants and 16 attachments, 32-page address spaces) with a
//! page-level stage 2, checking S1–S8, S10 after every step.

extern crate std;
use std::vec::Vec;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use rmm_abi::rmi::states::{RealmState, Ripas};

use super::*;
use crate::invariants::{AliasEntry, Stage2Audit};
use crate::model::action::{actions, step};
use crate::model::world::Page;
use crate::ops::call::HostEvent;
use crate::view::{RangeSummary, Stage2View};
use crate::{Call, FwCsm};
use apt::FwApt;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// 400 random enabled actions from the set-up state; every step passes every check.
    #[test]
    fn model_world_long_runs(choices in proptest::collection::vec(any::<u32>(), 400), empty in any::<bool>()) {
        let mut w = if empty { World::empty() } else { World::ready() };
        for (n, c) in choices.into_iter().enumerate() {
            let enabled = actions(&w);
            let a = enabled[c as usize % enabled.len()];
            w = step(&w, a).map_err(|v| TestCaseError::fail(std::format!("step {n} {a:?}: {v:?}")))?;
            // Every table decodes (every field and rule) and survives the trip through its
            // granule encoding unchanged.
            for i in 0..crate::model::world::REALMS {
                prop_assert_eq!(w.apt(i).is_some(), w.csm.entry(crate::model::world::rd(i)).is_some(), "step {} {:?}", n, a);
                let Some(t) = w.apt(i) else { continue };
                let mut granule = [0u8; GRANULE_SIZE];
                t.encode(&mut granule);
                prop_assert_eq!(crate::model::world::ModelApt::decode(&granule[..]), Ok(t), "step {} {:?}", n, a);
            }
        }
    }
}

const BIG_REALMS: usize = 8;
const BIG_PAGES: usize = 32;

/// Firmware-capacity state: the firmware's global state (`FwCsm`, 256 index slots), firmware
/// tables kept as encoded granules, eight realms (NEW until activated) and a page-level stage 2
/// (level-3 tables always present).
#[derive(Clone)]
struct Big {
    csm: FwCsm,
    apts: GranuleStore,
    active: [bool; BIG_REALMS],
    pages: [[Page; BIG_PAGES]; BIG_REALMS],
}

fn big_rd(i: usize) -> Rd {
    Rd(0x100_0000 * (i as u64 + 1))
}

fn big_slot(rd: Rd) -> Option<usize> {
    (0..BIG_REALMS).find(|&i| big_rd(i) == rd)
}

fn page_index(ipa: u64) -> Option<usize> {
    usize::try_from(ipa / PAGE_SIZE)
        .ok()
        .filter(|p| *p < BIG_PAGES)
}

impl Stage2View for Big {
    fn summarize(&self, realm: Rd, range: IpaRange) -> RangeSummary {
        let mut s = RangeSummary::default();
        for i in 0..range.pages() {
            let page = big_slot(realm).zip(page_index(range.base() + i * PAGE_SIZE));
            match page.map(|(r, p)| self.pages[r][p]) {
                Some(Page::Data(Ripas::Ram)) => s.assigned_ram += 1,
                Some(Page::Unassigned(Ripas::Ram)) => s.unassigned_ram += 1,
                Some(Page::Data(Ripas::Empty)) => s.assigned_empty += 1,
                Some(Page::Unassigned(Ripas::Empty)) => s.unassigned_empty += 1,
                Some(Page::Alias { .. }) => s.aliases += 1,
                // DESTROYED, or outside the modelled space: never usable.
                Some(Page::Data(Ripas::Destroyed) | Page::Unassigned(Ripas::Destroyed)) | None => {
                    s.destroyed += 1
                }
            }
        }
        s
    }
    fn realm_active(&self, realm: Rd) -> bool {
        big_slot(realm).is_some_and(|r| self.active[r])
    }
}

impl Stage2Audit for Big {
    fn for_each_alias(&self, f: &mut dyn FnMut(AliasEntry)) {
        for c in 0..BIG_REALMS {
            for p in 0..BIG_PAGES {
                if let Page::Alias {
                    provider,
                    page,
                    writable,
                } = self.pages[c][p]
                {
                    f(AliasEntry {
                        consumer: big_rd(c),
                        ipa: p as u64 * PAGE_SIZE,
                        provider: big_rd(provider.into()),
                        provider_ipa: u64::from(page) * PAGE_SIZE,
                        writable,
                        executable: false,
                    });
                }
            }
        }
    }
    fn owns_ram_page(&self, realm: Rd, ipa: u64) -> bool {
        big_slot(realm)
            .zip(page_index(ipa))
            .is_some_and(|(r, p)| self.pages[r][p] == Page::Data(Ripas::Ram))
    }
    fn is_alias(&self, realm: Rd, ipa: u64) -> bool {
        big_slot(realm)
            .zip(page_index(ipa))
            .is_some_and(|(r, p)| matches!(self.pages[r][p], Page::Alias { .. }))
    }
    fn realm_exists(&self, rd: Rd) -> bool {
        big_slot(rd).is_some()
    }
}

impl Big {
    /// Every CSM realm with its table (decoded from its granule).
    fn tables(&self) -> Vec<(IndexEntry, FwApt)> {
        self.csm
            .realms()
            .filter_map(|e| Some((*e, self.apts.decoded(e.rd)?)))
            .collect()
    }

    fn apply(&mut self, out: &Outcome) -> Result<(), &'static str> {
        let mut stale = Vec::new();
        for e in out.effects.iter() {
            match *e {
                Effect::MapAliases {
                    consumer,
                    window,
                    provider,
                    source,
                    mode,
                } => {
                    let (c, p) = big_slot(consumer)
                        .zip(big_slot(provider))
                        .ok_or("unknown realm")?;
                    for i in 0..window.pages() {
                        let cp = page_index(window.base() + i * PAGE_SIZE).ok_or("window")?;
                        let pp = page_index(source + i * PAGE_SIZE).ok_or("source")?;
                        if self.pages[p][pp] != Page::Data(Ripas::Ram) {
                            return Err("S8: source not RAM");
                        }
                        if self.pages[c][cp] != Page::Unassigned(Ripas::Empty) {
                            return Err("map over an entry that is not unassigned EMPTY");
                        }
                        self.pages[c][cp] = Page::Alias {
                            provider: p as u8,
                            page: pp as u8,
                            writable: mode.is_writable(),
                        };
                    }
                }
                Effect::UnmapAliases {
                    consumer,
                    window,
                    ripas,
                } => {
                    let c = big_slot(consumer).ok_or("unknown realm")?;
                    for i in 0..window.pages() {
                        let cp = page_index(window.base() + i * PAGE_SIZE).ok_or("window")?;
                        if !matches!(self.pages[c][cp], Page::Alias { .. }) {
                            return Err("unmap of non-alias");
                        }
                        self.pages[c][cp] = Page::Unassigned(ripas);
                        stale.push((c, cp));
                    }
                }
                Effect::InvalidateTlbs { realm, range } => {
                    stale.retain(|(c, p)| {
                        !(Some(*c) == big_slot(realm) && range.contains(*p as u64 * PAGE_SIZE))
                    });
                }
                Effect::ExitToHost { .. } => {}
            }
        }
        if stale.is_empty() {
            Ok(())
        } else {
            Err("S3: stale translation")
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Activate(usize),
    /// `RMI_REALM_DESTROY` (after the host destroyed all its memory), then `RMI_REALM_CREATE`
    /// at the same RD: a new, NEW realm.
    Recreate(usize),
    AptCreate(usize),
    AptDestroy(usize),
    Populate(usize, usize, usize),
    Prepare(usize, usize, usize),
    /// `RSI_IPA_STATE_SET` to RAM (`true`: reclaim, with CHANGE_DESTROYED) or EMPTY (release).
    IpaStateSet(usize, usize, usize, bool),
    Rsi(usize, u8, u64, u64, u64),
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..BIG_REALMS;
    let p = 0..BIG_PAGES;
    let n = 1usize..5;
    prop_oneof![
        1 => r.clone().prop_map(Op::Activate),
        1 => r.clone().prop_map(Op::Recreate),
        2 => r.clone().prop_map(Op::AptCreate),
        1 => r.clone().prop_map(Op::AptDestroy),
        6 => (r.clone(), p.clone(), n.clone()).prop_map(|(a, b, c)| Op::Populate(a, b, c)),
        2 => (r.clone(), p.clone(), n.clone()).prop_map(|(a, b, c)| Op::Prepare(a, b, c)),
        4 => (r.clone(), p.clone(), n.clone(), any::<bool>()).prop_map(|(a, b, c, d)| Op::IpaStateSet(a, b, c, d)),
        40 => (r, 0u8..10, any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(a, b, c, d, e)| Op::Rsi(a, b, c, d, e)),
    ]
}

/// Picks register values that hit live objects most of the time.
fn pick(pool: &[u64], raw: u64) -> u64 {
    if pool.is_empty() || raw.is_multiple_of(8) {
        raw % 64
    } else {
        pool[(raw / 8) as usize % pool.len()]
    }
}

/// Every table, decoded from its granule, re-encodes to the same bytes, and the index and the
/// granules agree (one granule per CSM realm, none left behind by APT_DESTROY).
fn round_trips(b: &Big) -> Result<(), std::string::String> {
    if b.apts.granules.len() != b.csm.realms().count() {
        return Err(std::format!(
            "{} granules for {} CSM realms",
            b.apts.granules.len(),
            b.csm.realms().count()
        ));
    }
    for e in b.csm.realms() {
        let bytes = b
            .apts
            .bytes(e.rd)
            .ok_or("an indexed realm has no granule")?;
        let apt = FwApt::decode(&bytes[..]).map_err(|err| std::format!("{err:?}"))?;
        let mut again = [0u8; GRANULE_SIZE];
        apt.encode(&mut again);
        if again != bytes || apt.owner != e.id {
            return Err("a table does not round-trip through its granule".into());
        }
    }
    Ok(())
}

/// Runs the operations, checking after each; returns the most attachments seen at once.
fn run_big(ops: Vec<Op>) -> Result<usize, TestCaseError> {
    let mut most = 0;
    let mut b = Big {
        csm: FwCsm::new(),
        apts: GranuleStore::default(),
        active: [false; BIG_REALMS],
        pages: [[Page::Unassigned(Ripas::Ram); BIG_PAGES]; BIG_REALMS],
    };
    let par = BIG_PAGES as u64 * PAGE_SIZE;
    // Set-up: realms 0–5 get an APT while NEW and are activated; 6 and 7 stay NEW.
    let setup = (0..6).flat_map(|i| [Op::AptCreate(i), Op::Activate(i)]);
    for (n, o) in setup.chain(ops).enumerate() {
        let before = b.clone();
        let fail =
            |what: std::string::String| TestCaseError::fail(std::format!("step {n} {o:?}: {what}"));
        let outcome: Result<Option<Outcome>, ()> = match o {
            Op::Activate(i) => {
                b.active[i] = true;
                Ok(None)
            }
            Op::Recreate(i) => {
                match b
                    .csm
                    .host::<8, 4, 16>(&mut b.apts, HostEvent::RealmDestroy { rd: big_rd(i) })
                {
                    Ok(_) => {
                        b.active[i] = false;
                        b.pages[i] = [Page::Unassigned(Ripas::Ram); BIG_PAGES];
                        Ok(None)
                    }
                    Err(_) => Err(()),
                }
            }
            Op::AptCreate(i) => {
                let state = if b.active[i] {
                    RealmState::Active
                } else {
                    RealmState::New
                };
                b.csm
                    .host::<8, 4, 16>(
                        &mut b.apts,
                        HostEvent::AptCreate {
                            rd: big_rd(i),
                            apt_pa: i as u64,
                            state,
                            par_size: par,
                        },
                    )
                    .map(Some)
                    .map_err(|_| ())
            }
            Op::AptDestroy(i) => {
                let event = HostEvent::AptDestroy {
                    rd: big_rd(i),
                    apt_pa: i as u64,
                };
                // Step after step, as the monitor runs them: every step but the last applied
                // here, the last below.
                loop {
                    match b.csm.host::<8, 4, 16>(&mut b.apts, event) {
                        Ok(out) if out.reply == crate::Reply::Partial => {
                            b.apply(&out).map_err(|e| fail(e.into()))?;
                            b.csm
                                .check(&b.apts)
                                .map_err(|v| fail(std::format!("{v:?}")))?;
                        }
                        other => break other.map(Some).map_err(|_| ()),
                    }
                }
            }
            Op::Populate(i, p, len) => {
                for q in p..(p + len).min(BIG_PAGES) {
                    let event = HostEvent::DataCreate {
                        rd: big_rd(i),
                        ipa: q as u64 * PAGE_SIZE,
                    };
                    if b.pages[i][q] == Page::Unassigned(Ripas::Ram)
                        && b.csm.host::<8, 4, 16>(&mut b.apts, event).is_ok()
                    {
                        b.pages[i][q] = Page::Data(Ripas::Ram);
                    }
                }
                Ok(None)
            }
            Op::Prepare(i, p, len) => {
                for q in p..(p + len).min(BIG_PAGES) {
                    let event = HostEvent::DataDestroy {
                        rd: big_rd(i),
                        ipa: q as u64 * PAGE_SIZE,
                    };
                    if let Page::Data(ripas) = b.pages[i][q] {
                        let out = b
                            .csm
                            .host::<8, 4, 16>(&mut b.apts, event)
                            .map_err(|e| fail(std::format!("{e:?}")))?;
                        b.apply(&out).map_err(|e| fail(e.into()))?;
                        // As in CCA: RAM becomes DESTROYED, EMPTY stays EMPTY.
                        b.pages[i][q] = Page::Unassigned(match ripas {
                            Ripas::Ram => Ripas::Destroyed,
                            other => other,
                        });
                    } else if matches!(b.pages[i][q], Page::Alias { .. })
                        && b.csm.host::<8, 4, 16>(&mut b.apts, event).is_ok()
                    {
                        return Err(fail("DATA_DESTROY through an alias".into()));
                    }
                }
                Ok(None)
            }
            Op::IpaStateSet(i, p, len, ram) => {
                let range = pages(p as u64, len as u64);
                let ripas = if ram { Ripas::Ram } else { Ripas::Empty };
                if b.active[i]
                    && b.csm
                        .ipa_state_set::<8, 4, 16>(&mut b.apts, big_rd(i), range)
                        .is_ok()
                {
                    for q in p..(p + len).min(BIG_PAGES) {
                        b.pages[i][q] = match b.pages[i][q] {
                            Page::Alias { .. } => {
                                return Err(fail("S11: RIPAS change over an alias".into()));
                            }
                            Page::Data(_) => Page::Data(ripas),
                            Page::Unassigned(_) => Page::Unassigned(ripas),
                        };
                    }
                }
                Ok(None)
            }
            // Only an ACTIVE realm's RECs run.
            Op::Rsi(i, ..) if !b.active[i] => Ok(None),
            Op::Rsi(i, cmd, x1, x2, x3) => {
                let tables = b.tables();
                let realms: Vec<u64> = tables.iter().map(|(e, _)| e.id().get()).collect();
                let regions: Vec<u64> = tables
                    .iter()
                    .flat_map(|(_, t)| t.regions().map(|r| r.id.get()))
                    .collect();
                let shares: Vec<u64> = tables
                    .iter()
                    .flat_map(|(_, t)| t.regions().flat_map(|r| r.grants().map(|g| g.share.get())))
                    .collect();
                // 0–6 each command, 7–9 SHARE, ACCEPT and CREATE again: the sharing path is long.
                let command = rmm_abi::csm::CsmRsiCommand::ALL
                    [[0, 1, 2, 3, 4, 5, 6, 1, 2, 0][usize::from(cmd) % 10]];
                let page = |raw: u64| (raw % (BIG_PAGES as u64 + 2)) * PAGE_SIZE;
                let regs = match command {
                    rmm_abi::csm::CsmRsiCommand::Create => [page(x1), (x2 % 5) * PAGE_SIZE, 0, 0],
                    rmm_abi::csm::CsmRsiCommand::Share => [
                        pick(&regions, x1),
                        pick(&realms, x2),
                        if x3 % 8 == 0 {
                            x3 % 4
                        } else {
                            [1, 3][(x3 % 2) as usize]
                        },
                        0,
                    ],
                    rmm_abi::csm::CsmRsiCommand::Accept => [
                        pick(&shares, x1),
                        pick(&realms, x2),
                        page(x3),
                        (x3 % 5) * PAGE_SIZE,
                    ],
                    rmm_abi::csm::CsmRsiCommand::Destroy => [pick(&regions, x1), 0, 0, 0],
                    _ => [pick(&shares, x1), 0, 0, 0],
                };
                // Three times in four, the caller (and for ACCEPT the expected provider and
                // size) is the one the named object belongs to, so that calls mostly get far.
                let mut caller = big_rd(i);
                let mut regs = regs;
                if x2 % 4 != 0 || command == rmm_abi::csm::CsmRsiCommand::Accept && x3 % 4 != 0 {
                    let owner = |id: u64| {
                        tables
                            .iter()
                            .find(|(_, t)| t.regions().any(|r| r.id.get() == id))
                            .map(|(e, _)| e.rd)
                    };
                    let grant = ShareId::new(regs[0]).and_then(|s| {
                        tables
                            .iter()
                            .find_map(|(e, t)| t.grant(s).map(|(r, g)| (*e, r.range.size(), *g)))
                    });
                    let consumer = grant
                        .and_then(|(_, _, g)| b.csm.by_id(g.consumer))
                        .map(|e| e.rd);
                    let provider = grant.map(|(p, _, _)| (p.rd, p.id().get()));
                    match command {
                        rmm_abi::csm::CsmRsiCommand::Share
                        | rmm_abi::csm::CsmRsiCommand::Destroy => {
                            caller = owner(regs[0]).unwrap_or(caller)
                        }
                        rmm_abi::csm::CsmRsiCommand::Revoke => {
                            caller = provider.map_or(caller, |p| p.0)
                        }
                        rmm_abi::csm::CsmRsiCommand::Detach => caller = consumer.unwrap_or(caller),
                        rmm_abi::csm::CsmRsiCommand::Accept => {
                            caller = consumer.unwrap_or(caller);
                            if x3 % 4 != 0 {
                                regs[1] = provider.map_or(regs[1], |p| p.1);
                                regs[3] = grant.map_or(regs[3], |(_, size, _)| size);
                                // A window the consumer has released, if it has one that big.
                                let n = (regs[3] / PAGE_SIZE) as usize;
                                let free: Vec<usize> = big_slot(caller)
                                    .map(|c| {
                                        (0..BIG_PAGES.saturating_sub(n.max(1) - 1))
                                            .filter(|&q| {
                                                b.pages[c][q..q + n.max(1)]
                                                    .iter()
                                                    .all(|x| *x == Page::Unassigned(Ripas::Empty))
                                            })
                                            .collect()
                                    })
                                    .unwrap_or_default();
                                if let Some(q) = free.get((x3 / 4) as usize % free.len().max(1)) {
                                    regs[2] = *q as u64 * PAGE_SIZE;
                                }
                            }
                        }
                        _ => {}
                    }
                }
                let view = b.clone();
                if big_slot(caller).is_some_and(|c| !b.active[c]) {
                    Ok(None)
                } else {
                    Call::decode(command, regs)
                        .and_then(|call| b.csm.rsi::<8, 4, 16>(&mut b.apts, caller, call, &view))
                        .map(Some)
                        .map_err(|_| ())
                }
            }
        };
        match outcome {
            Err(()) => {
                if b.csm != before.csm || b.apts != before.apts {
                    return Err(fail("S10: a failure changed the state".into()));
                }
            }
            Ok(Some(out)) => b.apply(&out).map_err(|e| fail(e.into()))?,
            Ok(None) => {}
        }
        round_trips(&b).map_err(fail)?;
        b.csm
            .check::<8, 4, 16>(&b.apts)
            .map_err(|v| fail(std::format!("{v:?}")))?;
        b.csm
            .check_stage2::<8, 4, 16>(&b.apts, &b)
            .map_err(|v| fail(std::format!("{v:?}")))?;
        most = most.max(b.tables().iter().map(|(_, t)| t.windows().count()).sum());
    }
    Ok(most)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// 1,000 random operations at firmware capacities.
    #[test]
    fn firmware_capacity_long_runs(ops in proptest::collection::vec(op(), 1000)) {
        run_big(ops)?;
    }
}

/// The generator reaches sharing: a hand-made sequence attaches, and random sequences from a
/// deterministic runner attach too (so the property above is not vacuous).
#[test]
fn runs_reach_attachments() {
    let ops = std::vec![
        Op::Populate(0, 0, 4),
        Op::IpaStateSet(1, 8, 4, false), // the consumer releases its window
        Op::Rsi(0, 0, 0, 4, 0),          // CREATE [0, 4 pages)
        Op::Rsi(0, 1, 1, 9, 3),          // SHARE region 1 with RealmId 2 (realm 1), read-write
        Op::Rsi(1, 2, 1, 1, 42), // ACCEPT share 1 from RealmId 1 at page 8 (42 % 34), 4 pages
    ];
    assert_eq!(run_big(ops).unwrap(), 1);

    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = proptest::collection::vec(op(), 1000);
    let mut attached = 0;
    for _ in 0..16 {
        let ops = strategy.new_tree(&mut runner).unwrap().current();
        attached += run_big(ops).unwrap();
    }
    assert!(attached > 0, "random runs never attached anything");
}
