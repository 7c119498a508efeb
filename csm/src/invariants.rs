// SPDX-License-Identifier: MIT OR Apache-2.0
//! The security invariants as code: [`Csm::check`] (everything that can be judged from the
//! CSM state alone — the index and every realm's APT, loaded through the store: S4, S5, S7
//! and the table rules) and [`Csm::check_stage2`] (S1, S2, S6, S8
//! and the all-or-nothing half of S10, judged against the stage-2 tables through
//! [`Stage2Audit`]). Compiled into tests, debug builds and the `invariants` feature, never into
//! the release firmware. S3, S9, S10 (unchanged state on error) and S11 are properties of
//! transitions, checked by the model checker around each step (`model::explore`); S9 is the
//! monitor's.

use apt::{Apt, Grant, GrantState, PAGE_SIZE, Rd, RealmId, Region, RegionState, ShareId};

use crate::plan::AptStore;
use crate::state::{Csm, IndexEntry};

/// The invariants of `docs/csm.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Invariant {
    /// Aliases only of live regions, in live attached windows, within the grant's mode, XN.
    S1,
    /// A DATA granule is mapped only by its owner and S1 aliases.
    S2,
    /// No alias or stale translation to a granule that leaves DATA.
    S3,
    /// No relation outlives its region, grant or either realm's APT.
    S4,
    /// Ids are never reused.
    S5,
    /// No REALM_DESTROY while an APT is bound.
    S6,
    /// Only the provider shares/revokes/destroys; only the consumer accepts/detaches.
    S7,
    /// An operation reads and changes only the realms it declared (the RDs the monitor locks).
    S9,
    /// Alias targets come only from the provider's own RTT.
    S8,
    /// Failures change nothing; attachments are all-or-nothing.
    S10,
    /// No RIPAS change over CSM memory.
    S11,
}

/// A broken invariant, with what was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Violation {
    /// Which invariant.
    pub invariant: Invariant,
    /// What was wrong.
    pub what: &'static str,
}

fn fail(invariant: Invariant, what: &'static str) -> Result<(), Violation> {
    Err(Violation { invariant, what })
}

fn ensure(ok: bool, invariant: Invariant, what: &'static str) -> Result<(), Violation> {
    if ok { Ok(()) } else { fail(invariant, what) }
}

/// One alias entry as found in a consumer's stage 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AliasEntry {
    /// The realm whose table holds the entry.
    pub consumer: Rd,
    /// Its IPA.
    pub ipa: u64,
    /// The realm owning the target granule.
    pub provider: Rd,
    /// The IPA at which the provider maps that granule.
    pub provider_ipa: u64,
    /// Stage-2 write permission.
    pub writable: bool,
    /// Stage-2 execute permission.
    pub executable: bool,
}

/// What the stage-2 checks read from the monitor's (or the model's) tables.
pub trait Stage2Audit {
    /// Calls `f` for every alias entry of every realm.
    fn for_each_alias(&self, f: &mut dyn FnMut(AliasEntry));
    /// True if `realm` maps `ipa` to its own DATA granule with RIPAS RAM.
    fn owns_ram_page(&self, realm: Rd, ipa: u64) -> bool;
    /// True if `realm`'s entry at `ipa` is an alias.
    fn is_alias(&self, realm: Rd, ipa: u64) -> bool;
    /// True if `rd` is a live realm.
    fn realm_exists(&self, rd: Rd) -> bool;
}

/// Every CSM realm with its table, loaded once for a check.
struct Tables<const NR: usize, const NG: usize, const NA: usize, const R: usize> {
    all: [Option<(IndexEntry, Apt<NR, NG, NA>)>; R],
}

impl<const NR: usize, const NG: usize, const NA: usize, const R: usize> Tables<NR, NG, NA, R> {
    fn iter(&self) -> impl Iterator<Item = &(IndexEntry, Apt<NR, NG, NA>)> {
        self.all.iter().flatten()
    }
    fn by_id(&self, id: RealmId) -> Option<&(IndexEntry, Apt<NR, NG, NA>)> {
        self.iter().find(|(e, _)| e.id == id)
    }
    fn by_rd(&self, rd: Rd) -> Option<&(IndexEntry, Apt<NR, NG, NA>)> {
        self.iter().find(|(e, _)| e.rd == rd)
    }
    fn grant(&self, share: ShareId) -> Option<(&IndexEntry, &Region<NG>, &Grant)> {
        self.iter()
            .find_map(|(e, apt)| apt.grant(share).map(|(r, g)| (e, r, g)))
    }
}

impl<const R: usize> Csm<R> {
    fn tables<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
    ) -> Result<Tables<NR, NG, NA, R>, Violation> {
        let mut all = [None; R];
        for (slot, e) in all.iter_mut().zip(self.index.iter()) {
            if let Some(e) = e {
                let table = self.load(store, e).ok();
                let Some(apt) = table.and_then(|t| Apt::from_table_words(&t).ok()) else {
                    return fail(
                        Invariant::S4,
                        "an indexed realm's APT does not load, or breaks a rule",
                    )
                    .map(|()| Tables { all: [None; R] });
                };
                *slot = Some((*e, apt));
            }
        }
        Ok(Tables { all })
    }

    /// Finds a grant anywhere (tests and checks only): (provider, region, grant).
    pub fn find_grant<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        share: ShareId,
    ) -> Option<(IndexEntry, Region<NG>, Grant)> {
        self.realms().find_map(|e| {
            let words = self.load(store, e).ok()?;
            let apt = crate::plan::view::<NR, NG, NA>(&words);
            apt.grant(share).map(|(r, g)| (*e, r, g))
        })
    }

    /// Checks every invariant that the CSM state alone decides: the index, every table's own
    /// rules, ids, and that both sides of every grant agree.
    pub fn check<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
    ) -> Result<(), Violation> {
        let t = self.tables(store)?;
        let (next_realm, next_region, next_share) = self.next_ids();
        for (i, (e, apt)) in t.iter().enumerate() {
            ensure(
                apt.validate().is_ok(),
                Invariant::S4,
                "a table breaks its own rules",
            )?;
            ensure(
                e.id.get() < next_realm,
                Invariant::S5,
                "RealmId not yet allocated",
            )?;
            for (o, _) in t.iter().skip(i + 1) {
                ensure(o.id != e.id, Invariant::S5, "two realms share a RealmId")?;
                ensure(o.rd != e.rd, Invariant::S4, "two entries for one RD")?;
            }
            for r in apt.regions() {
                ensure(
                    r.id.get() < next_region,
                    Invariant::S5,
                    "RegionId not yet allocated",
                )?;
                for (o, oapt) in t.iter().filter(|(o, _)| o.rd != e.rd) {
                    let _ = o;
                    ensure(
                        oapt.regions().all(|x| x.id != r.id),
                        Invariant::S5,
                        "two realms share a RegionId",
                    )?;
                }
                for g in r.grants() {
                    ensure(
                        g.share.get() < next_share,
                        Invariant::S5,
                        "ShareId not yet allocated",
                    )?;
                    check_grant(&t, e.id, r, g)?;
                }
            }
            for a in apt.attachments() {
                let Some((p, r, g)) = t.grant(a.share) else {
                    return fail(Invariant::S4, "attachment outlives its grant");
                };
                ensure(
                    p.id == a.provider,
                    Invariant::S4,
                    "attachment names another provider",
                )?;
                ensure(
                    r.id == a.region,
                    Invariant::S4,
                    "attachment names another region",
                )?;
                ensure(
                    g.consumer == e.id,
                    Invariant::S7,
                    "attachment of another's grant",
                )?;
                ensure(
                    r.state == RegionState::Live,
                    Invariant::S1,
                    "grant of a damaged region",
                )?;
            }
        }
        Ok(())
    }

    /// Checks S1, S2, S6, S8 and complete attachments against the stage-2 tables.
    pub fn check_stage2<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        audit: &impl Stage2Audit,
    ) -> Result<(), Violation> {
        let t = self.tables(store)?;
        for (e, apt) in t.iter() {
            ensure(
                audit.realm_exists(e.rd),
                Invariant::S6,
                "APT of a destroyed realm",
            )?;
            for (_, window) in apt.windows() {
                let mut ipa = window.base();
                while ipa < window.end() {
                    ensure(
                        audit.is_alias(e.rd, ipa),
                        Invariant::S10,
                        "partly mapped window",
                    )?;
                    ipa += PAGE_SIZE;
                }
            }
        }
        let mut result = Ok(());
        audit.for_each_alias(&mut |alias| {
            if result.is_ok() {
                result = check_alias(&t, audit, alias);
            }
        });
        result
    }
}

/// Both sides of a grant agree: the consumer exists and records it once, with the same
/// provider, region, size and mode, attached exactly when the grant is.
fn check_grant<const NR: usize, const NG: usize, const NA: usize, const R: usize>(
    t: &Tables<NR, NG, NA, R>,
    provider: RealmId,
    region: &Region<NG>,
    g: &Grant,
) -> Result<(), Violation> {
    ensure(
        g.consumer != provider,
        Invariant::S7,
        "grant to its own provider",
    )?;
    let Some((_, capt)) = t.by_id(g.consumer) else {
        return fail(Invariant::S4, "grant outlives its consumer's APT");
    };
    for (o, oapt) in t.iter() {
        let dup = oapt
            .regions()
            .flat_map(|r| r.grants())
            .filter(|x| x.share == g.share)
            .count();
        let expected = usize::from(o.id == provider);
        ensure(dup == expected, Invariant::S5, "two grants share a ShareId")?;
    }
    let mut records = capt.attachments().filter(|a| a.share == g.share);
    let (Some(a), None) = (records.next(), records.next()) else {
        return fail(
            Invariant::S4,
            "grant without exactly one record at its consumer",
        );
    };
    ensure(
        a.provider == provider && a.region == region.id && a.size == region.range.size(),
        Invariant::S4,
        "consumer's record does not match the grant",
    )?;
    ensure(
        a.mode == g.mode,
        Invariant::S1,
        "attachment mode differs from the grant",
    )?;
    ensure(
        a.attached() == (g.state == GrantState::Attached),
        Invariant::S4,
        "grant and attachment disagree on being attached",
    )
}

fn check_alias<const NR: usize, const NG: usize, const NA: usize, const R: usize>(
    t: &Tables<NR, NG, NA, R>,
    audit: &impl Stage2Audit,
    alias: AliasEntry,
) -> Result<(), Violation> {
    ensure(!alias.executable, Invariant::S1, "executable alias")?;
    let Some((_, capt)) = t.by_rd(alias.consumer) else {
        return fail(Invariant::S1, "alias in a realm without an APT");
    };
    let Some((att, window)) = capt.windows().find(|(_, w)| w.contains(alias.ipa)) else {
        return fail(Invariant::S1, "alias outside every window");
    };
    let Some((provider, region, grant)) = t.grant(att.share) else {
        return fail(Invariant::S1, "alias of a removed grant");
    };
    ensure(
        grant.state == GrantState::Attached,
        Invariant::S1,
        "alias of an offered grant",
    )?;
    ensure(
        region.state == RegionState::Live,
        Invariant::S1,
        "alias of a damaged region",
    )?;
    ensure(
        provider.rd == alias.provider,
        Invariant::S1,
        "alias into another realm",
    )?;
    let offset = alias.ipa.saturating_sub(window.base());
    ensure(
        region.range.base().checked_add(offset) == Some(alias.provider_ipa),
        Invariant::S8,
        "alias of another page than the region's",
    )?;
    ensure(
        !alias.writable || grant.mode.is_writable(),
        Invariant::S1,
        "writable alias of a read-only grant",
    )?;
    ensure(
        audit.owns_ram_page(alias.provider, alias.provider_ipa),
        Invariant::S2,
        "alias of a page the provider does not own as RAM",
    )
}
