// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RSI_CSM_ACCEPT` and `RSI_CSM_DETACH` (consumer).

use apt::{GrantState, IpaRange, Rd, RealmId, ShareId};
use rmm_abi::rmi::states::Ripas;

use crate::effect::{CsmExit, Effect, Reply};
use crate::error::RealmError;
use crate::plan::{AptStore, Change, Corrupt, Plan};
use crate::state::{Csm, Fault, push_unmap_window};
use crate::view::Stage2View;

impl<const R: usize> Csm<R> {
    /// Check of `RSI_CSM_ACCEPT(share, expected provider, window base, expected size)`: maps
    /// the granted region into the caller's window, all or nothing. The caller must be the
    /// grant's consumer, the provider the one it expects and the size the one it expects
    /// (learned from `RSI_CSM_QUERY`), so a provider can never make a consumer give up more
    /// than it agreed to. The window must lie in the caller's protected space, overlap none of
    /// its regions or windows, and be entirely RIPAS EMPTY — released by the consumer with
    /// `RSI_IPA_STATE_SET` beforehand (RAM, DESTROYED or alias pages are refused). If entries
    /// are still assigned (RIPAS EMPTY) or level-3 tables are missing, the call exits to the
    /// host (`RMI_EXIT_CSM_PREPARE`) and restarts, re-checking everything.
    /// Writes the plan into `plan` (the caller's storage: the monitor's is not on a stack);
    /// on error `plan` holds nothing meaningful and nothing changed.
    #[allow(clippy::too_many_arguments)]
    pub fn check_accept<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        caller: Rd,
        share: ShareId,
        expected_provider: RealmId,
        window_base: u64,
        expected_size: u64,
        view: &(impl Stage2View + ?Sized),
        plan: &mut Plan,
    ) -> Result<(), RealmError> {
        let (_, apt) = self.own(store, caller)?.ok_or(RealmError::NoApt)?;
        let apt = crate::plan::view::<NR, NG, NA>(&apt);
        let received = apt.attachment(share).ok_or(RealmError::UnknownShare)?;
        if received.provider != expected_provider {
            return Err(RealmError::WrongProvider);
        }
        if received.size != expected_size {
            return Err(RealmError::WrongSize);
        }
        if received.attached() {
            return Err(RealmError::AlreadyAttached);
        }
        let window = IpaRange::new(window_base, received.size).ok_or(RealmError::BadRange)?;
        if !window.below(apt.par_size()) {
            return Err(RealmError::OutsidePar);
        }
        if apt.overlaps_own(window) {
            return Err(RealmError::Overlap);
        }
        let (provider, papt) = self.peer(store, received.provider)?;
        let papt = crate::plan::view::<NR, NG, NA>(&papt);
        let (region, source_range, grant) = papt.grant_of(share).ok_or(Corrupt)?;
        if region != received.region
            || source_range.size() != received.size
            || grant.mode != received.mode
        {
            return Err(RealmError::AptCorrupt);
        }
        let source = view.summarize(provider.rd, source_range);
        if source.assigned_ram != source_range.pages() {
            return Err(RealmError::ProviderNotReady);
        }
        let target = view.summarize(caller, window);
        if target.unassigned_empty + target.assigned_empty != window.pages() {
            return Err(RealmError::NotEmpty);
        }
        if target.assigned_empty != 0 || target.missing_tables != 0 {
            {
                plan.start_exit(self, CsmExit::Prepare, window);
                return Ok(());
            }
        }
        let reply = Reply::Accepted {
            size: window.size(),
            mode: grant.mode,
        };
        plan.start(self, reply);
        plan.outcome.effects.push(Effect::MapAliases {
            consumer: caller,
            window,
            provider: provider.rd,
            source: source_range.base(),
            mode: grant.mode,
        });
        plan.edit(
            caller,
            Change::SetWindow {
                share,
                window: Some(window),
            },
        )?;
        plan.edit(
            provider.rd,
            Change::SetGrant {
                share,
                state: GrantState::Attached,
            },
        )?;
        Ok(())
    }

    /// Check of `RSI_CSM_DETACH(share)`: removes the caller's aliases (its window becomes
    /// unassigned RIPAS RAM, fresh private pages on next touch); the grant stays, offered.
    /// Writes the plan into `plan` (the caller's storage: the monitor's is not on a stack);
    /// on error `plan` holds nothing meaningful and nothing changed.
    pub fn check_detach<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        caller: Rd,
        share: ShareId,
        plan: &mut Plan,
    ) -> Result<(), RealmError> {
        let (_, apt) = self.own(store, caller)?.ok_or(RealmError::NoApt)?;
        let apt = crate::plan::view::<NR, NG, NA>(&apt);
        let received = apt.attachment(share).ok_or(RealmError::UnknownShare)?;
        let window = received.window.ok_or(RealmError::NotAttached)?;
        // The provider's table is borrowed so that the commit edits it in place.
        let (provider, _) = self.peer(store, received.provider)?;
        plan.start(self, Reply::Done);
        if self.faulty(Fault::DetachSkipsTlbi) {
            plan.outcome.effects.push(Effect::UnmapAliases {
                consumer: caller,
                window,
                ripas: Ripas::Ram,
            });
        } else {
            push_unmap_window(&mut plan.outcome.effects, caller, window, Ripas::Ram)?;
        }
        plan.edit(
            caller,
            Change::SetWindow {
                share,
                window: None,
            },
        )?;
        plan.edit(
            provider.rd,
            Change::SetGrant {
                share,
                state: GrantState::Offered,
            },
        )?;
        Ok(())
    }
}
