// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`TokenSession`]: one REC's RSI_ATTEST_TOKEN_INIT / CONTINUE state (reference C.4),
//! as a pure state machine the RSI handler drives.
//!
//! ```text
//!            init                 sign_step (Done)            copy_out (last byte)
//!   Idle ──────────────► Unsigned ───────────────► Signed ───────────────────────► Idle
//!    ▲  init from any state restarts: any token in progress is abandoned
//! ```
//!
//! - INIT encodes the claims (the RD's values, taken under its lock, and the challenge) and
//!   returns the exact token length, which is the upper bound the realm gets in x1.
//! - The expensive ES384 signature happens in CONTINUE, through [`TokenSession::sign_step`],
//!   in [`super::es384::STEPS`] bounded steps ([`super::es384`]); the RMM checks for a pending host
//!   interrupt after each one, and the signature in progress ([`SignState`]: nonce, hash,
//!   partial point) is part of the saved session, so it resumes where it stopped.
//! - Then each CONTINUE copies the next bytes; the last one returns to Idle, so a further
//!   CONTINUE is a state error until the next INIT (as in TF-RMM).
//!
//! A session holds 641 bytes of claims, the signature and the signature in progress; no
//! platform token and no assembled token (see [`super::stream`]).

use super::claims::{CLAIMS_MAX_LEN, RealmClaims};
use super::collection::{PLATFORM_TOKEN_MAX, cca_token_len};
use super::error::TokenError;
use super::es384::{STATE_BYTES, SignState};
use super::key::{RealmSigningKey, SIGNATURE_LEN};
use super::sign1::{realm_token_len, sig_structure_prefix};
use super::stream::TokenStream;
use zeroize::Zeroize;

/// Where a session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// No token in progress.
    Idle,
    /// INIT done; the realm token is not signed yet (signing may be part way through).
    Unsigned,
    /// Signed; `copied` bytes of the token have been handed out.
    Signed {
        /// Bytes copied to the realm so far.
        copied: usize,
    },
}

/// Result of one signing step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignStatus {
    /// More signing work remains: check for a pending host interrupt, then step again.
    InProgress,
    /// The realm token is signed.
    Done,
}

/// Result of a CONTINUE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Continue {
    /// Stopped between signing steps because the caller asked to yield (a host interrupt is
    /// pending): RSI_INCOMPLETE with nothing written; the REC exits to the host with
    /// `RMI_EXIT_IRQ` and the realm calls CONTINUE again.
    Yield,
    /// `written` bytes copied; more remain (RSI_INCOMPLETE, x1 = `written`).
    Incomplete {
        /// Bytes copied by this call.
        written: usize,
    },
    /// `written` bytes copied and they were the last (RSI_SUCCESS, x1 = `written`).
    Done {
        /// Bytes copied by this call.
        written: usize,
    },
}

/// Size of a session's saved form ([`TokenSession::save`], [`TokenSession::restore`]): four
/// little-endian words (phase, bytes copied, platform token length, claims length), the
/// claims buffer, the signature and the signature in progress ([`super::es384::STATE_BYTES`]),
/// padded to a multiple of 8 bytes. The RMM keeps it in a REC auxiliary granule between RSI
/// calls.
pub const SESSION_BYTES: usize = (4 * 8 + CLAIMS_MAX_LEN + SIGNATURE_LEN + STATE_BYTES + 7) & !7;

/// Wipes the part of a saved session that can hold secrets (the signature in progress: its
/// nonce, hash and partial point), for the caller's copies of the saved form once used. The
/// claims and the signature are not secret. A saved signature in progress holds secrets
/// exactly when its step is not 0 (the first byte of its part), so an idle, freshly
/// initialised or signed session costs nothing here.
pub fn wipe_saved_secrets(bytes: &mut [u8; SESSION_BYTES]) {
    if bytes[STATE_AT] != 0 {
        bytes[STATE_AT..].zeroize();
    }
}

/// Where the claims, the signature and the signature in progress start in the saved form.
const CLAIMS_AT: usize = 4 * 8;
const SIGNATURE_AT: usize = CLAIMS_AT + CLAIMS_MAX_LEN;
const STATE_AT: usize = SIGNATURE_AT + SIGNATURE_LEN;

const PHASE_IDLE: u64 = 0;
const PHASE_UNSIGNED: u64 = 1;
const PHASE_SIGNED: u64 = 2;

/// One REC's attestation token state.
#[derive(Clone, Debug)]
pub struct TokenSession {
    phase: Phase,
    platform_len: usize,
    claims_len: usize,
    claims: [u8; CLAIMS_MAX_LEN],
    signature: [u8; SIGNATURE_LEN],
    /// The signature in progress (Unsigned only; wiped otherwise).
    signer: SignState,
}

impl Default for TokenSession {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenSession {
    /// A session with no token in progress.
    pub const fn new() -> Self {
        Self {
            phase: Phase::Idle,
            platform_len: 0,
            claims_len: 0,
            claims: [0; CLAIMS_MAX_LEN],
            signature: [0; SIGNATURE_LEN],
            signer: SignState::new(),
        }
    }

    /// Where the session is.
    pub const fn phase(&self) -> Phase {
        self.phase
    }

    /// Signing steps done so far for the token in progress (0 unless Unsigned; the whole
    /// signature takes [`super::es384::STEPS`]).
    pub const fn signing_steps_done(&self) -> usize {
        self.signer.steps_done()
    }

    /// RSI_ATTEST_TOKEN_INIT: abandons any token in progress, encodes the claims and returns
    /// the token's exact length (x1). The platform token must be the one later CONTINUE calls
    /// pass, and at most [`PLATFORM_TOKEN_MAX`] bytes; on error the session is Idle.
    pub fn init(
        &mut self,
        claims: &RealmClaims<'_>,
        platform_token_len: usize,
    ) -> Result<usize, TokenError> {
        self.phase = Phase::Idle;
        self.signer.wipe();
        if platform_token_len > PLATFORM_TOKEN_MAX {
            return Err(TokenError::PlatformTokenTooLarge);
        }
        self.claims_len = claims.encode(&mut self.claims)?;
        self.platform_len = platform_token_len;
        self.signature = [0; SIGNATURE_LEN];
        self.phase = Phase::Unsigned;
        Ok(self.token_len())
    }

    /// Length of the token in progress (0 when Idle).
    pub fn token_len(&self) -> usize {
        match self.phase {
            Phase::Idle => 0,
            Phase::Unsigned | Phase::Signed { .. } => {
                cca_token_len(self.platform_len, realm_token_len(self.claims_len))
            }
        }
    }

    /// One bounded step of signing ([`super::es384::step`]): `InProgress` until the last of
    /// [`super::es384::STEPS`] steps, which signs. Idle: [`TokenError::NoTokenInProgress`]; Signed:
    /// `Done` at once.
    pub fn sign_step(&mut self, key: &RealmSigningKey) -> Result<SignStatus, TokenError> {
        match self.phase {
            Phase::Idle => Err(TokenError::NoTokenInProgress),
            Phase::Signed { .. } => Ok(SignStatus::Done),
            Phase::Unsigned => {
                let claims = self.claims.get(..self.claims_len).unwrap_or(&[]);
                let (head, payload_head) = sig_structure_prefix(claims.len());
                let parts = [head, payload_head.as_bytes(), claims];
                match key.sign_step(&mut self.signer, &parts)? {
                    None => Ok(SignStatus::InProgress),
                    Some(signature) => {
                        self.signature = signature;
                        self.phase = Phase::Signed { copied: 0 };
                        Ok(SignStatus::Done)
                    }
                }
            }
        }
    }

    /// Copies the next bytes of the signed token into `dst` (the realm's buffer from its
    /// offset, `size` bytes long). An empty `dst` copies nothing and returns `Incomplete`.
    pub fn copy_out(
        &mut self,
        platform_token: &[u8],
        dst: &mut [u8],
    ) -> Result<Continue, TokenError> {
        let copied = match self.phase {
            Phase::Idle => return Err(TokenError::NoTokenInProgress),
            Phase::Unsigned => return Err(TokenError::NotSigned),
            Phase::Signed { copied } => copied,
        };
        if platform_token.len() != self.platform_len {
            return Err(TokenError::PlatformTokenChanged);
        }
        let stream = self.stream(platform_token);
        let written = stream.read_at(copied, dst);
        let copied = copied.saturating_add(written);
        if copied >= stream.len() {
            self.phase = Phase::Idle;
            Ok(Continue::Done { written })
        } else {
            self.phase = Phase::Signed { copied };
            Ok(Continue::Incomplete { written })
        }
    }

    /// RSI_ATTEST_TOKEN_CONTINUE after its arguments were checked and the buffer translated:
    /// signs in steps, calling `should_yield` after each one (TF-RMM's pending-IRQ check) and
    /// returning [`Continue::Yield`] if it says so; once signed, copies into `dst`.
    /// At least one step runs per call, so the token always makes progress.
    pub fn continue_token(
        &mut self,
        key: &RealmSigningKey,
        platform_token: &[u8],
        dst: &mut [u8],
        mut should_yield: impl FnMut() -> bool,
    ) -> Result<Continue, TokenError> {
        if self.phase == Phase::Unsigned {
            while self.sign_step(key)? == SignStatus::InProgress {
                if should_yield() {
                    return Ok(Continue::Yield);
                }
            }
            if should_yield() {
                return Ok(Continue::Yield);
            }
        }
        self.copy_out(platform_token, dst)
    }

    /// Writes the session into `out` (see [`SESSION_BYTES`]). All zeros is an Idle session,
    /// so a freshly zeroed granule holds one.
    pub fn save(&self, out: &mut [u8; SESSION_BYTES]) {
        let (phase, copied) = match self.phase {
            Phase::Idle => (PHASE_IDLE, 0),
            Phase::Unsigned => (PHASE_UNSIGNED, 0),
            Phase::Signed { copied } => (PHASE_SIGNED, copied as u64),
        };
        out.fill(0);
        let words = [
            phase,
            copied,
            self.platform_len as u64,
            self.claims_len as u64,
        ];
        for (chunk, word) in out.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out[CLAIMS_AT..SIGNATURE_AT].copy_from_slice(&self.claims);
        out[SIGNATURE_AT..STATE_AT].copy_from_slice(&self.signature);
        if self.phase == Phase::Unsigned
            && let Some((state, _)) = out[STATE_AT..].split_first_chunk_mut()
        {
            self.signer.save(state);
        }
    }

    /// The session saved in `bytes`. Anything inconsistent (an unknown phase, lengths out of
    /// range, more bytes copied than the token has, a signature in progress that
    /// [`SignState::restore`] refuses) restores as Idle: never a panic, never an
    /// out-of-range copy later.
    pub fn restore(bytes: &[u8; SESSION_BYTES]) -> Self {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        };
        let (phase, copied, platform_len, claims_len) = (word(0), word(1), word(2), word(3));
        let mut session = Self::new();
        if claims_len == 0
            || claims_len > CLAIMS_MAX_LEN as u64
            || platform_len > PLATFORM_TOKEN_MAX as u64
        {
            return session;
        }
        session
            .claims
            .copy_from_slice(&bytes[CLAIMS_AT..SIGNATURE_AT]);
        session
            .signature
            .copy_from_slice(&bytes[SIGNATURE_AT..STATE_AT]);
        session.platform_len = platform_len as usize;
        session.claims_len = claims_len as usize;
        session.phase = match phase {
            PHASE_UNSIGNED if copied == 0 => {
                let signer = bytes[STATE_AT..]
                    .first_chunk::<STATE_BYTES>()
                    .and_then(SignState::restore);
                match signer {
                    Some(signer) => session.signer = signer,
                    None => return Self::new(),
                }
                Phase::Unsigned
            }
            PHASE_SIGNED => Phase::Signed {
                copied: copied as usize,
            },
            _ => return Self::new(),
        };
        if copied >= session.token_len() as u64 {
            return Self::new();
        }
        session
    }

    fn claims(&self) -> &[u8] {
        self.claims.get(..self.claims_len).unwrap_or(&[])
    }

    fn stream<'a>(&'a self, platform: &'a [u8]) -> TokenStream<'a> {
        TokenStream {
            platform,
            claims: self.claims(),
            signature: &self.signature,
        }
    }
}
