//! `cargo xtask bench`: deterministic instruction counts, and image sizes.
//!
//! One QEMU boot with `-icount shift=0 -smp 1`: the counter the hypervisor reads then advances
//! by exactly one per instruction executed at any exception level, so its `BENCH` lines are
//! whole round-trip costs (EL3 forwarding + RMM + the hypervisor's own instructions). The same
//! boot also logs every instruction executed inside the RMM image and the hypervisor image
//! (`-accel tcg,one-insn-per-tb=on -d exec,nochain -dfilter ...`); counting the RMM's lines
//! between the hypervisor's two `bench_marker` calls gives the RMM's own share exactly.

use crate::cmd::{self, Result};
use crate::images;
use crate::paths;
use crate::qemu::{self, Mode};
use crate::size;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// RMI_VERSION calls the hypervisor makes between its two markers (its `TRACED_CALLS`).
const TRACED_CALLS: u64 = 64;

/// TF-RMM rel0 reference for one RMI_VERSION (`design/PERFORMANCE.md`): total and RMM share.
const TF_RMM_VERSION_TOTAL: u64 = 1_191;
const TF_RMM_VERSION_SHARE: u64 = 93;
const TARGET_VERSION_SHARE: u64 = 45;

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
    let total = bench_value(&outcome.output, "rmi_version", "instructions")
        .ok_or("no `BENCH rmi_version` line in the benchmark transcript")?;
    let counts = count_between_markers(&trace, marker, rmm, host)?;
    let rmm_share = counts.rmm as f64 / TRACED_CALLS as f64;
    let ns_share = counts.host as f64 / TRACED_CALLS as f64;

    println!("## Instruction counts (QEMU -icount shift=0 -smp 1, TF-A 2.12 from Debian)\n");
    println!(
        "| measurement | ours: total | ours: RMM share | ours: NS share | EL3 (rest) | \
         TF-RMM total | TF-RMM share | target share |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| RMI_VERSION round trip | {total} | {rmm_share:.1} | {ns_share:.1} | {:.1} | \
         {TF_RMM_VERSION_TOTAL} | {TF_RMM_VERSION_SHARE} | <= {TARGET_VERSION_SHARE} |",
        total as f64 - rmm_share - ns_share
    );
    println!(
        "\nRMM share: {} RMM instructions over {TRACED_CALLS} traced calls; \
         total: median of the hypervisor's counter deltas.",
        counts.rmm
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

/// Counts logged instructions in each image between the first two executions of `marker`.
fn count_between_markers(
    trace: &Path,
    marker: u64,
    rmm: (u64, u64),
    host: (u64, u64),
) -> Result<Counts> {
    let file = std::fs::File::open(trace)
        .map_err(|e| format!("no instruction trace at {}: {e}", trace.display()))?;
    let mut markers = 0;
    let mut counts = Counts { rmm: 0, host: 0 };
    for line in BufReader::new(file).lines() {
        let Some(pc) = trace_pc(&line?) else {
            continue;
        };
        if pc == marker {
            markers += 1;
            if markers == 2 {
                return Ok(counts);
            }
            continue;
        }
        if markers == 1 {
            if (rmm.0..rmm.1).contains(&pc) {
                counts.rmm += 1;
            } else if (host.0..host.1).contains(&pc) {
                counts.host += 1;
            }
        }
    }
    Err(format!("found {markers} of 2 bench markers in {}", trace.display()).into())
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
    fn reads_bench_values() {
        let out = "x\nBENCH rmi_version instructions=1150 min=1149 max=1200 empty_pair=2\n";
        assert_eq!(bench_value(out, "rmi_version", "instructions"), Some(1150));
        assert_eq!(bench_value(out, "rmi_version", "empty_pair"), Some(2));
        assert_eq!(bench_value(out, "other", "instructions"), None);
    }
}
