// SPDX-License-Identifier: MIT OR Apache-2.0
//! The seven CSM RSI calls (`docs/csm.md`, table "RSI"), typed: each returns the status in
//! x0 and the call's results. Function ids from `rmm_abi::csm`.

use crate::rsi;
use rmm_abi::csm::{
    RSI_CSM_ACCEPT, RSI_CSM_CREATE, RSI_CSM_DESTROY, RSI_CSM_DETACH, RSI_CSM_QUERY, RSI_CSM_REVOKE,
    RSI_CSM_SHARE,
};

/// `RSI_CSM_CREATE(base, size)` → (status, RegionId).
pub fn create(base: u64, size: u64) -> (u64, u64) {
    let r = rsi::call(RSI_CSM_CREATE, &[base, size]);
    (r[0], r[1])
}

/// `RSI_CSM_SHARE(region, consumer, mode)` → (status, ShareId).
pub fn share(region: u64, consumer: u64, mode: u64) -> (u64, u64) {
    let r = rsi::call(RSI_CSM_SHARE, &[region, consumer, mode]);
    (r[0], r[1])
}

/// `RSI_CSM_ACCEPT(share, provider, window, expected size)` → (status, size, mode).
pub fn accept(share: u64, provider: u64, window: u64, size: u64) -> (u64, u64, u64) {
    let r = rsi::call(RSI_CSM_ACCEPT, &[share, provider, window, size]);
    (r[0], r[1], r[2])
}

/// `RSI_CSM_DETACH(share)` → status.
pub fn detach(share: u64) -> u64 {
    rsi::call(RSI_CSM_DETACH, &[share])[0]
}

/// `RSI_CSM_REVOKE(share)` → status.
pub fn revoke(share: u64) -> u64 {
    rsi::call(RSI_CSM_REVOKE, &[share])[0]
}

/// `RSI_CSM_DESTROY(region)` → status.
pub fn destroy(region: u64) -> u64 {
    rsi::call(RSI_CSM_DESTROY, &[region])[0]
}

/// `RSI_CSM_QUERY(share or 0)` → (status, RealmId (caller's for 0, else the provider's),
/// consumer RealmId, size, mode | attached << 8).
pub fn query(share: u64) -> [u64; 5] {
    let r = rsi::call(RSI_CSM_QUERY, &[share]);
    [r[0], r[1], r[2], r[3], r[4]]
}
