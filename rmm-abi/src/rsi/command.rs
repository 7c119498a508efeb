// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`RsiCommand`]: the RSI 1.0 commands, decoded from a function identifier.

use super::fid;

command_enum! {
    /// An RSI command (realm → RMM).
    pub enum RsiCommand {
        /// `RSI_VERSION`.
        Version => fid::VERSION, "RSI_VERSION";
        /// `RSI_FEATURES`.
        Features => fid::FEATURES, "RSI_FEATURES";
        /// `RSI_MEASUREMENT_READ`.
        MeasurementRead => fid::MEASUREMENT_READ, "RSI_MEASUREMENT_READ";
        /// `RSI_MEASUREMENT_EXTEND`.
        MeasurementExtend => fid::MEASUREMENT_EXTEND, "RSI_MEASUREMENT_EXTEND";
        /// `RSI_ATTEST_TOKEN_INIT`.
        AttestTokenInit => fid::ATTEST_TOKEN_INIT, "RSI_ATTEST_TOKEN_INIT";
        /// `RSI_ATTEST_TOKEN_CONTINUE`.
        AttestTokenContinue => fid::ATTEST_TOKEN_CONTINUE, "RSI_ATTEST_TOKEN_CONTINUE";
        /// `RSI_REALM_CONFIG`.
        RealmConfig => fid::REALM_CONFIG, "RSI_REALM_CONFIG";
        /// `RSI_IPA_STATE_SET`.
        IpaStateSet => fid::IPA_STATE_SET, "RSI_IPA_STATE_SET";
        /// `RSI_IPA_STATE_GET`.
        IpaStateGet => fid::IPA_STATE_GET, "RSI_IPA_STATE_GET";
        /// `RSI_HOST_CALL`.
        HostCall => fid::HOST_CALL, "RSI_HOST_CALL";
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smc::SMC_SVE_HINT;

    #[test]
    fn from_fid_every_command() {
        let expected: [(u64, RsiCommand); 10] = [
            (0xC4000190, RsiCommand::Version),
            (0xC4000191, RsiCommand::Features),
            (0xC4000192, RsiCommand::MeasurementRead),
            (0xC4000193, RsiCommand::MeasurementExtend),
            (0xC4000194, RsiCommand::AttestTokenInit),
            (0xC4000195, RsiCommand::AttestTokenContinue),
            (0xC4000196, RsiCommand::RealmConfig),
            (0xC4000197, RsiCommand::IpaStateSet),
            (0xC4000198, RsiCommand::IpaStateGet),
            (0xC4000199, RsiCommand::HostCall),
        ];
        assert_eq!(RsiCommand::ALL.len(), expected.len());
        for (i, (fid, cmd)) in expected.into_iter().enumerate() {
            assert_eq!(RsiCommand::from_fid(fid), Some(cmd), "{fid:#x}");
            assert_eq!(
                RsiCommand::from_fid(fid | SMC_SVE_HINT),
                Some(cmd),
                "{fid:#x}+hint"
            );
            assert_eq!(u64::from(cmd.fid()), fid);
            assert_eq!(RsiCommand::ALL[i], cmd);
            assert!(cmd.name().starts_with("RSI_"));
        }
        assert_eq!(RsiCommand::IpaStateGet.name(), "RSI_IPA_STATE_GET");
    }

    #[test]
    fn from_fid_rejects_others() {
        for fid in [
            0u64,
            0xC400018F,
            0xC400019A,
            0xC40001AF,
            0xC4000150,
            0x84000190,
            0xC6000190,
            0x1_C400_0190,
            u64::MAX,
        ] {
            assert_eq!(RsiCommand::from_fid(fid), None, "{fid:#x}");
        }
    }
}
