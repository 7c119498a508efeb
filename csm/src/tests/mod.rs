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
use apt::codec::GRANULE_WORDS;
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

/// An [`AptStore`] that keeps every table in its granule's words, as the monitor does: `table`
/// lends the table's words after the field checks of `AptWords::new`, `edit` edits a copy of
/// the granule in place and keeps it only if the whole granule then decodes with every check
/// of `Apt::decode` (the rules, and zeros after the table); `clear` removes the granule. Any
/// capacity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GranuleStore<const NR: usize = 8, const NG: usize = 4, const NA: usize = 16> {
    pub(crate) granules: std::collections::BTreeMap<Rd, std::boxed::Box<[u64; GRANULE_WORDS]>>,
}

impl<const NR: usize, const NG: usize, const NA: usize> Default for GranuleStore<NR, NG, NA> {
    fn default() -> Self {
        Self {
            granules: Default::default(),
        }
    }
}

impl<const NR: usize, const NG: usize, const NA: usize> GranuleStore<NR, NG, NA> {
    /// The table bound to `rd`, decoded from its whole granule with every check.
    pub(crate) fn decoded(&self, rd: Rd) -> Option<Apt<NR, NG, NA>> {
        Apt::decode_words(self.granules.get(&rd)?).ok()
    }

    /// The granule bound to `rd`, as bytes.
    pub(crate) fn bytes(&self, rd: Rd) -> Option<[u8; GRANULE_SIZE]> {
        let words = self.granules.get(&rd)?;
        let mut out = [0u8; GRANULE_SIZE];
        for (chunk, word) in out.as_chunks_mut::<8>().0.iter_mut().zip(words.iter()) {
            *chunk = word.to_le_bytes();
        }
        Some(out)
    }
}

impl<const NR: usize, const NG: usize, const NA: usize> AptStore<NR, NG, NA>
    for GranuleStore<NR, NG, NA>
{
    fn table(&self, rd: Rd) -> Option<crate::Lent<'_, [u64]>> {
        let words = &self.granules.get(&rd)?[..];
        apt::AptWords::<NR, NG, NA>::new(words).ok()?;
        Some(crate::Lent::Borrowed(words))
    }
    fn edit(&mut self, rd: Rd, fresh: bool, edit: &mut dyn FnMut(&mut [u64]) -> bool) -> bool {
        let mut granule = match (fresh, self.granules.get(&rd)) {
            (true, _) => std::boxed::Box::new([0; GRANULE_WORDS]),
            (false, Some(g)) if apt::AptWords::<NR, NG, NA>::new(&g[..]).is_ok() => g.clone(),
            (false, _) => return false,
        };
        let ok = edit(&mut granule[..]) && Apt::<NR, NG, NA>::decode_words(&granule).is_ok();
        if ok {
            self.granules.insert(rd, granule);
        }
        ok
    }
    fn clear(&mut self, rd: Rd) {
        self.granules.remove(&rd);
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
            .all()
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
    /// The table of the realm with this RD, decoded.
    pub(crate) fn apt(&self, d: Rd) -> Option<ModelApt> {
        crate::model::world::slot(d).and_then(|i| self.apts.get(i))
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
