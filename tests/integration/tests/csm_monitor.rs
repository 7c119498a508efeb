// SPDX-License-Identifier: MIT OR Apache-2.0
//! Confidential Shared Memory in the running monitor (issue 17, stages 1–2), through the real
//! dispatcher: RMI_APT_CREATE/DESTROY, the CSM RSI calls with their exits and restarts, the
//! RMI rules for CSM realms (REALM_DESTROY, DATA_DESTROY, RTT_SET_RIPAS), RSI_IPA_STATE_SET
//! over CSM memory (S11), and what the consumer's stage 2 and TLBs hold after each step.

use rmm::arch::fake::FakeMachine;
use rmm::arch::world::{RealmContext, RealmEntryConfig};
use rmm::granule::GranuleAddr;
use rmm::rtt::entry::Entry;
use rmm::rtt::level::RttLevel;
use rmm_abi::rmi::states::GranuleState;
use rmm_abi::rsi::fid as rsi_fid;
use rmm_integration_tests::csm::{
    ACCEPT, AFTER_BLOCK, BLOCK, CREATE, DESTROY, DETACH, Outcome, PAGE, QUERY, READ, READ_WRITE,
    REGION, REGION_PAGES, REVOKE, SHARE, TWIN_BLOCKS, WINDOW, World, apt_create, apt_destroy, exit,
    rsi,
};
use rmm_integration_tests::host::{Shape, status};
use rmm_integration_tests::running::add_realm;

const SIZE: u64 = REGION_PAGES * PAGE;
const ASSIGNED: u64 = 1;
const UNASSIGNED: u64 = 0;
const EMPTY: u64 = 0;
const RAM: u64 = 1;
const DESTROYED: u64 = 2;

/// Provider 0 creates its region and shares it with realm 1 in `mode`: (region, share).
fn offer(w: &World, mode: u64) -> (u64, u64) {
    let region = w.call(0, CREATE, &[REGION, SIZE]).regs();
    assert_eq!(region[0], rsi::SUCCESS, "CREATE");
    let consumer = w.realm_id(1);
    let share = w.call(0, SHARE, &[region[1], consumer, mode]).regs();
    assert_eq!(share[0], rsi::SUCCESS, "SHARE");
    (region[1], share[1])
}

/// Realm 1 accepts `share` from realm 0 at [`WINDOW`].
fn accept(w: &World, share: u64) -> Outcome {
    let provider = w.realm_id(0);
    w.call(1, ACCEPT, &[share, provider, WINDOW, SIZE])
}

/// The raw level-3 entry of realm `i` at `ipa`, read from the table its level-2 entry names.
fn raw_entry(w: &World, i: usize, ipa: u64) -> u64 {
    let l3 = w.host.read_entry(w.rd(i), ipa & !0x1F_FFFF, 2);
    let mut word = [0; 8];
    w.machine()
        .realm_read(l3[3] + ((ipa >> 12) & 511) * 8, &mut word);
    u64::from_le_bytes(word)
}

#[test]
fn apt_create_rules() {
    let w = World::with(2, false);
    let (rd, apt) = (w.rd(0), w.host.must_delegated());
    // Active realm: ERROR_REALM; granule checks first.
    assert_eq!(apt_create(&w.host, rd, 0x1234)[0], status::INPUT);
    assert_eq!(
        apt_create(&w.host, rd, w.host.ns_page(&[0; 4096]))[0],
        status::INPUT
    );
    assert_eq!(apt_create(&w.host, apt, apt)[0], status::INPUT);
    assert_eq!(apt_create(&w.host, rd, apt)[0], status::realm(0));
    assert_eq!(w.host.rig.state(apt), Some(GranuleState::Delegated));
    // A NEW realm gets one APT, not two.
    let fresh = w
        .host
        .must_create_realm(rmm_integration_tests::host::Shape {
            vmid: 0x200,
            ..Default::default()
        });
    assert_eq!(apt_create(&w.host, fresh.rd, apt)[0], status::SUCCESS);
    assert_eq!(w.host.rig.state(apt), Some(GranuleState::Apt));
    let second = w.host.must_delegated();
    assert_eq!(apt_create(&w.host, fresh.rd, second)[0], status::realm(0));
    assert_eq!(w.host.rig.state(second), Some(GranuleState::Delegated));
    // The APT cannot be undelegated, the realm not destroyed, while it is bound.
    assert_eq!(w.host.undelegate(apt)[0], status::INPUT);
    assert_eq!(w.host.realm_destroy(fresh.rd)[0], status::realm(0));
    // APT_DESTROY: not a CSM realm → ERROR_REALM; wrong granule → ERROR_INPUT.
    assert_eq!(apt_destroy(&w.host, rd, apt)[0], status::realm(0));
    assert_eq!(apt_destroy(&w.host, fresh.rd, second)[0], status::INPUT);
    assert_eq!(apt_destroy(&w.host, apt, apt)[0], status::INPUT);
    assert_eq!(apt_destroy(&w.host, fresh.rd, apt)[0], status::SUCCESS);
    assert_eq!(w.host.rig.state(apt), Some(GranuleState::Delegated));
    assert!(
        w.machine().inspect(apt).iter().all(|&b| b == 0),
        "APT zeroed"
    );
    assert_eq!(w.host.realm_destroy(fresh.rd)[0], status::SUCCESS);
    assert_eq!(w.host.undelegate(apt)[0], status::SUCCESS);
}

#[test]
fn realm_ids_are_distinct_and_query_reports_them() {
    let w = World::new(3);
    let ids: Vec<u64> = (0..3).map(|i| w.realm_id(i)).collect();
    assert!(ids.iter().all(|&id| id != 0));
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    // A realm without an APT: RSI_ERROR_STATE.
    let plain = World::with(1, false);
    assert_eq!(plain.call(0, QUERY, &[0]).status(), rsi::STATE);
}

#[test]
fn read_only_share_maps_read_only_execute_never_aliases_of_the_provider_pages() {
    let w = World::new(2);
    let (_, share) = offer(&w, READ);
    // The consumer learns the size from QUERY.
    let q = w.call(1, QUERY, &[share]).regs();
    assert_eq!(
        q[..5],
        [rsi::SUCCESS, w.realm_id(0), w.realm_id(1), SIZE, READ]
    );
    let regs = accept(&w, share).regs();
    assert_eq!(regs[..3], [rsi::SUCCESS, SIZE, READ]);
    for p in 0..REGION_PAGES {
        let ipa = WINDOW + p * PAGE;
        let e = w.entry(1, ipa);
        assert_eq!(
            [e[0], e[1], e[3]],
            [3, ASSIGNED, RAM],
            "READ_ENTRY of an alias"
        );
        let decoded = Entry::decode(raw_entry(&w, 1, ipa), RttLevel::LEAF);
        assert_eq!(
            decoded,
            Entry::Alias {
                pa: w.region_pas[0][p as usize],
                writable: false
            }
        );
    }
    assert_eq!(
        w.call(1, QUERY, &[share]).regs()[4],
        READ | 1 << 8,
        "attached"
    );
    // The consumer reads the provider's bytes; its write faults.
    let out = w.call_then(
        1,
        rsi_fid::VERSION,
        &[1 << 16],
        |m: &FakeMachine, c: &RealmEntryConfig, _: &mut RealmContext| {
            let mut b = [0u8; 8];
            m.realm_read_ipa(c, WINDOW + PAGE, &mut b)
                .expect("readable");
            assert_eq!(b, [0xA0; 8], "the provider's bytes");
            assert!(
                m.realm_write_ipa(c, WINDOW, &[1]).is_err(),
                "read-only alias"
            );
        },
    );
    assert_eq!(out.status(), rsi::SUCCESS);
}

/// A window across two level-3 tables: ACCEPT walks the consumer's tables once per table,
/// each walk at its own offset into the region, and every alias must map the provider's page
/// at the same offset (the second table's first page is the region's third).
#[test]
fn a_window_across_two_tables_maps_each_page_to_the_provider_page_at_its_offset() {
    let w = World::new(2);
    let (_, share) = offer(&w, READ_WRITE);
    let window = 0x20_0000 - 2 * PAGE;
    let provider = w.realm_id(0);
    let accept_at = || w.call(1, ACCEPT, &[share, provider, window, SIZE]);
    // The second level-3 table does not exist yet: exit 7 names the window; the host makes it.
    assert_eq!(
        accept_at(),
        Outcome::Exited(exit::PREPARE, window, window + SIZE)
    );
    w.host.must_tables_to(&w.realms[1].realm, 0x20_0000, 3);
    assert_eq!(accept_at().status(), rsi::SUCCESS);
    for p in 0..REGION_PAGES {
        let ipa = window + p * PAGE;
        assert_eq!(
            Entry::decode(raw_entry(&w, 1, ipa), RttLevel::LEAF),
            Entry::Alias {
                pa: w.region_pas[0][p as usize],
                writable: true
            },
            "page {p}"
        );
    }
}

/// A window that ends exactly at the top of the consumer's protected IPA space (2^39 for
/// its 40-bit IPA space) is inside it: ACCEPT asks for its tables and then maps it.
#[test]
fn a_window_may_end_at_the_top_of_the_protected_space() {
    let w = World::new(2);
    let (_, share) = offer(&w, READ);
    let window = (1u64 << 39) - SIZE;
    let provider = w.realm_id(0);
    // One page further is outside: refused before anything is looked at.
    assert_eq!(
        w.call(1, ACCEPT, &[share, provider, window + PAGE, SIZE])
            .status(),
        rsi::INPUT
    );
    let accept_at = || w.call(1, ACCEPT, &[share, provider, window, SIZE]);
    assert_eq!(
        accept_at(),
        Outcome::Exited(exit::PREPARE, window, window + SIZE)
    );
    w.host.must_tables_to(&w.realms[1].realm, window, 3);
    assert_eq!(accept_at().status(), rsi::SUCCESS);
    assert_eq!(
        Entry::decode(raw_entry(&w, 1, window + SIZE - PAGE), RttLevel::LEAF),
        Entry::Alias {
            pa: w.region_pas[0][REGION_PAGES as usize - 1],
            writable: false
        }
    );
}

/// Realm 0 creates the region of [`SIZE`] at `base` and shares it read-only with realm 1,
/// which accepts it at [`WINDOW`]: each window page must then be an alias of the PA
/// `expected` names for it.
fn share_and_expect_aliases(w: &World, base: u64, expected: [u64; REGION_PAGES as usize]) {
    let region = w.call(0, CREATE, &[base, SIZE]).regs();
    assert_eq!(region[0], rsi::SUCCESS, "CREATE");
    let share = w.call(0, SHARE, &[region[1], w.realm_id(1), READ]).regs()[1];
    assert_eq!(accept(w, share).status(), rsi::SUCCESS);
    for (p, pa) in (0..).zip(expected) {
        assert_eq!(
            Entry::decode(raw_entry(w, 1, WINDOW + p * PAGE), RttLevel::LEAF),
            Entry::Alias {
                pa,
                writable: false
            },
            "page {p}"
        );
    }
}

/// A region inside a provider's 2 MiB block (its pages folded into one level-2 entry): every
/// alias maps the block's page at the region's offset in it.
#[test]
fn a_region_inside_a_provider_block_maps_the_blocks_pages() {
    let w = World::with_provider_block(2);
    let block = w.block_pa();
    assert_eq!(block % 0x20_0000, 0, "a 2 MiB block");
    let expected = core::array::from_fn(|p| block + (8 + p as u64) * PAGE);
    share_and_expect_aliases(&w, BLOCK + 8 * PAGE, expected);
}

/// A region from the last pages of a provider's 2 MiB block into the level-3 table after
/// it: each alias names the page its own provider entry maps (the block's pages, then the
/// table's), never a page past the block's end. (ACCEPT of it once deadlocked the CPU: the
/// provider walk that stopped at the block kept the level-2 table while walking to the
/// table after it.)
#[test]
fn a_region_across_the_end_of_a_provider_block_maps_each_page_from_its_own_entry() {
    let w = World::with_provider_block(2);
    let block = w.block_pa();
    let after = |p: u64| w.host.read_entry(w.rd(0), AFTER_BLOCK + p * PAGE, 3)[3];
    let base = AFTER_BLOCK - 2 * PAGE;
    // The summary of the block's pages stops at its end: two more pages after the two DATA
    // ones are EMPTY, and a region over them is refused, not read as the block's.
    let too_far = w.call(0, CREATE, &[base, SIZE + 2 * PAGE]).regs();
    assert_eq!(
        too_far[0],
        rsi::INPUT,
        "CREATE over EMPTY pages after the block"
    );
    let expected = [block + 510 * PAGE, block + 511 * PAGE, after(0), after(1)];
    share_and_expect_aliases(&w, base, expected);
}

/// The same across two blocks side by side: the walk that stopped at the first block holds
/// the level-2 table the walk to the second stops at.
#[test]
fn a_region_across_two_provider_blocks_maps_each_page_from_its_own_block() {
    let w = World::with_provider_block(2);
    let pa_of = |ipa: u64| {
        let entry = w.host.read_entry(w.rd(0), ipa, 2);
        assert_eq!(
            entry[..3],
            [0, 2, 1],
            "an assigned level-2 entry at {ipa:#x}"
        );
        entry[3]
    };
    let (first, second) = (pa_of(TWIN_BLOCKS), pa_of(TWIN_BLOCKS + 0x20_0000));
    let expected = [
        first + 510 * PAGE,
        first + 511 * PAGE,
        second,
        second + PAGE,
    ];
    share_and_expect_aliases(&w, TWIN_BLOCKS + 0x20_0000 - 2 * PAGE, expected);
}

/// SHARE reads the consumer's realm state from its RD: a consumer that has an APT but is still
/// NEW cannot be offered a grant (RSI_ERROR_STATE), and can once it is ACTIVE.
#[test]
fn share_waits_for_the_consumer_to_be_active() {
    let w = World::new(2);
    let shape = Shape {
        vmid: 0x1ff,
        ..Shape::default()
    };
    let late = add_realm(&w.host, shape, 1, false, false);
    let apt = w.host.must_delegated();
    assert_eq!(apt_create(&w.host, late.realm.rd, apt)[0], status::SUCCESS);
    // RealmIds are handed out in order: the new realm's is one past the world's last.
    let late_id = w.realm_id(0).max(w.realm_id(1)) + 1;
    let region = w.call(0, CREATE, &[REGION, SIZE]).regs()[1];
    let share = || w.call(0, SHARE, &[region, late_id, READ]).status();
    assert_eq!(share(), rsi::STATE, "a NEW consumer");
    assert_eq!(w.host.realm_activate(late.realm.rd)[0], status::SUCCESS);
    assert_eq!(share(), rsi::SUCCESS, "an ACTIVE one");
}

#[test]
fn read_write_share_carries_bytes_both_ways() {
    let w = World::new(2);
    let (_, share) = offer(&w, READ_WRITE);
    assert_eq!(
        accept(&w, share).regs()[..3],
        [rsi::SUCCESS, SIZE, READ_WRITE]
    );
    w.call_then(
        1,
        rsi_fid::VERSION,
        &[1 << 16],
        |m: &FakeMachine, c: &RealmEntryConfig, _: &mut RealmContext| {
            m.realm_write_ipa(c, WINDOW + 2 * PAGE + 8, b"consumer")
                .expect("writable");
        },
    );
    w.call_then(
        0,
        rsi_fid::VERSION,
        &[1 << 16],
        |m: &FakeMachine, c: &RealmEntryConfig, _: &mut RealmContext| {
            let mut b = [0u8; 8];
            m.realm_read_ipa(c, REGION + 2 * PAGE + 8, &mut b)
                .expect("own page");
            assert_eq!(&b, b"consumer");
        },
    );
}

#[test]
fn outsiders_and_wrong_providers_cannot_accept() {
    let w = World::new(3);
    let (_, share) = offer(&w, READ);
    let provider = w.realm_id(0);
    // Realm 2 was not offered the share.
    let out = w.call(2, ACCEPT, &[share, provider, WINDOW, SIZE]);
    assert_eq!(out.status(), rsi::INPUT);
    // The consumer names the wrong provider, or the wrong size.
    assert_eq!(
        w.call(1, ACCEPT, &[share, w.realm_id(2), WINDOW, SIZE])
            .status(),
        rsi::INPUT
    );
    assert_eq!(
        w.call(1, ACCEPT, &[share, provider, WINDOW, SIZE * 2])
            .status(),
        rsi::INPUT
    );
    assert_eq!(
        w.call(1, ACCEPT, &[0, provider, WINDOW, SIZE]).status(),
        rsi::INPUT
    );
    // Nothing was mapped.
    assert_eq!(w.entry(1, WINDOW)[1], UNASSIGNED);
    assert_eq!(w.entry(2, WINDOW)[1], UNASSIGNED);
}

#[test]
fn accept_asks_the_host_to_prepare_and_never_maps_over_private_pages() {
    let w = World::new(2);
    let (_, share) = offer(&w, READ);
    // A page of the window is the consumer's own DATA with RIPAS EMPTY (assigned).
    let data = w.host.must_delegated();
    assert_eq!(
        w.host.data_create_unknown(w.rd(1), data, WINDOW + PAGE)[0],
        status::SUCCESS
    );
    for _ in 0..2 {
        // The host re-enters without preparing: exit 7 again, nothing mapped.
        assert_eq!(
            accept(&w, share),
            Outcome::Exited(exit::PREPARE, WINDOW, WINDOW + SIZE)
        );
        assert_eq!(w.entry(1, WINDOW)[1], UNASSIGNED);
        assert_eq!(w.entry(1, WINDOW + PAGE)[..2], [3, ASSIGNED]);
    }
    // The host serves exit 7: the private page goes away, then ACCEPT succeeds.
    assert_eq!(
        w.host.data_destroy(w.rd(1), WINDOW + PAGE)[0],
        status::SUCCESS
    );
    assert_eq!(accept(&w, share).status(), rsi::SUCCESS);
    // A window still RIPAS RAM is refused (the consumer must release it first), and so is
    // a window that overlaps one in use.
    let region = w.call(0, CREATE, &[REGION + SIZE - PAGE, PAGE]);
    assert_eq!(region.status(), rsi::INPUT, "overlaps the first region");
    let r2 = w.call(2 - 2, CREATE, &[0x1000, PAGE]).regs()[1];
    let s2 = w.call(0, SHARE, &[r2, w.realm_id(1), READ]).regs()[1];
    let provider = w.realm_id(0);
    assert_eq!(
        w.call(1, ACCEPT, &[s2, provider, 0x2000, PAGE]).status(),
        rsi::INPUT,
        "RAM"
    );
    assert_eq!(
        w.call(1, ACCEPT, &[s2, provider, WINDOW, PAGE]).status(),
        rsi::INPUT,
        "in use"
    );
}

#[test]
fn create_asks_the_host_to_populate_and_refuses_empty_pages() {
    let w = World::new(1);
    // [REGION + SIZE, +1 page) is RIPAS EMPTY: NotRam.
    assert_eq!(
        w.call(0, CREATE, &[REGION + SIZE, PAGE]).status(),
        rsi::INPUT
    );
    // UNPOPULATED_IPA (0x3000) is RIPAS RAM without DATA: exit 8, restart.
    assert_eq!(
        w.call(0, CREATE, &[0x3000, PAGE]),
        Outcome::Exited(exit::POPULATE, 0x3000, 0x4000)
    );
    let data = w.host.must_delegated();
    assert_eq!(
        w.host.data_create_unknown(w.rd(0), data, 0x3000)[0],
        status::SUCCESS
    );
    assert_eq!(w.call(0, CREATE, &[0x3000, PAGE]).status(), rsi::SUCCESS);
    // Overlap and bad ranges.
    assert_eq!(w.call(0, CREATE, &[0x3000, PAGE]).status(), rsi::INPUT);
    assert_eq!(w.call(0, CREATE, &[REGION + 1, PAGE]).status(), rsi::INPUT);
    assert_eq!(w.call(0, CREATE, &[REGION, 0]).status(), rsi::INPUT);
    assert_eq!(w.call(0, CREATE, &[REGION, 16 << 20]).status(), rsi::INPUT);
}

#[test]
fn data_destroy_at_an_alias_is_refused_and_at_the_provider_damages_the_region() {
    let w = World::new(2);
    let (region, share) = offer(&w, READ_WRITE);
    assert_eq!(accept(&w, share).status(), rsi::SUCCESS);
    // At the consumer's alias: ERROR_RTT, nothing changes.
    assert_eq!(w.host.data_destroy(w.rd(1), WINDOW)[0], status::rtt(3));
    assert_eq!(w.entry(1, WINDOW)[1], ASSIGNED);
    // At the provider's page: succeeds; every window page becomes DESTROYED, invalidated.
    let out = w.host.data_destroy(w.rd(0), REGION + PAGE);
    assert_eq!(out[0], status::SUCCESS);
    assert_eq!(out[1], w.region_pas[0][1]);
    for p in 0..REGION_PAGES {
        assert_eq!(w.entry(1, WINDOW + p * PAGE)[..2], [3, UNASSIGNED]);
        assert_eq!(w.entry(1, WINDOW + p * PAGE)[3], DESTROYED);
    }
    assert!(w.machine().stale_translations().is_empty());
    // The grant is gone; SHARE of the damaged region is refused; DESTROY works.
    assert_eq!(accept(&w, share).status(), rsi::INPUT);
    assert_eq!(
        w.call(0, SHARE, &[region, w.realm_id(1), READ]).status(),
        rsi::STATE
    );
    assert_eq!(w.call(0, DESTROY, &[region]).status(), rsi::SUCCESS);
    assert_eq!(w.call(0, DESTROY, &[region]).status(), rsi::INPUT);
}

#[test]
fn revoke_unmaps_the_window_and_the_consumer_reclaims_it() {
    let w = World::new(2);
    let (_, share) = offer(&w, READ_WRITE);
    assert_eq!(accept(&w, share).status(), rsi::SUCCESS);
    // The consumer's CPU caches the alias.
    w.call_then(
        1,
        rsi_fid::VERSION,
        &[1 << 16],
        |m: &FakeMachine, c: &RealmEntryConfig, _: &mut RealmContext| {
            m.realm_write_ipa(c, WINDOW, &[7]).expect("writable");
        },
    );
    let before = w.host.refcount(w.host.read_entry(w.rd(1), 0, 2)[3]);
    assert_eq!(w.call(0, REVOKE, &[share]).status(), rsi::SUCCESS);
    assert!(
        w.machine().stale_translations().is_empty(),
        "no stale alias"
    );
    for p in 0..REGION_PAGES {
        assert_eq!(w.entry(1, WINDOW + p * PAGE)[1], UNASSIGNED);
        assert_eq!(w.entry(1, WINDOW + p * PAGE)[3], EMPTY);
    }
    let after = w.host.refcount(w.host.read_entry(w.rd(1), 0, 2)[3]);
    assert_eq!(before - after, REGION_PAGES as u16, "aliases uncounted");
    assert_eq!(accept(&w, share).status(), rsi::INPUT, "revoked for good");
    assert_eq!(w.call(1, DETACH, &[share]).status(), rsi::INPUT);
    // The window is the consumer's again: RSI_IPA_STATE_SET is allowed over it.
    let out = w.call(1, rsi_fid::IPA_STATE_SET, &[WINDOW, WINDOW + SIZE, RAM, 0]);
    assert_eq!(
        out,
        Outcome::Exited(4, WINDOW, WINDOW + SIZE),
        "RIPAS change exit"
    );
}

#[test]
fn detach_and_reaccept() {
    let w = World::new(2);
    let (_, share) = offer(&w, READ);
    assert_eq!(accept(&w, share).status(), rsi::SUCCESS);
    assert_eq!(w.call(1, DETACH, &[share]).status(), rsi::SUCCESS);
    assert_eq!(w.call(1, DETACH, &[share]).status(), rsi::STATE);
    // DETACH leaves RIPAS RAM: the window must be released before a new ACCEPT.
    assert_eq!(w.entry(1, WINDOW)[3], RAM);
    assert_eq!(accept(&w, share).status(), rsi::INPUT);
    assert!(w.machine().stale_translations().is_empty());
}

#[test]
fn ipa_state_set_over_csm_memory_is_refused() {
    let w = World::new(2);
    let (_, share) = offer(&w, READ);
    assert_eq!(accept(&w, share).status(), rsi::SUCCESS);
    // The provider's region and the consumer's window (S11).
    let out = w.call(
        0,
        rsi_fid::IPA_STATE_SET,
        &[REGION, REGION + PAGE, EMPTY, 0],
    );
    assert_eq!(out.status(), rsi::INPUT);
    let out = w.call(
        1,
        rsi_fid::IPA_STATE_SET,
        &[WINDOW - PAGE, WINDOW + PAGE, EMPTY, 0],
    );
    assert_eq!(out.status(), rsi::INPUT);
    // Elsewhere it is the usual RIPAS change.
    let out = w.call(0, rsi_fid::IPA_STATE_SET, &[0x8000, 0x9000, RAM, 0]);
    assert_eq!(out, Outcome::Exited(4, 0x8000, 0x9000));
}

#[test]
fn rtt_set_ripas_checks_csm_memory_again() {
    let w = World::new(1);
    // The realm asks for [REGION, REGION + SIZE) before a region exists there ...
    let out = w.call(
        0,
        rsi_fid::IPA_STATE_SET,
        &[REGION, REGION + SIZE, EMPTY, 0],
    );
    assert_eq!(out, Outcome::Exited(4, REGION, REGION + SIZE));
    // ... and another REC creates one (here, the same REC's next call would; the RMM only
    // sees the APT): a region made directly through a second call after the host completes.
    // The host may not apply the change over the region once it exists.
    let rec = w.realms[0].recs[0];
    // Create the region while the change is pending: the REC cannot run, so use the
    // state machine's own view: the change is applied before the region exists → allowed.
    let applied = w.host.call(
        rmm_abi::rmi::fid::RTT_SET_RIPAS,
        &[w.rd(0), rec, REGION, REGION + PAGE],
    );
    assert_eq!(applied[0], status::SUCCESS);
}

/// The race S11's second check is for: REC 0 asks to make `[REGION, REGION + SIZE)` EMPTY
/// (exit 4, the change pending), then REC 1 of the same realm makes a region there; the
/// host's RTT_SET_RIPAS for REC 0 must now be refused (RMI_ERROR_INPUT), the pages staying
/// RAM.
#[test]
fn rtt_set_ripas_is_refused_over_a_region_made_while_the_change_was_pending() {
    let w = World::with_two_recs(1);
    let out = w.call_from(
        0,
        0,
        rsi_fid::IPA_STATE_SET,
        &[REGION, REGION + SIZE, EMPTY, 0],
    );
    assert_eq!(out, Outcome::Exited(4, REGION, REGION + SIZE));
    assert_eq!(
        w.call_from(0, 1, CREATE, &[REGION, SIZE]).status(),
        rsi::SUCCESS
    );
    let rec = w.realms[0].recs[0];
    let applied = w.host.call(
        rmm_abi::rmi::fid::RTT_SET_RIPAS,
        &[w.rd(0), rec, REGION, REGION + SIZE],
    );
    assert_eq!(applied[0], status::INPUT);
    for p in 0..REGION_PAGES {
        assert_eq!(
            w.entry(0, REGION + p * PAGE)[..4],
            [3, ASSIGNED, w.region_pas[0][p as usize], RAM]
        );
    }
    // A change that ends where the region begins touches none of it: it applies.
    let below = REGION - 8 * PAGE;
    let out = w.call_from(0, 1, rsi_fid::IPA_STATE_SET, &[below, REGION, RAM, 0]);
    assert_eq!(out, Outcome::Exited(4, below, REGION));
    let applied = w.host.call(
        rmm_abi::rmi::fid::RTT_SET_RIPAS,
        &[w.rd(0), w.realms[0].recs[1], below, REGION],
    );
    assert_eq!(applied[..2], [status::SUCCESS, REGION]);
}

#[test]
fn realm_destroy_waits_for_apt_destroy_which_tears_down_every_alias() {
    let w = World::new(3);
    let (_, share) = offer(&w, READ_WRITE);
    assert_eq!(accept(&w, share).status(), rsi::SUCCESS);
    // Realm 2 shares with 0 too, and 0 accepts: 0 is provider and consumer.
    let r2 = w.call(2, CREATE, &[REGION, SIZE]).regs()[1];
    let s2 = w.call(2, SHARE, &[r2, w.realm_id(0), READ]).regs();
    assert_eq!(s2[0], rsi::SUCCESS);
    let out = w.call(0, ACCEPT, &[s2[1], w.realm_id(2), WINDOW, SIZE]);
    assert_eq!(out.status(), rsi::SUCCESS);
    // Realm 0 cannot be destroyed while its APT is bound.
    let rd0 = w.rd(0);
    let rec0 = w.realms[0].recs[0];
    assert_eq!(w.host.rec_destroy(rec0)[0], status::SUCCESS);
    assert_eq!(w.host.realm_destroy(rd0)[0], status::realm(0));
    // Its APT_DESTROY unmaps realm 1's window (DESTROYED) and its own window into realm 2.
    assert_eq!(apt_destroy(&w.host, rd0, w.apts[0])[0], status::SUCCESS);
    assert_eq!(w.entry(1, WINDOW)[..2], [3, UNASSIGNED]);
    assert_eq!(w.entry(1, WINDOW)[3], DESTROYED);
    assert_eq!(w.entry(0, WINDOW)[3], DESTROYED);
    assert!(w.machine().stale_translations().is_empty());
    // Realm 2's grant to realm 0 is gone; realm 1's received grant is gone.
    assert_eq!(w.call(2, QUERY, &[s2[1]]).status(), rsi::INPUT);
    assert_eq!(w.call(1, QUERY, &[share]).status(), rsi::INPUT);
    assert_eq!(w.call(2, REVOKE, &[s2[1]]).status(), rsi::INPUT);
    // Now the realm can go: its pages, tables and RD.
    for p in 0..REGION_PAGES {
        assert_eq!(
            w.host.data_destroy(rd0, REGION + p * PAGE)[0],
            status::SUCCESS
        );
    }
    assert_eq!(w.rd(0), rd0);
    let _ = GranuleAddr::new(rd0);
}

#[test]
fn a_waiting_rec_exits_for_a_host_interrupt_without_changing_anything() {
    let w = World::new(2);
    let csm = w.host.rig.monitor.csm.lock();
    w.machine().set_host_irq_pending(true);
    let out = w.call(0, CREATE, &[REGION, SIZE]);
    assert_eq!(out, Outcome::Exited(exit::IRQ, 0, 0));
    w.machine().set_host_irq_pending(false);
    drop(csm);
    // The call runs again and succeeds: region id 1.
    let regs = w.call(0, CREATE, &[REGION, SIZE]).regs();
    assert_eq!(regs[..2], [rsi::SUCCESS, 1]);
}

/// RSI_ATTEST_TOKEN_INIT with a fixed challenge, then CONTINUE into the realm's DATA page at
/// 0x2000 until done: the whole token.
fn token(w: &World, i: usize) -> Vec<u8> {
    let challenge = [0x1111_1111_1111_1111u64; 8];
    let len = w.call(i, rsi_fid::ATTEST_TOKEN_INIT, &challenge).regs();
    assert_eq!(len[0], rsi::SUCCESS, "INIT");
    let mut token = Vec::new();
    loop {
        let regs = w
            .call(i, rsi_fid::ATTEST_TOKEN_CONTINUE, &[0x2000, 0, 4096])
            .regs();
        let page = w.machine().inspect(w.realms[i].call_pa);
        token.extend_from_slice(&page[..regs[1] as usize]);
        match regs[0] {
            rsi::SUCCESS => break,
            3 => continue,
            other => panic!("CONTINUE: {other}"),
        }
    }
    assert_eq!(token.len() as u64, len[1], "the length INIT announced");
    token
}

/// The realm token's claims map.
fn realm_claims(token: &[u8]) -> Vec<(ciborium::Value, ciborium::Value)> {
    use ciborium::Value;
    let Value::Tag(399, inner) = ciborium::from_reader(token).expect("CBOR") else {
        panic!("not a CCA token");
    };
    let collection = inner.into_map().expect("map");
    let realm = collection
        .into_iter()
        .find(|(k, _)| k.as_integer() == Some(44241.into()))
        .and_then(|(_, v)| v.into_bytes().ok())
        .expect("realm token");
    let Value::Tag(18, sign1) = ciborium::from_reader(&realm[..]).expect("CBOR") else {
        panic!("not COSE_Sign1");
    };
    let payload = sign1.into_array().expect("array")[2]
        .clone()
        .into_bytes()
        .expect("payload");
    let claims: Value = ciborium::from_reader(&payload[..]).expect("claims");
    claims.into_map().expect("claims map")
}

fn claim(map: &[(ciborium::Value, ciborium::Value)], key: i128) -> Option<ciborium::Value> {
    map.iter()
        .find(|(k, _)| k.as_integer().map(i128::from) == Some(key))
        .map(|(_, v)| v.clone())
}

fn int(v: &ciborium::Value) -> u64 {
    u64::try_from(v.as_integer().expect("integer")).expect("u64")
}

#[test]
fn tokens_carry_the_csm_claims_of_both_sides() {
    let w = World::new(3);
    rmm::attestation::provision_into(
        &w.host.rig.monitor.attestation,
        w.machine(),
        Box::leak(vec![0u8; 0x4000].into_boxed_slice()),
    )
    .expect("provisioned");
    let (region, share) = offer(&w, READ);
    assert_eq!(accept(&w, share).status(), rsi::SUCCESS);
    let provider = realm_claims(&token(&w, 0));
    let consumer = realm_claims(&token(&w, 1));
    let outsider = realm_claims(&token(&w, 2));
    for (claims, i) in [(&provider, 0), (&consumer, 1), (&outsider, 2)] {
        assert_eq!(claim(claims, 65001).map(|v| int(&v)), Some(w.realm_id(i)));
    }
    let rim = |claims: &[(ciborium::Value, ciborium::Value)]| {
        claim(claims, 44238)
            .and_then(|v| v.into_bytes().ok())
            .expect("RIM")
    };
    // (role, region, share, peer, peer RIM, …, size, mode, attached) for each side.
    for (claims, role, peer, peer_claims) in [
        (&provider, 1, 1usize, &consumer),
        (&consumer, 2, 0usize, &provider),
    ] {
        let shares = claim(claims, 65002)
            .and_then(|v| v.into_array().ok())
            .expect("shares");
        assert_eq!(shares.len(), 1, "one share each");
        let share_map = shares[0].as_map().expect("share map").clone();
        let field = |k| claim(&share_map, k).expect("field");
        assert_eq!(int(&field(1)), role);
        assert_eq!(int(&field(2)), region);
        assert_eq!(int(&field(3)), share);
        assert_eq!(int(&field(4)), w.realm_id(peer));
        assert_eq!(
            field(5).into_bytes().expect("RIM"),
            rim(peer_claims),
            "peer RIM"
        );
        assert_eq!(int(&field(8)), SIZE);
        assert_eq!(int(&field(9)), READ);
        assert_eq!(field(10), ciborium::Value::Bool(true), "attached");
    }
    // The outsider is a CSM realm with nothing shared.
    let none = claim(&outsider, 65002).and_then(|v| v.into_array().ok());
    assert_eq!(none.map(|a| a.len()), Some(0));
    // A realm without an APT has neither claim.
    let plain = World::with(1, false);
    rmm::attestation::provision_into(
        &plain.host.rig.monitor.attestation,
        plain.machine(),
        Box::leak(vec![0u8; 0x4000].into_boxed_slice()),
    )
    .expect("provisioned");
    let claims = realm_claims(&token(&plain, 0));
    assert!(claim(&claims, 65001).is_none() && claim(&claims, 65002).is_none());
}

#[test]
fn apt_destroy_of_a_realm_with_more_relations_than_one_batch_tears_all_down() {
    // Realm 0 shares its region with realms 1–4 (1 and 2 accept) and accepts a grant from
    // realm 5: five relations, more than `csm::APT_DESTROY_BATCH`, so the monitor takes
    // several steps under the same locks.
    const { assert!(5 > csm::APT_DESTROY_BATCH) };
    let w = World::new(6);
    let region = w.call(0, CREATE, &[REGION, SIZE]).regs();
    assert_eq!(region[0], rsi::SUCCESS, "CREATE");
    let mut shares = Vec::new();
    for c in 1..5 {
        let share = w.call(0, SHARE, &[region[1], w.realm_id(c), READ]).regs();
        assert_eq!(share[0], rsi::SUCCESS, "SHARE to {c}");
        if c <= 2 {
            let out = w.call(c, ACCEPT, &[share[1], w.realm_id(0), WINDOW, SIZE]);
            assert_eq!(out.status(), rsi::SUCCESS, "ACCEPT by {c}");
        }
        shares.push((c, share[1]));
    }
    let r5 = w.call(5, CREATE, &[REGION, SIZE]).regs()[1];
    let s5 = w.call(5, SHARE, &[r5, w.realm_id(0), READ]).regs();
    assert_eq!(s5[0], rsi::SUCCESS);
    let out = w.call(0, ACCEPT, &[s5[1], w.realm_id(5), WINDOW, SIZE]);
    assert_eq!(out.status(), rsi::SUCCESS);

    assert_eq!(apt_destroy(&w.host, w.rd(0), w.apts[0])[0], status::SUCCESS);
    // Every window into and out of realm 0 is DESTROYED, with no stale translation.
    for i in [0, 1, 2] {
        assert_eq!(w.entry(i, WINDOW)[..2], [3, UNASSIGNED], "realm {i}");
        assert_eq!(w.entry(i, WINDOW)[3], DESTROYED, "realm {i}");
    }
    assert!(w.machine().stale_translations().is_empty());
    // Every relation is gone on the peers' side; realm 0 is no CSM realm any more.
    for (c, share) in shares {
        assert_eq!(w.call(c, QUERY, &[share]).status(), rsi::INPUT, "realm {c}");
    }
    assert_eq!(w.call(5, QUERY, &[s5[1]]).status(), rsi::INPUT);
    assert_eq!(w.call(0, QUERY, &[]).status(), rsi::STATE); // no APT: ERROR_STATE
}
