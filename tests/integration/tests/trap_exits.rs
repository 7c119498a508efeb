// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the host learns when a realm's trap becomes an exit, pinned with syndromes that have
//! every ISS bit the case allows set, so that a mask letting a realm bit through fails here.

use rmm::arch::world::{RealmTrap, TrapKind};
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

/// ESR_EL2 of a trapped system register access `S<op0>_<op1>_C<crn>_C<crm>_<op2>` with
/// `x<rt>`, a read (`mrs`) if `read`.
fn sysreg(op0: u64, op1: u64, crn: u64, crm: u64, op2: u64, rt: u64, read: bool) -> u64 {
    0x18 << 26
        | 1 << 25
        | op0 << 20
        | op2 << 17
        | op1 << 14
        | crn << 10
        | rt << 5
        | crm << 1
        | u64::from(read)
}

/// Writes next to the GIC CPU interface registers (one field off each) and writes to the ID
/// registers are ignored: no exit, the realm's registers untouched, the PC past the MSR.
#[test]
fn other_system_register_writes_are_ignored() {
    let rig = setup(true);
    let ignored = [
        sysreg(2, 0, 12, 11, 5, 2, false), // op0 = 2: a debug register
        sysreg(3, 1, 12, 11, 5, 2, false), // op1 = 1
        sysreg(3, 2, 12, 8, 0, 2, false),  // op1 = 2
        sysreg(3, 0, 13, 11, 5, 2, false), // CRn = 13
        sysreg(3, 0, 12, 3, 5, 2, false),  // CRm < 8
        sysreg(3, 4, 4, 6, 0, 2, false),   // ICC_PMR_EL1's encoding with op1 = 4
        sysreg(3, 0, 5, 6, 0, 2, false),   // CRn = 5
        sysreg(3, 0, 4, 7, 0, 2, false),   // CRm = 7
        sysreg(3, 0, 4, 6, 1, 2, false),   // op2 = 1
        sysreg(2, 0, 4, 6, 0, 2, false),   // op0 = 2
        sysreg(3, 0, 0, 4, 0, 2, false),   // ID_AA64PFR0_EL1: a write is ignored
        sysreg(3, 0, 0, 4, 0, 31, false),  // with XZR
        sysreg(3, 0, 0, 4, 0, 31, true),   // a read into XZR changes nothing
    ];
    let count = ignored.len() as u64;
    let mut steps: Vec<Step> = Vec::new();
    for (i, esr) in ignored.into_iter().enumerate() {
        steps.push(Box::new(move |_, _, ctx| {
            assert_eq!(ctx.gprs.pc, IMAGE_IPA + 4 * i as u64, "step {i}");
            if i > 0 {
                assert_eq!(ctx.gprs.x[2], 0x2222, "x2 untouched before step {i}");
                assert_eq!(ctx.gprs.x[30], 0x3030, "x30 untouched before step {i}");
            }
            ctx.gprs.x[2] = 0x2222;
            ctx.gprs.x[30] = 0x3030;
            sync(esr)
        }));
    }
    steps.push(Box::new(move |_, _, ctx| {
        assert_eq!(ctx.gprs.pc, IMAGE_IPA + 4 * count);
        assert_eq!(ctx.gprs.x[2], 0x2222);
        assert_eq!(ctx.gprs.x[30], 0x3030);
        irq()
    }));
    script(rig.machine(), steps);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "no exit but the IRQ");
}

/// Only reads of the ID space (`op0 = 3, op1 = 0, CRn = 0`) see an ID register; the same
/// `CRm, op2` anywhere else reads as zero. ID_AA64PFR0_EL1 (`CRm = 4, op2 = 0`) reads 0x11.
#[test]
fn only_the_id_space_reads_id_registers() {
    let rig = setup(true);
    let reads = [
        (sysreg(3, 0, 0, 4, 0, 7, true), 0x11),
        (sysreg(2, 0, 0, 4, 0, 7, true), 0),
        (sysreg(1, 0, 0, 4, 0, 7, true), 0),
        (sysreg(3, 1, 0, 4, 0, 7, true), 0),
        (sysreg(3, 4, 0, 4, 0, 7, true), 0),
        (sysreg(3, 0, 1, 4, 0, 7, true), 0),
        (sysreg(3, 0, 8, 4, 0, 7, true), 0),
        (sysreg(3, 0, 0, 4, 0, 12, true), 0x11),
    ];
    let mut steps: Vec<Step> = Vec::new();
    let mut previous: Option<(usize, u64)> = None;
    for (i, (esr, _)) in reads.into_iter().enumerate() {
        let check = previous;
        steps.push(Box::new(move |_, _, ctx| {
            if let Some((rt, want)) = check {
                assert_eq!(ctx.gprs.x[rt], want, "before step {i}");
            }
            assert_eq!(ctx.gprs.pc, IMAGE_IPA + 4 * i as u64);
            ctx.gprs.x[7] = 0x7777;
            ctx.gprs.x[12] = 0x1212;
            sync(esr)
        }));
        previous = Some((((esr >> 5) & 0x1F) as usize, reads[i].1));
    }
    steps.push(Box::new(move |_, _, ctx| {
        let (rt, want) = previous.expect("a read");
        assert_eq!(ctx.gprs.x[rt], want);
        assert_eq!(ctx.gprs.x[7], 0x7777, "only the target register is written");
        irq()
    }));
    script(rig.machine(), steps);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "no exit but the IRQ");
}

/// ICC_PMR_EL1 and the ICC group with `op1 = 4` exit like the SGI registers, every ISS field
/// of the syndrome shown (Rt = 31 gives the value 0).
#[test]
fn gic_cpu_interface_writes_with_op1_4_and_pmr_exit() {
    let rig = setup(true);
    let cases = [
        (sysreg(3, 0, 4, 6, 0, 9, false), 0x99),
        (sysreg(3, 4, 12, 8, 7, 9, false), 0x99),
        (sysreg(3, 0, 12, 15, 7, 31, false), 0),
    ];
    let mut steps: Vec<Step> = Vec::new();
    for (esr, _) in cases {
        steps.push(Box::new(move |_, _, ctx| {
            ctx.gprs.x[9] = 0x99;
            sync(esr)
        }));
    }
    steps.push(Box::new(|_, _, ctx| {
        assert_eq!(ctx.gprs.pc, IMAGE_IPA + 12, "past every MSR");
        irq()
    }));
    script(rig.machine(), steps);
    for (esr, value) in cases {
        assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
        assert_eq!(rig.exit(0), SYNC_EXIT, "ESR {esr:#x}");
        assert_eq!(rig.exit(0x100), esr);
        assert_eq!(rig.exit(0x200), value);
    }
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1);
}

/// WFI/WFE with every ISS bit set: the host sees EC and TI\[0\] only, the realm continues
/// past the instruction, and the exit can be neither emulated nor answered with an SEA.
#[test]
fn wfx_exit_shows_only_the_class_and_ti0() {
    let rig = setup(true);
    let wfx = 0x01 << 26 | 1 << 25 | ISS;
    script(
        rig.machine(),
        vec![
            Box::new(move |_, _, _| sync(wfx)),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.pc, IMAGE_IPA + 4, "past the WFx");
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), SYNC_EXIT);
    assert_eq!(rig.exit(0x100), 0x01 << 26 | 1);
    assert_eq!(rig.exit(0x108), 0);
    assert_eq!(rig.exit(0x110), 0);
    assert_eq!(rig.enter(EMUL_MMIO, &[])[0], status::REC);
    assert_eq!(rig.enter(INJECT_SEA, &[])[0], status::REC);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1);
}

/// An SError with every syndrome bit set: RMI_EXIT_SERROR with IDS, AET, EA and DFSC only.
#[test]
fn serror_exit_shows_ids_aet_ea_and_dfsc() {
    let rig = setup(true);
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, _| RealmTrap {
                kind: TrapKind::SError,
                esr: 0x2F << 26 | 1 << 25 | ISS,
                far: u64::MAX,
                hpfar: u64::MAX,
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.pc, IMAGE_IPA, "an SError does not move the PC");
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 6, "RMI_EXIT_SERROR");
    assert_eq!(rig.exit(0x100), 1 << 24 | 0b111 << 10 | EA | 0x3F);
    assert_eq!(rig.exit(0x108), 0, "no FAR");
    assert_eq!(rig.exit(0x110), 0, "no HPFAR");
    assert_eq!(rig.enter(EMUL_MMIO, &[])[0], status::REC);
    assert_eq!(rig.enter(INJECT_SEA, &[])[0], status::REC);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1);
}

/// ESR_ELx.EC of an instruction abort from a lower EL.
const EC_IABT: u64 = 0x20 << 26;

/// Instruction aborts: a translation fault on protected RAM shows the host EC, SET, FnV and
/// IFSC and the IPA page (every other ISS bit set and hidden); an access flag fault shows
/// nothing; an external abort is reported as one; a fetch from the unprotected half and a
/// permission fault in the protected half are the realm's SEA. None of them can be emulated
/// or answered with an SEA by the host.
#[test]
fn instruction_aborts_show_only_what_the_host_needs() {
    let rig = setup(true);
    let iabt = |fsc: u64| EC_IABT | 1 << 25 | (ISS & !EA & !0x3F) | fsc;
    let translation = iabt(0x07);
    let access_flag = iabt(0x0B);
    let permission = iabt(0x0F);
    let external = EC_IABT | 1 << 25 | ISS;
    // What the realm's EL1 sees for an SEA on a fetch from EL1: its own ISS bits but FnV,
    // S1PTW and the FSC, which becomes SEA, with EA set.
    let sea = 0x21 << 26 | 1 << 25 | (ISS & !0x3F & !(1 << 7) & !(1 << 10)) | EA | 0x10;
    script(
        rig.machine(),
        vec![
            Box::new(move |_, _, _| abort_at(UNPOPULATED_IPA, translation)),
            Box::new(move |_, _, _| abort_at(UNPOPULATED_IPA, access_flag)),
            Box::new(move |_, _, _| abort_at(UNPROTECTED + 0x2000, external)),
            Box::new(move |_, _, ctx| {
                assert_eq!(ctx.gprs.pc, IMAGE_IPA, "aborts do not move the PC");
                ctx.el1.vbar = 0x10_0000;
                ctx.gprs.pstate = 0x3C5;
                abort_at(UNPROTECTED + 0x2008, translation)
            }),
            Box::new(move |_, _, ctx| {
                assert_eq!(ctx.gprs.pc, 0x10_0200, "the realm takes the abort");
                assert_eq!(ctx.el1.esr, sea, "an SEA from the current EL");
                assert_eq!(ctx.el1.far, 0xFFFF_0000_0000_0008);
                ctx.gprs.pc = IMAGE_IPA;
                ctx.gprs.pstate = 0x3C5;
                abort_at(UNPOPULATED_IPA + 0x10, permission)
            }),
            Box::new(move |_, _, ctx| {
                assert_eq!(
                    ctx.gprs.pc, 0x10_0200,
                    "a permission fault: the realm's SEA"
                );
                assert_eq!(ctx.el1.esr, sea);
                assert_eq!(ctx.el1.far, 0xFFFF_0000_0000_0010);
                irq()
            }),
        ],
    );
    let nonemulated = |esr: u64| esr & (0x3F << 26 | 0b11 << 11 | 1 << 10 | EA | 0x3F);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), SYNC_EXIT);
    assert_eq!(rig.exit(0x100), nonemulated(translation));
    assert_eq!(rig.exit(0x100), EC_IABT | 0b11 << 11 | 1 << 10 | 0x07);
    assert_eq!(rig.exit(0x108), 0);
    assert_eq!(rig.exit(0x110), (UNPOPULATED_IPA >> 12) << 4);
    assert_eq!(rig.enter(EMUL_MMIO, &[])[0], status::REC);
    assert_eq!(rig.enter(INJECT_SEA, &[])[0], status::REC);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), SYNC_EXIT);
    assert_eq!(rig.exit(0x100), 0, "an access flag fault: no syndrome");
    assert_eq!(rig.exit(0x110), 0, "and no IPA");
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), SYNC_EXIT);
    assert_eq!(rig.exit(0x100), nonemulated(external));
    assert_eq!(rig.exit(0x110), 0, "no IPA for an external abort");
    assert_eq!(rig.enter(INJECT_SEA, &[])[0], status::REC);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1);
}

/// Emulatable MMIO with every ISS bit but EA set: the host sees EC, ISV, SAS, SF, SET, FnV,
/// WnR and DFSC, never SRT, SSE, AR, VNCR, CM or S1PTW; a store from XZR carries 0 and a
/// 64-bit store the whole register.
#[test]
fn mmio_stores_show_the_emulated_syndrome_and_the_value() {
    let rig = setup(true);
    let every = DABT | (ISS & !EA);
    let from_x5 = (every & !(0x1F << 16)) | 5 << 16;
    script(
        rig.machine(),
        vec![
            Box::new(move |_, _, ctx| {
                ctx.gprs.x = [0xDEAD_BEEF_CAFE_F00D; 31];
                abort_at(UNPROTECTED + 0x10, every)
            }),
            Box::new(move |_, _, ctx| {
                assert_eq!(ctx.gprs.pc, IMAGE_IPA + 4, "the store is done");
                abort_at(UNPROTECTED + 0x18, from_x5)
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.pc, IMAGE_IPA + 8);
                assert_eq!(
                    ctx.gprs.x, [0xDEAD_BEEF_CAFE_F00D; 31],
                    "no register written"
                );
                irq()
            }),
        ],
    );
    let shown = EC_DABT | ISV | 0b11 << 22 | 1 << 15 | 0b11 << 11 | 1 << 10 | 1 << 6 | 0x3F;
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), SYNC_EXIT);
    assert_eq!(rig.exit(0x100), shown);
    assert_eq!(rig.exit(0x108), 0x010);
    assert_eq!(rig.exit(0x110), (UNPROTECTED >> 12) << 4);
    assert_eq!(rig.exit(0x200), 0, "XZR stores zero");
    assert_eq!(rig.enter(EMUL_MMIO, &[0x5555])[0], status::SUCCESS);
    assert_eq!(rig.exit(0x100), shown);
    assert_eq!(rig.exit(0x200), 0xDEAD_BEEF_CAFE_F00D, "all 64 bits");
    assert_eq!(rig.enter(EMUL_MMIO, &[0x5555])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1);
}

/// An MMIO-like abort is not emulatable from AArch32 or on protected memory: the host sees
/// the non-emulated syndrome (ISV hidden), no FAR, and can neither emulate it nor, on
/// protected memory, answer with an SEA.
#[test]
fn aarch32_and_protected_aborts_are_not_emulatable() {
    let rig = setup(true);
    let every = DABT | (ISS & !EA);
    script(
        rig.machine(),
        vec![
            Box::new(move |_, _, ctx| {
                ctx.gprs.pstate = 0x10;
                abort_at(UNPROTECTED + 0x20, every)
            }),
            Box::new(move |_, _, ctx| {
                ctx.gprs.pstate = 0x3C5;
                abort_at(UNPOPULATED_IPA + 0x20, every)
            }),
            Box::new(|_, _, _| irq()),
        ],
    );
    let nonemulated = EC_DABT | 0b11 << 11 | 1 << 10 | 0x3F;
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0x100), nonemulated, "AArch32");
    assert_eq!(rig.exit(0x108), 0, "no FAR");
    assert_eq!(rig.exit(0x110), (UNPROTECTED >> 12) << 4);
    assert_eq!(rig.exit(0x200), 0);
    assert_eq!(rig.enter(EMUL_MMIO, &[])[0], status::REC, "ISV was hidden");
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0x100), nonemulated, "protected");
    assert_eq!(rig.exit(0x108), 0, "no FAR");
    assert_eq!(rig.exit(0x110), (UNPOPULATED_IPA >> 12) << 4);
    assert_eq!(rig.exit(0x200), 0);
    assert_eq!(rig.enter(EMUL_MMIO, &[])[0], status::REC, "ISV was hidden");
    assert_eq!(rig.enter(INJECT_SEA, &[])[0], status::REC);
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1);
}

/// INJECT_SEA after a non-emulatable abort on the unprotected half: the realm takes an SEA
/// whose syndrome keeps its own access bits (from the raw ESR, not what the host saw), with
/// the full FAR, at the instruction that faulted.
#[test]
fn inject_sea_after_a_non_isv_abort_gives_the_realm_its_syndrome() {
    let rig = setup(true);
    let every = DABT | (ISS & !ISV & !EA);
    script(
        rig.machine(),
        vec![
            Box::new(move |_, _, ctx| {
                ctx.el1.vbar = 0x10_0000;
                ctx.gprs.pstate = 0x3C4;
                abort_at(UNPROTECTED + 0x7F8, every)
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.pc, 0x10_0000, "EL1t: the SP_EL0 vector");
                assert_eq!(ctx.el1.elr, IMAGE_IPA);
                assert_eq!(
                    ctx.el1.esr,
                    0x25 << 26 | 1 << 25 | (ISS & !ISV & !0x3F & !(1 << 10) & !(1 << 7)) | 0x10,
                    "EC from the current EL, FSC = SEA, FnV and S1PTW clear, EA set"
                );
                assert_eq!(ctx.el1.far, 0xFFFF_0000_0000_07F8);
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), SYNC_EXIT);
    assert_eq!(rig.exit(0x100), EC_DABT | 0b11 << 11 | 1 << 10 | 0x3F);
    assert_eq!(rig.exit(0x108), 0x7F8);
    assert_eq!(rig.enter(EMUL_MMIO, &[])[0], status::REC);
    assert_eq!(rig.enter(INJECT_SEA, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1);
}

/// Exception classes the realm has no business raising at EL2: FP/SIMD, pointer
/// authentication, SVE and SME traps are UNDEFINED for the realm at the instruction; any
/// other class (BRK here) is a SYNC exit showing nothing.
#[test]
fn other_exception_classes() {
    let rig = setup(true);
    let mut steps: Vec<Step> = Vec::new();
    for class in [0x07u64, 0x09, 0x19, 0x1D] {
        steps.push(Box::new(move |_, _, ctx| {
            ctx.el1.vbar = 0x10_0000;
            ctx.gprs.pstate = 0x3C5;
            ctx.gprs.pc = IMAGE_IPA + 0x40;
            sync(class << 26 | 1 << 25 | ISS)
        }));
        steps.push(Box::new(move |_, _, ctx| {
            assert_eq!(ctx.gprs.pc, 0x10_0200, "class {class:#x}: UNDEFINED");
            assert_eq!(ctx.el1.esr, 1 << 25);
            assert_eq!(ctx.el1.elr, IMAGE_IPA + 0x40, "at the instruction");
            ctx.gprs.pc = IMAGE_IPA;
            sync(0x3C << 26 | 1 << 25 | ISS)
        }));
    }
    steps.push(Box::new(|_, _, ctx| {
        assert_eq!(ctx.gprs.pc, IMAGE_IPA);
        irq()
    }));
    script(rig.machine(), steps);
    for _ in 0..4 {
        assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
        assert_eq!(rig.exit(0), SYNC_EXIT, "BRK");
        assert_eq!(rig.exit(0x100), 0, "no syndrome");
        assert_eq!(rig.enter(EMUL_MMIO, &[])[0], status::REC);
    }
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1);
}

/// A data abort on the first protected page (IPA 0, RIPAS EMPTY) is the realm's SEA, like
/// any other EMPTY page: the RIPAS lookup starts at the page itself.
#[test]
fn an_abort_at_ipa_0_with_ripas_empty_is_the_realms_sea() {
    let rig = setup(true);
    script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| {
                ctx.el1.vbar = 0x10_0000;
                ctx.gprs.pstate = 0x3C5;
                abort_at(0x10, DABT | 0x07)
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.pc, 0x10_0200, "the realm takes the abort");
                assert_eq!(ctx.el1.esr, 0x25 << 26 | 1 << 25 | EA | 0x10);
                assert_eq!(ctx.el1.far, 0xFFFF_0000_0000_0010);
                irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 1, "only the IRQ reached the host");
}
