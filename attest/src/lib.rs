// SPDX-License-Identifier: MIT OR Apache-2.0
//! # `attest`: measurements and attestation tokens
//!
//! This crate owns RIM/REM measurement ([`measurement`]: SHA-256 and SHA-512 over the exact
//! RMM 1.0-rel0 descriptors, through the block-compression engine seam in [`sha`]) and the
//! CCA attestation token ([`token`]: the realm token as a COSE_Sign1 ES384 over the realm
//! claims map, wrapped with the platform token in the tag-399 collection, and the per-REC
//! state of chunked token retrieval). The CSM claims come with CSM's wiring. It encodes into
//! caller-provided fixed buffers (no heap) and never panics on any input.
//!
//! It may depend on `rmm-abi` and on small crypto/CBOR crates (`sha2`, `p384`, `minicbor`), and
//! never touches hardware.
#![no_std]
#![forbid(unsafe_code)]

pub mod measurement;
pub mod sha;
pub mod sha384_digest;
pub mod token;
