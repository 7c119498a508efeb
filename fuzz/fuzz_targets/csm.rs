// SPDX-License-Identifier: MIT OR Apache-2.0
//! libFuzzer driver of the `csm` target (see `rmm_fuzz::csm`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rmm_fuzz::run("csm", data);
});
