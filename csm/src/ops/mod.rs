// SPDX-License-Identifier: MIT OR Apache-2.0
//! The operations: one pure function per RMI command, RSI call and host event that touches
//! CSM. Each validates everything first and returns an error with nothing changed (S10), or
//! commits and returns the effects for the monitor. No operation touches memory or hardware.
//!
//! * [`lifecycle`] — `RMI_APT_CREATE`, `RMI_APT_DESTROY`, `RMI_REALM_DESTROY`.
//! * [`region`] — `RSI_CSM_CREATE`, `RSI_CSM_DESTROY`.
//! * [`grant`] — `RSI_CSM_SHARE`, `RSI_CSM_REVOKE`.
//! * [`attach`] — `RSI_CSM_ACCEPT`, `RSI_CSM_DETACH`.
//! * [`query`] — `RSI_CSM_QUERY`.
//! * [`host`] — host events at CSM IPAs (`RMI_DATA_DESTROY`, `RMI_DATA_CREATE*`,
//!   `RMI_RTT_FOLD`) and `RSI_IPA_STATE_SET` over CSM memory.
//! * [`call`] — decoding RSI registers into typed calls, and dispatch.

pub mod attach;
pub mod call;
pub mod grant;
pub mod host;
pub mod lifecycle;
pub mod query;
pub mod region;
