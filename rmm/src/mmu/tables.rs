// SPDX-License-Identifier: MIT OR Apache-2.0
//! Stage-1 translation tables: a builder that maps ranges with the largest blocks that fit,
//! and a walker that reads them back.
//!
//! Tables come from a caller-provided pool of 4 KiB pages whose physical address is known
//! (at boot the pool lives in the RMM carve-out and the MMU is off, so VA = PA). Table 0 is
//! the level-0 root. Blocks are used at level 1 (1 GiB) and level 2 (2 MiB) whenever the
//! virtual and physical addresses and the remaining size allow, pages (4 KiB) otherwise.
//! Mapping over an existing mapping is refused, never silently merged.

use super::attrs::{Attributes, VA_BITS};

/// Entries per table.
pub const ENTRIES: usize = 512;
const PAGE: u64 = 4096;
const VALID: u64 = 1;
const TABLE_OR_PAGE: u64 = 0b11;
const BLOCK: u64 = 0b01;
const ADDR_MASK: u64 = 0x0000_FFFF_FFFF_F000;

/// One 4 KiB translation table.
#[derive(Debug, Clone)]
#[repr(C, align(4096))]
pub struct PageTable(pub [u64; ENTRIES]);

impl PageTable {
    /// A table with every entry invalid.
    pub const EMPTY: Self = Self([0; ENTRIES]);
}

/// Why a range could not be mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// An address or the size is not 4 KiB aligned, or the size is zero.
    Unaligned,
    /// The range does not fit in the 48-bit virtual or physical address space.
    OutOfRange,
    /// Part of the range is already mapped.
    Overlap,
    /// The pool has no table left.
    PoolExhausted,
}

impl MapError {
    /// What went wrong, for the boot log.
    pub const fn as_str(self) -> &'static str {
        match self {
            MapError::Unaligned => "a range is not page aligned",
            MapError::OutOfRange => "a range is beyond 48 bits",
            MapError::Overlap => "a range is already mapped",
            MapError::PoolExhausted => "no translation table left",
        }
    }
}

const fn shift(level: usize) -> u32 {
    39 - 9 * level as u32
}

const fn index(va: u64, level: usize) -> usize {
    ((va >> shift(level)) & (ENTRIES as u64 - 1)) as usize
}

/// Builds translation tables in a pool.
#[derive(Debug)]
pub struct TableBuilder<'p> {
    pool: &'p mut [PageTable],
    pool_pa: u64,
    used: usize,
}

impl<'p> TableBuilder<'p> {
    /// A builder whose tables live in `pool`, the first of which is at physical address
    /// `pool_pa`. `None` if the pool is empty or `pool_pa` is not page aligned.
    pub fn new(pool: &'p mut [PageTable], pool_pa: u64) -> Option<Self> {
        let root = pool.first_mut()?;
        if !pool_pa.is_multiple_of(PAGE) {
            return None;
        }
        *root = PageTable::EMPTY;
        Some(Self {
            pool,
            pool_pa,
            used: 1,
        })
    }

    /// Physical address of the root (level-0) table: the `TTBR0_EL2` value.
    pub fn root_pa(&self) -> u64 {
        self.pool_pa
    }

    /// Tables used so far.
    pub fn tables_used(&self) -> usize {
        self.used
    }

    /// Maps `[va, va + size)` to `[pa, pa + size)` with `attrs`.
    pub fn map(&mut self, va: u64, pa: u64, size: u64, attrs: Attributes) -> Result<(), MapError> {
        if size == 0
            || !va.is_multiple_of(PAGE)
            || !pa.is_multiple_of(PAGE)
            || !size.is_multiple_of(PAGE)
        {
            return Err(MapError::Unaligned);
        }
        let limit = 1u64 << VA_BITS;
        let fits = |start: u64| start.checked_add(size).is_some_and(|end| end <= limit);
        if !fits(va) || !fits(pa) {
            return Err(MapError::OutOfRange);
        }
        let mut done = 0;
        while done < size {
            done += self.map_one(va + done, pa + done, size - done, attrs)?;
        }
        Ok(())
    }

    /// Maps the largest block or page that starts at `va`; returns its size.
    fn map_one(
        &mut self,
        va: u64,
        pa: u64,
        remaining: u64,
        attrs: Attributes,
    ) -> Result<u64, MapError> {
        let mut table = 0;
        for level in 0..4 {
            let span = 1u64 << shift(level);
            let slot = index(va, level);
            let entry = self.entry(table, slot)?;
            let fits_block = level >= 1
                && va.is_multiple_of(span)
                && pa.is_multiple_of(span)
                && remaining >= span;
            if fits_block {
                if entry & VALID != 0 {
                    return Err(MapError::Overlap);
                }
                let kind = if level == 3 { TABLE_OR_PAGE } else { BLOCK };
                self.set_entry(table, slot, pa | attrs.descriptor_bits() | kind)?;
                return Ok(span);
            }
            table = if entry & VALID == 0 {
                let next = self.allocate()?;
                let next_pa = self.pool_pa + next as u64 * PAGE;
                self.set_entry(table, slot, next_pa | TABLE_OR_PAGE)?;
                next
            } else if entry & TABLE_OR_PAGE == TABLE_OR_PAGE {
                self.table_index(entry & ADDR_MASK)
                    .ok_or(MapError::Overlap)?
            } else {
                return Err(MapError::Overlap);
            };
        }
        // Level 3 always fits a page (addresses and size are page multiples).
        Err(MapError::Unaligned)
    }

    fn allocate(&mut self) -> Result<usize, MapError> {
        let next = self.used;
        let table = self.pool.get_mut(next).ok_or(MapError::PoolExhausted)?;
        *table = PageTable::EMPTY;
        self.used += 1;
        Ok(next)
    }

    fn table_index(&self, pa: u64) -> Option<usize> {
        let offset = pa.checked_sub(self.pool_pa)?;
        let index = usize::try_from(offset / PAGE).ok()?;
        (index < self.used).then_some(index)
    }

    fn entry(&self, table: usize, slot: usize) -> Result<u64, MapError> {
        self.pool
            .get(table)
            .and_then(|t| t.0.get(slot))
            .copied()
            .ok_or(MapError::PoolExhausted)
    }

    fn set_entry(&mut self, table: usize, slot: usize, value: u64) -> Result<(), MapError> {
        let entry = self
            .pool
            .get_mut(table)
            .and_then(|t| t.0.get_mut(slot))
            .ok_or(MapError::PoolExhausted)?;
        *entry = value;
        Ok(())
    }

    /// Reads the tables back: where `va` goes, with which attributes, mapped at which level.
    pub fn translate(&self, va: u64) -> Option<Translation> {
        if va >= 1 << VA_BITS {
            return None;
        }
        let mut table = 0;
        for level in 0..4 {
            let entry = self.pool.get(table)?.0[index(va, level)];
            if entry & VALID == 0 {
                return None;
            }
            let is_leaf = level == 3 || entry & TABLE_OR_PAGE == BLOCK;
            if is_leaf {
                let span = 1u64 << shift(level);
                return Some(Translation {
                    pa: (entry & ADDR_MASK & !(span - 1)) | (va & (span - 1)),
                    attrs: Attributes::from_descriptor(entry),
                    level,
                });
            }
            table = self.table_index(entry & ADDR_MASK)?;
        }
        None
    }
}

/// The result of a table walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    /// Output physical address.
    pub pa: u64,
    /// Attributes of the mapping.
    pub attrs: Attributes,
    /// Level of the leaf descriptor (1 = 1 GiB block, 2 = 2 MiB block, 3 = page).
    pub level: usize,
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec;

    const POOL_PA: u64 = 0x4180_0000;

    fn pool(n: usize) -> std::vec::Vec<PageTable> {
        vec![PageTable::EMPTY; n]
    }

    #[test]
    fn uses_the_largest_blocks_that_fit() {
        let mut tables = pool(8);
        let mut b = TableBuilder::new(&mut tables, POOL_PA).expect("pool");
        // 4 KiB below a 2 MiB boundary, then a 2 MiB block, then a 1 GiB block.
        b.map(
            0x3FDF_F000,
            0x3FDF_F000,
            0x1000 + 0x20_0000 + 0x4000_0000,
            Attributes::REALM_DATA,
        )
        .expect("maps");
        let page = b.translate(0x3FDF_F123).expect("page");
        assert_eq!((page.pa, page.level), (0x3FDF_F123, 3));
        let block2 = b.translate(0x3FE0_0000 + 0x1234).expect("2 MiB");
        assert_eq!((block2.pa, block2.level), (0x3FE0_1234, 2));
        let block1 = b.translate(0x4000_0000 + 0x3FFF_FFF8).expect("1 GiB");
        assert_eq!((block1.pa, block1.level), (0x7FFF_FFF8, 1));
        assert_eq!(b.translate(0x8000_0000), None);
        assert_eq!(b.translate(0x3FDF_E000), None);
        assert_eq!(block1.attrs, Attributes::REALM_DATA);
    }

    #[test]
    fn offset_mappings_translate_to_their_physical_range() {
        let mut tables = pool(8);
        let mut b = TableBuilder::new(&mut tables, POOL_PA).expect("pool");
        let va = (1 << 47) + 0x8000_0000;
        b.map(va, 0x8000_0000, 0x7C00_0000, Attributes::NS_DATA)
            .expect("maps");
        let t = b.translate(va + 0x7BFF_F000).expect("mapped");
        assert_eq!(t.pa, 0xFBFF_F000);
        assert_eq!(t.attrs, Attributes::NS_DATA);
        assert_eq!(b.translate(va + 0x7C00_0000), None);
    }

    #[test]
    fn refuses_overlap_bad_alignment_and_range() {
        let mut tables = pool(8);
        let mut b = TableBuilder::new(&mut tables, POOL_PA).expect("pool");
        b.map(
            0x4000_0000,
            0x4000_0000,
            0x4000_0000,
            Attributes::REALM_DATA,
        )
        .expect("maps");
        assert_eq!(
            b.map(0x4010_0000, 0x4010_0000, 0x1000, Attributes::CODE),
            Err(MapError::Overlap)
        );
        assert_eq!(
            b.map(0x7FE0_0000, 0, 0x20_0000, Attributes::CODE),
            Err(MapError::Overlap)
        );
        assert_eq!(
            b.map(0x1000, 0x1001, 0x1000, Attributes::CODE),
            Err(MapError::Unaligned)
        );
        assert_eq!(
            b.map(0x1000, 0x1000, 0, Attributes::CODE),
            Err(MapError::Unaligned)
        );
        assert_eq!(
            b.map(0x1000, 0x1000, 0x800, Attributes::CODE),
            Err(MapError::Unaligned)
        );
        assert_eq!(
            b.map((1 << 48) - 0x1000, 0, 0x2000, Attributes::CODE),
            Err(MapError::OutOfRange)
        );
        assert_eq!(
            b.map(0, !0xFFF, 0x1000, Attributes::CODE),
            Err(MapError::OutOfRange)
        );
    }

    #[test]
    fn a_small_pool_runs_out_with_an_error() {
        let mut tables = pool(3);
        let mut b = TableBuilder::new(&mut tables, POOL_PA).expect("pool");
        assert_eq!(
            b.map(0x1000, 0x1000, 0x1000, Attributes::CODE),
            Err(MapError::PoolExhausted)
        );
        assert!(TableBuilder::new(&mut [], POOL_PA).is_none());
        assert!(TableBuilder::new(&mut pool(1), POOL_PA + 8).is_none());
    }
}
