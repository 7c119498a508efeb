// SPDX-License-Identifier: MIT OR Apache-2.0
//! Links the test hypervisor where TF-A loads BL33: 0x60000000 on QEMU (`PLAT=qemu`
//! `PLAT_QEMU_NS_IMAGE_BASE`), 0x88000000 on the FVP (`PLAT_ARM_NS_IMAGE_BASE`). The image,
//! its data and its stacks must stay within 4 MiB.
//!
//! The test realm's flat binary is embedded: `cargo xtask build` builds it first and passes its
//! path in `REALM_IMAGE`. Without it (a plain `cargo build` of this crate) the image is empty
//! and the realm scenarios fail saying so. The message benchmark's build of the realm comes the
//! same way in `REALM_MSG_IMAGE`.
fn main() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    embed(&out, "REALM_IMAGE", "realm.bin");
    // The message benchmark's build of the realm (`msgbench`).
    embed(&out, "REALM_MSG_IMAGE", "realm-msg.bin");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../..");
    let base = if std::env::var_os("CARGO_FEATURE_FVP").is_some() {
        "0x88000000"
    } else {
        "0x60000000"
    };
    println!("cargo:rerun-if-changed={root}/linker.ld");
    for arg in [
        format!("-T{root}/linker.ld"),
        format!("--defsym=IMAGE_BASE={base}"),
        "--defsym=IMAGE_MAX_SIZE=0x400000".into(),
        "--entry=host_entry".into(),
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}

/// Copies the file the environment variable `var` names to `out/name` (empty without it).
fn embed(out: &std::path::Path, var: &str, name: &str) {
    println!("cargo:rerun-if-env-changed={var}");
    let image = match std::env::var_os(var) {
        Some(path) => {
            println!("cargo:rerun-if-changed={}", path.to_string_lossy());
            std::fs::read(&path).unwrap_or_else(|e| panic!("{var} names an unreadable file: {e}"))
        }
        None => Vec::new(),
    };
    std::fs::write(out.join(name), image).expect("OUT_DIR is writable");
}
