//! The scenarios, grouped by which CPUs run them.

mod isolation;
mod rmi_basics;

use crate::runner::Scenario;

/// Run by every CPU, primary and secondaries alike.
pub const EVERY_CPU: &[Scenario] = rmi_basics::SCENARIOS;

/// Run by the primary CPU only, after [`EVERY_CPU`].
pub const PRIMARY_ONLY: &[Scenario] = isolation::SCENARIOS;
