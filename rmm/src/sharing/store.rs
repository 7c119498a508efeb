// SPDX-License-Identifier: MIT OR Apache-2.0
//! `csm::AptStore` over APT granules: each CSM realm's regions, grants and received grants
//! live in its APT granule (one 4 KiB granule, Realm PAS) as the words of its table
//! (`apt::words`: the first [`FW_TABLE_WORDS`] words, zeros after them). The store reaches
//! only the APTs of the realms the operation locked (it is built from them), so a plan that
//! reaches further finds nothing there and is refused as corrupt instead of touching an
//! unlocked realm.
//!
//! A store lives for one operation, under the CSM lock, during which APT granules change
//! only through it. It lends the tables a check reads ([`csm::MAX_LENT`]: the caller's and one
//! peer's) as copies of their words in cells, each checked once when copied (header and every
//! record's fields, `apt::capacity::fw::check`); it reads a peer's received grant in place
//! without lending its table (`received`, for operations that reach many peers); it edits a
//! table's words in a cell and copies them back into the granule (`edit`), and the cell then
//! still holds what the granule holds. Nothing decodes or encodes a whole table. The cells
//! are the only table-sized storage of an operation, in the frame of the operation's owner.

use crate::arch::Machine;
use crate::granule::GranuleAddr;
use apt::capacity::{FW_ATTACHMENTS, FW_GRANTS, FW_REGIONS, FW_TABLE_WORDS};
use apt::codec::GRANULE_WORDS;
use core::cell::{Cell, Ref, RefCell};
use csm::{AptStore, Lent, MAX_INVOLVED, MAX_LENT};

/// A cell for a store to copy a table's words into.
pub type WordCell = RefCell<[u64; FW_TABLE_WORDS]>;

/// An empty cell. The operation's owner keeps its cells in its own frame (`let cell =
/// empty_cell();`) and lends them to its store: two for an operation (the caller's table and
/// a peer's, or a peer's read and then the one the commit edits), one for an operation on the
/// caller's own table alone.
pub const fn empty_cell() -> WordCell {
    RefCell::new([0; FW_TABLE_WORDS])
}

/// Copies the table words of the APT granule `granule` into `words` and checks them (header
/// and every record's fields, `apt::capacity::fw::check`); `false` if they do not check. The
/// caller holds the CSM lock, under which APT granules change only through a store.
pub fn load_checked(
    machine: &impl Machine,
    granule: GranuleAddr,
    words: &mut [u64; FW_TABLE_WORDS],
) -> bool {
    machine.with_realm_value(granule, 0, |granule: &mut [u64; GRANULE_WORDS]| {
        words
            .iter_mut()
            .zip(granule.iter())
            .for_each(|(w, g)| *w = *g);
    });
    apt::capacity::fw::check(words).is_ok()
}

/// The APT granules of the locked realms.
pub struct GranuleStore<'m, M: Machine> {
    machine: &'m M,
    /// The first `len` are the reachable APTs: (RD, APT granule).
    apts: [(apt::Rd, GranuleAddr); MAX_INVOLVED],
    len: usize,
    /// Whose table each cell holds, as its granule holds it (copied and checked by this
    /// store, or edited and written back since; `None`: the cell holds nothing valid and
    /// nobody borrows it).
    lent_to: Cell<[Option<apt::Rd>; MAX_LENT]>,
    /// The cells tables are copied into and lent from (at most [`MAX_LENT`]).
    cells: &'m [&'m WordCell],
}

impl<'m, M: Machine> GranuleStore<'m, M> {
    /// No APT reachable yet; tables are copied into `cells` (see [`empty_cell`]). Out of
    /// line: clearing the list of every RD an operation may involve is code of its own.
    #[inline(never)]
    pub fn new(machine: &'m M, cells: &'m [&'m WordCell]) -> Self {
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

    /// The index of the cell holding `rd`'s table, if one does.
    fn index_of(&self, rd: apt::Rd) -> Option<usize> {
        let i = self.lent_to.get().iter().position(|r| *r == Some(rd))?;
        (i < self.cells.len()).then_some(i)
    }

    /// The index of a cell holding no table, if there is one.
    fn free_index(&self) -> Option<usize> {
        let i = self.lent_to.get().iter().position(Option::is_none)?;
        (i < self.cells.len()).then_some(i)
    }

    /// Marks cell `i` as holding `rd`'s table (or nothing).
    fn set_holder(&self, i: usize, rd: Option<apt::Rd>) {
        let mut lent_to = self.lent_to.get();
        if let Some(slot) = lent_to.get_mut(i) {
            *slot = rd;
        }
        self.lent_to.set(lent_to);
    }

    /// Copies the table words of `rd`'s granule into `words` and checks them; `false` if
    /// there is no granule or its words do not check.
    fn load(&self, rd: apt::Rd, words: &mut [u64; FW_TABLE_WORDS]) -> bool {
        self.granule(rd)
            .is_some_and(|granule| load_checked(self.machine, granule, words))
    }

    /// Writes `words` into the table words of `rd`'s granule (the words after them stay
    /// zero: nothing writes there).
    fn write(&self, rd: apt::Rd, words: &[u64; FW_TABLE_WORDS]) {
        if let Some(granule) = self.granule(rd) {
            self.machine
                .with_realm_value(granule, 0, |granule: &mut [u64; GRANULE_WORDS]| {
                    granule
                        .iter_mut()
                        .zip(words.iter())
                        .for_each(|(g, w)| *g = *w);
                });
        }
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
    fn table(&self, rd: apt::Rd) -> Option<Lent<'_, [u64]>> {
        let i = match self.index_of(rd) {
            Some(i) => i,
            None => {
                // A cell nobody holds a table in is borrowed by nobody: copy into it.
                let i = self.free_index()?;
                let loaded = self.load(rd, &mut *self.cells.get(i)?.try_borrow_mut().ok()?);
                if !loaded {
                    return None;
                }
                self.set_holder(i, Some(rd));
                i
            }
        };
        let words = self.cells.get(i)?.try_borrow().ok()?;
        Some(Lent::Cell(Ref::map(words, |w| &w[..])))
    }

    fn received(
        &self,
        rd: apt::Rd,
        share: apt::ShareId,
    ) -> Option<(apt::RealmId, Option<apt::IpaRange>)> {
        if let Some(i) = self.index_of(rd) {
            let words = self.cells.get(i)?.try_borrow().ok()?;
            return Some(apt::capacity::fw::received(&words[..], share));
        }
        // Many peers, one at a time, read in place: checked, then the one record looked up.
        let granule = self.granule(rd)?;
        self.machine
            .with_realm_value(granule, 0, |granule: &mut [u64; GRANULE_WORDS]| {
                let words = granule.get(..FW_TABLE_WORDS)?;
                apt::capacity::fw::check(words).ok()?;
                Some(apt::capacity::fw::received(words, share))
            })
    }

    fn edit(&mut self, rd: apt::Rd, fresh: bool, edit: &mut dyn FnMut(&mut [u64]) -> bool) -> bool {
        // The cell holding `rd`'s table, or one with no table, or else the last one (its
        // table forgotten).
        let held = self.index_of(rd);
        let count = self.cells.len().min(MAX_LENT);
        let Some(i) = held.or(self.free_index()).or(count.checked_sub(1)) else {
            return false;
        };
        self.set_holder(i, None);
        let Some(Ok(mut words)) = self.cells.get(i).map(|cell| cell.try_borrow_mut()) else {
            return false;
        };
        let ready = if fresh {
            words.fill(0);
            true
        } else {
            held.is_some() || self.load(rd, &mut words)
        };
        if !(ready && edit(&mut words[..])) {
            return false;
        }
        self.write(rd, &words);
        // The cell now holds what the granule holds: still a good copy to lend.
        drop(words);
        self.set_holder(i, Some(rd));
        true
    }

    fn clear(&mut self, rd: apt::Rd) {
        if let Some(i) = self.index_of(rd) {
            self.set_holder(i, None);
        }
        if let Some(granule) = self.granule(rd) {
            self.machine.zero_granule(granule);
        }
    }
}
