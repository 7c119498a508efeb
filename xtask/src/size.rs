// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask size`: section sizes of the firmware images (from their ELF files), what
//! CSM costs (the QEMU RMM built with and without the `csm` feature, `rmm/csm`, on by
//! default: text + rodata of each and the difference), and the lean-monitor report
//! (`size_report`: by crate, the largest symbols, the targets), and a static bound on each
//! stack's use (`stack_depth`).

use crate::cmd::{self, Result};
use crate::images::{self, Platform};
use std::path::Path;
use std::process::Command;

/// Sizes of the sections we report, in bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sizes {
    /// `.text` (code, entry and vectors included).
    pub text: u64,
    /// `.rodata`.
    pub rodata: u64,
    /// `.data`.
    pub data: u64,
    /// `.bss`.
    pub bss: u64,
    /// `.stacks` (per-CPU stacks, NOLOAD).
    pub stacks: u64,
}

/// Reads the sizes with `aarch64-linux-gnu-size -A`.
pub fn of(elf: &Path) -> Result<Sizes> {
    let text = cmd::output(Command::new("aarch64-linux-gnu-size").arg("-A").arg(elf))
        .ok_or_else(|| format!("aarch64-linux-gnu-size failed on {}", elf.display()))?;
    let mut sizes = Sizes::default();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(name), Some(size)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Ok(size) = size.parse::<u64>() else {
            continue;
        };
        match name {
            ".text" => sizes.text = size,
            ".rodata" => sizes.rodata = size,
            ".data" => sizes.data = size,
            ".bss" => sizes.bss = size,
            ".stacks" => sizes.stacks = size,
            _ => {}
        }
    }
    Ok(sizes)
}

/// Prints a markdown table row set for both RMM images.
pub fn run() -> Result {
    println!("| image | text | rodata | data | bss | stacks (NOLOAD) | flat binary |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut qemu_rmm = None;
    for platform in [Platform::Qemu, Platform::Fvp] {
        let images = images::build(platform, images::Flavour::Release)?;
        if platform == Platform::Qemu {
            qemu_rmm = Some(images.rmm_elf.clone());
        }
        print_row(
            &format!("rmm-{}", platform.name()),
            &images.rmm_elf,
            &images.rmm_bin,
        )?;
        print_row(
            &format!("ns-test-host ({})", platform.name()),
            &images.host_elf,
            &images.host_bin,
        )?;
    }
    let Some(elf) = qemu_rmm else {
        return Err("no QEMU image".into());
    };
    let with = of(&elf)?;
    let without = of(&images::build_rmm_without_csm(Platform::Qemu)?)?;
    println!();
    print!("{}", csm_cost(&with, &without));
    println!();
    let symbols = crate::size_report::symbols(&elf)?;
    print!(
        "{}",
        crate::size_report::report(
            &symbols,
            &with,
            &without,
            20,
            crate::size_report::csm_static(&elf)?
        )
    );
    println!();
    print!(
        "{}",
        crate::stack_depth::report(&crate::stack_depth::bounds(&elf)?)
    );
    Ok(())
}

/// The CSM comparison: text + rodata of the RMM with and without the `csm` feature, the
/// difference in bytes and as a percentage of the RMM without CSM (what CSM adds) and of the
/// RMM with it (CSM's share).
pub fn csm_cost(with: &Sizes, without: &Sizes) -> String {
    let a = with.text + with.rodata;
    let b = without.text + without.rodata;
    let diff = a as i64 - b as i64;
    let pct = |base: u64| {
        if base == 0 {
            0.0
        } else {
            diff as f64 * 100.0 / base as f64
        }
    };
    format!(
        "| rmm-qemu | text | rodata | text + rodata |\n\
         |---|---:|---:|---:|\n\
         | with `csm` (default) | {} | {} | {a} |\n\
         | without `csm` (`--no-default-features`) | {} | {} | {b} |\n\
         \n\
         CSM: {diff:+} bytes of text + rodata, {:+.2}% over the RMM without it ({:.2}% of the RMM with it)\n",
        with.text,
        with.rodata,
        without.text,
        without.rodata,
        pct(b),
        pct(a),
    )
}

/// Prints one image's row.
pub fn print_row(name: &str, elf: &Path, bin: &Path) -> Result {
    let s = of(elf)?;
    let flat = std::fs::metadata(bin)?.len();
    crate::bench::report!(
        "| {name} | {} | {} | {} | {} | {} | {flat} |",
        s.text,
        s.rodata,
        s.data,
        s.bss,
        s.stacks
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csm_cost_is_the_difference_of_text_and_rodata() {
        let with = Sizes {
            text: 110_000,
            rodata: 20_000,
            ..Sizes::default()
        };
        let without = Sizes {
            text: 100_000,
            rodata: 20_000,
            data: 7,
            ..Sizes::default()
        };
        let out = csm_cost(&with, &without);
        assert!(
            out.contains("| with `csm` (default) | 110000 | 20000 | 130000 |"),
            "{out}"
        );
        assert!(out.contains("| 100000 | 20000 | 120000 |"), "{out}");
        assert!(
            out.contains("CSM: +10000 bytes of text + rodata, +8.33% over the RMM without it (7.69% of the RMM with it)"),
            "{out}"
        );
        let same = csm_cost(&without, &without);
        assert!(same.contains("CSM: +0 bytes"), "{same}");
        assert!(csm_cost(&Sizes::default(), &Sizes::default()).contains("+0.00%"));
    }
}
