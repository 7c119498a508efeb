// SPDX-License-Identifier: MIT OR Apache-2.0
//! CBOR heads (RFC 8949 §3), written by hand: the token's framing around data whose length is
//! known is fixed-size and cannot fail, so it needs no encoder; the CSM claims
//! ([`super::csm`]) are heads and contents alone.

/// Major type 0: unsigned integer.
pub const MAJOR_UINT: u8 = 0;
/// Major type 2: byte string.
pub const MAJOR_BSTR: u8 = 2;
/// Major type 3: text string.
pub const MAJOR_TSTR: u8 = 3;
/// Major type 4: array.
pub const MAJOR_ARRAY: u8 = 4;
/// Major type 5: map.
pub const MAJOR_MAP: u8 = 5;
/// Major type 7: simple values (20 false, 21 true).
pub const MAJOR_SIMPLE: u8 = 7;

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

/// The shortest head (deterministic encoding) of major type `major` (0 to 7) with argument
/// `value`: the unsigned integer itself, a string's length, an array's or map's number of
/// items, or a simple value.
pub const fn head(major: u8, value: u64) -> Head {
    let first = major << 5;
    let mut buf = [0u8; 9];
    let n: u8;
    if value < 24 {
        buf[0] = first | value as u8;
        n = 1;
    } else if value <= 0xFF {
        buf[0] = first | 24;
        buf[1] = value as u8;
        n = 2;
    } else if value <= 0xFFFF {
        buf[0] = first | 25;
        let b = (value as u16).to_be_bytes();
        buf[1] = b[0];
        buf[2] = b[1];
        n = 3;
    } else if value <= 0xFFFF_FFFF {
        buf[0] = first | 26;
        let b = (value as u32).to_be_bytes();
        let mut i = 0;
        while i < 4 {
            buf[1 + i] = b[i];
            i += 1;
        }
        n = 5;
    } else {
        buf[0] = first | 27;
        let b = value.to_be_bytes();
        let mut i = 0;
        while i < 8 {
            buf[1 + i] = b[i];
            i += 1;
        }
        n = 9;
    }
    Head { buf, len: n }
}

/// The shortest head of a byte string of `len` bytes (deterministic encoding).
#[inline(always)]
pub const fn bstr_head(len: usize) -> Head {
    head(MAJOR_BSTR, len as u64)
}

/// Length of a whole byte string item (head and content) of `len` content bytes.
pub const fn bstr_item_len(len: usize) -> usize {
    bstr_head(len).len() + len
}
