// SPDX-License-Identifier: MIT OR Apache-2.0
//! The stage-2 TLB regime: every CPU installs the realms' VMID width at boot, and every
//! invalidation names the whole VMID of the realm whose entries went away, on both sides
//! of 256 (audit finding: with VTCR_EL2.VS left at EL3's 0, an invalidation for VMID 0x100
//! would hit VMID 0x00).

use rmm::arch::VmidWidth;
use rmm::arch::fake::ManifestBuilder;
use rmm::arch::fake::machine::FakeMachine;
use rmm_integration_tests::host::{Host, Shape, status};
use rmm_integration_tests::{QEMU_IMAGE, Rig, boot_on_cpu, qemu_args, qemu_cpu};

/// A host whose CPU has only 8-bit VMIDs (ID_AA64MMFR1_EL1.VMIDBits = 0).
fn host_with_8_bit_vmids() -> Host {
    let mut cpu = qemu_cpu();
    cpu.id_aa64mmfr1 &= !(0xF << 4);
    let monitor = boot_on_cpu(qemu_args(), &ManifestBuilder::qemu(), QEMU_IMAGE, &cpu)
        .expect("boots without FEAT_VMID16");
    Host::on(Rig::on(monitor, FakeMachine::qemu()))
}

#[test]
fn boot_installs_the_realms_vmid_width() {
    assert_eq!(
        Host::new().rig.machine.vmid_width(),
        Some(VmidWidth::Bits16)
    );
    assert_eq!(
        host_with_8_bit_vmids().rig.machine.vmid_width(),
        Some(VmidWidth::Bits8)
    );
}

/// Maps one DATA page into a realm of `vmid`, destroys it and returns the VMIDs invalidated.
fn destroy_one_page(host: &Host, vmid: u64) -> Vec<u16> {
    let realm = host.must_create_realm(Shape {
        vmid,
        ..Shape::default()
    });
    host.must_tables_to(&realm, 0, 3);
    let data = host.must_delegated();
    let src = host.ns_page(&[0x5A; 4096]);
    assert_eq!(
        host.data_create(realm.rd, data, 0, src, 0)[0],
        status::SUCCESS
    );
    host.rig.machine.take_stage2_invalidations();
    assert_eq!(host.data_destroy(realm.rd, 0)[0], status::SUCCESS);
    host.rig.machine.take_stage2_invalidations()
}

#[test]
fn invalidations_name_the_whole_vmid_on_both_sides_of_256() {
    let host = Host::new();
    for vmid in [0x00, 0xFF, 0x100, 0x1FF, 0xFFFF] {
        assert_eq!(
            destroy_one_page(&host, vmid),
            [vmid as u16],
            "VMID {vmid:#x}"
        );
    }
}

#[test]
fn eight_bit_vmids_refuse_vmid_256_and_invalidate_within_the_width() {
    let host = host_with_8_bit_vmids();
    let rd = host.must_delegated();
    let roots = host.must_delegated_run(2);
    let params = Host::realm_params(
        &Shape {
            vmid: 0x100,
            ..Shape::default()
        },
        roots,
    );
    assert_eq!(host.realm_create(rd, &params)[0], status::INPUT);
    assert_eq!(destroy_one_page(&host, 0xFF), [0xFF]);
}

#[test]
#[should_panic(expected = "before the resting controls were installed")]
fn an_invalidation_before_the_cpu_was_prepared_stops() {
    use rmm::arch::Machine;
    FakeMachine::qemu().invalidate_stage2(1);
}
