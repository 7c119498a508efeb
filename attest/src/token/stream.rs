// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CCA token as a virtual byte stream: the collection and COSE_Sign1 framing computed on
//! the fly around three borrowed parts (the platform token, the claims, the signature), so a
//! REC keeps only its claims and signature and the token is never assembled in memory.
//! [`TokenStream::read_at`] copies any range of it, which is all CONTINUE needs.

use super::cbor::bstr_head;
use super::collection::{HEAD as COLLECTION_HEAD, REALM_KEY, cca_token_len};
use super::key::SIGNATURE_LEN;
use super::sign1::{HEAD as SIGN1_HEAD, SIGNATURE_HEAD, realm_token_len};
use super::store::{ClaimsStore, NoStore};

/// One piece of a byte stream: bytes in memory, or the first bytes of a store.
pub(crate) enum Segment<'a, S: ?Sized> {
    /// Bytes in memory.
    Bytes(&'a [u8]),
    /// The first `len` bytes of a store (at most its capacity).
    Store(&'a S, usize),
}

impl<S: ClaimsStore + ?Sized> Segment<'_, S> {
    const fn len(&self) -> usize {
        match self {
            Segment::Bytes(b) => b.len(),
            Segment::Store(_, len) => *len,
        }
    }
}

/// Copies the concatenation of `segments` from `offset` into `dst`, as many bytes as fit or
/// remain; returns how many were copied (0 at or past the end).
// Out of line: inlined, it was copied into each of its two callers.
#[inline(never)]
pub(crate) fn read_segments<S: ClaimsStore + ?Sized>(
    segments: &[Segment<'_, S>],
    offset: usize,
    dst: &mut [u8],
) -> usize {
    let mut written = 0;
    let mut seg_start = 0usize;
    for seg in segments {
        let seg_end = seg_start.saturating_add(seg.len());
        let pos = offset.saturating_add(written);
        if written < dst.len() && pos < seg_end && pos >= seg_start {
            let at = pos - seg_start;
            // `get`s, not indexing: no bounds-check panic on this path, which copies a token
            // into a realm's buffer.
            let to = dst.get_mut(written..).unwrap_or(&mut []);
            let n = (seg.len() - at).min(to.len());
            let to = to.get_mut(..n).unwrap_or(&mut []);
            match seg {
                Segment::Bytes(b) => {
                    if let Some(from) = b.get(at..at + n) {
                        to.copy_from_slice(from);
                    }
                }
                Segment::Store(store, _) => store.read(at, to),
            }
            written += n;
        }
        seg_start = seg_end;
    }
    written
}

/// The parts of one CCA token.
pub struct TokenStream<'a, S: ClaimsStore + ?Sized = NoStore> {
    /// The platform token from EL3.
    pub platform: &'a [u8],
    /// The encoded realm claims map (up to the REMs, for a CSM realm).
    pub claims: &'a [u8],
    /// The realm token's signature.
    pub signature: &'a [u8; SIGNATURE_LEN],
    /// Where the rest of the claims map is (a CSM realm's 65001 and 65002): its first
    /// [`TokenStream::claims_rest_len`] bytes. [`TokenStream::new`] has none.
    pub claims_rest: &'a S,
    /// Length of the rest of the claims map.
    pub claims_rest_len: usize,
}

impl<S: ClaimsStore + ?Sized> core::fmt::Debug for TokenStream<'_, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TokenStream")
            .field("platform", &self.platform.len())
            .field("claims", &self.claims_len())
            .finish_non_exhaustive()
    }
}

impl<'a> TokenStream<'a, NoStore> {
    /// The stream of a token whose claims are all in `claims`.
    pub const fn new(
        platform: &'a [u8],
        claims: &'a [u8],
        signature: &'a [u8; SIGNATURE_LEN],
    ) -> Self {
        Self {
            platform,
            claims,
            signature,
            claims_rest: &NoStore,
            claims_rest_len: 0,
        }
    }
}

impl<S: ClaimsStore + ?Sized> TokenStream<'_, S> {
    /// Length of the claims map.
    pub const fn claims_len(&self) -> usize {
        self.claims.len() + self.claims_rest_len
    }

    /// Total length of the token.
    pub const fn len(&self) -> usize {
        cca_token_len(self.platform.len(), realm_token_len(self.claims_len()))
    }

    /// Never true: a token has framing.
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Copies the token's bytes from `offset` into `dst`, as many as fit or remain; returns
    /// how many were copied (0 at or past the end).
    pub fn read_at(&self, offset: usize, dst: &mut [u8]) -> usize {
        let platform_head = bstr_head(self.platform.len());
        let realm_head = bstr_head(realm_token_len(self.claims_len()));
        let claims_head = bstr_head(self.claims_len());
        let rest_len = self.claims_rest_len.min(self.claims_rest.capacity());
        let segments = [
            Segment::Bytes(&COLLECTION_HEAD),
            Segment::Bytes(platform_head.as_bytes()),
            Segment::Bytes(self.platform),
            Segment::Bytes(&REALM_KEY),
            Segment::Bytes(realm_head.as_bytes()),
            Segment::Bytes(&SIGN1_HEAD),
            Segment::Bytes(claims_head.as_bytes()),
            Segment::Bytes(self.claims),
            Segment::Store(self.claims_rest, rest_len),
            Segment::Bytes(&SIGNATURE_HEAD),
            Segment::Bytes(self.signature),
        ];
        read_segments(&segments, offset, dst)
    }
}
