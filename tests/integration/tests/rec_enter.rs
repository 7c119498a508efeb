// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_REC_ENTER through the real dispatcher, with a simulated realm CPU (`FakeRealm`) that
//! plays the realm's side: its SMCs, MMIO accesses and faults. Checks the failure conditions
//! in the reference order, what each exit shows the host (and hides), what the next entry
//! completes, and the RSI calls, against values computed here.

use rmm_abi::rmi::fid;
use rmm_abi::rsi::fid as rsi;
use rmm_integration_tests::host::{X4, status};
use rmm_integration_tests::running::*;
use std::sync::{Arc, Mutex};

#[test]
fn failure_conditions_in_reference_order() {
    let rig = setup(false);
    let (rd, rec, run) = (rig.realm.rd, rig.rec, rig.run);
    let call = |r: u64, p: u64| rig.host.call(fid::REC_ENTER, &[r, p, 0, X4]);
    // The run page is checked before the REC.
    assert_eq!(call(rd, rd)[0], status::INPUT, "RD as run page");
    assert_eq!(call(rec, run + 8)[0], status::INPUT, "misaligned run page");
    assert_eq!(call(rec, 0x1000)[0], status::INPUT, "run page outside DRAM");
    assert_eq!(call(rd, run)[0], status::INPUT, "RD as the REC");
    assert_eq!(call(run, run)[0], status::INPUT, "NS page as the REC");
    assert_eq!(call(rec, run)[0], status::realm(0), "realm still NEW");
    // A second REC that is not runnable (RECs can only be created while the realm is NEW).
    let idle = rig.host.must_delegated();
    let idle_params = rig.host.must_rec_params(1, false);
    assert_eq!(
        rig.host.rec_create(rd, idle, &idle_params)[0],
        status::SUCCESS
    );
    assert_eq!(rig.host.realm_activate(rd)[0], status::SUCCESS);
    assert_eq!(call(idle, run)[0], status::REC, "REC not runnable");
    // Completions the last exit does not allow.
    for flags in [1, 2, 3] {
        assert_eq!(
            rig.enter(flags, &[])[0],
            status::REC,
            "flags {flags} on the first entry"
        );
    }
    // The exit page is untouched by failed commands.
    assert_eq!(rig.exit(0), 0);
}

#[test]
fn host_call_round_trip() {
    let rig = setup(true);
    let call_pa = rig.call_pa;
    script(
        rig.machine(),
        vec![
            Box::new(move |m, config, ctx| {
                assert_ne!(config.hcr & 1 << 19, 0, "SMC traps (TSC)");
                assert_eq!(config.vttbr >> 48, 1, "the realm's VMID");
                assert_eq!(ctx.gprs.pc, IMAGE_IPA, "entry point");
                assert_eq!(ctx.gprs.pstate, 0x3C5, "EL1h, DAIF masked");
                let mut call = [0u8; 0x100];
                call[..2].copy_from_slice(&0x1234u16.to_le_bytes());
                for i in 0..31 {
                    call[8 + i * 8..16 + i * 8].copy_from_slice(&(i as u64 * 3).to_le_bytes());
                }
                m.realm_write(call_pa + 0x100, &call);
                ctx.gprs.x[20] = 0xABCD;
                rsi_call(ctx, rsi::HOST_CALL, &[CALL_IPA + 0x100])
            }),
            Box::new(move |m, _, ctx| {
                assert_eq!(ctx.gprs.x[0], 0, "RSI_SUCCESS after completion");
                assert_eq!(ctx.gprs.x[1], CALL_IPA + 0x100, "x1 untouched");
                assert_eq!(ctx.gprs.x[20], 0xABCD, "other registers kept");
                assert_eq!(ctx.gprs.pc, IMAGE_IPA + 4, "past the SMC");
                let mut back = [0u8; 0x100];
                m.realm_read(call_pa + 0x100, &mut back);
                assert_eq!(&back[..2], &0x1234u16.to_le_bytes(), "imm not rewritten");
                for i in 0..31 {
                    let v = u64::from_le_bytes(back[8 + i * 8..16 + i * 8].try_into().unwrap());
                    assert_eq!(v, 100 + i as u64, "result {i}");
                }
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 5, "HOST_CALL exit");
    assert_eq!(rig.exit(0x600), 0x1234, "imm");
    for i in 0..31 {
        assert_eq!(rig.exit(0x200 + i * 8), i as u64 * 3, "exit gprs[{i}]");
    }
    assert_eq!([rig.exit(0x100), rig.exit(0x108), rig.exit(0x110)], [0; 3]);
    let results: Vec<u64> = (0..31).map(|i| 100 + i).collect();
    assert_eq!(rig.enter(0, &results)[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "IRQ exit");
    assert_eq!(rig.exit(0x200), 0, "no registers shown on an IRQ exit");
}

#[test]
fn mmio_read_is_emulated_and_sanitised() {
    let rig = setup(true);
    let ipa = UNPROTECTED + 0x1008;
    // Halfword load, sign-extended into x5 (SF), from an unprotected IPA.
    let esr = DABT | ISV | 0b01 << 22 | 1 << 21 | 5 << 16 | 1 << 15 | 0x07;
    script(
        rig.machine(),
        vec![
            Box::new(move |_, _, ctx| {
                ctx.gprs.x[5] = 0x5555;
                abort_at(ipa, esr)
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[5], 0xFFFF_FFFF_FFFF_8001, "sign-extended value");
                assert_eq!(ctx.gprs.pc, IMAGE_IPA + 4, "past the load");
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 0, "SYNC");
    let shown = rig.exit(0x100);
    assert_eq!(shown, esr & 0xFDC0_9E7F, "SRT and SSE hidden from the host");
    assert_eq!(rig.exit(0x108), 0x008, "FAR: page offset only");
    assert_eq!(rig.exit(0x110), (ipa >> 12) << 4, "HPFAR");
    assert_eq!(rig.enter(1, &[0xFFFF_8001])[0], status::SUCCESS);
    // Emulated once; a second EMUL_MMIO has nothing to complete.
    assert_eq!(rig.enter(1, &[])[0], status::REC);
}

#[test]
fn mmio_write_value_and_protected_fault() {
    let rig = setup(true);
    let write = DABT | ISV | 0b10 << 22 | 3 << 16 | 1 << 15 | 1 << 6 | 0x07;
    let protected = DABT | 0x07;
    script(
        rig.machine(),
        vec![
            Box::new(move |_, _, ctx| {
                ctx.gprs.x[3] = 0xDEAD_BEEF_1234_5678;
                abort_at(UNPROTECTED + 0x1000, write)
            }),
            Box::new(move |_, _, ctx| {
                assert_eq!(ctx.gprs.pc, IMAGE_IPA + 4);
                abort_at(UNPOPULATED_IPA, protected | ISV)
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0x200), 0x1234_5678, "write value cut to 4 bytes");
    assert_eq!(rig.enter(1, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 0);
    assert_eq!(
        rig.exit(0x100),
        protected & 0xFC00_1E3F,
        "protected fault: no ISV (or IL) shown"
    );
    assert_eq!(rig.exit(0x108), 0, "no FAR for protected memory");
    assert_eq!(rig.exit(0x110), (UNPOPULATED_IPA >> 12) << 4);
    assert_eq!(rig.exit(0x200), 0);
    assert_eq!(
        rig.enter(1, &[])[0],
        status::REC,
        "cannot emulate a protected fault"
    );
    assert_eq!(
        rig.enter(2, &[])[0],
        status::REC,
        "no SEA for protected memory"
    );
}

#[test]
fn empty_memory_and_hvc_become_realm_exceptions() {
    let rig = setup(true);
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| {
                ctx.el1.vbar = 0x10_0000;
                ctx.gprs.pc = IMAGE_IPA + 0x40;
                // HVC traps with ELR past it.
                sync(HVC)
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.pc, 0x10_0200, "current-EL synchronous vector");
                assert_eq!(ctx.el1.esr, 0x0200_0000, "UNDEFINED");
                assert_eq!(ctx.el1.elr, IMAGE_IPA + 0x40);
                ctx.gprs.pc = IMAGE_IPA + 0x80;
                ctx.gprs.pstate = 0x3C5;
                abort_at(EMPTY_IPA, DABT | 0x07)
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(
                    ctx.el1.esr >> 26,
                    0x25,
                    "external abort from the current EL"
                );
                assert_eq!(ctx.el1.esr & 0x3F, 0x10);
                assert_eq!(ctx.el1.elr, IMAGE_IPA + 0x80);
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "only the IRQ reached the host");
    assert_eq!(rig.machine().take_realm_entries().len(), 3);
}

#[test]
fn rsi_calls_answer_the_realm() {
    let rig = setup(true);
    let call_pa = rig.call_pa;
    let rim = Arc::new(Mutex::new([0u64; 4]));
    let seen = Arc::clone(&rim);
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| rsi_call(ctx, rsi::VERSION, &[1 << 16])),
            Box::new(|_, _, ctx| {
                assert_eq!(&ctx.gprs.x[..3], &[0, 1 << 16, 1 << 16]);
                rsi_call(ctx, rsi::VERSION, &[2 << 16])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(&ctx.gprs.x[..3], &[1, 1 << 16, 1 << 16], "unsupported");
                rsi_call(ctx, rsi::REALM_CONFIG, &[CALL_IPA])
            }),
            Box::new(move |m, _, ctx| {
                assert_eq!(ctx.gprs.x[0], 0, "REALM_CONFIG");
                let mut page = [0u8; 16];
                m.realm_read(call_pa, &mut page);
                assert_eq!(u64::from_le_bytes(page[..8].try_into().unwrap()), 40);
                assert_eq!(u64::from_le_bytes(page[8..].try_into().unwrap()), 0);
                rsi_call(ctx, rsi::REALM_CONFIG, &[EMPTY_IPA])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], 1, "REALM_CONFIG on EMPTY memory");
                rsi_call(ctx, rsi::MEASUREMENT_READ, &[0])
            }),
            Box::new(move |_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], 0);
                seen.lock().unwrap().copy_from_slice(&ctx.gprs.x[1..5]);
                assert_eq!(&ctx.gprs.x[5..9], &[0; 4], "SHA-256 leaves x5..x8 zero");
                rsi_call(ctx, rsi::MEASUREMENT_EXTEND, &[0, 8])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], 1, "RIM cannot be extended");
                rsi_call(ctx, rsi::IPA_STATE_GET, &[IMAGE_IPA, 0x5000])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(&ctx.gprs.x[..3], &[0, 0x4000, 1], "RAM up to 0x4000");
                rsi_call(ctx, 0xC400_01AF, &[])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], u64::MAX, "unknown SMC");
                rsi_call(ctx, rsi::HOST_CALL, &[UNPOPULATED_IPA])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(
                    ctx.gprs.pc,
                    IMAGE_IPA + 8 * 4,
                    "SMC not advanced on an abort"
                );
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    // HOST_CALL on an unpopulated page: an emulated stage-2 abort at level 3.
    assert_eq!(rig.exit(0), 0);
    assert_eq!(rig.exit(0x100), 0x9000_0007);
    assert_eq!(rig.exit(0x110), UNPOPULATED_IPA >> 8);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_ne!(*rim.lock().unwrap(), [0; 4], "the RIM was read");
}

/// ESR_EL2 of a trapped `mrs x<rt>, S3_<op1>_C<crn>_C<crm>_<op2>`.
fn mrs(op1: u64, crn: u64, crm: u64, op2: u64, rt: u64) -> u64 {
    0x18 << 26 | 1 << 25 | 3 << 20 | op2 << 17 | op1 << 14 | crn << 10 | rt << 5 | crm << 1 | 1
}

#[test]
fn id_registers_read_sanitised() {
    let rig = setup(true);
    script(
        rig.machine(),
        vec![
            Box::new(|_, config, _| {
                assert_ne!(config.hcr & 1 << 18, 0, "TID3");
                sync(mrs(0, 0, 4, 0, 5))
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[5], 0x11, "ID_AA64PFR0_EL1 without SVE and AMU");
                assert_eq!(ctx.gprs.pc, IMAGE_IPA + 4);
                sync(mrs(0, 0, 6, 1, 6))
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(
                    ctx.gprs.x[6], 0x1130_0051,
                    "ID_AA64ISAR1_EL1 as the CPU has it, PAuth included"
                );
                ctx.gprs.x[7] = 0x77;
                sync(mrs(0, 0, 4, 1, 7))
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(
                    ctx.gprs.x[7], 0x1,
                    "ID_AA64PFR1_EL1: BTI kept, MTE and SME hidden"
                );
                ctx.gprs.x[8] = 0x88;
                sync(mrs(0, 0, 4, 4, 8))
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[8], 0, "ID_AA64ZFR0_EL1: no SVE");
                ctx.gprs.x[9] = 0x99;
                sync(mrs(0, 0, 7, 2, 9))
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[9], 0x1011, "ID_AA64MMFR2_EL1 as the CPU has it");
                ctx.gprs.x[10] = 0xAA;
                // Not the ID space (op1 = 3): read as zero.
                sync(mrs(3, 9, 12, 0, 10))
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[10], 0, "other trapped registers read as zero");
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "only the IRQ reached the host");
}

#[test]
fn rsi_buffers_inside_a_2_mib_block_are_the_blocks_own_pages() {
    // 512 DATA pages folded into one level-2 block at 2 MiB: REALM_CONFIG writes, and
    // HOST_CALL reads, the page of the block at the IPA's offset in it, and no other.
    const BLOCK: u64 = 0x20_0000;
    let rig = setup(false);
    let (host, rd) = (&rig.host, rig.realm.rd);
    host.must_tables_to(&rig.realm, BLOCK, 3);
    let block_pa = host.must_delegated_run(512);
    let src = host.ns_page(&[0xB0; 4096]);
    for p in 0..512 {
        let out = host.data_create(rd, block_pa + p * 0x1000, BLOCK + p * 0x1000, src, 0);
        assert_eq!(out[0], status::SUCCESS);
    }
    assert_eq!(host.rtt_fold(rd, BLOCK, 3)[0], status::SUCCESS);
    assert_eq!(host.realm_activate(rd)[0], status::SUCCESS);
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| rsi_call(ctx, rsi::REALM_CONFIG, &[BLOCK + 0x3000])),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], 0, "REALM_CONFIG");
                rsi_call(ctx, rsi::HOST_CALL, &[BLOCK + 0x5100])
            }),
            Box::new(|_, _, _| irq()),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    let page = |p: u64| rig.machine().inspect(block_pa + p * 0x1000);
    assert_eq!(page(3)[..8], 40u64.to_le_bytes(), "the IPA width");
    for p in [2, 4] {
        assert_eq!(page(p), [0xB0; 4096], "page {p} untouched");
    }
    assert_eq!(rig.exit(0), 5, "HOST_CALL exit");
    assert_eq!(rig.exit(0x600), 0xB0B0, "imm from the block's page 5");
    assert_eq!(rig.exit(0x200), 0xB0B0_B0B0_B0B0_B0B0, "gprs[0]");
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
}

#[test]
fn rsi_buffers_in_destroyed_memory_are_the_hosts_to_fix() {
    // A buffer whose RIPAS is DESTROYED (the host took the page) fails the call as a
    // stage-2 abort the host sees, whether the IPA is unassigned or has a page again; only
    // EMPTY memory fails it with RSI_ERROR_INPUT (`rsi_calls_answer_the_realm`).
    let rig = setup(true);
    let (host, rd) = (&rig.host, rig.realm.rd);
    assert_eq!(host.data_destroy(rd, CALL_IPA)[0], status::SUCCESS);
    let page = host.must_delegated();
    assert_eq!(
        host.data_create_unknown(rd, page, UNPOPULATED_IPA)[0],
        status::SUCCESS
    );
    assert_eq!(host.data_destroy(rd, UNPOPULATED_IPA)[0], status::SUCCESS);
    let page = host.must_delegated();
    assert_eq!(
        host.data_create_unknown(rd, page, UNPOPULATED_IPA)[0],
        status::SUCCESS,
        "assigned again, still DESTROYED"
    );
    // RTT_READ_ENTRY: level 3, UNASSIGNED (0) or ASSIGNED (1), RIPAS DESTROYED (2).
    assert_eq!(host.read_entry(rd, CALL_IPA, 3), [0, 3, 0, 0, 2]);
    assert_eq!(host.read_entry(rd, UNPOPULATED_IPA, 3), [0, 3, 1, page, 2]);
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| rsi_call(ctx, rsi::REALM_CONFIG, &[CALL_IPA])),
            Box::new(|_, _, ctx| rsi_call(ctx, rsi::REALM_CONFIG, &[UNPOPULATED_IPA])),
            Box::new(|_, _, _| irq()),
        ],
    );
    for ipa in [CALL_IPA, UNPOPULATED_IPA] {
        assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
        assert_eq!(rig.exit(0), 0, "a synchronous exit, {ipa:#x}");
        assert_eq!(rig.exit(0x100), 0x9000_0007, "a level-3 translation fault");
        assert_eq!(rig.exit(0x110), ipa >> 8, "HPFAR");
    }
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "IRQ exit");
}

#[test]
fn token_init_of_a_realm_without_csm_does_not_wait_for_the_csm_lock() {
    // Only a realm with an APT takes the global CSM lock for its token's CSM claims: one
    // without must not queue behind other realms' sharing.
    use rmm_integration_tests::held::call_while_held;
    use std::time::Duration;
    let rig = setup(true);
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| rsi_call(ctx, rsi::ATTEST_TOKEN_INIT, &[1, 2, 3, 4, 5, 6, 7, 8])),
            Box::new(|_, _, _| irq()),
        ],
    );
    let (monitor, rec, run) = (&rig.host.rig, rig.rec, rig.run);
    let (out, finished) =
        call_while_held(monitor.monitor.csm.lock(), Duration::from_secs(10), || {
            monitor.call(u64::from(fid::REC_ENTER), &[rec, run, 0, X4])
        });
    assert!(finished, "RSI_ATTEST_TOKEN_INIT waited for the CSM lock");
    assert_eq!(out[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "the IRQ exit after the call");
}

#[test]
fn every_rem_is_extended_and_read_at_its_own_index() {
    use attest::measurement::extend_rem;
    use rmm_abi::rmi::states::HashAlgorithm;
    let rig = setup(true);
    let value: [u64; 8] = core::array::from_fn(|i| 0x0101_0101_0101_0101 * (i as u64 + 1));
    let bytes: Vec<u8> = value.iter().flat_map(|w| w.to_le_bytes()).collect();
    // REM n (1..=4) extended once with the first `sizes[n - 1]` bytes of `value`.
    let sizes = [1, 8, 33, 64];
    let expected: Vec<[u64; 8]> = sizes
        .iter()
        .map(|&size| {
            let rem = extend_rem(
                &attest::sha::SOFT,
                HashAlgorithm::Sha256,
                &[0; 64],
                &bytes[..size],
            )
            .expect("at most 64 bytes");
            core::array::from_fn(|w| u64::from_le_bytes(rem[w * 8..w * 8 + 8].try_into().unwrap()))
        })
        .collect();
    // The calls, each followed by a check of its result in the next step.
    type Check = Box<dyn Fn(&[u64; 31]) + Send>;
    let mut calls: Vec<(u32, Vec<u64>, Check)> = Vec::new();
    for (n, size) in sizes.into_iter().enumerate() {
        let mut args = vec![n as u64 + 1, size as u64];
        args.extend(value);
        calls.push((
            rsi::MEASUREMENT_EXTEND,
            args,
            Box::new(move |x| assert_eq!(x[0], 0, "EXTEND REM {}", n + 1)),
        ));
    }
    // READ 0 is the RIM (`rsi_calls_answer_the_realm`); 1..=4 the REMs.
    for (index, rem) in (1..).zip(expected) {
        calls.push((
            rsi::MEASUREMENT_READ,
            vec![index],
            Box::new(move |x| {
                assert_eq!(x[0], 0, "READ {index}");
                assert_eq!(x[1..9], rem, "REM {index}");
            }),
        ));
    }
    for (call, args, what) in [
        (rsi::MEASUREMENT_READ, vec![5], "READ 5"),
        (rsi::MEASUREMENT_EXTEND, vec![5, 8], "EXTEND 5"),
        (rsi::MEASUREMENT_EXTEND, vec![0, 8], "EXTEND the RIM"),
        (rsi::MEASUREMENT_EXTEND, vec![1, 65], "EXTEND 65 bytes"),
    ] {
        calls.push((
            call,
            args,
            Box::new(move |x| assert_eq!(x[0], 1, "{what}: RSI_ERROR_INPUT")),
        ));
    }
    let mut steps: Vec<Step> = Vec::new();
    let mut check: Option<Check> = None;
    for (call, args, then) in calls {
        let before = check.replace(then);
        steps.push(Box::new(move |_, _, ctx| {
            if let Some(before) = &before {
                before(&ctx.gprs.x);
            }
            rsi_call(ctx, call, &args)
        }));
    }
    steps.push(Box::new(move |_, _, ctx| {
        if let Some(last) = &check {
            last(&ctx.gprs.x);
        }
        irq()
    }));
    script(rig.machine(), steps);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "only the IRQ reached the host");
}

#[test]
fn host_call_results_for_a_destroyed_page_are_a_stage_2_abort() {
    // The host took the page holding the RsiHostCall structure before the results were
    // written back: completing the call is a stage-2 abort the host sees, at every entry,
    // rather than results dropped as for a page the realm itself made EMPTY.
    let rig = setup(true);
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| rsi_call(ctx, rsi::HOST_CALL, &[CALL_IPA + 0x100])),
            Box::new(|_, _, _| panic!("the realm ran although its results were not written")),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 5, "HOST_CALL exit");
    let (host, rd) = (&rig.host, rig.realm.rd);
    assert_eq!(host.data_destroy(rd, CALL_IPA)[0], status::SUCCESS);
    for entry in 0..2 {
        assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
        assert_eq!(rig.exit(0), 0, "entry {entry}: a synchronous exit");
        assert_eq!(rig.exit(0x100), 0x9000_0007, "a level-3 translation fault");
        // The structure's address shifted as the reference RMM does (x1 >> 8), low bits
        // and all.
        assert_eq!(rig.exit(0x110), (CALL_IPA + 0x100) >> 8, "HPFAR");
    }
}

#[test]
fn host_call_structures_must_be_aligned_protected_and_not_empty() {
    // RSI_ERROR_INPUT, no exit: a structure not 256-byte aligned, one in EMPTY memory, one
    // in the unprotected half. (An unpopulated RAM page is a stage-2 abort instead:
    // `rsi_calls_answer_the_realm`.)
    let rig = setup(true);
    let refused = [
        CALL_IPA + 0x80,
        CALL_IPA + 8,
        EMPTY_IPA,
        UNPROTECTED + 0x1000,
    ];
    let mut steps: Vec<Step> = Vec::new();
    for (i, ipa) in refused.into_iter().enumerate() {
        steps.push(Box::new(move |_, _, ctx| {
            if i > 0 {
                assert_eq!(ctx.gprs.x[0], 1, "HOST_CALL at {:#x}", refused[i - 1]);
            }
            rsi_call(ctx, rsi::HOST_CALL, &[ipa])
        }));
    }
    steps.push(Box::new(move |_, _, ctx| {
        assert_eq!(ctx.gprs.x[0], 1, "HOST_CALL at {:#x}", refused[3]);
        irq()
    }));
    script(rig.machine(), steps);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "only the IRQ reached the host");
}

#[test]
fn host_call_results_for_a_page_made_empty_meanwhile_are_dropped() {
    // REC 0's host call is pending while REC 1 gives the structure's page up (RIPAS EMPTY,
    // applied by the host): at REC 0's next entry its results are dropped, as the reference
    // RMM drops them, and x0 still holds the function id. Nothing is written to the page.
    use rmm_integration_tests::host::{Host, Shape};
    let host = Host::new();
    let realm = add_realm(&host, Shape::default(), 2, true, true);
    let run = host.ns_page(&[0u8; 4096]);
    let (rec0, rec1) = (realm.recs[0], realm.recs[1]);
    let call_pa = realm.call_pa;
    let (id0, id1) = (realm.rec_id(0), realm.rec_id(1));
    let rig = Rig {
        host,
        realm: realm.realm,
        rec: rec0,
        recs: realm.recs,
        run,
        call_pa,
    };
    script_rec(
        rig.machine(),
        id0,
        vec![
            Box::new(|_, _, ctx| rsi_call(ctx, rsi::HOST_CALL, &[CALL_IPA + 0x100])),
            Box::new(move |m, _, ctx| {
                assert_eq!(ctx.gprs.x[0], u64::from(rsi::HOST_CALL), "results dropped");
                let mut back = [0u8; 0x100];
                m.realm_read(call_pa + 0x100, &mut back);
                assert_eq!(back, [0; 0x100], "nothing written");
                irq()
            }),
        ],
    );
    script_rec(
        rig.machine(),
        id1,
        vec![
            Box::new(|_, _, ctx| {
                rsi_call(
                    ctx,
                    rsi::IPA_STATE_SET,
                    &[CALL_IPA, CALL_IPA + 0x1000, 0, 0],
                )
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(&ctx.gprs.x[..2], &[0, CALL_IPA + 0x1000], "changed");
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 5, "HOST_CALL exit");
    assert_eq!(rig.enter_rec(rec1, 0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 4, "RIPAS_CHANGE exit");
    let (rd, top) = (rig.realm.rd, CALL_IPA + 0x1000);
    let out = rig
        .host
        .call(fid::RTT_SET_RIPAS, &[rd, rec1, CALL_IPA, top]);
    assert_eq!(out[..2], [0, top]);
    assert_eq!(
        rig.host.read_entry(rd, CALL_IPA, 3)[..5],
        [0, 3, 1, call_pa, 0]
    );
    let results: Vec<u64> = (0..31).map(|i| 100 + i).collect();
    assert_eq!(rig.enter(0, &results)[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "REC 0 ran on: IRQ exit");
    assert_eq!(rig.enter_rec(rec1, 0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "REC 1 too");
}

#[test]
fn ipa_state_get_stops_at_the_end_of_the_last_level_table() {
    // [0x4000, 2 MiB) is EMPTY to the last entry of the level-3 table at IPA 0; the answer
    // stops there, as the reference RMM's does, however far the range goes.
    let rig = setup(true);
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| rsi_call(ctx, rsi::IPA_STATE_GET, &[0x4000, 0x40_0000])),
            Box::new(|_, _, ctx| {
                assert_eq!(&ctx.gprs.x[..3], &[0, 0x20_0000, 0], "EMPTY up to 2 MiB");
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1);
}

#[test]
fn realm_config_writes_the_rpv_where_the_abi_puts_it() {
    // RsiRealmConfig: ipa_width at 0, hash_algo at 8, rpv at 0x200 (64 bytes); the rest of
    // the page zero.
    use rmm_integration_tests::host::{Host, Shape};
    use zerocopy::IntoBytes;
    let host = Host::new();
    let shape = Shape {
        hash: 1,
        ..Shape::default()
    };
    let rd = host.must_delegated();
    let rtt_base = host.must_delegated_run(shape.num_roots);
    let mut params = Host::realm_params(&shape, rtt_base);
    let rpv: [u8; 64] = core::array::from_fn(|i| 0xA0 ^ i as u8);
    params.rpv = rpv;
    let page = host.ns_page(params.as_bytes());
    assert_eq!(host.call(fid::REALM_CREATE, &[rd, page])[0], 0);
    let realm = rmm_integration_tests::host::TestRealm {
        rd,
        rtt_base,
        shape,
    };
    host.must_tables_to(&realm, 0, 3);
    assert_eq!(host.init_ripas(rd, IMAGE_IPA, 0x3000)[0], status::SUCCESS);
    let mut pas = [0; 2];
    for (pa, ipa) in pas.iter_mut().zip([IMAGE_IPA, CALL_IPA]) {
        *pa = host.must_delegated();
        let src = host.ns_page(&[0x5A; 4096]);
        assert_eq!(host.data_create(rd, *pa, ipa, src, 0)[0], status::SUCCESS);
    }
    let rec = host.must_delegated();
    let mut rec_params = host.must_rec_params(0, true);
    rec_params.pc = IMAGE_IPA;
    assert_eq!(host.rec_create(rd, rec, &rec_params)[0], status::SUCCESS);
    assert_eq!(host.realm_activate(rd)[0], status::SUCCESS);
    let run = host.ns_page(&[0u8; 4096]);
    let rig = Rig {
        host,
        realm,
        rec,
        recs: vec![rec],
        run,
        call_pa: pas[1],
    };
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| rsi_call(ctx, rsi::REALM_CONFIG, &[CALL_IPA])),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], 0, "REALM_CONFIG");
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    let config = rig.machine().inspect(pas[1]);
    let mut expected = [0u8; 4096];
    expected[..8].copy_from_slice(&40u64.to_le_bytes());
    expected[8..16].copy_from_slice(&1u64.to_le_bytes());
    expected[0x200..0x240].copy_from_slice(&rpv);
    // Everything REALM_CONFIG does not define keeps what DATA_CREATE copied in.
    for (i, byte) in expected.iter_mut().enumerate() {
        if !(i < 16 || (0x200..0x240).contains(&i)) {
            *byte = 0x5A;
        }
    }
    assert_eq!(config, expected);
}

#[test]
fn an_emulated_mmio_load_into_xzr_writes_no_register() {
    // `ldr xzr, [x0]` on an unprotected IPA: the host's value is discarded, every register
    // keeps its value and the load is done.
    let rig = setup(true);
    let esr = DABT | ISV | 0b11 << 22 | 31 << 16 | 1 << 15 | 0x07;
    script(
        rig.machine(),
        vec![
            Box::new(move |_, _, ctx| {
                ctx.gprs.x = core::array::from_fn(|i| 0x1000 + i as u64);
                abort_at(UNPROTECTED + 0x1010, esr)
            }),
            Box::new(|_, _, ctx| {
                let kept: [u64; 31] = core::array::from_fn(|i| 0x1000 + i as u64);
                assert_eq!(ctx.gprs.x, kept, "no register written");
                assert_eq!(ctx.gprs.pc, IMAGE_IPA + 4, "past the load");
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 0, "SYNC");
    assert_eq!(rig.enter(1, &[0xFFFF_FFFF])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "IRQ exit");
}

/// REC_ENTER writes the exit half of the run page and nothing else: the host's entry half
/// (here full of 0x5A, around the fields it must set) comes back byte for byte, the reserved
/// words of the exit half between the groups the RMM writes are left as the host had them,
/// and the groups' own reserved words — the PMU pair at exit + 0x700 among them — are zero.
#[test]
fn an_exit_writes_the_exit_half_and_leaves_the_entry_half_alone() {
    let rig = setup(true);
    script(rig.machine(), vec![Box::new(|_, _, _| irq())]);
    let mut page = [0x5Au8; 4096];
    page[..8].fill(0); // entry flags
    page[0x300..0x400].fill(0); // gicv3_hcr and the list registers
    let machine = &rig.host.rig.machine;
    machine.host_write(rig.run, &page).expect("NS run page");
    let out = rig.host.call(fid::REC_ENTER, &[rig.rec, rig.run, 0, X4]);
    assert_eq!(out[0], status::SUCCESS);
    let after = machine.host_read(rig.run).expect("NS run page");
    assert_eq!(
        after[..0x800],
        page[..0x800],
        "the entry half is the host's"
    );
    assert_eq!(rig.exit(0), 1, "IRQ exit");
    assert_eq!(
        after[0x810..0x900],
        page[0x810..0x900],
        "between reason and fault"
    );
    assert_eq!(
        after[0xF00..0xF10],
        [0; 16],
        "PMU overflow status and reserved word"
    );
    assert_eq!(after[0xF10..], page[0xF10..], "after the last group");
}
