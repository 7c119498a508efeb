// SPDX-License-Identifier: MIT OR Apache-2.0
//! CSM relations ending (`docs/csm.md`, "State tables"), each seen from every side:
//!
//! - the provider revokes an attached grant: the consumer's next access aborts inside the
//!   realm (its window is RIPAS EMPTY), ACCEPT of the dead ShareId fails, and the consumer
//!   takes the window back as private RAM with `RSI_IPA_STATE_SET(RAM)`;
//! - the host destroys pages: `RMI_DATA_DESTROY` at the consumer's alias is `RMI_ERROR_RTT`,
//!   at the provider's page it succeeds, damages the region (the consumer's window becomes
//!   DESTROYED, ACCEPT and SHARE fail) and `RSI_CSM_DESTROY` removes it;
//! - APTs: `RMI_REALM_DESTROY` of a realm with an APT is `RMI_ERROR_REALM`; the provider's
//!   `RMI_APT_DESTROY` tears down the consumer's aliases (window DESTROYED); the consumer's
//!   `RMI_APT_DESTROY` removes its grant from the provider; the wrong APT address and a
//!   second APT_DESTROY are refused.

use super::csm_realm::Host;
use super::csm_realm::{CsmSpec, Realms, expect, rsi_status, with_realms};
use super::csm_share::{
    MODE_RO, PAIR, PROVIDER_RAM, SEED, SMALL, accept, accept_refused, expect_sea, offer, query,
    verify,
};
use super::pool::{Hex, check};
use crate::ensure;
use crate::rmi::{self, entry_state, ripas, status};
use crate::runner::Words;
use crate::runner::{Outcome, Scenario};
use realm_protocol::csm::{Op, REGION_IPA, WINDOW_IPA};

/// Run by the primary, in order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "csm_revoke_while_attached",
        run: revoke,
    },
    Scenario {
        name: "csm_host_data_destroy_alias_and_provider_page",
        run: data_destroy,
    },
    Scenario {
        name: "csm_apt_destroy_and_realm_destroy",
        run: apt_destroy,
    },
];

const RIPAS_EMPTY: u64 = 0;
const RIPAS_RAM: u64 = 1;
const RIPAS_DESTROYED: u64 = 2;
/// `RSI_IPA_STATE_SET` flags: the realm accepts that DESTROYED memory changes.
const CHANGE_DESTROYED: u64 = 1;

/// `RSI_IPA_STATE_GET` of `[base, top)` by `realm` must say one run of `ripas`.
fn ripas_is(realm: &super::csm_realm::CsmRealm, base: u64, top: u64, want: u64) -> Outcome {
    let s = realm.call(Op::IpaStateGet, &[base, top])?;
    ensure!(
        s[..3] == [rsi_status::SUCCESS, top, want],
        "{}: RSI_IPA_STATE_GET({base:#x}, {top:#x}) gave {}, expected [0, {top:#x}, {want}]",
        realm.name,
        Words(&s[..3])
    );
    Ok(())
}

/// Scenario 5.
fn revoke() -> Outcome {
    with_realms(PAIR, &|r: &Realms<'_>| {
        let (p, c) = (r.get(0), r.get(1));
        let g = offer(p, c, REGION_IPA, SMALL, SEED, 8, MODE_RO)?;
        accept(c, p, &g, WINDOW_IPA, &Host::default())?;
        verify(c, WINDOW_IPA, SMALL, SEED, 8)?;
        let out = p.call(Op::Revoke, &[g.share])?;
        expect(format_args!("provider's RSI_CSM_REVOKE"), out[0], 0)?;
        let read = c.call(Op::ProbeRead, &[WINDOW_IPA + 16])?;
        expect_sea(
            read[0],
            format_args!("consumer's read of its revoked window"),
        )?;
        ripas_is(c, WINDOW_IPA, WINDOW_IPA + SMALL, RIPAS_EMPTY)?;
        let args = [g.share, p.id, WINDOW_IPA, SMALL];
        accept_refused(c, args, rsi_status::INPUT, "of the revoked share")?;
        query(p, g.share, [rsi_status::INPUT, 0, 0, 0, 0])?;
        // The consumer takes the window back as its own RAM; fresh pages on first touch.
        let set = c.call(
            Op::IpaStateSet,
            &[WINDOW_IPA, WINDOW_IPA + SMALL, RIPAS_RAM, 0],
        )?;
        ensure!(
            set[..3] == [rsi_status::SUCCESS, WINDOW_IPA + SMALL, 0],
            "consumer's RSI_IPA_STATE_SET(window, RAM) gave {}",
            Words(&set[..3])
        );
        let read = c.call(Op::ProbeRead, &[WINDOW_IPA + 16])?;
        ensure!(
            read[..2] == [0, 0],
            "consumer's read of its reclaimed window gave ESR {:#x}, value {:#x} (expected a \
             fresh zeroed page)",
            read[0],
            read[1]
        );
        c.call(Op::Write, &[WINDOW_IPA, SMALL, SEED + 5, 8])?;
        verify(c, WINDOW_IPA, SMALL, SEED + 5, 8)?;
        // The provider's pages are untouched, and the region can be shared again.
        verify(p, REGION_IPA, SMALL, SEED, 8)
    })
}

/// Scenario 6.
fn data_destroy() -> Outcome {
    with_realms(PAIR, &|r: &Realms<'_>| {
        let (p, c) = (r.get(0), r.get(1));
        let g = offer(p, c, REGION_IPA, SMALL, SEED, 8, MODE_RO)?;
        accept(c, p, &g, WINDOW_IPA, &Host::default())?;
        let out = c.data_destroy(WINDOW_IPA);
        ensure!(
            out.0[0] == status::rtt(3),
            "DATA_DESTROY at the consumer's alias gave {}, expected RMI_ERROR_RTT(3)",
            Hex(out.0)
        );
        verify(c, WINDOW_IPA, SMALL, SEED, 8)?;
        let out = p.data_destroy(REGION_IPA + PAGE_1);
        ensure!(
            out.0[0] == status::SUCCESS,
            "DATA_DESTROY at the provider's region page gave {}",
            Hex(out.0)
        );
        // The region is damaged: the consumer's window is DESTROYED, no grant is left.
        check(
            rmi::rtt_read_entry(c.rd(), WINDOW_IPA, 3),
            [
                status::SUCCESS,
                3,
                entry_state::UNASSIGNED,
                0,
                ripas::DESTROYED,
            ],
            format_args!("RTT_READ_ENTRY of the consumer's window after the damage"),
        )?;
        ripas_is(c, WINDOW_IPA, WINDOW_IPA + SMALL, RIPAS_DESTROYED)?;
        let args = [g.share, p.id, WINDOW_IPA, SMALL];
        accept_refused(c, args, rsi_status::INPUT, "of a damaged region's share")?;
        let again = p.call(Op::Share, &[g.region, c.id, MODE_RO])?;
        expect(
            format_args!("provider's SHARE of its damaged region"),
            again[0],
            rsi_status::STATE,
        )?;
        let out = p.call(Op::Destroy, &[g.region])?;
        expect(format_args!("provider's RSI_CSM_DESTROY"), out[0], 0)?;
        let out = p.call(Op::Destroy, &[g.region])?;
        expect(
            format_args!("provider's second RSI_CSM_DESTROY"),
            out[0],
            rsi_status::INPUT,
        )?;
        // The consumer acknowledges the loss (CHANGE_DESTROYED) and gets fresh RAM there.
        let set = c.call(
            Op::IpaStateSet,
            &[WINDOW_IPA, WINDOW_IPA + SMALL, RIPAS_RAM, CHANGE_DESTROYED],
        )?;
        ensure!(
            set[..3] == [rsi_status::SUCCESS, WINDOW_IPA + SMALL, 0],
            "consumer's RSI_IPA_STATE_SET(window, RAM, CHANGE_DESTROYED) gave {}",
            Words(&set[..3])
        );
        let read = c.call(Op::ProbeRead, &[WINDOW_IPA + 8])?;
        ensure!(
            read[..2] == [0, 0],
            "consumer's read of its window taken back gave ESR {:#x}, value {:#x} (expected a \
             fresh zeroed page)",
            read[0],
            read[1]
        );
        Ok(())
    })
}

/// The second page of a region.
const PAGE_1: u64 = crate::realm::PAGE;

/// Scenario 7.
fn apt_destroy() -> Outcome {
    const SPECS: &[CsmSpec] = &[
        CsmSpec::new("provider", PROVIDER_RAM),
        CsmSpec::new("consumer", &[]),
        CsmSpec::new("provider2", PROVIDER_RAM),
    ];
    with_realms(SPECS, &|r: &Realms<'_>| {
        let (p, c, p2) = (r.get(0), r.get(1), r.get(2));
        let window2 = WINDOW_IPA + 0x10_0000;
        let g = offer(p, c, REGION_IPA, SMALL, SEED, 8, MODE_RO)?;
        accept(c, p, &g, WINDOW_IPA, &Host::default())?;
        let g2 = offer(p2, c, REGION_IPA, SMALL, SEED + 2, 8, MODE_RO)?;
        accept(c, p2, &g2, window2, &Host::default())?;
        verify(c, window2, SMALL, SEED + 2, 8)?;

        let out = rmi::realm_destroy(p.rd()).0;
        ensure!(
            out[0] & 0xFF == status::realm(0),
            "REALM_DESTROY of a realm with an APT gave {}, expected RMI_ERROR_REALM",
            Hex(out)
        );
        let wrong = p.delegate()?;
        let out = rmi::apt_destroy(p.rd(), wrong).0;
        ensure!(
            out[0] == status::INPUT,
            "RMI_APT_DESTROY with a granule that is not the APT gave {}, expected \
             RMI_ERROR_INPUT",
            Hex(out)
        );

        // The provider's APT goes: the consumer's aliases of it go, its window is DESTROYED.
        let out = p.apt_destroy().0;
        ensure!(
            out[0] == status::SUCCESS,
            "provider's RMI_APT_DESTROY gave {}",
            Hex(out)
        );
        check(
            rmi::rtt_read_entry(c.rd(), WINDOW_IPA, 3),
            [
                status::SUCCESS,
                3,
                entry_state::UNASSIGNED,
                0,
                ripas::DESTROYED,
            ],
            format_args!(
                "RTT_READ_ENTRY of the consumer's window after the provider's APT_DESTROY"
            ),
        )?;
        ripas_is(c, WINDOW_IPA, WINDOW_IPA + SMALL, RIPAS_DESTROYED)?;
        query(c, g.share, [rsi_status::INPUT, 0, 0, 0, 0])?;
        let q = p.call(Op::Query, &[0])?;
        expect(
            format_args!("provider's QUERY(0) without an APT"),
            q[0],
            rsi_status::STATE,
        )?;
        let out = rmi::apt_destroy(p.rd(), wrong).0;
        ensure!(
            out[0] & 0xFF == status::realm(0),
            "a second RMI_APT_DESTROY gave {}, expected RMI_ERROR_REALM",
            Hex(out)
        );
        // The other grant is untouched.
        verify(c, window2, SMALL, SEED + 2, 8)?;

        // The consumer's APT goes: its grant disappears from provider2's table.
        let out = c.apt_destroy().0;
        ensure!(
            out[0] == status::SUCCESS,
            "consumer's RMI_APT_DESTROY gave {}",
            Hex(out)
        );
        query(p2, g2.share, [rsi_status::INPUT, 0, 0, 0, 0])?;
        let again = p2.call(Op::Share, &[g2.region, c.id, MODE_RO])?;
        expect(
            format_args!("provider2's SHARE to the consumer without an APT"),
            again[0],
            rsi_status::INPUT,
        )?;
        ripas_is(c, window2, window2 + SMALL, RIPAS_DESTROYED)?;
        // Provider2's region is still live and its own.
        verify(p2, REGION_IPA, SMALL, SEED + 2, 8)?;
        // The consumer touches its lost window: as for any memory the host took away, that
        // is a data abort exit to the host, never the provider's bytes.
        let host = Host {
            destroyed_abort_ends: true,
            ..Host::default()
        };
        let (_, e) = c.call_with(Op::ProbeRead, &[window2 + 8], &host)?;
        ensure!(
            e.destroyed_abort.map(|ipa| ipa & !(PAGE_1 - 1)) == Some(window2),
            "consumer's read of its DESTROYED window: {} fault(s) populated, abort exit at \
             {:x?}; expected a data abort exit in the page at {window2:#x}",
            e.faults,
            e.destroyed_abort
        );
        // Without its APT the provider's realm can be destroyed (at teardown).
        Ok(())
    })
}
