// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RSI_CSM_ACCEPT` and `RSI_CSM_DETACH` (consumer).

use apt::{Attachment, GrantState, IpaRange, Rd, RealmId, ShareId};
use rmm_abi::rmi::states::Ripas;

use crate::effect::{CsmExit, Effect, Effects, Outcome, Reply};
use crate::error::RealmError;
use crate::state::{Csm, Fault, push_unmap_window};
use crate::view::Stage2View;

impl<const R: usize, const NR: usize, const NG: usize, const NA: usize> Csm<R, NR, NG, NA> {
    /// `RSI_CSM_ACCEPT(share, expected provider, window base)`: maps the granted region into
    /// the caller's window, all or nothing. The caller must be the grant's consumer and the
    /// provider the one it expects. The window (the region's size at `window_base`) must lie
    /// in the caller's protected space, overlap none of its regions or windows and be RIPAS
    /// RAM; if any entry is still assigned or lacks a level-3 table the call exits to the host
    /// (`RMI_EXIT_CSM_PREPARE`) and restarts, re-checking everything: nothing the host claims
    /// to have done is trusted.
    pub fn accept(
        &mut self,
        caller: Rd,
        share: ShareId,
        expected_provider: RealmId,
        window_base: u64,
        view: &impl Stage2View,
    ) -> Result<Outcome, RealmError> {
        let me = self.slot_of(caller).ok_or(RealmError::NoApt)?;
        let consumer = self.entry(caller).ok_or(RealmError::NoApt)?;
        let (provider, region, grant) = self.find_grant(share).ok_or(RealmError::UnknownShare)?;
        if grant.consumer != consumer.id() {
            return Err(RealmError::UnknownShare);
        }
        if provider.id() != expected_provider {
            return Err(RealmError::WrongProvider);
        }
        if grant.state == GrantState::Attached {
            return Err(RealmError::AlreadyAttached);
        }
        let window = IpaRange::new(window_base, region.range.size()).ok_or(RealmError::BadRange)?;
        if !window.below(consumer.par_size) {
            return Err(RealmError::OutsidePar);
        }
        if consumer.apt.overlaps_own(window) {
            return Err(RealmError::Overlap);
        }
        let free = consumer
            .apt
            .free_attachment_slot()
            .ok_or(RealmError::Full)?;
        let source = view.summarize(provider.rd, region.range);
        if source.assigned_ram != region.range.pages() {
            return Err(RealmError::ProviderNotReady);
        }
        let target = view.summarize(caller, window);
        if target.other != 0 || target.aliases != 0 {
            return Err(RealmError::NotRam);
        }
        if target.unassigned_ram != window.pages() || target.missing_tables != 0 {
            return Ok(Outcome::exit(CsmExit::Prepare, window));
        }
        let mut effects = Effects::new();
        effects.push(Effect::MapAliases {
            consumer: caller,
            window,
            provider: provider.rd,
            source: region.range.base(),
            mode: grant.mode,
        });
        let attachment = Attachment {
            share,
            provider: provider.id(),
            region: region.id,
            window,
            mode: grant.mode,
        };
        let (p, mode, size) = (provider.rd, grant.mode, window.size());
        let ps = self.slot_of(p).ok_or(RealmError::UnknownShare)?;
        // Commit.
        if let Some(a) = self.apt_mut(me).and_then(|a| a.attachments.get_mut(free)) {
            *a = Some(attachment);
        }
        if let Some(g) = self.apt_mut(ps).and_then(|apt| apt.grant_mut(share)) {
            g.state = GrantState::Attached;
        }
        Ok(Outcome {
            effects,
            reply: Reply::Accepted { size, mode },
        })
    }

    /// `RSI_CSM_DETACH(share)`: removes the caller's aliases (its window becomes unassigned
    /// RIPAS RAM, fresh private pages on next touch); the grant stays, offered again.
    pub fn detach(&mut self, caller: Rd, share: ShareId) -> Result<Outcome, RealmError> {
        let me = self.slot_of(caller).ok_or(RealmError::NoApt)?;
        let consumer = self.entry(caller).ok_or(RealmError::NoApt)?;
        let (provider, _, grant) = self.find_grant(share).ok_or(RealmError::UnknownShare)?;
        if grant.consumer != consumer.id() {
            return Err(RealmError::UnknownShare);
        }
        let a = consumer
            .apt
            .attachment_slot(share)
            .ok_or(RealmError::NotAttached)?;
        let att = consumer
            .apt
            .attachments
            .get(a)
            .copied()
            .flatten()
            .ok_or(RealmError::NotAttached)?;
        let mut effects = Effects::new();
        if self.faulty(Fault::DetachSkipsTlbi) {
            effects.push(Effect::UnmapAliases {
                consumer: caller,
                window: att.window,
                ripas: Ripas::Ram,
            });
        } else {
            push_unmap_window(&mut effects, caller, att.window, Ripas::Ram)
                .map_err(|()| RealmError::Full)?;
        }
        let ps = self.slot_of(provider.rd).ok_or(RealmError::UnknownShare)?;
        // Commit.
        if let Some(slot) = self.apt_mut(me).and_then(|apt| apt.attachments.get_mut(a)) {
            *slot = None;
        }
        if let Some(g) = self.apt_mut(ps).and_then(|apt| apt.grant_mut(share)) {
            g.state = GrantState::Offered;
        }
        Ok(Outcome {
            effects,
            reply: Reply::Done,
        })
    }
}
