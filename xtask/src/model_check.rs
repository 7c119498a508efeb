// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask model-check`: the CSM model checker's larger configuration (deeper than the
//! one inside `cargo test`), as the `csm` crate's `model_check` example in release mode.
//! Extra arguments are passed on as depth bounds (`EMPTY READY OFFERED`).

use crate::cmd::{self, Result};

/// Builds and runs the example; fails if it reports a violation.
pub fn run(depths: &[String]) -> Result {
    cmd::run(
        cmd::cargo()
            .args(["run", "--release", "-p", "csm", "--features", "model"])
            .args(["--example", "model_check", "--"])
            .args(depths),
    )
}
