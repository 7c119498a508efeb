// SPDX-License-Identifier: MIT OR Apache-2.0
//! # The test realm's protocol with the test hypervisor
//!
//! The hypervisor starts the realm with a [`Scenario`] number in x0 and the IPA of the shared
//! (unprotected) page in x1. The realm answers through `RSI_HOST_CALL`, with the
//! [`HostCallCode`] as the immediate, and prints through an emulated MMIO console at
//! [`console_ipa`]. Both sides name checks by index into [`CHECKS`], so the transcript shows
//! every check the realm ran as its own `TEST` line.
#![no_std]

pub mod csm;
#[cfg(target_arch = "aarch64")]
pub mod fp;
pub mod msg;

/// Where the realm image is linked and entered (IPA = PA with the realm's MMU off).
pub const REALM_IMAGE_BASE: u64 = 0x8_0000;

/// Byte offset, in the realm image, of its start and end addresses (two 64-bit words; the
/// end includes the NOLOAD BSS and stack the flat binary leaves out).
pub const IMAGE_BOUNDS_OFFSET: usize = 8;

/// What the realm does, chosen by the hypervisor in x0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Scenario {
    /// Print through a host call and the MMIO console, then finish.
    Hello = 0,
    /// Run the RSI checks; x2 = the realm's IPA width, x3 = its hash algorithm; the RPV is
    /// [`rpv_byte`] for every index.
    Rsi = 1,
    /// Host-call round trips for the benchmark: x2 = how many; x1 non-zero = first read a
    /// PAuth key register once, so that the RMM switches the REC's keys on every later run.
    HostCallLoop = 2,
    /// MMIO emulation checks (reads of every width, writes, injected SEA).
    Mmio = 3,
    /// Register state across exits.
    Registers = 4,
    /// Touch protected memory the host has not populated yet (x2 = its IPA).
    Populate = 5,
    /// The RSI_VERSION benchmark: an `Echo` host call, x2 RSI_VERSION calls each timed by the
    /// realm itself (generic counter read after an `isb` on both sides), another `Echo`, then
    /// a `Print` of the `BENCH rsi_version ...` line the benchmark reports, then finish.
    RsiVersionLoop = 6,
    /// Attestation ([`attest`]): x1 = IPA of the unprotected pages the token goes to (one per
    /// REC), x2 = [`attest::MODE_CHECKS`] (one REC: known extends, INIT, CONTINUE in odd
    /// chunks and every error) or [`attest::MODE_PAIR`] (each REC collects its own token,
    /// yielding to the host after every call so the host can interleave the RECs), or
    /// [`attest::MODE_BENCH`] (INIT and whole-page CONTINUEs, timed by the benchmark).
    Attest = 7,
    /// Realm PSCI with two RECs (REC 1 started by CPU_ON runs on another physical CPU at
    /// the same time), then SYSTEM_OFF after `Done`.
    Psci = 8,
    /// RIPAS changes: accepted, rejected, partly done, of DESTROYED memory; accesses to
    /// EMPTY memory and outside the IPA space. x2 = [`RIPAS_REGION`]'s base.
    Ripas = 9,
    /// The MMIO round-trip benchmark: an `Echo` host call, x2 64-bit loads from the magic
    /// register (each an emulated MMIO exit; the hypervisor answers [`MMIO_MAGIC`]), another
    /// `Echo`, then finish.
    MmioLoop = 10,
    /// Interrupts ([`irq`]): x2 = the mode, one of [`irq::MODE_LR`] (a virtual interrupt the
    /// host injects through a list register), [`irq::MODE_REJECT`] (the host tries invalid
    /// GIC states while the realm waits in a host call), [`irq::MODE_SPIN`] (register-heavy
    /// work while the host's timer makes IRQ exits) or [`irq::MODE_VTIMER`] (the realm's
    /// virtual timer expires while the host has the CPU).
    Interrupts = 11,
    /// The RIPAS-change benchmark: x2 rounds, each an `Echo`, one RSI_IPA_STATE_SET of
    /// [`RIPAS_BENCH_REGION`] to RAM (timed by the realm), another `Echo`, and the region made
    /// EMPTY again; then a `Print` of the `BENCH ripas_change_2m ...` line, then finish.
    RipasChangeLoop = 12,
    /// Pointer authentication, on two RECs created runnable: each checks that its PAuth keys
    /// start zero (REC 0 also that PAuth is advertised), sets all five keys to a pattern
    /// derived from x2 and its MPIDR (with SCTLR_EL1's EnIA/EnIB/EnDA/EnDB), signs with
    /// PACIA and PACGA, exits to the host with an `Echo`, and checks its keys and signatures
    /// survived. The hypervisor runs REC 1 from start to end while REC 0 waits in that
    /// `Echo`; REC 1 reports the `pauth.rec1_*` checks.
    Pauth = 13,
    /// Confidential Shared Memory ([`csm`]): the realm is remote-controlled by the
    /// hypervisor. It makes a [`HostCallCode::CsmNext`] host call, runs the command the answer
    /// names (one CSM RSI call, a RIPAS change, a pattern write or check, a probing access, a
    /// message loop), and hands back its results in the next `CsmNext`.
    Csm = 14,
}

impl Scenario {
    /// The scenario with number `n`.
    pub fn from_u64(n: u64) -> Option<Self> {
        Some(match n {
            0 => Self::Hello,
            1 => Self::Rsi,
            2 => Self::HostCallLoop,
            3 => Self::Mmio,
            4 => Self::Registers,
            5 => Self::Populate,
            6 => Self::RsiVersionLoop,
            7 => Self::Attest,
            8 => Self::Psci,
            9 => Self::Ripas,
            10 => Self::MmioLoop,
            11 => Self::Interrupts,
            12 => Self::RipasChangeLoop,
            13 => Self::Pauth,
            14 => Self::Csm,
            _ => return None,
        })
    }
}

/// `RsiHostCall::imm` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum HostCallCode {
    /// gprs\[0\] = check index, gprs\[1\] = 0 pass / 1 fail, gprs\[2..10\] = detail values
    /// (for checks the hypervisor verifies itself, such as measurements, the value checked).
    Report = 1,
    /// gprs\[0\] = byte count (≤ 240), gprs\[1..\] = the bytes, little-endian.
    Print = 2,
    /// The scenario ended; gprs\[0\] = number of failed checks.
    Done = 3,
    /// The hypervisor returns gprs\[i\] + i + 1 in every gprs\[i\] (round-trip check).
    Echo = 4,
    /// The realm took an exception it did not expect: gprs\[0..3\] = ESR, ELR, FAR (EL1).
    Exception = 5,
    /// How the hypervisor answers the realm's next RIPAS change: gprs\[0\] is a
    /// [`RipasPolicy`], gprs\[1\] its page count (for `Partial`).
    RipasPolicy = 6,
    /// The hypervisor takes the page at IPA gprs\[0\] away with DATA_DESTROY.
    DestroyPage = 7,
    /// The hypervisor puts a pending Group 1 virtual interrupt, vINTID gprs\[0\] with
    /// priority gprs\[1\], in a list register of the entry that completes this call.
    InjectIrq = 8,
    /// While the realm waits in this call the hypervisor tries REC_ENTER with invalid GIC
    /// states (round gprs\[0\] = 0: each must be refused with RMI_ERROR_REC; the call is then
    /// completed with implemented list registers that are invalid but full of other bits;
    /// round 1: completed with garbage in the list registers past the implemented ones).
    /// Answer: gprs\[i\] = [`irq::gic_answer`]`(i)`.
    GicStateChecks = 9,
    /// The hypervisor arms its own EL2 physical timer (PPI 26) to fire gprs\[0\] µs after
    /// completing this call, and again after each IRQ exit it causes (a few times).
    HostTimer = 10,
    /// The realm armed its EL1 virtual timer with CNTV_CVAL = gprs\[0\]: the hypervisor lets
    /// the deadline pass before entering again, expects REC_ENTER to exit with IRQ without
    /// running the realm, then injects the timer's interrupt ([`irq::VTIMER_INTID`]).
    TimerArmed = 11,
    /// The CSM realm is ready for its next command: gprs\[0..\] are the results of the last
    /// one ([`csm::READY`] in gprs\[0\] the first time). The answer: gprs\[0\] a
    /// [`csm::Op`], gprs\[1..\] its arguments.
    CsmNext = 12,
}

/// How the hypervisor answers one RIPAS change (then it goes back to `Accept`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum RipasPolicy {
    /// RTT_SET_RIPAS over the whole range (in two calls when it spans several pages), then
    /// ACCEPT.
    Accept = 0,
    /// No RTT_SET_RIPAS; REJECT.
    Reject = 1,
    /// RTT_SET_RIPAS over the first gprs\[1\] pages only, then ACCEPT.
    Partial = 2,
}

impl RipasPolicy {
    /// The policy with number `n`.
    pub fn from_u64(n: u64) -> Option<Self> {
        Some(match n {
            0 => Self::Accept,
            1 => Self::Reject,
            2 => Self::Partial,
            _ => return None,
        })
    }
}

/// Protected IPA range the `Ripas` scenario changes (RIPAS EMPTY at start, no DATA), in the
/// image's level-3 table.
pub const RIPAS_REGION: (u64, u64) = (0x1C_0000, 0x1D_0000);

/// Protected IPA range the `RipasChangeLoop` benchmark changes: one whole level-3 table
/// (2 MiB, 512 entries), RIPAS EMPTY and without DATA at the start of every round.
pub const RIPAS_BENCH_REGION: (u64, u64) = (0x20_0000, 0x40_0000);

/// RECs the test realm supports (each has its own stack and host-call structure): a power of
/// two, so that finding a REC's structure is an AND.
pub const MAX_RECS: usize = 8;

impl HostCallCode {
    /// The code with value `imm`.
    pub fn from_u16(imm: u16) -> Option<Self> {
        Some(match imm {
            1 => Self::Report,
            2 => Self::Print,
            3 => Self::Done,
            4 => Self::Echo,
            5 => Self::Exception,
            6 => Self::RipasPolicy,
            7 => Self::DestroyPage,
            8 => Self::InjectIrq,
            9 => Self::GicStateChecks,
            10 => Self::HostTimer,
            11 => Self::TimerArmed,
            12 => Self::CsmNext,
            _ => return None,
        })
    }
}

/// Offset of the emulated console's data register from the start of the unprotected half.
pub const CONSOLE_OFFSET: u64 = 0x1000;

/// Offset of a register the hypervisor emulates: reads return the last value written (first
/// [`MMIO_MAGIC`]), cut to the access size.
pub const MAGIC_OFFSET: u64 = 0x1008;

/// What the magic register reads as.
pub const MMIO_MAGIC: u64 = 0x8123_4567_89AB_CDEF;

/// Offset of a register whose accesses the hypervisor answers with an injected synchronous
/// external abort.
pub const SEA_OFFSET: u64 = 0x1010;

/// The console data register's IPA for a realm of `ipa_width` bits.
pub const fn console_ipa(ipa_width: u64) -> u64 {
    (1 << (ipa_width - 1)) + CONSOLE_OFFSET
}

/// Byte `i` of the RPV the hypervisor gives realms that run [`Scenario::Rsi`].
pub const fn rpv_byte(i: usize) -> u8 {
    (i as u8) ^ 0x5A
}

/// The value the realm extends REM1 with in the `rsi.measurement_extend` check (32 bytes
/// used), so the hypervisor can compute the expected REM.
pub const EXTEND_VALUE: [u8; 64] = {
    let mut v = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        v[i] = (i as u8).wrapping_mul(7).wrapping_add(3);
        i += 1;
    }
    v
};

/// How many bytes of [`EXTEND_VALUE`] are extended.
pub const EXTEND_SIZE: u64 = 32;

/// Every check the realm can report, by index.
pub const CHECKS: &[&str] = &[
    "rsi.version",
    "rsi.version_unsupported",
    "rsi.features",
    "rsi.realm_config",
    "rsi.realm_config_misaligned",
    "rsi.realm_config_unprotected",
    "rsi.realm_config_outside_ipa",
    "rsi.host_call_misaligned",
    "rsi.host_call_unprotected",
    "rsi.measurement_read_rim",
    "rsi.measurement_read_bad_index",
    "rsi.measurement_extend",
    "rsi.measurement_extend_bad_index",
    "rsi.measurement_extend_bad_size",
    "rsi.ipa_state_get",
    "rsi.ipa_state_get_bad_range",
    "rsi.unknown_smc",
    "rsi.hvc_undefined",
    "mmio.read_widths",
    "mmio.sign_extend",
    "mmio.write",
    "mmio.inject_sea",
    "regs.gprs_survive_exit",
    "regs.sysregs_survive_exit",
    "regs.host_call_results",
    "regs.id_registers_sanitised",
    "regs.midr_sane",
    "regs.fp_starts_zeroed",
    "regs.fp_survives_exit",
    "pauth.advertised",
    "pauth.keys_start_zeroed",
    "pauth.pac_signs",
    "pauth.keys_survive_exit",
    "pauth.rec1_keys_start_zeroed",
    "pauth.rec1_pac_signs",
    "pauth.rec1_keys_survive_exit",
    "populate.after_fault",
    "psci.version",
    "psci.features",
    "psci.affinity_info_self",
    "psci.bad_arguments",
    "psci.affinity_info_off",
    "psci.cpu_on",
    "psci.cpu_on_already_on",
    "psci.secondary_entry",
    "psci.concurrent_primary",
    "psci.concurrent_secondary",
    "psci.affinity_info_on",
    "psci.cpu_off_seen",
    "ripas.bad_arguments",
    "ripas.initially_empty",
    "ripas.set_ram_accepted",
    "ripas.ram_populated_on_touch",
    "ripas.set_empty_accepted",
    "ripas.empty_access_sea",
    "ripas.rejected",
    "ripas.partial",
    "ripas.destroyed",
    "ripas.destroyed_changes_with_flag",
    "ripas.outside_ipa_space_sea",
    "attest.extends",
    "attest.continue_without_init",
    "attest.init",
    "attest.continue_misaligned",
    "attest.continue_outside_par",
    "attest.continue_bad_offset_size",
    "attest.continue_empty_page",
    "attest.chunks",
    "attest.continue_after_done",
    "irq.lr.gic_sysregs",
    "irq.lr.taken_once",
    "irq.lr.nothing_pending_after",
    "irq.reject.continues",
    "irq.reject.upper_lrs_ignored",
    "irq.spin.registers_survive",
    "irq.vtimer.taken",
    "irq.vtimer.masked_nothing_pending",
];

/// What the interrupt scenarios ([`Scenario::Interrupts`]) and the hypervisor agree on.
pub mod irq {
    /// x2: the realm asks for [`LR_INTID`] with [`HostCallCode::InjectIrq`](super::HostCallCode)
    /// and must take it exactly once.
    pub const MODE_LR: u64 = 0;
    /// x2: the realm waits in two [`HostCallCode::GicStateChecks`](super::HostCallCode) calls
    /// and checks it continues normally afterwards.
    pub const MODE_REJECT: u64 = 1;
    /// x2: the realm asks for the host's timer, then spins [`SPIN_US`] doing register-heavy
    /// work, which must survive the IRQ exits.
    pub const MODE_SPIN: u64 = 2;
    /// x2: the realm arms its virtual timer [`VTIMER_DELAY_US`] ahead, tells the host
    /// ([`HostCallCode::TimerArmed`](super::HostCallCode)) and must then take
    /// [`VTIMER_INTID`] from a list register.
    pub const MODE_VTIMER: u64 = 3;

    /// The vINTID the LR mode asks for (an SPI number, nothing the hardware also raises).
    pub const LR_INTID: u64 = 100;
    /// Its priority (a multiple of 8: valid with 5 priority bits).
    pub const LR_PRIORITY: u64 = 0xA0;
    /// What the LR mode writes to ICC_SGI1R_EL1 last: SGI 5 to the CPU with affinity
    /// 0.0.0.0 (target list bit 0). The write traps to the RMM, which hands it to the host
    /// (`RMI_EXIT_SYNC`, the value in `gprs[0]`) to send the IPI.
    pub const SGI1R_VALUE: u64 = 5 << 24 | 1;
    /// The EL1 virtual timer's PPI.
    pub const VTIMER_INTID: u64 = 27;
    /// The EL2 physical timer's PPI (the hypervisor's own timer).
    pub const HOST_TIMER_INTID: u64 = 26;
    /// How far ahead the realm sets its virtual timer: far enough that it cannot fire before
    /// the realm's host call reaches the host, even when QEMU's vCPU thread is descheduled
    /// (the counter follows wall-clock time).
    pub const VTIMER_DELAY_US: u64 = 50_000;
    /// How long after completing the call the host timer fires.
    pub const HOST_TIMER_DELAY_US: u64 = 1_000;
    /// How long the spin mode spins (generic counter time).
    pub const SPIN_US: u64 = 50_000;
    /// How long the realm waits for an interrupt it expects.
    pub const WAIT_US: u64 = 10_000;

    /// Word `i` of the host's answer to a `GicStateChecks` call.
    pub const fn gic_answer(i: usize) -> u64 {
        0x61C0_0000_0000_0000 | ((i as u64) * 0x0101)
    }
}

/// What the attestation scenario ([`Scenario::Attest`]) and the hypervisor agree on.
pub mod attest {
    /// x2: one REC runs every check.
    pub const MODE_CHECKS: u64 = 0;
    /// x2: each REC collects its own token, yielding after every call.
    pub const MODE_PAIR: u64 = 1;
    /// x2: INIT and whole-page CONTINUEs only, each timed (`CNTVCT_EL0`) and reported.
    pub const MODE_BENCH: u64 = 2;

    /// The protected page REC `i` collects its token in: `BUFFER_IPA + i * 4096`. RIPAS
    /// RAM, not populated until the RMM reports the stage-2 abort of the first CONTINUE.
    pub const BUFFER_IPA: u64 = 0x1C_0000;
    /// A protected page the hypervisor leaves RIPAS EMPTY.
    pub const EMPTY_IPA: u64 = 0x1E_0000;
    /// Offset of REC `i`'s shared page from the start of the unprotected half:
    /// `SHARED_OFFSET + i * 4096`. The realm writes the token's length (one word) then
    /// its bytes.
    pub const SHARED_OFFSET: u64 = 0x10_0000;
    /// `RsiHostCall::imm` of the pair mode's yields (not a [`super::HostCallCode`]: only the
    /// attestation scenarios' hypervisor loop knows it): nothing to do, the hypervisor may
    /// run another REC before entering this one again.
    pub const YIELD_IMM: u16 = 0x100;
    /// gprs\[0\] of the bench mode's one `Report` host call (not a check index): gprs\[2..\] =
    /// INIT, all CONTINUEs, the longest CONTINUE (instructions, the empty counter-read pair
    /// subtracted), the number of CONTINUEs, the token length, the empty pair.
    pub const BENCH_REPORT: u64 = 0xBE7C;
    /// Bytes the pair mode asks for per CONTINUE.
    pub const PAIR_CHUNK: u64 = 512;

    /// The challenge REC `rec` passes to INIT.
    pub const fn challenge(rec: u64) -> [u8; 64] {
        let mut c = [0u8; 64];
        let mut i = 0;
        while i < 64 {
            c[i] = (i as u8).wrapping_mul(29).wrapping_add(0x11) ^ (rec as u8).wrapping_mul(0x5B);
            i += 1;
        }
        c
    }

    /// The extends the checks mode makes before INIT: (REM index, bytes, fill seed); the
    /// value is [`extend_value`] of the seed, cut to the size.
    pub const EXTENDS: [(u64, u64, u8); 3] = [(2, 64, 0x21), (4, 10, 0x42), (2, 33, 0x63)];

    /// The 64-byte value an extend with `seed` uses.
    pub const fn extend_value(seed: u8) -> [u8; 64] {
        let mut v = [0u8; 64];
        let mut i = 0;
        while i < 64 {
            v[i] = seed.wrapping_add((i as u8).wrapping_mul(3));
            i += 1;
        }
        v
    }
}

/// The index of check `name` (compile-time lookup for the realm's reports).
pub const fn check(name: &str) -> u64 {
    let mut i = 0;
    while i < CHECKS.len() {
        if str_eq(CHECKS[i], name) {
            return i as u64;
        }
        i += 1;
    }
    panic!("unknown check name")
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
