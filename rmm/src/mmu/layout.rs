// SPDX-License-Identifier: MIT OR Apache-2.0
//! The RMM's memory map at R-EL2.
//!
//! | virtual range | maps | attributes |
//! |---|---|---|
//! | identity | image `.text` | Realm, read + execute |
//! | identity | image `.rodata` | Realm, read only |
//! | identity | image `.data`, `.bss`, stacks | Realm, read/write, never executed |
//! | identity | rest of the carve-out (translation tables, granule table, EL3 shared page) | Realm, read/write |
//! | identity | the console(s) | Device, read/write |
//! | [`REALM_MAP_BASE`] + PA | every DRAM bank except the RMM carve-out | Realm, read/write |
//! | [`NS_MAP_BASE`] + PA | every DRAM bank | Non-secure, read/write |
//!
//! The two DRAM windows are fixed for the RMM's lifetime, so using a granule never costs a
//! map, an unmap or a TLB invalidation. They grant no access by themselves: the granule
//! protection check still decides, per granule, whether a Realm or Non-secure access is
//! allowed, and the RMM only touches a granule whose state (under its lock) says it is in the
//! PAS it is accessed in. Host memory is read only through the NS window, and only by the
//! fault-tolerant copy routine. Nothing is writable and executable.

use super::attrs::Attributes;
use super::tables::{MapError, TableBuilder};
use crate::boot::manifest::DramLayout;

/// Base of the Realm-PAS window onto DRAM.
pub const REALM_MAP_BASE: u64 = 1 << 46;
/// Base of the Non-secure-PAS window onto DRAM.
pub const NS_MAP_BASE: u64 = 1 << 47;
/// Physical addresses the windows can reach (exclusive).
pub const MAP_SPAN: u64 = 1 << 46;

/// Where the RMM reads and writes the Realm-PAS granule at `pa`.
pub const fn realm_va(pa: u64) -> u64 {
    REALM_MAP_BASE + pa
}

/// Where the RMM reads and writes the host (NS) granule at `pa`.
pub const fn ns_va(pa: u64) -> u64 {
    NS_MAP_BASE + pa
}

/// The RMM image's sections, from the linker script (all page aligned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSections {
    /// `[start, end)` of code.
    pub text: (u64, u64),
    /// `[start, end)` of read-only data.
    pub rodata: (u64, u64),
    /// `[start, end)` of writable data, BSS and stacks (ends at the image end).
    pub rw: (u64, u64),
}

/// Everything the memory map is derived from.
#[derive(Debug, Clone, Copy)]
pub struct LayoutInput<'a> {
    /// The image.
    pub image: ImageSections,
    /// End of the RMM carve-out (one past the EL3 shared page, its last page).
    pub carveout_end: u64,
    /// Console base addresses (one page each; duplicates allowed).
    pub consoles: &'a [u64],
    /// NS DRAM.
    pub dram: &'a DramLayout,
}

/// One mapped range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Virtual start.
    pub va: u64,
    /// Physical start.
    pub pa: u64,
    /// Size in bytes.
    pub size: u64,
    /// Attributes.
    pub attrs: Attributes,
}

const MAX_REGIONS: usize = 40;

/// The regions of the map, in the order they are mapped.
#[derive(Debug, Clone)]
pub struct MemoryMap {
    regions: [Option<Region>; MAX_REGIONS],
    len: usize,
}

/// Why the memory map cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutError {
    /// The image sections are not page aligned, empty or out of order.
    MalformedImage,
    /// An address is beyond what the DRAM windows can reach.
    AddressTooHigh,
    /// More regions than the map holds (more than 8 DRAM banks never gets here).
    TooManyRegions,
    /// The translation tables could not be written.
    Map(MapError),
}

impl MemoryMap {
    /// The regions.
    pub fn regions(&self) -> impl Iterator<Item = &Region> {
        self.regions[..self.len].iter().flatten()
    }

    fn push(&mut self, va: u64, pa: u64, size: u64, attrs: Attributes) -> Result<(), LayoutError> {
        if size == 0 {
            return Ok(());
        }
        let slot = self
            .regions
            .get_mut(self.len)
            .ok_or(LayoutError::TooManyRegions)?;
        *slot = Some(Region {
            va,
            pa,
            size,
            attrs,
        });
        self.len += 1;
        Ok(())
    }

    /// Writes every region into `builder`'s tables.
    pub fn build(&self, builder: &mut TableBuilder<'_>) -> Result<(), LayoutError> {
        for r in self.regions() {
            builder
                .map(r.va, r.pa, r.size, r.attrs)
                .map_err(LayoutError::Map)?;
        }
        Ok(())
    }
}

const PAGE: u64 = 4096;

/// The RMM's memory map for `input`.
pub fn memory_map(input: &LayoutInput<'_>) -> Result<MemoryMap, LayoutError> {
    let ImageSections { text, rodata, rw } = input.image;
    let ordered = text.0 < text.1
        && text.1 <= rodata.0
        && rodata.0 <= rodata.1
        && rodata.1 <= rw.0
        && rw.0 < rw.1
        && rw.1 <= input.carveout_end;
    let aligned = [
        text.0,
        text.1,
        rodata.0,
        rodata.1,
        rw.0,
        rw.1,
        input.carveout_end,
    ]
    .iter()
    .all(|a| a.is_multiple_of(PAGE));
    if !ordered || !aligned {
        return Err(LayoutError::MalformedImage);
    }
    let top = input.dram.banks().last().map_or(0, |b| b.end());
    if input.carveout_end > MAP_SPAN || top > MAP_SPAN {
        return Err(LayoutError::AddressTooHigh);
    }
    let mut map = MemoryMap {
        regions: [None; MAX_REGIONS],
        len: 0,
    };
    let identity = |map: &mut MemoryMap, (start, end): (u64, u64), attrs| {
        map.push(start, start, end - start, attrs)
    };
    identity(&mut map, text, Attributes::CODE)?;
    identity(&mut map, rodata, Attributes::RODATA)?;
    identity(&mut map, rw, Attributes::REALM_DATA)?;
    identity(&mut map, (rw.1, input.carveout_end), Attributes::REALM_DATA)?;
    for (i, &base) in input.consoles.iter().enumerate() {
        let page = base & !(PAGE - 1);
        if page >= MAP_SPAN {
            return Err(LayoutError::AddressTooHigh);
        }
        if !input.consoles[..i].iter().any(|&b| b & !(PAGE - 1) == page) {
            map.push(page, page, PAGE, Attributes::DEVICE)?;
        }
    }
    let carveout = (text.0, input.carveout_end);
    for bank in input.dram.banks() {
        let (start, end) = (bank.base, bank.end());
        // The carve-out is never reachable through the Realm window.
        let below = (start, end.min(carveout.0));
        let above = (start.max(carveout.1), end);
        for (s, e) in [below, above] {
            if s < e {
                map.push(realm_va(s), s, e - s, Attributes::REALM_DATA)?;
            }
        }
        map.push(ns_va(start), start, end - start, Attributes::NS_DATA)?;
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::mmu::attrs::Access;
    use crate::mmu::tables::PageTable;
    use std::vec;

    const QEMU_IMAGE: ImageSections = ImageSections {
        text: (0x4010_0000, 0x4010_6000),
        rodata: (0x4010_6000, 0x4010_7000),
        rw: (0x4010_7000, 0x4019_0000),
    };
    const QEMU_CARVEOUT_END: u64 = 0x4190_0000;

    fn qemu_dram() -> DramLayout {
        DramLayout::from_banks(&[(0x4000_0000, 0xC000_0000)]).expect("valid")
    }

    fn tables_needed(input: &LayoutInput<'_>) -> usize {
        let map = memory_map(input).expect("layout");
        let mut pool = vec![PageTable::EMPTY; 32];
        let mut b = TableBuilder::new(&mut pool, 0x4019_0000).expect("pool");
        map.build(&mut b).expect("tables");
        b.tables_used()
    }

    #[test]
    fn qemu_map_has_the_right_permissions_everywhere() {
        let dram = qemu_dram();
        let input = LayoutInput {
            image: QEMU_IMAGE,
            carveout_end: QEMU_CARVEOUT_END,
            consoles: &[0x0900_0000, 0x0900_0000],
            dram: &dram,
        };
        let map = memory_map(&input).expect("layout");
        let mut pool = vec![PageTable::EMPTY; 32];
        let mut b = TableBuilder::new(&mut pool, 0x4019_0000).expect("pool");
        map.build(&mut b).expect("tables");
        assert!(b.tables_used() <= 16, "{} tables", b.tables_used());
        let access = |va| b.translate(va).map(|t| (t.pa, t.attrs.access, t.attrs.pas));
        use crate::mmu::attrs::Pas::{NonSecure, Realm};
        assert_eq!(
            access(0x4010_0000),
            Some((0x4010_0000, Access::ReadExecute, Realm))
        );
        assert_eq!(
            access(0x4010_6008),
            Some((0x4010_6008, Access::ReadOnly, Realm))
        );
        assert_eq!(
            access(0x4018_FFF8),
            Some((0x4018_FFF8, Access::ReadWrite, Realm))
        );
        assert_eq!(
            access(0x418F_F000),
            Some((0x418F_F000, Access::ReadWrite, Realm))
        );
        assert_eq!(access(0x4190_0000), None, "NS DRAM is not identity mapped");
        assert_eq!(access(0x0900_0000).map(|a| a.0), Some(0x0900_0000));
        assert_eq!(access(0x0900_1000), None);
        // The Realm window skips the carve-out, the NS window does not.
        assert_eq!(
            access(realm_va(0x4000_0000)),
            Some((0x4000_0000, Access::ReadWrite, Realm))
        );
        assert_eq!(
            access(realm_va(0x400F_F000)).map(|a| a.0),
            Some(0x400F_F000)
        );
        assert_eq!(access(realm_va(0x4010_0000)), None);
        assert_eq!(access(realm_va(0x418F_F000)), None);
        assert_eq!(
            access(realm_va(0x4190_0000)).map(|a| a.0),
            Some(0x4190_0000)
        );
        assert_eq!(
            access(realm_va(0xFFFF_F000)).map(|a| a.0),
            Some(0xFFFF_F000)
        );
        assert_eq!(access(realm_va(0x1_0000_0000)), None);
        assert_eq!(
            access(ns_va(0x4010_0000)),
            Some((0x4010_0000, Access::ReadWrite, NonSecure))
        );
        assert_eq!(access(ns_va(0xFFFF_F000)).map(|a| a.0), Some(0xFFFF_F000));
        assert_eq!(access(ns_va(0x3FFF_F000)), None);
    }

    #[test]
    fn fvp_map_builds() {
        let dram =
            DramLayout::from_banks(&[(0x8000_0000, 0x7C00_0000), (0x8_8000_0000, 0x8000_0000)])
                .expect("valid");
        let input = LayoutInput {
            image: ImageSections {
                text: (0xFDC0_0000, 0xFDC0_8000),
                rodata: (0xFDC0_8000, 0xFDC0_9000),
                rw: (0xFDC0_9000, 0xFDCA_0000),
            },
            carveout_end: 0xFFC0_0000,
            consoles: &[0x1C09_0000, 0x1C0C_0000],
            dram: &dram,
        };
        let used = tables_needed(&input);
        assert!(used <= 16, "{used} tables");
    }

    #[test]
    fn malformed_inputs_are_refused() {
        let dram = qemu_dram();
        let good = LayoutInput {
            image: QEMU_IMAGE,
            carveout_end: QEMU_CARVEOUT_END,
            consoles: &[0x0900_0000],
            dram: &dram,
        };
        let mut bad = good;
        bad.image.text.1 = 0x4010_6800;
        assert_eq!(memory_map(&bad).unwrap_err(), LayoutError::MalformedImage);
        let mut bad = good;
        bad.carveout_end = 0x4018_0000;
        assert_eq!(memory_map(&bad).unwrap_err(), LayoutError::MalformedImage);
        let high = DramLayout::from_banks(&[(MAP_SPAN - 0x1000, 0x2000)]).expect("valid");
        let bad = LayoutInput {
            dram: &high,
            ..good
        };
        assert_eq!(memory_map(&bad).unwrap_err(), LayoutError::AddressTooHigh);
        let bad = LayoutInput {
            consoles: &[MAP_SPAN],
            ..good
        };
        assert_eq!(memory_map(&bad).unwrap_err(), LayoutError::AddressTooHigh);
    }
}
