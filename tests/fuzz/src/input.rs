// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`Input`]: the fuzzer's bytes read as a stream of choices. Reading past the end yields
//! zeros, so every input is a valid (possibly short) program and mutations stay meaningful.

use std::sync::{Arc, Mutex};

/// A cursor over the input bytes, shared by the host side and the fake realm.
#[derive(Clone)]
pub struct Input {
    inner: Arc<Mutex<Cursor>>,
}

struct Cursor {
    data: Vec<u8>,
    pos: usize,
}

impl Input {
    /// A cursor at the start of `data`.
    pub fn new(data: &[u8]) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Cursor {
                data: data.to_vec(),
                pos: 0,
            })),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Cursor) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// True once every byte was read.
    pub fn is_empty(&self) -> bool {
        self.with(|c| c.pos >= c.data.len())
    }

    /// The next byte (0 past the end).
    pub fn byte(&self) -> u8 {
        self.with(|c| {
            let b = c.data.get(c.pos).copied().unwrap_or(0);
            c.pos += 1;
            b
        })
    }

    /// The next `N` bytes (zero past the end).
    pub fn bytes<const N: usize>(&self) -> [u8; N] {
        let mut out = [0; N];
        for b in &mut out {
            *b = self.byte();
        }
        out
    }

    /// A little-endian u16.
    pub fn u16(&self) -> u16 {
        u16::from_le_bytes(self.bytes())
    }

    /// A little-endian u64.
    pub fn u64(&self) -> u64 {
        u64::from_le_bytes(self.bytes())
    }

    /// An index below `n` (n > 0).
    pub fn below(&self, n: usize) -> usize {
        usize::from(self.byte()) % n
    }

    /// A value from `pool` most of the time, an edge value or an arbitrary one otherwise:
    /// the selector byte's top values (>= 0xF0) pick the latter.
    pub fn pick(&self, pool: &[u64]) -> u64 {
        let s = self.byte();
        match s {
            0xF0..=0xF7 => EDGES[usize::from(s - 0xF0)],
            0xF8..=0xFB => pool[usize::from(self.byte()) % pool.len()].wrapping_add(8),
            0xFC..=0xFF => self.u64(),
            _ => pool[usize::from(s) % pool.len()],
        }
    }
}

/// Values that sit on boundaries of most checks.
const EDGES: [u64; 8] = [
    0,
    1,
    u64::MAX,
    1 << 63,
    0x1000,
    0xFFFF_FFFF_F000,
    1 << 48,
    0x8000_0000_0000_0000 - 0x1000,
];
