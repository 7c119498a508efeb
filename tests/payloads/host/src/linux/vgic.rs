// SPDX-License-Identifier: MIT OR Apache-2.0
//! The realm's GICv3, emulated in the unprotected half: a distributor with 32 SPIs
//! (INTIDs 32..63) and one redistributor per vCPU (RD_base + SGI_base frames, no LPIs, no
//! ITS), and the list registers that inject what is pending.
//!
//! State per INTID: enable, pending latch (edge: SGIs, ISPENDR writes), line level (level
//! sensitive: the virtual timer, the UART), priority. An interrupt goes into a free list
//! register when it is enabled, pending or asserted, and in no list register yet; a list
//! register the realm has finished with (state invalid on exit) frees its INTID, and a line
//! still asserted is injected again.

use rmm_abi::rmi::rec_run::REC_GIC_NUM_LRS;

/// vCPUs the model supports.
pub const MAX_VCPUS: usize = 2;

/// Distributor base (protected-half address, as the device tree gives it).
pub const GICD_BASE: u64 = 0x0800_0000;
/// Distributor frame size.
pub const GICD_SIZE: u64 = 0x1_0000;
/// First redistributor.
pub const GICR_BASE: u64 = 0x080A_0000;
/// Bytes per redistributor (RD_base + SGI_base).
pub const GICR_STRIDE: u64 = 0x2_0000;

const LR_STATE_SHIFT: u32 = 62;
const LR_GROUP1: u64 = 1 << 60;

/// Private (SGI/PPI) and shared state of one vCPU's view: bit `n` is INTID `n`.
#[derive(Clone, Copy)]
struct Bits {
    enabled: u64,
    pending: u64,
    level: u64,
    group: u64,
}

/// The emulated GIC.
pub struct Vgic {
    ctlr: u32,
    /// Per vCPU: bits 0..31 its SGIs/PPIs; bits 32..63 unused (SPIs live in `spi`).
    private: [Bits; MAX_VCPUS],
    /// SPIs (bits 32..63).
    spi: Bits,
    prio_private: [[u8; 32]; MAX_VCPUS],
    prio_spi: [u8; 32],
    icfgr_spi: [u32; 2],
    irouter: [u64; 32],
    waker: [u32; MAX_VCPUS],
    gicr_ctlr: [u32; MAX_VCPUS],
    /// List registers per vCPU, as the last exit left them (plus injections since).
    pub lrs: [[u64; REC_GIC_NUM_LRS]; MAX_VCPUS],
    nr_lrs: usize,
    vcpus: usize,
    /// MPIDR affinity of each vCPU (what GICR_TYPER reports).
    mpidr: [u64; MAX_VCPUS],
    /// Interrupts injected (for the statistics).
    pub injected: u64,
}

const fn bit(intid: u32) -> u64 {
    1 << intid
}

impl Vgic {
    /// A GIC after reset for `vcpus` vCPUs with these MPIDRs; `nr_lrs` list registers.
    pub fn new(vcpus: usize, mpidr: [u64; MAX_VCPUS], nr_lrs: usize) -> Self {
        let zero = Bits {
            enabled: 0,
            pending: 0,
            level: 0,
            group: 0,
        };
        Self {
            ctlr: 0,
            private: [zero; MAX_VCPUS],
            spi: zero,
            prio_private: [[0; 32]; MAX_VCPUS],
            prio_spi: [0; 32],
            icfgr_spi: [0; 2],
            irouter: [0; 32],
            waker: [0b110; MAX_VCPUS],
            gicr_ctlr: [0; MAX_VCPUS],
            lrs: [[0; REC_GIC_NUM_LRS]; MAX_VCPUS],
            nr_lrs: nr_lrs.min(REC_GIC_NUM_LRS),
            vcpus: vcpus.min(MAX_VCPUS),
            mpidr,
            injected: 0,
        }
    }

    /// The vCPU an SPI is routed to (IROUTER Aff0; IRM = 1 means vCPU 0).
    fn spi_target(&self, intid: u32) -> usize {
        let route = self.irouter[(intid - 32) as usize];
        if route & (1 << 31) != 0 {
            return 0;
        }
        self.mpidr[..self.vcpus]
            .iter()
            .position(|&m| m & 0xFF_00FF_FFFF == route & 0xFF_00FF_FFFF)
            .unwrap_or(0)
    }

    /// Sets the level of a level-sensitive line: a PPI of `vcpu` or an SPI.
    pub fn set_level(&mut self, vcpu: usize, intid: u32, high: bool) {
        let bits = if intid < 32 {
            &mut self.private[vcpu].level
        } else {
            &mut self.spi.level
        };
        if high {
            *bits |= bit(intid);
        } else {
            *bits &= !bit(intid);
        }
    }

    /// Makes SGI `intid` pending on `vcpu` (an edge).
    pub fn raise_sgi(&mut self, vcpu: usize, intid: u32) {
        if vcpu < self.vcpus && intid < 16 {
            self.private[vcpu].pending |= bit(intid);
        }
    }

    /// Takes the list registers of an exit of `vcpu`: an INTID whose list register is now
    /// invalid is finished.
    pub fn sync_from_exit(&mut self, vcpu: usize, exit_lrs: &[u64; REC_GIC_NUM_LRS]) {
        let n = self.nr_lrs;
        for (mine, &lr) in self.lrs[vcpu][..n].iter_mut().zip(&exit_lrs[..n]) {
            *mine = if lr >> LR_STATE_SHIFT == 0 { 0 } else { lr };
        }
    }

    fn in_lr(&self, vcpu: usize, intid: u32) -> bool {
        self.lrs[vcpu][..self.nr_lrs]
            .iter()
            .any(|&lr| lr >> LR_STATE_SHIFT != 0 && (lr & 0xFFFF_FFFF) as u32 == intid)
    }

    /// Whether anything deliverable to `vcpu` is waiting (in a list register or not).
    pub fn has_pending(&self, vcpu: usize) -> bool {
        self.lrs[vcpu][..self.nr_lrs]
            .iter()
            .any(|&lr| lr >> LR_STATE_SHIFT == 1)
            || self.candidates(vcpu) != 0
    }

    /// Pending or asserted, enabled interrupts of `vcpu` (bit per INTID) not yet in an LR.
    fn candidates(&self, vcpu: usize) -> u64 {
        let p = &self.private[vcpu];
        let mut want = (p.pending | p.level) & p.enabled & 0xFFFF_FFFF;
        if self.ctlr & 0b10 != 0 {
            let mut spis = (self.spi.pending | self.spi.level) & self.spi.enabled & !0xFFFF_FFFF;
            while spis != 0 {
                let intid = spis.trailing_zeros();
                spis &= spis - 1;
                if self.spi_target(intid) == vcpu {
                    want |= bit(intid);
                }
            }
        }
        let mut out = 0;
        let mut w = want;
        while w != 0 {
            let intid = w.trailing_zeros();
            w &= w - 1;
            if !self.in_lr(vcpu, intid) {
                out |= bit(intid);
            }
        }
        out
    }

    /// Fills free list registers of `vcpu` with what is waiting (highest priority first is
    /// not attempted: at most a handful are ever pending at once).
    pub fn fill_lrs(&mut self, vcpu: usize) {
        let mut waiting = self.candidates(vcpu);
        while waiting != 0 {
            let Some(slot) = (0..self.nr_lrs).find(|&i| self.lrs[vcpu][i] >> LR_STATE_SHIFT == 0)
            else {
                return;
            };
            let intid = waiting.trailing_zeros();
            waiting &= waiting - 1;
            let prio = if intid < 32 {
                self.prio_private[vcpu][intid as usize]
            } else {
                self.prio_spi[(intid - 32) as usize]
            };
            self.lrs[vcpu][slot] =
                (1 << LR_STATE_SHIFT) | LR_GROUP1 | u64::from(prio) << 48 | u64::from(intid);
            // The list register now holds the edge.
            if intid < 32 {
                self.private[vcpu].pending &= !bit(intid);
            } else {
                self.spi.pending &= !bit(intid);
            }
            self.injected += 1;
        }
    }

    /// A distributor read.
    pub fn gicd_read(&self, offset: u64) -> u64 {
        let word = |bits: u64, index: u64| -> u64 {
            match index {
                1 => bits >> 32,
                _ => 0,
            }
        };
        match offset {
            0x0000 => u64::from(self.ctlr),
            // TYPER: ITLinesNumber 1 (64 INTIDs), IDbits 9 (10 bits), no LPIs, no MBIS.
            0x0004 => 1 | (9 << 19),
            0x0008 => 0x43B,
            0x0010 => 0,
            0x0080..=0x00FC => word(self.spi.group, (offset - 0x80) / 4),
            0x0100..=0x017C => word(self.spi.enabled, (offset - 0x100) / 4),
            0x0180..=0x01FC => word(self.spi.enabled, (offset - 0x180) / 4),
            0x0200..=0x027C => word(self.spi.pending | self.spi.level, (offset - 0x200) / 4),
            0x0280..=0x02FC => word(self.spi.pending | self.spi.level, (offset - 0x280) / 4),
            0x0420..=0x043F => {
                let base = (offset - 0x420) as usize;
                (0..4).fold(0, |acc, i| {
                    acc | u64::from(self.prio_spi[base + i]) << (8 * i)
                })
            }
            0x0C08 | 0x0C0C => u64::from(self.icfgr_spi[((offset - 0xC08) / 4) as usize]),
            0x6100..=0x61F8 => self.irouter[((offset - 0x6100) / 8) as usize],
            // PIDR2: ArchRev 3 (GICv3).
            0xFFE8 => 0x3B,
            _ => 0,
        }
    }

    /// A distributor write.
    pub fn gicd_write(&mut self, offset: u64, value: u64) {
        let v32 = value & 0xFFFF_FFFF;
        match offset {
            // Keep EnableGrp1A and ARE; RWP always reads 0.
            0x0000 => self.ctlr = (value as u32) & 0x13,
            0x0084 => self.spi.group = (self.spi.group & 0xFFFF_FFFF) | v32 << 32,
            0x0104 => self.spi.enabled |= v32 << 32,
            0x0184 => self.spi.enabled &= !(v32 << 32),
            0x0204 => self.spi.pending |= v32 << 32,
            0x0284 => self.spi.pending &= !(v32 << 32),
            0x0420..=0x043F => {
                let base = (offset - 0x420) as usize;
                for i in 0..4 {
                    if base + i < 32 {
                        self.prio_spi[base + i] = (value >> (8 * i)) as u8;
                    }
                }
            }
            0x0C08 | 0x0C0C => self.icfgr_spi[((offset - 0xC08) / 4) as usize] = value as u32,
            0x6100..=0x61F8 => self.irouter[((offset - 0x6100) / 8) as usize] = value,
            _ => {}
        }
    }

    /// A redistributor read (`offset` from the first redistributor).
    pub fn gicr_read(&self, offset: u64) -> u64 {
        let vcpu = (offset / GICR_STRIDE) as usize;
        if vcpu >= self.vcpus {
            return 0;
        }
        let p = &self.private[vcpu];
        match offset % GICR_STRIDE {
            0x0000 => u64::from(self.gicr_ctlr[vcpu]),
            0x0004 => 0x43B,
            0x0008 => {
                let m = self.mpidr[vcpu];
                let aff = (m & 0xFF_FFFF) | ((m >> 32) & 0xFF) << 24;
                let last = if vcpu + 1 == self.vcpus { 1 << 4 } else { 0 };
                aff << 32 | (vcpu as u64) << 8 | last
            }
            0x000C => {
                let m = self.mpidr[vcpu];
                (m & 0xFF_FFFF) | ((m >> 32) & 0xFF) << 24
            }
            0x0014 => u64::from(self.waker[vcpu]),
            0xFFE8 => 0x3B,
            0x1_0080 => p.group & 0xFFFF_FFFF,
            0x1_0100 | 0x1_0180 => p.enabled & 0xFFFF_FFFF,
            0x1_0200 | 0x1_0280 => (p.pending | p.level) & 0xFFFF_FFFF,
            0x1_0400..=0x1_041F => {
                let base = ((offset % GICR_STRIDE) - 0x1_0400) as usize;
                (0..4).fold(0, |acc, i| {
                    acc | u64::from(self.prio_private[vcpu][base + i]) << (8 * i)
                })
            }
            // ICFGR0: SGIs edge; ICFGR1: PPIs level.
            0x1_0C00 => 0xAAAA_AAAA,
            0x1_0C04 => 0,
            _ => 0,
        }
    }

    /// A redistributor write.
    pub fn gicr_write(&mut self, offset: u64, value: u64) {
        let vcpu = (offset / GICR_STRIDE) as usize;
        if vcpu >= self.vcpus {
            return;
        }
        let v32 = value & 0xFFFF_FFFF;
        let p = &mut self.private[vcpu];
        match offset % GICR_STRIDE {
            0x0000 => self.gicr_ctlr[vcpu] = 0,
            // ProcessorSleep (bit 1) mirrored into ChildrenAsleep (bit 2).
            0x0014 => {
                let sleep = (value as u32) & 0b10;
                self.waker[vcpu] = sleep | (sleep << 1);
            }
            0x1_0080 => p.group = v32,
            0x1_0100 => p.enabled |= v32,
            0x1_0180 => p.enabled &= !v32,
            0x1_0200 => p.pending |= v32,
            0x1_0280 => p.pending &= !v32,
            0x1_0400..=0x1_041F => {
                let base = ((offset % GICR_STRIDE) - 0x1_0400) as usize;
                for i in 0..4 {
                    if base + i < 32 {
                        self.prio_private[vcpu][base + i] = (value >> (8 * i)) as u8;
                    }
                }
            }
            _ => {}
        }
    }

    /// A trapped ICC_SGI1R_EL1 write by `from`: makes the SGI pending on every target.
    pub fn sgi1r(&mut self, from: usize, value: u64) {
        let intid = ((value >> 24) & 0xF) as u32;
        if value & (1 << 40) != 0 {
            // IRM: every vCPU but the sender.
            for v in (0..self.vcpus).filter(|&v| v != from) {
                self.raise_sgi(v, intid);
            }
            return;
        }
        let aff1 = (value >> 16) & 0xFF;
        let aff2 = (value >> 32) & 0xFF;
        let aff3 = (value >> 48) & 0xFF;
        let targets = value & 0xFFFF;
        for v in 0..self.vcpus {
            let m = self.mpidr[v];
            let (a0, a1, a2, a3) = (
                m & 0xFF,
                (m >> 8) & 0xFF,
                (m >> 16) & 0xFF,
                (m >> 32) & 0xFF,
            );
            if a1 == aff1 && a2 == aff2 && a3 == aff3 && a0 < 16 && targets & (1 << a0) != 0 {
                self.raise_sgi(v, intid);
            }
        }
    }

    /// Number of vCPUs modelled.
    pub fn vcpus(&self) -> usize {
        self.vcpus
    }

    /// ICH_HCR_EL2 host bits for an entry of `vcpu`: UIE when something waits for a list
    /// register, so the realm exits once one frees up.
    pub fn entry_hcr(&self, vcpu: usize) -> u64 {
        if self.candidates(vcpu) != 0 {
            1 << 1
        } else {
            0
        }
    }
}
