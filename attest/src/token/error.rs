// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`TokenError`]: why a token operation failed.

/// A token operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// The output buffer cannot hold what was asked for.
    BufferTooSmall,
    /// CONTINUE (or a signing step) without a token in progress: no INIT, or the last token
    /// was already copied out completely.
    NoTokenInProgress,
    /// Bytes were asked for before the realm token was signed.
    NotSigned,
    /// The platform token passed to CONTINUE is not as long as the one INIT sized the token
    /// for (it is fixed at boot, so this is an RMM bug).
    PlatformTokenChanged,
    /// The platform token is longer than [`crate::token::collection::PLATFORM_TOKEN_MAX`].
    PlatformTokenTooLarge,
    /// The raw private key is not a valid P-384 scalar (zero, or not below the group order).
    InvalidKey,
    /// The ECDSA signature could not be computed.
    Signing,
}
