// SPDX-License-Identifier: MIT OR Apache-2.0
//! The boot descriptor `cargo xtask linux` (and the Linux scenario of `cargo xtask test`)
//! writes into NS memory with QEMU's `-device loader` before reset, next to the run-mode
//! mailbox: where QEMU put the kernel, initramfs and device tree, and where they go in the
//! realm. The layout is the `words` array `prepare` builds in `xtask/src/linux/mod.rs`; every field is a little-endian
//! u64.

/// Where the descriptor sits (the mailbox page, after the mode words).
pub const ADDR: u64 = crate::platform::MAILBOX + 0x100;
/// "LINUXVM1", little-endian.
pub const MAGIC: u64 = u64::from_le_bytes(*b"LINUXVM1");
/// `flags` bit 0: DATA_CREATE with MEASURE_CONTENT (else unmeasured content).
pub const FLAG_MEASURE: u64 = 1;

/// One blob QEMU loaded into NS memory and its place in the realm.
#[derive(Debug, Clone, Copy)]
pub struct Blob {
    /// NS physical address of the bytes (page aligned).
    pub pa: u64,
    /// Length in bytes.
    pub len: u64,
    /// Realm IPA (page aligned).
    pub ipa: u64,
}

/// The whole descriptor.
#[derive(Debug, Clone, Copy)]
pub struct Descriptor {
    /// The kernel's `Image`.
    pub kernel: Blob,
    /// The initramfs (`len` 0: none).
    pub initrd: Blob,
    /// The flattened device tree.
    pub dtb: Blob,
    /// Protected RAM: base IPA and size.
    pub ram_ipa: u64,
    /// Bytes of RAM.
    pub ram_size: u64,
    /// Number of vCPUs (RECs).
    pub vcpus: u64,
    /// [`FLAG_MEASURE`].
    pub flags: u64,
    /// IPA width.
    pub s2sz: u64,
}

fn word(index: u64) -> u64 {
    // SAFETY: ADDR is in the mailbox page, NS DRAM below the hypervisor image that only QEMU's
    // loader writes; aligned 8-byte loads with the MMU off.
    unsafe { core::ptr::read_volatile((ADDR + index * 8) as *const u64) }
}

/// Reads the descriptor; `None` if QEMU did not load one.
pub fn read() -> Option<Descriptor> {
    if word(0) != MAGIC {
        return None;
    }
    let blob = |i| Blob {
        pa: word(i),
        len: word(i + 1),
        ipa: word(i + 2),
    };
    Some(Descriptor {
        kernel: blob(1),
        initrd: blob(4),
        dtb: blob(7),
        ram_ipa: word(10),
        ram_size: word(11),
        vcpus: word(12),
        flags: word(13),
        s2sz: word(14),
    })
}
