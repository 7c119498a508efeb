// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `rmi`/`rsi` input format written forwards: [`Program`] builds the bytes that
//! [`crate::rmi`]'s engine and [`crate::realm`]'s fake realm read back as a given sequence of
//! commands and realm traps, so hand-written seeds are programs, not hex. Only what the seeds
//! use is here; each method mirrors one decoder path byte for byte (a seed that drifts from
//! the decoder stops reaching what it was written for, which the replay test notices).
//! [`SEEDS`] lists the generated seeds; `cargo run -p rmm-fuzz --example seeds` writes them to
//! `fuzz/corpus/<target>/`, and the corpus test checks the committed files are what the
//! generator writes.

use crate::realm::IPAS;

/// A granule argument (`Engine::granule`).
#[derive(Debug, Clone, Copy)]
pub enum Granule {
    /// The `n`th of the live RDs and RECs (RDs first, in creation order).
    Known(u8),
    /// The `n`th granule of the harness's pool (`Start::Empty`: 48 fresh NS granules,
    /// consecutive from the host's pool base).
    Pool(u8),
}

/// An RD or REC argument (`Engine::rd`, `Engine::rec`).
#[derive(Debug, Clone, Copy)]
pub enum Live {
    /// The `n`th live realm (or REC).
    Nth(u8),
    /// Any granule.
    Granule(Granule),
}

/// A realm trap (`realm::install`).
#[derive(Debug, Clone, Copy)]
pub enum Arg {
    /// A value of [`IPAS`].
    Ipa(u64),
    /// The `n`th small value (`realm::SMALL`: 0, 1, 2, 3, 0x100, 0x40, 0x1_0000,
    /// 0xFFFF_FFFF).
    Small(u8),
}

/// A program for the `rmi`/`rsi` targets.
#[derive(Debug, Default, Clone)]
pub struct Program {
    bytes: Vec<u8>,
}

/// The selector byte of [`crate::input::Input::pick`] for pool index `i`.
fn pick(i: usize) -> u8 {
    // Selectors from 0xF0 up pick edge or arbitrary values.
    u8::try_from(i)
        .ok()
        .filter(|&s| s < 0xF0)
        .unwrap_or_else(|| panic!("{i} is not a pool pick"))
}

fn ipa_index(ipa: u64) -> usize {
    IPAS.iter()
        .position(|&v| v == ipa)
        .unwrap_or_else(|| panic!("{ipa:#x} is not one of realm::IPAS"))
}

impl Program {
    /// An empty program.
    pub fn new() -> Self {
        Self::default()
    }

    /// The input bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    fn b(&mut self, byte: u8) -> &mut Self {
        self.bytes.push(byte);
        self
    }

    fn granule(&mut self, g: Granule) -> &mut Self {
        match g {
            Granule::Known(n) => self.b(n % 0x40),
            // 0x40: not a known one; then a pick from the pool (the pool comes first in
            // the list `granule` picks from).
            Granule::Pool(n) => self.b(0x40).b(pick(usize::from(n))),
        }
    }

    fn live(&mut self, l: Live) -> &mut Self {
        match l {
            Live::Nth(n) => self.b(n % 0xC0),
            Live::Granule(g) => self.b(0xC0).granule(g),
        }
    }

    /// An IPA of [`IPAS`] plus `pages` (0..4) granules (`Engine::ipa`, the aligned form).
    fn ipa(&mut self, base: u64, pages: u8) -> &mut Self {
        assert!(base.is_multiple_of(0x1000) && pages < 4);
        self.b(pick(ipa_index(base))).b(pages)
    }

    /// `Engine::top`, the form that picks an IPA of [`IPAS`].
    fn top(&mut self, top: u64) -> &mut Self {
        self.b(0).b(pick(ipa_index(top)))
    }

    fn level(&mut self, level: u64) -> &mut Self {
        let i = crate::rmi::LEVELS
            .iter()
            .position(|&l| l == level)
            .expect("a level of the pool");
        self.b(pick(i))
    }

    /// The running REC asks RSI_IPA_STATE_SET(0x1000, 0x3000, EMPTY) over its two DATA
    /// pages; the host answers with RTT_SET_RIPAS over exactly that range and enters the REC
    /// again.
    pub fn release_two_pages(&mut self, rd: Live, rec: Live) -> &mut Self {
        self.rsi(
            rmm_abi::rsi::fid::IPA_STATE_SET,
            [
                Arg::Ipa(0x1000),
                Arg::Ipa(0x3000),
                Arg::Small(0),
                Arg::Small(0),
            ],
        )
        .set_ripas(rd, rec, 0x1000, 0x3000)
        .rec_enter(rec, 0)
    }

    /// Op 25: GRANULE_DELEGATE of `n` (1..=32) pool granules from `first`.
    pub fn delegate_run(&mut self, first: u8, n: u8) -> &mut Self {
        assert!((1..=32).contains(&n));
        self.b(25).b(first).b(n - 1)
    }

    /// Op 2: REALM_CREATE of a 40-bit realm starting at level 1 with two roots at `rtt_base`,
    /// VMID 1, SHA-256, two breakpoints and two watchpoints, the parameters in the harness's
    /// NS page.
    pub fn realm_create(&mut self, rd: Granule, rtt_base: Granule) -> &mut Self {
        self.b(2).granule(rd);
        // s2sz 40, level 1, 2 roots, VMID 1, hash 0 (the pools' first values).
        self.b(0).b(0).b(0).b(0).b(0);
        self.granule(rtt_base);
        // extra: 2 breakpoints, 2 watchpoints, no flags, no RPV; no reserved byte; the
        // params page.
        self.b(2 | 2 << 3).b(0).b(0)
    }

    /// Op 8: RTT_CREATE.
    pub fn rtt_create(&mut self, rd: Live, table: Granule, ipa: u64, level: u64) -> &mut Self {
        self.b(8).live(rd).granule(table).ipa(ipa, 0).level(level)
    }

    /// Op 12: RTT_INIT_RIPAS over `[base, top)`, both of [`IPAS`].
    pub fn init_ripas(&mut self, rd: Live, base: u64, top: u64) -> &mut Self {
        self.b(12).live(rd).ipa(base, 0).top(top)
    }

    /// Op 13: RTT_SET_RIPAS over `[base, top)`, both of [`IPAS`].
    pub fn set_ripas(&mut self, rd: Live, rec: Live, base: u64, top: u64) -> &mut Self {
        self.b(13).live(rd).live(rec).ipa(base, 0).top(top)
    }

    /// Op 16: DATA_CREATE of `data` at `ipa` from the harness's source page, no flags.
    pub fn data_create(&mut self, rd: Live, data: Granule, ipa: u64) -> &mut Self {
        self.b(16).live(rd).granule(data).ipa(ipa, 0).b(0).b(0)
    }

    /// Op 6: REC_CREATE of a REC, runnable or not, with MPIDR index `index`, PC `pc` (of
    /// [`IPAS`]), the 16 aux granules the pool holds from `first_aux`, and zero GPRs.
    pub fn rec_create(
        &mut self,
        rd: Live,
        rec: Granule,
        runnable: bool,
        index: u8,
        pc: u64,
        first_aux: u8,
    ) -> &mut Self {
        self.b(6).live(rd).granule(rec);
        // flags: runnable or not; the MPIDR by index; the PC; aux from the pool.
        self.b(u8::from(runnable))
            .b(index)
            .b(pick(ipa_index(pc)))
            .b(first_aux);
        for _ in 0..8 * 8 {
            self.b(0);
        }
        self
    }

    /// Op 3: REALM_ACTIVATE.
    pub fn realm_activate(&mut self, rd: Live) -> &mut Self {
        self.b(3).live(rd)
    }

    /// Op 19: REC_ENTER with entry `flags` (the low five bits of the run page's entry flags:
    /// emulated MMIO, inject SEA, trap WFI, trap WFE, RIPAS response) and the harness's run
    /// page. What the realm does must follow ([`Program::rsi`]…); with nothing following,
    /// it takes an IRQ.
    pub fn rec_enter(&mut self, rec: Live, flags: u8) -> &mut Self {
        assert!(flags < 0x20);
        self.b(19).live(rec).b(flags)
    }

    /// Op 22: RMI_PSCI_COMPLETE of the calling REC `rec` for `target` with PSCI status
    /// `status` (0: PSCI_SUCCESS; one of the harness's pool `[0, 1, 2, 3, 5, 6]`).
    pub fn psci_complete(&mut self, rec: Live, target: Live, status: u64) -> &mut Self {
        let i = [0, 1, 2, 3, 5, 6]
            .iter()
            .position(|&s| s == status)
            .expect("a status of the pool");
        self.b(22).live(rec).live(target).b(pick(i))
    }

    /// The running realm takes an IRQ: REC_ENTER returns to the host (exit IRQ).
    pub fn irq(&mut self) -> &mut Self {
        self.b(0x78)
    }

    /// The running realm makes PSCI call `fid` (one of `realm::PSCI_FIDS`) with x1 the
    /// `target`th small value, x2 `entry` (of [`IPAS`]) and x3 the `context`th small value.
    pub fn psci(&mut self, fid: u32, target: u8, entry: u64, context: u8) -> &mut Self {
        let i = crate::realm::PSCI_FIDS
            .iter()
            .position(|&f| f == u64::from(fid))
            .expect("a PSCI function of the pool");
        self.b(0x40)
            .b(pick(i))
            .b(target)
            .b(pick(ipa_index(entry)))
            .b(context)
    }

    /// The running realm makes RSI call `fid` (one of `realm::RSI_FIDS`) with x1..x4.
    pub fn rsi(&mut self, fid: u32, args: [Arg; 4]) -> &mut Self {
        let i = crate::realm::RSI_FIDS
            .iter()
            .position(|&f| f == u64::from(fid))
            .expect("an RSI function of the pool");
        self.b(0).b(pick(i));
        for arg in args {
            match arg {
                Arg::Ipa(ipa) => self.b(0).b(pick(ipa_index(ipa))),
                Arg::Small(n) => self.b(1).b(n),
            };
        }
        self
    }
}

/// A generated seed: target, file name, generator.
pub type Seed = (&'static str, &'static str, fn() -> Program);

/// The hand-written seeds.
pub const SEEDS: [Seed; 4] = [
    ("rmi", "seed-set-ripas", set_ripas_from_empty),
    ("rmi", "seed-psci-cpu-on", psci_cpu_on_from_empty),
    ("rsi", "seed-set-ripas", set_ripas_running),
    ("rsi", "seed-attest", attest_running),
];

/// `rmi`: build a realm from nothing (RD, two roots, tables to level 3 at IPA 0, RAM at
/// [0x1000, 0x3000) with DATA at 0x1000, one runnable REC at 0x1000), activate it, run the
/// REC, whose realm asks RSI_IPA_STATE_SET(0x1000, 0x3000, EMPTY); the host answers with
/// RTT_SET_RIPAS over exactly that range (the DATA page's valid mapping goes: the checker
/// wants its invalidation) and enters the REC again, which learns the change was made.
fn set_ripas_from_empty() -> Program {
    let rd = Live::Nth(0);
    let rec = Live::Nth(0);
    let mut p = Program::new();
    p.delegate_run(0, 32)
        .realm_create(Granule::Pool(0), Granule::Pool(2))
        .rtt_create(rd, Granule::Pool(4), 0, 2)
        .rtt_create(rd, Granule::Pool(5), 0, 3)
        .init_ripas(rd, 0x1000, 0x3000)
        .data_create(rd, Granule::Pool(6), 0x1000)
        .rec_create(rd, Granule::Pool(7), true, 0, 0x1000, 8)
        .realm_activate(rd)
        .rec_enter(rec, 0)
        .release_two_pages(rd, rec);
    p
}

/// `rmi`: build a realm from nothing (as [`set_ripas_from_empty`], with a second REC, MPIDR
/// index 1, not runnable), activate it and run REC 0, whose realm calls PSCI_CPU_ON(1,
/// 0x1000, 0): the RMM exits with RMI_EXIT_PSCI; the host answers with RMI_PSCI_COMPLETE(REC
/// 0, REC 1, PSCI_SUCCESS), which makes REC 1 runnable, then enters REC 0 (which learns the
/// call succeeded and takes an IRQ) and REC 1 (which starts at 0x1000).
fn psci_cpu_on_from_empty() -> Program {
    let rd = Live::Nth(0);
    let (rec0, rec1) = (Live::Nth(0), Live::Nth(1));
    let mut p = Program::new();
    p.delegate_run(0, 32)
        .delegate_run(32, 16)
        .realm_create(Granule::Pool(0), Granule::Pool(2))
        .rtt_create(rd, Granule::Pool(4), 0, 2)
        .rtt_create(rd, Granule::Pool(5), 0, 3)
        .init_ripas(rd, 0x1000, 0x3000)
        .data_create(rd, Granule::Pool(6), 0x1000)
        .rec_create(rd, Granule::Pool(7), true, 0, 0x1000, 8)
        .rec_create(rd, Granule::Pool(24), false, 1, 0x1000, 25)
        .realm_activate(rd)
        .rec_enter(rec0, 0)
        .psci(rmm_abi::psci::PSCI_CPU_ON, 1, 0x1000, 0)
        .psci_complete(rec0, rec1, 0)
        .rec_enter(rec0, 0)
        .irq()
        .rec_enter(rec1, 0);
    p
}

/// `rsi`: the running realm's REC 0 asks RSI_IPA_STATE_SET(0x1000, 0x3000, EMPTY) over its
/// two DATA pages; the host answers with RTT_SET_RIPAS over exactly that range and enters it
/// again.
fn set_ripas_running() -> Program {
    let rd = Live::Nth(0);
    let rec = Live::Nth(0);
    let mut p = Program::new();
    p.rec_enter(rec, 0).release_two_pages(rd, rec);
    p
}

/// `rsi`: the running realm's REC 0 asks for an attestation token: ATTEST_TOKEN_INIT, then
/// a CONTINUE that a host interrupt stops (x4 = 1: RSI_INCOMPLETE with nothing copied, exit
/// IRQ); entered again, CONTINUE signs and copies 0x100 bytes to 0x2000 (RSI_INCOMPLETE),
/// and a last CONTINUE copies the rest to 0x1000 (RSI_SUCCESS: the whole token).
fn attest_running() -> Program {
    use rmm_abi::rsi::fid::{ATTEST_TOKEN_CONTINUE, ATTEST_TOKEN_INIT};
    let rec = Live::Nth(0);
    let mut p = Program::new();
    p.rec_enter(rec, 0)
        .rsi(
            ATTEST_TOKEN_INIT,
            [Arg::Small(3), Arg::Small(2), Arg::Small(1), Arg::Small(0)],
        )
        .rsi(
            ATTEST_TOKEN_CONTINUE,
            [
                Arg::Ipa(0x2000),
                Arg::Small(0),
                Arg::Small(4),
                Arg::Small(1),
            ],
        )
        .rec_enter(rec, 0)
        .rsi(
            ATTEST_TOKEN_CONTINUE,
            [
                Arg::Ipa(0x2000),
                Arg::Small(0),
                Arg::Small(4),
                Arg::Small(0),
            ],
        )
        .rsi(
            ATTEST_TOKEN_CONTINUE,
            [
                Arg::Ipa(0x1000),
                Arg::Small(0),
                Arg::Ipa(0x1000),
                Arg::Small(0),
            ],
        );
    p
}
