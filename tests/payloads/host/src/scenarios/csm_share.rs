// SPDX-License-Identifier: MIT OR Apache-2.0
//! CSM sharing end to end (`docs/csm.md`): a provider realm creates a region (the RMM asks
//! the host to populate it, exit 8), writes a pattern and shares it; the consumer accepts it
//! into a window (the RMM asks the host for the window's level-3 table, exit 7) and reads the
//! same bytes.
//!
//! - read-only: the consumer's write to its window takes a synchronous external abort inside
//!   the realm (caught and reported by the realm's handler), and nothing changed;
//! - read-write: 1,000 messages each way, provider and consumer RECs on two physical CPUs at
//!   once;
//! - an outsider's ACCEPT of the ShareId, and the consumer's ACCEPT naming the wrong
//!   provider, are refused (`RSI_ERROR_INPUT`), and change nothing;
//! - the host reading a shared page takes a Granule Protection Fault at NS-EL2, and sees the
//!   consumer's alias as assigned RAM without an address.

use super::csm_realm::{CsmRealm, CsmSpec, Exits, Host, Realms, expect, rsi_status, with_realms};
use super::pool::{Hex, check};
use super::realms::expect_gpf;
use crate::realm::PAGE;
use crate::rmi::{self, entry_state, ripas, status};
use crate::runner::Words;
use crate::runner::{self, Failure, Outcome, Scenario};
use crate::{cpus, ensure, fail};
use realm_protocol::csm::{
    MSG_C2P_SEQ, MSG_P2C_SEQ, Op, REGION_IPA, ROLE_CONSUMER, ROLE_PROVIDER, WINDOW_IPA,
};

/// Run by the primary, in order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "csm_realm_without_apt_refused",
        run: without_apt,
    },
    Scenario {
        name: "csm_read_only_share_and_write_sea",
        run: read_only,
    },
    Scenario {
        name: "csm_read_write_1000_messages_on_two_cpus",
        run: messages,
    },
    Scenario {
        name: "csm_outsider_and_wrong_provider_refused",
        run: outsider,
    },
    Scenario {
        name: "csm_host_read_of_shared_page_gpf",
        run: host_read,
    },
];

/// Region size of the small scenarios.
pub(super) const SMALL: u64 = 4 * PAGE;
/// The provider's RAM: 1 MiB from [`REGION_IPA`], RIPAS RAM, not populated.
pub(super) const PROVIDER_RAM: &[(u64, u64)] = &[(REGION_IPA, REGION_IPA + (1 << 20))];
/// Grant modes.
pub(super) const MODE_RO: u64 = 1;
/// Read and write.
pub(super) const MODE_RW: u64 = 3;
/// `RSI_CSM_QUERY` x4: the grant is attached.
pub(super) const ATTACHED: u64 = 1 << 8;
/// A provider and a consumer.
pub(super) const PAIR: &[CsmSpec] = &[
    CsmSpec::new("provider", PROVIDER_RAM),
    CsmSpec::new("consumer", &[]),
];

const EC_DABT_CURRENT: u64 = 0x25;
const DFSC_SEA: u64 = 0x10;
/// The pattern seed of the small scenarios.
pub(super) const SEED: u64 = 0x5EED_C5A0;

/// A region shared with one consumer.
#[derive(Debug, Clone, Copy)]
pub(super) struct Grant {
    pub region: u64,
    pub share: u64,
    pub size: u64,
    pub mode: u64,
}

/// The provider creates a region `[base, base + size)` ([`create`]: the RMM must ask the
/// host to populate what is not yet), writes the pattern `seed` (one word every `stride`
/// bytes) and shares it with `consumer` in `mode`.
pub(super) fn offer(
    p: &CsmRealm,
    consumer: &CsmRealm,
    base: u64,
    size: u64,
    seed: u64,
    stride: u64,
    mode: u64,
) -> Result<Grant, Failure> {
    let region = create(p, base, size)?;
    p.call(Op::Write, &[base, size, seed, stride])?;
    let share = share(p, region, consumer, mode)?;
    Ok(Grant {
        region,
        share,
        size,
        mode,
    })
}

/// `RSI_CSM_CREATE` that must succeed; checks the RMM asked for the unpopulated pages.
pub(super) fn create(p: &CsmRealm, base: u64, size: u64) -> Result<u64, Failure> {
    let unpopulated = (base..base + size)
        .step_by(PAGE as usize)
        .any(|ipa| !p.is_populated(ipa));
    let (r, e) = p.call_with(Op::Create, &[base, size], &Host::default())?;
    expect(
        format_args!("{}: RSI_CSM_CREATE({base:#x}, {size:#x}) status", p.name),
        r[0],
        rsi_status::SUCCESS,
    )?;
    ensure!(r[1] != 0, "{}: RSI_CSM_CREATE gave RegionId 0", p.name);
    ensure!(
        !unpopulated || e.populate >= 1,
        "{}: RSI_CSM_CREATE of unpopulated RAM succeeded without RMI_EXIT_CSM_POPULATE",
        p.name
    );
    for ipa in (base..base + size).step_by(PAGE as usize) {
        ensure!(
            p.is_populated(ipa),
            "{}: region page {ipa:#x} was never populated",
            p.name
        );
    }
    Ok(r[1])
}

/// `RSI_CSM_SHARE` that must succeed.
pub(super) fn share(
    p: &CsmRealm,
    region: u64,
    consumer: &CsmRealm,
    mode: u64,
) -> Result<u64, Failure> {
    let r = p.call(Op::Share, &[region, consumer.id, mode])?;
    expect(
        format_args!(
            "{}: RSI_CSM_SHARE(region {region}, {} = {}, mode {mode}) status",
            p.name, consumer.name, consumer.id
        ),
        r[0],
        rsi_status::SUCCESS,
    )?;
    ensure!(r[1] != 0, "{}: RSI_CSM_SHARE gave ShareId 0", p.name);
    Ok(r[1])
}

/// The consumer's `RSI_CSM_ACCEPT` of `g` from `p` at `window`, which must succeed.
pub(super) fn accept(
    c: &CsmRealm,
    p: &CsmRealm,
    g: &Grant,
    window: u64,
    host: &Host<'_>,
) -> Result<Exits, Failure> {
    let (r, e) = c.call_with(Op::Accept, &[g.share, p.id, window, g.size], host)?;
    ensure!(
        r[..3] == [rsi_status::SUCCESS, g.size, g.mode],
        "{}: RSI_CSM_ACCEPT(share {}, provider {}, {window:#x}, {:#x}) gave {}, expected \
         [0, {:#x}, {}]",
        c.name,
        g.share,
        p.id,
        g.size,
        Words(&r[..3]),
        g.size,
        g.mode
    );
    Ok(e)
}

/// Fails unless `realm` holds the pattern `seed` at `[base, base + size)`.
pub(super) fn verify(realm: &CsmRealm, base: u64, size: u64, seed: u64, stride: u64) -> Outcome {
    let v = realm.call(Op::Verify, &[base, size, seed, stride])?;
    ensure!(
        v[0] == 0,
        "{}: {} words of [{base:#x}, {:#x}) differ from pattern {seed:#x}; first at {:#x}: \
         {:#x}",
        realm.name,
        v[0],
        base + size,
        v[1],
        v[2]
    );
    Ok(())
}

/// Fails unless `esr` is a synchronous external abort on a data access at the realm's EL.
pub(super) fn expect_sea(esr: u64, what: core::fmt::Arguments<'_>) -> Outcome {
    ensure!(esr != 0, "{what}: no exception (the access went through)");
    ensure!(
        (esr >> 26) & 0x3F == EC_DABT_CURRENT && esr & 0x3F == DFSC_SEA,
        "{what}: ESR_EL1 {esr:#x}, expected a synchronous external abort (EC 0x25, DFSC 0x10)"
    );
    Ok(())
}

/// The `RSI_CSM_QUERY` of `share` by `realm` must be `want` (x0..x4).
pub(super) fn query(realm: &CsmRealm, share: u64, want: [u64; 5]) -> Outcome {
    let q = realm.call(Op::Query, &[share])?;
    ensure!(
        q[..5] == want,
        "{}: RSI_CSM_QUERY({share}) gave {}, expected {}",
        realm.name,
        Hex([q[0], q[1], q[2], q[3], q[4]]),
        Hex(want)
    );
    Ok(())
}

/// The status of `RSI_CSM_ACCEPT(share, provider, window, size)` by `c`, which must be
/// `want`.
pub(super) fn accept_refused(
    c: &CsmRealm,
    args: [u64; 4],
    want: u64,
    why: &str,
) -> Result<Exits, Failure> {
    let (r, e) = c.call_with(Op::Accept, &args, &Host::default())?;
    ensure!(
        r[0] == want,
        "{}: RSI_CSM_ACCEPT{} ({why}) gave {}, expected status {want}",
        c.name,
        Words(&args),
        Words(&r[..3])
    );
    Ok(e)
}

/// An ordinary realm (no APT) in the CSM harness: its memory works as usual (populated on
/// faults, EMPTY memory aborts, RIPAS changes), `RMI_APT_CREATE` once it is active is
/// `RMI_ERROR_REALM`, and the CSM calls are refused: a malformed range first
/// (`RSI_ERROR_INPUT`), then the missing APT (`RSI_ERROR_STATE`).
fn without_apt() -> Outcome {
    const SPECS: &[CsmSpec] = &[CsmSpec {
        name: "plain",
        ram: PROVIDER_RAM,
        apt: false,
        slots: 1,
    }];
    with_realms(SPECS, &|r: &Realms<'_>| {
        let a = r.get(0);
        let (_, e) = a.call_with(Op::Write, &[REGION_IPA, SMALL, SEED, 8], &Host::default())?;
        ensure!(
            e.faults == 4,
            "writing 4 unpopulated RAM pages took {} protected faults",
            e.faults
        );
        verify(a, REGION_IPA, SMALL, SEED, 8)?;
        let read = a.call(Op::ProbeRead, &[WINDOW_IPA])?;
        expect_sea(read[0], format_args!("read of RIPAS EMPTY memory"))?;
        let set = a.call(Op::IpaStateSet, &[WINDOW_IPA, WINDOW_IPA + SMALL, 1, 0])?;
        ensure!(
            set[..3] == [rsi_status::SUCCESS, WINDOW_IPA + SMALL, 0],
            "RSI_IPA_STATE_SET(RAM) gave {}",
            Words(&set[..3])
        );
        let read = a.call(Op::ProbeRead, &[WINDOW_IPA + 8])?;
        ensure!(
            read[..2] == [0, 0],
            "read of new RAM gave ESR {:#x}, value {:#x}",
            read[0],
            read[1]
        );
        let apt = a.delegate()?;
        let out = rmi::apt_create(a.rd(), apt).0;
        ensure!(
            out[0] & 0xFF == status::realm(0),
            "RMI_APT_CREATE of an active realm gave {}, expected RMI_ERROR_REALM",
            Hex(out)
        );
        let bad = a.call(Op::Create, &[REGION_IPA + 8, SMALL])?;
        expect(
            format_args!("RSI_CSM_CREATE of a misaligned range without an APT"),
            bad[0],
            rsi_status::INPUT,
        )?;
        let no_apt = a.call(Op::Create, &[REGION_IPA, SMALL])?;
        expect(
            format_args!("RSI_CSM_CREATE without an APT"),
            no_apt[0],
            rsi_status::STATE,
        )?;
        query(a, 0, [rsi_status::STATE, 0, 0, 0, 0])
    })
}

/// Scenario 1.
fn read_only() -> Outcome {
    with_realms(PAIR, &|r: &Realms<'_>| {
        let (p, c) = (r.get(0), r.get(1));
        ensure!(
            p.id != 0 && c.id != 0 && p.id != c.id,
            "RealmIds provider {} and consumer {} are not distinct and non-zero",
            p.id,
            c.id
        );
        let g = offer(p, c, REGION_IPA, SMALL, SEED, 8, MODE_RO)?;
        query(c, g.share, [0, p.id, c.id, SMALL, MODE_RO])?;
        let e = accept(c, p, &g, WINDOW_IPA, &Host::default())?;
        ensure!(
            e.prepare >= 1,
            "ACCEPT into a window without a level-3 table never asked the host to prepare it \
             (exit 7)"
        );
        query(p, g.share, [0, p.id, c.id, SMALL, MODE_RO | ATTACHED])?;
        verify(c, WINDOW_IPA, SMALL, SEED, 8)?;
        let w = c.call(Op::ProbeWrite, &[WINDOW_IPA + 8, 0xBAD0_BAD0])?;
        expect_sea(
            w[0],
            format_args!("consumer's write to its read-only window"),
        )?;
        verify(c, WINDOW_IPA, SMALL, SEED, 8)?;
        verify(p, REGION_IPA, SMALL, SEED, 8)
    })
}

/// Messages each way in scenario 2.
const MESSAGES: u64 = 1000;
/// How long either side waits for the other's next message.
const PATIENCE_US: u64 = 5_000_000;
/// The CPU slot that runs the consumer.
const CONSUMER_SLOT: usize = 1;
/// Seconds to wait for that CPU, and for its job.
const WAIT_S: u64 = 30;

/// Whether the consumer's side passed (set by the secondary).
static CONSUMER_RUN: spin::Mutex<Option<bool>> = spin::Mutex::new(None);
/// The consumer's window and how many messages it exchanges (set before its job is posted).
static CONSUMER_ARGS: spin::Mutex<(u64, u64)> = spin::Mutex::new((0, 0));
/// The `TEST` line of the consumer's side (reported by the CPU that runs it).
const CONSUMER_LINE: &str = "csm_consumer_messages_on_this_cpu";

/// The secondary's job: the consumer's side of the messages. `arg` is the address of the
/// consumer.
fn consumer_job(arg: u64) {
    // SAFETY: `arg` is the address of a `CsmRealm` in a static slot whose guard the primary
    // holds until this job has finished (it waits for it, and abandons the realms instead of
    // tearing them down if it does not finish); the primary does not run this realm
    // meanwhile.
    let c = unsafe { &*(arg as *const CsmRealm) };
    let (window, count) = *CONSUMER_ARGS.lock();
    let outcome = c
        .call(Op::Messages, &[ROLE_CONSUMER, window, count, PATIENCE_US])
        .and_then(|m| {
            ensure!(
                m[..2] == [count, 0],
                "consumer: {} of {count} messages, {} wrong payloads",
                m[0],
                m[1]
            );
            Ok(())
        });
    runner::report(crate::regs::cpu_slot(), CONSUMER_LINE, &outcome);
    *CONSUMER_RUN.lock() = Some(outcome.is_ok());
}

/// A read-write grant accepted at `window`: `count` messages each way between the provider
/// `p` (its region at `region`) and the consumer `c`, the consumer's REC on CPU slot
/// [`CONSUMER_SLOT`] while the primary runs the provider's. Returns the provider's results
/// (\[messages, wrong payloads, counter ticks\]) and the exits its REC took. `posted` is set
/// once the consumer's job is posted: from then on its CPU reports the consumer's `TEST`
/// line (see [`consumer_line_not_run`] otherwise).
pub(super) fn exchange(
    r: &Realms<'_>,
    (p, region): (&CsmRealm, u64),
    (c, window): (&CsmRealm, u64),
    count: u64,
    posted: &core::cell::Cell<bool>,
) -> Result<([u64; 8], Exits), Failure> {
    // The counters start at zero: the loop waits for the peer's sequence number.
    for offset in [MSG_P2C_SEQ, MSG_C2P_SEQ] {
        let w = p.call(Op::ProbeWrite, &[region + offset, 0])?;
        expect(format_args!("provider's store to its region"), w[0], 0)?;
    }
    *CONSUMER_RUN.lock() = None;
    *CONSUMER_ARGS.lock() = (window, count);
    ensure!(
        cpus::post_job(CONSUMER_SLOT, consumer_job, c as *const CsmRealm as u64),
        "CPU slot {CONSUMER_SLOT} cannot take the consumer"
    );
    posted.set(true);
    let mine = p.call_with(
        Op::Messages,
        &[ROLE_PROVIDER, region, count, PATIENCE_US],
        &Host::default(),
    );
    if !cpus::wait_job(CONSUMER_SLOT, WAIT_S) {
        r.abandon();
        fail!("the consumer's CPU did not finish within {WAIT_S} s");
    }
    let (m, exits) = mine?;
    ensure!(
        m[..2] == [count, 0],
        "provider: {} of {count} messages, {} wrong payloads",
        m[0],
        m[1]
    );
    match CONSUMER_RUN.lock().take() {
        Some(true) => Ok((m, exits)),
        Some(false) => fail!("the consumer's side failed (its line above)"),
        None => fail!("the consumer never ran"),
    }
}

/// Whether the consumer's CPU is free for [`exchange`] (waiting up to [`WAIT_S`] for it).
pub(super) fn consumer_cpu_free() -> Outcome {
    ensure!(
        cpus::wait_idle(CONSUMER_SLOT, WAIT_S),
        "needs CPU slot {CONSUMER_SLOT} free"
    );
    Ok(())
}

/// The consumer's `TEST` line is in the plan: if [`exchange`] never posted its job, it is
/// reported here as not run (the scenario's own reason is kept).
pub(super) fn consumer_line_not_run(outcome: Outcome, posted: bool) -> Outcome {
    if posted {
        return outcome;
    }
    runner::and_cleanup(outcome, || {
        let not_run = Err(Failure::new(format_args!("not run: the set-up failed")));
        runner::report(CONSUMER_SLOT, CONSUMER_LINE, &not_run);
        Ok(())
    })
}

/// Scenario 2.
fn messages() -> Outcome {
    let posted = core::cell::Cell::new(false);
    let outcome = consumer_cpu_free().and_then(|()| {
        with_realms(PAIR, &|r: &Realms<'_>| {
            let (p, c) = (r.get(0), r.get(1));
            let g = offer(p, c, REGION_IPA, PAGE, SEED, 8, MODE_RW)?;
            accept(c, p, &g, WINDOW_IPA, &Host::default())?;
            verify(c, WINDOW_IPA, PAGE, SEED, 8)?;
            // Consumer → provider through plain stores, then the message loop.
            c.call(Op::Write, &[WINDOW_IPA, PAGE, SEED + 1, 8])?;
            verify(p, REGION_IPA, PAGE, SEED + 1, 8)?;
            exchange(r, (p, REGION_IPA), (c, WINDOW_IPA), MESSAGES, &posted).map(|_| ())
        })
    });
    consumer_line_not_run(outcome, posted.get())
}

/// Scenario 3.
fn outsider() -> Outcome {
    const SPECS: &[CsmSpec] = &[
        CsmSpec::new("provider", PROVIDER_RAM),
        CsmSpec::new("consumer", &[]),
        CsmSpec::new("outsider", &[]),
    ];
    with_realms(SPECS, &|r: &Realms<'_>| {
        let (p, c, o) = (r.get(0), r.get(1), r.get(2));
        let g = offer(p, c, REGION_IPA, SMALL, SEED, 8, MODE_RO)?;
        let args = [g.share, p.id, WINDOW_IPA, SMALL];
        accept_refused(o, args, rsi_status::INPUT, "an outsider's")?;
        query(o, g.share, [rsi_status::INPUT, 0, 0, 0, 0])
            .map_err(|f| f.context(format_args!("an outsider's QUERY")))?;
        let wrong = [g.share, o.id, WINDOW_IPA, SMALL];
        accept_refused(c, wrong, rsi_status::INPUT, "naming the wrong provider")?;
        // The refusals changed nothing: the grant is still offered and accepts.
        query(p, g.share, [0, p.id, c.id, SMALL, MODE_RO])?;
        accept(c, p, &g, WINDOW_IPA, &Host::default())?;
        verify(c, WINDOW_IPA, SMALL, SEED, 8)?;
        // The outsider's window stayed its own: still RIPAS EMPTY, no alias.
        let s = o.call(Op::IpaStateGet, &[WINDOW_IPA, WINDOW_IPA + SMALL])?;
        ensure!(
            s[0] == rsi_status::SUCCESS && s[2] == ripas::EMPTY,
            "outsider's window after the refusal: RSI_IPA_STATE_GET gave {}",
            Words(&s[..3])
        );
        Ok(())
    })
}

/// Scenario 4.
fn host_read() -> Outcome {
    with_realms(PAIR, &|r: &Realms<'_>| {
        let (p, c) = (r.get(0), r.get(1));
        let g = offer(p, c, REGION_IPA, SMALL, SEED, 8, MODE_RO)?;
        accept(c, p, &g, WINDOW_IPA, &Host::default())?;
        for i in 0..SMALL / PAGE {
            let pa = p.data_pa(REGION_IPA + i * PAGE)?;
            expect_gpf(pa, "shared CSM")?;
            expect_gpf(pa + 0x808, "shared CSM")?;
        }
        // The consumer's alias reads back as its RAM, with no address for the host.
        check(
            rmi::rtt_read_entry(c.rd(), WINDOW_IPA, 3),
            [status::SUCCESS, 3, entry_state::ASSIGNED, 0, ripas::RAM],
            format_args!("RTT_READ_ENTRY of the consumer's alias"),
        )?;
        verify(c, WINDOW_IPA, SMALL, SEED, 8)
    })
}
