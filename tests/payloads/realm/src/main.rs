// SPDX-License-Identifier: MIT OR Apache-2.0
//! # The test realm
//!
//! A `no_std` payload that runs at R-EL1 under our RMM with its MMU off. The hypervisor picks
//! a [`Scenario`] in x0; the realm runs its checks, reports each one through
//! `RSI_HOST_CALL` (see `realm-protocol`), and ends with a `Done` host call. It never touches
//! memory it was not given: its image, its stacks, the emulated MMIO registers in the
//! unprotected half, and (in the `Ripas` and `RipasChangeLoop` scenarios) the region it asks to
//! become RAM. RECs
//! other than REC 0 start in `realm_secondary_main` when REC 0 turns them on.
#![no_std]
#![no_main]

mod attest;
mod bench;
mod console;
mod csm;
mod csm_rsi;
mod entry;
mod exceptions;
mod fp;
mod host_call;
mod irq;
#[cfg(feature = "msgbench")]
mod msg_bench;
mod pauth;
mod psci;
mod ripas;
mod rsi;
mod scenarios;

use realm_protocol::{HostCallCode, Scenario};

/// Called by the entry code with the hypervisor's x0..x3.
extern "C" fn realm_main(x0: u64, x1: u64, x2: u64, x3: u64) -> ! {
    let failures = match Scenario::from_u64(x0) {
        Some(Scenario::Hello) => scenarios::hello(),
        Some(Scenario::Rsi) => scenarios::rsi_checks(x2, x3),
        Some(Scenario::HostCallLoop) => bench::host_call_loop(x2, x1 != 0),
        Some(Scenario::Mmio) => scenarios::mmio(),
        Some(Scenario::Registers) => scenarios::registers(),
        Some(Scenario::Populate) => scenarios::populate(x2),
        Some(Scenario::RsiVersionLoop) => bench::rsi_version_loop(x2),
        Some(Scenario::Psci) => {
            host_call::call(HostCallCode::Done, &[psci::primary()]);
            psci::system_off()
        }
        Some(Scenario::Ripas) => ripas::run(x2),
        Some(Scenario::Attest) => attest::run(x1, x2, scenarios::ipa_width()),
        Some(Scenario::MmioLoop) => bench::mmio_loop(x2),
        Some(Scenario::RipasChangeLoop) => bench::ripas_change_loop(x2),
        Some(Scenario::Interrupts) => irq::run(x2),
        Some(Scenario::Pauth) => pauth::run(x2),
        Some(Scenario::Csm) => csm::run(),
        None => {
            host_call::print("unknown scenario");
            u64::MAX
        }
    };
    let _ = (x1, x3);
    host_call::done(failures)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    use core::fmt::Write;
    let _ = write!(host_call::HostConsole, "realm panic: {info}");
    host_call::done(u64::MAX)
}

/// Called by the entry code for RECs other than REC 0, with the CPU_ON context id.
extern "C" fn realm_secondary_main(context: u64) -> ! {
    psci::secondary(context)
}
