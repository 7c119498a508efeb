//! `cargo xtask setup`: installs what the build and the QEMU runs need, idempotently.
//!
//! 1. apt sources for bookworm-backports and trixie deb-src (`scripts/debian-extra.sources`);
//! 2. packages: QEMU from backports (FEAT_RME needs QEMU >= 9), the aarch64 cross binutils and
//!    gcc (TF-A, `objcopy`), make, host gcc and libssl-dev (TF-A's tools), device-tree-compiler
//!    (TF-A `PLAT=fvp`), dpkg-dev (`apt-get source`);
//! 3. the TF-A source via `apt-get source arm-trusted-firmware` into `target/tf-a/`, checked
//!    to be 2.12.x;
//! 4. `rustup target add aarch64-unknown-none-softfloat`.
//!
//! Each step is skipped when its result is already there, so a second run does nothing.

use crate::cmd::{self, Result};
use crate::paths;
use std::path::PathBuf;
use std::process::Command;

const SOURCES_FILE: &str = "/etc/apt/sources.list.d/rmm-project.sources";
const SOURCES: &str = include_str!("../../scripts/debian-extra.sources");
const PACKAGES: &[&str] = &[
    "gcc-aarch64-linux-gnu",
    "binutils-aarch64-linux-gnu",
    "make",
    "gcc",
    "libssl-dev",
    "device-tree-compiler",
    "dpkg-dev",
    "xz-utils",
];
const TOOLS: &[&str] = &[
    "aarch64-linux-gnu-gcc",
    "aarch64-linux-gnu-objcopy",
    "aarch64-linux-gnu-size",
    "make",
    "gcc",
    "dtc",
    "dpkg-source",
];
/// The TF-A release line this RMM is built and tested against.
pub const TFA_VERSION_PREFIX: &str = "2.12.";

/// Runs every set-up step.
pub fn run() -> Result {
    let sources_changed = ensure_apt_sources()?;
    ensure_packages(sources_changed)?;
    tfa_source()?;
    ensure_rust_target()
}

/// Prefixes `sudo` when not root (CI runs as root; `sudo` may not exist there).
fn privileged(program: &str) -> Command {
    let is_root = cmd::output(Command::new("id").arg("-u")).is_some_and(|id| id.trim() == "0");
    if is_root {
        Command::new(program)
    } else {
        let mut command = Command::new("sudo");
        command.arg(program);
        command
    }
}

fn ensure_apt_sources() -> Result<bool> {
    if std::fs::read_to_string(SOURCES_FILE).is_ok_and(|s| s == SOURCES) {
        return Ok(false);
    }
    eprintln!("xtask: writing {SOURCES_FILE}");
    let tmp = paths::target().join("rmm-project.sources");
    std::fs::create_dir_all(paths::target())?;
    std::fs::write(&tmp, SOURCES)?;
    cmd::run(
        privileged("install")
            .arg("-m")
            .arg("0644")
            .arg(&tmp)
            .arg(SOURCES_FILE),
    )?;
    Ok(true)
}

fn qemu_is_new_enough() -> bool {
    let Some(version) = cmd::output(Command::new("qemu-system-aarch64").arg("--version")) else {
        return false;
    };
    // "QEMU emulator version 10.0.2 (Debian ...)"
    version
        .split_whitespace()
        .nth(3)
        .and_then(|v| v.split('.').next())
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|major| major >= 9)
}

fn ensure_packages(sources_changed: bool) -> Result {
    let have_tools = TOOLS.iter().all(|t| cmd::have(t));
    let have_ssl = std::path::Path::new("/usr/include/openssl/sha.h").exists();
    let have_qemu = qemu_is_new_enough();
    if have_tools && have_ssl && have_qemu && !sources_changed {
        return Ok(());
    }
    let apt = |args: &[&str]| -> Result {
        let mut command = privileged("apt-get");
        command.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        cmd::run(&mut command)
    };
    apt(&["update", "-q"])?;
    if !have_qemu {
        apt(&[
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "-t",
            "bookworm-backports",
            "qemu-system-arm",
        ])?;
    }
    if !have_tools || !have_ssl {
        let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
        args.extend_from_slice(PACKAGES);
        apt(&args)?;
    }
    if !qemu_is_new_enough() {
        return Err("qemu-system-aarch64 >= 9 (from bookworm-backports) is still missing".into());
    }
    Ok(())
}

/// The unpacked TF-A source, fetching it with `apt-get source` if needed. Fails clearly if the
/// archive now has a TF-A other than 2.12.x.
pub fn tfa_source() -> Result<PathBuf> {
    let parent = paths::tfa_source_parent();
    if let Some(dir) = find_tfa_source()? {
        return Ok(dir);
    }
    std::fs::create_dir_all(&parent)?;
    cmd::run(cmd::in_dir("apt-get", &parent).args(["source", "-q", "arm-trusted-firmware"]))?;
    find_tfa_source()?.ok_or_else(|| {
        format!(
            "apt-get source arm-trusted-firmware unpacked nothing usable in {}",
            parent.display()
        )
        .into()
    })
}

fn find_tfa_source() -> Result<Option<PathBuf>> {
    let parent = paths::tfa_source_parent();
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return Ok(None);
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(version) = name.strip_prefix("arm-trusted-firmware-") else {
            continue;
        };
        if !entry.path().join("Makefile").is_file() {
            continue;
        }
        if !version.starts_with(TFA_VERSION_PREFIX) {
            return Err(format!(
                "TF-A source {name} is not {TFA_VERSION_PREFIX}x; this RMM speaks RMM-EL3 \
                 interface 0.x as TF-A 2.12 does. Remove {} to fetch again.",
                entry.path().display()
            )
            .into());
        }
        return Ok(Some(entry.path()));
    }
    Ok(None)
}

fn ensure_rust_target() -> Result {
    let installed = cmd::output(Command::new("rustup").args(["target", "list", "--installed"]))
        .unwrap_or_default();
    if installed
        .lines()
        .any(|t| t.trim() == paths::FIRMWARE_TARGET)
    {
        return Ok(());
    }
    cmd::run(Command::new("rustup").args(["target", "add", paths::FIRMWARE_TARGET])).map_err(|e| {
        format!(
            "cannot install the Rust target {}: {e}",
            paths::FIRMWARE_TARGET
        )
        .into()
    })
}
