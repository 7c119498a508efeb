// SPDX-License-Identifier: MIT OR Apache-2.0
//! Small RMI enumerations: RTT entry state, RIPAS, realm and granule lifecycle states, hash
//! algorithm, host responses, data-create flags, feature booleans and PMU overflow status.
//!
//! [`GranuleState`] and [`RealmState`] numbering is this RMM's internal choice (it follows
//! TF-RMM) and never crosses the ABI, except the realm state's reflection in the
//! `RMI_ERROR_REALM` index of `RMI_REC_ENTER`. Every other enum here is ABI.

abi_enum! {
    /// `RmiRttEntryState`, as returned in x2 by `RMI_RTT_READ_ENTRY`.
    pub enum RttEntryState: u8 {
        /// No output address (unassigned, unassigned NS).
        Unassigned = 0,
        /// Has an output address (assigned, assigned NS).
        Assigned = 1,
        /// Points to a next-level RTT.
        Table = 2,
    }
}

abi_enum! {
    /// `RmiRipas` / `RsiRipas`: Realm IPA state.
    pub enum Ripas: u8 {
        /// No memory; realm access faults inside the realm.
        Empty = 0,
        /// Realm memory.
        Ram = 1,
        /// Memory taken away by the host; realm access exits to the host.
        Destroyed = 2,
    }
}

abi_enum! {
    /// Realm lifecycle state (internal numbering, TF-RMM order).
    pub enum RealmState: u8 {
        /// Created, being populated; not yet runnable.
        New = 0,
        /// Activated; RECs may run.
        Active = 1,
        /// The realm called `SYSTEM_OFF`/`SYSTEM_RESET`.
        SystemOff = 2,
    }
}

abi_enum! {
    /// Granule lifecycle state (internal numbering: TF-RMM's 0..=6, then `Apt` = 7 for the CSM
    /// extension).
    pub enum GranuleState: u8 {
        /// Normal-world (not delegated).
        Undelegated = 0,
        /// Delegated to the realm world, unused, all zero.
        Delegated = 1,
        /// Realm descriptor.
        Rd = 2,
        /// Realm execution context.
        Rec = 3,
        /// REC auxiliary granule.
        RecAux = 4,
        /// Realm data page.
        Data = 5,
        /// Realm translation table.
        Rtt = 6,
        /// CSM access permission table.
        Apt = 7,
    }
}

abi_enum! {
    /// `RmiHashAlgorithm` / `RsiHashAlgorithm`: measurement hash algorithm.
    pub enum HashAlgorithm: u8 {
        /// SHA-256 (32-byte measurements).
        Sha256 = 0,
        /// SHA-512 (64-byte measurements).
        Sha512 = 1,
    }
}

impl HashAlgorithm {
    /// Digest length in bytes.
    pub const fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha512 => 64,
        }
    }
}

abi_enum! {
    /// `RmiResponse`: host's answer to a realm request (e.g. PSCI).
    pub enum RmiResponse: u8 {
        /// Accepted.
        Accept = 0,
        /// Rejected.
        Reject = 1,
    }
}

abi_enum! {
    /// `RmiDataMeasureContent`: field of [`DataFlags`].
    pub enum DataMeasureContent: u8 {
        /// Measure the IPA only.
        NoMeasureContent = 0,
        /// Measure the IPA and a hash of the content.
        MeasureContent = 1,
    }
}

abi_flags! {
    /// `RmiDataFlags` (`RMI_DATA_CREATE` x5).
    pub struct DataFlags {
        /// Bit 0: measure the content ([`DataMeasureContent::MeasureContent`]).
        const MEASURE_CONTENT = 1 << 0;
    }
}

impl DataFlags {
    /// The measure-content field.
    pub const fn measure(self) -> DataMeasureContent {
        if self.0 & 1 != 0 {
            DataMeasureContent::MeasureContent
        } else {
            DataMeasureContent::NoMeasureContent
        }
    }
}

abi_enum! {
    /// `RmiFeature`: a feature boolean.
    pub enum RmiFeature: u8 {
        /// Not supported / disabled.
        False = 0,
        /// Supported / enabled.
        True = 1,
    }
}

abi_enum! {
    /// `RmiPmuOverflowStatus` (`RecExit::pmu_ovf_status`).
    pub enum PmuOverflowStatus: u8 {
        /// No PMU overflow interrupt pending.
        NotActive = 0,
        /// A PMU overflow interrupt is pending.
        Active = 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_values() {
        assert_eq!(RttEntryState::from_u64(0), Some(RttEntryState::Unassigned));
        assert_eq!(RttEntryState::from_u64(1), Some(RttEntryState::Assigned));
        assert_eq!(RttEntryState::from_u64(2), Some(RttEntryState::Table));
        assert_eq!(RttEntryState::from_u64(3), None);

        assert_eq!(Ripas::from_u64(0), Some(Ripas::Empty));
        assert_eq!(Ripas::from_u64(1), Some(Ripas::Ram));
        assert_eq!(Ripas::from_u64(2), Some(Ripas::Destroyed));
        assert_eq!(Ripas::from_u64(3), None);
        assert_eq!(Ripas::try_from(1u64), Ok(Ripas::Ram));
        assert_eq!(Ripas::try_from(0x101u64), Err(0x101));

        assert_eq!(RealmState::from_u64(2), Some(RealmState::SystemOff));
        assert_eq!(RealmState::from_u64(3), None);

        assert_eq!(GranuleState::ALL.len(), 8);
        assert_eq!(GranuleState::Apt as u8, 7);
        assert_eq!(GranuleState::from_u64(8), None);

        assert_eq!(HashAlgorithm::from_u64(0), Some(HashAlgorithm::Sha256));
        assert_eq!(HashAlgorithm::from_u64(1), Some(HashAlgorithm::Sha512));
        assert_eq!(HashAlgorithm::from_u64(2), None);
        assert_eq!(HashAlgorithm::Sha256.digest_len(), 32);
        assert_eq!(HashAlgorithm::Sha512.digest_len(), 64);

        assert_eq!(RmiResponse::from_u64(0), Some(RmiResponse::Accept));
        assert_eq!(RmiResponse::from_u64(1), Some(RmiResponse::Reject));
        assert_eq!(RmiResponse::from_u64(2), None);

        assert_eq!(RmiFeature::from_u64(1), Some(RmiFeature::True));
        assert_eq!(
            PmuOverflowStatus::from_u64(1),
            Some(PmuOverflowStatus::Active)
        );
        assert_eq!(PmuOverflowStatus::from_u64(2), None);
    }

    #[test]
    fn data_flags() {
        assert_eq!(
            DataFlags::from_bits(0).map(DataFlags::measure),
            Some(DataMeasureContent::NoMeasureContent)
        );
        assert_eq!(
            DataFlags::from_bits(1).map(DataFlags::measure),
            Some(DataMeasureContent::MeasureContent)
        );
        assert_eq!(DataFlags::from_bits(2), None);
        assert_eq!(
            DataMeasureContent::from_u64(1),
            Some(DataMeasureContent::MeasureContent)
        );
        assert_eq!(DataMeasureContent::from_u64(2), None);
    }
}
