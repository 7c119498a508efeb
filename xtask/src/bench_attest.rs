// SPDX-License-Identifier: MIT OR Apache-2.0
//! The attestation rows of `cargo xtask bench`: one CCA token (SHA-256 realm, TF-A's sample
//! platform token, 2,124 bytes), against the reference RMM and our target
//! (the project's performance target, `docs/benchmarks.md`), from two runs the hypervisor makes
//! (`tests/payloads/host/src/scenarios/attestation.rs`):
//!
//! - no host interrupt: INIT and CONTINUE timed inside the realm around each RSI call
//!   (RMM-only work: the realm's SMC traps to R-EL2, never to EL3); the signing steps run
//!   back to back;
//! - the host's EL2 timer firing inside every REC_ENTER, so the RMM stops after every signing
//!   step: the hypervisor times each REC_ENTER, and the longest is the longest stretch the
//!   RMM keeps a pending host interrupt waiting.

use crate::bench::report;
use crate::cmd::Result;

/// The value of `key=` on the `BENCH <name>` line.
fn value(output: &str, name: &str, key: &str) -> Option<u64> {
    let prefix = format!("BENCH {name} ");
    let line = output.lines().find(|l| l.starts_with(&prefix))?;
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Prints the attestation table from the timed boot's transcript.
pub fn print(timed: &str) -> Result {
    let get = |name: &str, key: &str| {
        value(timed, name, key).ok_or_else(|| format!("no `BENCH {name} {key}=` line"))
    };
    let init = get("attest_init", "instructions")?;
    let all = get("attest_continue_all", "instructions")?;
    let token = get("attest_token", "instructions")?;
    let longest_call = get("attest_longest_call", "instructions")?;
    let bytes = get("attest_shape", "bytes")?;
    let calls = get("attest_shape", "continue_calls")?;
    let stretch = get("attest_longest_stretch", "instructions")?;
    let fire_after = get("attest_longest_stretch", "fire_after")?;
    let entries = get("attest_steps", "entries")?;
    let irq_exits = get("attest_steps", "irq_exits")?;
    let long_entries = get("attest_steps", "long_entries")?;
    let signer_steps = get("attest_steps", "signer_steps")?;
    report!(
        "\n## Attestation token ({} bytes, {calls} whole-page CONTINUE call(s); timed inside the \
         realm)\n",
        grouped(bytes)
    );
    report!("| measurement (instructions) | ours | TF-RMM | target |");
    report!("|---|---:|---:|---:|");
    report!(
        "| RSI_ATTEST_TOKEN_INIT | {} | ~14,400 | – |",
        grouped(init)
    );
    report!(
        "| all RSI_ATTEST_TOKEN_CONTINUE calls | {} | ~20,640,000 | – |",
        grouped(all)
    );
    report!(
        "| INIT + all CONTINUE calls | **{}** | ~20,650,000 | ≤ 10,000,000 |",
        grouped(token)
    );
    report!(
        "| longest CONTINUE, no interrupt pending ({signer_steps} signing steps back to back) | \
         {} | – | – |",
        grouped(longest_call)
    );
    report!(
        "| longest uninterruptible stretch (longest REC_ENTER, host timer firing {} \
         instructions into each) | **{}** | ~20,600,000 | ≤ 2,000,000 while a host IRQ is \
         pending: **{}** |",
        grouped(fire_after),
        grouped(stretch),
        if stretch <= 2_000_000 {
            "met"
        } else {
            "not met"
        }
    );
    report!(
        "\nSigning steps: {signer_steps} (the signer's schedule); with the timer, {entries} \
         REC_ENTERs, {irq_exits} IRQ exits, {long_entries} entries longer than {} (those that \
         held a signing step).",
        grouped(4 * fire_after)
    );
    let steps: Vec<String> = (1..=long_entries)
        .map_while(|k| value(timed, "attest_step_entries", &format!("step{k}")))
        .map(grouped)
        .collect();
    report!(
        "The REC_ENTERs that held a signing step, in order: {}.",
        steps.join(", ")
    );
    if long_entries != signer_steps {
        report!(
            "WARNING: {long_entries} long entries for {signer_steps} signing steps: an entry \
             held more than one step, or the timer missed one"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_values_and_groups() {
        let out = "BENCH attest_shape bytes=2124 continue_calls=1\n\
                   BENCH attest_steps entries=12 irq_exits=8 long_entries=6 signer_steps=6\n";
        assert_eq!(value(out, "attest_shape", "bytes"), Some(2124));
        assert_eq!(value(out, "attest_shape", "continue_calls"), Some(1));
        assert_eq!(value(out, "attest_init", "instructions"), None);
        assert_eq!(value(out, "attest_steps", "long_entries"), Some(6));
        assert_eq!(grouped(20_650_000), "20,650,000");
        assert_eq!(grouped(999), "999");
        assert!(print(out).is_err(), "missing lines fail");
    }
}
