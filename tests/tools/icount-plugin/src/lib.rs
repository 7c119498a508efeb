// SPDX-License-Identifier: MIT OR Apache-2.0
//! # A QEMU TCG plugin that counts one realm's instructions per message
//!
//! Loaded by `cargo xtask bench` with `-plugin libicount_plugin.so,out=FILE,count=LO-HI,
//! skip=LO-HI,mark=ADDR,...` (`docs/benchmarks.md`, "How the instructions are counted"). For
//! every vCPU it keeps running totals of the instructions it executes:
//!
//! - `own`: those whose PC is in a `count=` range and in no `skip=` range (the realm image,
//!   less its wait loop);
//! - `all`: every instruction, at any exception level (with `all=off`, only the `own` ones:
//!   then blocks outside the counted ranges get no callback, and QEMU runs them at full speed);
//! - `aes` and `pmull`: `own` instructions that are AESE/AESD or PMULL/PMULL2, to show which
//!   AES-GCM backend ran.
//!
//! Whenever a vCPU executes a `mark=` PC, the plugin records (vCPU, marker index, totals since
//! that vCPU's previous marker) and starts again from zero. At exit it writes one record a
//! line: `vcpu marker own all aes pmull`, in order for each vCPU. With `live=on` (the demo of
//! `cargo xtask run`, which shows a count while QEMU still runs) it writes each record to the
//! file as it is closed instead, in the order they were closed.
//!
//! Counting is done at translation time: each translation block gets an execution callback
//! carrying its counts up to its first marker, and each marker an instruction callback
//! carrying the counts from it to the next marker or the block's end. A block cut short by an
//! exception is counted whole (the measured loops take none).
//!
//! The plugin API is declared here by hand (version [`PLUGIN_VERSION`]; QEMU installs no
//! `qemu-plugin.h` in Debian), only the calls used, which are stable since version 3 (QEMU
//! 9.0). `qemu_plugin_install` refuses a QEMU whose supported range excludes that version.

use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// The plugin API version these declarations follow (`qemu_plugin_insn_data` copies).
pub const PLUGIN_VERSION: c_int = 3;

/// Read by QEMU before `qemu_plugin_install`.
#[unsafe(no_mangle)]
pub static qemu_plugin_version: c_int = PLUGIN_VERSION;

/// The most vCPUs counted (QEMU `virt` runs here with at most 4).
pub const MAX_VCPUS: usize = 16;

/// The plugin API versions QEMU supports.
#[repr(C)]
pub struct Version {
    /// Oldest.
    pub min: c_int,
    /// Newest.
    pub cur: c_int,
}

/// `qemu_info_t`, as far as it is read.
#[repr(C)]
pub struct QemuInfo {
    /// The target architecture's name.
    pub target_name: *const c_char,
    /// The plugin API versions QEMU supports.
    pub version: Version,
    /// Whether QEMU emulates a whole system.
    pub system_emulation: bool,
}

/// `struct qemu_plugin_tb` and `struct qemu_plugin_insn` (opaque).
#[repr(C)]
struct Opaque {
    _private: [u8; 0],
}

type TbTransCb = extern "C" fn(id: u64, tb: *mut Opaque);
type VcpuUdataCb = extern "C" fn(vcpu_index: c_uint, userdata: *mut c_void);
type UdataCb = extern "C" fn(id: u64, userdata: *mut c_void);

/// `QEMU_PLUGIN_CB_NO_REGS`.
const CB_NO_REGS: c_int = 0;

unsafe extern "C" {
    fn qemu_plugin_register_vcpu_tb_trans_cb(id: u64, cb: TbTransCb);
    fn qemu_plugin_register_vcpu_tb_exec_cb(
        tb: *mut Opaque,
        cb: VcpuUdataCb,
        flags: c_int,
        userdata: *mut c_void,
    );
    fn qemu_plugin_register_vcpu_insn_exec_cb(
        insn: *mut Opaque,
        cb: VcpuUdataCb,
        flags: c_int,
        userdata: *mut c_void,
    );
    fn qemu_plugin_register_atexit_cb(id: u64, cb: UdataCb, userdata: *mut c_void);
    fn qemu_plugin_tb_n_insns(tb: *const Opaque) -> usize;
    fn qemu_plugin_tb_get_insn(tb: *const Opaque, idx: usize) -> *mut Opaque;
    fn qemu_plugin_insn_vaddr(insn: *const Opaque) -> u64;
    fn qemu_plugin_insn_data(insn: *const Opaque, dest: *mut c_void, len: usize) -> usize;
    fn qemu_plugin_outs(string: *const c_char);
}

/// What the plugin was asked to count.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Where to write the records.
    pub out: String,
    /// `[lo, hi)` ranges whose instructions count as `own`.
    pub count: Vec<(u64, u64)>,
    /// `[lo, hi)` ranges left out of `own`.
    pub skip: Vec<(u64, u64)>,
    /// Marker PCs, in the order of their index.
    pub marks: Vec<u64>,
    /// Write each record as it is closed (`live=on`), not all at exit.
    pub live: bool,
    /// Count every instruction in `all` (the default), or only the `own` ones (`all=off`).
    pub all: bool,
}

fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn range(s: &str) -> Option<(u64, u64)> {
    let (lo, hi) = s.split_once('-')?;
    let (lo, hi) = (number(lo)?, number(hi)?);
    (lo < hi).then_some((lo, hi))
}

impl Config {
    /// Parses the plugin's `key=value` arguments.
    pub fn parse<'a>(args: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut config = Config {
            all: true,
            ..Config::default()
        };
        for arg in args {
            let bad = || format!("icount-plugin: bad argument `{arg}`");
            let (key, value) = arg.split_once('=').ok_or_else(bad)?;
            match key {
                "out" => config.out = value.to_string(),
                "count" => config.count.push(range(value).ok_or_else(bad)?),
                "skip" => config.skip.push(range(value).ok_or_else(bad)?),
                "mark" => config.marks.push(number(value).ok_or_else(bad)?),
                "live" | "all" => {
                    let on = match value {
                        "on" => true,
                        "off" => false,
                        _ => return Err(bad()),
                    };
                    if key == "live" {
                        config.live = on;
                    } else {
                        config.all = on;
                    }
                }
                _ => return Err(bad()),
            }
        }
        if config.out.is_empty() || config.count.is_empty() {
            return Err("icount-plugin: needs out= and at least one count=".into());
        }
        Ok(config)
    }

    /// Whether the instruction at `pc` counts as `own`.
    pub fn owns(&self, pc: u64) -> bool {
        let inside = |ranges: &[(u64, u64)]| ranges.iter().any(|&(lo, hi)| (lo..hi).contains(&pc));
        inside(&self.count) && !inside(&self.skip)
    }

    /// The marker index of `pc`, if it is one.
    pub fn marker(&self, pc: u64) -> Option<usize> {
        self.marks.iter().position(|&m| m == pc)
    }
}

/// Counts of some instructions.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// In the counted ranges.
    pub own: u64,
    /// All.
    pub all: u64,
    /// AESE and AESD among `own`.
    pub aes: u64,
    /// PMULL and PMULL2 among `own`.
    pub pmull: u64,
}

/// Whether the A64 instruction `word` is AESE or AESD.
pub fn is_aes(word: u32) -> bool {
    word & 0xFFFF_EC00 == 0x4E28_4800
}

/// Whether the A64 instruction `word` is PMULL or PMULL2 (8- or 64-bit elements).
pub fn is_pmull(word: u32) -> bool {
    word & 0xBF20_FC00 == 0x0E20_E000 && matches!((word >> 22) & 3, 0 | 3)
}

impl Counts {
    /// Adds one instruction at `pc` with encoding `word`.
    pub fn add(&mut self, config: &Config, pc: u64, word: u32) {
        let owned = config.owns(pc);
        if config.all || owned {
            self.all += 1;
        }
        if owned {
            self.own += 1;
            self.aes += u64::from(is_aes(word));
            self.pmull += u64::from(is_pmull(word));
        }
    }
}

/// One vCPU's running totals.
struct Totals([AtomicU64; 4]);

impl Totals {
    const fn new() -> Self {
        Self([const { AtomicU64::new(0) }; 4])
    }

    fn add(&self, c: &Counts) {
        for (slot, n) in self.0.iter().zip([c.own, c.all, c.aes, c.pmull]) {
            if n != 0 {
                slot.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    fn take(&self) -> Counts {
        let [own, all, aes, pmull] = [0, 1, 2, 3].map(|i| self.0[i].swap(0, Ordering::Relaxed));
        Counts {
            own,
            all,
            aes,
            pmull,
        }
    }
}

static CONFIG: OnceLock<Config> = OnceLock::new();
static TOTALS: [Totals; MAX_VCPUS] = [const { Totals::new() }; MAX_VCPUS];
/// (vCPU, marker index, counts) in the order they were closed.
static RECORDS: Mutex<Vec<(usize, usize, Counts)>> = Mutex::new(Vec::new());
/// The output file, with `live=on`.
static LIVE: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// A marker's callback data: its index and the counts from it to the next marker or the
/// block's end.
struct Mark {
    index: usize,
    rest: Counts,
}

extern "C" fn tb_exec(vcpu: c_uint, userdata: *mut c_void) {
    // SAFETY: `userdata` is a leaked `Counts` registered with this callback at translation.
    let counts = unsafe { &*(userdata as *const Counts) };
    if let Some(totals) = TOTALS.get(vcpu as usize) {
        totals.add(counts);
    }
}

extern "C" fn mark_exec(vcpu: c_uint, userdata: *mut c_void) {
    // SAFETY: `userdata` is a leaked `Mark` registered with this callback at translation.
    let mark = unsafe { &*(userdata as *const Mark) };
    let Some(totals) = TOTALS.get(vcpu as usize) else {
        return;
    };
    let closed = totals.take();
    let record = (vcpu as usize, mark.index, closed);
    if let Ok(mut live) = LIVE.lock()
        && let Some(file) = live.as_mut()
    {
        // One write per record: the file is whole up to the last closed record.
        let _ = file.write_all(render(&[record]).as_bytes());
    } else if let Ok(mut records) = RECORDS.lock() {
        records.push(record);
    }
    totals.add(&mark.rest);
}

extern "C" fn tb_trans(_id: u64, tb: *mut Opaque) {
    let Some(config) = CONFIG.get() else {
        return;
    };
    // SAFETY: `tb` is the block QEMU is translating, valid during this callback.
    let n = unsafe { qemu_plugin_tb_n_insns(tb) };
    let mut current = Counts::default();
    let mut pending: Option<(usize, *mut Opaque)> = None;
    let mut first = None;
    for i in 0..n {
        // SAFETY: `i` is below the block's instruction count.
        let insn = unsafe { qemu_plugin_tb_get_insn(tb, i) };
        // SAFETY: `insn` belongs to the block being translated.
        let pc = unsafe { qemu_plugin_insn_vaddr(insn) };
        let mut bytes = [0u8; 4];
        // SAFETY: `bytes` has room for the 4 bytes asked for.
        let got = unsafe { qemu_plugin_insn_data(insn, bytes.as_mut_ptr().cast(), 4) };
        let word = if got == 4 {
            u32::from_le_bytes(bytes)
        } else {
            0
        };
        if let Some(index) = config.marker(pc) {
            match pending.take() {
                Some((prev, at)) => register_mark(at, prev, current),
                None => first = Some(current),
            }
            pending = Some((index, insn));
            current = Counts::default();
        }
        current.add(config, pc, word);
    }
    let head = match pending {
        Some((index, at)) => {
            register_mark(at, index, current);
            first.unwrap_or_default()
        }
        None => current,
    };
    if head != Counts::default() {
        let userdata = Box::into_raw(Box::new(head)).cast();
        // SAFETY: `tb` is being translated; `userdata` is leaked and so lives as long as
        // the translated code may run.
        unsafe { qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, CB_NO_REGS, userdata) };
    }
}

fn register_mark(insn: *mut Opaque, index: usize, rest: Counts) {
    let userdata = Box::into_raw(Box::new(Mark { index, rest })).cast();
    // SAFETY: `insn` belongs to the block being translated; `userdata` is leaked.
    unsafe { qemu_plugin_register_vcpu_insn_exec_cb(insn, mark_exec, CB_NO_REGS, userdata) };
}

/// The records as the output file holds them.
pub fn render(records: &[(usize, usize, Counts)]) -> String {
    let mut out = String::new();
    for &(vcpu, marker, c) in records {
        out.push_str(&format!(
            "{vcpu} {marker} {} {} {} {}\n",
            c.own, c.all, c.aes, c.pmull
        ));
    }
    out
}

extern "C" fn at_exit(_id: u64, _userdata: *mut c_void) {
    let (Some(config), Ok(records)) = (CONFIG.get(), RECORDS.lock()) else {
        return;
    };
    if config.live {
        return;
    }
    let written = std::fs::File::create(&config.out)
        .and_then(|mut file| file.write_all(render(&records).as_bytes()));
    if let Err(e) = written {
        say(&format!(
            "icount-plugin: cannot write {}: {e}\n",
            config.out
        ));
    }
}

fn say(text: &str) {
    if let Ok(text) = std::ffi::CString::new(text) {
        // SAFETY: a NUL-terminated string that outlives the call.
        unsafe { qemu_plugin_outs(text.as_ptr()) };
    }
}

/// Called by QEMU when it loads the plugin.
///
/// # Safety
///
/// QEMU's contract: `info` points to its `qemu_info_t` and `argv` to `argc` NUL-terminated
/// strings, all valid during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qemu_plugin_install(
    id: u64,
    info: *const QemuInfo,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: as the caller promises.
    let info = unsafe { &*info };
    if !(info.version.min..=info.version.cur).contains(&PLUGIN_VERSION) {
        say(&format!(
            "icount-plugin: written for plugin API {PLUGIN_VERSION}, QEMU supports {}..={}\n",
            info.version.min, info.version.cur
        ));
        return -1;
    }
    let args: Vec<String> = (0..argc.max(0) as usize)
        .map(|i| {
            // SAFETY: `i < argc`, each a NUL-terminated string (the caller's promise).
            unsafe { CStr::from_ptr(*argv.add(i)) }
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let _ = (info.target_name, info.system_emulation);
    match Config::parse(args.iter().map(String::as_str)) {
        Ok(config) => {
            if config.live {
                match std::fs::File::create(&config.out) {
                    Ok(file) => {
                        if let Ok(mut live) = LIVE.lock() {
                            *live = Some(file);
                        }
                    }
                    Err(e) => {
                        say(&format!(
                            "icount-plugin: cannot create {}: {e}\n",
                            config.out
                        ));
                        return -1;
                    }
                }
            }
            let _ = CONFIG.set(config);
        }
        Err(e) => {
            say(&format!("{e}\n"));
            return -1;
        }
    }
    // SAFETY: registering callbacks with the id QEMU gave this plugin.
    unsafe {
        qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
        qemu_plugin_register_atexit_cb(id, at_exit, std::ptr::null_mut());
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_its_arguments() {
        let c = Config::parse([
            "out=/tmp/x",
            "count=0x80000-0xb3000",
            "skip=0x81140-0x81168",
            "mark=0x81168",
            "mark=528748",
        ])
        .unwrap();
        assert_eq!(c.count, vec![(0x80000, 0xb3000)]);
        assert_eq!(c.marks, vec![0x81168, 528_748]);
        assert!(c.owns(0x80000) && !c.owns(0x81140) && c.owns(0x81168) && !c.owns(0xb3000));
        assert_eq!(c.marker(528_748), Some(1));
        assert!(!c.live && c.all);
        assert!(
            !Config::parse(["out=x", "count=1-2", "all=off"])
                .unwrap()
                .all
        );
        assert!(
            Config::parse(["out=x", "count=1-2", "live=on"])
                .unwrap()
                .live
        );
        assert!(Config::parse(["out=x", "count=1-2", "live=yes"]).is_err());
        assert!(Config::parse(["count=0x10-0x8", "out=x"]).is_err());
        assert!(Config::parse(["out=x"]).is_err());
        assert!(Config::parse(["what=1", "out=x", "count=1-2"]).is_err());
    }

    #[test]
    fn recognises_aes_and_pmull() {
        assert!(is_aes(0x4E28_4820)); // aese v0.16b, v1.16b
        assert!(is_aes(0x4E28_5820)); // aesd v0.16b, v1.16b
        assert!(!is_aes(0x4E28_6820)); // aesmc
        assert!(is_pmull(0x0EE1_E000)); // pmull v0.1q, v0.1d, v1.1d
        assert!(is_pmull(0x4EE1_E000)); // pmull2 v0.1q, v0.2d, v1.2d
        assert!(is_pmull(0x0E21_E000)); // pmull v0.8h, v0.8b, v1.8b
        assert!(!is_pmull(0x0E61_E000)); // size 01: not PMULL
        assert!(!is_pmull(0xD65F_03C0)); // ret
    }

    #[test]
    fn counts_own_instructions_only() {
        let c = Config::parse(["out=x", "count=0x1000-0x2000", "skip=0x1100-0x1200"]).unwrap();
        let mut n = Counts::default();
        for pc in [0x1000, 0x1100, 0x3000] {
            n.add(&c, pc, 0x4E28_4820);
        }
        assert_eq!(
            n,
            Counts {
                own: 1,
                all: 3,
                aes: 1,
                pmull: 0
            }
        );
        assert_eq!(render(&[(1, 2, n)]), "1 2 1 3 1 0\n");
        let own_only = Config { all: false, ..c };
        let mut n = Counts::default();
        for pc in [0x1000, 0x1100, 0x3000] {
            n.add(&own_only, pc, 0);
        }
        assert_eq!((n.own, n.all), (1, 1));
    }
}
