// SPDX-License-Identifier: MIT OR Apache-2.0
//! PSCI function identifiers used by hosts and realms (handled or forwarded by the RMM), and
//! PSCI return codes.
//!
//! Where PSCI defines both, `PSCI_X` is the SMC64 identifier and `PSCI_X_SMC32` the SMC32
//! one; a realm may use either.

/// `PSCI_VERSION` (SMC32 only).
pub const PSCI_VERSION: u32 = 0x8400_0000;
/// `CPU_SUSPEND`, SMC32.
pub const PSCI_CPU_SUSPEND_SMC32: u32 = 0x8400_0001;
/// `CPU_SUSPEND`, SMC64.
pub const PSCI_CPU_SUSPEND: u32 = 0xC400_0001;
/// `CPU_OFF` (SMC32 only).
pub const PSCI_CPU_OFF: u32 = 0x8400_0002;
/// `CPU_ON`, SMC32.
pub const PSCI_CPU_ON_SMC32: u32 = 0x8400_0003;
/// `CPU_ON`, SMC64.
pub const PSCI_CPU_ON: u32 = 0xC400_0003;
/// `AFFINITY_INFO`, SMC32.
pub const PSCI_AFFINITY_INFO_SMC32: u32 = 0x8400_0004;
/// `AFFINITY_INFO`, SMC64.
pub const PSCI_AFFINITY_INFO: u32 = 0xC400_0004;
/// `SYSTEM_OFF` (SMC32 only).
pub const PSCI_SYSTEM_OFF: u32 = 0x8400_0008;
/// `SYSTEM_RESET` (SMC32 only).
pub const PSCI_SYSTEM_RESET: u32 = 0x8400_0009;
/// `PSCI_FEATURES` (SMC32 only).
pub const PSCI_FEATURES: u32 = 0x8400_000A;

/// A PSCI function a realm may call, decoded from its function identifier (both the SMC32 and
/// the SMC64 identifier where PSCI defines both). Exhaustive matches on it make a function
/// added here fail to compile until every handler decides what it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PsciCommand {
    /// `PSCI_VERSION`.
    Version,
    /// `CPU_SUSPEND` (SMC32 or SMC64).
    CpuSuspend,
    /// `CPU_OFF`.
    CpuOff,
    /// `CPU_ON` (SMC32 or SMC64).
    CpuOn,
    /// `AFFINITY_INFO` (SMC32 or SMC64).
    AffinityInfo,
    /// `SYSTEM_OFF`.
    SystemOff,
    /// `SYSTEM_RESET`.
    SystemReset,
    /// `PSCI_FEATURES`.
    Features,
}

impl PsciCommand {
    /// Decodes a 32-bit function identifier exactly as given (an identifier with the SVE hint
    /// bit set is none of these); `None` for any other PSCI function.
    pub const fn from_fid(fid: u32) -> Option<Self> {
        Some(match fid {
            PSCI_VERSION => Self::Version,
            PSCI_CPU_SUSPEND_SMC32 | PSCI_CPU_SUSPEND => Self::CpuSuspend,
            PSCI_CPU_OFF => Self::CpuOff,
            PSCI_CPU_ON_SMC32 | PSCI_CPU_ON => Self::CpuOn,
            PSCI_AFFINITY_INFO_SMC32 | PSCI_AFFINITY_INFO => Self::AffinityInfo,
            PSCI_SYSTEM_OFF => Self::SystemOff,
            PSCI_SYSTEM_RESET => Self::SystemReset,
            PSCI_FEATURES => Self::Features,
            _ => return None,
        })
    }
}

/// Highest PSCI function number (0x000–0x014 is the PSCI range).
pub const PSCI_FNUM_LAST: u32 = 0x14;

/// PSCI version 1.1 as returned by `PSCI_VERSION` (`major << 16 | minor`).
pub const PSCI_VERSION_1_1: u64 = 0x0001_0001;

/// `AFFINITY_INFO` result: the target is on.
pub const PSCI_AFFINITY_ON: u64 = 0;
/// `AFFINITY_INFO` result: the target is off.
pub const PSCI_AFFINITY_OFF: u64 = 1;
/// `AFFINITY_INFO` result: the target is being turned on.
pub const PSCI_AFFINITY_ON_PENDING: u64 = 2;

abi_enum! {
    /// PSCI return code. Register values are 64-bit two's complement (`-3` is
    /// `0xFFFF_FFFF_FFFF_FFFD`); a 32-bit caller only looks at w0.
    pub enum PsciReturn: i64 {
        /// `SUCCESS`.
        Success = 0,
        /// `NOT_SUPPORTED`.
        NotSupported = -1,
        /// `INVALID_PARAMETERS`.
        InvalidParameters = -2,
        /// `DENIED`.
        Denied = -3,
        /// `ALREADY_ON`.
        AlreadyOn = -4,
        /// `ON_PENDING`.
        OnPending = -5,
        /// `INTERNAL_FAILURE`.
        InternalFailure = -6,
        /// `NOT_PRESENT`.
        NotPresent = -7,
        /// `DISABLED`.
        Disabled = -8,
        /// `INVALID_ADDRESS`.
        InvalidAddress = -9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fids() {
        let table: [(u32, u32); 11] = [
            (PSCI_VERSION, 0x84000000),
            (PSCI_CPU_SUSPEND_SMC32, 0x84000001),
            (PSCI_CPU_SUSPEND, 0xC4000001),
            (PSCI_CPU_OFF, 0x84000002),
            (PSCI_CPU_ON_SMC32, 0x84000003),
            (PSCI_CPU_ON, 0xC4000003),
            (PSCI_AFFINITY_INFO_SMC32, 0x84000004),
            (PSCI_AFFINITY_INFO, 0xC4000004),
            (PSCI_SYSTEM_OFF, 0x84000008),
            (PSCI_SYSTEM_RESET, 0x84000009),
            (PSCI_FEATURES, 0x8400000A),
        ];
        for (constant, expected) in table {
            assert_eq!(constant, expected, "{expected:#x}");
        }
    }

    #[test]
    fn commands_decode_from_both_identifiers() {
        let table: [(u32, PsciCommand); 11] = [
            (PSCI_VERSION, PsciCommand::Version),
            (PSCI_CPU_SUSPEND_SMC32, PsciCommand::CpuSuspend),
            (PSCI_CPU_SUSPEND, PsciCommand::CpuSuspend),
            (PSCI_CPU_OFF, PsciCommand::CpuOff),
            (PSCI_CPU_ON_SMC32, PsciCommand::CpuOn),
            (PSCI_CPU_ON, PsciCommand::CpuOn),
            (PSCI_AFFINITY_INFO_SMC32, PsciCommand::AffinityInfo),
            (PSCI_AFFINITY_INFO, PsciCommand::AffinityInfo),
            (PSCI_SYSTEM_OFF, PsciCommand::SystemOff),
            (PSCI_SYSTEM_RESET, PsciCommand::SystemReset),
            (PSCI_FEATURES, PsciCommand::Features),
        ];
        for (fid, command) in table {
            assert_eq!(PsciCommand::from_fid(fid), Some(command), "{fid:#x}");
            // The SVE hint (bit 16) is not cleared: such an id is no command.
            assert_eq!(PsciCommand::from_fid(fid | 1 << 16), None, "{fid:#x}+hint");
        }
        for fid in [0x8400_0005, 0x8400_0014, 0xC400_0000, 0xC400_000A] {
            assert_eq!(PsciCommand::from_fid(fid), None, "{fid:#x}");
        }
    }

    #[test]
    fn return_codes() {
        let table: [(PsciReturn, i64); 10] = [
            (PsciReturn::Success, 0),
            (PsciReturn::NotSupported, -1),
            (PsciReturn::InvalidParameters, -2),
            (PsciReturn::Denied, -3),
            (PsciReturn::AlreadyOn, -4),
            (PsciReturn::OnPending, -5),
            (PsciReturn::InternalFailure, -6),
            (PsciReturn::NotPresent, -7),
            (PsciReturn::Disabled, -8),
            (PsciReturn::InvalidAddress, -9),
        ];
        for (r, v) in table {
            assert_eq!(r.as_u64(), v as u64);
            assert_eq!(PsciReturn::from_u64(v as u64), Some(r));
        }
        assert_eq!(PsciReturn::Denied.as_u64(), 0xFFFF_FFFF_FFFF_FFFD);
        assert_eq!(PsciReturn::from_u64(1), None);
        assert_eq!(PsciReturn::from_u64(-10i64 as u64), None);
    }
}
