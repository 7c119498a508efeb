// SPDX-License-Identifier: MIT OR Apache-2.0
//! A small VMM that boots an unmodified Linux kernel (Debian's arm64 `Image`) in a realm:
//! `cargo xtask linux` (interactive) and the Linux scenario of `cargo xtask test`.
//!
//! QEMU's loader puts the kernel, the initramfs, the device tree and a [`desc::Descriptor`]
//! into NS memory before reset. The VMM then
//!
//! 1. creates the realm (IPA width from the descriptor, SHA-256) and marks all of its RAM
//!    RIPAS RAM with RTT_INIT_RIPAS while the tables are still level-2 blocks (cheap);
//! 2. loads the kernel, the initramfs and the device tree with DATA_CREATE in IPA order
//!    (measured, so the RIM covers them), level-3 tables only where they go;
//! 3. creates one REC per vCPU (the first runnable at the kernel's entry with x0 = the device
//!    tree, the others waiting for PSCI CPU_ON) and activates the realm; prints the realm's
//!    parameters and the RIM it computes itself ([`rim`]) for xtask to check;
//! 4. runs the RECs on this CPU and serves their exits ([`exits`]): the GICv3 ([`vgic`]) and
//!    PL011 ([`pl011`]) in the unprotected half, the virtual timer from each exit's timer
//!    state, SGIs from trapped ICC_SGI1R writes, RIPAS changes (reclaiming the DATA granules
//!    of RAM made EMPTY), protected RAM backed on first touch (DATA_CREATE_UNKNOWN), shared
//!    RAM backed on first touch (RTT_MAP_UNPROTECTED), and PSCI. SYSTEM_OFF from the realm
//!    powers the machine off after the statistics lines.
//!
//! Everything it prints itself starts with `LINUX `, so the realm's console output (the
//! kernel's and `/init`'s lines) and the VMM's are told apart in the transcript.

pub mod desc;
mod exits;
pub mod pl011;
mod rim;
mod stage2;
pub mod vgic;

use crate::println;
use core::fmt::Write;
use rmm_abi::rmi::states::HashAlgorithm;

/// Boots the realm the descriptor describes; never returns (powers off).
pub fn run() -> ! {
    let Some(desc) = desc::read() else {
        println!("LINUX ERROR no boot descriptor at {:#x}", desc::ADDR);
        crate::smc::system_off();
    };
    println!(
        "LINUX VMM: kernel {:#x}+{:#x} at IPA {:#x}, initrd {:#x} bytes at {:#x}, DTB at {:#x}, \
         RAM {} MiB at {:#x}, {} vCPU(s), IPA width {}",
        desc.kernel.pa,
        desc.kernel.len,
        desc.kernel.ipa,
        desc.initrd.len,
        desc.initrd.ipa,
        desc.dtb.ipa,
        desc.ram_size >> 20,
        desc.ram_ipa,
        desc.vcpus,
        desc.s2sz
    );
    let result = stage2::Vm::build(&desc).and_then(|mut vm| {
        let p = vm.params;
        println!(
            "LINUX VMM: realm parameters: IPA width {}, hash {}, {} REC(s), PMU off ({} \
             counters), SVE off (VL {}), {} breakpoints, {} watchpoints",
            p.s2sz,
            match p.hash_algo {
                HashAlgorithm::Sha256 => "SHA-256",
                HashAlgorithm::Sha512 => "SHA-512",
            },
            vm.vcpu_count,
            p.pmu_num_ctrs,
            p.sve_vl,
            p.num_bps,
            p.num_wps
        );
        let start = crate::regs::counter();
        let rim = rim::compute(&p, &desc);
        let ticks = crate::regs::counter() - start;
        let mut line = crate::console::Line::new();
        for b in rim.iter().take(p.hash_algo.digest_len()) {
            let _ = write!(line, "{b:02x}");
        }
        println!(
            "LINUX VMM: RIM {} (computed by the VMM in {ticks} ticks)",
            line.as_str()
        );
        exits::run(&mut vm)
    });
    if result.is_err() {
        let message = core::mem::take(&mut *MESSAGE.lock());
        println!("LINUX ERROR {}", message.as_str());
    }
    crate::smc::system_off()
}

/// The message of the last [`Error`] (kept out of the error value so results stay small).
static MESSAGE: spin::Mutex<crate::console::Line> = spin::Mutex::new(crate::console::Line::new());

/// A fatal VMM error; its message is in [`MESSAGE`].
pub struct Error(());

/// Records the message and returns an [`Error`].
pub fn error(args: core::fmt::Arguments<'_>) -> Error {
    let mut line = MESSAGE.lock();
    *line = crate::console::Line::new();
    let _ = line.write_fmt(args);
    Error(())
}

/// `Err(error(format_args!(...)))`.
#[macro_export]
macro_rules! vmm_bail {
    ($($arg:tt)*) => { return Err($crate::linux::error(format_args!($($arg)*))) };
}
