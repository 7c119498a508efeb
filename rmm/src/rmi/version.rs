// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_VERSION: the host names the ABI version it wants; we implement exactly 1.0.
//!
//! Success only for a request of 1.0; any other value (including malformed encodings) gets
//! `RMI_ERROR_INPUT`. Either way x1 (lowest) and x2 (highest implemented revision) are 1.0, so
//! the host learns what we speak. This is TF-RMM's behaviour (`runtime/rmi/version.c`).

use super::args::VersionArgs;
use super::error::{Handled, RmiError};
use crate::arch::Machine;
use crate::monitor::Monitor;
use rmm_abi::version::RMI_ABI_VERSION;

/// Handles RMI_VERSION(x1 = requested version). The shape of every handler; it needs neither
/// the monitor nor the machine.
#[inline(always)]
pub fn handle(_monitor: &Monitor, _machine: &impl Machine, args: VersionArgs) -> Handled<2> {
    let VersionArgs { requested } = args;
    let ours = RMI_ABI_VERSION.encode();
    if requested == ours {
        Ok([ours, ours])
    } else {
        Err(RmiError::Input.with([ours, ours]))
    }
}
