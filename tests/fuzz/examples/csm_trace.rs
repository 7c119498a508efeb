// SPDX-License-Identifier: MIT OR Apache-2.0
//! Runs the `csm` fuzz target on the files named on the command line (or every file of the
//! directories named) and prints what each run did (set `RMM_FUZZ_TRACE=1` for every call):
//! for writing seeds and reducing findings. `RMM_FUZZ_REPEAT=n` runs each input n times and
//! prints the time per run; `RMM_FUZZ_SUMMARY=1` prints only the totals over all inputs.

use std::path::PathBuf;

fn main() {
    let repeat: u32 = std::env::var("RMM_FUZZ_REPEAT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let summary = std::env::var_os("RMM_FUZZ_SUMMARY").is_some();
    let mut paths = Vec::new();
    for arg in std::env::args().skip(1) {
        let path = PathBuf::from(arg);
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .expect("readable directory")
                .map(|e| e.expect("entry").path())
                .collect();
            files.sort();
            paths.extend(files);
        } else {
            paths.push(path);
        }
    }
    let mut total = rmm_fuzz::csm::Stats::default();
    let start = std::time::Instant::now();
    for path in &paths {
        let data = std::fs::read(path).expect("readable input");
        let one = std::time::Instant::now();
        let mut stats = rmm_fuzz::csm::Stats::default();
        for _ in 0..repeat {
            stats = rmm_fuzz::csm::run(&data);
        }
        total.merge(&stats);
        if !summary {
            println!(
                "{}: {:?} per run; {stats:?}",
                path.display(),
                one.elapsed() / repeat
            );
        }
    }
    println!(
        "{} inputs in {:?}: {total:#x?}",
        paths.len(),
        start.elapsed()
    );
}
