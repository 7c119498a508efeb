// SPDX-License-Identifier: MIT OR Apache-2.0
//! The lean-monitor report of `cargo xtask size` (docs/benchmarks.md, "Code size and static
//! memory"): where the RMM's code and read-only data are, by crate and by symbol, and the
//! targets — text + rodata ≤ 100 KiB with everything in, CSM ≤ 4% of it, all static memory
//! ≤ 2,621,440 bytes for 4 GiB of DRAM and 32 CPUs — each printed as met or not.

use crate::cmd::{self, Result};
use crate::size::Sizes;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Text + rodata target: 100 KiB.
pub const CODE_TARGET: u64 = 100 * 1024;
/// CSM's share of text + rodata, at most (percent of the RMM with CSM).
pub const CSM_TARGET_PERCENT: f64 = 4.0;
/// Static memory target for 4 GiB of DRAM and 32 CPUs.
pub const STATIC_TARGET: u64 = 2_621_440;
/// Static memory CSM may add (issue 17).
pub const CSM_STATIC_TARGET: u64 = 8 * 1024;
/// The statics that are CSM's: its global state (the index and the plan, behind the CSM
/// lock) and, in builds that had one, its stack. (The RMM built without `csm` keeps the
/// state's static, unused, so comparing the two builds' data would not show it.)
const CSM_STATICS: [&str; 2] = ["rmm::firmware::CSM", "csm_stack::CSM_STACK"];

/// Bytes of CSM's statics in `elf` (`nm -C -S`).
pub fn csm_static(elf: &Path) -> Result<u64> {
    let out = cmd::output(
        Command::new("aarch64-linux-gnu-nm")
            .args(["-C", "-S"])
            .arg(elf),
    )
    .ok_or_else(|| format!("aarch64-linux-gnu-nm failed on {}", elf.display()))?;
    Ok(parse_csm_static(&out))
}

/// [`csm_static`] from `nm -C -S` output.
pub fn parse_csm_static(out: &str) -> u64 {
    out.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.splitn(4, ' ').collect();
            let [_, size, _, name] = fields.as_slice() else {
                return None;
            };
            let ours = CSM_STATICS
                .iter()
                .any(|s| *name == *s || name.ends_with(&format!("::{s}")));
            ours.then(|| u64::from_str_radix(size, 16).ok()).flatten()
        })
        .sum()
}
/// DRAM the static-memory target is stated for.
const TARGET_DRAM: u64 = 4 << 30;
/// Bytes of granule tracking per 4 KiB granule (`rmm/src/granule`).
const GRANULE_ENTRY: u64 = 2;
/// Stage-1 translation tables taken from the carve-out, at most: the RMM's layout test
/// (`mmu::layout::tests::fvp_map_builds`) bounds a two-bank, 8-CPU FVP map at 16; QEMU's
/// boot logs 14 for 3 GiB and 32 CPUs.
const STAGE1_TABLES: u64 = 16;

/// One symbol of the image's text or rodata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Demangled name.
    pub name: String,
    /// Bytes.
    pub size: u64,
}

/// The text and rodata symbols of `elf` (`nm -C -S`), largest first.
pub fn symbols(elf: &Path) -> Result<Vec<Symbol>> {
    let out = cmd::output(
        Command::new("aarch64-linux-gnu-nm")
            .args(["--size-sort", "--reverse-sort", "-C", "-S"])
            .arg(elf),
    )
    .ok_or_else(|| format!("aarch64-linux-gnu-nm failed on {}", elf.display()))?;
    Ok(parse_nm(&out))
}

/// Parses `nm -C -S` lines (`address size type name`), keeping text and rodata symbols.
pub fn parse_nm(out: &str) -> Vec<Symbol> {
    let mut symbols: Vec<Symbol> = out
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(4, ' ');
            let (_addr, size, kind, name) = (
                fields.next()?,
                fields.next()?,
                fields.next()?,
                fields.next()?,
            );
            let size = u64::from_str_radix(size, 16).ok()?;
            matches!(kind, "t" | "T" | "r" | "R").then(|| Symbol {
                name: name.to_string(),
                size,
            })
        })
        .collect();
    symbols.sort_by(|a, b| b.size.cmp(&a.size).then(a.name.cmp(&b.name)));
    symbols
}

/// The crate a demangled symbol belongs to: the first path segment (of the type, for an
/// `impl`); the link's outlined sequences (`OUTLINED_FUNCTION_n`, shared by cold functions of
/// any crate, `.cargo/config.toml`) are a group of their own; other names without a path are
/// the assembly and C-ABI routines; primitives and references go with `core`.
pub fn crate_of(name: &str) -> &str {
    if name.starts_with("OUTLINED_FUNCTION_") {
        return "(outlined from cold code)";
    }
    let bare = name.trim_start_matches('<').trim_start_matches("impl ");
    let bare = bare.trim_start_matches('&').trim_start_matches("mut ");
    let Some((first, _)) = bare.split_once("::") else {
        return "(assembly, C ABI)";
    };
    let first = first.split(['<', ' ']).next().unwrap_or(first);
    let primitive = matches!(
        first,
        "u8" | "u16"
            | "u32"
            | "u64"
            | "u128"
            | "usize"
            | "i8"
            | "i16"
            | "i32"
            | "i64"
            | "i128"
            | "isize"
            | "bool"
            | "char"
            | "str"
            | "T"
            | "dyn"
            | "[T]"
            | "alloc"
    );
    if primitive || first.is_empty() {
        "core"
    } else {
        first
    }
}

/// Bytes per crate, largest first.
pub fn by_crate(symbols: &[Symbol]) -> Vec<(String, u64)> {
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for s in symbols {
        *totals.entry(crate_of(&s.name)).or_default() += s.size;
    }
    let mut rows: Vec<(String, u64)> = totals
        .into_iter()
        .map(|(name, bytes)| (name.to_string(), bytes))
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    rows
}

/// Static memory of an RMM built for 32 CPUs, for 4 GiB of DRAM: image data and BSS (the
/// platform-token buffer, the VMID bitmap, the CSM state), every stack (the `.stacks`
/// section: the per-CPU stacks), the granule table and the stage-1 tables
/// from the carve-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaticMemory {
    /// `.data` + `.bss`.
    pub data_bss: u64,
    /// `.stacks`.
    pub stacks: u64,
    /// Granule tracking for [`TARGET_DRAM`].
    pub granule_table: u64,
    /// Stage-1 tables, at most.
    pub stage1_tables: u64,
}

impl StaticMemory {
    /// For the image with these section sizes.
    pub fn of(sizes: &Sizes) -> Self {
        Self {
            data_bss: sizes.data + sizes.bss,
            stacks: sizes.stacks,
            granule_table: TARGET_DRAM / 4096 * GRANULE_ENTRY,
            stage1_tables: STAGE1_TABLES * 4096,
        }
    }

    /// All of it.
    pub fn total(&self) -> u64 {
        self.data_bss + self.stacks + self.granule_table + self.stage1_tables
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**not met**" }
}

/// The report: per-crate table, the largest symbols, and the three targets.
pub fn report(
    symbols: &[Symbol],
    with: &Sizes,
    without: &Sizes,
    largest: usize,
    csm_static: u64,
) -> String {
    let mut out = String::new();
    out.push_str("| crate | text + rodata (bytes) |\n|---|---:|\n");
    let mut named = 0;
    for (name, bytes) in by_crate(symbols) {
        named += bytes;
        out.push_str(&format!("| {name} | {bytes} |\n"));
    }
    let rest = (with.text + with.rodata).saturating_sub(named);
    out.push_str(&format!(
        "| (no symbol: string literals, constants, alignment) | {rest} |\n"
    ));
    out.push_str(&format!(
        "\n{largest} largest symbols:\n\n| bytes | symbol |\n|---:|---|\n"
    ));
    for s in symbols.iter().take(largest) {
        let name: String = s.name.chars().take(110).collect();
        out.push_str(&format!(
            "| {} | `{}` |\n",
            s.size,
            name.replace('|', "\\|")
        ));
    }
    let code = with.text + with.rodata;
    let code_without = without.text + without.rodata;
    let csm = code.saturating_sub(code_without);
    let csm_percent = if code == 0 {
        0.0
    } else {
        csm as f64 * 100.0 / code as f64
    };
    let memory = StaticMemory::of(with);
    out.push_str(&format!(
        "\nTargets (issue 20, and issue 17's for CSM's static memory):\n\n\
         | target | now | verdict |\n|---|---:|---|\n\
         | text + rodata ≤ {CODE_TARGET} B (100 KiB), everything in | {code} B | {} |\n\
         | CSM ≤ {CSM_TARGET_PERCENT}% of text + rodata | {csm} B = {csm_percent:.2}% | {} |\n\
         | static memory ≤ {STATIC_TARGET} B for 4 GiB and 32 CPUs | {} B | {} |\n\
         | static memory CSM adds (its state and stack statics) ≤ {CSM_STATIC_TARGET} B | {csm_static} B | {} |\n\
         \n\
         Static memory: data + bss {} B, stacks {} B (32 per-CPU stacks), \
         granule table {} B (2 bytes per 4 KiB granule of 4 GiB), stage-1 tables ≤ {} B.\n",
        verdict(code <= CODE_TARGET),
        verdict(csm_percent <= CSM_TARGET_PERCENT),
        memory.total(),
        verdict(memory.total() <= STATIC_TARGET),
        verdict(csm_static <= CSM_STATIC_TARGET),
        memory.data_bss,
        memory.stacks,
        memory.granule_table,
        memory.stage1_tables,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_grouped_by_their_crate() {
        assert_eq!(crate_of("rmm::rmi::run"), "rmm");
        assert_eq!(
            crate_of("<rmm::sharing::view::TableView<M> as csm::view::Stage2View>::summarize"),
            "rmm"
        );
        assert_eq!(
            crate_of("csm::fw::<impl csm::state::Csm<256_usize>>::fw_check_rsi"),
            "csm"
        );
        assert_eq!(crate_of("<&T as core::fmt::Debug>::fmt"), "core");
        assert_eq!(crate_of("u64::fmt"), "core");
        assert_eq!(crate_of("memcpy"), "(assembly, C ABI)");
        assert_eq!(
            crate_of("OUTLINED_FUNCTION_12"),
            "(outlined from cold code)"
        );
        assert_eq!(crate_of("rmm_sha512_compress_hw"), "(assembly, C ABI)");
    }

    #[test]
    fn nm_output_keeps_code_and_rodata_largest_first() {
        let nm = "0000000040100000 0000000000000010 T memcpy\n\
                  0000000040100010 0000000000000100 t rmm::rmi::run\n\
                  0000000040200000 0000000000002000 b rmm::firmware::VMIDS\n\
                  0000000040300000 0000000000000020 r rmm::NAMES\n\
                  junk\n";
        let symbols = parse_nm(nm);
        let names: Vec<&str> = symbols.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["rmm::rmi::run", "rmm::NAMES", "memcpy"]);
        assert_eq!(by_crate(&symbols)[0], ("rmm".to_string(), 0x120));
    }

    #[test]
    fn targets_say_met_or_not() {
        let symbols = parse_nm("0000000040100010 0000000000000100 t rmm::rmi::run\n");
        let small = Sizes {
            text: 90_000,
            rodata: 10_000,
            data: 100,
            bss: 400,
            stacks: 300_000,
        };
        let without = Sizes {
            text: 87_000,
            ..small
        };
        let out = report(&symbols, &small, &without, 20, 7_248);
        assert!(out.contains("| rmm | 256 |"), "{out}");
        assert!(out.contains("alignment) | 99744 |"), "{out}");
        assert!(
            out.contains("| text + rodata ≤ 102400 B (100 KiB), everything in | 100000 B | met |"),
            "{out}"
        );
        assert!(out.contains("| 3000 B = 3.00% | met |"), "{out}");
        // 500 + 300,000 + 2 MiB + 64 KiB = 2,463,188.
        assert!(out.contains("| 2463188 B | met |"), "{out}");
        assert!(
            out.contains("stack statics) ≤ 8192 B | 7248 B | met |"),
            "{out}"
        );
        let big = Sizes {
            text: 200_000,
            stacks: 1_000_000,
            ..small
        };
        let out = report(&symbols, &big, &without, 20, 14_352 + 24_576);
        assert!(out.contains("| 210000 B | **not met** |"), "{out}");
        assert!(out.contains("= 53.81% | **not met** |"), "{out}");
        assert!(out.contains("| 3163188 B | **not met** |"), "{out}");
        assert!(
            out.contains("stack statics) ≤ 8192 B | 38928 B | **not met** |"),
            "{out}"
        );
    }

    #[test]
    fn csm_statics_are_found_by_name() {
        let nm = "\
000000004012fcf0 0000000000001c50 b rmm::firmware::CSM
0000000040140000 0000000000006000 b rmm::arch::aarch64::csm_stack::CSM_STACK
000000004012f000 00000000000003d0 b rmm::firmware::MONITOR
0000000040130000 0000000000000010 b rmm::firmware::CSM_OTHER
";
        assert_eq!(parse_csm_static(nm), 0x1c50 + 0x6000);
    }
}
