// SPDX-License-Identifier: MIT OR Apache-2.0
//! Runs the `csm` fuzz target on the files named on the command line and prints what the
//! run did (set `RMM_FUZZ_TRACE=1` for every call): for writing seeds and reducing findings.
//! `RMM_FUZZ_REPEAT=n` runs each input n times and prints the time per run.

fn main() {
    let repeat: u32 = std::env::var("RMM_FUZZ_REPEAT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    for path in std::env::args().skip(1) {
        let data = std::fs::read(&path).expect("readable input");
        let start = std::time::Instant::now();
        let mut stats = rmm_fuzz::csm::Stats::default();
        for _ in 0..repeat {
            stats = rmm_fuzz::csm::run(&data);
        }
        println!("{path}: {:?} per run; {stats:?}", start.elapsed() / repeat);
    }
}
