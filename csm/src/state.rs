// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`Csm`]: the CSM state that must be global — the three id counters and a bounded
//! RealmId → RD index ([`IndexEntry`]: RealmId, RD, APT granule address) — and nothing else.
//! Each realm's regions, grants and received grants live in its own APT granule, which the
//! monitor reads and writes through an [`AptStore`]. Ids come from monotonic counters that
//! start at 1 and never go back, so no id is ever reused (S5). This file also holds the
//! lookups the operations share.

use apt::{AptWords, IpaRange, Rd, RealmId, ShareId};

use crate::effect::{Effect, Effects, MAX_EFFECTS};
use crate::plan::{AptStore, Corrupt, Table};

/// CSM realms the firmware supports at once.
pub const FW_REALMS: usize = 256;

/// Static memory the firmware's global CSM state may take.
pub const FW_STATIC_LIMIT: usize = 8192;

/// One CSM realm in the global index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IndexEntry {
    /// The realm's CSM identity (its APT's owner).
    pub id: RealmId,
    /// The realm's RD.
    pub rd: Rd,
    /// The APT granule's address (checked at `RMI_APT_DESTROY`).
    pub apt_pa: u64,
}

/// A deliberately broken transition, injectable only in tests and model-checker builds (the
/// switch does not exist in firmware builds), to prove the checker can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// `RSI_CSM_REVOKE` forgets to unmap an attached consumer's aliases (it still removes the
    /// grant and the attachment): the bug the checker must catch.
    RevokeKeepsAliases,
    /// `RSI_CSM_DETACH` unmaps but does not invalidate the TLBs.
    DetachSkipsTlbi,
}

/// The global CSM state for up to `R` CSM realms at once.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Csm<const R: usize> {
    pub(crate) next_realm: u64,
    pub(crate) next_region: u64,
    pub(crate) next_share: u64,
    pub(crate) index: [Option<IndexEntry>; R],
    #[cfg(any(test, feature = "model"))]
    pub(crate) fault: Option<Fault>,
}

/// The firmware's global CSM state: [`FW_REALMS`] realms.
pub type FwCsm = Csm<FW_REALMS>;

const _: () = assert!(core::mem::size_of::<FwCsm>() <= FW_STATIC_LIMIT);

impl<const R: usize> Default for Csm<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const R: usize> Csm<R> {
    /// Checked at compile time for the firmware capacities: the largest effect list of one
    /// step fits (a region's attached grants; one batch of `RMI_APT_DESTROY`).
    const EFFECTS_FIT: () = assert!(
        2 * apt::capacity::FW_GRANTS <= MAX_EFFECTS && 2 * crate::APT_DESTROY_BATCH <= MAX_EFFECTS,
        "effect list too small"
    );

    /// No realm, every counter at 1.
    pub const fn new() -> Self {
        let () = Self::EFFECTS_FIT;
        Self {
            next_realm: 1,
            next_region: 1,
            next_share: 1,
            index: [None; R],
            #[cfg(any(test, feature = "model"))]
            fault: None,
        }
    }

    /// Injects a test-only fault (model checker and tests only).
    #[cfg(any(test, feature = "model"))]
    pub fn inject_fault(&mut self, fault: Fault) {
        self.fault = Some(fault);
    }

    #[cfg(any(test, feature = "model"))]
    pub(crate) fn faulty(&self, fault: Fault) -> bool {
        self.fault == Some(fault)
    }

    #[cfg(not(any(test, feature = "model")))]
    #[inline(always)]
    pub(crate) const fn faulty(&self, _fault: Fault) -> bool {
        false
    }

    /// Every CSM realm.
    pub fn realms(&self) -> impl Iterator<Item = &IndexEntry> {
        self.index.iter().flatten()
    }

    /// The CSM realm with this RD (the realm has an APT bound).
    #[inline(never)]
    pub fn entry(&self, rd: Rd) -> Option<&IndexEntry> {
        self.realms().find(|e| e.rd == rd)
    }

    /// The CSM realm with this id.
    #[inline(never)]
    pub fn by_id(&self, id: RealmId) -> Option<&IndexEntry> {
        self.realms().find(|e| e.id == id)
    }

    pub(crate) fn slot_of(&self, rd: Rd) -> Option<usize> {
        self.index
            .iter()
            .position(|e| e.as_ref().is_some_and(|e| e.rd == rd))
    }

    /// The next ids the counters will hand out (realm, region, share).
    pub const fn next_ids(&self) -> (u64, u64, u64) {
        (self.next_realm, self.next_region, self.next_share)
    }

    /// The table of an indexed realm, lent by the store; its owner must be the indexed id.
    pub(crate) fn load<'s, const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &'s (impl AptStore<NR, NG, NA> + ?Sized),
        entry: &IndexEntry,
    ) -> Result<Table<'s>, Corrupt> {
        let words = store.table(entry.rd).ok_or(Corrupt)?;
        if AptWords::<NR, NG, NA>::from_checked(&words).owner() == entry.id {
            Ok(words)
        } else {
            Err(Corrupt)
        }
    }

    /// The index entry and table of `rd`: `Ok(None)` if it has no APT.
    pub(crate) fn own<'s, const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &'s (impl AptStore<NR, NG, NA> + ?Sized),
        rd: Rd,
    ) -> Result<Option<(IndexEntry, Table<'s>)>, Corrupt> {
        match self.entry(rd) {
            Some(e) => Ok(Some((*e, self.load(store, e)?))),
            None => Ok(None),
        }
    }

    /// The index entry and table of the realm `id`, which another table names (so it must
    /// exist: S4).
    pub(crate) fn peer<'s, const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &'s (impl AptStore<NR, NG, NA> + ?Sized),
        id: RealmId,
    ) -> Result<(IndexEntry, Table<'s>), Corrupt> {
        let e = self.by_id(id).ok_or(Corrupt)?;
        Ok((*e, self.load(store, e)?))
    }

    /// The index entry of the realm `id`, which another table names, and the window of its
    /// received grant `share` (`None` if it has none or it is not attached), read without
    /// borrowing its table.
    pub(crate) fn peer_received<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        id: RealmId,
        share: ShareId,
    ) -> Result<(IndexEntry, Option<IpaRange>), Corrupt> {
        let e = self.by_id(id).ok_or(Corrupt)?;
        match store.received(e.rd, share) {
            Some((owner, received)) if owner == e.id => Ok((*e, received)),
            _ => Err(Corrupt),
        }
    }
}

impl<const R: usize> Csm<R> {
    /// Plans the removal of `grants` from their consumers' tables: each attached window is
    /// unmapped (its pages become unassigned with RIPAS `ripas`) and invalidated, and each
    /// received grant is dropped. The provider's side is the caller's to edit. Reads each
    /// consumer's received grant without borrowing its table (there may be many).
    pub(crate) fn drop_grants<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        plan: &mut crate::plan::Plan,
        grants: impl Iterator<Item = apt::Grant>,
        ripas: rmm_abi::rmi::states::Ripas,
    ) -> Result<(), Corrupt> {
        for grant in grants {
            let (consumer, window) = self.peer_received(store, grant.consumer, grant.share)?;
            if let Some(window) = window {
                push_unmap_window(&mut plan.outcome.effects, consumer.rd, window, ripas)?;
            }
            plan.edit(
                consumer.rd,
                crate::plan::Change::RemoveAttachment(grant.share),
            )?;
        }
        Ok(())
    }
}

/// Unmap + invalidate for one window.
pub(crate) fn push_unmap_window(
    effects: &mut Effects,
    consumer: Rd,
    window: IpaRange,
    ripas: rmm_abi::rmi::states::Ripas,
) -> Result<(), Corrupt> {
    let ok = effects.push(Effect::UnmapAliases {
        consumer,
        window,
        ripas,
    }) && effects.push(Effect::InvalidateTlbs {
        realm: consumer,
        range: window,
    });
    if ok { Ok(()) } else { Err(Corrupt) }
}

/// The id a counter hands out next and the counter's next value; `None` once exhausted (the
/// counter then stays put, so nothing is ever handed out twice).
pub(crate) fn take_id(counter: u64) -> Option<(u64, u64)> {
    counter.checked_add(1).map(|next| (counter, next))
}
