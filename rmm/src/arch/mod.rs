//! The `arch` boundary: the only doors between the monitor's logic and the CPU.
//!
//! Everything that needs `msr`/`mrs`, `smc`, MMIO or assembly sits behind these traits. The
//! aarch64 implementation ([`aarch64`], bare-metal builds only) is the real thing; the host
//! fake ([`fake`], host builds only) lets every line of logic run under `cargo test`.
//!
//! Growing this boundary (NS memory access with fault fix-up, granule mapping, GTSI calls,
//! realm entry) is how later features reach hardware; logic never bypasses it.

use crate::rmi::{RmiRequest, RmiResult};

/// The RMM's calls to EL3 that hand control back and wait for the next RMI request.
pub trait El3Port {
    /// `RMM_BOOT_COMPLETE(status)`. Returns the first RMI request on this CPU, or `None`
    /// if EL3 will never send one (a fake that ran out of script; or a failed boot).
    fn boot_complete(&mut self, status: u64) -> Option<RmiRequest>;

    /// `RMM_RMI_REQ_COMPLETE(result)`. Returns the next RMI request, as above.
    fn rmi_complete(&mut self, result: &RmiResult) -> Option<RmiRequest>;
}

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
