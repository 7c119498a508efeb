// SPDX-License-Identifier: MIT OR Apache-2.0
//! The realm claims map (RMM 1.0-rel0 A7.2.3.1, reference C.1), encoded with minicbor into
//! a caller buffer in TF-RMM rel0's order:
//!
//! | key | claim | value |
//! |---|---|---|
//! | 10 | challenge | bstr 64 |
//! | 44235 | personalization value (RPV) | bstr 64 |
//! | 44237 | realm public key | bstr 107 (a [`CoseKey`]) |
//! | 44236 | measurement hash algorithm id | tstr `"sha-256"` / `"sha-512"` |
//! | 44240 | public-key hash algorithm id | tstr `"sha-256"` |
//! | 265 | profile | tstr [`PROFILE`] |
//! | 44238 | RIM | bstr of the hash length |
//! | 44239 | REMs | array of 4 bstr of the hash length |
//!
//! Every value has a fixed size for a given hash algorithm, so the encoded length is known in
//! advance ([`claims_len`]).
//!
//! A CSM realm's map has two more claims after the REMs, 65001 and 65002 ([`super::csm`]):
//! the map head says 10 entries instead of 8 and the rest is unchanged. Those two have a
//! length of their own ([`CsmClaims::encoded_len`]) and go to a [`ClaimsStore`] of the
//! caller's ([`RealmClaims::encode_split`]); without them the map is byte for byte TF-RMM's.

use super::cbor::bstr_item_len;
use super::cose_key::{COSE_KEY_LEN, CoseKey};
use super::csm::CsmClaims;
use super::error::TokenError;
use super::store::{ClaimsStore, StoreWriter};
use minicbor::Encoder;
use minicbor::encode::write::{Cursor, Write};
use rmm_abi::measurement::{Measurement, NUM_REMS};
use rmm_abi::rmi::states::HashAlgorithm;

/// Claim keys of the realm token and the CCA collection.
pub mod keys {
    /// Realm challenge.
    pub const CHALLENGE: u64 = 10;
    /// EAT profile.
    pub const PROFILE: u64 = 265;
    /// Collection: the platform token.
    pub const PLATFORM_TOKEN: u64 = 44234;
    /// Realm personalization value.
    pub const PERSONALIZATION: u64 = 44235;
    /// Realm measurement hash algorithm id.
    pub const HASH_ALGO_ID: u64 = 44236;
    /// Realm public key.
    pub const PUBLIC_KEY: u64 = 44237;
    /// Realm initial measurement.
    pub const RIM: u64 = 44238;
    /// Realm extensible measurements.
    pub const REMS: u64 = 44239;
    /// Realm public key hash algorithm id.
    pub const PUBLIC_KEY_HASH_ALGO_ID: u64 = 44240;
    /// Collection: the realm token.
    pub const REALM_TOKEN: u64 = 44241;
}

/// Length of the challenge (RSI_ATTEST_TOKEN_INIT x1..x8).
pub const CHALLENGE_LEN: usize = 64;
/// Length of the realm personalization value.
pub const RPV_LEN: usize = 64;
/// The profile claim of a realm token with a COSE_Key public key (RMM 1.0).
pub const PROFILE: &str = "tag:arm.com,2023:realm#1.0.0";
/// The public-key hash algorithm: the platform token binds SHA-256 of the key.
pub const PUBLIC_KEY_HASH_ALGO: &str = "sha-256";

/// Number of claims in the map without CSM claims.
const NUM_CLAIMS: u64 = 8;

/// Number of claims in the map of a CSM realm.
const NUM_CLAIMS_CSM: u64 = NUM_CLAIMS + 2;

/// The IANA hash name of a measurement algorithm.
pub const fn hash_algo_name(algorithm: HashAlgorithm) -> &'static str {
    match algorithm {
        HashAlgorithm::Sha256 => "sha-256",
        HashAlgorithm::Sha512 => "sha-512",
    }
}

/// The inputs of the realm claims, borrowed from the RD (taken under its lock), the REC's
/// challenge and the RMM's key.
#[derive(Clone, Copy, Debug)]
pub struct RealmClaims<'a> {
    /// The challenge from RSI_ATTEST_TOKEN_INIT.
    pub challenge: &'a [u8; CHALLENGE_LEN],
    /// The RPV given at REALM_CREATE.
    pub personalization: &'a [u8; RPV_LEN],
    /// The realm public key.
    pub public_key: &'a CoseKey,
    /// The realm's measurement algorithm: the RIM and REMs are its digest length.
    pub hash_algo: HashAlgorithm,
    /// The RIM (measurement slot 0), zero-padded to 64 bytes.
    pub rim: &'a Measurement,
    /// The REMs (measurement slots 1..=4), zero-padded to 64 bytes.
    pub rems: &'a [Measurement; NUM_REMS],
    /// The CSM claims (65001, 65002) of a CSM realm (one with an APT), a snapshot taken at
    /// INIT; `None` for any other realm, whose token is then exactly the reference RMM's.
    pub csm: Option<CsmClaims<'a>>,
}

/// Length of an unsigned integer item (CBOR head of major type 0) for `v`.
pub(crate) const fn uint_len(v: u64) -> usize {
    if v < 24 {
        1
    } else if v <= 0xFF {
        2
    } else if v <= 0xFFFF {
        3
    } else if v <= 0xFFFF_FFFF {
        5
    } else {
        9
    }
}

/// Length of a text string item of `len` bytes (same head sizes as byte strings).
const fn tstr_item_len(len: usize) -> usize {
    bstr_item_len(len)
}

/// The exact encoded length of the claims map for `algorithm`.
pub const fn claims_len(algorithm: HashAlgorithm) -> usize {
    let h = algorithm.digest_len();
    1 // map(8)
        + uint_len(keys::CHALLENGE) + bstr_item_len(CHALLENGE_LEN)
        + uint_len(keys::PERSONALIZATION) + bstr_item_len(RPV_LEN)
        + uint_len(keys::PUBLIC_KEY) + bstr_item_len(COSE_KEY_LEN)
        + uint_len(keys::HASH_ALGO_ID) + tstr_item_len(hash_algo_name(algorithm).len())
        + uint_len(keys::PUBLIC_KEY_HASH_ALGO_ID) + tstr_item_len(PUBLIC_KEY_HASH_ALGO.len())
        + uint_len(keys::PROFILE) + tstr_item_len(PROFILE.len())
        + uint_len(keys::RIM) + bstr_item_len(h)
        + uint_len(keys::REMS) + 1 + NUM_REMS * bstr_item_len(h)
}

/// The largest claims map without CSM claims (SHA-512): what a session keeps inline; the
/// CSM claims go to its [`ClaimsStore`].
pub const CLAIMS_MAX_LEN: usize = claims_len(HashAlgorithm::Sha512);

impl<'a> RealmClaims<'a> {
    /// Exact encoded length: [`claims_len`] of the hash algorithm, plus the CSM claims'.
    pub fn encoded_len(&self) -> usize {
        claims_len(self.hash_algo)
            + match &self.csm {
                Some(csm) => csm.encoded_len(),
                None => 0,
            }
    }

    /// Encodes the whole map at the start of `out` and returns its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, TokenError> {
        let len = out.len();
        let Some((head, rest)) = out.split_at_mut_checked(claims_len(self.hash_algo).min(len))
        else {
            return Err(TokenError::BufferTooSmall);
        };
        let (head_len, rest_len) = self.encode_split(head, rest)?;
        Ok(head_len + rest_len)
    }

    /// Encodes the map up to the REMs (included) at the start of `inline`, and the CSM claims
    /// (if any) at the start of `store`; returns both lengths. The map is their
    /// concatenation.
    pub fn encode_split<S: ClaimsStore + ?Sized>(
        &self,
        inline: &mut [u8],
        store: &mut S,
    ) -> Result<(usize, usize), TokenError> {
        let inline_len = self.encode_inline(inline)?;
        let csm_len = match &self.csm {
            None => 0,
            Some(csm) => {
                let mut out = StoreWriter::new(store);
                csm.write_to(&mut out)?;
                out.finish().map_err(|_| TokenError::BufferTooSmall)?
            }
        };
        Ok((inline_len, csm_len))
    }

    /// Encodes the map up to the REMs (included) at the start of `inline`; returns its length.
    /// Not generic: the encoder's code is instantiated once, in this crate, and not again in
    /// the crate of each session's store type.
    fn encode_inline(&self, inline: &mut [u8]) -> Result<usize, TokenError> {
        let mut enc = Encoder::new(Cursor::new(inline));
        self.write(&mut enc)
            .map_err(|_| TokenError::BufferTooSmall)?;
        Ok(enc.into_writer().position())
    }

    fn write<W: Write>(
        &self,
        enc: &mut Encoder<W>,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        let h = self.hash_algo.digest_len();
        // A digest is never longer than its 64-byte buffer.
        let digest = |m: &'a Measurement| m.get(..h).unwrap_or(m);
        let num_claims = if self.csm.is_some() {
            NUM_CLAIMS_CSM
        } else {
            NUM_CLAIMS
        };
        enc.map(num_claims)?
            .u64(keys::CHALLENGE)?
            .bytes(self.challenge)?
            .u64(keys::PERSONALIZATION)?
            .bytes(self.personalization)?
            .u64(keys::PUBLIC_KEY)?
            .bytes(self.public_key.as_bytes())?
            .u64(keys::HASH_ALGO_ID)?
            .str(hash_algo_name(self.hash_algo))?
            .u64(keys::PUBLIC_KEY_HASH_ALGO_ID)?
            .str(PUBLIC_KEY_HASH_ALGO)?
            .u64(keys::PROFILE)?
            .str(PROFILE)?
            .u64(keys::RIM)?
            .bytes(digest(self.rim))?
            .u64(keys::REMS)?
            .array(NUM_REMS as u64)?;
        for rem in self.rems {
            enc.bytes(digest(rem))?;
        }
        Ok(())
    }
}
