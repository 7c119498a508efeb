// SPDX-License-Identifier: MIT OR Apache-2.0
//! `csm::AptStore` over APT granules: each CSM realm's regions, grants and received grants
//! live encoded in its APT granule (`apt::Apt`, one 4 KiB granule, Realm PAS). The store
//! reaches only the APTs of the realms the operation locked (it is built from them), so a
//! plan that reaches further finds nothing there and is refused as corrupt instead of
//! touching an unlocked realm. Every table is read with every field and checksum check of
//! `Apt::decode` (`Apt::read_words_into`: the rules of `Apt::validate` were checked when the
//! commit wrote it).
//!
//! A store lives for one operation, under the CSM lock, during which APT granules change
//! only through it. It lends the tables a check reads ([`csm::MAX_LENT`]: the caller's and one
//! peer's), decoded once into place and never copied to the caller; it reads a peer's
//! received grant without lending its table (`received`, for operations that reach many
//! peers); `store` and `clear` forget a lent table, so the next use decodes the granule again.
//! The lent tables are the only table-sized storage of an operation, in the frame of the
//! operation's owner (no CSM operation copies a table onto the stack besides the commit's
//! one working copy).

use crate::arch::Machine;
use crate::granule::GranuleAddr;
use apt::capacity::{FW_ATTACHMENTS, FW_GRANTS, FW_REGIONS, FwApt};
use apt::codec::{GRANULE_WORDS, PLACEHOLDER_OWNER};
use core::cell::{Cell, RefCell};
use csm::{AptStore, Lent, MAX_INVOLVED, MAX_LENT};

/// An empty cell for a store to decode a table into. The operation's owner keeps its cells in
/// its own frame (`let cell = empty_cell();`) and lends them to its store: two for an
/// operation (the caller's table and a peer's, or a peer's read and then the commit's working
/// table), one for an operation on the caller's own table alone. Out of line: an empty table
/// is some 150 stores of code (every slot's `None`), written once, here, not at each caller.
#[inline(never)]
pub fn empty_cell() -> RefCell<FwApt> {
    RefCell::new(FwApt::new(PLACEHOLDER_OWNER, 0))
}

/// The APT granules of the locked realms.
pub struct GranuleStore<'m, M: Machine> {
    machine: &'m M,
    /// The first `len` are the reachable APTs: (RD, APT granule).
    apts: [(apt::Rd, GranuleAddr); MAX_INVOLVED],
    len: usize,
    /// Whose table each cell holds, as its granule holds it (decoded by this store, or
    /// edited in place and written back since; `None`: the cell holds nothing valid and
    /// nobody borrows it).
    lent_to: Cell<[Option<apt::Rd>; MAX_LENT]>,
    /// The cells tables are decoded into, in place, and lent from (at most [`MAX_LENT`]).
    cells: &'m [&'m RefCell<FwApt>],
}

impl<'m, M: Machine> GranuleStore<'m, M> {
    /// No APT reachable yet; tables are decoded into `cells` (see [`empty_cell`]). Out of
    /// line: clearing the list of every RD an operation may involve is code of its own.
    #[inline(never)]
    pub fn new(machine: &'m M, cells: &'m [&'m RefCell<FwApt>]) -> Self {
        Self {
            machine,
            apts: [(apt::Rd(0), GranuleAddr::ZERO); MAX_INVOLVED],
            len: 0,
            lent_to: Cell::new([None; MAX_LENT]),
            cells: cells.get(..MAX_LENT).unwrap_or(cells),
        }
    }

    /// Makes the APT granule `apt` of the realm `rd` reachable (the caller holds the RD's
    /// lock and the CSM lock, or the granule's own lock at APT_CREATE); `false` if full.
    pub fn add(&mut self, rd: apt::Rd, apt: GranuleAddr) -> bool {
        match self.apts.get_mut(self.len) {
            Some(slot) => {
                *slot = (rd, apt);
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

    /// The cell holding `rd`'s decoded table, if one does.
    fn cell_of(&self, rd: apt::Rd) -> Option<&RefCell<FwApt>> {
        let i = self.lent_to.get().iter().position(|r| *r == Some(rd))?;
        self.cells.get(i).copied()
    }

    /// Forgets the decoded copy of `rd`'s table (its granule is about to change).
    fn forget(&mut self, rd: apt::Rd) {
        for slot in self.lent_to.get_mut() {
            if *slot == Some(rd) {
                *slot = None;
            }
        }
    }

    /// Encodes `table` into the granule bound to `rd`, a word per store.
    fn write(&self, rd: apt::Rd, table: &FwApt) {
        if let Some(granule) = self.granule(rd) {
            self.machine
                .with_realm_value(granule, 0, |words: &mut [u64; GRANULE_WORDS]| {
                    table.fw_encode(words)
                });
        }
    }

    /// The index of the cell holding `rd`'s table, if one does.
    fn index_of(&self, rd: apt::Rd) -> Option<usize> {
        let i = self.lent_to.get().iter().position(|r| *r == Some(rd))?;
        (i < self.cells.len()).then_some(i)
    }

    /// Decodes the table bound to `rd` into `table`, in place, as aligned words (the codec
    /// reads whole words: no byte loads, no copy of the granule); `false` if there is no
    /// table or it does not decode.
    fn decode_into(&self, rd: apt::Rd, table: &mut FwApt) -> bool {
        let Some(granule) = self.granule(rd) else {
            return false;
        };
        self.machine
            .with_realm_value(granule, 0, |words: &mut [u64; GRANULE_WORDS]| {
                table.fw_decode_into(words).is_ok()
            })
    }

    fn granule(&self, rd: apt::Rd) -> Option<GranuleAddr> {
        self.apts
            .iter()
            .take(self.len)
            .find(|(r, _)| *r == rd)
            .map(|(_, a)| *a)
    }
}

impl<M: Machine> AptStore<FW_REGIONS, FW_GRANTS, FW_ATTACHMENTS> for GranuleStore<'_, M> {
    fn table(&self, rd: apt::Rd) -> Option<Lent<'_, FwApt>> {
        if let Some(cell) = self.cell_of(rd) {
            return cell.try_borrow().ok().map(Lent::Cell);
        }
        // A cell nobody holds a table in is borrowed by nobody: decode into it in place.
        let mut lent_to = self.lent_to.get();
        let free = lent_to.iter().position(Option::is_none)?;
        let cell = self.cells.get(free)?;
        let decoded = self.decode_into(rd, &mut *cell.try_borrow_mut().ok()?);
        if !decoded {
            return None;
        }
        *lent_to.get_mut(free)? = Some(rd);
        self.lent_to.set(lent_to);
        cell.try_borrow().ok().map(Lent::Cell)
    }

    fn received(
        &self,
        rd: apt::Rd,
        share: apt::ShareId,
    ) -> Option<(apt::RealmId, Option<apt::IpaRange>)> {
        let read = |table: &FwApt| {
            let window = table.fw_attachment(share).and_then(|a| a.window);
            (table.owner, window)
        };
        if let Some(cell) = self.cell_of(rd) {
            return cell.try_borrow().ok().map(|table| read(&table));
        }
        // Many peers, one at a time, through one cell nobody holds a table in.
        let free = self.lent_to.get().iter().position(Option::is_none)?;
        let mut table = self.cells.get(free)?.try_borrow_mut().ok()?;
        self.decode_into(rd, &mut table).then(|| read(&table))
    }

    fn edit_lent(&mut self, rd: apt::Rd, edit: &mut dyn FnMut(&mut FwApt) -> bool) -> Option<bool> {
        let i = self.index_of(rd)?;
        let mut table = self.cells.get(i)?.try_borrow_mut().ok()?;
        let ok = edit(&mut table);
        if ok {
            // The cell now holds what the granule holds: still a good copy to lend.
            self.write(rd, &table);
        } else if let Some(slot) = self.lent_to.get_mut().get_mut(i) {
            // What the edit left behind is not the granule's table any more.
            *slot = None;
        }
        Some(ok)
    }

    fn edit_copy(
        &mut self,
        rd: apt::Rd,
        init: Option<(apt::RealmId, u64)>,
        edit: &mut dyn FnMut(&mut FwApt) -> bool,
    ) -> bool {
        // A cell with no table, or else the last one (its table forgotten).
        let lent_to = self.lent_to.get();
        let count = self.cells.len().min(MAX_LENT);
        let free = (0..count).find(|&i| lent_to.get(i).is_some_and(Option::is_none));
        let Some(i) = free.or(count.checked_sub(1)) else {
            return false;
        };
        if let Some(slot) = self.lent_to.get_mut().get_mut(i) {
            *slot = None;
        }
        let Some(Ok(mut table)) = self.cells.get(i).map(|cell| cell.try_borrow_mut()) else {
            return false;
        };
        let load = |table: &mut FwApt| self.decode_into(rd, table);
        let ok = csm::plan::edit_working_copy(&mut table, init, load, edit);
        if ok {
            self.forget(rd);
            self.write(rd, &table);
        }
        ok
    }

    fn store(&mut self, rd: apt::Rd, apt: &FwApt) {
        self.forget(rd);
        self.write(rd, apt);
    }

    fn clear(&mut self, rd: apt::Rd) {
        self.forget(rd);
        if let Some(granule) = self.granule(rd) {
            self.machine.zero_granule(granule);
        }
    }
}
