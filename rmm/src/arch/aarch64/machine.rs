// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`HwMachine`]: the [`Machine`] services on real hardware.
//!
//! GTSI requests are SMCs to EL3; granules are zeroed through the Realm window with
//! `dc zva`; host pages are read through the NS window by the fault-tolerant copy routine;
//! measurements hash with the engine [`sha2_hw`] selected at boot.

use super::{el3_attest, interrupts, ns_access, sha2_hw, smc::smc, sysreg, tlb, world_switch};
use crate::GRANULE_SIZE;
use crate::arch::world::{
    RealmContext, RealmCpu, RealmEntryConfig, RealmFp, RealmTrap, TrapAction, VgicState,
};
use crate::arch::{GRANULE_WORDS, Machine, NsAccessFault, PlatformTokenHunk, VmidWidth};
use crate::granule::GranuleAddr;
use crate::log_line::{dec, hex};
use crate::mmu::layout::realm_va;
use attest::sha::Sha2Engine;
use rmm_abi::el3::{El3Status, RMM_GTSI_DELEGATE, RMM_GTSI_UNDELEGATE};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The real machine. Stateless: every CPU uses the same one.
#[derive(Debug, Clone, Copy, Default)]
pub struct HwMachine;

fn gtsi(fid: u32, addr: GranuleAddr) -> El3Status {
    let out = smc([u64::from(fid), addr.get(), 0, 0, 0, 0, 0, 0]);
    El3Status::from_u64(out[0]).unwrap_or(El3Status::Unknown)
}

/// `DCZID_EL0`: `dc zva` permitted, and the block size it clears.
fn zva_block() -> Option<usize> {
    let dczid: u64;
    // SAFETY: reading DCZID_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, dczid_el0", out(reg) dczid, options(nomem, nostack)) };
    (dczid & 0x10 == 0).then(|| 4usize << (dczid & 0xF))
}

impl Machine for HwMachine {
    fn gtsi_delegate(&self, addr: GranuleAddr) -> El3Status {
        gtsi(RMM_GTSI_DELEGATE, addr)
    }

    fn gtsi_undelegate(&self, addr: GranuleAddr) -> El3Status {
        gtsi(RMM_GTSI_UNDELEGATE, addr)
    }

    fn zero_granule(&self, addr: GranuleAddr) {
        let base = realm_va(addr.get()) as usize;
        match zva_block() {
            Some(block) if block * 4 <= GRANULE_SIZE => {
                // SAFETY: the Realm window maps this DRAM granule as Normal memory and the
                // caller holds its lock with a state that says it is Realm PAS, so the granule
                // is ours to clear and nothing else aliases it. `block` divides the granule
                // size (both powers of two, block * 4 <= 4096), so four `dc zva` per loop
                // clear exactly [base, base + 4096).
                unsafe {
                    core::arch::asm!(
                        "2:",
                        "dc zva, {p}",
                        "add {p}, {p}, {b}",
                        "dc zva, {p}",
                        "add {p}, {p}, {b}",
                        "dc zva, {p}",
                        "add {p}, {p}, {b}",
                        "dc zva, {p}",
                        "add {p}, {p}, {b}",
                        "cmp {p}, {end}",
                        "b.lo 2b",
                        p = inout(reg) base => _,
                        b = in(reg) block,
                        end = in(reg) base + GRANULE_SIZE,
                        options(nostack),
                    )
                };
            }
            _ => {
                // SAFETY: as above; a plain fill of the granule through the window.
                unsafe { core::ptr::write_bytes(base as *mut u8, 0, GRANULE_SIZE) };
            }
        }
    }

    fn copy_from_ns(
        &self,
        addr: GranuleAddr,
        page: &mut [u8; GRANULE_SIZE],
    ) -> Result<(), NsAccessFault> {
        ns_access::copy_granule_in(addr.get(), page)
    }

    fn copy_ns_to_realm(&self, src: GranuleAddr, dst: GranuleAddr) -> Result<(), NsAccessFault> {
        let page = realm_va(dst.get()) as *mut [u8; GRANULE_SIZE];
        // SAFETY: `page` is the 4 KiB mapping of the Realm-PAS granule `dst` in the Realm
        // window (Normal memory, granule-aligned), so stores to it cannot fault; the caller
        // holds `dst` locked, so nothing else reads or writes it while the `&mut` lives, and
        // a delegated granule cannot be the host page the copy reads.
        ns_access::copy_granule_in(src.get(), unsafe { &mut *page })
    }

    fn read_ns(
        &self,
        addr: GranuleAddr,
        offset: usize,
        buf: &mut [u8],
    ) -> Result<(), NsAccessFault> {
        ns_access::read(addr.get(), offset, buf)
    }

    fn write_ns(&self, addr: GranuleAddr, offset: usize, buf: &[u8]) -> Result<(), NsAccessFault> {
        ns_access::write(addr.get(), offset, buf)
    }

    fn read_realm(&self, addr: GranuleAddr, offset: usize, buf: &mut [u8]) {
        let Some(start) = realm_range(addr, offset, buf.len()) else {
            buf.fill(0);
            return;
        };
        // SAFETY: `realm_range` checked the range lies inside the granule's mapping in the
        // Realm window (Normal memory); the caller holds the granule so it is Realm PAS and
        // stable, and `buf` is RMM memory that cannot overlap a delegated granule.
        unsafe { core::ptr::copy_nonoverlapping(start as *const u8, buf.as_mut_ptr(), buf.len()) };
    }

    fn write_realm(&self, addr: GranuleAddr, offset: usize, buf: &[u8]) {
        let Some(start) = realm_range(addr, offset, buf.len()) else {
            return;
        };
        // SAFETY: as in `read_realm`; the caller's hold on the granule makes this CPU its only
        // writer.
        unsafe { core::ptr::copy_nonoverlapping(buf.as_ptr(), start as *mut u8, buf.len()) };
    }

    fn with_realm_value<T, R>(
        &self,
        addr: GranuleAddr,
        offset: usize,
        f: impl FnOnce(&mut T) -> R,
    ) -> R
    where
        T: FromBytes + IntoBytes + KnownLayout + Immutable,
    {
        match realm_range(addr, offset, core::mem::size_of::<T>()) {
            Some(start) if start.is_multiple_of(core::mem::align_of::<T>()) => {
                // SAFETY: `realm_range` checked that the value's bytes lie inside the
                // granule's mapping in the Realm window (Normal memory) and the match that
                // they are aligned for `T`; `T: FromBytes` makes any contents a valid `T`.
                // The caller's hold on the granule keeps it Realm PAS and makes this the only
                // access to those bytes until `f` returns, so the `&mut` is exclusive.
                f(unsafe { &mut *(start as *mut T) })
            }
            // Only a monitor bug gets here (every caller's offset and type are constants that
            // fit a granule): stop, rather than work on a value that is not the granule's.
            _ => value_does_not_fit(core::mem::size_of::<T>(), offset, addr),
        }
    }

    fn write_realm_bytes(&self, addr: GranuleAddr, offset: usize, buf: &[u8]) {
        // `write_realm` here is a byte copy at any offset already.
        self.write_realm(addr, offset, buf);
    }

    fn read_word(&self, addr: GranuleAddr, index: usize) -> u64 {
        let word = word_ptr(addr, index);
        // SAFETY: `word_ptr` points inside the granule's mapping in the Realm window (Normal
        // memory, 8-byte aligned). The caller holds the granule locked in a Realm-PAS state,
        // so the access cannot fault and nobody writes the word concurrently.
        unsafe { word.read_volatile() }
    }

    fn write_word(&self, addr: GranuleAddr, index: usize, value: u64) {
        let word = word_ptr(addr, index);
        // SAFETY: as in `read_word`; the caller's lock makes this CPU the only writer. A
        // volatile aligned 64-bit store is single-copy atomic, which the table walker needs.
        unsafe { word.write_volatile(value) }
    }

    fn install_resting_controls(&self, width: VmidWidth) {
        let cpu = sysreg::cpu_id_registers();
        // EL3 is asked about FEAT_FGT2 only on a CPU that has it (one SMC at boot).
        let el3_fgt2 =
            crate::cpu_features::fgt2_present(cpu.id_aa64mmfr0) && super::smc::el3_fgt2_enabled();
        world_switch::init_cpu(&cpu, el3_fgt2);
        tlb::install_resting_vtcr(width);
    }

    fn invalidate_stage2(&self, vmid: u16) {
        tlb::invalidate_vmid(vmid);
    }

    fn invalidate_stage2_ipa(&self, vmid: u16, ipa: u64) {
        tlb::invalidate_ipa(vmid, ipa);
    }

    fn sha2_engine(&self) -> &dyn Sha2Engine {
        sha2_hw::engine()
    }

    fn el3_realm_key(&self, out: &mut [u8; 48]) -> Result<usize, El3Status> {
        el3_attest::realm_key(out)
    }

    fn el3_platform_token_hunk(
        &self,
        challenge: &[u8],
        out: &mut [u8],
    ) -> Result<PlatformTokenHunk, El3Status> {
        el3_attest::platform_token_hunk(challenge, out)
    }

    fn host_irq_pending(&self) -> bool {
        // Asked right after a signing step, the deepest path: report the stack it took, once.
        static REPORTED: core::sync::atomic::AtomicBool =
            core::sync::atomic::AtomicBool::new(false);
        // A plain load first: after the first report this is one load and a branch, not an
        // atomic swap, on every poll of the long loops (RTT_INIT_RIPAS polls per entry).
        if !REPORTED.load(core::sync::atomic::Ordering::Relaxed)
            && !REPORTED.swap(true, core::sync::atomic::Ordering::Relaxed)
        {
            report_signing_stack();
        }
        interrupts::interrupt_pending()
    }
}

/// The stack report [`HwMachine::host_irq_pending`] makes once; out of line, so that its line
/// is not built at each of the six places that ask.
#[cold]
#[inline(never)]
fn report_signing_stack() {
    let cpu = super::sysreg::cpu_index();
    crate::log_info!(
        "attestation: signing a token took CPU {}'s stack to {} of {} bytes",
        dec(cpu as u64),
        dec(super::stack_probe::high_water(cpu) as u64),
        dec(super::entry::STACK_SIZE as u64),
    );
}

impl RealmCpu for HwMachine {
    fn run_realm<F>(
        &self,
        config: &RealmEntryConfig,
        ctx: &mut RealmContext,
        gic: &mut VgicState,
        fp: &impl RealmFp,
        on_trap: F,
    ) where
        F: FnMut(&mut RealmContext, &RealmTrap) -> TrapAction,
    {
        world_switch::run_realm(config, ctx, gic, fp, on_trap);
    }
}

/// [`HwMachine::with_realm_value`]'s stop, out of line and not generic: one copy of the line,
/// not one per value type and caller.
#[cold]
#[inline(never)]
fn value_does_not_fit(size: usize, offset: usize, addr: GranuleAddr) -> ! {
    super::fatal::stop(&crate::line_of!(
        "with_realm_value: {} bytes at offset {} do not fit granule {}",
        dec(size as u64),
        hex(offset as u64),
        hex(addr.get()),
    ))
}

/// The Realm-window address of `len` bytes at `offset` of granule `addr`, if the range lies
/// inside the granule (a caller bug otherwise, answered with `None`).
fn realm_range(addr: GranuleAddr, offset: usize, len: usize) -> Option<usize> {
    let end = offset.checked_add(len)?;
    (end <= GRANULE_SIZE).then(|| realm_va(addr.get()) as usize + offset)
}

/// Word `index` (taken modulo the granule's 512 words) of granule `addr`, in the Realm window.
fn word_ptr(addr: GranuleAddr, index: usize) -> *mut u64 {
    (realm_va(addr.get()) as usize + (index % GRANULE_WORDS) * 8) as *mut u64
}
