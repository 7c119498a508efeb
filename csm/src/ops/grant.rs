// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RSI_CSM_SHARE` and `RSI_CSM_REVOKE` (provider).

use apt::{Grant, GrantState, Rd, RealmId, RegionId, RegionState, ShareId};
use rmm_abi::csm::CsmMode;
use rmm_abi::rmi::states::Ripas;

use crate::effect::{Effects, Outcome, Reply};
use crate::error::RealmError;
use crate::state::{Csm, Fault, next_id, peek_id};

impl<const R: usize, const NR: usize, const NG: usize, const NA: usize> Csm<R, NR, NG, NA> {
    /// `RSI_CSM_SHARE(region, consumer, mode)`: grants `consumer` access to one of the
    /// caller's live regions. One grant per (region, consumer); never to the caller itself.
    pub fn share(
        &mut self,
        caller: Rd,
        region: RegionId,
        consumer: RealmId,
        mode: CsmMode,
    ) -> Result<Outcome, RealmError> {
        let slot = self.slot_of(caller).ok_or(RealmError::NoApt)?;
        let entry = self.entry(caller).ok_or(RealmError::NoApt)?;
        let (r, reg) = entry.apt.region(region).ok_or(RealmError::UnknownRegion)?;
        if reg.state == RegionState::Damaged {
            return Err(RealmError::RegionDamaged);
        }
        if consumer == entry.id() {
            return Err(RealmError::SelfShare);
        }
        if self.by_id(consumer).is_none() {
            return Err(RealmError::UnknownRealm);
        }
        if reg.grant_for(consumer).is_some() {
            return Err(RealmError::DuplicateGrant);
        }
        let g = reg.free_grant_slot().ok_or(RealmError::Full)?;
        peek_id(self.next_share).ok_or(RealmError::IdsExhausted)?;
        // Commit.
        let share = next_id(&mut self.next_share)
            .and_then(ShareId::new)
            .ok_or(RealmError::IdsExhausted)?;
        if let Some(g) = self
            .apt_mut(slot)
            .and_then(|a| a.regions.get_mut(r))
            .and_then(Option::as_mut)
            .and_then(|reg| reg.grants.get_mut(g))
        {
            *g = Some(Grant {
                share,
                consumer,
                mode,
                state: GrantState::Offered,
            });
        }
        Ok(Outcome::reply(Reply::Share(share)))
    }

    /// `RSI_CSM_REVOKE(share)`: removes one of the caller's grants for good; an attached
    /// consumer loses its aliases and its window becomes unassigned RIPAS EMPTY.
    pub fn revoke(&mut self, caller: Rd, share: ShareId) -> Result<Outcome, RealmError> {
        let slot = self.slot_of(caller).ok_or(RealmError::NoApt)?;
        let entry = self.entry(caller).ok_or(RealmError::NoApt)?;
        let (r, g) = entry
            .apt
            .grant_slot(share)
            .ok_or(RealmError::UnknownShare)?;
        let grant = entry
            .apt
            .regions
            .get(r)
            .and_then(|reg| reg.as_ref())
            .and_then(|reg| reg.grants.get(g))
            .copied()
            .flatten()
            .ok_or(RealmError::UnknownShare)?;
        let mut effects = Effects::new();
        if !self.faulty(Fault::RevokeKeepsAliases) {
            self.push_unmap(&mut effects, &grant, Ripas::Empty)
                .map_err(|()| RealmError::Full)?;
        }
        // Commit.
        self.drop_attachment(&grant);
        if let Some(gs) = self
            .apt_mut(slot)
            .and_then(|a| a.regions.get_mut(r))
            .and_then(Option::as_mut)
            .and_then(|reg| reg.grants.get_mut(g))
        {
            *gs = None;
        }
        Ok(Outcome {
            effects,
            reply: Reply::Done,
        })
    }
}
