// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_FEATURES: index 0 returns feature register 0 (computed once at cold boot); every other
//! index returns zero, as RMM 1.0 defines no other feature registers.

use super::args::FeaturesArgs;
use super::error::Handled;
use crate::arch::Machine;
use crate::monitor::Monitor;

/// Handles RMI_FEATURES(x1 = feature register index).
#[inline(always)]
pub fn handle(monitor: &Monitor, _machine: &impl Machine, args: FeaturesArgs) -> Handled<1> {
    let FeaturesArgs { index } = args;
    let value = if index == 0 {
        monitor.config.features.0
    } else {
        0
    };
    Ok([value])
}
