// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RmiRecParams` (RMM 1.0-rel0 A.6.2): the 4 KiB NS granule the host passes to
//! `RMI_REC_CREATE`, its [`RecFlags`], and the `RmiRecMpidr` encoding [`RecMpidr`].

use core::mem::{offset_of, size_of};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Maximum number of auxiliary granules per REC (`RMI_REC_AUX_COUNT` answer in TF-RMM).
pub const MAX_REC_AUX_GRANULES: usize = 16;

/// Number of GPRs (x0..x7) the host sets when creating a REC.
pub const REC_CREATE_NR_GPRS: usize = 8;

abi_flags! {
    /// `RmiRecCreateFlags` (`RecParams::flags`).
    pub struct RecFlags {
        /// Bit 0: the REC is runnable (and its creation is measured into the RIM).
        const RUNNABLE = 1 << 0;
    }
}

/// `RmiRecParams`, 0x1000 bytes, spec offsets.
#[derive(Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RecParams {
    /// 0x000: [`RecFlags`].
    pub flags: u64,
    _reserved0: [u8; 0x100 - 0x8],
    /// 0x100: `RmiRecMpidr` (see [`RecMpidr`]).
    pub mpidr: u64,
    _reserved1: [u8; 0x200 - 0x108],
    /// 0x200: initial program counter.
    pub pc: u64,
    _reserved2: [u8; 0x300 - 0x208],
    /// 0x300: initial x0..x7.
    pub gprs: [u64; REC_CREATE_NR_GPRS],
    _reserved3: [u8; 0x800 - 0x340],
    /// 0x800: number of auxiliary granules (must equal `RMI_REC_AUX_COUNT`).
    pub num_aux: u64,
    /// 0x808: PAs of the auxiliary granules.
    pub aux: [u64; MAX_REC_AUX_GRANULES],
    _reserved4: [u8; 0x1000 - 0x888],
}

impl RecParams {
    /// An all-zero structure.
    pub const fn zeroed() -> Self {
        Self {
            flags: 0,
            _reserved0: [0; 0x100 - 0x8],
            mpidr: 0,
            _reserved1: [0; 0x200 - 0x108],
            pc: 0,
            _reserved2: [0; 0x300 - 0x208],
            gprs: [0; REC_CREATE_NR_GPRS],
            _reserved3: [0; 0x800 - 0x340],
            num_aux: 0,
            aux: [0; MAX_REC_AUX_GRANULES],
            _reserved4: [0; 0x1000 - 0x888],
        }
    }

    /// True if every reserved byte is zero.
    pub fn reserved_is_zero(&self) -> bool {
        self._reserved0.iter().all(|&b| b == 0)
            && self._reserved1.iter().all(|&b| b == 0)
            && self._reserved2.iter().all(|&b| b == 0)
            && self._reserved3.iter().all(|&b| b == 0)
            && self._reserved4.iter().all(|&b| b == 0)
    }
}

const _: () = assert!(size_of::<RecParams>() == 0x1000);
const _: () = assert!(offset_of!(RecParams, flags) == 0x000);
const _: () = assert!(offset_of!(RecParams, mpidr) == 0x100);
const _: () = assert!(offset_of!(RecParams, pc) == 0x200);
const _: () = assert!(offset_of!(RecParams, gprs) == 0x300);
const _: () = assert!(offset_of!(RecParams, num_aux) == 0x800);
const _: () = assert!(offset_of!(RecParams, aux) == 0x808);

/// An `RmiRecMpidr` value: `Aff3[31:24] Aff2[23:16] Aff1[15:8] Aff0[3:0]`, every other bit
/// zero (`Aff0[7:4]` is RES0 for GICv3 compatibility).
///
/// The REC index (TF-RMM `rec_mpidr_to_idx`) is the concatenation of the fields with no gaps:
/// `index = Aff3:Aff2:Aff1:Aff0[3:0]` = `aff0 | aff1 << 4 | aff2 << 12 | aff3 << 20`.
/// RECs must be created in index order (index == current REC count).
///
/// The same fields appear in `MPIDR_EL1` with Aff3 at `[39:32]` instead of `[31:24]`
/// ([`RecMpidr::to_mpidr_el1`], [`RecMpidr::from_mpidr_el1`]); realms name target CPUs in PSCI
/// calls with that form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecMpidr(u64);

impl RecMpidr {
    /// Mask of the bits an `RmiRecMpidr` may set.
    pub const VALID_MASK: u64 = 0xFFFF_FF0F;

    /// Mask of the affinity bits an `MPIDR_EL1` value maps onto a REC index
    /// (`Aff3[39:32]`, `Aff2[23:16]`, `Aff1[15:8]`, `Aff0[3:0]`).
    pub const MPIDR_EL1_AFF_MASK: u64 = 0xFF_00FF_FF0F;

    /// Checked decode of an `RmiRecMpidr` register/field value; `None` if a reserved bit is set.
    pub const fn new(value: u64) -> Option<Self> {
        if value & !Self::VALID_MASK == 0 {
            Some(Self(value))
        } else {
            None
        }
    }

    /// The `RmiRecMpidr` of the REC with linear index `index`; `None` if `index` ≥ 2^28.
    pub const fn from_index(index: u64) -> Option<Self> {
        if index >> 28 != 0 {
            return None;
        }
        let aff0 = index & 0xF;
        let rest = index >> 4; // Aff3:Aff2:Aff1, 24 bits
        Some(Self(aff0 | (rest << 8)))
    }

    /// The raw `RmiRecMpidr` value.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Aff0 (4 bits).
    pub const fn aff0(self) -> u8 {
        (self.0 & 0xF) as u8
    }

    /// Aff1.
    pub const fn aff1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// Aff2.
    pub const fn aff2(self) -> u8 {
        (self.0 >> 16) as u8
    }

    /// Aff3.
    pub const fn aff3(self) -> u8 {
        (self.0 >> 24) as u8
    }

    /// Linear REC index: `Aff3:Aff2:Aff1:Aff0[3:0]` (28 bits).
    pub const fn index(self) -> u64 {
        (self.0 & 0xF) | ((self.0 >> 8) << 4)
    }

    /// The corresponding `MPIDR_EL1` affinity value (Aff3 moved to `[39:32]`); the caller adds
    /// any RES1/U/MT bits it wants in VMPIDR_EL2.
    pub const fn to_mpidr_el1(self) -> u64 {
        (self.0 & 0x00FF_FF0F) | ((self.0 & 0xFF00_0000) << 8)
    }

    /// The REC MPIDR named by an `MPIDR_EL1`-format value (e.g. a PSCI `target_cpu`); `None`
    /// if any bit outside [`Self::MPIDR_EL1_AFF_MASK`] is set.
    pub const fn from_mpidr_el1(mpidr: u64) -> Option<Self> {
        if mpidr & !Self::MPIDR_EL1_AFF_MASK != 0 {
            return None;
        }
        Some(Self((mpidr & 0x00FF_FF0F) | ((mpidr >> 8) & 0xFF00_0000)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        assert_eq!(RecFlags::RUNNABLE.bits(), 1);
        assert_eq!(RecFlags::from_bits(1), Some(RecFlags::RUNNABLE));
        assert_eq!(RecFlags::from_bits(2), None);
    }

    #[test]
    fn mpidr_index() {
        assert_eq!(RecMpidr::new(0).map(RecMpidr::index), Some(0));
        assert_eq!(RecMpidr::new(0xF).map(RecMpidr::index), Some(15));
        assert_eq!(RecMpidr::new(0x10), None, "Aff0[7:4] is RES0");
        assert_eq!(RecMpidr::new(0x100).map(RecMpidr::index), Some(16));
        assert_eq!(RecMpidr::new(0x0103).map(RecMpidr::index), Some(19));
        assert_eq!(RecMpidr::new(0x01_0000).map(RecMpidr::index), Some(1 << 12));
        assert_eq!(
            RecMpidr::new(0x0100_0000).map(RecMpidr::index),
            Some(1 << 20)
        );
        assert_eq!(
            RecMpidr::new(0xFFFF_FF0F).map(RecMpidr::index),
            Some((1 << 28) - 1)
        );
        assert_eq!(RecMpidr::new(0x1_0000_0000), None);
        assert_eq!(
            RecMpidr::new(1 << 31 | 0x100).map(RecMpidr::index),
            Some((0x80 << 20) | 16)
        );

        let m = RecMpidr::new(0x0403_0205).expect("valid");
        assert_eq!((m.aff0(), m.aff1(), m.aff2(), m.aff3()), (5, 2, 3, 4));
    }

    #[test]
    fn mpidr_index_round_trip() {
        for index in [0u64, 1, 15, 16, 17, 255, 4095, 4096, 1 << 20, (1 << 28) - 1] {
            let m = RecMpidr::from_index(index).expect("in range");
            assert_eq!(m.index(), index);
            assert_eq!(RecMpidr::new(m.bits()), Some(m));
        }
        assert_eq!(RecMpidr::from_index(1 << 28), None);
        assert_eq!(RecMpidr::from_index(16).map(RecMpidr::bits), Some(0x100));
    }

    #[test]
    fn mpidr_el1_conversion() {
        let m = RecMpidr::new(0x0403_0205).expect("valid");
        assert_eq!(m.to_mpidr_el1(), 0x04_0003_0205);
        assert_eq!(RecMpidr::from_mpidr_el1(0x04_0003_0205), Some(m));
        assert_eq!(
            RecMpidr::from_mpidr_el1(0x8000_0000),
            None,
            "MPIDR_EL1 RES1 bit"
        );
        assert_eq!(
            RecMpidr::from_mpidr_el1(0x0100_0000),
            None,
            "MT/U/bit 24 not affinity"
        );
        assert_eq!(RecMpidr::from_mpidr_el1(0x10), None);
    }

    #[test]
    fn decode_from_bytes_at_spec_offsets() {
        let mut buf = [0u8; 0x1000];
        buf[0x000] = 1;
        buf[0x100..0x108].copy_from_slice(&0x0102u64.to_le_bytes());
        buf[0x200..0x208].copy_from_slice(&0x8000_0000u64.to_le_bytes());
        for i in 0..8 {
            buf[0x300 + 8 * i] = i as u8 + 10;
        }
        buf[0x800] = 16;
        buf[0x808..0x810].copy_from_slice(&0xA000u64.to_le_bytes());
        buf[0x880..0x888].copy_from_slice(&0xF000u64.to_le_bytes());
        let p = RecParams::read_from_bytes(&buf).expect("size matches");
        assert_eq!(RecFlags::from_bits(p.flags), Some(RecFlags::RUNNABLE));
        assert_eq!(RecMpidr::new(p.mpidr).map(RecMpidr::index), Some(18));
        assert_eq!(p.pc, 0x8000_0000);
        assert_eq!(p.gprs, [10, 11, 12, 13, 14, 15, 16, 17]);
        assert_eq!(p.num_aux, 16);
        assert_eq!(p.aux[0], 0xA000);
        assert_eq!(p.aux[15], 0xF000);
        assert!(p.reserved_is_zero());
        assert_eq!(p.as_bytes(), &buf[..]);
        assert!(RecParams::zeroed().as_bytes().iter().all(|&b| b == 0));
    }
}
