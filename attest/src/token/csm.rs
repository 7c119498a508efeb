// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Confidential Shared Memory claims of the realm token (`docs/csm.md`, "Attestation
//! token"): a snapshot of the realm's CSM state taken at RSI_ATTEST_TOKEN_INIT, appended to
//! the realm claims map after the REMs when the realm has an APT.
//!
//! | key | claim | value |
//! |---|---|---|
//! | 65001 | `csm-realm-id` | uint: the realm's RealmId |
//! | 65002 | `csm-shares` | array of share maps (below), at most [`MAX_SHARES`] |
//!
//! A share map ([`share_keys`], ascending, every key always present):
//!
//! | key | field | value |
//! |---|---|---|
//! | 1 | role | uint: 1 provider (a grant the realm gave), 2 consumer (a grant it received) |
//! | 2 | region id | uint: the provider's RegionId |
//! | 3 | share id | uint: the grant's ShareId |
//! | 4 | peer realm id | uint: the consumer's RealmId (provider role) or the provider's (consumer role) |
//! | 5 | peer RIM | bstr: the peer's RIM, its hash algorithm's digest length (32 or 64) |
//! | 6 | peer RPV | bstr 64: the peer's personalization value |
//! | 7 | peer hash algorithm | tstr `"sha-256"` / `"sha-512"` (as claim 44236) |
//! | 8 | size | uint: the region's size in bytes |
//! | 9 | mode | uint: 1 read, 3 read and write |
//! | 10 | attached | bool: whether the consumer has the region mapped |
//!
//! The claims go into the realm token only when the realm is a CSM realm
//! ([`super::RealmClaims::csm`] is `Some`); otherwise the token is byte for byte the
//! reference RMM's. The profile claim is unchanged: a verifier that knows only the CCA realm
//! profile ignores claims it does not understand (the JWT rule, RFC 7519 §4, that CWT and EAT
//! tokens follow), so it still accepts a token with them.
//!
//! Encoding never fails on any input except by running out of room: the exact length is
//! [`CsmClaims::encoded_len`], at most [`CSM_CLAIMS_MAX_LEN`] with at most [`MAX_SHARES`]
//! shares.

use super::cbor::{
    MAJOR_ARRAY, MAJOR_BSTR, MAJOR_MAP, MAJOR_SIMPLE, MAJOR_TSTR, MAJOR_UINT, bstr_item_len, head,
};
use super::claims::{hash_algo_name, uint_len};
use super::error::TokenError;
use super::store::{ClaimsStore, StoreWriter};
use rmm_abi::measurement::Measurement;
use rmm_abi::rmi::states::HashAlgorithm;

/// Keys of the two CSM claims in the realm claims map.
pub mod keys {
    /// `csm-realm-id`.
    pub const REALM_ID: u64 = 65001;
    /// `csm-shares`.
    pub const SHARES: u64 = 65002;
}

/// Keys of a share map in `csm-shares`.
pub mod share_keys {
    /// Role: [`super::Role`].
    pub const ROLE: u64 = 1;
    /// The provider's RegionId.
    pub const REGION_ID: u64 = 2;
    /// The grant's ShareId.
    pub const SHARE_ID: u64 = 3;
    /// The peer's RealmId.
    pub const PEER_REALM_ID: u64 = 4;
    /// The peer's RIM.
    pub const PEER_RIM: u64 = 5;
    /// The peer's RPV.
    pub const PEER_RPV: u64 = 6;
    /// The peer's measurement hash algorithm.
    pub const PEER_HASH_ALGO: u64 = 7;
    /// The region's size in bytes.
    pub const SIZE: u64 = 8;
    /// The grant's mode: [`super::ShareMode`].
    pub const MODE: u64 = 9;
    /// Whether the grant is attached.
    pub const ATTACHED: u64 = 10;
}

/// Entries in a share map.
pub const SHARE_MAP_LEN: u64 = 10;

/// The most shares one realm holds: 8 regions × 4 grants it gave and 16 grants it received
/// (`apt::capacity`: `FW_REGIONS × FW_GRANTS + FW_ATTACHMENTS`; the RMM asserts they agree).
pub const MAX_SHARES: usize = 8 * 4 + 16;

/// Length of the personalization value of a peer.
pub const PEER_RPV_LEN: usize = 64;

/// Which side of a grant the realm is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Role {
    /// The realm gave the grant (its region, shared with the peer).
    Provider = 1,
    /// The realm received the grant (the peer's region).
    Consumer = 2,
}

/// A grant's access mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ShareMode {
    /// Read only.
    Read = 1,
    /// Read and write.
    ReadWrite = 3,
}

/// One entry of `csm-shares`: a grant the realm gave or received, with its peer's identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsmShare {
    /// Which side the realm is on.
    pub role: Role,
    /// The provider's RegionId.
    pub region_id: u64,
    /// The grant's ShareId.
    pub share_id: u64,
    /// The other realm's RealmId.
    pub peer_realm_id: u64,
    /// The other realm's RIM, zero-padded to 64 bytes; the token carries its first
    /// `peer_hash.digest_len()` bytes.
    pub peer_rim: Measurement,
    /// The other realm's RPV.
    pub peer_rpv: [u8; PEER_RPV_LEN],
    /// The other realm's measurement algorithm.
    pub peer_hash: HashAlgorithm,
    /// The region's size in bytes.
    pub size: u64,
    /// The grant's mode.
    pub mode: ShareMode,
    /// Whether the consumer has the region mapped (ACCEPTed and not DETACHed).
    pub attached: bool,
}

/// Where the shares of a token's CSM claims come from. They are read by index as they are
/// encoded (twice: once for the length, once to write them), so no list of them need exist:
/// the firmware builds each from the realm's APT when asked, under the CSM lock, instead of
/// keeping a snapshot of up to [`MAX_SHARES`] shares (8 KiB) anywhere.
pub trait CsmShares {
    /// How many shares there are.
    fn count(&self) -> usize;
    /// The share at `index` (`0..count()`), in the order to encode.
    fn share(&self, index: usize) -> Option<CsmShare>;
}

/// Shares kept in a slice (tests, verifiers).
#[derive(Clone, Copy, Debug)]
pub struct ShareSlice<'a>(pub &'a [CsmShare]);

impl CsmShares for ShareSlice<'_> {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn share(&self, index: usize) -> Option<CsmShare> {
        self.0.get(index).copied()
    }
}

/// The CSM claims of one token: the realm's RealmId and its shares as RSI_ATTEST_TOKEN_INIT
/// reads them.
#[derive(Clone, Copy)]
pub struct CsmClaims<'a> {
    /// The realm's RealmId.
    pub realm_id: u64,
    /// Every grant the realm gave and every grant it received, in the order to encode.
    pub shares: &'a dyn CsmShares,
}

impl core::fmt::Debug for CsmClaims<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CsmClaims")
            .field("realm_id", &self.realm_id)
            .field("shares", &self.shares.count())
            .finish()
    }
}

/// Length of a text string item of `len` bytes (same head sizes as byte strings).
const fn tstr_item_len(len: usize) -> usize {
    bstr_item_len(len)
}

/// Length of an array or map head of `n` entries.
const fn head_len(n: usize) -> usize {
    uint_len(n as u64)
}

/// Exact encoded length of one share map.
pub const fn share_len(share: &CsmShare) -> usize {
    use share_keys as k;
    head_len(SHARE_MAP_LEN as usize)
        + uint_len(k::ROLE)
        + uint_len(share.role as u64)
        + uint_len(k::REGION_ID)
        + uint_len(share.region_id)
        + uint_len(k::SHARE_ID)
        + uint_len(share.share_id)
        + uint_len(k::PEER_REALM_ID)
        + uint_len(share.peer_realm_id)
        + uint_len(k::PEER_RIM)
        + bstr_item_len(share.peer_hash.digest_len())
        + uint_len(k::PEER_RPV)
        + bstr_item_len(PEER_RPV_LEN)
        + uint_len(k::PEER_HASH_ALGO)
        + tstr_item_len(hash_algo_name(share.peer_hash).len())
        + uint_len(k::SIZE)
        + uint_len(share.size)
        + uint_len(k::MODE)
        + uint_len(share.mode as u64)
        + uint_len(k::ATTACHED)
        + 1
}

/// The longest share map: every id and the size at their largest, SHA-512.
pub const SHARE_MAX_LEN: usize = share_len(&CsmShare {
    role: Role::Consumer,
    region_id: u64::MAX,
    share_id: u64::MAX,
    peer_realm_id: u64::MAX,
    peer_rim: [0; 64],
    peer_rpv: [0; 64],
    peer_hash: HashAlgorithm::Sha512,
    size: u64::MAX,
    mode: ShareMode::ReadWrite,
    attached: true,
});

/// Length of the two claims (keys and values) around `n` shares whose maps total
/// `shares_len` bytes, with a RealmId of `realm_id`.
const fn claims_len_with(realm_id: u64, n: usize, shares_len: usize) -> usize {
    uint_len(keys::REALM_ID)
        + uint_len(realm_id)
        + uint_len(keys::SHARES)
        + head_len(n)
        + shares_len
}

/// The longest CSM claims: [`MAX_SHARES`] shares of [`SHARE_MAX_LEN`] and the largest RealmId.
pub const CSM_CLAIMS_MAX_LEN: usize =
    claims_len_with(u64::MAX, MAX_SHARES, MAX_SHARES * SHARE_MAX_LEN);

impl CsmClaims<'_> {
    /// Exact encoded length of the two claims (what follows the REMs in the map). Out of
    /// line: compiled once, here, and not into every session type's instance in the caller's
    /// crate.
    #[inline(never)]
    pub fn encoded_len(&self) -> usize {
        let n = self.shares.count();
        let total = (0..n)
            .filter_map(|i| self.shares.share(i))
            .map(|share| share_len(&share))
            .sum();
        claims_len_with(self.realm_id, n, total)
    }

    /// Writes the two claims (keys and values) to `out`: CBOR heads ([`head`]) and contents,
    /// item by item, in the shortest form (the deterministic encoding the rest of the token
    /// uses); no encoder is needed, since every item is an integer, a string or a flag.
    pub(crate) fn write_to<S: ClaimsStore + ?Sized>(
        &self,
        out: &mut StoreWriter<'_, S>,
    ) -> Result<(), TokenError> {
        let count = self.shares.count();
        let prefix = [
            (MAJOR_UINT, keys::REALM_ID),
            (MAJOR_UINT, self.realm_id),
            (MAJOR_UINT, keys::SHARES),
            (MAJOR_ARRAY, count as u64),
        ];
        for (major, value) in prefix {
            put(out, major, value, &[])?;
        }
        for i in 0..count {
            // A source that has fewer shares than it counted can only be a caller bug; the
            // array head already promised `count` of them, so the token is refused.
            let share = self.shares.share(i).ok_or(TokenError::BufferTooSmall)?;
            write_share(out, &share)?;
        }
        Ok(())
    }
}

/// Writes one item: the head of major type `major` with argument `value`, then `content`.
fn put<S: ClaimsStore + ?Sized>(
    out: &mut StoreWriter<'_, S>,
    major: u8,
    value: u64,
    content: &[u8],
) -> Result<(), TokenError> {
    // Head and content in one piece (the writer's loop inlined once): a content is at most
    // the peer's RPV or RIM, 64 bytes.
    let head = head(major, value);
    let head = head.as_bytes();
    let mut item = [0u8; 9 + PEER_RPV_LEN];
    let len = head.len() + content.len();
    let Some((h, c)) = item
        .get_mut(..len)
        .map(|bytes| bytes.split_at_mut(head.len()))
    else {
        return Err(TokenError::BufferTooSmall);
    };
    h.copy_from_slice(head);
    c.copy_from_slice(content);
    out.write_bytes(item.get(..len).unwrap_or(&[]))
        .map_err(|_| TokenError::BufferTooSmall)
}

/// The simple values false (20) and true (21).
const SIMPLE_FALSE: u64 = 20;

/// Writes one share map: its ten claims as (key, major type, argument, content), by one loop.
#[cold]
#[inline(never)]
fn write_share<S: ClaimsStore + ?Sized>(
    out: &mut StoreWriter<'_, S>,
    share: &CsmShare,
) -> Result<(), TokenError> {
    use share_keys as k;
    let h = share.peer_hash.digest_len();
    let rim = share.peer_rim.get(..h).unwrap_or(&share.peer_rim);
    let algo = hash_algo_name(share.peer_hash).as_bytes();
    let none: &[u8] = &[];
    let claims = [
        (k::ROLE, MAJOR_UINT, share.role as u64, none),
        (k::REGION_ID, MAJOR_UINT, share.region_id, none),
        (k::SHARE_ID, MAJOR_UINT, share.share_id, none),
        (k::PEER_REALM_ID, MAJOR_UINT, share.peer_realm_id, none),
        (k::PEER_RIM, MAJOR_BSTR, rim.len() as u64, rim),
        (
            k::PEER_RPV,
            MAJOR_BSTR,
            PEER_RPV_LEN as u64,
            &share.peer_rpv[..],
        ),
        (k::PEER_HASH_ALGO, MAJOR_TSTR, algo.len() as u64, algo),
        (k::SIZE, MAJOR_UINT, share.size, none),
        (k::MODE, MAJOR_UINT, share.mode as u64, none),
        (
            k::ATTACHED,
            MAJOR_SIMPLE,
            SIMPLE_FALSE + u64::from(share.attached),
            none,
        ),
    ];
    const _: () = assert!(SHARE_MAP_LEN == 10);
    put(out, MAJOR_MAP, SHARE_MAP_LEN, none)?;
    for (key, major, value, content) in claims {
        put(out, MAJOR_UINT, key, none)?;
        put(out, major, value, content)?;
    }
    Ok(())
}
