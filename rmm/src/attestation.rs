// SPDX-License-Identifier: MIT OR Apache-2.0
//! The realm attestation key (RAK) and the platform token, obtained from EL3 once at cold
//! boot ([`provision`]), and the only code that reaches the key ([`Attestation`]).
//!
//! Boot (reference C.2): `RMM_ATTEST_GET_REALM_KEY` (P-384) gives the raw private scalar,
//! imported at once ([`RealmSigningKey::from_raw_scalar`] wipes the bytes it was given; the
//! arch layer wipes the shared page); then `RMM_ATTEST_GET_PLAT_TOKEN`, hunk after hunk until
//! EL3 says nothing remains, with SHA-256 of our 107-byte COSE_Key as the challenge, into a
//! static buffer (no heap). If either fails the RMM boots without attestation: it logs an
//! error and RSI_ATTEST_TOKEN_INIT answers RSI_ERROR_UNKNOWN (so CONTINUE answers
//! RSI_ERROR_STATE); everything else works.
//!
//! The key is a private field of [`Attestation`]; the only operation that uses it is
//! [`Attestation::continue_token`], the signing step of RSI_ATTEST_TOKEN_CONTINUE. It is
//! neither `Clone` nor `Copy` and wipes itself on drop. It lives in the monitor's `attestation`
//! field (a `spin::Once`), written once. Moving the freshly built value into the `Once` may leave
//! a stale copy in the boot CPU's stack frame (RMM-private Realm memory, reused by later
//! calls); Rust gives no way to build it in place without `unsafe`.

use crate::arch::Machine;
use crate::log_line::{Arg, Message, dec, int};
use attest::sha::Sha2Engine;
use attest::token::collection::PLATFORM_TOKEN_MAX;
use attest::token::{ClaimsStore, Continue, CoseKey, RealmSigningKey, TokenError, TokenSession};
use core::fmt;
use rmm_abi::el3::El3Status;

/// Most `RMM_ATTEST_GET_PLAT_TOKEN` calls the boot makes before giving up on EL3.
pub const MAX_PLATFORM_TOKEN_CALLS: usize = 64;

/// The attestation material, once EL3 provided it.
pub struct Attestation {
    key: RealmSigningKey,
    platform_token: &'static [u8],
    hunks: usize,
}

impl fmt::Debug for Attestation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attestation")
            .field("public_key", self.key.public_key())
            .field("platform_token_len", &self.platform_token.len())
            .finish_non_exhaustive()
    }
}

/// Why the RMM has no attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionError {
    /// `RMM_ATTEST_GET_REALM_KEY` failed.
    RealmKey(El3Status),
    /// EL3 reported a key length other than 48 bytes.
    KeyLength(usize),
    /// The 48 bytes are not a valid P-384 private scalar (zero, or not below the order).
    InvalidKey,
    /// `RMM_ATTEST_GET_PLAT_TOKEN` failed.
    PlatformToken(El3Status),
    /// The platform token does not fit the static buffer.
    PlatformTokenTooLarge,
    /// EL3 returned an empty platform token.
    PlatformTokenEmpty,
    /// EL3 kept saying more remains after [`MAX_PLATFORM_TOKEN_CALLS`] calls.
    TooManyCalls,
}

impl ProvisionError {
    /// What went wrong, for the boot log.
    pub fn message(self) -> Message<1> {
        let text = |what| Message::new(what, [Arg::Str("")]);
        match self {
            ProvisionError::RealmKey(status) => Message::new(
                "EL3 refused the realm key (status {})",
                [int(status.value())],
            ),
            ProvisionError::KeyLength(len) => {
                Message::new("EL3 gave a {}-byte realm key", [dec(len as u64)])
            }
            ProvisionError::InvalidKey => text("the realm key is not a P-384 scalar"),
            ProvisionError::PlatformToken(status) => Message::new(
                "EL3 refused the platform token (status {})",
                [int(status.value())],
            ),
            ProvisionError::PlatformTokenTooLarge => text("the platform token is too large"),
            ProvisionError::PlatformTokenEmpty => text("the platform token is empty"),
            ProvisionError::TooManyCalls => text("the platform token took too many calls"),
        }
    }
}

impl Attestation {
    /// The realm public key claim.
    pub fn public_key(&self) -> &CoseKey {
        self.key.public_key()
    }

    /// The platform token EL3 gave at boot.
    pub fn platform_token(&self) -> &[u8] {
        self.platform_token
    }

    /// How many `RMM_ATTEST_GET_PLAT_TOKEN` calls it took.
    pub fn platform_token_calls(&self) -> usize {
        self.hunks
    }

    /// RSI_ATTEST_TOKEN_CONTINUE's work on `session`: signing (checking `should_yield`
    /// between steps; the message hashed with `engine`), then copying into `dst`. The only
    /// use of the key.
    /// A CSM realm's claims are in `store` (`crate::realm::rec_attest::AuxClaims`).
    pub fn continue_token<S: ClaimsStore + ?Sized>(
        &self,
        session: &mut TokenSession,
        store: &S,
        engine: &dyn Sha2Engine,
        dst: &mut [u8],
        should_yield: impl FnMut() -> bool,
    ) -> Result<Continue, TokenError> {
        session.continue_token_with(
            &self.key,
            store,
            engine,
            self.platform_token,
            dst,
            should_yield,
        )
    }
}

/// Asks EL3 for the realm attestation key and the platform token (bound to that key), the
/// token into `buffer` (at most [`PLATFORM_TOKEN_MAX`] bytes of it are used).
pub fn provision<M: Machine>(
    machine: &M,
    buffer: &'static mut [u8],
) -> Result<Attestation, ProvisionError> {
    let mut raw = [0u8; 48];
    let reported = machine.el3_realm_key(&mut raw);
    // The import wipes `raw` whatever EL3 answered and whether or not it is a valid key.
    let imported = RealmSigningKey::from_raw_scalar(&mut raw);
    match reported {
        Err(status) => return Err(ProvisionError::RealmKey(status)),
        Ok(48) => {}
        Ok(len) => return Err(ProvisionError::KeyLength(len)),
    }
    let key = imported.map_err(|_| ProvisionError::InvalidKey)?;
    let challenge = key.public_key().platform_challenge();
    let limit = buffer.len().min(PLATFORM_TOKEN_MAX);
    let buffer: &'static mut [u8] = &mut buffer[..limit];
    let mut filled = 0;
    let mut calls = 0;
    loop {
        if calls == MAX_PLATFORM_TOKEN_CALLS {
            return Err(ProvisionError::TooManyCalls);
        }
        calls += 1;
        let out = buffer.get_mut(filled..).unwrap_or_default();
        let hunk = match machine.el3_platform_token_hunk(&challenge, out) {
            Ok(hunk) => hunk,
            Err(El3Status::NoMem) => return Err(ProvisionError::PlatformTokenTooLarge),
            Err(status) => return Err(ProvisionError::PlatformToken(status)),
        };
        filled = filled.saturating_add(hunk.len).min(limit);
        if hunk.remaining > limit - filled {
            return Err(ProvisionError::PlatformTokenTooLarge);
        }
        if hunk.remaining == 0 && !hunk.again {
            break;
        }
    }
    if filled == 0 {
        return Err(ProvisionError::PlatformTokenEmpty);
    }
    let buffer: &'static [u8] = buffer;
    Ok(Attestation {
        key,
        platform_token: &buffer[..filled],
        hunks: calls,
    })
}

/// [`provision`] straight into `store` (empty on failure), with the log line that says what
/// happened.
pub fn provision_into<M: Machine>(
    store: &spin::Once<Attestation>,
    machine: &M,
    buffer: &'static mut [u8],
) -> Result<(), ProvisionError> {
    match store.try_call_once(|| provision(machine, buffer)) {
        Ok(attestation) => {
            crate::log_info!(
                "attestation: realm key (P-384) from EL3; platform token {} bytes in {} call(s), \
                 bound to SHA-256 of the realm public key",
                dec(attestation.platform_token().len() as u64),
                dec(attestation.platform_token_calls() as u64),
            );
            Ok(())
        }
        Err(error) => {
            crate::log_error!(
                "attestation unavailable: {}; realms get RSI_ERROR_UNKNOWN from \
                 RSI_ATTEST_TOKEN_INIT, everything else works",
                Arg::Line(&error.message().line()),
            );
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_line::LineBuffer;

    fn shown(error: ProvisionError) -> String {
        let mut line = LineBuffer::new();
        line.push_line(&error.message().line());
        line.text().to_string()
    }

    #[test]
    fn every_provisioning_failure_reads_as_one_plain_sentence() {
        assert_eq!(
            shown(ProvisionError::RealmKey(El3Status::BadPas)),
            format!(
                "EL3 refused the realm key (status {})",
                El3Status::BadPas.value()
            )
        );
        assert_eq!(
            shown(ProvisionError::KeyLength(32)),
            "EL3 gave a 32-byte realm key"
        );
        assert_eq!(
            shown(ProvisionError::InvalidKey),
            "the realm key is not a P-384 scalar"
        );
        assert_eq!(
            shown(ProvisionError::PlatformTokenEmpty),
            "the platform token is empty"
        );
    }
}
