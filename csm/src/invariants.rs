// SPDX-License-Identifier: MIT OR Apache-2.0
//! The security invariants as code: [`Csm::check`] (everything that can be judged from the
//! CSM state alone: S4, S5, S7 and the table rules) and [`Csm::check_stage2`] (S1, S2, S6, S8
//! and the all-or-nothing half of S10, judged against the stage-2 tables through
//! [`Stage2Audit`]). Compiled into tests, debug builds and the `invariants` feature, never into
//! the release firmware. S3, S9, S10 (unchanged state on error) and S11 are properties of
//! transitions, checked by the model checker around each step (`model::explore`); S9 is the
//! monitor's.

use apt::{GrantState, PAGE_SIZE, Rd, RegionState};

use crate::state::Csm;

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

impl<const R: usize, const NR: usize, const NG: usize, const NA: usize> Csm<R, NR, NG, NA> {
    /// Checks every invariant that the CSM state alone decides.
    pub fn check(&self) -> Result<(), Violation> {
        let (next_realm, next_region, next_share) = self.next_ids();
        for (i, e) in self.realms().enumerate() {
            ensure(
                e.apt.validate().is_ok(),
                Invariant::S4,
                "a table breaks its own rules",
            )?;
            ensure(
                e.id().get() < next_realm,
                Invariant::S5,
                "RealmId not yet allocated",
            )?;
            for o in self.realms().skip(i + 1) {
                ensure(
                    o.id() != e.id(),
                    Invariant::S5,
                    "two realms share a RealmId",
                )?;
                ensure(o.rd != e.rd, Invariant::S4, "two entries for one RD")?;
            }
            for r in e.apt.regions() {
                ensure(
                    r.id.get() < next_region,
                    Invariant::S5,
                    "RegionId not yet allocated",
                )?;
                ensure(
                    r.range.below(e.par_size),
                    Invariant::S4,
                    "region outside the PAR",
                )?;
                for o in self.realms().filter(|o| o.rd != e.rd) {
                    ensure(
                        o.apt.regions().all(|x| x.id != r.id),
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
                    ensure(
                        g.consumer != e.id(),
                        Invariant::S7,
                        "grant to its own provider",
                    )?;
                    self.check_grant(e.id(), r.id, r.range.size(), g)?;
                }
            }
            for a in e.apt.attachments() {
                ensure(
                    a.window.below(e.par_size),
                    Invariant::S4,
                    "window outside the PAR",
                )?;
                let Some((p, r, g)) = self.find_grant(a.share) else {
                    return fail(Invariant::S4, "attachment outlives its grant");
                };
                ensure(
                    p.id() == a.provider,
                    Invariant::S4,
                    "attachment names another provider",
                )?;
                ensure(
                    r.id == a.region,
                    Invariant::S4,
                    "attachment names another region",
                )?;
                ensure(
                    g.consumer == e.id(),
                    Invariant::S7,
                    "attachment of another's grant",
                )?;
                ensure(
                    g.state == GrantState::Attached,
                    Invariant::S4,
                    "attachment of an offered grant",
                )?;
                ensure(
                    r.state == RegionState::Live,
                    Invariant::S1,
                    "attachment of a damaged region",
                )?;
                ensure(
                    g.mode == a.mode,
                    Invariant::S1,
                    "attachment mode differs from the grant",
                )?;
                ensure(
                    a.window.size() == r.range.size(),
                    Invariant::S1,
                    "window size differs",
                )?;
            }
        }
        Ok(())
    }

    fn check_grant(
        &self,
        provider: apt::RealmId,
        region: apt::RegionId,
        size: u64,
        g: &apt::Grant,
    ) -> Result<(), Violation> {
        let Some(consumer) = self.by_id(g.consumer) else {
            return fail(Invariant::S4, "grant outlives its consumer's APT");
        };
        for o in self.realms() {
            let dup = o
                .apt
                .regions()
                .flat_map(|r| r.grants())
                .filter(|x| x.share == g.share)
                .count();
            let expected = usize::from(o.id() == provider);
            ensure(dup == expected, Invariant::S5, "two grants share a ShareId")?;
        }
        let attached = consumer
            .apt
            .attachments()
            .filter(|a| a.share == g.share)
            .count();
        match g.state {
            GrantState::Offered => {
                ensure(attached == 0, Invariant::S4, "offered grant with a window")
            }
            GrantState::Attached => {
                ensure(
                    attached == 1,
                    Invariant::S4,
                    "attached grant without exactly one window",
                )?;
                let ok = consumer.apt.attachments().any(|a| {
                    a.share == g.share
                        && a.provider == provider
                        && a.region == region
                        && a.window.size() == size
                });
                ensure(ok, Invariant::S4, "attachment does not match its grant")
            }
        }
    }

    /// Checks S1, S2, S6, S8 and complete attachments against the stage-2 tables.
    pub fn check_stage2(&self, audit: &impl Stage2Audit) -> Result<(), Violation> {
        for e in self.realms() {
            ensure(
                audit.realm_exists(e.rd),
                Invariant::S6,
                "APT of a destroyed realm",
            )?;
            for a in e.apt.attachments() {
                let mut ipa = a.window.base();
                while ipa < a.window.end() {
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
                result = self.check_alias(audit, alias);
            }
        });
        result
    }

    fn check_alias(&self, audit: &impl Stage2Audit, alias: AliasEntry) -> Result<(), Violation> {
        ensure(!alias.executable, Invariant::S1, "executable alias")?;
        let Some(consumer) = self.entry(alias.consumer) else {
            return fail(Invariant::S1, "alias in a realm without an APT");
        };
        let Some(att) = consumer
            .apt
            .attachments()
            .find(|a| a.window.contains(alias.ipa))
        else {
            return fail(Invariant::S1, "alias outside every window");
        };
        let Some((provider, region, grant)) = self.find_grant(att.share) else {
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
        let offset = alias.ipa.saturating_sub(att.window.base());
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
}
