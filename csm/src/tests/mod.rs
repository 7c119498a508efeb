// SPDX-License-Identifier: MIT OR Apache-2.0
//! Unit tests: every operation's success and each of its errors, the CAEC prototype's failure
//! cases, register decoding and status codes; and property tests with long random sequences.
//! The model world (`crate::model::world`) serves as the stage-2 view.

mod caec;
mod decode;
mod host;
mod lifecycle;
mod proptests;
mod rsi;

extern crate std;

use apt::{IpaRange, PAGE_SIZE, Rd, RealmId, RegionId, ShareId};
use rmm_abi::csm::CsmMode;

use crate::effect::{Effect, Outcome, Reply};
use crate::model::world::{World, rd};

pub(crate) fn pages(page: u64, n: u64) -> IpaRange {
    IpaRange::new(page * PAGE_SIZE, n * PAGE_SIZE).unwrap()
}

pub(crate) fn id_of(w: &World, i: usize) -> RealmId {
    w.csm.entry(rd(i)).unwrap().id()
}

pub(crate) fn effects(o: &Outcome) -> std::vec::Vec<Effect> {
    o.effects.iter().copied().collect()
}

/// Runs `op` on a copy of the state and asserts it fails with `expected` and changes nothing.
pub(crate) fn refused<E: PartialEq + core::fmt::Debug>(
    w: &World,
    expected: E,
    op: impl FnOnce(&mut crate::model::world::ModelCsm, &World) -> Result<Outcome, E>,
) {
    let mut csm = w.csm.clone();
    assert_eq!(op(&mut csm, w).map(|o| o.reply), Err(expected));
    assert_eq!(csm, w.csm, "a failure changed the state");
}

/// Ready world, region over pages 0–1 of realm 0 shared `mode` with realm 1, accepted at
/// pages 2–3, effects applied. Returns the world, the region and the share.
pub(crate) fn attached(mode: CsmMode) -> (World, RegionId, ShareId) {
    let (mut w, region, share) = offered(mode);
    let p = id_of(&w, 0);
    let view = w.clone();
    let out = w.csm.accept(rd(1), share, p, 2 * PAGE_SIZE, &view).unwrap();
    w.apply(&out).unwrap();
    w.csm.check().unwrap();
    w.csm.check_stage2(&w).unwrap();
    (w, region, share)
}

/// Ready world, region over pages 0–1 of realm 0 shared `mode` with realm 1.
pub(crate) fn offered(mode: CsmMode) -> (World, RegionId, ShareId) {
    let mut w = World::ready();
    let view = w.clone();
    let Reply::Region(region) = w.csm.create(rd(0), pages(0, 2), &view).unwrap().reply else {
        panic!()
    };
    let c = id_of(&w, 1);
    let Reply::Share(share) = w.csm.share(rd(0), region, c, mode).unwrap().reply else {
        panic!()
    };
    (w, region, share)
}

pub(crate) const NOBODY: Rd = Rd(0xdead_0000);
