// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMM-EL3 interface and boot-manifest version numbers: 32-bit encoding with bit 31 RES0,
//! major in `[30:16]`, minor in `[15:0]`.

/// An RMM-EL3 interface version (boot register x1) or boot-manifest version.
///
/// Ordering is by major, then minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct El3IfcVersion {
    /// Major version, bits `[30:16]` (15 bits).
    pub major: u16,
    /// Minor version, bits `[15:0]`.
    pub minor: u16,
}

impl El3IfcVersion {
    /// Constructs a version.
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// Decodes a version from a register or a (zero-extended) 32-bit manifest field.
    ///
    /// `None` if bit 31 (RES0) or any bit above it is set.
    pub const fn decode(value: u64) -> Option<Self> {
        if value >> 31 != 0 {
            return None;
        }
        Some(Self {
            major: (value >> 16) as u16,
            minor: value as u16,
        })
    }

    /// The 32-bit encoding, zero-extended (a `major` above `0x7FFF` is masked to 15 bits).
    pub const fn encode(self) -> u64 {
        (((self.major & 0x7FFF) as u64) << 16) | self.minor as u64
    }

    /// TF-RMM's compatibility rule: same major, minor at least `min`'s.
    pub const fn is_compatible_with(self, min: Self) -> bool {
        self.major == min.major && self.minor >= min.minor
    }
}

/// Lowest RMM-EL3 interface version this RMM accepts: 0.3 (TF-A v2.12 passes 0.4).
pub const RMM_EL3_IFC_VERSION_MIN: El3IfcVersion = El3IfcVersion::new(0, 3);

/// Lowest boot-manifest version this RMM accepts: 0.3.
pub const BOOT_MANIFEST_VERSION_MIN: El3IfcVersion = El3IfcVersion::new(0, 3);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode() {
        assert_eq!(El3IfcVersion::decode(0x4), Some(El3IfcVersion::new(0, 4)));
        assert_eq!(El3IfcVersion::decode(0x3), Some(El3IfcVersion::new(0, 3)));
        assert_eq!(
            El3IfcVersion::decode(0x2_0000),
            Some(El3IfcVersion::new(2, 0))
        );
        assert_eq!(
            El3IfcVersion::decode(0x7FFF_FFFF),
            Some(El3IfcVersion::new(0x7FFF, 0xFFFF))
        );
        assert_eq!(El3IfcVersion::decode(0x8000_0004), None, "bit 31 RES0");
        assert_eq!(El3IfcVersion::decode(0x8000_0000), None);
        assert_eq!(El3IfcVersion::decode(0x1_0000_0004), None);
        for v in [0u64, 3, 4, 8, 0x2_0000, 0x7FFF_FFFF] {
            assert_eq!(El3IfcVersion::decode(v).map(El3IfcVersion::encode), Some(v));
        }
    }

    #[test]
    fn compatibility() {
        let min = RMM_EL3_IFC_VERSION_MIN;
        assert_eq!(min, El3IfcVersion::new(0, 3));
        assert_eq!(BOOT_MANIFEST_VERSION_MIN, El3IfcVersion::new(0, 3));
        assert!(El3IfcVersion::new(0, 3).is_compatible_with(min));
        assert!(El3IfcVersion::new(0, 4).is_compatible_with(min));
        assert!(El3IfcVersion::new(0, 8).is_compatible_with(min));
        assert!(!El3IfcVersion::new(0, 2).is_compatible_with(min));
        assert!(!El3IfcVersion::new(2, 0).is_compatible_with(min));
        assert!(!El3IfcVersion::new(1, 3).is_compatible_with(min));
    }
}
