//! Where things live: the workspace, the build outputs, TF-A's source and builds.

use std::path::PathBuf;

/// The bare-metal target every firmware image and payload is built for.
pub const FIRMWARE_TARGET: &str = "aarch64-unknown-none-softfloat";

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
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
