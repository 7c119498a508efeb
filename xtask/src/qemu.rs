// SPDX-License-Identifier: MIT OR Apache-2.0
//! Booting QEMU `virt` with FEAT_RME under a deadline, capturing the shared UART.
//!
//! QEMU `virt` has no watchdog and a hung boot does not exit, so every run has a deadline
//! after which QEMU is killed and the run reported as timed out. The run mode for the test
//! hypervisor is written into NS memory at reset with `-device loader` (see the hypervisor's
//! `mailbox.rs`).

use crate::cmd::{self, Result};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Address of the hypervisor's mode mailbox on QEMU.
pub const MAILBOX: u64 = 0x5FFF_F000;
/// "RMMHOST1", little-endian, as the hypervisor expects.
const MAILBOX_MAGIC: u64 = u64::from_le_bytes(*b"RMMHOST1");

/// What the hypervisor should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The end-to-end scenarios.
    Suite = 0,
    /// Instruction-count benchmarks, timed.
    Bench = 1,
    /// The fault-injection check (needs the RMM's `fault-injection` build).
    Fault = 2,
    /// The traced benchmark segments (run with QEMU's instruction log on).
    BenchTrace = 3,
    /// Boot the Linux realm described next to the mailbox (`cargo xtask linux`).
    Linux = 4,
    /// The Confidential Shared Memory scenarios.
    Csm = 5,
    /// The CSM demo's story (`cargo xtask run`).
    Demo = 6,
    /// The message benchmark between two realms (`cargo xtask bench`, [`crate::bench_msg`]).
    MsgBench = 7,
}

/// One QEMU run's configuration.
pub struct Run<'a> {
    /// `qemu_fw.bios`.
    pub bios: &'a Path,
    /// Number of CPUs.
    pub smp: u32,
    /// Hypervisor mode.
    pub mode: Mode,
    /// Kill QEMU after this long (`None`: never).
    pub deadline: Option<Duration>,
    /// Echo the UART to the terminal while running.
    pub live: bool,
    /// Extra QEMU arguments (benchmark tracing, `-s -S` for gdb).
    pub extra: Vec<String>,
    /// Print the command line before booting.
    pub print_command: bool,
    /// Where to write the full UART log.
    pub log: PathBuf,
}

/// How a run ended.
#[derive(Debug)]
pub struct Outcome {
    /// Everything printed on UART0 (TF-A, RMM and hypervisor).
    pub output: String,
    /// QEMU's exit code, or `None` if it was killed at the deadline.
    pub exit_code: Option<i32>,
    /// Wall time taken.
    pub elapsed: Duration,
}

impl Run<'_> {
    /// The full command line.
    pub fn command(&self) -> Command {
        let mut qemu = Command::new("qemu-system-aarch64");
        qemu.args(["-M", "virt,virtualization=on,secure=on,gic-version=3"])
            .args(["-cpu", "max,x-rme=on", "-m", "3G"])
            .args(["-smp", &self.smp.to_string()])
            .args([
                "-display", "none", "-monitor", "none", "-nic", "none", "-serial", "stdio",
            ])
            .arg("-bios")
            .arg(self.bios)
            .args(["-device", &loader(MAILBOX, MAILBOX_MAGIC)])
            .args(["-device", &loader(MAILBOX + 8, self.mode as u64)])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        qemu
    }

    /// Boots and waits for QEMU to power off or for the deadline.
    pub fn execute(&self) -> Result<Outcome> {
        let live = self.live;
        self.execute_with(&mut |line: &str| {
            if live {
                println!("{line}");
            }
        })
    }

    /// [`Run::execute`], handing every UART line to `echo` as it arrives (instead of
    /// echoing it as [`Run::live`] says).
    pub fn execute_with(&self, echo: &mut (dyn FnMut(&str) + Send)) -> Result<Outcome> {
        let started = Instant::now();
        let mut command = self.command();
        let deadline = match self.deadline {
            Some(d) => format!("deadline {} s", d.as_secs()),
            None => "no deadline".into(),
        };
        eprintln!(
            "xtask: booting QEMU ({} CPUs, mode {:?}, {deadline})",
            self.smp, self.mode
        );
        if self.print_command {
            println!("xtask: QEMU command line:\n{}", cmd::describe(&command));
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start qemu-system-aarch64: {e}"))?;
        let output = Mutex::new(String::new());
        let stdout = child.stdout.take().ok_or("no stdout from QEMU")?;
        let exit_code = std::thread::scope(|scope| {
            let output = &output;
            scope.spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                    let line = line.trim_end_matches('\r');
                    echo(line);
                    if let Ok(mut out) = output.lock() {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            });
            loop {
                if let Some(status) = child.try_wait()? {
                    break Ok::<_, std::io::Error>(Some(status.code().unwrap_or(-1)));
                }
                if self.deadline.is_some_and(|d| started.elapsed() > d) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Ok(None);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })?;
        let output = output.into_inner().unwrap_or_default();
        if let Some(dir) = self.log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&self.log, &output)?;
        Ok(Outcome {
            output,
            exit_code,
            elapsed: started.elapsed(),
        })
    }
}

/// A `-device loader` argument writing the 64-bit `value` at `addr` before reset.
pub fn loader(addr: u64, value: u64) -> String {
    format!("loader,addr={addr:#x},data={value:#x},data-len=8")
}
