// SPDX-License-Identifier: MIT OR Apache-2.0
//! The demo's checks and display on a real UART log (`demo.log`, from `cargo xtask run`, the
//! plugin's `ICOUNT` records appended), and on the README's transcript of the same run.

use super::*;

/// A whole UART log of the demo, TF-A's boot to the power-off.
const LOG: &str = include_str!("demo.log");

fn shown(log: &str) -> Vec<String> {
    let mut story = Story::default();
    log.lines().flat_map(|line| story.show(line)).collect()
}

#[test]
fn the_real_log_has_every_step() {
    assert_eq!(problems(LOG), Vec::<String>::new());
}

#[test]
fn a_missing_or_wrong_step_is_a_problem() {
    let changes = [
        ("DEMO gpf ", "DEMO gfp "),
        ("0 wrong", "3 wrong"),
        ("sequence number 1000", "sequence number 999"),
        ("RSI_ERROR_INPUT (1)", "RSI_ERROR_INPUT (0)"),
        ("ESR_EL2 0x96000028", "ESR_EL2 0x96000010"),
        (
            "for the RMM's stage-2 permission fault; 0 exits",
            "fault; 1 exits",
        ),
        ("DEMO off Done: QEMU powers off.\n", ""),
        (
            "CSM demo.B.shared share 0 2 1 1 1 16384 3 1",
            "CSM demo.B.shared share 0 2 1 1 1 16384 1 1",
        ),
    ];
    for (from, to) in changes {
        assert!(LOG.contains(from), "{from}");
        let log = LOG.replacen(from, to, 1);
        assert!(!problems(&log).is_empty(), "{from} -> {to} went unnoticed");
    }
    // One granule fewer given back than held.
    let held = number(LOG, "DEMO returned All ").unwrap();
    let (from, to) = (
        format!("DEMO returned All {held} granules"),
        format!("DEMO returned All {} granules", held - 1),
    );
    assert!(LOG.contains(&from));
    assert!(!problems(&LOG.replacen(&from, &to, 1)).is_empty());
    // The plugin's records gone: no instructions per message.
    let without: String = LOG
        .lines()
        .filter(|l| !l.starts_with(ICOUNT))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(without.len() < LOG.len());
    assert!(!problems(&without).is_empty());
    // One message fewer counted on CPU 0.
    let line = LOG.lines().find(|l| l.starts_with("ICOUNT 0 1 ")).unwrap();
    let fewer = line.replace("ICOUNT 0 1 1000 ", "ICOUNT 0 1 999 ");
    assert_ne!(line, fewer);
    assert!(!problems(&LOG.replace(line, &fewer)).is_empty());
    // A count out of range: B's receipts take 100,000 instructions.
    let line = LOG.lines().find(|l| l.starts_with("ICOUNT 1 2 ")).unwrap();
    let big = "ICOUNT 1 2 1000 100000";
    assert_ne!(line, big);
    assert!(!problems(&LOG.replace(line, big)).is_empty());
    // The last byte of B's shared token (its realm signature) changed.
    let line = LOG
        .lines()
        .rfind(|l| l.starts_with("TOKEN demo.B.shared ") && !l.contains(" end "))
        .unwrap();
    let mut bad = line.to_string();
    let at = bad.len() - 2;
    let flipped = if &bad[at..] == "00" { "01" } else { "00" };
    bad.replace_range(at.., flipped);
    assert!(!problems(&LOG.replace(line, &bad)).is_empty());
}

#[test]
fn the_terminal_shows_the_story_and_not_the_noise() {
    let out = shown(LOG);
    let text = out.join("\n").replace("\n  ", " ");
    assert!(text.contains("RMM[0] INFO  Rust RMM"));
    assert!(text.contains("RMM[3] INFO  CPU 3 warm boot"));
    assert!(text.contains("- A shares it read-write with B"));
    assert!(text.contains("attested: xtask verified its token"));
    assert!(text.contains("csm-realm-id (65001) 2; csm-shares (65002): consumer of region 1"));
    assert!(text.contains("(A's, as measured at its build)"));
    // Without the plugin's file the `cost` line says so, and the check fails on it.
    assert!(text.contains("no instruction counts"));
    assert!(text.contains("CSM claims as the host expects: PASS"));
    for noise in [
        "NOTICE:",
        "TEST ",
        "TOKEN ",
        "ATTEST ",
        "CSM demo",
        "signing a token",
    ] {
        assert!(!text.contains(noise), "{noise} shown");
    }
    assert!(
        out.iter()
            .all(|l| l.len() <= WIDTH || l.starts_with("RMM["))
    );
    // The token's verdict comes right after B asks for it.
    let asks = out
        .iter()
        .position(|l| l.contains("B asks the RMM"))
        .unwrap();
    let decoded = out.iter().position(|l| l.contains("B's token (")).unwrap();
    assert!(asks < decoded && decoded <= asks + 2, "{asks} {decoded}");
}

#[test]
fn failures_reach_the_terminal() {
    let out = shown("TEST cpu0.csm_demo FAIL something broke\nRMM[0] WARN  odd\n");
    assert_eq!(
        out,
        [
            "xtask: TEST cpu0.csm_demo FAIL something broke",
            "RMM[0] WARN  odd"
        ]
    );
}

#[test]
fn numbers_and_wrapping() {
    assert_eq!(number("PA 0x80803000: x", "PA "), Some(0x8080_3000));
    assert_eq!(number("hold 250 delegated", "hold "), Some(250));
    assert_eq!(number("hold x", "hold "), None);
    assert_eq!(number("nothing", "PA "), None);
    assert_eq!(wrap("a b"), ["- a b"]);
    let long = "word ".repeat(40);
    let lines = wrap(&long);
    assert!(lines.len() > 1 && lines[1].starts_with("  word"));
    assert_eq!(short(&[0xAB; 32]), "abababab...abababab");
}

/// The README's transcript of `cargo xtask run` (between its story's title and xtask's
/// verdict): its bullets, wrapped lines joined.
fn readme_bullets() -> Vec<String> {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("Confidential Shared Memory: realm A shares memory")
        .expect("the README's transcript");
    let end = start
        + readme[start..]
            .find("xtask: the demo took")
            .expect("the transcript's last line");
    let mut bullets: Vec<String> = Vec::new();
    for line in readme[start..end].lines() {
        if let Some(text) = line.strip_prefix("- ") {
            bullets.push(text.to_string());
        } else if let Some(more) = line.strip_prefix("  ")
            && let Some(last) = bullets.last_mut()
        {
            last.push(' ');
            last.push_str(more.trim());
        }
    }
    bullets
}

#[test]
fn the_readme_tells_the_same_story() {
    let bullets = readme_bullets();
    // xtask's own two lines on B's token follow the `attest` step; the rest are the steps.
    let (xtask, told): (Vec<&String>, Vec<&String>) = bullets
        .iter()
        .partition(|b| b.starts_with("B's token (") || b.starts_with("Independent verifier"));
    assert_eq!(xtask.len(), 2, "{bullets:#?}");
    assert!(xtask[1].ends_with(": PASS"), "{}", xtask[1]);
    assert_eq!(told.len(), STEPS.len(), "{told:#?}");
    let story: Vec<(&str, String)> = STEPS
        .iter()
        .zip(&told)
        .map(|(step, text)| (*step, (*text).clone()))
        .collect();
    assert_eq!(check_story(&story), Vec::<String>::new());
    // And it is the run of `demo.log`: the same steps' text, xtask's numbers included.
    let logged: Vec<String> = story_of(LOG)
        .into_iter()
        .filter(|(step, _)| *step != "realm")
        .map(|(_, text)| text)
        .collect();
    let readme: Vec<String> = story
        .iter()
        .filter(|(step, _)| *step != "realm")
        .map(|(_, text)| text.clone())
        .collect();
    assert_eq!(readme, logged);
}
