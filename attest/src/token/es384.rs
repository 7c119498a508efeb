// SPDX-License-Identifier: MIT OR Apache-2.0
//! ES384 (ECDSA over P-384 with SHA-384 and an RFC 6979 nonce) in bounded steps, byte for
//! byte the signature p384 0.14 / ecdsa 0.17 `try_multipart_sign` makes in one call.
//!
//! This file owns [`SignState`], everything a signature in progress needs between two steps,
//! its fixed serialised form ([`STATE_BYTES`]) and the step function, [`step`]. The RAK
//! itself stays in [`super::key`], which calls [`step`] with its scalar.
//!
//! What one-shot signing does (`ecdsa::hazmat::sign_prehashed_rfc6979`, p384 has no
//! precomputed tables and no low-S normalisation) and how it is split:
//!
//! | step | work |
//! |---|---|
//! | first | `h = SHA-384(message)`, `k` = the RFC 6979 nonce from (d, h) (HMAC-SHA-384 DRBG), then the first digits of `k·G` |
//! | middle | more digits of `k·G` |
//! | last | the last digits, `R = k·G` made affine, `r = R.x mod n`, `s = k⁻¹(z + r·d) mod n` with `z = h mod n` |
//!
//! `k·G` is primeorder's own constant-time algorithm (`ProjectivePoint::mul`), walked
//! digit by digit: `k` in signed radix 16 ([`Radix16Decomposition`], 97 digits in
//! `[-8, 8]`), a [`LookupTable`] of `G, 2G, …, 8G`, and from the top digit down
//! `Q ← 16·Q + table.select(digit)` (four doublings, one complete addition). [`SCHEDULE`]
//! says how many digits each step takes. Between steps `Q` is kept affine (one field
//! inversion per step, constant time: safegcd) with its identity flag; the next step
//! checks it is on the curve and goes on from it. The same group element comes out, so the
//! same signature.
//!
//! Constant time (secret: `d`, `k`, `h`, `Q`): SHA-384 and HMAC are data-independent; the
//! nonce's range check is crypto-bigint's constant-time comparison; the digit recoding is
//! shifts and adds; `select` is a constant-time scan of all 8 entries with a conditional
//! negation; point doubling and addition are complete formulas without branches; the field
//! and scalar inversions are constant time; the affine round trip uses `CtOption` and
//! conditional selection (the identity flag included). Which digits a step takes depends
//! only on the step number, never on `k`. Not constant time: the RFC 6979 DRBG's retry when
//! a candidate nonce is out of range and the restart with the next nonce when `r` or `s` is
//! zero (both have probability about 2⁻¹⁹⁰ and below, as in p384, and reveal nothing about
//! the nonce actually used).
//!
//! Secrets at rest: `k`, `h` and `Q` live only in [`SignState`], which the RMM keeps in the
//! REC's auxiliary granule; it is wiped when the signature is done, on a restart and on drop.
//! Temporaries inside p384, primeorder and rfc6979 (the digit array, the DRBG state) are
//! theirs and not wiped; in the RMM they are on its private stack.

use super::error::TokenError;
use super::key::SIGNATURE_LEN;
use crate::sha384_digest::Sha384Digest;
use core::fmt;
use p384::ecdsa::Signature;
use p384::elliptic_curve::Curve;
use p384::elliptic_curve::bigint::Reduce;
use p384::elliptic_curve::ff::PrimeField;
use p384::elliptic_curve::ops::Invert;
use p384::elliptic_curve::point::AffineCoordinates;
use p384::elliptic_curve::subtle::{Choice, ConditionallySelectable};
use p384::{AffinePoint, FieldBytes, NistP384, NonZeroScalar, ProjectivePoint, Scalar, U384};
use primeorder::{Double, LookupTable, Radix16Decomposition, Radix16Digits};
use rfc6979::KGenerator;
use rfc6979::hmac::digest::Digest;
use zerocopy::IntoBytes;
use zeroize::Zeroize;

/// `G, 2G, …, 8G`: public, the same for every signature, so built once and kept, instead of 7
/// point additions and its 1,152 bytes on the stack in every step. Importing a key builds it
/// ([`generator_table`]; the firmware imports its key at boot), so no token pays for it, not
/// even the first after boot (it cost that one about 99,500 instructions).
static GENERATOR_TABLE: spin::Once<LookupTable<ProjectivePoint>> = spin::Once::new();

/// [`GENERATOR_TABLE`], built on first use.
pub(crate) fn generator_table() -> &'static LookupTable<ProjectivePoint> {
    GENERATOR_TABLE.call_once(|| LookupTable::new(ProjectivePoint::GENERATOR))
}

/// Signed radix-16 digits of a P-384 scalar (two per byte and a carry digit).
pub const DIGITS: usize = 97;

/// Digits of `k` each step handles, first step first (the first also makes the nonce, the
/// last also finishes the signature). Chosen from instruction counts on the target
/// (`docs/attestation.md`) so that no step, with the RMM's work around it, comes near
/// 2,000,000 instructions.
pub const SCHEDULE: [u8; STEPS] = [15, 17, 17, 17, 16, 15];

/// Number of steps one signature takes (one more for each restart with a new nonce, which
/// happens with probability about 2⁻³⁸³).
pub const STEPS: usize = 6;

const _: () = {
    let mut sum = 0;
    let mut i = 0;
    while i < STEPS {
        assert!(SCHEDULE[i] > 0);
        sum += SCHEDULE[i] as usize;
        i += 1;
    }
    assert!(sum == DIGITS);
};

/// RFC 6979 candidates one signature may try (the first and restarts). The first step
/// draws `attempt + 1` candidates from the DRBG, so this also bounds that step's work; a
/// restart happens with probability about 2⁻³⁸³, so no honest signature comes near the bound,
/// and a saved state claiming more is refused as corrupt.
pub const MAX_ATTEMPTS: u32 = 8;

/// Bytes of the 48-byte values.
const LEN: usize = 48;

/// A 48-byte value of a [`SignState`], kept as six words: its bytes in memory order (viewed
/// with `zerocopy`), and wiped with six word stores where a byte array took 48.
type Value = [u64; LEN / 8];

/// Size of [`SignState`]'s serialised form: step, identity flag and attempt (one word), then
/// `k`, `h`, and `Q`'s x and y.
pub const STATE_BYTES: usize = 8 + 4 * LEN;

/// A signature in progress. All zeros (`new`) is "not started".
#[derive(Clone)]
pub struct SignState {
    /// Steps done with the current nonce (0..STEPS).
    step: u8,
    /// Whether `Q` is the identity (1) or `(x, y)` (0).
    identity: u8,
    /// Which RFC 6979 candidate is in use (0 = the first; see the module docs).
    attempt: u32,
    /// Whether `k`, `h`, `x` or `y` may be non-zero (not saved: a saved state holds them
    /// exactly when its step is not 0). Lets [`Self::wipe`] skip a state that holds nothing,
    /// the common case (INIT, and every CONTINUE once signed).
    dirty: bool,
    k: Value,
    h: Value,
    x: Value,
    y: Value,
}

impl SignState {
    /// Not started.
    pub const fn new() -> Self {
        Self {
            step: 0,
            identity: 0,
            attempt: 0,
            dirty: false,
            k: [0; LEN / 8],
            h: [0; LEN / 8],
            x: [0; LEN / 8],
            y: [0; LEN / 8],
        }
    }

    /// Steps done so far with the current nonce.
    pub const fn steps_done(&self) -> usize {
        self.step as usize
    }

    /// Forgets everything (the nonce, the hash, the partial point). Out of line: a drop of
    /// every state runs it.
    #[inline(never)]
    pub fn wipe(&mut self) {
        self.step = 0;
        self.identity = 0;
        self.attempt = 0;
        if self.dirty {
            self.k.zeroize();
            self.h.zeroize();
            self.x.zeroize();
            self.y.zeroize();
            self.dirty = false;
        }
    }

    /// Writes the state into `out`.
    pub fn save(&self, out: &mut [u8; STATE_BYTES]) {
        out[0] = self.step;
        out[1] = self.identity;
        out[2..4].fill(0);
        out[4..8].copy_from_slice(&self.attempt.to_le_bytes());
        for (i, part) in [&self.k, &self.h, &self.x, &self.y].into_iter().enumerate() {
            out[8 + i * LEN..8 + (i + 1) * LEN].copy_from_slice(part.as_bytes());
        }
    }

    /// The state saved in `bytes`, if it is one [`step`] can continue from: a step number
    /// below [`STEPS`], an identity flag of 0 or 1, an attempt below [`MAX_ATTEMPTS`], and
    /// (once started) a nonce in `[1, n)` and a partial point on the curve. `None` for
    /// anything else.
    pub fn restore(bytes: &[u8; STATE_BYTES]) -> Option<Self> {
        let part = |i: usize| {
            let mut v: Value = [0; LEN / 8];
            v.as_mut_bytes()
                .copy_from_slice(&bytes[8 + i * LEN..8 + (i + 1) * LEN]);
            v
        };
        let mut attempt = [0u8; 4];
        attempt.copy_from_slice(&bytes[4..8]);
        let state = Self {
            step: bytes[0],
            identity: bytes[1],
            attempt: u32::from_le_bytes(attempt),
            dirty: true,
            k: part(0),
            h: part(1),
            x: part(2),
            y: part(3),
        };
        let valid = usize::from(state.step) < STEPS
            && state.identity <= 1
            && state.attempt < MAX_ATTEMPTS
            && bytes[2..4] == [0, 0]
            && (state.step == 0 || (state.nonce().is_some() && state.partial().is_some()));
        valid.then_some(state)
    }

    /// The nonce, if it is a valid one.
    fn nonce(&self) -> Option<NonZeroScalar> {
        NonZeroScalar::from_repr(bytes_of(&self.k).into()).into_option()
    }

    /// `Q`, if it is the identity or a point on the curve.
    fn partial(&self) -> Option<ProjectivePoint> {
        let identity = Choice::from(self.identity & 1);
        let point =
            AffinePoint::from_coordinates(&bytes_of(&self.x).into(), &bytes_of(&self.y).into());
        let valid = point.is_some() | identity;
        let point = AffinePoint::conditional_select(
            &point.unwrap_or(AffinePoint::IDENTITY),
            &AffinePoint::IDENTITY,
            identity,
        );
        bool::from(valid).then(|| point.into())
    }

    /// Keeps `q` (affine, with its identity flag) for the next step.
    fn keep(&mut self, q: &ProjectivePoint) {
        let mut affine = q.to_affine();
        self.identity = affine.is_identity().unwrap_u8();
        self.x.as_mut_bytes().copy_from_slice(&affine.x());
        self.y.as_mut_bytes().copy_from_slice(&affine.y());
        affine.zeroize();
    }
}

/// The bytes of a [`Value`], in memory order.
fn bytes_of(value: &Value) -> [u8; LEN] {
    zerocopy::transmute!(*value)
}

impl Default for SignState {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for SignState {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl fmt::Debug for SignState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignState")
            .field("step", &self.step)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

/// How many digits, counted from the bottom (`digits[..n]`), are still to do when step `step`
/// starts: the step handles `digits[n - SCHEDULE[step]..n]`, top digit first.
const fn remaining_before(step: usize) -> usize {
    let mut left = DIGITS;
    let mut i = 0;
    while i < step {
        left -= SCHEDULE[i] as usize;
        i += 1;
    }
    left
}

/// One bounded step of the signature of `message` (the concatenation of its parts) under
/// `d`: `Ok(Some(r ‖ s))` when the signature is done (the state is wiped then), `Ok(None)`
/// when more steps are needed. The message must be the same at every step of one signature.
pub fn step(
    d: &NonZeroScalar,
    state: &mut SignState,
    message: &[&[u8]],
) -> Result<Option<[u8; SIGNATURE_LEN]>, TokenError> {
    run(d, state, || {
        let mut hasher = Sha384Digest::new();
        for part in message {
            hasher.update(part);
        }
        hasher.finalize().into()
    })
}

/// [`step`] for a message whose SHA-384 the caller computed (`digest`, the same at every
/// step of one signature): the same signature, without hashing in the first step. The
/// session hashes a long message in steps of its own ([`super::session`]).
pub fn step_prehashed(
    d: &NonZeroScalar,
    state: &mut SignState,
    digest: &[u8; DIGEST_LEN],
) -> Result<Option<[u8; SIGNATURE_LEN]>, TokenError> {
    run(d, state, || *digest)
}

/// Length of a SHA-384 digest.
pub const DIGEST_LEN: usize = LEN;

/// One step; `digest` gives the message's SHA-384 when the first step needs it.
fn run(
    d: &NonZeroScalar,
    state: &mut SignState,
    digest: impl FnOnce() -> [u8; LEN],
) -> Result<Option<[u8; SIGNATURE_LEN]>, TokenError> {
    let index = usize::from(state.step);
    if index >= STEPS {
        return Err(TokenError::Signing);
    }
    if index == 0 {
        start(d, state, digest());
    }
    let k = state.nonce().ok_or(TokenError::Signing)?;
    let mut q = state.partial().ok_or(TokenError::Signing)?;

    let top = remaining_before(index);
    let bottom = top - SCHEDULE[index] as usize;
    q = accumulate(q, &k, bottom, top);

    if bottom > 0 {
        state.keep(&q);
        q.zeroize();
        state.step += 1;
        return Ok(None);
    }
    let done = finish(d, &k, &bytes_of(&state.h), &q);
    q.zeroize();
    match done {
        Some(signature) => {
            state.wipe();
            Ok(Some(signature))
        }
        None => {
            // r or s is zero: ecdsa takes the next RFC 6979 candidate; so do we, up to
            // MAX_ATTEMPTS candidates in all.
            let attempt = state.attempt + 1;
            state.wipe();
            if attempt >= MAX_ATTEMPTS {
                return Err(TokenError::Signing);
            }
            state.attempt = attempt;
            Ok(None)
        }
    }
}

/// `Q ← 16^(top - bottom)·Q + (the value of k's digits bottom..top)·G`: primeorder's
/// `lincomb` for one point, from digit `top - 1` down to `bottom` (the top digit of `k` adds
/// without doublings before it). Constant time in `k` and `Q`.
#[inline(never)]
fn accumulate(mut q: ProjectivePoint, k: &Scalar, bottom: usize, top: usize) -> ProjectivePoint {
    let table = generator_table();
    let digits = Radix16Decomposition::<Radix16Digits<NistP384>>::new(k);
    for i in (bottom..top).rev() {
        if i != DIGITS - 1 {
            for _ in 0..4 {
                q.double_in_place();
            }
        }
        q = q.add(&select(table, digits[i]));
    }
    q
}

/// `digit·G` from the table, in constant time: the table's scan of all its entries, kept out
/// of line (inlined into the digit loop it moved each entry through one more copy: the
/// attestation total +0.2%).
#[inline(never)]
fn select(table: &LookupTable<ProjectivePoint>, digit: i8) -> ProjectivePoint {
    table.select(digit)
}

/// `d·G`, in constant time: every digit of `d`, as the signature's steps walk `k`'s (the
/// realm public key; the same point p384's `mul_by_generator` gives).
pub fn mul_generator(d: &NonZeroScalar) -> ProjectivePoint {
    accumulate(ProjectivePoint::IDENTITY, d, 0, DIGITS)
}

/// The first step's extra work: `h` and the nonce of the current attempt; `Q` = identity.
fn start(d: &NonZeroScalar, state: &mut SignState, h: [u8; LEN]) {
    state.dirty = true;
    state.h.as_mut_bytes().copy_from_slice(&h);

    let mut secret = d.to_repr();
    let order: U384 = *NistP384::ORDER;
    let mut kgen = KGenerator::<Sha384Digest, U384>::new(&secret, state.h.as_bytes(), &[], &order);
    // Drawn straight into the state (which the wipe clears), not through a copy to wipe.
    for _ in 0..=state.attempt {
        kgen.fill_next_k(state.k.as_mut_bytes());
    }
    secret.zeroize();
    state.identity = 1;
    state.x.zeroize();
    state.y.zeroize();
}

/// `r ‖ s` from `R = k·G` (`q`), or `None` if `r` or `s` is zero.
fn finish(
    d: &NonZeroScalar,
    k: &NonZeroScalar,
    h: &[u8; LEN],
    q: &ProjectivePoint,
) -> Option<[u8; SIGNATURE_LEN]> {
    let mut big_r = q.to_affine();
    let mut z = <Scalar as Reduce<FieldBytes>>::reduce(&(*h).into());
    let mut r = <Scalar as Reduce<FieldBytes>>::reduce(&big_r.x());
    let mut k_inv = *k.invert();
    let mut s = k_inv * (z + r * d.as_ref());
    let signature = Signature::from_scalars(r, s).ok();
    big_r.zeroize();
    z.zeroize();
    r.zeroize();
    k_inv.zeroize();
    s.zeroize();
    signature.map(|signature| signature.to_bytes().into())
}
