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

/// Which RMM build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// What users flash.
    Release,
    /// Release plus the test-only `fault-injection` RMI id (end-to-end fault test only).
    FaultInjection,
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
    /// The directory holding all of the above (and TF-A's images built from them).
    pub dir: PathBuf,
}

/// Builds the RMM and test hypervisor for `platform` (release, soft-float target).
pub fn build(platform: Platform, flavour: Flavour) -> Result<Images> {
    let name = platform.name();
    let dir_name = match flavour {
        Flavour::Release => name.to_string(),
        Flavour::FaultInjection => format!("{name}-fault-injection"),
    };
    // Separate target dirs keep the feature sets from rebuilding each other.
    let target_dir = paths::target().join(format!("firmware-{dir_name}"));
    let out = paths::images(&dir_name);
    std::fs::create_dir_all(&out)?;
    let built = target_dir.join(FIRMWARE_TARGET).join("release");

    // The test realm first: the hypervisor embeds its flat binary.
    cmd::run(
        cmd::cargo()
            .current_dir(paths::root())
            .args(["build", "--release", "--target", FIRMWARE_TARGET])
            .args(["-p", "realm-payload", "--target-dir"])
            .arg(&target_dir),
    )?;
    let realm_elf = out.join("realm.elf");
    let realm_bin = out.join("realm.bin");
    std::fs::copy(built.join("realm-payload"), &realm_elf)?;
    cmd::run(
        Command::new("aarch64-linux-gnu-objcopy")
            .args(["-O", "binary"])
            .arg(&realm_elf)
            .arg(&realm_bin),
    )?;

    let mut cargo = cmd::cargo();
    cargo.env("REALM_IMAGE", &realm_bin);
    cargo
        .current_dir(paths::root())
        .args(["build", "--release", "--target", FIRMWARE_TARGET])
        .args(["-p", &format!("rmm-{name}"), "-p", "ns-test-host"])
        .arg("--target-dir")
        .arg(&target_dir);
    if platform == Platform::Fvp {
        cargo.args(["--features", "ns-test-host/fvp"]);
    }
    if flavour == Flavour::FaultInjection {
        cargo.args(["--features", &format!("rmm-{name}/fault-injection")]);
    }
    cmd::run(&mut cargo)?;

    let images = Images {
        rmm_elf: out.join("rmm.elf"),
        rmm_bin: out.join("rmm.bin"),
        host_elf: out.join("host.elf"),
        host_bin: out.join("host.bin"),
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

/// Fails if the RMM image uses any FP/SIMD register: the RMM runs between two worlds' FP
/// state and must never touch it (the soft-float target guarantees this; this catches a
/// target or flag change).
pub fn check_no_fp_simd(elf: &std::path::Path) -> Result {
    let listing = cmd::output(Command::new("aarch64-linux-gnu-objdump").arg("-d").arg(elf))
        .ok_or_else(|| format!("cannot disassemble {}", elf.display()))?;
    let offending: Vec<&str> = listing
        .lines()
        .filter(|line| {
            // "  addr:\tencoding \tmnemonic\toperands"
            let asm = line.splitn(3, '\t').nth(2).unwrap_or("");
            uses_fp_simd(asm)
        })
        .take(5)
        .collect();
    if offending.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} uses FP/SIMD registers:\n{}",
            elf.display(),
            offending.join("\n")
        )
        .into())
    }
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

#[cfg(test)]
mod tests {
    use super::uses_fp_simd;

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
