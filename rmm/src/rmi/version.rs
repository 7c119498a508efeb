// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_VERSION: the host names the ABI version it wants; we implement exactly 1.0.
//!
//! Success only for a request of 1.0; any other value (including malformed encodings) gets
//! `RMI_ERROR_INPUT`. Either way x1 (lowest) and x2 (highest implemented revision) are 1.0, so
//! the host learns what we speak. This is TF-RMM's behaviour (`runtime/rmi/version.c`).

use super::RmiOutputs;
use super::args::VersionArgs;
use rmm_abi::rmi::status::{RmiReturn, RmiStatus};
use rmm_abi::version::RMI_ABI_VERSION;

/// Handles RMI_VERSION(x1 = requested version).
pub fn handle(args: VersionArgs) -> RmiOutputs {
    let VersionArgs { requested } = args;
    let ours = RMI_ABI_VERSION.encode();
    let status = if requested == ours {
        RmiReturn::success()
    } else {
        RmiReturn::error(RmiStatus::ErrorInput)
    };
    RmiOutputs::with(status.pack(), [ours, ours])
}
