// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RSI_CSM_SHARE` and `RSI_CSM_REVOKE` (provider).

use apt::{Attachment, Grant, GrantState, Rd, RealmId, RegionId, RegionState, ShareId};
use rmm_abi::csm::CsmMode;
use rmm_abi::rmi::states::Ripas;

use crate::effect::Reply;
use crate::error::RealmError;
use crate::plan::{AptStore, Change, Plan};
use crate::state::{Csm, Fault, push_unmap_window, take_id};
use crate::view::Stage2View;

impl<const R: usize> Csm<R> {
    /// Check of `RSI_CSM_SHARE(region, consumer, mode)`: grants `consumer` access to one of
    /// the caller's live regions. One grant per (region, consumer); never to the caller
    /// itself; the consumer must be ACTIVE (its RIM, which goes into tokens, is final) and
    /// have a free attachment slot, where the grant is recorded on its side.
    /// Writes the plan into `plan` (the caller's storage: the monitor's is not on a stack);
    /// on error `plan` holds nothing meaningful and nothing changed.
    #[allow(clippy::too_many_arguments)]
    pub fn check_share<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        caller: Rd,
        region: RegionId,
        consumer: RealmId,
        mode: CsmMode,
        view: &(impl Stage2View + ?Sized),
        plan: &mut Plan,
    ) -> Result<(), RealmError> {
        let (me, apt) = self.own(store, caller)?.ok_or(RealmError::NoApt)?;
        let apt = crate::plan::view::<NR, NG, NA>(&apt);
        let (_, reg) = apt.region(region).ok_or(RealmError::UnknownRegion)?;
        if reg.state == RegionState::Damaged {
            return Err(RealmError::RegionDamaged);
        }
        if consumer == me.id {
            return Err(RealmError::SelfShare);
        }
        let peer = *self.by_id(consumer).ok_or(RealmError::UnknownRealm)?;
        if !view.realm_active(peer.rd) {
            return Err(RealmError::PeerNotActive);
        }
        if reg.grant_for(consumer).is_some() {
            return Err(RealmError::DuplicateGrant);
        }
        reg.free_grant_slot().ok_or(RealmError::Full)?;
        let (_, capt) = self.peer(store, consumer)?;
        let capt = crate::plan::view::<NR, NG, NA>(&capt);
        capt.free_attachment_slot().ok_or(RealmError::Full)?;
        let (id, next) = take_id(self.next_share).ok_or(RealmError::IdsExhausted)?;
        let share = ShareId::new(id).ok_or(RealmError::IdsExhausted)?;
        plan.start(self, Reply::Share(share));
        plan.counters.2 = next;
        let grant = Grant {
            share,
            consumer,
            mode,
            state: GrantState::Offered,
        };
        plan.edit(caller, Change::AddGrant { region, grant })?;
        let received = Attachment {
            share,
            provider: me.id,
            region,
            size: reg.range.size(),
            mode,
            window: None,
        };
        plan.edit(peer.rd, Change::AddAttachment(received))?;
        Ok(())
    }

    /// Check of `RSI_CSM_REVOKE(share)`: removes one of the caller's grants for good; an
    /// attached consumer loses its aliases and its window becomes unassigned RIPAS EMPTY.
    /// Writes the plan into `plan` (the caller's storage: the monitor's is not on a stack);
    /// on error `plan` holds nothing meaningful and nothing changed.
    pub fn check_revoke<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        caller: Rd,
        share: ShareId,
        plan: &mut Plan,
    ) -> Result<(), RealmError> {
        let (_, apt) = self.own(store, caller)?.ok_or(RealmError::NoApt)?;
        let apt = crate::plan::view::<NR, NG, NA>(&apt);
        let (_, _, grant) = apt.grant_of(share).ok_or(RealmError::UnknownShare)?;
        // The consumer's table is borrowed (not just its received grant read): the commit
        // then edits it in place instead of decoding it again.
        let (consumer, capt) = self.peer(store, grant.consumer)?;
        let capt = crate::plan::view::<NR, NG, NA>(&capt);
        plan.start(self, Reply::Done);
        if let Some(window) = capt.attachment(share).and_then(|a| a.window)
            && !self.faulty(Fault::RevokeKeepsAliases)
        {
            push_unmap_window(&mut plan.outcome.effects, consumer.rd, window, Ripas::Empty)?;
        }
        plan.edit(caller, Change::RemoveGrant(share))?;
        plan.edit(consumer.rd, Change::RemoveAttachment(share))?;
        Ok(())
    }
}
