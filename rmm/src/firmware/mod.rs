// SPDX-License-Identifier: MIT OR Apache-2.0
//! The composition root of the firmware (bare-metal builds only): from the platform's entry
//! to cold and warm boot, then the RMI loop. The top floor: it wires the monitor's logic to
//! the `arch` implementation and nothing below imports it.
//!
//! Decisions (what is valid, which error code) are made by [`crate::boot`]; this module only
//! puts the pieces together: the console, the copy of the shared page, the ID registers,
//! the image bounds, the memory set-up ([`boot_memory`]), the hash engine
//! ([`sha2_hw`]), the resting EL2 controls and the SMCs.
//!
//! - [`boot_memory`]: the carve-out after the image: translation tables, granule table.
//! - `fault_injection` (test builds only, feature `fault-injection`): an RMI id that makes
//!   the RMM take a real fault, to prove the vectors report it.

pub mod boot_memory;
#[cfg(feature = "fault-injection")]
pub mod fault_injection;

use crate::arch::El3Port;
use crate::arch::aarch64::fatal::halt;
use crate::arch::aarch64::machine::HwMachine;
use crate::arch::aarch64::pl011::Pl011;
use crate::arch::aarch64::smc::El3Smc;
use crate::arch::aarch64::{el3_attest, entry, sha2_hw, stack_probe, sysreg, vgic_regs};
use crate::boot::{self, args::RawBootArgs};
use crate::log_line::{self, Arg, dec, hex, int};
use crate::logger::{ConsoleLogger, DEFAULT_LEVEL};
use crate::monitor::Monitor;
use crate::platform::PlatformConfig;
use crate::realm::vmid::VmidSet;
use crate::rmi::RmiRequest;
use crate::rmi::serve;
use crate::{log_error, log_info};
use attest::token::collection::PLATFORM_TOKEN_MAX;
use boot_memory::BootMemory;
use core::convert::Infallible;
use rmm_abi::el3::BootError;
use rmm_abi::version::RMI_ABI_VERSION;

static LOGGER: ConsoleLogger<Pl011> = ConsoleLogger::new(Pl011::new());

/// The platform token EL3 hands over at cold boot (taken once, then read-only).
static PLATFORM_TOKEN: spin::Mutex<[u8; PLATFORM_TOKEN_MAX]> =
    spin::Mutex::new([0; PLATFORM_TOKEN_MAX]);
static MONITOR: spin::Once<Monitor> = spin::Once::new();

/// VMIDs of live realms (see [`Monitor::vmids`]).
static VMIDS: VmidSet = VmidSet::new();
/// The global Confidential Shared Memory state.
static CSM: crate::sharing::SharedMemory = crate::sharing::SharedMemory::new();

/// The monitor, once the cold boot has built it.
pub fn monitor() -> Option<&'static Monitor> {
    MONITOR.get()
}

/// Entry from `rmm_platform_main`: boots this CPU and serves RMI requests forever.
pub fn start(platform: &PlatformConfig, x0: u64, x1: u64, x2: u64, x3: u64, cold: bool) -> ! {
    let raw = RawBootArgs {
        cpu_index: x0,
        ifc_version: x1,
        cpu_count: x2,
        shared_page: x3,
    };
    #[cfg(feature = "fault-injection")]
    let mut el3 = fault_injection::FaultInjectingEl3(El3Smc);
    #[cfg(not(feature = "fault-injection"))]
    let mut el3 = El3Smc;
    if cold {
        let cpu = sysreg::cpu_id_registers();
        let booted = cold_boot_early(platform, raw, &cpu);
        // The MMU is on if the memory set-up succeeded: from here on this CPU runs on the
        // guarded alias of its stack (see `entry`).
        entry::continue_on_guarded_stack(raw.cpu_index as usize, move || -> Infallible {
            let mut el3 = el3;
            match cold_boot(platform, raw, &cpu, booted, &mut el3) {
                // The boot's frames (its configuration, the closure moved here) are done
                // with: the request loop starts at the top of the stack, as on a warm boot.
                Some(first) => {
                    entry::serve_on_empty_stack(raw.cpu_index as usize, first.regs, serve_requests)
                }
                None => halt(),
            }
        })
    } else {
        match warm_boot(raw, &mut el3) {
            // As after the cold boot: the request loop starts at the top of the stack, with
            // none of this function's frame (sized for the cold boot) under it.
            Some(first) => {
                entry::serve_on_empty_stack(raw.cpu_index as usize, first.regs, serve_requests)
            }
            None => halt(),
        }
    }
}

/// A CPU's request loop after its boot, from the registers of its first request, on an empty
/// stack (`entry::serve_on_empty_stack`).
extern "C" fn serve_requests(
    x0: u64,
    x1: u64,
    x2: u64,
    x3: u64,
    x4: u64,
    x5: u64,
    x6: u64,
    x7: u64,
) -> ! {
    #[cfg(feature = "fault-injection")]
    let mut el3 = fault_injection::FaultInjectingEl3(El3Smc);
    #[cfg(not(feature = "fault-injection"))]
    let mut el3 = El3Smc;
    let first = RmiRequest {
        regs: [x0, x1, x2, x3, x4, x5, x6, x7],
    };
    serve_forever(Some(first), &mut el3)
}

fn serve_forever(first: Option<RmiRequest>, el3: &mut impl El3Port) -> ! {
    if let (Some(monitor), Some(first)) = (MONITOR.get(), first) {
        serve(monitor, &HwMachine, el3, Some(first));
    }
    halt()
}

/// The cold boot up to the MMU: the early console, the stack paint, the boot checks and the
/// memory set-up, on the identity-mapped stack.
fn cold_boot_early(
    platform: &PlatformConfig,
    raw: RawBootArgs,
    cpu: &crate::cpu_features::CpuIdRegisters,
) -> Result<(crate::boot::BootConfig, BootMemory), BootError> {
    LOGGER.sink().set_base(platform.early_console_base);
    if log_line::set_sink(&LOGGER) {
        log_line::set_max_level(DEFAULT_LEVEL);
    }
    stack_probe::paint(raw.cpu_index as usize);
    validate_and_set_up(platform, raw, cpu)
}

fn cold_boot(
    platform: &PlatformConfig,
    raw: RawBootArgs,
    cpu: &crate::cpu_features::CpuIdRegisters,
    booted: Result<(crate::boot::BootConfig, BootMemory), BootError>,
    el3: &mut impl El3Port,
) -> Option<RmiRequest> {
    match booted {
        Ok((config, memory)) => {
            let console = &config.manifest.console;
            LOGGER
                .sink()
                .init(console.base, console.clk_in_hz, console.baud_rate);
            let BootMemory {
                granules,
                tables,
                granule_table_bytes,
                spare,
            } = memory;
            let monitor = MONITOR.call_once(|| Monitor::new(config, granules, &VMIDS, &CSM));
            monitor.prepare_cpu(&HwMachine);
            print_banner(platform, monitor);
            sha2_hw::init_cold(cpu);
            // Token signing's RFC 6979 HMAC-DRBG hashes through a `digest` type: give it the
            // engine the self-test chose.
            attest::sha384_digest::install(sha2_hw::engine());
            vgic_regs::init_cpu();
            provision_attestation(monitor, raw.cpu_index as usize);
            log_info!(
                "stage 1 on, caches on: {} translation tables; granule table {} KiB for {} \
                 granules; {} KiB of the carve-out spare",
                dec(tables),
                dec(granule_table_bytes >> 10),
                dec(monitor.granules.len() as u64),
                dec(spare >> 10),
            );
            el3.boot_complete(0)
        }
        Err(error) => {
            log_error!(
                "cold boot on CPU {} failed: {}; reporting RMM_BOOT_COMPLETE({})",
                dec(raw.cpu_index),
                error.name(),
                int(error.code() as i64),
            );
            el3.boot_complete(error.code());
            None
        }
    }
}

/// The boot checks and the memory set-up, in a frame of their own, popped before the
/// attestation key is imported.
#[cold]
#[inline(never)]
fn validate_and_set_up(
    platform: &PlatformConfig,
    raw: RawBootArgs,
    cpu: &crate::cpu_features::CpuIdRegisters,
) -> Result<(crate::boot::BootConfig, BootMemory), BootError> {
    let config = validate(raw, cpu)?;
    match boot_memory::set_up(&config, platform.early_console_base) {
        Ok(memory) => Ok((config, memory)),
        Err(error) => {
            log_error!(
                "memory set-up failed: {}",
                Arg::Line(&error.message().line())
            );
            Err(BootError::Unknown)
        }
    }
}

/// The boot checks, the manifest parsed from the shared page's copy: out of line, so the
/// 4 KiB copy is popped before the memory set-up runs.
#[cold]
#[inline(never)]
fn validate(
    raw: RawBootArgs,
    cpu: &crate::cpu_features::CpuIdRegisters,
) -> Result<crate::boot::BootConfig, BootError> {
    boot::cold_boot(raw, image_range(), copy_shared_page, cpu)
}

/// Obtains the attestation key and platform token from EL3 (see
/// [`crate::attestation`]); a failure is logged and the boot goes on without attestation.
#[cold]
#[inline(never)]
fn provision_attestation(monitor: &Monitor, cpu_index: usize) {
    el3_attest::set_shared_page(monitor.config.boot.shared_page);
    let _ = crate::attestation::provision_into(
        &monitor.attestation,
        &HwMachine,
        spin::MutexGuard::leak(PLATFORM_TOKEN.lock()).as_mut_slice(),
    );
    log_info!(
        "stack high-water mark after the boot: {} of {} bytes",
        dec(stack_probe::high_water(cpu_index) as u64),
        dec(entry::STACK_SIZE as u64),
    );
}

fn warm_boot(raw: RawBootArgs, el3: &mut impl El3Port) -> Option<RmiRequest> {
    let result = match MONITOR.get() {
        Some(monitor) => monitor.warm_boot(raw).map(|_| {
            monitor.prepare_cpu(&HwMachine);
            sha2_hw::init_warm(&sysreg::cpu_id_registers(), raw.cpu_index);
            vgic_regs::init_cpu();
        }),
        None => Err(BootError::Unknown),
    };
    match result {
        Ok(()) => {
            log_info!("CPU {} warm boot: RMI ready", dec(raw.cpu_index));
            el3.boot_complete(0)
        }
        Err(error) => {
            log_error!(
                "warm boot of CPU {} failed: {}",
                dec(raw.cpu_index),
                error.name()
            );
            el3.boot_complete(error.code());
            None
        }
    }
}

fn print_banner(platform: &PlatformConfig, monitor: &Monitor) {
    let b = &monitor.config.boot;
    let m = &monitor.config.manifest;
    log_info!(
        "Rust RMM {} on {}: cold boot on CPU {}",
        env!("CARGO_PKG_VERSION"),
        platform.name,
        dec(b.cpu_index as u64),
    );
    log_info!(
        "RMM-EL3 interface {}.{}, boot manifest {}.{}, {} CPUs, shared page {}",
        dec(u64::from(b.ifc_version.major)),
        dec(u64::from(b.ifc_version.minor)),
        dec(u64::from(m.version.major)),
        dec(u64::from(m.version.minor)),
        dec(b.cpu_count as u64),
        hex(b.shared_page),
    );
    for (i, bank) in m.dram.banks().iter().enumerate() {
        log_info!(
            "NS DRAM bank {}: {}..{} ({} MiB)",
            dec(i as u64),
            hex(bank.base),
            hex(bank.end()),
            dec(bank.size >> 20),
        );
    }
    log_info!("console: PL011 at {}", hex(m.console.base));
    log_info!(
        "RMI ABI {}.{} ready, feature register 0 = {}",
        dec(u64::from(RMI_ABI_VERSION.major)),
        dec(u64::from(RMI_ABI_VERSION.minor)),
        hex(monitor.config.features.0),
    );
}

/// The RMM image's PA range, from the linker script.
fn image_range() -> (u64, u64) {
    let sections = boot_memory::image_sections();
    (sections.text.0, sections.rw.1)
}

/// Copies the EL3-RMM shared page in, once, with volatile reads.
fn copy_shared_page(pa: u64, page: &mut crate::boot::manifest::PageWords) {
    for (i, word) in page.iter_mut().enumerate() {
        // SAFETY: `pa` was validated by `boot::args` (non-zero, granule aligned, outside the
        // image) and is the shared page EL3 set up for us in Realm PAS; with the MMU off this
        // is an aligned 8-byte load inside that page.
        *word = unsafe { core::ptr::read_volatile((pa as *const u64).add(i)) };
    }
}

/// A panic is an RMM bug ([`crate::invariant`] panics on purpose): stop this CPU with
/// `RMM FATAL: panic at <file>:<line>:<column>: <message>; this CPU stops`. The message is
/// shown when it is plain text (every panic the monitor raises itself); a formatted one
/// (the core library's index checks) would need `core::fmt` and shows only its location.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let (file, line, column) = info
        .location()
        .map_or(("?", 0, 0), |at| (at.file(), at.line(), at.column()));
    let message = info.message().as_str().unwrap_or("(a formatted message)");
    crate::arch::aarch64::fatal::stop(&crate::line_of!(
        "panic at {}:{}:{}: {}",
        file,
        dec(u64::from(line)),
        dec(u64::from(column)),
        message,
    ))
}
