// SPDX-License-Identifier: MIT OR Apache-2.0
//! The message benchmark of `cargo xtask bench` (`docs/benchmarks.md`, "Messages between two
//! realms"), and its smoke test in `cargo xtask test`.
//!
//! One QEMU boot (`-smp 2`, hypervisor mode `MsgBench`, no `-icount`) with the counting plugin
//! (`tests/tools/icount-plugin`): a sender realm on CPU 0 and a receiver realm on CPU 1 exchange
//! messages over a CSM region, over unprotected memory in plaintext, and over unprotected
//! memory with AES-256-GCM. The plugin counts, per vCPU, the instructions executed inside the
//! benchmark realm's image less its wait loop (`own`), and every instruction (`all`), closing a
//! count at each marker the realms (per message) and the hypervisor (around each one-time
//! set-up) execute. This module pairs the plugin's records with the hypervisor's `MSGBENCH`
//! lines and takes medians.

use crate::bench::{grouped, report, symbol, symbol_range};
use crate::cmd::{self, Result};
use crate::images::QemuBoot;
use crate::paths;
use crate::qemu::{self, MAILBOX, Mode};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The channels, in the order the hypervisor runs them: (name in `MSGBENCH`, label).
pub const MODES: [(&str, &str); 3] = [
    (
        "csm",
        "CSM (read-write grant), plaintext (same code as the next)",
    ),
    ("plain", "unprotected, plaintext"),
    ("aes", "unprotected, AES-256-GCM"),
];

/// The plugin's marker indices (the order of its `mark=` arguments).
const MARK_BEGIN: usize = 0;
const MARK_FILL: usize = 1;
const MARK_MSG: usize = 2;
const MARK_HOST: usize = 3;
/// The vCPUs of the sender's and the receiver's RECs (CPU slots 0 and 1).
const SENDER_VCPU: usize = 0;
/// The CSM channel's set-up and teardown segments.
const SETUP: &[&str] = &["csm_create", "csm_share", "csm_accept"];
const TEARDOWN: &[&str] = &["csm_revoke", "csm_destroy"];
/// The channel: a control page and the largest message (`realm_protocol::msg::CHANNEL_SIZE`).
const CHANNEL_KIB: u64 = 36;
const RECEIVER_VCPU: usize = 1;

/// One record of the plugin: (vCPU, marker, own, all, AESE/AESD, PMULL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    vcpu: usize,
    marker: usize,
    own: u64,
    all: u64,
    aes: u64,
    pmull: u64,
}

/// Per-message medians of one run (one channel, one size).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// `csm`, `plain` or `aes`.
    pub mode: String,
    /// Message bytes.
    pub size: u64,
    /// Round trips.
    pub count: u64,
    /// Messages wrong or failing their tag check (both sides).
    pub bad: u64,
    /// The sender filling the message (the same in every mode).
    pub fill: u64,
    /// The sender copying or encrypting it into the channel and bumping the sequence number.
    pub send: u64,
    /// The receiver copying or decrypting it out, checking it and acknowledging.
    pub receive: u64,
    /// AESE/AESD and PMULL per message, both sides.
    pub aes: u64,
    /// PMULL per message, both sides.
    pub pmull: u64,
    /// Send and receive over all the run's messages, both sides (the fill left out).
    pub total: u64,
}

impl Run {
    /// The channel's cost per message: both realms, the fill left out.
    pub fn channel(&self) -> u64 {
        self.send + self.receive
    }
}

/// Everything one boot measured.
#[derive(Debug, Default)]
pub struct Measured {
    /// The runs, in order.
    pub runs: Vec<Run>,
    /// The hypervisor's segments: (name, calls, every instruction on CPU 0).
    pub segments: Vec<(String, u64, u64)>,
    /// Wall time of the boot.
    pub elapsed: Duration,
    /// The memory-sharing experiment's `MSGBENCH blob` line, if it ran.
    pub blob: Option<Blob>,
}

/// What the memory-sharing experiment reported: the blob, and the granules each realm held
/// (provider, consumer 1, consumer 2) before the CSM calls (the provider's blob already
/// written, its pages given) and after the consumers accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Blob {
    /// Bytes of the blob.
    pub bytes: u64,
    /// 8 MiB regions it is published as.
    pub regions: u64,
    /// Granules held before the CSM calls.
    pub before: [u64; 3],
    /// Granules held after.
    pub after: [u64; 3],
}

impl Blob {
    /// Parses `MSGBENCH blob key=value ...`.
    fn parse(line: &str) -> Result<Self> {
        Ok(Self {
            bytes: number(line, "bytes")?,
            regions: number(line, "regions")?,
            before: [
                number(line, "provider_before")?,
                number(line, "consumer1_before")?,
                number(line, "consumer2_before")?,
            ],
            after: [
                number(line, "provider")?,
                number(line, "consumer1")?,
                number(line, "consumer2")?,
            ],
        })
    }
}

impl Measured {
    /// The run of `mode` at `size`.
    pub fn run(&self, mode: &str, size: u64) -> Option<&Run> {
        self.runs.iter().find(|r| r.mode == mode && r.size == size)
    }

    /// The instructions of segment `name`, less one empty command per call.
    pub fn segment(&self, name: &str) -> Option<(u64, u64)> {
        let empty = self.empty_command()?;
        let (_, calls, all) = self.segments.iter().find(|(n, _, _)| n == name)?;
        Some((*all, all.saturating_sub(calls * empty)))
    }

    /// The sum of [`Measured::segment`] over `names`.
    pub fn segments(&self, names: &[&str]) -> Option<(u64, u64)> {
        names.iter().try_fold((0, 0), |(raw, net), name| {
            let (r, n) = self.segment(name)?;
            Some((raw + r, net + n))
        })
    }

    /// One remote-control command's round trip (host call exit and entry).
    pub fn empty_command(&self) -> Option<u64> {
        let (_, calls, all) = self
            .segments
            .iter()
            .find(|(n, _, _)| n == "empty_command")?;
        Some(all / (*calls).max(1))
    }
}

/// Builds the plugin; returns the shared object.
pub(crate) fn build_plugin() -> Result<PathBuf> {
    cmd::run(cmd::cargo().current_dir(paths::root()).args([
        "build",
        "--release",
        "-p",
        "icount-plugin",
    ]))?;
    Ok(paths::target().join("release").join("libicount_plugin.so"))
}

/// Boots the benchmark: `count` round trips (0: the default) of the sizes in `mask` (bit `i`:
/// the `i`-th size; 0: all), with the counting plugin.
pub fn measure(boot: &QemuBoot, count: u64, mask: u64, log: &str) -> Result<Measured> {
    let plugin = build_plugin()?;
    let realm = &boot.images.msg_realm_elf;
    let image = symbol_range(realm)?;
    let wait = (symbol(realm, "msg_wait")?, symbol(realm, "msg_wait_end")?);
    let marks = [
        symbol(realm, "msg_mark_begin")?,
        symbol(realm, "msg_mark_fill")?,
        symbol(realm, "msg_mark_msg")?,
        symbol(&boot.images.host_elf, "bench_marker")?,
    ];
    let counts = paths::logs().join(format!("{log}.counts"));
    let _ = std::fs::remove_file(&counts);
    let plugin_arg = plugin_arg(&plugin, &counts, "", image, wait, &marks);
    let extra = vec![
        "-device".into(),
        qemu::loader(MAILBOX + 16, count),
        "-device".into(),
        qemu::loader(MAILBOX + 24, mask),
        "-plugin".into(),
        plugin_arg,
    ];
    let run = qemu::Run {
        bios: &boot.bios,
        smp: 2,
        mode: Mode::MsgBench,
        deadline: Some(Duration::from_secs(1_800)),
        live: false,
        extra,
        print_command: false,
        log: paths::logs().join(format!("{log}.log")),
    };
    let outcome = run.execute()?;
    let failed = outcome.output.lines().find(|l| l.contains(" FAIL "));
    if outcome.exit_code != Some(0) || failed.is_some() || !outcome.output.contains("MSGBENCH done")
    {
        return Err(format!(
            "message benchmark boot failed ({}); see {}",
            failed.unwrap_or("no MSGBENCH done"),
            run.log.display()
        )
        .into());
    }
    let records = read_records(&counts)?;
    let mut measured = pair(&outcome.output, &records)?;
    measured.elapsed = outcome.elapsed;
    Ok(measured)
}

fn read_records(path: &Path) -> Result<Vec<Record>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("no plugin counts at {}: {e}", path.display()))?;
    text.lines()
        .map(|line| {
            let f: Vec<u64> = line
                .split_whitespace()
                .map(str::parse)
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| format!("bad plugin record `{line}`: {e}"))?;
            match f[..] {
                [vcpu, marker, own, all, aes, pmull] => Ok(Record {
                    vcpu: vcpu as usize,
                    marker: marker as usize,
                    own,
                    all,
                    aes,
                    pmull,
                }),
                _ => Err(format!("bad plugin record `{line}`").into()),
            }
        })
        .collect()
}

/// `key=value` of a `MSGBENCH` line.
fn value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

fn number(line: &str, key: &str) -> Result<u64> {
    value(line, key)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no {key}= in `{line}`").into())
}

fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

/// A vCPU's records split into runs: everything after each `begin` marker up to the next one
/// (records at the hypervisor's marker end a run's part too).
fn runs_of(records: &[Record], vcpu: usize) -> Vec<Vec<Record>> {
    let mut runs: Vec<Vec<Record>> = Vec::new();
    let mut inside = false;
    for r in records.iter().filter(|r| r.vcpu == vcpu) {
        match r.marker {
            MARK_BEGIN => {
                runs.push(Vec::new());
                inside = true;
            }
            MARK_HOST => inside = false,
            _ if inside => {
                if let Some(run) = runs.last_mut() {
                    run.push(*r);
                }
            }
            _ => {}
        }
    }
    runs
}

/// Pairs the records with the hypervisor's lines.
pub fn pair(output: &str, records: &[Record]) -> Result<Measured> {
    let lines: Vec<&str> = output
        .lines()
        .filter(|l| l.starts_with("MSGBENCH run "))
        .collect();
    let senders = runs_of(records, SENDER_VCPU);
    let receivers = runs_of(records, RECEIVER_VCPU);
    if senders.len() != lines.len() || receivers.len() != lines.len() {
        return Err(format!(
            "{} runs announced, the plugin saw {} on the sender's vCPU and {} on the receiver's",
            lines.len(),
            senders.len(),
            receivers.len()
        )
        .into());
    }
    let mut measured = Measured::default();
    for ((line, sender), receiver) in lines.iter().zip(&senders).zip(&receivers) {
        let count = number(line, "count")?;
        let of = |records: &[Record], marker: usize| -> Vec<Record> {
            records
                .iter()
                .filter(|r| r.marker == marker)
                .copied()
                .collect()
        };
        let (fills, sends, receives) = (
            of(sender, MARK_FILL),
            of(sender, MARK_MSG),
            of(receiver, MARK_MSG),
        );
        if [fills.len(), sends.len(), receives.len()] != [count as usize; 3] {
            return Err(format!(
                "`{line}`: the plugin counted {} fills, {} sends and {} receipts",
                fills.len(),
                sends.len(),
                receives.len()
            )
            .into());
        }
        let med = |records: &[Record], f: fn(&Record) -> u64| {
            median(&mut records.iter().map(f).collect::<Vec<_>>())
        };
        measured.runs.push(Run {
            mode: value(line, "mode").unwrap_or("?").to_string(),
            size: number(line, "size")?,
            count,
            bad: number(line, "bad")?,
            fill: med(&fills, |r| r.own),
            send: med(&sends, |r| r.own),
            receive: med(&receives, |r| r.own),
            aes: med(&sends, |r| r.aes) + med(&receives, |r| r.aes),
            pmull: med(&sends, |r| r.pmull) + med(&receives, |r| r.pmull),
            total: sends.iter().chain(&receives).map(|r| r.own).sum(),
        });
    }
    let host: Vec<&Record> = records
        .iter()
        .filter(|r| r.vcpu == SENDER_VCPU && r.marker == MARK_HOST)
        .collect();
    let segment_lines: Vec<&str> = output
        .lines()
        .filter(|l| l.starts_with("MSGBENCH segment "))
        .collect();
    // The hypervisor marks the start and the end of each segment: the end's record is it.
    if host.len() < 2 * segment_lines.len() {
        return Err(format!(
            "{} segments announced, {} hypervisor markers counted",
            segment_lines.len(),
            host.len()
        )
        .into());
    }
    for (i, line) in segment_lines.iter().enumerate() {
        let name = line
            .split_whitespace()
            .nth(2)
            .ok_or_else(|| format!("bad line `{line}`"))?;
        measured.segments.push((
            name.to_string(),
            number(line, "calls")?,
            host[2 * i + 1].all,
        ));
    }
    if let Some(line) = output.lines().find(|l| l.starts_with("MSGBENCH blob ")) {
        measured.blob = Some(Blob::parse(line)?);
    }
    Ok(measured)
}

/// The smoke test of `cargo xtask test`: 2 sizes, 8 round trips; every run complete, no bad
/// message, plausible counts, and AES-GCM on the AES and PMULL instructions.
pub fn smoke(boot: &QemuBoot) -> Result {
    const SIZES: u64 = 1 | 1 << 9;
    let m = measure(boot, 8, SIZES, "msg-smoke")?;
    let mut problems = Vec::new();
    if m.runs.len() != 6 {
        problems.push(format!("{} runs, expected 6", m.runs.len()));
    }
    for r in &m.runs {
        let words = r.size / 8;
        if r.bad != 0 {
            problems.push(format!("{} {} B: {} bad messages", r.mode, r.size, r.bad));
        }
        if r.fill < words || r.send == 0 || r.receive == 0 {
            problems.push(format!("{} {} B: implausible counts {r:?}", r.mode, r.size));
        }
        // AES-256: 14 AESE per 16-byte block and one more block for the tag, each side.
        let blocks = r.size / 16 + 1;
        let (aes_ok, cost_ok) = match r.mode.as_str() {
            "aes" => (
                r.aes == 2 * 14 * blocks && r.pmull >= 2 * blocks,
                r.channel() > 4 * words,
            ),
            _ => (r.aes == 0 && r.pmull == 0, r.channel() < 4 * words + 200),
        };
        if !aes_ok {
            problems.push(format!(
                "{} {} B: {} AESE/AESD and {} PMULL per message",
                r.mode, r.size, r.aes, r.pmull
            ));
        }
        if !cost_ok {
            problems.push(format!(
                "{} {} B: {} instructions per message",
                r.mode,
                r.size,
                r.channel()
            ));
        }
    }
    for name in [
        "csm_create",
        "csm_share",
        "csm_accept",
        "csm_revoke",
        "csm_destroy",
        "unprotected_setup",
    ] {
        if m.segment(name).is_none_or(|(all, _)| all == 0) {
            problems.push(format!("no count for the segment {name}"));
        }
    }
    for r in &m.runs {
        println!(
            "xtask: msg smoke {} {} B: fill {}, send {}, receive {}, AES {}, PMULL {}",
            r.mode, r.size, r.fill, r.send, r.receive, r.aes, r.pmull
        );
    }
    if problems.is_empty() {
        println!(
            "TEST msg_bench_smoke PASS ({} runs, {:.1} s)",
            m.runs.len(),
            m.elapsed.as_secs_f64()
        );
        Ok(())
    } else {
        println!("TEST msg_bench_smoke FAIL {}", problems.join("; "));
        Err("the message benchmark's smoke test failed".into())
    }
}

/// The full benchmark: measures and writes the plot ([`print`] prints the tables).
pub fn run(boot: &QemuBoot) -> Result<Measured> {
    let m = measure(boot, 0, 0, "msg-bench")?;
    let plot = paths::root().join("docs").join("msg-bench.png");
    crate::plot::messages(&plot, &m)?;
    println!(
        "xtask: message benchmark measured; plot written to {}",
        plot.display()
    );
    Ok(m)
}

fn ratio(a: u64, b: u64) -> String {
    if b == 0 {
        "–".into()
    } else {
        format!("{:.2}×", a as f64 / b as f64)
    }
}

/// Prints the message tables.
pub fn print(m: &Measured) -> Result {
    let sizes: Vec<u64> = m
        .runs
        .iter()
        .filter(|r| r.mode == MODES[0].0)
        .map(|r| r.size)
        .collect();
    let count = m.runs.first().map_or(0, |r| r.count);
    report!(
        "\n## Messages between two realms: instructions per message (medians of {} round \
         trips, QEMU -smp 2, counted by the plugin)\n",
        grouped(count)
    );
    report!(
        "| size | fill (sender) | CSM: send + receive | unprotected plain: send + receive | \
         AES-256-GCM: send + receive | AES-GCM / CSM | plain / CSM | AES-GCM / CSM, fill \
         included | AESE+AESD, PMULL per message |"
    );
    report!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &size in &sizes {
        let get = |mode: &str| {
            m.run(mode, size)
                .ok_or(format!("no {mode} run of {size} B"))
        };
        let (csm, plain, aes) = (get("csm")?, get("plain")?, get("aes")?);
        report!(
            "| {} | {} | {} ({} + {}) | {} ({} + {}) | {} ({} + {}) | **{}** | {} | {} | {}, {} |",
            size_label(size),
            grouped(csm.fill),
            grouped(csm.channel()),
            grouped(csm.send),
            grouped(csm.receive),
            grouped(plain.channel()),
            grouped(plain.send),
            grouped(plain.receive),
            grouped(aes.channel()),
            grouped(aes.send),
            grouped(aes.receive),
            ratio(aes.channel(), csm.channel()),
            ratio(plain.channel(), csm.channel()),
            ratio(aes.channel() + aes.fill, csm.channel() + csm.fill),
            grouped(aes.aes),
            grouped(aes.pmull)
        );
    }
    report!("\n{}", aes_backend(m));
    let (Some((setup_raw, setup)), Some((down_raw, down)), Some(empty)) =
        (m.segments(SETUP), m.segments(TEARDOWN), m.empty_command())
    else {
        return Err("no CSM set-up or teardown segment".into());
    };
    let (unprot_setup, _) = m.segment("unprotected_setup").unwrap_or_default();
    let (unprot_down, _) = m.segment("unprotected_teardown").unwrap_or_default();
    let net = |name| m.segment(name).map_or("–".into(), |(_, n)| grouped(n));
    report!(
        "\nOne-time set-up, every instruction on the sender's CPU (hypervisor, EL3, RMM and \
         realms), less one remote-control round trip ({}) per call: CSM CREATE + SHARE + \
         ACCEPT of the {CHANNEL_KIB} KiB channel {} (CREATE {}, SHARE {}, ACCEPT {}; {} with \
         the round trips), teardown REVOKE + DESTROY {} (REVOKE {}, DESTROY {}; {} with the \
         round trips); the unprotected channel's RTT_MAP_UNPROTECTED of its pages in both \
         realms {}, unmapping {}.\n",
        grouped(empty),
        grouped(setup),
        net("csm_create"),
        net("csm_share"),
        net("csm_accept"),
        grouped(setup_raw),
        grouped(down),
        net("csm_revoke"),
        net("csm_destroy"),
        grouped(down_raw),
        grouped(unprot_setup),
        grouped(unprot_down)
    );
    let once = setup + down;
    report!(
        "| size | saved per message by CSM against AES-GCM | CSM set-up + teardown ({}) paid back \
         after | the same, less the unprotected channel's own ({}) |",
        grouped(once),
        grouped(unprot_setup + unprot_down)
    );
    report!("|---:|---:|---:|---:|");
    for &size in &sizes {
        let (Some(csm), Some(aes)) = (m.run("csm", size), m.run("aes", size)) else {
            continue;
        };
        let saved = aes.channel().saturating_sub(csm.channel());
        let after = |cost: u64| {
            if saved == 0 {
                "never".to_string()
            } else {
                let n = cost.div_ceil(saved);
                format!("{} message{}", grouped(n), if n == 1 { "" } else { "s" })
            }
        };
        report!(
            "| {} | {} | {} | {} |",
            size_label(size),
            grouped(saved),
            after(once),
            after(once.saturating_sub(unprot_setup + unprot_down))
        );
    }
    report!(
        "\nPlot: `docs/msg-bench.png` (instructions per message against size, the three \
         channels). Run time of the boot: {:.1} s.",
        m.elapsed.as_secs_f64()
    );
    Ok(())
}

/// What the memory-sharing comparison takes from the RMM benchmarks' timed totals
/// (`BENCH` lines of the `Bench` boot, whole calls: hypervisor wrapper, EL3 and RMM).
#[derive(Debug, Clone, Copy, Default)]
pub struct RmmCosts {
    /// RMI_DATA_CREATE of 4 KiB, measured (SHA-256).
    pub data_create: u64,
    /// RMI_DATA_CREATE_UNKNOWN.
    pub data_create_unknown: u64,
    /// RMI_RTT_CREATE at level 3.
    pub rtt_create_l3: u64,
}

/// Prints the memory-sharing experiment: a provider publishes a read-only blob to two
/// consumers through CSM (run in the message benchmark's boot), against each consumer
/// holding a private copy.
pub fn print_sharing(rmm: &RmmCosts, m: &Measured) -> Result {
    let Some(blob) = m.blob else {
        return Err("no MSGBENCH blob line: the memory-sharing experiment did not run".into());
    };
    const CONSUMERS: u64 = 2;
    let mib = blob.bytes >> 20;
    let pages = blob.bytes / 4096;
    let tables = blob.bytes / (2 << 20);
    let shared: u64 = blob.after.iter().sum();
    let private = shared + CONSUMERS * pages;
    report!(
        "\n## Sharing a {mib} MiB read-only blob with {CONSUMERS} consumers (run: {} regions of \
         8 MiB, each shared read-only with both)\n",
        blob.regions
    );
    report!(
        "| granules delegated (whole realms: RD, REC, image, tables, APT, data) | provider | \
         consumer 1 | consumer 2 | all three |"
    );
    report!("|---|---:|---:|---:|---:|");
    report!(
        "| before the CSM calls (the provider's blob written) | {} | {} | {} | {} |",
        grouped(blob.before[0]),
        grouped(blob.before[1]),
        grouped(blob.before[2]),
        grouped(blob.before.iter().sum())
    );
    report!(
        "| CSM: after CREATE, SHARE and ACCEPT (counted) | {} | {} | {} | **{}** |",
        grouped(blob.after[0]),
        grouped(blob.after[1]),
        grouped(blob.after[2]),
        grouped(shared)
    );
    report!(
        "| three private copies: the same, and {} DATA granules in each consumer | {} | {} | {} \
         | **{}** |",
        grouped(pages),
        grouped(blob.after[0]),
        grouped(blob.after[1] + pages),
        grouped(blob.after[2] + pages),
        grouped(private)
    );
    let saved = 100.0 * (CONSUMERS * pages) as f64 / private as f64;
    // The paper's saving if each realm also held `extra` × the blob of its own memory:
    // (n - 1) B / (n (B + extra B)) = 28% with n = 3.
    let extra = (CONSUMERS as f64 / (1.0 + CONSUMERS as f64)) / 0.28 - 1.0;
    report!(
        "\nCSM delegates {saved:.1}% fewer granules ({} fewer, {} MiB). A consumer's window \
         needs the level-3 tables a private copy of its RAM would ({tables} per consumer), so \
         the private copies differ by the data pages alone. These realms hold little else \
         (image, RD, REC, tables, APT); the paper's \"up to 28%\" is of whole VMs (kernel, \
         runtime, model): with three realms, 28% is what sharing saves when each also holds \
         {extra:.2}× the blob of memory of its own.\n",
        grouped(CONSUMERS * pages),
        (CONSUMERS * pages) >> 8
    );
    let seg = |name: &str| {
        m.segment(name)
            .map(|(_, net)| net)
            .ok_or_else(|| format!("no {name} segment"))
    };
    let (create, share, accept) = (seg("blob_create")?, seg("blob_share")?, seg("blob_accept")?);
    let window_tables = CONSUMERS * tables * rmm.rtt_create_l3;
    let csm = create + share + accept + window_tables;
    let copy = m
        .run("blob_aes", 32 << 10)
        .ok_or("no blob_aes run of 32 KiB")?;
    let load = pages * rmm.data_create + tables * rmm.rtt_create_l3;
    let sent = copy.total + pages * rmm.data_create_unknown + tables * rmm.rtt_create_l3;
    report!(
        "| giving {CONSUMERS} consumers the blob (instructions) | total | per consumer | against \
         CSM |"
    );
    report!("|---|---:|---:|---:|");
    report!(
        "| CSM, run: {} × CREATE 8 MiB ({}), then {} × SHARE ({}) and {} × ACCEPT 8 MiB ({}); \
         + {tables} × RTT_CREATE level 3 per consumer for its windows ({}, per-call cost) | \
         **{}** | {} | 1.00× |",
        blob.regions,
        grouped(create),
        CONSUMERS * blob.regions,
        grouped(share),
        CONSUMERS * blob.regions,
        grouped(accept),
        grouped(window_tables),
        grouped(csm),
        grouped(csm / CONSUMERS),
    );
    report!(
        "| (a) private copy loaded by the host before the consumer runs: per consumer {} × \
         measured DATA_CREATE ({}) + {tables} × RTT_CREATE level 3 ({}), per-call costs of \
         the RMM table × pages | {} | {} | {} |",
        grouped(pages),
        grouped(rmm.data_create),
        grouped(rmm.rtt_create_l3),
        grouped(CONSUMERS * load),
        grouped(load),
        ratio(CONSUMERS * load, csm)
    );
    report!(
        "| (b) private copy sent by the provider at run time over AES-256-GCM: per consumer \
         {} messages of 32 KiB, run ({} in all, sender + receiver, the fill left out), + {} × \
         DATA_CREATE_UNKNOWN ({}) + {tables} × RTT_CREATE for its RAM (per-call costs) | {} \
         | {} | {} |",
        grouped(copy.count),
        grouped(copy.total),
        grouped(pages),
        grouped(rmm.data_create_unknown),
        grouped(CONSUMERS * sent),
        grouped(sent),
        ratio(CONSUMERS * sent, csm)
    );
    report!(
        "\nCSM's row and the AES-GCM transfer were run in this boot (segments: every instruction \
         on CPU 0 less one remote-control round trip per call; the transfer: the plugin's \
         per-message counts summed). The provider's own copy is the same in every case and \
         left out."
    );
    Ok(())
}

/// The version of crate `name` in `Cargo.lock`.
fn locked_version(name: &str) -> String {
    let lock = std::fs::read_to_string(paths::root().join("Cargo.lock")).unwrap_or_default();
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == wanted
            && let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = "))
        {
            return v.trim_matches('"').to_string();
        }
    }
    "?".into()
}

/// Which AES-GCM backend ran: how it was chosen, and what the plugin saw it execute.
fn aes_backend(m: &Measured) -> String {
    let largest = m
        .runs
        .iter()
        .filter(|r| r.mode == "aes")
        .max_by_key(|r| r.size);
    let seen = match largest {
        Some(r) if r.aes > 0 && r.pmull > 0 => format!(
            "confirmed in this run: the plugin counted {} AESE/AESD and {} PMULL instructions \
             per {} message (both sides), so the hardware backends ran",
            grouped(r.aes),
            grouped(r.pmull),
            size_label(r.size)
        ),
        Some(r) => format!(
            "NOT confirmed: the plugin counted {} AESE/AESD and {} PMULL per {} message, so a \
             software backend ran",
            r.aes,
            r.pmull,
            size_label(r.size)
        ),
        None => "no AES-GCM run".into(),
    };
    format!(
        "AES-256-GCM backend: RustCrypto `aes-gcm` {} over `aes` {} and `ghash` {} / `polyval` \
         {}, in the realm built for `{}` with `-C target-feature=+aes` (`.cargo/config.toml`): \
         with the feature on at compile time `cpufeatures` {} selects the Armv8 AES and PMULL \
         backends without run-time detection (bare metal has none); {seen}.",
        locked_version("aes-gcm"),
        locked_version("aes"),
        locked_version("ghash"),
        locked_version("polyval"),
        paths::MSG_REALM_TARGET,
        locked_version("cpufeatures"),
    )
}

/// `64 B`, `1 KiB`, `32 KiB`.
pub fn size_label(size: u64) -> String {
    if size >= 1024 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// The counting plugin's `-plugin` argument: write records to `counts`, count inside `image`,
/// skip `wait` (the spin-wait loop), close a record at each of `marks`; `options` (e.g.
/// `live=on,all=off`, or empty) go after `out=`.
pub fn plugin_arg(
    plugin: &Path,
    counts: &Path,
    options: &str,
    image: (u64, u64),
    wait: (u64, u64),
    marks: &[u64],
) -> String {
    let options = if options.is_empty() {
        String::new()
    } else {
        format!(",{options}")
    };
    let mut arg = format!(
        "{},out={}{options},count={:#x}-{:#x},skip={:#x}-{:#x}",
        plugin.display(),
        counts.display(),
        image.0,
        image.1,
        wait.0,
        wait.1
    );
    for mark in marks {
        arg.push_str(&format!(",mark={mark:#x}"));
    }
    arg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(vcpu: usize, marker: usize, own: u64) -> Record {
        Record {
            vcpu,
            marker,
            own,
            all: own + 1_000,
            aes: 0,
            pmull: 0,
        }
    }

    #[test]
    fn pairs_records_with_runs_and_segments() {
        let output = "MSGBENCH segment empty_command calls=2\n\
                      MSGBENCH run mode=csm size=64 count=3 sent=3 received=3 bad=0\n\
                      MSGBENCH segment csm_setup calls=3\n";
        let mut records = vec![
            rec(0, MARK_HOST, 5),
            rec(0, MARK_HOST, 0), // empty_command: all 1,000 for 2 calls
            rec(0, MARK_BEGIN, 9),
            rec(1, MARK_BEGIN, 9),
        ];
        for i in 0..3 {
            records.extend([
                rec(0, MARK_FILL, 10 + i),
                rec(0, MARK_MSG, 20 + i),
                rec(1, MARK_MSG, 30 + i),
            ]);
        }
        // csm_setup: all 5,000.
        records.extend([rec(0, MARK_HOST, 7), rec(0, MARK_HOST, 4_000)]);
        let m = pair(output, &records).unwrap();
        let r = m.run("csm", 64).unwrap();
        assert_eq!((r.fill, r.send, r.receive, r.channel()), (11, 21, 31, 52));
        assert_eq!(m.empty_command(), Some(500));
        assert_eq!(m.segment("csm_setup"), Some((5_000, 3_500)));
        let short = &records[..records.len() - 4];
        assert!(pair(output, short).is_err());
    }

    #[test]
    fn reads_locked_versions() {
        let v = locked_version("aes-gcm");
        assert!(
            v.starts_with(|c: char| c.is_ascii_digit()) && v.contains('.'),
            "{v}"
        );
        assert_eq!(locked_version("no-such-crate"), "?");
    }

    #[test]
    fn labels_sizes() {
        assert_eq!(size_label(64), "64 B");
        assert_eq!(size_label(32 << 10), "32 KiB");
        assert_eq!(ratio(300, 100), "3.00×");
        assert_eq!(ratio(1, 0), "–");
    }
}
