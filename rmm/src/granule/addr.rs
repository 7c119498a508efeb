// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`GranuleAddr`]: a physical address that is a multiple of the granule size.
//!
//! RMI arguments arrive as raw `u64`s; handlers turn them into this type once, at the edge.
//! Whether the granule is tracked (inside a DRAM bank) is the granule table's question.

use crate::GRANULE_SIZE;

const GRANULE: u64 = GRANULE_SIZE as u64;

/// The physical address of a granule (granule aligned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GranuleAddr(u64);

impl GranuleAddr {
    /// Physical address zero (a placeholder in fixed-size arrays; never tracked on the
    /// supported platforms, whose DRAM starts above it).
    pub const ZERO: Self = Self(0);

    /// `pa` if it is granule aligned.
    pub const fn new(pa: u64) -> Option<Self> {
        if pa.is_multiple_of(GRANULE) {
            Some(Self(pa))
        } else {
            None
        }
    }

    /// The address as a number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_aligned_addresses_are_granules() {
        assert_eq!(
            GranuleAddr::new(0x4000_1000).map(GranuleAddr::get),
            Some(0x4000_1000)
        );
        assert_eq!(GranuleAddr::new(0).map(GranuleAddr::get), Some(0));
        for bad in [1, 0x800, 0x4000_0FFF, u64::MAX] {
            assert_eq!(GranuleAddr::new(bad), None, "{bad:#x}");
        }
    }
}
