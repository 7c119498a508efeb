// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RMI_APT_CREATE`, `RMI_APT_DESTROY` and the CSM check of `RMI_REALM_DESTROY` (S6).

use apt::{Rd, RealmId};
use rmm_abi::rmi::states::{RealmState, Ripas};

use crate::effect::Reply;
use crate::error::HostError;
use crate::plan::{APT_DESTROY_BATCH, AptStore, Change, IndexChange, Plan};
use crate::state::{Csm, IndexEntry, push_unmap_window, take_id};

impl<const R: usize> Csm<R> {
    /// Check of `RMI_APT_CREATE(rd, apt)`: binds the APT to a NEW realm and assigns a fresh
    /// RealmId. The monitor has already checked that `apt_pa` is a DELEGATED granule and `rd`
    /// an RD, and binds the granule to the RD before the commit, which writes the empty table
    /// into it; `par_size` is the size of the realm's protected IPA space.
    /// Writes the plan into `plan` (the caller's storage: the monitor's is not on a stack);
    /// on error `plan` holds nothing meaningful and nothing changed.
    pub fn check_apt_create(
        &self,
        rd: Rd,
        apt_pa: u64,
        state: RealmState,
        par_size: u64,
        plan: &mut Plan,
    ) -> Result<(), HostError> {
        if state != RealmState::New {
            return Err(HostError::RealmNotNew);
        }
        if self.entry(rd).is_some() {
            return Err(HostError::AptBound);
        }
        if par_size == 0 || !par_size.is_multiple_of(apt::PAGE_SIZE) {
            return Err(HostError::BadPar);
        }
        let slot = self
            .index
            .iter()
            .position(Option::is_none)
            .ok_or(HostError::Full)?;
        let (id, next) = take_id(self.next_realm).ok_or(HostError::IdsExhausted)?;
        let id = RealmId::new(id).ok_or(HostError::IdsExhausted)?;
        plan.start(self, Reply::Realm(id));
        plan.counters.0 = next;
        plan.index = IndexChange::Add(slot, IndexEntry { id, rd, apt_pa });
        plan.edit(
            rd,
            Change::Init {
                owner: id,
                par_size,
            },
        )?;
        Ok(())
    }

    /// Check of `RMI_APT_DESTROY(rd, apt)`, in any realm state: removes every relation of the
    /// realm. As provider, each attached consumer loses its aliases (window → RIPAS
    /// DESTROYED) and every consumer's record of a grant goes; as consumer, its own aliases go
    /// (→ DESTROYED) and every grant naming it is dropped from its provider. One step removes
    /// at most [`APT_DESTROY_BATCH`] relations (grants first, then received grants), from both
    /// sides, and answers [`Reply::Partial`] while more remain; the step that removes the last
    /// of them also removes the index entry and clears the granule (answering
    /// [`Reply::Done`]), and the monitor then returns it to DELEGATED. The monitor runs the
    /// steps one after the other under the same locks, so nobody sees the states between.
    /// Writes the plan into `plan` (the caller's storage: the monitor's is not on a stack);
    /// on error `plan` holds nothing meaningful and nothing changed.
    pub fn check_apt_destroy<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        rd: Rd,
        apt_pa: u64,
        plan: &mut Plan,
    ) -> Result<(), HostError> {
        let slot = self.slot_of(rd).ok_or(HostError::NoApt)?;
        let (me, apt) = self.own(store, rd)?.ok_or(HostError::NoApt)?;
        let apt = crate::plan::view::<NR, NG, NA>(&apt);
        if me.apt_pa != apt_pa {
            return Err(HostError::WrongApt);
        }
        let grants = || apt.grants();
        let relations = grants().count() + apt.attachments().count();
        // The last step removes the table itself, so it edits only the peers' tables; an
        // earlier one also removes its batch from the realm's own table.
        let last = relations <= APT_DESTROY_BATCH;
        plan.start(self, if last { Reply::Done } else { Reply::Partial });
        let batch = || grants().take(APT_DESTROY_BATCH);
        let taken = batch().count();
        self.drop_grants(store, plan, batch(), Ripas::Destroyed)?;
        if !last {
            for grant in batch() {
                plan.edit(rd, Change::RemoveGrant(grant.share))?;
            }
        }
        for received in apt.attachments().take(APT_DESTROY_BATCH - taken) {
            if let Some(window) = received.window {
                push_unmap_window(&mut plan.outcome.effects, rd, window, Ripas::Destroyed)?;
            }
            let provider = self.by_id(received.provider).ok_or(crate::Corrupt)?;
            plan.edit(provider.rd, Change::RemoveGrant(received.share))?;
            if !last {
                plan.edit(rd, Change::RemoveAttachment(received.share))?;
            }
        }
        if last {
            plan.index = IndexChange::Remove(slot, rd);
        }
        Ok(())
    }

    /// The CSM check of `RMI_REALM_DESTROY`: refused while an APT is bound (S6).
    pub fn check_realm_destroy(&self, rd: Rd) -> Result<Plan, HostError> {
        match self.entry(rd) {
            Some(_) => Err(HostError::AptBound),
            None => Ok(Plan::reply(self, Reply::Done)),
        }
    }
}
