// SPDX-License-Identifier: MIT OR Apache-2.0
//! The realm attestation key (RAK): the P-384 private scalar EL3 hands over once at boot
//! (`RMM_ATTEST_GET_REALM_KEY`, curve 0, 48 raw big-endian bytes), held only here.
//!
//! [`RealmSigningKey`] is neither `Clone` nor `Copy`; its scalar is wiped when it is dropped,
//! and the raw bytes it was made from are wiped by the constructor. Moving the value can leave a stale copy on the stack, so the RMM should
//! build it directly in its final home (for example inside `spin::Once::call_once`) and wipe
//! the shared-page buffer EL3 wrote it to.

use super::cose_key::{COORD_LEN, CoseKey};
use super::error::TokenError;
use super::es384::{self, SignState};
use core::fmt;
use p384::NonZeroScalar;
use p384::ecdsa::signature::MultipartSigner;
use p384::ecdsa::{Signature, SigningKey};
use p384::elliptic_curve::point::AffineCoordinates;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of the raw private scalar.
pub const PRIVATE_KEY_LEN: usize = 48;

/// Length of an ES384 signature (r ‖ s).
pub const SIGNATURE_LEN: usize = 96;

/// The realm attestation key and its public COSE_Key.
pub struct RealmSigningKey {
    /// The private scalar `d` (not p384's `SigningKey`: that computes the public key with a
    /// scalar multiplication of its own, code the signer's `d·G` already has).
    key: NonZeroScalar,
    public: CoseKey,
}

impl RealmSigningKey {
    /// Imports the raw 48-byte scalar (big-endian, in `[1, n)`) and wipes `raw`, also on
    /// failure. The public key `d·G` is computed with the signer's own constant-time
    /// fixed-base multiplication ([`es384::mul_generator`]), which also builds its table of
    /// generator multiples, once, so that no signature builds it.
    pub fn from_raw_scalar(raw: &mut [u8; PRIVATE_KEY_LEN]) -> Result<Self, TokenError> {
        let key = NonZeroScalar::from_repr((*raw).into()).into_option();
        raw.zeroize();
        let key = key.ok_or(TokenError::InvalidKey)?;
        let point = es384::mul_generator(&key).to_affine();
        let x: [u8; COORD_LEN] = point.x().into();
        let y: [u8; COORD_LEN] = point.y().into();
        Ok(Self {
            public: CoseKey::from_coordinates(&x, &y),
            key,
        })
    }

    /// Imports the scalar from the first [`PRIVATE_KEY_LEN`] bytes of `raw` (the buffer EL3
    /// wrote) and wipes all of `raw`. Any other length is [`TokenError::InvalidKey`].
    pub fn from_raw_slice(raw: &mut [u8]) -> Result<Self, TokenError> {
        let result = match <&mut [u8; PRIVATE_KEY_LEN]>::try_from(&mut *raw) {
            Ok(exact) => Self::from_raw_scalar(exact),
            Err(_) => Err(TokenError::InvalidKey),
        };
        raw.zeroize();
        result
    }

    /// The public key as the COSE_Key of the realm public key claim.
    pub const fn public_key(&self) -> &CoseKey {
        &self.public
    }

    /// ES384 over the concatenation of `parts` (SHA-384, RFC 6979 deterministic nonce):
    /// 96 bytes r ‖ s, as COSE wants them, in one uninterruptible call (p384's own
    /// `try_multipart_sign`). The RMM signs in steps instead ([`Self::sign_step`]); this is
    /// the reference the steps are tested against.
    pub fn sign(&self, parts: &[&[u8]]) -> Result<[u8; SIGNATURE_LEN], TokenError> {
        let signature: Signature = SigningKey::from(self.key)
            .try_multipart_sign(parts)
            .map_err(|_| TokenError::Signing)?;
        Ok(signature.to_bytes().into())
    }

    /// One bounded step of the same ES384 signature over `parts` ([`es384::step`]):
    /// `Some(r ‖ s)` once done, byte for byte what [`Self::sign`] gives; `None` while steps
    /// remain, the progress kept in `state`. `parts` must not change between the steps of
    /// one signature.
    pub fn sign_step(
        &self,
        state: &mut SignState,
        parts: &[&[u8]],
    ) -> Result<Option<[u8; SIGNATURE_LEN]>, TokenError> {
        es384::step(&self.key, state, parts)
    }

    /// [`Self::sign_step`] for a message whose SHA-384 is `digest` ([`es384::step_prehashed`]):
    /// the same signature.
    pub fn sign_step_prehashed(
        &self,
        state: &mut SignState,
        digest: &[u8; es384::DIGEST_LEN],
    ) -> Result<Option<[u8; SIGNATURE_LEN]>, TokenError> {
        es384::step_prehashed(&self.key, state, digest)
    }
}

impl Drop for RealmSigningKey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl ZeroizeOnDrop for RealmSigningKey {}

impl fmt::Debug for RealmSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RealmSigningKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}
