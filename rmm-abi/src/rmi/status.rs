// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI command return codes: [`RmiStatus`] and the packed x0 value [`RmiReturn`]
//! (`status | index << 8`).

abi_enum! {
    /// `RmiStatusCode`: the low byte of x0 after an RMI command.
    pub enum RmiStatus: u8 {
        /// Command completed successfully.
        Success = 0,
        /// An input value is invalid (address, alignment, state of a granule, …).
        ErrorInput = 1,
        /// The realm is in the wrong state or a realm-level check failed.
        ErrorRealm = 2,
        /// The REC is in the wrong state.
        ErrorRec = 3,
        /// An RTT walk or RTT entry check failed; the index gives the RTT level.
        ErrorRtt = 4,
    }
}

/// `RMI_ERROR_REALM` index from `RMI_REC_ENTER`: the realm is still NEW.
pub const REC_ENTER_REALM_NEW_INDEX: u8 = 0;

/// `RMI_ERROR_REALM` index from `RMI_REC_ENTER`: the realm is SYSTEM_OFF.
pub const REC_ENTER_REALM_SYSTEM_OFF_INDEX: u8 = 1;

/// An RMI command result as returned in x0: status in bits `[7:0]`, index in bits `[15:8]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RmiReturn {
    /// Status code.
    pub status: RmiStatus,
    /// Status index (meaning depends on the status; the RTT level for `ErrorRtt`).
    pub index: u8,
}

impl RmiReturn {
    /// `RMI_SUCCESS` with index 0.
    pub const fn success() -> Self {
        Self::with_index(RmiStatus::Success, 0)
    }

    /// `status` with index 0.
    pub const fn error(status: RmiStatus) -> Self {
        Self::with_index(status, 0)
    }

    /// `status` with the given index.
    pub const fn with_index(status: RmiStatus, index: u8) -> Self {
        Self { status, index }
    }

    /// True if the status is `Success`.
    pub const fn is_success(self) -> bool {
        matches!(self.status, RmiStatus::Success)
    }

    /// x0 encoding: `status | index << 8`.
    pub const fn pack(self) -> u64 {
        (self.status as u64) | ((self.index as u64) << 8)
    }

    /// Decodes x0; `None` if any bit above 15 is set or the status is unknown.
    pub const fn unpack(value: u64) -> Option<Self> {
        if value >> 16 != 0 {
            return None;
        }
        match RmiStatus::from_u64(value & 0xFF) {
            Some(status) => Some(Self {
                status,
                index: (value >> 8) as u8,
            }),
            None => None,
        }
    }
}

impl From<RmiStatus> for RmiReturn {
    fn from(status: RmiStatus) -> Self {
        Self::error(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_values() {
        assert_eq!(RmiStatus::Success as u8, 0);
        assert_eq!(RmiStatus::ErrorInput as u8, 1);
        assert_eq!(RmiStatus::ErrorRealm as u8, 2);
        assert_eq!(RmiStatus::ErrorRec as u8, 3);
        assert_eq!(RmiStatus::ErrorRtt as u8, 4);
        assert_eq!(RmiStatus::from_u64(5), None);
        assert_eq!(RmiStatus::try_from(4), Ok(RmiStatus::ErrorRtt));
        assert_eq!(RmiStatus::try_from(0x100), Err(0x100));
    }

    #[test]
    fn pack_values() {
        assert_eq!(RmiReturn::success().pack(), 0);
        assert_eq!(RmiReturn::error(RmiStatus::ErrorInput).pack(), 1);
        assert_eq!(RmiReturn::with_index(RmiStatus::ErrorRtt, 2).pack(), 0x204);
        assert_eq!(
            RmiReturn::with_index(RmiStatus::ErrorRealm, 1).pack(),
            0x102
        );
        assert_eq!(
            RmiReturn::with_index(RmiStatus::ErrorRtt, 0xFF).pack(),
            0xFF04
        );
    }

    #[test]
    fn round_trip() {
        for status in RmiStatus::ALL {
            for index in [0u8, 1, 2, 3, 0x7F, 0xFF] {
                let r = RmiReturn::with_index(status, index);
                assert_eq!(RmiReturn::unpack(r.pack()), Some(r));
            }
        }
    }

    #[test]
    fn unpack_rejects_bad_encodings() {
        assert_eq!(RmiReturn::unpack(5), None);
        assert_eq!(RmiReturn::unpack(0xFF), None);
        assert_eq!(RmiReturn::unpack(0x1_0000), None);
        assert_eq!(RmiReturn::unpack(0x1_0004), None);
        assert_eq!(RmiReturn::unpack(u64::MAX), None);
        assert_eq!(
            RmiReturn::unpack(0x0304),
            Some(RmiReturn::with_index(RmiStatus::ErrorRtt, 3))
        );
    }
}
