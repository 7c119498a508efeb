// SPDX-License-Identifier: MIT OR Apache-2.0
//! SHA-256 and SHA-512 over a pluggable block-compression engine.
//!
//! The RMM hashes with whichever engine the CPU offers: the Armv8 SHA-2 instructions (a routine
//! in `rmm`'s `arch` layer, which saves and restores the vector registers it uses) or the
//! portable software compression of the `sha2` crate ([`SoftEngine`], the default, the
//! fallback and the host tests' oracle). An engine only compresses whole blocks; the padding,
//! the length encoding and the output are done once, here, for every engine.
//!
//! Nothing here panics: every slice operation is bounded by the buffer sizes below.

/// The SHA-2 block compression functions (FIPS 180-4 §6.2.2 and §6.4.2, steps 1–4 for each
/// block in turn). `state` holds the working hash value H(i) as host integers.
pub trait Sha2Engine: Sync {
    /// Compresses each 64-byte block of `blocks`, in order, into the SHA-256 `state`.
    fn compress256(&self, state: &mut [u32; 8], blocks: &[[u8; 64]]);

    /// Compresses each 128-byte block of `blocks`, in order, into the SHA-512 `state`.
    fn compress512(&self, state: &mut [u64; 8], blocks: &[[u8; 128]]);
}

/// The `sha2` crate's portable compression functions (on the firmware target its software
/// backend is forced: see `.cargo/config.toml`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SoftEngine;

/// The software engine, for callers that need a `&'static dyn Sha2Engine`.
pub static SOFT: SoftEngine = SoftEngine;

impl Sha2Engine for SoftEngine {
    fn compress256(&self, state: &mut [u32; 8], blocks: &[[u8; 64]]) {
        sha2::block_api::compress256(state, blocks);
    }

    fn compress512(&self, state: &mut [u64; 8], blocks: &[[u8; 128]]) {
        sha2::block_api::compress512(state, blocks);
    }
}

/// SHA-256's initial hash value H(0) (FIPS 180-4 §5.3.3).
pub const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// SHA-512's initial hash value H(0) (FIPS 180-4 §5.3.5).
pub const SHA512_IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

/// SHA-384's initial hash value H(0) (FIPS 180-4 §5.3.4).
pub const SHA384_IV: [u64; 8] = [
    0xcbbb_9d5d_c105_9ed8,
    0x629a_292a_367c_d507,
    0x9159_015a_3070_dd17,
    0x152f_ecd8_f70e_5939,
    0x6733_2667_ffc0_0b31,
    0x8eb4_4a87_6858_1511,
    0xdb0c_2e0d_64f9_8fa7,
    0x47b5_481d_befa_4fa4,
];

/// Pads a message whose last `tail_len` bytes (less than a block) are already at the start of
/// `tail`, the rest of it zero: the 1 bit after them, then the message length `length` (in
/// bytes) in bits, big-endian, in the last `len_bytes` (8 or 16) bytes of the first or second
/// block. Returns how many blocks of `tail` hold the padded end (1 or 2). The blocks are
/// words, so that the length goes in as whole aligned words (this target is built for strict
/// alignment: into a byte array each length byte was a store of its own). Shared by the
/// hashers here and the token session's stepped SHA-384 (`token::session`).
#[inline(always)]
pub(crate) fn pad<const W: usize>(
    tail: &mut [[u64; W]; 2],
    tail_len: usize,
    len_bytes: usize,
    length: u64,
) -> usize {
    let block = W * 8;
    if let Some(byte) = zerocopy::IntoBytes::as_mut_bytes(&mut *tail).get_mut(tail_len) {
        *byte = 0x80;
    }
    let blocks = if tail_len < block - len_bytes { 1 } else { 2 };
    let bits = u128::from(length) * 8;
    // The low word of the length ends the last block; a 16-byte length's high word precedes it.
    let words = tail.as_flattened_mut();
    let end = blocks * W;
    if let Some(low) = words.get_mut(end - 1) {
        *low = (bits as u64).to_be();
    }
    if len_bytes == 16
        && let Some(high) = words.get_mut(end - 2)
    {
        *high = ((bits >> 64) as u64).to_be();
    }
    blocks
}

macro_rules! hasher {
    (
        $(#[$doc:meta])*
        $name:ident, $word:ty, $block:literal, $len_bytes:literal, $out:literal,
        $iv:ident, $compress:ident
    ) => {
        $(#[$doc])*
        pub struct $name<'e> {
            engine: &'e dyn Sha2Engine,
            state: [$word; 8],
            buffer: [u8; $block],
            buffered: usize,
            /// Message length so far in bytes (modulo 2^64, far beyond any RMM input).
            length: u64,
        }

        impl<'e> $name<'e> {
            /// A hasher at H(0) compressing with `engine`.
            pub fn new(engine: &'e dyn Sha2Engine) -> Self {
                Self {
                    engine,
                    state: $iv,
                    buffer: [0; $block],
                    buffered: 0,
                    length: 0,
                }
            }

            /// Appends `data` to the message. Whole blocks of `data` go to the engine in one
            /// call, straight from `data`.
            pub fn update(&mut self, mut data: &[u8]) {
                self.length = self.length.wrapping_add(data.len() as u64);
                if self.buffered > 0 {
                    let take = ($block - self.buffered).min(data.len());
                    let (head, rest) = data.split_at(take);
                    if let Some(slot) = self.buffer.get_mut(self.buffered..self.buffered + take)
                    {
                        slot.copy_from_slice(head);
                    }
                    self.buffered += take;
                    data = rest;
                    if self.buffered < $block {
                        return;
                    }
                    self.engine
                        .$compress(&mut self.state, core::slice::from_ref(&self.buffer));
                    self.buffered = 0;
                }
                let (blocks, rest) = data.as_chunks::<$block>();
                if !blocks.is_empty() {
                    self.engine.$compress(&mut self.state, blocks);
                }
                if let Some(slot) = self.buffer.get_mut(..rest.len()) {
                    slot.copy_from_slice(rest);
                }
                self.buffered = rest.len();
            }

            /// Pads the message (a 1 bit, zeros, the length in bits, big-endian) and returns
            /// the digest. The one or two final blocks go to the engine in one call.
            pub fn finalize(self) -> [u8; $out] {
                let mut state = self.state;
                // The one or two final blocks, as words ([`pad`]).
                let mut tail = [[0u64; $block / 8]; 2];
                let flat = zerocopy::IntoBytes::as_mut_bytes(&mut tail);
                let buffered = self.buffered.min($block);
                if let (Some(slot), Some(bytes)) =
                    (flat.get_mut(..buffered), self.buffer.get(..buffered))
                {
                    slot.copy_from_slice(bytes);
                }
                let blocks = pad(&mut tail, self.buffered, $len_bytes, self.length);
                let tail: &[[u8; $block]; 2] = zerocopy::transmute_ref!(&tail);
                self.engine.$compress(&mut state, &tail[..blocks]);
                let mut out = [0u8; $out];
                for (chunk, word) in out.chunks_exact_mut(size_of::<$word>()).zip(state) {
                    chunk.copy_from_slice(&word.to_be_bytes());
                }
                out
            }
        }
    };
}

hasher!(
    /// SHA-256 (FIPS 180-4 §6.2) over an engine.
    Sha256, u32, 64, 8, 32, SHA256_IV, compress256
);

hasher!(
    /// SHA-512 (FIPS 180-4 §6.4) over an engine.
    Sha512, u64, 128, 16, 64, SHA512_IV, compress512
);

hasher!(
    /// SHA-384 (FIPS 180-4 §6.5: SHA-512 from its own H(0), truncated) over an engine.
    Sha384, u64, 128, 16, 48, SHA384_IV, compress512
);

/// SHA-256 of `parts[0] ‖ parts[1] ‖ …` with `engine`.
pub fn sha256(engine: &dyn Sha2Engine, parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new(engine);
    parts.iter().for_each(|p| h.update(p));
    h.finalize()
}

/// SHA-512 of `parts[0] ‖ parts[1] ‖ …` with `engine`.
pub fn sha512(engine: &dyn Sha2Engine, parts: &[&[u8]]) -> [u8; 64] {
    let mut h = Sha512::new(engine);
    parts.iter().for_each(|p| h.update(p));
    h.finalize()
}

/// A fixed message of a known-answer test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KatMessage {
    /// The bytes themselves.
    Bytes(&'static [u8]),
    /// 4,096 bytes, byte `i` being `(7 * i + 3) mod 256` (a page with no repeating block).
    Page,
}

/// One known-answer vector: a message and its SHA-256 and SHA-512 digests (FIPS 180-4
/// examples; the page's digests come from Python's `hashlib`).
#[derive(Debug, Clone, Copy)]
pub struct KatVector {
    /// What the vector is called in a failure report.
    pub name: &'static str,
    /// The message.
    pub message: KatMessage,
    /// SHA-256 of the message.
    pub sha256: [u8; 32],
    /// SHA-512 of the message.
    pub sha512: [u8; 64],
}

/// The vectors [`known_answer_test`] checks.
pub const KAT_VECTORS: [KatVector; 5] = [
    KatVector {
        name: "abc",
        message: KatMessage::Bytes(b"abc"),
        sha256: [0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad],
        sha512: [0xdd, 0xaf, 0x35, 0xa1, 0x93, 0x61, 0x7a, 0xba, 0xcc, 0x41, 0x73, 0x49, 0xae, 0x20, 0x41, 0x31, 0x12, 0xe6, 0xfa, 0x4e, 0x89, 0xa9, 0x7e, 0xa2, 0x0a, 0x9e, 0xee, 0xe6, 0x4b, 0x55, 0xd3, 0x9a, 0x21, 0x92, 0x99, 0x2a, 0x27, 0x4f, 0xc1, 0xa8, 0x36, 0xba, 0x3c, 0x23, 0xa3, 0xfe, 0xeb, 0xbd, 0x45, 0x4d, 0x44, 0x23, 0x64, 0x3c, 0xe8, 0x0e, 0x2a, 0x9a, 0xc9, 0x4f, 0xa5, 0x4c, 0xa4, 0x9f],
    },
    KatVector {
        name: "empty",
        message: KatMessage::Bytes(b""),
        sha256: [0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55],
        sha512: [0xcf, 0x83, 0xe1, 0x35, 0x7e, 0xef, 0xb8, 0xbd, 0xf1, 0x54, 0x28, 0x50, 0xd6, 0x6d, 0x80, 0x07, 0xd6, 0x20, 0xe4, 0x05, 0x0b, 0x57, 0x15, 0xdc, 0x83, 0xf4, 0xa9, 0x21, 0xd3, 0x6c, 0xe9, 0xce, 0x47, 0xd0, 0xd1, 0x3c, 0x5d, 0x85, 0xf2, 0xb0, 0xff, 0x83, 0x18, 0xd2, 0x87, 0x7e, 0xec, 0x2f, 0x63, 0xb9, 0x31, 0xbd, 0x47, 0x41, 0x7a, 0x81, 0xa5, 0x38, 0x32, 0x7a, 0xf9, 0x27, 0xda, 0x3e],
    },
    KatVector {
        name: "two-block",
        message: KatMessage::Bytes(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        sha256: [0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8, 0xe5, 0xc0, 0x26, 0x93, 0x0c, 0x3e, 0x60, 0x39, 0xa3, 0x3c, 0xe4, 0x59, 0x64, 0xff, 0x21, 0x67, 0xf6, 0xec, 0xed, 0xd4, 0x19, 0xdb, 0x06, 0xc1],
        sha512: [0x20, 0x4a, 0x8f, 0xc6, 0xdd, 0xa8, 0x2f, 0x0a, 0x0c, 0xed, 0x7b, 0xeb, 0x8e, 0x08, 0xa4, 0x16, 0x57, 0xc1, 0x6e, 0xf4, 0x68, 0xb2, 0x28, 0xa8, 0x27, 0x9b, 0xe3, 0x31, 0xa7, 0x03, 0xc3, 0x35, 0x96, 0xfd, 0x15, 0xc1, 0x3b, 0x1b, 0x07, 0xf9, 0xaa, 0x1d, 0x3b, 0xea, 0x57, 0x78, 0x9c, 0xa0, 0x31, 0xad, 0x85, 0xc7, 0xa7, 0x1d, 0xd7, 0x03, 0x54, 0xec, 0x63, 0x12, 0x38, 0xca, 0x34, 0x45],
    },
    KatVector {
        name: "two-block-512",
        message: KatMessage::Bytes(b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
        sha256: [0xcf, 0x5b, 0x16, 0xa7, 0x78, 0xaf, 0x83, 0x80, 0x03, 0x6c, 0xe5, 0x9e, 0x7b, 0x04, 0x92, 0x37, 0x0b, 0x24, 0x9b, 0x11, 0xe8, 0xf0, 0x7a, 0x51, 0xaf, 0xac, 0x45, 0x03, 0x7a, 0xfe, 0xe9, 0xd1],
        sha512: [0x8e, 0x95, 0x9b, 0x75, 0xda, 0xe3, 0x13, 0xda, 0x8c, 0xf4, 0xf7, 0x28, 0x14, 0xfc, 0x14, 0x3f, 0x8f, 0x77, 0x79, 0xc6, 0xeb, 0x9f, 0x7f, 0xa1, 0x72, 0x99, 0xae, 0xad, 0xb6, 0x88, 0x90, 0x18, 0x50, 0x1d, 0x28, 0x9e, 0x49, 0x00, 0xf7, 0xe4, 0x33, 0x1b, 0x99, 0xde, 0xc4, 0xb5, 0x43, 0x3a, 0xc7, 0xd3, 0x29, 0xee, 0xb6, 0xdd, 0x26, 0x54, 0x5e, 0x96, 0xe5, 0x5b, 0x87, 0x4b, 0xe9, 0x09],
    },
    KatVector {
        name: "4 KiB page",
        message: KatMessage::Page,
        sha256: [0x74, 0x86, 0xda, 0x8f, 0x1e, 0x13, 0x94, 0x3f, 0xae, 0x21, 0xa0, 0xb0, 0x43, 0xf1, 0xe9, 0x96, 0x40, 0xd7, 0xd8, 0xeb, 0xaf, 0xb2, 0x52, 0x66, 0x47, 0x8b, 0x5c, 0xdd, 0xae, 0x12, 0x72, 0xb5],
        sha512: [0xed, 0x3e, 0xa7, 0x1e, 0x26, 0x27, 0x33, 0x4f, 0xc7, 0xfe, 0x84, 0x43, 0xd7, 0x4b, 0x58, 0x51, 0x00, 0x70, 0x86, 0xfe, 0xfe, 0x73, 0x54, 0x3a, 0x44, 0x23, 0x71, 0x8c, 0xd9, 0xe0, 0xeb, 0x24, 0xe5, 0xfc, 0x80, 0x67, 0x5e, 0x02, 0xce, 0xf9, 0x40, 0x55, 0x94, 0x4f, 0x65, 0xe1, 0xdf, 0x45, 0xa8, 0xf6, 0x9f, 0x77, 0x6f, 0x59, 0xa4, 0xc3, 0xe3, 0x20, 0x31, 0xca, 0x7e, 0xf0, 0x73, 0x87],
    },
];

/// Which algorithm a [`known_answer_test`] failed on, and for which vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KatFailure {
    /// `"SHA-256"` or `"SHA-512"`.
    pub algorithm: &'static str,
    /// [`KatVector::name`].
    pub vector: &'static str,
}

/// A page with no repeating block: byte `i` of each 256-byte period is `(7 * i + 3) mod 256`.
const PAGE_PERIOD: usize = 256;

/// `message` as the uneven pieces the test hashes (so the buffering is exercised as well):
/// two pieces for bytes, and the page as 1 + 255 + 15 × 256 bytes, the first leaving the
/// buffer partly full. Returns how many of `parts` it filled.
fn pieces<'a>(
    message: KatMessage,
    period: &'a [u8; PAGE_PERIOD],
    parts: &mut [&'a [u8]; 17],
) -> usize {
    match message {
        KatMessage::Bytes(bytes) => {
            let (a, b) = bytes.split_at(bytes.len() / 3);
            parts[0] = a;
            parts[1] = b;
            2
        }
        KatMessage::Page => {
            let (first, rest) = period.split_at(1);
            parts[0] = first;
            parts[1] = rest;
            for part in &mut parts[2..] {
                *part = period;
            }
            parts.len()
        }
    }
}

/// Checks `engine` against [`KAT_VECTORS`]: SHA-256 always, SHA-512 if `sha512_too`. The RMM runs
/// this once at boot on the hardware engine before it uses it, through [`sha256`] and
/// [`sha512`], the functions the measurements use (the test adds no hasher code of its own).
pub fn known_answer_test(engine: &dyn Sha2Engine, sha512_too: bool) -> Result<(), KatFailure> {
    let period: [u8; PAGE_PERIOD] =
        core::array::from_fn(|i| (i as u8).wrapping_mul(7).wrapping_add(3));
    for vector in &KAT_VECTORS {
        let mut parts: [&[u8]; 17] = [&[]; 17];
        let count = pieces(vector.message, &period, &mut parts);
        let message = &parts[..count];
        if sha256(engine, message) != vector.sha256 {
            return Err(KatFailure {
                algorithm: "SHA-256",
                vector: vector.name,
            });
        }
        if sha512_too && sha512(engine, message) != vector.sha512 {
            return Err(KatFailure {
                algorithm: "SHA-512",
                vector: vector.name,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
