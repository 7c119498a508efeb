// SPDX-License-Identifier: MIT OR Apache-2.0
//! The typed table: [`Apt`] holds one realm's provider [`Region`]s (each with its [`Grant`]s)
//! and its consumer [`Attachment`]s in fixed-size slot arrays, plus the slot helpers the `csm`
//! crate uses and [`Apt::validate`], the rules every single table must satisfy (also applied
//! to every table decoded from a granule).

use rmm_abi::csm::CsmMode;

use crate::capacity::MAX_REGION_SIZE;
use crate::codec::DecodeError;
use crate::ids::{RealmId, RegionId, ShareId};
use crate::range::IpaRange;

/// Region state. `Gone` is not stored: a gone region's slot is free.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegionState {
    /// Pages offered for sharing; may hold grants.
    Live,
    /// The host destroyed one of its pages: no grants, no attachments; only
    /// `RSI_CSM_DESTROY` is accepted for it.
    Damaged,
}

/// Grant state. A removed grant's slot is free and its `ShareId` is never valid again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantState {
    /// Offered to the consumer, not mapped.
    Offered,
    /// The consumer accepted it: its window holds aliases of the region.
    Attached,
}

/// Permission for one consumer to map one region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Grant {
    /// The grant's id.
    pub share: ShareId,
    /// The only realm that may accept it.
    pub consumer: RealmId,
    /// Access mode of the aliases (never execute).
    pub mode: CsmMode,
    /// Offered or attached.
    pub state: GrantState,
}

/// One relation of a table, as the realm's attestation token lists it (`csm-shares`): a grant
/// the realm gave (`given`: the region is its own, `peer` the consumer) or a grant it received
/// (the region is the peer's, `peer` the provider).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relation {
    /// True for a grant the realm gave, false for one it received.
    pub given: bool,
    /// The provider's region.
    pub region: RegionId,
    /// The grant.
    pub share: ShareId,
    /// The other realm of the grant.
    pub peer: RealmId,
    /// The region's size in bytes.
    pub size: u64,
    /// The grant's mode.
    pub mode: CsmMode,
    /// Whether the consumer has the region mapped.
    pub attached: bool,
}

impl Relation {
    /// The relation of a grant the realm gave, from its region `region` over `range`.
    pub fn given(region: RegionId, range: IpaRange, grant: &Grant) -> Self {
        Self {
            given: true,
            region,
            share: grant.share,
            peer: grant.consumer,
            size: range.size(),
            mode: grant.mode,
            attached: grant.state == GrantState::Attached,
        }
    }

    /// The relation of a grant the realm received.
    pub fn received(a: &Attachment) -> Self {
        Self {
            given: false,
            region: a.region,
            share: a.share,
            peer: a.provider,
            size: a.size,
            mode: a.mode,
            attached: a.window.is_some(),
        }
    }
}

/// A provider region with its grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Region<const NG: usize> {
    /// The region's id.
    pub id: RegionId,
    /// The provider IPA range.
    pub range: IpaRange,
    /// Live or damaged.
    pub state: RegionState,
    /// Grant slots.
    pub grants: [Option<Grant>; NG],
}

/// The consumer side of a grant: every grant a realm receives (offered or attached) has one
/// of these in the consumer's table, so that everything a consumer operation needs — and the
/// list of providers an `RMI_APT_DESTROY` of the consumer must visit — is in its own table.
/// It is *attached* when `window` is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Attachment {
    /// The grant.
    pub share: ShareId,
    /// The provider realm.
    pub provider: RealmId,
    /// The provider's region.
    pub region: RegionId,
    /// The region's size (what `RSI_CSM_QUERY` reports and `RSI_CSM_ACCEPT` x4 must name).
    pub size: u64,
    /// The grant's mode, which the aliases carry.
    pub mode: CsmMode,
    /// The window in the consumer's own IPA space (of `size` bytes) while attached.
    pub window: Option<IpaRange>,
}

impl Attachment {
    /// True if the grant is attached (the window holds aliases).
    pub const fn attached(&self) -> bool {
        self.window.is_some()
    }
}

/// One realm's Access Permission Table: `NR` regions of `NG` grants, `NA` received grants
/// (attachment slots).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Apt<const NR: usize, const NG: usize, const NA: usize> {
    /// The realm this table belongs to.
    pub owner: RealmId,
    /// Size of the owner's protected IPA space `[0, par_size)` (a non-zero page multiple).
    pub par_size: u64,
    /// Provider region slots.
    pub regions: [Option<Region<NG>>; NR],
    /// Received-grant (attachment) slots.
    pub attachments: [Option<Attachment>; NA],
}

impl<const NG: usize> Region<NG> {
    /// A new live region without grants.
    pub const fn new(id: RegionId, range: IpaRange) -> Self {
        Self {
            id,
            range,
            state: RegionState::Live,
            grants: [None; NG],
        }
    }

    /// The grants in use.
    pub fn grants(&self) -> impl Iterator<Item = &Grant> {
        self.grants.iter().flatten()
    }

    /// Slot of the grant with this id.
    pub fn grant_slot(&self, share: ShareId) -> Option<usize> {
        self.grants
            .iter()
            .position(|g| g.is_some_and(|g| g.share == share))
    }

    /// The grant for this consumer, if any.
    pub fn grant_for(&self, consumer: RealmId) -> Option<&Grant> {
        self.grants().find(|g| g.consumer == consumer)
    }

    /// A free grant slot.
    pub fn free_grant_slot(&self) -> Option<usize> {
        self.grants.iter().position(Option::is_none)
    }
}

impl<const NR: usize, const NG: usize, const NA: usize> Apt<NR, NG, NA> {
    /// An empty table for `owner`, whose protected IPA space is `[0, par_size)`.
    pub const fn new(owner: RealmId, par_size: u64) -> Self {
        Self {
            owner,
            par_size,
            regions: [None; NR],
            attachments: [None; NA],
        }
    }

    /// The regions in use.
    pub fn regions(&self) -> impl Iterator<Item = &Region<NG>> {
        self.regions.iter().flatten()
    }

    /// The received grants (attached or not).
    pub fn attachments(&self) -> impl Iterator<Item = &Attachment> {
        self.attachments.iter().flatten()
    }

    /// The attached windows: `(attachment, window)`.
    pub fn windows(&self) -> impl Iterator<Item = (&Attachment, IpaRange)> {
        self.attachments().filter_map(|a| a.window.map(|w| (a, w)))
    }

    /// Every relation of the table, in token order: the grants it gave (regions and grants in
    /// slot order), then the grants it received (in slot order).
    pub fn relations(&self) -> impl Iterator<Item = Relation> + '_ {
        let given = self.regions().flat_map(|region| {
            region
                .grants()
                .map(move |grant| Relation::given(region.id, region.range, grant))
        });
        let received = self.attachments().map(Relation::received);
        given.chain(received)
    }

    /// The received grant with this id.
    pub fn attachment(&self, share: ShareId) -> Option<&Attachment> {
        self.attachments().find(|a| a.share == share)
    }

    /// The grant with this id and the region holding it.
    pub fn grant(&self, share: ShareId) -> Option<(&Region<NG>, &Grant)> {
        self.regions()
            .find_map(|r| r.grants().find(|g| g.share == share).map(|g| (r, g)))
    }

    /// Slot of the region with this id.
    pub fn region_slot(&self, id: RegionId) -> Option<usize> {
        self.regions
            .iter()
            .position(|r| r.as_ref().is_some_and(|r| r.id == id))
    }

    /// Slot and value of the region with this id.
    pub fn region(&self, id: RegionId) -> Option<(usize, &Region<NG>)> {
        let slot = self.region_slot(id)?;
        Some((slot, self.regions.get(slot)?.as_ref()?))
    }

    /// Region slot and grant slot of the grant with this id.
    pub fn grant_slot(&self, share: ShareId) -> Option<(usize, usize)> {
        self.regions
            .iter()
            .enumerate()
            .find_map(|(i, r)| r.as_ref().and_then(|r| r.grant_slot(share)).map(|g| (i, g)))
    }

    /// A free region slot.
    pub fn free_region_slot(&self) -> Option<usize> {
        self.regions.iter().position(Option::is_none)
    }

    /// Slot of the attachment using this grant.
    pub fn attachment_slot(&self, share: ShareId) -> Option<usize> {
        self.attachments
            .iter()
            .position(|a| a.is_some_and(|a| a.share == share))
    }

    /// A free attachment slot.
    pub fn free_attachment_slot(&self) -> Option<usize> {
        self.attachments.iter().position(Option::is_none)
    }

    /// True if `range` overlaps any of this realm's regions (live or damaged) or attached
    /// windows.
    pub fn overlaps_own(&self, range: IpaRange) -> bool {
        self.regions().any(|r| r.range.overlaps(range))
            || self.windows().any(|(_, w)| w.overlaps(range))
    }

    /// The rules every table satisfies on its own: a valid protected size with every region
    /// and window below it, region sizes within [`crate::capacity::MAX_REGION_SIZE`], ids
    /// unique, regions and windows pairwise disjoint, no grant to the owner itself and at most
    /// one per (region, consumer), no grant in a damaged region, no received grant from the
    /// owner itself, every window of its grant's size.
    pub fn validate(&self) -> Result<(), DecodeError> {
        // Slot-index loops rather than iterator chains: the firmware runs this on every table
        // it decodes and writes, and the chains' code was twice the size.
        if !valid_size(self.par_size, u64::MAX) {
            return Err(DecodeError::BadRange);
        }
        let region = |i: usize| used(&self.regions, i);
        let attachment = |i: usize| used(&self.attachments, i);
        for i in 0..NR {
            let Some(r) = region(i) else { continue };
            if !r.range.below(self.par_size) || r.range.size() > MAX_REGION_SIZE {
                return Err(DecodeError::BadRange);
            }
            for o in (i + 1..NR).filter_map(region) {
                if o.id == r.id {
                    return Err(DecodeError::DuplicateId);
                }
                if o.range.overlaps(r.range) {
                    return Err(DecodeError::Overlap);
                }
            }
            for a in (0..NA).filter_map(attachment) {
                if a.window.is_some_and(|w| w.overlaps(r.range)) {
                    return Err(DecodeError::Overlap);
                }
            }
            if r.state == RegionState::Damaged && r.grants.iter().any(Option::is_some) {
                return Err(DecodeError::GrantInDamagedRegion);
            }
            for j in 0..NG {
                let Some(g) = used(&r.grants, j) else {
                    continue;
                };
                if g.consumer == self.owner {
                    return Err(DecodeError::SelfReference);
                }
                // Every later grant, of this region and of the later regions in use.
                for k in i..NR {
                    let Some(other) = region(k) else { continue };
                    let first = if k == i { j + 1 } else { 0 };
                    for o in (first..NG).filter_map(|l| used(&other.grants, l)) {
                        if o.share == g.share {
                            return Err(DecodeError::DuplicateId);
                        }
                        if k == i && o.consumer == g.consumer {
                            return Err(DecodeError::DuplicateGrant);
                        }
                    }
                }
            }
        }
        for i in 0..NA {
            let Some(a) = attachment(i) else { continue };
            if a.provider == self.owner {
                return Err(DecodeError::SelfReference);
            }
            if !valid_size(a.size, MAX_REGION_SIZE)
                || a.window
                    .is_some_and(|w| w.size() != a.size || !w.below(self.par_size))
            {
                return Err(DecodeError::BadRange);
            }
            for o in (i + 1..NA).filter_map(attachment) {
                if o.share == a.share {
                    return Err(DecodeError::DuplicateId);
                }
                if let (Some(w), Some(ow)) = (a.window, o.window)
                    && w.overlaps(ow)
                {
                    return Err(DecodeError::Overlap);
                }
            }
        }
        Ok(())
    }
}

/// The value in slot `i` of `slots`, if that slot is in use.
fn used<T>(slots: &[Option<T>], i: usize) -> Option<&T> {
    slots.get(i)?.as_ref()
}

/// A non-zero page multiple no larger than `max`.
const fn valid_size(size: u64, max: u64) -> bool {
    size != 0 && size.is_multiple_of(crate::range::PAGE_SIZE) && size <= max
}

#[cfg(test)]
mod tests {
    use super::*;

    type T = Apt<2, 2, 2>;

    fn rid(v: u64) -> RealmId {
        RealmId::new(v).unwrap()
    }
    fn range(base: u64, size: u64) -> IpaRange {
        IpaRange::new(base, size).unwrap()
    }
    fn grant(share: u64, consumer: u64) -> Grant {
        Grant {
            share: ShareId::new(share).unwrap(),
            consumer: rid(consumer),
            mode: CsmMode::Read,
            state: GrantState::Offered,
        }
    }

    fn sample() -> T {
        let mut t = T::new(rid(1), 0x10_0000);
        let mut r = Region::new(RegionId::new(5).unwrap(), range(0, 0x2000));
        r.grants[1] = Some(grant(9, 2));
        t.regions[1] = Some(r);
        t.attachments[0] = Some(Attachment {
            share: ShareId::new(10).unwrap(),
            provider: rid(3),
            region: RegionId::new(6).unwrap(),
            size: 0x1000,
            mode: CsmMode::ReadWrite,
            window: Some(range(0x4000, 0x1000)),
        });
        t
    }

    #[test]
    fn lookups() {
        let t = sample();
        assert_eq!(t.region_slot(RegionId::new(5).unwrap()), Some(1));
        assert_eq!(t.region_slot(RegionId::new(6).unwrap()), None);
        assert_eq!(t.grant_slot(ShareId::new(9).unwrap()), Some((1, 1)));
        assert_eq!(t.grant_slot(ShareId::new(10).unwrap()), None);
        assert_eq!(t.attachment_slot(ShareId::new(10).unwrap()), Some(0));
        assert_eq!(t.free_region_slot(), Some(0));
        assert_eq!(t.free_attachment_slot(), Some(1));
        assert!(t.overlaps_own(range(0x1000, 0x1000)));
        assert!(t.overlaps_own(range(0x4000, 0x1000)));
        assert!(!t.overlaps_own(range(0x2000, 0x2000)));
        assert!(t.validate().is_ok());
        let mut offered = t;
        offered.attachments[0].as_mut().unwrap().window = None;
        assert!(
            !offered.overlaps_own(range(0x4000, 0x1000)),
            "an offered grant occupies no IPA"
        );
        assert!(offered.validate().is_ok());
    }

    #[test]
    fn relations_list_given_grants_then_received_ones() {
        let mut t = sample();
        t.regions[0] = Some(Region::new(
            RegionId::new(4).unwrap(),
            range(0x8000, 0x3000),
        ));
        if let Some(r) = t.regions[0].as_mut() {
            r.grants[0] = Some(Grant {
                state: GrantState::Attached,
                mode: CsmMode::ReadWrite,
                ..grant(7, 3)
            });
        }
        let relation = |given, region, share, peer, size, mode, attached| Relation {
            given,
            region: RegionId::new(region).unwrap(),
            share: ShareId::new(share).unwrap(),
            peer: rid(peer),
            size,
            mode,
            attached,
        };
        let all = [
            relation(true, 4, 7, 3, 0x3000, CsmMode::ReadWrite, true),
            relation(true, 5, 9, 2, 0x2000, CsmMode::Read, false),
            relation(false, 6, 10, 3, 0x1000, CsmMode::ReadWrite, true),
        ];
        assert!(t.relations().eq(all));
        let mut offered = t;
        offered.attachments[0].as_mut().unwrap().window = None;
        assert!(!offered.relations().nth(2).unwrap().attached);
        assert_eq!(T::new(rid(1), 0x1000).relations().count(), 0);
    }

    #[test]
    fn validation_rules() {
        let mut t = sample();
        t.regions[0] = t.regions[1];
        assert_eq!(t.validate(), Err(DecodeError::DuplicateId));

        let mut t = sample();
        let mut r = Region::new(RegionId::new(7).unwrap(), range(0x1000, 0x1000));
        r.state = RegionState::Live;
        t.regions[0] = Some(r);
        assert_eq!(t.validate(), Err(DecodeError::Overlap));

        let mut t = sample();
        t.regions[0] = Some(Region::new(
            RegionId::new(7).unwrap(),
            range(0x4000, 0x1000),
        ));
        assert_eq!(
            t.validate(),
            Err(DecodeError::Overlap),
            "region over a window"
        );

        let mut t = sample();
        t.regions[1].as_mut().unwrap().state = RegionState::Damaged;
        assert_eq!(t.validate(), Err(DecodeError::GrantInDamagedRegion));

        let mut t = sample();
        t.regions[1].as_mut().unwrap().grants[0] = Some(grant(11, 1));
        assert_eq!(t.validate(), Err(DecodeError::SelfReference));

        let mut t = sample();
        t.regions[1].as_mut().unwrap().grants[0] = Some(grant(11, 2));
        assert_eq!(t.validate(), Err(DecodeError::DuplicateGrant));

        let mut t = sample();
        t.regions[1].as_mut().unwrap().grants[0] = Some(grant(9, 3));
        assert_eq!(t.validate(), Err(DecodeError::DuplicateId), "share ids");

        // The same share id in two regions.
        let mut t = sample();
        let mut other = Region::new(RegionId::new(4).unwrap(), range(0x8000, 0x1000));
        other.grants[1] = Some(grant(9, 3));
        t.regions[0] = Some(other);
        assert_eq!(
            t.validate(),
            Err(DecodeError::DuplicateId),
            "share ids across regions"
        );
        t.regions[0].as_mut().unwrap().grants[1] = Some(grant(8, 3));
        assert!(t.validate().is_ok(), "another id in the other region");

        let mut t = sample();
        t.attachments[0].as_mut().unwrap().provider = rid(1);
        assert_eq!(t.validate(), Err(DecodeError::SelfReference));

        let mut t = sample();
        let mut a = t.attachments[0].unwrap();
        a.window = Some(range(0x4000, 0x2000));
        a.size = 0x2000;
        a.share = ShareId::new(12).unwrap();
        t.attachments[1] = Some(a);
        assert_eq!(t.validate(), Err(DecodeError::Overlap));
        t.attachments[1].as_mut().unwrap().window = None;
        assert!(t.validate().is_ok(), "offered grants overlap nothing");
        t.attachments[1].as_mut().unwrap().share = ShareId::new(10).unwrap();
        assert_eq!(t.validate(), Err(DecodeError::DuplicateId));

        let mut t = sample();
        t.attachments[0].as_mut().unwrap().size = 0x2000;
        assert_eq!(t.validate(), Err(DecodeError::BadRange), "window size");

        let mut t = sample();
        t.par_size = 0x4000;
        assert_eq!(t.validate(), Err(DecodeError::BadRange), "window above PAR");
        t.par_size = 0;
        assert_eq!(t.validate(), Err(DecodeError::BadRange), "no PAR");

        let mut t = sample();
        let big = crate::capacity::MAX_REGION_SIZE + 0x1000;
        t.par_size = 4 * big;
        t.regions[0] = Some(Region::new(RegionId::new(7).unwrap(), range(big, big)));
        assert_eq!(t.validate(), Err(DecodeError::BadRange), "region too big");
    }
}
