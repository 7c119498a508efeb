// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask setup`: installs what the build and the QEMU runs need, idempotently.
//!
//! Supported: Debian 12 (bookworm) on x86_64 (the only host tested), as root or with `sudo`. On any other
//! system the apt steps are skipped with a message saying so, and setup only checks that the
//! tools are there (see the README for the list).
//!
//! 1. apt sources for bookworm-backports and trixie deb-src (`scripts/debian-extra.sources`,
//!    on the Debian mirror the machine's own apt sources already use for bookworm);
//! 2. packages: QEMU from backports (FEAT_RME needs QEMU >= 9), the aarch64 cross binutils and
//!    gcc (TF-A, `objcopy`), make, host gcc and libssl-dev (TF-A's tools), device-tree-compiler
//!    (TF-A `PLAT=fvp`), dpkg-dev (`apt-get source`), python3-venv (Shrinkwrap's virtualenv);
//! 3. the TF-A source via `apt-get source arm-trusted-firmware` into `target/tf-a/`, checked
//!    to be 2.12.x;
//! 4. `rustup target add aarch64-unknown-none-softfloat aarch64-unknown-none` (the second
//!    for the message benchmark's hard-float realm);
//! 5. the Linux realm's guest from Debian's arm64 packages (`linux/fetch.rs`; a failure there
//!    only makes `cargo xtask test` skip the Linux scenario).
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
    // Shrinkwrap, in a virtualenv (`cargo xtask test` checks the Shrinkwrap overlay).
    "python3-venv",
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
    let os = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    match supported_os(&os) {
        Ok(()) => {
            let sources_changed = ensure_apt_sources()?;
            ensure_packages(sources_changed)?;
        }
        Err(why) => check_tools_without_apt(&why)?,
    }
    // With `--tfa-dir` the user's tree is built and Debian's source package is not needed.
    if !crate::tfa::has_own_tree() {
        tfa_source()?;
    }
    ensure_rust_target()?;
    crate::linux::setup_guest();
    Ok(())
}

/// `Ok` on Debian bookworm (what setup installs for), otherwise why not, from the text of
/// `/etc/os-release`.
pub fn supported_os(os_release: &str) -> std::result::Result<(), String> {
    let field = |key: &str| {
        os_release.lines().find_map(|line| {
            line.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix('='))
                .map(|value| value.trim_matches('"').to_string())
        })
    };
    let id = field("ID").unwrap_or_default();
    let codename = field("VERSION_CODENAME").unwrap_or_default();
    if id == "debian" && codename == "bookworm" {
        return Ok(());
    }
    let name = field("PRETTY_NAME").unwrap_or_else(|| "an unknown system".into());
    Err(format!(
        "this machine runs {name}; `cargo xtask setup` installs packages only on Debian 12 \
         (bookworm)"
    ))
}

/// Outside bookworm: install nothing, but say what is missing.
fn check_tools_without_apt(why: &str) -> Result {
    eprintln!("xtask: warning: {why}. Skipping the apt steps; checking the tools instead.");
    let mut missing: Vec<String> = TOOLS
        .iter()
        // `dpkg-source` only unpacks Debian's TF-A source, which `--tfa-dir` replaces.
        .filter(|t| !(**t == "dpkg-source" && crate::tfa::has_own_tree()))
        .filter(|t| !cmd::have(t))
        .map(|t| t.to_string())
        .collect();
    if !qemu_is_new_enough() {
        missing.push("qemu-system-aarch64 >= 9 (FEAT_RME: -cpu max,x-rme=on)".into());
    }
    if !std::path::Path::new("/usr/include/openssl/sha.h").exists() {
        missing.push("OpenSSL headers (libssl-dev)".into());
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "missing on this unsupported system: {}. Install them by hand (README, \
         \"Requirements\"), and put a TF-A 2.12 source tree in {} or pass --tfa-dir.",
        missing.join(", "),
        paths::tfa_source_parent().display()
    )
    .into())
}

/// The URI of the Debian archive that this machine's apt sources use for bookworm's main
/// component (deb822 `.sources` files and one-line `sources.list` files both count).
pub fn debian_mirror(sources: &[String]) -> Option<String> {
    for text in sources {
        // deb822: stanzas separated by blank lines.
        for stanza in text.split("\n\n") {
            let field = |key: &str| {
                stanza.lines().find_map(|line| {
                    let (k, v) = line.split_once(':')?;
                    (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().to_string())
                })
            };
            let (Some(uris), Some(suites)) = (field("URIs"), field("Suites")) else {
                continue;
            };
            let types = field("Types").unwrap_or_default();
            let components = field("Components").unwrap_or_default();
            if types.split_whitespace().any(|t| t == "deb")
                && suites.split_whitespace().any(|s| s == "bookworm")
                && components.split_whitespace().any(|c| c == "main")
                && let Some(uri) = uris.split_whitespace().next()
            {
                return Some(uri.to_string());
            }
        }
        // One-line format: `deb [options] URI suite components...`.
        for line in text.lines() {
            let mut words = line.split_whitespace().peekable();
            if words.next() != Some("deb") {
                continue;
            }
            if words.peek().is_some_and(|w| w.starts_with('[')) {
                for w in words.by_ref() {
                    if w.ends_with(']') {
                        break;
                    }
                }
            }
            let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
                continue;
            };
            if suite == "bookworm" && words.any(|c| c == "main") {
                return Some(uri.to_string());
            }
        }
    }
    None
}

/// The apt sources this machine has, except the file setup writes itself.
fn machine_apt_sources() -> Vec<String> {
    let mut texts: Vec<String> = std::fs::read_to_string("/etc/apt/sources.list")
        .into_iter()
        .collect();
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files {
            let name = file.to_string_lossy();
            if file.as_os_str() != SOURCES_FILE
                && (name.ends_with(".sources") || name.ends_with(".list"))
            {
                texts.extend(std::fs::read_to_string(&file).ok());
            }
        }
    }
    texts
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
    let mirror = debian_mirror(&machine_apt_sources()).ok_or(
        "cannot find the Debian mirror for bookworm (main) in /etc/apt/sources.list or \
         /etc/apt/sources.list.d/",
    )?;
    let sources = SOURCES.replace("@MIRROR@", &mirror);
    if std::fs::read_to_string(SOURCES_FILE).is_ok_and(|s| s == sources) {
        return Ok(false);
    }
    eprintln!("xtask: writing {SOURCES_FILE} (mirror {mirror})");
    let tmp = paths::target().join("rmm-project.sources");
    std::fs::create_dir_all(paths::target())?;
    std::fs::write(&tmp, sources)?;
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
    let have_libs = std::path::Path::new("/usr/include/openssl/sha.h").exists()
        && cmd::output(Command::new("python3").args(["-c", "import ensurepip"])).is_some();
    let have_qemu = qemu_is_new_enough();
    if have_tools && have_libs && have_qemu && !sources_changed {
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
    if !have_tools || !have_libs {
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
    for target in [paths::FIRMWARE_TARGET, paths::MSG_REALM_TARGET] {
        if installed.lines().any(|t| t.trim() == target) {
            continue;
        }
        cmd::run(Command::new("rustup").args(["target", "add", target]))
            .map_err(|e| format!("cannot install the Rust target {target}: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{debian_mirror, supported_os};

    #[test]
    fn only_bookworm_is_supported() {
        let bookworm = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n\
                        VERSION_CODENAME=bookworm\n";
        assert_eq!(supported_os(bookworm), Ok(()));
        let trixie = bookworm.replace("=bookworm", "=trixie");
        assert!(supported_os(&trixie).is_err());
        let ubuntu = "PRETTY_NAME=\"Ubuntu 24.04\"\nID=ubuntu\nVERSION_CODENAME=bookworm\n";
        assert!(supported_os(ubuntu).unwrap_err().contains("Ubuntu 24.04"));
        assert!(supported_os("").is_err());
    }

    #[test]
    fn mirror_comes_from_the_machine_sources() {
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm \
                      bookworm-updates\nComponents: main\n\n\
                      Types: deb\nURIs: http://mirror.example/debian-security\n\
                      Suites: bookworm-security\nComponents: main\n";
        assert_eq!(
            debian_mirror(&[deb822.into()]).as_deref(),
            Some("http://mirror.example/debian")
        );
        let one_line = "# comment\ndeb-src http://src.example/debian bookworm main\n\
                        deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main contrib\n";
        assert_eq!(
            debian_mirror(&[one_line.into()]).as_deref(),
            Some("http://one.example/debian")
        );
        let other = "deb http://x.example/debian trixie main\n";
        assert_eq!(debian_mirror(&[other.into()]), None);
    }
}
