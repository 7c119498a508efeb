// SPDX-License-Identifier: MIT OR Apache-2.0
//! Validation of the registers EL3 passes at RMM entry (RMM-EL3 interface, boot protocol).
//!
//! Cold boot: x0 = CPU index, x1 = interface version, x2 = CPU count, x3 = shared page PA.
//! Warm boot: x0 = CPU index, the rest zero (from interface 0.8, x1 may carry an activation
//! token, which a 1.0 RMM ignores). Checks run in a fixed order and each failure maps to the
//! `RMM_BOOT_COMPLETE` error code the interface specifies. Nothing here touches hardware.

use crate::{GRANULE_SIZE, MAX_CPUS};
use rmm_abi::el3::{BootError, El3IfcVersion};

/// The oldest RMM-EL3 interface we accept (TF-A 2.12 passes 0.4). Major must be 0: interface
/// 2.0 (TF-A 2.15+ without `RMM_V1_COMPAT`) is a different protocol.
pub const MIN_EL3_IFC: El3IfcVersion = El3IfcVersion { major: 0, minor: 3 };

/// Raw entry registers x0..x3, exactly as EL3 left them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawBootArgs {
    /// x0: linear index of the booting CPU.
    pub cpu_index: u64,
    /// x1: RMM-EL3 interface version (cold boot only).
    pub ifc_version: u64,
    /// x2: number of CPUs EL3 may boot (cold boot only).
    pub cpu_count: u64,
    /// x3: PA of the EL3-RMM shared page holding the boot manifest (cold boot only).
    pub shared_page: u64,
}

/// Cold-boot arguments after validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColdBootArgs {
    /// Index of the primary CPU.
    pub cpu_index: usize,
    /// The interface version EL3 speaks.
    pub ifc_version: El3IfcVersion,
    /// How many CPUs EL3 may bring up (each with an index below this).
    pub cpu_count: usize,
    /// PA of the shared page, granule aligned, outside the RMM image.
    pub shared_page: u64,
}

/// Checks cold-boot registers in the order TF-RMM does: interface version, CPU count, CPU
/// index, shared buffer. `image` is the RMM image's PA range `[start, end)`; the shared page
/// must not overlap it.
pub fn validate_cold(raw: RawBootArgs, image: (u64, u64)) -> Result<ColdBootArgs, BootError> {
    let ifc_version = El3IfcVersion::decode(raw.ifc_version)
        .filter(|v| v.major == MIN_EL3_IFC.major && v.minor >= MIN_EL3_IFC.minor)
        .ok_or(BootError::VersionNotValid)?;
    let cpu_count = usize::try_from(raw.cpu_count)
        .ok()
        .filter(|&n| (1..=MAX_CPUS).contains(&n))
        .ok_or(BootError::CpusOutOfRange)?;
    let cpu_index = cpu_index_below(raw.cpu_index, cpu_count)?;
    let page = raw.shared_page;
    let aligned = page != 0 && page.is_multiple_of(GRANULE_SIZE as u64);
    let ends = page.checked_add(GRANULE_SIZE as u64);
    let overlaps_image = ends.is_some_and(|end| page < image.1 && image.0 < end);
    if !aligned || ends.is_none() || overlaps_image {
        return Err(BootError::InvalidSharedBuffer);
    }
    Ok(ColdBootArgs {
        cpu_index,
        ifc_version,
        cpu_count,
        shared_page: page,
    })
}

/// Checks a warm-boot CPU index against the CPU count EL3 gave at cold boot.
pub fn validate_warm(raw: RawBootArgs, cpu_count: usize) -> Result<usize, BootError> {
    cpu_index_below(raw.cpu_index, cpu_count)
}

fn cpu_index_below(index: u64, count: usize) -> Result<usize, BootError> {
    usize::try_from(index)
        .ok()
        .filter(|&i| i < count)
        .ok_or(BootError::CpuIdOutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: (u64, u64) = (0x4010_0000, 0x418F_F000);

    fn good() -> RawBootArgs {
        RawBootArgs {
            cpu_index: 0,
            ifc_version: 0x4,
            cpu_count: 32,
            shared_page: 0x418F_F000,
        }
    }

    #[test]
    fn accepts_tf_a_2_12_arguments() {
        let args = validate_cold(good(), IMAGE).unwrap();
        assert_eq!(args.ifc_version, El3IfcVersion { major: 0, minor: 4 });
        assert_eq!(args.cpu_count, 32);
        assert_eq!(args.shared_page, 0x418F_F000);
    }

    #[test]
    fn rejects_interface_versions_outside_0_3_and_up() {
        for bad in [0x2, 0x0, 0x2_0000, 0x1_0004, 0x8000_0004, 1 << 32] {
            let raw = RawBootArgs {
                ifc_version: bad,
                ..good()
            };
            assert_eq!(
                validate_cold(raw, IMAGE),
                Err(BootError::VersionNotValid),
                "{bad:#x}"
            );
        }
        let newer = RawBootArgs {
            ifc_version: 0x8,
            ..good()
        };
        assert!(validate_cold(newer, IMAGE).is_ok());
    }

    #[test]
    fn rejects_cpu_counts_out_of_range() {
        for bad in [0, MAX_CPUS as u64 + 1, u64::MAX] {
            let raw = RawBootArgs {
                cpu_count: bad,
                ..good()
            };
            assert_eq!(validate_cold(raw, IMAGE), Err(BootError::CpusOutOfRange));
        }
    }

    #[test]
    fn rejects_cpu_index_not_below_count() {
        let raw = RawBootArgs {
            cpu_index: 4,
            cpu_count: 4,
            ..good()
        };
        assert_eq!(validate_cold(raw, IMAGE), Err(BootError::CpuIdOutOfRange));
        assert_eq!(validate_warm(raw, 4), Err(BootError::CpuIdOutOfRange));
        assert_eq!(
            validate_warm(
                RawBootArgs {
                    cpu_index: 3,
                    ..raw
                },
                4
            ),
            Ok(3)
        );
    }

    #[test]
    fn rejects_bad_shared_buffers() {
        for bad in [0, 0x418F_F008, IMAGE.0, 0x4100_0000, !0xFFF] {
            let raw = RawBootArgs {
                shared_page: bad,
                ..good()
            };
            assert_eq!(
                validate_cold(raw, IMAGE),
                Err(BootError::InvalidSharedBuffer),
                "{bad:#x}"
            );
        }
    }

    #[test]
    fn version_is_checked_before_everything_else() {
        let all_bad = RawBootArgs {
            cpu_index: 99,
            ifc_version: 0x2,
            cpu_count: 0,
            shared_page: 1,
        };
        assert_eq!(
            validate_cold(all_bad, IMAGE),
            Err(BootError::VersionNotValid)
        );
        let rest_bad = RawBootArgs {
            ifc_version: 0x4,
            ..all_bad
        };
        assert_eq!(
            validate_cold(rest_bad, IMAGE),
            Err(BootError::CpusOutOfRange)
        );
    }
}
