// SPDX-License-Identifier: MIT OR Apache-2.0
//! Confidential Shared Memory (CSM) extension ABI: the two RMI commands (in the RMI 1.0
//! window), the seven RSI calls (vendor hypervisor service range, OEN 6), the grant access
//! mode and the two REC exit reasons.
//!
//! The exit reasons are [`RecExitReason::CsmPrepare`] (7) and
//! [`RecExitReason::CsmPopulate`] (8) in [`crate::rmi::exit`]; the range for both is in
//! `RecExit::ripas_base`/`ripas_top`. They are RMM 1.0-only values (RMM 1.1 reuses 7 and 8).

use crate::rmi::exit::RecExitReason;

/// `RMI_APT_CREATE`: x1 rd, x2 apt. Binds an APT granule to a NEW realm.
pub const RMI_APT_CREATE: u32 = 0xC400_016A;
/// `RMI_APT_DESTROY`: x1 rd, x2 apt. Removes every relation of the realm; APT → DELEGATED.
pub const RMI_APT_DESTROY: u32 = 0xC400_016B;

/// `RSI_CSM_CREATE` (provider): x1 base, x2 size → x1 RegionId.
pub const RSI_CSM_CREATE: u32 = 0xC600_0190;
/// `RSI_CSM_SHARE` (provider): x1 RegionId, x2 consumer RealmId, x3 mode → x1 ShareId.
pub const RSI_CSM_SHARE: u32 = 0xC600_0191;
/// `RSI_CSM_ACCEPT` (consumer): x1 ShareId, x2 expected provider RealmId, x3 window base,
/// x4 expected size (the region's size, learned from `RSI_CSM_QUERY`; a mismatch is
/// `RSI_ERROR_INPUT`) → x1 size, x2 mode. The whole window must already be RIPAS EMPTY.
pub const RSI_CSM_ACCEPT: u32 = 0xC600_0192;
/// `RSI_CSM_DETACH` (consumer): x1 ShareId.
pub const RSI_CSM_DETACH: u32 = 0xC600_0193;
/// `RSI_CSM_REVOKE` (provider): x1 ShareId.
pub const RSI_CSM_REVOKE: u32 = 0xC600_0194;
/// `RSI_CSM_DESTROY` (provider): x1 RegionId.
pub const RSI_CSM_DESTROY: u32 = 0xC600_0195;
/// `RSI_CSM_QUERY` (any): x1 ShareId (0 = self) → x1 RealmId, x2 consumer RealmId, x3 size,
/// x4 mode and state flags.
pub const RSI_CSM_QUERY: u32 = 0xC600_0196;

/// `RMI_EXIT_CSM_PREPARE` exit reason value (7).
pub const RMI_EXIT_CSM_PREPARE: u64 = RecExitReason::CsmPrepare as u64;
/// `RMI_EXIT_CSM_POPULATE` exit reason value (8).
pub const RMI_EXIT_CSM_POPULATE: u64 = RecExitReason::CsmPopulate as u64;

command_enum! {
    /// A CSM RSI call (realm → RMM).
    pub enum CsmRsiCommand {
        /// `RSI_CSM_CREATE`.
        Create => RSI_CSM_CREATE, "RSI_CSM_CREATE";
        /// `RSI_CSM_SHARE`.
        Share => RSI_CSM_SHARE, "RSI_CSM_SHARE";
        /// `RSI_CSM_ACCEPT`.
        Accept => RSI_CSM_ACCEPT, "RSI_CSM_ACCEPT";
        /// `RSI_CSM_DETACH`.
        Detach => RSI_CSM_DETACH, "RSI_CSM_DETACH";
        /// `RSI_CSM_REVOKE`.
        Revoke => RSI_CSM_REVOKE, "RSI_CSM_REVOKE";
        /// `RSI_CSM_DESTROY`.
        Destroy => RSI_CSM_DESTROY, "RSI_CSM_DESTROY";
        /// `RSI_CSM_QUERY`.
        Query => RSI_CSM_QUERY, "RSI_CSM_QUERY";
    }
}

/// Mode bit: read access.
pub const CSM_MODE_READ: u64 = 1 << 0;
/// Mode bit: write access (only together with read).
pub const CSM_MODE_WRITE: u64 = 1 << 1;

abi_enum! {
    /// Access mode of a grant (`RSI_CSM_SHARE` x3). Execute is never granted.
    pub enum CsmMode: u8 {
        /// Read-only.
        Read = 1,
        /// Read and write.
        ReadWrite = 3,
    }
}

impl CsmMode {
    /// True if the mode allows writes.
    pub const fn is_writable(self) -> bool {
        matches!(self, CsmMode::ReadWrite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smc::SMC_SVE_HINT;

    #[test]
    fn fid_values_match_design() {
        assert_eq!(RMI_APT_CREATE, 0xC400016A);
        assert_eq!(RMI_APT_DESTROY, 0xC400016B);
        let expected: [(u64, CsmRsiCommand); 7] = [
            (0xC6000190, CsmRsiCommand::Create),
            (0xC6000191, CsmRsiCommand::Share),
            (0xC6000192, CsmRsiCommand::Accept),
            (0xC6000193, CsmRsiCommand::Detach),
            (0xC6000194, CsmRsiCommand::Revoke),
            (0xC6000195, CsmRsiCommand::Destroy),
            (0xC6000196, CsmRsiCommand::Query),
        ];
        assert_eq!(CsmRsiCommand::ALL.len(), expected.len());
        for (fid, cmd) in expected {
            assert_eq!(u64::from(cmd.fid()), fid);
            assert_eq!(CsmRsiCommand::from_fid(fid), Some(cmd));
            assert_eq!(CsmRsiCommand::from_fid(fid | SMC_SVE_HINT), Some(cmd));
            assert!(cmd.name().starts_with("RSI_CSM_"));
        }
        for fid in [
            0xC600018Fu64,
            0xC6000197,
            0xC4000190,
            0x86000190,
            0x1_C600_0190,
        ] {
            assert_eq!(CsmRsiCommand::from_fid(fid), None, "{fid:#x}");
        }
    }

    #[test]
    fn mode() {
        assert_eq!(CsmMode::from_u64(CSM_MODE_READ), Some(CsmMode::Read));
        assert_eq!(
            CsmMode::from_u64(CSM_MODE_READ | CSM_MODE_WRITE),
            Some(CsmMode::ReadWrite)
        );
        assert_eq!(CsmMode::from_u64(0), None);
        assert_eq!(
            CsmMode::from_u64(CSM_MODE_WRITE),
            None,
            "write without read"
        );
        assert_eq!(CsmMode::from_u64(4), None, "execute never");
        assert_eq!(CsmMode::from_u64(7), None);
        assert_eq!(CsmMode::from_u64(0x101), None);
        assert!(CsmMode::ReadWrite.is_writable());
        assert!(!CsmMode::Read.is_writable());
    }

    #[test]
    fn exits() {
        assert_eq!(RMI_EXIT_CSM_PREPARE, 7);
        assert_eq!(RMI_EXIT_CSM_POPULATE, 8);
    }
}
