// SPDX-License-Identifier: MIT OR Apache-2.0
//! REALM_CREATE, REALM_ACTIVATE and REALM_DESTROY through the real dispatcher: success for
//! every legal shape, each failure condition in the reference RMM's order, and what each
//! leaves behind (granule states, VMIDs, root table contents).

use rmm_abi::rmi::states::GranuleState;
use rmm_integration_tests::host::{Host, Shape, X4, status};
use rmm_integration_tests::{Rig, qemu_cpu_with_pa_range};

fn ok() -> [u64; 5] {
    [0, 0, 0, 0, X4]
}

fn err(x0: u64) -> [u64; 5] {
    [x0, 0, 0, 0, X4]
}

#[test]
fn every_legal_shape_is_created_and_destroyed() {
    // (s2sz, start level, roots), all the shapes the rules allow at the edges.
    let shapes = [
        (48, 0, 1),
        (40, 0, 1),
        (39, 1, 1),
        (32, 1, 1),
        (40, 1, 2),
        (43, 1, 16),
        (32, 2, 4),
        (33, 2, 8),
        (34, 2, 16),
    ];
    let host = Host::new();
    for (i, (s2sz, start_level, num_roots)) in shapes.into_iter().enumerate() {
        for hash in [0, 1] {
            let shape = Shape {
                s2sz,
                start_level,
                num_roots,
                hash,
                vmid: 10 + i as u64,
            };
            let realm = host.must_create_realm(shape);
            assert_eq!(host.rig.state(realm.rd), Some(GranuleState::Rd));
            for n in 0..num_roots {
                assert_eq!(
                    host.rig.state(realm.rtt_base + n * 0x1000),
                    Some(GranuleState::Rtt)
                );
            }
            assert_eq!(host.realm_destroy(realm.rd), ok(), "{shape:?}");
            assert_eq!(host.rig.state(realm.rd), Some(GranuleState::Delegated));
            for n in 0..num_roots {
                let root = realm.rtt_base + n * 0x1000;
                assert_eq!(host.rig.state(root), Some(GranuleState::Delegated));
                assert_eq!(host.rig.machine.inspect(root), [0; 4096], "root scrubbed");
            }
            assert_eq!(host.rig.machine.inspect(realm.rd), [0; 4096], "RD scrubbed");
        }
    }
}

#[test]
fn illegal_shapes_are_input_errors() {
    let host = Host::new();
    let rd = host.must_delegated();
    let base = host.must_delegated_run(16);
    let bad = [
        (31, 2, 2),  // IPA too small
        (49, 0, 2),  // IPA too large without LPA2
        (48, 1, 1),  // start level 1 cannot reach 48 bits
        (39, 0, 1),  // start level 0 needs at least 40 bits
        (40, 1, 1),  // needs 2 roots
        (40, 1, 4),  // needs exactly 2
        (39, 1, 2),  // needs exactly 1
        (35, 2, 16), // start level 2 covers at most 34 bits
        (32, 3, 1),  // start level 3 never validates
        (40, -1, 1), // level -1 needs LPA2
        (40, 4, 1),
    ];
    for (s2sz, start_level, num_roots) in bad {
        let shape = Shape {
            s2sz,
            start_level,
            num_roots,
            ..Shape::default()
        };
        let params = Host::realm_params(&shape, base);
        assert_eq!(
            host.realm_create(rd, &params),
            err(status::INPUT),
            "{shape:?}"
        );
        assert_eq!(host.rig.state(rd), Some(GranuleState::Delegated));
    }
}

#[test]
fn every_params_field_is_validated() {
    let host = Host::new();
    let rd = host.must_delegated();
    let base = host.must_delegated_run(2);
    let good = Host::realm_params(&Shape::default(), base);
    type Edit = fn(&mut rmm_abi::rmi::realm_params::RealmParams);
    let edits: [(&str, Edit); 11] = [
        ("LPA2 flag", |p| p.flags = 1),
        ("SVE flag (not offered)", |p| p.flags = 2),
        ("PMU flag (not offered)", |p| p.flags = 4),
        ("no breakpoints", |p| p.num_bps = 0),
        ("no watchpoints", |p| p.num_wps = 0),
        ("too many breakpoints", |p| p.num_bps = 6),
        ("too many watchpoints", |p| p.num_wps = 4),
        ("hash algorithm 2", |p| p.hash_algo = 2),
        ("s2sz upper bytes", |p| p.s2sz |= 1 << 32 >> 8),
        (
            "VMID 256+ is fine but 8-bit garbage above 16 bits is ignored",
            |p| p.vmid = 0x1_0001,
        ),
        ("misaligned rtt_base", |p| p.rtt_base += 8),
    ];
    for (what, edit) in edits {
        let mut params = good.clone();
        edit(&mut params);
        let out = host.realm_create(rd, &params);
        if what.starts_with("VMID") {
            // Only the low 16 bits are read: VMID 1 is fine.
            assert_eq!(out, ok(), "{what}");
            assert_eq!(host.realm_destroy(rd), ok());
        } else {
            assert_eq!(out, err(status::INPUT), "{what}");
        }
    }
    // Fields read as 32 bits ignore their upper half; reserved space is not checked.
    let mut params = good.clone();
    params.num_bps |= 0xFFFF_FFFF_0000_0000;
    params.hash_algo |= 0xFF00;
    assert_eq!(host.realm_create(rd, &params), ok());
}

/// The breakpoint and watchpoint counts are accepted from 1 up to the ID register fields
/// (QEMU's CPU: BRPs = 5, WRPs = 3), each bound checked on its own.
#[test]
fn breakpoint_and_watchpoint_counts_up_to_the_cpu_fields() {
    let host = Host::new();
    let rd = host.must_delegated();
    let base = host.must_delegated_run(2);
    let good = Host::realm_params(&Shape::default(), base);
    for (bps, wps, accepted) in [
        (1, 1, true),
        (5, 3, true),
        (5, 1, true),
        (1, 3, true),
        (6, 3, false),
        (5, 4, false),
        (0, 3, false),
        (5, 0, false),
        (0, 0, false),
        (6, 1, false),
        (1, 4, false),
    ] {
        let mut params = good.clone();
        params.num_bps = bps;
        params.num_wps = wps;
        let out = host.realm_create(rd, &params);
        if accepted {
            assert_eq!(out, ok(), "{bps} breakpoints, {wps} watchpoints");
            assert_eq!(host.realm_destroy(rd), ok());
        } else {
            assert_eq!(
                out,
                err(status::INPUT),
                "{bps} breakpoints, {wps} watchpoints"
            );
        }
    }
}

/// A starting level of 0 needs a CPU with at least 44 PA bits (the reference RMM's rule):
/// with PARange = 42 bits it is refused for every IPA width, with 44 bits it is allowed;
/// other levels only need the IPA width to fit the PA width.
#[test]
fn start_level_0_needs_a_44_bit_pa() {
    for (parange, pa_bits) in [(3, 42), (4, 44), (5, 48), (2, 40)] {
        let host = Host::on(Rig::qemu_on_cpu(&qemu_cpu_with_pa_range(parange)));
        let rd = host.must_delegated();
        let base = host.must_delegated_run(16);
        let cases = [
            (40, 0, 1),
            (42, 0, 1),
            (44, 0, 1),
            (40, 1, 2),
            (42, 1, 8),
            (44, 1, 32),
        ];
        for (s2sz, start_level, num_roots) in cases {
            let shape = Shape {
                s2sz,
                start_level,
                num_roots,
                ..Shape::default()
            };
            let fits = s2sz <= pa_bits && num_roots <= 16;
            let accepted = fits && (start_level > 0 || pa_bits >= 44);
            let out = host.realm_create(rd, &Host::realm_params(&shape, base));
            if accepted {
                assert_eq!(out, ok(), "{pa_bits}-bit PA: {shape:?}");
                assert_eq!(host.realm_destroy(rd), ok());
            } else {
                assert_eq!(out, err(status::INPUT), "{pa_bits}-bit PA: {shape:?}");
            }
        }
    }
}

#[test]
fn vmids_are_unique_among_live_realms_and_reusable_after_destroy() {
    let host = Host::new();
    let first = host.must_create_realm(Shape {
        vmid: 7,
        ..Shape::default()
    });
    let rd = host.must_delegated();
    let base = host.must_delegated_run(2);
    let params = Host::realm_params(
        &Shape {
            vmid: 7,
            ..Shape::default()
        },
        base,
    );
    assert_eq!(host.realm_create(rd, &params), err(status::INPUT));
    assert_eq!(host.rig.state(base), Some(GranuleState::Delegated));
    assert_eq!(host.realm_destroy(first.rd), ok());
    assert_eq!(host.realm_create(rd, &params), ok(), "VMID 7 is free again");
    // VMID 0 is accepted, like the reference RMM.
    host.must_create_realm(Shape {
        vmid: 0,
        ..Shape::default()
    });
}

#[test]
fn a_failed_create_releases_its_vmid() {
    let host = Host::new();
    let rd = host.must_delegated();
    let base = host.alloc(2); // roots not delegated: locking them fails
    let shape = Shape {
        vmid: 9,
        ..Shape::default()
    };
    assert_eq!(
        host.realm_create(rd, &Host::realm_params(&shape, base)),
        err(status::INPUT)
    );
    host.must_create_realm(shape);
}

#[test]
fn roots_in_the_unprotected_half_are_unassigned_ns() {
    let host = Host::new();
    let realm = host.must_create_realm(Shape::default()); // 40 bits, two level-1 roots
    // Protected half: [0, 2^39), the first root. Unprotected: the second root.
    let out = host.read_entry(realm.rd, 0, 1);
    assert_eq!(out, [0, 1, 0, 0, 0], "level 1, UNASSIGNED, RIPAS EMPTY");
    let out = host.read_entry(realm.rd, 1 << 39, 1);
    assert_eq!(
        out,
        [0, 1, 0, 0, 0],
        "UNASSIGNED_NS reads as UNASSIGNED, EMPTY"
    );
    // The raw tables: root 0 all zero, root 1 all NS.
    assert_eq!(host.rig.machine.inspect(realm.rtt_base), [0; 4096]);
    let ns = host.rig.machine.inspect(realm.rtt_base + 0x1000);
    for entry in ns.chunks_exact(8) {
        assert_eq!(u64::from_le_bytes(entry.try_into().unwrap()), 1 << 55);
    }
}

#[test]
fn a_root_spanning_both_halves_is_split_at_the_protected_top() {
    // One level-1 root maps 2^39 bytes in 1 GiB entries: at 39 bits the protected half is
    // entries 0..256 and the unprotected half 256..512; at 36 bits only entries 0..64 are in
    // the IPA space, 32..64 of them unprotected, and the rest stay zero.
    for (s2sz, protected, ipa_space) in [(39, 256, 512), (36, 32, 64)] {
        let host = Host::new();
        let realm = host.must_create_realm(Shape {
            s2sz,
            num_roots: 1,
            ..Shape::default()
        });
        let root = host.rig.machine.inspect(realm.rtt_base);
        for (index, entry) in root.chunks_exact(8).enumerate() {
            let entry = u64::from_le_bytes(entry.try_into().unwrap());
            let unassigned_ns = (protected..ipa_space).contains(&index);
            let expected = if unassigned_ns { 1 << 55 } else { 0 };
            assert_eq!(entry, expected, "{s2sz} bits, entry {index}");
        }
    }
}

#[test]
fn the_rd_may_be_no_root_but_may_follow_them() {
    let host = Host::new();
    let shape = Shape {
        s2sz: 41,
        num_roots: 4,
        ..Shape::default()
    };
    let roots = host.must_delegated_run(4);
    let after = host.must_delegated();
    assert_eq!(after, roots + 0x4000, "the allocator is contiguous here");
    let params = Host::realm_params(&shape, roots);
    for n in 0..4 {
        let rd = roots + n * 0x1000;
        assert_eq!(
            host.realm_create(rd, &params),
            err(status::INPUT),
            "root {n}"
        );
        assert_eq!(host.rig.state(rd), Some(GranuleState::Delegated));
    }
    assert_eq!(
        host.realm_create(after, &params),
        ok(),
        "the granule after them"
    );
}

#[test]
fn activate_only_from_new() {
    let host = Host::new();
    let realm = host.must_create_realm(Shape::default());
    assert_eq!(host.realm_activate(realm.rd), ok());
    assert_eq!(host.realm_activate(realm.rd), err(status::realm(0)));
    let not_rd = host.must_delegated();
    assert_eq!(host.realm_activate(not_rd), err(status::INPUT));
    assert_eq!(host.realm_activate(realm.rd + 1), err(status::INPUT));
    // An active realm is destroyed like any other.
    assert_eq!(host.realm_destroy(realm.rd), ok());
    assert_eq!(
        host.realm_destroy(realm.rd),
        err(status::INPUT),
        "double destroy"
    );
}

#[test]
fn destroy_refuses_realms_with_tables_or_recs() {
    let host = Host::new();
    let realm = host.must_create_realm(Shape::default());
    let tables = host.must_tables_to(&realm, 0, 2);
    assert_eq!(host.realm_destroy(realm.rd), err(status::realm(0)));
    // The level-1 parent is now all non-live: top is the end of the root (512 GiB).
    assert_eq!(
        host.rtt_destroy(realm.rd, 0, 2),
        [0, tables[0], 1 << 39, 0, X4]
    );
    let params = host.must_rec_params(0, true);
    let rec = host.must_delegated();
    assert_eq!(host.rec_create(realm.rd, rec, &params), ok());
    assert_eq!(host.realm_destroy(realm.rd), err(status::realm(0)));
    assert_eq!(host.rec_destroy(rec), ok());
    assert_eq!(host.realm_destroy(realm.rd), ok());
}
