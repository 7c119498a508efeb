// SPDX-License-Identifier: MIT OR Apache-2.0
//! Codec tests: round trips, every kind of corruption (with and without a resealed checksum),
//! and property tests over random bytes.

use super::*;
use proptest::prelude::*;

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

/// Recomputes the checksum so that the field checks behind it are reached.
fn reseal(buf: &mut [u8; GRANULE_SIZE]) {
    let words = words_of(buf);
    let sum = checksum(&words, Small::ENCODED_LEN / 8);
    buf[CHECKSUM_OFFSET..CHECKSUM_OFFSET + 8].copy_from_slice(&sum.to_le_bytes());
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
    // A changed word of the table fails the checksum; one beyond the table is not summed but
    // must be zero.
    let mut changed = words;
    changed[Small::ENCODED_LEN / 8 - 1] ^= 1 << 63;
    assert_eq!(Small::decode_words(&changed), Err(DecodeError::Checksum));
    words[GRANULE_WORDS - 1] = 1 << 63;
    assert_eq!(Small::decode_words(&words), Err(DecodeError::NonZero));
}

/// The monitor's pair writes and reads the table's own words only: the words after the table
/// are left as they are and never read, where the full decode requires them zero.
#[test]
fn the_monitor_writes_and_reads_the_table_words_only() {
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
    let mut read = Small::new(rid(1), PAR);
    assert_eq!(read.read_words_into(&words), Ok(()));
    assert_eq!(read, t);
    assert_eq!(Small::decode_words(&words), Err(DecodeError::NonZero));
    // Every word after the table, alone: ignored by the read, refused by the decode.
    for i in table_words..GRANULE_WORDS {
        let mut one = full;
        one[i] = 1;
        assert_eq!(Small::new(rid(1), PAR).read_words_into(&one), Ok(()));
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
    reseal(&mut buf);
    Small::decode(&buf)
}

fn corrupt_u64(at: usize, value: u64) -> Result<Small, DecodeError> {
    let mut buf = encoded(&sample());
    buf[at..at + 8].copy_from_slice(&value.to_le_bytes());
    reseal(&mut buf);
    Small::decode(&buf)
}

/// The monitor's read checks every field and the checksum but not the table rules, which the
/// full decode adds: a sealed table whose regions overlap reads, and does not decode; a field
/// or checksum error fails both.
#[test]
fn reading_checks_fields_and_checksum_decoding_also_the_rules() {
    let mut overlapping = encoded(&sample());
    overlapping[REGION0 + 16..REGION0 + 24].copy_from_slice(&0x10_1000u64.to_le_bytes());
    reseal(&mut overlapping);
    let words = words_of(&overlapping);
    let mut table = Small::new(rid(1), PAR);
    assert_eq!(table.read_words_into(&words), Ok(()));
    assert_eq!(
        Small::new(rid(1), PAR).decode_words_into(&words),
        Err(DecodeError::Overlap)
    );
    let mut unsealed = words;
    unsealed[REGION0 / 8 + 3] ^= 1;
    assert_eq!(
        Small::new(rid(1), PAR).read_words_into(&unsealed),
        Err(DecodeError::Checksum)
    );
    let mut bad_enum = encoded(&sample());
    bad_enum[R1_GRANT1 + 2] = 2;
    reseal(&mut bad_enum);
    assert_eq!(
        Small::new(rid(1), PAR).read_words_into(&words_of(&bad_enum)),
        Err(DecodeError::BadEnum)
    );
}

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

#[test]
fn every_single_byte_change_is_detected() {
    let good = encoded(&sample());
    for at in 0..GRANULE_SIZE {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut buf = good;
            buf[at] ^= flip;
            assert!(Small::decode(&buf).is_err(), "byte {at} ^ {flip:#x}");
        }
    }
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
    let mut bad_sum = good;
    bad_sum[CHECKSUM_OFFSET] ^= 1;
    assert_eq!(Small::decode(&bad_sum), Err(DecodeError::Checksum));
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
/// the granule's tail past the table, which the checksum does not cover.
#[test]
fn equal_words_in_a_zero_stretch_are_found() {
    let free_grant = REGION1 + REGION_LEN;
    for (first, second) in [
        (48, 56),
        (free_grant + 8, free_grant + 16),
        (GRANULE_SIZE - 16, GRANULE_SIZE - 8),
    ] {
        let mut buf = encoded(&sample());
        buf[first..first + 8].copy_from_slice(&0x55u64.to_le_bytes());
        buf[second..second + 8].copy_from_slice(&0x55u64.to_le_bytes());
        reseal(&mut buf);
        assert_eq!(Small::decode(&buf), Err(DecodeError::NonZero), "{first}");
    }
    // After the table, every pair of equal words up to four apart: the zero check there takes
    // four words a step, and an `^` in place of an `|` would cancel any such pair.
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

    /// Random bytes behind a valid header and checksum reach every field check; they never
    /// panic, and whatever decodes is a valid table that re-encodes to the same bytes.
    #[test]
    fn random_body_never_panics(body in proptest::collection::vec(
        prop_oneof![3 => Just(0u8), 1 => Just(1u8), 1 => any::<u8>()], GRANULE_SIZE - HEADER_LEN)) {
        let mut buf = encoded(&Small::new(rid(1), PAR));
        buf[HEADER_LEN..].copy_from_slice(&body);
        reseal(&mut buf);
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

    /// Any change to an encoded valid table is detected.
    #[test]
    fn corruption_is_detected(t in arb_table(), at in 0..GRANULE_SIZE, flip in 1u8..=255) {
        let t = make_valid(t);
        let mut buf = encoded(&t);
        buf[at] ^= flip;
        prop_assert!(Small::decode(&buf).is_err());
    }
}
