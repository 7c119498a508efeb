// SPDX-License-Identifier: MIT OR Apache-2.0
//! A write-only PL011 UART driver for the RMM's log console.
//!
//! The console's base address comes from the boot manifest (or, before it is validated, from
//! the platform). It is stored atomically so every CPU's logger sees the switch; 0 means "no
//! console" and output is dropped. A UART that never drains cannot hang the RMM: each byte
//! waits a bounded number of polls and is dropped after that.

use crate::arch::ConsoleSink;
use core::sync::atomic::{AtomicU64, Ordering};

const DR: u64 = 0x000;
const FR: u64 = 0x018;
const IBRD: u64 = 0x024;
const FBRD: u64 = 0x028;
const LCR_H: u64 = 0x02C;
const CR: u64 = 0x030;
const FR_TXFF: u32 = 1 << 5;
const CR_UARTEN: u32 = 1 << 0;
const CR_TXE: u32 = 1 << 8;
const CR_RXE: u32 = 1 << 9;
const LCR_H_8N1_FIFO: u32 = (0b11 << 5) | (1 << 4);
const MAX_POLLS: u32 = 1 << 20;

/// A PL011 at a runtime-chosen base.
pub struct Pl011 {
    base: AtomicU64,
}

impl Pl011 {
    /// A console with no UART yet (output dropped).
    pub const fn new() -> Self {
        Self {
            base: AtomicU64::new(0),
        }
    }

    /// Uses the UART at `base` from now on, as firmware left it configured.
    pub fn set_base(&self, base: u64) {
        self.base.store(base, Ordering::Release);
    }

    /// Switches to the UART at `base` (the boot manifest's console) and enables it if EL3 has
    /// not. The baud rate is programmed only when the reference clock `clk_in_hz` makes that
    /// meaningful (TF-A's QEMU port passes a dummy 1 Hz clock for an already-running UART).
    pub fn init(&self, base: u64, clk_in_hz: u64, baud_rate: u64) {
        self.set_base(base);
        if self.read(CR) & CR_UARTEN != 0 {
            return;
        }
        self.write(CR, 0);
        // `checked_div`: the manifest parser refuses a zero baud rate, and this keeps a
        // division-by-zero panic out of the image all the same.
        let divisor_64ths = clk_in_hz.saturating_mul(4).checked_div(baud_rate);
        if let Some(divisor_64ths) = divisor_64ths.filter(|d| *d >= 64) {
            self.write(IBRD, ((divisor_64ths >> 6) & 0xFFFF) as u32);
            self.write(FBRD, (divisor_64ths & 0x3F) as u32);
        }
        self.write(LCR_H, LCR_H_8N1_FIFO);
        self.write(CR, CR_UARTEN | CR_TXE | CR_RXE);
    }

    fn read(&self, offset: u64) -> u32 {
        let base = self.base.load(Ordering::Acquire);
        if base == 0 {
            return 0;
        }
        // SAFETY: `base` is the PL011 named by the validated boot manifest (granule aligned,
        // non-zero) or by the platform; with the MMU off this is a Device-nGnRnE access to one
        // of its registers, which has no side effect on memory the RMM owns.
        unsafe { core::ptr::read_volatile((base + offset) as *const u32) }
    }

    fn write(&self, offset: u64, value: u32) {
        let base = self.base.load(Ordering::Acquire);
        if base == 0 {
            return;
        }
        // SAFETY: as in `read`: a 32-bit store to a register of the console UART.
        unsafe { core::ptr::write_volatile((base + offset) as *mut u32, value) }
    }

    fn put(&self, byte: u8) {
        let mut polls = 0;
        while self.read(FR) & FR_TXFF != 0 {
            polls += 1;
            if polls == MAX_POLLS {
                return;
            }
            core::hint::spin_loop();
        }
        self.write(DR, u32::from(byte));
    }
}

impl Default for Pl011 {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsoleSink for Pl011 {
    fn write_bytes(&self, bytes: &[u8]) {
        for &byte in bytes {
            if byte == b'\n' {
                self.put(b'\r');
            }
            self.put(byte);
        }
    }

    fn cpu_index(&self) -> usize {
        super::sysreg::cpu_index()
    }
}
