//! Links the test hypervisor where TF-A loads BL33: 0x60000000 on QEMU (`PLAT=qemu`
//! `PLAT_QEMU_NS_IMAGE_BASE`), 0x88000000 on the FVP (`PLAT_ARM_NS_IMAGE_BASE`). The image,
//! its data and its stacks must stay within 4 MiB.
fn main() {
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
