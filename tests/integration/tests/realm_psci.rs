// SPDX-License-Identifier: MIT OR Apache-2.0
//! Realm PSCI through the real dispatcher: what the RMM answers alone, what it forwards to
//! the host, RMI_PSCI_COMPLETE's failure conditions in the reference order and its effect on
//! both RECs, CPU_OFF and SYSTEM_OFF (values from the reference RMM's `psci.c`, see
//! `docs/reference/tf-rmm-rel0-realm-execution-facts.md` §5).

use rmm_abi::psci::*;
use rmm_abi::rmi::fid;
use rmm_integration_tests::host::{X4, status};
use rmm_integration_tests::running::*;

const NOT_SUPPORTED: u64 = -1i64 as u64;
const INVALID_PARAMS: u64 = -2i64 as u64;
const DENIED: u64 = -3i64 as u64;
const ALREADY_ON: u64 = -4i64 as u64;
const INVALID_ADDRESS: u64 = -9i64 as u64;
const PSCI_EXIT: u64 = 3;
const IRQ_EXIT: u64 = 1;
/// Where a started REC begins, and the context id it gets.
const SECONDARY_PC: u64 = IMAGE_IPA + 0x800;
const CONTEXT_ID: u64 = 0xC0FF_EE00_1234;

fn complete(rig: &Rig, calling: u64, target: u64, psci_status: u64) -> u64 {
    rig.host
        .call(fid::PSCI_COMPLETE, &[calling, target, psci_status, X4])[0]
}

#[test]
fn answered_by_the_rmm_without_the_host() {
    let rig = setup_with(true, 2);
    let call = |id: u32, args: &'static [u64], want: u64, what: &'static str| -> Step {
        Box::new(move |_, _, ctx| {
            assert_eq!(ctx.gprs.x[0], want, "{what}");
            assert_eq!(&ctx.gprs.x[1..4], &[0; 3], "{what}: x1..x3 zeroed");
            rsi_call(ctx, id, args)
        })
    };
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| rsi_call(ctx, PSCI_VERSION, &[])),
            call(PSCI_FEATURES, &[PSCI_CPU_ON as u64], 0x1_0001, "PSCI 1.1"),
            call(PSCI_FEATURES, &[PSCI_VERSION as u64], 0, "CPU_ON supported"),
            call(
                PSCI_FEATURES,
                &[0x8000_0000],
                NOT_SUPPORTED,
                "PSCI_VERSION is not listed",
            ),
            call(PSCI_AFFINITY_INFO, &[0, 0], 0, "SMCCC_VERSION listed"),
            call(PSCI_AFFINITY_INFO, &[1, 1], 0, "the caller is ON"),
            call(PSCI_AFFINITY_INFO, &[2, 0], INVALID_PARAMS, "level 1"),
            call(PSCI_CPU_ON, &[0, SECONDARY_PC], INVALID_PARAMS, "no REC 2"),
            call(PSCI_CPU_ON, &[1, 1 << 39, 0], ALREADY_ON, "itself"),
            call(
                PSCI_CPU_ON,
                &[0x1_0000_0000, SECONDARY_PC],
                INVALID_ADDRESS,
                "entry outside the protected half",
            ),
            call(
                0x8400_0005,
                &[],
                INVALID_PARAMS,
                "Aff3 = 1 is REC 2^20, which does not exist",
            ),
            call(0xC401_0003, &[1, SECONDARY_PC], NOT_SUPPORTED, "MIGRATE"),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], NOT_SUPPORTED, "a PSCI id with the SVE hint");
                // SMCCC_VERSION: function 0 of the Arm architecture range, not a PSCI id
                // although its function number is below PSCI's last.
                rsi_call(ctx, 0x8000_0000, &[])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], 0x1_0002, "SMCCC 1.2");
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(
        rig.exit(0),
        IRQ_EXIT,
        "nothing reached the host before the IRQ"
    );
}

#[test]
fn cpu_on_waits_for_the_host_and_starts_the_target() {
    let rig = setup_with(true, 3);
    let (rec0, rec1, rec2) = (rig.recs[0], rig.recs[1], rig.recs[2]);
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| {
                // A caller with its MMU and caches on, big-endian data (EE).
                ctx.el1.sctlr = 0x30D0_199D | 1 << 25;
                ctx.gprs.x[9] = 0x99;
                rsi_call(ctx, PSCI_CPU_ON, &[1, SECONDARY_PC, CONTEXT_ID])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(&ctx.gprs.x[..4], &[0; 4], "SUCCESS, x1..x3 zeroed");
                assert_eq!(ctx.gprs.x[9], 0x99, "other registers kept");
                assert_eq!(ctx.gprs.pc, IMAGE_IPA + 4, "past the SMC");
                irq()
            }),
            // REC 1, started.
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.pc, SECONDARY_PC);
                assert_eq!(ctx.gprs.x[0], CONTEXT_ID);
                assert_eq!(ctx.gprs.pstate, 0x3C5);
                assert_eq!(
                    ctx.el1.sctlr,
                    0x00C5_0878 | 1 << 25,
                    "MMU and caches off, EE from the caller and nothing else of its SCTLR"
                );
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), PSCI_EXIT);
    let shown: Vec<u64> = (0..4).map(|i| rig.exit(0x200 + i * 8)).collect();
    assert_eq!(
        shown,
        [u64::from(PSCI_CPU_ON), 1, 0, 0],
        "only the id and the target reach the host"
    );
    assert_eq!(
        rig.enter(0, &[])[0],
        status::REC,
        "the caller waits for the host"
    );
    assert_eq!(
        rig.enter_rec(rec1, 0, &[])[0],
        status::REC,
        "not started yet"
    );
    // PSCI_COMPLETE's failure conditions, in order.
    for (calling, target, s, what) in [
        (rec0 + 8, rec1, 0, "misaligned caller"),
        (rec0, rig.realm.rd, 0, "the RD as the target"),
        (rec0, rec0, 0, "the caller as its own target"),
        (rec1, rec0, 0, "a caller with nothing pending"),
        (rec0, rec2, 0, "a target other than the one asked for"),
        (rec0, rec1, 1, "a status other than SUCCESS or DENIED"),
    ] {
        assert_eq!(complete(&rig, calling, target, s), status::INPUT, "{what}");
    }
    assert_eq!(complete(&rig, rec0, rec1, 0), status::SUCCESS);
    assert_eq!(
        complete(&rig, rec0, rec1, 0),
        status::INPUT,
        "completed once"
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.enter_rec(rec1, 0, &[])[0], status::SUCCESS);
    assert_eq!(
        rig.enter_rec(rec2, 0, &[])[0],
        status::REC,
        "REC 2 never started"
    );
}

#[test]
fn the_rmm_not_the_host_decides_what_the_realm_learns() {
    let rig = setup_with(true, 2);
    let (rec0, rec1) = (rig.recs[0], rig.recs[1]);
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| rsi_call(ctx, PSCI_AFFINITY_INFO, &[1, 0])),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], PSCI_AFFINITY_OFF, "never started");
                rsi_call(ctx, PSCI_CPU_ON_SMC32, &[1, SECONDARY_PC, 0])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], DENIED, "the host may deny");
                rsi_call(ctx, PSCI_CPU_ON, &[1, SECONDARY_PC, 0])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], 0);
                rsi_call(ctx, PSCI_CPU_ON, &[0x8000_0001, SECONDARY_PC, 0])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], ALREADY_ON, "whatever the host says");
                rsi_call(ctx, PSCI_AFFINITY_INFO_SMC32, &[1, 0])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], PSCI_AFFINITY_ON);
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(
        complete(&rig, rec0, rec1, DENIED),
        status::INPUT,
        "AFFINITY_INFO"
    );
    assert_eq!(complete(&rig, rec0, rec1, 0), status::SUCCESS);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(complete(&rig, rec0, rec1, DENIED), status::SUCCESS);
    assert_eq!(
        rig.enter_rec(rec1, 0, &[])[0],
        status::REC,
        "denied: still off"
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(complete(&rig, rec0, rec1, 0), status::SUCCESS);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    // Bits outside the affinity fields are ignored: 0x8000_0001 is REC 1, already on. A
    // host that denies it gets ERROR_INPUT, and the realm is still told ALREADY_ON.
    assert_eq!(complete(&rig, rec0, rec1, DENIED), status::INPUT);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(complete(&rig, rec0, rec1, 0), status::SUCCESS);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), IRQ_EXIT);
}

#[test]
fn cpu_off_and_system_off() {
    let rig = setup_with(true, 2);
    let (rec0, rec1) = (rig.recs[0], rig.recs[1]);
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| rsi_call(ctx, PSCI_CPU_ON, &[1, SECONDARY_PC, 0])),
            // REC 1 turns itself off.
            Box::new(|_, _, ctx| rsi_call(ctx, PSCI_CPU_OFF, &[])),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], 0, "CPU_ON done");
                rsi_call(ctx, PSCI_CPU_SUSPEND, &[0, 0, 0])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], 0, "CPU_SUSPEND returns SUCCESS at once");
                rsi_call(ctx, PSCI_SYSTEM_OFF, &[])
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(complete(&rig, rec0, rec1, 0), status::SUCCESS);
    assert_eq!(rig.enter_rec(rec1, 0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), PSCI_EXIT);
    assert_eq!(rig.exit(0x200), u64::from(PSCI_CPU_OFF));
    assert_eq!(rig.enter_rec(rec1, 0, &[])[0], status::REC, "REC 1 is off");
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), PSCI_EXIT);
    assert_eq!(rig.exit(0x200), u64::from(PSCI_CPU_SUSPEND));
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), PSCI_EXIT);
    assert_eq!(rig.exit(0x200), u64::from(PSCI_SYSTEM_OFF));
    assert_eq!(rig.exit(0x208), 0, "one register forwarded");
    for rec in [rec0, rec1] {
        assert_eq!(
            rig.enter_rec(rec, 0, &[])[0],
            status::realm(1),
            "no REC of a SYSTEM_OFF realm enters"
        );
    }
    // The realm can still be taken apart.
    assert_eq!(rig.host.rec_destroy(rec1)[0], status::SUCCESS);
}
