// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Debian mirror this machine uses, read from its own apt sources, for the arm64 guest's
//! apt configuration under `target/linux/apt/` (`linux/fetch.rs`): any Debian release suite
//! will do, since the guest's sources name trixie and trixie-backports themselves. The
//! system-wide `/etc/apt/sources.list.d/rmm-project.sources` (from
//! `scripts/debian-extra.sources`) takes its mirror from `setup::debian_mirror` instead,
//! which asks for the entry of bookworm's `main` component, the supported host's own. Either
//! way no mirror host is written into the repository, and a machine behind a local mirror
//! keeps using it.

use std::path::PathBuf;

/// The Debian mirror URI of the machine's own apt sources: the first `deb` entry (one-line
/// or deb822) for a Debian release suite (not a security suite). `None` if there is none.
pub fn debian_mirror() -> Option<String> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    files
        .iter()
        // Not the file this project's set-up writes (it was made from this very answer).
        .filter(|f| f.file_name().is_none_or(|n| n != "rmm-project.sources"))
        .filter_map(|f| std::fs::read_to_string(f).ok().map(|t| (f.clone(), t)))
        .find_map(|(f, text)| {
            if f.extension().is_some_and(|e| e == "sources") {
                mirror_in_deb822(&text)
            } else {
                mirror_in_one_line(&text)
            }
        })
}

fn is_debian_suite(suite: &str) -> bool {
    const CODENAMES: &[&str] = &[
        "bullseye",
        "bookworm",
        "trixie",
        "forky",
        "duke",
        "sid",
        "stable",
        "testing",
        "unstable",
        "oldstable",
    ];
    let base = suite.split('-').next().unwrap_or("");
    CODENAMES.contains(&base) && !suite.contains("security")
}

fn mirror_in_one_line(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut words = line.split_whitespace();
        if words.next()? != "deb" {
            return None;
        }
        let mut uri = words.next()?;
        if uri.starts_with('[') {
            // Options: skip to the word after the one ending in `]`.
            let mut w = uri;
            while !w.ends_with(']') {
                w = words.next()?;
            }
            uri = words.next()?;
        }
        let suite = words.next()?;
        (is_debian_suite(suite) && !uri.contains("security")).then(|| uri.to_string())
    })
}

fn mirror_in_deb822(text: &str) -> Option<String> {
    text.split("\n\n").find_map(|para| {
        let field = |name: &str| {
            para.lines()
                .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
                .map(str::trim)
        };
        if field("Enabled") == Some("no") {
            return None;
        }
        let types = field("Types")?;
        if !types.split_whitespace().any(|t| t == "deb") {
            return None;
        }
        let uri = field("URIs")?.split_whitespace().next()?;
        let debian = field("Suites")?.split_whitespace().any(is_debian_suite);
        (debian && !uri.contains("security")).then(|| uri.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_mirror_from_either_format() {
        let one = "# c\ndeb http://mirror.invalid/debian-security bookworm-security main\n\
                   deb [signed-by=/k.gpg arch=amd64] http://mirror.invalid/debian bookworm main\n";
        assert_eq!(
            mirror_in_one_line(one).as_deref(),
            Some("http://mirror.invalid/debian")
        );
        let deb822 = "Types: deb\nURIs: https://other.invalid/apt\nSuites: nodistro\n\n\
                      Types: deb deb-src\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\n";
        assert_eq!(
            mirror_in_deb822(deb822).as_deref(),
            Some("http://mirror.invalid/debian")
        );
    }
}
