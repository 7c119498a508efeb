// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RsiHostCall` (RMM 1.0-rel0 A.6.4): the 0x100-byte realm structure passed to
//! `RSI_HOST_CALL`.
//!
//! `imm` is UInt16 in the specification. It is a `u16` here, followed by 6 reserved bytes
//! that complete its 8-byte slot: the Linux guest declares `imm` as a `u16` in a union with a
//! `u64`, so those bytes may hold anything and must be ignored.

use core::mem::{offset_of, size_of};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Number of GPRs in an `RsiHostCall`.
pub const RSI_HOST_CALL_NR_GPRS: usize = 31;

/// Required alignment of an `RsiHostCall` IPA (it must not cross a granule).
pub const RSI_HOST_CALL_ALIGN: u64 = 0x100;

/// `RsiHostCall`, 0x100 bytes.
#[derive(Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RsiHostCall {
    /// 0x00: immediate value.
    pub imm: u16,
    _reserved0: [u8; 6],
    /// 0x08: x0..x30.
    pub gprs: [u64; RSI_HOST_CALL_NR_GPRS],
}

impl RsiHostCall {
    /// An all-zero structure.
    pub const fn zeroed() -> Self {
        Self {
            imm: 0,
            _reserved0: [0; 6],
            gprs: [0; RSI_HOST_CALL_NR_GPRS],
        }
    }
}

const _: () = assert!(size_of::<RsiHostCall>() == 0x100);
const _: () = assert!(offset_of!(RsiHostCall, imm) == 0x00);
const _: () = assert!(offset_of!(RsiHostCall, gprs) == 0x08);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_from_bytes() {
        let mut buf = [0u8; 0x100];
        buf[0..8].copy_from_slice(&0xDEAD_BEEF_0000_1234u64.to_le_bytes());
        buf[0x08..0x10].copy_from_slice(&7u64.to_le_bytes());
        buf[0xF8..0x100].copy_from_slice(&9u64.to_le_bytes());
        let h = RsiHostCall::read_from_bytes(&buf).expect("size matches");
        assert_eq!(h.imm, 0x1234, "upper bytes of the slot ignored");
        assert_eq!(h.gprs[0], 7);
        assert_eq!(h.gprs[30], 9);
        assert!(RsiHostCall::zeroed().as_bytes().iter().all(|&b| b == 0));
    }
}
