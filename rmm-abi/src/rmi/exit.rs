// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RmiRecExitReason`: why `RMI_REC_ENTER` returned (`RecExit::exit_reason`), including the
//! two CSM extension exits 7 and 8 (see [`crate::csm`]).

abi_enum! {
    /// The reason for a REC exit.
    pub enum RecExitReason: u8 {
        /// Synchronous exception (data abort for MMIO, WFI/WFE trap, sysreg trap…).
        Sync = 0,
        /// IRQ pending.
        Irq = 1,
        /// FIQ pending.
        Fiq = 2,
        /// PSCI call forwarded to the host (FID and args in `exit.gprs[0..4]`).
        Psci = 3,
        /// RIPAS change requested by `RSI_IPA_STATE_SET`.
        RipasChange = 4,
        /// `RSI_HOST_CALL`.
        HostCall = 5,
        /// SError.
        SError = 6,
        /// CSM extension, `RMI_EXIT_CSM_PREPARE`: make the consumer window
        /// `[ripas_base, ripas_top)` unassigned with level-3 RTTs. RMM 1.0 only (1.1 reuses 7).
        CsmPrepare = 7,
        /// CSM extension, `RMI_EXIT_CSM_POPULATE`: populate the provider range
        /// `[ripas_base, ripas_top)` with DATA granules. RMM 1.0 only (1.1 reuses 8).
        CsmPopulate = 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        let expected = [
            (0u64, RecExitReason::Sync),
            (1, RecExitReason::Irq),
            (2, RecExitReason::Fiq),
            (3, RecExitReason::Psci),
            (4, RecExitReason::RipasChange),
            (5, RecExitReason::HostCall),
            (6, RecExitReason::SError),
            (7, RecExitReason::CsmPrepare),
            (8, RecExitReason::CsmPopulate),
        ];
        for (v, r) in expected {
            assert_eq!(RecExitReason::from_u64(v), Some(r));
            assert_eq!(r.as_u64(), v);
        }
        assert_eq!(RecExitReason::ALL.len(), 9);
        assert_eq!(RecExitReason::from_u64(9), None);
        assert_eq!(RecExitReason::from_u64(0x100), None);
        assert_eq!(RecExitReason::from_u64(u64::MAX), None);
    }
}
