//! # `attest`: measurements and attestation tokens (not yet implemented)
//!
//! This crate will own RIM/REM measurement (SHA-256 and SHA-512 over the exact RMM 1.0-rel0
//! descriptors), the CCA attestation token (the realm token as a COSE_Sign1 ES384 over the realm
//! claims map, wrapped with the platform token in the tag-399 collection), the CSM claims, and
//! the per-REC state of chunked token retrieval. It encodes into caller-provided fixed buffers
//! (no heap) and never panics on any input.
//!
//! It may depend on `rmm-abi` and on small crypto/CBOR crates (`sha2`, `p384`, `minicbor`), and
//! never touches hardware.
//!
//! Nothing here is callable yet, on purpose: no placeholder pretends to work.
#![no_std]
