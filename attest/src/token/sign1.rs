// SPDX-License-Identifier: MIT OR Apache-2.0
//! The realm token's COSE_Sign1 framing (RFC 9052 §4.2) and the Sig_structure it signs:
//!
//! ```text
//! d2                       tag 18
//! 84                       array(4)
//!   44 a1 01 38 22         protected: bstr({1: -35})   ; alg ES384
//!   a0                     unprotected: {}
//!   59 LL LL <claims>      payload: bstr(claims map)
//!   58 60 <r ‖ s>          signature: bstr(96)
//!
//! Sig_structure = ["Signature1", h'a10138 22', h'', payload]
//! ```

use super::cbor::{Head, bstr_head, bstr_item_len};
use super::error::TokenError;
use super::key::SIGNATURE_LEN;
use minicbor::Encoder;
use minicbor::data::Tag;
use minicbor::encode::write::Cursor;

/// CBOR tag of a COSE_Sign1.
pub const TAG_COSE_SIGN1: u64 = 18;

/// The protected header `{1: -35}` (alg: ES384), as encoded inside its bstr.
pub const PROTECTED: [u8; 4] = [0xa1, 0x01, 0x38, 0x22];

/// Everything before the payload's bstr head: tag 18, array(4), the protected bstr and the
/// empty unprotected map.
pub const HEAD: [u8; 8] = [0xd2, 0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0];

/// The signature's bstr head.
pub const SIGNATURE_HEAD: [u8; 2] = [0x58, SIGNATURE_LEN as u8];

/// Sig_structure up to the payload's content: array(4), "Signature1", the protected bstr,
/// the empty external AAD.
const SIG_STRUCTURE_HEAD: [u8; 18] = [
    0x84, 0x6a, b'S', b'i', b'g', b'n', b'a', b't', b'u', b'r', b'e', b'1', 0x44, 0xa1, 0x01, 0x38,
    0x22, 0x40,
];

/// Length of the realm token around a payload of `payload_len` bytes.
pub const fn realm_token_len(payload_len: usize) -> usize {
    HEAD.len() + bstr_item_len(payload_len) + SIGNATURE_HEAD.len() + SIGNATURE_LEN
}

/// The Sig_structure as the two parts to hash before the payload itself: its fixed head and
/// the payload's bstr head. Sign `[parts.0, parts.1.as_bytes(), payload]`.
pub const fn sig_structure_prefix(payload_len: usize) -> (&'static [u8], Head) {
    (&SIG_STRUCTURE_HEAD, bstr_head(payload_len))
}

/// Encodes the whole realm token (one shot, with minicbor) into `out`; returns its length.
pub fn encode_realm_token(
    payload: &[u8],
    signature: &[u8; SIGNATURE_LEN],
    out: &mut [u8],
) -> Result<usize, TokenError> {
    let mut enc = Encoder::new(Cursor::new(out));
    enc.tag(Tag::new(TAG_COSE_SIGN1))
        .and_then(|e| e.array(4))
        .and_then(|e| e.bytes(&PROTECTED))
        .and_then(|e| e.map(0))
        .and_then(|e| e.bytes(payload))
        .and_then(|e| e.bytes(signature))
        .map_err(|_| TokenError::BufferTooSmall)?;
    Ok(enc.into_writer().position())
}
