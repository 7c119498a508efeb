// SPDX-License-Identifier: MIT OR Apache-2.0
//! The RMI and RSI targets: a program of RMI commands read from the input, run against the
//! real dispatcher on a freshly booted monitor, with [`crate::check`]'s invariants checked
//! after every command.
//!
//! Arguments come mostly from pools, so success paths are reached and not only
//! RMI_ERROR_INPUT: the harness's granules (delegated or not; whatever became an RD, REC, RTT
//! or DATA), the live realms and RECs, realm IPAs and levels, NS pages holding parameters the
//! input writes, host descriptors for unprotected mappings; a selector byte also picks edge
//! values (misaligned pool entries, 0, all-ones…) or arbitrary 64-bit values. Two macro
//! commands delegate a run of granules, or fill a 2 MiB range with 512 DATA granules (or
//! unprotected mappings), so a fold into a block is within the fuzzer's reach.

use crate::check::{self, Leaves, RealmInfo, World};
use crate::input::Input;
use crate::realm::{self, IPAS, Seen, UNPROTECTED};
use crate::rig::Lease;
use rmm::arch::RmiRequest;
use rmm_abi::rmi::fid;
use rmm_abi::rmi::realm_params::RealmParams;
use rmm_abi::rmi::rec_params::{RecMpidr, RecParams};
use rmm_integration_tests::host::{Host, Shape};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use zerocopy::{FromBytes, IntoBytes};

/// Where a run starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A freshly booted monitor, nothing delegated (the RMI target).
    Empty,
    /// A running realm (the RSI target): activated, tables at IPA 0 down to level 3, RAM at
    /// [0x1000, 0x4000) with DATA at 0x1000 and 0x2000, REC 0 runnable at 0x1000 and REC 1
    /// not, an unprotected mapping at the start of the unprotected half.
    Running,
}

/// What a run did: successful RMI commands by FID, REC exits by reason, commands issued.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// RMI_SUCCESS results by function id.
    pub successes: BTreeMap<u32, u64>,
    /// REC exits by `exit_reason`.
    pub exits: BTreeMap<u64, u64>,
    /// RMI calls made.
    pub calls: u64,
    /// RSI results the realm saw, by (function id, status).
    pub rsi: BTreeMap<(u64, u64), u64>,
    /// RSI_ATTEST_TOKEN_CONTINUE calls stopped by a host interrupt.
    pub interrupted: u64,
}

impl Stats {
    /// Adds `other` to `self`.
    pub fn merge(&mut self, other: &Stats) {
        for (k, v) in &other.successes {
            *self.successes.entry(*k).or_default() += v;
        }
        for (k, v) in &other.exits {
            *self.exits.entry(*k).or_default() += v;
        }
        self.calls += other.calls;
        for (k, v) in &other.rsi {
            *self.rsi.entry(*k).or_default() += v;
        }
        self.interrupted += other.interrupted;
    }

    /// Adds what the realm saw.
    fn merge_realm(&mut self, seen: &Mutex<Seen>) {
        let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        for (k, v) in &seen.rsi {
            *self.rsi.entry(*k).or_default() += v;
        }
        self.interrupted += seen.interrupted;
    }
}

/// Levels: mostly valid ones, and the two just outside.
pub const LEVELS: [u64; 9] = [1, 2, 3, 2, 3, 3, 0, u64::MAX, 4];
/// Host descriptors' attribute parts for RTT_MAP_UNPROTECTED: MemAttr (normal WB, device,
/// reserved) and S2AP.
const NS_ATTRS: [u64; 6] = [
    0x6 << 2 | 3 << 6,
    0,
    1 << 6,
    0x4 << 2,
    0x5 << 2 | 2 << 6,
    1 << 11,
];
/// DATA_CREATE flags.
const FLAGS: [u64; 3] = [0, 1, 2];
/// Realm parameter values.
const S2SZ: [u64; 6] = [40, 40, 36, 48, 32, 52];
const START_LEVEL: [u64; 6] = [1, 1, 2, 0, 3, u64::MAX];
const NUM_ROOTS: [u64; 5] = [2, 1, 2, 16, 0];
const VMIDS: [u64; 6] = [1, 2, 0x100, 0x101, 0xFFFF, 0];
const HASH: [u64; 3] = [0, 1, 2];

/// Whether `RMM_FUZZ_TRACE` is set: every RMI call is printed (for writing seeds).
fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("RMM_FUZZ_TRACE").is_some())
}

/// Runs the program in `data` from `start`; panics on a broken invariant.
pub fn run(start: Start, data: &[u8]) -> Stats {
    let mut lease = Lease::take();
    let mut engine = Engine::new(&mut lease, start, Input::new(data));
    engine.go();
    let mut stats = std::mem::take(&mut engine.stats);
    stats.merge_realm(&engine.seen);
    engine.lease.keep_attestation(&mut engine.host.rig);
    stats
}

struct Engine<'l> {
    lease: &'l mut Lease,
    host: Host,
    input: Input,
    realms: Vec<RealmInfo>,
    recs: Vec<(u64, u64)>,
    /// Granules the harness names (each may become anything).
    pool: Vec<u64>,
    /// 512 granules, 2 MiB aligned, for the fill macro.
    run_base: u64,
    params_page: u64,
    src_page: u64,
    run_page: u64,
    /// NS memory for unprotected mappings (2 MiB aligned).
    ns_target: u64,
    leaves: Leaves,
    stats: Stats,
    /// What the fake realm saw.
    seen: Arc<Mutex<Seen>>,
    log: Vec<String>,
}

impl<'l> Engine<'l> {
    fn new(lease: &'l mut Lease, start: Start, input: Input) -> Self {
        let host = Host::on(lease.boot_attested());
        lease.note_vmid(Shape::default().vmid as u16);
        let mut pool = Vec::new();
        let mut realms = Vec::new();
        let mut recs = Vec::new();
        if start == Start::Running {
            let shape = Shape::default();
            let r = host.must_create_realm(shape);
            pool.extend([r.rd, r.rtt_base, r.rtt_base + 0x1000]);
            pool.extend(host.must_tables_to(&r, 0, 3));
            assert_eq!(host.init_ripas(r.rd, 0x1000, 0x4000)[0], 0);
            for ipa in [0x1000, 0x2000] {
                let data = host.must_delegated();
                let src = host.ns_page(&[0x11; 64]);
                assert_eq!(host.data_create(r.rd, data, ipa, src, 0)[0], 0);
                pool.push(data);
            }
            for index in 0..2 {
                let rec = host.must_delegated();
                let mut params = host.must_rec_params(index, index == 0);
                params.pc = 0x1000;
                assert_eq!(host.rec_create(r.rd, rec, &params)[0], 0);
                pool.push(rec);
                recs.push((rec, r.rd));
            }
            pool.extend(host.must_tables_to(&r, UNPROTECTED, 3));
            let ns = host.alloc(1);
            assert_eq!(
                host.map_unprotected(r.rd, UNPROTECTED, 3, ns | 0x6 << 2 | 3 << 6)[0],
                0
            );
            assert_eq!(host.realm_activate(r.rd)[0], 0);
            realms.push(RealmInfo {
                rd: r.rd,
                rtt_base: r.rtt_base,
                num_roots: shape.num_roots,
                start_level: shape.start_level,
                s2sz: shape.s2sz,
                vmid: shape.vmid as u16,
            });
        }
        let fresh = if start == Start::Running { 24 } else { 48 };
        pool.extend((0..fresh).map(|_| host.alloc(1)));
        let run_base = host.alloc_aligned(512);
        let params_page = host.alloc(1);
        let src_page = host.ns_page(&[0x5A; 4096]);
        let run_page = host.alloc(1);
        let ns_target = host.alloc_aligned(512);
        let seen = realm::install(&host.rig.machine, &input);
        let mut engine = Self {
            lease,
            host,
            input,
            realms,
            recs,
            pool,
            run_base,
            params_page,
            src_page,
            run_page,
            ns_target,
            leaves: Leaves::new(),
            stats: Stats::default(),
            seen,
            log: Vec::new(),
        };
        engine.host.rig.machine.take_ipa_invalidations();
        engine.host.rig.machine.take_stage2_invalidations();
        engine.leaves = engine.checked();
        engine
    }

    /// The pool granules whose PAS is checked: all of them at the end of a run, the small
    /// pool and the run's first page after each command.
    fn world_pool(&self, full: bool) -> Vec<u64> {
        let mut pool = self.pool.clone();
        let run = if full { 512 } else { 1 };
        pool.extend((0..run).map(|i| self.run_base + i * 0x1000));
        pool
    }

    /// The invariants now; panics with the program so far if one is broken.
    fn checked(&self) -> Leaves {
        self.checked_with(false)
    }

    fn checked_with(&self, full: bool) -> Leaves {
        let pool = self.world_pool(full);
        let granules = self.lease.tracked_granules();
        let world = World {
            granules: &granules,
            realms: &self.realms,
            recs: &self.recs,
            pool: &pool,
        };
        match check::check(&self.host.rig, &world) {
            Ok(leaves) => leaves,
            Err(broken) => self.fail(&broken),
        }
    }

    fn fail(&self, what: &str) -> ! {
        let tail = self.log.len().saturating_sub(40);
        panic!(
            "fuzz invariant broken: {what}\nlast commands:\n{}",
            self.log[tail..].join("\n")
        )
    }

    /// After a command (or macro): the invariants, and no stale translation.
    fn after(&mut self) {
        let leaves = self.checked();
        if let Err(stale) = check::tlbs_after(&self.host.rig.machine, &self.leaves, &leaves) {
            self.fail(&stale);
        }
        self.leaves = leaves;
    }

    fn go(&mut self) {
        let mut steps = 0;
        while !self.input.is_empty() && steps < 256 {
            steps += 1;
            self.step();
            self.after();
        }
        self.checked_with(true);
    }

    /// One RMI call; returns x0..x4.
    fn call(&mut self, fid: u32, args: &[u64]) -> [u64; 5] {
        let out = self
            .host
            .rig
            .monitor
            .handle_rmi(
                &self.host.rig.machine,
                &RmiRequest::new(u64::from(fid), args),
            )
            .regs;
        self.stats.calls += 1;
        if out[0] == 0 {
            *self.stats.successes.entry(fid).or_default() += 1;
            self.note_success(fid, args);
        }
        if self.log.len() > 4096 {
            self.log.drain(..2048);
        }
        let line = format!("{fid:#x} {args:x?} -> {out:x?}");
        if trace() {
            eprintln!("{line}");
        }
        self.log.push(line);
        out
    }

    /// Keeps the harness's live realms and RECs (what the checks walk, and the VMIDs the
    /// next boot releases) in step with a successful call, whichever step made it: the
    /// commands' own steps, and the step that calls any function id with pool arguments
    /// (a REALM_DESTROY made there once left a destroyed realm in the list: the
    /// `regression-harness-generic-realm-destroy` input).
    fn note_success(&mut self, fid: u32, args: &[u64]) {
        let arg = |i: usize| args.get(i).copied().unwrap_or(0);
        match fid {
            fid::REALM_CREATE => {
                // The parameters as the RMM read them (the page may hold a byte the input
                // changed after the harness built them).
                let Ok(page) = self.host.rig.machine.host_read(arg(1)) else {
                    self.fail("REALM_CREATE succeeded with a parameter page the host cannot read")
                };
                let p = RealmParams::read_from_prefix(&page[..])
                    .expect("a granule holds RealmParams")
                    .0;
                self.lease.note_vmid(p.vmid as u16);
                // Each field as wide as the RMM reads it (TF-RMM's widths: `s2sz` and
                // `rtt_num_start` 32 bits, `vmid` 16; the bytes above are ignored): an
                // `s2sz` of 0x1_0000_0028 made a 40-bit realm and once shifted the checks
                // past 64 bits (`regression-harness-s2sz-upper-bytes`).
                self.realms.push(RealmInfo {
                    rd: arg(0),
                    rtt_base: p.rtt_base,
                    num_roots: u64::from(p.rtt_num_start as u32),
                    start_level: p.rtt_level_start,
                    s2sz: u64::from(p.s2sz as u32),
                    vmid: p.vmid as u16,
                });
            }
            fid::REALM_DESTROY => self.realms.retain(|r| r.rd != arg(0)),
            fid::REC_CREATE => self.recs.push((arg(1), arg(0))),
            fid::REC_DESTROY => self.recs.retain(|r| r.0 != arg(0)),
            _ => {}
        }
    }

    fn granule(&self) -> u64 {
        let s = self.input.byte();
        if s < 0x40 {
            let known: Vec<u64> = self
                .realms
                .iter()
                .map(|r| r.rd)
                .chain(self.recs.iter().map(|r| r.0))
                .collect();
            if !known.is_empty() {
                return known[usize::from(s) % known.len()];
            }
        }
        let mut pool = self.pool.clone();
        pool.extend([
            self.run_base,
            self.run_base + 0x1000,
            self.src_page,
            super::rig::CARVEOUT.0,
            0x4000_0000,
            0x1000,
        ]);
        self.input.pick(&pool)
    }

    fn rd(&self) -> u64 {
        let s = self.input.byte();
        if s < 0xC0 && !self.realms.is_empty() {
            return self.realms[usize::from(s) % self.realms.len()].rd;
        }
        self.granule()
    }

    fn rec(&self) -> u64 {
        let s = self.input.byte();
        if s < 0xC0 && !self.recs.is_empty() {
            return self.recs[usize::from(s) % self.recs.len()].0;
        }
        self.granule()
    }

    fn ipa(&self) -> u64 {
        let s = self.input.byte();
        if s < 0x80 {
            // An aligned IPA near the interesting places.
            let base = IPAS[usize::from(s) % IPAS.len()];
            let page = u64::from(self.input.byte() % 4) * 0x1000;
            return (base & !0xFFF) + page;
        }
        self.input.pick(&IPAS)
    }

    fn level(&self) -> u64 {
        self.input.pick(&LEVELS)
    }

    fn step(&mut self) {
        let op = self.input.byte() % 28;
        match op {
            0 | 1 => {
                let g = self.granule();
                let fid = if op == 0 {
                    fid::GRANULE_DELEGATE
                } else {
                    fid::GRANULE_UNDELEGATE
                };
                self.call(fid, &[g]);
            }
            2 => self.realm_create(),
            3 => {
                let rd = self.rd();
                self.call(fid::REALM_ACTIVATE, &[rd]);
            }
            4 => {
                let rd = self.rd();
                self.call(fid::REALM_DESTROY, &[rd]);
            }
            5 => {
                let rd = self.rd();
                self.call(fid::REC_AUX_COUNT, &[rd]);
            }
            6 => self.rec_create(),
            7 => {
                let rec = self.rec();
                self.call(fid::REC_DESTROY, &[rec]);
            }
            8 => {
                let (rd, g, ipa, level) = (self.rd(), self.granule(), self.ipa(), self.level());
                self.call(fid::RTT_CREATE, &[rd, g, ipa, level]);
            }
            9 | 10 | 11 | 15 => {
                let (rd, ipa, level) = (self.rd(), self.ipa(), self.level());
                let fid = match op {
                    9 => fid::RTT_DESTROY,
                    10 => fid::RTT_FOLD,
                    11 => fid::RTT_READ_ENTRY,
                    _ => fid::RTT_UNMAP_UNPROTECTED,
                };
                self.call(fid, &[rd, ipa, level]);
            }
            12 => {
                let (rd, base) = (self.rd(), self.ipa());
                let top = self.top(base);
                self.call(fid::RTT_INIT_RIPAS, &[rd, base, top]);
            }
            13 => {
                let (rd, rec, base) = (self.rd(), self.rec(), self.ipa());
                let top = self.top(base);
                self.call(fid::RTT_SET_RIPAS, &[rd, rec, base, top]);
            }
            14 => {
                let (rd, ipa, level) = (self.rd(), self.ipa(), self.level());
                let desc = self.ns_desc(level);
                self.call(fid::RTT_MAP_UNPROTECTED, &[rd, ipa, level, desc]);
            }
            16 => {
                let (rd, g, ipa) = (self.rd(), self.granule(), self.ipa());
                let src = if self.input.byte() < 0xE0 {
                    self.src_page
                } else {
                    self.granule()
                };
                let flags = self.input.pick(&FLAGS);
                self.call(fid::DATA_CREATE, &[rd, g, ipa, src, flags]);
            }
            17 => {
                let (rd, g, ipa) = (self.rd(), self.granule(), self.ipa());
                self.call(fid::DATA_CREATE_UNKNOWN, &[rd, g, ipa]);
            }
            18 => {
                let (rd, ipa) = (self.rd(), self.ipa());
                self.call(fid::DATA_DESTROY, &[rd, ipa]);
            }
            19..=21 => self.rec_enter(),
            22 => {
                let (rec, target) = (self.rec(), self.rec());
                let status = self.input.pick(&[0, 1, 2, 3, 5, 6]);
                self.call(fid::PSCI_COMPLETE, &[rec, target, status]);
            }
            23 => {
                let fid = if self.input.byte() & 1 == 0 {
                    fid::VERSION
                } else {
                    fid::FEATURES
                };
                let arg = self.input.pick(&[0x10000, 0x10001, 0x20000, 0, 1]);
                self.call(fid, &[arg]);
            }
            24 => {
                // Any function id in (or near) the RMI range, arbitrary arguments.
                let fid = 0xC400_0140 + u32::from(self.input.byte() % 0x60);
                let args: Vec<u64> = (0..4).map(|_| self.granule()).collect();
                self.call(fid, &args);
            }
            25 => {
                let first = self.input.below(self.pool.len());
                let n = usize::from(self.input.byte() % 32) + 1;
                for g in self
                    .pool
                    .iter()
                    .cycle()
                    .skip(first)
                    .take(n)
                    .copied()
                    .collect::<Vec<_>>()
                {
                    self.call(fid::GRANULE_DELEGATE, &[g]);
                }
            }
            26 => self.fill(),
            _ => {
                // Only the RSI target's seeds lean on this: one more REC_ENTER.
                self.rec_enter();
            }
        }
    }

    fn top(&self, base: u64) -> u64 {
        match self.input.byte() % 8 {
            0 => self.input.pick(&IPAS),
            1 => base.wrapping_add(0x800),
            n => base.wrapping_add(u64::from(n) * 0x1000 * u64::from(self.input.byte() % 4 + 1)),
        }
    }

    fn ns_desc(&self, level: u64) -> u64 {
        let s = self.input.byte();
        let shift = if (1..=3).contains(&level) {
            12 + 9 * (3 - level)
        } else {
            12
        };
        let pa = match s % 8 {
            0 => 0x8000_0000,
            1 => self.pool[usize::from(self.input.byte()) % self.pool.len()],
            2 => self.input.u64() & 0x0000_FFFF_FFFF_F000,
            _ => self.ns_target + u64::from(s % 4) * 0x1000,
        };
        let pa = if s & 0x80 != 0 {
            pa
        } else {
            pa & !((1u64 << shift) - 1)
        };
        pa | self.input.pick(&NS_ATTRS)
    }

    fn realm_create(&mut self) {
        let rd = self.granule();
        let mut p = RealmParams::zeroed();
        p.s2sz = self.input.pick(&S2SZ);
        p.rtt_level_start = self.input.pick(&START_LEVEL) as i64;
        p.rtt_num_start = self.input.pick(&NUM_ROOTS);
        p.vmid = self.input.pick(&VMIDS);
        p.hash_algo = self.input.pick(&HASH);
        p.rtt_base = self.granule();
        let extra = self.input.byte();
        p.num_bps = u64::from(extra & 7);
        p.num_wps = u64::from((extra >> 3) & 7);
        if extra & 0x40 != 0 {
            p.flags = self.input.pick(&[1, 2, 4, 8]);
            p.sve_vl = u64::from(self.input.byte() % 20);
            p.pmu_num_ctrs = u64::from(self.input.byte() % 40);
        }
        if extra & 0x80 != 0 {
            p.rpv = [self.input.byte(); 64];
        }
        let mut page = [0u8; 4096];
        let bytes = p.as_bytes();
        page[..bytes.len()].copy_from_slice(bytes);
        if self.input.byte() == 0xFF {
            // A reserved byte the input chooses.
            let at = usize::from(self.input.u16()) % 4096;
            page[at] = self.input.byte();
        }
        self.host
            .rig
            .machine
            .host_write(self.params_page, &page)
            .expect("NS page");
        let params = if self.input.byte() < 0xF0 {
            self.params_page
        } else {
            self.granule()
        };
        self.call(fid::REALM_CREATE, &[rd, params]);
    }

    fn rec_create(&mut self) {
        let (rd, rec) = (self.rd(), self.granule());
        let mut p = RecParams::zeroed();
        let flags = self.input.byte();
        p.flags = u64::from(flags & 1);
        p.mpidr = match RecMpidr::from_index(u64::from(self.input.byte() % 5)) {
            Some(m) if flags & 2 == 0 => m.bits(),
            _ => self.input.u64(),
        };
        p.pc = self.input.pick(&IPAS);
        p.num_aux = if flags & 4 == 0 {
            16
        } else {
            self.input.pick(&[0, 15, 17, 256])
        };
        let first = self.input.below(self.pool.len());
        for (i, slot) in p.aux.iter_mut().enumerate() {
            *slot = self.pool[(first + i) % self.pool.len()];
        }
        if flags & 8 != 0 {
            let i = self.input.below(p.aux.len());
            p.aux[i] = self.granule();
        }
        for g in p.gprs.iter_mut().take(8) {
            *g = self.input.u64();
        }
        let mut page = [0u8; 4096];
        let bytes = p.as_bytes();
        page[..bytes.len()].copy_from_slice(bytes);
        self.host
            .rig
            .machine
            .host_write(self.params_page, &page)
            .expect("NS page");
        self.call(fid::REC_CREATE, &[rd, rec, self.params_page]);
    }

    fn rec_enter(&mut self) {
        let rec = self.rec();
        let mut page = [0u8; 4096];
        let s = self.input.byte();
        // Entry flags: emulated MMIO, inject SEA, trap WFI, trap WFE; ripas response.
        page[..8].copy_from_slice(&u64::from(s & 0x1F).to_le_bytes());
        if s & 0x20 != 0 {
            for i in 0..4 {
                let v = self.input.pick(&[0, 1, 0x1000, u64::MAX]);
                page[0x200 + i * 8..0x208 + i * 8].copy_from_slice(&v.to_le_bytes());
            }
        }
        if s & 0x40 != 0 {
            let hcr = self.input.pick(&[1, 0, 1 << 13, 0xFFFF_FFFF]);
            page[0x300..0x308].copy_from_slice(&hcr.to_le_bytes());
            for i in 0..2 {
                let lr = self.input.u64();
                page[0x308 + i * 8..0x310 + i * 8].copy_from_slice(&lr.to_le_bytes());
            }
        }
        let run = if s & 0x80 == 0 {
            self.run_page
        } else {
            self.granule()
        };
        self.host
            .rig
            .machine
            .host_write(self.run_page, &page)
            .expect("NS page");
        let out = self.call(fid::REC_ENTER, &[rec, run]);
        if out[0] == 0 {
            let exit = self.host.rig.machine.host_read(self.run_page).expect("NS");
            let reason = u64::from_le_bytes(exit[0x800..0x808].try_into().expect("8"));
            *self.stats.exits.entry(reason).or_default() += 1;
        }
        let m = &self.host.rig.machine;
        // The host handles an interrupt the realm's CONTINUE left pending.
        m.set_host_irq_pending(false);
        m.take_realm_entries();
        m.take_vgic_loads();
        m.take_timer_masks();
    }

    /// Macro: delegate the 512-granule run and DATA_CREATE_UNKNOWN it at a 2 MiB range of a
    /// realm, or map 512 unprotected pages there.
    fn fill(&mut self) {
        let rd = self.rd();
        let s = self.input.byte();
        let base = if s & 1 == 0 {
            0x20_0000
        } else {
            UNPROTECTED + 0x20_0000
        };
        let base = if s & 2 == 0 {
            base
        } else {
            base & !0x1F_FFFF ^ 0x40_0000
        };
        let skip = if s & 4 != 0 {
            self.input.below(512)
        } else {
            512
        };
        for i in 0..512u64 {
            if i as usize == skip {
                continue;
            }
            let ipa = base + i * 0x1000;
            if base >= UNPROTECTED {
                let desc = (self.ns_target + i * 0x1000) | 0x6 << 2 | 3 << 6;
                self.call(fid::RTT_MAP_UNPROTECTED, &[rd, ipa, 3, desc]);
            } else {
                let g = self.run_base + i * 0x1000;
                self.call(fid::GRANULE_DELEGATE, &[g]);
                self.call(fid::DATA_CREATE_UNKNOWN, &[rd, g, ipa]);
            }
        }
    }
}
