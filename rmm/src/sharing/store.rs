// SPDX-License-Identifier: MIT OR Apache-2.0
//! `csm::AptStore` over APT granules: each CSM realm's regions, grants and received grants
//! live encoded in its APT granule (`apt::Apt`, one 4 KiB granule, Realm PAS). The store
//! reaches only the APTs of the realms the operation locked (it is built from them), so a
//! plan that reaches further finds nothing there and is refused as corrupt instead of
//! touching an unlocked realm. Every load decodes with every check of `Apt::decode`.

use crate::arch::Machine;
use crate::granule::GranuleAddr;
use apt::capacity::{FW_ATTACHMENTS, FW_GRANTS, FW_REGIONS, FwApt};
use apt::codec::GRANULE_WORDS;
use csm::{AptStore, MAX_INVOLVED};

/// The APT granules of the locked realms.
pub struct GranuleStore<'m, M: Machine> {
    machine: &'m M,
    apts: [(apt::Rd, Option<GranuleAddr>); MAX_INVOLVED],
    len: usize,
}

impl<'m, M: Machine> GranuleStore<'m, M> {
    /// No APT reachable yet.
    pub fn new(machine: &'m M) -> Self {
        Self {
            machine,
            apts: [(apt::Rd(0), None); MAX_INVOLVED],
            len: 0,
        }
    }

    /// Makes the APT granule `apt` of the realm `rd` reachable (the caller holds the RD's
    /// lock and the CSM lock, or the granule's own lock at APT_CREATE); `false` if full.
    pub fn add(&mut self, rd: apt::Rd, apt: GranuleAddr) -> bool {
        match self.apts.get_mut(self.len) {
            Some(slot) => {
                *slot = (rd, Some(apt));
                self.len += 1;
                true
            }
            None => false,
        }
    }

    fn granule(&self, rd: apt::Rd) -> Option<GranuleAddr> {
        self.apts
            .iter()
            .take(self.len)
            .find(|(r, _)| *r == rd)
            .and_then(|(_, a)| *a)
    }
}

impl<M: Machine> AptStore<FW_REGIONS, FW_GRANTS, FW_ATTACHMENTS> for GranuleStore<'_, M> {
    fn load(&self, rd: apt::Rd) -> Option<FwApt> {
        let granule = self.granule(rd)?;
        // In place, as aligned words (the codec reads whole words, no byte loads or copies).
        self.machine
            .with_realm_value(granule, 0, |words: &mut [u64; GRANULE_WORDS]| {
                FwApt::fw_decode(words).ok()
            })
    }

    fn store(&mut self, rd: apt::Rd, apt: &FwApt) {
        if let Some(granule) = self.granule(rd) {
            self.machine
                .with_realm_value(granule, 0, |words: &mut [u64; GRANULE_WORDS]| {
                    apt.fw_encode(words)
                });
        }
    }

    fn clear(&mut self, rd: apt::Rd) {
        if let Some(granule) = self.granule(rd) {
            self.machine.zero_granule(granule);
        }
    }
}
