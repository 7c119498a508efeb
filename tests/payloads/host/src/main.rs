// SPDX-License-Identifier: MIT OR Apache-2.0
//! # The NS test hypervisor (BL33)
//!
//! A small `no_std` hypervisor at NS-EL2 that drives our RMM the way a real host does, through
//! RMI calls built on `rmm-abi`, and prints a machine-readable transcript:
//! one `TEST cpu<N>.<name> PASS|FAIL <reason>` line per scenario and a final
//! `<passed> passed, <failed> failed`, then powers the machine off with PSCI SYSTEM_OFF.
//!
//! Boot: the primary discovers the CPUs from the GIC redistributors, starts every secondary
//! with PSCI CPU_ON (each one goes through TF-A and our RMM's warm boot first), waits for them
//! with a deadline, then every CPU runs its scenarios. An unexpected exception becomes a FAIL
//! line. The run mode (suite, benchmarks, or the fault-injection check) comes from a mailbox
//! QEMU fills at reset.
#![no_std]
#![no_main]

mod bench;
mod console;
mod cpus;
mod csm;
mod entry;
mod exceptions;
mod fault;
mod fp_regs;
mod gic;
mod linux;
mod mailbox;
mod platform;
mod realm;
mod realm_image;
mod regs;
mod rmi;
mod runner;
mod scenarios;
mod smc;
mod timer_irq;

/// Primary CPU, from `host_entry`.
extern "C" fn primary_main() -> ! {
    println!(
        "NS test host {}: NS-EL2, {}",
        env!("CARGO_PKG_VERSION"),
        if cfg!(feature = "fvp") {
            "FVP"
        } else {
            "QEMU virt"
        }
    );
    let mode = mailbox::mode();
    match mode {
        mailbox::Mode::Bench => bench::run_timed(),
        mailbox::Mode::BenchTrace => bench::run_traced(),
        mailbox::Mode::Linux => linux::run(),
        mailbox::Mode::Suite
        | mailbox::Mode::Fault
        | mailbox::Mode::Csm
        | mailbox::Mode::Demo
        | mailbox::Mode::MsgBench => {}
    }
    let cpus = gic::discover_cpus();
    if mode == mailbox::Mode::Fault {
        fault::run(&cpus);
    }
    if mode == mailbox::Mode::Csm {
        csm::run(
            &cpus,
            scenarios::CSM,
            scenarios::CSM_COUNT + scenarios::CSM_SECONDARY_LINES,
        );
    }
    if mode == mailbox::Mode::Demo {
        csm::run(&cpus, scenarios::DEMO, scenarios::DEMO_LINES);
    }
    if mode == mailbox::Mode::MsgBench {
        csm::run(&cpus, scenarios::MSG_BENCH, scenarios::MSG_BENCH_LINES);
    }
    println!(
        "NS test host: {} CPUs found{}; starting secondaries",
        cpus.count,
        if cpus.truncated {
            " (more not driven)"
        } else {
            ""
        }
    );
    let secondaries = cpus.count.saturating_sub(1);
    let plan = scenarios::EVERY_CPU_COUNT * cpus.count
        + scenarios::PRIMARY_ONLY_COUNT
        + scenarios::REALM_CHECK_LINES
        + scenarios::AFTER_ALL.len()
        + secondaries;
    println!("PLAN {plan} tests on {} CPUs", cpus.count);
    let started = cpus::start_secondaries(&cpus, cpus.count);
    cpus::wait_arrivals(started);
    cpus::release();
    scenarios::EVERY_CPU
        .iter()
        .for_each(|list| runner::run(list));
    scenarios::PRIMARY_ONLY
        .iter()
        .for_each(|list| runner::run(list));
    cpus::wait_finished(started);
    runner::run(scenarios::AFTER_ALL);
    runner::finish()
}

/// Secondary CPUs, from `host_secondary_entry` with their slot.
extern "C" fn secondary_main(slot: u64) -> ! {
    let slot = slot as usize;
    cpus::arrive_and_wait(slot);
    cpus::secondary_scenarios()
        .iter()
        .for_each(|list| runner::run(list));
    cpus::mark_done(slot);
    cpus::serve_jobs(slot)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let cpu = regs::cpu_slot();
    runner::report(
        cpu,
        "panic",
        &Err(runner::Failure::new(format_args!("{info}"))),
    );
    if cpu == 0 {
        runner::finish()
    }
    cpus::mark_done(cpu);
    loop {
        regs::wfe();
    }
}
