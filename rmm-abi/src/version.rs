// SPDX-License-Identifier: MIT OR Apache-2.0
//! ABI version numbers of the RMI and RSI interfaces and their register encoding
//! (`major << 16 | minor`, as used by `RMI_VERSION` / `RSI_VERSION`).

/// An RMI or RSI interface version.
///
/// Ordering is by major, then minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AbiVersion {
    /// Major revision, bits `[30:16]` of the encoding (15 bits).
    pub major: u16,
    /// Minor revision, bits `[15:0]` of the encoding.
    pub minor: u16,
}

impl AbiVersion {
    /// Constructs a version.
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// Register encoding: `major << 16 | minor`.
    ///
    /// A `major` above `0x7FFF` sets bit 31, which [`AbiVersion::decode`] rejects; no
    /// specification version comes near that.
    pub const fn encode(self) -> u64 {
        ((self.major as u64) << 16) | self.minor as u64
    }

    /// Decodes a register value.
    ///
    /// Returns `None` if any of bits 63:31 is set: SMCCC reserves bit 31 (a set bit 31 would
    /// read as a negative error code in W0) and the upper word of the register is not part of a
    /// version, so a caller that sets it has not passed a version.
    pub const fn decode(value: u64) -> Option<Self> {
        if value >> 31 != 0 {
            return None;
        }
        Some(Self {
            major: (value >> 16) as u16,
            minor: value as u16,
        })
    }
}

/// The RMI version this RMM implements: 1.0 (RMM specification 1.0-rel0).
pub const RMI_ABI_VERSION: AbiVersion = AbiVersion::new(1, 0);

/// The RSI version this RMM implements: 1.0 (RMM specification 1.0-rel0).
pub const RSI_ABI_VERSION: AbiVersion = AbiVersion::new(1, 0);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        assert_eq!(RMI_ABI_VERSION.encode(), 0x1_0000);
        assert_eq!(RSI_ABI_VERSION.encode(), 0x1_0000);
        for v in [
            AbiVersion::new(0, 0),
            AbiVersion::new(1, 0),
            AbiVersion::new(1, 1),
            AbiVersion::new(0x7FFF, 0xFFFF),
        ] {
            assert_eq!(AbiVersion::decode(v.encode()), Some(v));
        }
        assert_eq!(AbiVersion::decode(0x2_0003), Some(AbiVersion::new(2, 3)));
    }

    #[test]
    fn decode_rejects_reserved_bits() {
        assert_eq!(AbiVersion::decode(0x8000_0000), None);
        assert_eq!(AbiVersion::decode(0x8001_0000), None);
        assert_eq!(AbiVersion::decode(0x1_0001_0000), None);
        assert_eq!(AbiVersion::decode(u64::MAX), None);
        assert_eq!(
            AbiVersion::decode(AbiVersion::new(0x8000, 0).encode()),
            None
        );
    }

    #[test]
    fn ordering() {
        assert!(AbiVersion::new(1, 0) < AbiVersion::new(1, 1));
        assert!(AbiVersion::new(1, 9) < AbiVersion::new(2, 0));
    }
}
