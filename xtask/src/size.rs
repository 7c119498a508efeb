// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask size`: section sizes of the firmware images (from their ELF files).

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
    for platform in [Platform::Qemu, Platform::Fvp] {
        let images = images::build(platform, images::Flavour::Release)?;
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
    Ok(())
}

/// Prints one image's row.
pub fn print_row(name: &str, elf: &Path, bin: &Path) -> Result {
    let s = of(elf)?;
    let flat = std::fs::metadata(bin)?.len();
    println!(
        "| {name} | {} | {} | {} | {} | {} | {flat} |",
        s.text, s.rodata, s.data, s.bss, s.stacks
    );
    Ok(())
}
