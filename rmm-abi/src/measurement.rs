// SPDX-License-Identifier: MIT OR Apache-2.0
//! Measurement descriptor layouts hashed into the RIM (RMM 1.0-rel0 C.3) and measurement
//! slot constants. Layout only; hashing is done elsewhere.
//!
//! Each descriptor is 0x100 bytes; the RMM fills one (zeroed otherwise) and sets
//! `RIM = H(descriptor)`.

use core::mem::{offset_of, size_of};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Size of a measurement buffer in bytes (SHA-256 uses the first 32 and zero-fills the rest).
pub const MAX_MEASUREMENT_SIZE: usize = 64;

/// Number of Realm Extensible Measurements (slots 1..=4).
pub const NUM_REMS: usize = 4;

/// Measurement slot of the RIM.
pub const RIM_INDEX: usize = 0;

/// Total number of measurement slots (RIM + REMs).
pub const NUM_MEASUREMENTS: usize = 1 + NUM_REMS;

/// `desc_type` of [`MeasurementDescData`] (`RMI_DATA_CREATE`).
pub const MEASURE_DESC_TYPE_DATA: u8 = 0x0;
/// `desc_type` of [`MeasurementDescRec`] (`RMI_REC_CREATE`).
pub const MEASURE_DESC_TYPE_REC: u8 = 0x1;
/// `desc_type` of [`MeasurementDescRipas`] (`RMI_RTT_INIT_RIPAS`).
pub const MEASURE_DESC_TYPE_RIPAS: u8 = 0x2;

/// Size of every descriptor, also its `len` field value.
pub const MEASUREMENT_DESC_SIZE: usize = 0x100;

/// A measurement value buffer.
pub type Measurement = [u8; MAX_MEASUREMENT_SIZE];

/// `RmmMeasurementDescriptorData`: measured by `RMI_DATA_CREATE`.
#[derive(Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct MeasurementDescData {
    /// 0x00: [`MEASURE_DESC_TYPE_DATA`].
    pub desc_type: u8,
    _reserved0: [u8; 7],
    /// 0x08: 0x100.
    pub len: u64,
    /// 0x10: current RIM.
    pub rim: Measurement,
    /// 0x50: IPA of the data granule.
    pub ipa: u64,
    /// 0x58: `RmiDataFlags` (1 = content measured).
    pub flags: u64,
    /// 0x60: hash of the 4 KiB content if measured, else zero.
    pub content: Measurement,
    _reserved1: [u8; 0x100 - 0xA0],
}

/// `RmmMeasurementDescriptorRec`: measured by `RMI_REC_CREATE` of a runnable REC.
#[derive(Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct MeasurementDescRec {
    /// 0x00: [`MEASURE_DESC_TYPE_REC`].
    pub desc_type: u8,
    _reserved0: [u8; 7],
    /// 0x08: 0x100.
    pub len: u64,
    /// 0x10: current RIM.
    pub rim: Measurement,
    /// 0x50: hash of the `RmiRecParams` with everything but flags, pc and gprs zeroed.
    pub content: Measurement,
    _reserved1: [u8; 0x100 - 0x90],
}

/// `RmmMeasurementDescriptorRipas`: measured by `RMI_RTT_INIT_RIPAS`, once per RTT entry.
#[derive(Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct MeasurementDescRipas {
    /// 0x00: [`MEASURE_DESC_TYPE_RIPAS`].
    pub desc_type: u8,
    _reserved0: [u8; 7],
    /// 0x08: 0x100.
    pub len: u64,
    /// 0x10: current RIM.
    pub rim: Measurement,
    /// 0x50: base IPA of the entry's range.
    pub base: u64,
    /// 0x58: top IPA of the entry's range.
    pub top: u64,
    _reserved1: [u8; 0x100 - 0x60],
}

impl MeasurementDescData {
    /// A descriptor with type and length set and every other byte as given / zero.
    pub const fn new(rim: Measurement, ipa: u64, flags: u64, content: Measurement) -> Self {
        Self {
            desc_type: MEASURE_DESC_TYPE_DATA,
            _reserved0: [0; 7],
            len: MEASUREMENT_DESC_SIZE as u64,
            rim,
            ipa,
            flags,
            content,
            _reserved1: [0; 0x100 - 0xA0],
        }
    }
}

impl MeasurementDescRec {
    /// A descriptor with type and length set and every other byte as given / zero.
    pub const fn new(rim: Measurement, content: Measurement) -> Self {
        Self {
            desc_type: MEASURE_DESC_TYPE_REC,
            _reserved0: [0; 7],
            len: MEASUREMENT_DESC_SIZE as u64,
            rim,
            content,
            _reserved1: [0; 0x100 - 0x90],
        }
    }
}

impl MeasurementDescRipas {
    /// A descriptor with type and length set and every other byte as given / zero.
    pub const fn new(rim: Measurement, base: u64, top: u64) -> Self {
        Self {
            desc_type: MEASURE_DESC_TYPE_RIPAS,
            _reserved0: [0; 7],
            len: MEASUREMENT_DESC_SIZE as u64,
            rim,
            base,
            top,
            _reserved1: [0; 0x100 - 0x60],
        }
    }
}

const _: () = assert!(size_of::<MeasurementDescData>() == MEASUREMENT_DESC_SIZE);
const _: () = assert!(offset_of!(MeasurementDescData, desc_type) == 0x00);
const _: () = assert!(offset_of!(MeasurementDescData, len) == 0x08);
const _: () = assert!(offset_of!(MeasurementDescData, rim) == 0x10);
const _: () = assert!(offset_of!(MeasurementDescData, ipa) == 0x50);
const _: () = assert!(offset_of!(MeasurementDescData, flags) == 0x58);
const _: () = assert!(offset_of!(MeasurementDescData, content) == 0x60);

const _: () = assert!(size_of::<MeasurementDescRec>() == MEASUREMENT_DESC_SIZE);
const _: () = assert!(offset_of!(MeasurementDescRec, desc_type) == 0x00);
const _: () = assert!(offset_of!(MeasurementDescRec, len) == 0x08);
const _: () = assert!(offset_of!(MeasurementDescRec, rim) == 0x10);
const _: () = assert!(offset_of!(MeasurementDescRec, content) == 0x50);

const _: () = assert!(size_of::<MeasurementDescRipas>() == MEASUREMENT_DESC_SIZE);
const _: () = assert!(offset_of!(MeasurementDescRipas, desc_type) == 0x00);
const _: () = assert!(offset_of!(MeasurementDescRipas, len) == 0x08);
const _: () = assert!(offset_of!(MeasurementDescRipas, rim) == 0x10);
const _: () = assert!(offset_of!(MeasurementDescRipas, base) == 0x50);
const _: () = assert!(offset_of!(MeasurementDescRipas, top) == 0x58);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_bytes() {
        let d = MeasurementDescData::new([0x11; 64], 0x8000_1000, 1, [0x22; 64]);
        let b = d.as_bytes();
        assert_eq!(b[0], 0);
        assert!(b[1..8].iter().all(|&x| x == 0));
        assert_eq!(&b[8..16], &0x100u64.to_le_bytes());
        assert!(b[0x10..0x50].iter().all(|&x| x == 0x11));
        assert_eq!(&b[0x50..0x58], &0x8000_1000u64.to_le_bytes());
        assert_eq!(&b[0x58..0x60], &1u64.to_le_bytes());
        assert!(b[0x60..0xA0].iter().all(|&x| x == 0x22));
        assert!(b[0xA0..].iter().all(|&x| x == 0));
    }

    #[test]
    fn rec_bytes() {
        let d = MeasurementDescRec::new([0x11; 64], [0x33; 64]);
        let b = d.as_bytes();
        assert_eq!(b[0], 1);
        assert_eq!(&b[8..16], &0x100u64.to_le_bytes());
        assert!(b[0x10..0x50].iter().all(|&x| x == 0x11));
        assert!(b[0x50..0x90].iter().all(|&x| x == 0x33));
        assert!(b[0x90..].iter().all(|&x| x == 0));
    }

    #[test]
    fn ripas_bytes() {
        let d = MeasurementDescRipas::new([0x11; 64], 0x20_0000, 0x40_0000);
        let b = d.as_bytes();
        assert_eq!(b[0], 2);
        assert_eq!(&b[8..16], &0x100u64.to_le_bytes());
        assert_eq!(&b[0x50..0x58], &0x20_0000u64.to_le_bytes());
        assert_eq!(&b[0x58..0x60], &0x40_0000u64.to_le_bytes());
        assert!(b[0x60..].iter().all(|&x| x == 0));
        assert_eq!(MeasurementDescRipas::read_from_bytes(b).ok(), Some(d));
    }
}
