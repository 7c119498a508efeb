// SPDX-License-Identifier: MIT OR Apache-2.0
//! The granule layout of an [`Apt`] and its checked decoding.
//!
//! Little-endian, fixed offsets, every byte accounted for:
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 8 | magic `"CSM-APT\0"` |
//! | 8 | 4 | layout version (4) |
//! | 12 | 2 × 3 | capacities `NR`, `NG`, `NA` (must match the decoder's type) |
//! | 18 | 6 | zero |
//! | 24 | 8 | owner `RealmId` |
//! | 32 | 8 | checksum: FNV-1a 64 over the table's words (the first `ENCODED_LEN` bytes), this one read as zero |
//! | 40 | 8 | the owner's protected IPA size |
//! | 48 | 16 | zero |
//! | 64 | `NR` × (32 + `NG` × 24) | regions, each followed by its grants |
//! | … | `NA` × 48 | attachments |
//! | … | to 4096 | zero |
//!
//! Region record: `[used, state, 0 × 6]`, id, base, size. Grant record: `[used, mode, state,
//! 0 × 5]`, share id, consumer. Attachment record: `[used, mode, attached, 0 × 5]`, share id,
//! provider, region, size, window base (zero unless attached). A free record is all zero. Decoding checks every byte
//! and then [`Apt::validate`]; it returns an error on anything else and never panics. The
//! monitor writes with [`Apt::write_table_words`] and reads with [`Apt::read_words_into`]:
//! the table's words only (its granules are zero beyond the table from creation to
//! destruction, and nothing reads there), every field and the checksum but not the rules,
//! which it checks before it writes a table.
//!
//! Every field is whole 64-bit words (the header's version and capacities share two), so the
//! codec works on the granule as 512 aligned little-endian words ([`Apt::decode_words`],
//! [`Apt::encode_words`]): the monitor decodes and encodes in place in the granule's mapping,
//! a word per load or store, no byte accesses and no copies (the RMM is built for strict
//! alignment, where a byte-array read costs eight loads). [`Apt::decode`] and
//! [`Apt::encode`] are the same encoding over bytes.
//!
//! The APT granule is in the realm PAS, so only a monitor bug (or a hardware fault) can
//! corrupt it; the checks make such corruption an error rather than a trusted table.

use rmm_abi::csm::CsmMode;

use crate::capacity::GRANULE_SIZE;
use crate::ids::{RealmId, RegionId, ShareId};
use crate::range::IpaRange;
use crate::table::{Apt, Attachment, Grant, GrantState, Region, RegionState};

/// Why a granule does not hold a valid table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Not exactly one granule of bytes.
    Length,
    /// Wrong magic.
    Magic,
    /// Unknown layout version.
    Version,
    /// The table was written with other capacities.
    Capacity,
    /// The checksum does not match.
    Checksum,
    /// A reserved or padding byte, or a free record, is not zero.
    NonZero,
    /// A tag, state or mode byte holds an undefined value.
    BadEnum,
    /// An id is 0.
    ZeroId,
    /// A range is empty, misaligned or wraps.
    BadRange,
    /// Two objects share an id.
    DuplicateId,
    /// Two regions or windows overlap.
    Overlap,
    /// A damaged region still holds a grant.
    GrantInDamagedRegion,
    /// A grant to the owner itself, or an attachment to the owner's own region.
    SelfReference,
    /// Two grants of one region name the same consumer.
    DuplicateGrant,
}

const MAGIC: [u8; 8] = *b"CSM-APT\0";
/// The owner of a table before [`Apt::decode_words_into`] fills it in.
pub const PLACEHOLDER_OWNER: RealmId = RealmId::MIN;
const VERSION: u32 = 4;
const HEADER_LEN: usize = 64;
const HEADER_WORDS: usize = HEADER_LEN / 8;
/// The granule as little-endian 64-bit words.
pub const GRANULE_WORDS: usize = GRANULE_SIZE / 8;
const _: () = assert!(GRANULE_WORDS * 8 == GRANULE_SIZE && GRANULE_WORDS == 512);
const CHECKSUM_OFFSET: usize = 32;
const _: () = assert!(
    CHECKSUM_OFFSET.is_multiple_of(8),
    "the checksum is one word"
);
const REGION_LEN: usize = 32;
const GRANT_LEN: usize = 24;
const ATTACHMENT_LEN: usize = 48;
const _: () = assert!(
    REGION_LEN.is_multiple_of(8) && GRANT_LEN.is_multiple_of(8) && ATTACHMENT_LEN.is_multiple_of(8),
    "every record is whole words"
);

impl<const NR: usize, const NG: usize, const NA: usize> Apt<NR, NG, NA> {
    /// Bytes used by the encoded table (the rest of the granule is zero).
    pub const ENCODED_LEN: usize =
        HEADER_LEN + NR * (REGION_LEN + NG * GRANT_LEN) + NA * ATTACHMENT_LEN;

    /// Evaluated (and so checked at compile time) for every capacity the codec is used with.
    const FITS: () = assert!(
        Self::ENCODED_LEN <= GRANULE_SIZE && NR <= 0xFFFF && NG <= 0xFFFF && NA <= 0xFFFF,
        "an APT must fit one granule"
    );

    /// Writes the table into a granule (every byte of it).
    pub fn encode(&self, out: &mut [u8; GRANULE_SIZE]) {
        let mut words = [0u64; GRANULE_WORDS];
        self.encode_words(&mut words);
        for (dst, word) in out.as_chunks_mut::<8>().0.iter_mut().zip(words) {
            *dst = word.to_le_bytes();
        }
    }

    /// [`Apt::encode`] into the granule's 512 words (each the little-endian value of its eight
    /// bytes), whole aligned words, no byte stores.
    pub fn encode_words(&self, out: &mut [u64; GRANULE_WORDS]) {
        self.write_table_words(out);
        if let Some(rest) = out.get_mut(Self::ENCODED_LEN / 8..) {
            rest.fill(0);
        }
    }

    /// [`Apt::encode_words`] of the table's own words only (the first
    /// [`Apt::ENCODED_LEN`] bytes), leaving the rest of the granule as it is: what the
    /// monitor writes. Its APT granules are zero beyond the table already and stay so (an APT
    /// is created in a DELEGATED granule, which is all zeros, nothing but this writes it, and
    /// `RMI_APT_DESTROY` zeroes it whole), so the 280 words after the table are neither
    /// rewritten on every store nor checked on every read ([`Apt::read_words_into`]).
    pub fn write_table_words(&self, out: &mut [u64; GRANULE_WORDS]) {
        let () = Self::FITS;
        let mut w = Writer { buf: out, pos: 0 };
        w.bytes(MAGIC);
        // Version and the first two capacities, then the third and six zero bytes (FITS
        // bounds each capacity by 0xFFFF).
        w.word(u64::from(VERSION) | (NR as u64) << 32 | (NG as u64) << 48);
        w.word(NA as u64);
        w.word(self.owner.get());
        w.zeros::<1>(); // checksum, filled in below
        w.word(self.par_size);
        w.zeros::<{ HEADER_WORDS - 6 }>();
        for region in &self.regions {
            match region {
                Some(r) => {
                    let state = match r.state {
                        RegionState::Live => 0,
                        RegionState::Damaged => 1,
                    };
                    w.bytes([1, state, 0, 0, 0, 0, 0, 0]);
                    w.word(r.id.get());
                    w.word(r.range.base());
                    w.word(r.range.size());
                    for grant in &r.grants {
                        encode_grant(&mut w, grant.as_ref());
                    }
                }
                None => {
                    w.zeros::<{ REGION_LEN / 8 }>();
                    for _ in 0..NG {
                        w.zeros::<{ GRANT_LEN / 8 }>();
                    }
                }
            }
        }
        for attachment in &self.attachments {
            match attachment {
                Some(a) => {
                    let attached = u8::from(a.window.is_some());
                    w.bytes([1, a.mode as u8, attached, 0, 0, 0, 0, 0]);
                    w.word(a.share.get());
                    w.word(a.provider.get());
                    w.word(a.region.get());
                    w.word(a.size);
                    w.word(a.window.map_or(0, IpaRange::base));
                }
                None => w.zeros::<{ ATTACHMENT_LEN / 8 }>(),
            }
        }
        let sum = checksum(out, Self::ENCODED_LEN / 8);
        if let Some(word) = out.get_mut(CHECKSUM_OFFSET / 8) {
            *word = sum;
        }
    }

    /// Reads a table back from granule bytes, checking everything; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let granule: &[u8; GRANULE_SIZE] = bytes.try_into().map_err(|_| DecodeError::Length)?;
        let mut words = [0u64; GRANULE_WORDS];
        for (word, chunk) in words.iter_mut().zip(granule.as_chunks::<8>().0) {
            *word = u64::from_le_bytes(*chunk);
        }
        Self::decode_words(&words)
    }

    /// [`Apt::decode`] from the granule's 512 words (each the little-endian value of its eight
    /// bytes): what the monitor reads, whole aligned words, no byte loads.
    pub fn decode_words(words: &[u64; GRANULE_WORDS]) -> Result<Self, DecodeError> {
        let mut apt = Self::new(PLACEHOLDER_OWNER, 0);
        apt.decode_words_into(words)?;
        Ok(apt)
    }

    /// [`Apt::decode_words`] into `self` (no table-sized temporary or return value). On an
    /// error `self` holds a partly decoded table, which the caller must not use.
    pub fn decode_words_into(&mut self, words: &[u64; GRANULE_WORDS]) -> Result<(), DecodeError> {
        self.read_words_into(words)?;
        zero_after(words, Self::ENCODED_LEN / 8)?;
        self.validate()
    }

    /// [`Apt::decode_words_into`] of the table's own words (the first [`Apt::ENCODED_LEN`]
    /// bytes), without the table rules ([`Apt::validate`]) and without the zero check of the
    /// rest of the granule: every field and the checksum are checked, so the words are the
    /// ones an encoder wrote. What the monitor reads its APT granules with: it encodes no
    /// table it has not validated (the commit checks each edited table before writing it), so
    /// the rules hold of whatever the checksum proves it wrote, and checking them again on
    /// every read cost each CSM call about 2,000 instructions per table; and it never writes
    /// beyond the table ([`Apt::write_table_words`]), where nothing is read.
    pub fn read_words_into(&mut self, words: &[u64; GRANULE_WORDS]) -> Result<(), DecodeError> {
        let () = Self::FITS;
        let mut r = Reader { buf: words, pos: 0 };
        if r.bytes() != MAGIC {
            return Err(DecodeError::Magic);
        }
        let [version, caps] = [r.word(), r.word()];
        if version as u32 != VERSION {
            return Err(DecodeError::Version);
        }
        let capacities = [(version >> 32) as u16, (version >> 48) as u16, caps as u16];
        if capacities != [NR as u16, NG as u16, NA as u16] {
            return Err(DecodeError::Capacity);
        }
        if caps >> 16 != 0 {
            return Err(DecodeError::NonZero);
        }
        let owner = RealmId::new(r.word()).ok_or(DecodeError::ZeroId)?;
        let stored_sum = r.word();
        let par_size = r.word();
        r.zeros(HEADER_WORDS - 6)?;
        if stored_sum != checksum(words, Self::ENCODED_LEN / 8) {
            return Err(DecodeError::Checksum);
        }
        self.owner = owner;
        self.par_size = par_size;
        for slot in self.regions.iter_mut() {
            decode_region_into(&mut r, slot)?;
        }
        for slot in self.attachments.iter_mut() {
            decode_attachment_into(&mut r, slot)?;
        }
        Ok(())
    }
}

/// Checks that every word of the granule from `start` on is zero, four words a step (a word a
/// step was four instructions each, 280 words per table).
fn zero_after(words: &[u64; GRANULE_WORDS], start: usize) -> Result<(), DecodeError> {
    let rest = words.get(start..).unwrap_or(&[]);
    let (quads, tail) = rest.as_chunks::<4>();
    let or4 = |acc: u64, [a, b, c, d]: &[u64; 4]| acc | a | b | c | d;
    let any = tail
        .iter()
        .fold(quads.iter().fold(0, or4), |acc, w| acc | w);
    if any == 0 {
        Ok(())
    } else {
        Err(DecodeError::NonZero)
    }
}

fn encode_grant(w: &mut Writer<'_>, grant: Option<&Grant>) {
    match grant {
        Some(g) => {
            let state = match g.state {
                GrantState::Offered => 0,
                GrantState::Attached => 1,
            };
            w.bytes([1, g.mode as u8, state, 0, 0, 0, 0, 0]);
            w.word(g.share.get());
            w.word(g.consumer.get());
        }
        None => w.zeros::<{ GRANT_LEN / 8 }>(),
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

/// Decodes a region record and its grants into `slot`, in place: a region is 128 bytes, and
/// building it on the stack and returning it cost three copies of it per slot.
fn decode_region_into<const NG: usize>(
    r: &mut Reader<'_>,
    slot: &mut Option<Region<NG>>,
) -> Result<(), DecodeError> {
    let Some(fields) = tag(r.word(), 1)? else {
        *slot = None;
        return r.zeros((REGION_LEN - 8 + NG * GRANT_LEN) / 8);
    };
    let state = if flag_of(fields)? {
        RegionState::Damaged
    } else {
        RegionState::Live
    };
    let id = RegionId::new(r.word()).ok_or(DecodeError::ZeroId)?;
    let (base, size) = (r.word(), r.word());
    let range = IpaRange::new(base, size).ok_or(DecodeError::BadRange)?;
    let region = match slot {
        Some(region) => {
            region.id = id;
            region.range = range;
            region
        }
        None => slot.insert(Region::new(id, range)),
    };
    region.state = state;
    for grant in region.grants.iter_mut() {
        *grant = decode_grant(r)?;
    }
    Ok(())
}

fn decode_grant(r: &mut Reader<'_>) -> Result<Option<Grant>, DecodeError> {
    let Some(fields) = tag(r.word(), 2)? else {
        r.zeros((GRANT_LEN - 8) / 8)?;
        return Ok(None);
    };
    let mode = mode_of(fields)?;
    let state = if flag_of(fields >> 8)? {
        GrantState::Attached
    } else {
        GrantState::Offered
    };
    let share = ShareId::new(r.word()).ok_or(DecodeError::ZeroId)?;
    let consumer = RealmId::new(r.word()).ok_or(DecodeError::ZeroId)?;
    Ok(Some(Grant {
        share,
        consumer,
        mode,
        state,
    }))
}

/// Decodes an attachment record into `slot`, in place (as [`decode_region_into`]).
fn decode_attachment_into(
    r: &mut Reader<'_>,
    slot: &mut Option<Attachment>,
) -> Result<(), DecodeError> {
    let Some(fields) = tag(r.word(), 2)? else {
        *slot = None;
        return r.zeros((ATTACHMENT_LEN - 8) / 8);
    };
    let mode = mode_of(fields)?;
    let attached = flag_of(fields >> 8)?;
    let share = ShareId::new(r.word()).ok_or(DecodeError::ZeroId)?;
    let provider = RealmId::new(r.word()).ok_or(DecodeError::ZeroId)?;
    let region = RegionId::new(r.word()).ok_or(DecodeError::ZeroId)?;
    let (size, base) = (r.word(), r.word());
    let window = if attached {
        Some(IpaRange::new(base, size).ok_or(DecodeError::BadRange)?)
    } else if base != 0 {
        return Err(DecodeError::NonZero);
    } else {
        None
    };
    *slot = Some(Attachment {
        share,
        provider,
        region,
        size,
        mode,
        window,
    });
    Ok(())
}

/// FNV-1a 64 over the granule's words, reading the checksum word as zero.
fn checksum(words: &[u64; GRANULE_WORDS], used: usize) -> u64 {
    // FNV-1a over the table's first `used` little-endian 64-bit words (the checksum word read
    // as zero): a word at a time, eight times fewer steps than bytewise, two words per loop
    // step, and only the words the table uses (the monitor decodes and encodes an APT several
    // times per CSM operation; the rest of the granule must be zero, which the decoder checks
    // word by word). Each step is a bijection of the state for a given word, so any change to
    // one word changes the result.
    let (head, rest) = words.split_at(CHECKSUM_OFFSET / 8);
    let body = rest.get(1..used.saturating_sub(head.len())).unwrap_or(&[]);
    let hash = head.iter().fold(FNV_OFFSET, |h, w| fnv_step(h, *w));
    let (pairs, tail) = body.as_chunks::<2>();
    let hash = pairs
        .iter()
        .fold(fnv_step(hash, 0), |h, [a, b]| fnv_step(fnv_step(h, *a), *b));
    tail.iter().fold(hash, |h, w| fnv_step(h, *w))
}

/// FNV-1a 64's initial state.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// One step of FNV-1a 64 over a whole word.
const fn fnv_step(hash: u64, word: u64) -> u64 {
    (hash ^ word).wrapping_mul(FNV_PRIME)
}

/// FNV-1a 64's prime.
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// Sequential writer of whole words; positions are fixed by the layout and bounded by `FITS`,
/// and every write goes through `get_mut`, so a layout bug truncates rather than panics.
struct Writer<'a> {
    buf: &'a mut [u64; GRANULE_WORDS],
    pos: usize,
}

impl Writer<'_> {
    fn word(&mut self, v: u64) {
        if let Some(dst) = self.buf.get_mut(self.pos) {
            *dst = v;
        }
        self.pos = self.pos.saturating_add(1);
    }
    /// A word given as its eight bytes in memory order.
    fn bytes(&mut self, b: [u8; 8]) {
        self.word(u64::from_le_bytes(b));
    }
    /// `N` zero words: stores the compiler writes out (the runs are a free record's few
    /// words, where a call to `memset` cost more than the stores).
    fn zeros<const N: usize>(&mut self) {
        let end = self.pos.saturating_add(N);
        if let Some(dst) = self.buf.get_mut(self.pos..end)
            && let Ok(dst) = <&mut [u64; N]>::try_from(dst)
        {
            *dst = [0; N];
        }
        self.pos = end;
    }
}

/// Sequential reader of whole words; reading past the end yields zeros (only reachable through
/// a layout bug, since `FITS` bounds the layout by the granule).
struct Reader<'a> {
    buf: &'a [u64; GRANULE_WORDS],
    pos: usize,
}

impl Reader<'_> {
    fn word(&mut self) -> u64 {
        let v = self.buf.get(self.pos).copied().unwrap_or(0);
        self.pos = self.pos.saturating_add(1);
        v
    }
    /// A word as its eight bytes in memory order.
    fn bytes(&mut self) -> [u8; 8] {
        self.word().to_le_bytes()
    }
    fn zeros(&mut self, words: usize) -> Result<(), DecodeError> {
        let end = self.pos.saturating_add(words);
        let all_zero = self
            .buf
            .get(self.pos..end)
            .is_some_and(|w| w.iter().fold(0, |acc, w| acc | w) == 0);
        self.pos = end;
        if all_zero {
            Ok(())
        } else {
            Err(DecodeError::NonZero)
        }
    }
}

#[cfg(test)]
mod tests;
