// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask shrinkwrap` (and a step of `test`): the Shrinkwrap overlay in `shrinkwrap/`
//! checked by Shrinkwrap itself, without an FVP, a container or a network.
//!
//! Shrinkwrap (PyPI `shrinkwraptool`, pinned below) is installed once into a virtualenv under
//! `target/`, from pip's configured index. `shrinkwrap -R null build cca-3world.yaml --overlay
//! shrinkwrap/rust-rmm.yaml --dry-run` merges the layers, resolves every macro and prints the
//! script a real build would run; the checks read that script: TF-RMM is not fetched, our
//! stand-in CMake project copies our image, TF-A is v2.12.1 with `ENABLE_RME=1` and packs that
//! image as the RMM. The same checks must fail on the plain `cca-3world.yaml`, so they are known
//! to look at the right lines.

use crate::cmd::{self, Result};
use crate::paths;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Shrinkwrap release the overlay is written and checked against.
pub const SHRINKWRAP_VERSION: &str = "2026.9.2";
/// The overlay, relative to the workspace root.
pub const OVERLAY: &str = "shrinkwrap/rust-rmm.yaml";
/// The Shrinkwrap configuration it overlays.
pub const CONFIG: &str = "cca-3world.yaml";

/// Installs Shrinkwrap if needed, then checks the overlay.
pub fn check() -> Result {
    let shrinkwrap = install()?;
    let root = paths::root();
    let build = work().join("build");
    let with_overlay = dry_run(&shrinkwrap, Some(&root.join(OVERLAY)))?;
    let passed = check_script(&with_overlay, &root, &build).map_err(|problems| {
        format!(
            "Shrinkwrap's dry run of {CONFIG} with {OVERLAY}:\n  {}",
            problems.join("\n  ")
        )
    })?;
    let plain = dry_run(&shrinkwrap, None)?;
    if check_script(&plain, &root, &build).is_ok() {
        return Err(format!(
            "the overlay checks also pass on plain {CONFIG}: they no longer test anything"
        )
        .into());
    }
    for line in passed {
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

/// The script `shrinkwrap build --dry-run` prints for cca-3world (with `overlay`, if given).
fn dry_run(shrinkwrap: &Path, overlay: Option<&Path>) -> Result<String> {
    let work = work();
    let mut command = Command::new(shrinkwrap);
    command
        .env("SHRINKWRAP_BUILD", work.join("build"))
        .env("SHRINKWRAP_PACKAGE", work.join("package"))
        .args(["--runtime", "null", "build", CONFIG, "--dry-run"]);
    if let Some(overlay) = overlay {
        command
            .arg("--overlay")
            .arg(overlay)
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
/// every problem. `build` is `SHRINKWRAP_BUILD`.
fn check_script(
    script: &str,
    root: &Path,
    build: &Path,
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
        build.join("build/cca-3world/rmm/Release/rmm.img").display()
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

#[cfg(test)]
mod tests {
    use super::check_script;
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
        assert_eq!(check_script(GOOD, root, build).map(|p| p.len()), Ok(5));
        let bad = [
            GOOD.replace("trusted-firmware-a.git", "TF-RMM/tf-rmm.git"),
            GOOD.replace("pushd /r/shrinkwrap/tf-rmm-shim", "pushd /b/source/rmm"),
            GOOD.replace("v2.12.1", "v2.15.0"),
            GOOD.replace("ENABLE_RME=1 ", ""),
            GOOD.replace("RMM=/b/build", "RMM=/elsewhere"),
        ];
        for script in bad {
            assert!(check_script(&script, root, build).is_err(), "{script}");
        }
    }
}
