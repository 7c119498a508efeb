// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`RttLevel`]: a stage-2 translation table level, and the address arithmetic that goes with
//! it (4 KiB granules, 512 entries per table).
//!
//! Levels are 0..=3; level -1 exists only with LPA2, which this RMM does not offer, so a
//! host that names it gets the same error as for any other out-of-range level.

/// Entries per translation table.
pub const ENTRIES: usize = 512;

/// A stage-2 table level, 0..=3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RttLevel(u8);

impl RttLevel {
    /// The leaf level (4 KiB pages).
    pub const LEAF: Self = Self(3);

    /// `raw` (an RMI argument, signed) if it is a level this RMM implements.
    pub const fn new(raw: i64) -> Option<Self> {
        if raw >= 0 && raw <= 3 {
            Some(Self(raw as u8))
        } else {
            None
        }
    }

    /// The level as a number.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The level as the `u64` the RMI returns (walk levels, error indices).
    pub const fn as_u64(self) -> u64 {
        self.0 as u64
    }

    /// The next level down; `None` at the leaf.
    pub const fn child(self) -> Option<Self> {
        if self.0 < 3 {
            Some(Self(self.0 + 1))
        } else {
            None
        }
    }

    /// The level above; `None` at level 0.
    pub const fn parent(self) -> Option<Self> {
        if self.0 > 0 {
            Some(Self(self.0 - 1))
        } else {
            None
        }
    }

    /// log2 of the bytes one entry at this level maps.
    pub const fn entry_shift(self) -> u32 {
        12 + 9 * (3 - self.0 as u32)
    }

    /// Bytes one entry at this level maps (4 KiB at level 3, 2 MiB at 2, 1 GiB at 1).
    pub const fn entry_size(self) -> u64 {
        1 << self.entry_shift()
    }

    /// Bytes a whole table at this level maps.
    pub const fn table_span(self) -> u64 {
        1 << (self.entry_shift() + 9)
    }

    /// Index of the entry for `ipa` in a table at this level.
    pub const fn index(self, ipa: u64) -> usize {
        ((ipa >> self.entry_shift()) as usize) & (ENTRIES - 1)
    }

    /// True if `addr` is aligned to this level's entry size.
    pub const fn is_aligned(self, addr: u64) -> bool {
        addr & (self.entry_size() - 1) == 0
    }

    /// `addr` rounded down to this level's entry size.
    pub const fn align_down(self, addr: u64) -> u64 {
        addr & !(self.entry_size() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_levels_zero_to_three_exist() {
        assert_eq!(RttLevel::new(-1), None);
        assert_eq!(RttLevel::new(4), None);
        assert_eq!(RttLevel::new(i64::MIN), None);
        assert_eq!(RttLevel::new(0).map(RttLevel::get), Some(0));
        assert_eq!(RttLevel::new(3), Some(RttLevel::LEAF));
    }

    #[test]
    fn sizes_and_indices() {
        let l = |n| RttLevel::new(n).expect("valid");
        assert_eq!(l(3).entry_size(), 0x1000);
        assert_eq!(l(2).entry_size(), 0x20_0000);
        assert_eq!(l(1).entry_size(), 0x4000_0000);
        assert_eq!(l(0).entry_size(), 0x80_0000_0000);
        assert_eq!(l(0).table_span(), 1 << 48);
        assert_eq!(l(3).index(0x1234_5000), 0x145);
        assert_eq!(l(2).index(0x1234_5000), 0x91);
        assert_eq!(l(1).index(0x1_4000_0000), 5);
        assert!(l(2).is_aligned(0x60_0000));
        assert!(!l(2).is_aligned(0x60_1000));
        assert_eq!(l(2).align_down(0x61_2345), 0x60_0000);
        assert_eq!(l(3).child(), None);
        assert_eq!(l(0).parent(), None);
        assert_eq!(l(1).child(), Some(l(2)));
    }
}
