// SPDX-License-Identifier: MIT OR Apache-2.0
//! The RMM ↔ EL3 (TF-A RMMD) interface: SMC function identifiers, `E_RMM_*` and boot error
//! codes, interface/manifest version encoding and the boot manifest v0.3 layouts.
//! Everything is re-exported here.

pub mod fid;
pub mod manifest;
pub mod status;
pub mod version;

pub use fid::*;
pub use manifest::*;
pub use status::*;
pub use version::*;
