// SPDX-License-Identifier: MIT OR Apache-2.0
//! A call made on another CPU (thread) while this one holds a lock: how the tests show that a
//! command does not wait for a lock it has no business taking.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Runs `call` on another thread while this one holds `held`, waits up to `limit` for it to
/// finish, then drops `held` (so that a call that did wait can finish) and returns the call's
/// result and whether it finished while `held` was still held.
pub fn call_while_held<G, T: Send>(
    held: G,
    limit: Duration,
    call: impl FnOnce() -> T + Send,
) -> (T, bool) {
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let caller = s.spawn(|| {
            let out = call();
            done.store(true, Ordering::Release);
            out
        });
        let deadline = Instant::now() + limit;
        while !done.load(Ordering::Acquire) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let finished = done.load(Ordering::Acquire);
        drop(held);
        (caller.join().expect("the call returned"), finished)
    })
}
