// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask run`: the Confidential Shared Memory demo, and the `demo` test group that
//! checks it.
//!
//! The test hypervisor's `Demo` mode (`tests/payloads/host/src/scenarios/demo.rs`) tells the
//! story in `DEMO <step> <text>` lines. The terminal shows the RMM's boot banner, the text of
//! those lines, and what xtask itself makes of the realms' attestation tokens (verified here,
//! [`crate::token`]; B's second one also decoded, with its CSM claims); TF-A's boot, the
//! `TEST` lines and the tokens' hex stay in the UART log under `target/e2e/`. [`problems`]
//! checks that every step is there, in order, with sane numbers: the `demo` group of `cargo
//! xtask test` runs it, so the demo cannot rot.
//!
//! The `cost` step's numbers are xtask's: the boot loads the QEMU plugin of the message
//! benchmark (`tests/tools/icount-plugin`, [`counting`]), which counts each vCPU's
//! instructions in the realm image between the message loop's markers, less its wait loop
//! (`tests/payloads/realm/src/csm.rs`), and writes each record as it closes. [`Story`] reads
//! them when the `cost` line arrives; after the boot xtask appends their medians per vCPU and
//! marker to the UART log as `ICOUNT <vcpu> <marker> <records> <median>` lines, where
//! [`problems`] finds them.

use crate::bench::{symbol, symbol_range};
use crate::cmd::Result;
use crate::e2e::parse_csm_lines;
use crate::images::Images;
use crate::paths;
use crate::token;
use crate::token_check;
use std::path::PathBuf;

/// The token of B once it has accepted A's grant.
const SHARED_TOKEN: &str = "demo.B.shared";

/// The tokens the demo prints: A's, B's and C's once built, and [`SHARED_TOKEN`].
pub const TOKENS: &[&str] = &["demo.A", "demo.B", "demo.C", SHARED_TOKEN];

/// Width the story is wrapped to.
const WIDTH: usize = 100;

/// The steps, in the order the story tells them (`realm` four times).
const STEPS: &[&str] = &[
    "realm", "realm", "realm", "realm", "create", "share", "accept", "messages", "cost", "reader",
    "readonly", "gpf", "outsider", "attest", "revoke", "teardown", "returned", "off",
];

/// Messages each way the story exchanges.
const MESSAGES: u64 = 1000;

/// The plugin's markers in the realm's message loop; a record's marker is its index here.
const MARKS: [&str; 3] = ["csm_mark_loop", "csm_mark_sent", "csm_mark_received"];
/// A record closed at `csm_mark_loop`: the loop's own instructions between two round trips
/// (the first closes everything before the loop).
const MARK_LOOP: usize = 0;
/// A record closed at `csm_mark_sent`: one message sent (written, sequence number bumped).
const MARK_SENT: usize = 1;
/// A record closed at `csm_mark_received`: one message received (its wait's exit, read and
/// checked).
const MARK_RECEIVED: usize = 2;
/// The prefix of the plugin's records in the UART log, appended by xtask after the boot.
pub const ICOUNT: &str = "ICOUNT ";

/// The demo boot's counting: QEMU's `-plugin` arguments and where the records go.
pub struct Counting {
    /// `-plugin <shared object>,...`.
    pub args: Vec<String>,
    /// The plugin's records, written as they close (`live=on`).
    pub counts: PathBuf,
}

/// Builds the plugin and names what it counts in the test realm of `images`: its image less
/// `csm_wait`..`csm_wait_end`, closing a record at each of [`MARKS`]. Nothing else is counted
/// (`all=off`), so code outside the realm image runs without the plugin's callbacks.
pub fn counting(images: &Images) -> Result<Counting> {
    let plugin = crate::bench_msg::build_plugin()?;
    let realm = &images.realm_elf;
    let image = symbol_range(realm)?;
    let wait = (symbol(realm, "csm_wait")?, symbol(realm, "csm_wait_end")?);
    let counts = paths::logs().join("demo.counts");
    std::fs::create_dir_all(paths::logs())?;
    let _ = std::fs::remove_file(&counts);
    let marks = MARKS
        .iter()
        .map(|mark| symbol(realm, mark))
        .collect::<Result<Vec<u64>>>()?;
    let arg =
        crate::bench_msg::plugin_arg(&plugin, &counts, "live=on,all=off", image, wait, &marks);
    Ok(Counting {
        args: vec!["-plugin".into(), arg],
        counts,
    })
}

/// What the plugin counted at one marker of one vCPU: (vCPU, marker, records, median of
/// their `own` instructions).
type Summary = (usize, usize, u64, u64);

/// The plugin's records (`<vcpu> <marker> <own> <all> <aes> <pmull>` lines), summed up per
/// vCPU and marker, in that order.
fn summarise(counts: &str) -> Vec<Summary> {
    let mut own: std::collections::BTreeMap<(usize, usize), Vec<u64>> = Default::default();
    for line in counts.lines() {
        let mut f = line.split_whitespace().map(|w| w.parse::<u64>().ok());
        if let (Some(Some(vcpu)), Some(Some(marker)), Some(Some(n))) =
            (f.next(), f.next(), f.next())
        {
            own.entry((vcpu as usize, marker as usize))
                .or_default()
                .push(n);
        }
    }
    own.into_iter()
        .map(|((vcpu, marker), mut own)| {
            own.sort_unstable();
            (vcpu, marker, own.len() as u64, own[own.len() / 2])
        })
        .collect()
}

/// The summaries as xtask appends them to the UART log after the boot:
/// `ICOUNT <vcpu> <marker> <records> <median own>`.
pub fn icount_lines(counts: &str) -> String {
    summarise(counts)
        .iter()
        .map(|(vcpu, marker, n, median)| format!("{ICOUNT}{vcpu} {marker} {n} {median}\n"))
        .collect()
}

/// The `ICOUNT` lines of a UART log.
fn icounts(output: &str) -> Vec<Summary> {
    output
        .lines()
        .filter_map(|line| {
            let mut f = line.strip_prefix(ICOUNT)?.split_whitespace();
            let mut next = || f.next()?.parse::<u64>().ok();
            Some((next()? as usize, next()? as usize, next()?, next()?))
        })
        .collect()
}

/// What xtask adds to the `cost` line: each direction's instructions per message, the
/// sender's to send it and the receiver's to receive it (A runs on vCPU 0, B on vCPU 1).
fn cost_words(counted: &[Summary]) -> String {
    let get = |vcpu: usize, marker: usize| {
        counted
            .iter()
            .find(|c| c.0 == vcpu && c.1 == marker)
            .map(|c| (c.2, c.3))
    };
    let (Some(a_send), Some(b_receive), Some(b_send), Some(a_receive), Some(a_loop), Some(b_loop)) = (
        get(0, MARK_SENT),
        get(1, MARK_RECEIVED),
        get(1, MARK_SENT),
        get(0, MARK_RECEIVED),
        get(0, MARK_LOOP),
        get(1, MARK_LOOP),
    ) else {
        return "no instruction counts: the QEMU plugin recorded no message".into();
    };
    let n = [a_send.0, b_receive.0, b_send.0, a_receive.0];
    let how_many = if n.iter().all(|&x| x == n[0]) {
        format!("{} messages each way", n[0])
    } else {
        format!("unequal counts of messages: {n:?}")
    };
    format!(
        "{} instructions per message from A to B (A sends it in {}, B receives it in {}) and {} \
         from B to A ({} + {}); the loop adds {} (A) and {} (B) per round trip; medians of {how_many}",
        a_send.1 + b_receive.1,
        a_send.1,
        b_receive.1,
        b_send.1 + a_receive.1,
        b_send.1,
        a_receive.1,
        a_loop.1,
        b_loop.1
    )
}

/// What the terminal shows of the UART, line by line.
#[derive(Default)]
pub struct Story {
    /// The first `DEMO` line has been shown.
    started: bool,
    /// The hypervisor's first line has been shown (the RMM's boot banner is over).
    host_started: bool,
    /// Every line so far (the token is decoded from them).
    seen: String,
    /// The plugin's records, read when the `cost` line arrives.
    counts: Option<PathBuf>,
}

impl Story {
    /// A story whose `cost` line takes its numbers from the plugin's records at `counts`.
    pub fn with_counts(counts: PathBuf) -> Self {
        Self {
            counts: Some(counts),
            ..Self::default()
        }
    }

    /// The terminal lines for one UART line (usually none).
    pub fn show(&mut self, line: &str) -> Vec<String> {
        self.seen.push_str(line);
        self.seen.push('\n');
        let mut out = Vec::new();
        if let Some(rest) = line.strip_prefix("DEMO ") {
            if !self.started {
                self.started = true;
                out.push(String::new());
                out.push(
                    "Confidential Shared Memory: realm A shares memory with B (read-write) \
                     and C (read-only)."
                        .into(),
                );
            }
            let (step, text) = rest.split_once(' ').unwrap_or((rest, ""));
            let mut text = text.to_string();
            if step == "realm" {
                text.push_str(&attested(&self.seen, text.as_str()));
            }
            if step == "cost" {
                let counts = self
                    .counts
                    .as_ref()
                    .and_then(|path| std::fs::read_to_string(path).ok())
                    .unwrap_or_default();
                text.push(' ');
                text.push_str(&cost_words(&summarise(&counts)));
            }
            out.extend(wrap(&text));
        } else if line.starts_with("RMM[") {
            // The banner and the warm boots; otherwise only warnings and errors.
            if !self.host_started || !line.contains(" INFO ") || line.contains(" warm boot") {
                out.push(line.to_string());
            }
        } else if line.starts_with("NS test host") {
            self.host_started = true;
            out.push(line.to_string());
        } else if line.starts_with("TEST ") && line.contains(" FAIL ") {
            out.push(format!("xtask: {line}"));
        } else if line.starts_with(&format!("TOKEN {SHARED_TOKEN} end ")) {
            for text in token_lines(&self.seen) {
                out.extend(wrap(&text));
            }
        }
        out
    }
}

/// `- text`, wrapped at [`WIDTH`] with the continuation indented.
fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::from("-");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > WIDTH && line.len() > 2 {
            lines.push(std::mem::replace(&mut line, String::from(" ")));
        }
        line.push(' ');
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// A RIM as the story shortens it: its first and last four bytes.
fn short(rim: &[u8]) -> String {
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    match rim.len() {
        n if n >= 8 => format!("{}...{}", hex(&rim[..4]), hex(&rim[n - 4..])),
        _ => hex(rim),
    }
}

/// What xtask adds to the line of a realm attested when built (`Realm <name> ...`).
fn attested(output: &str, line: &str) -> String {
    let Some(name) = line
        .strip_prefix("Realm ")
        .and_then(|l| l.split(' ').next())
    else {
        return String::new();
    };
    let token = format!("demo.{name}");
    if !token_check::extract(output).contains_key(&token) {
        return String::new();
    }
    match token_problems(output, &token).as_slice() {
        [] => "; attested: xtask verified its token (signature, platform binding, this RIM)".into(),
        problems => format!("; its token FAILS verification: {}", problems.join("; ")),
    }
}

/// What xtask says about B's token: its CSM claims, decoded, and the verifier's verdict.
fn token_lines(output: &str) -> Vec<String> {
    let printed = token_check::extract(output);
    let Some(token) = printed.get(SHARED_TOKEN) else {
        return vec!["xtask: B's token is missing from the UART".into()];
    };
    let report = match token::verify(&token.bytes) {
        Ok(report) => report,
        Err(e) => return vec![format!("xtask: B's token does not decode: {e}")],
    };
    let mut lines = Vec::new();
    let rim_of_a = realm_rims(steps(output))
        .into_iter()
        .find(|(name, _)| name == "A");
    match &report.csm {
        None => lines.push("B's token, decoded by xtask: no CSM claims".into()),
        Some(claims) => {
            let shares: Vec<String> = claims
                .shares
                .iter()
                .map(|s| {
                    let rim = short(&s.peer_rim);
                    let whose = match &rim_of_a {
                        Some((_, a)) if *a == rim => " (A's, as measured at its build)",
                        _ => " (not A's)",
                    };
                    format!(
                        "{} of region {} (ShareId {}) with realm {}, {} bytes {}, {}, peer RIM \
                         {rim}{whose}",
                        match s.role {
                            token::csm::Role::Provider => "provider",
                            token::csm::Role::Consumer => "consumer",
                        },
                        s.region_id,
                        s.share_id,
                        s.peer_realm_id,
                        s.size,
                        if s.mode == 3 {
                            "read-write"
                        } else {
                            "read-only"
                        },
                        if s.attached { "attached" } else { "detached" },
                    )
                })
                .collect();
            lines.push(format!(
                "B's token ({} bytes), decoded by xtask: csm-realm-id (65001) {}; csm-shares \
                 (65002): {}",
                token.bytes.len(),
                claims.realm_id,
                shares.join("; ")
            ));
        }
    }
    let problems = token_problems(output, SHARED_TOKEN);
    lines.push(if problems.is_empty() {
        format!(
            "Independent verifier (ciborium, coset, p384): realm signature valid, platform token \
             bound to the realm key, RIM {} and CSM claims as the host expects: PASS",
            short(&report.rim)
        )
    } else {
        format!("Independent verifier: FAIL: {}", problems.join("; "))
    });
    lines
}

/// Every problem of the token `name`: the CCA checks and its CSM claims against the `CSM`
/// lines.
fn token_problems(output: &str, name: &str) -> Vec<String> {
    let printed = token_check::extract(output);
    let Some(token) = printed.get(name) else {
        return vec!["no token".into()];
    };
    match parse_csm_lines(output) {
        Ok(claims) => match claims.get(name) {
            Some(claims) => token_check::judge_csm(token, Some(claims)),
            None => vec!["the hypervisor printed no CSM claims for it".into()],
        },
        Err(e) => vec![format!("CSM claim lines: {e}")],
    }
}

/// The realms' names and shortened RIMs, from the story's `realm` steps.
fn realm_rims<'a>(told: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    told.filter(|(step, _)| *step == "realm")
        .filter_map(|(_, text)| {
            let name = text.strip_prefix("Realm ")?.split(' ').next()?;
            let rim = text.split(", RIM ").nth(1)?.split_whitespace().next()?;
            Some((name.to_string(), rim.trim_end_matches(';').to_string()))
        })
        .collect()
}

/// The `DEMO` lines as (step, text).
fn steps(output: &str) -> impl Iterator<Item = (&str, &str)> {
    output
        .lines()
        .filter_map(|line| line.trim_end().strip_prefix("DEMO ")?.split_once(' '))
}

/// The number right after `before` in `text` (decimal, or hex with `0x`).
fn number(text: &str, before: &str) -> Option<u64> {
    let rest = &text[text.find(before)? + before.len()..];
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    match word.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => word.parse().ok(),
    }
}

/// The story's steps as (step, text), xtask's numbers added to the `cost` line from the
/// plugin's `ICOUNT` records.
fn story_of(output: &str) -> Vec<(&str, String)> {
    let counts = icounts(output);
    steps(output)
        .map(|(step, text)| match step {
            "cost" => (step, format!("{text} {}", cost_words(&counts))),
            _ => (step, text.to_string()),
        })
        .collect()
}

/// Every way the demo's transcript falls short: a step missing or out of order, a number
/// that is not sane, B's token wrong.
pub fn problems(output: &str) -> Vec<String> {
    let mut problems = check_story(&story_of(output));
    for name in TOKENS {
        for p in token_problems(output, name) {
            problems.push(format!("token {name}: {p}"));
        }
    }
    problems
}

/// Every way the story's steps fall short: a step missing or out of order, a number that is
/// not sane. The UART log's steps ([`problems`]) and the README's transcript (its test) go
/// through this.
fn check_story(told: &[(&str, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let order: Vec<&str> = told.iter().map(|(step, _)| *step).collect();
    if order != STEPS {
        problems.push(format!(
            "the story's steps are {order:?}, expected {STEPS:?}"
        ));
    }
    let text = |step: &str| {
        told.iter()
            .find(|(s, _)| *s == step)
            .map_or("", |(_, text)| text.as_str())
    };
    let mut want = |step: &str, what: &str, ok: bool| {
        if !ok {
            problems.push(format!("step `{step}`: {what}: `{}`", text(step)));
        }
    };
    let n = |step: &str, before: &str| number(text(step), before);

    let rims = realm_rims(told.iter().map(|(step, text)| (*step, text.as_str())));
    let mut ids: Vec<u64> = told
        .iter()
        .filter(|(s, _)| *s == "realm")
        .filter_map(|(_, t)| number(t, "RealmId "))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    want(
        "realm",
        "four realms A..D with distinct non-zero RealmIds and 32-byte RIMs",
        rims.iter()
            .map(|(name, _)| name.as_str())
            .eq(["A", "B", "C", "D"])
            && ids.len() == 4
            && !ids.contains(&0)
            && rims.iter().all(|(_, rim)| rim.len() == 19),
    );
    want(
        "create",
        "a 4-page region with a RegionId, all 4 pages populated by the host",
        n("create", "region of ") == Some(4)
            && n("create", "pages (") == Some(16384)
            && n("create", "RegionId ").is_some_and(|id| id != 0)
            && n("create", "populate ") == Some(4),
    );
    let (rw, ro) = (
        n("share", "with B (ShareId "),
        n("share", "with C (ShareId "),
    );
    want(
        "share",
        "two distinct non-zero ShareIds",
        rw.is_some_and(|id| id != 0) && ro.is_some_and(|id| id != 0) && rw != ro,
    );
    want(
        "accept",
        "both consumers read the 16384 bytes",
        text("accept").contains("read A's 16384 bytes exactly"),
    );
    want(
        "messages",
        "1000 messages each way, none wrong, no exit to the hypervisor",
        n("messages", "exchange ") == Some(MESSAGES)
            && n("messages", "): ") == Some(0)
            && n("messages", "wrong, ") == Some(0),
    );
    let plausible = |x: Option<u64>| x.is_some_and(|x| (3..=500).contains(&x));
    let (a_send, b_receive, b_send, a_receive) = (
        n("cost", "sends it in "),
        n("cost", "receives it in "),
        n("cost", "from B to A ("),
        n("cost", " + "),
    );
    let sum = |x: Option<u64>, y: Option<u64>| x.zip(y).map(|(x, y)| x + y);
    want(
        "cost",
        "instructions per message counted in this run, each way: to send and to receive, 3 to \
         500 each, medians of 1000 messages",
        [a_send, b_receive, b_send, a_receive]
            .into_iter()
            .all(plausible)
            && n("cost", "left out: ") == sum(a_send, b_receive)
            && n("cost", ") and ") == sum(b_send, a_receive)
            && [n("cost", "the loop adds "), n("cost", "(A) and ")]
                .into_iter()
                .all(|l| l.is_some_and(|l| (1..=100).contains(&l)))
            && n("cost", "medians of ") == Some(MESSAGES)
            && text("cost").ends_with(" messages each way"),
    );
    want(
        "reader",
        "C reads sequence number 1000",
        n("reader", "sequence number ") == Some(MESSAGES),
    );
    let esr = n("readonly", "ESR_EL1 ").unwrap_or(0);
    want(
        "readonly",
        "a synchronous external abort (EC 0x25, DFSC 0x10), no exit to the hypervisor",
        (esr >> 26) & 0x3F == 0x25 && esr & 0x3F == 0x10 && n("readonly", "fault; ") == Some(0),
    );
    let esr = n("gpf", "ESR_EL2 ").unwrap_or(0);
    want(
        "gpf",
        "a Granule Protection Fault (EC 0x25, DFSC 0x28) at the page's address",
        (esr >> 26) & 0x3F == 0x25
            && esr & 0x3F == 0x28
            && n("gpf", "PA ").is_some()
            && n("gpf", "FAR_EL2 ") == n("gpf", "PA "),
    );
    want(
        "outsider",
        "RSI_ERROR_INPUT (1) for B's ShareId",
        n("outsider", "RSI_ERROR_INPUT (") == Some(1) && n("outsider", "(ShareId ") == rw,
    );
    want(
        "attest",
        "B asks for its token",
        text("attest").contains("attestation token"),
    );
    let esr = n("revoke", "ESR_EL1 ").unwrap_or(0);
    want(
        "revoke",
        "B's read of the revoked window aborts (EC 0x25, DFSC 0x10)",
        (esr >> 26) & 0x3F == 0x25 && esr & 0x3F == 0x10,
    );
    let held = n("teardown", "hold ");
    want(
        "teardown",
        "a count of granules held",
        held.is_some_and(|g| g > 0),
    );
    want(
        "returned",
        "the same count back, and all 65536 granules of the 256 MiB readable",
        held.is_some() && n("returned", "All ") == held && n("returned", "of the ") == Some(65536),
    );
    problems
}

#[cfg(test)]
mod tests;
