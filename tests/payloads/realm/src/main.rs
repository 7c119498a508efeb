//! # The test realm
//!
//! A `no_std` payload that runs at R-EL1 under our RMM with its MMU off. The hypervisor picks
//! a [`Scenario`] in x0; the realm runs its checks, reports each one through
//! `RSI_HOST_CALL` (see `realm-protocol`), and ends with a `Done` host call. It never touches
//! memory it was not given: its image, its stack, and the emulated MMIO registers in the
//! unprotected half.
#![no_std]
#![no_main]

mod console;
mod entry;
mod exceptions;
mod host_call;
mod rsi;
mod scenarios;

use realm_protocol::Scenario;

/// Called by the entry code with the hypervisor's x0..x3.
extern "C" fn realm_main(x0: u64, x1: u64, x2: u64, x3: u64) -> ! {
    let failures = match Scenario::from_u64(x0) {
        Some(Scenario::Hello) => scenarios::hello(),
        Some(Scenario::Rsi) => scenarios::rsi_checks(x2, x3),
        Some(Scenario::HostCallLoop) => scenarios::host_call_loop(x2),
        Some(Scenario::Mmio) => scenarios::mmio(),
        Some(Scenario::Registers) => scenarios::registers(),
        Some(Scenario::Populate) => scenarios::populate(x2),
        Some(Scenario::RsiVersionLoop) => scenarios::rsi_version_loop(x2),
        Some(Scenario::MmioLoop) => scenarios::mmio_loop(x2),
        None => {
            host_call::print("unknown scenario");
            u64::MAX
        }
    };
    let _ = x1;
    host_call::done(failures)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    use core::fmt::Write;
    let _ = write!(host_call::HostConsole, "realm panic: {info}");
    host_call::done(u64::MAX)
}
