// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Linux realm's memory: granule pools, stage-2 tables created on demand, the realm
//! build (REALM_CREATE, INIT_RIPAS, measured DATA_CREATE, REC_CREATE, ACTIVATE), and the
//! three ways RAM is backed later: protected pages on first touch, shared pages on first
//! touch, RIPAS changes (and the reclaim of DATA granules the realm makes EMPTY).
//!
//! NS memory used (QEMU `virt`, DRAM 0x4000_0000..0x1_0000_0000): the blobs QEMU loaded
//! (`xtask/src/linux/mod.rs` puts them at 0x8000_0000..0x9000_0000), [`DELEGATED`] for every
//! granule given to the realm, [`SHARED`] for its unprotected pages, [`HOST_PAGES`] for
//! parameter and run pages.

use super::desc::{Descriptor, FLAG_MEASURE};
use super::{Error, error};
use crate::realm::{MEASURE_CONTENT, NS_NORMAL_RW, PAGE, Shape, align_down, write_page};
use crate::rmi::{self, RmiRegs, status};
use crate::vmm_bail;
use attest::measurement::MeasuredRealmParams;
use rmm_abi::rmi::rec_params::{RecFlags, RecMpidr, RecParams};
use rmm_abi::rmi::states::HashAlgorithm;
use zerocopy::IntoBytes;

/// Granules delegated to the realm (RD, RTTs, RECs, DATA), bump-allocated.
const DELEGATED: (u64, u64) = (0x9000_0000, 0xF000_0000);
/// NS pages mapped into the realm's unprotected half.
const SHARED: (u64, u64) = (0xF000_0000, 0xFF00_0000);
/// The VMM's own NS pages (parameters, REC run pages).
const HOST_PAGES: (u64, u64) = (0xFF00_0000, 0xFF10_0000);
/// Pages backed at once around a protected or shared fault (64 KiB).
const FAULT_CHUNK: u64 = 16;
/// Stage-2 start level and concatenated roots for a 40-bit IPA space.
const START_LEVEL: i64 = 1;
/// VMID of the Linux realm.
const VMID: u64 = 7;
/// `RmiRipas` EMPTY, as a RIPAS change exit's `ripas_value` gives it.
const RIPAS_EMPTY: u64 = 0;
/// REC auxiliary granules at most.
const MAX_AUX: usize = 16;

/// One vCPU: its REC and run page.
#[derive(Clone, Copy)]
pub struct Vcpu {
    /// REC granule.
    pub rec: u64,
    /// Run page (NS).
    pub run: u64,
}

/// Counters for the statistics line.
#[derive(Default, Clone, Copy)]
pub struct MemStats {
    /// Protected pages backed on first touch.
    pub populated: u64,
    /// Protected faults served.
    pub protected_faults: u64,
    /// Unprotected pages mapped.
    pub shared: u64,
    /// Unprotected faults served.
    pub shared_faults: u64,
    /// RTTs created.
    pub rtts: u64,
    /// RIPAS change exits served, and pages they covered.
    pub ripas_changes: u64,
    /// Bytes whose RIPAS changed.
    pub ripas_bytes: u64,
    /// RIPAS change requests for EMPTY, and bytes they covered.
    pub empty_changes: u64,
    /// Bytes requested EMPTY.
    pub empty_bytes: u64,
    /// Counter ticks spent serving RIPAS changes (RTT_SET_RIPAS, tables, reclaim).
    pub ripas_ticks: u64,
    /// DATA granules reclaimed from RAM made EMPTY (DATA_DESTROY, GRANULE_UNDELEGATE).
    pub reclaimed: u64,
    /// Reclaimed granules given to the realm again.
    pub reused: u64,
    /// Counter ticks of the reclaim (part of `ripas_ticks`).
    pub reclaim_ticks: u64,
    /// Counter ticks taken by the build phases: INIT_RIPAS, DATA_CREATE, RECs + activate.
    pub build_ticks: [u64; 3],
    /// Counter ticks and pages of the measured DATA_CREATE of each blob: kernel, initrd, DTB.
    pub blob_ticks: [u64; 3],
    /// Pages of each blob.
    pub blob_pages: [u64; 3],
}

/// The realm and its memory.
pub struct Vm {
    /// RD granule.
    pub rd: u64,
    /// vCPUs (the first `vcpu_count`).
    pub vcpus: [Vcpu; super::vgic::MAX_VCPUS],
    /// How many vCPUs.
    pub vcpu_count: usize,
    /// Protected RAM `[ram_ipa, ram_end)`.
    pub ram_ipa: u64,
    /// End of RAM.
    pub ram_end: u64,
    /// The unprotected half starts here (the top IPA bit).
    pub shared_bit: u64,
    /// The measured fields of the parameters REALM_CREATE was given.
    pub params: MeasuredRealmParams,
    next_delegated: u64,
    spare: Option<u64>,
    /// Reclaimed (undelegated) granules, a list threaded through their first words.
    free: Option<u64>,
    next_shared: u64,
    next_host: u64,
    /// Statistics.
    pub stats: MemStats,
}

fn ok(r: RmiRegs, what: core::fmt::Arguments<'_>) -> Result<RmiRegs, Error> {
    if r.0[0] == status::SUCCESS {
        Ok(r)
    } else {
        Err(error(format_args!("{what} failed: {:#x}", r.0[0])))
    }
}

/// The level of an RMI_ERROR_RTT status, if it is one.
fn rtt_error_level(st: u64) -> Option<i64> {
    (st & 0xFF == 4).then_some(((st >> 8) & 0xFF) as i64)
}

fn zero_page(pa: u64) {
    for i in 0..PAGE / 8 {
        // SAFETY: `pa` is an NS page of the VMM's own pools ([`SHARED`], [`HOST_PAGES`]),
        // not delegated; aligned 8-byte stores with the MMU off.
        unsafe { core::ptr::write_volatile((pa + i * 8) as *mut u64, 0) };
    }
}

impl Vm {
    fn delegated(&mut self) -> Result<u64, Error> {
        if let Some(g) = self.spare.take() {
            return Ok(g);
        }
        let g = match self.free {
            Some(g) => {
                // SAFETY: `g` heads the free list: an NS page of [`DELEGATED`] this VMM
                // undelegated in `reclaim` and owns; aligned load with the MMU off.
                let next = unsafe { core::ptr::read_volatile(g as *const u64) };
                self.free = (next != 0).then_some(next);
                self.stats.reused += 1;
                g
            }
            None => {
                let g = self.next_delegated;
                if g >= DELEGATED.1 {
                    vmm_bail!("out of granules to delegate");
                }
                self.next_delegated += PAGE;
                g
            }
        };
        ok(
            rmi::granule_delegate(g, rmi::X4),
            format_args!("GRANULE_DELEGATE {g:#x}"),
        )?;
        Ok(g)
    }

    fn host_page(&mut self) -> Result<u64, Error> {
        let p = self.next_host;
        if p >= HOST_PAGES.1 {
            vmm_bail!("out of VMM pages");
        }
        self.next_host += PAGE;
        zero_page(p);
        Ok(p)
    }

    /// Creates the missing tables down to `level` (2 or 3) on the way to `ipa`.
    pub fn ensure_table(&mut self, ipa: u64, level: i64) -> Result<(), Error> {
        for l in START_LEVEL + 1..=level {
            let g = self.delegated()?;
            let r = rmi::rtt_create(self.rd, g, align_down(ipa, l - 1), l);
            if r.0[0] == status::SUCCESS {
                self.stats.rtts += 1;
            } else if rtt_error_level(r.0[0]).is_some() {
                // Already there.
                self.spare = Some(g);
            } else {
                vmm_bail!("RTT_CREATE {ipa:#x} level {l} failed: {:#x}", r.0[0]);
            }
        }
        Ok(())
    }

    /// Builds, loads and activates the realm `desc` describes.
    pub fn build(desc: &Descriptor) -> Result<Self, Error> {
        let vcpu_count = (desc.vcpus as usize).clamp(1, super::vgic::MAX_VCPUS);
        let mut vm = Self {
            rd: 0,
            vcpus: [Vcpu { rec: 0, run: 0 }; super::vgic::MAX_VCPUS],
            vcpu_count,
            ram_ipa: desc.ram_ipa,
            ram_end: desc.ram_ipa + desc.ram_size,
            shared_bit: 1 << (desc.s2sz - 1),
            params: MeasuredRealmParams {
                flags: 0,
                s2sz: 0,
                sve_vl: 0,
                num_bps: 0,
                num_wps: 0,
                pmu_num_ctrs: 0,
                hash_algo: HashAlgorithm::Sha256,
            },
            next_delegated: DELEGATED.0,
            spare: None,
            free: None,
            next_shared: SHARED.0,
            next_host: HOST_PAGES.0,
            stats: MemStats::default(),
        };
        let start = crate::regs::counter();
        let shape = Shape {
            s2sz: desc.s2sz,
            start_level: START_LEVEL,
            num_roots: if desc.s2sz > 39 {
                1 << (desc.s2sz - 39)
            } else {
                1
            },
            hash: 0,
            vmid: VMID,
        };
        vm.rd = vm.delegated()?;
        // Concatenated roots must be aligned to their total size.
        let roots = shape.num_roots;
        vm.next_delegated = vm.next_delegated.next_multiple_of(roots * PAGE);
        let rtt_base = vm.next_delegated;
        for _ in 0..roots {
            vm.delegated()?;
        }
        let params = vm.host_page()?;
        let realm_params = shape.params(rtt_base);
        let Some(hash_algo) = HashAlgorithm::from_u64(realm_params.hash_algo) else {
            vmm_bail!("hash algorithm {} unknown", realm_params.hash_algo);
        };
        vm.params = MeasuredRealmParams {
            flags: realm_params.flags,
            s2sz: realm_params.s2sz as u32,
            sve_vl: realm_params.sve_vl as u32,
            num_bps: realm_params.num_bps as u32,
            num_wps: realm_params.num_wps as u32,
            pmu_num_ctrs: realm_params.pmu_num_ctrs as u32,
            hash_algo,
        };
        crate::realm::write_realm_params(params, &realm_params);
        ok(
            rmi::realm_create(vm.rd, params),
            format_args!("REALM_CREATE"),
        )?;

        // All RAM RIPAS RAM while the tables are level-2 blocks.
        vm.ensure_table(vm.ram_ipa, 2)?;
        let mut base = vm.ram_ipa;
        while base < vm.ram_end {
            let r = rmi::rtt_init_ripas(vm.rd, base, vm.ram_end);
            match r.0[0] {
                status::SUCCESS => base = r.0[1],
                st => match rtt_error_level(st) {
                    Some(level) if level < 3 => vm.ensure_table(base, level + 1)?,
                    _ => vmm_bail!("RTT_INIT_RIPAS {base:#x}: {st:#x}"),
                },
            }
        }
        let t1 = crate::regs::counter();
        vm.stats.build_ticks[0] = t1 - start;

        // The blobs, in IPA order.
        let flags = if desc.flags & FLAG_MEASURE != 0 {
            MEASURE_CONTENT
        } else {
            0
        };
        let mut blobs = [(0, desc.kernel), (1, desc.initrd), (2, desc.dtb)];
        blobs.sort_unstable_by_key(|(_, b)| b.ipa);
        for (which, blob) in blobs.iter().filter(|(_, b)| b.len > 0) {
            let blob_start = crate::regs::counter();
            let pages = blob.len.div_ceil(PAGE);
            for i in 0..pages {
                let ipa = blob.ipa + i * PAGE;
                let data = vm.delegated()?;
                loop {
                    let r = rmi::data_create(vm.rd, data, ipa, blob.pa + i * PAGE, flags);
                    match r.0[0] {
                        status::SUCCESS => break,
                        st => match rtt_error_level(st) {
                            Some(level) if level < 3 => vm.ensure_table(ipa, 3)?,
                            _ => vmm_bail!("DATA_CREATE {ipa:#x}: {st:#x}"),
                        },
                    }
                }
            }
            vm.stats.blob_ticks[*which] = crate::regs::counter() - blob_start;
            vm.stats.blob_pages[*which] = pages;
        }
        let t2 = crate::regs::counter();
        vm.stats.build_ticks[1] = t2 - t1;

        // RECs.
        let aux_count = ok(rmi::rec_aux_count(vm.rd), format_args!("REC_AUX_COUNT"))?.0[1] as usize;
        if aux_count > MAX_AUX {
            vmm_bail!("RECs need {aux_count} auxiliary granules, at most {MAX_AUX} supported");
        }
        for index in 0..vcpu_count {
            let rec = vm.delegated()?;
            let mut p = RecParams::zeroed();
            if index == 0 {
                p.flags = RecFlags::RUNNABLE.bits();
                p.pc = desc.kernel.ipa;
                p.gprs[0] = desc.dtb.ipa;
            }
            p.mpidr = RecMpidr::from_index(index as u64).map_or(0, RecMpidr::bits);
            p.num_aux = aux_count as u64;
            for slot in p.aux.iter_mut().take(aux_count) {
                *slot = vm.delegated()?;
            }
            let page = vm.host_page()?;
            write_page(page, p.as_bytes());
            ok(
                rmi::rec_create(vm.rd, rec, page),
                format_args!("REC_CREATE {index}"),
            )?;
            vm.vcpus[index] = Vcpu {
                rec,
                run: vm.host_page()?,
            };
        }
        ok(rmi::realm_activate(vm.rd), format_args!("REALM_ACTIVATE"))?;
        vm.stats.build_ticks[2] = crate::regs::counter() - t2;
        Ok(vm)
    }

    /// Whether `ipa` (protected half) is RAM.
    pub fn is_ram(&self, ipa: u64) -> bool {
        (self.ram_ipa..self.ram_end).contains(&ipa)
    }

    /// A protected RAM page without DATA was touched: back the chunk around it with
    /// DATA_CREATE_UNKNOWN (pages already backed are skipped). DATA_CREATE_UNKNOWN keeps an
    /// entry's RIPAS, so a neighbour the realm made EMPTY gets a granule too (ASSIGNED_EMPTY,
    /// which the realm cannot touch); the ranges Linux makes EMPTY at boot (the swiotlb pool,
    /// 2 MiB aligned here, and the atomic pool, an order-5 buddy block) are 64 KiB aligned, so
    /// the chunks do not straddle them.
    pub fn populate(&mut self, ipa: u64) -> Result<(), Error> {
        self.stats.protected_faults += 1;
        let chunk = FAULT_CHUNK * PAGE;
        let first = (ipa & !(chunk - 1)).max(self.ram_ipa);
        let last = (first + chunk).min(self.ram_end);
        let mut page = first;
        while page < last {
            let data = self.delegated()?;
            let r = rmi::data_create_unknown(self.rd, data, page);
            match r.0[0] {
                status::SUCCESS => {
                    self.stats.populated += 1;
                    page += PAGE;
                }
                st => match rtt_error_level(st) {
                    Some(level) if level < 3 => {
                        self.spare = Some(data);
                        self.ensure_table(page, 3)?;
                    }
                    Some(_) => {
                        // Assigned already: keep the granule for the next one.
                        self.spare = Some(data);
                        if page == ipa & !(PAGE - 1) {
                            vmm_bail!(
                                "protected fault at {ipa:#x}, but its page is already backed"
                            );
                        }
                        page += PAGE;
                    }
                    None => vmm_bail!("DATA_CREATE_UNKNOWN {page:#x}: {st:#x}"),
                },
            }
        }
        Ok(())
    }

    /// An unprotected RAM alias was touched: map NS pages at the chunk around it.
    pub fn map_shared(&mut self, ipa: u64) -> Result<(), Error> {
        self.stats.shared_faults += 1;
        let chunk = FAULT_CHUNK * PAGE;
        let first = (ipa & !(chunk - 1)).max(self.ram_ipa | self.shared_bit);
        let last = (first + chunk).min(self.ram_end | self.shared_bit);
        let mut page = first;
        let mut ns = None;
        while page < last {
            let pa = match ns.take() {
                Some(pa) => pa,
                None => {
                    let pa = self.next_shared;
                    if pa >= SHARED.1 {
                        vmm_bail!("out of NS pages to share");
                    }
                    self.next_shared += PAGE;
                    zero_page(pa);
                    pa
                }
            };
            let r = rmi::rtt_map_unprotected(self.rd, page, 3, pa | NS_NORMAL_RW);
            match r.0[0] {
                status::SUCCESS => {
                    self.stats.shared += 1;
                    page += PAGE;
                }
                st => match rtt_error_level(st) {
                    Some(level) if level < 3 => {
                        ns = Some(pa);
                        self.ensure_table(page, 3)?;
                    }
                    Some(_) => {
                        ns = Some(pa);
                        if page == ipa & !(PAGE - 1) {
                            vmm_bail!("unprotected fault at {ipa:#x}, but it is mapped");
                        }
                        page += PAGE;
                    }
                    None => vmm_bail!("RTT_MAP_UNPROTECTED {page:#x}: {st:#x}"),
                },
            }
        }
        if let Some(pa) = ns {
            // Unused: give it back.
            if pa + PAGE == self.next_shared {
                self.next_shared = pa;
            }
        }
        Ok(())
    }

    /// Serves a RIPAS change request of `rec` for `[base, top)` to `ripas` (0 EMPTY, 1 RAM):
    /// RTT_SET_RIPAS until done, creating tables where the range splits a block; then, for
    /// EMPTY, the DATA granules mapped there are reclaimed ([`Self::reclaim`]).
    pub fn set_ripas(&mut self, rec: u64, base: u64, top: u64, ripas: u64) -> Result<(), Error> {
        let start = crate::regs::counter();
        self.stats.ripas_changes += 1;
        self.stats.ripas_bytes += top.saturating_sub(base);
        let mut at = base;
        while at < top {
            let r = rmi::rtt_set_ripas(self.rd, rec, at, top);
            match r.0[0] {
                status::SUCCESS => at = r.0[1],
                st => match rtt_error_level(st) {
                    Some(level) if level < 3 => self.ensure_table(at, level + 1)?,
                    _ => vmm_bail!("RTT_SET_RIPAS [{at:#x}, {top:#x}): {st:#x}"),
                },
            }
        }
        if ripas == RIPAS_EMPTY {
            self.stats.empty_changes += 1;
            self.stats.empty_bytes += top.saturating_sub(base);
            self.reclaim(base, top)?;
        }
        self.stats.ripas_ticks += crate::regs::counter() - start;
        Ok(())
    }

    /// Reclaims the DATA granules of `[base, top)`, which the realm made RIPAS EMPTY: each
    /// ASSIGNED entry is destroyed (RMI_DATA_DESTROY: ASSIGNED_EMPTY → UNASSIGNED_EMPTY, or
    /// DESTROYED if the realm kept DESTROYED pages there) and its granule undelegated onto the
    /// free list [`Self::delegated`] takes from. Entries without DATA are skipped with the
    /// top of the non-live region DATA_DESTROY returns with ERROR_RTT.
    fn reclaim(&mut self, base: u64, top: u64) -> Result<(), Error> {
        let start = crate::regs::counter();
        let mut at = base;
        while at < top {
            let r = rmi::data_destroy(self.rd, at);
            match r.0[0] {
                status::SUCCESS => {
                    let g = r.0[1];
                    ok(
                        rmi::granule_undelegate(g, rmi::X4),
                        format_args!("GRANULE_UNDELEGATE {g:#x}"),
                    )?;
                    // SAFETY: `g` was this realm's DATA granule and is NS again (undelegated,
                    // scrubbed by the RMM); the VMM owns it. Aligned store with the MMU off.
                    unsafe { core::ptr::write_volatile(g as *mut u64, self.free.unwrap_or(0)) };
                    self.free = Some(g);
                    self.stats.reclaimed += 1;
                }
                st if rtt_error_level(st).is_some() => {}
                st => vmm_bail!("DATA_DESTROY {at:#x}: {st:#x}"),
            }
            // x2: the top of the non-live region from `at` (on success and on ERROR_RTT).
            at = r.0[2].max(at + PAGE);
        }
        self.stats.reclaim_ticks += crate::regs::counter() - start;
        Ok(())
    }
}
