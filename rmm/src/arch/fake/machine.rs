// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`FakeMachine`]: simulated physical memory with a PAS tag per granule, and EL3's granule
//! transition service, for host tests.
//!
//! It enforces what the hardware does for the things that matter to security:
//! - the RMM may read or write only Realm-PAS granules outside its carve-out (its Realm
//!   window); any other access is a Granule Protection Fault, which on hardware stops the RMM,
//!   so here it panics and fails the test;
//! - the RMM's reads of host memory fail (as the fix-up path makes them fail) unless the
//!   granule is Non-secure;
//! - EL3 moves only NS granules to Realm and only Realm granules back, inside DRAM, and does
//!   **not** clear them: zeroing is the RMM's job, and tests check it was done;
//! - the host may read or write only Non-secure granules;
//! - stage-2 TLB invalidations are recorded so tests can check one followed every removal of
//!   a valid mapping; each is matched under the VMID width the boot installed
//!   ([`Machine::install_resting_controls`]), and one before that, or for a VMID the width
//!   cannot hold, panics as the hardware's check stops the monitor;
//! - each simulated CPU has a stage-2 TLB ([`super::tlb`]): realm accesses by IPA
//!   ([`FakeMachine::realm_read_ipa`], [`FakeMachine::realm_write_ipa`]) go through it, a
//!   miss is filled by the fake's own walk of the tables the entry configuration names
//!   (independent of `rtt`), and only invalidations that match drop entries, so a missed or
//!   misdirected invalidation leaves a translation that [`FakeMachine::stale_translations`]
//!   reports and that the realm still reads and writes through;
//! - EL3's attestation services hand over TF-A's fixed sample realm attestation key and
//!   platform token (`attest/tests/data`) through a simulated shared page, the token in
//!   hunks of a chosen size, with knobs to make either call fail; a host interrupt can be
//!   made pending;
//! - several realm CPUs run at once, one per thread (a simulated physical CPU): each REC runs
//!   its own scripted [`FakeRealm`] ([`FakeMachine::set_rec_realm`], keyed by [`FakeRecId`])
//!   or the catch-all one ([`FakeMachine::set_realm`]), and the RMM running one REC on two
//!   CPUs at once panics.

extern crate std;

use super::hash::FastMap;
use super::tlb::{Access, Leaf, Regime, Stage2Fault, StaleTranslation, Tlbs};
use crate::GRANULE_SIZE;
use crate::arch::world::{
    RealmContext, RealmCpu, RealmEntryConfig, RealmFp, RealmTrap, TimerOutputs, TrapAction,
    TrapKind, VgicState, timer_ctl,
};
use crate::arch::{GRANULE_WORDS, Machine, NsAccessFault, PlatformTokenHunk, VmidWidth};
use crate::granule::GranuleAddr;
use rmm_abi::el3::El3Status;
use std::boxed::Box;
use std::collections::HashMap;
use std::sync::Mutex;
use std::thread::ThreadId;
use std::vec::Vec;

const GRANULE: u64 = GRANULE_SIZE as u64;

/// The physical address space a granule is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakePas {
    /// Host memory.
    NonSecure,
    /// Realm memory (delegated granules and the RMM carve-out).
    Realm,
}

/// The host touched a granule it may not (a Granule Protection Fault at NS-EL2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostFault;

/// A map keyed by granule address.
type PageMap<V> = FastMap<u64, V>;

#[derive(Debug, Default, Clone)]
struct Memory {
    /// Granules whose PAS differs from their default.
    pas: PageMap<FakePas>,
    /// Granules that were ever written (others read as zero).
    contents: PageMap<Box<[u8; GRANULE_SIZE]>>,
    /// The next GTSI call(s) fail with this status, if set.
    gtsi_failure: Option<El3Status>,
    /// Number of GTSI calls made.
    gtsi_calls: usize,
    /// The VMID width the RMM's resting controls were installed for (`None` until the boot
    /// called [`Machine::install_resting_controls`]).
    vmid_width: Option<VmidWidth>,
    /// VMID tags (the part of the VMID the installed width matches) whose stage-2 TLB
    /// entries the RMM invalidated, in order (whole-VMID and per-IPA invalidations alike).
    stage2_invalidations: Vec<u16>,
    /// The per-IPA invalidations among them: (VMID tag, IPA).
    ipa_invalidations: Vec<(u16, u64)>,
    /// Every simulated CPU's stage-2 TLB.
    tlbs: Tlbs,
    /// EL3's attestation services.
    el3_attest: FakeEl3Attest,
    /// Whether a host interrupt is pending, and how often the RMM looked.
    irq_pending: bool,
    irq_checks: usize,
}

impl Memory {
    /// The contents of the granule at `pa`, created zeroed on first write.
    fn page_mut(&mut self, pa: u64) -> &mut [u8; GRANULE_SIZE] {
        self.contents
            .entry(pa)
            .or_insert_with(|| Box::new([0; GRANULE_SIZE]))
    }
}

/// TF-A's fixed sample realm attestation key on QEMU and FVP (48-byte P-384 scalar).
pub const SAMPLE_REALM_KEY: &[u8; 48] =
    include_bytes!("../../../../attest/tests/data/tfa-sample-realm-attest-key.bin");

/// TF-A's fixed sample platform token on QEMU and FVP (1,518 bytes).
pub const SAMPLE_PLATFORM_TOKEN: &[u8] =
    include_bytes!("../../../../attest/tests/data/tfa-sample-platform-token.bin");

/// What the simulated EL3 answers to `RMM_ATTEST_GET_REALM_KEY` / `RMM_ATTEST_GET_PLAT_TOKEN`.
#[derive(Debug, Clone)]
pub struct FakeEl3Attest {
    /// The key EL3 hands over (TF-A writes exactly these bytes and reports their length).
    pub key: Vec<u8>,
    /// `RMM_ATTEST_GET_REALM_KEY` fails with this status, if set.
    pub key_failure: Option<El3Status>,
    /// The platform token EL3 hands over.
    pub platform_token: Vec<u8>,
    /// Largest hunk per call (TF-A 2.12 on QEMU: the whole token at once).
    pub hunk: usize,
    /// Answer `E_RMM_AGAIN` (with the hunk) while more remains, instead of `E_RMM_OK`.
    pub again_while_remaining: bool,
    /// `RMM_ATTEST_GET_PLAT_TOKEN` fails with this status, if set.
    pub token_failure: Option<El3Status>,
    /// Challenges the RMM passed, one per call.
    pub challenges: Vec<Vec<u8>>,
    /// The simulated shared page as the RMM left it after the last call.
    pub shared_page: Vec<u8>,
    /// Bytes of the token already handed out.
    handed_out: usize,
}

impl Default for FakeEl3Attest {
    fn default() -> Self {
        Self {
            key: SAMPLE_REALM_KEY.to_vec(),
            key_failure: None,
            platform_token: SAMPLE_PLATFORM_TOKEN.to_vec(),
            hunk: usize::MAX,
            again_while_remaining: false,
            token_failure: None,
            challenges: Vec::new(),
            shared_page: std::vec![0; GRANULE_SIZE],
            handed_out: 0,
        }
    }
}

/// A simulated realm CPU: called for every entry into the realm with the configuration the
/// RMM installed and the realm's registers; it plays the realm (changing registers, touching
/// memory through the machine) and returns the exception that ends the run. It runs on the
/// thread that made the REC_ENTER (the simulated physical CPU).
pub type FakeRealm =
    Box<dyn FnMut(&FakeMachine, &RealmEntryConfig, &mut RealmContext) -> RealmTrap + Send>;

/// A REC as the simulated CPU sees it: its realm's VMID (VTTBR_EL2) and its MPIDR
/// (VMPIDR_EL2 without the RES1 bit 31, i.e. the `mpidr` REC_CREATE accepted). Live realms
/// have distinct VMIDs and a realm's RECs distinct MPIDRs, so this names one REC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FakeRecId {
    /// The realm's VMID.
    pub vmid: u16,
    /// The REC's MPIDR (`RmiRecMpidr` bits).
    pub mpidr: u64,
}

impl FakeRecId {
    /// The REC an entry configuration runs.
    pub fn of(config: &RealmEntryConfig) -> Self {
        Self {
            vmid: (config.vttbr >> 48) as u16,
            mpidr: config.vmpidr & !(1 << 31),
        }
    }
}

/// The scripted realm CPUs and which RECs run now.
#[derive(Default)]
struct Scripts {
    /// Each REC's own script ([`FakeMachine::set_rec_realm`]); absent while it runs.
    per_rec: HashMap<FakeRecId, FakeRealm>,
    /// The script of every REC without its own ([`FakeMachine::set_realm`]); absent while a
    /// REC runs it.
    any: Option<FakeRealm>,
    /// The RECs in `run_realm` now, and whether each holds `any`.
    running: HashMap<FakeRecId, bool>,
}

/// Everything [`FakeMachine`] holds that an RMI command can change, for tests that check a
/// refused command changed nothing: every granule's PAS and (non-zero) contents, and how many
/// GTSI calls and stage-2 TLB invalidations the RMM made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemorySnapshot {
    /// Granules whose PAS was ever changed, with their PAS, by address.
    pub pas: Vec<(u64, FakePas)>,
    /// Granules with non-zero contents, by address (an all-zero granule and one never
    /// written are the same memory).
    pub contents: Vec<(u64, Box<[u8; GRANULE_SIZE]>)>,
    /// GTSI calls so far.
    pub gtsi_calls: usize,
    /// Stage-2 TLB invalidations so far (not drained by taking the snapshot).
    pub stage2_invalidations: usize,
}

/// The memory of a [`FakeMachine`] as [`FakeMachine::view`] lends it.
pub struct MemoryView<'a> {
    machine: &'a FakeMachine,
    memory: &'a Memory,
}

impl MemoryView<'_> {
    /// The PAS of the granule holding `pa` (`None` outside memory), as [`FakeMachine::pas`].
    pub fn pas(&self, pa: u64) -> Option<FakePas> {
        self.machine.pas_in(self.memory, pa)
    }

    /// The contents of the granule holding `pa` whatever its PAS, as
    /// [`FakeMachine::inspect`]: `None` for a granule never written (all zero).
    pub fn page(&self, pa: u64) -> Option<&[u8; GRANULE_SIZE]> {
        self.memory
            .contents
            .get(&(pa & !(GRANULE - 1)))
            .map(|page| &**page)
    }
}

/// Simulated memory and EL3 GTSI.
pub struct FakeMachine {
    dram: Vec<(u64, u64)>,
    carveout: (u64, u64),
    memory: Mutex<Memory>,
    scripts: Mutex<Scripts>,
    entries: Mutex<Vec<RealmEntryConfig>>,
    vgic: Mutex<FakeVgic>,
}

/// The simulated virtual CPU interfaces and timers.
#[derive(Debug, Default, Clone)]
struct FakeVgic {
    /// The ICH_* registers of each simulated CPU (thread) with a realm loaded.
    live: HashMap<ThreadId, VgicState>,
    /// What each `run_realm` loaded (all RECs, in order).
    loads: Vec<VgicState>,
    /// The timers' conditions (ISTATUS) when the next run (of any REC) starts, if a test
    /// sets them: time passing while the host had the CPU.
    conditions: Option<TimerOutputs>,
    /// Which timers each entry into the realm masked (all RECs, in order).
    masks: Vec<TimerOutputs>,
}

/// Everything a [`FakeMachine`] holds but its realm scripts: the PAS and contents of every
/// granule, the GTSI and TLB-invalidation records, every simulated CPU's TLB, EL3's services,
/// the virtual CPU interfaces. A rig that runs many inputs from one start (the fuzz targets)
/// builds the start once, takes its image ([`FakeMachine::image`]) and gives each input a
/// machine made from it ([`FakeMachine::from_image`]): the same machine, built in a copy.
#[derive(Debug, Clone)]
pub struct MachineImage {
    dram: Vec<(u64, u64)>,
    carveout: (u64, u64),
    memory: Memory,
    entries: Vec<RealmEntryConfig>,
    vgic: FakeVgic,
    /// The simulated CPU (thread) that took the image.
    cpu: ThreadId,
}

impl core::fmt::Debug for FakeMachine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FakeMachine")
            .field("dram", &self.dram)
            .field("carveout", &self.carveout)
            .finish_non_exhaustive()
    }
}

impl FakeMachine {
    /// QEMU `virt` as TF-A sets it up: 3 GiB of DRAM at 0x4000_0000 holding the RMM's 24 MiB
    /// Realm carve-out at 0x4010_0000.
    pub fn qemu() -> Self {
        Self::new(&[(0x4000_0000, 0xC000_0000)], (0x4010_0000, 0x4190_0000))
    }

    /// Memory with `dram` banks (base, size) and the Realm carve-out `[start, end)`.
    pub fn new(dram: &[(u64, u64)], carveout: (u64, u64)) -> Self {
        Self {
            dram: dram.to_vec(),
            carveout,
            memory: Mutex::new(Memory::default()),
            scripts: Mutex::new(Scripts::default()),
            entries: Mutex::new(Vec::new()),
            vgic: Mutex::new(FakeVgic::default()),
        }
    }

    /// The machine's image, taken between realm runs (a REC running now panics: its CPU's
    /// state would be half in the image).
    pub fn image(&self) -> MachineImage {
        assert!(
            self.scripts().running.is_empty(),
            "a machine image taken while a realm runs"
        );
        let vgic = self.fake_vgic().clone();
        assert!(
            vgic.live.is_empty(),
            "a machine image with a CPU interface loaded"
        );
        MachineImage {
            dram: self.dram.clone(),
            carveout: self.carveout,
            memory: self.memory().clone(),
            entries: self
                .entries
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            vgic,
            cpu: std::thread::current().id(),
        }
    }

    /// A machine in the state `image` was taken in, without realm scripts (install them
    /// again). The TLB of the CPU (thread) that took the image is this thread's.
    pub fn from_image(image: &MachineImage) -> Self {
        let mut memory = image.memory.clone();
        memory
            .tlbs
            .swap_cpus(image.cpu, std::thread::current().id());
        Self {
            dram: image.dram.clone(),
            carveout: image.carveout,
            memory: Mutex::new(memory),
            scripts: Mutex::new(Scripts::default()),
            entries: Mutex::new(image.entries.clone()),
            vgic: Mutex::new(image.vgic.clone()),
        }
    }

    fn fake_vgic(&self) -> std::sync::MutexGuard<'_, FakeVgic> {
        self.vgic.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The realm (on the simulated CPU: this thread, inside its [`FakeRealm`]) changes its
    /// virtual CPU interface: acknowledges and ends interrupts, which the list registers show.
    pub fn with_live_vgic(&self, change: impl FnOnce(&mut VgicState)) {
        let cpu = std::thread::current().id();
        let mut vgic = self.fake_vgic();
        let live = vgic
            .live
            .get_mut(&cpu)
            .expect("with_live_vgic called outside a realm run on this thread");
        change(live);
    }

    /// The virtual CPU interface each run (of any REC) loaded since the last call (drained).
    pub fn take_vgic_loads(&self) -> Vec<VgicState> {
        std::mem::take(&mut self.fake_vgic().loads)
    }

    /// Which timers each realm entry (of any REC) masked since the last call (drained).
    pub fn take_timer_masks(&self) -> Vec<TimerOutputs> {
        std::mem::take(&mut self.fake_vgic().masks)
    }

    /// Sets the timers' conditions (ISTATUS) the next run finds: as if their deadlines
    /// passed, or were moved, while the host had the CPU.
    pub fn set_timer_conditions(&self, conditions: TimerOutputs) {
        self.fake_vgic().conditions = Some(conditions);
    }

    fn scripts(&self) -> std::sync::MutexGuard<'_, Scripts> {
        self.scripts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Installs the simulated realm CPU that the next entries of any REC without its own
    /// script ([`Self::set_rec_realm`]) run. It runs one REC at a time: a second REC entered
    /// while one runs it panics (give each REC that runs at once its own script).
    pub fn set_realm(&self, realm: FakeRealm) {
        self.scripts().any = Some(realm);
    }

    /// Installs the simulated realm CPU that the next entries of `rec` run, whatever else
    /// runs at the same time on other threads.
    pub fn set_rec_realm(&self, rec: FakeRecId, realm: FakeRealm) {
        self.scripts().per_rec.insert(rec, realm);
    }

    /// Marks `rec` running on this thread and takes the script it runs.
    fn start_run(&self, rec: FakeRecId) -> RunGuard<'_> {
        let mut scripts = self.scripts();
        // The RMM holds a REC by reference while it runs (REC_ENTER's ERROR_REC otherwise).
        assert!(
            !scripts.running.contains_key(&rec),
            "the RMM ran {rec:?} on two CPUs at once"
        );
        let (script, shared) = if let Some(script) = scripts.per_rec.remove(&rec) {
            (script, false)
        } else if let Some(script) = scripts.any.take() {
            (script, true)
        } else if let Some((other, _)) = scripts.running.iter().find(|(_, shared)| **shared) {
            panic!(
                "{rec:?} entered while {other:?} runs the catch-all FakeRealm (set_realm): \
                 give RECs that run at once their own (set_rec_realm)"
            );
        } else {
            panic!("a test entered {rec:?} without installing a FakeRealm");
        };
        scripts.running.insert(rec, shared);
        RunGuard {
            machine: self,
            rec,
            cpu: std::thread::current().id(),
            script: Some(script),
            shared,
        }
    }

    /// The configurations of every realm entry (of any REC, in order; [`FakeRecId::of`] says
    /// whose) since the last call (drained).
    pub fn take_realm_entries(&self) -> Vec<RealmEntryConfig> {
        std::mem::take(&mut *self.entries.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The realm (on the simulated CPU) reads its memory at `pa`: the granule must be Realm
    /// PAS (a realm access to anything else is a Granule Protection Fault and panics).
    pub fn realm_read(&self, pa: u64, buf: &mut [u8]) {
        let page = self.realm_granule(pa);
        let at = (pa % GRANULE) as usize;
        buf.copy_from_slice(&page[at..at + buf.len()]);
    }

    /// The realm writes its memory at `pa` (Realm PAS only, as for [`Self::realm_read`]).
    pub fn realm_write(&self, pa: u64, bytes: &[u8]) {
        let granule = pa & !(GRANULE - 1);
        let mut memory = self.memory();
        assert_eq!(
            self.pas_in(&memory, granule),
            Some(FakePas::Realm),
            "Granule Protection Fault: realm wrote {pa:#x}"
        );
        let page = memory.page_mut(granule);
        let at = (pa % GRANULE) as usize;
        page[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// The realm on the simulated CPU (this thread) translates `ipa` for `access`, as the
    /// MMU would under `config`'s VTTBR_EL2/VTCR_EL2: a hit in this CPU's TLB is used as it
    /// is (however stale), a miss walks the tables in memory and is cached. Returns the PA
    /// and the leaf, or the stage-2 fault.
    pub fn realm_translate(
        &self,
        config: &RealmEntryConfig,
        ipa: u64,
        access: Access,
    ) -> Result<(u64, Leaf), Stage2Fault> {
        let regime = Regime::decode(config.vttbr, config.vtcr);
        let cpu = std::thread::current().id();
        let mut memory = self.memory();
        let Memory {
            tlbs,
            pas,
            contents,
            ..
        } = &mut *memory;
        let leaf = tlbs.translate(cpu, &regime, ipa, &mut self.walk_reader(pas, contents))?;
        leaf.check(access)?;
        Ok((leaf.pa(ipa), leaf))
    }

    /// Reads `buf.len()` bytes (inside one granule) of realm memory at `ipa`, through this
    /// CPU's TLB ([`Self::realm_translate`]). The output must be in the PAS the leaf says
    /// (Realm, or Non-secure for an NS mapping): else a Granule Protection Fault.
    pub fn realm_read_ipa(
        &self,
        config: &RealmEntryConfig,
        ipa: u64,
        buf: &mut [u8],
    ) -> Result<(), Stage2Fault> {
        let (pa, leaf) = self.realm_translate(config, ipa, Access::Read)?;
        let at = Self::within_granule(pa, buf.len());
        let memory = self.memory();
        self.check_output_pas(&memory, pa, &leaf)?;
        let granule = pa & !(GRANULE - 1);
        match memory.contents.get(&granule) {
            Some(page) => buf.copy_from_slice(&page[at..at + buf.len()]),
            None => buf.fill(0),
        }
        Ok(())
    }

    /// Writes `bytes` (inside one granule) of realm memory at `ipa`, through this CPU's TLB,
    /// as [`Self::realm_read_ipa`] reads.
    pub fn realm_write_ipa(
        &self,
        config: &RealmEntryConfig,
        ipa: u64,
        bytes: &[u8],
    ) -> Result<(), Stage2Fault> {
        let (pa, leaf) = self.realm_translate(config, ipa, Access::Write)?;
        let at = Self::within_granule(pa, bytes.len());
        let mut memory = self.memory();
        self.check_output_pas(&memory, pa, &leaf)?;
        let page = memory.page_mut(pa & !(GRANULE - 1));
        page[at..at + bytes.len()].copy_from_slice(bytes);
        Ok(())
    }

    /// Every translation a simulated CPU's TLB holds that a fresh walk of the tables of the
    /// realm whose walk cached it contradicts (a leaf now unmapped or mapping another granule
    /// or other permissions, a table entry naming a table no longer there): what a missed or
    /// misdirected invalidation leaves behind. Empty when every TLB is honest.
    pub fn stale_translations(&self) -> Vec<StaleTranslation> {
        let memory = self.memory();
        memory
            .tlbs
            .stale(&mut self.walk_reader(&memory.pas, &memory.contents))
    }

    /// How many (leaf, table) entries all simulated CPUs' TLBs hold: tests check the realm
    /// really filled them before checking nothing stale is left.
    pub fn cached_translations(&self) -> (usize, usize) {
        self.memory().tlbs.len()
    }

    /// Reads a descriptor for the walker: stage-2 tables are read from the Realm PAS (a table
    /// anywhere else is a Granule Protection Fault of the walk).
    fn walk_reader<'a>(
        &'a self,
        pas: &'a PageMap<FakePas>,
        contents: &'a PageMap<Box<[u8; GRANULE_SIZE]>>,
    ) -> impl FnMut(u64) -> Result<u64, Stage2Fault> + 'a {
        move |pa| {
            let granule = pa & !(GRANULE - 1);
            let in_pas = pas
                .get(&granule)
                .copied()
                .or_else(|| self.default_pas(granule));
            if in_pas != Some(FakePas::Realm) {
                return Err(Stage2Fault::GranuleProtection { pa });
            }
            let at = (pa % GRANULE) as usize;
            Ok(contents.get(&granule).map_or(0, |page| {
                u64::from_le_bytes(page[at..at + 8].try_into().expect("8 bytes"))
            }))
        }
    }

    /// A realm access through `leaf` to `pa` must find the granule in the leaf's PAS.
    fn check_output_pas(&self, memory: &Memory, pa: u64, leaf: &Leaf) -> Result<(), Stage2Fault> {
        let want = if leaf.ns {
            FakePas::NonSecure
        } else {
            FakePas::Realm
        };
        if self.pas_in(memory, pa) == Some(want) {
            Ok(())
        } else {
            Err(Stage2Fault::GranuleProtection { pa })
        }
    }

    /// The end of a [`Machine::read_realm`]/[`Machine::write_realm`] range: whole words inside
    /// one granule (anything else is a caller bug and panics, as `read_word` does).
    fn word_range(offset: usize, len: usize) -> usize {
        let end = offset.checked_add(len).filter(|end| *end <= GRANULE_SIZE);
        match end {
            Some(end) if offset.is_multiple_of(8) && len.is_multiple_of(8) => end,
            _ => panic!("the RMM accessed {len} bytes at offset {offset} of a granule"),
        }
    }

    /// The offset of `pa` in its granule, checking `len` bytes from there stay inside it.
    fn within_granule(pa: u64, len: usize) -> usize {
        let at = (pa % GRANULE) as usize;
        assert!(
            at + len <= GRANULE_SIZE,
            "a fake realm access of {len} bytes at {pa:#x} crosses a granule"
        );
        at
    }

    fn realm_granule(&self, pa: u64) -> [u8; GRANULE_SIZE] {
        assert_eq!(
            self.pas(pa),
            Some(FakePas::Realm),
            "Granule Protection Fault: realm read {pa:#x}"
        );
        self.inspect(pa)
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        // A panic while holding the lock (a detected GPF) poisons it; later reads still see
        // consistent data because every update is a single insert.
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn in_dram(&self, pa: u64) -> bool {
        self.dram
            .iter()
            .any(|&(base, size)| pa >= base && pa - base < size)
    }

    fn default_pas(&self, pa: u64) -> Option<FakePas> {
        if pa >= self.carveout.0 && pa < self.carveout.1 {
            Some(FakePas::Realm)
        } else if self.in_dram(pa) {
            Some(FakePas::NonSecure)
        } else {
            None
        }
    }

    /// The PAS of the granule holding `pa` (`None` outside memory).
    pub fn pas(&self, pa: u64) -> Option<FakePas> {
        self.pas_in(&self.memory(), pa)
    }

    fn pas_in(&self, memory: &Memory, pa: u64) -> Option<FakePas> {
        let granule = pa & !(GRANULE - 1);
        memory
            .pas
            .get(&granule)
            .copied()
            .or_else(|| self.default_pas(granule))
    }

    /// Moves a granule to another PAS behind everyone's back (a hostile or buggy EL3, or a
    /// host racing the RMM in ways the real GPT would allow).
    pub fn set_pas(&self, pa: u64, pas: FakePas) {
        self.memory().pas.insert(pa & !(GRANULE - 1), pas);
    }

    /// Makes every following GTSI call fail with `status` (`None` restores success).
    pub fn fail_gtsi(&self, status: Option<El3Status>) {
        self.memory().gtsi_failure = status;
    }

    /// The VMID width the RMM installed its resting controls for, if it did.
    pub fn vmid_width(&self) -> Option<VmidWidth> {
        self.memory().vmid_width
    }

    /// The per-IPA invalidations since the last call, as (VMID, IPA) (drained).
    pub fn take_ipa_invalidations(&self) -> Vec<(u16, u64)> {
        std::mem::take(&mut self.memory().ipa_invalidations)
    }

    /// VMIDs whose stage-2 TLB entries the RMM invalidated since the last call (drained).
    pub fn take_stage2_invalidations(&self) -> Vec<u16> {
        std::mem::take(&mut self.memory().stage2_invalidations)
    }

    /// Changes what EL3's attestation services answer (the key, the token, hunk size,
    /// failures).
    pub fn configure_el3_attest(&self, f: impl FnOnce(&mut FakeEl3Attest)) {
        f(&mut self.memory().el3_attest);
    }

    /// EL3's attestation services as the RMM left them (challenges seen, shared page).
    pub fn el3_attest(&self) -> FakeEl3Attest {
        self.memory().el3_attest.clone()
    }

    /// Makes a host interrupt pending (or not) until changed.
    pub fn set_host_irq_pending(&self, pending: bool) {
        self.memory().irq_pending = pending;
    }

    /// How many times the RMM asked whether a host interrupt is pending.
    pub fn host_irq_checks(&self) -> usize {
        self.memory().irq_checks
    }

    /// The whole simulated machine state, for before/after comparisons.
    pub fn snapshot(&self) -> MemorySnapshot {
        let memory = self.memory();
        let mut pas: Vec<_> = memory.pas.iter().map(|(a, p)| (*a, *p)).collect();
        pas.sort_unstable_by_key(|(a, _)| *a);
        let mut contents: Vec<_> = memory
            .contents
            .iter()
            .filter(|(_, page)| page.iter().any(|b| *b != 0))
            .map(|(a, page)| (*a, page.clone()))
            .collect();
        contents.sort_unstable_by_key(|(a, _)| *a);
        MemorySnapshot {
            pas,
            contents,
            gtsi_calls: memory.gtsi_calls,
            stage2_invalidations: memory.stage2_invalidations.len(),
        }
    }

    /// Number of GTSI calls the RMM made.
    pub fn gtsi_calls(&self) -> usize {
        self.memory().gtsi_calls
    }

    /// Runs `f` on a read-only view of the memory (test inspection, as [`Self::inspect`] and
    /// [`Self::pas`] but under one lock and without copying pages: for checks that look at
    /// every granule after every command). `f` must not call the machine.
    pub fn view<R>(&self, f: impl FnOnce(&MemoryView<'_>) -> R) -> R {
        let memory = self.memory();
        f(&MemoryView {
            machine: self,
            memory: &memory,
        })
    }

    /// The contents of a granule whatever its PAS (test inspection; no world can do this).
    pub fn inspect(&self, pa: u64) -> [u8; GRANULE_SIZE] {
        self.memory()
            .contents
            .get(&(pa & !(GRANULE - 1)))
            .map_or([0; GRANULE_SIZE], |page| **page)
    }

    /// The host writes a whole granule.
    pub fn host_write(&self, pa: u64, page: &[u8; GRANULE_SIZE]) -> Result<(), HostFault> {
        let mut memory = self.memory();
        if self.pas_in(&memory, pa) != Some(FakePas::NonSecure) {
            return Err(HostFault);
        }
        memory.contents.insert(pa & !(GRANULE - 1), Box::new(*page));
        Ok(())
    }

    /// The host reads a whole granule.
    pub fn host_read(&self, pa: u64) -> Result<[u8; GRANULE_SIZE], HostFault> {
        if self.pas(pa) != Some(FakePas::NonSecure) {
            return Err(HostFault);
        }
        Ok(self.inspect(pa))
    }

    /// The memory, after checking that the RMM may touch granule `addr` through its Realm
    /// window: Realm PAS (else a Granule Protection Fault) and not its own carve-out (which
    /// the window does not map). Either violation is an RMM bug and panics.
    fn realm_access(&self, addr: GranuleAddr, what: &str) -> std::sync::MutexGuard<'_, Memory> {
        let pa = addr.get();
        let memory = self.memory();
        assert_eq!(
            self.pas_in(&memory, pa),
            Some(FakePas::Realm),
            "Granule Protection Fault: the RMM {what} {pa:#x}, which is not in the Realm PAS"
        );
        assert!(
            pa < self.carveout.0 || pa >= self.carveout.1,
            "the RMM {what} {pa:#x}, inside its own carve-out (not in its Realm window)"
        );
        memory
    }

    /// The tag an invalidation for `vmid` matches under the installed resting VMID width. As
    /// the hardware's check stops the monitor, one before the width was installed, or for a
    /// VMID the width cannot hold (it would miss entries), panics.
    fn invalidation_tag(memory: &Memory, vmid: u16) -> u16 {
        let Some(width) = memory.vmid_width else {
            panic!(
                "TLB invalidation for VMID {vmid:#x} before the resting controls were installed"
            );
        };
        assert!(
            width.holds(vmid),
            "TLB invalidation for VMID {vmid:#x} with {}-bit VMIDs would miss its entries",
            width.bits()
        );
        width.tag(vmid)
    }

    fn transition(&self, addr: GranuleAddr, from: FakePas, to: FakePas) -> El3Status {
        let pa = addr.get();
        let mut memory = self.memory();
        let current = self.pas_in(&memory, pa);
        memory.gtsi_calls += 1;
        if let Some(status) = memory.gtsi_failure {
            return status;
        }
        if !self.in_dram(pa) {
            return El3Status::BadAddr;
        }
        if current != Some(from) {
            return El3Status::BadPas;
        }
        memory.pas.insert(pa, to);
        El3Status::Ok
    }
}

impl Machine for FakeMachine {
    fn gtsi_delegate(&self, addr: GranuleAddr) -> El3Status {
        self.transition(addr, FakePas::NonSecure, FakePas::Realm)
    }

    fn gtsi_undelegate(&self, addr: GranuleAddr) -> El3Status {
        self.transition(addr, FakePas::Realm, FakePas::NonSecure)
    }

    fn zero_granule(&self, addr: GranuleAddr) {
        let mut memory = self.realm_access(addr, "zeroed");
        memory.contents.remove(&addr.get());
    }

    /// One lock and one lookup for the whole range (the default reads word by word), with
    /// the checks [`Machine::read_word`] makes for each word: Realm PAS, outside the
    /// carve-out, inside the granule; the range must be 8-byte aligned as documented.
    fn read_realm(&self, addr: GranuleAddr, offset: usize, buf: &mut [u8]) {
        let end = Self::word_range(offset, buf.len());
        let memory = self.realm_access(addr, "read");
        match memory.contents.get(&addr.get()) {
            Some(page) => buf.copy_from_slice(&page[offset..end]),
            None => buf.fill(0),
        }
    }

    /// As [`Machine::read_realm`] for [`Machine::write_word`].
    fn write_realm(&self, addr: GranuleAddr, offset: usize, buf: &[u8]) {
        let end = Self::word_range(offset, buf.len());
        let mut memory = self.realm_access(addr, "wrote");
        let page = memory.page_mut(addr.get());
        page[offset..end].copy_from_slice(buf);
    }

    fn read_word(&self, addr: GranuleAddr, index: usize) -> u64 {
        assert!(
            index < GRANULE_WORDS,
            "word index {index} outside a granule"
        );
        let memory = self.realm_access(addr, "read");
        memory.contents.get(&addr.get()).map_or(0, |page| {
            let at = index * 8;
            let mut word = [0; 8];
            word.copy_from_slice(&page[at..at + 8]);
            u64::from_le_bytes(word)
        })
    }

    fn write_word(&self, addr: GranuleAddr, index: usize, value: u64) {
        assert!(
            index < GRANULE_WORDS,
            "word index {index} outside a granule"
        );
        let mut memory = self.realm_access(addr, "wrote");
        let page = memory.page_mut(addr.get());
        page[index * 8..index * 8 + 8].copy_from_slice(&value.to_le_bytes());
    }

    fn write_realm_bytes(&self, addr: GranuleAddr, offset: usize, buf: &[u8]) {
        let Some(end) = offset
            .checked_add(buf.len())
            .filter(|end| *end <= GRANULE_SIZE)
        else {
            panic!(
                "the RMM wrote {} bytes at offset {offset} of a granule",
                buf.len()
            );
        };
        let mut memory = self.realm_access(addr, "wrote");
        let page = memory.page_mut(addr.get());
        page[offset..end].copy_from_slice(buf);
    }

    fn install_resting_controls(&self, width: VmidWidth) {
        self.memory().vmid_width = Some(width);
    }

    fn invalidate_stage2(&self, vmid: u16) {
        let mut memory = self.memory();
        let tag = Self::invalidation_tag(&memory, vmid);
        memory.stage2_invalidations.push(tag);
        memory.tlbs.invalidate_vmid(tag);
    }

    fn invalidate_stage2_ipa(&self, vmid: u16, ipa: u64) {
        let mut memory = self.memory();
        let tag = Self::invalidation_tag(&memory, vmid);
        memory.stage2_invalidations.push(tag);
        memory.ipa_invalidations.push((tag, ipa));
        memory.tlbs.invalidate_ipa(tag, ipa);
    }

    fn read_ns(
        &self,
        addr: GranuleAddr,
        offset: usize,
        buf: &mut [u8],
    ) -> Result<(), NsAccessFault> {
        if !ns_range_ok(offset, buf.len()) || self.pas(addr.get()) != Some(FakePas::NonSecure) {
            return Err(NsAccessFault);
        }
        buf.copy_from_slice(&self.inspect(addr.get())[offset..offset + buf.len()]);
        Ok(())
    }

    fn write_ns(&self, addr: GranuleAddr, offset: usize, buf: &[u8]) -> Result<(), NsAccessFault> {
        let mut memory = self.memory();
        if !ns_range_ok(offset, buf.len())
            || self.pas_in(&memory, addr.get()) != Some(FakePas::NonSecure)
        {
            return Err(NsAccessFault);
        }
        let page = memory.page_mut(addr.get());
        page[offset..offset + buf.len()].copy_from_slice(buf);
        Ok(())
    }

    fn copy_from_ns(
        &self,
        addr: GranuleAddr,
        page: &mut [u8; GRANULE_SIZE],
    ) -> Result<(), NsAccessFault> {
        if self.pas(addr.get()) != Some(FakePas::NonSecure) {
            return Err(NsAccessFault);
        }
        *page = self.inspect(addr.get());
        Ok(())
    }

    /// The destination must be one the RMM may write (Realm PAS, outside its carve-out: else a
    /// panic, as for every write); the source must be Non-secure when read, else the copy
    /// fails. The hardware copy stops at the first load that faults, having written what it
    /// read before: here the first half of the source as it is, so a caller that does not
    /// clear the destination after the error leaves a DELEGATED granule that is not zero.
    fn copy_ns_to_realm(&self, src: GranuleAddr, dst: GranuleAddr) -> Result<(), NsAccessFault> {
        let mut memory = self.realm_access(dst, "wrote");
        let copied = memory
            .contents
            .get(&src.get())
            .map_or([0; GRANULE_SIZE], |page| **page);
        let faulted = self.pas_in(&memory, src.get()) != Some(FakePas::NonSecure);
        let page = memory.page_mut(dst.get());
        if faulted {
            page[..GRANULE_SIZE / 2].copy_from_slice(&copied[..GRANULE_SIZE / 2]);
            return Err(NsAccessFault);
        }
        *page = copied;
        Ok(())
    }

    fn el3_realm_key(&self, out: &mut [u8; 48]) -> Result<usize, El3Status> {
        let mut memory = self.memory();
        let el3 = &mut memory.el3_attest;
        if let Some(status) = el3.key_failure {
            return Err(status);
        }
        // TF-A's rmmd: the key is written into the shared page, its length in x1.
        let len = el3.key.len().min(GRANULE_SIZE);
        el3.shared_page[..len].copy_from_slice(&el3.key[..len]);
        // The RMM's side (as `HwMachine`): copy out, wipe the shared page.
        let copied = len.min(out.len());
        out[..copied].copy_from_slice(&el3.shared_page[..copied]);
        el3.shared_page[..len].fill(0);
        Ok(len)
    }

    fn el3_platform_token_hunk(
        &self,
        challenge: &[u8],
        out: &mut [u8],
    ) -> Result<PlatformTokenHunk, El3Status> {
        let mut memory = self.memory();
        let el3 = &mut memory.el3_attest;
        el3.challenges.push(challenge.to_vec());
        if let Some(status) = el3.token_failure {
            return Err(status);
        }
        // TF-A 2.12 refuses any challenge size but a SHA-256/384/512 digest, on every call.
        if ![32, 48, 64].contains(&challenge.len()) {
            return Err(El3Status::Inval);
        }
        el3.shared_page[..challenge.len()].copy_from_slice(challenge);
        let rest = el3.platform_token.len() - el3.handed_out;
        let len = rest.min(el3.hunk).min(GRANULE_SIZE);
        let start = el3.handed_out;
        el3.shared_page[..len].copy_from_slice(&el3.platform_token[start..start + len]);
        el3.handed_out += len;
        let remaining = rest - len;
        if remaining == 0 {
            el3.handed_out = 0;
        }
        if len > out.len() {
            return Err(El3Status::NoMem);
        }
        out[..len].copy_from_slice(&el3.shared_page[..len]);
        Ok(PlatformTokenHunk {
            len,
            remaining,
            again: el3.again_while_remaining && remaining > 0,
        })
    }

    fn host_irq_pending(&self) -> bool {
        let mut memory = self.memory();
        memory.irq_checks += 1;
        memory.irq_pending
    }
}

/// The ranges the real NS copy routine accepts: 16-byte multiples inside one granule.
fn ns_range_ok(offset: usize, len: usize) -> bool {
    offset.is_multiple_of(16) && len.is_multiple_of(16) && len != 0 && offset + len <= GRANULE_SIZE
}

impl RealmCpu for FakeMachine {
    /// The fake realm CPU has no FP/SIMD registers: `fp` is never used. Its timers follow
    /// the contract: masked when asserted, and a change since the last exit reported as
    /// [`TrapKind::TimerChanged`] without running the realm.
    fn run_realm<F>(
        &self,
        config: &RealmEntryConfig,
        ctx: &mut RealmContext,
        gic: &mut VgicState,
        _fp: &impl RealmFp,
        mut on_trap: F,
    ) where
        F: FnMut(&mut RealmContext, &RealmTrap) -> TrapAction,
    {
        // The stage-2 root the RMM points the hardware at must be Realm memory: anything else
        // would let the realm's translation be read from (or steered by) the host.
        let root = config.vttbr & 0x0000_FFFF_FFFF_F000;
        assert_eq!(
            self.pas(root),
            Some(FakePas::Realm),
            "realm entered with a stage-2 root {root:#x} outside the Realm PAS"
        );
        let mut run = self.start_run(FakeRecId::of(config));
        let at_last_exit = TimerOutputs::of(ctx.el1.cntv_ctl, ctx.el1.cntp_ctl);
        {
            let mut vgic = self.fake_vgic();
            vgic.loads.push(gic.clone());
            vgic.live.insert(run.cpu, gic.clone());
            if let Some(conditions) = vgic.conditions.take() {
                let set = |ctl: &mut u64, met: bool| {
                    *ctl = (*ctl & !timer_ctl::ISTATUS) | if met { timer_ctl::ISTATUS } else { 0 };
                };
                set(&mut ctx.el1.cntv_ctl, conditions.virt);
                set(&mut ctx.el1.cntp_ctl, conditions.phys);
            }
        }
        loop {
            let asserted = TimerOutputs::of(ctx.el1.cntv_ctl, ctx.el1.cntp_ctl);
            let trap = if asserted == at_last_exit {
                self.entries
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(*config);
                self.fake_vgic().masks.push(asserted);
                run.script(self, config, ctx)
            } else {
                RealmTrap {
                    kind: TrapKind::TimerChanged,
                    esr: 0,
                    far: 0,
                    hpfar: 0,
                }
            };
            // On hardware the realm's EL1 registers stay in the CPU while it is loaded: a
            // handler that changes `ctx.el1` without declaring an injection would have its
            // change lost. Catch that here.
            let before = ctx.el1.clone();
            let action = on_trap(ctx, &trap);
            if action != TrapAction::ResumeInjected {
                assert_eq!(
                    before, ctx.el1,
                    "a trap handler changed the realm's EL1 registers without injecting"
                );
            }
            if action == TrapAction::Stop {
                break;
            }
        }
        {
            let mut vgic = self.fake_vgic();
            let live = vgic.live.remove(&run.cpu).unwrap_or_default();
            let lrs = config.vgic_lrs.min(live.lrs.len());
            gic.hcr = live.hcr;
            gic.vmcr = live.vmcr;
            gic.misr = live.misr;
            gic.ap0r = live.ap0r;
            gic.ap1r = live.ap1r;
            gic.lrs[..lrs].copy_from_slice(&live.lrs[..lrs]);
        }
    }
}

/// A REC in `run_realm` and the script it holds: dropped (also when a test's assertion
/// unwinds through the run) it marks the REC stopped, unloads its CPU's virtual interface
/// and puts the script back, unless the test installed another meanwhile.
struct RunGuard<'a> {
    machine: &'a FakeMachine,
    rec: FakeRecId,
    cpu: ThreadId,
    script: Option<FakeRealm>,
    shared: bool,
}

impl RunGuard<'_> {
    fn script(
        &mut self,
        machine: &FakeMachine,
        config: &RealmEntryConfig,
        ctx: &mut RealmContext,
    ) -> RealmTrap {
        let script = self.script.as_mut().expect("held until the guard drops");
        script(machine, config, ctx)
    }
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        self.machine.fake_vgic().live.remove(&self.cpu);
        let mut scripts = self.machine.scripts();
        scripts.running.remove(&self.rec);
        if let Some(script) = self.script.take() {
            if self.shared {
                scripts.any.get_or_insert(script);
            } else {
                scripts.per_rec.entry(self.rec).or_insert(script);
            }
        }
    }
}
