// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask bench`: deterministic instruction counts, and image sizes.
//!
//! Two QEMU boots with `-icount shift=0 -smp 1`, under which the counter the hypervisor reads
//! advances by exactly one per instruction executed at any exception level:
//! - the timed boot (hypervisor mode `Bench`): its `BENCH` lines are whole round-trip costs
//!   (EL3 forwarding + RMM + the hypervisor's own instructions), medians of many calls;
//! - the traced boot (mode `BenchTrace`) also logs every instruction executed inside the RMM
//!   image and the hypervisor image (`-accel tcg,one-insn-per-tb=on -d exec,nochain
//!   -dfilter ...`); counting the RMM's lines between consecutive `bench_marker` calls gives
//!   the RMM's own share of each traced segment exactly. The hypervisor names the segments,
//!   in order, with `BENCH traced <name> calls=<n>`.
//!
//! The realm-execution rows (REC_ENTER round trips, RSI_VERSION) run the test realm: their
//! "rest" column is EL3 plus the realm's own instructions (the realm image is not traced).
//! The RSI_VERSION total is timed by the realm itself around its `smc`; its traced segment is
//! one REC_ENTER holding the calls, less one host-call round trip.
//!
//! The message benchmark between two realms ([`crate::bench_msg`]) boots first, on its own;
//! its tables are printed last, after the RMM's costs and the image sizes (with and without
//! CSM).
//!
//! Two boots keep the instruction log small: the commands that hash (REALM_CREATE,
//! DATA_CREATE, REC_CREATE, RTT_INIT_RIPAS) cost 10^5 to 10^6 instructions per call, and
//! their timed iterations would otherwise be logged too.

use crate::cmd::{self, Result};
use crate::images;
use crate::paths;
use crate::qemu::{self, Mode};
use crate::size;
use std::io::{BufRead, BufReader};
use std::sync::Mutex;

/// Everything the benchmark's report has printed so far ([`report!`]), for the results file.
static REPORT: Mutex<String> = Mutex::new(String::new());

/// `println!` for the benchmark's report: prints the line and keeps it for
/// `target/bench/results.md` ([`results_file`]).
macro_rules! report {
    () => {
        $crate::bench::keep(String::new())
    };
    ($($arg:tt)*) => {
        $crate::bench::keep(format!($($arg)*))
    };
}
pub(crate) use report;

/// Prints `line` and keeps it for the results file.
pub(crate) fn keep(line: String) {
    println!("{line}");
    if let Ok(mut report) = REPORT.lock() {
        report.push_str(&line);
        report.push('\n');
    }
}

/// The commit the benchmark runs on (`git describe --always --dirty`).
fn commit() -> String {
    std::process::Command::new("git")
        .current_dir(paths::root())
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or("(unknown)".into(), |o| {
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        })
}

/// Where `cargo xtask bench` writes its tables: `target/bench/results.md`.
pub fn results_file() -> std::path::PathBuf {
    paths::target().join("bench").join("results.md")
}

/// Writes everything reported so far to [`results_file`].
fn write_results() -> Result {
    let path = results_file();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let report = REPORT.lock().map(|r| r.clone()).unwrap_or_default();
    std::fs::write(&path, report)?;
    println!("\nThe tables above are in {}.", path.display());
    Ok(())
}
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// One row of the report: a command, the reference RMM's numbers and our target.
struct Row {
    /// `BENCH <bench>` name.
    bench: &'static str,
    /// What the row is called in the report.
    label: &'static str,
    /// TF-RMM rel0 total and RMM share, as measured with TF-RMM in our place
    /// (`docs/benchmarks.md`; "–" where it has none).
    tf_rmm: [&'static str; 2],
    /// Our target (`docs/benchmarks.md`): for our share unless it says total.
    target: &'static str,
    /// A row whose per-call shares the traced segment also contains once (the RSI_VERSION
    /// segment is one REC_ENTER that also completes and takes a host call), taken off before
    /// dividing by the number of calls.
    less_one: Option<&'static str>,
    /// Further segments whose per-call shares add to the row's (a RIPAS change spans an
    /// entry that exits asking for it, RTT_SET_RIPAS, and the entry that accepts it).
    also: &'static [&'static str],
}

const ROWS: &[Row] = &[
    Row {
        bench: "rmi_version",
        label: "RMI_VERSION",
        tf_rmm: ["1,191", "93"],
        target: "share ≤ 45",
        less_one: None,
        also: &[],
    },
    Row {
        bench: "granule_delegate",
        label: "RMI_GRANULE_DELEGATE (steady state)",
        tf_rmm: ["2,768", "736"],
        target: "share ≤ 300",
        less_one: None,
        also: &[],
    },
    Row {
        bench: "granule_undelegate",
        label: "RMI_GRANULE_UNDELEGATE",
        tf_rmm: ["2,219", "161"],
        target: "share ≤ 120",
        less_one: None,
        also: &[],
    },
    Row {
        bench: "realm_create",
        label: "RMI_REALM_CREATE (level-0 root, s2sz 48, SHA-256)",
        tf_rmm: ["183,934 (smaller realm)", "~182,800"],
        target: "share ≤ 90,000",
        less_one: None,
        also: &[],
    },
    Row {
        bench: "rtt_create_l3",
        label: "RMI_RTT_CREATE level 3",
        tf_rmm: ["3,655", "~2,550"],
        target: "share ≤ 1,300",
        less_one: None,
        also: &[],
    },
    Row {
        bench: "data_create",
        label: "RMI_DATA_CREATE, 4 KiB, measured (SHA-256)",
        tf_rmm: ["198,817", "~197,700"],
        target: "total ≤ 50,000",
        less_one: None,
        also: &[],
    },
    Row {
        bench: "data_create_unknown",
        label: "RMI_DATA_CREATE_UNKNOWN",
        tf_rmm: ["–", "–"],
        target: "–",
        less_one: None,
        also: &[],
    },
    Row {
        bench: "data_destroy",
        label: "RMI_DATA_DESTROY (RAM page, next entry live)",
        tf_rmm: ["–", "–"],
        target: "–",
        less_one: None,
        also: &[],
    },
    Row {
        bench: "rec_create",
        label: "RMI_REC_CREATE (16 aux granules, runnable)",
        tf_rmm: ["203,169", "~202,000"],
        target: "share ≤ 90,000",
        less_one: None,
        also: &[],
    },
    Row {
        bench: "rtt_init_ripas_2m",
        label: "RMI_RTT_INIT_RIPAS, 2 MiB as 512 level-3 entries",
        tf_rmm: ["7,510,822", "–"],
        target: "share ≤ 2,000,000",
        less_one: None,
        also: &[],
    },
    Row {
        bench: "rec_enter_host_call",
        label: "REC_ENTER → exit on RSI_HOST_CALL → REC_ENTER (round trip)",
        tf_rmm: ["13,443", "12,340"],
        target: "share ≤ 3,000",
        less_one: None,
        also: &[],
    },
    Row {
        bench: "rec_enter_host_call_pauth",
        label: "REC_ENTER → exit on RSI_HOST_CALL → REC_ENTER, a REC that has used PAuth (keys \
                switched every run)",
        tf_rmm: ["–", "–"],
        target: "–",
        less_one: None,
        also: &[],
    },
    Row {
        bench: "rsi_version",
        label: "RSI_VERSION, timed inside the realm",
        tf_rmm: ["277", "276"],
        target: "share ≤ 150",
        less_one: Some("rec_enter_host_call"),
        also: &[],
    },
    Row {
        bench: "rec_enter_mmio",
        label: "MMIO emulation round trip (EMUL_MMIO → REC_ENTER → exit on the next load)",
        tf_rmm: ["–", "–"],
        target: "–",
        less_one: None,
        also: &[],
    },
    Row {
        bench: "rtt_set_ripas_2m",
        label: "RMI_RTT_SET_RIPAS, 2 MiB as 512 level-3 entries (EMPTY → RAM, no DATA)",
        tf_rmm: ["–", "–"],
        target: "–",
        less_one: None,
        also: &[],
    },
    Row {
        bench: "ripas_change_2m",
        label: "RIPAS change of 2 MiB, timed inside the realm (RSI_IPA_STATE_SET → exit → \
                RTT_SET_RIPAS → REC_ENTER accepting it → RSI returns)",
        tf_rmm: ["–", "–"],
        target: "–",
        less_one: Some("rec_enter_host_call"),
        also: &["ripas_change_exit", "rtt_set_ripas_2m"],
    },
];

/// One CSM row (issue 17, `docs/csm.md` "Worst case per call"): a call measured at `pages`
/// pages in `realms` involved realms, extrapolated to the design's worst case.
///
/// What a CSM call costs the RMM is, measured, a fixed part per involved realm (its APT
/// granule decoded, checked, re-encoded: about 200,000 instructions each) plus a part per
/// page mapped, unmapped or summarised. The extrapolation keeps that shape: the unmapping
/// rows take their cost per alias from the REVOKE rows (8 MiB less 4 KiB), the rest of
/// their share is the fixed part, divided by their involved realms, and the worst case is
/// `worst realms × fixed + worst pages × per alias`.
struct CsmRow {
    /// `BENCH <bench>` name (timed) and traced segment.
    bench: &'static str,
    /// What the row is called in the report.
    label: &'static str,
    /// 4 KiB pages the call maps, unmaps or summarises.
    pages: u64,
    /// Realms the call involves (locks, decodes and checks the APT of).
    realms: u64,
    /// Whether the RMM share per page has the ≤ 300 target (ACCEPT, REVOKE).
    per_page_target: bool,
    /// The design's worst case, if the row is checked against a bound.
    worst: Option<Worst>,
    /// A CSM RSI call: one empty command's round trip is taken off its traced share (the
    /// hypervisor already took it off the timed total).
    rsi: bool,
}

/// A design worst case and its bound.
#[derive(Clone, Copy)]
struct Worst {
    /// Pages (aliases) the worst call maps, unmaps or summarises.
    pages: u64,
    /// Realms it involves.
    realms: u64,
    /// Instructions allowed.
    bound: u64,
    /// Extrapolated with the unmapping cost per alias of the REVOKE rows (else the row is
    /// the worst case itself: same pages, same realms).
    per_alias: bool,
}

/// The RMM share per page the CSM ACCEPT and REVOKE rows aim at.
const CSM_PER_PAGE_TARGET: f64 = 300.0;
/// Bound for a CSM RSI call (it runs inside REC_ENTER).
const CSM_RSI_BOUND: u64 = 2_000_000;
/// Bound for RMI teardown.
const CSM_RMI_BOUND: u64 = 10_000_000;
/// The rows the cost per unmapped alias comes from, and the pages between them.
const CSM_UNMAP_SLOPE: (&str, &str, u64) = ("csm_revoke_4k", "csm_revoke_8m", 2_047);

const fn itself(pages: u64, realms: u64, bound: u64) -> Option<Worst> {
    Some(Worst {
        pages,
        realms,
        bound,
        per_alias: false,
    })
}

const fn scaled(pages: u64, realms: u64, bound: u64) -> Option<Worst> {
    Some(Worst {
        pages,
        realms,
        bound,
        per_alias: true,
    })
}

const fn row(
    bench: &'static str,
    label: &'static str,
    pages: u64,
    realms: u64,
    per_page_target: bool,
    worst: Option<Worst>,
    rsi: bool,
) -> CsmRow {
    CsmRow {
        bench,
        label,
        pages,
        realms,
        per_page_target,
        worst,
        rsi,
    }
}

const CSM_ROWS: &[CsmRow] = &[
    row(
        "csm_create_8m",
        "RSI_CSM_CREATE 8 MiB (2,048 pages populated)",
        2_048,
        1,
        false,
        itself(2_048, 1, CSM_RSI_BOUND),
        true,
    ),
    row(
        "csm_accept_4k",
        "RSI_CSM_ACCEPT 4 KiB window",
        1,
        2,
        true,
        None,
        true,
    ),
    row(
        "csm_accept_2m",
        "RSI_CSM_ACCEPT 2 MiB window",
        512,
        2,
        true,
        None,
        true,
    ),
    row(
        "csm_accept_8m",
        "RSI_CSM_ACCEPT 8 MiB window",
        2_048,
        2,
        true,
        itself(2_048, 2, CSM_RSI_BOUND),
        true,
    ),
    row(
        "csm_revoke_4k",
        "RSI_CSM_REVOKE of an attached 4 KiB window",
        1,
        2,
        true,
        None,
        true,
    ),
    row(
        "csm_revoke_2m",
        "RSI_CSM_REVOKE of an attached 2 MiB window",
        512,
        2,
        true,
        None,
        true,
    ),
    row(
        "csm_revoke_8m",
        "RSI_CSM_REVOKE of an attached 8 MiB window",
        2_048,
        2,
        true,
        itself(2_048, 2, CSM_RSI_BOUND),
        true,
    ),
    row(
        "csm_destroy_8m_x3",
        "RSI_CSM_DESTROY, 8 MiB region attached in 3 consumers (6,144 aliases)",
        6_144,
        4,
        false,
        scaled(8_192, 5, CSM_RSI_BOUND),
        true,
    ),
    row(
        "csm_data_destroy_2m_x3",
        "RMI_DATA_DESTROY damaging a 2 MiB region attached in 3 consumers (1,536 aliases)",
        1_536,
        4,
        false,
        scaled(8_192, 49, CSM_RMI_BOUND),
        false,
    ),
    row(
        "csm_apt_destroy_8m_x3",
        "RMI_APT_DESTROY, 8 MiB region attached in 3 consumers (6,144 aliases)",
        6_144,
        4,
        false,
        scaled(98_304, 49, CSM_RMI_BOUND),
        false,
    ),
];

/// `share` (of a call of `pages` pages in `realms` realms) extrapolated to `worst`, with
/// `per_alias` instructions per unmapped alias.
fn extrapolate(share: f64, pages: u64, realms: u64, worst: &Worst, per_alias: f64) -> f64 {
    if !worst.per_alias {
        return share;
    }
    let fixed = (share - per_alias * pages as f64) / realms as f64;
    fixed * worst.realms as f64 + per_alias * worst.pages as f64
}

/// Prints the CSM table: per row the timed total, the RMM and NS shares, the RMM share per
/// page, and the share extrapolated to the design's worst case against its bound.
fn print_csm(timed: &str, segments: &[(String, u64)], counts: &[Counts]) -> Result {
    let share_of = |bench: &str, rsi: bool| -> Result<(f64, f64)> {
        let (index, (_, calls)) = segment(segments, bench)?;
        shares(
            segments,
            counts,
            index,
            *calls,
            rsi.then_some("csm_round_trip"),
        )
    };
    let (small, large, between) = CSM_UNMAP_SLOPE;
    let per_alias = (share_of(large, true)?.0 - share_of(small, true)?.0) / between as f64;
    report!("\n## CSM (issue 17): RMM share per call and per page\n");
    report!(
        "| measurement (instructions) | pages | realms | total | RMM share | NS share | \
         RMM per page | per-page target | worst case: pages, realms | RMM share extrapolated | \
         bound | met |"
    );
    report!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for row in CSM_ROWS {
        let total = bench_value(timed, row.bench, "instructions")
            .ok_or_else(|| format!("no `BENCH {}` line in the transcript", row.bench))?;
        let (rmm, ns) = share_of(row.bench, row.rsi)?;
        let per_page = rmm / row.pages as f64;
        let mut met = Vec::new();
        if row.per_page_target {
            met.push(if per_page <= CSM_PER_PAGE_TARGET {
                "per page: yes"
            } else {
                "per page: **no**"
            });
        }
        let (worst, extrapolated, bound) = match &row.worst {
            Some(w) => {
                let x = extrapolate(rmm, row.pages, row.realms, w, per_alias);
                met.push(if x <= w.bound as f64 {
                    "bound: yes"
                } else {
                    "bound: **no**"
                });
                (
                    format!("{}, {}", grouped(w.pages), w.realms),
                    grouped_f(x),
                    grouped(w.bound),
                )
            }
            None => ("–".into(), "–".into(), "–".into()),
        };
        report!(
            "| {} | {} | {} | {} | **{}** | {} | {} | {} | {} | {} | {} | {} |",
            row.label,
            grouped(row.pages),
            row.realms,
            grouped(total),
            grouped_f(rmm),
            grouped_f(ns),
            grouped_f(per_page),
            if row.per_page_target {
                "≤ 300"
            } else {
                "–"
            },
            worst,
            extrapolated,
            bound,
            met.join(", ")
        );
    }
    report!(
        "\nRSI rows: one REC_ENTER holding the call, less an empty command's round trip (timed \
         {}, taken off by the hypervisor; traced, taken off here). Per unmapped alias ({} less \
         {}, / {}): {}. Extrapolated: the row itself where it is the worst case, else its share \
         less the aliases is the fixed part per involved realm, and the worst case is its realms \
         × that + its aliases × the cost per alias.",
        bench_value(timed, "csm_round_trip", "instructions").map_or("–".into(), grouped),
        large,
        small,
        between,
        grouped_f(per_alias)
    );
    Ok(())
}

/// `n` with thousands separators.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `x` to one decimal, with thousands separators.
pub(crate) fn grouped_f(x: f64) -> String {
    let tenths = (x * 10.0).round() as u64;
    format!("{}.{}", grouped(tenths / 10), tenths % 10)
}

/// Boots once in `mode` with `extra` QEMU arguments; fails unless QEMU powered off by itself
/// and the hypervisor reported no `BENCH error`.
fn boot(bios: &Path, mode: Mode, extra: Vec<String>, log: &str) -> Result<String> {
    let run = qemu::Run {
        bios,
        smp: 1,
        mode,
        deadline: Some(Duration::from_secs(300)),
        live: false,
        extra,
        print_command: false,
        log: paths::logs().join(log),
    };
    let outcome = run.execute()?;
    if outcome.exit_code != Some(0) {
        return Err(format!("benchmark boot failed; see {}", run.log.display()).into());
    }
    if let Some(line) = outcome
        .output
        .lines()
        .find(|l| l.starts_with("BENCH error"))
    {
        return Err(format!("benchmark failed: {line}").into());
    }
    Ok(outcome.output)
}

/// Runs the benchmarks and prints a markdown report.
pub fn run() -> Result {
    let boot_images = images::build_qemu_boot(images::Flavour::Release)?;
    if let Ok(mut report) = REPORT.lock() {
        report.clear();
    }
    report!("# `cargo xtask bench` on commit {}\n", commit());
    // The message benchmark boots on its own (-smp 2, the counting plugin, no -icount).
    let messages = crate::bench_msg::run(&boot_images)?;
    let rmm = symbol_range(&boot_images.images.rmm_elf)?;
    let host = symbol_range(&boot_images.images.host_elf)?;
    let marker = symbol(&boot_images.images.host_elf, "bench_marker")?;
    let icount = ["-icount".to_string(), "shift=0".to_string()];
    let timed = boot(&boot_images.bios, Mode::Bench, icount.to_vec(), "bench.log")?;

    let trace = paths::logs().join("bench-exec.log");
    let _ = std::fs::remove_file(&trace);
    let mut extra = icount.to_vec();
    extra.extend([
        "-accel".into(),
        "tcg,one-insn-per-tb=on".into(),
        "-d".into(),
        "exec,nochain".into(),
        "-dfilter".into(),
        format!(
            "{:#x}..{:#x},{:#x}..{:#x}",
            rmm.0,
            rmm.1 - 1,
            host.0,
            host.1 - 1
        ),
        "-D".into(),
        trace.display().to_string(),
    ]);
    let traced = boot(
        &boot_images.bios,
        Mode::BenchTrace,
        extra,
        "bench-trace.log",
    )?;
    let segments = traced_segments(&traced);
    let counts = count_segments(&trace, marker, rmm, host, segments.len())?;

    report!("## Instruction counts (QEMU -icount shift=0 -smp 1, TF-A 2.12 from Debian)\n");
    report!(
        "| measurement (instructions) | ours: total | ours: RMM share | ours: NS share | \
         EL3 (rest) | TF-RMM total | TF-RMM share | target |"
    );
    report!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in ROWS {
        let total = bench_value(&timed, row.bench, "instructions")
            .ok_or_else(|| format!("no `BENCH {}` line in the transcript", row.bench))?;
        let (rmm_share, ns_share) = row_shares(row, &segments, &counts)?;
        report!(
            "| {} | {} | **{}** | {} | {} | {} | {} | {} |",
            row.label,
            grouped(total),
            grouped_f(rmm_share),
            grouped_f(ns_share),
            grouped_f(total as f64 - rmm_share - ns_share),
            row.tf_rmm[0],
            row.tf_rmm[1],
            row.target
        );
    }
    report!(
        "\nRMM share: instructions logged inside the RMM image per traced call (traced calls: \
         {}); total: median of the hypervisor's counter deltas ({}).",
        segments
            .iter()
            .map(|(name, calls)| format!("{name} {calls}"))
            .collect::<Vec<_>>()
            .join(", "),
        ROWS.iter()
            .filter_map(|row| Some(format!(
                "{} {}",
                row.bench,
                bench_value(&timed, row.bench, "iterations")?
            )))
            .collect::<Vec<_>>()
            .join(", ")
    );
    print_csm(&timed, &segments, &counts)?;
    crate::bench_attest::print(&timed)?;
    report!("\n## Image sizes (bytes)\n");
    report!("| image | text | rodata | data | bss | stacks (NOLOAD) | flat binary |");
    report!("|---|---:|---:|---:|---:|---:|---:|");
    size::print_row(
        "rmm-qemu",
        &boot_images.images.rmm_elf,
        &boot_images.images.rmm_bin,
    )?;
    size::print_row(
        "ns-test-host (qemu)",
        &boot_images.images.host_elf,
        &boot_images.images.host_bin,
    )?;
    report!();
    let with = size::of(&boot_images.images.rmm_elf)?;
    let without = size::of(&images::build_rmm_without_csm(images::Platform::Qemu)?)?;
    report!("{}", size::csm_cost(&with, &without).trim_end());
    crate::bench_msg::print(&messages)?;
    let cost = |name: &str| {
        bench_value(&timed, name, "instructions")
            .ok_or_else(|| format!("no `BENCH {name}` line in the transcript"))
    };
    let rmm_costs = crate::bench_msg::RmmCosts {
        data_create: cost("data_create")?,
        data_create_unknown: cost("data_create_unknown")?,
        rtt_create_l3: cost("rtt_create_l3")?,
    };
    crate::bench_msg::print_sharing(&rmm_costs, &messages)?;
    write_results()
}

/// The RMM's and the hypervisor's instructions per call of `row`: its own segment's, less one
/// call of its `less_one` segment, plus one call of each of its `also` segments.
fn row_shares(row: &Row, segments: &[(String, u64)], counts: &[Counts]) -> Result<(f64, f64)> {
    let (index, (_, calls)) = segment(segments, row.bench)?;
    let (mut rmm_share, mut ns_share) = shares(segments, counts, index, *calls, row.less_one)?;
    for name in row.also {
        let (i, (_, n)) = segment(segments, name)?;
        let (rmm, ns) = shares(segments, counts, i, *n, None)?;
        rmm_share += rmm;
        ns_share += ns;
    }
    Ok((rmm_share, ns_share))
}

/// The RMM's and the hypervisor's instructions per call in segment `index` of `calls` calls,
/// less one call of segment `less_one` if the row says so.
fn shares(
    segments: &[(String, u64)],
    counts: &[Counts],
    index: usize,
    calls: u64,
    less_one: Option<&str>,
) -> Result<(f64, f64)> {
    let count = &counts[index];
    let (mut rmm, mut host) = (count.rmm as f64, count.host as f64);
    if let Some(other) = less_one {
        let (i, (_, n)) = segment(segments, other)?;
        rmm -= counts[i].rmm as f64 / *n as f64;
        host -= counts[i].host as f64 / *n as f64;
    }
    Ok((rmm / calls as f64, host / calls as f64))
}

/// The index and entry of the traced segment called `name`.
fn segment<'a>(segments: &'a [(String, u64)], name: &str) -> Result<(usize, &'a (String, u64))> {
    segments
        .iter()
        .enumerate()
        .find(|(_, (n, _))| n == name)
        .ok_or_else(|| format!("no traced segment for {name}").into())
}

/// The value of `key=` on the `BENCH <name>` line.
fn bench_value(output: &str, name: &str, key: &str) -> Option<u64> {
    let prefix = format!("BENCH {name} ");
    let line = output.lines().find(|l| l.starts_with(&prefix))?;
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

fn nm(elf: &Path) -> Result<String> {
    cmd::output(Command::new("aarch64-linux-gnu-nm").arg(elf))
        .ok_or_else(|| format!("aarch64-linux-gnu-nm failed on {}", elf.display()).into())
}

pub(crate) fn symbol(elf: &Path, name: &str) -> Result<u64> {
    nm(elf)?
        .lines()
        .find_map(|line| {
            let mut f = line.split_whitespace();
            let addr = f.next()?;
            let _kind = f.next()?;
            (f.next()? == name).then(|| u64::from_str_radix(addr, 16).ok())?
        })
        .ok_or_else(|| format!("symbol {name} not found in {}", elf.display()).into())
}

/// `[__image_start, __image_end)` of an image.
pub(crate) fn symbol_range(elf: &Path) -> Result<(u64, u64)> {
    Ok((symbol(elf, "__image_start")?, symbol(elf, "__image_end")?))
}

struct Counts {
    rmm: u64,
    host: u64,
}

/// The traced segments the hypervisor announced, in order: (name, calls).
fn traced_segments(output: &str) -> Vec<(String, u64)> {
    output
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("BENCH traced ")?;
            let (name, calls) = rest.split_once(" calls=")?;
            Some((name.to_string(), calls.trim().parse().ok()?))
        })
        .collect()
}

/// Counts logged instructions in each image between consecutive executions of `marker`,
/// for the first `segments` segments.
fn count_segments(
    trace: &Path,
    marker: u64,
    rmm: (u64, u64),
    host: (u64, u64),
    segments: usize,
) -> Result<Vec<Counts>> {
    let file = std::fs::File::open(trace)
        .map_err(|e| format!("no instruction trace at {}: {e}", trace.display()))?;
    let mut counts: Vec<Counts> = Vec::new();
    for line in BufReader::new(file).lines() {
        let Some(pc) = trace_pc(&line?) else {
            continue;
        };
        if pc == marker {
            if counts.len() == segments {
                return Ok(counts);
            }
            counts.push(Counts { rmm: 0, host: 0 });
            continue;
        }
        if let Some(current) = counts.last_mut() {
            if (rmm.0..rmm.1).contains(&pc) {
                current.rmm += 1;
            } else if (host.0..host.1).contains(&pc) {
                current.host += 1;
            }
        }
    }
    Err(format!(
        "found {} of {} bench markers in {}",
        counts.len(),
        segments + 1,
        trace.display()
    )
    .into())
}

/// The guest PC of a `-d exec` line: `Trace 0: 0x... [cs_base/pc/flags/cflags] ...`.
fn trace_pc(line: &str) -> Option<u64> {
    let inside = line.split_once('[')?.1.split_once(']')?.0;
    let pc = inside.split('/').nth(1)?;
    u64::from_str_radix(pc, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_pc_of_an_exec_trace_line() {
        let line = "Trace 0: 0x7f0000001000 [00000000/0000000040100a04/00000000/ff200000] ";
        assert_eq!(trace_pc(line), Some(0x4010_0a04));
        assert_eq!(trace_pc("garbage"), None);
    }

    #[test]
    fn reads_traced_segments_in_order() {
        let out = "BENCH traced a calls=64\nnoise\nBENCH traced b_c calls=8\n";
        assert_eq!(
            traced_segments(out),
            vec![("a".to_string(), 64), ("b_c".to_string(), 8)]
        );
    }

    #[test]
    fn a_segment_can_take_one_call_of_another_off() {
        let segments = vec![("rt".to_string(), 4), ("v".to_string(), 10)];
        let counts = vec![
            Counts { rmm: 400, host: 40 },
            Counts {
                rmm: 1_100,
                host: 30,
            },
        ];
        let (rmm, host) = shares(&segments, &counts, 1, 10, Some("rt")).unwrap();
        assert_eq!((rmm, host), (100.0, 2.0));
        assert_eq!(
            shares(&segments, &counts, 0, 4, None).unwrap(),
            (100.0, 10.0)
        );
        assert!(shares(&segments, &counts, 1, 10, Some("missing")).is_err());
    }

    #[test]
    fn a_row_adds_its_other_segments_and_takes_one_round_trip_off() {
        let segments: Vec<(String, u64)> = [("rt", 4), ("exit", 1), ("set", 1), ("change", 1)]
            .iter()
            .map(|(n, c)| (n.to_string(), *c))
            .collect();
        let counts = [(400, 40), (300, 5), (5_000, 7), (250, 3)]
            .iter()
            .map(|&(rmm, host)| Counts { rmm, host })
            .collect::<Vec<_>>();
        let row = Row {
            bench: "change",
            label: "",
            tf_rmm: ["–", "–"],
            target: "–",
            less_one: Some("rt"),
            also: &["exit", "set"],
        };
        // (250 - 100) + 300 + 5,000 and (3 - 10) + 5 + 7.
        assert_eq!(
            row_shares(&row, &segments, &counts).unwrap(),
            (5_450.0, 5.0)
        );
        let missing = Row {
            also: &["gone"],
            ..row
        };
        assert!(row_shares(&missing, &segments, &counts).is_err());
    }

    #[test]
    fn csm_rows_are_distinct_and_scale_up() {
        for (i, row) in CSM_ROWS.iter().enumerate() {
            assert!(row.pages >= 1, "{}", row.bench);
            assert!(
                CSM_ROWS[..i].iter().all(|r| r.bench != row.bench),
                "{} twice",
                row.bench
            );
            if let Some(w) = &row.worst {
                assert!(w.pages >= row.pages, "{} scales down", row.bench);
                assert!(w.realms >= row.realms, "{} scales down", row.bench);
                assert!([CSM_RSI_BOUND, CSM_RMI_BOUND].contains(&w.bound));
                assert!(w.per_alias || (w.pages, w.realms) == (row.pages, row.realms));
            }
        }
    }

    #[test]
    fn csm_extrapolation_is_fixed_per_realm_plus_per_alias() {
        let worst = Worst {
            pages: 100,
            realms: 10,
            bound: CSM_RMI_BOUND,
            per_alias: true,
        };
        // 2 realms of 1,000 and 10 aliases of 20: 2,200.
        assert_eq!(extrapolate(2_200.0, 10, 2, &worst, 20.0), 12_000.0);
        let same = Worst {
            per_alias: false,
            ..worst
        };
        assert_eq!(extrapolate(2_200.0, 10, 2, &same, 20.0), 2_200.0);
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(7_510_822), "7,510,822");
        assert_eq!(grouped_f(15.25), "15.3");
        assert_eq!(grouped_f(182_800.04), "182,800.0");
    }

    #[test]
    fn reads_bench_values() {
        let out = "x\nBENCH rmi_version instructions=1150 min=1149 max=1200 empty_pair=2\n";
        assert_eq!(bench_value(out, "rmi_version", "instructions"), Some(1150));
        assert_eq!(bench_value(out, "rmi_version", "empty_pair"), Some(2));
        assert_eq!(bench_value(out, "other", "instructions"), None);
    }
}
