// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux realms: Debian's unmodified arm64 kernel booted as a realm by the test hypervisor's
//! VMM (`tests/payloads/host/src/linux/`), under our RMM on QEMU with RME.
//!
//! - [`fetch`]: the kernel, its attestation modules and busybox from Debian's packages.
//! - [`image`]: the `Image` header, the initramfs and the device tree.
//! - here: the realm's memory layout, the boot descriptor the VMM reads, the RIM the realm
//!   must get (computed from the same inputs), `cargo xtask linux` (interactive) and the
//!   scripted boot of `cargo xtask test`.
//!
//! See `docs/linux-realm.md`.

pub mod fetch;
pub mod image;

use crate::cmd::{self, Result};
use crate::images::{self, Flavour};
use crate::paths;
use crate::qemu::{self, Mode};
use crate::token_check;
use crate::transcript::TestLine;
use attest::measurement::{MeasuredRealmParams, extend_data, extend_rec, extend_ripas, rim_init};
use attest::sha::SOFT;
use rmm_abi::rmi::states::HashAlgorithm;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// NS addresses QEMU's loader puts the blobs at (the VMM copies them into the realm).
const KERNEL_PA: u64 = 0x8000_0000;
const INITRD_PA: u64 = 0x8800_0000;
const DTB_PA: u64 = 0x8F00_0000;
/// Where the descriptor goes (the hypervisor's mailbox page + 0x100).
const DESCRIPTOR_PA: u64 = 0x5FFF_F100;
/// The realm: RAM base and size, IPA width.
const RAM_IPA: u64 = 0x4000_0000;
const RAM_SIZE: u64 = 256 << 20;
const S2SZ: u64 = 40;
const PAGE: u64 = 4096;
const BLOCK: u64 = 2 << 20;
/// The realm's UART, protected-half address.
const UART_IPA: u64 = 0x0900_0000;
/// Deadline of the scripted boot (single-threaded TCG on a shared 2-core machine).
const DEADLINE: Duration = Duration::from_secs(300);

/// The realm's memory layout.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Kernel load IPA (2 MiB aligned).
    pub kernel_ipa: u64,
    /// Initramfs IPA and length (0: none).
    pub initrd_ipa: u64,
    /// Bytes of initramfs.
    pub initrd_len: u64,
    /// Device tree IPA and length.
    pub dtb_ipa: u64,
    /// Bytes of DTB.
    pub dtb_len: u64,
    /// RAM.
    pub ram_ipa: u64,
    /// Bytes of RAM.
    pub ram_size: u64,
    /// vCPUs.
    pub vcpus: u64,
}

/// How to boot.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// With the busybox initramfs (else milestone A: the kernel stops at the root mount).
    pub initrd: bool,
    /// Number of vCPUs (1 or 2).
    pub vcpus: u64,
    /// `/init` runs the scripted checks and powers off.
    pub scripted: bool,
}

/// Everything a boot needs, written under `target/linux/`.
pub struct Prepared {
    /// The layout.
    pub layout: Layout,
    /// Kernel release.
    pub release: String,
    files: Vec<(PathBuf, u64)>,
    /// The RIM the realm must have (SHA-256).
    pub rim: Vec<u8>,
    /// The challenge `/init` writes to configfs-tsm.
    pub challenge: [u8; 64],
}

fn out_dir() -> PathBuf {
    paths::target().join("linux")
}

fn xz_decompress(path: &std::path::Path) -> Result<Vec<u8>> {
    let out = Command::new("xz")
        .arg("-dc")
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run xz: {e}"))?;
    if !out.status.success() {
        return Err(format!("xz -dc {} failed", path.display()).into());
    }
    Ok(out.stdout)
}

fn challenge() -> [u8; 64] {
    let mut c = [0u8; 64];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut c);
    }
    c
}

/// Builds the initramfs, the device tree, the descriptor and the expected RIM.
pub fn prepare(guest: &fetch::Guest, opts: Options) -> Result<Prepared> {
    let header = fetch::check(guest)?;
    let dir = out_dir();
    std::fs::create_dir_all(&dir)?;
    let kernel_len = std::fs::metadata(&guest.image)?.len();
    let kernel_ipa = RAM_IPA + header.text_offset;
    let challenge = challenge();
    let initrd = if opts.initrd {
        let names = ["configfs", "tsm_report", "arm-cca-guest"];
        let mut modules = Vec::new();
        for (name, path) in names.iter().zip(&guest.modules) {
            modules.push((name.to_string(), xz_decompress(path)?));
        }
        let bytes = image::initramfs(&guest.busybox, &modules, &challenge)?;
        let path = dir.join("initramfs.cpio");
        std::fs::write(&path, &bytes)?;
        Some((path, bytes.len() as u64))
    } else {
        None
    };
    let initrd_ipa = (kernel_ipa + header.image_size).next_multiple_of(BLOCK);
    let initrd_len = initrd.as_ref().map_or(0, |(_, len)| *len);
    let dtb_ipa = (initrd_ipa + initrd_len).next_multiple_of(BLOCK);
    let mut layout = Layout {
        kernel_ipa,
        initrd_ipa,
        initrd_len,
        dtb_ipa,
        dtb_len: 0,
        ram_ipa: RAM_IPA,
        ram_size: RAM_SIZE,
        vcpus: opts.vcpus,
    };
    let shared_uart = UART_IPA | 1 << (S2SZ - 1);
    let mut bootargs = format!(
        "console=ttyAMA0 earlycon=pl011,mmio32,{shared_uart:#x} rdinit=/init nokaslr \
         swiotlb=4096 cma=0 panic=-1"
    );
    if opts.scripted {
        bootargs += " quiet lr.scripted";
    }
    let dts_path = dir.join("realm.dts");
    let dtb_path = dir.join("realm.dtb");
    std::fs::write(&dts_path, image::dts(&layout, &bootargs))?;
    cmd::run(
        Command::new("dtc")
            .args(["-q", "-I", "dts", "-O", "dtb", "-o"])
            .arg(&dtb_path)
            .arg(&dts_path),
    )?;
    layout.dtb_len = std::fs::metadata(&dtb_path)?.len();
    if dtb_ipa + layout.dtb_len > RAM_IPA + RAM_SIZE {
        return Err("kernel, initramfs and device tree do not fit in the realm's RAM".into());
    }
    let mut files = vec![(guest.image.clone(), KERNEL_PA), (dtb_path, DTB_PA)];
    if let Some((path, len)) = &initrd {
        if *len > DTB_PA - INITRD_PA {
            return Err("initramfs too large for its NS window".into());
        }
        files.push((path.clone(), INITRD_PA));
    }
    // The descriptor (tests/payloads/host/src/linux/desc.rs).
    let words = [
        u64::from_le_bytes(*b"LINUXVM1"),
        KERNEL_PA,
        kernel_len,
        kernel_ipa,
        INITRD_PA,
        initrd_len,
        initrd_ipa,
        DTB_PA,
        layout.dtb_len,
        dtb_ipa,
        RAM_IPA,
        RAM_SIZE,
        opts.vcpus,
        1, // measured DATA_CREATE
        S2SZ,
    ];
    let desc: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let desc_path = dir.join("descriptor.bin");
    std::fs::write(&desc_path, desc)?;
    files.push((desc_path, DESCRIPTOR_PA));
    let rim = expected_rim(&layout, &files)?;
    Ok(Prepared {
        layout,
        release: guest.release.clone(),
        files,
        rim,
        challenge,
    })
}

/// The RIM of the realm the VMM builds from these files, computed here from the same inputs
/// in the same order (`tests/payloads/host/src/linux/stage2.rs`): REALM_CREATE's parameters,
/// RTT_INIT_RIPAS over RAM in level-2 blocks, measured DATA_CREATE of each blob's pages in IPA
/// order, REC_CREATE of the one runnable REC. The VMM computes it too, from the NS pages it
/// hands DATA_CREATE (`linux/rim.rs`, `LINUX VMM: RIM`), and `judge` wants both equal; this
/// one is the reference, made from the files on the host independently of the machine.
fn expected_rim(layout: &Layout, files: &[(PathBuf, u64)]) -> Result<Vec<u8>> {
    let algo = HashAlgorithm::Sha256;
    let mut rim = rim_init(
        &SOFT,
        &MeasuredRealmParams {
            flags: 0,
            s2sz: S2SZ as u32,
            sve_vl: 0,
            num_bps: 2,
            num_wps: 2,
            pmu_num_ctrs: 0,
            hash_algo: algo,
        },
    );
    let mut base = layout.ram_ipa;
    while base < layout.ram_ipa + layout.ram_size {
        rim = extend_ripas(&SOFT, algo, &rim, base, base + BLOCK);
        base += BLOCK;
    }
    let read = |pa: u64| -> Result<Vec<u8>> {
        let (path, _) = files
            .iter()
            .find(|(_, at)| *at == pa)
            .ok_or("internal: blob not prepared")?;
        Ok(std::fs::read(path)?)
    };
    let mut blobs = vec![
        (layout.kernel_ipa, read(KERNEL_PA)?),
        (layout.dtb_ipa, read(DTB_PA)?),
    ];
    if layout.initrd_len > 0 {
        blobs.push((layout.initrd_ipa, read(INITRD_PA)?));
    }
    blobs.sort_by_key(|(ipa, _)| *ipa);
    for (ipa, bytes) in &blobs {
        for (i, chunk) in bytes.chunks(PAGE as usize).enumerate() {
            let mut page = [0u8; 4096];
            page[..chunk.len()].copy_from_slice(chunk);
            rim = extend_data(&SOFT, algo, &rim, ipa + i as u64 * PAGE, 1, &page);
        }
    }
    let mut gprs = [0u64; 8];
    gprs[0] = layout.dtb_ipa;
    rim = extend_rec(&SOFT, algo, &rim, 1, layout.kernel_ipa, &gprs);
    Ok(rim[..32].to_vec())
}

fn loaders(p: &Prepared) -> Vec<String> {
    let mut args = vec!["-accel".to_string(), "tcg,thread=single".to_string()];
    for (path, pa) in &p.files {
        args.push("-device".into());
        args.push(format!(
            "loader,file={},addr={pa:#x},force-raw=on",
            path.display()
        ));
    }
    args
}

/// `cargo xtask linux [--no-initrd] [--smp2]`: the realm with a shell on the console.
/// `--scripted` runs only the scripted boot of `cargo xtask test` and prints its results;
/// with `--icount` it runs under `-icount shift=0`, where the VMM's counter ticks (1 GHz)
/// are instructions, so the phase figures it prints are instruction counts.
pub fn interactive(args: &[String]) -> Result {
    let vcpus = if args.iter().any(|a| a == "--smp2") {
        2
    } else {
        1
    };
    if args.iter().any(|a| a == "--scripted") {
        let icount = args.iter().any(|a| a == "--icount");
        let s = scripted_with(vcpus, icount)?;
        if let Some(reason) = s.skipped {
            return Err(format!("SKIPPED: {reason}").into());
        }
        let failed = s.results.iter().filter(|r| !r.passed).count();
        for r in &s.results {
            match r.passed {
                true => println!("TEST {} PASS", r.name),
                false => println!("TEST {} FAIL {}", r.name, r.reason),
            }
        }
        println!(
            "{} passed, {failed} failed ({:.1} s)",
            s.results.len() - failed,
            s.elapsed.as_secs_f64()
        );
        return if failed == 0 {
            Ok(())
        } else {
            Err("the Linux realm boot failed".into())
        };
    }
    let guest = fetch::ensure()?;
    let opts = Options {
        initrd: !args.iter().any(|a| a == "--no-initrd"),
        vcpus,
        scripted: false,
    };
    let p = prepare(&guest, opts)?;
    let boot = images::build_qemu_boot(Flavour::Release)?;
    eprintln!(
        "xtask: booting Debian's {} in a realm ({} vCPU, {} MiB); Ctrl-A X quits QEMU",
        p.release,
        p.layout.vcpus,
        p.layout.ram_size >> 20
    );
    let run = qemu::Run {
        bios: &boot.bios,
        smp: 1,
        mode: Mode::Linux,
        deadline: None,
        live: true,
        print_command: false,
        extra: loaders(&p),
        log: paths::logs().join("linux-interactive.log"),
    };
    let command = run.command();
    // The console is the terminal: QEMU's multiplexer (Ctrl-A X) on stdio, stdin attached.
    let args: Vec<String> = command
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .map(|a| if a == "stdio" { "mon:stdio".into() } else { a })
        .collect();
    let mut qemu = Command::new("timeout");
    qemu.args(["--foreground", "4h", "qemu-system-aarch64"])
        .args(args);
    cmd::run(&mut qemu)
}

/// The set-up step (part of every command's set-up): fetch and check the guest, printing the
/// kernel version used, or why there is none (then the Linux scenario is skipped; only
/// `cargo xtask setup` itself fails, through [`require_guest`]).
pub fn setup_guest() {
    match fetch::ensure().and_then(|g| fetch::check(&g).map(|_| g)) {
        Ok(g) => eprintln!(
            "xtask: Linux guest: Debian kernel {} (requests RSI 1.0)",
            g.release
        ),
        Err(reason) => eprintln!("xtask: WARNING: no usable Linux guest: {reason}"),
    }
}

/// `cargo xtask setup`: fails if there is no usable guest.
pub fn require_guest() -> Result {
    let g = fetch::ensure()?;
    fetch::check(&g)?;
    Ok(())
}

/// Result of the scripted boot, for the end-to-end summary.
pub struct Scripted {
    /// One result per check.
    pub results: Vec<TestLine>,
    /// Why it did not run, if it did not.
    pub skipped: Option<String>,
    /// Wall time.
    pub elapsed: Duration,
}

/// The Linux scenario of `cargo xtask test` (with `vcpus` vCPUs).
pub fn scripted(vcpus: u64) -> Result<Scripted> {
    scripted_with(vcpus, false)
}

/// [`scripted`], under `-icount shift=0` if `icount`.
fn scripted_with(vcpus: u64, icount: bool) -> Result<Scripted> {
    let guest = match fetch::ensure().and_then(|g| fetch::check(&g).map(|_| g)) {
        Ok(g) => g,
        Err(reason) => {
            return Ok(Scripted {
                results: Vec::new(),
                skipped: Some(reason),
                elapsed: Duration::ZERO,
            });
        }
    };
    let opts = Options {
        initrd: true,
        vcpus,
        scripted: true,
    };
    let p = prepare(&guest, opts)?;
    let boot = images::build_qemu_boot(Flavour::Release)?;
    let run = qemu::Run {
        bios: &boot.bios,
        smp: 1,
        mode: Mode::Linux,
        deadline: Some(DEADLINE),
        live: false,
        print_command: false,
        extra: {
            let mut extra = loaders(&p);
            if icount {
                extra.extend(["-icount".to_string(), "shift=0".to_string()]);
            }
            extra
        },
        log: paths::logs().join("linux.log"),
    };
    eprintln!("xtask: Linux realm: Debian {} (scripted boot)", p.release);
    let outcome = run.execute()?;
    let results = judge(&p, &outcome.output, outcome.exit_code);
    Ok(Scripted {
        results,
        skipped: None,
        elapsed: outcome.elapsed,
    })
}

/// What is wrong with the realm's view of pointer authentication: `/init` prints the first
/// `Features` line of `/proc/cpuinfo`, which must list `paca` (address authentication) and
/// `pacg` (generic authentication), as the RMM shows PAuth and switches the keys.
fn pauth_problem(output: &str) -> Option<String> {
    let Some(features) = output
        .lines()
        .find_map(|l| l.split_once("INIT: cpuinfo:").map(|(_, f)| f))
    else {
        return Some("no `INIT: cpuinfo:` line on the console".into());
    };
    let words: Vec<&str> = features.split_whitespace().collect();
    let missing: Vec<&str> = ["paca", "pacg"]
        .into_iter()
        .filter(|w| !words.contains(w))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "/proc/cpuinfo features lack {}:{features}",
            missing.join(" and ")
        )
    })
}

/// The realm parameters the VMM says it created (`LINUX VMM: realm parameters:`).
fn expected_parameters(vcpus: u64) -> String {
    format!(
        "LINUX VMM: realm parameters: IPA width {S2SZ}, hash SHA-256, {vcpus} REC(s), PMU off \
         (0 counters), SVE off (VL 0), 2 breakpoints, 2 watchpoints"
    )
}

/// What is wrong with the realm's configuration: the VMM must have created the realm xtask
/// described (its `LINUX VMM: realm parameters:` line), and the token's realm claims must
/// say the same where they can (hash algorithm SHA-256, personalization value zero). Linux
/// does not give user space RSI_REALM_CONFIG, so `/init` cannot print it; this is its
/// substitute, and prints the decoded claims.
fn realm_config_problem(p: &Prepared, output: &str) -> Option<String> {
    let want = expected_parameters(p.layout.vcpus);
    let Some(got) = output
        .lines()
        .map(str::trim_end)
        .find(|l| l.starts_with("LINUX VMM: realm parameters:"))
    else {
        return Some("no `LINUX VMM: realm parameters:` line".into());
    };
    if got != want {
        return Some(format!("the VMM created `{got}`, expected `{want}`"));
    }
    let printed = token_check::extract(output);
    let report = printed
        .get("linux")
        .and_then(|t| crate::token::verify(&t.bytes).ok());
    let Some(report) = report else {
        return Some("no decodable token to read the realm claims from".into());
    };
    eprintln!(
        "xtask: Linux realm config: the VMM's `{}`; the token's realm claims: hash algorithm \
         {}, personalization value {}",
        got.trim_start_matches("LINUX VMM: realm parameters: "),
        report.hash_algo,
        crate::token::hex(&report.rpv)
    );
    if report.hash_algo != "sha-256" {
        return Some(format!(
            "the token's realm hash algorithm is {:?}, the VMM asked for SHA-256",
            report.hash_algo
        ));
    }
    if report.rpv.iter().any(|&b| b != 0) {
        return Some("the token's personalization value is not zero".into());
    }
    None
}

/// The RIM the VMM computed (`LINUX VMM: RIM <hex>`) must be the one xtask computed from the
/// files it loaded (the token's RIM is checked against the latter in `attestation_token`).
fn vmm_rim_problem(p: &Prepared, output: &str) -> Option<String> {
    let want = crate::token::hex(&p.rim);
    let Some(got) = output
        .lines()
        .find_map(|l| l.strip_prefix("LINUX VMM: RIM "))
        .and_then(|rest| rest.split_whitespace().next())
    else {
        return Some("no `LINUX VMM: RIM` line".into());
    };
    (got != want).then(|| format!("the VMM computed RIM {got}, xtask {want}"))
}

/// The unsigned integers in `line`, in order.
fn numbers(line: &str) -> Vec<u64> {
    line.split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// The swiotlb pool Linux made shared, in bytes, from its boot log as `/init` prints it
/// (`software IO TLB: mapped [mem A-B] (8MB)`).
fn swiotlb_bytes(output: &str) -> Option<u64> {
    let line = output
        .lines()
        .find(|l| l.contains("software IO TLB: mapped"))?;
    let size = line.rsplit_once('(')?.1;
    let mib: u64 = size.strip_suffix(")")?.strip_suffix("MB")?.parse().ok()?;
    Some(mib << 20)
}

/// What is inconsistent in the reclaim of RAM the realm made EMPTY (`LINUX reclaim:`): Linux
/// makes its swiotlb pool shared (RIPAS EMPTY) at boot, so there must be EMPTY requests
/// covering at least the pool, and pages reclaimed (the pool was written while protected),
/// no more than the EMPTY range holds; reclaimed granules given out again cannot outnumber
/// them.
fn reclaim_problem(output: &str) -> Option<String> {
    let Some(line) = output.lines().find(|l| l.starts_with("LINUX reclaim:")) else {
        return Some("no `LINUX reclaim:` line".into());
    };
    let n = numbers(line);
    let [changes, kib, reclaimed, _ticks, reused] = n[..] else {
        return Some(format!("garbled `{line}`"));
    };
    let pool = swiotlb_bytes(output);
    if let Some(pool) = pool
        && kib << 10 < pool
    {
        return Some(format!(
            "{kib} KiB made EMPTY, less than the {} KiB swiotlb pool Linux shares",
            pool >> 10
        ));
    }
    if changes == 0 {
        return Some("Linux made nothing EMPTY (no swiotlb pool?)".into());
    }
    if reclaimed == 0 {
        return Some(format!("{kib} KiB made EMPTY, but no page reclaimed"));
    }
    if reclaimed > kib / 4 {
        return Some(format!(
            "{reclaimed} pages reclaimed from {kib} KiB made EMPTY"
        ));
    }
    if reused > reclaimed {
        return Some(format!("{reused} reclaimed pages reused of {reclaimed}"));
    }
    None
}

fn result(name: &str, problem: Option<String>) -> TestLine {
    TestLine {
        name: format!("linux.{name}"),
        passed: problem.is_none(),
        reason: problem.unwrap_or_default(),
    }
}

/// The checks on the scripted boot's console.
pub fn judge(p: &Prepared, output: &str, exit_code: Option<i32>) -> Vec<TestLine> {
    let has = |s: &str| output.lines().any(|l| l.contains(s));
    let mut out = Vec::new();
    let vmm_error = output
        .lines()
        .find(|l| l.starts_with("LINUX ERROR"))
        .map(str::to_string);
    out.push(result(
        "vmm",
        vmm_error.or_else(|| {
            (!has("LINUX realm built")).then(|| "the VMM did not build the realm".into())
        }),
    ));
    out.push(result(
        "rsi_version_1_0",
        (!has("RME: Using RSI version 1.0"))
            .then(|| "no `RME: Using RSI version 1.0` on the console".into()),
    ));
    out.push(result(
        "init",
        (!has("INIT: reached /init")).then(|| "the kernel did not reach /init".into()),
    ));
    if p.layout.vcpus > 1 {
        let want = format!("INIT: CPUs online: 0-{}", p.layout.vcpus - 1);
        out.push(result(
            "smp",
            (!has(&want)).then(|| format!("no `{want}` (secondary vCPUs did not come up)")),
        ));
    }
    out.push(result("pointer_authentication", pauth_problem(output)));
    out.push(result("realm_config", realm_config_problem(p, output)));
    out.push(result("vmm_rim", vmm_rim_problem(p, output)));
    out.push(result("ripas_reclaim", reclaim_problem(output)));
    // The token: the realm printed it; the challenge and RIM are what this side chose and
    // computed; RPV zero and REMs zero (nothing extends them).
    let mut printed = token_check::extract(output);
    let token_problems = match printed.get_mut("linux") {
        None => vec!["no token on the console".to_string()],
        Some(t) => {
            t.fields.insert("challenge".into(), p.challenge.to_vec());
            t.fields.insert("rim".into(), p.rim.clone());
            t.fields.insert("rpv".into(), vec![0; 64]);
            for i in 1..=4 {
                t.fields.insert(format!("rem{i}"), vec![0; 32]);
            }
            token_check::judge(t)
        }
    };
    out.push(result(
        "attestation_token",
        (!token_problems.is_empty()).then(|| token_problems.join("; ")),
    ));
    let off = has("LINUX realm powered off") && exit_code == Some(0);
    out.push(result(
        "power_off",
        (!off).then(|| match exit_code {
            None => format!("killed at the {} s deadline", DEADLINE.as_secs()),
            Some(c) => format!("QEMU exit {c}, realm power-off line missing"),
        }),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::{
        Layout, Prepared, expected_parameters, pauth_problem, realm_config_problem,
        reclaim_problem, swiotlb_bytes, vmm_rim_problem,
    };

    fn prepared(vcpus: u64) -> Prepared {
        Prepared {
            layout: Layout {
                kernel_ipa: 0x4000_0000,
                initrd_ipa: 0,
                initrd_len: 0,
                dtb_ipa: 0,
                dtb_len: 0,
                ram_ipa: 0x4000_0000,
                ram_size: 256 << 20,
                vcpus,
            },
            release: "test".into(),
            files: Vec::new(),
            rim: vec![0xab; 32],
            challenge: [0; 64],
        }
    }

    #[test]
    fn the_vmm_must_state_the_realm_and_rim_xtask_expects() {
        let p = prepared(2);
        let rim = format!(
            "LINUX VMM: RIM {} (computed by the VMM in 5 ticks)\n",
            "ab".repeat(32)
        );
        assert_eq!(vmm_rim_problem(&p, &rim), None);
        let other = rim.replace("abab (", "abac (");
        assert!(vmm_rim_problem(&p, &other).unwrap().contains("xtask abab"));
        assert!(vmm_rim_problem(&p, "").is_some());
        // The parameters line: another REC count is wrong; the right one then wants a token.
        let one = expected_parameters(1);
        assert!(realm_config_problem(&p, &one).unwrap().contains("expected"));
        let two = expected_parameters(2);
        assert!(two.contains("IPA width 40, hash SHA-256, 2 REC(s)"));
        assert!(
            realm_config_problem(&p, &two)
                .unwrap()
                .contains("no decodable token")
        );
        assert!(realm_config_problem(&p, "").is_some());
    }

    #[test]
    fn the_reclaim_must_cover_what_linux_made_empty() {
        let swiotlb = "INIT: dmesg: [    0.000000] software IO TLB: mapped [mem \
                       0x000000004f000000-0x000000004f800000] (8MB)\n";
        assert_eq!(swiotlb_bytes(swiotlb), Some(8 << 20));
        let line = |changes, kib, reclaimed, reused| {
            format!(
                "{swiotlb}LINUX reclaim: {changes} RIPAS changes to EMPTY ({kib} KiB), \
                 {reclaimed} pages reclaimed (DATA_DESTROY + UNDELEGATE, 8174510 ticks), \
                 {reused} of them given out again\n"
            )
        };
        // The 2026-12-07 boot.
        assert_eq!(reclaim_problem(&line(2, 8320, 2080, 2080)), None);
        let problem = |out: &str| reclaim_problem(out).expect("a problem");
        assert!(problem(&line(0, 0, 0, 0)).contains("less than"));
        assert!(problem(&line(2, 8320, 0, 0)).contains("no page reclaimed"));
        assert!(problem(&line(2, 8320, 2081, 0)).contains("2081 pages reclaimed"));
        assert!(problem(&line(2, 8320, 100, 101)).contains("reused"));
        assert!(problem(&line(1, 4096, 10, 0)).contains("less than the 8192 KiB"));
        assert!(problem("no statistics\n").contains("no `LINUX reclaim:` line"));
        // Without the kernel's swiotlb line, EMPTY requests are still required.
        let bare = line(0, 0, 0, 0).replace(swiotlb, "");
        assert!(problem(&bare).contains("made nothing EMPTY"));
    }

    #[test]
    fn pac_must_be_in_the_cpuinfo_features() {
        let with = "INIT: cpuinfo: Features\t: fp asimd evtstrm paca pacg dcpodp\n";
        assert_eq!(pauth_problem(with), None);
        let without = "INIT: cpuinfo: Features\t: fp asimd evtstrm dcpodp\n";
        let problem = pauth_problem(without).expect("a problem");
        assert!(problem.contains("paca and pacg"), "{problem}");
        // `pacg` alone is not enough, and a word that merely contains it does not count.
        assert!(pauth_problem("INIT: cpuinfo: Features : pacg xpaca\n").is_some());
        assert!(pauth_problem("no cpuinfo here\n").is_some());
    }
}
