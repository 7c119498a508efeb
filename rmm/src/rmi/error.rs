// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`RmiError`]: a command's failure as a typed value, and its packing into x0.
//!
//! Every handler returns [`Handled<N>`]: its `N` outputs, or a [`Refusal`] (an `RmiError`
//! converts into one with `?`); the dispatcher packs either side with [`outputs`]. Keeping
//! the error typed until the edge lets every check say which spec failure it is.

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
}

/// Packed `RMI_SUCCESS`.
pub const SUCCESS: u64 = RmiReturn::success().pack();

/// A refused command: its error, and the outputs the command defines for that failure (a
/// destroy command's `top`, say). Outputs not given read as zero; x4 keeps the host's value
/// unless the refusal defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The failure.
    pub error: RmiError,
    outputs: [u64; 4],
    count: usize,
}

impl From<RmiError> for Refusal {
    /// A refusal that defines no outputs.
    fn from(error: RmiError) -> Self {
        Self {
            error,
            outputs: [0; 4],
            count: 0,
        }
    }
}

impl RmiError {
    /// A refusal with this error and the `N` outputs (at most four) the command defines for it.
    pub fn with<const N: usize>(self, outputs: [u64; N]) -> Refusal {
        let mut refusal = Refusal::from(self);
        refusal.count = N.min(4);
        for (slot, value) in refusal.outputs.iter_mut().zip(outputs) {
            *slot = value;
        }
        refusal
    }
}

/// What every RMI handler returns: the `N` outputs the command defines on success (none for
/// a status-only command), or a [`Refusal`]. One shape for every handler; the dispatcher
/// packs it with [`outputs`].
pub type Handled<const N: usize = 0> = Result<[u64; N], Refusal>;

/// Packs a handler's result for the host; a refusal out of line ([`Refusal::into_outputs`]).
#[inline(always)]
pub fn outputs<const N: usize>(result: Handled<N>) -> RmiOutputs {
    match result {
        Ok(values) => RmiOutputs::with(SUCCESS, values),
        Err(refusal) => refusal.into_outputs(),
    }
}

/// [`outputs`] with the refusal packed inline: for RMI_VERSION, which the dispatcher runs in
/// its own frame, where a call on the error path alone cost every RMI_VERSION three
/// instructions (27 → 30) of frame set-up.
#[inline(always)]
pub fn outputs_inline<const N: usize>(result: Handled<N>) -> RmiOutputs {
    match result {
        Ok(values) => RmiOutputs::with(SUCCESS, values),
        Err(refusal) => refusal.pack_for_host(),
    }
}

impl Refusal {
    /// The refusal packed for the host. Out of line: the error path of all 24 commands
    /// (about 60 bytes each inlined), and no measured path takes it.
    #[inline(never)]
    fn into_outputs(self) -> RmiOutputs {
        self.pack_for_host()
    }

    #[inline(always)]
    fn pack_for_host(self) -> RmiOutputs {
        RmiOutputs {
            x0: self.error.pack(),
            values: self.outputs,
            count: self.count,
        }
    }
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
        assert_eq!(outputs::<0>(Ok([])).x0, 0);
        let refused = outputs::<2>(Err(RmiError::Input.with([0, 7])));
        assert_eq!(
            (refused.x0, refused.values, refused.count),
            (1, [0, 7, 0, 0], 2)
        );
        assert_eq!(outputs::<4>(Err(RmiError::Rec.into())).count, 0);
    }
}
