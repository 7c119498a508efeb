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
