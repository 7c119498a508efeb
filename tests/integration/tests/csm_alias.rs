// SPDX-License-Identifier: MIT OR Apache-2.0
//! CSM stage 0: a Confidential Shared Memory alias is its own kind of stage-2 entry, and every
//! RMI command has its rule for it (`docs/csm.md`). Nothing creates aliases yet, so these
//! tests write one into a consumer's level-3 table as the CSM calls will (valid, counted),
//! and check that no command treats it as the consumer's own page.

use rmm::granule::GranuleAddr;
use rmm::rtt::entry::Entry;
use rmm::rtt::level::RttLevel;
use rmm_abi::rmi::states::GranuleState;
use rmm_abi::rsi::fid as rsi;
use rmm_integration_tests::host::{Host, Shape, TestRealm, X4, status};
use rmm_integration_tests::running;

/// The consumer's window page.
const WINDOW: u64 = 0x4000;
/// ASSIGNED and RIPAS RAM as RTT_READ_ENTRY reports them.
const ASSIGNED: u64 = 1;
const RAM: u64 = 1;

struct Consumer {
    host: Host,
    realm: TestRealm,
    /// The level-3 table that maps `WINDOW`.
    l3: GranuleAddr,
}

impl Consumer {
    fn new() -> Self {
        let host = Host::new();
        let realm = host.must_create_realm(Shape {
            vmid: 0x300,
            ..Shape::default()
        });
        host.must_tables_to(&realm, WINDOW, 3);
        let l3 = first_leaf_table(&host, realm.rd);
        Self { host, realm, l3 }
    }

    fn alias(&self, ipa: u64, pa: u64, writable: bool) {
        place_alias(&self.host, self.l3, ipa, pa, writable);
    }

    fn raw_entry(&self, ipa: u64) -> u64 {
        let mut word = [0; 8];
        self.host
            .rig
            .machine
            .realm_read(self.l3.get() + ((ipa >> 12) & 511) * 8, &mut word);
        u64::from_le_bytes(word)
    }
}

/// Writes an alias of `pa` at `ipa` into the level-3 table `l3` and counts it, as ACCEPT
/// will.
fn place_alias(host: &Host, l3: GranuleAddr, ipa: u64, pa: u64, writable: bool) {
    let raw = Entry::Alias { pa, writable }.encode(RttLevel::LEAF);
    let index = (ipa >> 12) & 511;
    host.rig
        .machine
        .realm_write(l3.get() + index * 8, &raw.to_le_bytes());
    host.rig
        .monitor
        .granules
        .lock(l3, GranuleState::Rtt)
        .expect("RTT")
        .get_ref()
        .expect("room in the count");
}

/// The level-3 table of `rd` that maps [0, 2 MiB).
fn first_leaf_table(host: &Host, rd: u64) -> GranuleAddr {
    let out = host.read_entry(rd, 0, 2);
    assert_eq!(out[..3], [status::SUCCESS, 2, 2], "a table maps [0, 2 MiB)");
    GranuleAddr::new(out[3]).expect("table address")
}

/// A provider's DATA page with known contents; returns its PA.
fn provider_page(host: &Host) -> u64 {
    let provider = host.must_create_realm(Shape {
        vmid: 0x301,
        ..Shape::default()
    });
    host.must_tables_to(&provider, 0, 3);
    let data = host.must_delegated();
    let src = host.ns_page(&[0xA5; 4096]);
    assert_eq!(
        host.data_create(provider.rd, data, 0, src, 0)[0],
        status::SUCCESS
    );
    data
}

#[test]
fn an_alias_encodes_as_a_valid_never_executable_page_and_decodes_back() {
    let l3 = RttLevel::LEAF;
    for writable in [false, true] {
        let alias = Entry::Alias {
            pa: 0x8800_0000,
            writable,
        };
        let raw = alias.encode(l3);
        assert!(Entry::is_valid(raw));
        assert_eq!(raw & 0b11, 0b11, "a page descriptor");
        assert_eq!(raw >> 53 & 0b11, 0b10, "XN: never executable");
        assert_eq!(raw & 1 << 55, 0, "Realm PAS");
        assert_eq!(raw >> 6 & 0b11, if writable { 0b11 } else { 0b01 }, "S2AP");
        assert_eq!(Entry::decode(raw, l3), alias);
        assert!(alias.is_counted() && alias.is_live());
    }
    // The consumer's own RAM page never reads back as an alias, nor an alias as one.
    let own = Entry::Assigned {
        pa: 0x8800_0000,
        ripas: rmm_abi::rmi::states::Ripas::Ram,
    };
    assert_eq!(Entry::decode(own.encode(l3), l3), own);
}

#[test]
fn read_entry_reports_assigned_ram_and_no_address() {
    let c = Consumer::new();
    let pa = provider_page(&c.host);
    c.alias(WINDOW, pa, false);
    assert_eq!(
        c.host.read_entry(c.realm.rd, WINDOW, 3),
        [status::SUCCESS, 3, ASSIGNED, 0, RAM]
    );
}

#[test]
fn data_destroy_at_an_alias_is_refused_and_changes_nothing() {
    let c = Consumer::new();
    let pa = provider_page(&c.host);
    c.alias(WINDOW, pa, true);
    let before = c.raw_entry(WINDOW);
    c.host.rig.machine.take_stage2_invalidations();
    let out = c.host.data_destroy(c.realm.rd, WINDOW);
    assert_eq!(out[0], status::rtt(3));
    assert_eq!(c.raw_entry(WINDOW), before, "the alias stays");
    assert_eq!(c.host.rig.state(pa), Some(GranuleState::Data));
    assert!(
        c.host.rig.machine.inspect(pa).iter().all(|b| *b == 0xA5),
        "the provider's page is not zeroed"
    );
    assert!(c.host.rig.machine.take_stage2_invalidations().is_empty());
}

#[test]
fn data_create_over_an_alias_is_refused() {
    let c = Consumer::new();
    let pa = provider_page(&c.host);
    c.alias(WINDOW, pa, false);
    let data = c.host.must_delegated();
    let out = c.host.data_create_unknown(c.realm.rd, data, WINDOW);
    assert_eq!(out[0], status::rtt(3));
    assert_eq!(c.host.rig.state(data), Some(GranuleState::Delegated));
    let src = c.host.ns_page(&[1; 4096]);
    // The consumer here is still NEW, so measured content reaches the RTT check too.
    assert_eq!(
        c.host.data_create(c.realm.rd, data, WINDOW, src, 0)[0],
        status::rtt(3)
    );
}

#[test]
fn a_table_of_512_contiguous_aliases_does_not_fold() {
    let c = Consumer::new();
    // 512 aliases at consecutive, 2 MiB-aligned provider addresses: as assigned pages they
    // would fold into a block the consumer appears to own.
    for i in 0..512 {
        c.alias(i << 12, 0x8840_0000 + (i << 12), true);
    }
    let out = c.host.rtt_fold(c.realm.rd, 0, 3);
    assert_eq!(out, [status::rtt(3), 0, 0, 0, X4]);
    assert_eq!(
        c.host.rig.state(c.l3.get()),
        Some(GranuleState::Rtt),
        "the table stays"
    );
}

#[test]
fn a_table_holding_an_alias_is_not_destroyed() {
    let c = Consumer::new();
    let pa = provider_page(&c.host);
    c.alias(WINDOW, pa, false);
    let out = c.host.rtt_destroy(c.realm.rd, 0, 3);
    assert_eq!(out[0], status::rtt(3));
    assert_eq!(c.host.rig.state(c.l3.get()), Some(GranuleState::Rtt));
}

/// A running realm whose page `UNPOPULATED_IPA` is an alias of a provider's page (`pa`),
/// read-only or read-write.
fn running_consumer(writable: bool) -> (running::Rig, u64) {
    let rig = running::setup(true);
    let pa = provider_page(&rig.host);
    let l3 = first_leaf_table(&rig.host, rig.realm.rd);
    place_alias(&rig.host, l3, running::UNPOPULATED_IPA, pa, writable);
    (rig, pa)
}

#[test]
fn realm_config_is_never_written_through_a_read_only_alias() {
    let (rig, pa) = running_consumer(false);
    running::script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| {
                running::rsi_call(ctx, rsi::REALM_CONFIG, &[running::UNPOPULATED_IPA])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(
                    ctx.gprs.x[0], 1,
                    "RSI_ERROR_INPUT, as for a buffer in EMPTY"
                );
                running::irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert!(
        rig.host.rig.machine.inspect(pa).iter().all(|b| *b == 0xA5),
        "the provider's page is untouched"
    );
}

#[test]
fn realm_config_is_written_through_a_read_write_alias() {
    let (rig, pa) = running_consumer(true);
    running::script(
        rig.machine(),
        vec![
            // Not at a misaligned address in it (the alias names a whole page).
            Box::new(|_, _, ctx| {
                running::rsi_call(ctx, rsi::REALM_CONFIG, &[running::UNPOPULATED_IPA + 8])
            }),
            Box::new(move |m, _, ctx| {
                assert_eq!(ctx.gprs.x[0], 1, "RSI_ERROR_INPUT: misaligned");
                assert!(
                    m.inspect(pa).iter().all(|b| *b == 0xA5),
                    "the provider's page is untouched"
                );
                running::rsi_call(ctx, rsi::REALM_CONFIG, &[running::UNPOPULATED_IPA])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(ctx.gprs.x[0], 0, "RSI_SUCCESS");
                running::irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    let page = rig.host.rig.machine.inspect(pa);
    assert_eq!(
        page[..8],
        40u64.to_le_bytes(),
        "ipa_bits in the shared page"
    );
}

#[test]
fn host_call_arguments_are_read_through_a_read_only_alias_but_results_never_written() {
    let (rig, pa) = running_consumer(false);
    running::script(
        rig.machine(),
        vec![
            Box::new(|_, _, ctx| {
                running::rsi_call(ctx, rsi::HOST_CALL, &[running::UNPOPULATED_IPA])
            }),
            Box::new(|_, _, ctx| {
                assert_eq!(
                    ctx.gprs.x[0],
                    u64::from(rsi::HOST_CALL),
                    "results dropped as for an EMPTY page: x0 keeps the function id"
                );
                running::irq()
            }),
        ],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), 5, "a host-call exit: the arguments were read");
    let gprs = [7u64; 31];
    assert_eq!(rig.enter(0, &gprs)[0], status::SUCCESS);
    assert!(
        rig.host.rig.machine.inspect(pa).iter().all(|b| *b == 0xA5),
        "the results were not written into the provider's page"
    );
}

/// A write to a read-only alias and a fetch from any alias are stage-2 permission faults the
/// host cannot fix: the realm takes a synchronous external abort, and no exit reaches the
/// host.
#[test]
fn a_permission_fault_on_an_alias_is_the_realms_external_abort() {
    // DFSC permission fault at level 3 (0b001111) with WnR; IFSC the same for a fetch.
    const PERMISSION_L3: u64 = 0x0F;
    const WNR: u64 = 1 << 6;
    const IABT: u64 = 0x20 << 26 | 1 << 25;
    // (alias writable, the trap, the class the realm takes: data or instruction abort)
    for (writable, esr, taken) in [
        (false, running::DABT | WNR | PERMISSION_L3, 0x24),
        (true, IABT | PERMISSION_L3, 0x20),
    ] {
        let (rig, _) = running_consumer(writable);
        running::script(
            rig.machine(),
            vec![
                Box::new(move |_, _, _| running::abort_at(running::UNPOPULATED_IPA, esr)),
                Box::new(move |_, _, ctx| {
                    assert_eq!(
                        ctx.el1.esr >> 26 & 0x3E,
                        taken,
                        "an abort taken by the realm"
                    );
                    assert_eq!(ctx.el1.esr & 0x3F, 0x10, "synchronous external abort");
                    running::irq()
                }),
            ],
        );
        assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
        assert_eq!(rig.exit(0), 1, "only the IRQ reaches the host ({esr:#x})");
    }
}
