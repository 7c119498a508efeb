// SPDX-License-Identifier: MIT OR Apache-2.0
//! The hypervisor's console: PL011 output, one whole line at a time under a lock, so lines from
//! several CPUs never interleave. [`println!`](crate::println) is the only way to print.

use crate::platform::UART_BASE;
use core::fmt::{self, Write};

const DR: u64 = 0x00;
const FR: u64 = 0x18;
const FR_TXFF: u32 = 1 << 5;
/// Longest printed line; longer lines are cut and end in `...`.
pub const LINE_CAPACITY: usize = 240;

static LOCK: spin::Mutex<()> = spin::Mutex::new(());

fn put(byte: u8) {
    // SAFETY: UART_BASE is the board's NS PL011; FR and DR are its 32-bit registers, and with
    // the MMU off these are Device accesses that touch nothing else.
    unsafe {
        while core::ptr::read_volatile((UART_BASE + FR) as *const u32) & FR_TXFF != 0 {
            core::hint::spin_loop();
        }
        core::ptr::write_volatile((UART_BASE + DR) as *mut u32, u32::from(byte));
    }
}

/// A fixed buffer holding one line.
pub struct Line {
    bytes: [u8; LINE_CAPACITY],
    len: usize,
}

impl Line {
    /// An empty line.
    pub const fn new() -> Self {
        Self {
            bytes: [0; LINE_CAPACITY],
            len: 0,
        }
    }

    /// The text so far.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("<invalid utf-8>")
    }
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for ch in s.chars() {
            let mut utf8 = [0; 4];
            let encoded = ch.encode_utf8(&mut utf8).as_bytes();
            if self.len + encoded.len() > LINE_CAPACITY - 3 {
                self.bytes[self.len..self.len + 3].copy_from_slice(b"...");
                self.len += 3;
                return Err(fmt::Error);
            }
            self.bytes[self.len..self.len + encoded.len()].copy_from_slice(encoded);
            self.len += encoded.len();
        }
        Ok(())
    }
}

/// Prints one formatted line atomically.
pub fn print_line(args: fmt::Arguments<'_>) {
    let mut line = Line::new();
    let _ = line.write_fmt(args);
    let _guard = LOCK.lock();
    for &b in line.as_str().as_bytes() {
        put(b);
    }
    put(b'\r');
    put(b'\n');
}

/// Prints one line (a newline is added).
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => { $crate::console::print_line(format_args!($($arg)*)) };
}
