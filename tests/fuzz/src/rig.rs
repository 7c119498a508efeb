// SPDX-License-Identifier: MIT OR Apache-2.0
//! A monitor booted as on QEMU but over a small DRAM (so the invariant checks can afford to
//! look at every granule after every command), reusing one granule-table storage and one
//! VMID set across runs: the fuzzer boots a monitor per input, millions of times, and the
//! integration tests' `boot_with` leaks both. A target whose every input starts from the same
//! built-up state (`csm`: four realms) takes an [`Image`] of it once and restores it per input.

use core::sync::atomic::{AtomicU16, Ordering};
use rmm::GRANULE_SIZE;
use rmm::arch::fake::{FakeMachine, MachineImage, ManifestBuilder};
use rmm::attestation::{self, Attestation};
use rmm::boot::{self, BootConfig};
use rmm::granule::{GranuleTable, descriptor};
use rmm::monitor::Monitor;
use rmm::realm::vmid::VmidSet;
use rmm::sharing::lock::CsmState;
use rmm_abi::rmi::states::GranuleState;
use rmm_integration_tests::{QEMU_IMAGE, Rig, qemu_args, qemu_cpu};
use std::cell::RefCell;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// DRAM: 8 MiB of host memory at 0x8000_0000 (where the integration tests' host allocates
/// from); the RMM carve-out lies outside it, as on the FVP.
pub const BANKS: [(u64, u64); 1] = [(0x8000_0000, 0x0080_0000)];

/// The RMM carve-out (as on QEMU).
pub const CARVEOUT: (u64, u64) = (0x4010_0000, 0x4190_0000);

/// A monitor and its machine as they stood between two commands: everything a run could
/// change (the granule table, the claimed VMIDs, the CSM state, the machine's memory, PAS,
/// TLBs and records) and the boot's result, so [`Lease::restore`] gives the next run that
/// very monitor without redoing the commands that built it.
#[derive(Debug, Clone)]
pub struct Image {
    config: BootConfig,
    granules: Vec<u16>,
    vmids: Vec<u16>,
    csm: CsmState,
    machine: MachineImage,
}

/// Granules as [`Lease::tracked_granules`] reports them: (address, state, refcount).
pub type Tracked = Vec<(u64, GranuleState, u16)>;

thread_local! {
    /// The descriptors [`Lease::tracked_granules`] decoded last on this thread, and what it
    /// found in them.
    static LAST_TRACKED: RefCell<Option<(Vec<u16>, Tracked)>> = const { RefCell::new(None) };
}

struct Shared {
    storage: &'static [AtomicU16],
    vmids: &'static VmidSet,
    csm: &'static rmm::sharing::SharedMemory,
    /// VMIDs the last run's realms may have claimed.
    used: Vec<u16>,
    /// The realm attestation key and platform token [`Lease::boot_attested`] gives the next
    /// monitor: provisioned from the fake EL3 once per process (the P-384 import is the
    /// expensive part), handed from monitor to monitor ([`Lease::keep_attestation`]).
    attestation: Option<Attestation>,
}

static SHARED: OnceLock<Mutex<Shared>> = OnceLock::new();

/// The storage and VMID set one run at a time may use (runs in one process are serialised:
/// the corpus replay tests run on several threads).
pub struct Lease {
    guard: MutexGuard<'static, Shared>,
}

impl Lease {
    /// Waits for the shared storage.
    pub fn take() -> Self {
        let shared = SHARED.get_or_init(|| {
            let layout = rmm::boot::manifest::DramLayout::from_banks(&BANKS).expect("valid banks");
            let n = GranuleTable::entry_count(&layout);
            Mutex::new(Shared {
                storage: (0..n).map(|_| AtomicU16::new(0)).collect::<Vec<_>>().leak(),
                vmids: Box::leak(Box::new(VmidSet::new())),
                csm: Box::leak(Box::new(rmm::sharing::SharedMemory::new())),
                used: Vec::new(),
                attestation: None,
            })
        });
        Self {
            guard: shared.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// A freshly booted monitor on a fresh machine: every granule UNDELEGATED, no VMID
    /// claimed.
    pub fn boot(&mut self) -> Rig {
        for entry in self.guard.storage {
            entry.store(0, Ordering::Relaxed);
        }
        self.guard.csm.reset();
        for vmid in std::mem::take(&mut self.guard.used) {
            self.guard.vmids.release(vmid);
        }
        let builder = ManifestBuilder {
            banks: BANKS.to_vec(),
            ..ManifestBuilder::qemu()
        };
        let page = builder.build();
        let args = qemu_args();
        let config = boot::cold_boot(
            args,
            QEMU_IMAGE,
            |_, out: &mut boot::manifest::PageWords| *out = boot::manifest::page_words(&page),
            &qemu_cpu(),
        )
        .expect("the fuzz rig's manifest is valid");
        let granules = GranuleTable::new(&config.manifest.dram, self.guard.storage)
            .expect("storage sized for the table");
        let monitor = Monitor::new(config, granules, self.guard.vmids, self.guard.csm);
        Rig::on(monitor, FakeMachine::new(&BANKS, CARVEOUT))
    }

    /// [`Lease::boot`] with attestation provisioned: the key and platform token of an earlier
    /// run given back with [`Lease::keep_attestation`], or (the first time in a process, or
    /// after a run that panicked) provisioned from the fake EL3's sample key and token. They
    /// never change after provisioning (the token sessions live in the RECs), so the monitor
    /// is as fresh as [`Lease::boot`]'s.
    pub fn boot_attested(&mut self) -> Rig {
        let rig = self.boot();
        let material = match self.guard.attestation.take() {
            Some(material) => material,
            None => {
                let buffer = vec![0u8; attest::token::collection::PLATFORM_TOKEN_MAX];
                attestation::provision(&rig.machine, buffer.leak())
                    .expect("the fake EL3's sample key and token provision")
            }
        };
        rig.monitor.attestation.call_once(|| material);
        rig
    }

    /// Takes the attestation material back from `rig` (a run's monitor, about to be
    /// dropped) for the next [`Lease::boot_attested`].
    pub fn keep_attestation(&mut self, rig: &mut Rig) {
        let once = std::mem::take(&mut rig.monitor.attestation);
        if let Some(material) = once.try_into_inner() {
            self.guard.attestation = Some(material);
        }
    }

    /// The image of `rig`, a monitor this lease booted or restored (no command running).
    pub fn image(&self, rig: &Rig) -> Image {
        assert!(
            core::ptr::eq(rig.monitor.vmids, self.guard.vmids)
                && core::ptr::eq(rig.monitor.csm, self.guard.csm),
            "an image of a monitor on another lease's state"
        );
        Image {
            config: rig.monitor.config,
            granules: self
                .guard
                .storage
                .iter()
                .map(|e| e.load(Ordering::Relaxed))
                .collect(),
            vmids: (0..=u16::MAX)
                .filter(|v| self.guard.vmids.is_claimed(*v))
                .collect(),
            csm: self.guard.csm.lock().clone(),
            machine: rig.machine.image(),
        }
    }

    /// The monitor of `image` on its machine, as [`Self::boot`] gives a fresh one: a new
    /// `Monitor` and `FakeMachine` over the shared storage, VMID set and CSM state, each
    /// overwritten with the image's (whatever the last run, of any target, left there).
    pub fn restore(&mut self, image: &Image) -> Rig {
        for (entry, word) in self.guard.storage.iter().zip(&image.granules) {
            entry.store(*word, Ordering::Relaxed);
        }
        *self.guard.csm.lock() = image.csm.clone();
        for vmid in std::mem::take(&mut self.guard.used) {
            self.guard.vmids.release(vmid);
        }
        for &vmid in &image.vmids {
            assert!(
                self.guard.vmids.claim(vmid),
                "VMID {vmid:#x} still claimed by an earlier run"
            );
            self.guard.used.push(vmid);
        }
        let granules = GranuleTable::new(&image.config.manifest.dram, self.guard.storage)
            .expect("storage sized for the table");
        let monitor = Monitor::new(image.config, granules, self.guard.vmids, self.guard.csm);
        Rig::on(monitor, FakeMachine::from_image(&image.machine))
    }

    /// Every granule whose descriptor is not UNDELEGATED with refcount 0, as
    /// `GranuleTable::snapshot` reports it (by ascending address): what the invariant checks
    /// look at after every command. The table is read through its storage, skipping runs of
    /// zero descriptors (UNDELEGATED, unlocked, unreferenced) instead of decoding 2,048 one
    /// by one. Call it between commands of a monitor on this lease.
    pub fn tracked_granules(&self) -> Tracked {
        let storage = self.guard.storage;
        let mut words = vec![0u16; storage.len()];
        // SAFETY: `AtomicU16` has the size, alignment and bit validity of `u16`, so `storage`
        // is `storage.len()` initialised `u16`s. Nothing writes them while this view lives:
        // only monitors booted or restored by the holder of this lease use the storage, and
        // the holder is here, between commands (the fake realm runs on its thread, inside a
        // command); the view ends with this copy.
        let view =
            unsafe { std::slice::from_raw_parts(storage.as_ptr().cast::<u16>(), storage.len()) };
        words.copy_from_slice(view);
        // The same descriptors as last time (most commands change none): the same answer.
        let cached = LAST_TRACKED.with_borrow(|last| {
            last.as_ref()
                .filter(|(before, _)| before[..] == words[..])
                .map(|(_, tracked)| tracked.clone())
        });
        if let Some(tracked) = cached {
            return tracked;
        }
        let mut out = Vec::new();
        let mut first = 0;
        for &(base, size) in &BANKS {
            let count = (size / GRANULE_SIZE as u64) as usize;
            let mut nonzero = Vec::new();
            nonzero_words(&words[first..first + count], 0, &mut nonzero);
            for (i, word) in nonzero {
                let (state, count) = (descriptor::decode_state(word), descriptor::refcount(word));
                if state != GranuleState::Undelegated || count != 0 {
                    out.push((base + (i * GRANULE_SIZE) as u64, state, count));
                }
            }
            first += count;
        }
        LAST_TRACKED.set(Some((words, out.clone())));
        out
    }

    /// The state of granule `pa` now, as `GranuleTable::state_unlocked` reads it (`None` if
    /// the table does not track it): straight from the storage.
    pub fn granule_state(&self, pa: u64) -> Option<GranuleState> {
        let mut first = 0;
        for &(base, size) in &BANKS {
            if pa >= base && pa - base < size && pa.is_multiple_of(GRANULE_SIZE as u64) {
                let index = first + ((pa - base) / GRANULE_SIZE as u64) as usize;
                let word = self.guard.storage.get(index)?.load(Ordering::Acquire);
                return Some(descriptor::decode_state(word));
            }
            first += (size / GRANULE_SIZE as u64) as usize;
        }
        None
    }

    /// Notes that a realm of this run may claim `vmid` (released at the next boot).
    pub fn note_vmid(&mut self, vmid: u16) {
        self.guard.used.push(vmid);
    }
}

/// Pushes on `out` (index, word) of every non-zero word of `words` (which start at index
/// `first`): a run of zeros is skipped with one `memcmp` against zeros the optimiser cannot
/// see (word by word each would be an instrumented comparison in a fuzz build), halving
/// down to 16 words.
fn nonzero_words(words: &[u16], first: usize, out: &mut Vec<(usize, u16)>) {
    static ZEROS: [u16; 4096] = [0; 4096];
    let zeros = std::hint::black_box(&ZEROS[..]);
    if words.len() <= zeros.len() && words == &zeros[..words.len()] {
        return;
    }
    if words.len() <= 16 {
        // Four words at a time, then one by one.
        for (q, quad) in words.chunks(4).enumerate() {
            let packed = quad.iter().fold(0u64, |acc, w| acc << 16 | u64::from(*w));
            if packed != 0 {
                out.extend(
                    quad.iter()
                        .enumerate()
                        .filter(|(_, w)| **w != 0)
                        .map(|(i, w)| (first + q * 4 + i, *w)),
                );
            }
        }
        return;
    }
    let half = words.len() / 2;
    nonzero_words(&words[..half], first, out);
    nonzero_words(&words[half..], first + half, out);
}
