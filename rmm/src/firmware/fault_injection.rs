// SPDX-License-Identifier: MIT OR Apache-2.0
//! Test-only fault injection (cargo feature `fault-injection`; never in shipped images).
//!
//! [`FaultInjectingEl3`] wraps the real EL3 port and intercepts `TEST_FAULT_INJECTION`
//! (x1 = a physical address, x2 = mode):
//! - mode 0: the RMM loads from x1 through its Realm window. For an NS granule that is a
//!   Granule Protection Fault outside any fix-up range, which the vectors must report
//!   (ESR/ELR/FAR) before stopping this CPU while the others keep serving.
//! - mode 1: the RMM copies the host granule at x1 in with the fault-tolerant NS copy that
//!   parameter pages use, and answers x0 = 0 and x1 = the first word copied, or
//!   x0 = `RMI_ERROR_INPUT` if the copy faulted (the granule is not NS). The RMM keeps
//!   running either way: this proves the fix-up path on real hardware.
//! - mode 2 (a probe, not a fault): x1 = an RD, x3 = `i` in 0..8: answers x0 = 0 and
//!   x1 = word `i` of the realm's RIM (little-endian), or x0 = `RMI_ERROR_INPUT` if x1 is not
//!   an RD or `i` is out of range. RMI has no way to read a RIM, and before realms run this is
//!   how the host checks the RMM's measurements (hashed with the CPU's SHA-2 instructions)
//!   against its own software computation.
//! - mode 3: the RMM recurses through 1 KiB frames until it has used x3 bytes of stack on
//!   top of the RMI path's own, then answers x0 = 0 and x1 = the bytes used. A request
//!   larger than the stack (the host asks for 1 MiB) overflows it: the guard hole below the
//!   stack turns that into a fault that the vectors report as `stack overflow on CPU n` before
//!   stopping this CPU, instead of the recursion silently writing over the stack of the CPU
//!   below (see `arch::aarch64::entry`).
//! - mode 4 (a check, not a fault): the RMM runs its `memcpy` and `memset`
//!   (`arch::aarch64::mem`, assembly) over every length 0..=[`MEM_CHECK_MAX_LEN`] and every
//!   source and destination offset 0..8 from an 8-byte boundary, between guard bytes, and
//!   compares each result with the bytes it should hold. Answers x0 = 0 and x1 = the cases
//!   checked, or x0 = `RMI_ERROR_INPUT` and x1 = the first wrong case
//!   (`memset << 32 | len << 16 | src_offset << 8 | dst_offset`).

use super::monitor;
use crate::GRANULE_SIZE;
use crate::arch::aarch64::machine::HwMachine;
use crate::arch::{El3Port, Machine};
use crate::granule::GranuleAddr;
use crate::log_line::{dec, hex};
use crate::mmu::layout::realm_va;
use crate::realm::descriptor::Rd;
use crate::rmi::locks::lock_rd;
use crate::rmi::{RmiRequest, RmiResult};
use rmm_abi::rmi::fid::TEST_FAULT_INJECTION;
use rmm_abi::rmi::status::{RmiReturn, RmiStatus};

/// The real EL3 port plus the fault-injection id.
pub struct FaultInjectingEl3<E: El3Port>(pub E);

fn is_injection(request: &RmiRequest) -> bool {
    request.regs[0] == u64::from(TEST_FAULT_INJECTION)
}

fn copy_probe(request: &RmiRequest) -> RmiResult {
    let mut page = [0u8; GRANULE_SIZE];
    let copied = GranuleAddr::new(request.arg(1))
        .ok_or(())
        .and_then(|addr| HwMachine.copy_from_ns(addr, &mut page).map_err(|_| ()));
    let (x0, x1) = match copied {
        Ok(()) => {
            let mut word = [0u8; 8];
            word.copy_from_slice(&page[..8]);
            (RmiReturn::success().pack(), u64::from_le_bytes(word))
        }
        Err(()) => (RmiReturn::error(RmiStatus::ErrorInput).pack(), 0),
    };
    crate::log_info!(
        "fault injection: NS copy of {} gave x0={}",
        hex(request.arg(1)),
        dec(x0)
    );
    RmiResult {
        regs: [x0, x1, 0, 0, request.arg(4)],
    }
}

fn rim_probe(request: &RmiRequest) -> RmiResult {
    let read = || -> Option<u64> {
        let index = usize::try_from(request.arg(3)).ok().filter(|&i| i < 8)?;
        let (rd, _) = lock_rd(monitor()?, &HwMachine, request.arg(1)).ok()?;
        let rim = Rd::new(&HwMachine, rd.addr()).rim();
        let mut word = [0u8; 8];
        word.copy_from_slice(rim.get(index * 8..index * 8 + 8)?);
        Some(u64::from_le_bytes(word))
    };
    let (x0, x1) = match read() {
        Some(word) => (RmiReturn::success().pack(), word),
        None => (RmiReturn::error(RmiStatus::ErrorInput).pack(), 0),
    };
    RmiResult {
        regs: [x0, x1, 0, 0, request.arg(4)],
    }
}

/// Bytes of stack each [`consume_stack`] frame takes, at least.
const FRAME: u64 = 1024;

/// Recurses until `bytes` of stack are used; returns the bytes used (a multiple of
/// [`FRAME`]). Every frame is written, so an overflow faults on the first page it reaches.
#[inline(never)]
fn consume_stack(bytes: u64) -> u64 {
    let mut frame = [0u8; FRAME as usize];
    core::hint::black_box(&mut frame);
    let deeper = if bytes > FRAME {
        consume_stack(bytes - FRAME)
    } else {
        0
    };
    // Used after the call, so the recursion cannot become a loop.
    core::hint::black_box(&frame);
    deeper + FRAME
}

fn stack_probe(request: &RmiRequest) -> RmiResult {
    crate::log_warn!(
        "fault injection: using {} bytes of stack on CPU {}",
        dec(request.arg(3)),
        dec(crate::arch::aarch64::sysreg::cpu_index() as u64),
    );
    let used = consume_stack(request.arg(3));
    RmiResult {
        regs: [RmiReturn::success().pack(), used, 0, 0, request.arg(4)],
    }
}

/// Longest copy [`mem_check`] tries: three times through the 64-byte loop and every tail.
pub const MEM_CHECK_MAX_LEN: usize = 200;

/// Room for the longest copy at the largest offset, with guard bytes after it.
const MEM_CHECK_BUF: usize = MEM_CHECK_MAX_LEN + 32;

/// What surrounds every copy and fill.
const GUARD: u8 = 0xE5;

/// The source's byte `i`: no two neighbours equal, and never the guard.
fn source_byte(i: usize) -> u8 {
    (i as u8).wrapping_mul(7).wrapping_add(1) | 0x80
}

/// Whether every byte of `buf` outside `offset..offset + len` is still the guard.
fn guarded(buf: &[u8], offset: usize, len: usize) -> bool {
    buf[..offset].iter().all(|&b| b == GUARD) && buf[offset + len..].iter().all(|&b| b == GUARD)
}

/// Mode 4: `memcpy` and `memset` against byte-by-byte expectations. `Err` holds the first
/// case that went wrong, packed as mode 4's x1.
fn mem_check() -> Result<u64, u64> {
    let mut src = [0u8; MEM_CHECK_BUF];
    for (i, byte) in src.iter_mut().enumerate() {
        *byte = source_byte(i);
    }
    let mut dst = [0u8; MEM_CHECK_BUF];
    let mut cases = 0u64;
    for len in 0..=MEM_CHECK_MAX_LEN {
        for src_off in 0..8 {
            for dst_off in 0..8 {
                let case = (len as u64) << 16 | (src_off as u64) << 8 | dst_off as u64;
                dst.fill(GUARD);
                // The length is opaque to the compiler, so this is a call to the image's
                // `memcpy`, not code of its own.
                let n = core::hint::black_box(len);
                // SAFETY: both ranges lie inside their arrays (offset < 8, length ≤
                // MEM_CHECK_MAX_LEN, arrays MEM_CHECK_MAX_LEN + 32 long) and do not overlap.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        src.as_ptr().add(src_off),
                        dst.as_mut_ptr().add(dst_off),
                        n,
                    );
                }
                let copied = dst[dst_off..dst_off + len] == src[src_off..src_off + len];
                if !(copied && guarded(&dst, dst_off, len)) {
                    return Err(case);
                }
                cases += 1;
            }
        }
        for dst_off in 0..8 {
            let case = 1 << 32 | (len as u64) << 16 | dst_off as u64;
            dst.fill(GUARD);
            let n = core::hint::black_box(len);
            // SAFETY: the range lies inside `dst` (as for the copies above).
            unsafe { core::ptr::write_bytes(dst.as_mut_ptr().add(dst_off), 0x3C, n) };
            let filled = dst[dst_off..dst_off + len].iter().all(|&b| b == 0x3C);
            if !(filled && guarded(&dst, dst_off, len)) {
                return Err(case);
            }
            cases += 1;
        }
    }
    Ok(cases)
}

fn mem_probe(request: &RmiRequest) -> RmiResult {
    let (x0, x1) = match mem_check() {
        Ok(cases) => (RmiReturn::success().pack(), cases),
        Err(case) => {
            crate::log_error!(
                "fault injection: memory routines wrong in case {}",
                hex(case)
            );
            (RmiReturn::error(RmiStatus::ErrorInput).pack(), case)
        }
    };
    RmiResult {
        regs: [x0, x1, 0, 0, request.arg(4)],
    }
}

impl<E: El3Port> FaultInjectingEl3<E> {
    fn inspect(&mut self, mut request: Option<RmiRequest>) -> Option<RmiRequest> {
        while let Some(req) = request.filter(is_injection) {
            if req.arg(2) == 1 {
                request = self.0.rmi_complete(&copy_probe(&req));
                continue;
            }
            if req.arg(2) == 2 {
                request = self.0.rmi_complete(&rim_probe(&req));
                continue;
            }
            if req.arg(2) == 3 {
                request = self.0.rmi_complete(&stack_probe(&req));
                continue;
            }
            if req.arg(2) == 4 {
                request = self.0.rmi_complete(&mem_probe(&req));
                continue;
            }
            let va = realm_va(req.arg(1));
            crate::log_warn!(
                "fault injection: loading from PA {} through the Realm window",
                hex(req.arg(1)),
            );
            // SAFETY: a one-word read changes no memory. For an NS address it takes the
            // expected Granule Protection Fault, which the vectors report before stopping
            // this CPU (so nothing after it runs); for any other address the value is
            // discarded. Only test builds contain this.
            let _ = unsafe { core::ptr::read_volatile(va as *const u64) };
            return request;
        }
        request
    }
}

impl<E: El3Port> El3Port for FaultInjectingEl3<E> {
    fn boot_complete(&mut self, status: u64) -> Option<RmiRequest> {
        let next = self.0.boot_complete(status);
        self.inspect(next)
    }

    fn rmi_complete(&mut self, result: &RmiResult) -> Option<RmiRequest> {
        let next = self.0.rmi_complete(result);
        self.inspect(next)
    }
}
