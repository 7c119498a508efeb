//! CPU discovery from the GICv3 redistributors: one frame per CPU, each with that CPU's
//! affinity in GICR_TYPER and a Last bit on the final one. This finds exactly the CPUs the
//! machine has (`-smp N` on QEMU), with their MPIDRs, without parsing a device tree.

use crate::platform::{GICR_BASE, GICR_STRIDE, MAX_CPUS};

const GICR_TYPER: u64 = 0x08;
const TYPER_LAST: u64 = 1 << 4;
/// Frames scanned at most before giving up on finding the Last bit.
const MAX_FRAMES: usize = 256;

/// MPIDRs of the CPUs found (only the first `count` entries are valid).
pub struct Cpus {
    /// Affinity (MPIDR format: Aff0 [7:0], Aff1 [15:8], Aff2 [23:16], Aff3 [39:32]).
    pub mpidr: [u64; MAX_CPUS],
    /// Number of CPUs found, capped at `MAX_CPUS`.
    pub count: usize,
    /// True if the machine has more CPUs than we can drive.
    pub truncated: bool,
}

/// Reads every redistributor's GICR_TYPER.
pub fn discover_cpus() -> Cpus {
    let mut cpus = Cpus {
        mpidr: [0; MAX_CPUS],
        count: 0,
        truncated: false,
    };
    for frame in 0..MAX_FRAMES {
        let addr = GICR_BASE + frame as u64 * GICR_STRIDE + GICR_TYPER;
        // SAFETY: GICR_TYPER of a redistributor frame of the board's GICv3: a read-only,
        // side-effect-free 64-bit register, NS-accessible.
        let typer = unsafe { core::ptr::read_volatile(addr as *const u64) };
        let aff = typer >> 32;
        let mpidr = (aff & 0xFF_FFFF) | ((aff >> 24) << 32);
        if cpus.count < MAX_CPUS {
            cpus.mpidr[cpus.count] = mpidr;
            cpus.count += 1;
        } else {
            cpus.truncated = true;
        }
        if typer & TYPER_LAST != 0 {
            break;
        }
    }
    cpus
}
