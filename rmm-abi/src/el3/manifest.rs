// SPDX-License-Identifier: MIT OR Apache-2.0
//! Boot manifest v0.3 layouts (`struct rmm_core_manifest` and the arrays it points to), found
//! at the base of the EL3↔RMM shared buffer (boot x3).
//!
//! Layout and field decoding only: the monitor validates pointers, counts and checksums
//! (`num + ptr + Σ words + checksum == 0`). Manifests ≥ 0.4 append fields after the 64-byte
//! v0.3 header; a v0.3 reader ignores them.

use super::version::El3IfcVersion;
use core::mem::{offset_of, size_of};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Size of the v0.3 manifest header in bytes.
pub const BOOT_MANIFEST_V0_3_SIZE: usize = 64;

/// Length of [`ConsoleInfo::name`].
pub const CONSOLE_NAME_LEN: usize = 8;

/// `struct ns_dram_info`: the NS DRAM bank list.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
#[repr(C)]
pub struct NsDramInfo {
    /// Number of entries in the bank array.
    pub num_banks: u64,
    /// PA of an array of [`NsDramBank`] (inside the shared buffer), sorted by base.
    pub banks_ptr: u64,
    /// Two's-complement checksum over `num_banks`, `banks_ptr` and every bank word.
    pub checksum: u64,
}

/// `struct ns_dram_bank`: one NS DRAM bank.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
#[repr(C)]
pub struct NsDramBank {
    /// Base PA.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
}

/// `struct console_list`: the RMM console list.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
#[repr(C)]
pub struct ConsoleList {
    /// Number of entries in the console array.
    pub num_consoles: u64,
    /// PA of an array of [`ConsoleInfo`] (inside the shared buffer).
    pub consoles_ptr: u64,
    /// Two's-complement checksum over `num_consoles`, `consoles_ptr` and the console words.
    pub checksum: u64,
}

/// `struct console_info`: one console (UART).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
#[repr(C)]
pub struct ConsoleInfo {
    /// 0x00: MMIO base PA.
    pub base: u64,
    /// 0x08: number of 4 KiB pages to map.
    pub map_pages: u64,
    /// 0x10: NUL-padded driver name, e.g. `"pl011"`.
    pub name: [u8; CONSOLE_NAME_LEN],
    /// 0x18: UART input clock in Hz.
    pub clk_in_hz: u64,
    /// 0x20: baud rate.
    pub baud_rate: u64,
    /// 0x28: flags (none defined).
    pub flags: u64,
}

impl ConsoleInfo {
    /// The name up to (not including) the first NUL, or all 8 bytes if there is none.
    pub fn name_bytes(&self) -> &[u8] {
        let len = self
            .name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(CONSOLE_NAME_LEN);
        self.name.get(..len).unwrap_or(&[])
    }
}

/// `struct rmm_core_manifest`, v0.3 layout (64 bytes).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
#[repr(C)]
pub struct BootManifestHeader {
    /// 0x00: manifest version (same encoding as the interface version).
    pub version: u32,
    /// 0x04: padding, zero.
    pub padding: u32,
    /// 0x08: PA of platform data (may be 0).
    pub plat_data: u64,
    /// 0x10: NS DRAM banks.
    pub plat_dram: NsDramInfo,
    /// 0x28: consoles.
    pub plat_console: ConsoleList,
}

impl BootManifestHeader {
    /// Decoded [`Self::version`]; `None` if bit 31 (RES0) is set.
    pub const fn manifest_version(&self) -> Option<El3IfcVersion> {
        El3IfcVersion::decode(self.version as u64)
    }
}

const _: () = assert!(size_of::<NsDramInfo>() == 24);
const _: () = assert!(offset_of!(NsDramInfo, num_banks) == 0);
const _: () = assert!(offset_of!(NsDramInfo, banks_ptr) == 8);
const _: () = assert!(offset_of!(NsDramInfo, checksum) == 16);

const _: () = assert!(size_of::<NsDramBank>() == 16);
const _: () = assert!(offset_of!(NsDramBank, base) == 0);
const _: () = assert!(offset_of!(NsDramBank, size) == 8);

const _: () = assert!(size_of::<ConsoleList>() == 24);
const _: () = assert!(offset_of!(ConsoleList, num_consoles) == 0);
const _: () = assert!(offset_of!(ConsoleList, consoles_ptr) == 8);
const _: () = assert!(offset_of!(ConsoleList, checksum) == 16);

const _: () = assert!(size_of::<ConsoleInfo>() == 48);
const _: () = assert!(offset_of!(ConsoleInfo, base) == 0);
const _: () = assert!(offset_of!(ConsoleInfo, map_pages) == 8);
const _: () = assert!(offset_of!(ConsoleInfo, name) == 16);
const _: () = assert!(offset_of!(ConsoleInfo, clk_in_hz) == 24);
const _: () = assert!(offset_of!(ConsoleInfo, baud_rate) == 32);
const _: () = assert!(offset_of!(ConsoleInfo, flags) == 40);

const _: () = assert!(size_of::<BootManifestHeader>() == BOOT_MANIFEST_V0_3_SIZE);
const _: () = assert!(offset_of!(BootManifestHeader, version) == 0);
const _: () = assert!(offset_of!(BootManifestHeader, padding) == 4);
const _: () = assert!(offset_of!(BootManifestHeader, plat_data) == 8);
const _: () = assert!(offset_of!(BootManifestHeader, plat_dram) == 16);
const _: () = assert!(offset_of!(BootManifestHeader, plat_console) == 40);

#[cfg(test)]
mod tests {
    use super::*;

    fn put_u64(buf: &mut [u8], off: usize, v: u64) {
        buf[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }

    /// A QEMU-like manifest: one DRAM bank, one PL011 console.
    #[test]
    fn header_from_bytes() {
        let mut buf = [0u8; 64];
        buf[0..4].copy_from_slice(&3u32.to_le_bytes());
        put_u64(&mut buf, 8, 0);
        put_u64(&mut buf, 16, 1);
        put_u64(&mut buf, 24, 0x418F_F040);
        put_u64(&mut buf, 32, 0xAAAA);
        put_u64(&mut buf, 40, 1);
        put_u64(&mut buf, 48, 0x418F_F050);
        put_u64(&mut buf, 56, 0xBBBB);
        let h = BootManifestHeader::read_from_bytes(&buf).expect("size matches");
        assert_eq!(h.version, 3);
        assert_eq!(h.manifest_version(), Some(El3IfcVersion::new(0, 3)));
        assert_eq!(h.padding, 0);
        assert_eq!(h.plat_data, 0);
        assert_eq!(h.plat_dram.num_banks, 1);
        assert_eq!(h.plat_dram.banks_ptr, 0x418F_F040);
        assert_eq!(h.plat_dram.checksum, 0xAAAA);
        assert_eq!(h.plat_console.num_consoles, 1);
        assert_eq!(h.plat_console.consoles_ptr, 0x418F_F050);
        assert_eq!(h.plat_console.checksum, 0xBBBB);
        assert_eq!(h.as_bytes(), &buf[..]);

        // A v0.5 manifest is longer; the v0.3 header is its prefix.
        let mut long = [0u8; 168];
        long[..64].copy_from_slice(&buf);
        long[0..4].copy_from_slice(&5u32.to_le_bytes());
        let (h5, _rest) = BootManifestHeader::read_from_prefix(&long).expect("long enough");
        assert_eq!(h5.manifest_version(), Some(El3IfcVersion::new(0, 5)));

        buf[3] = 0x80;
        let bad = BootManifestHeader::read_from_bytes(&buf).expect("size matches");
        assert_eq!(bad.manifest_version(), None);
    }

    #[test]
    fn bank_from_bytes() {
        let mut buf = [0u8; 32];
        put_u64(&mut buf, 0, 0x4000_0000);
        put_u64(&mut buf, 8, 0xC000_0000);
        put_u64(&mut buf, 16, 0x8_8000_0000);
        put_u64(&mut buf, 24, 0x8000_0000);
        let (b0, rest) = NsDramBank::read_from_prefix(&buf).expect("long enough");
        let b1 = NsDramBank::read_from_bytes(rest).expect("size matches");
        assert_eq!(
            b0,
            NsDramBank {
                base: 0x4000_0000,
                size: 0xC000_0000
            }
        );
        assert_eq!(
            b1,
            NsDramBank {
                base: 0x8_8000_0000,
                size: 0x8000_0000
            }
        );
    }

    #[test]
    fn console_from_bytes() {
        let mut buf = [0u8; 48];
        put_u64(&mut buf, 0, 0x0900_0000);
        put_u64(&mut buf, 8, 1);
        buf[16..21].copy_from_slice(b"pl011");
        put_u64(&mut buf, 24, 1);
        put_u64(&mut buf, 32, 115_200);
        put_u64(&mut buf, 40, 0);
        let c = ConsoleInfo::read_from_bytes(&buf).expect("size matches");
        assert_eq!(c.base, 0x0900_0000);
        assert_eq!(c.map_pages, 1);
        assert_eq!(&c.name, b"pl011\0\0\0");
        assert_eq!(c.name_bytes(), b"pl011");
        assert_eq!(c.clk_in_hz, 1);
        assert_eq!(c.baud_rate, 115_200);
        assert_eq!(c.flags, 0);
        assert_eq!(c.as_bytes(), &buf[..]);

        let full = ConsoleInfo {
            name: *b"abcdefgh",
            ..ConsoleInfo::default()
        };
        assert_eq!(full.name_bytes(), b"abcdefgh");
    }
}
