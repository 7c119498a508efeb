// SPDX-License-Identifier: MIT OR Apache-2.0
//! The model world: the CSM state plus everything of the monitor the CSM relies on — three RD
//! slots with a lifecycle, four pages of protected IPA space each (two level-3 tables of two
//! pages), and the rules the monitor follows when it applies effects. Applying an effect whose
//! precondition does not hold is a violation, so the checker also proves the effects are
//! always applicable.

use apt::{Apt, IpaRange, PAGE_SIZE, Rd};
use rmm_abi::rmi::states::Ripas;

use crate::effect::{Effect, Outcome};
use crate::invariants::{AliasEntry, Invariant, Stage2Audit, Violation};
use crate::ops::call::HostEvent;
use crate::plan::AptStore;
use crate::state::Csm;
use crate::view::{RangeSummary, Stage2View};

/// Realm slots (RDs).
pub const REALMS: usize = 3;
/// Pages of protected IPA space per realm.
pub const PAGES: usize = 4;
/// Pages per level-3 table.
pub const TABLE_PAGES: usize = 2;
/// Protected IPA size.
pub const PAR: u64 = PAGES as u64 * PAGE_SIZE;

/// The model's global CSM state: 3 realms.
pub type ModelCsm = Csm<REALMS>;

/// The model's table: 2 regions of 2 grants, 2 attachment slots.
pub type ModelApt = Apt<2, 2, 2>;

/// Words of the model's table (the first words of its granule).
pub const MODEL_WORDS: usize = ModelApt::TABLE_WORDS;

/// The model's APT granules, one per RD slot, as the words of their tables: the operations
/// read and edit them in place as the monitor does (`apt::words`); the checks and the
/// canonical form read them decoded ([`Apts::get`], every check of `Apt::from_table_words`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Apts {
    tables: [Option<[u64; MODEL_WORDS]>; REALMS],
}

impl Apts {
    /// No table.
    pub const fn new() -> Self {
        Self {
            tables: [None; REALMS],
        }
    }

    /// The table of slot `i`, decoded; `None` if there is none or it does not decode.
    pub fn get(&self, i: usize) -> Option<ModelApt> {
        ModelApt::from_table_words(self.tables.get(i)?.as_ref()?).ok()
    }

    /// Every table, decoded, in slot order.
    pub fn all(&self) -> impl Iterator<Item = ModelApt> + '_ {
        (0..REALMS).filter_map(|i| self.get(i))
    }

    /// Replaces the table of slot `i`.
    pub fn set(&mut self, i: usize, table: Option<&ModelApt>) {
        if let Some(slot) = self.tables.get_mut(i) {
            *slot = table.map(|t| {
                let mut words = [0; MODEL_WORDS];
                t.write_table_words(&mut words);
                words
            });
        }
    }

    /// The tables with slot `i`'s moved to slot `perm[i]`.
    pub fn permuted(&self, perm: [usize; REALMS]) -> Self {
        let mut out = *self;
        for (i, &to) in perm.iter().enumerate() {
            if let (Some(dst), Some(src)) = (out.tables.get_mut(to), self.tables.get(i)) {
                *dst = *src;
            }
        }
        out
    }
}

impl Default for Apts {
    fn default() -> Self {
        Self::new()
    }
}

impl AptStore<2, 2, 2> for Apts {
    fn table(&self, rd: Rd) -> Option<crate::Lent<'_, [u64]>> {
        let words = slot(rd).and_then(|i| self.tables.get(i)?.as_ref())?;
        apt::AptWords::<2, 2, 2>::new(&words[..]).ok()?;
        Some(crate::Lent::Borrowed(&words[..]))
    }
    fn edit(&mut self, rd: Rd, fresh: bool, edit: &mut dyn FnMut(&mut [u64]) -> bool) -> bool {
        let Some(table) = slot(rd).and_then(|i| self.tables.get_mut(i)) else {
            return false;
        };
        let mut words = match (fresh, *table) {
            (true, _) => [0; MODEL_WORDS],
            (false, Some(words)) if apt::AptWords::<2, 2, 2>::new(&words[..]).is_ok() => words,
            (false, _) => return false,
        };
        let ok = edit(&mut words);
        if ok {
            *table = Some(words);
        }
        ok
    }
    fn clear(&mut self, rd: Rd) {
        if let Some(t) = slot(rd).and_then(|i| self.tables.get_mut(i)) {
            *t = None;
        }
    }
}

/// RD address of slot `i`.
pub const fn rd(i: usize) -> Rd {
    Rd(0x10_0000 * (i as u64 + 1))
}

/// APT granule address of slot `i`.
pub const fn apt_pa(i: usize) -> u64 {
    rd(i).0 + 0x1000
}

/// Slot of an RD address.
pub fn slot(rd: Rd) -> Option<usize> {
    (0..REALMS).find(|&i| self::rd(i) == rd)
}

/// Realm lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Life {
    /// No realm in this RD slot.
    Absent,
    /// REALM_NEW.
    New,
    /// REALM_ACTIVE: its RECs make RSI calls.
    Active,
}

/// One stage-2 entry at level 3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Page {
    /// Unassigned with this RIPAS.
    Unassigned(Ripas),
    /// The realm's own DATA granule, with this RIPAS.
    Data(Ripas),
    /// A CSM alias of the provider slot's page.
    Alias {
        /// Provider slot.
        provider: u8,
        /// Provider page.
        page: u8,
        /// Stage-2 write permission.
        writable: bool,
    },
}

/// One RD slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Realm {
    /// Lifecycle.
    pub life: Life,
    /// Level-3 entries.
    pub pages: [Page; PAGES],
    /// Which level-3 tables exist.
    pub tables: [bool; PAGES / TABLE_PAGES],
}

impl Realm {
    /// An empty slot.
    pub const ABSENT: Realm = Realm {
        life: Life::Absent,
        pages: [Page::Unassigned(Ripas::Ram); PAGES],
        tables: [false; PAGES / TABLE_PAGES],
    };
}

/// The CSM state as the monitor holds it: the global part and the APT granules.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct System {
    /// The global state (counters, index).
    pub global: ModelCsm,
    /// The APT granules.
    pub apts: Apts,
}

impl core::ops::Deref for System {
    type Target = ModelCsm;
    fn deref(&self) -> &ModelCsm {
        &self.global
    }
}

impl core::ops::DerefMut for System {
    fn deref_mut(&mut self) -> &mut ModelCsm {
        &mut self.global
    }
}

/// The whole model state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct World {
    /// The state machine under test.
    pub csm: System,
    /// The realms' monitor-side state.
    pub realms: [Realm; REALMS],
}

/// Page index of an IPA, if inside the modelled space.
pub fn page_of(ipa: u64) -> Option<usize> {
    usize::try_from(ipa / PAGE_SIZE).ok().filter(|&p| p < PAGES)
}

fn pages_of(range: IpaRange) -> impl Iterator<Item = usize> {
    (0..range.pages()).filter_map(move |i| page_of(range.base() + i * PAGE_SIZE))
}

impl World {
    /// Three empty RD slots.
    pub fn empty() -> Self {
        Self {
            csm: System {
                global: ModelCsm::new(),
                apts: Apts::new(),
            },
            realms: [Realm::ABSENT; REALMS],
        }
    }

    /// Three active realms with APTs, each with pages 0–1 populated, pages 2–3 never used
    /// (unassigned RIPAS EMPTY, ready to be a window) and both level-3 tables: the state after
    /// the set-up every sharing scenario starts with.
    pub fn ready() -> Self {
        let mut w = Self::empty();
        for i in 0..REALMS {
            w.realms[i].life = Life::New;
            w.csm
                .global
                .host(
                    &mut w.csm.apts,
                    HostEvent::AptCreate {
                        rd: rd(i),
                        apt_pa: apt_pa(i),
                        state: rmm_abi::rmi::states::RealmState::New,
                        par_size: PAR,
                    },
                )
                .ok();
            w.realms[i] = Realm {
                life: Life::Active,
                pages: [
                    Page::Data(Ripas::Ram),
                    Page::Data(Ripas::Ram),
                    Page::Unassigned(Ripas::Empty),
                    Page::Unassigned(Ripas::Empty),
                ],
                tables: [true; PAGES / TABLE_PAGES],
            };
        }
        w
    }

    /// The RealmId of the realm in slot `i`, if it has an APT.
    pub fn id(&self, i: usize) -> Option<apt::RealmId> {
        self.csm.entry(rd(i)).map(|e| e.id)
    }

    /// The table of slot `i`, decoded.
    pub fn apt(&self, i: usize) -> Option<ModelApt> {
        self.csm.apts.get(i)
    }

    /// [`World::ready`], then realm 0 creates a region over pages 0–1 and shares it read-write
    /// with realm 1.
    pub fn offered() -> Self {
        let mut w = Self::ready();
        let range = IpaRange::new(0, 2 * PAGE_SIZE);
        let consumer = w.id(1);
        if let (Some(range), Some(consumer)) = (range, consumer) {
            let view = w.clone();
            if let Ok(crate::Outcome {
                reply: crate::Reply::Region(region),
                ..
            }) = w
                .csm
                .global
                .rsi(&mut w.csm.apts, rd(0), crate::Call::Create { range }, &view)
            {
                let share = crate::Call::Share {
                    region,
                    consumer,
                    mode: rmm_abi::csm::CsmMode::ReadWrite,
                };
                let _ = w.csm.global.rsi(&mut w.csm.apts, rd(0), share, &view);
            }
        }
        w
    }

    /// The entry at `ipa` of slot `i`.
    pub fn page(&self, i: usize, ipa: u64) -> Option<Page> {
        let p = page_of(ipa)?;
        self.realms.get(i)?.pages.get(p).copied()
    }

    /// Applies the effects of an outcome in order, as the monitor does; a violated
    /// precondition or a stale translation left behind is a violation.
    pub fn apply(&mut self, outcome: &Outcome) -> Result<(), Violation> {
        let mut stale: [[bool; PAGES]; REALMS] = [[false; PAGES]; REALMS];
        for effect in outcome.effects.iter() {
            match *effect {
                Effect::MapAliases {
                    consumer,
                    window,
                    provider,
                    source,
                    mode,
                } => {
                    let (Some(c), Some(p)) = (slot(consumer), slot(provider)) else {
                        return bad(Invariant::S1, "map between unknown realms");
                    };
                    for (i, cp) in pages_of(window).enumerate() {
                        let Some(pp) = page_of(source + i as u64 * PAGE_SIZE) else {
                            return bad(Invariant::S8, "alias source outside the provider");
                        };
                        if self.realms[p].pages[pp] != Page::Data(Ripas::Ram) {
                            return bad(Invariant::S8, "alias source is not the provider's RAM");
                        }
                        if self.realms[c].pages[cp] != Page::Unassigned(Ripas::Empty)
                            || !self.realms[c].tables[cp / TABLE_PAGES]
                        {
                            return bad(
                                Invariant::S10,
                                "alias over a live entry or without a table",
                            );
                        }
                        self.realms[c].pages[cp] = Page::Alias {
                            provider: p as u8,
                            page: pp as u8,
                            writable: mode.is_writable(),
                        };
                    }
                }
                Effect::UnmapAliases {
                    consumer,
                    window,
                    ripas,
                } => {
                    let Some(c) = slot(consumer) else {
                        return bad(Invariant::S1, "unmap in an unknown realm");
                    };
                    for cp in pages_of(window) {
                        if !matches!(self.realms[c].pages[cp], Page::Alias { .. }) {
                            return bad(Invariant::S4, "unmap of an entry that is not an alias");
                        }
                        self.realms[c].pages[cp] = Page::Unassigned(ripas);
                        stale[c][cp] = true;
                    }
                }
                Effect::InvalidateTlbs { realm, range } => {
                    if let Some(c) = slot(realm) {
                        for cp in pages_of(range) {
                            stale[c][cp] = false;
                        }
                    }
                }
                Effect::ExitToHost { .. } => {}
            }
        }
        if stale.iter().flatten().any(|s| *s) {
            return bad(Invariant::S3, "alias removed without TLB invalidation");
        }
        Ok(())
    }

    /// True if any alias anywhere targets page `p` of slot `i`.
    pub fn aliased(&self, i: usize, p: usize) -> bool {
        self.realms.iter().any(|r| {
            r.pages.iter().any(|x| {
                matches!(x, Page::Alias { provider, page, .. }
                    if usize::from(*provider) == i && usize::from(*page) == p)
            })
        })
    }
}

fn bad(invariant: Invariant, what: &'static str) -> Result<(), Violation> {
    Err(Violation { invariant, what })
}

impl Stage2View for World {
    fn summarize(&self, realm: Rd, range: IpaRange) -> RangeSummary {
        let mut s = RangeSummary::default();
        let Some(r) = slot(realm).and_then(|i| self.realms.get(i)) else {
            return s;
        };
        for i in 0..range.pages() {
            let ipa = range.base() + i * PAGE_SIZE;
            let Some(p) = page_of(ipa) else {
                s.destroyed += 1; // outside the modelled space: never usable
                continue;
            };
            match r.pages[p] {
                Page::Data(Ripas::Ram) => s.assigned_ram += 1,
                Page::Unassigned(Ripas::Ram) => s.unassigned_ram += 1,
                Page::Data(Ripas::Empty) => s.assigned_empty += 1,
                Page::Unassigned(Ripas::Empty) => s.unassigned_empty += 1,
                Page::Data(Ripas::Destroyed) | Page::Unassigned(Ripas::Destroyed) => {
                    s.destroyed += 1
                }
                Page::Alias { .. } => s.aliases += 1,
            }
            if !r.tables[p / TABLE_PAGES] {
                s.missing_tables += 1;
            }
        }
        s
    }

    fn realm_active(&self, realm: Rd) -> bool {
        slot(realm).is_some_and(|i| self.realms[i].life == Life::Active)
    }
}

impl Stage2Audit for World {
    fn for_each_alias(&self, f: &mut dyn FnMut(AliasEntry)) {
        for (c, r) in self.realms.iter().enumerate() {
            for (p, page) in r.pages.iter().enumerate() {
                if let Page::Alias {
                    provider,
                    page,
                    writable,
                } = *page
                {
                    f(AliasEntry {
                        consumer: rd(c),
                        ipa: p as u64 * PAGE_SIZE,
                        provider: rd(usize::from(provider)),
                        provider_ipa: u64::from(page) * PAGE_SIZE,
                        writable,
                        executable: false,
                    });
                }
            }
        }
    }

    fn owns_ram_page(&self, realm: Rd, ipa: u64) -> bool {
        slot(realm).and_then(|i| self.page(i, ipa)) == Some(Page::Data(Ripas::Ram))
    }

    fn is_alias(&self, realm: Rd, ipa: u64) -> bool {
        matches!(
            slot(realm).and_then(|i| self.page(i, ipa)),
            Some(Page::Alias { .. })
        )
    }

    fn realm_exists(&self, rd: Rd) -> bool {
        slot(rd).is_some_and(|i| self.realms[i].life != Life::Absent)
    }
}
