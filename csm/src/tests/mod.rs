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
mod scale;

extern crate std;

use apt::capacity::GRANULE_SIZE;
use apt::{Apt, IpaRange, PAGE_SIZE, Rd, RealmId, RegionId, ShareId};
use rmm_abi::csm::CsmMode;

use apt::{Grant, Region};
use rmm_abi::rmi::states::RealmState;

use crate::effect::{Effect, Outcome, Reply};
use crate::error::{HostError, RealmError};
use crate::invariants::{Stage2Audit, Violation};
use crate::model::world::{ModelApt, System, World, rd};
use crate::ops::call::Call;
use crate::plan::{AptStore, Corrupt, Plan};
use crate::state::IndexEntry;
use crate::view::{RangeSummary, Stage2View};

/// An [`AptStore`] that keeps every table as its encoded granule, as the monitor does: `store`
/// encodes and then decodes the granule again (every check of `Apt::decode`), and `table`
/// lends that decoded copy; `clear` removes the granule. Any capacity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GranuleStore<const NR: usize = 8, const NG: usize = 4, const NA: usize = 16> {
    pub(crate) granules: std::collections::BTreeMap<Rd, std::boxed::Box<[u8; GRANULE_SIZE]>>,
    decoded: std::collections::BTreeMap<Rd, Option<std::boxed::Box<Apt<NR, NG, NA>>>>,
}

impl<const NR: usize, const NG: usize, const NA: usize> Default for GranuleStore<NR, NG, NA> {
    fn default() -> Self {
        Self {
            granules: Default::default(),
            decoded: Default::default(),
        }
    }
}

impl<const NR: usize, const NG: usize, const NA: usize> AptStore<NR, NG, NA>
    for GranuleStore<NR, NG, NA>
{
    fn table(&self, rd: Rd) -> Option<crate::Lent<'_, Apt<NR, NG, NA>>> {
        self.decoded.get(&rd)?.as_deref().map(crate::Lent::Borrowed)
    }
    fn store(&mut self, rd: Rd, apt: &Apt<NR, NG, NA>) {
        let granule = self
            .granules
            .entry(rd)
            .or_insert_with(|| std::boxed::Box::new([0; GRANULE_SIZE]));
        apt.encode(granule);
        let decoded = Apt::decode(&granule[..]).ok().map(std::boxed::Box::new);
        self.decoded.insert(rd, decoded);
    }
    fn clear(&mut self, rd: Rd) {
        self.granules.remove(&rd);
        self.decoded.remove(&rd);
    }
}

/// A view in which every realm is ACTIVE and no page is anything (for SHARE in unit tests).
struct AllActive;

impl Stage2View for AllActive {
    fn summarize(&self, _: Rd, _: IpaRange) -> RangeSummary {
        RangeSummary::default()
    }
    fn realm_active(&self, _: Rd) -> bool {
        true
    }
}

/// Check-and-commit shorthands with the operations' signatures before the split.
impl System {
    fn done<E: From<Corrupt>>(&mut self, plan: Result<Plan, E>) -> Result<Outcome, E> {
        let plan = plan?;
        Ok(self.global.commit(plan, &mut self.apts)?)
    }
    pub(crate) fn create(&mut self, c: Rd, r: IpaRange, v: &World) -> Result<Outcome, RealmError> {
        let p = Plan::of(|p| self.global.check_create(&self.apts, c, r, v, p));
        self.done(p)
    }
    pub(crate) fn share(
        &mut self,
        c: Rd,
        region: RegionId,
        consumer: RealmId,
        mode: CsmMode,
    ) -> Result<Outcome, RealmError> {
        let p = Plan::of(|p| {
            self.global
                .check_share(&self.apts, c, region, consumer, mode, &AllActive, p)
        });
        self.done(p)
    }
    /// ACCEPT naming the size the consumer's record says (as a consumer that asked QUERY).
    pub(crate) fn accept(
        &mut self,
        c: Rd,
        share: ShareId,
        provider: RealmId,
        base: u64,
        v: &World,
    ) -> Result<Outcome, RealmError> {
        let size = self
            .apts
            .tables
            .iter()
            .flatten()
            .find_map(|t| t.attachment(share).map(|a| a.size))
            .unwrap_or(PAGE_SIZE);
        self.accept_sized(c, share, provider, base, size, v)
    }
    pub(crate) fn accept_sized(
        &mut self,
        c: Rd,
        share: ShareId,
        provider: RealmId,
        base: u64,
        size: u64,
        v: &World,
    ) -> Result<Outcome, RealmError> {
        let p = Plan::of(|p| {
            self.global
                .check_accept(&self.apts, c, share, provider, base, size, v, p)
        });
        self.done(p)
    }
    pub(crate) fn detach(&mut self, c: Rd, share: ShareId) -> Result<Outcome, RealmError> {
        let p = Plan::of(|p| self.global.check_detach(&self.apts, c, share, p));
        self.done(p)
    }
    pub(crate) fn revoke(&mut self, c: Rd, share: ShareId) -> Result<Outcome, RealmError> {
        let p = Plan::of(|p| self.global.check_revoke(&self.apts, c, share, p));
        self.done(p)
    }
    pub(crate) fn destroy(&mut self, c: Rd, region: RegionId) -> Result<Outcome, RealmError> {
        let p = Plan::of(|p| self.global.check_destroy(&self.apts, c, region, p));
        self.done(p)
    }
    pub(crate) fn query(&self, c: Rd, share: Option<ShareId>) -> Result<Outcome, RealmError> {
        Ok(
            Plan::of(|p| self.global.check_query(&self.apts, c, share, p))?
                .outcome()
                .clone(),
        )
    }
    pub(crate) fn rsi(&mut self, c: Rd, call: Call, v: &World) -> Result<Outcome, RealmError> {
        self.global.rsi(&mut self.apts, c, call, v)
    }
    pub(crate) fn ipa_state_set(&self, c: Rd, r: IpaRange) -> Result<Outcome, RealmError> {
        Ok(
            Plan::of(|p| self.global.check_ipa_state_set(&self.apts, c, r, p))?
                .outcome()
                .clone(),
        )
    }
    pub(crate) fn data_destroy(&mut self, d: Rd, ipa: u64) -> Result<Outcome, HostError> {
        let p = Plan::of(|p| self.global.check_data_destroy(&self.apts, d, ipa, p));
        self.done(p)
    }
    pub(crate) fn data_create(&self, d: Rd, ipa: u64) -> Result<Outcome, HostError> {
        Ok(
            Plan::of(|p| self.global.check_data_create(&self.apts, d, ipa, p))?
                .outcome()
                .clone(),
        )
    }
    pub(crate) fn rtt_fold(&self, d: Rd, t: IpaRange) -> Result<Outcome, HostError> {
        Ok(
            Plan::of(|p| self.global.check_rtt_fold(&self.apts, d, t, p))?
                .outcome()
                .clone(),
        )
    }
    pub(crate) fn apt_create(
        &mut self,
        d: Rd,
        pa: u64,
        state: RealmState,
        par: u64,
    ) -> Result<Outcome, HostError> {
        let p = Plan::of(|p| self.global.check_apt_create(d, pa, state, par, p));
        self.done(p)
    }
    pub(crate) fn apt_destroy(&mut self, d: Rd, pa: u64) -> Result<Outcome, HostError> {
        let p = Plan::of(|p| self.global.check_apt_destroy(&self.apts, d, pa, p));
        self.done(p)
    }
    pub(crate) fn realm_destroy(&self, d: Rd) -> Result<Outcome, HostError> {
        Ok(self.global.check_realm_destroy(d)?.outcome().clone())
    }
    pub(crate) fn check(&self) -> Result<(), Violation> {
        self.global.check(&self.apts)
    }
    pub(crate) fn check_stage2(&self, a: &impl Stage2Audit) -> Result<(), Violation> {
        self.global.check_stage2(&self.apts, a)
    }
    pub(crate) fn find_grant(&self, share: ShareId) -> Option<(IndexEntry, Region<2>, Grant)> {
        self.global.find_grant(&self.apts, share)
    }
    /// The table of the realm with this RD.
    pub(crate) fn apt(&self, d: Rd) -> Option<ModelApt> {
        crate::plan::AptStore::table(&self.apts, d).map(|t| *t)
    }
}

impl IndexEntry {
    /// The RealmId (tests).
    pub(crate) fn id(&self) -> RealmId {
        self.id
    }
}

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
    op: impl FnOnce(&mut System, &World) -> Result<Outcome, E>,
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
