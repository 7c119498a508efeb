// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the host learns when a realm's trap becomes an exit, pinned with syndromes that have
//! every ISS bit the case allows set, so that a mask letting a realm bit through fails here.

use rmm_integration_tests::host::status;
use rmm_integration_tests::running::*;

const SYNC_EXIT: u64 = 0;
/// ESR_ELx.EC of a data abort from a lower EL.
const EC_DABT: u64 = 0x24 << 26;
/// Every ISS bit (ESR_ELx\[24:0\]).
const ISS: u64 = 0x1FF_FFFF;
/// Data abort EA: an external abort, which takes another path.
const EA: u64 = 1 << 9;
/// RecEnter flags.
const EMUL_MMIO: u64 = 1;
const INJECT_SEA: u64 = 1 << 1;

/// A non-emulatable (ISV = 0) abort on the unprotected half shows the host EC, SET, FnV and
/// DFSC and where it happened, never the access syndrome (WnR, SAS, SF, SRT…) nor a value.
#[test]
fn non_emulatable_unprotected_abort_shows_no_access_syndrome_or_value() {
    let rig = setup(true);
    let ipa = UNPROTECTED + 0x1008;
    // Every ISS bit but ISV and EA.
    let every = DABT | (ISS & !ISV & !EA);
    // What the hardware reports for `stp x0, x1, [x2]`: ISV = 0, so SRT = 0 and SAS = 0, with
    // WnR set.
    let pair_store = DABT | 1 << 6 | 0x07;
    script(
        rig.machine(),
        vec![
            Box::new(move |_, _, ctx| {
                ctx.gprs.x = [0xDEAD_BEEF_CAFE_F00D; 31];
                abort_at(ipa, every)
            }),
            Box::new(move |_, _, ctx| {
                assert_eq!(
                    ctx.gprs.pc, IMAGE_IPA,
                    "not emulated: the access runs again"
                );
                ctx.gprs.x[0] = 0xDEAD_BEEF_CAFE_F0AB;
                abort_at(ipa, pair_store)
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.el1.esr & 0x3F, 0x10, "the host answered with an SEA");
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), SYNC_EXIT);
    assert_eq!(
        rig.exit(0x100),
        EC_DABT | 0b11 << 11 | 1 << 10 | 0x3F,
        "EC, SET, FnV, DFSC only"
    );
    assert_eq!(rig.exit(0x108), 0x008, "FAR: page offset only");
    assert_eq!(rig.exit(0x110), (ipa >> 12) << 4, "HPFAR");
    assert_eq!(rig.exit(0x200), 0, "no value");
    assert_eq!(
        rig.enter(EMUL_MMIO, &[])[0],
        status::REC,
        "nothing to emulate"
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), SYNC_EXIT);
    assert_eq!(
        rig.exit(0x100),
        EC_DABT | 0x07,
        "no WnR for a non-emulatable write"
    );
    assert_eq!(rig.exit(0x200), 0, "not the low byte of x0");
    assert_eq!(
        rig.enter(INJECT_SEA, &[])[0],
        status::SUCCESS,
        "an SEA may answer it"
    );
}

/// ESR_EL2 of a trapped `msr S3_<op1>_C<crn>_C<crm>_<op2>, x<rt>` (a write).
fn msr(op1: u64, crn: u64, crm: u64, op2: u64, rt: u64) -> u64 {
    0x18 << 26 | 1 << 25 | 3 << 20 | op2 << 17 | op1 << 14 | crn << 10 | rt << 5 | crm << 1
}

/// ISS\[24:22\]: RES0 in a system register trap's syndrome.
const SYSREG_RES0: u64 = 0b111 << 22;

/// Writes to the GIC CPU interface registers that trap (SGIs, and ICC_DIR_EL1 under the
/// host's ICH_HCR_EL2.TDIR) are the host's to emulate: an `RMI_EXIT_SYNC` with the syndrome
/// and the written value in `gprs[0]`, the realm past the instruction (TF-RMM's
/// `handle_icc_el1_sysreg_trap`).
#[test]
fn gic_cpu_interface_writes_exit_with_the_value() {
    let rig = setup(true);
    let sgi1r = msr(0, 12, 11, 5, 5) | SYSREG_RES0;
    let sgi0r = msr(0, 12, 11, 7, 30);
    let asgi1r = msr(0, 12, 11, 6, 31);
    let dir = msr(0, 12, 11, 1, 1);
    // A write to a register nobody emulates (PMCR_EL0) and a read of ICC_SGI1R_EL1 (which
    // cannot trap): the default, ignored / read as zero, no exit.
    let pmcr = msr(3, 9, 12, 0, 2);
    let sgi1r_read = msr(0, 12, 11, 5, 3) | 1;
    script(
        rig.machine(),
        vec![
            Box::new(move |_, _, ctx| {
                ctx.gprs.x[5] = 0x00FF_0001_0000_FFFF;
                ctx.gprs.x[30] = 0x1234_5678_9ABC_DEF0;
                ctx.gprs.x[1] = 27;
                sync(sgi1r)
            }),
            Box::new(move |_, _, ctx| {
                assert_eq!(ctx.gprs.pc, IMAGE_IPA + 4, "past the MSR");
                assert_eq!(ctx.gprs.x[5], 0x00FF_0001_0000_FFFF, "registers untouched");
                sync(sgi0r)
            }),
            Box::new(move |_, _, ctx| {
                assert_eq!(ctx.gprs.pc, IMAGE_IPA + 8);
                sync(asgi1r)
            }),
            Box::new(move |_, _, _| sync(dir)),
            Box::new(move |_, _, ctx| {
                ctx.gprs.x[3] = 0x33;
                sync(pmcr)
            }),
            Box::new(move |_, _, ctx| {
                assert_eq!(
                    ctx.gprs.pc,
                    IMAGE_IPA + 20,
                    "PMCR write ignored, PC advanced"
                );
                sync(sgi1r_read)
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[3], 0, "read as zero");
                assert_eq!(ctx.gprs.pc, IMAGE_IPA + 24);
                irq()
            }),
        ],
    );
    for (esr, value) in [
        (sgi1r & !SYSREG_RES0, 0x00FF_0001_0000_FFFF),
        (sgi0r, 0x1234_5678_9ABC_DEF0),
        (asgi1r, 0),
        (dir, 27),
    ] {
        assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
        assert_eq!(rig.exit(0), SYNC_EXIT, "ESR {esr:#x}");
        assert_eq!(rig.exit(0x100), esr, "the syndrome, without RES0 bits");
        assert_eq!(rig.exit(0x108), 0, "no FAR");
        assert_eq!(rig.exit(0x110), 0, "no HPFAR");
        assert_eq!(rig.exit(0x200), value, "the value written");
        assert_eq!(rig.exit(0x208), 0, "nothing else");
        assert_eq!(
            rig.enter(EMUL_MMIO, &[])[0],
            status::REC,
            "not an MMIO access"
        );
        assert_eq!(rig.enter(INJECT_SEA, &[])[0], status::REC, "not an abort");
    }
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "then only the IRQ");
}

/// HCR_EL2.TLOR (bit 35) and TERR (bit 36).
const HCR_TLOR: u64 = 1 << 35;
const HCR_TERR: u64 = 1 << 36;

/// A realm runs with the LORegions and RAS error record registers trapped (the RMM does not
/// switch them), and a trapped access is answered as for any other unknown register: reads
/// as zero, writes ignored, no exit.
#[test]
fn lor_and_ras_registers_trap_and_read_as_zero() {
    let rig = setup(true);
    // msr LORSA_EL1, x4 / mrs x5, ERRSELR_EL1.
    let lorsa_write = msr(0, 10, 4, 0, 4);
    let errselr_read = msr(0, 5, 3, 1, 5) | 1;
    script(
        rig.machine(),
        vec![
            Box::new(move |_, config, ctx| {
                assert_eq!(config.hcr & HCR_TLOR, HCR_TLOR, "HCR_EL2.TLOR");
                assert_eq!(config.hcr & HCR_TERR, HCR_TERR, "HCR_EL2.TERR");
                ctx.gprs.x[4] = 0x1_0001;
                sync(lorsa_write)
            }),
            Box::new(move |_, _, ctx| {
                ctx.gprs.x[5] = 0x55;
                sync(errselr_read)
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[5], 0, "read as zero");
                assert_eq!(ctx.gprs.pc, IMAGE_IPA + 8);
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "no exit but the IRQ");
}
