//! `cargo xtask run` (the demo) and `cargo xtask test` (every test).
//!
//! `test` runs, in order and stopping at the first failure: `cargo fmt --check`, clippy on the
//! host crates and on the firmware for the bare-metal target, `cargo test` for the host crates,
//! then the QEMU end-to-end suite (TF-A + our RMM + the NS test hypervisor, 4 CPUs, RME). It
//! ends with one summary line, so a run that executed nothing is visible.

use crate::cmd::{self, Result};
use crate::images;
use crate::paths::{self, FIRMWARE_TARGET};
use crate::qemu::{self, Mode};
use crate::transcript::{self, Expectations};
use std::time::Duration;

/// CPUs every end-to-end run uses.
pub const SMP: u32 = 4;
/// Deadline of one suite boot (it takes about a second when nothing hangs).
const SUITE_DEADLINE: Duration = Duration::from_secs(60);

/// `cargo xtask run`: build everything, boot, show the whole UART, judge the scenarios.
pub fn run_demo() -> Result {
    let boot = images::build_qemu_boot()?;
    let run = qemu::Run {
        bios: &boot.bios,
        smp: SMP,
        mode: Mode::Suite,
        deadline: SUITE_DEADLINE,
        live: true,
        extra: Vec::new(),
        log: paths::logs().join("run.log"),
    };
    let outcome = run.execute()?;
    let verdict = judge_suite(&outcome);
    report(&verdict, &outcome, &run.log)
}

/// `cargo xtask test`.
pub fn run_tests() -> Result {
    lint()?;
    cmd::run(cmd::cargo().current_dir(paths::root()).args(["test"]))?;
    let boot = images::build_qemu_boot()?;
    let run = qemu::Run {
        bios: &boot.bios,
        smp: SMP,
        mode: Mode::Suite,
        deadline: SUITE_DEADLINE,
        live: false,
        extra: Vec::new(),
        log: paths::logs().join("suite.log"),
    };
    let outcome = run.execute()?;
    let verdict = judge_suite(&outcome);
    for line in outcome.output.lines().filter(|l| l.starts_with("TEST ")) {
        println!("{line}");
    }
    report(&verdict, &outcome, &run.log)
}

/// Formatting and clippy, host and firmware; warnings are errors.
fn lint() -> Result {
    let root = paths::root();
    cmd::run(
        cmd::cargo()
            .current_dir(&root)
            .args(["fmt", "--all", "--", "--check"]),
    )?;
    cmd::run(cmd::cargo().current_dir(&root).args([
        "clippy",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    for (platform, features) in [("qemu", None), ("fvp", Some("ns-test-host/fvp"))] {
        let mut clippy = cmd::cargo();
        clippy
            .current_dir(&root)
            .args(["clippy", "--release", "--target", FIRMWARE_TARGET])
            .args([
                "-p",
                "rmm-abi",
                "-p",
                "rmm",
                "-p",
                &format!("rmm-{platform}"),
            ])
            .args(["-p", "ns-test-host", "--target-dir"])
            .arg(paths::target().join(format!("firmware-{platform}")));
        if let Some(features) = features {
            clippy.args(["--features", features]);
        }
        cmd::run(clippy.args(["--", "-D", "warnings"]))?;
    }
    Ok(())
}

struct Verdict {
    problems: Vec<String>,
    passed: usize,
    failed: usize,
}

fn judge_suite(outcome: &qemu::Outcome) -> Verdict {
    let t = transcript::parse(&outcome.output);
    let expect = Expectations {
        cpus: SMP,
        deadline_s: SUITE_DEADLINE.as_secs(),
    };
    let problems = transcript::judge(&t, outcome.exit_code, &outcome.output, &expect);
    let passed = t.results.iter().filter(|r| r.passed).count();
    Verdict {
        problems,
        passed,
        failed: t.results.len() - passed,
    }
}

fn report(verdict: &Verdict, outcome: &qemu::Outcome, log: &std::path::Path) -> Result {
    println!(
        "xtask: QEMU end-to-end: {} scenarios passed, {} failed, in {:.1} s (UART log: {})",
        verdict.passed,
        verdict.failed,
        outcome.elapsed.as_secs_f64(),
        log.display()
    );
    for problem in &verdict.problems {
        println!("xtask: problem: {problem}");
    }
    let failed = verdict.failed + usize::from(verdict.failed == 0 && !verdict.problems.is_empty());
    println!("{} passed, {} failed", verdict.passed, failed);
    if verdict.problems.is_empty() {
        Ok(())
    } else {
        Err("the QEMU end-to-end suite failed".into())
    }
}
