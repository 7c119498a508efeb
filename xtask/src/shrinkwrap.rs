// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask shrinkwrap` (and a step of `test`): the Shrinkwrap overlays in `shrinkwrap/`
//! checked by Shrinkwrap itself, without an FVP, a container or a network.
//!
//! Shrinkwrap (PyPI `shrinkwraptool`, pinned below) is installed once into a virtualenv under
//! `target/`, from pip's configured index. `shrinkwrap -R null build cca-3world.yaml --overlay
//! shrinkwrap/rust-rmm.yaml --dry-run` merges the layers, resolves every macro and prints the
//! script a real build would run; the checks read that script: TF-RMM is not fetched, our
//! stand-in CMake project copies our image, TF-A is v2.12.1 with `ENABLE_RME=1` and packs that
//! image as the RMM. The same checks must fail on the plain `cca-3world.yaml`, so they are known
//! to look at the right lines. With `shrinkwrap/rmm1-host.yaml` added, the script must also
//! check out the RMM 1.0 Linux host, kvmtool and kvm-unit-tests branches (and must not without
//! it).

use crate::cmd::{self, Result};
use crate::paths;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Shrinkwrap release the overlay is written and checked against.
pub const SHRINKWRAP_VERSION: &str = "2026.9.2";
/// The overlay, relative to the workspace root.
pub const OVERLAY: &str = "shrinkwrap/rust-rmm.yaml";
/// The overlay that pins a Linux/KVM host, kvmtool and kvm-unit-tests speaking RMM 1.0.
pub const HOST_OVERLAY: &str = "shrinkwrap/rmm1-host.yaml";
/// The Shrinkwrap configuration they overlay.
pub const CONFIG: &str = "cca-3world.yaml";
/// Our own Shrinkwrap configuration: TF-A-Tests' realm tests as the host (used with `OVERLAY`).
pub const TFTF_CONFIG: &str = "shrinkwrap/rust-rmm-tftf.yaml";
/// The revisions `HOST_OVERLAY` pins: (component, git revision).
const RMM1_HOST: [(&str, &str); 3] = [
    ("the Linux host", "cca-host/v10"),
    ("kvmtool", "cca/v8"),
    ("kvm-unit-tests", "cca/v3"),
];

/// Installs Shrinkwrap if needed, then checks the overlay.
pub fn check() -> Result {
    let shrinkwrap = install()?;
    let root = paths::root();
    let build = work().join("build");
    let with_overlay = dry_run(&shrinkwrap, CONFIG, &[root.join(OVERLAY)])?;
    let passed = check_script(&with_overlay, &root, &build, "cca-3world").map_err(|problems| {
        format!(
            "Shrinkwrap's dry run of {CONFIG} with {OVERLAY}:\n  {}",
            problems.join("\n  ")
        )
    })?;
    let plain = dry_run(&shrinkwrap, CONFIG, &[])?;
    if check_script(&plain, &root, &build, "cca-3world").is_ok() {
        return Err(format!(
            "the overlay checks also pass on plain {CONFIG}: they no longer test anything"
        )
        .into());
    }
    if check_host(&with_overlay).is_ok() {
        return Err(format!(
            "the RMM 1.0 host checks pass without {HOST_OVERLAY}: they no longer test anything"
        )
        .into());
    }
    let both = dry_run(
        &shrinkwrap,
        CONFIG,
        &[root.join(OVERLAY), root.join(HOST_OVERLAY)],
    )?;
    let host_passed = check_script(&both, &root, &build, "cca-3world")
        .and_then(|_| check_host(&both))
        .map_err(|problems| {
            format!(
                "Shrinkwrap's dry run of {CONFIG} with {OVERLAY} and {HOST_OVERLAY}:\n  {}",
                problems.join("\n  ")
            )
        })?;
    let tftf_config = root.join(TFTF_CONFIG).display().to_string();
    let tftf = dry_run(&shrinkwrap, &tftf_config, &[root.join(OVERLAY)])?;
    let tftf_passed = check_script(&tftf, &root, &build, "rust-rmm-tftf")
        .and_then(|_| check_tftf(&tftf, &build))
        .map_err(|problems| {
            format!(
                "Shrinkwrap's dry run of {TFTF_CONFIG} with {OVERLAY}:\n  {}",
                problems.join("\n  ")
            )
        })?;
    if check_tftf(&both, &build).is_ok() {
        return Err(
            "the TF-A-Tests checks pass on cca-3world: they no longer test anything".into(),
        );
    }
    for line in passed.iter().chain(&host_passed).chain(&tftf_passed) {
        println!("xtask: shrinkwrap: {line}");
    }
    Ok(())
}

/// Shrinkwrap's build and package directories live under here.
fn work() -> PathBuf {
    paths::target().join("shrinkwrap")
}

/// The `shrinkwrap` program in `target/shrinkwrap-venv`, installed on first use.
fn install() -> Result<PathBuf> {
    let venv = paths::target().join("shrinkwrap-venv");
    let program = venv.join("bin").join("shrinkwrap");
    let installed = cmd::output(Command::new(&program).arg("--version"))
        .is_some_and(|v| v.split_whitespace().last() == Some(SHRINKWRAP_VERSION));
    if installed {
        return Ok(program);
    }
    cmd::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))
        .map_err(|e| format!("{e} (on Debian: apt-get install python3-venv)"))?;
    cmd::run(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("shrinkwraptool=={SHRINKWRAP_VERSION}")),
    )?;
    Ok(program)
}

/// The script `shrinkwrap build --dry-run` prints for `config` with these overlays.
fn dry_run(shrinkwrap: &Path, config: &str, overlays: &[PathBuf]) -> Result<String> {
    let work = work();
    let mut command = Command::new(shrinkwrap);
    command
        .env("SHRINKWRAP_BUILD", work.join("build"))
        .env("SHRINKWRAP_PACKAGE", work.join("package"))
        .args(["--runtime", "null", "build", config, "--dry-run"]);
    for overlay in overlays {
        command.arg("--overlay").arg(overlay);
    }
    if !overlays.is_empty() {
        command
            .arg("--btvar")
            .arg(format!("RUST_RMM={}", paths::root().display()));
    }
    eprintln!("xtask: $ {}", cmd::describe(&command));
    let out = command
        .output()
        .map_err(|e| format!("cannot start {}: {e}", shrinkwrap.display()))?;
    if !out.status.success() {
        return Err(format!(
            "shrinkwrap dry run failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What the dry-run script must show for the overlay to do its job; the lines that passed, or
/// every problem. `build` is `SHRINKWRAP_BUILD`, `config` the configuration's name.
fn check_script(
    script: &str,
    root: &Path,
    build: &Path,
    config: &str,
) -> std::result::Result<Vec<String>, Vec<String>> {
    let mut passed = Vec::new();
    let mut problems = Vec::new();
    let mut expect = |ok: bool, what: &str| {
        if ok {
            passed.push(what.to_string());
        } else {
            problems.push(format!("not true: {what}"));
        }
    };
    let lines: Vec<&str> = script.lines().map(str::trim).collect();
    expect(
        !lines
            .iter()
            .any(|l| l.contains("git clone") && l.to_ascii_lowercase().contains("tf-rmm")),
        "TF-RMM is not fetched",
    );
    let shim = root.join("shrinkwrap/tf-rmm-shim");
    let images = root.join("target/images/fvp");
    let shim_build = lines.windows(2).any(|pair| {
        pair[0] == format!("pushd {}", shim.display())
            && pair[1].starts_with("cmake ")
            && pair[1].contains(&format!("-DRUST_RMM_DIR={}", images.display()))
    });
    expect(
        shim_build,
        "the RMM component runs our stand-in CMake project on target/images/fvp",
    );
    let tfa_checkout = lines
        .iter()
        .any(|l| l.starts_with("git checkout") && l.ends_with(" v2.12.1"));
    expect(tfa_checkout, "TF-A is checked out at v2.12.1");
    let tfa_make = lines
        .iter()
        .find(|l| l.starts_with("make ") && l.contains("PLAT=fvp") && l.ends_with("all fip"));
    let words = |l: &&str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
    let tfa_words = tfa_make.map(words).unwrap_or_default();
    expect(
        tfa_words.iter().any(|w| w == "ENABLE_RME=1"),
        "TF-A is built with ENABLE_RME=1",
    );
    let packed = format!(
        "RMM={}",
        build
            .join(format!("build/{config}/rmm/Release/rmm.img"))
            .display()
    );
    expect(
        tfa_words.contains(&packed),
        "TF-A packs the RMM component's rmm.img (our image) as the RMM",
    );
    if problems.is_empty() {
        Ok(passed)
    } else {
        Err(problems)
    }
}

/// The RMM 1.0 host's components are checked out at [`RMM1_HOST`]'s revisions: the lines that
/// passed, or every problem.
fn check_host(script: &str) -> std::result::Result<Vec<String>, Vec<String>> {
    let lines: Vec<&str> = script.lines().map(str::trim).collect();
    let mut passed = Vec::new();
    let mut problems = Vec::new();
    for (component, revision) in RMM1_HOST {
        let what = format!("{component} is checked out at {revision} (RMM 1.0)");
        let forced = format!("git checkout --quiet --force {revision}");
        if lines.contains(&forced.as_str()) {
            passed.push(what);
        } else {
            problems.push(format!("not true: {what}"));
        }
    }
    if problems.is_empty() {
        Ok(passed)
    } else {
        Err(problems)
    }
}

/// TF-A-Tests 2.12 is built with its realm tests and is TF-A's BL33: the lines that passed, or
/// every problem.
fn check_tftf(script: &str, build: &Path) -> std::result::Result<Vec<String>, Vec<String>> {
    let lines: Vec<&str> = script.lines().map(str::trim).collect();
    let words = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
    let tftf_make = lines
        .iter()
        .find(|l| l.starts_with("make ") && l.contains("tftf") && l.ends_with(" all"))
        .map(|l| words(l))
        .unwrap_or_default();
    let tfa_make = lines
        .iter()
        .find(|l| l.starts_with("make ") && l.contains("PLAT=fvp") && l.ends_with("all fip"))
        .map(|l| words(l))
        .unwrap_or_default();
    let tftf_bin = format!(
        "BL33={}",
        build
            .join("build/rust-rmm-tftf/tftf/fvp/release/tftf.bin")
            .display()
    );
    let checks = [
        (
            lines.contains(&"git checkout --quiet --force v2.12.0"),
            "TF-A-Tests is checked out at v2.12.0",
        ),
        (
            tftf_make
                .iter()
                .any(|w| w == "ENABLE_REALM_PAYLOAD_TESTS=1")
                && tftf_make.iter().any(|w| w == "TESTS=realm-payload"),
            "TF-A-Tests is built with its realm tests (ENABLE_REALM_PAYLOAD_TESTS=1, TESTS=realm-payload)",
        ),
        (
            tfa_make.contains(&tftf_bin),
            "TF-A packs TF-A-Tests as BL33",
        ),
    ];
    let (ok, failed): (Vec<_>, Vec<_>) = checks.iter().partition(|(ok, _)| *ok);
    if failed.is_empty() {
        Ok(ok.iter().map(|(_, what)| what.to_string()).collect())
    } else {
        Err(failed
            .iter()
            .map(|(_, what)| format!("not true: {what}"))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::{check_host, check_script, check_tftf};
    use std::path::Path;

    const GOOD: &str = "\
\tgit clone --quiet  https://example.invalid/TF-A/trusted-firmware-a.git --no-checkout tfa
\tgit checkout --quiet --force v2.12.1
pushd /r/shrinkwrap/tf-rmm-shim
cmake -DCMAKE_BUILD_TYPE=Release -DRUST_RMM_DIR=/r/target/images/fvp -S . -B /b/rmm
make BL33=/x ENABLE_RME=1 PLAT=fvp RMM=/b/build/cca-3world/rmm/Release/rmm.img -j1 all fip
";

    #[test]
    fn the_overlay_script_checks_can_fail() {
        let (root, build) = (Path::new("/r"), Path::new("/b"));
        assert_eq!(
            check_script(GOOD, root, build, "cca-3world").map(|p| p.len()),
            Ok(5)
        );
        let bad = [
            GOOD.replace("trusted-firmware-a.git", "TF-RMM/tf-rmm.git"),
            GOOD.replace("pushd /r/shrinkwrap/tf-rmm-shim", "pushd /b/source/rmm"),
            GOOD.replace("v2.12.1", "v2.15.0"),
            GOOD.replace("ENABLE_RME=1 ", ""),
            GOOD.replace("RMM=/b/build", "RMM=/elsewhere"),
        ];
        for script in bad {
            assert!(
                check_script(&script, root, build, "cca-3world").is_err(),
                "{script}"
            );
        }
    }

    #[test]
    fn the_host_checks_can_fail() {
        let host = "\tgit checkout --quiet --force cca-host/v10\n\
                    \tgit checkout --quiet --force cca/v8\n\
                    \tgit checkout --quiet --force cca/v3\n";
        assert_eq!(check_host(host).map(|p| p.len()), Ok(3));
        for (from, to) in [
            ("cca-host/v10", "cca-host/v13"),
            ("cca/v8", "cca-kvm-v20"),
            ("cca/v3", "cca-rmm-v2.0"),
        ] {
            assert!(check_host(&host.replace(from, to)).is_err(), "{from}");
        }
    }

    #[test]
    fn the_tftf_checks_can_fail() {
        let build = Path::new("/b");
        let good = "\tgit checkout --quiet --force v2.12.0\n\
            make BUILD_BASE=/b/build/rust-rmm-tftf/tftf ENABLE_REALM_PAYLOAD_TESTS=1 PLAT=fvp \
            TESTS=realm-payload -j1 all\n\
            make BL33=/b/build/rust-rmm-tftf/tftf/fvp/release/tftf.bin PLAT=fvp RMM=/x all fip\n";
        assert_eq!(check_tftf(good, build).map(|p| p.len()), Ok(3));
        for (from, to) in [
            ("v2.12.0", "v2.15.0"),
            (
                "ENABLE_REALM_PAYLOAD_TESTS=1",
                "ENABLE_REALM_PAYLOAD_TESTS=0",
            ),
            ("TESTS=realm-payload", "TESTS=standard"),
            ("BL33=/b/build/rust-rmm-tftf", "BL33=/b/build/cca-3world"),
        ] {
            assert!(
                check_tftf(&good.replace(from, to), build).is_err(),
                "{from}"
            );
        }
    }
}
