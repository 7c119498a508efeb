// SPDX-License-Identifier: MIT OR Apache-2.0
//! Writes the generated seeds of the `rmi`/`rsi` targets (`rmm_fuzz::seed::SEEDS`) to
//! `fuzz/corpus/<target>/` and prints what each one reaches when replayed (set
//! `RMM_FUZZ_TRACE=1` for every RMI call). `cargo run -p rmm-fuzz --example seeds`.

use rmm_fuzz::rmi::{self, Start};
use rmm_fuzz::seed::SEEDS;
use std::path::PathBuf;

fn main() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for (target, name, program) in SEEDS {
        let bytes = program().bytes();
        let path = corpus.join(target).join(name);
        std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let start = if target == "rmi" {
            Start::Empty
        } else {
            Start::Running
        };
        let stats = rmi::run(start, &bytes);
        println!(
            "{target}/{name}: {} bytes, {} calls, successes {:x?}, exits {:?}, RSI (fid, \
             status) {:x?}, interrupted CONTINUEs {}",
            bytes.len(),
            stats.calls,
            stats.successes,
            stats.exits,
            stats.rsi,
            stats.interrupted
        );
    }
}
