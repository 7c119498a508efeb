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

pub mod entry;
pub mod pl011;
pub mod smc;
pub mod start;
pub mod sysreg;
pub mod vectors;

pub use start::start;
