// SPDX-License-Identifier: MIT OR Apache-2.0
//! Boot manifest parsing and validation (RMM-EL3 boot manifest v0.3, read from a copy of the
//! shared page).
//!
//! EL3 places the manifest at the start of the shared page and points at its DRAM-bank and
//! console arrays with physical addresses that must lie inside that same page. This module
//! works only on a private 4 KiB copy of the page, as 512 aligned words (the caller copies it
//! in once), reads every structure in place through its typed `rmm-abi` layout (aligned word
//! loads: this target is built for strict alignment, where a copy out of a byte buffer of
//! unknown alignment takes a load per byte), and returns either a validated
//! [`BootManifest`] or the `RMM_BOOT_COMPLETE` error EL3 must see: `-6` for a version we do not
//! speak, `-7` for any malformed content. It never panics and never touches memory.
//!
//! Checksums: TF-A 2.12 computes the console checksum differently per platform (QEMU sums
//! `base + map_pages + clk_in_hz + baud_rate`, FVP every word of the entry, name and flags
//! included). We accept a console list if either rule gives zero, and reject it otherwise.

use crate::GRANULE_SIZE;
use rmm_abi::el3::{BootError, BootManifestHeader, ConsoleInfo, El3IfcVersion, NsDramBank};
use zerocopy::{FromBytes, IntoBytes};

/// The shared page's copy: 512 little-endian words.
pub type PageWords = [u64; GRANULE_SIZE / 8];

/// The words of a page given as bytes (little-endian): for callers that build a manifest as
/// bytes (the tests, the fuzz targets).
pub fn page_words(bytes: &[u8; GRANULE_SIZE]) -> PageWords {
    let mut words = [0u64; GRANULE_SIZE / 8];
    for (word, chunk) in words.iter_mut().zip(bytes.as_chunks::<8>().0) {
        *word = u64::from_le_bytes(*chunk);
    }
    words
}

/// The oldest manifest version we read; newer 0.x manifests only append fields we ignore.
pub const MIN_MANIFEST_VERSION: El3IfcVersion = El3IfcVersion { major: 0, minor: 3 };
/// Most DRAM banks the RMM tracks. TF-A's QEMU port passes one, the FVP two.
pub const MAX_DRAM_BANKS: usize = 8;
/// Most console entries we look through for a usable one.
pub const MAX_CONSOLES: usize = 4;
/// The only console type this RMM drives.
pub const PL011_NAME: &[u8] = b"pl011";

const GRANULE: u64 = GRANULE_SIZE as u64;
const CONSOLE_SIZE: usize = core::mem::size_of::<ConsoleInfo>();

/// One validated, granule-aligned, non-empty range of NS DRAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DramBank {
    /// First byte of the bank.
    pub base: u64,
    /// Size in bytes, a non-zero multiple of the granule size.
    pub size: u64,
}

impl DramBank {
    /// One past the last byte (cannot overflow: checked at parse time).
    pub const fn end(&self) -> u64 {
        self.base + self.size
    }
}

/// The DRAM banks, sorted ascending and non-overlapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DramLayout {
    banks: [DramBank; MAX_DRAM_BANKS],
    len: usize,
}

impl DramLayout {
    /// The banks in ascending address order.
    pub fn banks(&self) -> &[DramBank] {
        // `from_banks` keeps `len` within the array; a `get`, so that none of the many callers
        // this is inlined into carries a bounds-check panic.
        self.banks.get(..self.len).unwrap_or(&[])
    }

    /// The layout of `banks` (base, size), if it is well formed: one to
    /// [`MAX_DRAM_BANKS`] banks, each non-empty, granule aligned, not wrapping, in ascending
    /// order and not overlapping.
    pub fn from_banks(banks: &[(u64, u64)]) -> Option<Self> {
        if banks.is_empty() || banks.len() > MAX_DRAM_BANKS {
            return None;
        }
        let mut layout = Self {
            banks: [DramBank::default(); MAX_DRAM_BANKS],
            len: banks.len(),
        };
        let mut previous_end = 0u64;
        for (slot, &(base, size)) in layout.banks.iter_mut().zip(banks) {
            let end = base.checked_add(size)?;
            let well_formed = size != 0
                && base.is_multiple_of(GRANULE)
                && size.is_multiple_of(GRANULE)
                && base >= previous_end;
            if !well_formed {
                return None;
            }
            previous_end = end;
            *slot = DramBank { base, size };
        }
        Some(layout)
    }

    /// Total number of granules in all banks (what granule tracking must cover).
    pub fn granule_count(&self) -> u64 {
        self.banks().iter().map(|b| b.size / GRANULE).sum()
    }
}

/// The console the RMM logs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// PL011 base address, granule aligned.
    pub base: u64,
    /// Number of granules the UART occupies.
    pub map_pages: u64,
    /// UART reference clock in Hz (TF-A's QEMU port passes a dummy 1 Hz).
    pub clk_in_hz: u64,
    /// Baud rate; never zero.
    pub baud_rate: u64,
}

/// A validated boot manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootManifest {
    /// The manifest version EL3 wrote.
    pub version: El3IfcVersion,
    /// NS DRAM the host may delegate from.
    pub dram: DramLayout,
    /// The first PL011 console in the manifest's list.
    pub console: ConsoleConfig,
}

/// Parses and validates the manifest in `page`, a copy of the shared page at PA `page_pa`.
pub fn parse(page: &PageWords, page_pa: u64) -> Result<BootManifest, BootError> {
    let (header, _) = BootManifestHeader::ref_from_prefix(page.as_bytes())
        .map_err(|_| BootError::ManifestDataError)?;
    let version = El3IfcVersion::decode(u64::from(header.version))
        .filter(|v| v.major == MIN_MANIFEST_VERSION.major && v.minor >= MIN_MANIFEST_VERSION.minor)
        .ok_or(BootError::ManifestVersionNotSupported)?;
    let dram = parse_dram(
        page,
        page_pa,
        header.plat_dram.num_banks,
        header.plat_dram.banks_ptr,
        header.plat_dram.checksum,
    )?;
    let console = parse_console(
        page,
        page_pa,
        header.plat_console.num_consoles,
        header.plat_console.consoles_ptr,
        header.plat_console.checksum,
    )?;
    Ok(BootManifest {
        version,
        dram,
        console,
    })
}

/// The array of `count` entries of type `T` at PA `ptr`, which must lie entirely inside the
/// shared page and be 8-byte aligned, read in place.
fn array_in_page<T: FromBytes + zerocopy::KnownLayout + zerocopy::Immutable>(
    page: &PageWords,
    page_pa: u64,
    ptr: u64,
    count: usize,
) -> Result<&[T], BootError> {
    let offset = ptr
        .checked_sub(page_pa)
        .filter(|off| off.is_multiple_of(8))
        .and_then(|off| usize::try_from(off).ok())
        .ok_or(BootError::ManifestDataError)?;
    let len = count
        .checked_mul(core::mem::size_of::<T>())
        .ok_or(BootError::ManifestDataError)?;
    let end = offset
        .checked_add(len)
        .ok_or(BootError::ManifestDataError)?;
    let bytes = page
        .as_bytes()
        .get(offset..end)
        .ok_or(BootError::ManifestDataError)?;
    <[T]>::ref_from_bytes(bytes).map_err(|_| BootError::ManifestDataError)
}

fn count_in(raw: u64, max: usize) -> Result<usize, BootError> {
    usize::try_from(raw)
        .ok()
        .filter(|&n| (1..=max).contains(&n))
        .ok_or(BootError::ManifestDataError)
}

fn parse_dram(
    page: &PageWords,
    page_pa: u64,
    num: u64,
    ptr: u64,
    checksum: u64,
) -> Result<DramLayout, BootError> {
    let count = count_in(num, MAX_DRAM_BANKS)?;
    let banks = array_in_page::<NsDramBank>(page, page_pa, ptr, count)?;
    let mut raw_banks = [(0u64, 0u64); MAX_DRAM_BANKS];
    let mut sum = num.wrapping_add(ptr).wrapping_add(checksum);
    for (slot, bank) in raw_banks.iter_mut().zip(banks) {
        sum = sum.wrapping_add(bank.base).wrapping_add(bank.size);
        *slot = (bank.base, bank.size);
    }
    let layout = raw_banks
        .get(..count)
        .and_then(DramLayout::from_banks)
        .ok_or(BootError::ManifestDataError)?;
    if sum != 0 {
        return Err(BootError::ManifestDataError);
    }
    Ok(layout)
}

fn parse_console(
    page: &PageWords,
    page_pa: u64,
    num: u64,
    ptr: u64,
    checksum: u64,
) -> Result<ConsoleConfig, BootError> {
    let count = count_in(num, MAX_CONSOLES)?;
    let entries = array_in_page::<ConsoleInfo>(page, page_pa, ptr, count)?;
    let base_sum = num.wrapping_add(ptr).wrapping_add(checksum);
    let (mut qemu_sum, mut full_sum) = (base_sum, base_sum);
    let mut chosen = None;
    for entry in entries {
        let counted = [
            entry.base,
            entry.map_pages,
            entry.clk_in_hz,
            entry.baud_rate,
        ];
        qemu_sum = counted.iter().fold(qemu_sum, |s, w| s.wrapping_add(*w));
        let words: &[u64; CONSOLE_SIZE / 8] = zerocopy::transmute_ref!(entry);
        full_sum = words
            .iter()
            .fold(full_sum, |s, w| s.wrapping_add(u64::from_le(*w)));
        let usable = entry.base != 0
            && entry.base.is_multiple_of(GRANULE)
            && entry.map_pages != 0
            && entry.baud_rate != 0
            && name_is(&entry.name, PL011_NAME);
        if usable && chosen.is_none() {
            chosen = Some(ConsoleConfig {
                base: entry.base,
                map_pages: entry.map_pages,
                clk_in_hz: entry.clk_in_hz,
                baud_rate: entry.baud_rate,
            });
        }
    }
    if qemu_sum != 0 && full_sum != 0 {
        return Err(BootError::ManifestDataError);
    }
    chosen.ok_or(BootError::ManifestDataError)
}

/// True if the NUL-padded 8-byte `field` holds exactly `name`.
fn name_is(field: &[u8; 8], name: &[u8]) -> bool {
    let len = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    field.get(..len) == Some(name)
}
