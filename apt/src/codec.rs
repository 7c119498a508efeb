// SPDX-License-Identifier: MIT OR Apache-2.0
//! The granule layout of an [`Apt`] and its checked decoding.
//!
//! Little-endian, fixed offsets, every byte accounted for:
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 8 | magic `"CSM-APT\0"` |
//! | 8 | 4 | layout version (5) |
//! | 12 | 2 × 3 | capacities `NR`, `NG`, `NA` (must match the decoder's type) |
//! | 18 | 6 | zero |
//! | 24 | 8 | owner `RealmId` |
//! | 32 | 8 | zero (version 4 held a checksum here) |
//! | 40 | 8 | the owner's protected IPA size |
//! | 48 | 16 | zero |
//! | 64 | `NR` × (32 + `NG` × 24) | regions, each followed by its grants |
//! | … | `NA` × 48 | attachments |
//! | … | to 4096 | zero |
//!
//! Region record: `[used, state, 0 × 6]`, id, base, size. Grant record: `[used, mode, state,
//! 0 × 5]`, share id, consumer. Attachment record: `[used, mode, attached, 0 × 5]`, share id,
//! provider, region, size, window base (zero unless attached). A free record is all zero.
//! Every field is whole 64-bit words, so the table is its granule's words: the monitor reads
//! and edits it there, record by record (`crate::words`, which owns the offsets and each
//! record's decoder and writer), and never decodes or encodes a whole table. This file is the
//! whole-table form the tests, the model checker and the fuzz targets use: [`Apt::decode`]
//! checks every byte and then [`Apt::validate`]; it returns an error on anything else and
//! never panics.
//!
//! The APT granule is in the realm PAS and only the monitor writes it, through the record
//! writers of `crate::words`, which take typed values; like the RD, the REC and the RTTs it
//! carries no checksum (version 4 did: checking it and re-computing it on every read and write
//! cost each table about 1,900 instructions per CSM call, and it guarded only against the
//! monitor's own stray writes, which nothing else in the monitor's memory is guarded
//! against).

use crate::capacity::GRANULE_SIZE;
use crate::table::Apt;
use crate::words::{AptWords, attachment_record, grant_record, header, region_record};

/// Why a granule does not hold a valid table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Not exactly one granule of bytes (or fewer words than the table).
    Length,
    /// Wrong magic.
    Magic,
    /// Unknown layout version.
    Version,
    /// The table was written with other capacities.
    Capacity,
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

/// The granule as little-endian 64-bit words.
pub const GRANULE_WORDS: usize = GRANULE_SIZE / 8;
const _: () = assert!(GRANULE_WORDS * 8 == GRANULE_SIZE && GRANULE_WORDS == 512);

impl<const NR: usize, const NG: usize, const NA: usize> Apt<NR, NG, NA> {
    /// Bytes used by the encoded table (the rest of the granule is zero).
    pub const ENCODED_LEN: usize = Self::TABLE_WORDS * 8;

    /// Evaluated (and so checked at compile time) for every capacity the codec is used with.
    pub(crate) const FITS: () = assert!(
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
    /// bytes).
    pub fn encode_words(&self, out: &mut [u64; GRANULE_WORDS]) {
        self.write_table_words(out);
        if let Some(rest) = out.get_mut(Self::TABLE_WORDS..) {
            rest.fill(0);
        }
    }

    /// [`Apt::encode_words`] of the table's own words only (the first [`Apt::TABLE_WORDS`]),
    /// into `out`, leaving any words after them as they are.
    pub fn write_table_words(&self, out: &mut [u64]) {
        let () = Self::FITS;
        let mut w = Writer { buf: out, pos: 0 };
        w.words(header::<NR, NG, NA>(self.owner, self.par_size));
        for region in &self.regions {
            w.words(region_record(
                region.as_ref().map(|r| (r.id, r.range, r.state)),
            ));
            let grants = region.as_ref().map(|r| r.grants);
            for grant in grants.unwrap_or([None; NG]) {
                w.words(grant_record(grant.as_ref()));
            }
        }
        for attachment in &self.attachments {
            w.words(attachment_record(attachment.as_ref()));
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
    /// bytes): the table's words ([`Apt::from_table_words`]) and zeros after them.
    pub fn decode_words(words: &[u64; GRANULE_WORDS]) -> Result<Self, DecodeError> {
        let apt = Self::from_table_words(words)?;
        zero_after(words, Self::TABLE_WORDS)?;
        Ok(apt)
    }

    /// The table in its words (the first [`Apt::TABLE_WORDS`] of `words`), with every check
    /// of [`Apt::decode`] but the zeros after the table: every field
    /// ([`AptWords::new`]), then the rules ([`Apt::validate`]).
    pub fn from_table_words(words: &[u64]) -> Result<Self, DecodeError> {
        let () = Self::FITS;
        let table = AptWords::<NR, NG, NA>::new(words)?;
        let mut apt = Self::new(table.owner(), table.par_size());
        for (i, slot) in apt.regions.iter_mut().enumerate() {
            *slot = table.region_in(i);
        }
        for (k, slot) in apt.attachments.iter_mut().enumerate() {
            *slot = table.attachment_in(k);
        }
        apt.validate()?;
        Ok(apt)
    }
}

/// Checks that every word of the granule from `start` on is zero.
fn zero_after(words: &[u64; GRANULE_WORDS], start: usize) -> Result<(), DecodeError> {
    let rest = words.get(start..).unwrap_or(&[]);
    if rest.iter().fold(0, |acc, w| acc | w) == 0 {
        Ok(())
    } else {
        Err(DecodeError::NonZero)
    }
}

/// Sequential writer of whole words; positions are fixed by the layout and bounded by `FITS`,
/// and every write goes through `get_mut`, so a layout bug truncates rather than panics.
struct Writer<'a> {
    buf: &'a mut [u64],
    pos: usize,
}

impl Writer<'_> {
    fn words<const N: usize>(&mut self, record: [u64; N]) {
        let end = self.pos.saturating_add(N);
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.iter_mut().zip(record).for_each(|(d, w)| *d = w);
        }
        self.pos = end;
    }
}

#[cfg(test)]
mod tests;
