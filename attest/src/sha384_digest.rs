// SPDX-License-Identifier: MIT OR Apache-2.0
//! SHA-384 as a RustCrypto `digest` type over the installed SHA-2 engine, for the code that
//! takes a hash *type* rather than an engine: RFC 6979's HMAC-DRBG in token signing
//! (`rfc6979::KGenerator<Sha384Digest, _>`, `token/es384.rs`).
//!
//! A `digest` type is built with `Default`, so it cannot be handed an engine: it uses the one
//! [`install`]ed, once, by the firmware at boot (the CPU's SHA-2 instructions, after their
//! self-test passed), and software until then (host tests, a CPU without them). The output is
//! the same either way; only the cost differs (a SHA-512 block in software is about 1,500
//! instructions, with the instructions about 100).

use crate::sha::{SOFT, Sha2Engine, Sha384};
use rfc6979::hmac::digest::consts::{U48, U128};
use rfc6979::hmac::digest::{
    FixedOutput, HashMarker, Output, OutputSizeUser, Update, block_api::BlockSizeUser,
};

/// The engine [`Sha384Digest`] uses.
static INSTALLED: spin::Once<&'static dyn Sha2Engine> = spin::Once::new();

/// Makes `engine` the one [`Sha384Digest`] uses from now on. The first call wins (the
/// firmware calls it once, at cold boot).
pub fn install(engine: &'static dyn Sha2Engine) {
    INSTALLED.call_once(|| engine);
}

/// The installed engine, or software.
fn installed() -> &'static dyn Sha2Engine {
    INSTALLED.get().copied().unwrap_or(&SOFT)
}

/// SHA-384 over the installed engine, as a `digest::Digest`.
pub struct Sha384Digest(Sha384<'static>);

impl Default for Sha384Digest {
    fn default() -> Self {
        Self(Sha384::new(installed()))
    }
}

impl HashMarker for Sha384Digest {}

impl BlockSizeUser for Sha384Digest {
    type BlockSize = U128;
}

impl OutputSizeUser for Sha384Digest {
    type OutputSize = U48;
}

impl Update for Sha384Digest {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

impl FixedOutput for Sha384Digest {
    fn finalize_into(self, out: &mut Output<Self>) {
        out.copy_from_slice(&self.0.finalize());
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use rfc6979::hmac::digest::Digest;

    /// FIPS 180-4 / NIST CSRC example: SHA-384("abc").
    #[test]
    fn it_is_sha384() {
        let digest = Sha384Digest::digest(b"abc");
        let want = "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
                    8086072ba1e7cc2358baeca134c825a7";
        let got: std::string::String = digest.iter().map(|b| std::format!("{b:02x}")).collect();
        assert_eq!(got, want);
        // Across block boundaries, as sha2's own SHA-384.
        let long: std::vec::Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        for len in [0, 1, 111, 112, 127, 128, 129, 255, 256, 1000] {
            let ours = Sha384Digest::digest(&long[..len]);
            let theirs = sha2::Sha384::digest(&long[..len]);
            assert_eq!(ours.as_slice(), theirs.as_slice(), "{len} bytes");
        }
    }
}
