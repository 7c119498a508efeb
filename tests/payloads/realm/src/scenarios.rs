// SPDX-License-Identifier: MIT OR Apache-2.0
//! The realm's scenarios. Each returns the number of failed checks; every check is reported
//! to the hypervisor as it completes.

use crate::{console, exceptions, fp, host_call, rsi};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};
use realm_protocol::{EXTEND_SIZE, EXTEND_VALUE, HostCallCode, MMIO_MAGIC, check, rpv_byte};
use rmm_abi::rsi::fid;
use rmm_abi::rsi::realm_config::RsiRealmConfig;

const SUCCESS: u64 = 0;
const ERROR_INPUT: u64 = 1;
const NOT_SUPPORTED: u64 = u64::MAX;
const RSI_V1_0: u64 = 1 << 16;
const RIPAS_RAM: u64 = 1;

#[repr(C, align(4096))]
struct ConfigPage(UnsafeCell<RsiRealmConfig>);

// SAFETY: one REC uses it, never re-entrantly.
unsafe impl Sync for ConfigPage {}

static CONFIG: ConfigPage = ConfigPage(UnsafeCell::new(RsiRealmConfig::zeroed()));
static IPA_WIDTH: AtomicU64 = AtomicU64::new(0);

fn config_ipa() -> u64 {
    CONFIG.0.get() as u64
}

/// The realm's IPA width, asked for once with RSI_REALM_CONFIG.
pub fn ipa_width() -> u64 {
    match IPA_WIDTH.load(Ordering::Relaxed) {
        0 => {
            let status = rsi::realm_config(config_ipa());
            // SAFETY: the RMM filled the page; nothing else references it.
            let width = unsafe { (*CONFIG.0.get()).ipa_width };
            let width = if status == SUCCESS && (32..=52).contains(&width) {
                width
            } else {
                48
            };
            IPA_WIDTH.store(width, Ordering::Relaxed);
            width
        }
        w => w,
    }
}

/// Counts failures while reporting checks.
pub struct Checks(u64);

impl Checks {
    /// No checks yet.
    pub const fn new() -> Self {
        Self(0)
    }

    /// Failed checks so far.
    pub const fn failures(&self) -> u64 {
        self.0
    }

    /// Reports check `index` (and up to eight detail values) to the hypervisor.
    pub fn report(&mut self, index: u64, pass: bool, details: &[u64]) {
        let mut args = [0u64; 10];
        args[0] = index;
        args[1] = u64::from(!pass);
        for (slot, d) in args[2..].iter_mut().zip(details) {
            *slot = *d;
        }
        host_call::call(HostCallCode::Report, &args);
        if !pass {
            self.0 += 1;
        }
    }
}

/// Prints through both channels.
pub fn hello() -> u64 {
    host_call::print("hello from the realm through RSI_HOST_CALL");
    console::print("hello from the realm through the MMIO console\n");
    0
}

/// The RSI checks.
pub fn rsi_checks(expected_width: u64, expected_hash: u64) -> u64 {
    let mut c = Checks(0);
    let (status, lower, higher) = rsi::version(RSI_V1_0);
    c.report(
        const { check("rsi.version") },
        status == SUCCESS && lower == RSI_V1_0 && higher == RSI_V1_0,
        &[status, lower, higher],
    );
    let (status, lower, higher) = rsi::version(2 << 16);
    c.report(
        const { check("rsi.version_unsupported") },
        status == ERROR_INPUT && lower == RSI_V1_0 && higher == RSI_V1_0,
        &[status, lower, higher],
    );
    let r = rsi::call(fid::FEATURES, &[0]);
    let r1 = rsi::call(fid::FEATURES, &[7]);
    c.report(
        const { check("rsi.features") },
        r[0] == SUCCESS && r[1] == 0 && r1[0] == SUCCESS && r1[1] == 0,
        &[r[0], r[1], r1[0], r1[1]],
    );

    let status = rsi::realm_config(config_ipa());
    // SAFETY: the RMM filled the page; nothing else references it.
    let config = unsafe { &*CONFIG.0.get() };
    let rpv_ok = config
        .rpv
        .iter()
        .enumerate()
        .all(|(i, b)| *b == rpv_byte(i));
    c.report(
        const { check("rsi.realm_config") },
        status == SUCCESS
            && config.ipa_width == expected_width
            && config.hash_algo == expected_hash
            && rpv_ok,
        &[
            status,
            config.ipa_width,
            config.hash_algo,
            u64::from(rpv_ok),
        ],
    );
    let par_end = 1u64 << (expected_width - 1);
    let s = rsi::realm_config(config_ipa() + 8);
    c.report(
        const { check("rsi.realm_config_misaligned") },
        s == ERROR_INPUT,
        &[s],
    );
    let s = rsi::realm_config(config_ipa() | par_end);
    c.report(
        const { check("rsi.realm_config_unprotected") },
        s == ERROR_INPUT,
        &[s],
    );
    let s = rsi::realm_config(1 << expected_width);
    c.report(
        const { check("rsi.realm_config_outside_ipa") },
        s == ERROR_INPUT,
        &[s],
    );

    let slot = host_call::slot_ipa();
    let s = rsi::host_call(slot + 8);
    c.report(
        const { check("rsi.host_call_misaligned") },
        s == ERROR_INPUT,
        &[s],
    );
    let s = rsi::host_call(slot | par_end);
    c.report(
        const { check("rsi.host_call_unprotected") },
        s == ERROR_INPUT,
        &[s],
    );

    // The hypervisor compares the RIM with the one it computed from what it loaded.
    let r = rsi::call(fid::MEASUREMENT_READ, &[0]);
    c.report(
        const { check("rsi.measurement_read_rim") },
        r[0] == SUCCESS,
        &r[1..9],
    );
    let r = rsi::call(fid::MEASUREMENT_READ, &[5]);
    c.report(
        const { check("rsi.measurement_read_bad_index") },
        r[0] == ERROR_INPUT,
        &[r[0]],
    );

    let mut args = [0u64; 10];
    args[0] = 1;
    args[1] = EXTEND_SIZE;
    for (i, chunk) in EXTEND_VALUE.chunks(8).enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        args[2 + i] = u64::from_le_bytes(word);
    }
    let extended = rsi::call(fid::MEASUREMENT_EXTEND, &args);
    let r = rsi::call(fid::MEASUREMENT_READ, &[1]);
    // The hypervisor checks the value against H(0 ‖ EXTEND_VALUE[..32]).
    c.report(
        const { check("rsi.measurement_extend") },
        extended[0] == SUCCESS && r[0] == SUCCESS,
        &r[1..9],
    );
    let mut bad = args;
    bad[0] = 0;
    let s0 = rsi::call(fid::MEASUREMENT_EXTEND, &bad)[0];
    bad[0] = 5;
    let s5 = rsi::call(fid::MEASUREMENT_EXTEND, &bad)[0];
    c.report(
        const { check("rsi.measurement_extend_bad_index") },
        s0 == ERROR_INPUT && s5 == ERROR_INPUT,
        &[s0, s5],
    );
    let mut big = args;
    big[1] = 65;
    let s = rsi::call(fid::MEASUREMENT_EXTEND, &big)[0];
    c.report(
        const { check("rsi.measurement_extend_bad_size") },
        s == ERROR_INPUT,
        &[s],
    );

    let base = realm_protocol::REALM_IMAGE_BASE;
    let r = rsi::call(fid::IPA_STATE_GET, &[base, base + 0x2000]);
    c.report(
        const { check("rsi.ipa_state_get") },
        r[0] == SUCCESS && r[1] == base + 0x2000 && r[2] == RIPAS_RAM,
        &[r[0], r[1], r[2]],
    );
    let a = rsi::call(fid::IPA_STATE_GET, &[base + 8, base + 0x1000])[0];
    let b = rsi::call(fid::IPA_STATE_GET, &[base + 0x1000, base + 0x1000])[0];
    let d = rsi::call(fid::IPA_STATE_GET, &[base, 1 << expected_width])[0];
    c.report(
        const { check("rsi.ipa_state_get_bad_range") },
        a == ERROR_INPUT && b == ERROR_INPUT && d == ERROR_INPUT,
        &[a, b, d],
    );

    let unknown_rsi = rsi::call(0xC400_01AF, &[])[0];
    let unknown_std = rsi::call(0x8400_FFFF, &[])[0];
    c.report(
        const { check("rsi.unknown_smc") },
        unknown_rsi == NOT_SUPPORTED && unknown_std == NOT_SUPPORTED,
        &[unknown_rsi, unknown_std],
    );

    // The injected UNDEFINED exception returns past the HVC already.
    exceptions::expect_returning(false);
    // SAFETY: HVC is UNDEFINED for a realm; the vector resumes after it.
    unsafe { core::arch::asm!("hvc #0", options(nostack)) };
    let esr = exceptions::taken().unwrap_or(u64::MAX);
    c.report(
        const { check("rsi.hvc_undefined") },
        esr != u64::MAX && (esr >> 26) & 0x3F == 0,
        &[esr],
    );
    c.0
}

fn read_magic_signed() -> (u64, u64, u64) {
    let addr = console::magic();
    let (b, h, w): (u64, u64, u64);
    // SAFETY: MMIO loads from the emulated register; only the outputs change.
    unsafe {
        core::arch::asm!(
            "ldrsb {b}, [{a}]",
            "ldrsh {h:w}, [{a}]",
            "ldrsw {w}, [{a}]",
            a = in(reg) addr, b = out(reg) b, h = out(reg) h, w = out(reg) w,
            options(nostack),
        )
    };
    (b, h, w)
}

/// MMIO emulation checks.
pub fn mmio() -> u64 {
    let mut c = Checks(0);
    let magic = console::magic();
    // SAFETY: MMIO loads of each width from the emulated register; no memory is behind it.
    let (b, h, w, d) = unsafe {
        (
            u64::from((magic as *const u8).read_volatile()),
            u64::from((magic as *const u16).read_volatile()),
            u64::from((magic as *const u32).read_volatile()),
            (magic as *const u64).read_volatile(),
        )
    };
    c.report(
        const { check("mmio.read_widths") },
        b == MMIO_MAGIC & 0xFF
            && h == MMIO_MAGIC & 0xFFFF
            && w == MMIO_MAGIC & 0xFFFF_FFFF
            && d == MMIO_MAGIC,
        &[b, h, w, d],
    );
    let (sb, sh, sw) = read_magic_signed();
    let expect_b = MMIO_MAGIC as u8 as i8 as i64 as u64;
    let expect_h = u64::from(MMIO_MAGIC as u16 as i16 as i32 as u32);
    let expect_w = MMIO_MAGIC as u32 as i32 as i64 as u64;
    c.report(
        const { check("mmio.sign_extend") },
        sb == expect_b && sh == expect_h && sw == expect_w,
        &[sb, sh, sw],
    );
    let value = 0x0123_4567_89AB_CDEF_u64.rotate_left(8);
    // SAFETY: see above.
    let back = unsafe {
        (magic as *mut u64).write_volatile(value);
        (magic as *mut u32).write_volatile(0x5555_AAAA);
        let low = (magic as *const u64).read_volatile();
        (magic as *mut u64).write_volatile(value);
        (low, (magic as *const u64).read_volatile())
    };
    c.report(
        const { check("mmio.write") },
        back.0 == 0x5555_AAAA && back.1 == value,
        &[back.0, back.1],
    );
    exceptions::expect();
    // SAFETY: the hypervisor answers this load with an injected external abort, which the
    // vector records and steps over.
    unsafe { (console::sea() as *const u64).read_volatile() };
    let esr = exceptions::taken().unwrap_or(u64::MAX);
    c.report(
        const { check("mmio.inject_sea") },
        esr != u64::MAX && (esr >> 26) & 0x3F == 0x25,
        &[esr],
    );
    console::print("mmio checks done\n");
    c.0
}

/// Register state across exits.
pub fn registers() -> u64 {
    let mut c = Checks(0);
    let slot = host_call::slot_ipa();
    // Fill the host-call structure for an Echo call by hand, then keep patterns in every
    // register the RMM must preserve across the call.
    let patterns: [u64; 16] = core::array::from_fn(|i| 0xA5A5_0000_0000_0000 | (i as u64) << 8);
    let mut regs = patterns;
    let status: u64;
    host_call::call_raw(HostCallCode::Echo as u16, &[]);
    // SAFETY: an RSI_HOST_CALL with the slot (already holding an Echo request); the RMM
    // preserves x1..x30, which the operands let us check.
    unsafe {
        core::arch::asm!(
            "smc #0",
            inout("x0") u64::from(fid::HOST_CALL) => status,
            in("x1") slot,
            inout("x2") regs[0] => regs[0], inout("x3") regs[1] => regs[1],
            inout("x4") regs[2] => regs[2], inout("x5") regs[3] => regs[3],
            inout("x6") regs[4] => regs[4], inout("x7") regs[5] => regs[5],
            inout("x8") regs[6] => regs[6], inout("x9") regs[7] => regs[7],
            inout("x10") regs[8] => regs[8], inout("x11") regs[9] => regs[9],
            inout("x12") regs[10] => regs[10], inout("x13") regs[11] => regs[11],
            inout("x20") regs[12] => regs[12], inout("x21") regs[13] => regs[13],
            inout("x22") regs[14] => regs[14], inout("x28") regs[15] => regs[15],
            options(nostack),
        )
    };
    c.report(
        const { check("regs.gprs_survive_exit") },
        status == SUCCESS && regs == patterns,
        &[status, regs[0], regs[9], regs[15]],
    );

    let tpidr = 0x1111_2222_3333_4444_u64;
    let contextidr = 0x5678_u64;
    let tpidr0 = 0x9999_8888_7777_6666_u64;
    // SAFETY: scratch EL1/EL0 registers the realm owns and does not otherwise use.
    unsafe {
        core::arch::asm!(
            "msr tpidr_el1, {a}", "msr contextidr_el1, {b}", "msr tpidr_el0, {c}",
            a = in(reg) tpidr, b = in(reg) contextidr, c = in(reg) tpidr0,
            options(nostack),
        )
    };
    host_call::print("sysregs set; exiting to the host");
    let (a, b, d): (u64, u64, u64);
    // SAFETY: reading the same registers back.
    unsafe {
        core::arch::asm!(
            "mrs {a}, tpidr_el1", "mrs {b}, contextidr_el1", "mrs {c}, tpidr_el0",
            a = out(reg) a, b = out(reg) b, c = out(reg) d,
            options(nostack),
        )
    };
    c.report(
        const { check("regs.sysregs_survive_exit") },
        a == tpidr && b == contextidr && d == tpidr0,
        &[a, b, d],
    );

    let args: [u64; 31] = core::array::from_fn(|i| (i as u64) * 0x1_0001);
    let answer = host_call::call(HostCallCode::Echo, &args);
    let ok = answer
        .iter()
        .enumerate()
        .all(|(i, v)| *v == args[i] + i as u64 + 1);
    c.report(
        const { check("regs.host_call_results") },
        ok,
        &[answer[0], answer[30]],
    );

    // ID registers: the RMM hides what realms cannot use (SVE, AMU, SME, MTE) and reads the
    // rest of the ID space it does not know as zero, ISAR2 but for its pointer-authentication
    // fields (GPA3, APA3, PAC_frac; the `pauth` scenario checks PAuth is shown). QEMU's `max`
    // CPU has all of these, so each field below would be non-zero without the RMM.
    let (pfr0, pfr1, zfr0, isar1, isar2): (u64, u64, u64, u64, u64);
    // SAFETY: reading ID registers has no side effects (the reads trap to the RMM, which
    // answers them).
    unsafe {
        core::arch::asm!(
            "mrs {a}, S3_0_C0_C4_0", "mrs {b}, S3_0_C0_C4_1", "mrs {c}, S3_0_C0_C4_4",
            "mrs {d}, S3_0_C0_C6_1", "mrs {e}, S3_0_C0_C6_2",
            a = out(reg) pfr0, b = out(reg) pfr1, c = out(reg) zfr0, d = out(reg) isar1,
            e = out(reg) isar2,
            options(nomem, nostack),
        )
    };
    let field = |value: u64, shift: u32| (value >> shift) & 0xF;
    let hidden = [
        field(pfr0, 32),
        field(pfr0, 44),
        field(pfr1, 8),
        field(pfr1, 24),
        zfr0,
        isar2 & !(0xF << 8 | 0xF << 12 | 0xF << 24),
    ];
    c.report(
        const { check("regs.id_registers_sanitised") },
        hidden == [0; 6] && field(pfr0, 16) != 0xF,
        &[pfr0, pfr1, zfr0, isar1, isar2],
    );

    // MIDR_EL1 (VPIDR_EL2, which the RMM sets from the CPU's MIDR_EL1 on every CPU): a real
    // value, with the Architecture field 0xF every Armv8 CPU has (0 if nobody set it).
    let midr: u64;
    // SAFETY: reading MIDR_EL1 has no side effects.
    unsafe {
        core::arch::asm!("mrs {}, midr_el1", out(reg) midr, options(nomem, nostack));
    }
    c.report(
        const { check("regs.midr_sane") },
        (midr >> 16) & 0xF == 0xF,
        &[midr],
    );

    // FP/SIMD: the realm's registers start zeroed (the hypervisor filled its own with a
    // pattern before entering: none of it may show here), and survive an exit to the host
    // (which refills its own registers before every entry).
    fp::enable();
    let mut first = fp::FpState([0; 66]);
    fp::save(&mut first);
    let host_seen = first.0.iter().position(|&w| w != 0);
    c.report(
        const { check("regs.fp_starts_zeroed") },
        host_seen.is_none(),
        &[
            host_seen.map_or(u64::MAX, |i| i as u64),
            host_seen.map_or(0, |i| first.0[i]),
        ],
    );
    let mut pattern = fp::FpState(core::array::from_fn(|i| 0x0123_4567_0000_0000 | i as u64));
    pattern.0[64] = 0x0340_0000;
    pattern.0[65] = 0x0800_0010;
    fp::load(&pattern);
    host_call::call(HostCallCode::Echo, &[]);
    let mut after = fp::FpState([0; 66]);
    fp::save(&mut after);
    let changed = after
        .0
        .iter()
        .zip(pattern.0.iter())
        .position(|(a, b)| a != b);
    c.report(
        const { check("regs.fp_survives_exit") },
        changed.is_none(),
        &[
            changed.map_or(u64::MAX, |i| i as u64),
            changed.map_or(0, |i| after.0[i]),
        ],
    );
    c.0
}

/// Touches `ipa` (RIPAS RAM, not yet populated): the hypervisor populates it on the fault.
pub fn populate(ipa: u64) -> u64 {
    let mut c = Checks(0);
    let p = ipa as *mut u64;
    // SAFETY: `ipa` is protected memory the hypervisor gives this realm on the fault.
    let (before, after) = unsafe {
        let before = p.read_volatile();
        p.write_volatile(0xFEED_F00D);
        (before, p.read_volatile())
    };
    c.report(
        const { check("populate.after_fault") },
        before == 0 && after == 0xFEED_F00D,
        &[before, after],
    );
    c.0
}
