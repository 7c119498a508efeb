// SPDX-License-Identifier: MIT OR Apache-2.0
//! Cold boot as TF-A drives it: valid manifests from QEMU and FVP are accepted, and each kind
//! of corruption is rejected with the `RMM_BOOT_COMPLETE` code the interface defines
//! (-6 for an unsupported manifest version, -7 for bad content).

use rmm::arch::El3Port;
use rmm::arch::fake::{FakeEl3, ManifestBuilder, pl011};
use rmm::boot::boot_status;
use rmm::boot::manifest::{MAX_CONSOLES, MAX_DRAM_BANKS};
use rmm_abi::el3::BootError;
use rmm_integration_tests::{boot_with, qemu_args};

fn fails_with(builder: &ManifestBuilder, error: BootError) {
    assert_eq!(
        boot_with(qemu_args(), builder).map(|_| ()),
        Err(error),
        "{builder:#x?}"
    );
}

fn data_error(change: impl FnOnce(&mut ManifestBuilder)) {
    let mut builder = ManifestBuilder::qemu();
    change(&mut builder);
    fails_with(&builder, BootError::ManifestDataError);
}

#[test]
fn qemu_manifest_is_accepted() {
    let monitor = boot_with(qemu_args(), &ManifestBuilder::qemu()).unwrap();
    let banks = monitor.config.manifest.dram.banks();
    assert_eq!(banks.len(), 1);
    assert_eq!((banks[0].base, banks[0].size), (0x4000_0000, 0xC000_0000));
    assert_eq!(monitor.config.manifest.dram.granule_count(), 0xC_0000);
    assert_eq!(monitor.config.manifest.console.base, 0x0900_0000);
    assert_eq!(
        (
            monitor.config.manifest.version.major,
            monitor.config.manifest.version.minor
        ),
        (0, 3)
    );
}

#[test]
fn fvp_manifest_with_full_console_checksum_is_accepted() {
    let mut args = qemu_args();
    args.shared_page = 0xFFBF_F000;
    args.cpu_count = 8;
    let monitor = boot_with(args, &ManifestBuilder::fvp()).unwrap();
    assert_eq!(monitor.config.manifest.dram.banks().len(), 2);
    assert_eq!(monitor.config.manifest.console.base, 0x1C0C_0000);
    assert_eq!(monitor.config.manifest.console.clk_in_hz, 14_745_600);
}

#[test]
fn newer_minor_manifest_versions_are_read() {
    let mut b = ManifestBuilder::qemu();
    b.version = 0x5;
    assert!(boot_with(qemu_args(), &b).is_ok());
}

#[test]
fn unsupported_manifest_versions_are_rejected_with_minus_6() {
    for version in [0x0, 0x2, 0x1_0000, 0x1_0003, 0x8000_0003] {
        let mut b = ManifestBuilder::qemu();
        b.version = version;
        fails_with(&b, BootError::ManifestVersionNotSupported);
    }
}

#[test]
fn corrupted_dram_checksum() {
    data_error(|b| b.dram_checksum_delta = 1);
    data_error(|b| b.dram_checksum_delta = u64::MAX);
}

#[test]
fn corrupted_console_checksum() {
    data_error(|b| b.console_checksum_delta = 1);
}

#[test]
fn console_checksum_of_the_other_platform_rule_is_accepted() {
    let mut b = ManifestBuilder::qemu();
    b.rule = rmm::arch::fake::ConsoleChecksumRule::Fvp;
    assert!(boot_with(qemu_args(), &b).is_ok());
}

#[test]
fn no_dram_banks() {
    data_error(|b| b.banks.clear());
}

#[test]
fn too_many_dram_banks() {
    data_error(|b| {
        b.banks = (0..=MAX_DRAM_BANKS as u64)
            .map(|i| (0x1_0000_0000 * (i + 1), 0x1000))
            .collect();
    });
}

#[test]
fn bank_count_larger_than_the_array() {
    data_error(|b| b.num_banks = Some(u64::MAX));
    data_error(|b| b.num_banks = Some(1 << 60));
}

#[test]
fn bank_array_outside_the_shared_page() {
    data_error(|b| b.banks_ptr = Some(0));
    data_error(|b| b.banks_ptr = Some(0x418F_E000));
    data_error(|b| b.banks_ptr = Some(0x4190_0000));
    data_error(|b| b.banks_offset = 0xFF8);
    data_error(|b| b.banks_ptr = Some(u64::MAX - 7));
}

#[test]
fn misaligned_bank_array() {
    data_error(|b| b.banks_offset = 0x44);
}

#[test]
fn zero_sized_bank() {
    data_error(|b| b.banks = vec![(0x4000_0000, 0)]);
}

#[test]
fn misaligned_bank_base_or_size() {
    data_error(|b| b.banks = vec![(0x4000_0800, 0xC000_0000)]);
    data_error(|b| b.banks = vec![(0x4000_0000, 0xC000_0800)]);
}

#[test]
fn bank_wrapping_past_the_address_space() {
    data_error(|b| b.banks = vec![(0xFFFF_FFFF_FFFF_F000, 0x2000)]);
}

#[test]
fn unsorted_or_overlapping_banks() {
    data_error(|b| b.banks = vec![(0x8_8000_0000, 0x1000), (0x8000_0000, 0x1000)]);
    data_error(|b| b.banks = vec![(0x8000_0000, 0x2000), (0x8000_1000, 0x1000)]);
}

#[test]
fn adjacent_banks_are_fine() {
    let mut b = ManifestBuilder::qemu();
    b.banks = vec![(0x8000_0000, 0x1000), (0x8000_1000, 0x1000)];
    assert!(boot_with(qemu_args(), &b).is_ok());
}

#[test]
fn no_consoles() {
    data_error(|b| b.consoles.clear());
}

#[test]
fn too_many_consoles() {
    data_error(|b| b.consoles = vec![pl011(0x0900_0000, 1, 115_200); MAX_CONSOLES + 1]);
}

#[test]
fn console_array_outside_the_shared_page() {
    data_error(|b| b.consoles_ptr = Some(0x1000));
    data_error(|b| b.consoles_offset = 0xFE0);
    data_error(|b| b.num_consoles = Some(u64::MAX));
}

#[test]
fn console_that_is_not_a_pl011() {
    data_error(|b| b.consoles[0].name = *b"uart8250");
    data_error(|b| b.consoles[0].name = *b"pl011xxx");
    data_error(|b| b.consoles[0].name = [0; 8]);
}

#[test]
fn console_with_bad_fields() {
    data_error(|b| b.consoles[0].base = 0);
    data_error(|b| b.consoles[0].base = 0x0900_0800);
    data_error(|b| b.consoles[0].map_pages = 0);
    data_error(|b| b.consoles[0].baud_rate = 0);
}

#[test]
fn first_usable_pl011_is_chosen() {
    let mut b = ManifestBuilder::qemu();
    b.consoles = vec![pl011(0, 1, 115_200), pl011(0x0904_0000, 1, 115_200)];
    // The first entry is unusable (base 0), the second is picked.
    let monitor = boot_with(qemu_args(), &b).unwrap();
    assert_eq!(monitor.config.manifest.console.base, 0x0904_0000);
}

#[test]
fn boot_errors_reach_el3_as_negative_codes() {
    let mut b = ManifestBuilder::qemu();
    b.dram_checksum_delta = 1;
    let status = boot_status(boot_with(qemu_args(), &b).map(|_| ()));
    assert_eq!(status as i64, -7);
    let mut el3 = FakeEl3::default();
    assert!(
        el3.boot_complete(status).is_none(),
        "no RMI after a failed boot"
    );
    assert_eq!(el3.boot_status, Some((-7i64) as u64));
}

#[test]
fn bad_entry_registers_stop_before_the_page_is_read() {
    let mut args = qemu_args();
    args.ifc_version = 0x2;
    let result = rmm::boot::cold_boot(
        args,
        rmm_integration_tests::QEMU_IMAGE,
        |_, _| panic!("the shared page must not be read when x1 is invalid"),
        &rmm_integration_tests::qemu_cpu(),
    );
    assert_eq!(result.map(|_| ()), Err(BootError::VersionNotValid));
}

#[test]
fn garbage_pages_never_panic_and_never_pass() {
    // A cheap deterministic fuzz: pages of pseudo-random words, with the header pointing into
    // the page so the parser gets past the first checks.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..2000 {
        let mut page = [0u8; 4096];
        for chunk in page.chunks_exact_mut(8) {
            chunk.copy_from_slice(&next().to_le_bytes());
        }
        page[0..8].copy_from_slice(&3u64.to_le_bytes());
        page[16..24].copy_from_slice(&(next() % 4).to_le_bytes());
        page[24..32].copy_from_slice(&(0x418F_F000 + (next() % 512) * 8).to_le_bytes());
        let words = rmm::boot::manifest::page_words(&page);
        let result = rmm::boot::manifest::parse(&words, 0x418F_F000);
        assert_eq!(result.map(|_| ()), Err(BootError::ManifestDataError));
    }
}
