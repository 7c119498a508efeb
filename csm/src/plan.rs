// SPDX-License-Identifier: MIT OR Apache-2.0
//! Check, then commit. Every operation is split in two:
//!
//! * a **check** (`Csm::check_*`, `&self`): reads the global state, the APTs of the realms
//!   involved (their words lent by an [`AptStore`] and read in place, `apt::AptWords`) and
//!   the stage-2 summaries, makes every check, and writes a [`Plan`] — the effects and reply,
//!   the new counters and index entry, and the [`Edit`]s to the involved realms' tables.
//!   Nothing is written; an error changes nothing (S10).
//! * a **commit** ([`Csm::commit`], `&mut self`): one pass over the edited tables, each
//!   edited in place by the store (record by record, [`Change::apply`]; in test, debug and
//!   model-checker builds the result must also be a valid table), then the counters and the
//!   index. It makes no decision. A plan that fails part way ([`Corrupt`]: a table that does
//!   not load, an edit that does not apply, an invalid result) can only come from a monitor
//!   bug, which stops the monitor: the tables written before it are never used.
//!
//! The monitor holds the CSM lock from the check to the end of the commit, so the tables the
//! commit loads are the ones the check loaded. [`Csm::involved`] tells it, before the check,
//! which RDs to lock (ascending) so it can compute the stage-2 summaries under their locks.

use apt::{
    AptWords, AptWordsMut, Attachment, Grant, GrantState, IpaRange, Rd, RealmId, RegionId,
    RegionState, ShareId,
};

use crate::effect::{Effects, Outcome, Reply};
use crate::ops::call::Call;
use crate::state::{Csm, IndexEntry};

/// The monitor's access to APT granules, which hold their tables as words
/// (`apt::words`): a store lends a table's words (`table`: the first `Apt::TABLE_WORDS` of
/// its granule, their header and every record's fields checked with `AptWords::new`, the
/// table rules having been kept by the operations that wrote them), edits them in place
/// (`edit`) and zeroes the granule after `RMI_APT_DESTROY` (`clear`).
///
/// A store need lend no more than [`MAX_LENT`] tables during one check — the caller's own and
/// one peer's: an operation that reaches many peers (`RMI_APT_DESTROY`, a damaged or
/// destroyed region) reads each peer's received grant with [`AptStore::received`] instead,
/// which borrows nothing. Lent tables stay as they are until the store is edited (`&mut`).
pub trait AptStore<const NR: usize, const NG: usize, const NA: usize> {
    /// The words of the table bound to `rd`, lent (checked: see the trait); `None` if there
    /// is none, its fields do not check or the store has lent [`MAX_LENT`] other tables
    /// already.
    fn table(&self, rd: Rd) -> Option<Lent<'_, [u64]>>;
    /// The owner of the table bound to `rd` and the window of its received grant `share`
    /// (`None` inside if it has no such grant or the grant is not attached), read without
    /// lending the table; `None` if there is no table or its fields do not check.
    fn received(&self, rd: Rd, share: ShareId) -> Option<(RealmId, Option<IpaRange>)> {
        let words = self.table(rd)?;
        let apt = view::<NR, NG, NA>(&words);
        Some((apt.owner(), apt.attachment(share).and_then(|a| a.window)))
    }
    /// Applies `edit` to the words of `rd`'s table — as its granule holds them, or all zero
    /// when `fresh` (`RMI_APT_CREATE` writes the table) — and, if `edit` answers `true`,
    /// makes them the granule's. Answers what `edit` did (`false` if there is no table or its
    /// fields do not check).
    fn edit(&mut self, rd: Rd, fresh: bool, edit: &mut dyn FnMut(&mut [u64]) -> bool) -> bool;
    /// Zeroes the granule bound to `rd` (its APT is gone).
    fn clear(&mut self, rd: Rd);
}

/// Most tables a check borrows from its store at once: the caller's and one peer's.
pub const MAX_LENT: usize = 2;

/// A table's words an [`AptStore`] lends: a plain borrow of words the store keeps, or a
/// borrow of a cell the store copied them into (the firmware's store).
#[derive(Debug)]
pub enum Lent<'s, T: ?Sized> {
    /// Borrowed from the store.
    Borrowed(&'s T),
    /// Borrowed from one of the store's cells.
    Cell(core::cell::Ref<'s, T>),
}

impl<T: ?Sized> core::ops::Deref for Lent<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Lent::Borrowed(table) => table,
            Lent::Cell(table) => table,
        }
    }
}

/// A table's words, lent by a store.
pub type Table<'s> = Lent<'s, [u64]>;

/// The table in words a store lent (and so checked), read in place.
pub fn view<const NR: usize, const NG: usize, const NA: usize>(
    words: &[u64],
) -> AptWords<'_, NR, NG, NA> {
    AptWords::from_checked(words)
}

/// An APT that the index names could not be loaded, or its contents contradict another
/// table: only a monitor bug (or a hardware fault) gets here. The operation changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Corrupt;

/// One change to one realm's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// A new, empty table (`RMI_APT_CREATE`).
    Init {
        /// Owner.
        owner: RealmId,
        /// Protected IPA size.
        par_size: u64,
    },
    /// A new live region in a free slot.
    AddRegion {
        /// Its id.
        id: RegionId,
        /// Its range.
        range: IpaRange,
    },
    /// Remove a region and its grants.
    RemoveRegion(RegionId),
    /// Mark a region damaged and drop its grants.
    Damage(RegionId),
    /// A new grant in a free slot of a region.
    AddGrant {
        /// The region.
        region: RegionId,
        /// The grant.
        grant: Grant,
    },
    /// Remove a grant.
    RemoveGrant(ShareId),
    /// Set a grant's state.
    SetGrant {
        /// The grant.
        share: ShareId,
        /// Its new state.
        state: GrantState,
    },
    /// A new received grant in a free attachment slot.
    AddAttachment(Attachment),
    /// Remove a received grant.
    RemoveAttachment(ShareId),
    /// Attach (`Some`) or detach (`None`) a received grant.
    SetWindow {
        /// The grant.
        share: ShareId,
        /// The window.
        window: Option<IpaRange>,
    },
}

impl Change {
    /// Applies the change to a table's words in place (`apt::words`); `false` if it does not
    /// apply (nothing found, no free slot).
    pub fn apply<const NR: usize, const NG: usize, const NA: usize>(
        self,
        words: &mut [u64],
    ) -> bool {
        let mut apt = AptWordsMut::<NR, NG, NA>::new(words);
        match self {
            Change::Init { owner, par_size } => {
                apt.init(owner, par_size);
                true
            }
            Change::AddRegion { id, range } => {
                // A free region slot's grant slots are free too (`AptWords::new`).
                let Some(i) = apt.read().free_region_slot() else {
                    return false;
                };
                apt.set_region(i, Some((id, range, RegionState::Live)));
                true
            }
            Change::RemoveRegion(id) => {
                let Some(i) = apt.read().region_slot(id) else {
                    return false;
                };
                apt.clear_region(i);
                true
            }
            Change::Damage(id) => {
                let read = apt.read();
                let Some((i, (id, range, _))) = read
                    .region_slot(id)
                    .and_then(|i| Some((i, read.region_head(i)?)))
                else {
                    return false;
                };
                apt.clear_region(i);
                apt.set_region(i, Some((id, range, RegionState::Damaged)));
                true
            }
            Change::AddGrant { region, grant } => {
                let read = apt.read();
                let Some((i, j)) = read
                    .region_slot(region)
                    .and_then(|i| Some((i, read.free_grant_slot(i)?)))
                else {
                    return false;
                };
                apt.set_grant(i, j, Some(&grant));
                true
            }
            Change::RemoveGrant(share) => {
                let Some((i, j)) = apt.read().grant_slot(share) else {
                    return false;
                };
                apt.set_grant(i, j, None);
                true
            }
            Change::SetGrant { share, state } => {
                let read = apt.read();
                let Some(((i, j), grant)) = read
                    .grant_slot(share)
                    .and_then(|(i, j)| Some(((i, j), read.grant_in(i, j)?)))
                else {
                    return false;
                };
                apt.set_grant(i, j, Some(&Grant { state, ..grant }));
                true
            }
            Change::AddAttachment(a) => {
                let Some(k) = apt.read().free_attachment_slot() else {
                    return false;
                };
                apt.set_attachment(k, Some(&a));
                true
            }
            Change::RemoveAttachment(share) => {
                let Some(k) = apt.read().attachment_slot(share) else {
                    return false;
                };
                apt.set_attachment(k, None);
                true
            }
            Change::SetWindow { share, window } => {
                let read = apt.read();
                let Some((k, a)) = read
                    .attachment_slot(share)
                    .and_then(|k| Some((k, read.attachment_in(k)?)))
                else {
                    return false;
                };
                apt.set_attachment(k, Some(&Attachment { window, ..a }));
                true
            }
        }
    }
}

/// A change to the table of the realm with RD `rd`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Edit {
    /// Whose table.
    pub rd: Rd,
    /// What changes.
    pub change: Change,
}

/// Most edits any one plan holds with the firmware capacities: one batch of
/// `RMI_APT_DESTROY` ([`APT_DESTROY_BATCH`] relations, an edit in the peer's table and one in
/// the realm's own for each), or the removal of a region with a grant in every slot.
pub const MAX_EDITS: usize = if 2 * APT_DESTROY_BATCH > apt::capacity::FW_GRANTS + 1 {
    2 * APT_DESTROY_BATCH
} else {
    apt::capacity::FW_GRANTS + 1
};

/// Grants and received grants `RMI_APT_DESTROY` removes in one step (check and commit): a
/// realm with more is destroyed in several steps under the same locks ([`Reply::Partial`]),
/// so that one plan stays small.
pub const APT_DESTROY_BATCH: usize = 4;

/// Most realms one operation involves: the realm itself and one peer per grant and received
/// grant (`RMI_APT_DESTROY`, firmware capacities).
pub const MAX_INVOLVED: usize =
    1 + apt::capacity::FW_REGIONS * apt::capacity::FW_GRANTS + apt::capacity::FW_ATTACHMENTS;

/// A bounded list of RDs, ascending and without duplicates: the order in which the monitor
/// locks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Involved {
    rds: [Rd; MAX_INVOLVED],
    len: usize,
}

impl Involved {
    pub(crate) const fn new() -> Self {
        Self {
            rds: [Rd(0); MAX_INVOLVED],
            len: 0,
        }
    }

    /// Adds `rd` in order; `false` if full (never, for the firmware capacities).
    pub(crate) fn add(&mut self, rd: Rd) -> bool {
        if self.contains(rd) {
            return true;
        }
        let Some(slot) = self.rds.get_mut(self.len) else {
            return false;
        };
        *slot = rd;
        // Insertion into the sorted prefix (a general sort would add 2 KiB of firmware), a
        // pair at a time through `get_mut`: no bounds-check panic in the firmware.
        let mut i = self.len;
        self.len += 1;
        while let Some(pair) = i.checked_sub(1).and_then(|j| self.rds.get_mut(j..=i)) {
            match pair {
                [before, after] if *before > *after => core::mem::swap(before, after),
                _ => break,
            }
            i -= 1;
        }
        true
    }

    /// The RDs, ascending.
    pub fn rds(&self) -> &[Rd] {
        self.rds.get(..self.len).unwrap_or(&[])
    }

    /// True if `rd` is in the list.
    pub fn contains(&self, rd: Rd) -> bool {
        self.rds().binary_search(&rd).is_ok()
    }
}

/// What happens to the global index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum IndexChange {
    None,
    Add(usize, IndexEntry),
    Remove(usize, Rd),
}

/// A checked operation, ready to commit: see the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub(crate) outcome: Outcome,
    pub(crate) edits: [Option<Edit>; MAX_EDITS],
    pub(crate) edit_count: usize,
    pub(crate) counters: (u64, u64, u64),
    pub(crate) index: IndexChange,
}

impl Default for Plan {
    fn default() -> Self {
        Self::empty()
    }
}

impl Plan {
    /// Storage for a plan (the `check_*` functions fill it): the monitor keeps one, under the CSM
    /// lock, outside any stack.
    pub const fn empty() -> Self {
        Self {
            outcome: Outcome::reply(Reply::Done),
            edits: [None; MAX_EDITS],
            edit_count: 0,
            counters: (1, 1, 1),
            index: IndexChange::None,
        }
    }

    /// Runs `check`, a check that writes its plan into storage, on a fresh plan and returns
    /// it: the by-value form the model checker and the tests use (the monitor passes its own
    /// storage instead).
    pub fn of<E>(check: impl FnOnce(&mut Plan) -> Result<(), E>) -> Result<Plan, E> {
        let mut plan = Plan::empty();
        check(&mut plan)?;
        Ok(plan)
    }

    /// Starts a plan in place that changes nothing and answers `reply` (every field reset).
    pub(crate) fn start<const R: usize>(&mut self, csm: &Csm<R>, reply: Reply) -> &mut Self {
        self.outcome.effects.clear();
        self.outcome.reply = reply;
        self.edits = [None; MAX_EDITS];
        self.edit_count = 0;
        self.counters = csm.next_ids();
        self.index = IndexChange::None;
        self
    }

    /// Starts a plan in place whose call exits to the host and restarts.
    pub(crate) fn start_exit<const R: usize>(
        &mut self,
        csm: &Csm<R>,
        exit: crate::effect::CsmExit,
        range: IpaRange,
    ) {
        self.start(csm, Reply::Restart);
        self.outcome
            .effects
            .push(crate::effect::Effect::ExitToHost { exit, range });
    }

    /// A plan that changes nothing.
    pub(crate) fn new<const R: usize>(csm: &Csm<R>, outcome: Outcome) -> Self {
        Self {
            outcome,
            edits: [None; MAX_EDITS],
            edit_count: 0,
            counters: csm.next_ids(),
            index: IndexChange::None,
        }
    }

    pub(crate) fn reply<const R: usize>(csm: &Csm<R>, reply: Reply) -> Self {
        Self::new(csm, Outcome::reply(reply))
    }

    pub(crate) fn edit(&mut self, rd: Rd, change: Change) -> Result<(), Corrupt> {
        let slot = self.edits.get_mut(self.edit_count).ok_or(Corrupt)?;
        *slot = Some(Edit { rd, change });
        self.edit_count += 1;
        Ok(())
    }

    /// The effects the monitor applies and the reply.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The table edits, in order.
    pub fn edits(&self) -> impl Iterator<Item = &Edit> {
        self.edits.iter().take(self.edit_count).flatten()
    }

    /// The distinct RDs whose tables are edited, in first-edit order, each with its first edit's
    /// index.
    fn edited(&self) -> impl Iterator<Item = (usize, Rd)> + '_ {
        (0..self.edit_count).filter_map(move |i| {
            let rd = self.edit_at(i)?.rd;
            let first = (0..i).all(|p| self.edit_at(p).is_none_or(|e| e.rd != rd));
            first.then_some((i, rd))
        })
    }

    /// The `i`th edit.
    fn edit_at(&self, i: usize) -> Option<&Edit> {
        self.edits.get(i)?.as_ref()
    }

    /// Applies this plan's edits for `rd` to its table's words in place (as its granule holds
    /// them, or zero before an `Init`): `false` if an edit does not apply. In test, debug and
    /// model-checker builds the result must also be a valid table (every field and rule,
    /// `Apt::from_table_words`); the firmware relies on the checks that made the plan (the
    /// model checker, the property tests, the fuzz target and the stress run decode every
    /// table in full after every step).
    fn apply_to<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        rd: Rd,
        words: &mut [u64],
    ) -> bool {
        let applied = (0..self.edit_count)
            .filter_map(|i| self.edit_at(i))
            .filter(|e| e.rd == rd)
            .all(|e| e.change.apply::<NR, NG, NA>(words));
        applied && valid_in_checked_builds::<NR, NG, NA>(words)
    }

    /// True if `rd`'s first edit, the `first`th, creates its table.
    fn creates(&self, first: usize) -> bool {
        matches!(
            self.edit_at(first).map(|e| e.change),
            Some(Change::Init { .. })
        )
    }
}

/// In test, debug and model-checker builds: the words are a valid table.
#[cfg(any(test, debug_assertions, feature = "invariants", feature = "model"))]
fn valid_in_checked_builds<const NR: usize, const NG: usize, const NA: usize>(
    words: &[u64],
) -> bool {
    apt::Apt::<NR, NG, NA>::from_table_words(words).is_ok()
}

/// In the firmware's release build: the plan's checks are trusted (see `Plan::apply_to`).
#[cfg(not(any(test, debug_assertions, feature = "invariants", feature = "model")))]
const fn valid_in_checked_builds<const NR: usize, const NG: usize, const NA: usize>(
    _: &[u64],
) -> bool {
    true
}

impl<const R: usize> Csm<R> {
    /// Commits a checked plan: each edited table (edited in place by the store), then the
    /// counters and the index. Returns the effects for the monitor to apply and the reply. A plan that
    /// fails (a table that does not load, an edit that does not apply, an invalid result:
    /// only a monitor bug gets there) answers `Err(Corrupt)` where it failed, with the counters
    /// and the index unchanged and the tables before it written: the monitor stops on it.
    pub fn commit<const NR: usize, const NG: usize, const NA: usize>(
        &mut self,
        plan: Plan,
        store: &mut (impl AptStore<NR, NG, NA> + ?Sized),
    ) -> Result<Outcome, Corrupt> {
        self.commit_in_place(&plan, store)?;
        Ok(plan.outcome)
    }

    /// [`Csm::commit`] of a plan kept in place (the monitor's: no copy of it on the stack);
    /// its effects and reply are then read from [`Plan::outcome`].
    pub fn commit_in_place<const NR: usize, const NG: usize, const NA: usize>(
        &mut self,
        plan: &Plan,
        store: &mut (impl AptStore<NR, NG, NA> + ?Sized),
    ) -> Result<(), Corrupt> {
        for (first, rd) in plan.edited() {
            let fresh = plan.creates(first);
            if !store.edit(rd, fresh, &mut |words| {
                plan.apply_to::<NR, NG, NA>(rd, words)
            }) {
                return Err(Corrupt);
            }
        }
        (self.next_realm, self.next_region, self.next_share) = plan.counters;
        match plan.index {
            IndexChange::None => {}
            IndexChange::Add(slot, entry) => {
                if let Some(s) = self.index.get_mut(slot) {
                    *s = Some(entry);
                }
            }
            IndexChange::Remove(slot, rd) => {
                if let Some(s) = self.index.get_mut(slot) {
                    *s = None;
                }
                store.clear(rd);
            }
        }
        Ok(())
    }

    /// The RDs an operation by (or on) `rd` may read or change, ascending: the monitor locks
    /// them after taking the CSM lock and before the check. `call` is the RSI call, or `None`
    /// for the host events (`RMI_APT_DESTROY` and `RMI_DATA_DESTROY` involve every peer named
    /// in the realm's table; the other host events only the realm itself, which is always
    /// included). An unreadable table involves only what is known; the check then fails.
    pub fn involved<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        rd: Rd,
        call: Option<&Call>,
    ) -> Involved {
        let mut out = Involved::new();
        out.add(rd);
        let Ok(Some((_, words))) = self.own(store, rd) else {
            return out;
        };
        let apt = view::<NR, NG, NA>(&words);
        let add_id = |id: RealmId, out: &mut Involved| {
            if let Some(e) = self.by_id(id) {
                out.add(e.rd);
            }
        };
        match call {
            Some(Call::Create { .. } | Call::Query { .. }) => {}
            Some(Call::Share { consumer, .. }) => add_id(*consumer, &mut out),
            Some(Call::Accept { share, .. } | Call::Detach { share }) => {
                if let Some(a) = apt.attachment(*share) {
                    add_id(a.provider, &mut out);
                }
            }
            Some(Call::Revoke { share }) => {
                if let Some((_, _, g)) = apt.grant_of(*share) {
                    add_id(g.consumer, &mut out);
                }
            }
            Some(Call::Destroy { region }) => {
                if let Some((_, r)) = apt.region(*region) {
                    for g in r.grants() {
                        add_id(g.consumer, &mut out);
                    }
                }
            }
            None => {
                for g in apt.grants() {
                    add_id(g.consumer, &mut out);
                }
                for a in apt.attachments() {
                    add_id(a.provider, &mut out);
                }
            }
        }
        out
    }
}

impl From<Effects> for Outcome {
    fn from(effects: Effects) -> Self {
        Outcome {
            effects,
            reply: Reply::Done,
        }
    }
}
