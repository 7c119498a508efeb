// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`Csm`]: the CSM state of every realm — one [`RealmEntry`] (RD, APT granule, protected IPA
//! size, table) per realm with an APT bound — and the three id counters. Ids come from
//! monotonic counters that start at 1 and never go back, so no id is ever reused (S5). This
//! file also holds the lookups the operations share.

use apt::{Apt, Grant, IpaRange, Rd, RealmId, Region, ShareId};

use crate::effect::{Effect, Effects, MAX_EFFECTS};

/// One CSM realm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RealmEntry<const NR: usize, const NG: usize, const NA: usize> {
    /// The realm's RD.
    pub rd: Rd,
    /// The APT granule's address (checked at `RMI_APT_DESTROY`).
    pub apt_pa: u64,
    /// Size of the protected IPA space `[0, par_size)`.
    pub par_size: u64,
    /// The realm's table; `apt.owner` is its RealmId.
    pub apt: Apt<NR, NG, NA>,
}

impl<const NR: usize, const NG: usize, const NA: usize> RealmEntry<NR, NG, NA> {
    /// The realm's CSM identity.
    pub const fn id(&self) -> RealmId {
        self.apt.owner
    }
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

/// The CSM state over all realms: up to `R` realms, each with a table of `NR` regions of `NG`
/// grants and `NA` attachments.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Csm<const R: usize, const NR: usize, const NG: usize, const NA: usize> {
    pub(crate) next_realm: u64,
    pub(crate) next_region: u64,
    pub(crate) next_share: u64,
    pub(crate) realms: [Option<RealmEntry<NR, NG, NA>>; R],
    #[cfg(any(test, feature = "model"))]
    pub(crate) fault: Option<Fault>,
}

/// The firmware's CSM state for `R` realms.
pub type FwCsm<const R: usize> = Csm<
    R,
    { apt::capacity::FW_REGIONS },
    { apt::capacity::FW_GRANTS },
    { apt::capacity::FW_ATTACHMENTS },
>;

impl<const R: usize, const NR: usize, const NG: usize, const NA: usize> Default
    for Csm<R, NR, NG, NA>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<const R: usize, const NR: usize, const NG: usize, const NA: usize> Csm<R, NR, NG, NA> {
    /// Checked at compile time for every instantiation: the largest effect list fits.
    const EFFECTS_FIT: () = assert!(2 * (NR * NG + NA) <= MAX_EFFECTS, "effect list too small");

    /// No realm, every counter at 1.
    pub const fn new() -> Self {
        let () = Self::EFFECTS_FIT;
        Self {
            next_realm: 1,
            next_region: 1,
            next_share: 1,
            realms: [None; R],
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
    pub fn realms(&self) -> impl Iterator<Item = &RealmEntry<NR, NG, NA>> {
        self.realms.iter().flatten()
    }

    /// The realm with this RD, if it has an APT.
    pub fn entry(&self, rd: Rd) -> Option<&RealmEntry<NR, NG, NA>> {
        self.realms().find(|e| e.rd == rd)
    }

    /// The realm with this id.
    pub fn by_id(&self, id: RealmId) -> Option<&RealmEntry<NR, NG, NA>> {
        self.realms().find(|e| e.id() == id)
    }

    pub(crate) fn slot_of(&self, rd: Rd) -> Option<usize> {
        self.realms
            .iter()
            .position(|e| e.as_ref().is_some_and(|e| e.rd == rd))
    }

    pub(crate) fn slot_of_id(&self, id: RealmId) -> Option<usize> {
        self.realms
            .iter()
            .position(|e| e.as_ref().is_some_and(|e| e.id() == id))
    }

    pub(crate) fn apt_mut(&mut self, slot: usize) -> Option<&mut Apt<NR, NG, NA>> {
        self.realms
            .get_mut(slot)
            .and_then(Option::as_mut)
            .map(|e| &mut e.apt)
    }

    /// The next ids the counters will hand out (realm, region, share).
    pub const fn next_ids(&self) -> (u64, u64, u64) {
        (self.next_realm, self.next_region, self.next_share)
    }

    /// Finds a grant anywhere: (provider entry, region, grant).
    pub fn find_grant(
        &self,
        share: ShareId,
    ) -> Option<(&RealmEntry<NR, NG, NA>, &Region<NG>, &Grant)> {
        self.realms().find_map(|e| {
            e.apt
                .regions()
                .find_map(|r| r.grants().find(|g| g.share == share).map(|g| (e, r, g)))
        })
    }

    /// Effects that remove the consumer side of `grant` (if attached): unmap its window with
    /// `ripas`, then invalidate. `Err` only if the list is full, which `EFFECTS_FIT` rules out.
    pub(crate) fn push_unmap(
        &self,
        effects: &mut Effects,
        grant: &Grant,
        ripas: rmm_abi::rmi::states::Ripas,
    ) -> Result<(), ()> {
        if grant.state != apt::GrantState::Attached {
            return Ok(());
        }
        let Some(consumer) = self.by_id(grant.consumer) else {
            return Ok(());
        };
        let Some(att) = consumer.apt.attachments().find(|a| a.share == grant.share) else {
            return Ok(());
        };
        push_unmap_window(effects, consumer.rd, att.window, ripas)
    }

    /// Removes the attachment of `grant` from its consumer's table, if any.
    pub(crate) fn drop_attachment(&mut self, grant: &Grant) {
        if let Some(slot) = self.slot_of_id(grant.consumer)
            && let Some(apt) = self.apt_mut(slot)
            && let Some(a) = apt.attachment_slot(grant.share)
            && let Some(att) = apt.attachments.get_mut(a)
        {
            *att = None;
        }
    }
}

/// Unmap + invalidate for one window.
pub(crate) fn push_unmap_window(
    effects: &mut Effects,
    consumer: Rd,
    window: IpaRange,
    ripas: rmm_abi::rmi::states::Ripas,
) -> Result<(), ()> {
    let ok = effects.push(Effect::UnmapAliases {
        consumer,
        window,
        ripas,
    }) && effects.push(Effect::InvalidateTlbs {
        realm: consumer,
        range: window,
    });
    if ok { Ok(()) } else { Err(()) }
}

/// Takes the next id from a counter; `None` once exhausted (the counter then stays put, so
/// nothing is ever handed out twice).
pub(crate) fn next_id(counter: &mut u64) -> Option<u64> {
    let id = *counter;
    *counter = counter.checked_add(1)?;
    Some(id)
}

/// Peeks at the id `next_id` would hand out.
pub(crate) fn peek_id(counter: u64) -> Option<u64> {
    counter.checked_add(1).map(|_| counter)
}
