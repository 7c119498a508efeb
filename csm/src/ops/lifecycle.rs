// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RMI_APT_CREATE`, `RMI_APT_DESTROY` and the CSM check of `RMI_REALM_DESTROY` (S6).

use apt::{Apt, GrantState, Rd};
use rmm_abi::rmi::states::{RealmState, Ripas};

use crate::effect::{Effects, Outcome, Reply};
use crate::error::HostError;
use crate::state::{Csm, RealmEntry, next_id, peek_id, push_unmap_window};

impl<const R: usize, const NR: usize, const NG: usize, const NA: usize> Csm<R, NR, NG, NA> {
    /// `RMI_APT_CREATE(rd, apt)`: binds the APT to a NEW realm and assigns a fresh RealmId.
    /// The monitor has already checked that `apt_pa` is a DELEGATED granule and `rd` an RD;
    /// `par_size` is the size of the realm's protected IPA space.
    pub fn apt_create(
        &mut self,
        rd: Rd,
        apt_pa: u64,
        state: RealmState,
        par_size: u64,
    ) -> Result<Outcome, HostError> {
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
            .realms
            .iter()
            .position(Option::is_none)
            .ok_or(HostError::Full)?;
        peek_id(self.next_realm).ok_or(HostError::IdsExhausted)?;
        // Commit.
        let id = next_id(&mut self.next_realm)
            .and_then(apt::RealmId::new)
            .ok_or(HostError::IdsExhausted)?;
        if let Some(entry) = self.realms.get_mut(slot) {
            *entry = Some(RealmEntry {
                rd,
                apt_pa,
                par_size,
                apt: Apt::new(id),
            });
        }
        Ok(Outcome::reply(Reply::Realm(id)))
    }

    /// `RMI_APT_DESTROY(rd, apt)`, in any realm state: removes every relation of the realm.
    /// As provider, each attached consumer loses its aliases (window → RIPAS DESTROYED); as
    /// consumer, its own aliases go (→ DESTROYED) and every grant naming it is dropped. The
    /// monitor then zeroes the APT granule and returns it to DELEGATED.
    pub fn apt_destroy(&mut self, rd: Rd, apt_pa: u64) -> Result<Outcome, HostError> {
        let slot = self.slot_of(rd).ok_or(HostError::NoApt)?;
        let entry = self.entry(rd).ok_or(HostError::NoApt)?;
        if entry.apt_pa != apt_pa {
            return Err(HostError::WrongApt);
        }
        let id = entry.id();
        let mut effects = Effects::new();
        for region in entry.apt.regions() {
            for grant in region.grants() {
                self.push_unmap(&mut effects, grant, Ripas::Destroyed)
                    .map_err(|()| HostError::Full)?;
            }
        }
        for att in entry.apt.attachments() {
            push_unmap_window(&mut effects, rd, att.window, Ripas::Destroyed)
                .map_err(|()| HostError::Full)?;
        }
        // Commit: consumers of our regions lose their attachments.
        let own = entry.apt;
        for grant in own.regions().flat_map(|r| r.grants()) {
            if grant.state == GrantState::Attached {
                self.drop_attachment(grant);
            }
        }
        // Every grant naming us, attached or not, is removed from its provider.
        for other in self.realms.iter_mut().flatten() {
            for region in other.apt.regions.iter_mut().flatten() {
                for g in region.grants.iter_mut() {
                    if g.is_some_and(|g| g.consumer == id) {
                        *g = None;
                    }
                }
            }
        }
        if let Some(e) = self.realms.get_mut(slot) {
            *e = None;
        }
        Ok(Outcome {
            effects,
            reply: Reply::Done,
        })
    }

    /// The CSM check of `RMI_REALM_DESTROY`: refused while an APT is bound (S6).
    pub fn realm_destroy(&self, rd: Rd) -> Result<Outcome, HostError> {
        match self.entry(rd) {
            Some(_) => Err(HostError::AptBound),
            None => Ok(Outcome::reply(Reply::Done)),
        }
    }
}
