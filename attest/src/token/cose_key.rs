// SPDX-License-Identifier: MIT OR Apache-2.0
//! The realm public key as a COSE_Key (RFC 9052 §7, EC2): `{1: 2, -1: 2, -2: x, -3: y}` in
//! exactly that order, 107 bytes:
//!
//! ```text
//! a4                 map(4)
//!   01 02            kty (1): EC2 (2)
//!   20 02            crv (-1): P-384 (2)
//!   21 58 30 <x>     x (-2): bstr(48)
//!   22 58 30 <y>     y (-3): bstr(48)
//! ```
//!
//! This byte-exact form is what TF-RMM emits, and what TF-A's fixed sample platform token on
//! QEMU and FVP was made for: its challenge is SHA-256 of these 107 bytes for the sample key.

use sha2::{Digest, Sha256};

/// Length of a P-384 coordinate.
pub const COORD_LEN: usize = 48;

/// Length of the encoded COSE_Key.
pub const COSE_KEY_LEN: usize = 107;

/// The fixed bytes before `x`.
const PREFIX: [u8; 8] = [0xa4, 0x01, 0x02, 0x20, 0x02, 0x21, 0x58, 0x30];
/// The fixed bytes between `x` and `y`.
const MIDDLE: [u8; 3] = [0x22, 0x58, 0x30];

const _: () = assert!(PREFIX.len() + COORD_LEN + MIDDLE.len() + COORD_LEN == COSE_KEY_LEN);

/// An encoded P-384 COSE_Key (public; holds no secret).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoseKey([u8; COSE_KEY_LEN]);

impl CoseKey {
    /// Encodes the affine point (`x`, `y`), both big-endian. The point is not checked; keys
    /// come from [`crate::token::RealmSigningKey::public_key`].
    pub fn from_coordinates(x: &[u8; COORD_LEN], y: &[u8; COORD_LEN]) -> Self {
        let mut out = [0u8; COSE_KEY_LEN];
        let (prefix, rest) = out.split_at_mut(PREFIX.len());
        prefix.copy_from_slice(&PREFIX);
        let (x_out, rest) = rest.split_at_mut(COORD_LEN);
        x_out.copy_from_slice(x);
        let (middle, y_out) = rest.split_at_mut(MIDDLE.len());
        middle.copy_from_slice(&MIDDLE);
        y_out.copy_from_slice(y);
        Self(out)
    }

    /// The 107 encoded bytes: the value of the realm public key claim (44237).
    pub const fn as_bytes(&self) -> &[u8; COSE_KEY_LEN] {
        &self.0
    }

    /// SHA-256 of the encoding: the challenge the RMM passes to
    /// `RMM_ATTEST_GET_PLAT_TOKEN`, and what the platform token's challenge claim must equal.
    pub fn platform_challenge(&self) -> [u8; 32] {
        Sha256::digest(self.0).into()
    }
}
