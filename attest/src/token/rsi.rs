// SPDX-License-Identifier: MIT OR Apache-2.0
//! The registers of RSI_ATTEST_TOKEN_INIT and RSI_ATTEST_TOKEN_CONTINUE, typed, so the RSI
//! handler only translates the buffer IPA and copies bytes (reference A.4, C.4; TF-RMM
//! `runtime/rsi/realm_attest.c`):
//!
//! - INIT: x1..x8 = the 64-byte challenge (little-endian words) → x0 SUCCESS, x1 = token
//!   size upper bound.
//! - CONTINUE: x1 = buffer IPA (granule aligned, in the PAR), x2 = offset in that granule,
//!   x3 = size → x0 INCOMPLETE / SUCCESS, x1 = bytes written. Argument errors come first
//!   (RSI_ERROR_INPUT), then "no INIT" (RSI_ERROR_STATE).

use super::claims::CHALLENGE_LEN;
use super::error::TokenError;
use super::session::Continue;
use rmm_abi::rsi::RsiStatus;

/// Size of the realm granule CONTINUE writes into.
pub const GRANULE_SIZE: u64 = 0x1000;

/// The challenge from INIT's x1..x8: each register's bytes in little-endian order, x1 first
/// (what a realm storing its challenge buffer into the registers as words produces).
pub fn challenge_from_regs(regs: &[u64; 8]) -> [u8; CHALLENGE_LEN] {
    let mut out = [0u8; CHALLENGE_LEN];
    for (chunk, reg) in out.chunks_exact_mut(8).zip(regs) {
        chunk.copy_from_slice(&reg.to_le_bytes());
    }
    out
}

/// CONTINUE's arguments, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContinueArgs {
    /// The IPA of the realm's buffer granule: aligned; the handler still checks it is in the
    /// PAR (RSI_ERROR_INPUT) and translates it.
    pub ipa: u64,
    /// Where in the granule to write, below [`GRANULE_SIZE`].
    pub offset: usize,
    /// How many bytes at most; `offset + size` does not pass the granule's end.
    pub size: usize,
}

impl ContinueArgs {
    /// Checks x1..x3 as TF-RMM does: an unaligned IPA, `offset >= 4096`, or
    /// `offset + size > 4096` (including wrapping) is RSI_ERROR_INPUT.
    pub fn from_regs(x1: u64, x2: u64, x3: u64) -> Result<Self, RsiStatus> {
        let end = x2.checked_add(x3);
        let ok = x1.is_multiple_of(GRANULE_SIZE)
            && x2 < GRANULE_SIZE
            && end.is_some_and(|end| end <= GRANULE_SIZE);
        if !ok {
            return Err(RsiStatus::ErrorInput);
        }
        // Both are at most 4096 here.
        Ok(Self {
            ipa: x1,
            offset: x2 as usize,
            size: x3 as usize,
        })
    }

    /// The destination range inside the granule.
    pub const fn range(&self) -> core::ops::Range<usize> {
        self.offset..self.offset.saturating_add(self.size)
    }
}

impl Continue {
    /// x0 for the realm.
    pub const fn rsi_status(&self) -> RsiStatus {
        match self {
            Continue::Yield | Continue::Incomplete { .. } => RsiStatus::Incomplete,
            Continue::Done { .. } => RsiStatus::Success,
        }
    }

    /// x1 for the realm: bytes written (0 when yielding).
    pub const fn written(&self) -> u64 {
        match self {
            Continue::Yield => 0,
            Continue::Incomplete { written } | Continue::Done { written } => *written as u64,
        }
    }

    /// Whether the REC must exit to the host (`RMI_EXIT_IRQ`) instead of returning to the
    /// realm.
    pub const fn exits_to_host(&self) -> bool {
        matches!(self, Continue::Yield)
    }
}

impl TokenError {
    /// x0 for the realm when INIT or CONTINUE fails: no token in progress is
    /// RSI_ERROR_STATE, anything else is an RMM-side failure (RSI_ERROR_UNKNOWN, as TF-RMM
    /// reports a failed token creation).
    pub const fn rsi_status(&self) -> RsiStatus {
        match self {
            TokenError::NoTokenInProgress => RsiStatus::ErrorState,
            TokenError::BufferTooSmall
            | TokenError::NotSigned
            | TokenError::PlatformTokenChanged
            | TokenError::PlatformTokenTooLarge
            | TokenError::InvalidKey
            | TokenError::Signing => RsiStatus::ErrorUnknown,
        }
    }
}
