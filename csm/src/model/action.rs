// SPDX-License-Identifier: MIT OR Apache-2.0
//! Every step the model can take — each RSI call by each active realm with argument choices
//! drawn from the state (plus wrong ones), and every host event — and [`step`], which runs one
//! through the state machine, applies its effects as the monitor would, and checks the
//! transition properties (S3, S5, S6, S7, S10, S11) and then the state invariants.

extern crate std;
use std::vec::Vec;

use apt::{IpaRange, PAGE_SIZE, Rd, RealmId, RegionId, ShareId};
use rmm_abi::csm::CsmMode;
use rmm_abi::rmi::states::{RealmState, Ripas};

use super::world::{
    Apts, Life, ModelApt, ModelCsm, PAGES, Page, REALMS, Realm, TABLE_PAGES, World, apt_pa, rd,
};
use crate::effect::{Effect, Outcome};
use crate::invariants::{Invariant, Violation};
use crate::ops::call::Call;
use crate::plan::Plan;

/// One step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Host: `RMI_REALM_CREATE` into an empty RD slot.
    RealmCreate(usize),
    /// Host: `RMI_REALM_ACTIVATE`.
    RealmActivate(usize),
    /// Host: `RMI_REALM_DESTROY` (after destroying the realm's memory).
    RealmDestroy(usize),
    /// Host: `RMI_APT_CREATE`.
    AptCreate(usize),
    /// Host: `RMI_APT_DESTROY`.
    AptDestroy(usize),
    /// Host: populate one table's pages (`RMI_RTT_CREATE` if needed, then
    /// `RMI_DATA_CREATE_UNKNOWN` at every unassigned RAM page), as asked by exit 8.
    Populate(usize, usize),
    /// Host: take one table's pages away (`RMI_DATA_DESTROY` at every DATA page, then
    /// `RMI_RTT_CREATE` if needed), as asked by exit 7 — or as an attack on a region.
    Prepare(usize, usize),
    /// Host: `RMI_DATA_CREATE_UNKNOWN` at an alias (must be refused).
    DataCreateAtAlias(usize, usize),
    /// Host: `RMI_DATA_DESTROY` at an alias (must be refused).
    DataDestroyAtAlias(usize, usize),
    /// Host: `RMI_RTT_FOLD` of a table holding aliases (must be refused).
    FoldAliases(usize, usize),
    /// Realm: a CSM RSI call.
    Rsi(usize, Call),
    /// Realm: `RSI_IPA_STATE_SET` over one table's pages to RIPAS RAM (with
    /// `CHANGE_DESTROYED`: how a realm reclaims memory) or EMPTY (how a consumer releases a
    /// window before ACCEPT), the host accepting.
    IpaStateSet(usize, usize, Ripas),
}

const fn range(page: u64, pages: u64) -> IpaRange {
    match IpaRange::new(page * PAGE_SIZE, pages * PAGE_SIZE) {
        Some(r) => r,
        None => panic!("constant range"),
    }
}

/// All actions enabled in `w`.
pub fn actions(w: &World) -> Vec<Action> {
    let mut out = Vec::new();
    let (next_realm, next_region, next_share) = w.csm.next_ids();
    let realm_ids: Vec<RealmId> = w.csm.realms().map(|e| e.id).collect();
    let bogus_realm = RealmId::new(next_realm);
    let mut shares: Vec<ShareId> = w
        .csm
        .apts
        .all()
        .flat_map(|t| {
            t.regions()
                .flat_map(|r| r.grants().map(|g| g.share))
                .collect::<Vec<_>>()
        })
        .collect();
    shares.extend(ShareId::new(next_share));
    for i in 0..super::world::REALMS {
        let r = &w.realms[i];
        if r.life == Life::Absent {
            out.push(Action::RealmCreate(i));
            continue;
        }
        if r.life == Life::New {
            out.push(Action::RealmActivate(i));
        }
        if r.pages.iter().all(|p| matches!(p, Page::Unassigned(_))) {
            out.push(Action::RealmDestroy(i));
        }
        out.push(Action::AptCreate(i));
        out.push(Action::AptDestroy(i));
        for t in 0..PAGES / TABLE_PAGES {
            let pages = &r.pages[t * TABLE_PAGES..(t + 1) * TABLE_PAGES];
            if pages.contains(&Page::Unassigned(Ripas::Ram)) {
                out.push(Action::Populate(i, t));
            }
            if pages.iter().any(|p| matches!(p, Page::Data(_))) || !r.tables[t] {
                out.push(Action::Prepare(i, t));
            }
            if pages.iter().any(|p| matches!(p, Page::Alias { .. })) {
                out.push(Action::FoldAliases(i, t));
            }
        }
        for p in 0..PAGES {
            if matches!(r.pages[p], Page::Alias { .. }) {
                out.push(Action::DataCreateAtAlias(i, p));
                out.push(Action::DataDestroyAtAlias(i, p));
            }
        }
        if r.life != Life::Active {
            continue;
        }
        for t in 0..PAGES / TABLE_PAGES {
            let pages = &r.pages[t * TABLE_PAGES..(t + 1) * TABLE_PAGES];
            for ripas in [Ripas::Ram, Ripas::Empty] {
                if pages
                    .iter()
                    .any(|p| !matches!(p, Page::Data(x) | Page::Unassigned(x) if *x == ripas))
                {
                    out.push(Action::IpaStateSet(i, t, ripas));
                }
            }
        }
        // CREATE: each table's pages, and one range outside the PAR.
        for (page, pages) in [(0, 2), (2, 2), (3, 2)] {
            out.push(Action::Rsi(
                i,
                Call::Create {
                    range: range(page, pages),
                },
            ));
        }
        let own_regions: Vec<RegionId> = w
            .apt(i)
            .map(|t| t.regions().map(|r| r.id).collect())
            .unwrap_or_default();
        let mut regions = own_regions.clone();
        regions.extend(RegionId::new(next_region));
        for &region in &regions {
            out.push(Action::Rsi(i, Call::Destroy { region }));
            for consumer in realm_ids.iter().copied().chain(bogus_realm) {
                for mode in [CsmMode::Read, CsmMode::ReadWrite] {
                    out.push(Action::Rsi(
                        i,
                        Call::Share {
                            region,
                            consumer,
                            mode,
                        },
                    ));
                }
            }
        }
        for &share in &shares {
            out.push(Action::Rsi(i, Call::Detach { share }));
            out.push(Action::Rsi(i, Call::Revoke { share }));
            out.push(Action::Rsi(i, Call::Query { share: Some(share) }));
            for provider in realm_ids.iter().copied() {
                for base in [0, 2 * PAGE_SIZE] {
                    // The size every region of the model has, and a wrong one.
                    for size in [2 * PAGE_SIZE, PAGE_SIZE] {
                        out.push(Action::Rsi(
                            i,
                            Call::Accept {
                                share,
                                provider,
                                window_base: base,
                                size,
                            },
                        ));
                    }
                }
            }
        }
        out.push(Action::Rsi(i, Call::Query { share: None }));
    }
    out
}

fn violation(invariant: Invariant, what: &'static str) -> Violation {
    Violation { invariant, what }
}

/// Checks an operation, then commits it, as the monitor does: the realms involved are
/// computed first (the monitor locks their RDs), a refused check changes nothing (S10), a
/// plan edits only involved realms' tables and its effects touch only involved realms (S9),
/// and a checked plan always commits.
fn run<E>(
    n: &mut World,
    realm: Rd,
    call: Option<&Call>,
    check: impl FnOnce(&ModelCsm, &Apts) -> Result<Plan, E>,
) -> Result<Result<Outcome, E>, Violation> {
    let involved = n.csm.global.involved(&n.csm.apts, realm, call);
    let plan = match check(&n.csm.global, &n.csm.apts) {
        Ok(plan) => plan,
        Err(e) => return Ok(Err(e)),
    };
    if plan.edits().any(|e| !involved.contains(e.rd)) {
        return Err(violation(
            Invariant::S9,
            "a plan edits a realm it did not lock",
        ));
    }
    for effect in plan.outcome().effects.iter() {
        let touched = match *effect {
            Effect::MapAliases {
                consumer, provider, ..
            } => involved.contains(consumer) && involved.contains(provider),
            Effect::UnmapAliases { consumer, .. } => involved.contains(consumer),
            Effect::InvalidateTlbs { realm, .. } => involved.contains(realm),
            Effect::ExitToHost { .. } => true,
        };
        if !touched {
            return Err(violation(Invariant::S9, "an effect on a realm not locked"));
        }
    }
    match n.csm.global.commit(plan, &mut n.csm.apts) {
        Ok(out) => Ok(Ok(out)),
        Err(_) => Err(violation(Invariant::S10, "a checked plan failed to commit")),
    }
}

/// Runs one action on a copy of `w`: the successor, or the violated property.
pub fn step(w: &World, action: Action) -> Result<World, Violation> {
    let mut n = w.clone();
    match action {
        Action::RealmCreate(i) => {
            n.realms[i] = Realm {
                life: Life::New,
                ..Realm::ABSENT
            };
        }
        Action::RealmActivate(i) => n.realms[i].life = Life::Active,
        Action::RealmDestroy(i) => {
            let result = run(&mut n, rd(i), None, |c, _| c.check_realm_destroy(rd(i)))?;
            unchanged(&result, w, &n)?;
            match result {
                Ok(_) if n.csm.entry(rd(i)).is_some() => {
                    return Err(violation(Invariant::S6, "REALM_DESTROY with an APT bound"));
                }
                Ok(_) => n.realms[i] = Realm::ABSENT,
                Err(_) => {}
            }
        }
        Action::AptCreate(i) => {
            let state = match n.realms[i].life {
                Life::New => RealmState::New,
                _ => RealmState::Active,
            };
            let result = run(&mut n, rd(i), None, |c, _| {
                Plan::of(|p| c.check_apt_create(rd(i), apt_pa(i), state, super::world::PAR, p))
            })?;
            unchanged(&result, w, &n)?;
        }
        Action::AptDestroy(i) => loop {
            // Step after step, as the monitor runs them under the same locks.
            let before = n.clone();
            let result = run(&mut n, rd(i), None, |c, s| {
                Plan::of(|p| c.check_apt_destroy(s, rd(i), apt_pa(i), p))
            })?;
            unchanged(&result, &before, &n)?;
            match result {
                Ok(out) => {
                    n.apply(&out)?;
                    if out.reply != crate::Reply::Partial {
                        break;
                    }
                }
                Err(_) => break,
            }
        },
        Action::Populate(i, t) => {
            n.realms[i].tables[t] = true;
            for p in t * TABLE_PAGES..(t + 1) * TABLE_PAGES {
                if n.realms[i].pages[p] == Page::Unassigned(Ripas::Ram) {
                    let ipa = p as u64 * PAGE_SIZE;
                    let before = n.clone();
                    let result = run(&mut n, rd(i), None, |c, s| {
                        Plan::of(|p| c.check_data_create(s, rd(i), ipa, p))
                    })?;
                    unchanged(&result, &before, &n)?;
                    if result.is_ok() {
                        n.realms[i].pages[p] = Page::Data(Ripas::Ram);
                    }
                }
            }
        }
        Action::Prepare(i, t) => {
            for p in t * TABLE_PAGES..(t + 1) * TABLE_PAGES {
                if matches!(n.realms[i].pages[p], Page::Data(_)) {
                    let ipa = p as u64 * PAGE_SIZE;
                    let before = n.clone();
                    let result = run(&mut n, rd(i), None, |c, s| {
                        Plan::of(|p| c.check_data_destroy(s, rd(i), ipa, p))
                    })?;
                    unchanged(&result, &before, &n)?;
                    if let Ok(out) = result {
                        n.apply(&out)?;
                        if n.aliased(i, p) {
                            return Err(violation(
                                Invariant::S3,
                                "granule destroyed while aliased",
                            ));
                        }
                        let ripas = match n.realms[i].pages[p] {
                            Page::Data(Ripas::Ram) => Ripas::Destroyed,
                            Page::Data(other) => other,
                            _ => Ripas::Destroyed,
                        };
                        n.realms[i].pages[p] = Page::Unassigned(ripas);
                    }
                }
            }
            n.realms[i].tables[t] = true;
        }
        Action::DataCreateAtAlias(i, p) => {
            let ipa = p as u64 * PAGE_SIZE;
            let result = run(&mut n, rd(i), None, |c, s| {
                Plan::of(|p| c.check_data_create(s, rd(i), ipa, p))
            })?;
            unchanged(&result, w, &n)?;
            if result.is_ok() {
                return Err(violation(Invariant::S2, "DATA_CREATE over an alias"));
            }
        }
        Action::DataDestroyAtAlias(i, p) => {
            let ipa = p as u64 * PAGE_SIZE;
            let result = run(&mut n, rd(i), None, |c, s| {
                Plan::of(|p| c.check_data_destroy(s, rd(i), ipa, p))
            })?;
            unchanged(&result, w, &n)?;
            if result.is_ok() {
                return Err(violation(Invariant::S2, "DATA_DESTROY through an alias"));
            }
        }
        Action::FoldAliases(i, t) => {
            let table = range((t * TABLE_PAGES) as u64, TABLE_PAGES as u64);
            let result = run(&mut n, rd(i), None, |c, s| {
                Plan::of(|p| c.check_rtt_fold(s, rd(i), table, p))
            })?;
            unchanged(&result, w, &n)?;
            if result.is_ok() {
                return Err(violation(Invariant::S2, "RTT_FOLD over an alias"));
            }
        }
        Action::IpaStateSet(i, t, ripas) => {
            let r = range((t * TABLE_PAGES) as u64, TABLE_PAGES as u64);
            let result = run(&mut n, rd(i), None, |c, s| {
                Plan::of(|p| c.check_ipa_state_set(s, rd(i), r, p))
            })?;
            unchanged(&result, w, &n)?;
            if result.is_ok() {
                for p in t * TABLE_PAGES..(t + 1) * TABLE_PAGES {
                    n.realms[i].pages[p] = match n.realms[i].pages[p] {
                        Page::Data(_) => Page::Data(ripas),
                        Page::Unassigned(_) => Page::Unassigned(ripas),
                        Page::Alias { .. } => {
                            return Err(violation(Invariant::S11, "RIPAS change over an alias"));
                        }
                    };
                }
                // S11: nothing of the realm's own regions may have been touched either.
                if let Some(t) = w.apt(i)
                    && t.regions().any(|g| g.range.overlaps(r))
                {
                    return Err(violation(Invariant::S11, "RIPAS change over a region"));
                }
            }
        }
        Action::Rsi(i, call) => {
            let result = run(&mut n, rd(i), Some(&call), |c, s| {
                Plan::of(|p| c.check_rsi(s, rd(i), call, w, p))
            })?;
            unchanged(&result, w, &n)?;
            if let Ok(out) = result {
                n.apply(&out)?;
                check_rsi_transition(w, &n, i, call)?;
            }
        }
    }
    // A step that changed nothing (most are refusals) leads back to a state whose invariants
    // were checked when it was reached (`explore` checks the start state): the transition
    // properties above are all that is new.
    if n == *w {
        return Ok(n);
    }
    if n.csm != w.csm {
        check_fresh_ids(w, &n)?;
    }
    check_state(&n)?;
    Ok(n)
}

/// The state invariants of `w`: `Csm::check` and `Csm::check_stage2` against its stage 2.
pub fn check_state(w: &World) -> Result<(), Violation> {
    w.csm.global.check(&w.csm.apts)?;
    w.csm.global.check_stage2(&w.csm.apts, w)?;
    Ok(())
}

/// S10: a refused operation leaves the CSM state exactly as it was.
fn unchanged<T, E>(result: &Result<T, E>, before: &World, after: &World) -> Result<(), Violation> {
    if result.is_err() && before.csm != after.csm {
        return Err(violation(
            Invariant::S10,
            "a failed operation changed the state",
        ));
    }
    Ok(())
}

fn tables(w: &World) -> impl Iterator<Item = ModelApt> + '_ {
    w.csm.apts.all()
}

/// S5: every id that appears in the successor and not before is fresh.
fn check_fresh_ids(before: &World, after: &World) -> Result<(), Violation> {
    let (nr, ng, ns) = before.csm.next_ids();
    for e in after.csm.realms() {
        if before.csm.by_id(e.id).is_none() && e.id.get() < nr {
            return Err(violation(Invariant::S5, "RealmId reused"));
        }
    }
    for t in tables(after) {
        for r in t.regions() {
            let old = tables(before).any(|o| o.regions().any(|x| x.id == r.id));
            if !old && r.id.get() < ng {
                return Err(violation(Invariant::S5, "RegionId reused"));
            }
            for g in r.grants() {
                let old = tables(before).any(|o| o.grant(g.share).is_some());
                if !old && g.share.get() < ns {
                    return Err(violation(Invariant::S5, "ShareId reused"));
                }
            }
        }
    }
    Ok(())
}

/// S7: who may change what (and SHARE only to an ACTIVE consumer).
fn check_rsi_transition(
    before: &World,
    after: &World,
    i: usize,
    call: Call,
) -> Result<(), Violation> {
    let s7 = |what| Err(violation(Invariant::S7, what));
    if before.csm.realms().ne(after.csm.realms()) {
        return s7("realm set changed by an RSI call");
    }
    let my_id = before.id(i);
    if let Call::Share { consumer, .. } = call
        && let Some(c) = (0..REALMS).find(|&c| before.id(c) == Some(consumer))
        && before.realms[c].life != Life::Active
    {
        return s7("SHARE to a consumer that is not ACTIVE");
    }
    for s in 0..REALMS {
        let (b, a) = match (before.apt(s), after.apt(s)) {
            (Some(b), Some(a)) => (b, a),
            (None, None) => continue,
            _ => return s7("an RSI call created or removed a table"),
        };
        let provider_side_changed = b.regions != a.regions;
        let consumer_side_changed = b.attachments != a.attachments;
        let new_windows = a
            .windows()
            .any(|(x, w)| !b.windows().any(|(y, v)| y.share == x.share && v == w));
        match call {
            Call::Create { .. }
            | Call::Share { .. }
            | Call::Revoke { .. }
            | Call::Destroy { .. } => {
                if provider_side_changed && s != i {
                    return s7("a provider operation changed another realm's regions");
                }
                if new_windows {
                    return s7("a provider operation attached a window");
                }
                for att in b.attachments() {
                    let gone = a.attachment(att.share).is_none();
                    if gone && Some(att.provider) != my_id {
                        return s7("a provider operation removed another provider's grant");
                    }
                }
            }
            Call::Accept { provider, .. } => {
                if consumer_side_changed && s != i {
                    return s7("ACCEPT changed another realm's windows");
                }
                if s == i
                    && a.windows().any(|(x, w)| {
                        x.provider != provider
                            && !b.windows().any(|(y, v)| y.share == x.share && v == w)
                    })
                {
                    return s7("ACCEPT attached another provider than expected");
                }
                check_grant_flip(&b, &a, my_id)?;
            }
            Call::Detach { .. } => {
                if consumer_side_changed && s != i {
                    return s7("DETACH changed another realm's windows");
                }
                check_grant_flip(&b, &a, my_id)?;
            }
            Call::Query { .. } => {
                if before.csm != after.csm {
                    return s7("QUERY changed state");
                }
            }
        }
    }
    Ok(())
}

/// A consumer operation may only flip the state of grants naming the caller.
fn check_grant_flip(b: &ModelApt, a: &ModelApt, my_id: Option<RealmId>) -> Result<(), Violation> {
    for (rb, ra) in b.regions.iter().zip(a.regions.iter()) {
        if rb.map(|r| (r.id, r.range, r.state)) != ra.map(|r| (r.id, r.range, r.state)) {
            return Err(violation(
                Invariant::S7,
                "a consumer operation changed a region",
            ));
        }
        if let (Some(rb), Some(ra)) = (rb, ra) {
            for (gb, ga) in rb.grants.iter().zip(ra.grants.iter()) {
                if gb != ga && gb.map(|g| g.consumer) != my_id {
                    return Err(violation(
                        Invariant::S7,
                        "a consumer operation changed another's grant",
                    ));
                }
            }
        }
    }
    Ok(())
}
