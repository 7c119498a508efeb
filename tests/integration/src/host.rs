// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`Host`]: a test host on top of a [`Rig`]: a bump allocator of NS granules, parameter pages
//! written into host memory, and one method per RMI command returning the raw x0..x4.
//!
//! The methods do not interpret results; tests assert exact registers. Helpers whose name
//! starts with `must_` assert success themselves, for setting up the state a test needs.

use crate::Rig;
use core::cell::Cell;
use rmm_abi::rmi::fid;
use rmm_abi::rmi::realm_params::RealmParams;
use rmm_abi::rmi::rec_params::RecParams;
use zerocopy::IntoBytes;

/// x4 value the tests pass, to check it is preserved where a command does not define it.
pub const X4: u64 = 0x4444_4444_4444_4444;

/// First granule the allocator hands out (QEMU DRAM, well clear of the RMM carve-out).
pub const POOL_BASE: u64 = 0x8000_0000;

/// Packed status values.
pub mod status {
    /// RMI_SUCCESS.
    pub const SUCCESS: u64 = 0;
    /// RMI_ERROR_INPUT.
    pub const INPUT: u64 = 1;
    /// RMI_ERROR_REALM with index `i`.
    pub const fn realm(i: u64) -> u64 {
        2 | (i << 8)
    }
    /// RMI_ERROR_REC.
    pub const REC: u64 = 3;
    /// RMI_ERROR_RTT at `level`.
    pub const fn rtt(level: u64) -> u64 {
        4 | (level << 8)
    }
}

/// A test host.
pub struct Host {
    /// The monitor and machine.
    pub rig: Rig,
    next: Cell<u64>,
}

/// Realm shape for [`Host::realm_params`].
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// IPA width.
    pub s2sz: u64,
    /// Start level.
    pub start_level: i64,
    /// Number of starting-level tables.
    pub num_roots: u64,
    /// 0 = SHA-256, 1 = SHA-512.
    pub hash: u64,
    /// VMID.
    pub vmid: u64,
}

impl Default for Shape {
    /// A 40-bit realm with two concatenated level-1 roots, SHA-256, VMID 1.
    fn default() -> Self {
        Self {
            s2sz: 40,
            start_level: 1,
            num_roots: 2,
            hash: 0,
            vmid: 1,
        }
    }
}

/// A realm created by [`Host::must_create_realm`].
#[derive(Debug, Clone, Copy)]
pub struct TestRealm {
    /// RD granule.
    pub rd: u64,
    /// First root table.
    pub rtt_base: u64,
    /// Its shape.
    pub shape: Shape,
}

impl Default for Host {
    fn default() -> Self {
        Self::new()
    }
}

impl Host {
    /// A host on a QEMU-shaped rig.
    pub fn new() -> Self {
        Self::on(Rig::qemu())
    }

    /// A host on `rig`.
    pub fn on(rig: Rig) -> Self {
        Self {
            rig,
            next: Cell::new(POOL_BASE),
        }
    }

    /// A host on `rig` whose allocator goes on from `next` (what [`Self::next_free`] said of
    /// the host whose state `rig` was restored from).
    pub fn resume(rig: Rig, next: u64) -> Self {
        Self {
            rig,
            next: Cell::new(next),
        }
    }

    /// The granule the allocator hands out next.
    pub fn next_free(&self) -> u64 {
        self.next.get()
    }

    /// `n` fresh contiguous NS granules; returns the first.
    pub fn alloc(&self, n: u64) -> u64 {
        let pa = self.next.get();
        self.next.set(pa + n * 0x1000);
        pa
    }

    /// `n` contiguous granules aligned to `n` granules.
    pub fn alloc_aligned(&self, n: u64) -> u64 {
        let align = n.next_power_of_two() * 0x1000;
        let pa = self.next.get().next_multiple_of(align);
        self.next.set(pa + n * 0x1000);
        pa
    }

    /// The granule table's refcount for `pa`.
    pub fn refcount(&self, pa: u64) -> u16 {
        let addr = rmm::granule::GranuleAddr::new(pa).expect("aligned");
        self.rig
            .monitor
            .granules
            .snapshot()
            .find(|(a, _, _)| *a == addr)
            .map(|(_, _, count)| count)
            .expect("tracked")
    }

    /// Raw RMI call.
    pub fn call(&self, fid: u32, args: &[u64]) -> [u64; 5] {
        self.rig.call(u64::from(fid), args)
    }

    /// GRANULE_DELEGATE.
    pub fn delegate(&self, pa: u64) -> [u64; 5] {
        self.call(fid::GRANULE_DELEGATE, &[pa])
    }

    /// GRANULE_UNDELEGATE.
    pub fn undelegate(&self, pa: u64) -> [u64; 5] {
        self.call(fid::GRANULE_UNDELEGATE, &[pa])
    }

    /// A fresh delegated granule.
    pub fn must_delegated(&self) -> u64 {
        let pa = self.alloc(1);
        assert_eq!(self.delegate(pa)[0], 0, "delegate {pa:#x}");
        pa
    }

    /// `n` fresh contiguous delegated granules.
    pub fn must_delegated_run(&self, n: u64) -> u64 {
        let pa = self.alloc_aligned(n);
        for i in 0..n {
            assert_eq!(self.delegate(pa + i * 0x1000)[0], 0);
        }
        pa
    }

    /// Writes `bytes` (at most a granule) to a fresh NS granule; returns its address.
    pub fn ns_page(&self, bytes: &[u8]) -> u64 {
        let pa = self.alloc(1);
        let mut page = [0u8; 4096];
        page[..bytes.len()].copy_from_slice(bytes);
        self.rig.machine.host_write(pa, &page).expect("NS granule");
        pa
    }

    /// RmiRealmParams for `shape` with `rtt_base`.
    pub fn realm_params(shape: &Shape, rtt_base: u64) -> RealmParams {
        let mut p = RealmParams::zeroed();
        p.s2sz = shape.s2sz;
        p.hash_algo = shape.hash;
        p.num_bps = 2;
        p.num_wps = 2;
        p.vmid = shape.vmid;
        p.rtt_base = rtt_base;
        p.rtt_level_start = shape.start_level;
        p.rtt_num_start = shape.num_roots;
        p
    }

    /// REALM_CREATE with `params` written to a fresh NS page.
    pub fn realm_create(&self, rd: u64, params: &RealmParams) -> [u64; 5] {
        let page = self.ns_page(params.as_bytes());
        self.call(fid::REALM_CREATE, &[rd, page, 0, X4])
    }

    /// Delegates an RD and the roots and creates a realm of `shape`.
    pub fn must_create_realm(&self, shape: Shape) -> TestRealm {
        let rd = self.must_delegated();
        let rtt_base = self.must_delegated_run(shape.num_roots);
        let params = Self::realm_params(&shape, rtt_base);
        let out = self.realm_create(rd, &params);
        assert_eq!(out[0], 0, "REALM_CREATE {shape:?}");
        TestRealm {
            rd,
            rtt_base,
            shape,
        }
    }

    /// REALM_ACTIVATE.
    pub fn realm_activate(&self, rd: u64) -> [u64; 5] {
        self.call(fid::REALM_ACTIVATE, &[rd, 0, 0, X4])
    }

    /// REALM_DESTROY.
    pub fn realm_destroy(&self, rd: u64) -> [u64; 5] {
        self.call(fid::REALM_DESTROY, &[rd, 0, 0, X4])
    }

    /// RTT_CREATE.
    pub fn rtt_create(&self, rd: u64, rtt: u64, ipa: u64, level: i64) -> [u64; 5] {
        self.call(fid::RTT_CREATE, &[rd, rtt, ipa, level as u64])
    }

    /// Creates the tables that map `ipa` from the start level down to `level` (those that do
    /// not exist yet); returns the new ones, top-down.
    pub fn must_tables_to(&self, realm: &TestRealm, ipa: u64, level: i64) -> Vec<u64> {
        let mut tables = Vec::new();
        for l in realm.shape.start_level + 1..=level {
            let shift = 12 + 9 * (3 - (l - 1)) as u64;
            let parent_ipa = ipa & !((1 << shift) - 1);
            let existing = self.read_entry(realm.rd, parent_ipa, l - 1);
            if existing[0] == 0 && existing[1] == (l - 1) as u64 && existing[2] == 2 {
                continue;
            }
            let rtt = self.must_delegated();
            let out = self.rtt_create(realm.rd, rtt, parent_ipa, l);
            assert_eq!(out[0], 0, "RTT_CREATE level {l} for {ipa:#x}");
            tables.push(rtt);
        }
        tables
    }

    /// RTT_DESTROY.
    pub fn rtt_destroy(&self, rd: u64, ipa: u64, level: i64) -> [u64; 5] {
        self.call(fid::RTT_DESTROY, &[rd, ipa, level as u64, X4])
    }

    /// RTT_FOLD.
    pub fn rtt_fold(&self, rd: u64, ipa: u64, level: i64) -> [u64; 5] {
        self.call(fid::RTT_FOLD, &[rd, ipa, level as u64, X4])
    }

    /// RTT_READ_ENTRY.
    pub fn read_entry(&self, rd: u64, ipa: u64, level: i64) -> [u64; 5] {
        self.call(fid::RTT_READ_ENTRY, &[rd, ipa, level as u64, X4])
    }

    /// RTT_INIT_RIPAS.
    pub fn init_ripas(&self, rd: u64, base: u64, top: u64) -> [u64; 5] {
        self.call(fid::RTT_INIT_RIPAS, &[rd, base, top, X4])
    }

    /// RTT_MAP_UNPROTECTED.
    pub fn map_unprotected(&self, rd: u64, ipa: u64, level: i64, desc: u64) -> [u64; 5] {
        self.call(fid::RTT_MAP_UNPROTECTED, &[rd, ipa, level as u64, desc])
    }

    /// RTT_UNMAP_UNPROTECTED.
    pub fn unmap_unprotected(&self, rd: u64, ipa: u64, level: i64) -> [u64; 5] {
        self.call(fid::RTT_UNMAP_UNPROTECTED, &[rd, ipa, level as u64, X4])
    }

    /// DATA_CREATE from the NS page `src`.
    pub fn data_create(&self, rd: u64, data: u64, ipa: u64, src: u64, flags: u64) -> [u64; 5] {
        self.call(fid::DATA_CREATE, &[rd, data, ipa, src, flags])
    }

    /// DATA_CREATE_UNKNOWN.
    pub fn data_create_unknown(&self, rd: u64, data: u64, ipa: u64) -> [u64; 5] {
        self.call(fid::DATA_CREATE_UNKNOWN, &[rd, data, ipa, X4])
    }

    /// DATA_DESTROY.
    pub fn data_destroy(&self, rd: u64, ipa: u64) -> [u64; 5] {
        self.call(fid::DATA_DESTROY, &[rd, ipa, 0, X4])
    }

    /// REC_AUX_COUNT.
    pub fn rec_aux_count(&self, rd: u64) -> [u64; 5] {
        self.call(fid::REC_AUX_COUNT, &[rd, 0, 0, X4])
    }

    /// REC_CREATE with `params` written to a fresh NS page.
    pub fn rec_create(&self, rd: u64, rec: u64, params: &RecParams) -> [u64; 5] {
        let page = self.ns_page(params.as_bytes());
        self.call(fid::REC_CREATE, &[rd, rec, page, X4])
    }

    /// RecParams for REC `index` with 16 fresh delegated aux granules.
    pub fn must_rec_params(&self, index: u64, runnable: bool) -> RecParams {
        let mut p = RecParams::zeroed();
        p.flags = u64::from(runnable);
        p.mpidr = rmm_abi::rmi::rec_params::RecMpidr::from_index(index)
            .expect("small index")
            .bits();
        p.pc = 0x1000;
        p.num_aux = 16;
        for slot in p.aux.iter_mut() {
            *slot = self.must_delegated();
        }
        p
    }

    /// REC_DESTROY.
    pub fn rec_destroy(&self, rec: u64) -> [u64; 5] {
        self.call(fid::REC_DESTROY, &[rec, 0, 0, X4])
    }
}
