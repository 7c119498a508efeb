// SPDX-License-Identifier: MIT OR Apache-2.0
//! `csm::AptStore` over APT granules: each CSM realm's regions, grants and received grants
//! live encoded in its APT granule (`apt::Apt`, one 4 KiB granule, Realm PAS). The store
//! reaches only the APTs of the realms the operation locked (it is built from them), so a
//! plan that reaches further finds nothing there and is refused as corrupt instead of
//! touching an unlocked realm. Every table is decoded with every check of `Apt::decode`.
//!
//! A store lives for one operation, under the CSM lock, during which APT granules change
//! only through it: so it keeps the last [`CACHED`] tables it decoded and answers a second
//! load of one from there (an operation loads its tables several times: for the RDs it
//! involves, the check, the dry run and the commit). `store` and `clear` drop the table's
//! cached copy, so the next load decodes the granule again.

use crate::arch::Machine;
use crate::granule::GranuleAddr;
use apt::capacity::{FW_ATTACHMENTS, FW_GRANTS, FW_REGIONS, FwApt};
use apt::codec::{GRANULE_WORDS, PLACEHOLDER_OWNER};
use core::cell::{Cell, RefCell};
use csm::{AptStore, MAX_INVOLVED};

/// Decoded tables a store keeps: an RSI call involves the caller and at most one peer.
pub const CACHED: usize = 2;

/// The APT granules of the locked realms.
pub struct GranuleStore<'m, M: Machine> {
    machine: &'m M,
    apts: [(apt::Rd, Option<GranuleAddr>); MAX_INVOLVED],
    len: usize,
    /// Whose table each cache slot holds, decoded by this store and not stored or cleared
    /// since (`None`: the slot holds nothing valid).
    cached: Cell<[Option<apt::Rd>; CACHED]>,
    /// The cache slots: tables are decoded straight into them.
    tables: RefCell<[FwApt; CACHED]>,
    /// The cache slot the next decoded table replaces.
    victim: Cell<usize>,
}

impl<'m, M: Machine> GranuleStore<'m, M> {
    /// No APT reachable yet.
    pub fn new(machine: &'m M) -> Self {
        Self {
            machine,
            apts: [(apt::Rd(0), None); MAX_INVOLVED],
            len: 0,
            cached: Cell::new([None; CACHED]),
            tables: RefCell::new([FwApt::new(PLACEHOLDER_OWNER, 0); CACHED]),
            victim: Cell::new(0),
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

    /// The machine the granules are read through.
    pub fn machine(&self) -> &'m M {
        self.machine
    }

    /// Forgets the cached copy of `rd`'s table (its granule is about to change).
    fn forget(&self, rd: apt::Rd) {
        let mut cached = self.cached.get();
        for slot in cached.iter_mut() {
            if *slot == Some(rd) {
                *slot = None;
            }
        }
        self.cached.set(cached);
    }

    /// `f` on the decoded table bound to `rd`, decoding it into a cache slot unless it is
    /// cached already; `None` if there is no table or it does not decode.
    fn with_decoded<R>(&self, rd: apt::Rd, f: impl FnOnce(&FwApt) -> R) -> Option<R> {
        let granule = self.granule(rd)?;
        let mut cached = self.cached.get();
        // Only this store borrows its tables, and never across a call: the borrow succeeds.
        let mut tables = self.tables.try_borrow_mut().ok()?;
        if let Some(i) = cached.iter().position(|r| *r == Some(rd)) {
            return tables.get(i).map(f);
        }
        let victim = self.victim.get() % CACHED;
        self.victim.set(victim + 1);
        let table = tables.get_mut(victim)?;
        // In place, as aligned words (the codec reads whole words, no byte loads or copies),
        // straight into the cache slot.
        let decoded =
            self.machine
                .with_realm_value(granule, 0, |words: &mut [u64; GRANULE_WORDS]| {
                    table.fw_decode_into(words).is_ok()
                });
        if let Some(slot) = cached.get_mut(victim) {
            *slot = decoded.then_some(rd);
        }
        self.cached.set(cached);
        decoded.then(|| f(table))
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
        self.with_decoded(rd, |table| *table)
    }

    fn load_into(&self, rd: apt::Rd, apt: &mut FwApt) -> bool {
        self.with_decoded(rd, |table| *apt = *table).is_some()
    }

    fn store(&mut self, rd: apt::Rd, apt: &FwApt) {
        self.forget(rd);
        if let Some(granule) = self.granule(rd) {
            self.machine
                .with_realm_value(granule, 0, |words: &mut [u64; GRANULE_WORDS]| {
                    apt.fw_encode(words)
                });
        }
    }

    fn clear(&mut self, rd: apt::Rd) {
        self.forget(rd);
        if let Some(granule) = self.granule(rd) {
            self.machine.zero_granule(granule);
        }
    }
}
