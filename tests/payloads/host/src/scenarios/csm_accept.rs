// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RSI_CSM_ACCEPT` never trusts the host's preparation or the consumer's window
//! (`docs/csm.md`, S10): a window still RIPAS RAM, or the wrong expected size, is refused
//! (`RSI_ERROR_INPUT`, no exit); once the consumer released the window with
//! `RSI_IPA_STATE_SET(EMPTY)` its pages are still assigned, so ACCEPT exits with
//! `RMI_EXIT_CSM_PREPARE`; a host that re-enters without serving it sees the exit again and
//! the window still holds the consumer's own granule (nothing mapped over it, no success);
//! once the host served the exit, ACCEPT succeeds and the window shows the provider's bytes.

use super::csm_realm::{CsmSpec, Host, Realms, rsi_status, with_realms};
use super::csm_share::{MODE_RO, PROVIDER_RAM, SEED, SMALL, accept, accept_refused, offer, verify};
use super::pool::Hex;
use crate::ensure;
use crate::rmi::{entry_state, ripas, status};
use crate::runner::Words;
use crate::runner::{Outcome, Scenario};
use realm_protocol::csm::{Op, REGION_IPA, WINDOW_IPA};

/// Run by the primary.
pub const SCENARIOS: &[Scenario] = &[Scenario {
    name: "csm_accept_rechecks_window_and_host_preparation",
    run: rechecks,
}];

const RIPAS_EMPTY: u64 = 0;

/// Scenario 8.
fn rechecks() -> Outcome {
    const SPECS: &[CsmSpec] = &[
        CsmSpec::new("provider", PROVIDER_RAM),
        CsmSpec::new("consumer", &[(WINDOW_IPA, WINDOW_IPA + (1 << 20))]),
    ];
    with_realms(SPECS, &|r: &Realms<'_>| {
        let (p, c) = (r.get(0), r.get(1));
        let g = offer(p, c, REGION_IPA, SMALL, SEED, 8, MODE_RO)?;
        // The consumer's window is its own RAM, populated.
        c.call(Op::Write, &[WINDOW_IPA, SMALL, SEED + 7, 8])?;
        ensure!(
            c.is_populated(WINDOW_IPA),
            "the consumer's write did not populate its window"
        );
        let args = [g.share, p.id, WINDOW_IPA, SMALL];
        let e = accept_refused(c, args, rsi_status::INPUT, "into a window still RIPAS RAM")?;
        ensure!(
            e.prepare == 0,
            "ACCEPT into a RIPAS RAM window asked the host to prepare it"
        );
        let wrong = [g.share, p.id, WINDOW_IPA, SMALL + crate::realm::PAGE];
        accept_refused(c, wrong, rsi_status::INPUT, "with the wrong expected size")?;
        verify(c, WINDOW_IPA, SMALL, SEED + 7, 8)?;

        // Released, but the pages are still assigned: the host must destroy them first.
        let set = c.call(
            Op::IpaStateSet,
            &[WINDOW_IPA, WINDOW_IPA + SMALL, RIPAS_EMPTY, 0],
        )?;
        ensure!(
            set[..3] == [rsi_status::SUCCESS, WINDOW_IPA + SMALL, 0],
            "consumer's RSI_IPA_STATE_SET(window, EMPTY) gave {}",
            Words(&set[..3])
        );
        let host = Host {
            unserved_prepares: 1,
            ..Host::default()
        };
        let e = accept(c, p, &g, WINDOW_IPA, &host)?;
        ensure!(
            e.prepare >= 2,
            "ACCEPT succeeded after {} prepare exit(s), the first left unserved: the RMM did \
             not recheck the window",
            e.prepare
        );
        let Some(entry) = e.unserved_entry else {
            ensure!(false, "no prepare exit was left unserved");
            return Ok(());
        };
        ensure!(
            entry[0] == status::SUCCESS
                && entry[1] == 3
                && entry[2] == entry_state::ASSIGNED
                && entry[3] != 0
                && entry[4] == ripas::EMPTY,
            "the window after the unserved prepare exit: RTT_READ_ENTRY gave {}, expected the \
             consumer's own assigned granule with RIPAS EMPTY",
            Hex(entry)
        );
        ensure!(
            !c.is_populated(WINDOW_IPA),
            "the window's granule was not destroyed by the served exit"
        );
        verify(c, WINDOW_IPA, SMALL, SEED, 8)
    })
}
