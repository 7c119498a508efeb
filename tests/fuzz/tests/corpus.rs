// SPDX-License-Identifier: MIT OR Apache-2.0
//! The committed corpora (`fuzz/corpus/<target>/`) replayed through the fuzz targets on the
//! stable toolchain: every input the fuzzer kept is a regression test, and the RMI corpus must
//! keep reaching the success path of every RMI command.

use rmm_abi::rmi::fid;
use rmm_fuzz::csm;
use rmm_fuzz::rmi::{self, Start, Stats};
use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    rmm_fuzz::check::self_check();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("readable corpus file");
            (p, bytes)
        })
        .collect()
}

fn replay(target: &str) -> usize {
    let inputs = corpus(target);
    for (path, data) in &inputs {
        let result = std::panic::catch_unwind(|| rmm_fuzz::run(target, data));
        assert!(
            result.is_ok_and(|known| known),
            "{target}: {} failed",
            path.display()
        );
    }
    inputs.len()
}

fn stats(start: Start, target: &str) -> Stats {
    let mut total = Stats::default();
    for (_, data) in corpus(target) {
        total.merge(&rmi::run(start, &data));
    }
    total
}

#[test]
fn boot_corpus_replays_clean() {
    assert!(replay("boot") > 0);
}

#[test]
fn el3_attest_corpus_replays_clean() {
    assert!(replay("el3_attest") > 0);
}

#[test]
fn rsi_corpus_replays_clean() {
    assert!(replay("rsi") > 0);
}

/// Every RMI command of RMM 1.0 succeeds at least once while the RMI corpus replays (from an
/// empty monitor: the RSI corpus, the same engine from a running realm, is replayed beside it
/// for the counts but counts for nothing here); run with `--nocapture` for the counts by
/// command and corpus (`docs/testing.md` quotes them).
#[test]
fn rmi_corpus_replays_clean_and_reaches_every_success_path() {
    let rmi = stats(Start::Empty, "rmi");
    let rsi = stats(Start::Running, "rsi");
    let commands = [
        ("VERSION", fid::VERSION),
        ("FEATURES", fid::FEATURES),
        ("GRANULE_DELEGATE", fid::GRANULE_DELEGATE),
        ("GRANULE_UNDELEGATE", fid::GRANULE_UNDELEGATE),
        ("REALM_CREATE", fid::REALM_CREATE),
        ("REALM_ACTIVATE", fid::REALM_ACTIVATE),
        ("REALM_DESTROY", fid::REALM_DESTROY),
        ("REC_AUX_COUNT", fid::REC_AUX_COUNT),
        ("REC_CREATE", fid::REC_CREATE),
        ("REC_DESTROY", fid::REC_DESTROY),
        ("REC_ENTER", fid::REC_ENTER),
        ("PSCI_COMPLETE", fid::PSCI_COMPLETE),
        ("RTT_CREATE", fid::RTT_CREATE),
        ("RTT_DESTROY", fid::RTT_DESTROY),
        ("RTT_FOLD", fid::RTT_FOLD),
        ("RTT_READ_ENTRY", fid::RTT_READ_ENTRY),
        ("RTT_INIT_RIPAS", fid::RTT_INIT_RIPAS),
        ("RTT_SET_RIPAS", fid::RTT_SET_RIPAS),
        ("RTT_MAP_UNPROTECTED", fid::RTT_MAP_UNPROTECTED),
        ("RTT_UNMAP_UNPROTECTED", fid::RTT_UNMAP_UNPROTECTED),
        ("DATA_CREATE", fid::DATA_CREATE),
        ("DATA_CREATE_UNKNOWN", fid::DATA_CREATE_UNKNOWN),
        ("DATA_DESTROY", fid::DATA_DESTROY),
    ];
    println!("RMI + RSI corpora: {} + {} calls", rmi.calls, rsi.calls);
    let mut missing = Vec::new();
    for (name, f) in commands {
        let (a, b) = (
            rmi.successes.get(&f).copied().unwrap_or(0),
            rsi.successes.get(&f).copied().unwrap_or(0),
        );
        println!("  {name:<22} {a:>8} (rmi) {b:>8} (rsi) successes");
        if a == 0 {
            missing.push(name);
        }
    }
    println!("  REC exits by reason (rmi): {:?}", rmi.exits);
    println!("  REC exits by reason (rsi): {:?}", rsi.exits);
    // RTT_SET_RIPAS and PSCI_COMPLETE are reached by the generated seeds `seed-set-ripas` and
    // `seed-psci-cpu-on` (`rmm_fuzz::seed`): the host answers the realm's RIPAS-change exit
    // with its exact range, and its PSCI_CPU_ON exit with the target REC.
    assert!(
        missing.is_empty(),
        "never succeeded in the rmi corpus: {missing:?}"
    );
}

/// The hand-written seeds in the corpora are what their generator (`rmm_fuzz::seed`) writes
/// (`cargo run -p rmm-fuzz --example seeds` rewrites them).
#[test]
fn generated_seeds_are_committed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for (target, name, program) in rmm_fuzz::seed::SEEDS {
        let path = dir.join(target).join(name);
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            committed,
            program().bytes(),
            "{}: not what the generator writes",
            path.display()
        );
    }
}

/// The RSI corpus's REC exits and RSI results (run with `--nocapture` for the counts), and
/// attestation: RSI_ATTEST_TOKEN_INIT succeeds, CONTINUE answers RSI_INCOMPLETE (a partial
/// copy, and a signature a host interrupt stopped) and completes a token.
#[test]
fn rsi_corpus_exits_and_reaches_attestation_tokens() {
    use rmm_abi::rsi::fid as rsi;
    let total = stats(Start::Running, "rsi");
    println!(
        "RSI corpus: {} RMI calls, REC exits by reason {:?}",
        total.calls, total.exits
    );
    for ((f, status), n) in &total.rsi {
        println!("  RSI {f:#x} status {status}: {n}");
    }
    println!(
        "  CONTINUEs stopped by a host interrupt: {}",
        total.interrupted
    );
    assert!(total.exits.len() > 1);
    let seen = |f: u32, status: u64| total.rsi.get(&(u64::from(f), status)).copied().unwrap_or(0);
    assert!(
        seen(rsi::ATTEST_TOKEN_INIT, 0) > 0,
        "no token INIT succeeded"
    );
    assert!(
        seen(rsi::ATTEST_TOKEN_CONTINUE, 3) > 0,
        "no CONTINUE was INCOMPLETE"
    );
    assert!(total.interrupted > 0, "no CONTINUE was interrupted");
    assert!(
        seen(rsi::ATTEST_TOKEN_CONTINUE, 0) > 0,
        "no token was completed"
    );
}

/// The CSM corpus replays clean and keeps reaching sharing: ACCEPT, REVOKE and a DATA_DESTROY
/// that damages a region each succeed at least once (run with `--nocapture` for the counts
/// `docs/testing.md` quotes).
#[test]
fn csm_corpus_replays_clean_and_reaches_sharing() {
    let mut total = csm::Stats::default();
    for (path, data) in corpus("csm") {
        let stats = std::panic::catch_unwind(|| csm::run(&data))
            .unwrap_or_else(|_| panic!("csm: {} failed", path.display()));
        total.merge(&stats);
    }
    let name = |f: u32| match f {
        csm::CREATE => "CSM_CREATE".to_string(),
        csm::SHARE => "CSM_SHARE".to_string(),
        csm::ACCEPT => "CSM_ACCEPT".to_string(),
        csm::DETACH => "CSM_DETACH".to_string(),
        csm::REVOKE => "CSM_REVOKE".to_string(),
        csm::DESTROY => "CSM_DESTROY".to_string(),
        csm::QUERY => "CSM_QUERY".to_string(),
        0xC400_0197 => "IPA_STATE_SET".to_string(),
        other => format!("{other:#x}"),
    };
    println!("CSM corpus: {} steps", total.steps);
    for (f, n) in &total.rsi_calls {
        let ok = total.rsi.get(f).copied().unwrap_or(0);
        println!("  RSI {:<12} {n:>7} calls {ok:>7} successes", name(*f));
    }
    for (f, n) in &total.rmi {
        println!("  RMI {f:#x} {n:>7} successes");
    }
    println!(
        "  exits by reason {:?}, damaging DATA_DESTROYs {}, most aliases at once {}",
        total.exits, total.damaging_destroys, total.max_aliases
    );
    for (what, f) in [("ACCEPT", csm::ACCEPT), ("REVOKE", csm::REVOKE)] {
        assert!(
            total.rsi.get(&f).copied().unwrap_or(0) > 0,
            "RSI_CSM_{what} never succeeded"
        );
    }
    assert!(
        total.damaging_destroys > 0,
        "no DATA_DESTROY damaged a region"
    );
}

/// Every CSM input, run from the restored image of the setup, does and leaves exactly what it
/// does from a setup built for it (every call, result and exit; the granules, memory, PAS,
/// VMIDs and counters at the end). The inputs run in turn on one process's image, so state an
/// input left behind would show up in the next one's comparison.
#[test]
fn csm_restored_setup_runs_as_a_built_one() {
    let inputs = corpus("csm");
    for (path, data) in &inputs {
        let restored = csm::run_from(data, csm::Setup::Restored);
        let built = csm::run_from(data, csm::Setup::Built);
        if restored != built {
            let diff = restored.end.differences(&built.end);
            panic!(
                "csm: {} runs differently from the restored setup: stats equal {}, logs equal \
                 {}, end state differences {diff:#?}",
                path.display(),
                restored.stats == built.stats,
                restored.log == built.log,
            );
        }
    }
    assert!(!inputs.is_empty());
}
