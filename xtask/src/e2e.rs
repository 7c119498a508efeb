// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask run` (the demo) and `cargo xtask test` (every test).
//!
//! `test` runs, in order and stopping at the first failure of a step: `cargo fmt --check`,
//! clippy on the host crates and on the firmware for the bare-metal target, `cargo test` for
//! the host crates, the FVP images (built, not run), a check that the RMM image contains no
//! FP/SIMD instruction, then the QEMU end-to-end groups (TF-A + our RMM + the NS test
//! hypervisor, RME), one boot each, each under its own deadline (60 s unless `--deadline` or
//! `--no-deadline`). It ends with one summary line over all groups, so a run that executed
//! nothing is visible.
//!
//! `run` boots the `demo` group and shows its story as it happens ([`crate::demo`]), judged
//! as `test --group demo` judges it. `run --gdb` boots the debug-info build with QEMU's gdb
//! stub (`-s -S`) and no deadline.

use crate::cmd::{self, Result};
use crate::demo;
use crate::images::{self, Flavour};
use crate::options::{Deadline, Options};
use crate::path_remap;
use crate::paths::{self, FIRMWARE_TARGET};
use crate::qemu::{self, Mode};
use crate::token_check;
use crate::transcript::{self, Expectations, ExpectedFailure};

/// One QEMU boot of the end-to-end suite.
struct Group {
    name: &'static str,
    flavour: Flavour,
    mode: Mode,
    smp: u32,
    /// Checks on the whole UART log beyond the transcript.
    extra: fn(&str) -> Vec<String>,
    /// FAIL lines the group provokes on purpose.
    expected_failures: &'static [ExpectedFailure],
    /// CCA tokens the transcript must carry; each is verified on the host
    /// ([`token_check`]) and counted as one more result.
    tokens: &'static [&'static str],
}

const GROUPS: &[Group] = &[
    Group {
        name: "suite",
        flavour: Flavour::Release,
        mode: Mode::Suite,
        smp: 4,
        extra: no_extra_checks,
        expected_failures: &[],
        tokens: token_check::SUITE_TOKENS,
    },
    Group {
        name: "fault",
        flavour: Flavour::FaultInjection,
        mode: Mode::Fault,
        smp: 4,
        extra: rmm_reported_the_faults,
        // The hypervisor's vectors turn an undefined instruction (EC 0) into a FAIL line.
        expected_failures: &[ExpectedFailure {
            name: "cpu0.host_exception_becomes_fail",
            reason: "unexpected exception (vector 4): ESR_EL2=0x2000000",
        }],
        tokens: &[],
    },
    // Confidential Shared Memory: realms sharing protected memory (docs/testing.md), on
    // their own boot; the read-write scenario runs its consumer on CPU 1.
    Group {
        name: "csm",
        flavour: Flavour::Release,
        mode: Mode::Csm,
        smp: 4,
        extra: csm_claims_as_printed,
        expected_failures: &[],
        tokens: CSM_TOKENS,
    },
    // The demo of `cargo xtask run` (xtask/src/demo.rs), its story checked step by step.
    Group {
        name: "demo",
        flavour: Flavour::Release,
        mode: Mode::Demo,
        smp: 4,
        extra: demo::problems,
        expected_failures: &[],
        tokens: demo::TOKENS,
    },
];

fn no_extra_checks(_: &str) -> Vec<String> {
    Vec::new()
}

/// The tokens of the `csm` group (`scenarios/csm_attest.rs`).
const CSM_TOKENS: &[&str] = &["csm.provider", "csm.consumer"];

/// The CSM claims (65001, 65002) of every `csm` token against what the hypervisor printed
/// they must be (`CSM <token> ...` lines, `scenarios/csm_attest.rs`).
fn csm_claims_as_printed(output: &str) -> Vec<String> {
    let printed = token_check::extract(output);
    let expected = match parse_csm_lines(output) {
        Ok(expected) => expected,
        Err(e) => return vec![format!("CSM claim lines: {e}")],
    };
    let mut problems = Vec::new();
    for name in CSM_TOKENS {
        let Some(token) = printed.get(*name) else {
            continue; // `token_check::check` reports it missing.
        };
        let Some(claims) = expected.get(*name) else {
            problems.push(format!(
                "token {name}: the hypervisor printed no CSM claims for it"
            ));
            continue;
        };
        for p in token_check::judge_csm(token, Some(claims)) {
            problems.push(format!("token {name}: {p}"));
        }
    }
    problems
}

fn hex_bytes(s: &str) -> std::result::Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd hex {s:?}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| format!("{s:?}: {e}")))
        .collect()
}

/// `CSM <token> realm <id>`, `CSM <token> share <n> <role> <region> <share> <peer> <size>
/// <mode> <attached>`, `CSM <token> share <n> rim|rpv <hex>`, by token.
pub(crate) fn parse_csm_lines(
    output: &str,
) -> std::result::Result<std::collections::BTreeMap<String, crate::token::csm::CsmClaims>, String> {
    use crate::token::csm::{CsmClaims, Role, Share};
    let mut claims: std::collections::BTreeMap<String, CsmClaims> = Default::default();
    let num = |s: &str| s.parse::<u64>().map_err(|e| format!("{s:?}: {e}"));
    for line in output.lines() {
        let Some(rest) = line.trim_end().strip_prefix("CSM ") else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        let entry = |name: &str, claims: &mut std::collections::BTreeMap<String, CsmClaims>| {
            claims.entry(name.to_string()).or_insert(CsmClaims {
                realm_id: 0,
                shares: Vec::new(),
            });
        };
        match words.as_slice() {
            [name, "realm", id] => {
                entry(name, &mut claims);
                claims.get_mut(*name).unwrap().realm_id = num(id)?;
            }
            [
                name,
                "share",
                n,
                role,
                region,
                share,
                peer,
                size,
                mode,
                attached,
            ] => {
                entry(name, &mut claims);
                let shares = &mut claims.get_mut(*name).unwrap().shares;
                if num(n)? != shares.len() as u64 {
                    return Err(format!("share {n} of {name} out of order"));
                }
                shares.push(Share {
                    role: match *role {
                        "1" => Role::Provider,
                        "2" => Role::Consumer,
                        other => return Err(format!("role {other:?}")),
                    },
                    region_id: num(region)?,
                    share_id: num(share)?,
                    peer_realm_id: num(peer)?,
                    peer_rim: Vec::new(),
                    peer_rpv: Vec::new(),
                    peer_hash_algo: String::new(),
                    size: num(size)?,
                    mode: num(mode)?,
                    attached: *attached == "1",
                });
            }
            [name, "share", n, field @ ("rim" | "rpv"), hex] => {
                let share = claims
                    .get_mut(*name)
                    .and_then(|c| c.shares.get_mut(num(n).ok()? as usize))
                    .ok_or_else(|| format!("`{line}` before its share"))?;
                let bytes = hex_bytes(hex)?;
                if *field == "rpv" {
                    share.peer_rpv = bytes;
                } else {
                    share.peer_hash_algo = match bytes.len() {
                        32 => "sha-256".into(),
                        64 => "sha-512".into(),
                        n => return Err(format!("a peer RIM of {n} bytes")),
                    };
                    share.peer_rim = bytes;
                }
            }
            _ => return Err(format!("unreadable line `{line}`")),
        }
    }
    Ok(claims)
}

/// The RMM's reports of the injected faults.
///
/// CPU 1: the Granule Protection Fault, a data abort at R-EL2 (EC 0x25, IL, DFSC 0x28) at the
/// hypervisor's NS image base, seen through the RMM's Realm window onto DRAM (virtual address
/// 1 << 46 + PA).
///
/// CPU 2: the stack overflow, a translation fault in the unmapped guard hole below CPU 2's
/// stack in the RMM's stack window (`rmm::mmu::layout`: slot 2 is 0x7f_c002_0000..
/// 0x7f_c003_0000, its stack the top 12 KiB from 0x7f_c002_d000), reported as one fatal line
/// and nothing else from that CPU: no `unexpected exception` line (the vectors did not fault
/// again), no panic.
///
/// CPU 3: the same below its own stack (slot 3, 0x7f_c003_0000..0x7f_c004_0000, its stack the
/// top 12 KiB from 0x7f_c003_d000).
fn rmm_reported_the_faults(output: &str) -> Vec<String> {
    let expected: [&[&str]; 3] = [
        &[
            "RMM[1] ERROR unexpected exception (sync, current EL, SP_ELx)",
            "ESR_EL2=0x0000000096000028",
            "FAR_EL2=0x0000400060000000",
            "this CPU stops",
        ],
        &[
            "RMM[2] ERROR stack overflow on CPU 2: SP=0x0000007fc002",
            "FAR_EL2=0x0000007fc002c",
            "below its stack [0x7fc002d000, 0x7fc0030000); this CPU stops",
        ],
        &[
            "RMM[3] ERROR stack overflow on CPU 3: SP=0x0000007fc003",
            "FAR_EL2=0x0000007fc003c",
            "below its stack [0x7fc003d000, 0x7fc0040000); this CPU stops",
        ],
    ];
    let mut problems: Vec<String> = expected
        .iter()
        .filter(|wanted| {
            !output
                .lines()
                .any(|line| wanted.iter().all(|w| line.contains(w)))
        })
        .map(|wanted| {
            format!(
                "the RMM did not report the injected fault as `{}`",
                wanted.join(" ... ")
            )
        })
        .collect();
    for cpu in [2, 3] {
        let lines = output
            .lines()
            .filter(|line| line.contains(&format!("RMM[{cpu}] ERROR")))
            .count();
        if lines != 1 {
            problems.push(format!(
                "the RMM logged {lines} error lines on CPU {cpu}, not exactly the stack overflow"
            ));
        }
    }
    problems
}

/// `cargo xtask run`: build everything, boot the demo (4 CPUs, or `--smp` from 2), show its
/// story ([`demo::Story`]) and judge it as the `demo` group does.
pub fn run_demo(options: &Options) -> Result {
    let Some(group) = GROUPS.iter().find(|g| g.mode == Mode::Demo) else {
        return Err("no demo group".into());
    };
    let verdict = run_group(group, Display::Story, options)?;
    for problem in &verdict.problems {
        println!("xtask: problem: {problem}");
    }
    if verdict.failed == 0 && verdict.problems.is_empty() {
        Ok(())
    } else {
        Err("the demo did not go as it should (see above)".into())
    }
}

/// The host test of the monitor built without the `csm` feature.
const WITHOUT_CSM_TEST: &str = "without_csm";

/// How long the host tests (`cargo test`, compile included) may take.
const HOST_TEST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(1_800);

/// `cargo xtask test`; with `--group`, only the QEMU groups named.
pub fn run_tests(options: &Options) -> Result {
    if !options.groups.is_empty() {
        let mut verdicts = Vec::new();
        let mut skipped = 0;
        for name in &options.groups {
            let not_a_boot = [MSG_SMOKE, STACK_BOUND, PANIC_SITES].contains(&name.as_str())
                || LINUX_GROUPS.iter().any(|(_, g)| *g == name.as_str());
            if options.gdb && not_a_boot {
                return Err(format!(
                    "--gdb: `{name}` cannot run under gdb (only suite, fault, csm, demo)"
                )
                .into());
            }
            if name == MSG_SMOKE {
                verdicts.push(msg_smoke()?);
                continue;
            }
            if name == STACK_BOUND {
                verdicts.push(stack_bounds()?);
                continue;
            }
            if name == PANIC_SITES {
                verdicts.push(panic_sites()?);
                continue;
            }
            if let Some(&(vcpus, group)) = LINUX_GROUPS.iter().find(|(_, g)| *g == name.as_str()) {
                let (verdict, was_skipped) = linux_group(group, crate::linux::scripted(vcpus));
                skipped += usize::from(was_skipped);
                verdicts.extend(verdict);
                continue;
            }
            let Some(group) = GROUPS.iter().find(|g| g.name == name.as_str()) else {
                let names: Vec<&str> = GROUPS
                    .iter()
                    .map(|g| g.name)
                    .chain(LINUX_GROUPS.iter().map(|(_, g)| *g))
                    .chain([MSG_SMOKE, STACK_BOUND, PANIC_SITES])
                    .collect();
                return Err(format!("--group {name}: no such group ({})", names.join(", ")).into());
            };
            verdicts.push(run_group(group, Display::Results, options)?);
        }
        return summarise(&verdicts, skipped);
    }
    lint()?;
    // Host tests under a deadline too: a deadlock (the monitor's locks spin) must fail the run
    // rather than hold it until CI's own limit (CI's whole run, cold, takes about 7 minutes).
    cmd::run_within(
        cmd::cargo().current_dir(paths::root()).arg("test"),
        HOST_TEST_DEADLINE,
    )?;
    // The monitor a user builds with `--no-default-features` (no CSM): its own build, since
    // one cargo invocation unifies features.
    cmd::run_within(
        cmd::cargo().current_dir(paths::root()).args([
            "test",
            "-p",
            "rmm-integration-tests",
            "--no-default-features",
            "--test",
            WITHOUT_CSM_TEST,
        ]),
        HOST_TEST_DEADLINE,
    )?;
    // The FVP cannot run here, but its images must keep building and stay right: built and
    // checked (fiptool info and unpack, dtc on HW_CONFIG, RMM_BASE).
    crate::tfa::build_fvp()?;
    // The Shrinkwrap overlays, through Shrinkwrap's own config processing.
    crate::shrinkwrap::check()?;
    // The largest RMM a user can build (`--max-cpus 256`) links under the tiny code model.
    let stacks = images::build_rmm_for_most_cpus()?;
    println!(
        "xtask: the RMM for {} CPUs links ({stacks} bytes of stacks)",
        crate::options::MAX_RMM_CPUS
    );
    let mut verdicts = vec![stack_bounds()?, panic_sites()?];
    for group in GROUPS {
        verdicts.push(run_group(group, Display::Results, options)?);
    }
    verdicts.push(msg_smoke()?);
    // Debian's kernel in a realm, on one vCPU and on two (PSCI CPU_ON, IPIs as SGI exits).
    let mut skipped = 0;
    for &(vcpus, group) in LINUX_GROUPS {
        let (verdict, was_skipped) = linux_group(group, crate::linux::scripted(vcpus));
        skipped += usize::from(was_skipped);
        verdicts.extend(verdict);
    }
    summarise(&verdicts, skipped)
}

/// The Linux groups (Debian's kernel in a realm): vCPUs and name.
const LINUX_GROUPS: &[(u64, &str)] = &[(1, "linux"), (2, "linux-smp2")];

/// A Linux group's verdict from its scripted boot, and whether it was skipped (no usable
/// kernel: no verdict). An error before or around the boot (preparing the initramfs or
/// device tree, building the images, starting QEMU) is one failed test, `<group>/linux.run`,
/// with the error as its reason, so the summary line still comes.
fn linux_group(
    group: &'static str,
    outcome: Result<crate::linux::Scripted>,
) -> (Option<Verdict>, bool) {
    let linux = match outcome {
        Ok(linux) => linux,
        Err(e) => {
            println!("TEST {group}/linux.run FAIL {e}");
            let mut verdict = Verdict::new(group);
            verdict.failed = 1;
            return (Some(verdict), false);
        }
    };
    if let Some(reason) = &linux.skipped {
        println!("xtask: ************************************************************");
        println!("xtask: SKIPPED {group}: no usable kernel: {reason}");
        println!("xtask: ************************************************************");
        return (None, true);
    }
    for r in &linux.results {
        match r.passed {
            true => println!("TEST {group}/{} PASS", r.name),
            false => println!("TEST {group}/{} FAIL {}", r.name, r.reason),
        }
    }
    let failed = linux.results.iter().filter(|r| !r.passed).count();
    println!(
        "xtask: Linux realm, group {group}: {} passed, {failed} failed, {:.1} s",
        linux.results.len() - failed,
        linux.elapsed.as_secs_f64()
    );
    let mut verdict = Verdict::new(group);
    verdict.passed = linux.results.len() - failed;
    verdict.failed = failed;
    (Some(verdict), false)
}

/// The static bound on each stack of the release RMM (`stack_depth`): one result per stack,
/// failed if the bound and the margin do not fit (`--group stack-bound`).
fn stack_bounds() -> Result<Verdict> {
    let boot = images::build_qemu_boot(Flavour::Release)?;
    let bounds = crate::stack_depth::check(&boot.images.rmm_elf)?;
    let mut verdict = Verdict::new(STACK_BOUND);
    for bound in &bounds {
        if bound.fits() {
            println!("TEST {STACK_BOUND}/{} PASS", bound.id);
            verdict.passed += 1;
        } else {
            println!(
                "TEST {STACK_BOUND}/{} FAIL bound {} + margin {} > {} bytes",
                bound.id,
                bound.chain.bytes,
                crate::stack_depth::MARGIN,
                bound.size
            );
            verdict.failed += 1;
        }
    }
    Ok(verdict)
}

/// The static stack bounds' group name.
const STACK_BOUND: &str = "stack-bound";

/// The panic sites' group name.
const PANIC_SITES: &str = "panic-sites";

/// The calls from the monitor's code into core's panic entry points in the release RMM
/// (`panic_sites`): one result per site, failed unless `panic_sites::ALLOWED` lists it
/// (`--group panic-sites`).
fn panic_sites() -> Result<Verdict> {
    let boot = images::build_qemu_boot(Flavour::Release)?;
    let sites = crate::panic_sites::of_image(&boot.images.rmm_elf)?;
    let mut verdict = Verdict::new(PANIC_SITES);
    for site in &sites {
        if crate::panic_sites::allowed(site) {
            println!("TEST {PANIC_SITES}/{} PASS (listed)", site.caller);
            verdict.passed += 1;
        } else {
            println!(
                "TEST {PANIC_SITES}/{} FAIL calls {}: prove it unreachable and list it, or \
                 remove it",
                site.caller, site.callee
            );
            verdict.failed += 1;
        }
    }
    for (caller, _) in crate::panic_sites::ALLOWED {
        if !sites.iter().any(|s| s.caller == caller) {
            println!("xtask: {PANIC_SITES}: {caller} is listed but no longer panics");
        }
    }
    if sites.is_empty() {
        verdict
            .problems
            .push("no panic site found at all, not even the monitor's own stop".into());
    }
    Ok(verdict)
}

/// The message benchmark's smoke test (`--group msg-smoke`).
const MSG_SMOKE: &str = "msg-smoke";

/// The message benchmark, 2 sizes × 8 round trips per channel, with its counting plugin
/// ([`crate::bench_msg::smoke`]): one result.
fn msg_smoke() -> Result<Verdict> {
    let boot = images::build_qemu_boot(Flavour::Release)?;
    let passed = crate::bench_msg::smoke(&boot).is_ok();
    Ok(Verdict {
        group: MSG_SMOKE,
        problems: Vec::new(),
        passed: usize::from(passed),
        failed: usize::from(!passed),
    })
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
    // The test of the monitor without CSM compiles only without the feature.
    cmd::run(cmd::cargo().current_dir(&root).args([
        "clippy",
        "-p",
        "rmm-integration-tests",
        "--no-default-features",
        "--test",
        WITHOUT_CSM_TEST,
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
                "attest",
                "-p",
                "apt",
                "-p",
                "csm",
                "-p",
                &format!("rmm-{platform}"),
            ])
            .args([
                "-p",
                "ns-test-host",
                "-p",
                "realm-payload",
                "-p",
                "realm-protocol",
            ])
            .arg("--target-dir")
            .arg(paths::target().join(format!("firmware-{platform}")));
        if let Some(features) = features {
            clippy.args(["--features", features]);
        }
        cmd::run(clippy.args(["--", "-D", "warnings"]))?;
    }
    // The message benchmark's realm: hard-float, with AES-GCM.
    cmd::run(
        cmd::cargo()
            .current_dir(&root)
            .args(["clippy", "--release", "--target", paths::MSG_REALM_TARGET])
            .args(["-p", "realm-payload", "--features", "msgbench"])
            .arg("--target-dir")
            .arg(paths::target().join("firmware-qemu"))
            .args(["--", "-D", "warnings"]),
    )?;
    Ok(())
}

/// How to attach gdb to the waiting QEMU (README, "Debugging with gdb").
fn print_gdb_recipe(images: &images::Images) {
    println!(
        "xtask: QEMU starts halted and waits for gdb on localhost:1234. In another terminal:\n  \
         gdb-multiarch -q {rmm} -ex 'set confirm off' \\\n    \
         -ex 'add-symbol-file {host}' {sources}\\\n    \
         -ex 'target remote :1234' -ex 'hbreak rmm_platform_main' -ex 'continue'\n\
         xtask: the RMM is entered first at 0x40100000 (its vector table, which branches to rmm_entry: cold boot, CPU 0); ending \
         QEMU from gdb or with Ctrl-C here makes the run count as failed.",
        rmm = images.rmm_elf.display(),
        host = images.host_elf.display(),
        sources = path_remap::gdb_source_option()
            .map(|option| format!("\\\n    {option} "))
            .unwrap_or_default(),
    );
}

struct Verdict {
    group: &'static str,
    problems: Vec<String>,
    passed: usize,
    failed: usize,
}

impl Verdict {
    /// A group's verdict before any result: nothing passed, failed or wrong yet.
    fn new(group: &'static str) -> Self {
        Self {
            group,
            problems: Vec::new(),
            passed: 0,
            failed: 0,
        }
    }
}

/// What the terminal shows of a group's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Display {
    /// The `TEST` lines after the run.
    Results,
    /// The demo's story as it happens ([`demo::Story`]).
    Story,
}

fn run_group(group: &Group, display: Display, options: &Options) -> Result<Verdict> {
    let flavour = if options.gdb {
        Flavour::DebugInfo
    } else {
        group.flavour
    };
    let boot = images::build_qemu_boot(flavour)?;
    images::check_no_fp_simd(&boot.images.rmm_elf)?;
    path_remap::check_image(&boot.images.rmm_bin)?;
    path_remap::check_image(&boot.images.host_bin)?;
    // `--smp` applies to the suite, and to the demo of `run` (which needs a second CPU for
    // B); the fault group's expectations are per CPU.
    let smp = match (group.mode, options.smp) {
        (Mode::Suite, Some(smp)) => smp,
        (Mode::Demo, Some(smp)) if display == Display::Story => {
            if smp < 2 {
                return Err("the demo needs --smp 2 or more".into());
            }
            smp
        }
        _ => group.smp,
    };
    let mut extra = Vec::new();
    if options.gdb {
        extra.extend(["-s".to_string(), "-S".to_string()]);
        print_gdb_recipe(&boot.images);
    }
    // The demo's `cost` step: the plugin counts the realms' instructions per message.
    let counting = match group.mode {
        Mode::Demo => Some(demo::counting(&boot.images)?),
        _ => None,
    };
    if let Some(c) = &counting {
        extra.extend(c.args.iter().cloned());
    }
    let run = qemu::Run {
        bios: &boot.bios,
        smp,
        mode: group.mode,
        deadline: match options.deadline {
            Deadline::After(d) => Some(d),
            Deadline::Never => None,
        },
        live: false,
        extra,
        print_command: options.print_qemu,
        log: paths::logs().join(format!("{}.log", group.name)),
    };
    let outcome = match display {
        Display::Results => run.execute()?,
        Display::Story => {
            println!(
                "xtask: the full UART log (TF-A, RMM, hypervisor, TEST lines, the token in hex) \
                 goes to {}",
                run.log.display()
            );
            let mut story = counting
                .as_ref()
                .map(|c| demo::Story::with_counts(c.counts.clone()))
                .unwrap_or_default();
            run.execute_with(&mut |line: &str| {
                for shown in story.show(line) {
                    println!("{shown}");
                }
            })?
        }
    };
    let mut outcome = outcome;
    if let Some(c) = &counting {
        // The plugin's records join the UART log, where `demo::problems` finds them.
        let counts = std::fs::read_to_string(&c.counts).unwrap_or_default();
        outcome.output.push_str(&demo::icount_lines(&counts));
        std::fs::write(&run.log, &outcome.output)?;
    }
    let mut t = transcript::parse(&outcome.output);
    let expect = Expectations {
        expected_failures: group.expected_failures,
        cpus: smp,
        deadline_s: run.deadline.map_or(0, |d| d.as_secs()),
    };
    let mut problems = transcript::judge(&t, outcome.exit_code, &outcome.output, &expect);
    problems.extend((group.extra)(&outcome.output));
    // The tokens, verified here: results of their own, after the hypervisor's summary.
    t.results
        .extend(token_check::check(&outcome.output, group.tokens));
    if display == Display::Results {
        for r in &t.results {
            match (r.passed, expect.failed_as_intended(r)) {
                (true, _) => println!("TEST {}/{} PASS", group.name, r.name),
                (false, true) => println!(
                    "TEST {}/{} PASS (failed as intended: {})",
                    group.name, r.name, r.reason
                ),
                (false, false) => println!("TEST {}/{} FAIL {}", group.name, r.name, r.reason),
            }
        }
    }
    // A provoked failure that happened as intended counts as a pass; `judge` has already
    // made it a problem if it did not happen or happened for another reason.
    let passed = t
        .results
        .iter()
        .filter(|r| r.passed || expect.failed_as_intended(r))
        .count();
    let failed = t.results.len() - passed;
    if display == Display::Story {
        println!(
            "xtask: the demo took {:.1} s in QEMU; checked as the `demo` test group does: \
             {passed} passed, {failed} failed, {} problem(s); full UART log: {}",
            outcome.elapsed.as_secs_f64(),
            problems.len(),
            run.log.display()
        );
    } else {
        println!(
            "xtask: QEMU group `{}`: {passed} passed, {failed} failed, {} problem(s), {:.1} s \
             (UART log: {})",
            group.name,
            problems.len(),
            outcome.elapsed.as_secs_f64(),
            run.log.display()
        );
    }
    Ok(Verdict {
        group: group.name,
        problems,
        passed,
        failed,
    })
}

/// Prints every problem and the final summary line; fails if anything went wrong. A group
/// with problems but no FAIL line (a hang, a missing summary) counts as one failure. Skipped
/// scenarios (the Linux realm without a usable kernel) are counted on the summary line.
fn summarise(verdicts: &[Verdict], skipped: usize) -> Result {
    for v in verdicts {
        for problem in &v.problems {
            println!("xtask: problem in `{}`: {problem}", v.group);
        }
    }
    let (line, failed) = summary_line(verdicts, skipped);
    println!("{line}");
    if failed == 0 {
        Ok(())
    } else {
        Err("the QEMU end-to-end suite failed".into())
    }
}

/// The summary line and the number of failures (a group with problems but no failed test
/// counts as one).
fn summary_line(verdicts: &[Verdict], skipped: usize) -> (String, usize) {
    let mut passed = 0;
    let mut failed = 0;
    for v in verdicts {
        passed += v.passed;
        failed += v.failed + usize::from(v.failed == 0 && !v.problems.is_empty());
    }
    let line = if skipped == 0 {
        format!("{passed} passed, {failed} failed")
    } else {
        format!("{passed} passed, {failed} failed, {skipped} skipped")
    };
    (line, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linux_group_error_is_a_failed_test_and_the_summary_still_comes() {
        let mut suite = Verdict::new("suite");
        suite.passed = 3;
        let (linux, skipped) = linux_group("linux", Err("dtc: not found".into()));
        assert!(!skipped);
        let linux = linux.expect("a verdict");
        assert_eq!((linux.passed, linux.failed), (0, 1));
        let skipped_run = crate::linux::Scripted {
            results: Vec::new(),
            skipped: Some("no kernel".into()),
            elapsed: std::time::Duration::ZERO,
        };
        let (none, skipped) = linux_group("linux-smp2", Ok(skipped_run));
        assert!(none.is_none() && skipped);
        let (line, failed) = summary_line(&[suite, linux], 1);
        assert_eq!(line, "3 passed, 1 failed, 1 skipped");
        assert_eq!(failed, 1);
    }
    use crate::token::csm::Role;

    #[test]
    fn csm_claim_lines_are_parsed() {
        let rpv = "5a".repeat(64);
        let rim = "ab".repeat(32);
        let out = format!(
            "noise\nCSM csm.provider realm 28\nCSM csm.provider share 0 1 24 16 29 16384 3 1\n\
             CSM csm.provider share 0 rim {rim}\nCSM csm.provider share 0 rpv {rpv}\n"
        );
        let claims = parse_csm_lines(&out).unwrap();
        let p = &claims["csm.provider"];
        assert_eq!(p.realm_id, 28);
        assert_eq!(p.shares.len(), 1);
        let s = &p.shares[0];
        assert_eq!(s.role, Role::Provider);
        assert_eq!(
            (s.region_id, s.share_id, s.peer_realm_id, s.size, s.mode),
            (24, 16, 29, 16384, 3)
        );
        assert!(s.attached);
        assert_eq!(s.peer_rim, vec![0xab; 32]);
        assert_eq!(s.peer_hash_algo, "sha-256");
        assert_eq!(s.peer_rpv, vec![0x5a; 64]);
        assert!(parse_csm_lines("CSM x share 0 rim ab\n").is_err());
        assert!(parse_csm_lines("CSM x realm\n").is_err());
        assert!(parse_csm_lines("CSM x share 1 1 2 3 4 5 3 1\n").is_err());
    }

    #[test]
    fn a_missing_csm_token_is_left_to_the_token_check() {
        assert!(csm_claims_as_printed("CSM csm.provider realm 1\n").is_empty());
    }
}
