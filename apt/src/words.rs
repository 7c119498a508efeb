// SPDX-License-Identifier: MIT OR Apache-2.0
//! The table as its granule holds it: [`AptWords`] reads a table's fields and records where
//! they are, in the granule's 64-bit words, and [`AptWordsMut`] edits them there — no decoded
//! copy, no re-encoding. The layout is the codec's (`crate::codec`, the table at the top of
//! the granule, every field whole words); this file owns the offsets of its records and the
//! decoders and writers of each record, which the codec's whole-table [`Apt::decode_words`]
//! and [`Apt::write_table_words`] use too.
//!
//! [`AptWords::new`] checks the header and every record's fields (tags, ids, ranges, enums,
//! zero padding, free records all zero) but not the rules between records
//! ([`Apt::validate`]): the monitor's writers only write records built from typed values, and
//! the operations check the rules before they edit. After that check every accessor decodes
//! its record infallibly. Reading and writing go through `get`/`get_mut`: nothing here
//! panics on any input.

use rmm_abi::csm::CsmMode;

use crate::codec::DecodeError;
use crate::ids::{RealmId, RegionId, ShareId};
use crate::range::IpaRange;
use crate::table::{Apt, Attachment, Grant, GrantState, Region, RegionState, Relation};

/// Words of the header: magic, version and two capacities, the third capacity, owner,
/// a reserved zero word, the protected IPA size, two reserved zero words.
pub(crate) const HEADER_WORDS: usize = 8;
/// Words of a region record: tag, id, base, size (its grants follow it).
pub(crate) const REGION_WORDS: usize = 4;
/// Words of a grant record: tag, share id, consumer.
pub(crate) const GRANT_WORDS: usize = 3;
/// Words of a received-grant record: tag, share id, provider, region, size, window base.
pub(crate) const ATTACHMENT_WORDS: usize = 6;

pub(crate) const MAGIC: [u8; 8] = *b"CSM-APT\0";
/// Layout version 5: version 4 without the checksum (its word is reserved, zero).
pub(crate) const VERSION: u32 = 5;
const OWNER_WORD: usize = 3;
const PAR_WORD: usize = 5;

impl<const NR: usize, const NG: usize, const NA: usize> Apt<NR, NG, NA> {
    /// Words of the table at the top of its granule (the rest of the granule is zero).
    pub const TABLE_WORDS: usize =
        HEADER_WORDS + NR * (REGION_WORDS + NG * GRANT_WORDS) + NA * ATTACHMENT_WORDS;

    /// The version-and-capacities word of the header.
    pub(crate) const VERSION_WORD: u64 = VERSION as u64 | (NR as u64) << 32 | (NG as u64) << 48;

    /// Offset of region slot `i`'s record.
    pub(crate) const fn region_at(i: usize) -> usize {
        HEADER_WORDS + i * (REGION_WORDS + NG * GRANT_WORDS)
    }

    /// Offset of grant slot `j` of region slot `i`.
    pub(crate) const fn grant_at(i: usize, j: usize) -> usize {
        Self::region_at(i) + REGION_WORDS + j * GRANT_WORDS
    }

    /// Offset of received-grant slot `k`.
    pub(crate) const fn attachment_at(k: usize) -> usize {
        Self::region_at(NR) + k * ATTACHMENT_WORDS
    }
}

/// Word `i` of `words` (zero past the end: only a layout bug reads there).
fn word(words: &[u64], i: usize) -> u64 {
    words.get(i).copied().unwrap_or(0)
}

/// `N` words of `words` from `at` (zeros past the end).
fn record<const N: usize>(words: &[u64], at: usize) -> [u64; N] {
    let mut out = [0; N];
    if let Some(src) = words.get(at..at.saturating_add(N)) {
        out.iter_mut().zip(src).for_each(|(o, s)| *o = *s);
    }
    out
}

/// Writes `record` at `at` (nothing past the end: only a layout bug writes there).
fn put<const N: usize>(words: &mut [u64], at: usize, record: [u64; N]) {
    if let Some(dst) = words.get_mut(at..at.saturating_add(N))
        && let Ok(dst) = <&mut [u64; N]>::try_from(dst)
    {
        *dst = record;
    }
}

/// The tag word of a record (`used`, then `fields` field bytes, then zero padding): `None` for
/// a free record (the caller checks that the rest of it is zero too), else the field bytes,
/// the first in the low byte. A free record's tag must be all zero, a used one's `used` byte 1.
fn tag(word: u64, fields: u32) -> Result<Option<u64>, DecodeError> {
    match word as u8 {
        0 if word == 0 => Ok(None),
        0 => Err(DecodeError::NonZero),
        1 if word >> (8 * (1 + fields)) == 0 => Ok(Some(word >> 8)),
        1 => Err(DecodeError::NonZero),
        _ => Err(DecodeError::BadEnum),
    }
}

/// A mode byte of a tag.
fn mode_of(field: u64) -> Result<CsmMode, DecodeError> {
    CsmMode::from_u64(field & 0xFF).ok_or(DecodeError::BadEnum)
}

/// A flag byte of a tag (0 or 1).
fn flag_of(field: u64) -> Result<bool, DecodeError> {
    match field & 0xFF {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(DecodeError::BadEnum),
    }
}

/// The words after a free record's tag must be zero.
fn free<const N: usize>(rest: &[u64; N]) -> Result<(), DecodeError> {
    if rest.iter().fold(0, |acc, w| acc | w) == 0 {
        Ok(())
    } else {
        Err(DecodeError::NonZero)
    }
}

/// A region record without its grants: `None` if free.
pub(crate) fn decode_region(
    r: [u64; REGION_WORDS],
) -> Result<Option<(RegionId, IpaRange, RegionState)>, DecodeError> {
    let [t, id, base, size] = r;
    let Some(fields) = tag(t, 1)? else {
        return free(&[id, base, size]).map(|()| None);
    };
    let state = if flag_of(fields)? {
        RegionState::Damaged
    } else {
        RegionState::Live
    };
    let id = RegionId::new(id).ok_or(DecodeError::ZeroId)?;
    let range = IpaRange::new(base, size).ok_or(DecodeError::BadRange)?;
    Ok(Some((id, range, state)))
}

/// A grant record: `None` if free.
pub(crate) fn decode_grant(r: [u64; GRANT_WORDS]) -> Result<Option<Grant>, DecodeError> {
    let [t, share, consumer] = r;
    let Some(fields) = tag(t, 2)? else {
        return free(&[share, consumer]).map(|()| None);
    };
    let mode = mode_of(fields)?;
    let state = if flag_of(fields >> 8)? {
        GrantState::Attached
    } else {
        GrantState::Offered
    };
    Ok(Some(Grant {
        share: ShareId::new(share).ok_or(DecodeError::ZeroId)?,
        consumer: RealmId::new(consumer).ok_or(DecodeError::ZeroId)?,
        mode,
        state,
    }))
}

/// A received-grant record: `None` if free.
pub(crate) fn decode_attachment(
    r: [u64; ATTACHMENT_WORDS],
) -> Result<Option<Attachment>, DecodeError> {
    let [t, share, provider, region, size, base] = r;
    let Some(fields) = tag(t, 2)? else {
        return free(&[share, provider, region, size, base]).map(|()| None);
    };
    let mode = mode_of(fields)?;
    let window = if flag_of(fields >> 8)? {
        Some(IpaRange::new(base, size).ok_or(DecodeError::BadRange)?)
    } else if base != 0 {
        return Err(DecodeError::NonZero);
    } else {
        None
    };
    Ok(Some(Attachment {
        share: ShareId::new(share).ok_or(DecodeError::ZeroId)?,
        provider: RealmId::new(provider).ok_or(DecodeError::ZeroId)?,
        region: RegionId::new(region).ok_or(DecodeError::ZeroId)?,
        size,
        mode,
        window,
    }))
}

/// The record of a region (its grants apart), or a free one.
pub(crate) fn region_record(region: Option<(RegionId, IpaRange, RegionState)>) -> [u64; 4] {
    match region {
        Some((id, range, state)) => {
            let damaged = u64::from(state == RegionState::Damaged);
            [1 | damaged << 8, id.get(), range.base(), range.size()]
        }
        None => [0; 4],
    }
}

/// The record of a grant, or a free one.
pub(crate) fn grant_record(grant: Option<&Grant>) -> [u64; GRANT_WORDS] {
    match grant {
        Some(g) => {
            let attached = u64::from(g.state == GrantState::Attached);
            [
                1 | (g.mode as u64) << 8 | attached << 16,
                g.share.get(),
                g.consumer.get(),
            ]
        }
        None => [0; GRANT_WORDS],
    }
}

/// The record of a received grant, or a free one.
pub(crate) fn attachment_record(a: Option<&Attachment>) -> [u64; ATTACHMENT_WORDS] {
    match a {
        Some(a) => {
            let attached = u64::from(a.window.is_some());
            [
                1 | (a.mode as u64) << 8 | attached << 16,
                a.share.get(),
                a.provider.get(),
                a.region.get(),
                a.size,
                a.window.map_or(0, IpaRange::base),
            ]
        }
        None => [0; ATTACHMENT_WORDS],
    }
}

/// The header's words for a table of `owner` with protected IPA size `par_size`.
pub(crate) fn header<const NR: usize, const NG: usize, const NA: usize>(
    owner: RealmId,
    par_size: u64,
) -> [u64; HEADER_WORDS] {
    [
        u64::from_le_bytes(MAGIC),
        Apt::<NR, NG, NA>::VERSION_WORD,
        NA as u64,
        owner.get(),
        0,
        par_size,
        0,
        0,
    ]
}

/// Checks a header: magic, version, capacities, reserved words; answers the owner and the
/// protected IPA size.
pub(crate) fn decode_header<const NR: usize, const NG: usize, const NA: usize>(
    h: [u64; HEADER_WORDS],
) -> Result<(RealmId, u64), DecodeError> {
    let [magic, version, caps, owner, reserved, par_size, r6, r7] = h;
    if magic.to_le_bytes() != MAGIC {
        return Err(DecodeError::Magic);
    }
    if version as u32 != VERSION {
        return Err(DecodeError::Version);
    }
    if version != Apt::<NR, NG, NA>::VERSION_WORD || caps & 0xFFFF != NA as u64 {
        return Err(DecodeError::Capacity);
    }
    if caps >> 16 != 0 || reserved | r6 | r7 != 0 {
        return Err(DecodeError::NonZero);
    }
    let owner = RealmId::new(owner).ok_or(DecodeError::ZeroId)?;
    Ok((owner, par_size))
}

/// A table read in place: its granule's first [`Apt::TABLE_WORDS`] words.
#[derive(Clone, Copy, Debug)]
pub struct AptWords<'a, const NR: usize, const NG: usize, const NA: usize> {
    words: &'a [u64],
}

impl<'a, const NR: usize, const NG: usize, const NA: usize> AptWords<'a, NR, NG, NA> {
    /// The table in `words` (at least [`Apt::TABLE_WORDS`] of them), its header and every
    /// record's fields checked (not the rules between records).
    pub fn new(words: &'a [u64]) -> Result<Self, DecodeError> {
        check::<NR, NG, NA>(words)?;
        Ok(Self { words })
    }

    /// The table in `words`, which [`AptWords::new`] accepted before (a store lends only
    /// tables it checked so): nothing is checked again. Reading words that were not checked
    /// never panics; a record that does not decode reads as free.
    pub const fn from_checked(words: &'a [u64]) -> Self {
        Self { words }
    }

    /// The realm this table belongs to.
    pub fn owner(&self) -> RealmId {
        RealmId::new(word(self.words, OWNER_WORD)).unwrap_or(RealmId::MIN)
    }

    /// Size of the owner's protected IPA space.
    pub fn par_size(&self) -> u64 {
        word(self.words, PAR_WORD)
    }

    /// Region slot `i`'s id, range and state (its grants apart), if the slot is in use.
    pub fn region_head(&self, i: usize) -> Option<(RegionId, IpaRange, RegionState)> {
        decode_region(record(self.words, Apt::<NR, NG, NA>::region_at(i))).ok()?
    }

    /// Grant slot `j` of region slot `i`, if in use.
    pub fn grant_in(&self, i: usize, j: usize) -> Option<Grant> {
        decode_grant(record(self.words, Apt::<NR, NG, NA>::grant_at(i, j))).ok()?
    }

    /// The region in slot `i` with its grants, if the slot is in use.
    #[inline(never)]
    pub fn region_in(&self, i: usize) -> Option<Region<NG>> {
        let (id, range, state) = self.region_head(i)?;
        let mut region = Region::new(id, range);
        region.state = state;
        for (j, slot) in region.grants.iter_mut().enumerate() {
            *slot = self.grant_in(i, j);
        }
        Some(region)
    }

    /// The received grant in slot `k`, if the slot is in use.
    #[inline(never)]
    pub fn attachment_in(&self, k: usize) -> Option<Attachment> {
        let at = Apt::<NR, NG, NA>::attachment_at(k);
        decode_attachment(record(self.words, at)).ok()?
    }

    /// The regions in use.
    pub fn regions(&self) -> impl Iterator<Item = Region<NG>> + 'a {
        let apt = *self;
        (0..NR).filter_map(move |i| apt.region_in(i))
    }

    /// The grants of every region, in slot order.
    pub fn grants(&self) -> impl Iterator<Item = Grant> + 'a {
        let apt = *self;
        (0..NR * NG).filter_map(move |n| apt.grant_in(n / NG, n % NG))
    }

    /// The received grants (attached or not).
    pub fn attachments(&self) -> impl Iterator<Item = Attachment> + 'a {
        let apt = *self;
        (0..NA).filter_map(move |k| apt.attachment_in(k))
    }

    /// The attached windows: `(received grant, window)`.
    pub fn windows(&self) -> impl Iterator<Item = (Attachment, IpaRange)> + 'a {
        self.attachments().filter_map(|a| a.window.map(|w| (a, w)))
    }

    /// Slot of the region with this id.
    #[inline(never)]
    pub fn region_slot(&self, id: RegionId) -> Option<usize> {
        (0..NR).find(|&i| {
            let [t, rid] = record(self.words, Apt::<NR, NG, NA>::region_at(i));
            t != 0 && rid == id.get()
        })
    }

    /// Slot and value of the region with this id.
    pub fn region(&self, id: RegionId) -> Option<(usize, Region<NG>)> {
        let i = self.region_slot(id)?;
        Some((i, self.region_in(i)?))
    }

    /// Region slot and grant slot of the grant with this id.
    #[inline(never)]
    pub fn grant_slot(&self, share: ShareId) -> Option<(usize, usize)> {
        (0..NR * NG).find_map(|n| {
            let (i, j) = (n / NG, n % NG);
            let [t, s] = record(self.words, Apt::<NR, NG, NA>::grant_at(i, j));
            (t != 0 && s == share.get()).then_some((i, j))
        })
    }

    /// The grant with this id and the region holding it.
    pub fn grant(&self, share: ShareId) -> Option<(Region<NG>, Grant)> {
        let (i, j) = self.grant_slot(share)?;
        Some((self.region_in(i)?, self.grant_in(i, j)?))
    }

    /// The grant with this id, with the id and range of the region holding it (what the
    /// operations need of the region: [`AptWords::grant`] decodes its other grants too).
    #[inline(never)]
    pub fn grant_of(&self, share: ShareId) -> Option<(RegionId, IpaRange, Grant)> {
        let (i, j) = self.grant_slot(share)?;
        let (id, range, _) = self.region_head(i)?;
        Some((id, range, self.grant_in(i, j)?))
    }

    /// Slot of the received grant with this id.
    #[inline(never)]
    pub fn attachment_slot(&self, share: ShareId) -> Option<usize> {
        (0..NA).find(|&k| {
            let [t, s] = record(self.words, Apt::<NR, NG, NA>::attachment_at(k));
            t != 0 && s == share.get()
        })
    }

    /// The received grant with this id.
    pub fn attachment(&self, share: ShareId) -> Option<Attachment> {
        self.attachment_in(self.attachment_slot(share)?)
    }

    /// A free region slot.
    pub fn free_region_slot(&self) -> Option<usize> {
        (0..NR).find(|&i| word(self.words, Apt::<NR, NG, NA>::region_at(i)) == 0)
    }

    /// A free grant slot of region slot `i`.
    pub fn free_grant_slot(&self, i: usize) -> Option<usize> {
        (0..NG).find(|&j| word(self.words, Apt::<NR, NG, NA>::grant_at(i, j)) == 0)
    }

    /// A free received-grant slot.
    pub fn free_attachment_slot(&self) -> Option<usize> {
        (0..NA).find(|&k| word(self.words, Apt::<NR, NG, NA>::attachment_at(k)) == 0)
    }

    /// True if `range` overlaps any of this realm's regions (live or damaged) or attached
    /// windows.
    #[inline(never)]
    pub fn overlaps_own(&self, range: IpaRange) -> bool {
        (0..NR).any(|i| {
            self.region_head(i)
                .is_some_and(|(_, r, _)| r.overlaps(range))
        }) || self.windows().any(|(_, w)| w.overlaps(range))
    }

    /// Every relation of the table, in token order (see [`Apt::relations`]).
    pub fn relations(&self) -> impl Iterator<Item = Relation> + 'a {
        let apt = *self;
        (0..NR * NG + NA).filter_map(move |n| apt.relation_in(n))
    }

    /// How many relations [`AptWords::relations`] lists: the used grant and received-grant
    /// records (a free region slot's grants are free).
    pub fn relation_count(&self) -> usize {
        (0..NR * NG + NA)
            .filter(|&n| word(self.words, Self::relation_record(n)) != 0)
            .count()
    }

    /// The relation at `index` of [`AptWords::relations`].
    pub fn relation(&self, index: usize) -> Option<Relation> {
        (0..NR * NG + NA)
            .filter(|&n| word(self.words, Self::relation_record(n)) != 0)
            .nth(index)
            .and_then(|n| self.relation_in(n))
    }

    /// Offset of relation slot `n`: the `n`th grant slot (region by region), then the
    /// received-grant slots.
    const fn relation_record(n: usize) -> usize {
        match n.checked_sub(NR * NG) {
            None => Apt::<NR, NG, NA>::grant_at(n / NG, n % NG),
            Some(k) => Apt::<NR, NG, NA>::attachment_at(k),
        }
    }

    /// The relation in relation slot `n` (see [`AptWords::relation_record`]), if in use.
    #[inline(never)]
    fn relation_in(&self, n: usize) -> Option<Relation> {
        if let Some(k) = n.checked_sub(NR * NG) {
            return Some(Relation::received(&self.attachment_in(k)?));
        }
        let (i, j) = (n / NG, n % NG);
        let (region, range, _) = self.region_head(i)?;
        Some(Relation::given(region, range, &self.grant_in(i, j)?))
    }
}

/// Checks a table's words: enough of them, the header, and every record's fields. Valid
/// tables take the fast path of plain comparisons ([`check_fast`], what the firmware runs on
/// every table it lends); only a table that fails it is decoded record by record, for the
/// precise error.
fn check<const NR: usize, const NG: usize, const NA: usize>(
    words: &[u64],
) -> Result<(), DecodeError> {
    if check_fast::<NR, NG, NA>(words).is_ok() {
        return Ok(());
    }
    let words = table_words::<NR, NG, NA>(words)?;
    for i in 0..NR {
        let region = decode_region(record(words, Apt::<NR, NG, NA>::region_at(i)))?;
        for j in 0..NG {
            let grant = decode_grant(record(words, Apt::<NR, NG, NA>::grant_at(i, j)))?;
            // A free region slot holds free grant slots only.
            if region.is_none() && grant.is_some() {
                return Err(DecodeError::NonZero);
            }
        }
    }
    for k in 0..NA {
        decode_attachment(record(words, Apt::<NR, NG, NA>::attachment_at(k)))?;
    }
    // Not reached: `fields_hold` accepts exactly the records the decoders accept.
    Err(DecodeError::NonZero)
}

/// The table's words of `words`, with a valid header.
fn table_words<const NR: usize, const NG: usize, const NA: usize>(
    words: &[u64],
) -> Result<&[u64], DecodeError> {
    let words = words
        .get(..Apt::<NR, NG, NA>::TABLE_WORDS)
        .ok_or(DecodeError::Length)?;
    decode_header::<NR, NG, NA>(record(words, 0))?;
    Ok(words)
}

/// [`AptWords::new`]'s check without the precise error: the header, then
/// [`fields_hold`] (`NonZero` for any record that does not decode). What the firmware
/// checks every table it lends with (`crate::capacity::fw::check`): any error stops it.
pub(crate) fn check_fast<const NR: usize, const NG: usize, const NA: usize>(
    words: &[u64],
) -> Result<(), DecodeError> {
    if fields_hold::<NR, NG, NA>(table_words::<NR, NG, NA>(words)?) {
        Ok(())
    } else {
        Err(DecodeError::NonZero)
    }
}

/// True if every record decodes ([`decode_region`], [`decode_grant`], [`decode_attachment`]
/// and a free region's grants free), by comparisons alone.
pub(crate) fn fields_hold<const NR: usize, const NG: usize, const NA: usize>(
    words: &[u64],
) -> bool {
    let mut ok = true;
    for i in 0..NR {
        let [t, id, base, size] = record(words, Apt::<NR, NG, NA>::region_at(i));
        ok &= if t == 0 {
            id | base | size == 0
        } else {
            t & 0xFF == 1 && t >> 16 == 0 && (t >> 8) <= 1 && id != 0 && range_holds(base, size)
        };
        for j in 0..NG {
            let [g, share, consumer] = record(words, Apt::<NR, NG, NA>::grant_at(i, j));
            ok &= if g == 0 {
                share | consumer == 0
            } else {
                t != 0 && tag_holds(g) && share != 0 && consumer != 0
            };
        }
    }
    for k in 0..NA {
        let [t, share, provider, region, size, base] =
            record(words, Apt::<NR, NG, NA>::attachment_at(k));
        ok &= if t == 0 {
            share | provider | region | size | base == 0
        } else {
            let attached = (t >> 16) & 0xFF == 1;
            tag_holds(t)
                && share != 0
                && provider != 0
                && region != 0
                && if attached {
                    range_holds(base, size)
                } else {
                    base == 0
                }
        };
    }
    ok
}

/// A used grant's or received grant's tag: used, a defined mode, a flag of 0 or 1, zeros.
const fn tag_holds(t: u64) -> bool {
    t & 0xFF == 1 && t >> 24 == 0 && (t >> 16) <= 1 && CsmMode::from_u64((t >> 8) & 0xFF).is_some()
}

/// What [`IpaRange::new`] accepts.
const fn range_holds(base: u64, size: u64) -> bool {
    IpaRange::new(base, size).is_some()
}

/// A table edited in place: its granule's first [`Apt::TABLE_WORDS`] words. Each edit writes
/// whole records built from typed values, so the table's fields stay decodable; the rules
/// between records are the caller's to keep (the `csm` operations check them before editing).
#[derive(Debug)]
pub struct AptWordsMut<'a, const NR: usize, const NG: usize, const NA: usize> {
    words: &'a mut [u64],
}

impl<'a, const NR: usize, const NG: usize, const NA: usize> AptWordsMut<'a, NR, NG, NA> {
    /// Edits the table in `words` (which the caller read with [`AptWords::new`] or is about to
    /// [`AptWordsMut::init`]).
    pub fn new(words: &'a mut [u64]) -> Self {
        Self { words }
    }

    /// The table read back (its words as [`AptWordsMut::new`] was given them).
    pub fn read(&self) -> AptWords<'_, NR, NG, NA> {
        AptWords::from_checked(self.words)
    }

    /// Makes this the empty table of `owner` with protected IPA size `par_size`: the header,
    /// and every record free.
    pub fn init(&mut self, owner: RealmId, par_size: u64) {
        let end = Apt::<NR, NG, NA>::TABLE_WORDS;
        if let Some(table) = self.words.get_mut(..end) {
            table.fill(0);
        }
        put(self.words, 0, header::<NR, NG, NA>(owner, par_size));
    }

    /// Writes region slot `i` (its grants apart).
    pub fn set_region(&mut self, i: usize, region: Option<(RegionId, IpaRange, RegionState)>) {
        put(
            self.words,
            Apt::<NR, NG, NA>::region_at(i),
            region_record(region),
        );
    }

    /// Writes grant slot `j` of region slot `i`.
    pub fn set_grant(&mut self, i: usize, j: usize, grant: Option<&Grant>) {
        put(
            self.words,
            Apt::<NR, NG, NA>::grant_at(i, j),
            grant_record(grant),
        );
    }

    /// Writes received-grant slot `k`.
    pub fn set_attachment(&mut self, k: usize, attachment: Option<&Attachment>) {
        put(
            self.words,
            Apt::<NR, NG, NA>::attachment_at(k),
            attachment_record(attachment),
        );
    }

    /// Frees region slot `i` and its grants.
    pub fn clear_region(&mut self, i: usize) {
        self.set_region(i, None);
        for j in 0..NG {
            self.set_grant(i, j, None);
        }
    }
}
