// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`RmiError`]: a command's failure as a typed value, and its packing into x0.
//!
//! Handlers return `Result<outputs, RmiError>`; the dispatcher packs either side. Keeping the
//! error typed until the edge lets every check say which spec failure it is.

use super::RmiOutputs;
use crate::rtt::level::RttLevel;
use rmm_abi::rmi::status::{RmiReturn, RmiStatus};

/// An RMI failure: status and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RmiError {
    /// `RMI_ERROR_INPUT`.
    Input,
    /// `RMI_ERROR_REALM` with an index.
    Realm(u8),
    /// `RMI_ERROR_REC`.
    Rec,
    /// `RMI_ERROR_RTT` at a level.
    Rtt(RttLevel),
}

impl RmiError {
    /// The packed x0 value.
    pub const fn pack(self) -> u64 {
        match self {
            RmiError::Input => RmiReturn::error(RmiStatus::ErrorInput).pack(),
            RmiError::Realm(index) => RmiReturn::with_index(RmiStatus::ErrorRealm, index).pack(),
            RmiError::Rec => RmiReturn::error(RmiStatus::ErrorRec).pack(),
            RmiError::Rtt(level) => RmiReturn::with_index(RmiStatus::ErrorRtt, level.get()).pack(),
        }
    }

    /// The outputs of a command that failed with this error and defines no outputs on error.
    pub const fn outputs(self) -> RmiOutputs {
        RmiOutputs::status(self.pack())
    }
}

/// Packed `RMI_SUCCESS`.
pub const SUCCESS: u64 = RmiReturn::success().pack();

/// The outputs of a command that returns status only.
pub fn status_only(result: Result<(), RmiError>) -> RmiOutputs {
    match result {
        Ok(()) => RmiOutputs::status(SUCCESS),
        Err(error) => error.outputs(),
    }
}

/// The outputs of a command that defines `N` outputs: on success the values, on failure the
/// error and the values the command defines for that failure (zero unless it says otherwise).
pub fn with_outputs<const N: usize>(result: Result<[u64; N], (RmiError, [u64; N])>) -> RmiOutputs {
    match result {
        Ok(values) => RmiOutputs::with(SUCCESS, values),
        Err((error, values)) => RmiOutputs::with(error.pack(), values),
    }
}

/// A failure whose `N` outputs are all zero, for [`with_outputs`].
pub fn zero_outputs<const N: usize>(error: RmiError) -> (RmiError, [u64; N]) {
    (error, [0; N])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_status_and_index() {
        assert_eq!(RmiError::Input.pack(), 1);
        assert_eq!(RmiError::Realm(1).pack(), 2 | (1 << 8));
        assert_eq!(RmiError::Rec.pack(), 3);
        assert_eq!(
            RmiError::Rtt(RttLevel::new(2).expect("valid")).pack(),
            4 | (2 << 8)
        );
        assert_eq!(status_only(Ok(())).x0, 0);
    }
}
