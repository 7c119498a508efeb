// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CCA token as a virtual byte stream: the collection and COSE_Sign1 framing computed on
//! the fly around three borrowed parts (the platform token, the claims, the signature), so a
//! REC keeps only its claims and signature and the token is never assembled in memory.
//! [`TokenStream::read_at`] copies any range of it, which is all CONTINUE needs.

use super::cbor::bstr_head;
use super::collection::{HEAD as COLLECTION_HEAD, REALM_KEY, cca_token_len};
use super::key::SIGNATURE_LEN;
use super::sign1::{HEAD as SIGN1_HEAD, SIGNATURE_HEAD, realm_token_len};

/// The parts of one CCA token.
#[derive(Clone, Copy, Debug)]
pub struct TokenStream<'a> {
    /// The platform token from EL3.
    pub platform: &'a [u8],
    /// The encoded realm claims map.
    pub claims: &'a [u8],
    /// The realm token's signature.
    pub signature: &'a [u8; SIGNATURE_LEN],
}

impl TokenStream<'_> {
    /// Total length of the token.
    pub const fn len(&self) -> usize {
        cca_token_len(self.platform.len(), realm_token_len(self.claims.len()))
    }

    /// Never true: a token has framing.
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Copies the token's bytes from `offset` into `dst`, as many as fit or remain; returns
    /// how many were copied (0 at or past the end).
    pub fn read_at(&self, offset: usize, dst: &mut [u8]) -> usize {
        let platform_head = bstr_head(self.platform.len());
        let realm_head = bstr_head(realm_token_len(self.claims.len()));
        let claims_head = bstr_head(self.claims.len());
        let segments: [&[u8]; 10] = [
            &COLLECTION_HEAD,
            platform_head.as_bytes(),
            self.platform,
            &REALM_KEY,
            realm_head.as_bytes(),
            &SIGN1_HEAD,
            claims_head.as_bytes(),
            self.claims,
            &SIGNATURE_HEAD,
            self.signature,
        ];
        let mut written = 0;
        let mut seg_start = 0usize;
        for seg in segments {
            let seg_end = seg_start.saturating_add(seg.len());
            let pos = offset.saturating_add(written);
            if written < dst.len() && pos < seg_end && pos >= seg_start {
                let from = &seg[pos - seg_start..];
                let to = &mut dst[written..];
                let n = from.len().min(to.len());
                to[..n].copy_from_slice(&from[..n]);
                written += n;
            }
            seg_start = seg_end;
        }
        written
    }
}
