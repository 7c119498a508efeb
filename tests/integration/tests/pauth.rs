// SPDX-License-Identifier: MIT OR Apache-2.0
//! Pointer authentication through the real dispatcher and the fake realm CPU: what realms
//! read of PAuth in the ID registers, and each REC's keys (zero from REC_CREATE, kept in the
//! REC between runs, never another REC's). The fake stands in for the world switch, which
//! loads the keys from the context on the realm's first PAuth use in a run and saves them
//! back into it at the end of that run; the QEMU `realm_pauth_keys_per_rec` scenario checks
//! the switch itself.

use rmm::arch::world::{PAUTH_KEY_REGS, PauthKeys};
use rmm_integration_tests::host::status;
use rmm_integration_tests::running::*;

/// HCR_EL2.APK and API.
const HCR_APK_API: u64 = 1 << 40 | 1 << 41;

/// ESR_EL2 of a trapped `mrs x<rt>, S3_<op1>_C<crn>_C<crm>_<op2>`.
fn mrs(op1: u64, crn: u64, crm: u64, op2: u64, rt: u64) -> u64 {
    0x18 << 26 | 1 << 25 | 3 << 20 | op2 << 17 | op1 << 14 | crn << 10 | rt << 5 | crm << 1 | 1
}

fn keys(seed: u64) -> [u64; PAUTH_KEY_REGS] {
    core::array::from_fn(|i| seed << 8 | i as u64)
}

#[test]
fn id_registers_show_pauth_as_the_cpu_has_it() {
    let rig = setup(true);
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, _| sync(mrs(0, 0, 6, 1, 3))),
            Box::new(|_, _, ctx| {
                assert_eq!(
                    ctx.gprs.x[3], 0x1130_0051,
                    "ID_AA64ISAR1_EL1 with APA, GPA and GPI as the CPU has them"
                );
                ctx.gprs.x[4] = 0x44;
                sync(mrs(0, 0, 6, 2, 4))
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(
                    ctx.gprs.x[4], 0,
                    "ID_AA64ISAR2_EL1: WFxT, MOPS and CLRBHB hidden, no PAuth field set"
                );
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "only the IRQ reached the host");
}

#[test]
fn keys_start_zero_and_stay_with_their_rec() {
    let rig = setup(false);
    let rd = rig.realm.rd;
    let rec1 = rig.host.must_delegated();
    let params = rig.host.must_rec_params(1, true);
    assert_eq!(rig.host.rec_create(rd, rec1, &params)[0], status::SUCCESS);
    assert_eq!(rig.host.realm_activate(rd)[0], status::SUCCESS);
    script(
        rig.machine(),
        vec![
            // REC 0, first run: zero keys, PAuth trapped until the world switch loads them.
            Box::new(|_, config, ctx| {
                assert_eq!(
                    ctx.pauth,
                    PauthKeys::default(),
                    "REC 0 starts with zero keys"
                );
                assert_eq!(config.hcr & HCR_APK_API, 0, "PAuth traps at entry");
                // The realm set its keys; the world switch saved them at the end of the run.
                ctx.pauth.keys = keys(0xA0);
                ctx.pauth.in_use = 1;
                irq()
            }),
            // REC 1 on the same CPU: its own zero keys, not REC 0's.
            Box::new(|_, config, ctx| {
                assert_eq!(
                    ctx.pauth,
                    PauthKeys::default(),
                    "REC 1 starts with zero keys"
                );
                assert_eq!(config.hcr & HCR_APK_API, 0);
                ctx.pauth.keys = keys(0xB1);
                ctx.pauth.in_use = 1;
                irq()
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.pauth.keys, keys(0xA0), "REC 0 gets its keys back");
                assert_eq!(ctx.pauth.in_use, 1);
                irq()
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.pauth.keys, keys(0xB1), "REC 1 gets its keys back");
                irq()
            }),
        ],
    );
    for rec in [rig.rec, rec1, rig.rec, rec1] {
        assert_eq!(rig.enter_rec(rec, 0, &[])[0], status::SUCCESS);
        assert_eq!(rig.exit(0), 1, "an IRQ exit");
    }
}

#[test]
fn a_pac_trap_that_reaches_the_handler_is_undefined() {
    // The world switch handles PAuth traps itself (loading the keys); should one reach the
    // trap handler, the realm gets an UNDEFINED exception at the instruction, as for
    // SVE or SME, and the host hears nothing.
    let rig = setup(true);
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| {
                ctx.el1.vbar = 0x4000;
                ctx.gprs.pc = IMAGE_IPA + 0x40;
                sync(0x09 << 26 | 1 << 25)
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.el1.esr, 1 << 25, "UNDEFINED (EC 0, IL)");
                assert_eq!(ctx.el1.elr, IMAGE_IPA + 0x40, "at the PAC instruction");
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "only the IRQ reached the host");
}
