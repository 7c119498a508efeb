// SPDX-License-Identifier: MIT OR Apache-2.0
//! Host events at CSM IPAs and the realm's own RIPAS changes over CSM memory:
//! `RMI_DATA_DESTROY` (a provider page: the region becomes damaged; an alias: refused),
//! `RMI_DATA_CREATE*` and `RMI_RTT_FOLD` at an alias (refused), and `RSI_IPA_STATE_SET` over a
//! region or window (refused, S11). The monitor checks these before doing the command's
//! usual work, and does that work only after committing and applying the effects.

use apt::{IpaRange, Rd, RegionState};
use rmm_abi::rmi::states::Ripas;

use crate::effect::Reply;
use crate::error::{HostError, RealmError};
use crate::plan::{AptStore, Change, Plan};
use crate::state::Csm;

impl<const R: usize> Csm<R> {
    /// Check of `RMI_DATA_DESTROY(rd, ipa)`: refused at an alias. At a page of a live region
    /// the host takes the page away: every attachment of the region is removed (consumer
    /// windows become RIPAS DESTROYED), its grants are revoked, and the region becomes
    /// damaged. The monitor destroys the granule only after applying the effects (S3).
    /// Writes the plan into `plan` (the caller's storage: the monitor's is not on a stack);
    /// on error `plan` holds nothing meaningful and nothing changed.
    pub fn check_data_destroy<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        rd: Rd,
        ipa: u64,
        plan: &mut Plan,
    ) -> Result<(), HostError> {
        let Some((_, apt)) = self.own(store, rd)? else {
            {
                plan.start(self, Reply::Done);
                return Ok(());
            }
        };
        let apt = crate::plan::view::<NR, NG, NA>(&apt);
        if apt.windows().any(|(_, w)| w.contains(ipa)) {
            return Err(HostError::AliasEntry);
        }
        let Some(region) = apt
            .regions()
            .find(|r| r.range.contains(ipa) && r.state == RegionState::Live)
        else {
            {
                plan.start(self, Reply::Done);
                return Ok(());
            }
        };
        plan.start(self, Reply::Done);
        self.drop_grants(store, plan, region.grants().copied(), Ripas::Destroyed)?;
        plan.edit(rd, Change::Damage(region.id))?;
        Ok(())
    }

    /// Check of `RMI_DATA_CREATE` / `RMI_DATA_CREATE_UNKNOWN(rd, ipa)`: refused at an alias.
    /// Writes the plan into `plan` (the caller's storage: the monitor's is not on a stack);
    /// on error `plan` holds nothing meaningful and nothing changed.
    pub fn check_data_create<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        rd: Rd,
        ipa: u64,
        plan: &mut Plan,
    ) -> Result<(), HostError> {
        self.refuse_alias(store, rd, |w| w.contains(ipa), plan)
    }

    /// Check of `RMI_RTT_FOLD(rd, range of the table)`: refused if the table maps any alias.
    /// Writes the plan into `plan` (the caller's storage: the monitor's is not on a stack);
    /// on error `plan` holds nothing meaningful and nothing changed.
    pub fn check_rtt_fold<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        rd: Rd,
        table: IpaRange,
        plan: &mut Plan,
    ) -> Result<(), HostError> {
        self.refuse_alias(store, rd, |w| w.overlaps(table), plan)
    }

    fn refuse_alias<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        rd: Rd,
        hits: impl Fn(IpaRange) -> bool,
        plan: &mut Plan,
    ) -> Result<(), HostError> {
        match self.own(store, rd)? {
            Some((_, apt))
                if crate::plan::view::<NR, NG, NA>(&apt)
                    .windows()
                    .any(|(_, w)| hits(w)) =>
            {
                Err(HostError::AliasEntry)
            }
            _ => {
                plan.start(self, Reply::Done);
                Ok(())
            }
        }
    }

    /// Check of `RSI_IPA_STATE_SET` over `range`: refused if it touches any of the caller's
    /// regions (live or damaged) or attached windows (S11); once they are gone, it is allowed.
    /// Writes the plan into `plan` (the caller's storage: the monitor's is not on a stack);
    /// on error `plan` holds nothing meaningful and nothing changed.
    pub fn check_ipa_state_set<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        caller: Rd,
        range: IpaRange,
        plan: &mut Plan,
    ) -> Result<(), RealmError> {
        match self.own(store, caller)? {
            Some((_, apt)) if crate::plan::view::<NR, NG, NA>(&apt).overlaps_own(range) => {
                Err(RealmError::CsmMemory)
            }
            _ => {
                plan.start(self, Reply::Done);
                Ok(())
            }
        }
    }
}
