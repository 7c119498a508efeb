// SPDX-License-Identifier: MIT OR Apache-2.0
//! The realm's PL011 UART, emulated: transmit goes straight to the physical console, receive
//! comes from the physical UART's receive FIFO (polled on every exit and on the host's own
//! periodic timer).
//!
//! Transmission completes at once, so the transmit FIFO is always empty: FR.TXFE set, TXFF
//! clear, and the transmit interrupt (TXRIS) is always raised; the Linux driver masks it
//! (IMSC.TXIM) when it has nothing left to send. The interrupt line is `RIS & IMSC`, level
//! sensitive: the vGIC samples it after every access.

use crate::platform::UART_BASE;

const DR: u64 = 0x000;
const RSR: u64 = 0x004;
const FR: u64 = 0x018;
const ILPR: u64 = 0x020;
const IBRD: u64 = 0x024;
const FBRD: u64 = 0x028;
const LCR_H: u64 = 0x02C;
const CR: u64 = 0x030;
const IFLS: u64 = 0x034;
const IMSC: u64 = 0x038;
const RIS: u64 = 0x03C;
const MIS: u64 = 0x040;
const ICR: u64 = 0x044;
const DMACR: u64 = 0x048;

const FR_RXFE: u32 = 1 << 4;
const FR_TXFF: u32 = 1 << 5;
const FR_TXFE: u32 = 1 << 7;
/// RIS bits: receive (4), transmit (5), receive timeout (6).
const INT_RX: u32 = 1 << 4;
const INT_TX: u32 = 1 << 5;
const INT_RT: u32 = 1 << 6;

/// Receive FIFO depth (as the PL011's).
const RX_DEPTH: usize = 32;

/// The emulated UART's registers and receive FIFO.
pub struct Pl011 {
    ibrd: u32,
    fbrd: u32,
    lcr_h: u32,
    cr: u32,
    ifls: u32,
    imsc: u32,
    dmacr: u32,
    rx: [u8; RX_DEPTH],
    rx_head: usize,
    rx_len: usize,
    /// Bytes the realm wrote (for the statistics).
    pub tx_bytes: u64,
    /// Register accesses (for the statistics).
    pub accesses: u64,
}

fn phys_read(offset: u64) -> u32 {
    // SAFETY: UART_BASE is the board's NS PL011 (the hypervisor's console); FR and DR are its
    // 32-bit registers, Device accesses with the MMU off.
    unsafe { core::ptr::read_volatile((UART_BASE + offset) as *const u32) }
}

impl Pl011 {
    /// A UART after reset.
    pub const fn new() -> Self {
        Self {
            ibrd: 0,
            fbrd: 0,
            lcr_h: 0,
            cr: 0x300,
            ifls: 0x12,
            imsc: 0,
            dmacr: 0,
            rx: [0; RX_DEPTH],
            rx_head: 0,
            rx_len: 0,
            tx_bytes: 0,
            accesses: 0,
        }
    }

    fn ris(&self) -> u32 {
        let mut ris = INT_TX;
        if self.rx_len > 0 {
            ris |= INT_RX | INT_RT;
        }
        ris
    }

    /// The interrupt line (level).
    pub fn line(&self) -> bool {
        self.ris() & self.imsc != 0
    }

    /// Moves bytes from the physical UART's receive FIFO into this one while there is room.
    pub fn poll_rx(&mut self) {
        while self.rx_len < RX_DEPTH && phys_read(FR) & FR_RXFE == 0 {
            let byte = (phys_read(DR) & 0xFF) as u8;
            self.rx[(self.rx_head + self.rx_len) % RX_DEPTH] = byte;
            self.rx_len += 1;
        }
    }

    /// A 32-bit (or narrower) read of register `offset`.
    pub fn read(&mut self, offset: u64) -> u32 {
        self.accesses += 1;
        match offset {
            DR => {
                if self.rx_len == 0 {
                    return 0;
                }
                let byte = self.rx[self.rx_head];
                self.rx_head = (self.rx_head + 1) % RX_DEPTH;
                self.rx_len -= 1;
                u32::from(byte)
            }
            RSR => 0,
            FR => {
                let mut fr = FR_TXFE;
                if self.rx_len == 0 {
                    fr |= FR_RXFE;
                }
                fr
            }
            ILPR => 0,
            IBRD => self.ibrd,
            FBRD => self.fbrd,
            LCR_H => self.lcr_h,
            CR => self.cr,
            IFLS => self.ifls,
            IMSC => self.imsc,
            RIS => self.ris(),
            MIS => self.ris() & self.imsc,
            DMACR => self.dmacr,
            // PeriphID0..3 (PL011 r1p5) and PCellID0..3.
            0xFE0 => 0x11,
            0xFE4 => 0x10,
            0xFE8 => 0x34,
            0xFEC => 0x00,
            0xFF0 => 0x0D,
            0xFF4 => 0xF0,
            0xFF8 => 0x05,
            0xFFC => 0xB1,
            _ => 0,
        }
    }

    /// A write of `value` to register `offset`.
    pub fn write(&mut self, offset: u64, value: u32) {
        self.accesses += 1;
        match offset {
            DR => {
                self.tx_bytes += 1;
                phys_put(value as u8);
            }
            IBRD => self.ibrd = value & 0xFFFF,
            FBRD => self.fbrd = value & 0x3F,
            LCR_H => self.lcr_h = value & 0xFF,
            CR => self.cr = value & 0xFFFF,
            IFLS => self.ifls = value & 0x3F,
            IMSC => self.imsc = value & 0x7FF,
            DMACR => self.dmacr = value & 0x7,
            // The raised bits are derived from the FIFO states, so clearing is a no-op.
            ICR => {}
            _ => {}
        }
    }
}

/// Writes one byte to the physical console, waiting while its FIFO is full.
pub fn phys_put(byte: u8) {
    while phys_read(FR) & FR_TXFF != 0 {
        core::hint::spin_loop();
    }
    // SAFETY: as in `phys_read`: DR of the board's NS PL011, a Device write.
    unsafe { core::ptr::write_volatile((UART_BASE + DR) as *mut u32, u32::from(byte)) };
}
