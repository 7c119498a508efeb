// SPDX-License-Identifier: MIT OR Apache-2.0
//! Links the test realm at `realm_protocol::REALM_IMAGE_BASE` (0x80000, an IPA in the protected
//! half; the realm runs with its MMU off, so IPA = VA). Image, data and stacks fit in 192 KiB (below
//! `POPULATE_IPA`, 0x10_0000).
fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../..");
    println!("cargo:rerun-if-changed={root}/linker.ld");
    for arg in [
        format!("-T{root}/linker.ld"),
        "--defsym=IMAGE_BASE=0x80000".into(),
        // The `msgbench` build adds AES-GCM and two 32 KiB message buffers: 512 KiB, still
        // below `POPULATE_IPA`.
        if std::env::var_os("CARGO_FEATURE_MSGBENCH").is_some() {
            "--defsym=IMAGE_MAX_SIZE=0x80000".into()
        } else {
            "--defsym=IMAGE_MAX_SIZE=0x30000".into()
        },
        "--entry=realm_entry".into(),
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
