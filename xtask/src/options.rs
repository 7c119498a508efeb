// SPDX-License-Identifier: MIT OR Apache-2.0
//! Command-line options of `cargo xtask build|run|test|fvp`, parsed and validated up front: an
//! option a command does not take, or a value out of range, is an error, never ignored.

use std::path::PathBuf;
use std::time::Duration;

/// The boot deadline of `run` and `test` unless changed.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// QEMU CPUs the test hypervisor can drive (`tests/payloads/host/src/platform.rs`, `MAX_CPUS`).
pub const MAX_SMP: u32 = 8;

/// The most CPUs an RMM build may be configured for: a 12 KiB stack each (`rmm::arch`'s
/// `STACK_SIZE`) must fit the Realm carve-out beside the image and the granule table (QEMU's
/// whole carve-out is 24 MiB).
pub const MAX_RMM_CPUS: u32 = 256;

/// How long a QEMU boot may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// Kill QEMU after this long.
    After(Duration),
    /// Never (QEMU runs until it exits or is interrupted).
    Never,
}

/// The RMM's compile-time log level (`log` crate `max_level_*` features).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Nothing at all is logged.
    Off,
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// The default: banners, boot summary, warnings, errors.
    Info,
}

impl LogLevel {
    /// The platform crate feature selecting this level, if it is not the default.
    pub fn feature(self) -> Option<&'static str> {
        match self {
            LogLevel::Off => Some("log-off"),
            LogLevel::Error => Some("log-error"),
            LogLevel::Warn => Some("log-warn"),
            LogLevel::Info => None,
        }
    }
}

/// Firmware build settings (`build`, `run`, `fvp`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildSettings {
    /// `RMM_MAX_CPUS` for the RMM build (default 32).
    pub max_cpus: Option<u32>,
    /// The RMM's log level (default info).
    pub log_level: Option<LogLevel>,
}

/// Which TF-A to build and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TfaOptions {
    /// Another TF-A source tree instead of Debian's 2.12 source package.
    pub source: Option<PathBuf>,
    /// Extra `make` flags (`NAME=value`), after ours, so they win.
    pub flags: Vec<String>,
}

/// Everything after the command name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// QEMU `-smp` (run: the demo; test: the suite group).
    pub smp: Option<u32>,
    /// Boot deadline.
    pub deadline: Deadline,
    /// Print QEMU's command line before booting.
    pub print_qemu: bool,
    /// Wait for gdb (`-s -S`), debug-info build, no deadline.
    pub gdb: bool,
    /// Firmware build settings.
    pub build: BuildSettings,
    /// TF-A tree and flags.
    pub tfa: TfaOptions,
    /// `test --group NAME`: boot only these QEMU groups (no lint, host tests or FVP build).
    pub groups: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            smp: None,
            deadline: Deadline::After(DEFAULT_DEADLINE),
            print_qemu: false,
            gdb: false,
            build: BuildSettings::default(),
            tfa: TfaOptions::default(),
            groups: Vec::new(),
        }
    }
}

/// The options each command takes.
fn allowed(command: &str) -> &'static [&'static str] {
    const TFA: &[&str] = &["--tfa-dir", "--tfa-flag"];
    match command {
        "build" | "fvp" => &["--max-cpus", "--log-level", "--tfa-dir", "--tfa-flag"],
        "run" => &[
            "--smp",
            "--deadline",
            "--no-deadline",
            "--print-qemu",
            "--gdb",
            "--max-cpus",
            "--log-level",
            "--tfa-dir",
            "--tfa-flag",
        ],
        // The suite judges the RMM's log and needs its default build.
        "test" => &[
            "--group",
            "--smp",
            "--deadline",
            "--no-deadline",
            "--print-qemu",
            "--gdb",
            "--tfa-dir",
            "--tfa-flag",
        ],
        "bench" | "size" => TFA,
        _ => &[],
    }
}

/// Help text for the options.
pub const HELP: &str = "\
options (each command takes only those that make sense for it; see the README):
  --smp N           QEMU CPUs, 1..=8 (run: the demo, 2 or more; test: the suite; default 4)
  --deadline SECS   kill a QEMU boot after SECS seconds (run, test; default 60)
  --no-deadline     never kill QEMU (run, test)
  --print-qemu      print QEMU's command line before booting (run, test)
  --group NAME      run only this group (QEMU boots: suite, fault, csm, demo, msg-smoke; image
                    checks: stack-bound, panic-sites; Linux realms: linux, linux-smp2),
                    skipping the lint, host tests and FVP build (test; repeatable)
  --gdb             debug-info build, QEMU waits for gdb on :1234 (-s -S), no deadline (run;
                    test with exactly one --group of suite, fault, csm, demo, judged as usual
                    when QEMU exits)
  --max-cpus N      RMM built for at most N CPUs (build, run, fvp; default 32; QEMU needs 32)
  --log-level L     RMM log level at compile time: off, error, warn, info (build, run, fvp)
  --tfa-dir DIR     build this TF-A source tree instead of Debian's 2.12 package
  --tfa-flag FLAG   extra TF-A make flag, e.g. DEBUG=1 (repeatable)";

/// Parses the options of `command`.
pub fn parse(command: &str, args: &[String]) -> Result<Options, String> {
    let mut options = Options::default();
    let allowed = allowed(command);
    let mut args = args.iter();
    let mut deadline_set = false;
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        if !allowed.contains(&name) {
            return Err(if name.starts_with("--") {
                format!("`cargo xtask {command}` does not take `{name}`")
            } else {
                format!("`cargo xtask {command}` takes no argument `{arg}`")
            });
        }
        let takes_value = !matches!(name, "--no-deadline" | "--print-qemu" | "--gdb");
        let value = if takes_value {
            match inline {
                Some(v) => v,
                None => args
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("`{name}` needs a value"))?,
            }
        } else if inline.is_some() {
            return Err(format!("`{name}` takes no value"));
        } else {
            String::new()
        };
        match name {
            "--smp" => options.smp = Some(number(name, &value, 1, MAX_SMP)?),
            "--deadline" | "--no-deadline" => {
                if deadline_set {
                    return Err("give one of --deadline and --no-deadline, once".into());
                }
                deadline_set = true;
                options.deadline = if name == "--no-deadline" {
                    Deadline::Never
                } else {
                    Deadline::After(Duration::from_secs(
                        number(name, &value, 1, 24 * 3600)?.into(),
                    ))
                };
            }
            "--print-qemu" => options.print_qemu = true,
            "--gdb" => options.gdb = true,
            "--max-cpus" => {
                options.build.max_cpus = Some(number(name, &value, 1, MAX_RMM_CPUS)?);
            }
            "--log-level" => {
                options.build.log_level = Some(match value.as_str() {
                    "off" => LogLevel::Off,
                    "error" => LogLevel::Error,
                    "warn" => LogLevel::Warn,
                    "info" => LogLevel::Info,
                    _ => {
                        return Err(format!(
                            "--log-level {value}: use off, error, warn or info (the RMM has \
                             no debug or trace messages)"
                        ));
                    }
                });
            }
            "--tfa-dir" => {
                let dir = PathBuf::from(&value);
                if !dir.join("Makefile").is_file() || !dir.join("tools/fiptool").is_dir() {
                    return Err(format!("--tfa-dir {value}: not a TF-A source tree"));
                }
                options.tfa.source = Some(
                    dir.canonicalize()
                        .map_err(|e| format!("--tfa-dir {value}: {e}"))?,
                );
            }
            "--tfa-flag" => options.tfa.flags.push(tfa_flag(&value)?),
            "--group" => options.groups.push(value),
            _ => unreachable!("every allowed option is handled"),
        }
    }
    if options.gdb && command == "test" && options.groups.len() != 1 {
        return Err(
            "`test --gdb` debugs one boot: name exactly one QEMU group with --group".into(),
        );
    }
    if options.gdb {
        if deadline_set {
            return Err("--gdb runs without a deadline; drop --deadline/--no-deadline".into());
        }
        options.deadline = Deadline::Never;
    }
    Ok(options)
}

fn number(name: &str, value: &str, min: u32, max: u32) -> Result<u32, String> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("{name} {value}: expected a whole number from {min} to {max}"))
}

/// A TF-A make flag `NAME=value`; the variables xtask sets itself are refused.
fn tfa_flag(flag: &str) -> Result<String, String> {
    const OURS: &[&str] = &["BUILD_BASE", "RMM", "BL33", "CROSS_COMPILE"];
    let Some((name, _)) = flag.split_once('=') else {
        return Err(format!(
            "--tfa-flag {flag}: expected NAME=value, e.g. DEBUG=1"
        ));
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!(
            "--tfa-flag {flag}: `{name}` is not a make variable"
        ));
    }
    if OURS.contains(&name) {
        return Err(format!(
            "--tfa-flag {flag}: xtask sets {name} itself (to swap BL33 see docs/own-host.md)"
        ));
    }
    Ok(flag.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn run_options_are_parsed() {
        let o = parse(
            "run",
            &args("--smp 2 --deadline=120 --print-qemu --max-cpus 64"),
        )
        .unwrap();
        assert_eq!(o.smp, Some(2));
        assert_eq!(o.deadline, Deadline::After(Duration::from_secs(120)));
        assert!(o.print_qemu && !o.gdb);
        assert_eq!(o.build.max_cpus, Some(64));
        assert_eq!(parse("run", &[]).unwrap(), Options::default());
    }

    #[test]
    fn test_groups_are_collected() {
        let o = parse("test", &args("--group csm --group=suite --deadline 90")).unwrap();
        assert_eq!(o.groups, ["csm", "suite"]);
        assert!(parse("test", &args("--group")).is_err());
        let o = parse("test", &args("--group suite --gdb")).unwrap();
        assert!(o.gdb && o.deadline == Deadline::Never);
        assert!(parse("test", &args("--gdb")).is_err());
        assert!(parse("test", &args("--group suite --group csm --gdb")).is_err());
        assert!(parse("run", &args("--group csm")).is_err());
    }

    #[test]
    fn gdb_means_no_deadline() {
        let o = parse("run", &args("--gdb")).unwrap();
        assert!(o.gdb);
        assert_eq!(o.deadline, Deadline::Never);
        assert!(parse("run", &args("--gdb --deadline 5")).is_err());
        assert!(parse("test", &args("--gdb")).is_err());
    }

    #[test]
    fn bad_values_and_unknown_options_are_refused() {
        for bad in [
            "--smp 0",
            "--smp 9",
            "--smp x",
            "--deadline 0",
            "--deadline",
            "--no-deadline --deadline 5",
            "--log-level debug",
            "--max-cpus 0",
            "--max-cpus 257",
            "--print-qemu=yes",
            "--frobnicate",
            "extra",
            "--tfa-flag DEBUG",
            "--tfa-flag RMM=x.bin",
            "--tfa-flag lower=1",
            "--tfa-dir /nonexistent",
        ] {
            assert!(parse("run", &args(bad)).is_err(), "accepted `{bad}`");
        }
        // Options of other commands.
        assert!(parse("test", &args("--log-level warn")).is_err());
        assert!(parse("build", &args("--smp 2")).is_err());
        assert!(parse("setup", &args("--smp 2")).is_err());
    }

    #[test]
    fn tfa_flags_and_log_levels() {
        let o = parse(
            "fvp",
            &args("--tfa-flag DEBUG=1 --tfa-flag LOG_LEVEL=50 --log-level warn"),
        )
        .unwrap();
        assert_eq!(o.tfa.flags, ["DEBUG=1", "LOG_LEVEL=50"]);
        assert_eq!(
            o.build.log_level.and_then(LogLevel::feature),
            Some("log-warn")
        );
        assert_eq!(LogLevel::Info.feature(), None);
    }
}
