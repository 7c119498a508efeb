// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `arch` boundary: the only doors between the monitor's logic and the CPU.
//!
//! Everything that needs `msr`/`mrs`, `smc`, MMIO or assembly sits behind these traits. The
//! aarch64 implementation ([`aarch64`], bare-metal builds only) is the real thing; the host
//! fake ([`fake`], host builds only) lets every line of logic run under `cargo test`.
//!
//! [`world`] holds the realm's register file and [`world::RealmCpu`], the door into a realm.
//! Growing this boundary is how later features reach hardware; logic never bypasses it.

use crate::GRANULE_SIZE;
use crate::granule::GranuleAddr;
use attest::sha::Sha2Engine;
use rmm_abi::el3::El3Status;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub mod world;

/// An RMI request as it reaches the RMM (the EL3 port's register-level type; the RMI
/// dispatcher decodes it): x0 = function id (SVE hint possibly set), x1..x7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RmiRequest {
    /// x0..x7.
    pub regs: [u64; 8],
}

impl RmiRequest {
    /// A request with function id `fid` and arguments x1.. from `args`.
    pub fn new(fid: u64, args: &[u64]) -> Self {
        let mut regs = [0; 8];
        regs[0] = fid;
        for (slot, arg) in regs[1..].iter_mut().zip(args) {
            *slot = *arg;
        }
        Self { regs }
    }

    /// Argument register `n` (1..=7).
    pub fn arg(&self, n: usize) -> u64 {
        self.regs.get(n).copied().unwrap_or(0)
    }
}

/// The answer to an RMI request: what the host sees in x0..x4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RmiResult {
    /// Host x0..x4 (passed to EL3 as x1..x5 of `RMM_RMI_REQ_COMPLETE`).
    pub regs: [u64; 5],
}

/// The RMM's calls to EL3 that hand control back and wait for the next RMI request.
pub trait El3Port {
    /// `RMM_BOOT_COMPLETE(status)`. Returns the first RMI request on this CPU, or `None`
    /// if EL3 will never send one (a fake that ran out of script; or a failed boot).
    fn boot_complete(&mut self, status: u64) -> Option<RmiRequest>;

    /// `RMM_RMI_REQ_COMPLETE(result)`. Returns the next RMI request, as above.
    fn rmi_complete(&mut self, result: &RmiResult) -> Option<RmiRequest>;
}

/// The host changed a granule's physical address space under the RMM (or it never was
/// Non-secure): the access took a Granule Protection Fault, which was fixed up into this error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsAccessFault;

/// One `RMM_ATTEST_GET_PLAT_TOKEN` answer: how many bytes EL3 wrote this time and how many
/// are still to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformTokenHunk {
    /// Bytes of the token EL3 wrote in this call (copied to the caller's buffer).
    pub len: usize,
    /// Bytes EL3 says remain after this hunk.
    pub remaining: usize,
    /// EL3 answered `E_RMM_AGAIN`: call again for the rest.
    pub again: bool,
}

/// How many bits of a VMID tag stage-2 TLB entries: VTCR_EL2.VS, the same for every realm
/// run and for every invalidation the RMM issues between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmidWidth {
    /// 8-bit VMIDs (VTCR_EL2.VS = 0): VMID\[15:8\] are ignored in TLB matching.
    Bits8,
    /// 16-bit VMIDs (FEAT_VMID16, VTCR_EL2.VS = 1).
    Bits16,
}

impl VmidWidth {
    /// The width for `bits` (16 → [`VmidWidth::Bits16`], anything else 8).
    pub const fn from_bits(bits: u8) -> Self {
        if bits == 16 {
            Self::Bits16
        } else {
            Self::Bits8
        }
    }

    /// The width in bits.
    pub const fn bits(self) -> u8 {
        match self {
            Self::Bits8 => 8,
            Self::Bits16 => 16,
        }
    }

    /// Whether `vmid` is one this width can tell apart from every other.
    pub const fn holds(self, vmid: u16) -> bool {
        (vmid as u32) >> self.bits() == 0
    }

    /// The part of `vmid` that tags TLB entries under this width.
    pub const fn tag(self, vmid: u16) -> u16 {
        match self {
            Self::Bits8 => vmid & 0xFF,
            Self::Bits16 => vmid,
        }
    }
}

/// Memory and EL3 services the RMI and RSI handlers use. Shared by all CPUs.
///
/// Implementations must enforce what the hardware enforces: an access in the wrong physical
/// address space faults. The real one crashes the CPU for a Realm access to a non-Realm
/// granule (a bug in the RMM); the fake panics, so a test catches it.
pub trait Machine: Sync + world::RealmCpu {
    /// `RMM_GTSI_DELEGATE`: asks EL3 to move `addr` from the Non-secure to the Realm PAS.
    fn gtsi_delegate(&self, addr: GranuleAddr) -> El3Status;

    /// `RMM_GTSI_UNDELEGATE`: asks EL3 to move `addr` from the Realm to the Non-secure PAS.
    fn gtsi_undelegate(&self, addr: GranuleAddr) -> El3Status;

    /// Fills the Realm-PAS granule `addr` with zeros. The caller holds the granule's lock and
    /// its state says it is in the Realm PAS.
    fn zero_granule(&self, addr: GranuleAddr);

    /// Copies the host (Non-secure) granule `addr` into `page`, once. If the granule is not in
    /// the Non-secure PAS when read, the copy stops and this returns [`NsAccessFault`];
    /// `page` then holds partial data that the caller must ignore.
    fn copy_from_ns(
        &self,
        addr: GranuleAddr,
        page: &mut [u8; GRANULE_SIZE],
    ) -> Result<(), NsAccessFault>;

    /// Copies the host (Non-secure) granule `src` straight into the Realm-PAS granule `dst`,
    /// which the caller holds locked, once, with no buffer in between (DATA_CREATE: what the
    /// realm gets is what was read, and can be measured in place). If `src` is not in the
    /// Non-secure PAS when read, the copy stops, possibly part way, and this returns
    /// [`NsAccessFault`]; `dst` then holds partial data, which the caller must clear.
    fn copy_ns_to_realm(&self, src: GranuleAddr, dst: GranuleAddr) -> Result<(), NsAccessFault>;

    /// Reads `buf.len()` bytes at `offset` of the host granule `addr` (both multiples of 16,
    /// within the granule), once, like [`Machine::copy_from_ns`].
    fn read_ns(
        &self,
        addr: GranuleAddr,
        offset: usize,
        buf: &mut [u8],
    ) -> Result<(), NsAccessFault>;

    /// Writes `buf` at `offset` of the host granule `addr` (both multiples of 16, within the
    /// granule). If the granule is not in the Non-secure PAS the write stops, possibly part
    /// way, and this returns [`NsAccessFault`]; nothing is written anywhere else.
    fn write_ns(&self, addr: GranuleAddr, offset: usize, buf: &[u8]) -> Result<(), NsAccessFault>;

    /// Reads `buf.len()` bytes at byte `offset` of the Realm-PAS granule `addr` (within the
    /// granule, 8-byte aligned, a multiple of 8 long), which the caller holds locked or
    /// referenced as for [`Machine::read_word`].
    fn read_realm(&self, addr: GranuleAddr, offset: usize, buf: &mut [u8]) {
        for (i, chunk) in buf.chunks_exact_mut(8).enumerate() {
            chunk.copy_from_slice(&self.read_word(addr, offset / 8 + i).to_le_bytes());
        }
    }

    /// Writes `buf` at byte `offset` of the Realm-PAS granule `addr`, with the rules of
    /// [`Machine::read_realm`] and [`Machine::write_word`].
    fn write_realm(&self, addr: GranuleAddr, offset: usize, buf: &[u8]) {
        for (i, chunk) in buf.chunks_exact(8).enumerate() {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.write_word(addr, offset / 8 + i, u64::from_le_bytes(word));
        }
    }

    /// Runs `f` on the `T` kept at byte `offset` of the Realm-PAS granule `addr` (within the
    /// granule, aligned for `T`), which the caller holds so that nothing else reads or writes
    /// those bytes until `f` returns (a REC referenced by REC_ENTER, say). This default copies
    /// the value out and back; hardware lends it in place, saving both copies, and stops the
    /// monitor if the value does not fit the granule (callers pass constant offsets, so only a
    /// monitor bug can get there).
    fn with_realm_value<T, R>(
        &self,
        addr: GranuleAddr,
        offset: usize,
        f: impl FnOnce(&mut T) -> R,
    ) -> R
    where
        T: FromBytes + IntoBytes + KnownLayout + Immutable,
    {
        let mut value = T::new_zeroed();
        self.read_realm(addr, offset, value.as_mut_bytes());
        let result = f(&mut value);
        self.write_realm(addr, offset, value.as_bytes());
        result
    }

    /// Writes exactly the bytes of `buf` at any byte `offset` of the Realm-PAS granule `addr`
    /// (the range inside the granule; a caller bug otherwise, and nothing is written), with
    /// the caller's hold as for [`Machine::write_word`]. Unlike [`Machine::write_realm`] no
    /// alignment is needed and no byte outside the range is rewritten (another REC of the
    /// realm may be writing next to it): what RSI calls that fill realm buffers use.
    fn write_realm_bytes(&self, addr: GranuleAddr, offset: usize, buf: &[u8]);

    /// Reads 64-bit word `index` (0..512) of the Realm-PAS granule `addr`. The caller holds
    /// the granule's lock (or a reference that keeps its contents stable).
    fn read_word(&self, addr: GranuleAddr, index: usize) -> u64;

    /// Writes 64-bit word `index` (0..512) of the Realm-PAS granule `addr`, which the caller
    /// holds locked. Stage-2 table entries are written with one single-copy-atomic store.
    fn write_word(&self, addr: GranuleAddr, index: usize, value: u64);

    /// Puts this CPU's resting EL2 controls in place instead of relying on what EL3 left
    /// there (on hardware also the realm-facing registers the world switch does not install:
    /// VPIDR_EL2, the fine-grained traps, HCRX_EL2): above all VTCR_EL2.VS for realms with
    /// `width`-bit VMIDs, so that every TLB
    /// invalidation the RMM issues between realm runs matches entries exactly as the runs
    /// tagged them. Called on every CPU, at cold and warm boot, before it serves RMI.
    fn install_resting_controls(&self, width: VmidWidth);

    /// Invalidates every stage-2 (and combined stage-1/2) TLB entry of the realm with `vmid`
    /// on every CPU, after a valid stage-2 entry was removed or changed. If the regime in
    /// force on this CPU is not the one [`Machine::install_resting_controls`] set (or `vmid`
    /// does not fit its width) the invalidation could miss entries: an RMM bug, and the
    /// monitor stops instead of going on.
    fn invalidate_stage2(&self, vmid: u16);

    /// Invalidates the stage-2 (and combined stage-1/2) TLB entries of the realm with `vmid`
    /// for `ipa` on every CPU (`TLBI IPAS2E1IS` for every level of the walk, then
    /// `TLBI VMALLE1IS` for the stage-1 entries built on it, with the barriers), after the one
    /// valid stage-2 entry that maps `ipa` was removed or changed; checked as
    /// [`Machine::invalidate_stage2`] is.
    fn invalidate_stage2_ipa(&self, vmid: u16, ipa: u64);

    /// `RMM_ATTEST_GET_REALM_KEY` for curve P-384: EL3 writes the raw private scalar into the
    /// EL3-RMM shared page; it is copied into `out` and the shared page's copy is wiped before
    /// this returns, whatever the outcome. Returns the key length EL3 reported (the caller
    /// refuses anything but 48), or EL3's error.
    fn el3_realm_key(&self, out: &mut [u8; 48]) -> Result<usize, El3Status>;

    /// One `RMM_ATTEST_GET_PLAT_TOKEN` call: `challenge` (32, 48 or 64 bytes) is placed at the
    /// start of the shared page and its length passed in x3; the hunk EL3 writes there is
    /// copied into `out`. A hunk longer than `out` or than the shared page is
    /// `Err(El3Status::NoMem)`; EL3's own errors are passed on (`E_RMM_AGAIN` is not an
    /// error: see [`PlatformTokenHunk::again`]).
    fn el3_platform_token_hunk(
        &self,
        challenge: &[u8],
        out: &mut [u8],
    ) -> Result<PlatformTokenHunk, El3Status>;

    /// Whether a physical interrupt is pending at this CPU (`ISR_EL1` read at R-EL2 shows the
    /// physical IRQ, FIQ and SError lines). Long RSI work (signing a token) checks it to hand
    /// the CPU back to the host instead of delaying its interrupt.
    fn host_irq_pending(&self) -> bool;

    /// The SHA-2 block compression that measurements use: the CPU's SHA-2 instructions where
    /// the real machine has them and they passed their boot-time self-test, else software.
    fn sha2_engine(&self) -> &dyn Sha2Engine {
        &attest::sha::SOFT
    }
}

/// Words in a granule, for [`Machine::read_word`] and [`Machine::write_word`].
pub const GRANULE_WORDS: usize = GRANULE_SIZE / 8;

/// Where log lines go. Implementations write raw bytes; the logger serialises whole lines.
pub trait ConsoleSink: Send + Sync {
    /// Writes `bytes` (one whole line) to the console.
    fn write_bytes(&self, bytes: &[u8]);

    /// Index of the CPU that is logging.
    fn cpu_index(&self) -> usize;
}

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod aarch64;

#[cfg(not(target_os = "none"))]
pub mod fake;
