// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RsiRealmConfig` (RMM 1.0-rel0 A.6.5): the 4 KiB realm granule `RSI_REALM_CONFIG` fills.
//!
//! `hash_algo` is UInt8 in the specification; it is an 8-byte slot here because the Linux
//! guest reads 8 bytes, so the RMM must write the whole slot (zero-extended).

use core::mem::{offset_of, size_of};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `RsiRealmConfig`, 0x1000 bytes.
#[derive(Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RsiRealmConfig {
    /// 0x000: IPA width in bits.
    pub ipa_width: u64,
    /// 0x008: [`crate::rmi::states::HashAlgorithm`] (spec UInt8).
    pub hash_algo: u64,
    _reserved0: [u8; 0x200 - 0x10],
    /// 0x200: Realm Personalization Value (added in 1.0-rel0).
    pub rpv: [u8; 64],
    _reserved1: [u8; 0x1000 - 0x240],
}

impl RsiRealmConfig {
    /// An all-zero structure.
    pub const fn zeroed() -> Self {
        Self {
            ipa_width: 0,
            hash_algo: 0,
            _reserved0: [0; 0x200 - 0x10],
            rpv: [0; 64],
            _reserved1: [0; 0x1000 - 0x240],
        }
    }

    /// A zeroed structure with the three defined fields set.
    pub const fn new(ipa_width: u64, hash_algo: u64, rpv: [u8; 64]) -> Self {
        let mut c = Self::zeroed();
        c.ipa_width = ipa_width;
        c.hash_algo = hash_algo;
        c.rpv = rpv;
        c
    }
}

const _: () = assert!(size_of::<RsiRealmConfig>() == 0x1000);
const _: () = assert!(offset_of!(RsiRealmConfig, ipa_width) == 0x000);
const _: () = assert!(offset_of!(RsiRealmConfig, hash_algo) == 0x008);
const _: () = assert!(offset_of!(RsiRealmConfig, rpv) == 0x200);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_at_spec_offsets() {
        let c = RsiRealmConfig::new(48, 1, [0x5A; 64]);
        let b = c.as_bytes();
        assert_eq!(b.len(), 0x1000);
        assert_eq!(&b[0..8], &48u64.to_le_bytes());
        assert_eq!(&b[8..16], &1u64.to_le_bytes());
        assert!(b[0x10..0x200].iter().all(|&x| x == 0));
        assert!(b[0x200..0x240].iter().all(|&x| x == 0x5A));
        assert!(b[0x240..].iter().all(|&x| x == 0));
        assert_eq!(RsiRealmConfig::read_from_bytes(b).ok(), Some(c));
    }
}
