// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask <command> [options]`: everything needed to set up, build, boot and test the RMM.
//!
//! Commands (each one does the set-up it needs first, idempotently):
//! - `setup`: apt sources and packages, the TF-A source (unless `--tfa-dir`), the rustup
//!   target, and the Linux guest (Debian's arm64 kernel and busybox, [`linux`]).
//! - `build`: the QEMU firmware: RMM and test hypervisor for QEMU, packed with TF-A `PLAT=qemu`
//!   into `target/images/qemu/qemu_fw.bios`.
//! - `run`: build, then boot QEMU (RME, 4 CPUs) and show the Confidential Shared Memory demo
//!   ([`demo`]): the RMM's banner and a short story, checked as the `demo` test group checks it.
//! - `test`: formatting and clippy, host tests, the corpus replays, the FVP images built and
//!   checked, the Shrinkwrap overlays checked with Shrinkwrap, then the QEMU end-to-end groups
//!   and the scripted Linux realm boots.
//! - `bench`: instruction counts under `-icount shift=0 -smp 1`, image sizes, and the message
//!   benchmark between two realms counted by a QEMU plugin ([`bench_msg`]).
//! - `size`: image section sizes.
//! - `fvp`: the FVP images and TF-A `PLAT=fvp`, checked, plus how to launch them.
//! - `shrinkwrap`: check the Shrinkwrap overlays in `shrinkwrap/` with Shrinkwrap itself.
//! - `model-check`: the CSM model checker's larger configuration (host only).
//! - `token <file>`: decode and verify a CCA attestation token (binary or hex).
//! - `linux [--no-initrd] [--smp2] [--scripted [--icount]]`: boot Debian's arm64 kernel in a realm,
//!   console attached (`--scripted`: only the Linux scenario of `test`).
//! - `fuzz [target] [--runs N|--seconds S]`: coverage-guided fuzzing on nightly ([`fuzz`]).
//! - `mutants [file.rs...] [--quick] [--jobs N]`: mutation testing with cargo-mutants of the
//!   security-relevant files ([`mutants`]; not part of CI).
//!
//! Options are parsed and validated by [`options`]; `cargo xtask help` lists them.

mod bench;
mod bench_attest;
mod bench_msg;
mod cmd;
mod demo;
mod e2e;
mod fuzz;
mod images;
mod linux;
mod mirror;
mod model_check;
mod mutants;
mod options;
mod panic_sites;
mod path_remap;
mod paths;
mod plot;
mod qemu;
mod setup;
mod shrinkwrap;
mod size;
mod size_report;
mod stack_depth;
mod tfa;
mod token;
mod token_check;
mod transcript;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command> [options]
commands: setup, build, run, test, bench, size, fvp, shrinkwrap, model-check [args],
          token <file>, linux [--no-initrd] [--smp2] [--scripted [--icount]],
          fuzz [target] [--runs N|--seconds S] [--jobs J] [--merge], mutants [file.rs...] [--quick] [--jobs N], help";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("");
    let rest = args.get(1..).unwrap_or_default();
    let result = match command {
        "model-check" => model_check::run(rest),
        "token" => token::run(rest),
        "linux" => match options::parse("build", &[]) {
            Ok(options) => {
                tfa::configure(options.tfa.clone());
                images::configure(options.build.clone());
                setup::run().and_then(|()| linux::interactive(rest))
            }
            Err(error) => Err(error.into()),
        },
        "fuzz" => fuzz::run(rest),
        "mutants" => mutants::run(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}\n{}", options::HELP);
            Ok(())
        }
        "setup" | "build" | "run" | "test" | "bench" | "size" | "fvp" | "shrinkwrap" => {
            match options::parse(command, rest) {
                Ok(options) => run(command, options),
                Err(error) => Err(format!("{error}\n{USAGE}\n{}", options::HELP).into()),
            }
        }
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: &str, options: options::Options) -> cmd::Result {
    tfa::configure(options.tfa.clone());
    images::configure(options.build.clone());
    if command == "shrinkwrap" {
        return shrinkwrap::check();
    }
    setup::run()?;
    match command {
        "build" => images::build_qemu_boot(images::Flavour::Release).map(|_| ()),
        "run" => e2e::run_demo(&options),
        "test" => e2e::run_tests(&options),
        "bench" => bench::run(),
        "size" => size::run(),
        "fvp" => tfa::build_fvp(),
        "setup" => linux::require_guest(),
        _ => Ok(()),
    }
}
