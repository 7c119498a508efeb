// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask fuzz [target] [--runs N | --seconds S] [--jobs J] [--merge]`: coverage-guided
//! fuzzing of the targets in `tests/fuzz` with `cargo fuzz` (libFuzzer) on the nightly
//! toolchain. Not part of `cargo xtask test`, which replays the committed corpora on stable.
//!
//! Each target reads the committed corpus `fuzz/corpus/<target>/` and keeps what it finds in
//! `target/fuzz/corpus/<target>/`, so a run resumes where the last one stopped; crashes go to
//! `target/fuzz/artifacts/<target>/`. `--merge` adds the inputs of the working corpus that
//! reach new coverage to the committed one (libFuzzer's `-merge=1`), to be committed.
//! Without a target, every target runs in turn (the time or run budget applies to each).

use crate::cmd;
use crate::paths;
use std::process::Command;

/// Seconds one input may run before libFuzzer reports it as a hang (`-timeout`).
const INPUT_TIMEOUT_S: u32 = 30;

/// The targets, in the order `cargo xtask fuzz` runs them (as in `rmm_fuzz::TARGETS`).
const TARGETS: [&str; 5] = ["rmi", "rsi", "csm", "boot", "el3_attest"];

/// Runs `cargo xtask fuzz` with `args`.
pub fn run(args: &[String]) -> cmd::Result {
    let mut targets = Vec::new();
    let mut budget = vec!["-max_total_time=60".to_string()];
    let mut jobs = None;
    let mut merge = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> cmd::Result<u64> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number").into())
        };
        match arg.as_str() {
            "--runs" => budget = vec![format!("-runs={}", value("--runs")?)],
            "--seconds" => budget = vec![format!("-max_total_time={}", value("--seconds")?)],
            "--jobs" => jobs = Some(value("--jobs")?),
            "--merge" => merge = true,
            t if TARGETS.contains(&t) => targets.push(t),
            other => {
                return Err(format!(
                    "unknown fuzz argument `{other}`; targets: {}; options: --runs N, \
                     --seconds S, --jobs J, --merge",
                    TARGETS.join(", ")
                )
                .into());
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    if cmd::output(Command::new("cargo").args(["+nightly", "fuzz", "--version"])).is_none() {
        return Err(
            "`cargo +nightly fuzz` is not available: install cargo-fuzz with \
                    `cargo install cargo-fuzz` and a nightly toolchain"
                .into(),
        );
    }
    let root = paths::root();
    for target in targets {
        let committed = root.join("fuzz/corpus").join(target);
        let working = paths::target().join("fuzz/corpus").join(target);
        let artifacts = paths::target().join("fuzz/artifacts").join(target);
        std::fs::create_dir_all(&working)?;
        std::fs::create_dir_all(&artifacts)?;
        let mut command = Command::new("cargo");
        command
            .current_dir(&root)
            .args([
                "+nightly",
                "fuzz",
                "run",
                "--fuzz-dir",
                "fuzz",
                "-s",
                "none",
            ])
            .arg("--target-dir")
            .arg(paths::target().join("fuzz-build"))
            .arg(target);
        if merge {
            command
                .arg(&committed)
                .arg(&working)
                .args(["--", "-merge=1"]);
        } else {
            command.arg(&working).arg(&committed).arg("--");
            command
                .args(&budget)
                .args(["-max_len=4096", "-print_final_stats=1"])
                // An input takes milliseconds; one that runs for seconds is a hang (the
                // monitor's locks spin: a deadlock never returns), reported as a finding
                // instead of after libFuzzer's default 20 minutes.
                .arg(format!("-timeout={INPUT_TIMEOUT_S}"));
            command.arg(format!("-artifact_prefix={}/", artifacts.display()));
            if let Some(jobs) = jobs {
                command.args([format!("-fork={jobs}"), "-ignore_crashes=0".to_string()]);
            }
        }
        cmd::run(&mut command)?;
    }
    Ok(())
}
