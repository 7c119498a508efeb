// SPDX-License-Identifier: MIT OR Apache-2.0
//! Where things live: the workspace, the build outputs, TF-A's source and builds.
//!
//! The workspace is found when xtask runs, not when it is compiled: `cargo run` (which
//! `cargo xtask` is) sets `CARGO_MANIFEST_DIR` to the manifest directory of the checkout being
//! run, and without it xtask walks up from the current directory. A copied checkout therefore
//! builds into its own `target/`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The bare-metal target every firmware image and payload is built for.
pub const FIRMWARE_TARGET: &str = "aarch64-unknown-none-softfloat";

/// The hard-float target of the message benchmark's realm only (its AES-GCM uses the Armv8 AES
/// and PMULL instructions; the RMM switches a realm's FP/SIMD state).
pub const MSG_REALM_TARGET: &str = "aarch64-unknown-none";

/// The workspace root.
pub fn root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let from_cargo = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .and_then(|xtask| find_root(&xtask));
        let from_cwd = || std::env::current_dir().ok().and_then(|cwd| find_root(&cwd));
        from_cargo.or_else(from_cwd).unwrap_or_else(|| {
            eprintln!("xtask: cannot find the workspace (run `cargo xtask` inside the checkout)");
            std::process::exit(1)
        })
    })
    .clone()
}

/// The nearest directory at or above `start` that is this workspace: it holds a `Cargo.toml`
/// with a `[workspace]` table and the `xtask/` package.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        (manifest.lines().any(|l| l.trim() == "[workspace]")
            && dir.join("xtask").join("Cargo.toml").is_file())
        .then(|| dir.to_path_buf())
    })
}

/// `target/` of the workspace.
pub fn target() -> PathBuf {
    root().join("target")
}

/// Flat images and ELF copies for one platform (`qemu` or `fvp`).
pub fn images(platform: &str) -> PathBuf {
    target().join("images").join(platform)
}

/// Where `apt-get source` unpacks TF-A.
pub fn tfa_source_parent() -> PathBuf {
    target().join("tf-a")
}

/// TF-A build directory for one platform.
pub fn tfa_build(platform: &str) -> PathBuf {
    target().join("tf-a").join(format!("build-{platform}"))
}

/// Logs of QEMU runs.
pub fn logs() -> PathBuf {
    target().join("e2e")
}

#[cfg(test)]
mod tests {
    use super::find_root;

    #[test]
    fn finds_the_workspace_of_a_copied_checkout() {
        let base = std::env::temp_dir().join(format!("xtask-paths-{}", std::process::id()));
        let copy = base.join("copy");
        std::fs::create_dir_all(copy.join("xtask/src")).unwrap();
        std::fs::create_dir_all(copy.join("docs")).unwrap();
        std::fs::write(copy.join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        std::fs::write(copy.join("xtask/Cargo.toml"), "[package]\n").unwrap();
        assert_eq!(find_root(&copy.join("docs")), Some(copy.clone()));
        assert_eq!(find_root(&copy.join("xtask/src")), Some(copy.clone()));
        // A package manifest alone is not the workspace.
        std::fs::write(copy.join("Cargo.toml"), "[package]\n").unwrap();
        assert_eq!(find_root(&copy.join("docs")), None);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn this_checkout_is_found_from_its_own_manifest_dir() {
        let xtask = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(find_root(xtask).as_deref(), xtask.parent());
    }
}
