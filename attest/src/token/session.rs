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
//! A session holds up to 641 bytes of claims (the map up to the REMs), the signature, the
//! signature in progress and the payload hash in progress; no platform token and no assembled
//! token (see [`super::stream`]). A CSM realm's two further claims (up to
//! [`CSM_CLAIMS_MAX_LEN`], about 9 KiB) are not in the session: INIT writes them to the
//! caller's [`ClaimsStore`], and signing and copying read them back from it, so the methods
//! that touch them take the store (`*_with`); the plain ones use [`NoStore`].
//!
//! **Hashing in steps.** The message signed is the Sig_structure around the claims. A
//! message of at most [`HASH_WITH_FIRST_STEP_MAX`] bytes (every token without CSM claims,
//! 662 bytes at most) is hashed in the same step as the signature's first, as before; a
//! longer one is hashed first, [`HASH_STEP_BLOCKS`] SHA-384 blocks per step, the hash state
//! saved with the session between steps, and the signature's [`super::es384::STEPS`]
//! steps follow ([`signing_steps`]).

use super::claims::{CLAIMS_MAX_LEN, RealmClaims};
use super::collection::{PLATFORM_TOKEN_MAX, cca_token_len};
use super::csm::{CSM_CLAIMS_MAX_LEN, MAX_SHARES};
use super::error::TokenError;
use super::es384::{self, DIGEST_LEN, STATE_BYTES, SignState};
use super::key::{RealmSigningKey, SIGNATURE_LEN};
use super::sign1::{realm_token_len, sig_structure_prefix};
use super::store::{ClaimsStore, NoStore};
use super::stream::{Segment, TokenStream, read_segments};
use crate::sha::{SHA384_IV, SOFT, Sha2Engine};
use zerocopy::IntoBytes;
use zeroize::Zeroize;

/// SHA-384 block length.
const HASH_BLOCK: usize = 128;

/// SHA-384 blocks a hashing step compresses at most (4 KiB of message; the last step also
/// pads, one or two blocks more).
pub const HASH_STEP_BLOCKS: usize = 32;

/// The longest message hashed in the signature's first step rather than in steps of its own.
pub const HASH_WITH_FIRST_STEP_MAX: usize = 1024;

/// Length of the message signed for a claims map of `claims_len` bytes: the Sig_structure's
/// head, the payload's bstr head, the claims.
pub const fn message_len(claims_len: usize) -> usize {
    let (head, payload_head) = sig_structure_prefix(claims_len);
    head.len() + payload_head.len() + claims_len
}

/// Hashing steps of their own a message of `message_len` bytes takes (0: hashed in the
/// signature's first step).
pub const fn hash_steps(message_len: usize) -> usize {
    if message_len <= HASH_WITH_FIRST_STEP_MAX {
        0
    } else {
        let blocks = message_len / HASH_BLOCK;
        let steps = blocks.div_ceil(HASH_STEP_BLOCKS);
        if steps == 0 { 1 } else { steps }
    }
}

/// Signing steps (hashing included) a claims map of `claims_len` bytes takes (one more for
/// each restart of the signature with a new nonce, probability about 2⁻³⁸³).
pub const fn signing_steps(claims_len: usize) -> usize {
    hash_steps(message_len(claims_len)) + es384::STEPS
}

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
/// little-endian words (phase, bytes copied, platform token length, inline claims length),
/// the inline claims buffer padded to a whole number of words, the signature and the
/// signature in progress ([`super::es384::STATE_BYTES`]), then ten more words (the CSM
/// claims' length in the store, the message bytes hashed, the SHA-384 state). Everything
/// after the claims starts on a word, so that the RMM's word-aligned copy of it
/// ([`SavedSession`]) is read and written a word at a time (this target faults on unaligned
/// accesses until the MMU is on and is built for strict alignment: a misaligned word is
/// eight byte accesses). The RMM keeps it in a REC auxiliary granule between RSI calls; the
/// CSM claims themselves are in the store ([`STORE_BYTES`]).
pub const SESSION_BYTES: usize = HASH_AT + HASH_WORDS * 8;

/// The store a session needs for the largest CSM claims.
pub const STORE_BYTES: usize = CSM_CLAIMS_MAX_LEN;

/// Words of the hashing part of the saved form: CSM claims length, bytes hashed, state.
const HASH_WORDS: usize = 2 + 8;

/// Words of a session's saved form.
pub const SESSION_WORDS: usize = SESSION_BYTES / 8;

/// A session's saved form in the caller's memory, as words: aligned, so that
/// [`wipe_saved_secrets`] clears it a word at a time (a byte array took a store per byte).
/// [`saved_bytes`] and [`saved_bytes_mut`] view it as the bytes [`TokenSession::save`] and
/// [`TokenSession::restore`] take.
pub type SavedSession = [u64; SESSION_WORDS];

/// The bytes of `saved`.
pub fn saved_bytes(saved: &SavedSession) -> &[u8; SESSION_BYTES] {
    zerocopy::transmute_ref!(saved)
}

/// The bytes of `saved`, to write.
pub fn saved_bytes_mut(saved: &mut SavedSession) -> &mut [u8; SESSION_BYTES] {
    zerocopy::transmute_mut!(saved)
}

/// Wipes the part of a saved session that can hold secrets (the signature in progress: its
/// nonce, hash and partial point; from its first word to the end), for the caller's copies of
/// the saved form once used. The claims and the signature are not secret. A saved signature
/// in progress holds secrets exactly when its step is not 0 (the first byte of its part), so
/// an idle, freshly initialised or signed session costs nothing here.
pub fn wipe_saved_secrets(saved: &mut SavedSession) {
    if saved_bytes(saved)[STATE_AT] != 0 {
        saved[STATE_AT / 8..].zeroize();
    }
}

/// Where the claims, the signature and the signature in progress start in the saved form.
const CLAIMS_AT: usize = 4 * 8;
const SIGNATURE_AT: usize = (CLAIMS_AT + CLAIMS_MAX_LEN).next_multiple_of(8);
/// Where the signature in progress starts in the saved form.
pub(crate) const STATE_AT: usize = SIGNATURE_AT + SIGNATURE_LEN;
const HASH_AT: usize = STATE_AT + STATE_BYTES;
const _: () = assert!(
    SIGNATURE_AT.is_multiple_of(8)
        && STATE_AT.is_multiple_of(8)
        && HASH_AT.is_multiple_of(8)
        && SESSION_BYTES.is_multiple_of(8),
    "everything after the claims starts on a word"
);

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
    /// Length of the CSM claims in the store (0 without).
    csm_len: usize,
    /// Message bytes hashed (Unsigned only): a multiple of [`HASH_BLOCK`] while hashing, the
    /// message length once the hash is final.
    hashed: usize,
    /// The SHA-384 state; once final, the digest is its first six words, big-endian.
    hash: [u64; 8],
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
            csm_len: 0,
            hashed: 0,
            hash: SHA384_IV,
        }
    }

    /// Where the session is.
    pub const fn phase(&self) -> Phase {
        self.phase
    }

    /// Signing steps done so far for the token in progress, hashing steps included (0
    /// unless Unsigned; the whole signature takes [`signing_steps`] of the claims length).
    pub const fn signing_steps_done(&self) -> usize {
        if !matches!(self.phase, Phase::Unsigned) {
            return 0;
        }
        let total = self.message_len();
        let hashing = if hash_steps(total) == 0 {
            0
        } else if self.hashed >= total {
            hash_steps(total)
        } else {
            self.hashed / (HASH_STEP_BLOCKS * HASH_BLOCK)
        };
        hashing + self.signer.steps_done()
    }

    /// Length of the whole claims map (the CSM claims included).
    pub const fn claims_len(&self) -> usize {
        self.claims_len + self.csm_len
    }

    /// Length of the CSM claims kept in the store (0 without).
    pub const fn csm_len(&self) -> usize {
        self.csm_len
    }

    const fn message_len(&self) -> usize {
        message_len(self.claims_len())
    }

    /// RSI_ATTEST_TOKEN_INIT: abandons any token in progress, encodes the claims and returns
    /// the token's exact length (x1). The platform token must be the one later CONTINUE calls
    /// pass, and at most [`PLATFORM_TOKEN_MAX`] bytes; on error the session is Idle. Claims
    /// with CSM claims need [`Self::init_with`] (here they fail with
    /// [`TokenError::BufferTooSmall`]).
    pub fn init(
        &mut self,
        claims: &RealmClaims<'_>,
        platform_token_len: usize,
    ) -> Result<usize, TokenError> {
        self.init_with(&mut NoStore, claims, platform_token_len)
    }

    /// [`Self::init`], writing the CSM claims (if any) to `store`, which later calls must
    /// pass again unchanged. More than [`MAX_SHARES`] shares, or a store too small for them,
    /// is [`TokenError::BufferTooSmall`].
    pub fn init_with<S: ClaimsStore + ?Sized>(
        &mut self,
        store: &mut S,
        claims: &RealmClaims<'_>,
        platform_token_len: usize,
    ) -> Result<usize, TokenError> {
        self.phase = Phase::Idle;
        self.signer.wipe();
        if platform_token_len > PLATFORM_TOKEN_MAX {
            return Err(TokenError::PlatformTokenTooLarge);
        }
        if claims
            .csm
            .is_some_and(|csm| csm.shares.count() > MAX_SHARES)
        {
            return Err(TokenError::BufferTooSmall);
        }
        let (inline_len, csm_len) = claims.encode_split(&mut self.claims, store)?;
        if csm_len > CSM_CLAIMS_MAX_LEN {
            return Err(TokenError::BufferTooSmall);
        }
        self.claims_len = inline_len;
        self.csm_len = csm_len;
        self.platform_len = platform_token_len;
        self.signature = [0; SIGNATURE_LEN];
        self.hashed = 0;
        self.hash = SHA384_IV;
        self.phase = Phase::Unsigned;
        Ok(self.token_len())
    }

    /// Length of the token in progress (0 when Idle).
    pub fn token_len(&self) -> usize {
        match self.phase {
            Phase::Idle => 0,
            Phase::Unsigned | Phase::Signed { .. } => {
                cca_token_len(self.platform_len, realm_token_len(self.claims_len()))
            }
        }
    }

    /// One bounded step of signing: `InProgress` until the last of [`signing_steps`] steps
    /// (hashing a long message, then [`super::es384::step`]), which signs. Idle:
    /// [`TokenError::NoTokenInProgress`]; Signed: `Done` at once.
    pub fn sign_step(&mut self, key: &RealmSigningKey) -> Result<SignStatus, TokenError> {
        self.sign_step_with(key, &NoStore, &SOFT)
    }

    /// [`Self::sign_step`] of a session whose CSM claims are in `store`, hashing the message
    /// with `engine` (the firmware's: the CPU's SHA-512 instructions). A store smaller than
    /// the session's CSM claims is [`TokenError::BufferTooSmall`].
    pub fn sign_step_with<S: ClaimsStore + ?Sized>(
        &mut self,
        key: &RealmSigningKey,
        store: &S,
        engine: &dyn Sha2Engine,
    ) -> Result<SignStatus, TokenError> {
        match self.phase {
            Phase::Idle => Err(TokenError::NoTokenInProgress),
            Phase::Signed { .. } => Ok(SignStatus::Done),
            Phase::Unsigned => {
                if store.capacity() < self.csm_len {
                    return Err(TokenError::BufferTooSmall);
                }
                let total = self.message_len();
                if self.hashed < total {
                    let fresh = self.hashed == 0;
                    self.hash_step(store, engine);
                    if self.hashed < total || !fresh || total > HASH_WITH_FIRST_STEP_MAX {
                        return Ok(SignStatus::InProgress);
                    }
                }
                let digest = self.digest();
                match key.sign_step_prehashed(&mut self.signer, &digest)? {
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

    /// Hashes up to [`HASH_STEP_BLOCKS`] more blocks of the message; if less than a block
    /// then remains, pads and finishes (`hashed` = the message length).
    fn hash_step<S: ClaimsStore + ?Sized>(&mut self, store: &S, engine: &dyn Sha2Engine) {
        let total = self.message_len();
        // Two blocks as words: aligned, so that the message is read in, and the length
        // written, a word at a time (this target is built for strict alignment).
        let mut block = [[0u64; HASH_BLOCK / 8]; 2];
        let mut done = 0;
        while total - self.hashed >= HASH_BLOCK && done < HASH_STEP_BLOCKS {
            self.read_message(store, self.hashed, block[0].as_mut_bytes());
            let blocks: &[[u8; HASH_BLOCK]; 2] = zerocopy::transmute_ref!(&block);
            engine.compress512(&mut self.hash, &blocks[..1]);
            self.hashed += HASH_BLOCK;
            done += 1;
        }
        let tail = total - self.hashed;
        if tail >= HASH_BLOCK {
            return;
        }
        block = [[0u64; HASH_BLOCK / 8]; 2];
        let flat = block.as_mut_bytes();
        self.read_message(store, self.hashed, &mut flat[..tail]);
        let blocks = crate::sha::pad(&mut block, tail, 16, total as u64);
        let block: &[[u8; HASH_BLOCK]; 2] = zerocopy::transmute_ref!(&block);
        engine.compress512(&mut self.hash, &block[..blocks]);
        self.hashed = total;
    }

    /// The final hash (valid once `hashed` is the message length).
    fn digest(&self) -> [u8; DIGEST_LEN] {
        let mut out = [0u8; DIGEST_LEN];
        for (chunk, word) in out.chunks_exact_mut(8).zip(self.hash) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Copies message bytes from `offset` into `out`.
    fn read_message<S: ClaimsStore + ?Sized>(&self, store: &S, offset: usize, out: &mut [u8]) {
        let claims = self.claims();
        let (head, payload_head) = sig_structure_prefix(self.claims_len());
        let segments = [
            Segment::Bytes(head),
            Segment::Bytes(payload_head.as_bytes()),
            Segment::Bytes(claims),
            Segment::Store(store, self.csm_len),
        ];
        read_segments(&segments, offset, out);
    }

    /// Copies the next bytes of the signed token into `dst` (the realm's buffer from its
    /// offset, `size` bytes long). An empty `dst` copies nothing and returns `Incomplete`.
    pub fn copy_out(
        &mut self,
        platform_token: &[u8],
        dst: &mut [u8],
    ) -> Result<Continue, TokenError> {
        self.copy_out_with(&NoStore, platform_token, dst)
    }

    /// [`Self::copy_out`] of a session whose CSM claims are in `store`.
    pub fn copy_out_with<S: ClaimsStore + ?Sized>(
        &mut self,
        store: &S,
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
        if store.capacity() < self.csm_len {
            return Err(TokenError::BufferTooSmall);
        }
        let stream = TokenStream {
            platform: platform_token,
            claims: self.claims(),
            signature: &self.signature,
            claims_rest: store,
            claims_rest_len: self.csm_len,
        };
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
        should_yield: impl FnMut() -> bool,
    ) -> Result<Continue, TokenError> {
        self.continue_token_with(key, &NoStore, &SOFT, platform_token, dst, should_yield)
    }

    /// [`Self::continue_token`] of a session whose CSM claims are in `store`, hashing with
    /// `engine`.
    pub fn continue_token_with<S: ClaimsStore + ?Sized>(
        &mut self,
        key: &RealmSigningKey,
        store: &S,
        engine: &dyn Sha2Engine,
        platform_token: &[u8],
        dst: &mut [u8],
        mut should_yield: impl FnMut() -> bool,
    ) -> Result<Continue, TokenError> {
        if self.phase == Phase::Unsigned {
            while self.sign_step_with(key, store, engine)? == SignStatus::InProgress {
                if should_yield() {
                    return Ok(Continue::Yield);
                }
            }
            if should_yield() {
                return Ok(Continue::Yield);
            }
        }
        self.copy_out_with(store, platform_token, dst)
    }

    /// Writes the session into `out` (see [`SESSION_BYTES`]). All zeros is an Idle session,
    /// so a freshly zeroed granule holds one. Inline: its one caller in the RMM passes a
    /// word-aligned buffer ([`SavedSession`]), and only where that is known are the saved
    /// form's words stored as words (out of line, each was eight byte stores).
    #[inline]
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
        out[CLAIMS_AT..CLAIMS_AT + CLAIMS_MAX_LEN].copy_from_slice(&self.claims);
        out[SIGNATURE_AT..STATE_AT].copy_from_slice(&self.signature);
        if self.phase == Phase::Unsigned
            && let Some((state, _)) = out[STATE_AT..].split_first_chunk_mut()
        {
            self.signer.save(state);
        }
        let (hashed, hash) = match self.phase {
            Phase::Unsigned => (self.hashed as u64, self.hash),
            Phase::Idle | Phase::Signed { .. } => (0, [0; 8]),
        };
        let words = [self.csm_len as u64, hashed].into_iter().chain(hash);
        for (chunk, word) in out[HASH_AT..].chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
    }

    /// The session saved in `bytes`. Anything inconsistent (an unknown phase, lengths out of
    /// range, more bytes copied than the token has, a signature in progress that
    /// [`SignState::restore`] refuses) restores as Idle: never a panic, never an
    /// out-of-range copy later.
    pub fn restore(bytes: &[u8; SESSION_BYTES]) -> Self {
        let word_at = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(w)
        };
        let word = |i: usize| word_at(i * 8);
        let (phase, copied, platform_len, claims_len) = (word(0), word(1), word(2), word(3));
        let (csm_len, hashed) = (word_at(HASH_AT), word_at(HASH_AT + 8));
        let mut session = Self::new();
        if claims_len == 0
            || claims_len > CLAIMS_MAX_LEN as u64
            || platform_len > PLATFORM_TOKEN_MAX as u64
            || csm_len > CSM_CLAIMS_MAX_LEN as u64
        {
            return session;
        }
        session
            .claims
            .copy_from_slice(&bytes[CLAIMS_AT..CLAIMS_AT + CLAIMS_MAX_LEN]);
        session
            .signature
            .copy_from_slice(&bytes[SIGNATURE_AT..STATE_AT]);
        session.platform_len = platform_len as usize;
        session.claims_len = claims_len as usize;
        session.csm_len = csm_len as usize;
        session.phase = match phase {
            PHASE_UNSIGNED if copied == 0 => {
                let signer = bytes[STATE_AT..]
                    .first_chunk::<STATE_BYTES>()
                    .and_then(SignState::restore);
                match signer {
                    Some(signer) => session.signer = signer,
                    None => return Self::new(),
                }
                // Hashing: a whole number of blocks so far, or done; the signature starts
                // only once the hash is done.
                let total = session.message_len() as u64;
                let consistent = hashed <= total
                    && (hashed == total || hashed.is_multiple_of(HASH_BLOCK as u64))
                    && (hashed == total || session.signer.steps_done() == 0);
                if !consistent {
                    return Self::new();
                }
                session.hashed = hashed as usize;
                for (i, w) in session.hash.iter_mut().enumerate() {
                    *w = word_at(HASH_AT + 16 + i * 8);
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
}
