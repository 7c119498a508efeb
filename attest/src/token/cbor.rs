// SPDX-License-Identifier: MIT OR Apache-2.0
//! CBOR heads (RFC 8949 §3) for byte strings, written by hand: the token's framing around
//! data whose length is known is fixed-size and cannot fail, so it needs no encoder.

/// Major type 2 (byte string).
const MAJOR_BSTR: u8 = 2 << 5;

/// An encoded CBOR head: at most 9 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    buf: [u8; 9],
    len: u8,
}

impl Head {
    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Number of encoded bytes.
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Never true: a head has at least one byte.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The shortest head of a byte string of `len` bytes (deterministic encoding).
pub const fn bstr_head(len: usize) -> Head {
    let len = len as u64;
    let mut buf = [0u8; 9];
    let n: u8;
    if len < 24 {
        buf[0] = MAJOR_BSTR | len as u8;
        n = 1;
    } else if len <= 0xFF {
        buf[0] = MAJOR_BSTR | 24;
        buf[1] = len as u8;
        n = 2;
    } else if len <= 0xFFFF {
        buf[0] = MAJOR_BSTR | 25;
        let b = (len as u16).to_be_bytes();
        buf[1] = b[0];
        buf[2] = b[1];
        n = 3;
    } else if len <= 0xFFFF_FFFF {
        buf[0] = MAJOR_BSTR | 26;
        let b = (len as u32).to_be_bytes();
        let mut i = 0;
        while i < 4 {
            buf[1 + i] = b[i];
            i += 1;
        }
        n = 5;
    } else {
        buf[0] = MAJOR_BSTR | 27;
        let b = len.to_be_bytes();
        let mut i = 0;
        while i < 8 {
            buf[1 + i] = b[i];
            i += 1;
        }
        n = 9;
    }
    Head { buf, len: n }
}

/// Length of a whole byte string item (head and content) of `len` content bytes.
pub const fn bstr_item_len(len: usize) -> usize {
    bstr_head(len).len() + len
}
