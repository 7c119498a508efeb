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

use super::csm_realm::{CsmRealm, CsmSpec, Host, Realms, with_realms_image};
use super::csm_share::{Grant, MODE_RW, accept, create, share};
use super::pool::Hex;
use crate::bench::bench_marker;
use crate::realm::{NS_NORMAL_RW, PAGE, write_page};
use crate::rmi::{self, status};
use crate::runner::{self, Failure, Outcome, Scenario};
use crate::{cpus, ensure, fail, mailbox, println, realm_image};
use realm_protocol::csm::{Op, REGION_IPA, WINDOW_IPA};
use realm_protocol::msg::{AES_GCM, CHANNEL_SIZE, PLAIN, ROLE_RECEIVER, ROLE_SENDER, SIZES};

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
            "MSGBENCH run mode={} size={size} count={count} sent={} received={} bad={bad}",
            channel.name(),
            sent[0],
            received[0]
        );
        ensure!(
            sent[0] == count && received[0] == count && bad == 0,
            "{} {size} B: sent {}, received {} of {count}, {bad} wrong or failing their tag",
            channel.name(),
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
        println!("MSGBENCH done");
        Ok(())
    })
    .map_err(|f: Failure| f.context(format_args!("msg_bench")))
}
