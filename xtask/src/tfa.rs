//! TF-A from Debian's source package: built once per platform, then reused.
//!
//! The first build runs `make ... RMM=<rmm.bin> BL33=<host.bin> all fip`. Later builds only
//! swap our two images into a copy of the FIP with `fiptool update` (and, for QEMU, write BL1
//! followed by the FIP at 256 KiB, as TF-A's `qemu_fw.bios` rule does). A stamp file records
//! the TF-A source and make flags; changing either rebuilds TF-A.

use crate::cmd::{self, Result};
use crate::images::{self, Flavour, Images, Platform};
use crate::{paths, setup};
use std::path::{Path, PathBuf};
use std::process::Command;

/// QEMU flash layout: the FIP starts at this offset of `qemu_fw.bios`.
const QEMU_FIP_OFFSET: usize = 0x40000;

fn make_flags(platform: Platform) -> Vec<String> {
    let mut flags = vec![
        "CROSS_COMPILE=aarch64-linux-gnu-".to_string(),
        format!("PLAT={}", platform.name()),
        "ENABLE_RME=1".into(),
        "BUILD_MESSAGE_TIMESTAMP=\"reproducible\"".into(),
    ];
    if platform == Platform::Qemu {
        flags.push("QEMU_USE_GIC_DRIVER=QEMU_GICV3".into());
    }
    flags
}

/// Builds (or reuses) TF-A for `platform`; returns `(bl1.bin, fip.bin)` with our images in
/// the FIP, both next to our images.
fn bl1_and_fip(platform: Platform, images: &Images) -> Result<(PathBuf, PathBuf)> {
    let source = setup::tfa_source()?;
    let build_base = paths::tfa_build(platform.name());
    let plat_dir = build_base.join(platform.name()).join("release");
    let flags = make_flags(platform);
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

/// `cargo xtask fvp`: the FVP RMM and hypervisor, TF-A `PLAT=fvp ENABLE_RME=1`, and how to
/// launch them.
pub fn build_fvp() -> Result {
    let images = images::build(Platform::Fvp, Flavour::Release)?;
    let (bl1, fip) = bl1_and_fip(Platform::Fvp, &images)?;
    println!("FVP images:");
    for path in [&images.rmm_bin, &images.host_bin, &bl1, &fip] {
        println!(
            "  {} ({} bytes)",
            path.display(),
            std::fs::metadata(path)?.len()
        );
    }
    println!(
        "Launch (FVP_Base_RevC-2xAEMvA on PATH, or pass its path):\n  {}/scripts/run-fvp.sh\n\
         Consoles: terminal_0 = TF-A and the NS test hypervisor, terminal_3 = the RMM.",
        paths::root().display()
    );
    Ok(())
}
