// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RSI_CSM_CREATE` and `RSI_CSM_DESTROY` (provider).

use apt::{IpaRange, Rd, RegionId};
use rmm_abi::rmi::states::Ripas;

use crate::effect::{CsmExit, Reply};
use crate::error::RealmError;
use crate::plan::{AptStore, Change, Plan};
use crate::state::{Csm, take_id};
use crate::view::Stage2View;

impl<const R: usize> Csm<R> {
    /// Check of `RSI_CSM_CREATE(base, size)`: offers `range` of the caller's protected space
    /// for sharing. At most `MAX_REGION_SIZE`; every page must be RIPAS RAM: if some are not
    /// yet populated the call exits to the host (`RMI_EXIT_CSM_POPULATE`) and restarts;
    /// EMPTY, DESTROYED or alias pages are refused.
    /// Writes the plan into `plan` (the caller's storage: the monitor's is not on a stack);
    /// on error `plan` holds nothing meaningful and nothing changed.
    pub fn check_create<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        caller: Rd,
        range: IpaRange,
        view: &(impl Stage2View + ?Sized),
        plan: &mut Plan,
    ) -> Result<(), RealmError> {
        let (_, apt) = self.own(store, caller)?.ok_or(RealmError::NoApt)?;
        let apt = crate::plan::view::<NR, NG, NA>(&apt);
        if range.size() > apt::capacity::MAX_REGION_SIZE {
            return Err(RealmError::TooLarge);
        }
        if !range.below(apt.par_size()) {
            return Err(RealmError::OutsidePar);
        }
        if apt.overlaps_own(range) {
            return Err(RealmError::Overlap);
        }
        apt.free_region_slot().ok_or(RealmError::Full)?;
        let pages = view.summarize(caller, range);
        if pages.assigned_ram + pages.unassigned_ram != range.pages() {
            return Err(RealmError::NotRam);
        }
        if pages.assigned_ram != range.pages() {
            {
                plan.start_exit(self, CsmExit::Populate, range);
                return Ok(());
            }
        }
        let (id, next) = take_id(self.next_region).ok_or(RealmError::IdsExhausted)?;
        let id = RegionId::new(id).ok_or(RealmError::IdsExhausted)?;
        plan.start(self, Reply::Region(id));
        plan.counters.1 = next;
        plan.edit(caller, Change::AddRegion { id, range })?;
        Ok(())
    }

    /// Check of `RSI_CSM_DESTROY(region)`: revokes every remaining grant (attached consumers'
    /// windows become RIPAS EMPTY), then removes the region. Live and damaged regions alike.
    /// Writes the plan into `plan` (the caller's storage: the monitor's is not on a stack);
    /// on error `plan` holds nothing meaningful and nothing changed.
    pub fn check_destroy<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        caller: Rd,
        region: RegionId,
        plan: &mut Plan,
    ) -> Result<(), RealmError> {
        let (_, apt) = self.own(store, caller)?.ok_or(RealmError::NoApt)?;
        let apt = crate::plan::view::<NR, NG, NA>(&apt);
        let (_, reg) = apt.region(region).ok_or(RealmError::UnknownRegion)?;
        plan.start(self, Reply::Done);
        self.drop_grants(store, plan, reg.grants().copied(), Ripas::Empty)?;
        plan.edit(caller, Change::RemoveRegion(region))?;
        Ok(())
    }
}
