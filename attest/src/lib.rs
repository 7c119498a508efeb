//! # `attest`: measurements and attestation tokens
//!
//! This crate owns RIM/REM measurement ([`measurement`]: SHA-256 and SHA-512 over the exact
//! RMM 1.0-rel0 descriptors). It will also own the CCA attestation token (the realm token as a
//! COSE_Sign1 ES384 over the realm claims map, wrapped with the platform token in the tag-399
//! collection), the CSM claims, and the per-REC state of chunked token retrieval, which arrive
//! with the attestation issue. It encodes into caller-provided fixed buffers (no heap) and
//! never panics on any input.
//!
//! It may depend on `rmm-abi` and on small crypto/CBOR crates (`sha2`, `p384`, `minicbor`), and
//! never touches hardware.
#![no_std]

pub mod measurement;
pub mod token;
