// SPDX-License-Identifier: MIT OR Apache-2.0
//! TF-A from Debian's source package: built once per platform, then reused.
//!
//! The first build runs `make ... RMM=<rmm.bin> BL33=<host.bin> all fip`. Later builds only
//! swap our two images into a copy of the FIP with `fiptool update` (and, for QEMU, write BL1
//! followed by the FIP at 256 KiB, as TF-A's `qemu_fw.bios` rule does). A stamp file records
//! the TF-A source and make flags; changing either rebuilds TF-A.
//!
//! `--tfa-dir` (another TF-A tree) and `--tfa-flag` (extra make flags, after ours) build into
//! `target/tf-a/build-<platform>-custom/`, so the tested build stays cached.

use crate::cmd::{self, Result};
use crate::images::{self, Flavour, Images, Platform};
use crate::options::TfaOptions;
use crate::path_remap;
use crate::{paths, setup};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// QEMU flash layout: the FIP starts at this offset of `qemu_fw.bios`.
const QEMU_FIP_OFFSET: usize = 0x40000;

/// The device tree TF-A's RME documentation requires in the FVP's HW_CONFIG: one thread per
/// core, affinities shifted as FVP_Base_RevC-2xAEMvA reports them (MPIDR Aff1 = core).
pub const FVP_HW_CONFIG_DTS: &str = "fdts/fvp-base-gicv3-psci-1t.dts";

static OPTIONS: OnceLock<TfaOptions> = OnceLock::new();

/// Sets the TF-A tree and extra flags for this run of xtask (before any build).
pub fn configure(options: TfaOptions) {
    let _ = OPTIONS.set(options);
}

fn options() -> &'static TfaOptions {
    OPTIONS.get_or_init(TfaOptions::default)
}

/// Whether this run builds a TF-A tree of the user's (`--tfa-dir`) instead of Debian's.
pub fn has_own_tree() -> bool {
    options().source.is_some()
}

fn make_flags(platform: Platform) -> Vec<String> {
    let mut flags = vec![
        "CROSS_COMPILE=aarch64-linux-gnu-".to_string(),
        format!("PLAT={}", platform.name()),
        "ENABLE_RME=1".into(),
        "BUILD_MESSAGE_TIMESTAMP=\"reproducible\"".into(),
    ];
    match platform {
        Platform::Qemu => flags.push("QEMU_USE_GIC_DRIVER=QEMU_GICV3".into()),
        Platform::Fvp => flags.push(format!("FVP_HW_CONFIG_DTS={FVP_HW_CONFIG_DTS}")),
    }
    flags.extend(options().flags.iter().cloned());
    flags
}

/// TF-A's output directory name for these flags (`debug` when the last `DEBUG=` is 1).
fn build_type(flags: &[String]) -> &'static str {
    let debug = flags
        .iter()
        .rev()
        .find_map(|f| f.strip_prefix("DEBUG="))
        .is_some_and(|v| v == "1");
    if debug { "debug" } else { "release" }
}

/// Builds (or reuses) TF-A for `platform`; returns `(bl1.bin, fip.bin)` with our images in
/// the FIP, both next to our images.
fn bl1_and_fip(platform: Platform, images: &Images) -> Result<(PathBuf, PathBuf)> {
    let source = source()?;
    let custom = *options() != TfaOptions::default();
    let build_base = if custom {
        paths::tfa_build(&format!("{}-custom", platform.name()))
    } else {
        paths::tfa_build(platform.name())
    };
    let flags = make_flags(platform);
    let plat_dir = build_base.join(platform.name()).join(build_type(&flags));
    let stamp_path = build_base.join("xtask.stamp");
    let stamp = format!("{}\n{}\n", source.display(), flags.join(" "));
    let fresh = std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp)
        && plat_dir.join("bl1.bin").is_file()
        && plat_dir.join("fip.bin").is_file()
        && fiptool(&source).is_file();
    if !fresh {
        std::fs::create_dir_all(&build_base)?;
        let mut make = cmd::in_dir("make", &source);
        make.arg(format!("-j{}", jobs()))
            .args(&flags)
            .arg(format!("BUILD_BASE={}", build_base.display()))
            .arg(format!("RMM={}", images.rmm_bin.display()))
            .arg(format!("BL33={}", images.host_bin.display()))
            .args(["all", "fip"]);
        cmd::run(&mut make)?;
        std::fs::write(&stamp_path, stamp)?;
    }
    let bl1 = images.dir.join("bl1.bin");
    let fip = images.dir.join("fip.bin");
    std::fs::copy(plat_dir.join("bl1.bin"), &bl1)?;
    std::fs::copy(plat_dir.join("fip.bin"), &fip)?;
    cmd::run(
        Command::new(fiptool(&source))
            .arg("update")
            .arg("--rmm-fw")
            .arg(&images.rmm_bin)
            .arg("--nt-fw")
            .arg(&images.host_bin)
            .arg(&fip),
    )?;
    Ok((bl1, fip))
}

/// The TF-A tree to build: `--tfa-dir`, or Debian's 2.12 source package. Warns when the tree
/// or the flags are not what this RMM is tested with.
pub fn source() -> Result<PathBuf> {
    let options = options();
    let Some(dir) = &options.source else {
        return setup::tfa_source();
    };
    let version = tfa_version(dir).unwrap_or_else(|| "unknown".into());
    static WARNED: OnceLock<()> = OnceLock::new();
    WARNED.get_or_init(|| {
        if !version.starts_with(setup::TFA_VERSION_PREFIX) {
            eprintln!(
                "xtask: warning: TF-A {version} from {} is untested with this RMM (tested: \
                 TF-A 2.12.1, RMM-EL3 interface 0.4, boot manifest 0.3; accepted: interface and \
                 manifest 0.3 up to any 0.x; TF-A 2.15 and later need RMM_V1_COMPAT=1)",
                dir.display()
            );
        }
        if !options.flags.is_empty() {
            eprintln!(
                "xtask: warning: extra TF-A make flags {:?} are untested with this RMM",
                options.flags
            );
        }
    });
    Ok(dir.clone())
}

/// `major.minor.patch` from a TF-A tree's top-level Makefile.
pub fn tfa_version(source: &Path) -> Option<String> {
    let makefile = std::fs::read_to_string(source.join("Makefile")).ok()?;
    let field = |name: &str| {
        makefile.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?;
            let value = rest.trim_start().strip_prefix(":=")?.trim();
            (!value.is_empty() && value.chars().all(|c| c.is_ascii_digit()))
                .then(|| value.to_string())
        })
    };
    Some(format!(
        "{}.{}.{}",
        field("VERSION_MAJOR")?,
        field("VERSION_MINOR")?,
        field("VERSION_PATCH").unwrap_or_else(|| "0".into())
    ))
}

fn fiptool(source: &Path) -> PathBuf {
    source.join("tools/fiptool/fiptool")
}

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// `qemu_fw.bios` (BL1, then the FIP at 256 KiB) with our images inside.
pub fn qemu_bios(images: &Images) -> Result<PathBuf> {
    let (bl1, fip) = bl1_and_fip(Platform::Qemu, images)?;
    let mut bios = std::fs::read(&bl1)?;
    if bios.len() > QEMU_FIP_OFFSET {
        return Err(format!("bl1.bin is larger than {QEMU_FIP_OFFSET:#x} bytes").into());
    }
    bios.resize(QEMU_FIP_OFFSET, 0);
    bios.extend(std::fs::read(&fip)?);
    let path = images.dir.join("qemu_fw.bios");
    std::fs::write(&path, bios)?;
    Ok(path)
}

/// `cargo xtask fvp`: the FVP RMM and hypervisor, TF-A `PLAT=fvp ENABLE_RME=1`, checked (see
/// [`check_fvp`]), and how to launch them.
pub fn build_fvp() -> Result {
    let images = images::build(Platform::Fvp, Flavour::Release)?;
    let (bl1, fip) = bl1_and_fip(Platform::Fvp, &images)?;
    let checks = check_fvp(&images, &fip)?;
    println!("FVP images:");
    for path in [&images.rmm_bin, &images.host_bin, &bl1, &fip] {
        println!(
            "  {} ({} bytes)",
            path.display(),
            std::fs::metadata(path)?.len()
        );
    }
    for check in checks {
        println!("  checked: {check}");
    }
    println!(
        "Launch (FVP_Base_RevC-2xAEMvA on PATH, or pass its path first):\n  \
         {}/scripts/run-fvp.sh [model] [extra model arguments]\n\
         Consoles, each also logged to target/fvp-logs/uartN.log:\n  \
         terminal_0 = TF-A BL1/BL2 and the NS test hypervisor, terminal_1 = TF-A BL31 \
         (runtime and crash console), terminal_3 = the RMM.",
        paths::root().display()
    );
    Ok(())
}

/// Checks the packed FVP FIP: TF-A will load our RMM and our BL33 (byte for byte), its
/// HW_CONFIG is the one-thread-per-core device tree, and the RMM is linked where TF-A loads
/// it. Returns one line per check that passed.
pub fn check_fvp(images: &Images, fip: &Path) -> Result<Vec<String>> {
    let source = source()?;
    let tool = fiptool(&source);
    let mut passed = Vec::new();
    for image in [&images.rmm_bin, &images.host_bin] {
        path_remap::check_image(image)?;
    }
    passed.push("the RMM and BL33 carry no path of this machine (xtask/src/path_remap.rs)".into());
    let info = cmd::output(Command::new(&tool).arg("info").arg(fip))
        .ok_or_else(|| format!("fiptool info {} failed", fip.display()))?;
    let unpacked = images.dir.join("fip-unpacked");
    std::fs::create_dir_all(&unpacked)?;
    let (rmm, bl33, dtb) = (
        unpacked.join("rmm-fw.bin"),
        unpacked.join("nt-fw.bin"),
        unpacked.join("hw-config.dtb"),
    );
    cmd::run(
        Command::new(&tool)
            .args(["unpack", "--force", "--rmm-fw"])
            .arg(&rmm)
            .arg("--nt-fw")
            .arg(&bl33)
            .arg("--hw-config")
            .arg(&dtb)
            .arg(fip),
    )?;
    for (what, option, packed, ours) in [
        ("RMM", "--rmm-fw", &rmm, &images.rmm_bin),
        ("BL33", "--nt-fw", &bl33, &images.host_bin),
    ] {
        let ours_bytes = std::fs::read(ours)?;
        fip_entry_size(&info, option)
            .filter(|&size| size == ours_bytes.len() as u64)
            .ok_or_else(|| {
                format!(
                    "fiptool info lists no {what} ({option}) of {} bytes:\n{info}",
                    ours_bytes.len()
                )
            })?;
        if std::fs::read(packed)? != ours_bytes {
            return Err(format!("the FIP's {what} is not {}", ours.display()).into());
        }
        passed.push(format!("the FIP's {what} is {}", ours.display()));
    }
    let dts = cmd::output(
        Command::new("dtc")
            .args(["-q", "-I", "dtb", "-O", "dts"])
            .arg(&dtb),
    )
    .ok_or_else(|| format!("dtc cannot read the FIP's HW_CONFIG {}", dtb.display()))?;
    let cpus = check_one_thread_per_core(&dts)?;
    passed.push(format!(
        "HW_CONFIG is the one-thread-per-core tree ({FVP_HW_CONFIG_DTS}): {} CPUs, {}",
        cpus.len(),
        cpus.iter()
            .map(|c| format!("cpu@{c:x}"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let linked = image_base(&images.rmm_elf)?;
    let (base, limit) = tfa_rmm_region(&source, images)?;
    if linked != base {
        return Err(format!(
            "the RMM is linked at {linked:#x} but TF-A PLAT=fvp loads it at {base:#x}"
        )
        .into());
    }
    let size = std::fs::metadata(&images.rmm_bin)?.len();
    if size > limit - base {
        return Err(format!(
            "rmm.bin ({size} bytes) exceeds TF-A's RMM region of {} bytes",
            limit - base
        )
        .into());
    }
    passed.push(format!(
        "the RMM is linked at {linked:#x}, where TF-A's BL2 loads it (RMM_BASE, {} KiB region)",
        (limit - base) / 1024
    ));
    Ok(passed)
}

/// TF-A's `RMM_BASE` and `RMM_LIMIT` for `PLAT=fvp` with our flags, as its own compiler
/// command for BL2's image descriptors (`arm_bl2_mem_params_desc.c`, which loads the RMM at
/// `RMM_BASE`) evaluates them: `make -n` prints that command, which compiles a two-line probe
/// instead; the values are read back from the object.
fn tfa_rmm_region(source: &Path, images: &Images) -> Result<(u64, u64)> {
    let scratch = images.dir.join("tfa-probe");
    std::fs::create_dir_all(&scratch)?;
    let mut make = cmd::in_dir("make", source);
    make.args(["-n", "-B", "V=1"])
        .args(make_flags(Platform::Fvp))
        .arg(format!("BUILD_BASE={}", scratch.join("build").display()))
        .arg(format!("RMM={}", images.rmm_bin.display()))
        .arg(format!("BL33={}", images.host_bin.display()))
        .arg("bl2");
    let script = cmd::output(&mut make).ok_or("`make -n bl2` for PLAT=fvp failed")?;
    const SOURCE: &str = "plat/arm/common/aarch64/arm_bl2_mem_params_desc.c";
    let compile = script
        .lines()
        .find(|l| l.contains(&format!(" -c {SOURCE} ")))
        .and_then(|l| l.split(" -Wp,-MD,").next())
        .ok_or_else(|| format!("TF-A's make prints no compiler command for {SOURCE}"))?;
    let probe = scratch.join("probe.c");
    let object = scratch.join("probe.o");
    std::fs::write(
        &probe,
        "#include <platform_def.h>\n\
         __attribute__((section(\".rmm_probe\"), used))\n\
         static const unsigned long long rmm_probe[2] = { RMM_BASE, RMM_LIMIT };\n",
    )?;
    // TF-A's whole compiler command line is long; run it without echoing it.
    let compiled = cmd::in_dir("sh", source)
        .arg("-c")
        .arg(format!(
            "{compile} -c '{}' -o '{}'",
            probe.display(),
            object.display()
        ))
        .output()?;
    if !compiled.status.success() {
        return Err(format!(
            "compiling the RMM_BASE probe with TF-A's flags failed:\n{}",
            String::from_utf8_lossy(&compiled.stderr)
        )
        .into());
    }
    let raw = scratch.join("probe.bin");
    cmd::run(
        Command::new("aarch64-linux-gnu-objcopy")
            .args(["-O", "binary", "--only-section=.rmm_probe"])
            .arg(&object)
            .arg(&raw),
    )?;
    let bytes = std::fs::read(&raw)?;
    let word = |i: usize| -> Option<u64> {
        Some(u64::from_le_bytes(
            bytes.get(8 * i..8 * i + 8)?.try_into().ok()?,
        ))
    };
    match (word(0), word(1)) {
        (Some(base), Some(limit)) if base < limit => Ok((base, limit)),
        _ => Err(format!(
            "cannot read RMM_BASE and RMM_LIMIT from {}",
            object.display()
        )
        .into()),
    }
}

/// The size `fiptool info` gives for the entry packed with `option` (e.g. `--rmm-fw`).
fn fip_entry_size(info: &str, option: &str) -> Option<u64> {
    // `Real Mode Manager (RMM): offset=0x..., size=0x1A000, cmdline="--rmm-fw"`
    let line = info
        .lines()
        .find(|l| l.contains(&format!("cmdline=\"{option}\"")))?;
    let size = line.split("size=0x").nth(1)?.split(',').next()?;
    u64::from_str_radix(size.trim(), 16).ok()
}

/// The unit addresses (MPIDR affinities) of the `cpu@` nodes of a decompiled device tree;
/// an error unless every one has Aff0 = 0, as FVP_Base_RevC-2xAEMvA's CPUs do (the
/// multi-thread tree has `cpu@1`, `cpu@2`...).
fn check_one_thread_per_core(dts: &str) -> std::result::Result<Vec<u64>, String> {
    let cpus: Vec<u64> = dts
        .lines()
        .filter_map(|l| {
            let l = l.trim().strip_suffix('{')?.trim_end();
            // `cpu@100 {`, or with a label (`CPU1:cpu@100 {`).
            let l = l.rsplit([' ', ':']).next()?;
            u64::from_str_radix(l.strip_prefix("cpu@")?, 16).ok()
        })
        .collect();
    if cpus.is_empty() {
        return Err("the FIP's HW_CONFIG has no cpu@ nodes".into());
    }
    if let Some(bad) = cpus.iter().find(|&&mpidr| mpidr & 0xff != 0) {
        return Err(format!(
            "the FIP's HW_CONFIG has cpu@{bad:x} (Aff0 != 0): it is not {FVP_HW_CONFIG_DTS}, \
             so a Linux host would not bring up the FVP's secondary CPUs"
        ));
    }
    Ok(cpus)
}

/// The link address of a bare-metal image: its `__image_start` symbol.
fn image_base(elf: &Path) -> Result<u64> {
    let symbols = cmd::output(Command::new("aarch64-linux-gnu-nm").arg(elf))
        .ok_or_else(|| format!("cannot list the symbols of {}", elf.display()))?;
    symbols
        .lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            let value = words.next()?;
            (words.nth(1)? == "__image_start").then(|| u64::from_str_radix(value, 16).ok())?
        })
        .ok_or_else(|| format!("{} has no __image_start", elf.display()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_thread_per_core_tree_is_told_apart() {
        let one_t = "\tcpus {\n\t\tCPU0:cpu@0 {\n\t\t};\n\t\tCPU1:cpu@100 {\n\t\t};\n\
                     \t\tCPU4:cpu@10000 {\n\t\t};\n\t};\n";
        assert_eq!(
            check_one_thread_per_core(one_t),
            Ok(vec![0, 0x100, 0x10000])
        );
        let plain = "\t\tcpu@0 {\n\t\tcpu@1 {\n\t\tcpu@100 {\n";
        assert!(check_one_thread_per_core(plain).is_err());
        assert!(check_one_thread_per_core("/ { };").is_err());
    }

    #[test]
    fn fip_entry_sizes() {
        let info = "Real Mode Manager (RMM): offset=0x1000, size=0x1A000, cmdline=\"--rmm-fw\"\n\
                    Non-Trusted Firmware BL33: offset=0x2000, size=0x400, cmdline=\"--nt-fw\"\n";
        assert_eq!(fip_entry_size(info, "--rmm-fw"), Some(0x1a000));
        assert_eq!(fip_entry_size(info, "--nt-fw"), Some(0x400));
        assert_eq!(fip_entry_size(info, "--hw-config"), None);
    }

    #[test]
    fn tfa_build_types_and_versions() {
        assert_eq!(build_type(&["DEBUG=1".into()]), "debug");
        assert_eq!(build_type(&["DEBUG=1".into(), "DEBUG=0".into()]), "release");
        assert_eq!(build_type(&[]), "release");
        let dir = std::env::temp_dir().join(format!("xtask-tfa-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("Makefile"),
            "VERSION_MAJOR\t\t\t:= 2\nVERSION_MINOR\t:= 12\n# c\nVERSION_PATCH := 1\n",
        )
        .unwrap();
        assert_eq!(tfa_version(&dir).as_deref(), Some("2.12.1"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
