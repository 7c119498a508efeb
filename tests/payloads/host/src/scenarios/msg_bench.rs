// SPDX-License-Identifier: MIT OR Apache-2.0
//! The message benchmark (mode `MsgBench`, `cargo xtask bench`, `docs/benchmarks.md`): a
//! sender realm and a receiver realm, both running the `msgbench` build of the test realm
//! (`realm_image::MSG_IMAGE`), one REC each, the sender's on this CPU and the receiver's on
//! CPU 1 at the same time, exchange messages of every size of `realm_protocol::msg::SIZES`
//! over three channels:
//!
//! 1. `csm`: a CSM region of the sender shared read-write with the receiver (CREATE, SHARE,
//!    ACCEPT), plaintext;
//! 2. `plain`: unprotected pages the host maps into both realms (the top IPA bit set),
//!    plaintext;
//! 3. `aes`: the same unprotected pages, AES-256-GCM.
//!
//! The host prints one `MSGBENCH run mode=<m> size=<bytes> count=<n> sent=<n> received=<n>
//! bad=<n>` line per run, in order. Instructions are counted by QEMU's plugin
//! (`tests/tools/icount-plugin`), not here: the realms execute marker routines at every
//! message, and the host calls [`bench_marker`] before and after each one-time set-up and
//! teardown it measures, printing `MSGBENCH segment <name> calls=<n>` after each, in order.
//!
//! The full benchmark (mailbox mask bit [`BLOB_BIT`] set: every bit, the default) then runs
//! the memory-sharing experiment: the encrypted channel carries a blob's worth of 32 KiB
//! messages (run `blob_aes`), and a provider realm publishes a [`BLOB_SIZE`] read-only blob to
//! two consumers through CSM ([`blob`]), every set-up call measured, with a `MSGBENCH blob`
//! line of the granules each realm holds.

use super::csm_realm::{CsmRealm, CsmSpec, Host, Realms, with_realms_image};
use super::csm_share::{Grant, MODE_RO, MODE_RW, accept, create, share, verify};
use super::pool::Hex;
use crate::bench::bench_marker;
use crate::realm::{NS_NORMAL_RW, PAGE, write_page};
use crate::rmi::{self, status};
use crate::runner::{self, Failure, Outcome, Scenario};
use crate::{cpus, ensure, fail, mailbox, println, realm_image};
use realm_protocol::csm::{BLOB_IPA, IPA_LIMIT, MAX_REGION_SIZE, Op, REGION_IPA, WINDOW_IPA};
use realm_protocol::msg::{
    AES_GCM, CHANNEL_SIZE, MAX_SIZE, PLAIN, ROLE_RECEIVER, ROLE_SENDER, SIZES,
};

/// Run by the primary.
pub const SCENARIOS: &[Scenario] = &[Scenario {
    name: "msg_bench",
    run: bench,
}];

/// Round trips per run unless the mailbox says otherwise.
const DEFAULT_COUNT: u64 = 1_000;
/// The CPU slot that runs the receiver's REC.
const RECEIVER_SLOT: usize = 1;
/// How long the host waits for the receiver's CPU to finish one run.
const WAIT_S: u64 = 1_200;
/// How long either realm waits for the other without progress.
const PATIENCE_US: u64 = 600_000_000;
/// Pages of the channel.
const CHANNEL_PAGES: u64 = CHANNEL_SIZE / PAGE;
/// Where the unprotected channel starts, from the realms' unprotected page (inside the
/// level-3 table the host built for that page).
const UNPROTECTED_OFFSET: u64 = 0x1_0000;
/// Empty commands whose mean is one command's round trip (taken off the set-up segments).
const EMPTY_CALLS: u64 = 8;

/// The sender's RAM: the channel's region, RIPAS RAM, populated when it is created.
const SENDER_RAM: &[(u64, u64)] = &[(REGION_IPA, REGION_IPA + CHANNEL_SIZE)];
const PAIR: &[CsmSpec] = &[
    CsmSpec::new("sender", SENDER_RAM),
    CsmSpec::new("receiver", &[]),
];

/// Mailbox mask bit: run the memory-sharing experiment too.
const BLOB_BIT: u64 = 1 << 63;
/// The experiment's blob: 8 regions of 8 MiB (the largest region) from [`BLOB_IPA`], 64 MiB,
/// below [`IPA_LIMIT`] (128 MiB). The provider has two of the harness's 64 MiB memory slots
/// (116 MiB for its granules, `csm_realm.rs`), each consumer one: four in all.
const BLOB_REGIONS: u64 = 8;
const BLOB_SIZE: u64 = BLOB_REGIONS * MAX_REGION_SIZE;
const _: () = assert!(BLOB_IPA + BLOB_SIZE <= IPA_LIMIT);
/// The provider writes, and each consumer checks, one word per page of the blob.
const BLOB_STRIDE: u64 = PAGE;
const BLOB_SEED: u64 = 0xB10B_0000;
const BLOB_RAM: &[(u64, u64)] = &[(BLOB_IPA, BLOB_IPA + BLOB_SIZE)];
const BLOB_REALMS: &[CsmSpec] = &[
    CsmSpec::new("blob provider", BLOB_RAM).with_slots(2),
    CsmSpec::new("blob consumer 1", &[]),
    CsmSpec::new("blob consumer 2", &[]),
];
/// Messages of the largest size carry the blob.
const BLOB_MESSAGE: u64 = MAX_SIZE;

/// The receiver's command for the run in progress and, once its CPU is done, its results.
static RECEIVER_ARGS: spin::Mutex<[u64; 7]> = spin::Mutex::new([0; 7]);
static RECEIVER_RESULT: spin::Mutex<Option<Result<[u64; 8], ()>>> = spin::Mutex::new(None);

/// Secondary job: the receiver's side of one run.
fn receiver_job(arg: u64) {
    // SAFETY: `arg` is the receiver realm in its static slot, which the primary keeps alive
    // until this job has finished (it waits for it, and abandons the realms rather than tear
    // them down if it does not finish); the primary does not run this realm meanwhile.
    let receiver = unsafe { &*(arg as *const CsmRealm) };
    let args = *RECEIVER_ARGS.lock();
    let outcome = receiver.call(Op::MsgBench, &args);
    let result = match outcome {
        Ok(r) => Ok(r),
        Err(failure) => {
            runner::report(crate::regs::cpu_slot(), "msg_bench_receiver", &Err(failure));
            Err(())
        }
    };
    *RECEIVER_RESULT.lock() = Some(result);
}

/// The channels.
#[derive(Clone, Copy)]
enum Channel {
    Csm,
    Plain,
    Aes,
}

impl Channel {
    fn name(self) -> &'static str {
        match self {
            Channel::Csm => "csm",
            Channel::Plain => "plain",
            Channel::Aes => "aes",
        }
    }
}

/// What one run needs to know.
struct Bench<'a> {
    realms: &'a Realms<'a>,
    /// The unprotected channel's IPA in both realms.
    unprotected: u64,
    /// Messages sent so far (the next run's numbers start after them).
    sent: core::cell::Cell<u64>,
}

impl Bench<'_> {
    /// `count` messages of `size` bytes over `channel`, the receiver on its own CPU.
    fn run(&self, channel: Channel, size: u64, count: u64) -> Outcome {
        self.run_as(channel.name(), channel, size, count)
    }

    /// [`Bench::run`], its `MSGBENCH run` line naming it `mode`.
    fn run_as(&self, mode: &str, channel: Channel, size: u64, count: u64) -> Outcome {
        let (sender, receiver) = (self.realms.get(0), self.realms.get(1));
        let (send_at, receive_at, cipher) = match channel {
            Channel::Csm => (REGION_IPA, WINDOW_IPA, PLAIN),
            Channel::Plain => (self.unprotected, self.unprotected, PLAIN),
            Channel::Aes => (self.unprotected, self.unprotected, AES_GCM),
        };
        let first = self.sent.get();
        *RECEIVER_ARGS.lock() = [
            ROLE_RECEIVER,
            receive_at,
            size,
            count,
            cipher,
            first,
            PATIENCE_US,
        ];
        *RECEIVER_RESULT.lock() = None;
        ensure!(
            cpus::post_job(
                RECEIVER_SLOT,
                receiver_job,
                receiver as *const CsmRealm as u64
            ),
            "CPU slot {RECEIVER_SLOT} cannot take the receiver"
        );
        let mine = sender.call(
            Op::MsgBench,
            &[
                ROLE_SENDER,
                send_at,
                size,
                count,
                cipher,
                first,
                PATIENCE_US,
            ],
        );
        if !cpus::wait_job(RECEIVER_SLOT, WAIT_S) {
            self.realms.abandon();
            fail!("the receiver's CPU did not finish within {WAIT_S} s");
        }
        let sent = mine?;
        let Some(Ok(received)) = RECEIVER_RESULT.lock().take() else {
            fail!("the receiver's side failed (its line above)");
        };
        self.sent.set(first + count);
        let bad = sent[1].saturating_add(received[1]);
        println!(
            "MSGBENCH run mode={mode} size={size} count={count} sent={} received={} bad={bad}",
            sent[0], received[0]
        );
        ensure!(
            sent[0] == count && received[0] == count && bad == 0,
            "{mode} {size} B: sent {}, received {} of {count}, {bad} wrong or failing their tag",
            sent[0],
            received[0]
        );
        Ok(())
    }
}

/// Marks the start of a measured segment.
fn begin() {
    bench_marker(0);
}

/// Marks the end of the measured segment `name` of `calls` calls and names it.
fn end(name: &str, calls: u64) {
    bench_marker(1);
    println!("MSGBENCH segment {name} calls={calls}");
}

/// Maps (or, with `unmap`, unmaps) the NS pages `ns` at `ipa` in `realm`.
fn map_unprotected(realm: &CsmRealm, ipa: u64, ns: &[u64], unmap: bool) -> Outcome {
    for (i, &pa) in ns.iter().enumerate() {
        let at = ipa + i as u64 * PAGE;
        let out = if unmap {
            rmi::rtt_unmap_unprotected(realm.rd(), at, 3)
        } else {
            rmi::rtt_map_unprotected(realm.rd(), at, 3, pa | NS_NORMAL_RW)
        };
        ensure!(
            out.0[0] == status::SUCCESS,
            "{}: RTT_{}MAP_UNPROTECTED({at:#x}) gave {}",
            realm.name,
            if unmap { "UN" } else { "" },
            Hex(out.0)
        );
    }
    Ok(())
}

/// The scenario.
fn bench() -> Outcome {
    let (count, mask) = mailbox::msg_params();
    let count = if count == 0 { DEFAULT_COUNT } else { count };
    let mask = if mask == 0 { u64::MAX } else { mask };
    ensure!(
        cpus::wait_idle(RECEIVER_SLOT, 60),
        "needs CPU slot {RECEIVER_SLOT} free"
    );
    println!(
        "MSGBENCH start count={count} image={} bytes",
        realm_image::MSG_IMAGE.len()
    );
    with_realms_image(PAIR, realm_image::MSG_IMAGE, &|r: &Realms<'_>| {
        let (sender, receiver) = (r.get(0), r.get(1));
        // One command's round trip (the set-up segments each take it per command).
        begin();
        for _ in 0..EMPTY_CALLS {
            receiver.call(Op::Write, &[WINDOW_IPA, 0, 0, 8])?;
        }
        end("empty_command", EMPTY_CALLS);

        // CREATE populates the region's pages first (the RMM's exit 8, served by the host).
        begin();
        let region = create(sender, REGION_IPA, CHANNEL_SIZE)?;
        end("csm_create", 1);
        begin();
        let share = share(sender, region, receiver, MODE_RW)?;
        end("csm_share", 1);
        let grant = Grant {
            region,
            share,
            size: CHANNEL_SIZE,
            mode: MODE_RW,
        };
        // ACCEPT takes the window's level-3 table from the host (exit 7).
        begin();
        accept(receiver, sender, &grant, WINDOW_IPA, &Host::default())?;
        end("csm_accept", 1);

        let mut ns = [0u64; CHANNEL_PAGES as usize];
        for page in ns.iter_mut() {
            *page = sender.ns_page()?;
            write_page(*page, &[0u8; PAGE as usize]);
        }
        let unprotected = sender.shared().0 + UNPROTECTED_OFFSET;
        begin();
        map_unprotected(sender, unprotected, &ns, false)?;
        map_unprotected(receiver, unprotected, &ns, false)?;
        end("unprotected_setup", 0);

        let bench = Bench {
            realms: r,
            unprotected,
            sent: core::cell::Cell::new(0),
        };
        let sizes = SIZES
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0);
        let runs = [Channel::Csm, Channel::Plain, Channel::Aes]
            .into_iter()
            .try_for_each(|channel| {
                sizes
                    .clone()
                    .try_for_each(|(_, &size)| bench.run(channel, size, count))
            });
        runs?;
        if mask & BLOB_BIT != 0 {
            // The blob sent over the encrypted channel, in messages of the largest size.
            bench.run_as(
                "blob_aes",
                Channel::Aes,
                BLOB_MESSAGE,
                BLOB_SIZE / BLOB_MESSAGE,
            )?;
        }

        begin();
        map_unprotected(sender, unprotected, &ns, true)?;
        map_unprotected(receiver, unprotected, &ns, true)?;
        end("unprotected_teardown", 0);

        begin();
        let revoked = sender.call(Op::Revoke, &[share])?;
        end("csm_revoke", 1);
        begin();
        let destroyed = sender.call(Op::Destroy, &[region])?;
        end("csm_destroy", 1);
        ensure!(
            revoked[0] == 0 && destroyed[0] == 0,
            "RSI_CSM_REVOKE gave {:#x}, RSI_CSM_DESTROY gave {:#x}",
            revoked[0],
            destroyed[0]
        );
        Ok(())
    })
    .and_then(|()| if mask & BLOB_BIT != 0 { blob() } else { Ok(()) })
    .map(|()| println!("MSGBENCH done"))
    .map_err(|f: Failure| f.context(format_args!("msg_bench")))
}

/// The memory-sharing experiment: a provider publishes the [`BLOB_SIZE`] blob read-only to
/// two consumers (one region per 8 MiB, each shared with both), measured call by call.
fn blob() -> Outcome {
    with_realms_image(BLOB_REALMS, realm_image::MSG_IMAGE, &|r: &Realms<'_>| {
        let (p, consumers) = (r.get(0), [r.get(1), r.get(2)]);
        // The provider's own copy, as it would have it anyway: written, its pages given by
        // the host on the faults. Not measured.
        p.call(Op::Write, &[BLOB_IPA, BLOB_SIZE, BLOB_SEED, BLOB_STRIDE])?;
        let before = [
            p.granules(),
            consumers[0].granules(),
            consumers[1].granules(),
        ];
        // The calls alone are measured: the host's own bookkeeping (`create` checks every
        // page it populated, twice) comes after.
        let mut created = [[0u64; 8]; BLOB_REGIONS as usize];
        begin();
        for (k, out) in created.iter_mut().enumerate() {
            let base = BLOB_IPA + k as u64 * MAX_REGION_SIZE;
            *out = p.call(Op::Create, &[base, MAX_REGION_SIZE])?;
        }
        end("blob_create", BLOB_REGIONS);
        let mut regions = [0u64; BLOB_REGIONS as usize];
        for (region, out) in regions.iter_mut().zip(&created) {
            ensure!(
                out[0] == 0 && out[1] != 0,
                "the blob provider's RSI_CSM_CREATE of 8 MiB gave status {:#x}, RegionId {}",
                out[0],
                out[1]
            );
            *region = out[1];
        }
        let mut grants = [[Grant {
            region: 0,
            share: 0,
            size: MAX_REGION_SIZE,
            mode: MODE_RO,
        }; BLOB_REGIONS as usize]; 2];
        begin();
        for (c, grants) in consumers.iter().zip(grants.iter_mut()) {
            for (g, &region) in grants.iter_mut().zip(&regions) {
                g.region = region;
                g.share = share(p, region, c, MODE_RO)?;
            }
        }
        end("blob_share", 2 * BLOB_REGIONS);
        // Each window at the IPA of its region in the provider. Its level-3 tables are the
        // host's first (as a private copy of the RAM would need them too; counted with
        // RTT_CREATE's per-call cost): the host's own exit-7 service reads every page's entry
        // (RTT_READ_ENTRY) and would be measured with the calls.
        for c in consumers {
            for at in (BLOB_IPA..BLOB_IPA + BLOB_SIZE).step_by(2 << 20) {
                c.ensure_table(at)?;
            }
        }
        begin();
        for (c, grants) in consumers.iter().zip(&grants) {
            for (k, g) in grants.iter().enumerate() {
                let window = BLOB_IPA + k as u64 * MAX_REGION_SIZE;
                let exits = accept(c, p, g, window, &Host::default())?;
                ensure!(
                    exits.prepare == 0,
                    "{}: ACCEPT of a window with its tables asked for them",
                    c.name
                );
            }
        }
        end("blob_accept", 2 * BLOB_REGIONS);
        for c in consumers {
            verify(c, BLOB_IPA, BLOB_SIZE, BLOB_SEED, BLOB_STRIDE)?;
        }
        println!(
            "MSGBENCH blob bytes={BLOB_SIZE} regions={BLOB_REGIONS} consumers=2 \
             provider_before={} consumer1_before={} consumer2_before={} provider={} \
             consumer1={} consumer2={}",
            before[0],
            before[1],
            before[2],
            p.granules(),
            consumers[0].granules(),
            consumers[1].granules()
        );
        Ok(())
    })
}
