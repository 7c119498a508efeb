// SPDX-License-Identifier: MIT OR Apache-2.0
//! The 16-bit granule descriptor: `[15]` lock, `[14:11]` state, `[10:0]` reference count.
//!
//! Two bytes per 4 KiB granule keeps tracking at 0.05% of DRAM. The layout is private to the
//! granule table; everything else sees [`GranuleState`] and a count.

use crate::invariant;
use rmm_abi::rmi::states::GranuleState;

/// Bit set while a CPU holds the granule's lock.
pub const LOCK_BIT: u16 = 1 << 15;
const STATE_SHIFT: u32 = 11;
const STATE_MASK: u16 = 0xF << STATE_SHIFT;
/// Largest reference count a descriptor holds (RTTs need 512; RDs count their RECs).
pub const MAX_REFCOUNT: u16 = (1 << STATE_SHIFT) - 1;

/// The state field of `word`, raw.
pub const fn state_bits(word: u16) -> u16 {
    (word & STATE_MASK) >> STATE_SHIFT
}

/// The state field for `state`, shifted into place.
pub const fn encode_state(state: GranuleState) -> u16 {
    (state as u16) << STATE_SHIFT
}

/// True if `word`'s state field is `state`.
pub const fn holds_state(word: u16, state: GranuleState) -> bool {
    state_bits(word) == state as u16
}

/// The decoded state of `word`. Only [`encode_state`] ever writes the field, so every stored
/// value decodes: a value that does not (8..=15) means the RMM's own memory was overwritten,
/// and the monitor stops ([`invariant::broken`]) rather than guess a state.
#[inline(always)]
pub fn decode_state(word: u16) -> GranuleState {
    GranuleState::from_u64(u64::from(state_bits(word))).unwrap_or_else(|| {
        invariant::broken_at(
            "a granule descriptor holds no granule state",
            u64::from(word),
        )
    })
}

/// The reference count of `word`.
pub const fn refcount(word: u16) -> u16 {
    word & MAX_REFCOUNT
}

/// `word` with its reference count replaced by `count` (at most [`MAX_REFCOUNT`]).
pub const fn with_refcount(word: u16, count: u16) -> u16 {
    (word & !MAX_REFCOUNT) | (count & MAX_REFCOUNT)
}

/// `word` with its state replaced by `state`.
pub const fn with_state(word: u16, state: GranuleState) -> u16 {
    (word & !STATE_MASK) | encode_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_do_not_overlap() {
        for state in GranuleState::ALL {
            for count in [0, 1, 512, MAX_REFCOUNT] {
                let word = with_refcount(with_state(LOCK_BIT, state), count);
                assert_eq!(decode_state(word), state);
                assert_eq!(refcount(word), count);
                assert_ne!(word & LOCK_BIT, 0);
                assert_eq!(with_refcount(word, 0) & LOCK_BIT, LOCK_BIT);
            }
        }
    }

    #[test]
    fn every_state_fits_the_field() {
        for state in GranuleState::ALL {
            assert_eq!(state_bits(encode_state(state)), state as u16);
        }
    }

    #[test]
    #[should_panic(
        expected = "RMM invariant broken: a granule descriptor holds no granule state (0x4000)"
    )]
    fn a_field_no_state_encodes_stops_the_monitor() {
        decode_state(8 << STATE_SHIFT);
    }

    #[test]
    fn zero_word_is_an_unlocked_undelegated_granule() {
        assert_eq!(decode_state(0), GranuleState::Undelegated);
        assert_eq!(refcount(0), 0);
    }
}
