// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RSI_CSM_CREATE` and `RSI_CSM_DESTROY` (provider).

use apt::{IpaRange, Rd, Region, RegionId};
use rmm_abi::rmi::states::Ripas;

use crate::effect::{CsmExit, Effects, Outcome, Reply};
use crate::error::RealmError;
use crate::state::{Csm, next_id, peek_id};
use crate::view::Stage2View;

impl<const R: usize, const NR: usize, const NG: usize, const NA: usize> Csm<R, NR, NG, NA> {
    /// `RSI_CSM_CREATE(base, size)`: offers `range` of the caller's protected space for
    /// sharing. Every page must be RIPAS RAM: if some are not yet populated the call exits to
    /// the host (`RMI_EXIT_CSM_POPULATE`) and restarts; EMPTY or DESTROYED pages are refused.
    pub fn create(
        &mut self,
        caller: Rd,
        range: IpaRange,
        view: &impl Stage2View,
    ) -> Result<Outcome, RealmError> {
        let slot = self.slot_of(caller).ok_or(RealmError::NoApt)?;
        let entry = self.entry(caller).ok_or(RealmError::NoApt)?;
        if !range.below(entry.par_size) {
            return Err(RealmError::OutsidePar);
        }
        if entry.apt.overlaps_own(range) {
            return Err(RealmError::Overlap);
        }
        let free = entry.apt.free_region_slot().ok_or(RealmError::Full)?;
        let pages = view.summarize(caller, range);
        if pages.other != 0 || pages.aliases != 0 {
            return Err(RealmError::NotRam);
        }
        if pages.assigned_ram != range.pages() {
            return Ok(Outcome::exit(CsmExit::Populate, range));
        }
        peek_id(self.next_region).ok_or(RealmError::IdsExhausted)?;
        // Commit.
        let id = next_id(&mut self.next_region)
            .and_then(RegionId::new)
            .ok_or(RealmError::IdsExhausted)?;
        if let Some(r) = self.apt_mut(slot).and_then(|a| a.regions.get_mut(free)) {
            *r = Some(Region::new(id, range));
        }
        Ok(Outcome::reply(Reply::Region(id)))
    }

    /// `RSI_CSM_DESTROY(region)`: revokes every remaining grant (attached consumers' windows
    /// become RIPAS EMPTY), then removes the region. Accepted for live and damaged regions.
    pub fn destroy(&mut self, caller: Rd, region: RegionId) -> Result<Outcome, RealmError> {
        let slot = self.slot_of(caller).ok_or(RealmError::NoApt)?;
        let entry = self.entry(caller).ok_or(RealmError::NoApt)?;
        let (r, reg) = entry.apt.region(region).ok_or(RealmError::UnknownRegion)?;
        let mut effects = Effects::new();
        for grant in reg.grants() {
            self.push_unmap(&mut effects, grant, Ripas::Empty)
                .map_err(|()| RealmError::Full)?;
        }
        // Commit.
        for grant in reg.grants() {
            self.drop_attachment(grant);
        }
        if let Some(slot) = self.apt_mut(slot).and_then(|a| a.regions.get_mut(r)) {
            *slot = None;
        }
        Ok(Outcome {
            effects,
            reply: Reply::Done,
        })
    }
}
