// SPDX-License-Identifier: MIT OR Apache-2.0
//! The test realm's image, embedded at build time (see `build.rs`), and what the hypervisor
//! needs to know about it: where it goes and how much memory it takes (its bounds are in its
//! header, BSS and stack included).

use realm_protocol::{IMAGE_BOUNDS_OFFSET, REALM_IMAGE_BASE};

/// The flat binary.
pub static IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/realm.bin"));

/// The message benchmark's build of the same realm (`msgbench`: hard-float, AES-GCM), which
/// only the message benchmark runs (`scenarios/msg_bench.rs`).
pub static MSG_IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/realm-msg.bin"));

fn word(image: &[u8], at: usize) -> Option<u64> {
    let bytes = image.get(at..at + 8)?;
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes);
    Some(u64::from_le_bytes(w))
}

/// The number of 4 KiB pages the realm occupies from [`REALM_IMAGE_BASE`], if the image is
/// present and its header is sane.
pub fn pages() -> Option<u64> {
    pages_of(IMAGE)
}

/// [`pages`] of `image`.
pub fn pages_of(image: &[u8]) -> Option<u64> {
    let start = word(image, IMAGE_BOUNDS_OFFSET)?;
    let end = word(image, IMAGE_BOUNDS_OFFSET + 8)?;
    let size = end.checked_sub(start)?;
    (start == REALM_IMAGE_BASE && size >= image.len() as u64 && size <= 0x10_0000)
        .then(|| size.div_ceil(4096))
}

/// Page `n` of the image's content (zero past the end of the file).
pub fn page(n: u64) -> [u8; 4096] {
    page_of(IMAGE, n)
}

/// [`page`] of `image`.
pub fn page_of(image: &[u8], n: u64) -> [u8; 4096] {
    let mut out = [0u8; 4096];
    let start = (n * 4096) as usize;
    if let Some(rest) = image.get(start..) {
        let len = rest.len().min(4096);
        out[..len].copy_from_slice(&rest[..len]);
    }
    out
}
