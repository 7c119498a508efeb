// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask mutants [file...] [--quick] [--jobs N]`: mutation testing of the
//! security-relevant files with cargo-mutants (from crates.io, installed if missing), against
//! the host tests of `rmm` and the integration tests. Not part of CI: a full run takes hours
//! on a small machine (`docs/testing.md` has the last measurement and the equivalent
//! survivors).
//!
//! Each file runs on its own, so a run stopped part-way keeps the files it finished; the
//! results are in `target/mutants/<file>/mutants.out` (`caught.txt`, `missed.txt`,
//! `timeout.txt`, `unviable.txt`). `--quick` is how `docs/testing.md`'s figures were
//! measured: `rmm` and the integration tests built at opt-level 1 (faster to rebuild per
//! mutant) and the 30-second RTT property test skipped, so a mutant it alone would catch
//! counts as missed.

use crate::cmd;
use crate::paths;
use std::process::Command;

/// The files the mutation score is measured on (issue 15).
pub const FILES: [&str; 8] = [
    "rmm/src/rmi/granule.rs",
    "rmm/src/rmi/data.rs",
    "rmm/src/rmi/rtt_args.rs",
    "rmm/src/rmi/rtt.rs",
    "rmm/src/granule/table.rs",
    "rmm/src/rtt/entry.rs",
    "rmm/src/rmi/realm_params.rs",
    "rmm/src/rmi/rec_enter/trap.rs",
];

/// The property test `--quick` leaves out.
const SLOW_TEST: &str = "random_rtt_and_data_sequences_keep_the_invariants";

/// Runs cargo-mutants on `args`' files (default [`FILES`]) and prints the counts per file.
pub fn run(args: &[String]) -> cmd::Result {
    let mut files = Vec::new();
    let mut quick = false;
    let mut jobs = 1u32;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--jobs" => {
                jobs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|j| *j > 0)
                    .ok_or("--jobs needs a positive number")?;
            }
            file if file.ends_with(".rs") => files.push(file.to_string()),
            other => {
                return Err(format!(
                    "unknown mutants argument `{other}`; usage: cargo xtask mutants \
                     [file.rs...] [--quick] [--jobs N]"
                )
                .into());
            }
        }
    }
    if files.is_empty() {
        files = FILES.iter().map(|f| f.to_string()).collect();
    }
    let root = paths::root();
    if cmd::output(cmd::cargo().args(["mutants", "--version"])).is_none() {
        cmd::run(cmd::cargo().args(["install", "--locked", "cargo-mutants"]))?;
    }
    let mut rows = Vec::new();
    for file in &files {
        if !root.join(file).is_file() {
            return Err(format!("{file}: no such file in the workspace").into());
        }
        let stem = file.trim_end_matches(".rs").replace('/', "_");
        let out = root.join("target/mutants").join(&stem);
        let mut command = Command::new("nice");
        command
            .current_dir(&root)
            .arg(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        command
            .args(["mutants", "--file", file, "--jobs", &jobs.to_string()])
            .args([
                "--test-package",
                "rmm",
                "--test-package",
                "rmm-integration-tests",
            ])
            .arg("--output")
            .arg(&out);
        if quick {
            command.args([
                "--cargo-arg=--config=profile.test.package.rmm.opt-level=1",
                "--cargo-arg=--config=profile.test.package.rmm-integration-tests.opt-level=1",
                "--",
                "--",
                "--skip",
                SLOW_TEST,
            ]);
        }
        eprintln!("xtask: $ {}", cmd::describe(&command));
        let status = command
            .status()
            .map_err(|e| format!("cannot start cargo-mutants: {e}"))?;
        // 0: every mutant caught; 2: some missed; 3: some timed out. Anything else (a
        // failing baseline, bad arguments) is an error.
        if !matches!(status.code(), Some(0 | 2 | 3)) {
            return Err(format!("cargo-mutants on {file} failed with {status}").into());
        }
        let count = |name: &str| {
            std::fs::read_to_string(out.join("mutants.out").join(name))
                .map_or(0, |text| text.lines().filter(|l| !l.is_empty()).count())
        };
        rows.push((
            file.clone(),
            count("caught.txt"),
            count("missed.txt"),
            count("timeout.txt"),
            count("unviable.txt"),
        ));
    }
    println!("file: caught / missed / timeout / unviable");
    for (file, caught, missed, timeout, unviable) in rows {
        println!("{file}: {caught} / {missed} / {timeout} / {unviable}");
    }
    println!("missed mutants: target/mutants/<file>/mutants.out/missed.txt");
    Ok(())
}
