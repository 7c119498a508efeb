// SPDX-License-Identifier: MIT OR Apache-2.0
//! The demo (`cargo xtask run`, mode `Demo`): Confidential Shared Memory told as a short
//! story, one `DEMO <step> <text>` line per step, in plain words with the numbers that matter.
//! `cargo xtask` shows the text and hides everything else (`xtask/src/demo.rs`), and its
//! `demo` test group checks that every step is there with sane numbers.
//!
//! The story is one scenario (its `TEST` line and the consumer's make the machine-readable
//! verdict) built from the CSM scenarios' parts (`csm_realm.rs`, `csm_share.rs`,
//! `csm_attest.rs`): realm A provides a region, B gets it read-write and exchanges messages
//! with A from another CPU, C gets it read-only, D is an outsider; the hypervisor tries to
//! read the shared page; B's attestation token goes to `cargo xtask`, which decodes and
//! verifies it; then everything is revoked and torn down and every granule goes back to the
//! host.
//!
//! The message step's cost is counted outside the machine: `cargo xtask` loads a QEMU plugin
//! (`tests/tools/icount-plugin`) that counts each vCPU's instructions in the realm image
//! between the message loop's markers, leaving out its wait loop
//! (`tests/payloads/realm/src/csm.rs`), and adds the numbers to the `cost` line. (The generic
//! counter would not do: QEMU's emulated time says how fast this machine emulates, and under
//! `-icount` with two CPUs spinning on each other it counts mostly the spinning.)

use super::csm_attest::{print_claims, print_token};
use super::csm_realm::{CsmRealm, CsmSpec, Exits, Host, Realms, rsi_status, with_realms};
use super::csm_share::{
    Grant, MODE_RO, MODE_RW, PROVIDER_RAM, SEED, accept, accept_refused, consumer_cpu_free,
    consumer_line_not_run, exchange, expect_sea, offer, share, verify,
};
use super::realms::expect_gpf;
use crate::console::Line;
use crate::exceptions::probe_read;
use crate::platform::{CSM_POOL, CSM_POOL_SIZE};
use crate::realm::PAGE;
use crate::runner::{Outcome, Scenario};
use crate::{ensure, println};
use core::cell::Cell;
use core::fmt::{self, Write};
use realm_protocol::csm::{MSG_P2C_DATA, MSG_P2C_SEQ, Op, REGION_IPA, WINDOW_IPA};

/// The story, run by the primary.
pub const SCENARIOS: &[Scenario] = &[Scenario {
    name: "csm_demo",
    run: story,
}];

/// `TEST` lines the story adds from other CPUs (B's side of the messages, on CPU 1).
pub const SECONDARY_LINES: usize = 1;

/// The tokens `cargo xtask` decodes and verifies: `demo.<realm>` for A, B and C once built,
/// and B's once it has accepted A's grant.
pub const TOKEN_NAME: &str = "demo.B.shared";
/// The realms attested once built.
const ATTESTED: usize = 3;

/// The realms: A provides, B and C consume, D is an outsider.
const SPECS: &[CsmSpec] = &[
    CsmSpec::new("A", PROVIDER_RAM),
    CsmSpec::new("B", &[]),
    CsmSpec::new("C", &[]),
    CsmSpec::new("D", &[]),
];
/// Their roles, for the first lines.
const ROLES: [&str; 4] = ["provider", "consumer", "consumer", "outsider"];

/// The region: 4 pages.
const SIZE: u64 = 4 * PAGE;
/// Messages each way.
const MESSAGES: u64 = 1000;
/// What C tries to write.
const INTRUDER: u64 = 0xBAD0_BAD0;

/// A RIM shortened to its first and last four bytes.
struct ShortRim<'a>(&'a [u8]);

impl fmt::Display for ShortRim<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("...")?;
        for b in &self.0[n - 4..] {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Bytes of a SHA-256 RIM (the CSM realms' measurement algorithm).
const RIM_LEN: usize = 32;

/// Every exit of a command but the final `CsmNext` that ends it.
fn exits_to_host(e: &Exits) -> u32 {
    e.total.saturating_sub(1)
}

/// The story.
fn story() -> Outcome {
    let posted = Cell::new(false);
    let granules = Cell::new(0u64);
    let outcome = consumer_cpu_free().and_then(|()| {
        with_realms(SPECS, &|r: &Realms<'_>| {
            chapter(r, &posted)?;
            granules.set((0..SPECS.len()).map(|i| r.get(i).granules()).sum());
            println!(
                "DEMO teardown Teardown: the 4 realms hold {} delegated granules (RDs, RECs, \
                 translation tables, APTs, image and data pages); the host destroys them all",
                granules.get()
            );
            Ok(())
        })
    });
    let outcome = outcome.and_then(|()| all_back(granules.get()));
    consumer_line_not_run(outcome, posted.get())
}

/// Everything between building the realms and tearing them down.
fn chapter(r: &Realms<'_>, posted: &Cell<bool>) -> Outcome {
    let realms = [r.get(0), r.get(1), r.get(2), r.get(3)];
    let [a, b, c, d] = realms;
    for (i, (realm, role)) in realms.iter().zip(ROLES).enumerate() {
        if i < ATTESTED {
            // Its token (no shares yet), for `cargo xtask` to verify before the line below.
            let mut name = Line::new();
            let _ = write!(name, "demo.{}", realm.name);
            println!("CSM {} realm {}", name.as_str(), realm.id);
            print_token(realm, name.as_str(), 0xD0 + i as u64)?;
        }
        let mut same = Line::new();
        if let Some(other) = realms[..i].iter().find(|other| other.rim == realm.rim) {
            let _ = write!(same, " (the same image as {})", other.name);
        }
        println!(
            "DEMO realm Realm {} ({role}) built and activated: RealmId {}, RIM {}{}",
            realm.name,
            realm.id,
            ShortRim(&realm.rim[..RIM_LEN]),
            same.as_str()
        );
    }

    // A's region, shared read-write with B and read-only with C.
    let populated = |p: &CsmRealm| {
        (REGION_IPA..REGION_IPA + SIZE)
            .step_by(PAGE as usize)
            .filter(|&ipa| p.is_populated(ipa))
            .count()
    };
    let before = populated(a);
    let g_b = offer(a, b, REGION_IPA, SIZE, SEED, 8, MODE_RW)?;
    println!(
        "DEMO create A creates a region of {} pages ({SIZE} bytes) at IPA {REGION_IPA:#x}: \
         RegionId {}; the RMM had the host populate {} pages first",
        SIZE / PAGE,
        g_b.region,
        populated(a) - before
    );
    let g_c = Grant {
        share: share(a, g_b.region, c, MODE_RO)?,
        mode: MODE_RO,
        ..g_b
    };
    println!(
        "DEMO share A shares it read-write with B (ShareId {}) and read-only with C (ShareId {})",
        g_b.share, g_c.share
    );
    let e_b = accept(b, a, &g_b, WINDOW_IPA, &Host::default())?;
    let e_c = accept(c, a, &g_c, WINDOW_IPA, &Host::default())?;
    verify(b, WINDOW_IPA, SIZE, SEED, 8)?;
    verify(c, WINDOW_IPA, SIZE, SEED, 8)?;
    println!(
        "DEMO accept B and C accept it at IPA {WINDOW_IPA:#x} of their own address space (the \
         RMM asked the host for a page table: {} and {} exits) and read A's {SIZE} bytes exactly",
        e_b.prepare, e_c.prepare
    );

    // Messages between A (CPU 0) and B (CPU 1).
    let (m, e) = exchange(r, (a, REGION_IPA), (b, WINDOW_IPA), MESSAGES, posted)?;
    println!(
        "DEMO messages A (CPU 0) and B (CPU 1) exchange {} messages each way through the \
         shared page (8-byte payload + 8-byte sequence number): {} wrong, {} exits to the \
         hypervisor",
        m[0],
        m[1],
        exits_to_host(&e)
    );
    println!(
        "DEMO cost Counted by xtask's QEMU plugin in A's and B's own code, their wait loops \
         left out:"
    );
    last_message(c, WINDOW_IPA)?;
    println!("DEMO reader C, read-only, sees A's last message too: sequence number {MESSAGES}");

    // C's write to its read-only window.
    let word = WINDOW_IPA + MSG_P2C_DATA;
    let before = c.call(Op::ProbeRead, &[word])?[1];
    let (w, e) = c.call_with(Op::ProbeWrite, &[word, INTRUDER], &Host::default())?;
    expect_sea(w[0], format_args!("C's write to its read-only window"))?;
    let after = a.call(Op::ProbeRead, &[REGION_IPA + MSG_P2C_DATA])?[1];
    ensure!(
        after == before && after != INTRUDER,
        "C's refused write changed A's word from {before:#x} to {after:#x}"
    );
    println!(
        "DEMO readonly C writes {INTRUDER:#x} to its read-only window: refused inside the realm, \
         which takes a synchronous external abort (ESR_EL1 {:#x}) for the RMM's stage-2 \
         permission fault; {} exits to the hypervisor, A's word unchanged",
        w[0],
        exits_to_host(&e)
    );

    // The hypervisor's read of the shared page.
    let pa = a.data_pa(REGION_IPA)?;
    let fault = expect_gpf(pa, "shared CSM")?;
    println!(
        "DEMO gpf The hypervisor reads the shared page at PA {pa:#x}: Granule Protection Fault \
         (ESR_EL2 {:#x}, FAR_EL2 {:#x}); it never sees the bytes",
        fault.esr, fault.far
    );

    // D, an outsider, tries B's grant.
    let args = [g_b.share, a.id, WINDOW_IPA, SIZE];
    let refused = accept_refused(d, args, rsi_status::INPUT, "an outsider's")?;
    let state = d.call(Op::IpaStateGet, &[WINDOW_IPA, WINDOW_IPA + SIZE])?;
    ensure!(
        state[0] == rsi_status::SUCCESS && state[2] == 0,
        "D's window after the refusal: RSI_IPA_STATE_GET gave status {}, RIPAS {}",
        state[0],
        state[2]
    );
    println!(
        "DEMO outsider D tries to ACCEPT B's grant (ShareId {}): RSI_ERROR_INPUT ({}), {} exits \
         to the hypervisor; D's window stays RIPAS EMPTY",
        g_b.share,
        rsi_status::INPUT,
        exits_to_host(&refused)
    );

    // B's attestation token, for `cargo xtask` to decode and verify.
    println!(
        "DEMO attest B asks the RMM for its attestation token; the hypervisor passes it to xtask \
         on the UART"
    );
    print_claims(TOKEN_NAME, b, 2, &g_b, a);
    print_token(b, TOKEN_NAME, 0xDB)?;

    // Revoke.
    for g in [&g_b, &g_c] {
        let out = a.call(Op::Revoke, &[g.share])?;
        ensure!(
            out[0] == rsi_status::SUCCESS,
            "A's RSI_CSM_REVOKE({}) gave {}",
            g.share,
            out[0]
        );
    }
    let read = b.call(Op::ProbeRead, &[WINDOW_IPA])?;
    expect_sea(read[0], format_args!("B's read of its revoked window"))?;
    let out = a.call(Op::Destroy, &[g_b.region])?;
    ensure!(
        out[0] == rsi_status::SUCCESS,
        "A's RSI_CSM_DESTROY gave {}",
        out[0]
    );
    last_message(a, REGION_IPA)?;
    println!(
        "DEMO revoke A revokes both grants and destroys the region: B's next read of its window \
         aborts inside the realm (ESR_EL1 {:#x}); A keeps its pages",
        read[0]
    );
    Ok(())
}

/// Fails unless `realm` reads A's last sequence number in the page at `page`.
fn last_message(realm: &CsmRealm, page: u64) -> Outcome {
    let seen = realm.call(Op::ProbeRead, &[page + MSG_P2C_SEQ])?;
    ensure!(
        seen[..2] == [0, MESSAGES],
        "{}'s read of A's last sequence number gave ESR {:#x}, value {}",
        realm.name,
        seen[0],
        seen[1]
    );
    Ok(())
}

/// After the teardown: every granule the realms held is the host's again.
fn all_back(granules: u64) -> Outcome {
    let pages = CSM_POOL_SIZE / PAGE;
    for pa in (CSM_POOL..CSM_POOL + CSM_POOL_SIZE).step_by(PAGE as usize) {
        ensure!(
            probe_read(pa).is_ok(),
            "the host cannot read the granule {pa:#x} after the teardown"
        );
    }
    println!(
        "DEMO returned All {granules} granules undelegated and back to the host, zeroed; it reads \
         every one of the {pages} granules of the realms' {} MiB again",
        CSM_POOL_SIZE >> 20
    );
    println!("DEMO off Done: QEMU powers off.");
    Ok(())
}
