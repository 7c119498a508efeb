// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`RmiCommand`]: every RMI command of the ABI (RMM 1.0-rel0 plus the CSM `APT_*`
//! extension), decoded from a function identifier. Which ones the monitor implements is the
//! `rmm` crate's business; the others answer `SMC_UNKNOWN` there.

use super::fid;

command_enum! {
    /// An RMI command (host → RMM).
    pub enum RmiCommand {
        /// `RMI_VERSION`.
        Version => fid::VERSION, "RMI_VERSION";
        /// `RMI_GRANULE_DELEGATE`.
        GranuleDelegate => fid::GRANULE_DELEGATE, "RMI_GRANULE_DELEGATE";
        /// `RMI_GRANULE_UNDELEGATE`.
        GranuleUndelegate => fid::GRANULE_UNDELEGATE, "RMI_GRANULE_UNDELEGATE";
        /// `RMI_DATA_CREATE`.
        DataCreate => fid::DATA_CREATE, "RMI_DATA_CREATE";
        /// `RMI_DATA_CREATE_UNKNOWN`.
        DataCreateUnknown => fid::DATA_CREATE_UNKNOWN, "RMI_DATA_CREATE_UNKNOWN";
        /// `RMI_DATA_DESTROY`.
        DataDestroy => fid::DATA_DESTROY, "RMI_DATA_DESTROY";
        /// `RMI_REALM_ACTIVATE`.
        RealmActivate => fid::REALM_ACTIVATE, "RMI_REALM_ACTIVATE";
        /// `RMI_REALM_CREATE`.
        RealmCreate => fid::REALM_CREATE, "RMI_REALM_CREATE";
        /// `RMI_REALM_DESTROY`.
        RealmDestroy => fid::REALM_DESTROY, "RMI_REALM_DESTROY";
        /// `RMI_REC_CREATE`.
        RecCreate => fid::REC_CREATE, "RMI_REC_CREATE";
        /// `RMI_REC_DESTROY`.
        RecDestroy => fid::REC_DESTROY, "RMI_REC_DESTROY";
        /// `RMI_REC_ENTER`.
        RecEnter => fid::REC_ENTER, "RMI_REC_ENTER";
        /// `RMI_RTT_CREATE`.
        RttCreate => fid::RTT_CREATE, "RMI_RTT_CREATE";
        /// `RMI_RTT_DESTROY`.
        RttDestroy => fid::RTT_DESTROY, "RMI_RTT_DESTROY";
        /// `RMI_RTT_MAP_UNPROTECTED`.
        RttMapUnprotected => fid::RTT_MAP_UNPROTECTED, "RMI_RTT_MAP_UNPROTECTED";
        /// `RMI_RTT_READ_ENTRY`.
        RttReadEntry => fid::RTT_READ_ENTRY, "RMI_RTT_READ_ENTRY";
        /// `RMI_RTT_UNMAP_UNPROTECTED`.
        RttUnmapUnprotected => fid::RTT_UNMAP_UNPROTECTED, "RMI_RTT_UNMAP_UNPROTECTED";
        /// `RMI_PSCI_COMPLETE`.
        PsciComplete => fid::PSCI_COMPLETE, "RMI_PSCI_COMPLETE";
        /// `RMI_FEATURES`.
        Features => fid::FEATURES, "RMI_FEATURES";
        /// `RMI_RTT_FOLD`.
        RttFold => fid::RTT_FOLD, "RMI_RTT_FOLD";
        /// `RMI_REC_AUX_COUNT`.
        RecAuxCount => fid::REC_AUX_COUNT, "RMI_REC_AUX_COUNT";
        /// `RMI_RTT_INIT_RIPAS`.
        RttInitRipas => fid::RTT_INIT_RIPAS, "RMI_RTT_INIT_RIPAS";
        /// `RMI_RTT_SET_RIPAS`.
        RttSetRipas => fid::RTT_SET_RIPAS, "RMI_RTT_SET_RIPAS";
        /// `RMI_APT_CREATE` (CSM extension).
        AptCreate => fid::APT_CREATE, "RMI_APT_CREATE";
        /// `RMI_APT_DESTROY` (CSM extension).
        AptDestroy => fid::APT_DESTROY, "RMI_APT_DESTROY";
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smc::SMC_SVE_HINT;

    #[test]
    fn from_fid_every_command() {
        let expected: [(u64, RmiCommand); 25] = [
            (0xC4000150, RmiCommand::Version),
            (0xC4000151, RmiCommand::GranuleDelegate),
            (0xC4000152, RmiCommand::GranuleUndelegate),
            (0xC4000153, RmiCommand::DataCreate),
            (0xC4000154, RmiCommand::DataCreateUnknown),
            (0xC4000155, RmiCommand::DataDestroy),
            (0xC4000157, RmiCommand::RealmActivate),
            (0xC4000158, RmiCommand::RealmCreate),
            (0xC4000159, RmiCommand::RealmDestroy),
            (0xC400015A, RmiCommand::RecCreate),
            (0xC400015B, RmiCommand::RecDestroy),
            (0xC400015C, RmiCommand::RecEnter),
            (0xC400015D, RmiCommand::RttCreate),
            (0xC400015E, RmiCommand::RttDestroy),
            (0xC400015F, RmiCommand::RttMapUnprotected),
            (0xC4000161, RmiCommand::RttReadEntry),
            (0xC4000162, RmiCommand::RttUnmapUnprotected),
            (0xC4000164, RmiCommand::PsciComplete),
            (0xC4000165, RmiCommand::Features),
            (0xC4000166, RmiCommand::RttFold),
            (0xC4000167, RmiCommand::RecAuxCount),
            (0xC4000168, RmiCommand::RttInitRipas),
            (0xC4000169, RmiCommand::RttSetRipas),
            (0xC400016A, RmiCommand::AptCreate),
            (0xC400016B, RmiCommand::AptDestroy),
        ];
        assert_eq!(RmiCommand::ALL.len(), expected.len());
        for (i, (fid, cmd)) in expected.into_iter().enumerate() {
            assert_eq!(RmiCommand::from_fid(fid), Some(cmd), "{fid:#x}");
            assert_eq!(
                RmiCommand::from_fid(fid | SMC_SVE_HINT),
                Some(cmd),
                "{fid:#x}+hint"
            );
            assert_eq!(u64::from(cmd.fid()), fid);
            assert_eq!(RmiCommand::ALL[i], cmd, "ALL is in FID order");
        }
    }

    #[test]
    fn from_fid_rejects_others() {
        for fid in [0xC4000156u64, 0xC4000160, 0xC4000163] {
            assert_eq!(RmiCommand::from_fid(fid), None, "{fid:#x}");
            assert_eq!(RmiCommand::from_fid(fid | SMC_SVE_HINT), None, "{fid:#x}");
        }
        for fid in [
            0u64,
            0xC400014F,
            0xC400016C,
            0xC400018E,
            0xC400018F,
            0xC4000190,
            0x84000150,
            0xC6000150,
            0xC4020150,
            0x1_C400_0150,
            u64::MAX,
        ] {
            assert_eq!(RmiCommand::from_fid(fid), None, "{fid:#x}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(RmiCommand::Version.name(), "RMI_VERSION");
        assert_eq!(RmiCommand::RttSetRipas.name(), "RMI_RTT_SET_RIPAS");
        assert_eq!(RmiCommand::AptDestroy.name(), "RMI_APT_DESTROY");
        for cmd in RmiCommand::ALL {
            assert!(cmd.name().starts_with("RMI_"));
        }
    }
}
