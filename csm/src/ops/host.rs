// SPDX-License-Identifier: MIT OR Apache-2.0
//! Host events at CSM IPAs and the realm's own RIPAS changes over CSM memory:
//! `RMI_DATA_DESTROY` (a provider page: the region becomes damaged; an alias: refused),
//! `RMI_DATA_CREATE*` and `RMI_RTT_FOLD` at an alias (refused), and `RSI_IPA_STATE_SET` over a
//! region or window (refused, S11). The monitor calls these before doing the command's usual
//! work, and does that work only after applying the returned effects.

use apt::{IpaRange, Rd, RegionState};
use rmm_abi::rmi::states::Ripas;

use crate::effect::{Effects, Outcome, Reply};
use crate::error::{HostError, RealmError};
use crate::state::Csm;

impl<const R: usize, const NR: usize, const NG: usize, const NA: usize> Csm<R, NR, NG, NA> {
    /// `RMI_DATA_DESTROY(rd, ipa)`: refused at an alias. At a page of a live region the host
    /// takes the page away: every attachment of the region is removed (consumer windows
    /// become RIPAS DESTROYED), its grants are revoked, and the region becomes damaged. The
    /// monitor destroys the granule only after applying the effects (S3).
    pub fn data_destroy(&mut self, rd: Rd, ipa: u64) -> Result<Outcome, HostError> {
        let Some(slot) = self.slot_of(rd) else {
            return Ok(Outcome::reply(Reply::Done));
        };
        let Some(entry) = self.entry(rd) else {
            return Ok(Outcome::reply(Reply::Done));
        };
        if entry.apt.attachments().any(|a| a.window.contains(ipa)) {
            return Err(HostError::AliasEntry);
        }
        let Some(r) =
            entry.apt.regions.iter().position(|r| {
                r.is_some_and(|r| r.range.contains(ipa) && r.state == RegionState::Live)
            })
        else {
            return Ok(Outcome::reply(Reply::Done));
        };
        let Some(region) = entry.apt.regions.get(r).copied().flatten() else {
            return Ok(Outcome::reply(Reply::Done));
        };
        let mut effects = Effects::new();
        for grant in region.grants() {
            self.push_unmap(&mut effects, grant, Ripas::Destroyed)
                .map_err(|()| HostError::Full)?;
        }
        // Commit.
        for grant in region.grants() {
            self.drop_attachment(grant);
        }
        if let Some(reg) = self
            .apt_mut(slot)
            .and_then(|a| a.regions.get_mut(r))
            .and_then(Option::as_mut)
        {
            reg.grants = [None; NG];
            reg.state = RegionState::Damaged;
        }
        Ok(Outcome {
            effects,
            reply: Reply::Done,
        })
    }

    /// `RMI_DATA_CREATE` / `RMI_DATA_CREATE_UNKNOWN(rd, ipa)`: refused at an alias.
    pub fn data_create(&self, rd: Rd, ipa: u64) -> Result<Outcome, HostError> {
        self.refuse_alias(rd, |w| w.contains(ipa))
    }

    /// `RMI_RTT_FOLD(rd, range of the table)`: refused if the table maps any alias.
    pub fn rtt_fold(&self, rd: Rd, table: IpaRange) -> Result<Outcome, HostError> {
        self.refuse_alias(rd, |w| w.overlaps(table))
    }

    fn refuse_alias(&self, rd: Rd, hits: impl Fn(IpaRange) -> bool) -> Result<Outcome, HostError> {
        match self.entry(rd) {
            Some(e) if e.apt.attachments().any(|a| hits(a.window)) => Err(HostError::AliasEntry),
            _ => Ok(Outcome::reply(Reply::Done)),
        }
    }

    /// `RSI_IPA_STATE_SET` over `range`: refused if it touches any of the caller's regions
    /// (live or damaged) or windows (S11); once they are gone, it is allowed.
    pub fn ipa_state_set(&self, caller: Rd, range: IpaRange) -> Result<Outcome, RealmError> {
        match self.entry(caller) {
            Some(e) if e.apt.overlaps_own(range) => Err(RealmError::CsmMemory),
            _ => Ok(Outcome::reply(Reply::Done)),
        }
    }
}
