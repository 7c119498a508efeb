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
                assert_eq!(ctx.gprs.pc, IMAGE_IPA, "not emulated: the access runs again");
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

