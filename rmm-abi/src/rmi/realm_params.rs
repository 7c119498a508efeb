// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RmiRealmParams` (RMM 1.0-rel0 A.6.1): the 4 KiB NS granule the host passes to
//! `RMI_REALM_CREATE`, and its [`RealmFlags`].
//!
//! Every scalar field of the first block is a 64-bit slot, as the Linux host writes it. The
//! specification gives several of them narrower types (`s2sz`, `num_bps`, `num_wps`,
//! `pmu_num_ctrs`, `hash_algo`: UInt8; `vmid`: UInt16; `rtt_num_start`: UInt32) and TF-RMM
//! reads only 1–4 bytes of some. This crate exposes the whole slot; whether to reject or
//! ignore non-zero upper bytes is the monitor's decision (the reserved bits should be zero).

use core::mem::{offset_of, size_of};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Size of the Realm Personalization Value, in bytes.
pub const RPV_SIZE: usize = 64;

abi_flags! {
    /// `RmiRealmFlags` (`RealmParams::flags`).
    pub struct RealmFlags {
        /// Bit 0: LPA2 (52-bit IPA with 4 KiB granules, start level -1 allowed).
        const LPA2 = 1 << 0;
        /// Bit 1: SVE enabled for the realm.
        const SVE = 1 << 1;
        /// Bit 2: PMU enabled for the realm.
        const PMU = 1 << 2;
    }
}

/// `RmiRealmParams`, 0x1000 bytes, spec offsets.
#[derive(Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RealmParams {
    /// 0x000: [`RealmFlags`].
    pub flags: u64,
    /// 0x008: requested IPA width (spec UInt8).
    pub s2sz: u64,
    /// 0x010: requested SVE vector length, encoded as VQ - 1 (spec UInt8).
    pub sve_vl: u64,
    /// 0x018: number of breakpoints (spec UInt8).
    pub num_bps: u64,
    /// 0x020: number of watchpoints (spec UInt8).
    pub num_wps: u64,
    /// 0x028: number of PMU counters (spec UInt8).
    pub pmu_num_ctrs: u64,
    /// 0x030: measurement hash algorithm, [`crate::rmi::states::HashAlgorithm`] (spec UInt8).
    pub hash_algo: u64,
    _reserved0: [u8; 0x400 - 0x38],
    /// 0x400: Realm Personalization Value.
    pub rpv: [u8; RPV_SIZE],
    _reserved1: [u8; 0x800 - 0x440],
    /// 0x800: VMID (spec UInt16; the Linux host writes a u64).
    pub vmid: u64,
    /// 0x808: PA of the first starting-level RTT.
    pub rtt_base: u64,
    /// 0x810: RTT starting level (-1 only with LPA2).
    pub rtt_level_start: i64,
    /// 0x818: number of starting-level RTTs (spec UInt32).
    pub rtt_num_start: u64,
    _reserved2: [u8; 0x1000 - 0x820],
}

impl RealmParams {
    /// An all-zero structure (every field zero, reserved space zero).
    pub const fn zeroed() -> Self {
        Self {
            flags: 0,
            s2sz: 0,
            sve_vl: 0,
            num_bps: 0,
            num_wps: 0,
            pmu_num_ctrs: 0,
            hash_algo: 0,
            _reserved0: [0; 0x400 - 0x38],
            rpv: [0; RPV_SIZE],
            _reserved1: [0; 0x800 - 0x440],
            vmid: 0,
            rtt_base: 0,
            rtt_level_start: 0,
            rtt_num_start: 0,
            _reserved2: [0; 0x1000 - 0x820],
        }
    }

    /// True if every reserved byte is zero.
    pub fn reserved_is_zero(&self) -> bool {
        self._reserved0.iter().all(|&b| b == 0)
            && self._reserved1.iter().all(|&b| b == 0)
            && self._reserved2.iter().all(|&b| b == 0)
    }
}

const _: () = assert!(size_of::<RealmParams>() == 0x1000);
const _: () = assert!(offset_of!(RealmParams, flags) == 0x000);
const _: () = assert!(offset_of!(RealmParams, s2sz) == 0x008);
const _: () = assert!(offset_of!(RealmParams, sve_vl) == 0x010);
const _: () = assert!(offset_of!(RealmParams, num_bps) == 0x018);
const _: () = assert!(offset_of!(RealmParams, num_wps) == 0x020);
const _: () = assert!(offset_of!(RealmParams, pmu_num_ctrs) == 0x028);
const _: () = assert!(offset_of!(RealmParams, hash_algo) == 0x030);
const _: () = assert!(offset_of!(RealmParams, rpv) == 0x400);
const _: () = assert!(offset_of!(RealmParams, vmid) == 0x800);
const _: () = assert!(offset_of!(RealmParams, rtt_base) == 0x808);
const _: () = assert!(offset_of!(RealmParams, rtt_level_start) == 0x810);
const _: () = assert!(offset_of!(RealmParams, rtt_num_start) == 0x818);

#[cfg(test)]
mod tests {
    use super::*;

    fn put(buf: &mut [u8], off: usize, bytes: &[u8]) {
        buf[off..off + bytes.len()].copy_from_slice(bytes);
    }

    #[test]
    fn flags() {
        assert_eq!(RealmFlags::LPA2.bits(), 1);
        assert_eq!(RealmFlags::SVE.bits(), 2);
        assert_eq!(RealmFlags::PMU.bits(), 4);
        assert_eq!(RealmFlags::from_bits(7), Some(RealmFlags::ALL));
        assert_eq!(RealmFlags::from_bits(8), None);
        assert_eq!(RealmFlags::from_bits_truncate(0xF), RealmFlags::ALL);
        assert!((RealmFlags::SVE | RealmFlags::PMU).contains(RealmFlags::PMU));
        assert!(!RealmFlags::SVE.contains(RealmFlags::PMU));
    }

    #[test]
    fn decode_from_bytes_at_spec_offsets() {
        let mut buf = [0u8; 0x1000];
        put(&mut buf, 0x000, &0b110u64.to_le_bytes());
        put(&mut buf, 0x008, &[48]);
        put(&mut buf, 0x010, &[3]);
        put(&mut buf, 0x018, &[6]);
        put(&mut buf, 0x020, &[4]);
        put(&mut buf, 0x028, &[2]);
        put(&mut buf, 0x030, &[1]);
        for (i, b) in buf[0x400..0x440].iter_mut().enumerate() {
            *b = i as u8 + 1;
        }
        put(&mut buf, 0x800, &0x1234u16.to_le_bytes());
        put(&mut buf, 0x808, &0x8800_0000u64.to_le_bytes());
        put(&mut buf, 0x810, &(-1i64).to_le_bytes());
        put(&mut buf, 0x818, &16u32.to_le_bytes());

        let p = RealmParams::read_from_bytes(&buf).expect("size matches");
        assert_eq!(
            RealmFlags::from_bits(p.flags),
            Some(RealmFlags::SVE | RealmFlags::PMU)
        );
        assert_eq!(p.s2sz, 48);
        assert_eq!(p.sve_vl, 3);
        assert_eq!(p.num_bps, 6);
        assert_eq!(p.num_wps, 4);
        assert_eq!(p.pmu_num_ctrs, 2);
        assert_eq!(p.hash_algo, 1);
        assert_eq!(p.rpv[0], 1);
        assert_eq!(p.rpv[63], 64);
        assert_eq!(p.vmid, 0x1234);
        assert_eq!(p.rtt_base, 0x8800_0000);
        assert_eq!(p.rtt_level_start, -1);
        assert_eq!(p.rtt_num_start, 16);
        assert!(p.reserved_is_zero());
        assert_eq!(p.as_bytes(), &buf[..]);

        buf[0x38] = 1;
        let p = RealmParams::read_from_bytes(&buf).expect("size matches");
        assert!(!p.reserved_is_zero());

        assert!(RealmParams::read_from_bytes(&buf[..0xFFF]).is_err());
    }

    #[test]
    fn zeroed_is_all_zero() {
        let z = RealmParams::zeroed();
        assert!(z.as_bytes().iter().all(|&b| b == 0));
        assert!(z.reserved_is_zero());
    }
}
