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
//! | [`STACK_VA_BASE`] + n × [`STACK_SLOT`] | CPU n's stack, at the top of its slot; the rest of the slot is an unmapped guard hole | Realm, read/write, never executed |
//! | [`REALM_MAP_BASE`] + PA | every DRAM bank except the RMM carve-out | Realm, read/write |
//! | [`NS_MAP_BASE`] + PA | every DRAM bank | Non-secure, read/write |
//!
//! The two DRAM windows are fixed for the RMM's lifetime, so using a granule never costs a
//! map, an unmap or a TLB invalidation. They grant no access by themselves: the granule
//! protection check still decides, per granule, whether a Realm or Non-secure access is
//! allowed, and the RMM only touches a granule whose state (under its lock) says it is in the
//! PAS it is accessed in. Host memory is read only through the NS window, and only by the
//! fault-tolerant copy routine. Nothing is writable and executable.
//!
//! **Guarded stacks.** The per-CPU stacks are contiguous in the image (one NOLOAD section), so
//! the identity map cannot leave a hole below a stack without wasting the RAM behind the
//! hole. Instead every stack is mapped a second time in the stack window: CPU n's stack ends
//! at [`stack_va_top`]`(n)`, and the [`STACK_SLOT`] − stack-size bytes below it (and so
//! above CPU n − 1's stack) map nothing. Every CPU runs on this alias once its MMU is on, so
//! an overflow takes a translation fault in the hole instead of writing into the next
//! CPU's stack; the hole costs no RAM, only the one or two translation tables of the window.
//! The identity alias of the stacks stays (the boot CPU's first frames are addressed through
//! it, and the vectors' fatal path resets SP there, which works with the MMU on or off).

use super::attrs::Attributes;
use super::tables::{MapError, TableBuilder};
use crate::boot::manifest::DramLayout;

/// Base of the Realm-PAS window onto DRAM.
pub const REALM_MAP_BASE: u64 = 1 << 46;
/// Base of the Non-secure-PAS window onto DRAM.
pub const NS_MAP_BASE: u64 = 1 << 47;
/// Physical addresses the windows can reach (exclusive).
pub const MAP_SPAN: u64 = 1 << 46;

/// Base of the stack window: the last GiB below 512 GiB, in the first level-0 entry (shared
/// with the identity map, so the window costs a level-2 and a level-3 table, no more for
/// up to 32 CPUs). Identity-mapped ranges must lie below it.
pub const STACK_VA_BASE: u64 = 0x7F_C000_0000;
/// Virtual bytes per CPU in the stack window: its stack at the top, a guard hole below.
pub const STACK_SLOT: u64 = 64 * 1024;
/// Size of the stack window (room for 16,384 slots).
pub const STACK_WINDOW: u64 = 1 << 30;

/// One past the top of CPU `cpu`'s stack in the stack window (where its SP starts).
pub const fn stack_va_top(cpu: u64) -> u64 {
    STACK_VA_BASE + (cpu + 1) * STACK_SLOT
}

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

/// Stacks: `count` stacks of `size` bytes each, contiguous from `pa`, in the stack window's
/// slots `first_slot ..`: the per-CPU stacks (slot n is CPU n's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackArea {
    /// Physical (and identity) address of the first stack.
    pub pa: u64,
    /// Bytes per stack (a page multiple, at least a page smaller than [`STACK_SLOT`]).
    pub size: u64,
    /// Number of stacks.
    pub count: u64,
    /// The stack window slot of the first stack.
    pub first_slot: u64,
}

impl StackArea {
    /// `[bottom, top)` of stack `index` (CPU `index`'s, for the per-CPU stacks) in the stack
    /// window.
    pub const fn va_range(&self, index: u64) -> (u64, u64) {
        let top = stack_va_top(self.first_slot + index);
        (top - self.size, top)
    }

    /// Whether the area is well formed and lies inside `rw`.
    fn fits(&self, rw: (u64, u64)) -> bool {
        self.count >= 1
            && self.size >= PAGE
            && self.size.is_multiple_of(PAGE)
            && self.pa.is_multiple_of(PAGE)
            && self.size + PAGE <= STACK_SLOT
            && self
                .first_slot
                .checked_add(self.count)
                .is_some_and(|end| end <= STACK_WINDOW / STACK_SLOT)
            && self.pa >= rw.0
            && self
                .count
                .checked_mul(self.size)
                .and_then(|bytes| bytes.checked_add(self.pa))
                .is_some_and(|end| end <= rw.1)
    }

    /// The area's stacks as mapped regions.
    fn regions(self) -> impl Iterator<Item = Region> {
        (0..self.count).map(move |i| Region {
            va: self.va_range(i).0,
            pa: self.pa + i * self.size,
            size: self.size,
            attrs: Attributes::REALM_DATA,
        })
    }

    /// The unmapped guard hole below CPU `cpu`'s stack in the stack window.
    pub const fn guard_range(&self, cpu: u64) -> (u64, u64) {
        let (bottom, top) = self.va_range(cpu);
        (top - STACK_SLOT, bottom)
    }
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
    /// The per-CPU stacks (inside the image's writable section), mapped again with guards.
    pub stacks: StackArea,
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

/// What the unused slots of a [`MemoryMap`] hold (never read: the map's length says which
/// slots are used). All its bits are zero, so an empty map is one zeroing (a slot of
/// `Option<Region>` took a store of its own).
const UNUSED: Region = Region {
    va: 0,
    pa: 0,
    size: 0,
    attrs: Attributes {
        kind: crate::mmu::attrs::MemoryKind::Device,
        access: crate::mmu::attrs::Access::ReadExecute,
        pas: crate::mmu::attrs::Pas::Realm,
    },
};

/// The regions of the map, in the order they are mapped.
#[derive(Debug, Clone)]
pub struct MemoryMap {
    /// The first `len` are the regions.
    regions: [Region; MAX_REGIONS],
    len: usize,
    /// Mapped into the stack window by [`MemoryMap::build`], one region per CPU.
    stacks: StackArea,
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

impl LayoutError {
    /// What went wrong, for the boot log: one or two pieces of text.
    pub const fn as_strs(self) -> [&'static str; 2] {
        match self {
            LayoutError::MalformedImage => ["the image's sections or stacks are malformed", ""],
            LayoutError::AddressTooHigh => ["an address is beyond the DRAM windows", ""],
            LayoutError::TooManyRegions => ["too many regions", ""],
            LayoutError::Map(error) => ["mapping failed: ", error.as_str()],
        }
    }
}

impl MemoryMap {
    /// The regions, the stack window's last.
    pub fn regions(&self) -> impl Iterator<Item = Region> + '_ {
        let stack_regions = self.stacks.regions();
        self.regions
            .get(..self.len)
            .unwrap_or(&[])
            .iter()
            .copied()
            .chain(stack_regions)
    }

    fn push(&mut self, va: u64, pa: u64, size: u64, attrs: Attributes) -> Result<(), LayoutError> {
        if size == 0 {
            return Ok(());
        }
        let slot = self
            .regions
            .get_mut(self.len)
            .ok_or(LayoutError::TooManyRegions)?;
        *slot = Region {
            va,
            pa,
            size,
            attrs,
        };
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
    let stacks = input.stacks;
    let stacks_fit = stacks.fits(rw) && stacks.first_slot == 0;
    if !stacks_fit {
        return Err(LayoutError::MalformedImage);
    }
    let top = input.dram.banks().last().map_or(0, |b| b.end());
    if input.carveout_end > STACK_VA_BASE || top > MAP_SPAN {
        return Err(LayoutError::AddressTooHigh);
    }
    let mut map = MemoryMap {
        regions: [UNUSED; MAX_REGIONS],
        len: 0,
        stacks,
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
        if page >= STACK_VA_BASE {
            return Err(LayoutError::AddressTooHigh);
        }
        if !input
            .consoles
            .iter()
            .take(i)
            .any(|&b| b & !(PAGE - 1) == page)
        {
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
    /// Four 24 KiB stacks inside `QEMU_IMAGE.rw`.
    const QEMU_STACKS: StackArea = StackArea {
        pa: 0x4011_0000,
        size: 0x6000,
        count: 4,
        first_slot: 0,
    };

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
            stacks: QEMU_STACKS,
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
            stacks: StackArea {
                pa: 0xFDC1_0000,
                size: 0x6000,
                count: 8,
                first_slot: 0,
            },
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
            stacks: QEMU_STACKS,
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
        // The identity map must stay below the stack window.
        let bad = LayoutInput {
            consoles: &[STACK_VA_BASE],
            ..good
        };
        assert_eq!(memory_map(&bad).unwrap_err(), LayoutError::AddressTooHigh);
        // Stacks without room for a guard page, outside the image, or misaligned.
        for stacks in [
            StackArea {
                size: STACK_SLOT,
                ..QEMU_STACKS
            },
            StackArea {
                pa: QEMU_IMAGE.rw.1 - 0x6000,
                ..QEMU_STACKS
            },
            StackArea {
                pa: QEMU_STACKS.pa + 8,
                ..QEMU_STACKS
            },
            StackArea {
                count: 0,
                ..QEMU_STACKS
            },
        ] {
            let bad = LayoutInput { stacks, ..good };
            assert_eq!(memory_map(&bad).unwrap_err(), LayoutError::MalformedImage);
        }
    }

    /// Builds the QEMU test map into `pool`'s tables.
    fn stack_map(pool: &mut [PageTable]) -> TableBuilder<'_> {
        let dram = qemu_dram();
        let input = LayoutInput {
            image: QEMU_IMAGE,
            carveout_end: QEMU_CARVEOUT_END,
            consoles: &[0x0900_0000],
            dram: &dram,
            stacks: QEMU_STACKS,
        };
        let map = memory_map(&input).expect("layout");
        let mut b = TableBuilder::new(pool, 0x4019_0000).expect("pool");
        map.build(&mut b).expect("tables");
        b
    }

    /// Stack `i` of `area` is mapped at the top of its slot, with its identity alias, and
    /// the rest of the slot below it is an unmapped hole of at least a page.
    fn assert_guarded(b: &TableBuilder<'_>, area: StackArea, i: u64) {
        let at = |va| b.translate(va).map(|t| (t.pa, t.attrs));
        let (bottom, top) = area.va_range(i);
        let pa = area.pa + i * area.size;
        assert_eq!(top, stack_va_top(area.first_slot + i));
        assert_eq!(at(bottom), Some((pa, Attributes::REALM_DATA)));
        assert_eq!(
            at(top - 8),
            Some((pa + area.size - 8, Attributes::REALM_DATA))
        );
        let (hole, hole_end) = area.guard_range(i);
        assert_eq!((hole, hole_end), (top - STACK_SLOT, bottom));
        assert!(hole_end - hole >= 4096);
        let mut va = hole;
        while va < hole_end {
            assert_eq!(at(va), None, "guard page {va:#x} of stack {i} is mapped");
            va += 4096;
        }
        // The identity alias stays.
        assert_eq!(at(pa).map(|t| t.0), Some(pa));
    }

    #[test]
    fn every_stack_is_mapped_again_with_an_unmapped_hole_below_it() {
        let mut pool = vec![PageTable::EMPTY; 32];
        let b = stack_map(&mut pool);
        let s = QEMU_STACKS;
        for cpu in 0..s.count {
            assert_guarded(&b, s, cpu);
        }
        assert_eq!(b.translate(stack_va_top(s.count)), None);
        assert_eq!(b.translate(stack_va_top(s.count) - 8), None);
    }
}
