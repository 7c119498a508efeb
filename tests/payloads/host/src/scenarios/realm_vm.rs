// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`TestVm`]: the test realm (`tests/payloads/realm`) built the way a hypervisor builds a
//! VM: its image loaded into protected memory with measured DATA_CREATE, its RECs created,
//! the RIM computed here from what was loaded, and everything taken apart again at the end.
//!
//! [`VmSpec`] says what varies between scenarios: how many RECs and whether all are
//! runnable, another RAM range, shared (unprotected) pages the realm writes results to.
//!
//! A `TestVm` is shared by the CPUs that run its RECs, so everything that changes while it
//! runs (the granule pool, the pages populated on faults, the answer to the next RIPAS
//! change, which RECs were started) sits behind a lock or in an atomic.
//!
//! Memory: window 5 of the realm pool (4 MiB delegated, 4 MiB NS pages).

use super::pool::{Pool, check, check_ok};
use super::realms::{Realm, VMID_EXEC, shape, window};
use crate::realm::{
    MEASURE_CONTENT, NS_NORMAL_RW, PAGE, write_page, write_realm_params, write_rec_params,
};
use crate::rmi::{self, X4, status};
use crate::runner::{Failure, Outcome};
use crate::{ensure, fail, realm_image};
use attest::measurement::{MeasuredRealmParams, extend_data, extend_rec, extend_ripas, rim_init};
use attest::sha::SOFT as SOFT_ENGINE;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use realm_protocol::{
    MAX_RECS, REALM_IMAGE_BASE, RipasPolicy, Scenario as RealmScenario, rpv_byte,
};
use rmm_abi::measurement::Measurement;
use rmm_abi::rmi::rec_params::{RecMpidr, RecParams};
use rmm_abi::rmi::rec_run::REC_GIC_NUM_LRS;
use rmm_abi::rmi::states::HashAlgorithm;

/// An IPA with RIPAS RAM and no DATA, for the populate scenario (same level-3 table as the
/// image).
pub const POPULATE_IPA: u64 = 0x10_0000;

/// Whether VMs built from now on compute their RIM here (see [`set_host_rims`]).
static HOST_RIMS: AtomicBool = AtomicBool::new(true);

/// Switches the host's own RIM computation of the VMs built from now on on or off. Off,
/// [`TestVm::rim`] is only `rim_init`'s value. The benchmarks switch it off: they never check
/// a RIM, and the host's software SHA-256 costs about 134,000 instructions per image page,
/// which the traced benchmark boot would log line by line.
pub fn set_host_rims(on: bool) {
    HOST_RIMS.store(on, Ordering::SeqCst);
}

/// Whether VMs compute their RIM here.
pub fn host_rims() -> bool {
    HOST_RIMS.load(Ordering::SeqCst)
}

/// The GIC fields of an exit (`RmiRecExit`).
#[derive(Debug, Clone, Copy)]
pub struct ExitGic {
    /// `gicv3_hcr`.
    pub hcr: u64,
    /// `gicv3_lrs`.
    pub lrs: [u64; REC_GIC_NUM_LRS],
    /// `gicv3_misr`.
    pub misr: u64,
    /// `gicv3_vmcr`.
    pub vmcr: u64,
}

/// Pages each REC's auxiliary granules take.
const AUX: u64 = 16;

/// Most pages populated on faults in one VM.
const MAX_POPULATED: usize = 16;

/// Pages populated on faults (DATA_CREATE_UNKNOWN), to destroy at the end.
struct Populated {
    ipas: [u64; MAX_POPULATED],
    len: usize,
}

/// What to build: the scenario and registers every REC starts with, and the VM around it.
#[derive(Debug, Clone, Copy)]
pub struct VmSpec {
    /// The scenario (x0).
    pub scenario: RealmScenario,
    /// x1: with `shared`, also where the shared pages start (in the unprotected half).
    pub x1: u64,
    /// x2.
    pub x2: u64,
    /// x3.
    pub x3: u64,
    /// The realm's hash algorithm.
    pub hash: HashAlgorithm,
    /// Activate the realm.
    pub activate: bool,
    /// RECs (1..=MAX_RECS).
    pub recs: usize,
    /// Every REC runnable from the start (else only REC 0; the others wait for CPU_ON).
    pub all_runnable: bool,
    /// Another protected range with RIPAS RAM (measured) and no DATA.
    pub ram: Option<(u64, u64)>,
    /// One unprotected page per REC mapped at `x1 + i * 4096`.
    pub shared: bool,
}

/// A loaded test realm.
pub struct TestVm {
    pool: spin::Mutex<Pool>,
    /// The realm.
    pub realm: Realm,
    tables: [u64; 4],
    /// Tables of the unprotected half down to level 3 at the shared pages, if any.
    high_tables: Option<[u64; 4]>,
    /// Where the shared pages start in the unprotected half (0 if none).
    pub shared_ipa: u64,
    /// The NS page mapped at `shared_ipa + i * 4096` for REC `i` (0 if none).
    pub shared: [u64; MAX_RECS],
    /// The RECs, by index (the first `rec_count`).
    pub recs: [u64; MAX_RECS],
    /// Each REC's run page.
    pub runs: [u64; MAX_RECS],
    /// How many RECs.
    pub rec_count: usize,
    /// DATA granules by page index from the image base.
    pages: u64,
    /// The RIM computed here from what was loaded.
    pub rim: Measurement,
    /// The realm's hash algorithm.
    pub hash: HashAlgorithm,
    populated: spin::Mutex<Populated>,
    /// The answer to the next RIPAS change and its page count.
    ripas_policy: spin::Mutex<(RipasPolicy, u64)>,
    /// RECs started with CPU_ON (bit per index).
    started: AtomicU64,
    /// Put in front of the realm's check names (the RSI checks run once per hash).
    pub label: &'static str,
}

fn rd64(pa: u64) -> u64 {
    // SAFETY: `pa` is in a run page, an NS granule this hypervisor owns; aligned load.
    unsafe { core::ptr::read_volatile(pa as *const u64) }
}

fn wr64(pa: u64, value: u64) {
    // SAFETY: as in `rd64`; aligned store.
    unsafe { core::ptr::write_volatile(pa as *mut u64, value) }
}

impl TestVm {
    /// Creates, loads and (if `activate`) activates a realm running `scenario` on one REC.
    pub fn build(
        scenario: RealmScenario,
        x2: u64,
        x3: u64,
        hash: HashAlgorithm,
        activate: bool,
    ) -> Result<Self, Failure> {
        Self::build_with(scenario, x2, x3, hash, activate, 1)
    }

    /// [`TestVm::build`] with `recs` RECs: REC 0 runnable, the others waiting for CPU_ON.
    pub fn build_with(
        scenario: RealmScenario,
        x2: u64,
        x3: u64,
        hash: HashAlgorithm,
        activate: bool,
        recs: usize,
    ) -> Result<Self, Failure> {
        Self::from_spec(&VmSpec {
            scenario,
            x1: 0,
            x2,
            x3,
            hash,
            activate,
            recs,
            all_runnable: false,
            ram: None,
            shared: false,
        })
    }

    /// Builds the VM `spec` describes (window 5 of the realm pool, the test realm's VMID).
    pub fn from_spec(spec: &VmSpec) -> Result<Self, Failure> {
        Self::from_spec_in(spec, window(5), VMID_EXEC)
    }

    /// Builds the VM `spec` describes from the granules of `pool`, with VMID `vmid` (realms
    /// that live at the same time each need their own pool and VMID).
    pub fn from_spec_in(spec: &VmSpec, pool: Pool, vmid: u64) -> Result<Self, Failure> {
        Self::from_image(spec, pool, vmid, realm_image::IMAGE)
    }

    /// [`TestVm::from_spec_in`] with the realm image `image` (the test realm or its
    /// `msgbench` build, `realm_image`).
    pub fn from_image(
        spec: &VmSpec,
        mut pool: Pool,
        vmid: u64,
        image: &'static [u8],
    ) -> Result<Self, Failure> {
        let VmSpec {
            scenario,
            x1,
            x2,
            x3,
            hash,
            activate,
            recs,
            ..
        } = *spec;
        let Some(pages) = realm_image::pages_of(image) else {
            fail!(
                "no test realm image embedded ({} bytes): build with `cargo xtask build`",
                image.len()
            );
        };
        ensure!(
            (1..=MAX_RECS).contains(&recs),
            "{recs} RECs asked for, the test realm supports 1..={MAX_RECS}"
        );
        let shape = shape(40, 1, 2, hash as u64, vmid);
        let rd = pool.delegate()?;
        let rtt_base = pool.delegate_aligned(shape.num_roots, shape.num_roots * PAGE)?;
        let params_page = pool.ns_page()?;
        let mut params = shape.params(rtt_base);
        params.rpv = core::array::from_fn(rpv_byte);
        write_realm_params(params_page, &params);
        check_ok(
            rmi::realm_create(rd, params_page),
            format_args!("REALM_CREATE"),
        )?;
        let realm = Realm {
            rd,
            rtt_base,
            shape,
        };
        let mut rim = rim_init(
            &SOFT_ENGINE,
            &MeasuredRealmParams {
                flags: 0,
                s2sz: 40,
                sve_vl: 0,
                num_bps: 2,
                num_wps: 2,
                pmu_num_ctrs: 0,
                hash_algo: hash,
            },
        );
        let tables = realm.new_tables_to(&mut pool, 0, 3)?;

        let image_top = REALM_IMAGE_BASE + pages * PAGE;
        let ram = [
            Some((REALM_IMAGE_BASE, image_top)),
            Some((POPULATE_IPA, POPULATE_IPA + PAGE)),
            spec.ram,
        ];
        for (base, top) in ram.into_iter().flatten() {
            check(
                rmi::rtt_init_ripas(rd, base, top),
                [status::SUCCESS, top, 0, 0, X4],
                format_args!("RTT_INIT_RIPAS({base:#x}, {top:#x})"),
            )?;
            for page in (base..top).step_by(PAGE as usize).filter(|_| host_rims()) {
                rim = extend_ripas(&SOFT_ENGINE, hash, &rim, page, page + PAGE);
            }
        }
        for n in 0..pages {
            let ipa = REALM_IMAGE_BASE + n * PAGE;
            let data = pool.delegate()?;
            let src = pool.ns_page()?;
            let content = realm_image::page_of(image, n);
            write_page(src, &content);
            check(
                rmi::data_create(rd, data, ipa, src, MEASURE_CONTENT),
                [status::SUCCESS, 0, 0, 0, src],
                format_args!("DATA_CREATE(image page {n})"),
            )?;
            if host_rims() {
                rim = extend_data(&SOFT_ENGINE, hash, &rim, ipa, MEASURE_CONTENT, &content);
            }
        }

        let mut rec_pas = [0u64; MAX_RECS];
        let mut runs = [0u64; MAX_RECS];
        for index in 0..recs {
            let rec = pool.delegate()?;
            let aux_base = pool.delegate_run(AUX)?;
            let rec_page = pool.ns_page()?;
            let aux: [u64; AUX as usize] = core::array::from_fn(|i| aux_base + i as u64 * PAGE);
            let runnable = index == 0 || spec.all_runnable;
            let mut rec_params = RecParams::zeroed();
            rec_params.flags = u64::from(runnable);
            rec_params.mpidr = RecMpidr::from_index(index as u64).map_or(0, RecMpidr::bits);
            rec_params.pc = REALM_IMAGE_BASE;
            rec_params.gprs = [scenario as u64, x1, x2, x3, 0, 0, 0, 0];
            rec_params.num_aux = AUX;
            rec_params.aux[..AUX as usize].copy_from_slice(&aux);
            write_rec_params(rec_page, &rec_params);
            check_ok(
                rmi::rec_create(rd, rec, rec_page),
                format_args!("REC_CREATE({index})"),
            )?;
            // Only runnable RECs are measured.
            if runnable && host_rims() {
                rim = extend_rec(
                    &SOFT_ENGINE,
                    hash,
                    &rim,
                    1,
                    REALM_IMAGE_BASE,
                    &rec_params.gprs,
                );
            }
            rec_pas[index] = rec;
            let run = pool.ns_page()?;
            write_page(run, &[0u8; 4096]);
            runs[index] = run;
        }
        let mut shared = [0u64; MAX_RECS];
        let (shared_ipa, high_tables) = if spec.shared {
            let shared_ipa = x1;
            let high = realm.new_tables_to(&mut pool, shared_ipa, 3)?;
            for (i, ns) in shared.iter_mut().enumerate().take(recs) {
                *ns = pool.ns_page()?;
                write_page(*ns, &[0u8; 4096]);
                let ipa = shared_ipa + i as u64 * PAGE;
                let desc = *ns | NS_NORMAL_RW;
                check(
                    rmi::rtt_map_unprotected(rd, ipa, 3, desc),
                    [status::SUCCESS, 0, 0, 0, desc],
                    format_args!("RTT_MAP_UNPROTECTED({ipa:#x})"),
                )?;
            }
            (shared_ipa, Some(high))
        } else {
            (0, None)
        };
        if activate {
            check_ok(rmi::realm_activate(rd), format_args!("REALM_ACTIVATE"))?;
        }
        Ok(Self {
            pool: spin::Mutex::new(pool),
            realm,
            tables,
            high_tables,
            shared_ipa,
            shared,
            recs: rec_pas,
            runs,
            rec_count: recs,
            pages,
            rim,
            hash,
            populated: spin::Mutex::new(Populated {
                ipas: [0; MAX_POPULATED],
                len: 0,
            }),
            ripas_policy: spin::Mutex::new((RipasPolicy::Accept, 0)),
            started: AtomicU64::new(1),
            label: match hash {
                HashAlgorithm::Sha256 => "",
                HashAlgorithm::Sha512 => "sha512.",
            },
        })
    }

    /// How many granules the VM holds delegated (its image, RECs, tables and RD).
    pub fn granules(&self) -> u64 {
        self.pool.lock().delegated()
    }

    /// Destroys everything and undelegates every granule.
    pub fn tear_down(&self) -> Outcome {
        let rd = self.realm.rd;
        if self.high_tables.is_some() {
            for i in 0..self.rec_count {
                let ipa = self.shared_ipa + i as u64 * PAGE;
                let out = rmi::rtt_unmap_unprotected(rd, ipa, 3);
                ensure!(
                    out.0[0] == status::SUCCESS,
                    "RTT_UNMAP_UNPROTECTED({ipa:#x}) gave {:#x}",
                    out.0[0]
                );
            }
        }
        for n in 0..self.pages {
            let ipa = REALM_IMAGE_BASE + n * PAGE;
            let out = rmi::data_destroy(rd, ipa);
            ensure!(
                out.0[0] == status::SUCCESS,
                "DATA_DESTROY({ipa:#x}) gave {:#x}",
                out.0[0]
            );
        }
        let populated = self.populated.lock();
        for &ipa in &populated.ipas[..populated.len] {
            let out = rmi::data_destroy(rd, ipa);
            ensure!(
                out.0[0] == status::SUCCESS,
                "DATA_DESTROY(populated page {ipa:#x}) gave {:#x}",
                out.0[0]
            );
        }
        drop(populated);
        for (index, &rec) in self.recs[..self.rec_count].iter().enumerate() {
            check_ok(rmi::rec_destroy(rec), format_args!("REC_DESTROY({index})"))?;
        }
        if let Some(high) = &self.high_tables {
            self.realm.destroy_tables(self.shared_ipa, high)?;
        }
        self.realm.destroy_tables(0, &self.tables)?;
        self.realm.destroy()?;
        self.pool.lock().undelegate_all()
    }

    /// Enters REC `rec` with `flags` and host-call/MMIO results `gprs`; returns RMI x0.
    pub fn enter(&self, rec: usize, flags: u64, gprs: &[u64]) -> u64 {
        let run = self.runs[rec];
        wr64(run, flags);
        for i in 0..31 {
            wr64(
                run + 0x200 + i * 8,
                gprs.get(i as usize).copied().unwrap_or(0),
            );
        }
        rmi::rec_enter(self.recs[rec], run).0[0]
    }

    /// Word at `offset` of the exit half of REC `rec`'s run page.
    pub fn exit_word(&self, rec: usize, offset: u64) -> u64 {
        rd64(self.runs[rec] + 0x800 + offset)
    }

    /// Writes `value` over the exit reason of REC `rec`'s run page (a marker showing whether
    /// a REC_ENTER wrote the exit).
    pub fn mark_exit(&self, rec: usize, value: u64) {
        wr64(self.runs[rec] + 0x800, value);
    }

    /// Sets the GIC part of REC `rec`'s entries (`gicv3_hcr` and the 16 `gicv3_lrs`); it
    /// stays in the run page for every later entry until set again.
    pub fn set_gic(&self, rec: usize, hcr: u64, lrs: &[u64; REC_GIC_NUM_LRS]) {
        let run = self.runs[rec];
        wr64(run + 0x300, hcr);
        for (i, lr) in lrs.iter().enumerate() {
            wr64(run + 0x308 + i as u64 * 8, *lr);
        }
    }

    /// The GIC part of REC `rec`'s last exit.
    pub fn exit_gic(&self, rec: usize) -> ExitGic {
        ExitGic {
            hcr: self.exit_word(rec, 0x300),
            lrs: core::array::from_fn(|i| self.exit_word(rec, 0x308 + i as u64 * 8)),
            misr: self.exit_word(rec, 0x388),
            vmcr: self.exit_word(rec, 0x390),
        }
    }

    /// Gives the realm a zeroed page at the protected `ipa` (RIPAS RAM, no DATA yet).
    pub fn populate(&self, ipa: u64) -> Outcome {
        let mut populated = self.populated.lock();
        ensure!(
            populated.len < MAX_POPULATED,
            "more than {MAX_POPULATED} pages populated"
        );
        let data = self.pool.lock().delegate()?;
        check_ok(
            rmi::data_create_unknown(self.realm.rd, data, ipa),
            format_args!("DATA_CREATE_UNKNOWN({ipa:#x}) on the fault"),
        )?;
        let len = populated.len;
        populated.ipas[len] = ipa;
        populated.len += 1;
        Ok(())
    }

    /// Whether `ipa` was populated on a fault (and not taken away since).
    pub fn is_populated(&self, ipa: u64) -> bool {
        let populated = self.populated.lock();
        populated.ipas[..populated.len].contains(&ipa)
    }

    /// Takes the populated page at `ipa` away with DATA_DESTROY.
    pub fn destroy_page(&self, ipa: u64) -> Outcome {
        let mut populated = self.populated.lock();
        let len = populated.len;
        let Some(at) = populated.ipas[..len].iter().position(|&p| p == ipa) else {
            fail!("the realm asked to destroy {ipa:#x}, which was not populated");
        };
        let out = rmi::data_destroy(self.realm.rd, ipa);
        ensure!(
            out.0[0] == status::SUCCESS,
            "DATA_DESTROY({ipa:#x}) gave {:#x}",
            out.0[0]
        );
        populated.ipas.copy_within(at + 1..len, at);
        populated.len -= 1;
        Ok(())
    }

    /// Sets how the next RIPAS change is answered.
    pub fn set_ripas_policy(&self, policy: RipasPolicy, pages: u64) {
        *self.ripas_policy.lock() = (policy, pages);
    }

    /// How to answer this RIPAS change (the policy goes back to `Accept` afterwards).
    pub fn take_ripas_policy(&self) -> (RipasPolicy, u64) {
        core::mem::replace(&mut *self.ripas_policy.lock(), (RipasPolicy::Accept, 0))
    }

    /// Marks REC `rec` started; false if it already was.
    pub fn mark_started(&self, rec: usize) -> bool {
        self.started.fetch_or(1 << rec, Ordering::SeqCst) & (1 << rec) == 0
    }
}
