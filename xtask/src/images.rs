//! Building the bare-metal images: the RMM and the NS test hypervisor, as ELF and flat binary.

use crate::cmd::{self, Result};
use crate::paths::{self, FIRMWARE_TARGET};
use crate::tfa;
use std::path::PathBuf;
use std::process::Command;

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
}

/// Builds the RMM and test hypervisor for `platform` (release, soft-float target).
pub fn build(platform: Platform) -> Result<Images> {
    let name = platform.name();
    // Separate target dirs keep the two feature sets of the hypervisor from rebuilding
    // each other.
    let target_dir = paths::target().join(format!("firmware-{name}"));
    let mut cargo = cmd::cargo();
    cargo
        .current_dir(paths::root())
        .args(["build", "--release", "--target", FIRMWARE_TARGET])
        .args(["-p", &format!("rmm-{name}"), "-p", "ns-test-host"])
        .arg("--target-dir")
        .arg(&target_dir);
    if platform == Platform::Fvp {
        cargo.args(["--features", "ns-test-host/fvp"]);
    }
    cmd::run(&mut cargo)?;

    let out = paths::images(name);
    std::fs::create_dir_all(&out)?;
    let built = target_dir.join(FIRMWARE_TARGET).join("release");
    let images = Images {
        rmm_elf: out.join("rmm.elf"),
        rmm_bin: out.join("rmm.bin"),
        host_elf: out.join("host.elf"),
        host_bin: out.join("host.bin"),
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

/// Everything QEMU needs to boot: our images inside TF-A's BL1 + FIP flash image.
pub struct QemuBoot {
    /// Our images.
    pub images: Images,
    /// `qemu_fw.bios` for `-bios`.
    pub bios: PathBuf,
}

/// Builds our images for QEMU and packs them with TF-A.
pub fn build_qemu_boot() -> Result<QemuBoot> {
    let images = build(Platform::Qemu)?;
    let bios = tfa::qemu_bios(&images)?;
    eprintln!("xtask: QEMU firmware ready: {}", bios.display());
    Ok(QemuBoot { images, bios })
}
