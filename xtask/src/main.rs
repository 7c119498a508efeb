//! `cargo xtask <command>`: everything needed to set up, build, boot and test the RMM.
//!
//! Commands (each one does the set-up it needs first, idempotently):
//! - `setup`: apt sources and packages, the TF-A source, the rustup target.
//! - `build`: the firmware images (RMM for QEMU and FVP, test hypervisor) and TF-A for QEMU.
//! - `run`: build, then boot QEMU (RME, 4 CPUs) and show the boot and every scenario.
//! - `test`: formatting and clippy, host tests, then the QEMU end-to-end suite.
//! - `bench`: instruction counts under `-icount shift=0 -smp 1`, and image sizes.
//! - `size`: image section sizes.
//! - `fvp`: the FVP images and TF-A `PLAT=fvp`, plus how to launch them.
//! - `model-check`: the CSM model checker's larger configuration (host only).
//! - `token <file>`: decode and verify a CCA attestation token (binary or hex).

mod bench;
mod bench_attest;
mod cmd;
mod e2e;
mod images;
mod model_check;
mod paths;
mod qemu;
mod setup;
mod size;
mod tfa;
mod token;
mod token_check;
mod transcript;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <setup|build|run|test|bench|size|fvp|model-check|token>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::run(),
        Some("build") => setup::run()
            .and_then(|()| images::build_qemu_boot(images::Flavour::Release))
            .map(|_| ()),
        Some("run") => setup::run().and_then(|()| e2e::run_demo()),
        Some("test") => setup::run().and_then(|()| e2e::run_tests()),
        Some("bench") => setup::run().and_then(|()| bench::run()),
        Some("size") => setup::run().and_then(|()| size::run()),
        Some("fvp") => setup::run().and_then(|()| tfa::build_fvp()),
        Some("model-check") => model_check::run(args.get(1..).unwrap_or_default()),
        Some("token") => token::run(args.get(1..).unwrap_or_default()),
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
