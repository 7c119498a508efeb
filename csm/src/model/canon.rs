// SPDX-License-Identifier: MIT OR Apache-2.0
//! Canonical form of a model state, so that states that differ only in names are explored
//! once: live ids are renamed 1, 2, … in order of creation (ids are only ever compared for
//! equality and freshness, so an order-preserving renaming with the counters reset just past
//! the largest live id behaves identically), table slots are sorted, and of the 3! ways to
//! assign the realms to RD slots the one with the smallest fingerprint is kept (realms are
//! symmetric). States are remembered by a 128-bit fingerprint.

extern crate std;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::vec::Vec;

use super::world::{Page, REALMS, World, apt_pa, rd, slot};

const PERMUTATIONS: [[usize; REALMS]; 6] = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
];

/// 128-bit fingerprint of a state.
pub fn fingerprint(w: &World) -> u128 {
    let half = |salt: u64| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        w.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0x5EED_0001)) << 64) | u128::from(half(0x5EED_0002))
}

/// The canonical representative of `w` and its fingerprint.
pub fn canonical(w: &World) -> (World, u128) {
    let mut named = w.clone();
    rename_ids(&mut named);
    let mut best: Option<(World, u128)> = None;
    for perm in PERMUTATIONS {
        let candidate = permute(&named, perm);
        let fp = fingerprint(&candidate);
        if best.as_ref().is_none_or(|(_, b)| fp < *b) {
            best = Some((candidate, fp));
        }
    }
    best.unwrap_or_else(|| (named.clone(), fingerprint(&named)))
}

fn rank(sorted: &[u64], v: u64) -> u64 {
    sorted.binary_search(&v).map_or(v, |i| i as u64 + 1)
}

fn rename_ids(w: &mut World) {
    let mut realms: Vec<u64> = w.csm.realms().map(|e| e.id.get()).collect();
    let mut regions: Vec<u64> = Vec::new();
    let mut shares: Vec<u64> = Vec::new();
    for t in w.csm.apts.all() {
        for r in t.regions() {
            regions.push(r.id.get());
            shares.extend(r.grants().map(|g| g.share.get()));
        }
    }
    for v in [&mut realms, &mut regions, &mut shares] {
        v.sort_unstable();
    }
    let realm = |id: apt::RealmId| apt::RealmId::new(rank(&realms, id.get())).unwrap_or(id);
    let region = |id: apt::RegionId| apt::RegionId::new(rank(&regions, id.get())).unwrap_or(id);
    let share = |id: apt::ShareId| apt::ShareId::new(rank(&shares, id.get())).unwrap_or(id);
    for e in w.csm.index.iter_mut().flatten() {
        e.id = realm(e.id);
    }
    for i in 0..REALMS {
        let Some(mut t) = w.csm.apts.get(i) else {
            continue;
        };
        t.owner = realm(t.owner);
        for r in t.regions.iter_mut().flatten() {
            r.id = region(r.id);
            for g in r.grants.iter_mut().flatten() {
                g.share = share(g.share);
                g.consumer = realm(g.consumer);
            }
            r.grants
                .sort_by_key(|g| g.map_or(u64::MAX, |g| g.share.get()));
        }
        t.regions
            .sort_by_key(|r| r.map_or(u64::MAX, |r| r.id.get()));
        for a in t.attachments.iter_mut().flatten() {
            a.share = share(a.share);
            a.provider = realm(a.provider);
            a.region = region(a.region);
        }
        t.attachments
            .sort_by_key(|a| a.map_or(u64::MAX, |a| a.share.get()));
        w.csm.apts.set(i, Some(&t));
    }
    w.csm.next_realm = realms.len() as u64 + 1;
    w.csm.next_region = regions.len() as u64 + 1;
    w.csm.next_share = shares.len() as u64 + 1;
}

/// Moves the realm in slot `i` to slot `perm[i]`; index entries are sorted by RD.
fn permute(w: &World, perm: [usize; REALMS]) -> World {
    let mut out = w.clone();
    for i in 0..REALMS {
        let mut r = w.realms[i];
        for p in r.pages.iter_mut() {
            if let Page::Alias { provider, .. } = p {
                *provider = perm[usize::from(*provider)] as u8;
            }
        }
        out.realms[perm[i]] = r;
    }
    out.csm.apts = w.csm.apts.permuted(perm);
    for e in out.csm.index.iter_mut().flatten() {
        if let Some(i) = slot(e.rd) {
            e.rd = rd(perm[i]);
            e.apt_pa = apt_pa(perm[i]);
        }
    }
    out.csm
        .index
        .sort_by_key(|e| e.map_or(u64::MAX, |e| e.rd.0));
    out
}
