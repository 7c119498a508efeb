// SPDX-License-Identifier: MIT OR Apache-2.0
//! Host-side fakes of the `arch` boundary, for `cargo test` only (never in firmware).
//!
//! - [`FakeEl3`] plays EL3's part of the RMI loop: it hands the monitor scripted requests and
//!   records the boot status and every result, exactly as TF-A's RMMD forwards them.
//! - [`ManifestBuilder`] writes a shared page the way TF-A 2.12 fills it on QEMU and FVP
//!   (checksums included), with knobs to corrupt each field.
//! - [`RecordingConsole`] captures log output.

extern crate std;

mod hash;
pub mod machine;
pub mod tlb;

pub use machine::{
    FakeMachine, FakePas, FakeRecId, HostFault, MachineImage, MemorySnapshot, MemoryView,
};
pub use tlb::{Access, Leaf, Stage2Fault, StaleTranslation};

use crate::GRANULE_SIZE;
use crate::arch::{ConsoleSink, El3Port};
use crate::arch::{RmiRequest, RmiResult};
use rmm_abi::el3::{BootManifestHeader, ConsoleInfo, ConsoleList, NsDramBank, NsDramInfo};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::vec::Vec;
use zerocopy::IntoBytes;

/// Simulated EL3 for the RMI loop.
#[derive(Debug, Default)]
pub struct FakeEl3 {
    /// Requests still to deliver, in order.
    pub pending: VecDeque<RmiRequest>,
    /// x1 of `RMM_BOOT_COMPLETE`, once called.
    pub boot_status: Option<u64>,
    /// Every `RMM_RMI_REQ_COMPLETE` result, in order.
    pub results: Vec<RmiResult>,
}

impl FakeEl3 {
    /// EL3 that will forward `requests` one by one.
    pub fn with_requests(requests: impl IntoIterator<Item = RmiRequest>) -> Self {
        Self {
            pending: requests.into_iter().collect(),
            ..Self::default()
        }
    }
}

impl El3Port for FakeEl3 {
    fn boot_complete(&mut self, status: u64) -> Option<RmiRequest> {
        self.boot_status = Some(status);
        if status == 0 {
            self.pending.pop_front()
        } else {
            // TF-A's RMMD never resumes an RMM that reported a boot error.
            None
        }
    }

    fn rmi_complete(&mut self, result: &RmiResult) -> Option<RmiRequest> {
        self.results.push(*result);
        self.pending.pop_front()
    }
}

/// Which console-checksum rule EL3 used (TF-A 2.12.1 differs per platform).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleChecksumRule {
    /// QEMU: `base + map_pages + clk_in_hz + baud_rate` per entry.
    Qemu,
    /// FVP: every 64-bit word of each entry, name and flags included.
    Fvp,
}

/// Builds an EL3-RMM shared page holding a boot manifest.
#[derive(Debug, Clone)]
pub struct ManifestBuilder {
    /// PA of the shared page (pointers in the manifest are PAs inside it).
    pub page_pa: u64,
    /// Manifest version word (0x3 = v0.3).
    pub version: u32,
    /// DRAM banks (base, size) as written.
    pub banks: Vec<(u64, u64)>,
    /// Console entries as written.
    pub consoles: Vec<ConsoleInfo>,
    /// Byte offset of the bank array in the page.
    pub banks_offset: u64,
    /// Byte offset of the console array in the page.
    pub consoles_offset: u64,
    /// Overrides `num_banks` (default: `banks.len()`).
    pub num_banks: Option<u64>,
    /// Overrides `banks_ptr` (default: `page_pa + banks_offset`).
    pub banks_ptr: Option<u64>,
    /// Overrides `num_consoles`.
    pub num_consoles: Option<u64>,
    /// Overrides `consoles_ptr`.
    pub consoles_ptr: Option<u64>,
    /// Console checksum rule.
    pub rule: ConsoleChecksumRule,
    /// Added to the DRAM checksum after computing it (non-zero corrupts it).
    pub dram_checksum_delta: u64,
    /// Added to the console checksum after computing it.
    pub console_checksum_delta: u64,
}

/// A PL011 console entry.
pub fn pl011(base: u64, clk_in_hz: u64, baud_rate: u64) -> ConsoleInfo {
    let mut name = [0u8; 8];
    name[..5].copy_from_slice(b"pl011");
    ConsoleInfo {
        base,
        map_pages: 1,
        name,
        clk_in_hz,
        baud_rate,
        flags: 0,
    }
}

impl ManifestBuilder {
    /// What TF-A 2.12.1 writes on QEMU `virt`: one 3 GiB bank at 0x4000_0000, UART0.
    pub fn qemu() -> Self {
        Self {
            page_pa: 0x418F_F000,
            version: 0x3,
            banks: std::vec![(0x4000_0000, 0xC000_0000)],
            consoles: std::vec![pl011(0x0900_0000, 1, 115_200)],
            banks_offset: 0x40,
            consoles_offset: 0x100,
            num_banks: None,
            banks_ptr: None,
            num_consoles: None,
            consoles_ptr: None,
            rule: ConsoleChecksumRule::Qemu,
            dram_checksum_delta: 0,
            console_checksum_delta: 0,
        }
    }

    /// What TF-A 2.12.1 writes on the FVP: two banks, UART3, full-entry console checksum.
    pub fn fvp() -> Self {
        Self {
            page_pa: 0xFFBF_F000,
            banks: std::vec![(0x8000_0000, 0x7C00_0000), (0x8_8000_0000, 0x8000_0000)],
            consoles: std::vec![pl011(0x1C0C_0000, 14_745_600, 115_200)],
            rule: ConsoleChecksumRule::Fvp,
            ..Self::qemu()
        }
    }

    /// Writes the page. Checksums are computed over whatever the fields say (overrides
    /// included), so a semantic corruption is not masked by a checksum failure.
    pub fn build(&self) -> [u8; GRANULE_SIZE] {
        let mut page = [0u8; GRANULE_SIZE];
        let num_banks = self.num_banks.unwrap_or(self.banks.len() as u64);
        let banks_ptr = self.banks_ptr.unwrap_or(self.page_pa + self.banks_offset);
        let num_consoles = self.num_consoles.unwrap_or(self.consoles.len() as u64);
        let consoles_ptr = self
            .consoles_ptr
            .unwrap_or(self.page_pa + self.consoles_offset);

        let mut dram_sum = num_banks.wrapping_add(banks_ptr);
        for (i, &(base, size)) in self.banks.iter().enumerate() {
            dram_sum = dram_sum.wrapping_add(base).wrapping_add(size);
            let bank = NsDramBank { base, size };
            write_at(
                &mut page,
                self.banks_offset as usize + 16 * i,
                bank.as_bytes(),
            );
        }
        let mut console_sum = num_consoles.wrapping_add(consoles_ptr);
        for (i, console) in self.consoles.iter().enumerate() {
            let words: Vec<u64> = match self.rule {
                ConsoleChecksumRule::Qemu => std::vec![
                    console.base,
                    console.map_pages,
                    console.clk_in_hz,
                    console.baud_rate
                ],
                ConsoleChecksumRule::Fvp => console
                    .as_bytes()
                    .chunks_exact(8)
                    .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
                    .collect(),
            };
            console_sum = words.iter().fold(console_sum, |s, w| s.wrapping_add(*w));
            let offset = self.consoles_offset as usize + 48 * i;
            write_at(&mut page, offset, console.as_bytes());
        }

        let header = BootManifestHeader {
            version: self.version,
            plat_dram: NsDramInfo {
                num_banks,
                banks_ptr,
                checksum: dram_sum
                    .wrapping_neg()
                    .wrapping_add(self.dram_checksum_delta),
            },
            plat_console: ConsoleList {
                num_consoles,
                consoles_ptr,
                checksum: console_sum
                    .wrapping_neg()
                    .wrapping_add(self.console_checksum_delta),
            },
            ..BootManifestHeader::default()
        };
        write_at(&mut page, 0, header.as_bytes());
        page
    }
}

/// Copies `bytes` into `page` at `offset`, silently clipping at the page end (a builder knob
/// may deliberately place an array partly outside the page).
fn write_at(page: &mut [u8; GRANULE_SIZE], offset: usize, bytes: &[u8]) {
    if offset >= GRANULE_SIZE {
        return;
    }
    let len = bytes.len().min(GRANULE_SIZE - offset);
    page[offset..offset + len].copy_from_slice(&bytes[..len]);
}

/// A console that keeps everything written to it.
#[derive(Debug, Default)]
pub struct RecordingConsole {
    /// All bytes written so far.
    pub output: Mutex<Vec<u8>>,
}

impl ConsoleSink for RecordingConsole {
    fn write_bytes(&self, bytes: &[u8]) {
        if let Ok(mut out) = self.output.lock() {
            out.extend_from_slice(bytes);
        }
    }

    fn cpu_index(&self) -> usize {
        0
    }
}
