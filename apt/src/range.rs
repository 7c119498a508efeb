// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`IpaRange`]: a non-empty, page-aligned, non-wrapping IPA range `[base, base + size)`. Every
//! range the CSM stores or reasons about is one of these, so alignment and overflow are
//! checked once, at construction.

/// The granule and stage-2 page size.
pub const PAGE_SIZE: u64 = 4096;

/// `[base, base + size)`, page-aligned, `size > 0`, `base + size` does not overflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpaRange {
    base: u64,
    size: u64,
}

impl IpaRange {
    /// The range, or `None` if it is empty, misaligned or wraps.
    pub const fn new(base: u64, size: u64) -> Option<Self> {
        if size == 0 || !base.is_multiple_of(PAGE_SIZE) || !size.is_multiple_of(PAGE_SIZE) {
            return None;
        }
        match base.checked_add(size) {
            Some(_) => Some(Self { base, size }),
            None => None,
        }
    }

    /// First address.
    pub const fn base(self) -> u64 {
        self.base
    }

    /// Size in bytes (a non-zero multiple of [`PAGE_SIZE`]).
    pub const fn size(self) -> u64 {
        self.size
    }

    /// One past the last address (cannot overflow).
    pub const fn end(self) -> u64 {
        self.base + self.size
    }

    /// Number of pages.
    pub const fn pages(self) -> u64 {
        self.size / PAGE_SIZE
    }

    /// True if the two ranges share at least one byte.
    pub const fn overlaps(self, other: IpaRange) -> bool {
        self.base < other.end() && other.base < self.end()
    }

    /// True if `ipa` lies in the range.
    pub const fn contains(self, ipa: u64) -> bool {
        self.base <= ipa && ipa < self.end()
    }

    /// True if the whole range lies below `limit` (for example the protected IPA space).
    pub const fn below(self, limit: u64) -> bool {
        self.end() <= limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn construction_checks() {
        assert!(IpaRange::new(0, PAGE_SIZE).is_some());
        assert_eq!(IpaRange::new(0, 0), None, "empty");
        assert_eq!(IpaRange::new(1, PAGE_SIZE), None, "base misaligned");
        assert_eq!(IpaRange::new(0, PAGE_SIZE + 1), None, "size misaligned");
        assert_eq!(IpaRange::new(u64::MAX - 4095, PAGE_SIZE), None, "wraps");
        let top = IpaRange::new(u64::MAX - 8191, PAGE_SIZE).unwrap();
        assert_eq!(top.end(), u64::MAX - 4095);
    }

    #[test]
    fn relations() {
        let a = IpaRange::new(0x1000, 0x2000).unwrap();
        let b = IpaRange::new(0x2000, 0x1000).unwrap();
        let c = IpaRange::new(0x3000, 0x1000).unwrap();
        assert!(a.overlaps(b) && b.overlaps(a));
        assert!(
            !a.overlaps(c) && !c.overlaps(a),
            "adjacent ranges do not overlap"
        );
        assert!(a.contains(0x1000) && a.contains(0x2fff) && !a.contains(0x3000));
        assert!(a.below(0x3000) && !a.below(0x2fff));
        assert_eq!(a.pages(), 2);
    }
}
