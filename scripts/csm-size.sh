#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# Code size of apt + csm as the firmware would carry them, without the invariant checker and
# the model checker: a throwaway no_std staticlib (generated under target/csm-size) instantiates
# the firmware state `FwCsm<64>` and exports one function per operation plus the APT codec; it
# is built for aarch64-unknown-none-softfloat with the workspace's release settings (opt-level 3,
# LTO, one codegen unit, panic=abort, debug assertions off, so `invariants` is compiled out). The
# size reported is the sum of the symbols that belong to it (the exported wrappers, into which
# LTO inlines the operations, and any outlined `csm::`/`apt::` function); core's memcpy/memset
# are not counted.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/target/csm-size"
mkdir -p "$dir/src"
# CSM_SIZE_OPT=s (or z) measures the same code optimised for size.
opt=${CSM_SIZE_OPT:-3}
case $opt in s | z) opt="\"$opt\"" ;; esac
cat > "$dir/Cargo.toml" <<TOML
[package]
name = "csm-size"
version = "0.0.0"
edition = "2024"
publish = false

[lib]
crate-type = ["staticlib"]
path = "src/lib.rs"

[dependencies]
csm = { path = "$root/csm" }
apt = { path = "$root/apt" }
rmm-abi = { path = "$root/rmm-abi" }

[profile.release]
opt-level = $opt
lto = true
codegen-units = 1
panic = "abort"
debug = false

[workspace]
TOML
cat > "$dir/src/lib.rs" <<'RS'
#![no_std]
use apt::{FwApt, IpaRange, Rd, GRANULE_SIZE};
use csm::{Call, FwCsm, HostError, Outcome, RealmError, Stage2View};
use rmm_abi::csm::CsmRsiCommand;
use rmm_abi::rmi::states::RealmState;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! { loop {} }

pub type State = FwCsm<64>;
pub struct View(pub extern "C" fn(u64, u64, u64, *mut csm::RangeSummary));
impl Stage2View for View {
    fn summarize(&self, rd: Rd, r: IpaRange) -> csm::RangeSummary {
        let mut s = csm::RangeSummary::default();
        (self.0)(rd.0, r.base(), r.size(), &mut s);
        s
    }
}
fn done<E>(r: Result<Outcome, E>, out: &mut Option<Outcome>) -> bool {
    match r { Ok(o) => { *out = Some(o); true } Err(_) => false }
}
#[unsafe(no_mangle)] pub extern "C" fn csm_probe_new(s: &mut State) { *s = State::new(); }
#[unsafe(no_mangle)] pub extern "C" fn csm_probe_rsi(s: &mut State, rd: u64, fid: u64, x: &[u64; 3], v: &View, out: &mut Option<Outcome>) -> u64 {
    let Some(cmd) = CsmRsiCommand::from_fid(fid) else { return 99 };
    match Call::decode(cmd, *x).and_then(|c| s.rsi(Rd(rd), c, v)) {
        Ok(o) => { *out = Some(o); 0 }
        Err(e) => e.status().as_u64(),
    }
}
#[unsafe(no_mangle)] pub extern "C" fn csm_probe_apt_create(s: &mut State, rd: u64, apt: u64, par: u64, out: &mut Option<Outcome>) -> bool { done(s.apt_create(Rd(rd), apt, RealmState::New, par), out) }
#[unsafe(no_mangle)] pub extern "C" fn csm_probe_apt_destroy(s: &mut State, rd: u64, apt: u64, out: &mut Option<Outcome>) -> bool { done(s.apt_destroy(Rd(rd), apt), out) }
#[unsafe(no_mangle)] pub extern "C" fn csm_probe_realm_destroy(s: &State, rd: u64) -> bool { s.realm_destroy(Rd(rd)).is_ok() }
#[unsafe(no_mangle)] pub extern "C" fn csm_probe_data_destroy(s: &mut State, rd: u64, ipa: u64, out: &mut Option<Outcome>) -> u64 {
    match s.data_destroy(Rd(rd), ipa) { Ok(o) => { *out = Some(o); 0 } Err(e) => HostError::status(e).as_u64() }
}
#[unsafe(no_mangle)] pub extern "C" fn csm_probe_data_create(s: &State, rd: u64, ipa: u64) -> bool { s.data_create(Rd(rd), ipa).is_ok() }
#[unsafe(no_mangle)] pub extern "C" fn csm_probe_rtt_fold(s: &State, rd: u64, b: u64, n: u64) -> bool { IpaRange::new(b, n).is_some_and(|r| s.rtt_fold(Rd(rd), r).is_ok()) }
#[unsafe(no_mangle)] pub extern "C" fn csm_probe_ipa_state_set(s: &State, rd: u64, b: u64, n: u64) -> u64 {
    match IpaRange::new(b, n).map(|r| s.ipa_state_set(Rd(rd), r)) { Some(Ok(_)) => 0, Some(Err(e)) => RealmError::status(e).as_u64(), None => 1 }
}
#[unsafe(no_mangle)] pub extern "C" fn csm_probe_encode(t: &FwApt, g: &mut [u8; GRANULE_SIZE]) { t.encode(g) }
#[unsafe(no_mangle)] pub extern "C" fn csm_probe_decode(g: &[u8; GRANULE_SIZE], t: &mut Option<FwApt>) { *t = FwApt::decode(g).ok() }
RS
cd "$dir"
cargo build --release --target aarch64-unknown-none-softfloat --quiet
lib="$dir/target/aarch64-unknown-none-softfloat/release/libcsm_size.a"
nm=$(command -v aarch64-linux-gnu-nm || command -v llvm-nm)
"$nm" --size-sort --radix=d -C "$lib" 2>/dev/null \
  | awk '$2 ~ /[tT]/ && ($3 ~ /csm_probe_|csm::|apt::|rmm_abi::/) { n += $1; print } END { printf "apt+csm text: %d bytes\n", n }'
