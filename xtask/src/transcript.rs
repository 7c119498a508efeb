// SPDX-License-Identifier: MIT OR Apache-2.0
//! Reading the test hypervisor's transcript out of the shared UART log, and judging a run.
//!
//! Grammar (whole lines; everything else on the UART is ignored):
//! `PLAN <n> tests on <c> CPUs`, `TEST <cpu>.<name> PASS`, `TEST <cpu>.<name> FAIL <reason>`,
//! `<passed> passed, <failed> failed`. A run passes only if QEMU powered off by itself with
//! exit code 0, the plan, the result lines and the summary all agree, nothing failed, every CPU
//! reported, and the RMM's own log shows the cold boot and each warm boot. Anything less,
//! including a run that executed nothing, is a failure with a reason.

/// One `TEST` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestLine {
    /// `cpu<N>.<name>`.
    pub name: String,
    /// PASS or FAIL.
    pub passed: bool,
    /// The FAIL reason (empty on PASS).
    pub reason: String,
}

/// The parsed transcript.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// Tests announced by the `PLAN` line.
    pub plan: Option<usize>,
    /// Result lines, in order.
    pub results: Vec<TestLine>,
    /// `(passed, failed)` from the summary line.
    pub summary: Option<(usize, usize)>,
}

/// Parses every line of `output`.
pub fn parse(output: &str) -> Transcript {
    let mut t = Transcript::default();
    for line in output.lines().map(str::trim_end) {
        if let Some(rest) = line.strip_prefix("PLAN ") {
            t.plan = rest.split_whitespace().next().and_then(|n| n.parse().ok());
        } else if let Some(rest) = line.strip_prefix("TEST ") {
            let mut parts = rest.splitn(3, ' ');
            let (Some(name), Some(verdict)) = (parts.next(), parts.next()) else {
                continue;
            };
            let reason = parts.next().unwrap_or("").to_string();
            match verdict {
                "PASS" if reason.is_empty() => t.results.push(TestLine {
                    name: name.into(),
                    passed: true,
                    reason,
                }),
                "FAIL" => t.results.push(TestLine {
                    name: name.into(),
                    passed: false,
                    reason,
                }),
                _ => {}
            }
        } else if let Some(summary) = parse_summary(line) {
            t.summary = Some(summary);
        }
    }
    t
}

fn is_expected(x: &ExpectedFailure, r: &TestLine) -> bool {
    !r.passed && r.name == x.name && r.reason.contains(x.reason)
}

impl Expectations {
    /// True if `r` is a FAIL this run provoked on purpose, with the declared reason.
    pub fn failed_as_intended(&self, r: &TestLine) -> bool {
        self.expected_failures.iter().any(|x| is_expected(x, r))
    }
}

fn parse_summary(line: &str) -> Option<(usize, usize)> {
    let (passed, rest) = line.split_once(" passed, ")?;
    let failed = rest.strip_suffix(" failed")?;
    Some((passed.parse().ok()?, failed.parse().ok()?))
}

/// A FAIL line a group provokes on purpose (to prove a failure path works).
pub struct ExpectedFailure {
    /// `cpu<N>.<name>`.
    pub name: &'static str,
    /// Text the reason must contain.
    pub reason: &'static str,
}

/// What a suite run must show.
pub struct Expectations {
    /// FAIL lines that must appear, and only with these reasons.
    pub expected_failures: &'static [ExpectedFailure],
    /// CPUs QEMU was started with; each must report and (but CPU 0) warm-boot.
    pub cpus: u32,
    /// Seconds the run was allowed (for the message on a timeout).
    pub deadline_s: u64,
}

/// Every reason the run is not a pass; empty means it passed.
pub fn judge(
    t: &Transcript,
    exit_code: Option<i32>,
    output: &str,
    e: &Expectations,
) -> Vec<String> {
    let mut problems = Vec::new();
    match exit_code {
        None => problems.push(format!(
            "QEMU did not power off within {} s (hang); killed",
            e.deadline_s
        )),
        Some(0) => {}
        Some(code) => problems.push(format!("QEMU exited with code {code}")),
    }
    let passed = t.results.iter().filter(|r| r.passed).count();
    let failed = t.results.len() - passed;
    match t.summary {
        None => problems.push("no summary line (`N passed, M failed`)".into()),
        Some(s) if s != (passed, failed) => problems.push(format!(
            "summary says {} passed, {} failed but the transcript has {passed} PASS and \
             {failed} FAIL lines",
            s.0, s.1
        )),
        Some(_) => {}
    }
    match t.plan {
        None => problems.push("no PLAN line".into()),
        Some(plan) if plan != t.results.len() => problems.push(format!(
            "planned {plan} tests but {} result lines were read (lost or garbled lines?)",
            t.results.len()
        )),
        Some(_) => {}
    }
    if t.results.is_empty() {
        problems.push("no tests ran".into());
    }
    for r in t
        .results
        .iter()
        .filter(|r| !r.passed && !e.failed_as_intended(r))
    {
        problems.push(format!("FAIL {}: {}", r.name, r.reason));
    }
    for x in e.expected_failures {
        if !t.results.iter().any(|r| is_expected(x, r)) {
            problems.push(format!(
                "expected {} to FAIL with `{}`, which did not happen",
                x.name, x.reason
            ));
        }
    }
    let mut names: Vec<&str> = t.results.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    for pair in names.windows(2).filter(|p| p[0] == p[1]) {
        problems.push(format!("test {} reported more than once", pair[0]));
    }
    for cpu in 0..e.cpus {
        let prefix = format!("cpu{cpu}.");
        if !t.results.iter().any(|r| r.name.starts_with(&prefix)) {
            problems.push(format!("no results from CPU {cpu}"));
        }
        if cpu > 0 {
            let name = format!("cpu{cpu}.warm_boot");
            if !t.results.iter().any(|r| r.name == name && r.passed) {
                problems.push(format!("{name} did not pass"));
            }
            let rmm_line = format!("CPU {cpu} warm boot: RMI ready");
            if !output.contains(&rmm_line) {
                problems.push(format!("the RMM did not log `{rmm_line}`"));
            }
        }
    }
    if !output.contains("Rust RMM") || !output.contains("cold boot on CPU 0") {
        problems.push("the RMM's cold-boot banner is missing".into());
    }
    if !output.contains(HARDWARE_HASH_ENGINE) {
        problems.push(format!(
            "the RMM did not log `{HARDWARE_HASH_ENGINE}` (QEMU `-cpu max` has both \
             instruction sets, so the hardware engine was not detected or failed its self-test)"
        ));
    }
    problems
}

/// What the RMM logs at cold boot when its SHA-2 instruction routines passed their
/// known-answer test (`rmm/src/arch/aarch64/sha2_hw.rs`). Without it the RMM would quietly
/// measure in software and the end-to-end runs would not exercise the hardware path.
pub const HARDWARE_HASH_ENGINE: &str =
    "hash engine: SHA-256 and SHA-512 instructions (self-test passed)";

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
NOTICE:  Booting Trusted Firmware
RMM[0] INFO  Rust RMM 0.1.0 on QEMU virt: cold boot on CPU 0
RMM[0] INFO  hash engine: SHA-256 and SHA-512 instructions (self-test passed)
RMM[1] INFO  CPU 1 warm boot: RMI ready
PLAN 3 tests on 2 CPUs
TEST cpu1.warm_boot PASS
TEST cpu0.rmi_version PASS
TEST cpu1.rmi_version PASS
3 passed, 0 failed
";

    fn two_cpus() -> Expectations {
        Expectations {
            expected_failures: &[],
            cpus: 2,
            deadline_s: 60,
        }
    }

    /// GOOD, with cpu1.rmi_version failing for `reason` (summary adjusted).
    fn cpu1_fails(reason: &str) -> String {
        GOOD.replace(
            "TEST cpu1.rmi_version PASS",
            &format!("TEST cpu1.rmi_version FAIL {reason}"),
        )
        .replace("3 passed, 0 failed", "2 passed, 1 failed")
    }

    fn problems(output: &str, exit: Option<i32>) -> Vec<String> {
        judge(&parse(output), exit, output, &two_cpus())
    }

    #[test]
    fn a_clean_run_passes() {
        assert_eq!(problems(GOOD, Some(0)), Vec::<String>::new());
        let t = parse(GOOD);
        assert_eq!(t.plan, Some(3));
        assert_eq!(t.summary, Some((3, 0)));
    }

    #[test]
    fn a_fail_line_fails_with_its_reason() {
        let out = cpu1_fails("x0: got 0x1");
        assert_eq!(
            problems(&out, Some(0)),
            ["FAIL cpu1.rmi_version: x0: got 0x1"]
        );
    }

    #[test]
    fn a_timeout_fails() {
        assert!(problems(GOOD, None)[0].contains("did not power off"));
    }

    #[test]
    fn nonzero_exit_fails() {
        assert_eq!(problems(GOOD, Some(1)), ["QEMU exited with code 1"]);
    }

    #[test]
    fn a_missing_summary_fails() {
        let out = GOOD.replace("3 passed, 0 failed\n", "");
        assert!(
            problems(&out, Some(0))
                .iter()
                .any(|p| p.contains("no summary"))
        );
    }

    #[test]
    fn a_lying_summary_fails() {
        let out = GOOD.replace("3 passed, 0 failed", "4 passed, 0 failed");
        assert!(
            problems(&out, Some(0))
                .iter()
                .any(|p| p.contains("summary says"))
        );
    }

    #[test]
    fn a_garbled_line_breaks_the_plan() {
        let out = GOOD.replace(
            "TEST cpu0.rmi_version PASS",
            "TESRMM[1] T cpu0.rmi_version PASS",
        );
        let p = problems(&out, Some(0));
        assert!(p.iter().any(|p| p.contains("planned 3 tests")), "{p:?}");
    }

    #[test]
    fn an_empty_run_fails() {
        let out = "PLAN 0 tests on 2 CPUs\n0 passed, 0 failed\n";
        let p = problems(out, Some(0));
        assert!(p.iter().any(|p| p == "no tests ran"));
        assert!(p.iter().any(|p| p == "no results from CPU 0"));
    }

    #[test]
    fn a_software_hash_engine_fails() {
        let out = GOOD.replace(
            "hash engine: SHA-256 and SHA-512 instructions (self-test passed)",
            "hash engine: software",
        );
        let p = problems(&out, Some(0));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("hash engine"));
    }

    #[test]
    fn a_cpu_that_never_warm_booted_fails() {
        let out = GOOD.replace("RMM[1] INFO  CPU 1 warm boot: RMI ready\n", "");
        assert_eq!(
            problems(&out, Some(0)),
            ["the RMM did not log `CPU 1 warm boot: RMI ready`"]
        );
    }

    #[test]
    fn duplicates_fail() {
        let out = GOOD
            .replace("PLAN 3", "PLAN 4")
            .replace("3 passed", "4 passed")
            .replace(
                "TEST cpu0.rmi_version PASS",
                "TEST cpu0.rmi_version PASS\nTEST cpu0.rmi_version PASS",
            );
        assert!(
            problems(&out, Some(0))
                .iter()
                .any(|p| p.contains("more than once"))
        );
    }

    const EXPECTED: &[ExpectedFailure] = &[ExpectedFailure {
        name: "cpu1.rmi_version",
        reason: "on purpose",
    }];

    fn with_expected(output: &str) -> Vec<String> {
        let e = Expectations {
            expected_failures: EXPECTED,
            ..two_cpus()
        };
        judge(&parse(output), Some(0), output, &e)
    }

    #[test]
    fn an_expected_failure_is_not_a_problem() {
        let out = cpu1_fails("on purpose");
        assert_eq!(with_expected(&out), Vec::<String>::new());
    }

    #[test]
    fn an_expected_failure_that_does_not_happen_is_a_problem() {
        let p = with_expected(GOOD);
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("which did not happen"), "{p:?}");
    }

    #[test]
    fn an_expected_failure_for_another_reason_is_a_problem() {
        let out = cpu1_fails("x0 wrong");
        assert_eq!(with_expected(&out).len(), 2);
    }

    #[test]
    fn pass_with_trailing_text_is_not_a_pass() {
        let t = parse("TEST cpu0.x PASS but not really\n");
        assert!(t.results.is_empty());
    }
}
