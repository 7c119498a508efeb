// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMM-EL3 status codes: [`El3Status`] (`E_RMM_*`, x0 of every RMM → EL3 SMC) and
//! [`BootError`] (x1 of `RMM_BOOT_COMPLETE`).

abi_enum! {
    /// `E_RMM_*`: the result of an RMM → EL3 SMC, x0 as a two's-complement value.
    pub enum El3Status: i64 {
        /// `E_RMM_OK`.
        Ok = 0,
        /// `E_RMM_UNK`: unknown / unsupported.
        Unknown = -1,
        /// `E_RMM_BAD_ADDR`: address invalid or out of range.
        BadAddr = -2,
        /// `E_RMM_BAD_PAS`: the granule is in the wrong physical address space.
        BadPas = -3,
        /// `E_RMM_NOMEM`: out of memory / buffer too small.
        NoMem = -4,
        /// `E_RMM_INVAL`: invalid argument.
        Inval = -5,
        /// `E_RMM_AGAIN`: try again (e.g. more platform-token hunks).
        Again = -6,
    }
}

/// `RMM_BOOT_COMPLETE` x1 on success.
pub const BOOT_SUCCESS: u64 = 0;

abi_enum! {
    /// `E_RMM_BOOT_*`: a failed boot, reported in x1 of `RMM_BOOT_COMPLETE`.
    pub enum BootError: i64 {
        /// `E_RMM_BOOT_UNKNOWN`.
        Unknown = -1,
        /// `E_RMM_BOOT_VERSION_NOT_VALID`: the EL3 interface version is incompatible.
        VersionNotValid = -2,
        /// `E_RMM_BOOT_CPUS_OUT_OF_RANGE`: x2 (CPU count) exceeds what the RMM supports.
        CpusOutOfRange = -3,
        /// `E_RMM_BOOT_CPU_ID_OUT_OF_RANGE`: x0 (CPU index) is out of range.
        CpuIdOutOfRange = -4,
        /// `E_RMM_BOOT_INVALID_SHARED_BUFFER`: x3 (shared buffer PA) is invalid.
        InvalidSharedBuffer = -5,
        /// `E_RMM_BOOT_MANIFEST_VERSION_NOT_SUPPORTED`.
        ManifestVersionNotSupported = -6,
        /// `E_RMM_BOOT_MANIFEST_DATA_ERROR`: the manifest content is invalid.
        ManifestDataError = -7,
    }
}

impl BootError {
    /// The x1 value of `RMM_BOOT_COMPLETE`: the negative code as a two's-complement `u64`.
    pub const fn code(self) -> u64 {
        self.as_u64()
    }

    /// The specification's name, for logs.
    pub const fn name(self) -> &'static str {
        match self {
            BootError::Unknown => "E_RMM_BOOT_UNKNOWN",
            BootError::VersionNotValid => "E_RMM_BOOT_VERSION_NOT_VALID",
            BootError::CpusOutOfRange => "E_RMM_BOOT_CPUS_OUT_OF_RANGE",
            BootError::CpuIdOutOfRange => "E_RMM_BOOT_CPU_ID_OUT_OF_RANGE",
            BootError::InvalidSharedBuffer => "E_RMM_BOOT_INVALID_SHARED_BUFFER",
            BootError::ManifestVersionNotSupported => "E_RMM_BOOT_MANIFEST_VERSION_NOT_SUPPORTED",
            BootError::ManifestDataError => "E_RMM_BOOT_MANIFEST_DATA_ERROR",
        }
    }
}

impl El3Status {
    /// The value EL3 returned, as the signed number the specification gives.
    pub const fn value(self) -> i64 {
        self.as_u64() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn el3_status_values() {
        for (v, s) in [
            (0u64, El3Status::Ok),
            (u64::MAX, El3Status::Unknown),
            (0xFFFF_FFFF_FFFF_FFFE, El3Status::BadAddr),
            (0xFFFF_FFFF_FFFF_FFFD, El3Status::BadPas),
            (0xFFFF_FFFF_FFFF_FFFC, El3Status::NoMem),
            (0xFFFF_FFFF_FFFF_FFFB, El3Status::Inval),
            (0xFFFF_FFFF_FFFF_FFFA, El3Status::Again),
        ] {
            assert_eq!(El3Status::from_u64(v), Some(s));
            assert_eq!(s.as_u64(), v);
        }
        assert_eq!(El3Status::from_u64(1), None);
        assert_eq!(El3Status::from_u64(0xFFFF_FFFF_FFFF_FFF9), None);
        assert_eq!(
            El3Status::from_u64(0xFFFF_FFFF),
            None,
            "32-bit -1 is not -1"
        );
    }

    #[test]
    fn boot_error_codes() {
        assert_eq!(BootError::Unknown.code(), 0xFFFF_FFFF_FFFF_FFFF);
        assert_eq!(BootError::VersionNotValid.code(), 0xFFFF_FFFF_FFFF_FFFE);
        assert_eq!(BootError::CpusOutOfRange.code(), 0xFFFF_FFFF_FFFF_FFFD);
        assert_eq!(BootError::CpuIdOutOfRange.code(), 0xFFFF_FFFF_FFFF_FFFC);
        assert_eq!(BootError::InvalidSharedBuffer.code(), 0xFFFF_FFFF_FFFF_FFFB);
        assert_eq!(
            BootError::ManifestVersionNotSupported.code(),
            0xFFFF_FFFF_FFFF_FFFA
        );
        assert_eq!(BootError::ManifestDataError.code(), 0xFFFF_FFFF_FFFF_FFF9);
        for e in BootError::ALL {
            assert_eq!(BootError::from_u64(e.code()), Some(e));
        }
        assert_eq!(BootError::from_u64(BOOT_SUCCESS), None);
        assert_eq!(BootError::from_u64(0xFFFF_FFFF_FFFF_FFF8), None);
    }
}
