// SPDX-License-Identifier: MIT OR Apache-2.0
//! The boot CPU's memory set-up: the carve-out after the image, the translation tables, the
//! MMU, then the granule table.
//!
//! The RMM carve-out runs from the image base to the end of the EL3 shared page (its last
//! page). Everything between the image end and the shared page is the RMM's to use, and is
//! handed out once, in order: first the translation tables (built with the MMU off), then the
//! granule table (zeroed with the caches on). Its size, not a compile-time constant, bounds
//! the DRAM the RMM can track: two bytes per 4 KiB granule.

use crate::GRANULE_SIZE;
use crate::arch::aarch64::mmu::{self, MmuRegs};
use crate::arch::aarch64::{entry, sysreg};
use crate::boot::BootConfig;
use crate::granule::GranuleTable;
use crate::log_line::{Message, dec};
use crate::mmu::attrs::{HCR_EL2_RMM, MAIR_EL2, SCTLR_EL2_MMU_ON, tcr_el2};
use crate::mmu::layout::{ImageSections, LayoutError, LayoutInput, memory_map};
use crate::mmu::tables::{PageTable, TableBuilder};
use core::sync::atomic::AtomicU16;

const GRANULE: u64 = GRANULE_SIZE as u64;
/// Most translation tables the boot CPU may use (QEMU needs 14 with 32 CPUs, 2 of them for
/// the stack window; 256 CPUs add 8 more level-3 tables there).
const MAX_TABLES: u64 = 32;

unsafe extern "C" {
    static __image_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __rw_start: u8;
    /// `__image_end`'s address, a word in `.rodata` (`linker.ld`): the firmware's tiny code
    /// model reaches ±1 MiB, and the end of a build for many CPUs lies further away.
    static __image_end_word: u64;
}

/// Why memory set-up failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootMemoryError {
    /// The shared page is not after the image, so there is no carve-out to use.
    NoCarveout,
    /// The memory map could not be built.
    Layout(LayoutError),
    /// The carve-out is too small for the granule table of this much DRAM.
    GranuleTableTooLarge {
        /// Bytes the table needs.
        needed: u64,
        /// Bytes left in the carve-out.
        available: u64,
    },
}

impl BootMemoryError {
    /// What went wrong, for the boot log.
    pub fn message(self) -> Message<2> {
        match self {
            BootMemoryError::NoCarveout => {
                Message::new("no carve-out after the image", ["".into(), "".into()])
            }
            BootMemoryError::Layout(error) => {
                let [what, detail] = error.as_strs();
                Message::new("memory map: {}{}", [what.into(), detail.into()])
            }
            BootMemoryError::GranuleTableTooLarge { needed, available } => Message::new(
                "the granule table needs {} bytes, the carve-out has {}",
                [dec(needed), dec(available)],
            ),
        }
    }
}

/// What memory set-up produced, for the boot log.
#[derive(Debug)]
pub struct BootMemory {
    /// The granule table.
    pub granules: GranuleTable,
    /// Translation tables used.
    pub tables: u64,
    /// Bytes of the granule table.
    pub granule_table_bytes: u64,
    /// Carve-out bytes left unused.
    pub spare: u64,
}

fn addr(symbol: &u8) -> u64 {
    symbol as *const u8 as u64
}

/// The image's sections, from the linker script.
pub fn image_sections() -> ImageSections {
    // SAFETY: only the addresses of these linker symbols are taken, never their contents,
    // except `__image_end_word`'s, an initialised, aligned word of `.rodata`.
    unsafe {
        ImageSections {
            text: (addr(&__image_start), addr(&__text_end)),
            rodata: (addr(&__rodata_start), addr(&__rodata_end)),
            rw: (addr(&__rw_start), __image_end_word),
        }
    }
}

/// Builds the translation tables, turns the MMU on and sets up the granule table.
///
/// Call once, on the boot CPU, with the MMU off.
#[cold]
#[inline(never)]
pub fn set_up(config: &BootConfig, early_console: u64) -> Result<BootMemory, BootMemoryError> {
    let image = image_sections();
    let shared_page = config.boot.shared_page;
    let free_start = image.rw.1;
    if shared_page < free_start {
        return Err(BootMemoryError::NoCarveout);
    }
    let dram = &config.manifest.dram;
    let map = memory_map(&LayoutInput {
        image,
        carveout_end: shared_page + GRANULE,
        consoles: &[early_console, config.manifest.console.base],
        dram,
        stacks: entry::stack_area(),
    })
    .map_err(BootMemoryError::Layout)?;

    let pool_len = ((shared_page - free_start) / GRANULE).min(MAX_TABLES) as usize;
    // SAFETY: `[free_start, shared_page)` is the unused part of the RMM's own carve-out
    // (after `__image_end`, before the shared page), page aligned, and nothing else refers
    // to it; with the MMU off it is addressed by its PA.
    let pool = unsafe { core::slice::from_raw_parts_mut(free_start as *mut PageTable, pool_len) };
    let mut builder = TableBuilder::new(pool, free_start)
        .ok_or(BootMemoryError::Layout(LayoutError::MalformedImage))?;
    map.build(&mut builder).map_err(BootMemoryError::Layout)?;
    let tables = builder.tables_used() as u64;
    let tables_end = free_start + tables * GRANULE;

    let regs = MmuRegs {
        mair: MAIR_EL2,
        tcr: tcr_el2(sysreg::cpu_id_registers().id_aa64mmfr0 & 0xF),
        ttbr0: builder.root_pa(),
        sctlr: SCTLR_EL2_MMU_ON,
        hcr: HCR_EL2_RMM,
    };
    // SAFETY: everything this CPU wrote so far went to memory with the MMU off (BSS, stacks,
    // tables), so dropping cached copies loses nothing. The tables identity-map the image
    // (code, data, stacks), the carve-out and the console, so execution continues (on the
    // identity alias of this CPU's stack until `entry::continue_on_guarded_stack`).
    unsafe {
        mmu::invalidate_dcache_range(image.text.0, tables_end);
        mmu::enable(regs);
    }

    let needed = GranuleTable::storage_bytes(dram);
    let available = shared_page - tables_end;
    if needed > available {
        return Err(BootMemoryError::GranuleTableTooLarge { needed, available });
    }
    let entries = GranuleTable::entry_count(dram);
    // SAFETY: `[tables_end, tables_end + needed)` lies inside the unused carve-out (checked
    // just above), is mapped read/write by the identity map, and is aligned for `AtomicU16`.
    // Zeroing it first makes every descriptor a valid "UNDELEGATED, unlocked" value; it is
    // never freed, so `'static` holds.
    let storage = unsafe {
        core::ptr::write_bytes(tables_end as *mut u8, 0, needed as usize);
        core::slice::from_raw_parts(tables_end as *const AtomicU16, entries)
    };
    let granules = GranuleTable::new(dram, storage)
        .ok_or(BootMemoryError::GranuleTableTooLarge { needed, available })?;
    Ok(BootMemory {
        granules,
        tables,
        granule_table_bytes: needed,
        spare: available - needed,
    })
}
