// SPDX-License-Identifier: MIT OR Apache-2.0
//! Codec tests: round trips, every kind of corruption, and property tests over random bytes.

use super::*;
use crate::ids::{RealmId, RegionId, ShareId};
use crate::range::IpaRange;
use crate::table::{Attachment, Grant, GrantState, Region, RegionState};
use crate::words::AptWordsMut;
extern crate std;
use proptest::prelude::*;
use rmm_abi::csm::CsmMode;
use std::format;

type Small = Apt<2, 2, 3>;
type Fw = crate::FwApt;

fn rid(v: u64) -> RealmId {
    RealmId::new(v).unwrap()
}

/// Protected IPA size of the sample tables.
const PAR: u64 = 0x40_0000;

fn sample() -> Small {
    let mut t = Small::new(rid(1), PAR);
    let mut r = Region::new(
        RegionId::new(5).unwrap(),
        IpaRange::new(0x10_0000, 0x2000).unwrap(),
    );
    r.state = RegionState::Live;
    r.grants[1] = Some(Grant {
        share: ShareId::new(9).unwrap(),
        consumer: rid(2),
        mode: CsmMode::ReadWrite,
        state: GrantState::Attached,
    });
    t.regions[1] = Some(r);
    let mut d = Region::new(
        RegionId::new(6).unwrap(),
        IpaRange::new(0x20_0000, 0x1000).unwrap(),
    );
    d.state = RegionState::Damaged;
    t.regions[0] = Some(d);
    t.attachments[2] = Some(Attachment {
        share: ShareId::new(10).unwrap(),
        provider: rid(3),
        region: RegionId::new(7).unwrap(),
        size: 0x3000,
        mode: CsmMode::Read,
        window: Some(IpaRange::new(0x4000, 0x3000).unwrap()),
    });
    t.attachments[1] = Some(Attachment {
        share: ShareId::new(11).unwrap(),
        provider: rid(3),
        region: RegionId::new(8).unwrap(),
        size: 0x1000,
        mode: CsmMode::ReadWrite,
        window: None,
    });
    t
}

fn encoded<const NR: usize, const NG: usize, const NA: usize>(
    t: &Apt<NR, NG, NA>,
) -> [u8; GRANULE_SIZE] {
    let mut buf = [0xAA; GRANULE_SIZE];
    t.encode(&mut buf);
    buf
}

/// A granule's bytes as the codec's little-endian words.
fn words_of(buf: &[u8; GRANULE_SIZE]) -> [u64; GRANULE_WORDS] {
    let mut words = [0u64; GRANULE_WORDS];
    for (word, chunk) in words.iter_mut().zip(buf.as_chunks::<8>().0) {
        *word = u64::from_le_bytes(*chunk);
    }
    words
}

/// The word form is the byte form read as little-endian words, both ways.
#[test]
fn words_and_bytes_are_the_same_encoding() {
    let t = sample();
    let bytes = encoded(&t);
    let mut words = [0xAAAA_AAAA_AAAA_AAAA; GRANULE_WORDS];
    t.encode_words(&mut words);
    for (word, chunk) in words.iter().zip(bytes.as_chunks::<8>().0) {
        assert_eq!(*word, u64::from_le_bytes(*chunk));
    }
    assert_eq!(Small::decode_words(&words), Ok(t));
    // A word beyond the table must be zero.
    words[GRANULE_WORDS - 1] = 1 << 63;
    assert_eq!(Small::decode_words(&words), Err(DecodeError::NonZero));
}

/// The table's words alone are written and read by `write_table_words` and
/// `from_table_words`: the words after the table are left as they are and never read, where
/// the full decode requires them zero.
#[test]
fn the_table_words_alone_are_written_and_read() {
    let t = sample();
    let table_words = Small::ENCODED_LEN / 8;
    let mut words = [0xAAAA_AAAA_AAAA_AAAA; GRANULE_WORDS];
    t.write_table_words(&mut words);
    let mut full = [0u64; GRANULE_WORDS];
    t.encode_words(&mut full);
    assert_eq!(words[..table_words], full[..table_words]);
    assert!(
        words[table_words..]
            .iter()
            .all(|w| *w == 0xAAAA_AAAA_AAAA_AAAA)
    );
    assert_eq!(Small::from_table_words(&words), Ok(t));
    assert_eq!(
        Small::from_table_words(&words[..table_words - 1]),
        Err(DecodeError::Length)
    );
    assert_eq!(Small::decode_words(&words), Err(DecodeError::NonZero));
    // Every word after the table, alone: ignored by the table read, refused by the decode.
    for i in table_words..GRANULE_WORDS {
        let mut one = full;
        one[i] = 1;
        assert_eq!(Small::from_table_words(&one), Ok(t));
        assert_eq!(
            Small::decode_words(&one),
            Err(DecodeError::NonZero),
            "word {i}"
        );
    }
}

fn corrupt(at: usize, value: u8) -> Result<Small, DecodeError> {
    let mut buf = encoded(&sample());
    buf[at] = value;
    Small::decode(&buf)
}

fn corrupt_u64(at: usize, value: u64) -> Result<Small, DecodeError> {
    let mut buf = encoded(&sample());
    buf[at..at + 8].copy_from_slice(&value.to_le_bytes());
    Small::decode(&buf)
}

/// The monitor's read in place (`AptWords::new`) checks every field but not the table rules,
/// which the full decode adds: a table whose regions overlap reads, and does not decode; a
/// field error fails both.
#[test]
fn reading_in_place_checks_fields_decoding_also_the_rules() {
    let mut overlapping = encoded(&sample());
    overlapping[REGION0 + 16..REGION0 + 24].copy_from_slice(&0x10_1000u64.to_le_bytes());
    let words = words_of(&overlapping);
    assert!(AptWords::<2, 2, 3>::new(&words[..]).is_ok());
    assert_eq!(Small::decode_words(&words), Err(DecodeError::Overlap));
    let mut bad_enum = encoded(&sample());
    bad_enum[R1_GRANT1 + 2] = 2;
    assert_eq!(
        AptWords::<2, 2, 3>::new(&words_of(&bad_enum)[..]).err(),
        Some(DecodeError::BadEnum)
    );
    // A free region slot holding a used grant.
    let mut orphan = encoded(&sample());
    let free = Small::grant_at(0, 0) * 8;
    orphan[REGION0..REGION0 + REGION_LEN].fill(0);
    orphan[free + GRANT_LEN..free + 2 * GRANT_LEN].fill(0);
    orphan[free..free + GRANT_LEN]
        .copy_from_slice(&encoded(&sample())[R1_GRANT1..R1_GRANT1 + GRANT_LEN]);
    assert_eq!(
        AptWords::<2, 2, 3>::new(&words_of(&orphan)[..]).err(),
        Some(DecodeError::NonZero)
    );
}

// Record sizes in bytes.
const HEADER_LEN: usize = crate::words::HEADER_WORDS * 8;
const REGION_LEN: usize = crate::words::REGION_WORDS * 8;
const GRANT_LEN: usize = crate::words::GRANT_WORDS * 8;
const ATTACHMENT_LEN: usize = crate::words::ATTACHMENT_WORDS * 8;

// Offsets in `sample()`'s layout.
const REGION0: usize = HEADER_LEN;
const REGION1: usize = HEADER_LEN + REGION_LEN + 2 * GRANT_LEN;
const R1_GRANT1: usize = REGION1 + REGION_LEN + GRANT_LEN;
const ATTACH0: usize = HEADER_LEN + 2 * (REGION_LEN + 2 * GRANT_LEN);
const ATTACH1: usize = ATTACH0 + ATTACHMENT_LEN;
const ATTACH2: usize = ATTACH0 + 2 * ATTACHMENT_LEN;

#[test]
fn round_trip() {
    let t = sample();
    assert_eq!(Small::decode(&encoded(&t)), Ok(t));
    let empty = Fw::new(rid(u64::MAX), 0x1000);
    assert_eq!(Fw::decode(&encoded(&empty)), Ok(empty));
    assert_eq!(Small::ENCODED_LEN, 64 + 2 * (32 + 48) + 3 * 48);
}

#[test]
fn encode_overwrites_every_byte() {
    let t = sample();
    let mut a = [0x00; GRANULE_SIZE];
    let mut b = [0xFF; GRANULE_SIZE];
    t.encode(&mut a);
    t.encode(&mut b);
    assert_eq!(a, b);
}

/// Every byte counts: a changed byte is refused, or gives another table that encodes to
/// exactly the changed bytes (no byte is ignored, none decodes two ways).
#[test]
fn every_single_byte_change_is_refused_or_read_exactly() {
    let good = encoded(&sample());
    let mut refused = 0;
    for at in 0..GRANULE_SIZE {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut buf = good;
            buf[at] ^= flip;
            match Small::decode(&buf) {
                Err(_) => refused += 1,
                Ok(t) => {
                    assert_ne!(t, sample(), "byte {at} ^ {flip:#x}");
                    assert_eq!(encoded(&t), buf, "byte {at} ^ {flip:#x}");
                }
            }
        }
    }
    // Most changes hit a zero that must stay zero or a field that must stay valid.
    assert!(refused > 3 * GRANULE_SIZE * 9 / 10, "{refused}");
}

#[test]
fn length_and_header() {
    let good = encoded(&sample());
    assert_eq!(Small::decode(&good[..4095]), Err(DecodeError::Length));
    assert_eq!(Small::decode(&[]), Err(DecodeError::Length));
    assert_eq!(corrupt(0, b'X'), Err(DecodeError::Magic));
    assert_eq!(corrupt(8, 1), Err(DecodeError::Version), "layout 1");
    assert_eq!(corrupt(12, 3), Err(DecodeError::Capacity));
    assert_eq!(corrupt(16, 2), Err(DecodeError::Capacity));
    assert_eq!(corrupt(18, 1), Err(DecodeError::NonZero));
    assert_eq!(corrupt_u64(24, 0), Err(DecodeError::ZeroId));
    assert_eq!(corrupt(48, 1), Err(DecodeError::NonZero));
    assert_eq!(
        corrupt(32, 1),
        Err(DecodeError::NonZero),
        "the word version 4 kept its checksum in"
    );
    assert_eq!(corrupt_u64(40, 0), Err(DecodeError::BadRange), "no PAR");
    assert_eq!(
        corrupt_u64(40, 0x10_0000),
        Err(DecodeError::BadRange),
        "regions above the PAR"
    );
    assert_eq!(
        Fw::decode(&good),
        Err(DecodeError::Capacity),
        "a table of other capacities is never reinterpreted"
    );
    assert_eq!(corrupt(8, 4), Err(DecodeError::Version), "layout 4");
}

#[test]
fn region_and_grant_fields() {
    assert_eq!(corrupt(REGION1, 2), Err(DecodeError::BadEnum), "used tag");
    assert_eq!(corrupt(REGION1 + 1, 2), Err(DecodeError::BadEnum), "state");
    assert_eq!(corrupt(REGION1 + 2, 1), Err(DecodeError::NonZero));
    assert_eq!(corrupt_u64(REGION1 + 8, 0), Err(DecodeError::ZeroId));
    assert_eq!(
        corrupt_u64(REGION1 + 16, 0x10_0001),
        Err(DecodeError::BadRange)
    );
    assert_eq!(corrupt_u64(REGION1 + 24, 0), Err(DecodeError::BadRange));
    assert_eq!(
        corrupt_u64(REGION1 + 16, u64::MAX - 0xFFF),
        Err(DecodeError::BadRange),
        "wraps"
    );
    assert_eq!(corrupt(R1_GRANT1, 2), Err(DecodeError::BadEnum));
    assert_eq!(
        corrupt(R1_GRANT1 + 1, 2),
        Err(DecodeError::BadEnum),
        "write-only"
    );
    assert_eq!(
        corrupt(R1_GRANT1 + 1, 7),
        Err(DecodeError::BadEnum),
        "execute"
    );
    assert_eq!(corrupt(R1_GRANT1 + 2, 2), Err(DecodeError::BadEnum));
    assert_eq!(corrupt(R1_GRANT1 + 3, 1), Err(DecodeError::NonZero));
    assert_eq!(corrupt_u64(R1_GRANT1 + 8, 0), Err(DecodeError::ZeroId));
    assert_eq!(corrupt_u64(R1_GRANT1 + 16, 0), Err(DecodeError::ZeroId));
    assert_eq!(
        corrupt_u64(R1_GRANT1 + 16, 1),
        Err(DecodeError::SelfReference)
    );
    assert_eq!(
        corrupt(REGION1 + 1, 1),
        Err(DecodeError::GrantInDamagedRegion)
    );
    assert_eq!(
        corrupt_u64(REGION0 + 16, 0x10_1000),
        Err(DecodeError::Overlap)
    );
    assert_eq!(corrupt_u64(REGION0 + 8, 5), Err(DecodeError::DuplicateId));
}

/// Two equal non-zero words where zeros must be (they cancel under an exclusive or, not under
/// the inclusive or the zero checks use): in the header's reserved words, a free record and
/// the granule's tail past the table.
#[test]
fn equal_words_in_a_zero_stretch_are_found() {
    let free_grant = REGION1 + REGION_LEN;
    for (first, second) in [
        (32, 48),
        (48, 56),
        (free_grant + 8, free_grant + 16),
        (GRANULE_SIZE - 16, GRANULE_SIZE - 8),
    ] {
        let mut buf = encoded(&sample());
        buf[first..first + 8].copy_from_slice(&0x55u64.to_le_bytes());
        buf[second..second + 8].copy_from_slice(&0x55u64.to_le_bytes());
        assert_eq!(Small::decode(&buf), Err(DecodeError::NonZero), "{first}");
    }
    // After the table, every pair of equal words up to four apart: an `^` in place of an `|`
    // would cancel any such pair.
    let table_words = Small::ENCODED_LEN / 8;
    let mut words = [0u64; GRANULE_WORDS];
    sample().encode_words(&mut words);
    for first in table_words..GRANULE_WORDS {
        for second in first + 1..(first + 5).min(GRANULE_WORDS) {
            let mut pair = words;
            pair[first] = 0x55;
            pair[second] = 0x55;
            assert_eq!(
                Small::decode_words(&pair),
                Err(DecodeError::NonZero),
                "words {first} and {second}"
            );
        }
    }
}

#[test]
fn free_records_must_be_zero() {
    // Grant 0 of region 1 and attachment 0 are free.
    let free_grant = REGION1 + REGION_LEN;
    for off in [1, 2, 7, 8, 23] {
        assert_eq!(
            corrupt(free_grant + off, 1),
            Err(DecodeError::NonZero),
            "{off}"
        );
    }
    for off in [1, 7, 8, 47] {
        assert_eq!(
            corrupt(ATTACH0 + off, 1),
            Err(DecodeError::NonZero),
            "{off}"
        );
    }
    assert_eq!(
        corrupt(GRANULE_SIZE - 1, 1),
        Err(DecodeError::NonZero),
        "tail"
    );
    assert_eq!(
        corrupt(Small::ENCODED_LEN, 1),
        Err(DecodeError::NonZero),
        "first byte after the table"
    );
}

#[test]
fn attachment_fields() {
    assert_eq!(corrupt(ATTACH2, 3), Err(DecodeError::BadEnum));
    assert_eq!(
        corrupt(ATTACH2 + 1, 0),
        Err(DecodeError::BadEnum),
        "no mode"
    );
    assert_eq!(corrupt(ATTACH2 + 5, 1), Err(DecodeError::NonZero));
    for field in [8, 16, 24] {
        assert_eq!(
            corrupt_u64(ATTACH2 + field, 0),
            Err(DecodeError::ZeroId),
            "{field}"
        );
    }
    assert_eq!(
        corrupt_u64(ATTACH2 + 16, 1),
        Err(DecodeError::SelfReference)
    );
    assert_eq!(
        corrupt_u64(ATTACH2 + 32, 0x4001),
        Err(DecodeError::BadRange),
        "size"
    );
    assert_eq!(corrupt_u64(ATTACH2 + 32, 0), Err(DecodeError::BadRange));
    assert_eq!(
        corrupt_u64(ATTACH2 + 40, 0x4001),
        Err(DecodeError::BadRange),
        "window base"
    );
    assert_eq!(
        corrupt_u64(ATTACH2 + 40, PAR - 0x1000),
        Err(DecodeError::BadRange),
        "window above the PAR"
    );
    assert_eq!(
        corrupt_u64(ATTACH2 + 40, 0x10_1000),
        Err(DecodeError::Overlap),
        "window over a region"
    );
    assert_eq!(
        corrupt(ATTACH2 + 2, 2),
        Err(DecodeError::BadEnum),
        "attached"
    );
    // The offered grant (attachment 1) has no window: its base must be zero.
    assert_eq!(corrupt_u64(ATTACH1 + 40, 0x8000), Err(DecodeError::NonZero));
    assert!(corrupt(ATTACH1 + 2, 1).is_ok(), "attached at 0");
    assert_eq!(
        corrupt_u64(ATTACH1 + 32, MAX_REGION_SIZE_FOR_TESTS + 0x1000),
        Err(DecodeError::BadRange),
        "size above the cap"
    );
}

const MAX_REGION_SIZE_FOR_TESTS: u64 = crate::capacity::MAX_REGION_SIZE;

fn arb_mode() -> impl Strategy<Value = CsmMode> {
    prop_oneof![Just(CsmMode::Read), Just(CsmMode::ReadWrite)]
}

prop_compose! {
    fn arb_table()(
        owner in 1u64..4,
        regions in proptest::collection::vec(
            (any::<bool>(), 1u64..6, 0u64..8, 1u64..3, any::<bool>(),
             proptest::collection::vec((any::<bool>(), 1u64..9, 1u64..5, arb_mode(), any::<bool>()), 2)),
            2),
        attachments in proptest::collection::vec(
            (any::<bool>(), 1u64..9, 1u64..5, 1u64..6, 0u64..8, 1u64..3, arb_mode(), any::<bool>()), 3),
    ) -> Small {
        let mut t = Small::new(rid(owner), PAR);
        for (slot, (used, id, page, pages, damaged, grants)) in t.regions.iter_mut().zip(regions) {
            if !used { continue; }
            let mut r = Region::new(
                RegionId::new(id).unwrap(),
                IpaRange::new(page * 0x1000, pages * 0x1000).unwrap(),
            );
            if damaged { r.state = RegionState::Damaged; }
            for (g, (gused, share, consumer, mode, attached)) in r.grants.iter_mut().zip(grants) {
                if gused {
                    *g = Some(Grant {
                        share: ShareId::new(share).unwrap(),
                        consumer: rid(consumer),
                        mode,
                        state: if attached { GrantState::Attached } else { GrantState::Offered },
                    });
                }
            }
            *slot = Some(r);
        }
        for (slot, (used, share, provider, region, page, pages, mode, attached)) in t.attachments.iter_mut().zip(attachments) {
            if used {
                *slot = Some(Attachment {
                    share: ShareId::new(share).unwrap(),
                    provider: rid(provider),
                    region: RegionId::new(region).unwrap(),
                    size: pages * 0x1000,
                    mode,
                    window: attached.then(|| IpaRange::new(0x10_0000 + page * 0x1000, pages * 0x1000).unwrap()),
                });
            }
        }
        t
    }
}

/// Drops attachments, then grants, then regions, until the table is valid.
fn make_valid(mut t: Small) -> Small {
    for i in 0..t.attachments.len() {
        if t.validate().is_ok() {
            return t;
        }
        t.attachments[i] = None;
    }
    for r in t.regions.iter_mut().flatten() {
        r.grants = [None; 2];
    }
    if t.validate().is_err() {
        t.regions[1] = None;
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Random granules never panic and never decode.
    #[test]
    fn random_bytes_never_decode(bytes in proptest::collection::vec(any::<u8>(), GRANULE_SIZE)) {
        prop_assert!(Small::decode(&bytes).is_err());
        prop_assert!(Fw::decode(&bytes).is_err());
    }

    /// Random bytes behind a valid header reach every field check; they never panic, and
    /// whatever decodes is a valid table that re-encodes to the same bytes.
    #[test]
    fn random_body_never_panics(body in proptest::collection::vec(
        prop_oneof![3 => Just(0u8), 1 => Just(1u8), 1 => any::<u8>()], GRANULE_SIZE - HEADER_LEN)) {
        let mut buf = encoded(&Small::new(rid(1), PAR));
        buf[HEADER_LEN..].copy_from_slice(&body);
        if let Ok(t) = Small::decode(&buf) {
            prop_assert!(t.validate().is_ok());
            prop_assert_eq!(encoded(&t), buf);
        }
    }

    /// Every valid table round-trips; every invalid one is refused with the same error.
    #[test]
    fn tables_round_trip_or_are_refused(t in arb_table()) {
        let buf = encoded(&t);
        match t.validate() {
            Ok(()) => prop_assert_eq!(Small::decode(&buf), Ok(t)),
            Err(e) => prop_assert_eq!(Small::decode(&buf), Err(e)),
        }
    }

    /// Any change to an encoded valid table is refused, or read as another table that
    /// encodes to exactly the changed bytes.
    #[test]
    fn corruption_is_refused_or_read_exactly(t in arb_table(), at in 0..GRANULE_SIZE, flip in 1u8..=255) {
        let t = make_valid(t);
        let mut buf = encoded(&t);
        buf[at] ^= flip;
        if let Ok(changed) = Small::decode(&buf) {
            prop_assert_ne!(changed, t);
            prop_assert_eq!(encoded(&changed), buf);
        }
    }
}

/// What `AptWords` reads of a valid table is what the typed table holds, lookup by lookup.
fn words_agree(t: &Small) -> Result<(), TestCaseError> {
    let mut words = [0u64; GRANULE_WORDS];
    t.encode_words(&mut words);
    let w =
        AptWords::<2, 2, 3>::new(&words[..]).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    prop_assert_eq!(w.owner(), t.owner);
    prop_assert_eq!(w.par_size(), t.par_size);
    prop_assert!(w.regions().eq(t.regions().copied()));
    prop_assert!(w.attachments().eq(t.attachments().copied()));
    prop_assert!(w.windows().eq(t.windows().map(|(a, r)| (*a, r))));
    prop_assert!(w.relations().eq(t.relations()));
    prop_assert_eq!(w.relation_count(), t.relations().count());
    for (n, r) in t.relations().enumerate() {
        prop_assert_eq!(w.relation(n), Some(r));
    }
    prop_assert_eq!(w.relation(t.relations().count()), None);
    prop_assert_eq!(w.free_region_slot(), t.free_region_slot());
    prop_assert_eq!(w.free_attachment_slot(), t.free_attachment_slot());
    prop_assert!(w.grants().eq(t.regions().flat_map(|r| r.grants().copied())));
    for (i, r) in t.regions.iter().enumerate() {
        if let Some(r) = r {
            prop_assert_eq!(w.free_grant_slot(i), r.free_grant_slot());
            prop_assert_eq!(w.region_head(i), Some((r.id, r.range, r.state)));
        } else {
            prop_assert_eq!(w.region_head(i), None);
        }
    }
    for id in 1..10 {
        let region = RegionId::new(id).unwrap();
        prop_assert_eq!(w.region_slot(region), t.region_slot(region));
        prop_assert_eq!(w.region(region), t.region(region).map(|(i, r)| (i, *r)));
        let share = ShareId::new(id).unwrap();
        prop_assert_eq!(w.grant_slot(share), t.grant_slot(share));
        prop_assert_eq!(w.grant(share), t.grant(share).map(|(r, g)| (*r, *g)));
        prop_assert_eq!(
            w.grant_of(share),
            t.grant(share).map(|(r, g)| (r.id, r.range, *g))
        );
        prop_assert_eq!(w.attachment_slot(share), t.attachment_slot(share));
        prop_assert_eq!(w.attachment(share), t.attachment(share).copied());
    }
    for page in 0..0x120 {
        let range = IpaRange::new(page * 0x1000, 0x2000).unwrap();
        prop_assert_eq!(w.overlaps_own(range), t.overlaps_own(range), "{:?}", range);
    }
    Ok(())
}

/// One record edit, as `AptWordsMut` makes it and as the typed table does.
#[derive(Clone, Debug)]
enum RecordEdit {
    Region(usize, Option<Region<2>>),
    Grant(usize, usize, Option<Grant>),
    Attachment(usize, Option<Attachment>),
    ClearRegion(usize),
    Init(u64, u64),
}

fn arb_edit() -> impl Strategy<Value = RecordEdit> {
    let table = arb_table();
    (
        0usize..5,
        table,
        0usize..3,
        0usize..2,
        any::<bool>(),
        1u64..5,
        1u64..64,
    )
        .prop_map(|(kind, t, slot, grant, none, owner, pages)| match kind {
            0 => RecordEdit::Region(
                slot % 2,
                if none {
                    None
                } else {
                    t.regions[1].or(t.regions[0])
                },
            ),
            1 => RecordEdit::Grant(
                slot % 2,
                grant,
                if none {
                    None
                } else {
                    t.regions
                        .iter()
                        .flatten()
                        .find_map(|r| r.grants().next().copied())
                },
            ),
            2 => RecordEdit::Attachment(
                slot,
                if none {
                    None
                } else {
                    t.attachments().next().copied()
                },
            ),
            3 => RecordEdit::ClearRegion(slot % 2),
            _ => RecordEdit::Init(owner, pages * 0x1000),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Every lookup of a table read in place answers what the decoded table answers.
    #[test]
    fn words_read_what_the_table_holds(t in arb_table()) {
        words_agree(&make_valid(t))?;
    }

    /// Every record edit in place leaves the words the typed table with the same edit encodes
    /// to (the table's words; those after it untouched).
    #[test]
    fn edits_in_place_write_what_the_table_encodes_to(t in arb_table(), edits in proptest::collection::vec(arb_edit(), 1..6)) {
        let mut t = make_valid(t);
        let mut words = [0x5555_5555_5555_5555u64; GRANULE_WORDS];
        t.write_table_words(&mut words);
        for edit in edits {
            let mut w = AptWordsMut::<2, 2, 3>::new(&mut words);
            match edit {
                RecordEdit::Region(i, r) => {
                    w.set_region(i, r.map(|r| (r.id, r.range, r.state)));
                    match (t.regions[i].as_mut(), r) {
                        (Some(old), Some(r)) => {
                            old.id = r.id;
                            old.range = r.range;
                            old.state = r.state;
                        }
                        (None, Some(r)) => {
                            // The record alone: the slot's grant records stay as they were (free).
                            t.regions[i] = Some(Region { grants: [None; 2], ..r });
                        }
                        (_, None) => {
                            // Only a free region's own record was written: its grants must be
                            // free too for the typed table to say the same.
                            if t.regions[i].is_some_and(|r| r.grants().next().is_some()) {
                                w.clear_region(i);
                            }
                            t.regions[i] = None;
                        }
                    }
                }
                RecordEdit::Grant(i, j, g) => {
                    if let Some(r) = t.regions[i].as_mut() {
                        w.set_grant(i, j, g.as_ref());
                        r.grants[j] = g;
                    }
                }
                RecordEdit::Attachment(k, a) => {
                    w.set_attachment(k, a.as_ref());
                    t.attachments[k] = a;
                }
                RecordEdit::ClearRegion(i) => {
                    w.clear_region(i);
                    t.regions[i] = None;
                }
                RecordEdit::Init(owner, par) => {
                    w.init(rid(owner), par);
                    t = Small::new(rid(owner), par);
                }
            }
            let mut expected = [0x5555_5555_5555_5555u64; GRANULE_WORDS];
            t.write_table_words(&mut expected);
            prop_assert_eq!(&words[..], &expected[..]);
            // Whatever the edits left is read back as the typed table (fields; rules apart).
            let read = AptWords::<2, 2, 3>::new(&words[..]).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert!(read.regions().eq(t.regions().copied()));
            prop_assert!(read.attachments().eq(t.attachments().copied()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// The field check's fast path accepts exactly the tables the record decoders accept:
    /// random words behind a valid header, mostly zeros and ones and small values where
    /// the tags and ids are.
    #[test]
    fn the_fast_field_check_agrees_with_the_decoders(body in proptest::collection::vec(
        prop_oneof![4 => Just(0u64), 2 => Just(1u64), 1 => 0u64..0x400, 1 => Just(0x1000u64),
                    1 => Just(0x0101u64), 1 => Just(0x0301u64), 1 => Just(0x1_0301u64),
                    1 => Just(u64::MAX - 0xFFF), 1 => any::<u64>()],
        Small::TABLE_WORDS - crate::words::HEADER_WORDS)) {
        let mut words = [0u64; GRANULE_WORDS];
        Small::new(rid(1), PAR).write_table_words(&mut words);
        words[crate::words::HEADER_WORDS..Small::TABLE_WORDS].copy_from_slice(&body);
        let fast = crate::words::fields_hold::<2, 2, 3>(&words);
        let precise = (0..2).all(|i| {
            let region = crate::words::decode_region(words[Small::region_at(i)..][..4].try_into().unwrap());
            region.is_ok() && (0..2).all(|j| {
                let g = crate::words::decode_grant(words[Small::grant_at(i, j)..][..3].try_into().unwrap());
                g.is_ok() && !(region.as_ref().is_ok_and(Option::is_none) && g.is_ok_and(|g| g.is_some()))
            })
        }) && (0..3).all(|k| crate::words::decode_attachment(words[Small::attachment_at(k)..][..6].try_into().unwrap()).is_ok());
        prop_assert_eq!(fast, precise);
        prop_assert_eq!(AptWords::<2, 2, 3>::new(&words[..]).is_ok(), precise);
    }
}

/// The firmware's check refuses what `AptWords::new` refuses (with one error for all fields).
#[test]
fn the_firmware_check_refuses_what_the_precise_one_refuses() {
    let mut words = [0u64; GRANULE_WORDS];
    Fw::new(rid(1), PAR).write_table_words(&mut words);
    assert_eq!(crate::capacity::fw::check(&words), Ok(()));
    for at in 0..Fw::TABLE_WORDS {
        for value in [1u64, 0x0101, 0x1000, u64::MAX] {
            let mut bad = words;
            bad[at] ^= value;
            let precise = AptWords::<8, 4, 16>::new(&bad[..]).map(|_| ());
            assert_eq!(
                crate::capacity::fw::check(&bad).is_ok(),
                precise.is_ok(),
                "word {at} ^ {value:#x}: {precise:?}"
            );
        }
    }
}

/// The header word by word, as `docs/csm.md` documents it (the encoder and the decoder share
/// the version-and-capacities word, so a round trip alone would not notice it change).
#[test]
fn the_header_is_the_documented_layout() {
    let mut words = [0u64; GRANULE_WORDS];
    Small::new(rid(7), PAR).encode_words(&mut words);
    assert_eq!(words[0].to_le_bytes(), *b"CSM-APT\0");
    assert_eq!(
        words[1],
        5 | 2 << 32 | 2 << 48,
        "version 5, 2 regions, 2 grants"
    );
    assert_eq!(words[2], 3, "3 received grants");
    assert_eq!(words[3], 7, "owner");
    assert_eq!(words[4], 0, "reserved (version 4's checksum)");
    assert_eq!(words[5], PAR);
    assert_eq!(words[6..], [0; GRANULE_WORDS - 6]);
    // A damaged region's tag, an attached read-write grant's, an offered read grant's.
    let t = sample();
    t.encode_words(&mut words);
    assert_eq!(words[Small::region_at(0)], 1 | 1 << 8);
    assert_eq!(words[Small::grant_at(1, 1)], 1 | 3 << 8 | 1 << 16);
    assert_eq!(words[Small::attachment_at(1)], 1 | 3 << 8);
    assert_eq!(words[Small::attachment_at(2)], 1 | 1 << 8 | 1 << 16);
}

/// At the firmware's capacities (8 regions of 4 grants: lookups that confuse the two counts
/// miss the later slots), a grant in the last region's last slot and a received grant in the
/// last slot are found, listed and edited where they are.
#[test]
fn the_last_slots_of_a_firmware_table_are_reached() {
    let mut t = Fw::new(rid(1), 0x1_0000_0000);
    let mut r = Region::new(
        RegionId::new(8).unwrap(),
        IpaRange::new(0x80_0000, 0x1000).unwrap(),
    );
    let grant = Grant {
        share: ShareId::new(32).unwrap(),
        consumer: rid(2),
        mode: CsmMode::Read,
        state: GrantState::Offered,
    };
    r.grants[3] = Some(grant);
    t.regions[7] = Some(r);
    let received = Attachment {
        share: ShareId::new(48).unwrap(),
        provider: rid(3),
        region: RegionId::new(9).unwrap(),
        size: 0x1000,
        mode: CsmMode::ReadWrite,
        window: None,
    };
    t.attachments[15] = Some(received);
    let mut words = [0u64; GRANULE_WORDS];
    t.encode_words(&mut words);
    let w = AptWords::<8, 4, 16>::new(&words[..]).unwrap();
    assert_eq!(w.grants().collect::<std::vec::Vec<_>>(), [grant]);
    assert_eq!(w.grant_slot(grant.share), Some((7, 3)));
    assert_eq!(w.grant_of(grant.share), Some((r.id, r.range, grant)));
    assert_eq!(w.region_slot(r.id), Some(7));
    assert_eq!(w.attachment_slot(received.share), Some(15));
    assert_eq!(w.relation_count(), 2);
    assert!(w.relations().eq(t.relations()));
    assert_eq!(w.free_grant_slot(7), Some(0));
    AptWordsMut::<8, 4, 16>::new(&mut words).set_grant(7, 3, None);
    t.regions[7].as_mut().unwrap().grants[3] = None;
    assert_eq!(Fw::decode_words(&words), Ok(t));
}

/// Equal non-zero words in pairs where a free record must be zero (they cancel under an
/// exclusive or, not under the inclusive or the checks use), in every kind of free record:
/// the firmware's fast check and the precise one both refuse them.
#[test]
fn equal_words_in_a_free_record_are_found() {
    let mut t = Small::new(rid(1), PAR);
    t.attachments[0] = sample().attachments[2];
    let mut words = [0u64; GRANULE_WORDS];
    t.encode_words(&mut words);
    // Region slot 1 with its grants, and received-grant slots 1 and 2, are free.
    let free_records = [
        (Small::region_at(1), 4),
        (Small::grant_at(1, 0), 3),
        (Small::attachment_at(1), 6),
    ];
    for (at, len) in free_records {
        for first in at + 1..at + len {
            for second in first + 1..at + len {
                let mut pair = words;
                pair[first] = 0x55_000;
                pair[second] = 0x55_000;
                assert!(
                    crate::words::check_fast::<2, 2, 3>(&pair).is_err(),
                    "words {first} and {second}"
                );
                assert_eq!(
                    AptWords::<2, 2, 3>::new(&pair[..]).err(),
                    Some(DecodeError::NonZero),
                    "words {first} and {second}"
                );
            }
        }
    }
    assert_eq!(crate::words::check_fast::<2, 2, 3>(&words), Ok(()));
}
