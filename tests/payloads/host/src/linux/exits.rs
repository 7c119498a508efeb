// SPDX-License-Identifier: MIT OR Apache-2.0
//! The exit loop: enter a REC, serve why it exited, repeat, until the realm powers off.
//!
//! vCPUs share this CPU. With one vCPU, WFI is not trapped: the realm idles inside and a
//! physical interrupt (its virtual timer, or this VMM's 10 ms tick, which also polls the
//! console for input) makes it exit. With more, WFI is trapped and the loop switches to
//! another runnable vCPU; when every vCPU waits, this CPU waits (WFI) until the earliest
//! virtual-timer deadline or the tick.

use super::pl011::Pl011;
use super::stage2::Vm;
use super::vgic::{self, Vgic};
use super::{Error, error};
use crate::gic::{self, HostGic, SPURIOUS};
use crate::realm::PAGE;
use crate::rmi::{self, status};
use crate::{println, regs, vmm_bail};
use rmm_abi::psci;
use rmm_abi::rmi::rec_run::{REC_GIC_NUM_LRS, RecEnterFlags};

/// The realm's virtual timer PPI.
const VTIMER_INTID: u32 = 27;
/// This VMM's tick (the EL2 physical timer).
const HOST_TIMER_INTID: u32 = 26;
/// The UART's SPI (device tree `interrupts = <0 1 4>`).
const UART_INTID: u32 = 33;
/// The realm's UART (protected-half address, as the device tree gives it).
const UART_IPA: u64 = 0x0900_0000;

const EC_WFX: u64 = 0x01;
const EC_SYSREG: u64 = 0x18;
const EC_DABT: u64 = 0x24;
const EC_IABT: u64 = 0x20;
/// ESR ISS of a trapped MSR ICC_SGI1R_EL1 (op0 3, op1 0, CRn 12, CRm 11, op2 5, write),
/// without Rt.
const ISS_SGI1R: u64 = (3 << 20) | (5 << 17) | (12 << 10) | (11 << 1);
const ISS_SYSREG_MASK: u64 = (3 << 20) | (7 << 17) | (7 << 14) | (0xF << 10) | (0xF << 1) | 1;

/// Run-page offsets (`RmiRecRun`).
mod off {
    pub const FLAGS: u64 = 0x000;
    pub const ENTER_GPRS: u64 = 0x200;
    pub const ENTER_HCR: u64 = 0x300;
    pub const ENTER_LRS: u64 = 0x308;
    pub const REASON: u64 = 0x800;
    pub const ESR: u64 = 0x900;
    pub const FAR: u64 = 0x908;
    pub const HPFAR: u64 = 0x910;
    pub const EXIT_GPRS: u64 = 0xA00;
    pub const EXIT_LRS: u64 = 0xB08;
    pub const CNTV_CTL: u64 = 0xC10;
    pub const CNTV_CVAL: u64 = 0xC18;
    pub const RIPAS_BASE: u64 = 0xD00;
    pub const RIPAS_TOP: u64 = 0xD08;
    pub const RIPAS_VALUE: u64 = 0xD10;
}

fn rd(run: u64, offset: u64) -> u64 {
    // SAFETY: `run` is a REC run page, an NS page of the VMM's own; aligned load.
    unsafe { core::ptr::read_volatile((run + offset) as *const u64) }
}

fn wr(run: u64, offset: u64, value: u64) {
    // SAFETY: as in `rd`; aligned store.
    unsafe { core::ptr::write_volatile((run + offset) as *mut u64, value) }
}

/// Why the loop stopped.
enum Stop {
    Off,
    Reset,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not started (waits for CPU_ON) or off.
    Off,
    Runnable,
    /// Executed WFI (trapped).
    Waiting,
}

#[derive(Default)]
struct Stats {
    exits: [u64; 8],
    mmio_gic: u64,
    mmio_uart: u64,
    sgis: u64,
    wfi: u64,
    timer_injections: u64,
    psci: u64,
}

struct Machine<'a> {
    vm: &'a mut Vm,
    gic: Vgic,
    uart: Pl011,
    state: [State; vgic::MAX_VCPUS],
    /// Entry flags for the next entry of each vCPU.
    flags: [u64; vgic::MAX_VCPUS],
    /// MMIO read result for the next entry.
    read_value: [u64; vgic::MAX_VCPUS],
    /// Virtual timer deadline of each vCPU (counter value), if armed and unmasked.
    deadline: [Option<u64>; vgic::MAX_VCPUS],
    tick: u64,
    stats: Stats,
    trap_wfi: bool,
}

/// Runs the realm until it powers off.
pub fn run(vm: &mut Vm) -> Result<(), Error> {
    let host = HostGic::init().map_err(|_| error(format_args!("host GIC set-up failed")))?;
    for ppi in [VTIMER_INTID, HOST_TIMER_INTID] {
        host.enable_ppi(ppi, 0x80)
            .map_err(|_| error(format_args!("host PPI {ppi} does not enable")))?;
    }
    let nr_lrs = (regs::ich_vtr_el2() & 0x1F) as usize + 1;
    let mpidr = core::array::from_fn(|i| {
        rmm_abi::rmi::rec_params::RecMpidr::from_index(i as u64).map_or(0, |m| m.bits())
    });
    let vcpus = vm.vcpu_count;
    let mut state = [State::Off; vgic::MAX_VCPUS];
    state[0] = State::Runnable;
    let mut m = Machine {
        vm,
        gic: Vgic::new(vcpus, mpidr, nr_lrs),
        uart: Pl011::new(),
        state,
        flags: [0; vgic::MAX_VCPUS],
        read_value: [0; vgic::MAX_VCPUS],
        deadline: [None; vgic::MAX_VCPUS],
        tick: regs::cntfrq_el0() / 100,
        stats: Stats::default(),
        trap_wfi: vcpus > 1,
    };
    let s = m.vm.stats;
    println!(
        "LINUX realm built: INIT_RIPAS {} ticks, DATA_CREATE {} ticks (kernel {} pages {} ticks, \
         initrd {} pages {} ticks, DTB {} pages {} ticks), RECs+ACTIVATE {} ticks, {} RTTs \
         (counter {} Hz)",
        s.build_ticks[0],
        s.build_ticks[1],
        s.blob_pages[0],
        s.blob_ticks[0],
        s.blob_pages[1],
        s.blob_ticks[1],
        s.blob_pages[2],
        s.blob_ticks[2],
        s.build_ticks[2],
        s.rtts,
        regs::cntfrq_el0()
    );
    arm_tick(m.tick);
    let started = regs::counter();
    let stop = m.run_loop();
    gic::set_cnthp_ctl(0);
    let elapsed = regs::counter() - started;
    let st = &m.stats;
    let ms = m.vm.stats;
    println!(
        "LINUX stats: {} ticks; exits sync {} irq {} psci {} ripas {} host-call {}; MMIO GIC {} \
         UART {} ({} bytes out); SGIs {} WFI {} injected {} (timer {})",
        elapsed,
        st.exits[0],
        st.exits[1],
        st.exits[3],
        st.exits[4],
        st.exits[5],
        st.mmio_gic,
        st.mmio_uart,
        m.uart.tx_bytes,
        st.sgis,
        st.wfi,
        m.gic.injected,
        st.timer_injections,
    );
    println!(
        "LINUX memory: protected faults {} ({} pages), shared faults {} ({} pages), RIPAS \
         changes {} ({} KiB, {} ticks), RTTs {}",
        ms.protected_faults,
        ms.populated,
        ms.shared_faults,
        ms.shared,
        ms.ripas_changes,
        ms.ripas_bytes >> 10,
        ms.ripas_ticks,
        ms.rtts
    );
    println!(
        "LINUX reclaim: {} RIPAS changes to EMPTY ({} KiB), {} pages reclaimed (DATA_DESTROY + \
         UNDELEGATE, {} ticks), {} of them given out again",
        ms.empty_changes,
        ms.empty_bytes >> 10,
        ms.reclaimed,
        ms.reclaim_ticks,
        ms.reused
    );
    match stop? {
        Stop::Off => println!("LINUX realm powered off (PSCI SYSTEM_OFF)"),
        Stop::Reset => println!("LINUX realm asked for a reset (PSCI SYSTEM_RESET): powering off"),
    }
    Ok(())
}

fn arm_tick(ticks: u64) {
    gic::set_cnthp_cval(regs::counter() + ticks);
    gic::set_cnthp_ctl(1);
}

impl Machine<'_> {
    fn run_loop(&mut self) -> Result<Stop, Error> {
        let mut current = 0;
        loop {
            // Wake vCPUs whose wait is over.
            let now = regs::counter();
            for v in 0..self.gic.vcpus() {
                if self.state[v] == State::Waiting
                    && (self.gic.has_pending(v) || self.deadline[v].is_some_and(|d| now >= d))
                {
                    self.state[v] = State::Runnable;
                }
            }
            let next = (1..=self.gic.vcpus())
                .map(|i| (current + i) % self.gic.vcpus())
                .find(|&v| self.state[v] == State::Runnable);
            let Some(v) = next else {
                self.idle();
                continue;
            };
            current = v;
            if let Some(stop) = self.enter(v)? {
                return Ok(stop);
            }
        }
    }

    /// Every vCPU waits: sleep until the tick or an interrupt.
    fn idle(&mut self) {
        let now = regs::counter();
        let wake = self
            .deadline
            .iter()
            .flatten()
            .copied()
            .min()
            .unwrap_or(now + self.tick)
            .min(now + self.tick);
        if wake > now {
            gic::set_cnthp_cval(wake);
            gic::set_cnthp_ctl(1);
            // SAFETY: WFI only waits for an interrupt or event; IRQs stay masked.
            unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
        }
        self.host_irqs();
        self.uart.poll_rx();
        self.gic.set_level(0, UART_INTID, self.uart.line());
    }

    /// Acknowledges and ends the host's own interrupts (the tick re-arms).
    fn host_irqs(&mut self) {
        for _ in 0..4 {
            match gic::acknowledge() {
                SPURIOUS => break,
                intid => {
                    if intid == HOST_TIMER_INTID {
                        arm_tick(self.tick);
                    }
                    gic::end_of_interrupt(intid);
                }
            }
        }
    }

    /// Enters vCPU `v` once and serves its exit.
    fn enter(&mut self, v: usize) -> Result<Option<Stop>, Error> {
        let run = self.vm.vcpus[v].run;
        let rec = self.vm.vcpus[v].rec;
        self.gic.fill_lrs(v);
        let mut flags = self.flags[v];
        if self.trap_wfi {
            flags |= RecEnterFlags::TRAP_WFI.bits();
        }
        wr(run, off::FLAGS, flags);
        wr(run, off::ENTER_GPRS, self.read_value[v]);
        wr(run, off::ENTER_HCR, self.gic.entry_hcr(v));
        for i in 0..REC_GIC_NUM_LRS {
            wr(run, off::ENTER_LRS + i as u64 * 8, self.gic.lrs[v][i]);
        }
        self.flags[v] = 0;
        self.read_value[v] = 0;
        let r = rmi::rec_enter(rec, run);
        if r.0[0] != status::SUCCESS {
            vmm_bail!("REC_ENTER of vCPU {v} failed: {:#x}", r.0[0]);
        }
        let reason = rd(run, off::REASON);
        self.stats.exits[(reason as usize).min(7)] += 1;
        let lrs: [u64; REC_GIC_NUM_LRS] =
            core::array::from_fn(|i| rd(run, off::EXIT_LRS + i as u64 * 8));
        self.gic.sync_from_exit(v, &lrs);
        // The virtual timer's output, as the exit reports it.
        let ctl = rd(run, off::CNTV_CTL);
        let asserted = ctl & 0b111 == 0b101;
        if asserted && !self.gic.has_pending(v) {
            self.stats.timer_injections += 1;
        }
        self.gic.set_level(v, VTIMER_INTID, asserted);
        self.deadline[v] = (ctl & 0b11 == 0b01).then(|| rd(run, off::CNTV_CVAL));
        let stop = match reason {
            0 => self.sync(v, run)?,
            1 | 2 => {
                self.host_irqs();
                None
            }
            3 => self.psci(v, run)?,
            4 => {
                let base = rd(run, off::RIPAS_BASE);
                let top = rd(run, off::RIPAS_TOP);
                let ripas = rd(run, off::RIPAS_VALUE) & 0xFF;
                self.vm.set_ripas(rec, base, top, ripas)?;
                None
            }
            5 => {
                // RSI_HOST_CALL: nothing to answer (gprs stay as the realm left them).
                None
            }
            6 => vmm_bail!("vCPU {v}: SError exit (ESR {:#x})", rd(run, off::ESR)),
            other => vmm_bail!("vCPU {v}: unexpected exit reason {other}"),
        };
        self.uart.poll_rx();
        self.gic.set_level(0, UART_INTID, self.uart.line());
        Ok(stop)
    }

    fn sync(&mut self, v: usize, run: u64) -> Result<Option<Stop>, Error> {
        let esr = rd(run, off::ESR);
        let ec = esr >> 26;
        match ec {
            EC_DABT => {
                let hpfar = rd(run, off::HPFAR);
                let ipa = ((hpfar >> 4) << 12) | (rd(run, off::FAR) & 0xFFF);
                self.data_abort(v, run, esr, ipa)?;
            }
            EC_IABT => {
                let hpfar = rd(run, off::HPFAR);
                let ipa = (hpfar >> 4) << 12;
                if self.vm.is_ram(ipa) {
                    self.vm.populate(ipa)?;
                } else {
                    vmm_bail!("vCPU {v}: instruction abort at IPA {ipa:#x} (ESR {esr:#x})");
                }
            }
            EC_WFX => {
                self.stats.wfi += 1;
                if esr & 1 == 0 && !self.gic.has_pending(v) {
                    self.state[v] = State::Waiting;
                }
            }
            EC_SYSREG => {
                if esr & ISS_SYSREG_MASK == ISS_SGI1R {
                    self.stats.sgis += 1;
                    let value = rd(run, off::EXIT_GPRS);
                    self.gic.sgi1r(v, value);
                }
            }
            _ => vmm_bail!("vCPU {v}: unexpected synchronous exit, ESR {esr:#x}"),
        }
        Ok(None)
    }

    fn data_abort(&mut self, v: usize, run: u64, esr: u64, ipa: u64) -> Result<(), Error> {
        let shared = ipa & self.vm.shared_bit != 0;
        let addr = ipa & !self.vm.shared_bit;
        if !shared {
            if self.vm.is_ram(addr) {
                return self.vm.populate(addr);
            }
            vmm_bail!("vCPU {v}: protected data abort outside RAM at IPA {ipa:#x} (ESR {esr:#x})");
        }
        if self.vm.is_ram(addr) {
            return self.vm.map_shared(ipa);
        }
        let isv = esr & (1 << 24) != 0;
        let write = esr & (1 << 6) != 0;
        let size = 1u64 << ((esr >> 22) & 3);
        let device = if (vgic::GICD_BASE..vgic::GICD_BASE + vgic::GICD_SIZE).contains(&addr) {
            1
        } else if (vgic::GICR_BASE..vgic::GICR_BASE + vgic::GICR_STRIDE * self.gic.vcpus() as u64)
            .contains(&addr)
        {
            2
        } else if (UART_IPA..UART_IPA + PAGE).contains(&addr) {
            3
        } else {
            0
        };
        if device == 0 || !isv {
            // No device there (or an access we cannot decode): an external abort.
            println!(
                "LINUX vCPU {v}: access to unbacked IPA {ipa:#x} (ESR {esr:#x}): injecting SEA"
            );
            self.flags[v] |= RecEnterFlags::INJECT_SEA.bits();
            return Ok(());
        }
        let mask = if size >= 8 {
            u64::MAX
        } else {
            (1 << (size * 8)) - 1
        };
        let value = rd(run, off::EXIT_GPRS) & mask;
        let result = match device {
            1 => {
                self.stats.mmio_gic += 1;
                let o = addr - vgic::GICD_BASE;
                if write {
                    self.gic.gicd_write(o, value);
                    0
                } else {
                    self.gic.gicd_read(o)
                }
            }
            2 => {
                self.stats.mmio_gic += 1;
                let o = addr - vgic::GICR_BASE;
                if write {
                    self.gic.gicr_write(o, value);
                    0
                } else {
                    self.gic.gicr_read(o)
                }
            }
            _ => {
                self.stats.mmio_uart += 1;
                let o = addr - UART_IPA;
                if write {
                    self.uart.write(o & !3, value as u32);
                    0
                } else {
                    u64::from(self.uart.read(o & !3))
                }
            }
        };
        self.flags[v] |= RecEnterFlags::EMUL_MMIO.bits();
        if !write {
            self.read_value[v] = result & mask;
        }
        Ok(())
    }

    fn psci(&mut self, v: usize, run: u64) -> Result<Option<Stop>, Error> {
        self.stats.psci += 1;
        let fid = rd(run, off::EXIT_GPRS) as u32;
        let caller = self.vm.vcpus[v].rec;
        match fid {
            psci::PSCI_SYSTEM_OFF => return Ok(Some(Stop::Off)),
            psci::PSCI_SYSTEM_RESET => return Ok(Some(Stop::Reset)),
            psci::PSCI_CPU_ON | psci::PSCI_AFFINITY_INFO => {
                let target_mpidr = rd(run, off::EXIT_GPRS + 8);
                let target = (0..self.vm.vcpu_count).find(|&t| {
                    rmm_abi::rmi::rec_params::RecMpidr::from_index(t as u64)
                        .is_some_and(|m| m.bits() == target_mpidr & 0xFF_00FF_FFFF)
                });
                let Some(t) = target else {
                    vmm_bail!("vCPU {v}: PSCI {fid:#x} for unknown MPIDR {target_mpidr:#x}");
                };
                let r = rmi::psci_complete(caller, self.vm.vcpus[t].rec, 0);
                if r.0[0] != status::SUCCESS {
                    vmm_bail!("PSCI_COMPLETE({fid:#x}, vCPU {t}) failed: {:#x}", r.0[0]);
                }
                if fid == psci::PSCI_CPU_ON && self.state[t] == State::Off {
                    self.state[t] = State::Runnable;
                    println!("LINUX vCPU {t} started (PSCI CPU_ON from vCPU {v})");
                }
            }
            psci::PSCI_CPU_OFF => self.state[v] = State::Off,
            _ => {}
        }
        Ok(None)
    }
}
