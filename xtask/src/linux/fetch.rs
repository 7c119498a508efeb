// SPDX-License-Identifier: MIT OR Apache-2.0
//! The guest from Debian's packages: Debian's arm64 kernel (`linux-binary-<v>-arm64` for the
//! `Image`, `linux-modules-<v>-arm64` for the attestation modules) from trixie-backports and
//! `busybox-static` for arm64 from trixie, fetched with `apt-get download` through an apt
//! configuration of the project's own under `target/linux/apt/` (its own sources list, state
//! and cache, `APT::Architecture "arm64"`: the machine's dpkg architectures are not touched),
//! unpacked with `dpkg-deb -x`. The mirror is the machine's own
//! ([`crate::mirror::debian_mirror`]).
//!
//! Version: [`PINNED`] if the archive still has it, else the newest plain `-arm64` flavour
//! (of `linux-binary-`, or, if none, of `linux-image-<v>-arm64`, which holds the `Image` and
//! the modules together). The chosen kernel must request RSI 1.0 ([`requested_rsi_version`]).

use super::image;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The kernel version this VMM was brought up with (it asks for RSI 1.0; `docs/linux-realm.md`).
pub const PINNED: &str = "7.2.12+deb13";
/// The RSI version this RMM implements, as RSI_VERSION's x1 encodes it.
pub const RSI_1_0: u64 = 0x1_0000;

/// The unpacked guest.
#[derive(Debug, Clone)]
pub struct Guest {
    /// Kernel release, e.g. `7.2.12+deb13-arm64`.
    pub release: String,
    /// The raw arm64 `Image` (Debian's `vmlinuz`).
    pub image: PathBuf,
    /// busybox (static, arm64).
    pub busybox: PathBuf,
    /// configfs, tsm_report, arm-cca-guest (`.ko.xz`, in load order).
    pub modules: [PathBuf; 3],
}

fn dir() -> PathBuf {
    crate::paths::target().join("linux")
}

/// Runs apt with the project's own arm64 configuration.
fn apt(program: &str, args: &[&str], cwd: &Path) -> Result<String, String> {
    let conf = dir().join("apt").join("apt.conf");
    let out = Command::new(program)
        .env("APT_CONFIG", &conf)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(args)
        .current_dir(cwd)
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn write_apt_config(mirror: &str) -> Result<(), String> {
    let apt_dir = dir().join("apt");
    for sub in [
        "etc/sources.list.d",
        "etc/preferences.d",
        "lists/partial",
        "cache/archives/partial",
    ] {
        std::fs::create_dir_all(apt_dir.join(sub)).map_err(|e| e.to_string())?;
    }
    let d = apt_dir.display();
    let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
    let sources = format!(
        "# Written by `cargo xtask setup` (the mirror is the machine's own).\n\
         deb [arch=arm64 signed-by={keyring}] {mirror} trixie-backports main\n\
         deb [arch=arm64 signed-by={keyring}] {mirror} trixie main\n"
    );
    let conf = format!(
        "APT::Architecture \"arm64\";\nAPT::Architectures {{ \"arm64\"; }};\n\
         Dir::Etc \"{d}/etc\";\nDir::Etc::SourceList \"{d}/etc/sources.list\";\n\
         Dir::Etc::SourceParts \"{d}/etc/sources.list.d\";\n\
         Dir::Etc::Preferences \"{d}/etc/preferences\";\n\
         Dir::Etc::PreferencesParts \"{d}/etc/preferences.d\";\n\
         Dir::State \"{d}\";\nDir::State::Lists \"{d}/lists\";\n\
         Dir::State::status \"{d}/status\";\nDir::Cache \"{d}/cache\";\n\
         Acquire::Languages \"none\";\n"
    );
    let write = |name: &str, text: &str| {
        std::fs::write(apt_dir.join(name), text).map_err(|e| format!("{name}: {e}"))
    };
    write("etc/sources.list", &sources)?;
    write("apt.conf", &conf)?;
    if !apt_dir.join("status").exists() {
        write("status", "")?;
    }
    Ok(())
}

/// `7.2.12+deb13` → (7, 2, 12).
fn version_key(v: &str) -> (u32, u32, u32) {
    let mut n = v
        .split('+')
        .next()
        .unwrap_or("")
        .split('.')
        .map(|p| p.parse().unwrap_or(0));
    (
        n.next().unwrap_or(0),
        n.next().unwrap_or(0),
        n.next().unwrap_or(0),
    )
}

/// Which package a kernel version comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packaging {
    /// `linux-binary-<v>-arm64` (the `Image`) and `linux-modules-<v>-arm64`.
    Split,
    /// `linux-image-<v>-arm64` alone (the `Image`, possibly compressed, and the modules).
    Image,
}

/// The plain-flavour (not -cloud, -rt, -16k) `+deb13` versions among `names` with `prefix`.
fn versions<'a>(names: &'a [String], prefix: &str) -> Vec<&'a str> {
    names
        .iter()
        .filter_map(|n| n.strip_prefix(prefix)?.strip_suffix("-arm64"))
        .filter(|v| v.ends_with("+deb13") && !v.contains('-'))
        .collect()
}

/// The kernel version to use among the packages the index lists: [`PINNED`] if there,
/// else the newest `linux-binary-<v>-arm64`, else (a kernel shipped only as
/// `linux-image-<v>-arm64`) the newest of those.
pub fn choose_version(names: &[String]) -> Option<(String, Packaging)> {
    let split = versions(names, "linux-binary-");
    let image = versions(names, "linux-image-");
    if split.contains(&PINNED) {
        return Some((PINNED.to_string(), Packaging::Split));
    }
    if image.contains(&PINNED) {
        return Some((PINNED.to_string(), Packaging::Image));
    }
    let newest = |v: Vec<&str>| {
        v.into_iter()
            .max_by_key(|v| version_key(v))
            .map(str::to_string)
    };
    newest(split)
        .map(|v| (v, Packaging::Split))
        .or_else(|| newest(image).map(|v| (v, Packaging::Image)))
}

/// A `linux-image-<v>-arm64` package puts the kernel at `boot/vmlinuz-<release>`, gzip-
/// compressed on arm64: the raw `Image` goes where [`unpacked`] expects it.
fn place_image(root: &Path, release: &str) -> Result<(), String> {
    let want = root.join("usr/lib/modules").join(release).join("vmlinuz");
    if want.is_file() {
        return Ok(());
    }
    let from = root.join("boot").join(format!("vmlinuz-{release}"));
    let bytes = std::fs::read(&from).map_err(|e| format!("{}: {e}", from.display()))?;
    let raw = if bytes.starts_with(&[0x1f, 0x8b]) {
        let out = Command::new("gzip")
            .arg("-dc")
            .arg(&from)
            .output()
            .map_err(|e| format!("cannot run gzip: {e}"))?;
        if !out.status.success() {
            return Err(format!("gzip -dc {} failed", from.display()));
        }
        out.stdout
    } else {
        bytes
    };
    if let Some(parent) = want.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::write(&want, raw).map_err(|e| format!("{}: {e}", want.display()))
}

fn unpacked(release: &str) -> Guest {
    let root = dir().join("root");
    let modules = root.join("usr/lib/modules").join(release);
    Guest {
        release: release.to_string(),
        image: modules.join("vmlinuz"),
        busybox: root.join("usr/bin/busybox"),
        modules: [
            modules.join("kernel/fs/configfs/configfs.ko.xz"),
            modules.join("kernel/drivers/virt/coco/guest/tsm_report.ko.xz"),
            modules.join("kernel/drivers/virt/coco/arm-cca-guest/arm-cca-guest.ko.xz"),
        ],
    }
}

fn complete(g: &Guest) -> bool {
    g.image.is_file() && g.busybox.is_file() && g.modules.iter().all(|m| m.is_file())
}

/// The guest, fetched and unpacked if not done yet. `Err` says why no usable kernel could
/// be had (the caller reports the Linux scenario as skipped with it).
pub fn ensure() -> Result<Guest, String> {
    let stamp = dir().join("release");
    if let Ok(release) = std::fs::read_to_string(&stamp) {
        let g = unpacked(release.trim());
        if complete(&g) {
            return Ok(g);
        }
    }
    let mirror = crate::mirror::debian_mirror()
        .ok_or("no Debian mirror in the machine's apt sources (/etc/apt/sources.list*)")?;
    write_apt_config(&mirror)?;
    let debs = dir().join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| e.to_string())?;
    eprintln!("xtask: fetching the arm64 guest (apt index of trixie-backports and trixie)");
    apt("apt-get", &["update", "-q"], &debs)?;
    let mut names: Vec<String> = Vec::new();
    for prefix in ["linux-binary-", "linux-image-"] {
        names.extend(
            apt("apt-cache", &["pkgnames", prefix], &debs)?
                .lines()
                .map(str::to_string),
        );
    }
    let (version, packaging) = choose_version(&names).ok_or(
        "the archive lists no linux-binary-<version>+deb13-arm64 or \
         linux-image-<version>+deb13-arm64 package",
    )?;
    if version != PINNED {
        eprintln!(
            "xtask: kernel {PINNED} is gone from the archive; using the newest, {version} \
             ({packaging:?} packaging)"
        );
    }
    let release = format!("{version}-arm64");
    for old in std::fs::read_dir(&debs)
        .map_err(|e| e.to_string())?
        .flatten()
    {
        let _ = std::fs::remove_file(old.path());
    }
    let packages = match packaging {
        Packaging::Split => vec![
            format!("linux-binary-{release}"),
            format!("linux-modules-{release}"),
        ],
        Packaging::Image => vec![format!("linux-image-{release}")],
    };
    let mut args = vec!["download", "-q"];
    args.extend(packages.iter().map(String::as_str));
    args.push("busybox-static");
    apt("apt-get", &args, &debs)?;
    let root = dir().join("root");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
    for deb in std::fs::read_dir(&debs)
        .map_err(|e| e.to_string())?
        .flatten()
    {
        let path = deb.path();
        if path.extension().is_some_and(|e| e == "deb") {
            crate::cmd::run(Command::new("dpkg-deb").arg("-x").arg(&path).arg(&root))
                .map_err(|e| e.to_string())?;
        }
    }
    if packaging == Packaging::Image {
        place_image(&root, &release)?;
    }
    let g = unpacked(&release);
    if !complete(&g) {
        return Err(format!(
            "the packages for {release} lack the Image, busybox or an attestation module"
        ));
    }
    std::fs::write(&stamp, &release).map_err(|e| e.to_string())?;
    Ok(g)
}

/// Checks the guest is usable: the `Image` header, and the RSI version it requests.
pub fn check(g: &Guest) -> Result<image::Header, String> {
    let bytes = std::fs::read(&g.image).map_err(|e| format!("{}: {e}", g.image.display()))?;
    let header = image::Header::parse(&bytes)?;
    match requested_rsi_version(&bytes) {
        Ok(RSI_1_0) => Ok(header),
        Ok(v) => Err(format!(
            "kernel {} requests RSI {}.{} (RSI_VERSION with x1 = {v:#x}); this RMM implements \
             RSI 1.0 only",
            g.release,
            v >> 16,
            v & 0xFFFF
        )),
        Err(RsiScan::NotFound) => Err(format!(
            "kernel {}: no RSI_VERSION call found in its Image (arm64_rsi_init's \
             `mov x0, #0x190; movk x0, #0xc400, lsl #16` ... `mov x1, #imm`)",
            g.release
        )),
        Err(RsiScan::Ambiguous(calls)) => Err(format!(
            "kernel {}: the RSI_VERSION pattern matches {} times in its Image ({}), so which \
             version arm64_rsi_init requests is ambiguous; look at the disassembly and teach \
             `requested_rsi_version` the new code",
            g.release,
            calls.len(),
            calls
                .iter()
                .map(|(at, v)| format!("at byte {at:#x}: x1 = {v:#x}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Why [`requested_rsi_version`] found no single version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RsiScan {
    /// No RSI_VERSION call with an immediate x1.
    NotFound,
    /// More than one: each one's byte offset in the `Image` and its x1.
    Ambiguous(Vec<(usize, u64)>),
}

/// The RSI version a kernel `Image` requests: in `arm64_rsi_init`, x0 is built as
/// 0xC400_0190 (RSI_VERSION) with `movz x0, #0x190` and `movk x0, #0xc400, lsl #16`, then x1
/// is set with a `movz` before the `bl` to the SMC helper. Returns that x1 if exactly one
/// such call exists.
pub fn requested_rsi_version(image: &[u8]) -> Result<u64, RsiScan> {
    const MOVZ_X0_190: u32 = 0xD280_3200;
    const MOVK_X0_C400_16: u32 = 0xF2B8_8000;
    let words: Vec<u32> = image
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut found = Vec::new();
    for (i, &w) in words.iter().enumerate() {
        if w != MOVZ_X0_190 || !words[i + 1..].iter().take(4).any(|&k| k == MOVK_X0_C400_16) {
            continue;
        }
        let mut x1 = None;
        for &insn in words[i + 1..].iter().take(24) {
            // BL: the call.
            if insn & 0xFC00_0000 == 0x9400_0000 {
                break;
            }
            // MOVZ (64-bit) to x1: imm16 << (hw * 16).
            if insn & 0xFF80_001F == 0xD280_0001 {
                let imm = u64::from((insn >> 5) & 0xFFFF);
                let hw = (insn >> 21) & 3;
                x1 = Some(imm << (16 * hw));
            }
        }
        if let Some(v) = x1 {
            found.push((i * 4, v));
        }
    }
    match found[..] {
        [] => Err(RsiScan::NotFound),
        [(_, v)] => Ok(v),
        _ => Err(RsiScan::Ambiguous(found)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_requested_rsi_version() {
        // The 7.2.12 sequence (see the reference, §2.3).
        let seq: [u32; 12] = [
            0xd2803200, 0xa902ffff, 0xf2b88000, 0xd2800002, 0xa9017e7f, 0xd2800005, 0xd2800007,
            0xd2800006, 0xd2800004, 0xd2800003, 0xd2a00021, 0x976ac1c8,
        ];
        let bytes: Vec<u8> = seq.iter().flat_map(|w| w.to_le_bytes()).collect();
        assert_eq!(requested_rsi_version(&bytes), Ok(RSI_1_0));
        // RSI 1.1 would be movz x1, #0x1, lsl #16 then movk...; a 2.0 request:
        let mut v2 = seq;
        v2[10] = 0xd2a00041;
        let bytes: Vec<u8> = v2.iter().flat_map(|w| w.to_le_bytes()).collect();
        assert_eq!(requested_rsi_version(&bytes), Ok(0x2_0000));
        assert_eq!(requested_rsi_version(&[0; 64]), Err(RsiScan::NotFound));
        // The pattern twice: ambiguous, with where and what each one asks for.
        let twice: Vec<u8> = seq
            .iter()
            .chain(v2.iter())
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert_eq!(
            requested_rsi_version(&twice),
            Err(RsiScan::Ambiguous(vec![(0, RSI_1_0), (48, 0x2_0000)]))
        );
    }

    #[test]
    fn chooses_the_pinned_version_or_the_newest() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let all = names(&[
            "linux-binary-7.0.10+deb13-arm64",
            "linux-binary-7.2.12+deb13-arm64",
            "linux-binary-7.3.4+deb13-cloud-arm64",
            "linux-binary-7.3.4+deb13-arm64",
        ]);
        assert_eq!(
            choose_version(&all),
            Some((PINNED.to_string(), Packaging::Split))
        );
        let later = names(&[
            "linux-binary-7.10.1+deb13-arm64",
            "linux-binary-7.9.4+deb13-arm64",
            "linux-binary-7.11.0+deb13-rt-arm64",
        ]);
        assert_eq!(
            choose_version(&later),
            Some(("7.10.1+deb13".to_string(), Packaging::Split))
        );
        assert_eq!(choose_version(&[]), None);
        // A kernel shipped only as linux-image-<v>-arm64 (no linux-binary- package).
        let image_only = names(&[
            "linux-image-7.12.3+deb13-arm64",
            "linux-image-7.13.1+deb13-arm64",
            "linux-image-7.13.1+deb13-rt-arm64",
            "linux-image-7.13.1+deb13-arm64-unsigned",
            "linux-image-arm64",
        ]);
        assert_eq!(
            choose_version(&image_only),
            Some(("7.13.1+deb13".to_string(), Packaging::Image))
        );
        // The pinned version wins in either packaging; linux-binary- wins over linux-image-.
        let pinned_image = names(&[
            "linux-image-7.2.12+deb13-arm64",
            "linux-binary-7.3.1+deb13-arm64",
        ]);
        assert_eq!(
            choose_version(&pinned_image),
            Some((PINNED.to_string(), Packaging::Image))
        );
        let both = names(&[
            "linux-image-7.9.1+deb13-arm64",
            "linux-binary-7.8.1+deb13-arm64",
        ]);
        assert_eq!(
            choose_version(&both),
            Some(("7.8.1+deb13".to_string(), Packaging::Split))
        );
    }
}
