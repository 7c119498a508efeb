// SPDX-License-Identifier: MIT OR Apache-2.0
//! Images that do not carry the building machine's paths.
//!
//! A panic location inside a dependency names its source file, and cargo compiles registry
//! crates with absolute paths (`$CARGO_HOME/registry/src/<index>-<hash>/crate-x.y.z/src/...`;
//! the workspace's own crates get relative ones). Left alone, an RMM image's bytes would depend
//! on the user's home directory and on which registry or mirror cargo fetched from, so two
//! people building the same commit could not compare hashes. Every firmware and realm build
//! therefore maps each registry source directory to `/cargo/registry`
//! ([`firmware_config_args`]), and `cargo xtask test` checks the images ([`check_image`]).
//!
//! Owns only the remapping flags and the check; which crates are built, and how, stays in
//! `images.rs`.

use std::path::{Path, PathBuf};

use crate::cmd::Result;
use crate::paths::{FIRMWARE_TARGET, MSG_REALM_TARGET};

/// What every registry source directory becomes in the images' panic locations.
const REMAPPED: &str = "/cargo/registry";

/// `$CARGO_HOME`, or `~/.cargo` where it is not set (cargo's own default).
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
}

/// The registry source directories (`$CARGO_HOME/registry/src/*`), sorted so that the flags,
/// and with them cargo's fingerprints, are the same on every call.
fn registry_sources() -> Vec<PathBuf> {
    let Some(home) = cargo_home() else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(home.join("registry").join("src"))
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `--config` arguments that add the remapping to both bare-metal targets' `rustflags`
/// (cargo joins them to `.cargo/config.toml`'s lists), for the registry directories `sources`.
fn config_args_for(sources: &[PathBuf]) -> Vec<String> {
    if sources.is_empty() {
        return Vec::new();
    }
    let flags: Vec<String> = sources
        .iter()
        .map(|dir| toml_string(&format!("--remap-path-prefix={}={REMAPPED}", dir.display())))
        .collect();
    let list = flags.join(", ");
    [FIRMWARE_TARGET, MSG_REALM_TARGET]
        .iter()
        .flat_map(|target| {
            [
                "--config".to_string(),
                format!("target.{target}.rustflags=[{list}]"),
            ]
        })
        .collect()
}

/// The `--config` arguments every firmware and realm `cargo build` passes (empty when there is
/// no registry directory, as before the first fetch).
pub fn firmware_config_args() -> Vec<String> {
    config_args_for(&registry_sources())
}

/// gdb's `-ex` option that maps [`REMAPPED`] back to this machine's registry sources, so that
/// stepping into a dependency of a `--gdb` build shows its source (gdb keeps one rule per
/// prefix: the first registry directory, which on most machines is the only one).
pub fn gdb_source_option() -> Option<String> {
    registry_sources()
        .first()
        .map(|dir| format!("-ex 'set substitute-path {REMAPPED} {}'", dir.display()))
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The first of `paths` that occurs in `bytes`, with its offset.
fn first_path_in<'a>(bytes: &[u8], paths: &'a [String]) -> Option<(&'a str, usize)> {
    paths
        .iter()
        .find_map(|path| find(bytes, path.as_bytes()).map(|at| (path.as_str(), at)))
}

/// Fails if the flat image `bin` contains the cargo home, a registry source directory or the
/// workspace's absolute path.
pub fn check_image(bin: &Path) -> Result {
    let bytes = std::fs::read(bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let mut paths: Vec<String> = registry_sources()
        .iter()
        .map(|dir| dir.display().to_string())
        .collect();
    paths.extend(cargo_home().map(|home| home.display().to_string()));
    paths.push(crate::paths::root().display().to_string());
    match first_path_in(&bytes, &paths) {
        Some((path, at)) => Err(format!(
            "{} carries this machine's path {path} at byte {at:#x}: its bytes would differ \
             between machines (xtask/src/path_remap.rs)",
            bin.display()
        )
        .into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::{config_args_for, first_path_in, toml_string};
    use std::path::PathBuf;

    #[test]
    fn toml_strings_escape_quotes_and_backslashes() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn every_registry_directory_is_remapped_for_both_targets() {
        let sources = [
            PathBuf::from("/h/.cargo/registry/src/a-1"),
            PathBuf::from("/h/b"),
        ];
        let args = config_args_for(&sources);
        assert_eq!(args.len(), 4);
        assert_eq!(args[0], "--config");
        assert_eq!(
            args[1],
            "target.aarch64-unknown-none-softfloat.rustflags=[\
             \"--remap-path-prefix=/h/.cargo/registry/src/a-1=/cargo/registry\", \
             \"--remap-path-prefix=/h/b=/cargo/registry\"]"
        );
        assert!(args[3].starts_with("target.aarch64-unknown-none.rustflags=["));
        assert!(config_args_for(&[]).is_empty());
    }

    #[test]
    fn a_machine_path_in_an_image_is_found() {
        let paths = ["/root/.cargo".to_string(), "/work/main".to_string()];
        let image = b"\0\0panicked at /work/main/x.rs\0";
        assert_eq!(first_path_in(image, &paths), Some(("/work/main", 14)));
        assert_eq!(first_path_in(b"rmm/src/lib.rs", &paths), None);
    }
}
