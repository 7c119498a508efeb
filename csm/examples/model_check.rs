// SPDX-License-Identifier: MIT OR Apache-2.0
//! The larger model-checking configuration, run by `cargo xtask model-check` (release build,
//! feature `model`). Explores each start state to its depth bound and prints the numbers
//! `docs/csm.md` reports; exits non-zero with a counterexample trace on any violation.
//!
//! Depths can be overridden: `model_check [EMPTY READY OFFERED]`.

use std::process::ExitCode;

use csm::model::explore::{Config, Start, explore};

fn main() -> ExitCode {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let depth = |i: usize, default: usize| args.get(i).copied().unwrap_or(default);
    let runs = [
        (Start::Empty, depth(0, 13)),
        (Start::Ready, depth(1, 7)),
        (Start::Offered, depth(2, 7)),
    ];
    let mut total = 0;
    for (start, depth) in runs {
        match explore(Config {
            start,
            depth,
            fault: None,
        }) {
            Ok(s) => {
                total += s.states;
                println!(
                    "{start:?}: depth {} — {} states, {} transitions, {:.1} s{}",
                    s.depth,
                    s.states,
                    s.transitions,
                    s.time.as_secs_f64(),
                    if s.exhausted {
                        " (state space exhausted)"
                    } else {
                        ""
                    }
                );
                println!("  new states per depth: {:?}", s.per_depth);
            }
            Err(c) => {
                eprintln!("{start:?}: VIOLATION {:?}", c.violation);
                for (n, a) in c.trace.iter().enumerate() {
                    eprintln!("  {n}: {a:?}");
                }
                return ExitCode::FAILURE;
            }
        }
    }
    println!("model check passed: {total} states, every one satisfying S1-S11");
    ExitCode::SUCCESS
}
