// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`CsmRealm`]: the test realm running its remote-controlled CSM scenario
//! (`realm_protocol::csm`), built the way a CSM host builds one: the image loaded while the
//! realm is NEW, its RAM ranges given RIPAS RAM, an APT granule bound with `RMI_APT_CREATE`,
//! then activated. Its one REC waits in a `CsmNext` host call between commands;
//! [`CsmRealm::call`] hands it the next command and services every exit until the realm asks
//! again:
//!
//! - `RMI_EXIT_CSM_POPULATE` (8): every unassigned RIPAS RAM page of the range gets a DATA
//!   granule (DATA_CREATE_UNKNOWN), missing level-3 tables first;
//! - `RMI_EXIT_CSM_PREPARE` (7): every assigned page of the window is destroyed (DATA_DESTROY)
//!   and missing level-3 tables are created, unless the scenario asked the host to ignore
//!   the exit ([`Host::unserved_prepares`]), to prove the RMM rechecks on re-entry;
//! - RIPAS changes, protected faults on RIPAS RAM (populated), IRQ exits (a host timer
//!   [`Host::timer`] may be firing), prints and the realm's unexpected exceptions.
//!
//! [`with_realms`] builds the realms a scenario needs in static slots (the secondary CPU that
//! runs one of them at the same time as the primary needs them to outlive the scenario's
//! stack frame) and tears them all down afterwards, keeping the first failure's reason.
//!
//! Memory: each realm has [`CsmSpec::slots`] 64 MiB slots of `CSM_POOL` (one unless a
//! scenario asks for more), the realms' slots one after another from the pool's start (at
//! most [`MAX_REALMS`] slots in all). A realm's first 4 MiB hold its image and RECs, the next
//! 4 MiB its NS pages and its last 4 MiB NS pages too; in between (52 MiB for one slot, 116
//! MiB for two) go its APT, the tables and the DATA granules exits and faults ask for.

use super::pool::{Hex, Pool, check_ok};
use super::realm_service::{EXIT_HOST_CALL, change_ripas};
use super::realm_vm::{TestVm, VmSpec};
use crate::platform::{CSM_POOL, CSM_POOL_SIZE};
use crate::realm::{PAGE, align_down};
use crate::rmi::{self, entry_state, ripas, status};
use crate::runner::Words;
use crate::runner::{Failure, Outcome, and_cleanup};
use crate::timer_irq::HostTimerIrq;
use crate::{ensure, fail, println};
use attest::measurement::extend_ripas;
use attest::sha::SOFT as SOFT_ENGINE;
use core::sync::atomic::{AtomicU64, Ordering};
use realm_protocol::csm::{IPA_LIMIT, Op, READY, SHARED_OFFSET};
use realm_protocol::{HostCallCode, Scenario as RealmScenario};
use rmm_abi::csm::{RMI_EXIT_CSM_POPULATE, RMI_EXIT_CSM_PREPARE};
use rmm_abi::measurement::Measurement;
use rmm_abi::rmi::states::HashAlgorithm;

/// Most CSM realms alive at once, and the most 64 MiB slots they share.
pub const MAX_REALMS: usize = 4;
/// NS DRAM per slot; a realm has [`CsmSpec::slots`] of them.
const SLOT: u64 = 64 << 20;
const _: () = assert!(MAX_REALMS as u64 * SLOT <= CSM_POOL_SIZE);
/// VMID of realm `i`: this base + `i`.
const VMID_CSM: u64 = 0x20;

/// Most REC entries one command may take before it is declared hung.
const MAX_ENTRIES: u32 = 20_000;
/// Pages tracked for DATA granules this host gave (everything below [`IPA_LIMIT`]).
const BITMAP_WORDS: usize = (IPA_LIMIT / PAGE / 64) as usize;
/// Most tables created for exits and RAM ranges.
const MAX_TABLES: usize = 48;
/// How often the host timer is armed again after an IRQ exit it caused.
const TIMER_REARMS: u32 = 4;

const EXIT_SYNC: u64 = 0;
const EXIT_IRQ: u64 = 1;
const EXIT_FIQ: u64 = 2;
const EXIT_RIPAS_CHANGE: u64 = 4;
const EC_DATA_ABORT_LOWER: u64 = 0x24;
/// Output-address bits of a stage-2 descriptor.
const DESC_PA: u64 = 0x0000_FFFF_FFFF_F000;

/// RSI status codes, written out from the RMM specification.
pub mod rsi_status {
    /// RSI_SUCCESS.
    pub const SUCCESS: u64 = 0;
    /// RSI_ERROR_INPUT.
    pub const INPUT: u64 = 1;
    /// RSI_ERROR_STATE.
    pub const STATE: u64 = 2;
}

/// What a realm is built with.
#[derive(Debug, Clone, Copy)]
pub struct CsmSpec {
    /// Its name in failure reasons.
    pub name: &'static str,
    /// Protected ranges given RIPAS RAM (no DATA: populated on exits and faults).
    pub ram: &'static [(u64, u64)],
    /// Bind an APT (a CSM realm) or not (an ordinary realm).
    pub apt: bool,
    /// 64 MiB slots of NS DRAM it has (one; two for a provider of more than 48 MiB).
    pub slots: u64,
}

impl CsmSpec {
    /// A CSM realm named `name` with the RAM ranges `ram`.
    pub const fn new(name: &'static str, ram: &'static [(u64, u64)]) -> Self {
        Self {
            name,
            ram,
            apt: true,
            slots: 1,
        }
    }

    /// This spec with `slots` slots of NS DRAM.
    pub const fn with_slots(self, slots: u64) -> Self {
        Self { slots, ..self }
    }
}

/// How the host treats one command's exits.
#[derive(Clone, Copy, Default)]
pub struct Host<'a> {
    /// The first this many `RMI_EXIT_CSM_PREPARE` exits are not served: the REC is entered
    /// again as it is.
    pub unserved_prepares: u32,
    /// A host timer armed this many counter ticks before every entry (and cancelled after
    /// it), until it has caused a few IRQ exits.
    pub timer: Option<(&'a HostTimerIrq, u64)>,
    /// A protected fault on RIPAS DESTROYED memory is expected: CCA makes it a data abort
    /// exit to the host, which can give nothing back there, so the command ends with
    /// [`Exits::destroyed_abort`] and the REC is never entered again.
    pub destroyed_abort_ends: bool,
}

/// The exits one command took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Exits {
    /// `RMI_EXIT_CSM_PREPARE`.
    pub prepare: u32,
    /// `RMI_EXIT_CSM_POPULATE`.
    pub populate: u32,
    /// IRQ and FIQ.
    pub irq: u32,
    /// Protected faults populated.
    pub faults: u32,
    /// RIPAS changes.
    pub ripas: u32,
    /// RTT_READ_ENTRY (x0..x4) of the first page of the window at the first prepare exit
    /// the host left unserved.
    pub unserved_entry: Option<[u64; 5]>,
    /// The IPA of a data abort exit on RIPAS DESTROYED memory that ended the command.
    pub destroyed_abort: Option<u64>,
    /// Exits of any kind, the final `CsmNext` host call included.
    pub total: u32,
}

/// Tables created by this host: (IPA, level, RTT granule).
struct Tables {
    list: [(u64, i64, u64); MAX_TABLES],
    len: usize,
}

/// A running CSM test realm.
pub struct CsmRealm {
    /// Its name in failure reasons.
    pub name: &'static str,
    /// The realm and its REC.
    pub vm: TestVm,
    /// Granules for its APT, tables and DATA beyond the image.
    pool: spin::Mutex<Pool>,
    /// The bound APT granule (0: none).
    apt: AtomicU64,
    /// Its RealmId (0 without an APT).
    pub id: u64,
    /// Its RIM as this host computes it (the image, then the RAM ranges).
    pub rim: Measurement,
    /// Its slot: memory, VMID, and the pages and tables in [`PAGES`] and [`TABLES`].
    index: usize,
    /// The REC stopped at an access to DESTROYED memory and is never entered again.
    stuck: core::sync::atomic::AtomicBool,
}

/// Per realm slot: the pages holding a DATA granule this host created, one bit each (kept
/// out of [`CsmRealm`], which is moved on the 32 KiB stack while it is built).
static PAGES: [spin::Mutex<[u64; BITMAP_WORDS]>; MAX_REALMS] =
    [const { spin::Mutex::new([0; BITMAP_WORDS]) }; MAX_REALMS];
/// Per realm slot: the tables this host created.
static TABLES: [spin::Mutex<Tables>; MAX_REALMS] = [const {
    spin::Mutex::new(Tables {
        list: [(0, 0, 0); MAX_TABLES],
        len: 0,
    })
}; MAX_REALMS];

/// Fails unless `got` is `want`.
pub fn expect(what: core::fmt::Arguments<'_>, got: u64, want: u64) -> Outcome {
    ensure!(got == want, "{what}: got {got:#x}, expected {want:#x}");
    Ok(())
}

impl CsmRealm {
    /// Builds realm number `index` (its VMID) in the memory from slot `slot` on as `spec`
    /// says, runs it to its first `CsmNext` and learns its RealmId with `RSI_CSM_QUERY(0)`.
    fn build(
        spec: &CsmSpec,
        index: usize,
        slot: u64,
        image: &'static [u8],
    ) -> Result<Self, Failure> {
        ensure!(index < MAX_REALMS, "more than {MAX_REALMS} CSM realms");
        ensure!(
            spec.slots >= 1 && slot + spec.slots <= MAX_REALMS as u64,
            "{}: slots {slot}..{} beyond the {MAX_REALMS} there are",
            spec.name,
            slot + spec.slots
        );
        let base = CSM_POOL + slot * SLOT;
        let end = base + spec.slots * SLOT;
        let shape = super::realms::shape(40, 1, 2, 0, 0);
        let vm = TestVm::from_image(
            &VmSpec {
                scenario: RealmScenario::Csm,
                x1: shape.par_end() + SHARED_OFFSET,
                x2: 0,
                x3: 0,
                hash: HashAlgorithm::Sha256,
                activate: false,
                recs: 1,
                all_runnable: false,
                ram: None,
                shared: true,
            },
            Pool::new(base, base + (4 << 20), base + (8 << 20)),
            VMID_CSM + index as u64,
            image,
        )?;
        let mut this = Self {
            name: spec.name,
            vm,
            pool: spin::Mutex::new(Pool::new(base + (8 << 20), end - (4 << 20), end)),
            apt: AtomicU64::new(0),
            id: 0,
            rim: [0; 64],
            index,
            stuck: core::sync::atomic::AtomicBool::new(false),
        };
        *PAGES[index].lock() = [0; BITMAP_WORDS];
        TABLES[index].lock().len = 0;
        match this.start(spec) {
            Ok(id) => {
                this.id = id;
                this.rim = this.vm.rim;
                for &(base, top) in spec.ram.iter().filter(|_| super::realm_vm::host_rims()) {
                    for page in (base..top).step_by(PAGE as usize) {
                        this.rim =
                            extend_ripas(&SOFT_ENGINE, this.vm.hash, &this.rim, page, page + PAGE);
                    }
                }
                Ok(this)
            }
            // The failure's reason is kept; the result is always that failure.
            Err(failure) => and_cleanup(Err(failure), || this.tear_down()).map(|()| this),
        }
    }

    /// The NEW realm's RAM, APT and activation, then the first run; returns the RealmId.
    fn start(&self, spec: &CsmSpec) -> Result<u64, Failure> {
        let rd = self.rd();
        for &(base, top) in spec.ram {
            let mut at = base;
            while at < top {
                self.ensure_table(at)?;
                at = align_down(at, 2) + (2 << 20);
            }
            let mut at = base;
            while at < top {
                let out = rmi::rtt_init_ripas(rd, at, top).0;
                ensure!(
                    out[0] == status::SUCCESS && out[1] > at && out[1] <= top,
                    "{}: RTT_INIT_RIPAS({at:#x}, {top:#x}) gave {}",
                    self.name,
                    Hex(out)
                );
                at = out[1];
            }
        }
        if spec.apt {
            let apt = self.pool.lock().delegate()?;
            check_ok(
                rmi::apt_create(rd, apt),
                format_args!("{}: RMI_APT_CREATE(rd, {apt:#x})", self.name),
            )?;
            self.apt.store(apt, Ordering::SeqCst);
        }
        check_ok(
            rmi::realm_activate(rd),
            format_args!("{}: REALM_ACTIVATE", self.name),
        )?;
        let (first, _) = self.drive([0; 31], &Host::default())?;
        expect(
            format_args!("{}: first CsmNext", self.name),
            first[0],
            READY,
        )?;
        if !spec.apt {
            return Ok(0);
        }
        let q = self.call(Op::Query, &[0])?;
        expect(
            format_args!("{}: RSI_CSM_QUERY(0) status", self.name),
            q[0],
            rsi_status::SUCCESS,
        )?;
        ensure!(q[1] != 0, "{}: RSI_CSM_QUERY(0) gave RealmId 0", self.name);
        Ok(q[1])
    }

    /// The RD.
    pub fn rd(&self) -> u64 {
        self.vm.realm.rd
    }

    /// The IPA of its unprotected page, and the NS page behind it.
    pub fn shared(&self) -> (u64, u64) {
        (self.vm.shared_ipa, self.vm.shared[0])
    }

    /// The bound APT granule (0: none).
    pub fn apt(&self) -> u64 {
        self.apt.load(Ordering::SeqCst)
    }

    /// RMI_APT_DESTROY of the bound APT (which then counts as gone if it succeeded).
    pub fn apt_destroy(&self) -> rmi::RmiRegs {
        let out = rmi::apt_destroy(self.rd(), self.apt());
        if out.0[0] == status::SUCCESS {
            self.apt.store(0, Ordering::SeqCst);
        }
        out
    }

    /// An NS page of this realm's pool (for the scenarios' own unprotected mappings).
    pub fn ns_page(&self) -> Result<u64, Failure> {
        self.pool.lock().ns_page()
    }

    /// A granule of this realm's pool, delegated (for the scenarios' own RMI calls).
    pub fn delegate(&self) -> Result<u64, Failure> {
        self.pool.lock().delegate()
    }

    /// Runs `op` with `args`; returns its results.
    pub fn call(&self, op: Op, args: &[u64]) -> Result<[u64; 8], Failure> {
        Ok(self.call_with(op, args, &Host::default())?.0)
    }

    /// Runs `op` with `args`, the host acting as `host` says; returns the results and the
    /// exits taken.
    pub fn call_with(
        &self,
        op: Op,
        args: &[u64],
        host: &Host<'_>,
    ) -> Result<([u64; 8], Exits), Failure> {
        ensure!(
            !self.stuck.load(Ordering::SeqCst),
            "{}: the REC stopped at an access to DESTROYED memory",
            self.name
        );
        let mut answer = [0u64; 31];
        answer[0] = op as u64;
        for (slot, arg) in answer[1..].iter_mut().zip(args) {
            *slot = *arg;
        }
        self.drive(answer, host)
            .map_err(|f| f.context(format_args!("{}: {op:?}{}", self.name, Words(args))))
    }

    /// Enters the REC with `answer` as the host call's results and services its exits until
    /// the next `CsmNext`.
    fn drive(&self, first: [u64; 31], host: &Host<'_>) -> Result<([u64; 8], Exits), Failure> {
        let vm = &self.vm;
        let par_end = vm.realm.shape.par_end();
        let mut answer = first;
        let mut flags = 0;
        let mut exits = Exits::default();
        let mut unserved = host.unserved_prepares;
        let mut rearms = TIMER_REARMS;
        for _ in 0..MAX_ENTRIES {
            if let Some((timer, ticks)) = host.timer
                && rearms > 0
            {
                timer.fire_after(ticks);
            }
            let x0 = vm.enter(0, flags, &answer);
            if let Some((timer, _)) = host.timer {
                timer.cancel();
            }
            ensure!(x0 == status::SUCCESS, "REC_ENTER gave {x0:#x}");
            exits.total += 1;
            flags = 0;
            answer = [0; 31];
            let exit = |offset| vm.exit_word(0, offset);
            let gpr = |i: u64| exit(0x200 + i * 8);
            let (esr, far, hpfar) = (exit(0x100), exit(0x108), exit(0x110));
            let (base, top) = (exit(0x500), exit(0x508));
            match exit(0) {
                EXIT_HOST_CALL => match HostCallCode::from_u16(exit(0x600) as u16) {
                    Some(HostCallCode::CsmNext) => {
                        return Ok((core::array::from_fn(|i| gpr(i as u64)), exits));
                    }
                    Some(HostCallCode::Print) => {
                        let len = gpr(0).min(240) as usize;
                        let mut bytes = [0u8; 248];
                        for i in 0..len.div_ceil(8) {
                            bytes[i * 8..i * 8 + 8]
                                .copy_from_slice(&gpr(1 + i as u64).to_le_bytes());
                        }
                        let text = core::str::from_utf8(&bytes[..len]).unwrap_or("<not UTF-8>");
                        println!("realm {}: {text}", self.name);
                    }
                    Some(HostCallCode::Exception) => fail!(
                        "the realm took an unexpected exception: ESR_EL1={:#x} ELR_EL1={:#x} \
                         FAR_EL1={:#x} vector {}",
                        gpr(0),
                        gpr(1),
                        gpr(2),
                        gpr(3)
                    ),
                    Some(HostCallCode::Done) => fail!("the realm finished ({:#x})", gpr(0)),
                    other => fail!("unexpected host call {other:?} ({:#x})", exit(0x600)),
                },
                EXIT_SYNC => {
                    ensure!(
                        (esr >> 26) & 0x3F == EC_DATA_ABORT_LOWER,
                        "unexpected SYNC exit: ESR {esr:#x} FAR {far:#x} HPFAR {hpfar:#x}"
                    );
                    let ipa = ((hpfar >> 4) << 12) | (far & 0xFFF);
                    ensure!(
                        ipa < par_end,
                        "data abort in the unprotected half at {ipa:#x} (ESR {esr:#x})"
                    );
                    let page = ipa & !(PAGE - 1);
                    let entry = rmi::rtt_read_entry(self.rd(), page, 3).0;
                    if host.destroyed_abort_ends
                        && entry[0] == status::SUCCESS
                        && entry[2] == entry_state::UNASSIGNED
                        && entry[4] == ripas::DESTROYED
                    {
                        exits.destroyed_abort = Some(ipa);
                        self.stuck.store(true, Ordering::SeqCst);
                        return Ok(([u64::MAX; 8], exits));
                    }
                    exits.faults += 1;
                    self.populate_fault(page, esr)?;
                }
                EXIT_RIPAS_CHANGE => {
                    exits.ripas += 1;
                    // Level-3 tables first, so the change applies page by page.
                    let mut at = base;
                    while at < top {
                        self.ensure_table(at)?;
                        at = align_down(at, 2) + (2 << 20);
                    }
                    flags = change_ripas(vm, 0, base, top)?;
                }
                EXIT_IRQ | EXIT_FIQ => {
                    exits.irq += 1;
                    rearms = rearms.saturating_sub(1);
                }
                RMI_EXIT_CSM_PREPARE => {
                    exits.prepare += 1;
                    ensure!(
                        base < top && base % PAGE == 0 && top % PAGE == 0,
                        "RMI_EXIT_CSM_PREPARE with the range [{base:#x}, {top:#x})"
                    );
                    if unserved > 0 {
                        unserved -= 1;
                        if exits.unserved_entry.is_none() {
                            exits.unserved_entry = Some(rmi::rtt_read_entry(self.rd(), base, 3).0);
                        }
                    } else {
                        self.prepare(base, top)?;
                    }
                }
                RMI_EXIT_CSM_POPULATE => {
                    exits.populate += 1;
                    ensure!(
                        base < top && base % PAGE == 0 && top % PAGE == 0,
                        "RMI_EXIT_CSM_POPULATE with the range [{base:#x}, {top:#x})"
                    );
                    self.populate(base, top)?;
                }
                other => fail!("unexpected exit reason {other} (ESR {esr:#x})"),
            }
        }
        fail!("no CsmNext within {MAX_ENTRIES} entries")
    }

    /// Walks to `ipa`'s level-3 entry, creating the tables on the way; returns the entry
    /// (RTT_READ_ENTRY x0..x4). The benchmarks call it ahead of an ACCEPT for the window's
    /// tables, so that the call needs no exit 7.
    pub(super) fn ensure_table(&self, ipa: u64) -> Result<[u64; 5], Failure> {
        let rd = self.rd();
        loop {
            let entry = rmi::rtt_read_entry(rd, ipa, 3).0;
            ensure!(
                entry[0] == status::SUCCESS,
                "RTT_READ_ENTRY({ipa:#x}, 3) gave {}",
                Hex(entry)
            );
            let walk = entry[1] as i64;
            if walk == 3 {
                return Ok(entry);
            }
            let level = walk + 1;
            let at = align_down(ipa, walk);
            let rtt = self.pool.lock().delegate()?;
            let out = rmi::rtt_create(rd, rtt, at, level).0;
            ensure!(
                out[0] == status::SUCCESS,
                "RTT_CREATE({rtt:#x}, {at:#x}, level {level}) gave {}",
                Hex(out)
            );
            let mut tables = TABLES[self.index].lock();
            ensure!(tables.len < MAX_TABLES, "more than {MAX_TABLES} tables");
            let len = tables.len;
            tables.list[len] = (at, level, rtt);
            tables.len += 1;
        }
    }

    fn page_bit(ipa: u64) -> Result<(usize, u64), Failure> {
        ensure!(ipa < IPA_LIMIT, "page {ipa:#x} beyond the CSM layout");
        let n = ipa / PAGE;
        Ok(((n / 64) as usize, 1 << (n % 64)))
    }

    /// Whether this host gave `ipa` a DATA granule that is still there.
    pub fn is_populated(&self, ipa: u64) -> bool {
        Self::page_bit(ipa).is_ok_and(|(w, b)| PAGES[self.index].lock()[w] & b != 0)
    }

    /// DATA_CREATE_UNKNOWN at `ipa` (tables first).
    fn give_page(&self, ipa: u64) -> Outcome {
        let (w, b) = Self::page_bit(ipa)?;
        let data = self.pool.lock().delegate()?;
        check_ok(
            rmi::data_create_unknown(self.rd(), data, ipa),
            format_args!("DATA_CREATE_UNKNOWN({data:#x}, {ipa:#x})"),
        )?;
        PAGES[self.index].lock()[w] |= b;
        Ok(())
    }

    /// RMI_DATA_DESTROY at `ipa`, as the host: returns the RMM's answer and forgets the page
    /// if it was destroyed.
    pub fn data_destroy(&self, ipa: u64) -> rmi::RmiRegs {
        let out = rmi::data_destroy(self.rd(), ipa);
        if out.0[0] == status::SUCCESS
            && let Ok((w, b)) = Self::page_bit(ipa)
        {
            PAGES[self.index].lock()[w] &= !b;
        }
        out
    }

    /// Serves `RMI_EXIT_CSM_POPULATE`: a DATA granule for every unassigned RIPAS RAM page
    /// (the benchmarks also call it ahead of a CREATE, so that the call needs no exit).
    pub(super) fn populate(&self, base: u64, top: u64) -> Outcome {
        for ipa in (base..top).step_by(PAGE as usize) {
            let entry = self.ensure_table(ipa)?;
            if entry[2] == entry_state::UNASSIGNED && entry[4] == ripas::RAM {
                self.give_page(ipa)?;
            }
        }
        Ok(())
    }

    /// Serves `RMI_EXIT_CSM_PREPARE`: level-3 tables everywhere, every assigned page
    /// destroyed.
    fn prepare(&self, base: u64, top: u64) -> Outcome {
        for ipa in (base..top).step_by(PAGE as usize) {
            let entry = self.ensure_table(ipa)?;
            if entry[2] == entry_state::ASSIGNED {
                let out = self.data_destroy(ipa);
                ensure!(
                    out.0[0] == status::SUCCESS,
                    "DATA_DESTROY({ipa:#x}) for the prepare exit gave {}",
                    Hex(out.0)
                );
            }
        }
        Ok(())
    }

    /// A protected fault: the page must be RIPAS RAM without DATA.
    fn populate_fault(&self, page: u64, esr: u64) -> Outcome {
        let entry = self.ensure_table(page)?;
        ensure!(
            entry[2] == entry_state::UNASSIGNED && entry[4] == ripas::RAM,
            "protected fault at {page:#x} (ESR {esr:#x}), RTT entry {}",
            Hex(entry)
        );
        self.give_page(page)
    }

    /// The PA of the DATA granule at `ipa` (RTT_READ_ENTRY), if assigned.
    pub fn data_pa(&self, ipa: u64) -> Result<u64, Failure> {
        let entry = rmi::rtt_read_entry(self.rd(), ipa, 3).0;
        ensure!(
            entry[0] == status::SUCCESS && entry[2] == entry_state::ASSIGNED,
            "{}: RTT_READ_ENTRY({ipa:#x}) gave {}, expected an assigned page",
            self.name,
            Hex(entry)
        );
        Ok(entry[3] & DESC_PA)
    }

    /// How many granules the realm holds delegated: its image, RECs and RD, and the APT,
    /// tables and DATA granules given since.
    pub fn granules(&self) -> u64 {
        self.vm.granules() + self.pool.lock().delegated()
    }

    /// Takes everything apart: the APT (if still bound), the DATA granules this host gave,
    /// the tables it created, then the realm itself, and undelegates every granule.
    pub fn tear_down(&self) -> Outcome {
        let rd = self.rd();
        if self.apt() != 0 {
            let out = self.apt_destroy();
            ensure!(
                out.0[0] == status::SUCCESS,
                "{}: RMI_APT_DESTROY at teardown gave {}",
                self.name,
                Hex(out.0)
            );
        }
        for w in 0..BITMAP_WORDS {
            let word = PAGES[self.index].lock()[w];
            for bit in (0..64).filter(|b| word & (1 << b) != 0) {
                let ipa = (w as u64 * 64 + bit) * PAGE;
                let out = self.data_destroy(ipa);
                ensure!(
                    out.0[0] == status::SUCCESS,
                    "{}: DATA_DESTROY({ipa:#x}) at teardown gave {}",
                    self.name,
                    Hex(out.0)
                );
            }
        }
        let tables = TABLES[self.index].lock();
        for &(at, level, _) in tables.list[..tables.len].iter().rev() {
            let out = rmi::rtt_destroy(rd, at, level).0;
            ensure!(
                out[0] == status::SUCCESS,
                "{}: RTT_DESTROY({at:#x}, level {level}) at teardown gave {}",
                self.name,
                Hex(out)
            );
        }
        drop(tables);
        self.vm.tear_down()?;
        self.pool.lock().undelegate_all()
    }
}

/// The realms of one scenario, in their static slots.
pub struct Realms<'a> {
    slots: [Option<spin::MutexGuard<'a, Option<CsmRealm>>>; MAX_REALMS],
    abandoned: core::cell::Cell<bool>,
}

impl Realms<'_> {
    /// Another CPU may still be running one of the realms: never tear them down, and keep
    /// their slots locked (later scenarios then fail to get them, visibly).
    pub fn abandon(&self) {
        self.abandoned.set(true);
    }

    /// Realm `i` (as listed in the scenario's specs).
    pub fn get(&self, i: usize) -> &CsmRealm {
        match self
            .slots
            .get(i)
            .and_then(|s| s.as_ref())
            .and_then(|g| g.as_ref())
        {
            Some(realm) => realm,
            None => panic!("CSM realm {i} was not built"),
        }
    }
}

static SLOTS: [spin::Mutex<Option<CsmRealm>>; MAX_REALMS] =
    [const { spin::Mutex::new(None) }; MAX_REALMS];

/// Builds the realms `specs` describes, runs `body` with them, and tears them all down
/// (last first), keeping the first failure's reason.
pub fn with_realms(specs: &[CsmSpec], body: &dyn Fn(&Realms<'_>) -> Outcome) -> Outcome {
    with_realms_image(specs, crate::realm_image::IMAGE, body)
}

/// [`with_realms`] with every realm running `image` (the test realm or its `msgbench` build).
pub fn with_realms_image(
    specs: &[CsmSpec],
    image: &'static [u8],
    body: &dyn Fn(&Realms<'_>) -> Outcome,
) -> Outcome {
    ensure!(specs.len() <= MAX_REALMS, "more than {MAX_REALMS} realms");
    let mut realms = Realms {
        slots: [const { None }; MAX_REALMS],
        abandoned: core::cell::Cell::new(false),
    };
    let mut outcome = Ok(());
    // The first 64 MiB memory slot of the next realm.
    let mut first = 0;
    for (i, spec) in specs.iter().enumerate() {
        let Some(mut slot) = SLOTS[i].try_lock() else {
            outcome = Err(Failure::new(format_args!(
                "CSM realm slot {i} is still in use"
            )));
            break;
        };
        if slot.is_some() {
            outcome = Err(Failure::new(format_args!(
                "CSM realm slot {i} was not torn down"
            )));
            break;
        }
        match CsmRealm::build(spec, i, first, image) {
            Ok(realm) => *slot = Some(realm),
            Err(failure) => {
                outcome = Err(failure);
                break;
            }
        }
        realms.slots[i] = Some(slot);
        first += spec.slots;
    }
    if outcome.is_ok() {
        outcome = body(&realms);
    }
    if realms.abandoned.get() {
        core::mem::forget(realms);
        return and_cleanup(outcome, || {
            fail!("realms abandoned to another CPU: not torn down")
        });
    }
    for slot in realms.slots.iter_mut().rev().flatten() {
        if let Some(realm) = slot.as_ref() {
            outcome = and_cleanup(outcome, || realm.tear_down());
        }
        **slot = None;
    }
    outcome
}
