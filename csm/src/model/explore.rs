// SPDX-License-Identifier: MIT OR Apache-2.0
//! Breadth-first exploration of every canonical state reachable within a depth bound, checking
//! every transition and every state (see [`super::action::step`]). On a violation it returns
//! the shortest action sequence that reaches it.

extern crate std;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::action::{Action, actions, step};
use super::canon::canonical;
use super::world::World;
use crate::invariants::Violation;
use crate::state::Fault;

/// Where an exploration starts. Each start state is reachable from [`Start::Empty`] (the tests
/// replay the set-up through the checked [`step`]), so together the runs cover longer cycles
/// than one run from the empty state could at the same cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Three empty RD slots.
    Empty,
    /// Three active realms with APTs, pages 0–1 populated, both level-3 tables present.
    Ready,
    /// [`Start::Ready`], then realm 0 created a region over pages 0–1 and shared it
    /// read-write with realm 1.
    Offered,
}

impl Start {
    /// The start state.
    pub fn world(self) -> World {
        match self {
            Start::Empty => World::empty(),
            Start::Ready => World::ready(),
            Start::Offered => World::offered(),
        }
    }
}

/// What to explore.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// The start state.
    pub start: Start,
    /// Longest action sequence explored.
    pub depth: usize,
    /// A deliberately broken transition.
    pub fault: Option<Fault>,
}

/// What an exploration found.
#[derive(Clone, Debug)]
pub struct Stats {
    /// Distinct canonical states reached (the start included).
    pub states: usize,
    /// Transitions checked.
    pub transitions: u64,
    /// Depth reached (the bound, unless the state space was exhausted earlier).
    pub depth: usize,
    /// True if no new state remained: the whole reachable space was explored.
    pub exhausted: bool,
    /// New states per depth.
    pub per_depth: Vec<usize>,
    /// Wall-clock time.
    pub time: Duration,
    /// Fingerprints of every state reached.
    pub visited: HashSet<u128>,
}

/// A violated property and how to get there.
#[derive(Clone, Debug)]
pub struct Counterexample {
    /// What broke.
    pub violation: Violation,
    /// The actions from the start state; the last one breaks it.
    pub trace: Vec<Action>,
}

/// Explores `config`.
pub fn explore(config: Config) -> Result<Stats, Counterexample> {
    let start_time = Instant::now();
    let mut start = config.start.world();
    if let Some(f) = config.fault {
        start.csm.inject_fault(f);
    }
    if let Err(violation) = super::action::check_state(&start) {
        return Err(Counterexample {
            violation,
            trace: Vec::new(),
        });
    }
    let (start, fp) = canonical(&start);
    let mut visited = HashSet::from([fp]);
    // Parent links for counterexamples: fingerprint → (parent, action).
    let mut parents: HashMap<u128, (u128, Action)> = HashMap::new();
    let mut frontier = std::vec![(start, fp)];
    let mut stats = Stats {
        states: 1,
        transitions: 0,
        depth: 0,
        exhausted: false,
        per_depth: std::vec![1],
        time: Duration::ZERO,
        visited: HashSet::new(),
    };
    while stats.depth < config.depth && !frontier.is_empty() {
        let mut next = Vec::new();
        for (w, wfp) in &frontier {
            for action in actions(w) {
                stats.transitions += 1;
                match step(w, action) {
                    // Most steps are refusals that lead back to `w`: nothing new to hash.
                    Ok(n) if n == *w => {}
                    Ok(n) => {
                        let (n, nfp) = canonical(&n);
                        if visited.insert(nfp) {
                            parents.insert(nfp, (*wfp, action));
                            next.push((n, nfp));
                        }
                    }
                    Err(violation) => {
                        let mut trace = std::vec![action];
                        let mut at = *wfp;
                        while let Some((parent, a)) = parents.get(&at) {
                            trace.push(*a);
                            at = *parent;
                        }
                        trace.reverse();
                        return Err(Counterexample { violation, trace });
                    }
                }
            }
        }
        stats.depth += 1;
        stats.per_depth.push(next.len());
        stats.states += next.len();
        frontier = next;
    }
    stats.exhausted = frontier.is_empty();
    stats.time = start_time.elapsed();
    stats.visited = visited;
    Ok(stats)
}
