//! The scenarios, grouped by which CPUs run them.

mod granules;
mod isolation;
mod rmi_basics;

use crate::runner::Scenario;

/// The RMI basics (version, features, unknown ids).
pub const RMI_BASICS: &[Scenario] = rmi_basics::SCENARIOS;

/// Run by every CPU, primary and secondaries alike, list after list.
pub const EVERY_CPU: &[&[Scenario]] = &[RMI_BASICS, granules::SCENARIOS];

/// Number of scenarios in [`EVERY_CPU`].
pub const EVERY_CPU_COUNT: usize = RMI_BASICS.len() + granules::SCENARIOS.len();

/// Run by the primary CPU only, after [`EVERY_CPU`].
pub const PRIMARY_ONLY: &[Scenario] = isolation::SCENARIOS;

/// Run by the primary CPU once every other CPU has finished.
pub const AFTER_ALL: &[Scenario] = granules::AFTER_ALL;
