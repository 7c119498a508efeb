// SPDX-License-Identifier: MIT OR Apache-2.0
//! Model-checker runs inside `cargo test`: the in-test configurations must pass, each
//! deliberately broken transition must be caught, the start states must be reachable, and the
//! sharing cycles must lie within the explored depth.

extern crate std;
use std::println;
use std::vec::Vec;

use apt::{PAGE_SIZE, RealmId, RegionId, ShareId};
use rmm_abi::csm::CsmMode;
use rmm_abi::rmi::states::Ripas;

use super::action::{Action, actions, step};
use super::canon::canonical;
use super::explore::{Config, Start, explore};
use super::world::World;
use crate::invariants::Invariant;
use crate::ops::call::Call;
use crate::state::Fault;

/// In-test depth bound from each start state.
pub const IN_TEST: [(Start, usize); 3] =
    [(Start::Empty, 10), (Start::Ready, 6), (Start::Offered, 6)];

fn run(start: Start, depth: usize) -> super::explore::Stats {
    let stats = match explore(Config {
        start,
        depth,
        fault: None,
    }) {
        Ok(s) => s,
        Err(c) => panic!("{:?} after {:?}", c.violation, c.trace),
    };
    println!(
        "{start:?} depth {}: {} states, {} transitions, {:?} (per depth {:?}, exhausted {})",
        stats.depth, stats.states, stats.transitions, stats.time, stats.per_depth, stats.exhausted
    );
    stats
}

#[test]
fn exhaustive_from_empty() {
    let (start, depth) = IN_TEST[0];
    let s = run(start, depth);
    assert_eq!(s.depth, depth);
    assert!(s.states > 1000);
}

#[test]
fn exhaustive_from_ready() {
    let (start, depth) = IN_TEST[1];
    let s = run(start, depth);
    assert!(s.states > 10_000);
    // The cycles: each is a sequence of enabled, checked steps no longer than the bound, so
    // BFS visited its end state.
    for cycle in [detach_cycle(), revoke_cycle()] {
        assert!(cycle.len() <= depth, "{} steps", cycle.len());
        let end = replay(World::ready(), &cycle);
        assert!(s.visited.contains(&canonical(&end).1));
    }
}

#[test]
fn exhaustive_from_offered() {
    let (start, depth) = IN_TEST[2];
    let s = run(start, depth);
    for cycle in [
        destroy_cycle(),
        damage_cycle(),
        revoke_reaccept_from_offered(),
    ] {
        assert!(cycle.len() <= depth, "{} steps", cycle.len());
        let end = replay(World::offered(), &cycle);
        assert!(s.visited.contains(&canonical(&end).1));
    }
}

/// Replays `actions_` (slot numbers as in the uncanonicalised replay), each of which must be enabled and pass every check.
fn replay(mut w: World, actions_: &[Action]) -> World {
    for (n, a) in actions_.iter().enumerate() {
        assert!(actions(&w).contains(a), "step {n}: {a:?} not enabled");
        w = step(&w, *a).unwrap_or_else(|v| panic!("step {n}: {a:?}: {v:?}"));
    }
    w
}

fn rid(v: u64) -> RealmId {
    RealmId::new(v).unwrap()
}
fn region(v: u64) -> RegionId {
    RegionId::new(v).unwrap()
}
fn share(v: u64) -> ShareId {
    ShareId::new(v).unwrap()
}
fn create(i: usize, page: u64) -> Action {
    Action::Rsi(
        i,
        Call::Create {
            range: apt::IpaRange::new(page * PAGE_SIZE, 2 * PAGE_SIZE).unwrap(),
        },
    )
}
fn accept(i: usize, s: u64, provider: u64) -> Action {
    Action::Rsi(
        i,
        Call::Accept {
            share: share(s),
            provider: rid(provider),
            window_base: 2 * PAGE_SIZE,
            size: 2 * PAGE_SIZE,
        },
    )
}
fn share_to(i: usize, r: u64, consumer: u64) -> Action {
    Action::Rsi(
        i,
        Call::Share {
            region: region(r),
            consumer: rid(consumer),
            mode: CsmMode::ReadWrite,
        },
    )
}

/// share → accept → detach → release → re-accept (6 steps from Ready).
fn detach_cycle() -> Vec<Action> {
    vec![
        create(0, 0),
        share_to(0, 1, 2),
        accept(1, 1, 1),
        Action::Rsi(1, Call::Detach { share: share(1) }),
        Action::IpaStateSet(1, 1, Ripas::Empty),
        accept(1, 1, 1),
    ]
}

/// share → accept → revoke → reclaim → share again (6 steps from Ready; the re-accept is
/// covered from Offered).
fn revoke_cycle() -> Vec<Action> {
    vec![
        create(0, 0),
        share_to(0, 1, 2),
        accept(1, 1, 1),
        Action::Rsi(0, Call::Revoke { share: share(1) }),
        Action::IpaStateSet(1, 1, Ripas::Ram),
        share_to(0, 1, 2),
    ]
}

/// From Offered: accept → revoke (window EMPTY) → share → re-accept.
fn revoke_reaccept_from_offered() -> Vec<Action> {
    vec![
        accept(1, 1, 1),
        Action::Rsi(0, Call::Revoke { share: share(1) }),
        share_to(0, 1, 2),
        accept(1, 2, 1),
    ]
}

/// From Offered: accept → destroy (window EMPTY) → create → share → re-accept.
fn destroy_cycle() -> Vec<Action> {
    vec![
        accept(1, 1, 1),
        Action::Rsi(0, Call::Destroy { region: region(1) }),
        create(0, 0),
        share_to(0, 2, 2),
        accept(1, 2, 1),
    ]
}

/// From Offered: accept → host destroys the provider's pages (damage) → destroy → reclaim
/// (provider to RAM, consumer's DESTROYED window to EMPTY) → repopulate.
fn damage_cycle() -> Vec<Action> {
    vec![
        accept(1, 1, 1),
        Action::Prepare(0, 0),
        Action::Rsi(0, Call::Destroy { region: region(1) }),
        Action::IpaStateSet(0, 0, Ripas::Ram),
        Action::IpaStateSet(1, 1, Ripas::Empty),
        Action::Populate(0, 0),
    ]
}

#[test]
fn start_states_are_reachable() {
    // Ready: for each realm, create, populate, APT, activate.
    let mut setup = Vec::new();
    for i in 0..3 {
        setup.extend([
            Action::RealmCreate(i),
            Action::AptCreate(i),
            Action::RealmActivate(i),
        ]);
        setup.extend([
            Action::Populate(i, 0),
            Action::Prepare(i, 1),
            Action::IpaStateSet(i, 1, Ripas::Empty),
        ]);
    }
    let ready = replay(World::empty(), &setup);
    assert_eq!(canonical(&ready).1, canonical(&World::ready()).1);
    let offered = replay(ready, &[create(0, 0), share_to(0, 1, 2)]);
    assert_eq!(canonical(&offered).1, canonical(&World::offered()).1);
}

fn expect_caught(fault: Fault, invariant: Invariant) {
    let err = explore(Config {
        start: Start::Offered,
        depth: 4,
        fault: Some(fault),
    })
    .expect_err("the checker must catch the broken transition");
    println!("{fault:?}: {:?} after {:?}", err.violation, err.trace);
    assert_eq!(err.violation.invariant, invariant);
    assert!(!err.trace.is_empty());
}

#[test]
fn broken_revoke_is_caught() {
    expect_caught(Fault::RevokeKeepsAliases, Invariant::S1);
}

#[test]
fn broken_detach_is_caught() {
    expect_caught(Fault::DetachSkipsTlbi, Invariant::S3);
}
