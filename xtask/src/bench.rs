//! `cargo xtask bench`: deterministic instruction counts, and image sizes.
//!
//! One QEMU boot with `-icount shift=0 -smp 1`: the counter the hypervisor reads then advances
//! by exactly one per instruction executed at any exception level, so its `BENCH` lines are
//! whole round-trip costs (EL3 forwarding + RMM + the hypervisor's own instructions). The same
//! boot also logs every instruction executed inside the RMM image and the hypervisor image
//! (`-accel tcg,one-insn-per-tb=on -d exec,nochain -dfilter ...`); counting the RMM's lines
//! between consecutive `bench_marker` calls gives the RMM's own share of each traced segment
//! exactly. The hypervisor names the segments, in order, with `BENCH traced <name> calls=<n>`.

use crate::cmd::{self, Result};
use crate::images;
use crate::paths;
use crate::qemu::{self, Mode};
use crate::size;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// One row of the report: a command, the reference RMM's numbers and our target.
struct Row {
    /// `BENCH <bench>` name.
    bench: &'static str,
    /// What the row is called in the report.
    label: &'static str,
    /// TF-RMM rel0 total and RMM share (`design/PERFORMANCE.md`).
    tf_rmm: (u64, u64),
    /// Our target for the RMM share.
    target: u64,
}

const ROWS: &[Row] = &[
    Row {
        bench: "rmi_version",
        label: "RMI_VERSION",
        tf_rmm: (1_191, 93),
        target: 45,
    },
    Row {
        bench: "granule_delegate",
        label: "RMI_GRANULE_DELEGATE (steady state)",
        tf_rmm: (2_768, 736),
        target: 300,
    },
    Row {
        bench: "granule_undelegate",
        label: "RMI_GRANULE_UNDELEGATE",
        tf_rmm: (2_219, 161),
        target: 120,
    },
];

/// Runs the benchmarks and prints a markdown report.
pub fn run() -> Result {
    let boot = images::build_qemu_boot(images::Flavour::Release)?;
    let rmm = symbol_range(&boot.images.rmm_elf)?;
    let host = symbol_range(&boot.images.host_elf)?;
    let marker = symbol(&boot.images.host_elf, "bench_marker")?;
    let trace = paths::logs().join("bench-exec.log");
    let _ = std::fs::remove_file(&trace);
    let run = qemu::Run {
        bios: &boot.bios,
        smp: 1,
        mode: Mode::Bench,
        deadline: Duration::from_secs(120),
        live: false,
        extra: vec![
            "-icount".into(),
            "shift=0".into(),
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
        ],
        log: paths::logs().join("bench.log"),
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
    let segments = traced_segments(&outcome.output);
    let counts = count_segments(&trace, marker, rmm, host, segments.len())?;

    println!("## Instruction counts (QEMU -icount shift=0 -smp 1, TF-A 2.12 from Debian)\n");
    println!(
        "| measurement | ours: total | ours: RMM share | ours: NS share | EL3 (rest) | \
         TF-RMM total | TF-RMM share | target share |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in ROWS {
        let total = bench_value(&outcome.output, row.bench, "instructions")
            .ok_or_else(|| format!("no `BENCH {}` line in the transcript", row.bench))?;
        let (index, (_, calls)) = segments
            .iter()
            .enumerate()
            .find(|(_, (name, _))| name == row.bench)
            .ok_or_else(|| format!("no traced segment for {}", row.bench))?;
        let count = &counts[index];
        let rmm_share = count.rmm as f64 / *calls as f64;
        let ns_share = count.host as f64 / *calls as f64;
        println!(
            "| {} | {total} | {rmm_share:.1} | {ns_share:.1} | {:.1} | {} | {} | <= {} |",
            row.label,
            total as f64 - rmm_share - ns_share,
            row.tf_rmm.0,
            row.tf_rmm.1,
            row.target
        );
    }
    println!(
        "\nRMM share: instructions logged inside the RMM image per traced call; \
         total: median of the hypervisor's counter deltas."
    );
    println!("\n## Image sizes (bytes)\n");
    println!("| image | text | rodata | data | bss | stacks (NOLOAD) | flat binary |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    size::print_row("rmm-qemu", &boot.images.rmm_elf, &boot.images.rmm_bin)?;
    size::print_row(
        "ns-test-host (qemu)",
        &boot.images.host_elf,
        &boot.images.host_bin,
    )
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

fn symbol(elf: &Path, name: &str) -> Result<u64> {
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
fn symbol_range(elf: &Path) -> Result<(u64, u64)> {
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
    fn reads_bench_values() {
        let out = "x\nBENCH rmi_version instructions=1150 min=1149 max=1200 empty_pair=2\n";
        assert_eq!(bench_value(out, "rmi_version", "instructions"), Some(1150));
        assert_eq!(bench_value(out, "rmi_version", "empty_pair"), Some(2));
        assert_eq!(bench_value(out, "other", "instructions"), None);
    }
}
