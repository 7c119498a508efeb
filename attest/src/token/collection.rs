// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CCA token collection (reference C.1): tag 399 over a two-entry map, platform token
//! first, as TF-RMM emits it:
//!
//! ```text
//! d9 01 8f                 tag 399
//! a2                       map(2)
//!   19 ac ca  bstr(platform token)      ; 44234
//!   19 ac d1  bstr(realm token)         ; 44241
//! ```

use super::cbor::bstr_item_len;
use super::claims::{claims_len, keys};
use super::error::TokenError;
use super::sign1::realm_token_len;
use minicbor::Encoder;
use minicbor::data::Tag;
use minicbor::encode::write::Cursor;
use rmm_abi::rmi::states::HashAlgorithm;

/// CBOR tag of the CCA token collection.
pub const TAG_CCA_TOKEN: u64 = 399;

/// Tag 399, map(2), key 44234: the bytes before the platform token's bstr head.
pub const HEAD: [u8; 7] = [0xd9, 0x01, 0x8f, 0xa2, 0x19, 0xac, 0xca];

/// Key 44241: the bytes between the platform token and the realm token's bstr head.
pub const REALM_KEY: [u8; 3] = [0x19, 0xac, 0xd1];

/// The longest platform token the RMM accepts from EL3: 8 KiB, twice TF-RMM's default
/// buffer (`ATTEST_PLAT_TOKEN_SIZE`, 0x1000) and twice the bound TF-A asserts for tokens it
/// fetches from an RSE (TF-A's sample token is 1,518 bytes). Static memory: the RMM keeps
/// one buffer of this size.
pub const PLATFORM_TOKEN_MAX: usize = 0x2000;

/// Length of the collection holding tokens of these lengths.
pub const fn cca_token_len(platform_len: usize, realm_len: usize) -> usize {
    HEAD.len() + bstr_item_len(platform_len) + REALM_KEY.len() + bstr_item_len(realm_len)
}

/// The exact length of the CCA token of a realm using `algorithm`, with a platform token of
/// `platform_len` bytes: every realm claim has a fixed size, so this is known at INIT.
pub const fn token_len(algorithm: HashAlgorithm, platform_len: usize) -> usize {
    cca_token_len(platform_len, realm_token_len(claims_len(algorithm)))
}

/// Encodes the collection (one shot, with minicbor) into `out`; returns its length.
pub fn encode_cca_token(
    platform_token: &[u8],
    realm_token: &[u8],
    out: &mut [u8],
) -> Result<usize, TokenError> {
    let mut enc = Encoder::new(Cursor::new(out));
    enc.tag(Tag::new(TAG_CCA_TOKEN))
        .and_then(|e| e.map(2))
        .and_then(|e| e.u64(keys::PLATFORM_TOKEN))
        .and_then(|e| e.bytes(platform_token))
        .and_then(|e| e.u64(keys::REALM_TOKEN))
        .and_then(|e| e.bytes(realm_token))
        .map_err(|_| TokenError::BufferTooSmall)?;
    Ok(enc.into_writer().position())
}
