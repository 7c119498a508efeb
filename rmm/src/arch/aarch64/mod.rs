//! The real `arch` implementation for the RMM at R-EL2 (bare-metal aarch64 builds only).
//!
//! - [`entry`]: the image entry point for cold and warm boot (assembly): per-CPU stack, BSS
//!   cleared once, vectors installed, then [`start`].
//! - [`vectors`]: the exception vector table; every exception is unexpected for now and is
//!   reported with ESR/ELR/FAR before the CPU stops.
//! - [`smc`]: the SMC instruction and the [`El3Smc`](smc::El3Smc) port.
//! - [`sysreg`]: the system registers the core reads.
//! - [`pl011`]: the console driver.
//! - [`start`]: glue from the entry code to the core's boot logic and RMI loop.
//! - `fault_injection` (test builds only, feature `fault-injection`): an RMI id that makes
//!   the RMM take a real fault, to prove the vectors report it.

pub mod entry;
#[cfg(feature = "fault-injection")]
pub mod fault_injection;
pub mod pl011;
pub mod smc;
pub mod start;
pub mod sysreg;
pub mod vectors;

pub use start::start;
