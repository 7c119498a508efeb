// SPDX-License-Identifier: MIT OR Apache-2.0
//! The boot target: cold boot from EL3's entry registers, the CPU's ID registers and the
//! shared page, either raw bytes or a manifest written by [`ManifestBuilder`] from fields the
//! input chooses (so the checks past the checksums are reached). A refused boot must be
//! refused without a panic; an accepted one must describe what the RMM relies on: 1..=8
//! granule-aligned, non-empty, ascending, disjoint DRAM banks that do not wrap, a usable
//! PL011 console, a 8- or 16-bit VMID width; and parsing is deterministic.

use crate::input::Input;
use rmm::GRANULE_SIZE;
use rmm::arch::fake::{ConsoleChecksumRule, ManifestBuilder, pl011};
use rmm::boot::{self, args::RawBootArgs};
use rmm::granule::GranuleTable;
use rmm_integration_tests::{QEMU_IMAGE, qemu_args, qemu_cpu};

const BASES: [u64; 6] = [
    0x4000_0000,
    0x8000_0000,
    0x8_8000_0000,
    0x418F_F000,
    0,
    0x4010_0000,
];
const SIZES: [u64; 6] = [0xC000_0000, 0x7C00_0000, 0x1000, 0x8000_0000, 0, 0x800];
const VERSIONS: [u64; 5] = [0x3, 0x4, 0x2, 0x1_0003, 0x3_0000];
const CPU_COUNTS: [u64; 5] = [32, 1, 4, 33, 0];
const PAGES: [u64; 5] = [0x418F_F000, 0x418F_E000, 0xFFBF_F000, 0, 0x4010_0000];
const OFFSETS: [u64; 5] = [0x40, 0x100, 0x38, 0xFF8, 0x1000];

/// Runs the boot target on `data`.
pub fn run(data: &[u8]) {
    let input = Input::new(data);
    let mode = input.byte();
    let mut args = qemu_args();
    if mode & 0x10 != 0 {
        args = RawBootArgs {
            cpu_index: u64::from(input.byte()),
            ifc_version: input.pick(&[0x4, 0x3, 0x5, 0x1_0004]),
            cpu_count: input.pick(&CPU_COUNTS),
            shared_page: input.pick(&PAGES),
        };
    }
    let mut cpu = qemu_cpu();
    if mode & 0x20 != 0 {
        let regs = [
            &mut cpu.id_aa64mmfr0,
            &mut cpu.id_aa64mmfr1,
            &mut cpu.id_aa64pfr0,
            &mut cpu.id_aa64dfr0,
            &mut cpu.ich_vtr,
            &mut cpu.id_aa64isar0,
            &mut cpu.more.id_aa64pfr1,
            &mut cpu.more.id_aa64zfr0,
            &mut cpu.more.id_aa64dfr1,
            &mut cpu.more.id_aa64isar1,
            &mut cpu.more.id_aa64mmfr2,
        ];
        let n = regs.len();
        let which = input.below(n);
        for (i, r) in regs.into_iter().enumerate() {
            if i == which || input.byte() & 0x80 != 0 {
                *r = input.u64();
            }
        }
    }
    // The builder computes its default pointers as `page_pa + offset` (eagerly): an arbitrary
    // page address near the top would overflow there, so such inputs use the raw page.
    let page = if mode & 1 == 0 || args.shared_page > u64::MAX - 0x2000 {
        let mut page = [0u8; GRANULE_SIZE];
        for b in page.iter_mut().take(data.len()) {
            if input.is_empty() {
                break;
            }
            *b = input.byte();
        }
        page
    } else {
        structured(&input, args.shared_page).build()
    };
    let boot = |page: [u8; GRANULE_SIZE]| {
        boot::cold_boot(
            args,
            QEMU_IMAGE,
            |pa, out: &mut boot::manifest::PageWords| {
                assert_eq!(pa, args.shared_page, "copied a page other than x3");
                *out = boot::manifest::page_words(&page);
            },
            &cpu,
        )
    };
    let first = boot(page);
    assert_eq!(first, boot(page), "cold boot is not deterministic");
    let Ok(config) = first else {
        return;
    };
    let banks = config.manifest.dram.banks();
    assert!((1..=8).contains(&banks.len()), "{} banks", banks.len());
    let mut end = 0u64;
    for (i, b) in banks.iter().enumerate() {
        assert!(
            b.size != 0 && b.size % 4096 == 0 && b.base % 4096 == 0,
            "bank {b:?}"
        );
        let top = b.base.checked_add(b.size).expect("bank wraps");
        assert!(
            i == 0 || b.base >= end,
            "banks not ascending and disjoint: {banks:?}"
        );
        end = top;
    }
    let console = config.manifest.console;
    assert!(console.base != 0 && console.base % 4096 == 0 && console.baud_rate != 0);
    assert!(console.map_pages != 0);
    assert!(matches!(config.vmid_bits, 8 | 16));
    let _ = GranuleTable::entry_count(&config.manifest.dram);
    let _ = GranuleTable::storage_bytes(&config.manifest.dram);
}

fn structured(input: &Input, page_pa: u64) -> ManifestBuilder {
    let mut b = ManifestBuilder::qemu();
    b.page_pa = page_pa;
    let shape = input.byte();
    if shape & 1 != 0 {
        b.version = input.pick(&VERSIONS) as u32;
    }
    if shape & 2 != 0 {
        b.banks = (0..input.byte() % 10)
            .map(|_| (input.pick(&BASES), input.pick(&SIZES)))
            .collect();
    }
    if shape & 4 != 0 {
        b.consoles = (0..input.byte() % 6)
            .map(|_| {
                let mut c = pl011(
                    input.pick(&[0x0900_0000, 0x1C0C_0000, 0, 0x0900_0800]),
                    1,
                    115_200,
                );
                let knobs = input.byte();
                if knobs & 1 != 0 {
                    c.name = input.bytes();
                }
                if knobs & 2 != 0 {
                    c.map_pages = input.pick(&[0, 1, 2]);
                    c.baud_rate = input.pick(&[0, 115_200]);
                    c.clk_in_hz = input.pick(&[0, 1, 24_000_000]);
                }
                if knobs & 4 != 0 {
                    c.flags = input.u64();
                }
                c
            })
            .collect();
    }
    if shape & 8 != 0 {
        b.banks_offset = input.pick(&OFFSETS) % 0x1100;
        b.consoles_offset = input.pick(&OFFSETS) % 0x1100;
    }
    if shape & 0x10 != 0 {
        b.num_banks = Some(input.pick(&[0, 1, 2, 8, 9]));
        b.num_consoles = Some(input.pick(&[0, 1, 4, 5]));
    }
    // The builder adds the offsets to the page address; an arbitrary page address must not
    // overflow there.
    b.banks_ptr = Some(page_pa.wrapping_add(b.banks_offset));
    b.consoles_ptr = Some(page_pa.wrapping_add(b.consoles_offset));
    if shape & 0x20 != 0 {
        let p = |off: u64| page_pa.wrapping_add(off);
        b.banks_ptr = Some(input.pick(&[p(0x40), p(0x44), p(u64::MAX - 7), p(0xFF0)]));
        b.consoles_ptr = Some(input.pick(&[p(0x100), p(0xFE0), 0]));
    }
    if shape & 0x40 != 0 {
        b.rule = ConsoleChecksumRule::Fvp;
    }
    if shape & 0x80 != 0 {
        b.dram_checksum_delta = input.pick(&[0, 1, u64::MAX]);
        b.console_checksum_delta = input.pick(&[0, 1, u64::MAX]);
    }
    b
}
