// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CCA attestation token (RMM 1.0-rel0, reference C.1/C.2/C.4), as pure logic.
//!
//! ```text
//! CCA token   = #6.399({ 44234: bstr(platform token), 44241: bstr(realm token) })
//! realm token = #6.18([ bstr({1: -35}), {}, bstr(realm claims), bstr(r ‖ s) ])   ; COSE_Sign1, ES384
//! ```
//!
//! Pieces, one job each:
//! - [`cbor`]: CBOR heads written by hand (infallible, fixed size);
//! - [`cose_key`]: the realm public key as the 107-byte COSE_Key the platform token binds;
//! - [`claims`]: the realm claims map, encoded with minicbor into a caller buffer;
//! - [`csm`]: the CSM claims (65001 `csm-realm-id`, 65002 `csm-shares`) of a CSM realm;
//! - [`store`]: where a session keeps the (large) CSM claims, outside the session;
//! - [`key`]: the realm attestation key (RAK), zeroized on drop;
//! - [`es384`]: the RAK's ES384 signature in bounded, resumable steps;
//! - [`sign1`]: the COSE_Sign1 framing and its Sig_structure;
//! - [`collection`]: the tag-399 collection, its exact length and one-shot encoding;
//! - [`stream`]: the whole CCA token as a virtual byte stream that is never materialised;
//! - [`session`]: the per-REC RSI_ATTEST_TOKEN_INIT/CONTINUE state machine;
//! - [`rsi`]: the RSI registers of those two commands, typed.
//!
//! Nothing here allocates, touches hardware or panics on any input.

pub mod cbor;
pub mod claims;
pub mod collection;
pub mod cose_key;
pub mod csm;
pub mod error;
pub mod es384;
pub mod key;
pub mod rsi;
pub mod session;
pub mod sign1;
pub mod store;
pub mod stream;

pub use claims::RealmClaims;
pub use cose_key::CoseKey;
pub use csm::{CsmClaims, CsmShare, CsmShares, Role, ShareMode, ShareSlice};
pub use error::TokenError;
pub use key::RealmSigningKey;
pub use session::{Continue, SignStatus, TokenSession};
pub use store::{ClaimsStore, NoStore};

#[cfg(test)]
mod es384_tests;
#[cfg(test)]
mod tests;
