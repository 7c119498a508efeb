// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CSM target (issue 17, test 12): Confidential Shared Memory in the running monitor,
//! driven from arbitrary bytes through the real dispatcher.
//!
//! **Start.** Three ACTIVE CSM realms (VMIDs 0x100..0x102; each an APT bound while NEW,
//! tables at IPA 0 down to level 3, RIPAS RAM at [0x1000, 0x4000) with DATA at 0x1000 and
//! 0x2000, DATA at [`REGION`] (4 pages), unpopulated RIPAS RAM at [`RAM_EXTRA`] (4 pages),
//! realm 0 also 2 MiB of DATA in one level-2 block at [`BLOCK`] and two pages after it,
//! RECs 0 and 1 runnable, so one REC's RIPAS change can race the other's CREATE or ACCEPT) whose RealmIds the harness learns with `RSI_CSM_QUERY(0)`, and a fourth
//! realm (VMID 0x103) laid out the same but NEW and without an APT, so `RMI_APT_CREATE` and
//! `RSI_CSM_SHARE` to a realm that is not ACTIVE have something to succeed or fail on.
//!
//! **Steps**, each read from the input: a CSM RSI call (`RSI_CSM_CREATE`..`QUERY`) by one of
//! the realms from one of its RECs, with arguments drawn from pools biased towards what is live
//! (RealmIds, the RegionIds and ShareIds the calls returned, real region and window bases and
//! sizes, the size the share's region has); `RSI_IPA_STATE_SET` over regions and windows;
//! serving the last exit of a realm (RIPAS change: RTT_SET_RIPAS, accepted or rejected; exit
//! 7: RTT_CREATE of missing tables and DATA_DESTROY of assigned window pages; exit 8:
//! DATA_CREATE_UNKNOWN of the range; all or in part) and entering it again, or entering it
//! again without serving; and host commands: DATA_DESTROY (provider pages, aliases),
//! DATA_CREATE_UNKNOWN, RTT_CREATE, RTT_SET_RIPAS, RTT_FOLD/DESTROY/READ_ENTRY over windows,
//! RMI_APT_DESTROY and RMI_APT_CREATE with the right or a wrong granule, REALM_DESTROY,
//! REALM_ACTIVATE (of the NEW realm), GRANULE_DELEGATE/UNDELEGATE.
//!
//! The fake realm takes nothing from the input: the host side sets the call a realm makes
//! before entering it; the realm makes it once, re-executes it when the RMM restarts it
//! (exit 7/8, or an IRQ while waiting for the CSM lock: the PC did not move), and reports
//! the registers it got back once the PC moved past it, then takes an IRQ.
//!
//! **After every step**: [`crate::check::check`] (table refcounts = counted entries, every
//! table and DATA granule referenced once and in its state, PAS, zeroed DELEGATED granules,
//! NS bits), no stale translation (the invalidation record and the fake's TLB model, which
//! every realm entry fills by reading the region, window and RAM pages), every alias is a
//! level-3 entry inside a window an ACCEPT returned, pointing at a DATA granule that the
//! window's provider maps as assigned RAM at the same offset of the region, writable only for
//! a read-write grant, every APT granule decodes with the full decoder (every field, the
//! checksum, the zeros after the table, which the monitor neither writes nor reads, and the
//! table rules); and **after every call** that was refused (RMI x0 ≠ 0, RSI x0 ≠ 0, or a
//! CSM call that exited for the host) every APT granule is byte for byte what it was. Any
//! panic (the monitor's `invariant::broken` included) is a finding.

use crate::check::{self, Leaves, RealmInfo, World};
use crate::input::Input;
use crate::rig::{Image, Lease};
use rmm::arch::RmiRequest;
use rmm::arch::fake::{FakeMachine, FakeRecId};
use rmm::arch::world::{RealmTrap, TrapKind};
use rmm::rtt::entry::Entry;
use rmm::rtt::level::RttLevel;
use rmm_abi::rmi::fid;
use rmm_abi::rmi::states::{GranuleState, Ripas};
use rmm_abi::rsi::fid as rsi;
use rmm_integration_tests::host::{Host, Shape, TestRealm};
use rmm_integration_tests::snapshot::Snapshot;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The CSM RSI function ids, CREATE..QUERY.
pub const CSM_FIDS: [u32; 7] = [
    0xC600_0190,
    0xC600_0191,
    0xC600_0192,
    0xC600_0193,
    0xC600_0194,
    0xC600_0195,
    0xC600_0196,
];
/// RSI_CSM_CREATE.
pub const CREATE: u32 = CSM_FIDS[0];
/// RSI_CSM_SHARE.
pub const SHARE: u32 = CSM_FIDS[1];
/// RSI_CSM_ACCEPT.
pub const ACCEPT: u32 = CSM_FIDS[2];
/// RSI_CSM_DETACH.
pub const DETACH: u32 = CSM_FIDS[3];
/// RSI_CSM_REVOKE.
pub const REVOKE: u32 = CSM_FIDS[4];
/// RSI_CSM_DESTROY.
pub const DESTROY: u32 = CSM_FIDS[5];
/// RSI_CSM_QUERY.
pub const QUERY: u32 = CSM_FIDS[6];

/// Each realm's populated region pages (DATA, RIPAS RAM).
pub const REGION: u64 = 0x10000;
/// Pages at [`REGION`].
pub const REGION_PAGES: u64 = 4;
/// RIPAS RAM without DATA right after the region (CREATE over it asks for exit 8).
pub const RAM_EXTRA: u64 = REGION + REGION_PAGES * PAGE;
/// A window base: unassigned RIPAS EMPTY under the level-3 table of [0, 2 MiB).
pub const WINDOW: u64 = 0x20000;
/// 4 KiB.
pub const PAGE: u64 = 0x1000;
/// Realm 0's 2 MiB of DATA mapped by one level-2 block entry (512 DATA granules created under
/// a level-3 table, then folded), so regions can start, end and run across provider blocks.
pub const BLOCK: u64 = 0x40_0000;
/// Two DATA pages of realm 0 right after [`BLOCK`], under a level-3 table: a region from the
/// block's last pages into these takes its pages from a block and from a table.
pub const AFTER_BLOCK: u64 = BLOCK + 0x20_0000;
/// The realms (three CSM realms and the NEW one).
pub const REALMS: usize = 4;
/// The unprotected half of the 40-bit realms.
const UNPROTECTED: u64 = 1 << 39;
/// The most pages one exit service touches (a window or region is at most 2,048 pages).
const SERVE_PAGES: u64 = 64;
/// Steps per input.
const MAX_STEPS: usize = 192;

/// Region bases a provider names.
const BASES: [u64; 15] = [
    REGION,
    REGION,
    REGION + PAGE,
    REGION + 2 * PAGE,
    0x1000,
    0x3000,
    RAM_EXTRA,
    WINDOW,
    0x20_0000,
    UNPROTECTED,
    (1 << 40) - PAGE,
    REGION + 0x100,
    BLOCK,
    AFTER_BLOCK - 2 * PAGE,
    BLOCK + 0x10000,
];
/// Region, window and ACCEPT sizes.
const SIZES: [u64; 11] = [
    4 * PAGE,
    PAGE,
    2 * PAGE,
    3 * PAGE,
    8 * PAGE,
    0x800,
    0,
    8 << 20,
    (8 << 20) + PAGE,
    !0xFFF,
    0x20_0000,
];
/// Window bases a consumer names.
const WINDOWS: [u64; 12] = [
    WINDOW,
    WINDOW,
    WINDOW + 4 * PAGE,
    WINDOW + 8 * PAGE,
    WINDOW + PAGE,
    0x1F_E000,
    0x20_0000,
    0x4000_0000,
    REGION,
    0x1000,
    UNPROTECTED - 4 * PAGE,
    WINDOW + 0x10,
];
/// Grant modes.
const MODES: [u64; 6] = [1, 3, 1, 3, 0, 2];
/// RTT levels.
const LEVELS: [u64; 7] = [3, 3, 2, 3, 1, 0, 4];
/// IPAs the realms read through their TLB on every entry (faults ignored).
const TOUCHED: [u64; 19] = [
    0x1000,
    0x2000,
    0x3000,
    REGION,
    REGION + PAGE,
    REGION + 2 * PAGE,
    REGION + 3 * PAGE,
    RAM_EXTRA,
    WINDOW,
    WINDOW + PAGE,
    WINDOW + 2 * PAGE,
    WINDOW + 3 * PAGE,
    WINDOW + 4 * PAGE,
    WINDOW + 8 * PAGE,
    0x1F_F000,
    0x20_0000,
    BLOCK,
    AFTER_BLOCK - PAGE,
    AFTER_BLOCK,
];

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// RMI_SUCCESS results by RMI function id.
    pub rmi: BTreeMap<u32, u64>,
    /// RSI_SUCCESS results by RSI function id (the CSM calls and IPA_STATE_SET).
    pub rsi: BTreeMap<u32, u64>,
    /// RSI calls made, by function id (each counted once however often it restarted).
    pub rsi_calls: BTreeMap<u32, u64>,
    /// REC exits by reason.
    pub exits: BTreeMap<u64, u64>,
    /// Successful DATA_DESTROYs that changed the realm's APT (a region became Damaged).
    pub damaging_destroys: u64,
    /// The most aliases seen at once.
    pub max_aliases: usize,
    /// Steps run.
    pub steps: u64,
}

impl Stats {
    /// Adds `other` to `self`.
    pub fn merge(&mut self, other: &Stats) {
        for (mine, theirs) in [
            (&mut self.rmi, &other.rmi),
            (&mut self.rsi, &other.rsi),
            (&mut self.rsi_calls, &other.rsi_calls),
        ] {
            for (k, v) in theirs {
                *mine.entry(*k).or_default() += v;
            }
        }
        for (k, v) in &other.exits {
            *self.exits.entry(*k).or_default() += v;
        }
        self.damaging_destroys += other.damaging_destroys;
        self.max_aliases = self.max_aliases.max(other.max_aliases);
        self.steps += other.steps;
    }
}

/// Where a run starts: the setup (boot, four realms, eight RECs, the QUERYs) is the same for
/// every input, so it is built once per process and its image restored per input
/// (`Restored`); `Built` builds it for the run as the first runs of a process do.
/// `RMM_FUZZ_FRESH=1` makes [`run`] build it for every input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// From the process's image of the setup.
    Restored,
    /// Booted and built for this run.
    Built,
}

/// What a run did and left, to compare two runs of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The run's figures.
    pub stats: Stats,
    /// Every call, result and exit, the setup's QUERYs included (the last 2,048 to 4,096).
    pub log: Vec<String>,
    /// The monitor and machine at the end: granules, memory, PAS, VMIDs, counters.
    pub end: Snapshot,
}

/// Runs the program in `data`; panics on a finding.
pub fn run(data: &[u8]) -> Stats {
    static FRESH: OnceLock<bool> = OnceLock::new();
    let fresh = *FRESH.get_or_init(|| std::env::var_os("RMM_FUZZ_FRESH").is_some());
    let mut lease = Lease::take();
    let setup = if fresh { Setup::Built } else { Setup::Restored };
    let mut engine = Engine::new(&mut lease, Input::new(data), setup);
    engine.go();
    engine.stats
}

/// Runs the program in `data` from `setup` and returns what it did and left; panics on a
/// finding.
pub fn run_from(data: &[u8], setup: Setup) -> Outcome {
    let mut lease = Lease::take();
    let mut engine = Engine::new(&mut lease, Input::new(data), setup);
    engine.go();
    Outcome {
        end: Snapshot::take(&engine.host, &[]),
        stats: engine.stats,
        log: lines(&engine.log),
    }
}

/// The harness's side of the setup, saved with the monitor's image.
#[derive(Clone)]
struct Start {
    image: Image,
    next_free: u64,
    realms: Vec<Realm>,
    pool: Vec<u64>,
    setup_apts: Vec<u64>,
    named: Vec<u64>,
    run_page: u64,
    leaves: Leaves,
    log: Vec<Note>,
}

/// The process's setup, built by its first run that restores one.
static START: OnceLock<Start> = OnceLock::new();

/// A call the fake realm makes: x0..x4.
#[derive(Debug, Clone, Copy)]
struct Call {
    fid: u32,
    args: [u64; 4],
}

/// A call made and not yet returned: where the realm made it.
#[derive(Debug, Clone, Copy)]
struct Outstanding {
    pc: u64,
    call: Call,
}

/// What the host side and the fake realm share.
#[derive(Default)]
struct RealmSide {
    /// The call the next realm entry makes.
    pending: Option<Call>,
    /// Calls made and not yet returned, by REC.
    outstanding: BTreeMap<(u16, u64), Outstanding>,
    /// A call that returned during the last entry: the call and x0..x4.
    returned: Option<(Call, [u64; 5])>,
}

fn irq() -> RealmTrap {
    RealmTrap {
        kind: TrapKind::Irq,
        esr: 0,
        far: 0,
        hpfar: 0,
    }
}

/// ESR of a trapped `smc #0`.
const SMC: u64 = 0x17 << 26 | 1 << 25;

fn install(machine: &FakeMachine, side: &Arc<Mutex<RealmSide>>) {
    let side = side.clone();
    machine.set_realm(Box::new(move |m, config, ctx| {
        for ipa in TOUCHED {
            let _ = m.realm_read_ipa(config, ipa, &mut [0u8; 8]);
        }
        let id = FakeRecId::of(config);
        let key = (id.vmid, id.mpidr);
        let mut side = side.lock().unwrap_or_else(|e| e.into_inner());
        let make = |ctx: &mut rmm::arch::world::RealmContext, call: Call| {
            ctx.gprs.x[0] = u64::from(call.fid);
            ctx.gprs.x[1..5].copy_from_slice(&call.args);
            RealmTrap {
                kind: TrapKind::Sync,
                esr: SMC,
                far: 0,
                hpfar: 0,
            }
        };
        if let Some(call) = side.pending.take() {
            // A new call at the current PC (a call still outstanding there is abandoned).
            side.outstanding.insert(
                key,
                Outstanding {
                    pc: ctx.gprs.pc,
                    call,
                },
            );
            return make(ctx, call);
        }
        if let Some(o) = side.outstanding.get(&key).copied() {
            if ctx.gprs.pc == o.pc {
                // Restarted: the realm runs the same SMC again.
                return make(ctx, o.call);
            }
            let mut regs = [0; 5];
            regs.copy_from_slice(&ctx.gprs.x[..5]);
            side.returned = Some((o.call, regs));
            side.outstanding.remove(&key);
        }
        irq()
    }));
}

/// Realm `r`'s [`BLOCK`] (512 DATA granules folded into one level-2 entry) and its two pages
/// at [`AFTER_BLOCK`]; returns the granules the host may name by mistake.
fn provider_block(host: &Host, r: &TestRealm, src: u64) -> Vec<u64> {
    let rd = r.rd;
    let mut named = host.must_tables_to(r, BLOCK, 3);
    let run = host.must_delegated_run(512);
    // RIPAS RAM, then unmeasured DATA: the harness builds this setup once per input when it
    // compares restored and built setups, and measuring 2 MiB of contents would treble that.
    assert_eq!(host.init_ripas(rd, BLOCK, BLOCK + 0x20_0000)[0], 0);
    for p in 0..512 {
        assert_eq!(
            host.data_create_unknown(rd, run + p * PAGE, BLOCK + p * PAGE)[0],
            0
        );
    }
    assert_eq!(
        host.rtt_fold(rd, BLOCK, 3)[0],
        0,
        "fold of the provider block"
    );
    named.extend([run, run + 511 * PAGE]);
    named.extend(host.must_tables_to(r, AFTER_BLOCK, 3));
    for p in 0..2 {
        let data = host.must_delegated();
        assert_eq!(
            host.data_create(rd, data, AFTER_BLOCK + p * PAGE, src, 0)[0],
            0
        );
        named.push(data);
    }
    named
}

/// A line of the run's log, formatted only when printed (most runs never print theirs).
#[derive(Debug, Clone)]
enum Note {
    /// An RMI call: function, arguments (the first `.1` of `.0`), x0..x4.
    Rmi {
        f: u32,
        args: ([u64; 6], usize),
        out: [u64; 5],
    },
    /// A REC exit and the call that returned during the entry.
    Exit {
        reason: u64,
        base: u64,
        top: u64,
        returned: Option<(Call, [u64; 5])>,
    },
    /// A call set up for a realm's REC.
    Rsi {
        r: usize,
        k: usize,
        f: u32,
        args: [u64; 4],
    },
}

impl core::fmt::Display for Note {
    fn fmt(&self, out: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Note::Rmi {
                f,
                args: (args, len),
                out: regs,
            } => write!(out, "RMI {f:#x} {:x?} -> {regs:x?}", &args[..*len]),
            Note::Exit {
                reason,
                base,
                top,
                returned,
            } => write!(
                out,
                "  exit {reason} [{base:#x}, {top:#x}) returned {returned:x?}"
            ),
            Note::Rsi { r, k, f, args } => write!(out, "realm {r} REC {k}: RSI {f:#x} {args:x?}"),
        }
    }
}

fn lines(log: &[Note]) -> Vec<String> {
    log.iter().map(Note::to_string).collect()
}

/// A region a CREATE returned.
#[derive(Debug, Clone, Copy)]
struct Region {
    id: u64,
    base: u64,
    size: u64,
}

/// A grant a SHARE returned.
#[derive(Debug, Clone, Copy)]
struct Share {
    id: u64,
    provider: usize,
    region: u64,
    mode: u64,
}

/// A window an ACCEPT returned.
#[derive(Debug, Clone, Copy)]
struct Window {
    consumer: usize,
    base: u64,
    size: u64,
    provider: usize,
    region_base: u64,
    mode: u64,
}

/// One realm of the run.
#[derive(Debug, Clone)]
struct Realm {
    info: RealmInfo,
    /// RECs 0 and 1 (both runnable).
    recs: [u64; 2],
    apt: Option<u64>,
    /// Its RealmId once known.
    id: Option<u64>,
    /// Each REC's last exit that asks the host for something: reason, base, top.
    exits: [Option<(u64, u64, u64)>; 2],
}

struct Engine<'l> {
    lease: &'l mut Lease,
    host: Host,
    input: Input,
    side: Arc<Mutex<RealmSide>>,
    realms: Vec<Realm>,
    /// Host granules (NS until used).
    pool: Vec<u64>,
    /// The setup's APT granules (candidates for the APT comparison with the pool).
    setup_apts: Vec<u64>,
    /// Other granules the host may name by mistake: RDs, RECs, tables, DATA.
    named: Vec<u64>,
    run_page: u64,
    regions: Vec<Region>,
    shares: Vec<Share>,
    windows: Vec<Window>,
    leaves: Leaves,
    stats: Stats,
    log: Vec<Note>,
}

impl<'l> Engine<'l> {
    fn new(lease: &'l mut Lease, input: Input, setup: Setup) -> Self {
        if setup == Setup::Built {
            return Self::build(lease, input);
        }
        let start = match START.get() {
            Some(start) => start,
            None => {
                let start = Engine::build(&mut *lease, Input::new(&[])).start();
                START.get_or_init(|| start)
            }
        };
        Self::restore(lease, start, input)
    }

    /// The engine at the end of the setup, from `start`.
    fn restore(lease: &'l mut Lease, start: &Start, input: Input) -> Self {
        let host = Host::resume(lease.restore(&start.image), start.next_free);
        let side = Arc::new(Mutex::new(RealmSide::default()));
        install(&host.rig.machine, &side);
        Self {
            lease,
            host,
            input,
            side,
            realms: start.realms.clone(),
            pool: start.pool.clone(),
            setup_apts: start.setup_apts.clone(),
            named: start.named.clone(),
            run_page: start.run_page,
            regions: Vec::new(),
            shares: Vec::new(),
            windows: Vec::new(),
            leaves: start.leaves.clone(),
            stats: Stats::default(),
            log: start.log.clone(),
        }
    }

    /// What [`Self::restore`] needs to give another run this engine as [`Self::build`] left
    /// it (before it read any input).
    fn start(&self) -> Start {
        let side = self.side.lock().unwrap_or_else(|e| e.into_inner());
        assert!(
            side.pending.is_none() && side.outstanding.is_empty() && side.returned.is_none(),
            "the setup left a realm call outstanding"
        );
        assert!(
            self.regions.is_empty() && self.shares.is_empty() && self.windows.is_empty(),
            "the setup created CSM objects"
        );
        Start {
            image: self.lease.image(&self.host.rig),
            next_free: self.host.next_free(),
            realms: self.realms.clone(),
            pool: self.pool.clone(),
            setup_apts: self.setup_apts.clone(),
            named: self.named.clone(),
            run_page: self.run_page,
            leaves: self.leaves.clone(),
            log: self.log.clone(),
        }
    }

    /// Boots a monitor and builds the setup on it.
    fn build(lease: &'l mut Lease, input: Input) -> Self {
        let host = Host::on(lease.boot());
        let mut realms = Vec::new();
        let mut named = Vec::new();
        let mut setup_apts = Vec::new();
        for i in 0..REALMS {
            let csm = i < 3;
            let shape = Shape {
                vmid: 0x100 + i as u64,
                ..Shape::default()
            };
            lease.note_vmid(shape.vmid as u16);
            let r = host.must_create_realm(shape);
            let rd = r.rd;
            named.extend([rd, r.rtt_base]);
            named.extend(host.must_tables_to(&r, 0, 3));
            assert_eq!(host.init_ripas(rd, 0x1000, 0x4000)[0], 0);
            assert_eq!(
                host.init_ripas(rd, RAM_EXTRA, RAM_EXTRA + REGION_PAGES * PAGE)[0],
                0
            );
            let apt = if csm {
                let g = host.must_delegated();
                assert_eq!(host.call(fid::APT_CREATE, &[rd, g])[0], 0, "APT_CREATE");
                setup_apts.push(g);
                Some(g)
            } else {
                None
            };
            let src = host.ns_page(&[0xA0 + i as u8; 4096]);
            for ipa in [0x1000, 0x2000]
                .into_iter()
                .chain((0..REGION_PAGES).map(|p| REGION + p * PAGE))
            {
                let data = host.must_delegated();
                assert_eq!(host.data_create(rd, data, ipa, src, 0)[0], 0);
                named.push(data);
            }
            if i == 0 {
                named.extend(provider_block(&host, &r, src));
            }
            let recs = [0, 1].map(|index| {
                let rec = host.must_delegated();
                let mut params = host.must_rec_params(index, true);
                params.pc = 0x1000;
                assert_eq!(host.rec_create(rd, rec, &params)[0], 0);
                rec
            });
            named.extend(recs);
            if csm {
                assert_eq!(host.realm_activate(rd)[0], 0);
            }
            realms.push(Realm {
                info: RealmInfo {
                    rd,
                    rtt_base: r.rtt_base,
                    num_roots: shape.num_roots,
                    start_level: shape.start_level,
                    s2sz: shape.s2sz,
                    vmid: shape.vmid as u16,
                },
                recs,
                apt,
                id: None,
                exits: [None; 2],
            });
        }
        let pool = (0..48).map(|_| host.alloc(1)).collect();
        let run_page = host.alloc(1);
        let side = Arc::new(Mutex::new(RealmSide::default()));
        install(&host.rig.machine, &side);
        let mut engine = Self {
            lease,
            host,
            input,
            side,
            realms,
            pool,
            setup_apts,
            named,
            run_page,
            regions: Vec::new(),
            shares: Vec::new(),
            windows: Vec::new(),
            leaves: Leaves::new(),
            stats: Stats::default(),
            log: Vec::new(),
        };
        for i in 0..3 {
            engine.rsi_call(i, 0, QUERY, [0; 4]);
            assert!(engine.realms[i].id.is_some(), "QUERY(0) of realm {i}");
        }
        engine.stats = Stats::default();
        let m = &engine.host.rig.machine;
        m.take_ipa_invalidations();
        m.take_stage2_invalidations();
        engine.leaves = engine.checked();
        engine
    }

    fn go(&mut self) {
        let mut steps = 0;
        while !self.input.is_empty() && steps < MAX_STEPS {
            steps += 1;
            self.stats.steps += 1;
            self.step();
            self.after();
        }
        if std::env::var_os("RMM_FUZZ_TRACE").is_some() {
            eprintln!("{}", lines(&self.log).join("\n"));
        }
    }

    fn fail(&self, what: &str) -> ! {
        let tail = self.log.len().saturating_sub(40);
        panic!(
            "csm fuzz invariant broken: {what}\nlast calls:\n{}",
            lines(&self.log[tail..]).join("\n")
        )
    }

    fn note(&mut self, line: Note) {
        if self.log.len() > 4096 {
            self.log.drain(..2048);
        }
        self.log.push(line);
    }

    fn infos(&self) -> Vec<RealmInfo> {
        self.realms.iter().map(|r| r.info).collect()
    }

    /// The invariants of [`crate::check`] now.
    fn checked(&self) -> Leaves {
        let infos = self.infos();
        let recs: Vec<(u64, u64)> = self
            .realms
            .iter()
            .flat_map(|r| r.recs.map(|rec| (rec, r.info.rd)))
            .collect();
        let granules = self.lease.tracked_granules();
        let world = World {
            granules: &granules,
            realms: &infos,
            recs: &recs,
            pool: &self.pool,
        };
        match check::check(&self.host.rig, &world) {
            Ok(leaves) => leaves,
            Err(broken) => self.fail(&broken),
        }
    }

    /// After a step: the invariants, the aliases, the APT granules, no stale translation.
    fn after(&mut self) {
        let leaves = self.checked();
        self.check_aliases(&leaves);
        self.check_apt_granules();
        if let Err(stale) = check::tlbs_after(&self.host.rig.machine, &self.leaves, &leaves) {
            self.fail(&stale);
        }
        self.leaves = leaves;
    }

    /// Every APT granule decodes with the full decoder: every field and the checksum (what the
    /// monitor reads), the zeros after the table (which the monitor neither writes nor reads:
    /// it relies on the granule being zero there from APT_CREATE, in a DELEGATED granule, to
    /// APT_DESTROY) and the table rules (which the monitor checks only before it writes).
    fn check_apt_granules(&self) {
        for (granule, bytes) in self.apts() {
            if let Err(error) = apt::FwApt::decode(&bytes) {
                self.fail(&format!(
                    "the APT granule {granule:#x} does not decode in full: {error:?}"
                ));
            }
        }
    }

    /// Every alias: level 3, DATA, inside the window an ACCEPT returned, at the provider's
    /// assigned RAM page at the same offset of the region, writable only if granted so.
    fn check_aliases(&mut self, leaves: &Leaves) {
        let realm_of = |vmid: u16| usize::from(vmid.wrapping_sub(0x100));
        let decoded = |(&(vmid, ipa, level), &desc): (&(u16, u64, i64), &u64)| {
            RttLevel::new(level).map(|lvl| (vmid, ipa, level, Entry::decode(desc, lvl)))
        };
        let mut aliases = Vec::new();
        for (vmid, ipa, level, entry) in leaves.iter().filter_map(decoded) {
            if let Entry::Alias { pa, writable } = entry {
                aliases.push((vmid, ipa, level, pa, writable));
            }
        }
        // Assigned RAM at the aliased PAs: PA → (VMID, IPA) of every page that maps it (a
        // block's pages only where an alias points, not all 512 of them on every step).
        let aliased: std::collections::BTreeSet<u64> = aliases.iter().map(|a| a.3).collect();
        let mut assigned: BTreeMap<u64, Vec<(u16, u64)>> = BTreeMap::new();
        if !aliased.is_empty() {
            for (vmid, ipa, level, entry) in leaves.iter().filter_map(decoded) {
                if let Entry::Assigned {
                    pa,
                    ripas: Ripas::Ram,
                } = entry
                {
                    let size = 1u64 << (12 + 9 * (3 - level) as u64);
                    for &target in aliased.range(pa..pa + size) {
                        assigned
                            .entry(target)
                            .or_default()
                            .push((vmid, ipa + (target - pa)));
                    }
                }
            }
        }
        self.stats.max_aliases = self.stats.max_aliases.max(aliases.len());
        for (vmid, ipa, level, pa, writable) in aliases {
            let what = format!("alias VMID {vmid:#x} IPA {ipa:#x} → {pa:#x}");
            if level != 3 {
                self.fail(&format!("{what} at level {level}"));
            }
            let state = self.host.rig.state(pa);
            if state != Some(GranuleState::Data) {
                self.fail(&format!("{what}: the granule is {state:?}, not DATA"));
            }
            let maps = assigned.get(&pa).cloned().unwrap_or_default();
            if !maps.iter().any(|&(v, _)| v != vmid) {
                self.fail(&format!(
                    "{what}: no other realm maps the granule as assigned RAM ({maps:x?})"
                ));
            }
            let consumer = realm_of(vmid);
            let Some(w) = self
                .windows
                .iter()
                .rev()
                .find(|w| w.consumer == consumer && ipa >= w.base && ipa - w.base < w.size)
                .copied()
            else {
                self.fail(&format!("{what}: outside every window an ACCEPT returned"));
            };
            let expected = (
                self.realms[w.provider].info.vmid,
                w.region_base.wrapping_add(ipa - w.base),
            );
            if !maps.contains(&expected) {
                self.fail(&format!(
                    "{what}: window {:#x}+{:#x} of realm {} expects realm {}'s page at {:#x}, \
                     the granule is mapped at {maps:x?}",
                    w.base, w.size, consumer, w.provider, expected.1
                ));
            }
            if writable && w.mode != 3 {
                self.fail(&format!("{what}: writable, the grant's mode is {}", w.mode));
            }
        }
    }

    /// The bytes of every APT granule now (by address).
    fn apts(&self) -> Vec<(u64, [u8; 4096])> {
        let rig = &self.host.rig;
        let apts = self
            .setup_apts
            .iter()
            .chain(&self.pool)
            .filter(|&&g| self.lease.granule_state(g) == Some(GranuleState::Apt));
        rig.machine.view(|mem| {
            apts.map(|&g| (g, mem.page(g).map_or([0; 4096], |page| *page)))
                .collect()
        })
    }

    fn unchanged(&self, before: &[(u64, [u8; 4096])], what: &str) {
        let after = self.apts();
        if after.len() != before.len()
            || before
                .iter()
                .zip(&after)
                .any(|(a, b)| a.0 != b.0 || a.1 != b.1)
        {
            let changed: Vec<u64> = before
                .iter()
                .filter(|(g, bytes)| !after.iter().any(|(h, b)| h == g && b == bytes))
                .map(|(g, _)| *g)
                .collect();
            self.fail(&format!(
                "{what} was refused but changed APT granules {changed:#x?} (before {} APTs, \
                 after {})",
                before.len(),
                after.len()
            ));
        }
    }

    /// One RMI call; x0..x4. A refusal must leave every APT granule unchanged.
    fn call(&mut self, f: u32, args: &[u64]) -> [u64; 5] {
        let before = self.apts();
        let out = self
            .host
            .rig
            .monitor
            .handle_rmi(&self.host.rig.machine, &RmiRequest::new(u64::from(f), args))
            .regs;
        let mut regs = [0; 6];
        let len = args.len().min(6);
        regs[..len].copy_from_slice(&args[..len]);
        self.note(Note::Rmi {
            f,
            args: (regs, len),
            out,
        });
        if out[0] == 0 {
            *self.stats.rmi.entry(f).or_default() += 1;
        } else {
            self.unchanged(&before, &format!("RMI {f:#x} {args:x?} -> {out:x?}"));
        }
        out
    }

    /// Enters realm `r`'s REC `k` (making the pending call, if any) with entry `flags`;
    /// records the exit and what returned.
    fn enter(&mut self, r: usize, k: usize, flags: u64) {
        let mut page = [0u8; 4096];
        page[..8].copy_from_slice(&flags.to_le_bytes());
        let run = self.run_page;
        // The host may have delegated its run page (GRANULE_DELEGATE of any granule it names):
        // REC_ENTER must then refuse it.
        let ns = self.host.rig.machine.host_write(run, &page).is_ok();
        let before = self.apts();
        let rec = self.realms[r].recs[k];
        let out = self.call(fid::REC_ENTER, &[rec, run]);
        let m = &self.host.rig.machine;
        m.take_realm_entries();
        m.take_vgic_loads();
        m.take_timer_masks();
        let returned = {
            let mut side = self.side.lock().unwrap_or_else(|e| e.into_inner());
            side.pending = None;
            side.returned.take()
        };
        if out[0] != 0 {
            return;
        }
        let Ok(exit) = self.host.rig.machine.host_read(run) else {
            self.fail(&format!(
                "REC_ENTER succeeded with a run page the host cannot read (NS before: {ns})"
            ));
        };
        let word = |at: usize| u64::from_le_bytes(exit[at..at + 8].try_into().expect("8"));
        let (reason, base, top) = (word(0x800), word(0xD00), word(0xD08));
        *self.stats.exits.entry(reason).or_default() += 1;
        self.note(Note::Exit {
            reason,
            base,
            top,
            returned,
        });
        if matches!(reason, 4 | 7 | 8) {
            self.realms[r].exits[k] = Some((reason, base, top));
        }
        if let Some((call, regs)) = returned {
            self.realms[r].exits[k] = None;
            if regs[0] == 0 {
                *self.stats.rsi.entry(call.fid).or_default() += 1;
                self.returned(r, call, regs);
            } else if call.fid != rsi::IPA_STATE_SET {
                // An IPA_STATE_SET completes after the RIPAS change: its status says how
                // the host answered, not whether the call changed CSM state.
                self.unchanged(&before, &format!("RSI {call:x?} by realm {r} -> {regs:x?}"));
            }
        } else if matches!(reason, 7 | 8) {
            self.unchanged(
                &before,
                &format!("the CSM call exiting {reason} of realm {r}"),
            );
        }
    }

    /// Realm `r`'s REC `k` makes `fid` with `args` (abandoning any call it has outstanding).
    fn rsi_call(&mut self, r: usize, k: usize, f: u32, args: [u64; 4]) {
        *self.stats.rsi_calls.entry(f).or_default() += 1;
        self.side.lock().unwrap_or_else(|e| e.into_inner()).pending = Some(Call { fid: f, args });
        self.note(Note::Rsi { r, k, f, args });
        self.enter(r, k, 0);
    }

    /// A call of realm `r` returned RSI_SUCCESS with `regs`.
    fn returned(&mut self, r: usize, call: Call, regs: [u64; 5]) {
        let [a1, a2, a3, _] = call.args;
        match call.fid {
            CREATE => self.regions.push(Region {
                id: regs[1],
                base: a1,
                size: a2,
            }),
            SHARE => self.shares.push(Share {
                id: regs[1],
                provider: r,
                region: a1,
                mode: a3,
            }),
            ACCEPT => {
                let Some(share) = self.shares.iter().rev().find(|s| s.id == a1).copied() else {
                    self.fail(&format!(
                        "ACCEPT of {a1:#x} succeeded: no SHARE returned it"
                    ));
                };
                let Some(region) = self
                    .regions
                    .iter()
                    .rev()
                    .find(|g| g.id == share.region)
                    .copied()
                else {
                    self.fail("ACCEPT succeeded for a region no CREATE returned");
                };
                if regs[1] != region.size || regs[2] != share.mode {
                    self.fail(&format!(
                        "ACCEPT returned size {:#x} mode {}, the region is {:#x} shared {}",
                        regs[1], regs[2], region.size, share.mode
                    ));
                }
                self.windows.push(Window {
                    consumer: r,
                    base: a3,
                    size: region.size,
                    provider: share.provider,
                    region_base: region.base,
                    mode: share.mode,
                });
            }
            QUERY if a1 == 0 => self.realms[r].id = Some(regs[1]),
            _ => {}
        }
    }

    // ---- argument pools ----

    fn realm(&self) -> usize {
        self.input.below(REALMS)
    }

    /// A realm and one of its RECs (bytes 0..=3: REC 0 of realm 0..=3, 4..=7: REC 1...).
    fn who(&self) -> (usize, usize) {
        let b = usize::from(self.input.byte());
        (b % REALMS, b / REALMS % 2)
    }

    fn realm_id(&self) -> u64 {
        let s = self.input.byte();
        let ids: Vec<u64> = self.realms.iter().filter_map(|r| r.id).collect();
        match s {
            0xF0..=0xF7 => 0,
            0xF8..=0xFB => ids.iter().max().copied().unwrap_or(0).wrapping_add(1),
            0xFC..=0xFF => self.input.u64(),
            _ => ids[usize::from(s) % ids.len()],
        }
    }

    fn id_from(&self, ids: &[u64]) -> u64 {
        let s = self.input.byte();
        if s < 0xE0 && !ids.is_empty() {
            // Mostly the latest ones.
            let back = usize::from(s) % ids.len().min(8);
            return ids[ids.len() - 1 - back];
        }
        match s {
            0xE0..=0xEF if !ids.is_empty() => ids[usize::from(s) % ids.len()],
            0xF0..=0xF7 => 0,
            0xF8..=0xFB => ids.iter().max().copied().unwrap_or(0).wrapping_add(1),
            _ => self.input.pick(&[0, 1, 2, 3, u64::MAX]),
        }
    }

    fn region_id(&self) -> u64 {
        let ids: Vec<u64> = self.regions.iter().map(|g| g.id).collect();
        self.id_from(&ids)
    }

    fn share_id(&self) -> u64 {
        let ids: Vec<u64> = self.shares.iter().map(|s| s.id).collect();
        self.id_from(&ids)
    }

    /// A protected IPA page near the region, the windows and the RAM.
    fn ipa(&self) -> u64 {
        let s = self.input.byte();
        let b = u64::from(self.input.byte());
        match s % 4 {
            0 => REGION + (b % 8) * PAGE,
            1 => WINDOW + (b % 16) * PAGE,
            2 => [
                0x1000,
                0x2000,
                0x3000,
                0x1F_F000,
                0x20_0000,
                0x4000_0000,
                BLOCK,
                AFTER_BLOCK - PAGE,
                AFTER_BLOCK,
            ][(b % 9) as usize],
            _ => self.input.pick(&TOUCHED),
        }
    }

    fn level(&self) -> u64 {
        self.input.pick(&LEVELS)
    }

    /// A granule the host names: mostly its pool, sometimes the wrong kind.
    fn granule(&self) -> u64 {
        let s = self.input.byte();
        if s < 0xC0 {
            return self.pool[usize::from(s) % self.pool.len()];
        }
        let mut others = self.named.clone();
        others.extend(self.setup_apts.iter().copied());
        others.push(self.run_page);
        self.input.pick(&others)
    }

    /// A pool granule in state DELEGATED (delegating one if need be), if any is left.
    fn fresh(&mut self) -> Option<u64> {
        let rig = &self.host.rig;
        if let Some(&g) = self
            .pool
            .iter()
            .find(|&&g| rig.state(g) == Some(GranuleState::Delegated))
        {
            return Some(g);
        }
        let g = *self
            .pool
            .iter()
            .find(|&&g| rig.state(g) == Some(GranuleState::Undelegated))?;
        (self.call(fid::GRANULE_DELEGATE, &[g])[0] == 0).then_some(g)
    }

    /// A granule for a command that needs a delegated one: `granule()`, delegated first when
    /// it is an undelegated pool granule.
    fn delegated(&mut self) -> u64 {
        let g = self.granule();
        if self.pool.contains(&g) && self.host.rig.state(g) == Some(GranuleState::Undelegated) {
            self.call(fid::GRANULE_DELEGATE, &[g]);
        }
        g
    }

    // ---- steps ----

    fn step(&mut self) {
        let op = self.input.byte() % 20;
        match op {
            0..=6 | 19 => self.csm_call(),
            7 => self.ipa_state_set(),
            8 | 9 => self.serve(),
            10 => {
                let (r, k) = self.who();
                let flags = self.input.pick(&[0, 0x10]);
                self.enter(r, k, flags);
            }
            11 => self.data_destroy(),
            12 => {
                let (r, ipa) = (self.realm(), self.ipa());
                let g = self.delegated();
                let rd = self.realms[r].info.rd;
                self.call(fid::DATA_CREATE_UNKNOWN, &[rd, g, ipa]);
            }
            13 => {
                let (r, ipa, level) = (self.realm(), self.ipa(), self.level());
                let g = self.delegated();
                let rd = self.realms[r].info.rd;
                self.call(fid::RTT_CREATE, &[rd, g, ipa, level]);
            }
            14 => {
                let (r, base) = (self.realm(), self.ipa());
                let top = base.wrapping_add(self.input.pick(&SIZES[..5]));
                let s = self.input.byte();
                let rec = if s < 0xE0 {
                    self.realms[r].recs[usize::from(s) % 2]
                } else {
                    self.realms[self.realm()].recs[0]
                };
                let rd = self.realms[r].info.rd;
                self.call(fid::RTT_SET_RIPAS, &[rd, rec, base, top]);
            }
            15 => {
                let (r, ipa, level) = (self.realm(), self.ipa(), self.level());
                let f = [fid::RTT_FOLD, fid::RTT_DESTROY, fid::RTT_READ_ENTRY][self.input.below(3)];
                let rd = self.realms[r].info.rd;
                self.call(f, &[rd, ipa, level]);
            }
            16 => {
                let r = self.realm();
                let s = self.input.byte();
                let apt = match (s < 0xC0, self.realms[r].apt) {
                    (true, Some(apt)) => apt,
                    _ => self.granule(),
                };
                let rd = self.realms[r].info.rd;
                if self.call(fid::APT_DESTROY, &[rd, apt])[0] == 0 {
                    self.realms[r].apt = None;
                }
            }
            17 => {
                let r = self.realm();
                let g = if self.input.byte() < 0xC0 {
                    self.fresh().unwrap_or(self.pool[0])
                } else {
                    self.granule()
                };
                let rd = self.realms[r].info.rd;
                if self.call(fid::APT_CREATE, &[rd, g])[0] == 0 {
                    self.realms[r].apt = Some(g);
                }
            }
            _ => {
                let r = self.realm();
                let rd = self.realms[r].info.rd;
                match self.input.byte() % 4 {
                    0 => {
                        if self.call(fid::REALM_DESTROY, &[rd])[0] == 0 {
                            self.fail("REALM_DESTROY of a realm with a REC succeeded");
                        }
                    }
                    1 => {
                        self.call(fid::REALM_ACTIVATE, &[rd]);
                    }
                    2 => {
                        let g = self.granule();
                        self.call(fid::GRANULE_DELEGATE, &[g]);
                    }
                    _ => {
                        let g = self.granule();
                        self.call(fid::GRANULE_UNDELEGATE, &[g]);
                    }
                }
            }
        }
    }

    fn csm_call(&mut self) {
        let (r, k) = self.who();
        let which = self.input.below(CSM_FIDS.len());
        let f = CSM_FIDS[which];
        let args = match f {
            CREATE => {
                let base = self.input.pick(&BASES);
                let size = self.input.pick(&SIZES);
                [base, size, 0, 0]
            }
            SHARE => {
                let region = self.region_id();
                let consumer = self.realm_id();
                let mode = self.input.pick(&MODES);
                [region, consumer, mode, 0]
            }
            ACCEPT => {
                let share = self.share_id();
                let known = self.shares.iter().rev().find(|s| s.id == share).copied();
                let provider = match known {
                    Some(s) if self.input.byte() < 0xC0 => self.realms[s.provider].id.unwrap_or(0),
                    _ => self.realm_id(),
                };
                let window = self.input.pick(&WINDOWS);
                let size = match known.and_then(|s| self.regions.iter().find(|g| g.id == s.region))
                {
                    Some(g) if self.input.byte() < 0xC0 => g.size,
                    _ => self.input.pick(&SIZES),
                };
                [share, provider, window, size]
            }
            DETACH | REVOKE => [self.share_id(), 0, 0, 0],
            DESTROY => [self.region_id(), 0, 0, 0],
            _ => {
                let share = if self.input.byte() < 0x40 {
                    0
                } else {
                    self.share_id()
                };
                [share, 0, 0, 0]
            }
        };
        self.rsi_call(r, k, f, args);
    }

    fn ipa_state_set(&mut self) {
        let (r, k) = self.who();
        let base = match self.input.byte() % 3 {
            0 => self.input.pick(&WINDOWS),
            1 => self.input.pick(&BASES),
            _ => self.ipa(),
        };
        let top = base.wrapping_add(self.input.pick(&SIZES));
        let s = self.input.byte();
        let ripas = u64::from(s & 1);
        let flags = u64::from(s >> 1 & 1);
        self.rsi_call(r, k, rsi::IPA_STATE_SET, [base, top, ripas, flags]);
    }

    fn data_destroy(&mut self) {
        let (r, ipa) = (self.realm(), self.ipa());
        let rd = self.realms[r].info.rd;
        let apt = self.realms[r].apt.map(|g| self.host.rig.machine.inspect(g));
        if self.call(fid::DATA_DESTROY, &[rd, ipa])[0] == 0 {
            let now = self.realms[r].apt.map(|g| self.host.rig.machine.inspect(g));
            if apt != now {
                self.stats.damaging_destroys += 1;
            }
        }
    }

    /// Serves the last exit of a realm's REC (all of it or in part) and enters it again.
    fn serve(&mut self) {
        let (r, k) = self.who();
        let mode = self.input.byte();
        let full = mode & 1 == 0;
        let rd = self.realms[r].info.rd;
        let rec = self.realms[r].recs[k];
        match self.realms[r].exits[k] {
            Some((4, base, top)) => {
                let mut addr = base;
                while addr < top {
                    let out = self.call(fid::RTT_SET_RIPAS, &[rd, rec, addr, top]);
                    if out[0] != 0 || out[1] <= addr || !full {
                        break;
                    }
                    addr = out[1];
                }
            }
            Some((reason @ (7 | 8), base, top)) => {
                let pages = ((top.saturating_sub(base)) / PAGE).min(SERVE_PAGES);
                let pages = if full { pages } else { pages.min(1) };
                for p in 0..pages {
                    let ipa = base.wrapping_add(p * PAGE);
                    self.serve_page(rd, ipa, reason == 8, mode);
                }
            }
            _ => {}
        }
        if mode & 0x10 == 0 {
            let flags = if mode & 0x20 != 0 { 0x10 } else { 0 };
            self.enter(r, k, flags);
        }
    }

    /// Exit 7 (`populate` false): tables down to level 3 and no DATA at `ipa`; exit 8: DATA.
    fn serve_page(&mut self, rd: u64, ipa: u64, populate: bool, mode: u8) {
        let mut out = self.call(fid::RTT_READ_ENTRY, &[rd, ipa, 3]);
        if out[0] == 0 && out[1] < 3 && mode & 2 == 0 {
            // The walk stopped at level out[1]: create the tables below it.
            for level in out[1] + 1..=3 {
                let Some(g) = self.fresh() else { return };
                let shift = 12 + 9 * (4 - level);
                let at = ipa & !((1u64 << shift) - 1);
                if self.call(fid::RTT_CREATE, &[rd, g, at, level])[0] != 0 {
                    return;
                }
            }
            out = self.call(fid::RTT_READ_ENTRY, &[rd, ipa, 3]);
        }
        if out[0] != 0 || out[1] != 3 {
            return;
        }
        let assigned = out[2] == 1;
        if populate {
            if !assigned
                && mode & 4 == 0
                && let Some(g) = self.fresh()
            {
                self.call(fid::DATA_CREATE_UNKNOWN, &[rd, g, ipa]);
            }
        } else if assigned && mode & 4 == 0 {
            self.call(fid::DATA_DESTROY, &[rd, ipa]);
        }
    }
}
