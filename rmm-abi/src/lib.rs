// SPDX-License-Identifier: MIT OR Apache-2.0
//! `rmm-abi`: every number and memory layout that crosses a world boundary of the Realm
//! Management Monitor, for Arm CCA RMM specification 1.0-rel0.
//!
//! * [`smc`] — SMCCC function-ID encoding, SVE hint, generic return values.
//! * [`version`] — RMI/RSI ABI version encoding.
//! * [`rmi`] — host → RMM: FIDs, commands, status, feature register, realm/REC parameters,
//!   the REC run page, exit reasons and state enums.
//! * [`rsi`] — realm → RMM: FIDs, commands, status, realm config, host call.
//! * [`el3`] — RMM ↔ EL3: FIDs, `E_RMM_*`/boot error codes, interface version, boot manifest.
//! * [`psci`] — PSCI FIDs and return codes.
//! * [`csm`] — the Confidential Shared Memory extension.
//! * [`measurement`] — RIM measurement descriptors.
//!
//! The crate holds no logic beyond encoding and checked decoding: every decoder returns
//! `Option`/`Result` and none can panic. Structures are `#[repr(C)]` with `zerocopy` derives
//! and compile-time offset assertions; reserved space is private and zero in `zeroed()`.
//! Function identifiers are `u32` (SMCCC W0).

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

#[macro_use]
mod macros;

pub mod csm;
pub mod el3;
pub mod measurement;
pub mod psci;
pub mod rmi;
pub mod rsi;
pub mod smc;
pub mod version;

pub use version::{AbiVersion, RMI_ABI_VERSION, RSI_ABI_VERSION};
