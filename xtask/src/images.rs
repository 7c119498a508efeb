// SPDX-License-Identifier: MIT OR Apache-2.0
//! Building the bare-metal images: the RMM and the NS test hypervisor, as ELF and flat binary.

use crate::cmd::{self, Result};
use crate::options::BuildSettings;
use crate::path_remap;
use crate::paths::{self, FIRMWARE_TARGET, MSG_REALM_TARGET};
use crate::tfa;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

static SETTINGS: OnceLock<BuildSettings> = OnceLock::new();

/// Sets the firmware build settings for this run of xtask (before any build).
pub fn configure(settings: BuildSettings) {
    let _ = SETTINGS.set(settings);
}

fn settings() -> &'static BuildSettings {
    SETTINGS.get_or_init(BuildSettings::default)
}

/// The CPU count TF-A passes the RMM in x2 (its `PLATFORM_CORE_COUNT`): an RMM built for fewer
/// CPUs refuses to boot (`RMM_BOOT_COMPLETE(-3)`).
pub fn tfa_core_count(platform: Platform) -> u32 {
    match platform {
        Platform::Qemu => 32,
        Platform::Fvp => 8,
    }
}

/// A board we build for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// QEMU `virt` with FEAT_RME (TF-A `PLAT=qemu`): the one we run.
    Qemu,
    /// Arm FVP Base RevC (TF-A `PLAT=fvp`): built, not run here.
    Fvp,
}

impl Platform {
    /// Short name used in paths and package names.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Qemu => "qemu",
            Platform::Fvp => "fvp",
        }
    }
}

/// Which RMM build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// What users flash.
    Release,
    /// Release plus the test-only `fault-injection` RMI id (end-to-end fault test only).
    FaultInjection,
    /// Release code with debug info (cargo profile `release-debug`), for gdb.
    DebugInfo,
}

impl Flavour {
    fn profile(self) -> &'static str {
        match self {
            Flavour::DebugInfo => "release-debug",
            _ => "release",
        }
    }

    /// Extra `--config` arguments of every build of this flavour (the RMM, the hypervisor and
    /// the realms alike, so that the crates they share are built once): the firmware keeps
    /// no frame records (`.cargo/config.toml`) and has no call-frame information, and gdb's
    /// backtraces walk frame records, so the gdb build keeps them.
    fn extra_config(self) -> Vec<String> {
        match self {
            Flavour::DebugInfo => vec![
                "--config".to_string(),
                format!(
                    "target.{FIRMWARE_TARGET}.rustflags=[\"-C\", \"force-frame-pointers=yes\"]"
                ),
            ],
            Flavour::Release | Flavour::FaultInjection => Vec::new(),
        }
    }
}

/// The images for one platform.
#[derive(Debug, Clone)]
pub struct Images {
    /// RMM ELF (symbols, sizes).
    pub rmm_elf: PathBuf,
    /// RMM flat binary (what TF-A loads).
    pub rmm_bin: PathBuf,
    /// Test hypervisor ELF.
    pub host_elf: PathBuf,
    /// Test hypervisor flat binary (BL33).
    pub host_bin: PathBuf,
    /// The test realm's ELF (the CSM scenarios' and the demo's realms).
    pub realm_elf: PathBuf,
    /// The message benchmark's realm ELF (`realm-payload --features msgbench`).
    pub msg_realm_elf: PathBuf,
    /// The directory holding all of the above (and TF-A's images built from them).
    pub dir: PathBuf,
}

/// Builds the RMM and test hypervisor for `platform` (release, soft-float target).
pub fn build(platform: Platform, flavour: Flavour) -> Result<Images> {
    let name = platform.name();
    let dir_name = match flavour {
        Flavour::Release => name.to_string(),
        Flavour::FaultInjection => format!("{name}-fault-injection"),
        Flavour::DebugInfo => format!("{name}-debug"),
    };
    let settings = settings();
    if let Some(max) = settings.max_cpus {
        let needed = tfa_core_count(platform);
        if max < needed {
            return Err(format!(
                "--max-cpus {max}: TF-A PLAT={name} passes the RMM {needed} CPUs, and an RMM \
                 built for fewer refuses to boot"
            )
            .into());
        }
    }
    // Separate target dirs keep the feature sets from rebuilding each other (the release and
    // debug-info profiles already have directories of their own).
    let target_dir = match flavour {
        Flavour::DebugInfo => paths::target().join(format!("firmware-{name}")),
        _ => paths::target().join(format!("firmware-{dir_name}")),
    };
    let out = paths::images(&dir_name);
    std::fs::create_dir_all(&out)?;
    let built = target_dir.join(FIRMWARE_TARGET).join(flavour.profile());
    let profile = format!("--profile={}", flavour.profile());

    // The test realm first: the hypervisor embeds its flat binary (and that of its `msgbench`
    // build, the message benchmark's realm).
    let realm_bin = build_realm(&target_dir, flavour, &out, FIRMWARE_TARGET, None, "realm")?;
    let realm_msg_bin = build_realm(
        &target_dir,
        flavour,
        &out,
        MSG_REALM_TARGET,
        Some("msgbench"),
        "realm-msg",
    )?;

    let mut cargo = cmd::cargo();
    cargo.env("REALM_IMAGE", &realm_bin);
    cargo.env("REALM_MSG_IMAGE", &realm_msg_bin);
    // The RMM's CPU limit is read at compile time (`rmm::MAX_CPUS`); never inherit it.
    match settings.max_cpus {
        Some(max) => cargo.env("RMM_MAX_CPUS", max.to_string()),
        None => cargo.env_remove("RMM_MAX_CPUS"),
    };
    cargo
        .current_dir(paths::root())
        .args(["build", &profile, "--target", FIRMWARE_TARGET])
        .args(["-p", &format!("rmm-{name}"), "-p", "ns-test-host"])
        .args(path_remap::firmware_config_args())
        .arg("--target-dir")
        .arg(&target_dir);
    if let Some(feature) = settings.log_level.and_then(|l| l.feature()) {
        cargo.args(["--features", &format!("rmm-{name}/{feature}")]);
    }
    if platform == Platform::Fvp {
        cargo.args(["--features", "ns-test-host/fvp"]);
    }
    if flavour == Flavour::FaultInjection {
        cargo.args(["--features", &format!("rmm-{name}/fault-injection")]);
    }
    cargo.args(flavour.extra_config());
    cmd::run(&mut cargo)?;

    let images = Images {
        rmm_elf: out.join("rmm.elf"),
        rmm_bin: out.join("rmm.bin"),
        host_elf: out.join("host.elf"),
        host_bin: out.join("host.bin"),
        realm_elf: out.join("realm.elf"),
        msg_realm_elf: out.join("realm-msg.elf"),
        dir: out.clone(),
    };
    std::fs::copy(built.join(format!("rmm-{name}")), &images.rmm_elf)?;
    std::fs::copy(built.join("ns-test-host"), &images.host_elf)?;
    for (elf, bin) in [
        (&images.rmm_elf, &images.rmm_bin),
        (&images.host_elf, &images.host_bin),
    ] {
        cmd::run(
            Command::new("aarch64-linux-gnu-objcopy")
                .args(["-O", "binary"])
                .arg(elf)
                .arg(bin),
        )?;
    }
    Ok(images)
}

/// Builds the test realm for `target` with `features` into `out` as `<stem>.elf` and
/// `<stem>.bin`; returns the flat binary. The message benchmark's realm is its `msgbench`
/// build for the hard-float [`MSG_REALM_TARGET`] (AES and PMULL instructions,
/// `.cargo/config.toml`).
fn build_realm(
    target_dir: &std::path::Path,
    flavour: Flavour,
    out: &std::path::Path,
    target: &str,
    features: Option<&str>,
    stem: &str,
) -> Result<PathBuf> {
    let mut cargo = cmd::cargo();
    cargo
        .current_dir(paths::root())
        .args(["build", &format!("--profile={}", flavour.profile())])
        .args(["--target", target, "-p", "realm-payload"])
        .args(path_remap::firmware_config_args())
        .arg("--target-dir")
        .arg(target_dir);
    if let Some(features) = features {
        cargo.args(["--features", features]);
    }
    if target == FIRMWARE_TARGET {
        cargo.args(flavour.extra_config());
    }
    cmd::run(&mut cargo)?;
    let elf = out.join(format!("{stem}.elf"));
    let bin = out.join(format!("{stem}.bin"));
    std::fs::copy(
        target_dir
            .join(target)
            .join(flavour.profile())
            .join("realm-payload"),
        &elf,
    )?;
    cmd::run(
        Command::new("aarch64-linux-gnu-objcopy")
            .args(["-O", "binary"])
            .arg(&elf)
            .arg(&bin),
    )?;
    Ok(bin)
}

/// Builds only the RMM for `platform` (release), without its default features (so without
/// CSM, `rmm/csm`), in a target directory of its own; returns its ELF. The log level and CPU
/// limit are those of [`build`], so the two images differ only by the feature
/// (`cargo xtask size`).
pub fn build_rmm_without_csm(platform: Platform) -> Result<PathBuf> {
    let name = platform.name();
    let dir_name = format!("{name}-no-csm");
    let target_dir = paths::target().join(format!("firmware-{dir_name}"));
    let out = paths::images(&dir_name);
    std::fs::create_dir_all(&out)?;
    let profile = Flavour::Release.profile();
    let mut cargo = cmd::cargo();
    match settings().max_cpus {
        Some(max) => cargo.env("RMM_MAX_CPUS", max.to_string()),
        None => cargo.env_remove("RMM_MAX_CPUS"),
    };
    cargo
        .current_dir(paths::root())
        .args([
            "build",
            &format!("--profile={profile}"),
            "--target",
            FIRMWARE_TARGET,
        ])
        .args(["-p", &format!("rmm-{name}"), "--no-default-features"])
        .args(path_remap::firmware_config_args())
        .arg("--target-dir")
        .arg(&target_dir);
    if let Some(feature) = settings().log_level.and_then(|l| l.feature()) {
        cargo.args(["--features", &format!("rmm-{name}/{feature}")]);
    }
    cmd::run(&mut cargo)?;
    let elf = out.join("rmm.elf");
    std::fs::copy(
        target_dir
            .join(FIRMWARE_TARGET)
            .join(profile)
            .join(format!("rmm-{name}")),
        &elf,
    )?;
    Ok(elf)
}

/// Everything QEMU needs to boot: our images inside TF-A's BL1 + FIP flash image.
pub struct QemuBoot {
    /// Our images.
    pub images: Images,
    /// `qemu_fw.bios` for `-bios`.
    pub bios: PathBuf,
}

/// Builds our images for QEMU and packs them with TF-A.
pub fn build_qemu_boot(flavour: Flavour) -> Result<QemuBoot> {
    let images = build(Platform::Qemu, flavour)?;
    let bios = tfa::qemu_bios(&images)?;
    eprintln!("xtask: QEMU firmware ready: {}", bios.display());
    Ok(QemuBoot { images, bios })
}

/// The only RMM functions allowed to use FP/SIMD registers: the SHA-2 block compression
/// routines (`rmm/src/arch/aarch64/sha2_hw.rs`), which save every vector register they use.
pub const FP_SIMD_FUNCTIONS: &[&str] = &["rmm_sha256_compress_hw", "rmm_sha512_compress_hw"];

/// The world switch's FP/SIMD context routines (`rmm/src/arch/aarch64/fp_regs.rs`), which move
/// the whole FP/SIMD state between a CPU and memory: each must name all 32 vector registers,
/// FPCR and FPSR (a routine that missed one would leak it between worlds).
pub const FP_CONTEXT_FUNCTIONS: &[&str] = &["rmm_fp_save", "rmm_fp_load"];

/// Fails if the RMM image uses any FP/SIMD register outside [`FP_SIMD_FUNCTIONS`] and
/// [`FP_CONTEXT_FUNCTIONS`]: the RMM
/// runs between two worlds' FP state and must not change it (the soft-float target guarantees
/// this for compiled code; this catches a target or flag change). Each of those functions must
/// exist, must not touch FPCR/FPSR, and must store (`stp q`) and reload (`ldp q`) every vector
/// register it names.
pub fn check_no_fp_simd(elf: &std::path::Path) -> Result {
    let listing = cmd::output(Command::new("aarch64-linux-gnu-objdump").arg("-d").arg(elf))
        .ok_or_else(|| format!("cannot disassemble {}", elf.display()))?;
    check_fp_simd_listing(&listing).map_err(|e| format!("{}: {e}", elf.display()).into())
}

/// [`check_no_fp_simd`] on an `objdump -d` listing.
fn check_fp_simd_listing(listing: &str) -> std::result::Result<(), String> {
    let mut offending = Vec::new();
    let mut function = "";
    // Per allowed function: registers named, saved by `stp q`, reloaded by `ldp q`.
    let mut seen: std::collections::BTreeMap<&str, [std::collections::BTreeSet<u32>; 3]> =
        Default::default();
    // Per context routine: vector registers named, and whether FPCR and FPSR are.
    let mut context: std::collections::BTreeMap<
        &str,
        (std::collections::BTreeSet<u32>, bool, bool),
    > = Default::default();
    for line in listing.lines() {
        // "0000000040101000 <name>:" starts a function.
        if let Some(name) = line
            .strip_suffix(">:")
            .and_then(|l| l.split_once(" <"))
            .map(|(_, name)| name)
        {
            function = name;
            continue;
        }
        // "  addr:\tencoding \tmnemonic\toperands"
        let mut fields = line.splitn(4, '\t');
        let (mnemonic, operands) = (
            fields.nth(2).unwrap_or("").trim(),
            fields.next().unwrap_or(""),
        );
        let asm = line.splitn(3, '\t').nth(2).unwrap_or("");
        if !uses_fp_simd(asm) {
            continue;
        }
        if FP_CONTEXT_FUNCTIONS.contains(&function) {
            let entry = context.entry(function).or_default();
            entry.0.extend(vector_registers(operands));
            entry.1 |= asm.contains("fpcr");
            entry.2 |= asm.contains("fpsr");
            continue;
        }
        let allowed =
            FP_SIMD_FUNCTIONS.contains(&function) && !asm.contains("fpcr") && !asm.contains("fpsr");
        if !allowed {
            offending.push(line);
            continue;
        }
        let regs = vector_registers(operands);
        let sets = seen.entry(function).or_default();
        let slot = match (mnemonic, operands.contains("[sp")) {
            ("stp", true) => 1,
            ("ldp", true) => 2,
            _ => 0,
        };
        sets[slot].extend(regs);
    }
    if !offending.is_empty() {
        let shown: Vec<&str> = offending.into_iter().take(5).collect();
        return Err(format!("uses FP/SIMD registers:\n{}", shown.join("\n")));
    }
    for name in FP_CONTEXT_FUNCTIONS {
        let Some((vectors, fpcr, fpsr)) = context.get(name) else {
            return Err(format!(
                "{name} not found (renamed? update FP_CONTEXT_FUNCTIONS)"
            ));
        };
        if vectors.len() != 32 || !fpcr || !fpsr {
            return Err(format!(
                "{name} moves vector registers {vectors:?}, FPCR {fpcr}, FPSR {fpsr}: \
                 all 32, FPCR and FPSR are needed"
            ));
        }
    }
    for name in FP_SIMD_FUNCTIONS {
        let Some([used, saved, restored]) = seen.get(name) else {
            return Err(format!(
                "{name} not found (renamed? update FP_SIMD_FUNCTIONS)"
            ));
        };
        if !used.is_subset(saved) || saved != restored {
            return Err(format!(
                "{name} uses vector registers {used:?} but saves {saved:?} and restores \
                 {restored:?}"
            ));
        }
    }
    Ok(())
}

/// The numbers of the vector registers (b/h/s/d/q/v0..31) an operand list names.
fn vector_registers(operands: &str) -> Vec<u32> {
    operands
        .split([',', ' ', '\t', '[', '{', '}'])
        .map(|tok| tok.split('.').next().unwrap_or(""))
        .filter_map(|tok| {
            let rest = tok.strip_prefix(['b', 'h', 's', 'd', 'q', 'v'])?;
            (!rest.is_empty() && rest.len() <= 2 && rest.chars().all(|c| c.is_ascii_digit()))
                .then(|| rest.parse::<u32>().ok())
                .flatten()
                .filter(|&n| n < 32)
        })
        .collect()
}

/// True if an instruction's operand text names a FP/SIMD register (b/h/s/d/q/v0..31, fpcr,
/// fpsr).
fn uses_fp_simd(operands: &str) -> bool {
    operands
        .split([',', ' ', '\t', '[', '{', '}'])
        .map(|tok| tok.split('.').next().unwrap_or(""))
        .any(|tok| {
            let mut chars = tok.chars();
            let Some(first) = chars.next() else {
                return false;
            };
            let rest = chars.as_str();
            (matches!(first, 'b' | 'h' | 's' | 'd' | 'q' | 'v')
                && !rest.is_empty()
                && rest.len() <= 2
                && rest.chars().all(|c| c.is_ascii_digit())
                && rest.parse::<u32>().is_ok_and(|n| n < 32))
                || tok == "fpcr"
                || tok == "fpsr"
        })
}

/// Builds the QEMU RMM for the most CPUs a build may support
/// ([`crate::options::MAX_RMM_CPUS`], `--max-cpus`), in a target directory of its own, and returns
/// the size of its per-CPU stacks: the largest image a user can build must link. The
/// firmware's tiny code model (`.cargo/config.toml`) reaches ±1 MiB around each
/// instruction, and this build's 3 MiB of stacks put the image's end beyond that: a reference
/// to a symbol past the stacks fails this link and nothing else in the test command.
pub fn build_rmm_for_most_cpus() -> Result<u64> {
    let target_dir = paths::target().join("firmware-qemu-most-cpus");
    let mut cargo = cmd::cargo();
    cargo
        .current_dir(paths::root())
        .env("RMM_MAX_CPUS", crate::options::MAX_RMM_CPUS.to_string())
        .args([
            "build",
            "--release",
            "--target",
            FIRMWARE_TARGET,
            "-p",
            "rmm-qemu",
        ])
        .args(path_remap::firmware_config_args())
        .arg("--target-dir")
        .arg(&target_dir);
    cmd::run(&mut cargo)?;
    let elf = target_dir
        .join(FIRMWARE_TARGET)
        .join("release")
        .join("rmm-qemu");
    Ok(crate::size::of(&elf)?.stacks)
}

#[cfg(test)]
mod tests {
    use super::{check_fp_simd_listing, uses_fp_simd};

    const SAVING: &str = "0000000040101000 <rmm_sha256_compress_hw>:
    40101000:\tad0007e0 \tstp\tq0, q1, [sp]
    40101004:\t4ea11c02 \tmov\tv2.16b, v0.16b
    40101008:\tad4007e0 \tldp\tq0, q1, [sp]
0000000040102000 <rmm_sha512_compress_hw>:
    40102000:\tad0007e0 \tstp\tq0, q1, [sp]
    40102004:\tad4007e0 \tldp\tq0, q1, [sp]
0000000040103000 <other>:
    40103000:\t91000000 \tadd\tx0, x0, #0x0
";

    /// The two context routines, each moving q0..q31, FPCR and FPSR.
    fn context_routines() -> String {
        let mut out = String::new();
        for (name, op, fp) in [
            ("rmm_fp_save", "stp", "mrs\tx1, "),
            ("rmm_fp_load", "ldp", "msr\t"),
        ] {
            out += &format!("0000000040104000 <{name}>:\n");
            for pair in 0..16 {
                out += &format!(
                    "    40104000:\tad000400 \t{op}\tq{}, q{}, [x0, #{}]\n",
                    2 * pair,
                    2 * pair + 1,
                    32 * pair
                );
            }
            for reg in ["fpcr", "fpsr"] {
                let operands = if op == "stp" {
                    format!("{fp}{reg}")
                } else {
                    format!("{fp}{reg}, x1")
                };
                out += &format!("    40104080:\td51b4401 \t{operands}\n");
            }
        }
        out
    }

    #[test]
    fn context_routines_must_move_every_register() {
        let full =
            SAVING.replace("mov\tv2.16b, v0.16b", "mov\tv1.16b, v0.16b") + &context_routines();
        assert_eq!(check_fp_simd_listing(&full), Ok(()));
        let no_q31 = full.replacen("q30, q31", "q30, q29", 1);
        assert!(check_fp_simd_listing(&no_q31).is_err());
        let no_fpsr = full.replacen("mrs\tx1, fpsr", "mrs\tx1, tpidr_el2", 1);
        assert!(check_fp_simd_listing(&no_fpsr).is_err());
        let missing = full.replace("rmm_fp_load", "renamed");
        assert!(check_fp_simd_listing(&missing).is_err());
    }

    #[test]
    fn allows_vector_registers_only_in_the_saving_sha_routines() {
        let saving = SAVING.to_string() + &context_routines();
        // v2 is used but not saved.
        assert!(check_fp_simd_listing(&saving).is_err());
        let fixed = saving.replace("mov\tv2.16b, v0.16b", "mov\tv1.16b, v0.16b");
        assert_eq!(check_fp_simd_listing(&fixed), Ok(()));
        // Saved but not restored.
        let unrestored = fixed.replacen("ldp\tq0, q1, [sp]", "ldp\tx0, x1, [sp]", 1);
        assert!(check_fp_simd_listing(&unrestored).is_err());
        // Any vector register elsewhere.
        let elsewhere = fixed.replace("add\tx0, x0, #0x0", "movi\tv0.2d, #0x0");
        assert!(check_fp_simd_listing(&elsewhere).is_err());
        // FPCR even inside.
        let fpcr = fixed.replace("mov\tv1.16b, v0.16b", "msr\tfpcr, x0");
        assert!(check_fp_simd_listing(&fpcr).is_err());
        // A routine that disappeared.
        let missing = fixed.replace("rmm_sha512_compress_hw", "renamed");
        assert!(check_fp_simd_listing(&missing).is_err());
    }

    #[test]
    fn recognises_fp_simd_operands() {
        assert!(uses_fp_simd("movi\tv0.2d, #0x0"));
        assert!(uses_fp_simd("str\tq0, [sp, #16]"));
        assert!(uses_fp_simd("fmov\td1, x2"));
        assert!(uses_fp_simd("msr\tfpcr, x0"));
        assert!(!uses_fp_simd("mov\tx4, #0x0"));
        assert!(!uses_fp_simd("smc\t#0x0"));
        assert!(!uses_fp_simd("ldp\tx29, x30, [sp], #16"));
        assert!(!uses_fp_simd("b.ne\t40102760 <foo+0x4ec>"));
        assert!(!uses_fp_simd("msr\tsp_el0, x1"));
    }
}
