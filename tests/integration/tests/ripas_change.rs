// SPDX-License-Identifier: MIT OR Apache-2.0
//! RIPAS changes through the real dispatcher: RSI_IPA_STATE_SET's checks and exit,
//! RMI_RTT_SET_RIPAS's failure conditions in the reference order and its per-entry rules,
//! and what the next REC_ENTER tells the realm (accepted, rejected, partly done), as the
//! reference RMM does (`docs/reference/tf-rmm-rel0-realm-execution-facts.md` §2.6, §4.5, §6).

use rmm_abi::rmi::fid;
use rmm_abi::rsi::fid as rsi;
use rmm_integration_tests::host::status;
use rmm_integration_tests::running::*;

const RIPAS_EXIT: u64 = 4;
const IRQ_EXIT: u64 = 1;
const EMPTY: u64 = 0;
const RAM: u64 = 1;
const DESTROYED: u64 = 2;
const ACCEPT: u64 = 0;
const REJECT: u64 = 1;
/// RecEnter flag: the host refuses the rest of the change.
const RIPAS_RESPONSE: u64 = 1 << 4;
/// RTT_READ_ENTRY states.
const UNASSIGNED: u64 = 0;
const ASSIGNED: u64 = 1;

fn set_ripas(rig: &Rig, rec: u64, base: u64, top: u64) -> [u64; 5] {
    rig.host
        .call(fid::RTT_SET_RIPAS, &[rig.realm.rd, rec, base, top])
}

/// (state, RIPAS) of the level-3 entry for `ipa`.
fn entry(rig: &Rig, ipa: u64) -> (u64, u64) {
    let out = rig.host.read_entry(rig.realm.rd, ipa, 3);
    assert_eq!(out[0], status::SUCCESS, "RTT_READ_ENTRY({ipa:#x})");
    (out[2], out[4])
}

/// A realm step that asks for `[base, top)` to become `ripas`.
fn ask(base: u64, top: u64, ripas: u64, flags: u64) -> Step {
    Box::new(move |_, _, ctx| rsi_call(ctx, rsi::IPA_STATE_SET, &[base, top, ripas, flags]))
}

#[test]
fn bad_requests_never_reach_the_host() {
    let rig = setup(true);
    let par_end = 1u64 << 39;
    let mut steps: Vec<Step> = vec![ask(0x4000, 0x5000, DESTROYED, 0)];
    for (base, top) in [
        (0x4001, 0x5000),
        (0x4000, 0x5008),
        (0x5000, 0x5000),
        (0x6000, 0x5000),
        (par_end - 0x1000, par_end + 0x1000),
    ] {
        steps.push(Box::new(move |_, _, ctx| {
            assert_eq!(&ctx.gprs.x[..4], &[1, 0, 0, 0], "RSI_ERROR_INPUT");
            rsi_call(ctx, rsi::IPA_STATE_SET, &[base, top, RAM, 0])
        }));
    }
    steps.push(Box::new(move |_, _, ctx| {
        assert_eq!(ctx.gprs.x[0], 1, "RSI_ERROR_INPUT");
        // The last page of the protected half is fine.
        rsi_call(
            ctx,
            rsi::IPA_STATE_SET,
            &[par_end - 0x1000, par_end, RAM, 0],
        )
    }));
    script(rig.machine(), steps);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), RIPAS_EXIT);
    assert_eq!(
        [rig.exit(0x500), rig.exit(0x508), rig.exit(0x510)],
        [par_end - 0x1000, par_end, RAM]
    );
}

/// RSI_IPA_STATE_GET refuses each bad range on its own (a misaligned base or top, an empty or
/// inverted range, a top of 0, a top past the protected half) with RSI_ERROR_INPUT, and
/// answers a good one, up to the protected half's last page.
#[test]
fn ipa_state_get_refuses_every_bad_range() {
    let rig = setup(true);
    let par_end = 1u64 << 39;
    let get = |base: u64, top: u64| -> Step {
        Box::new(move |_, _, ctx| rsi_call(ctx, rsi::IPA_STATE_GET, &[base, top]))
    };
    let mut steps: Vec<Step> = vec![get(0x4001, 0x5000)];
    for (base, top) in [
        (0x4000, 0x5008),
        (0x5000, 0x5000),
        (0x6000, 0x5000),
        (0, 0),
        (par_end - 0x1000, par_end + 0x1000),
        (par_end - 0x1000, par_end),
    ] {
        steps.push(Box::new(move |_, _, ctx| {
            assert_eq!(
                ctx.gprs.x[0], 1,
                "RSI_ERROR_INPUT before [{base:#x}, {top:#x})"
            );
            rsi_call(ctx, rsi::IPA_STATE_GET, &[base, top])
        }));
    }
    steps.push(Box::new(move |_, _, ctx| {
        assert_eq!(ctx.gprs.x[..2], [0, par_end], "the last page answered");
        // Something that exits, to end the run.
        rsi_call(ctx, rsi::IPA_STATE_SET, &[0x4000, 0x5000, RAM, 0])
    }));
    script(rig.machine(), steps);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), RIPAS_EXIT);
}

#[test]
fn accepted_change_in_several_steps() {
    let rig = setup(true);
    let rec = rig.rec;
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| {
                ctx.gprs.x[7] = 0x77;
                rsi_call(ctx, rsi::IPA_STATE_SET, &[0x4000, 0x8000, RAM, 0])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(&ctx.gprs.x[..3], &[0, 0x8000, ACCEPT], "all done, accepted");
                assert_eq!(ctx.gprs.x[7], 0x77);
                assert_eq!(ctx.gprs.pc, IMAGE_IPA + 4);
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), RIPAS_EXIT);
    assert_eq!(
        [rig.exit(0x500), rig.exit(0x508), rig.exit(0x510)],
        [0x4000, 0x8000, RAM]
    );
    assert_eq!(rig.exit(0x200), 0, "no registers shown");
    // Failure conditions, in the reference order.
    let rd = rig.realm.rd;
    assert_eq!(
        set_ripas(&rig, rec, 0x5000, 0x4000)[0],
        status::INPUT,
        "top <= base"
    );
    assert_eq!(
        rig.host
            .call(fid::RTT_SET_RIPAS, &[rec, rd, 0x4000, 0x8000])[0],
        status::INPUT,
        "RD and REC swapped"
    );
    assert_eq!(
        set_ripas(&rig, rec, 0x5000, 0x8000)[0],
        status::INPUT,
        "not where the change stands"
    );
    assert_eq!(
        set_ripas(&rig, rec, 0x4000, 0x9000)[0],
        status::INPUT,
        "past the range asked for"
    );
    assert_eq!(
        set_ripas(&rig, rec, 0x4000, 0x6000),
        [0, 0x6000, 0, 0, 0x6000]
    );
    assert_eq!(entry(&rig, 0x5000), (UNASSIGNED, RAM));
    assert_eq!(entry(&rig, 0x6000), (UNASSIGNED, EMPTY), "not yet");
    assert_eq!(
        set_ripas(&rig, rec, 0x4000, 0x8000)[0],
        status::INPUT,
        "done already"
    );
    // A top that is not granule aligned is refused (`top_gran_align`), even when whole
    // entries fit below it, and changes nothing.
    assert_eq!(
        set_ripas(&rig, rec, 0x6000, 0x7800)[..2],
        [status::INPUT, 0],
        "top not granule aligned"
    );
    assert_eq!(entry(&rig, 0x6000), (UNASSIGNED, EMPTY), "unchanged");
    // One that cuts the first page: ERROR_INPUT, not no_progress's ERROR_RTT(3).
    assert_eq!(
        set_ripas(&rig, rec, 0x6000, 0x6800)[0],
        status::INPUT,
        "top_gran_align before no_progress"
    );
    assert_eq!(set_ripas(&rig, rec, 0x6000, 0x7000)[..2], [0, 0x7000]);
    assert_eq!(set_ripas(&rig, rec, 0x7000, 0x8000)[..2], [0, 0x8000]);
    assert_eq!(entry(&rig, 0x7000), (UNASSIGNED, RAM));
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), IRQ_EXIT);
    assert_eq!(
        set_ripas(&rig, rec, 0x8000, 0x9000)[0],
        status::INPUT,
        "nothing pending after the REC learned the outcome"
    );
}

#[test]
fn rejected_partial_and_unfinished_changes() {
    let rig = setup(true);
    let rec = rig.rec;
    script(
        rig.machine(),
        vec![
            ask(0x4000, 0x8000, RAM, 0),
            Box::new(|_, _, ctx| {
                assert_eq!(&ctx.gprs.x[..3], &[0, 0x5000, REJECT], "rest refused");
                rsi_call(ctx, rsi::IPA_STATE_SET, &[0x5000, 0x8000, RAM, 0])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(
                    &ctx.gprs.x[..3],
                    &[0, 0x5000, ACCEPT],
                    "no progress, not refused: the realm may ask again"
                );
                rsi_call(ctx, rsi::IPA_STATE_SET, &[0x1000, 0x3000, EMPTY, 0])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(
                    &ctx.gprs.x[..3],
                    &[0, 0x2000, ACCEPT],
                    "a change to EMPTY cannot be refused"
                );
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(set_ripas(&rig, rec, 0x4000, 0x5000)[..2], [0, 0x5000]);
    assert_eq!(rig.enter(RIPAS_RESPONSE, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), RIPAS_EXIT);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    // The realm's own code page becomes EMPTY: still assigned, no longer mapped.
    rig.machine().take_stage2_invalidations();
    assert_eq!(set_ripas(&rig, rec, 0x1000, 0x2000)[..2], [0, 0x2000]);
    assert_eq!(entry(&rig, 0x1000), (ASSIGNED, EMPTY));
    assert_eq!(
        rig.machine().take_stage2_invalidations(),
        vec![1],
        "a mapped page was removed: TLBs invalidated"
    );
    assert_eq!(rig.enter(RIPAS_RESPONSE, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), IRQ_EXIT);
}

#[test]
fn destroyed_memory_changes_only_when_the_realm_says_so() {
    let rig = setup(true);
    let rec = rig.rec;
    let rd = rig.realm.rd;
    // The host takes the DATA page at CALL_IPA away from the running realm.
    assert_eq!(rig.host.data_destroy(rd, CALL_IPA)[0], status::SUCCESS);
    assert_eq!(entry(&rig, CALL_IPA), (UNASSIGNED, DESTROYED));
    script(
        rig.machine(),
        vec![
            ask(CALL_IPA, CALL_IPA + 0x2000, RAM, 3),
            Box::new(|_, _, ctx| {
                assert_eq!(&ctx.gprs.x[..3], &[0, CALL_IPA, ACCEPT], "nothing changed");
                rsi_call(
                    ctx,
                    rsi::IPA_STATE_SET,
                    &[CALL_IPA, CALL_IPA + 0x2000, RAM, 1],
                )
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(&ctx.gprs.x[..3], &[0, CALL_IPA + 0x2000, ACCEPT]);
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    // Flags 3 is not RSI_CHANGE_DESTROYED: the DESTROYED entry stops the walk at once.
    assert_eq!(
        set_ripas(&rig, rec, CALL_IPA, CALL_IPA + 0x2000),
        [status::rtt(3), 0, 0, 0, CALL_IPA + 0x2000]
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(
        set_ripas(&rig, rec, CALL_IPA, CALL_IPA + 0x2000)[..2],
        [0, CALL_IPA + 0x2000]
    );
    assert_eq!(entry(&rig, CALL_IPA), (UNASSIGNED, RAM));
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), IRQ_EXIT);
}

#[test]
fn block_entries_change_whole_and_the_walk_level_is_reported() {
    let rig = setup(true);
    let rec = rig.rec;
    // [2 MiB, 4 MiB) has no level-3 table: one level-2 entry.
    script(
        rig.machine(),
        vec![
            ask(0x20_0000, 0x30_0000, RAM, 0),
            Box::new(|_, _, ctx| {
                assert_eq!(&ctx.gprs.x[..3], &[0, 0x20_0000, ACCEPT]);
                rsi_call(ctx, rsi::IPA_STATE_SET, &[0x20_0000, 0x40_0000, RAM, 0])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(&ctx.gprs.x[..3], &[0, 0x40_0000, ACCEPT]);
                rsi_call(ctx, rsi::IPA_STATE_SET, &[0x20_1000, 0x20_2000, EMPTY, 0])
            }),
            Box::new(|_, _, _| irq()),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(
        set_ripas(&rig, rec, 0x20_0000, 0x30_0000)[0],
        status::rtt(2),
        "half a block cannot change"
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(
        set_ripas(&rig, rec, 0x20_0000, 0x40_0000)[..2],
        [0, 0x40_0000]
    );
    let out = rig.host.read_entry(rig.realm.rd, 0x20_0000, 2);
    assert_eq!([out[0], out[1], out[2], out[4]], [0, 2, UNASSIGNED, RAM]);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(
        set_ripas(&rig, rec, 0x20_1000, 0x20_1800)[0],
        status::INPUT,
        "an unaligned top is an argument error, found before the walk's base_align"
    );
    assert_eq!(
        set_ripas(&rig, rec, 0x20_1000, 0x20_2000)[0],
        status::rtt(2),
        "a page inside a level-2 entry"
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), IRQ_EXIT);
}

#[test]
fn a_running_rec_is_refused_before_its_arguments() {
    use rmm::arch::world::{RealmTrap, TrapKind};
    use std::sync::{Mutex, mpsc};
    let rig = setup(true);
    let (rd, rec) = (rig.realm.rd, rig.rec);
    script(rig.machine(), vec![ask(0x4000, 0x8000, RAM, 0)]);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    // The next entry blocks inside the realm until the test lets it go.
    let (running_tx, running_rx) = mpsc::channel::<()>();
    let (resume_tx, resume_rx) = mpsc::channel::<()>();
    let resume_rx = Mutex::new(resume_rx);
    rig.machine().set_realm(Box::new(move |_, _, _| {
        running_tx.send(()).expect("the test waits");
        resume_rx
            .lock()
            .expect("not poisoned")
            .recv()
            .expect("resumed");
        RealmTrap {
            kind: TrapKind::Irq,
            esr: 0,
            far: 0,
            hpfar: 0,
        }
    }));
    let (machine_rig, run) = (&rig.host.rig, rig.run);
    std::thread::scope(|scope| {
        let entered =
            scope.spawn(move || machine_rig.call(u64::from(fid::REC_ENTER), &[rec, run, 0, 0])[0]);
        running_rx.recv().expect("the realm runs");
        // Arguments that would otherwise be ERROR_INPUT (nothing pending any more).
        assert_eq!(
            rig.host
                .call(fid::RTT_SET_RIPAS, &[rd, rec, 0x4000, 0x8000])[0],
            status::REC,
            "RTT_SET_RIPAS on a running REC"
        );
        resume_tx.send(()).expect("the realm waits");
        assert_eq!(entered.join().expect("no panic"), status::SUCCESS);
    });
    assert_eq!(
        set_ripas(&rig, rec, 0x4000, 0x8000)[0],
        status::INPUT,
        "not running"
    );
}

/// A completed change is reported once: the entry after it (here an IRQ exit's) leaves
/// x0..x2 as the realm set them, and the host can apply nothing more of it.
#[test]
fn a_completed_change_is_not_reported_again() {
    let rig = setup(true);
    script(
        rig.machine(),
        vec![
            ask(0x4000, 0x5000, RAM, 0),
            Box::new(|_, _, ctx| {
                assert_eq!(&ctx.gprs.x[..3], &[0, 0x5000, ACCEPT], "reported");
                ctx.gprs.x[..3].copy_from_slice(&[0x70, 0x71, 0x72]);
                irq()
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(&ctx.gprs.x[..3], &[0x70, 0x71, 0x72], "not reported again");
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), RIPAS_EXIT);
    assert_eq!(set_ripas(&rig, rig.rec, 0x4000, 0x5000)[..2], [0, 0x5000]);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), IRQ_EXIT);
    assert_eq!(
        set_ripas(&rig, rig.rec, 0x4000, 0x5000)[0],
        status::INPUT,
        "nothing pending to apply again"
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), IRQ_EXIT);
}
