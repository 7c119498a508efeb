// SPDX-License-Identifier: MIT OR Apache-2.0
//! Links the FVP image at TF-A's `ARM_REALM_BASE` for `PLAT=fvp`, inside its 32 MiB - 4 KiB
//! Realm carve-out.
fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    println!("cargo:rerun-if-changed={root}/linker.ld");
    for arg in [
        format!("-T{root}/linker.ld"),
        "--defsym=IMAGE_BASE=0xFDC00000".into(),
        "--defsym=IMAGE_MAX_SIZE=0x1FFF000".into(),
        "--entry=rmm_vectors".into(),
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
