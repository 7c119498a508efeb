// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CSM benchmarks of `cargo xtask bench` (issue 17), on the CSM realm harness
//! ([`with_realms`], [`CsmRealm`]): one provider and three consumers.
//!
//! Every measured CSM RSI call is the one that succeeds: what it would have asked the host
//! for (exit 8 populating a region, exit 7 giving a window its level-3 tables) is done
//! beforehand, outside the measurement, and a call that still takes any exit is a
//! `BENCH error`. A measured RSI call is one REC_ENTER that completes the realm's `CsmNext`
//! host call with the command, the call, and the realm's next `CsmNext` exit; the same with
//! an empty command (`csm_round_trip`) is taken off: by the hypervisor from the timed total,
//! by xtask from the traced share. The RMI calls (`RMI_DATA_DESTROY`, `RMI_APT_DESTROY`) are
//! measured alone.
//!
//! In the timed boot each call is timed once (its cost depends only on the pages it walks);
//! in the traced boot each call is one segment between two `bench_marker` calls, and
//! everything between measured calls (building the realms, populating, sharing) is a
//! `csm_gap` segment nobody reads. The provider's RAM is made RIPAS RAM with
//! `RSI_IPA_STATE_SET` after activation rather than `RTT_INIT_RIPAS` before it (which hashes
//! a descriptor per page), to keep the traced boot's log small.
//!
//! Sizes: regions of 1 page (4 KiB), 512 pages (2 MiB) and 2,048 pages (8 MiB, the largest
//! allowed). Worst cases: the 8 MiB region attached in the three consumers (6,144 aliases)
//! for `RSI_CSM_DESTROY` and `RMI_APT_DESTROY`, the 2 MiB region attached in the three
//! (1,536 aliases) for the damaging `RMI_DATA_DESTROY`.

use super::csm_realm::{CsmRealm, CsmSpec, Exits, Host, Realms, expect, with_realms};
use super::csm_share::{Grant, MODE_RW, accept, create, share};
use crate::bench::bench_marker;
use crate::rmi::status;
use crate::runner::{self, Failure, Outcome};
use crate::{ensure, println, regs};
use realm_protocol::csm::{BLOB_IPA, BLOB_WINDOW_IPA, MAX_REGION_SIZE, Op, REGION_IPA, WINDOW_IPA};

const PAGE: u64 = crate::realm::PAGE;
/// The three region sizes, their provider ranges and the consumers' windows.
const SIZES: [(&str, u64); 3] = [("4k", PAGE), ("2m", 2 << 20), ("8m", MAX_REGION_SIZE)];
const BASES: [u64; 3] = [REGION_IPA, REGION_IPA + (2 << 20), BLOB_IPA];
const WINDOWS: [u64; 3] = [WINDOW_IPA, WINDOW_IPA + (2 << 20), BLOB_WINDOW_IPA];
/// Indices into [`SIZES`].
const MID: usize = 1;
const BIG: usize = 2;
/// Consumers of the worst cases.
const CONSUMERS: usize = 3;
/// Empty commands timed for the round trip (the median is taken off).
const ROUND_TRIPS: usize = 11;
/// Empty commands in the traced round-trip segment.
const TRACED_ROUND_TRIPS: u64 = 4;
/// RSI_IPA_STATE_SET's RIPAS RAM.
const RIPAS_RAM: u64 = 1;

const SPECS: &[CsmSpec] = &[
    CsmSpec::new("bench_provider", &[]),
    CsmSpec::new("bench_consumer1", &[]),
    CsmSpec::new("bench_consumer2", &[]),
    CsmSpec::new("bench_consumer3", &[]),
];

/// How calls are measured in this boot.
struct Meter {
    /// The traced boot (markers) or the timed one (counter).
    traced: bool,
    /// The cost of an empty pair of counter reads.
    empty: u64,
    /// The timed round trip of an empty command, taken off the RSI totals.
    round_trip: u64,
}

/// An empty command: the realm's `CsmNext` answered, nothing done, the next `CsmNext`.
fn empty_command(realm: &CsmRealm) -> Result<Exits, Failure> {
    Ok(realm
        .call_with(Op::Write, &[0, 0, 0, 8], &Host::default())?
        .1)
}

impl Meter {
    /// Runs `f` as segment `name` of `calls` calls (traced) or times it (timed: less the
    /// round trip of an empty command if `rsi`), printing its `BENCH` line.
    fn measure<T>(
        &self,
        name: &str,
        calls: u64,
        rsi: bool,
        f: impl FnOnce() -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        if self.traced {
            bench_marker(0);
            let out = f();
            bench_marker(1);
            println!("BENCH traced csm_gap calls=1");
            println!("BENCH traced {name} calls={calls}");
            return out;
        }
        let t0 = regs::counter();
        let out = f();
        let t = regs::counter() - t0;
        let less = self.empty + if rsi { self.round_trip } else { 0 };
        let n = t.saturating_sub(less);
        println!(
            "BENCH {name} instructions={n} min={n} max={n} iterations=1 empty_pair={}",
            self.empty
        );
        out
    }

    /// One CSM RSI call by `realm`, measured; it must succeed without any exit.
    fn rsi(&self, name: &str, realm: &CsmRealm, op: Op, args: &[u64]) -> Result<[u64; 8], Failure> {
        let (out, exits) = self.measure(name, 1, true, || {
            realm.call_with(op, args, &Host::default())
        })?;
        no_exits(name, &exits)?;
        expect(format_args!("{name} status"), out[0], status::SUCCESS)?;
        Ok(out)
    }

    /// The round trip of an empty command in `realm`: timed (median), or one traced segment.
    fn round_trip(&mut self, realm: &CsmRealm) -> Outcome {
        if self.traced {
            return self.measure("csm_round_trip", TRACED_ROUND_TRIPS, false, || {
                for _ in 0..TRACED_ROUND_TRIPS {
                    empty_command(realm)?;
                }
                Ok(())
            });
        }
        let mut samples = [0; ROUND_TRIPS];
        for s in samples.iter_mut() {
            let t0 = regs::counter();
            let exits = empty_command(realm)?;
            *s = regs::counter() - t0 - self.empty;
            no_exits("csm_round_trip", &exits)?;
        }
        samples.sort_unstable();
        self.round_trip = samples[ROUND_TRIPS / 2];
        println!(
            "BENCH csm_round_trip instructions={} min={} max={} iterations={ROUND_TRIPS} \
             empty_pair={}",
            self.round_trip,
            samples[0],
            samples[ROUND_TRIPS - 1],
            self.empty
        );
        Ok(())
    }
}

fn no_exits(name: &str, e: &Exits) -> Outcome {
    ensure!(
        e.prepare + e.populate + e.irq + e.faults + e.ripas == 0,
        "{name}: the measured call took exits ({e:?})"
    );
    Ok(())
}

/// The provider's RAM for region `k`: RIPAS RAM (RSI_IPA_STATE_SET, its RIPAS change exits
/// served), then every page given a DATA granule by the host.
fn provider_ram(p: &CsmRealm, k: usize) -> Outcome {
    let (base, top) = (BASES[k], BASES[k] + SIZES[k].1);
    let out = p.call(Op::IpaStateSet, &[base, top, RIPAS_RAM, 0])?;
    ensure!(
        out[0] == 0 && out[1] == top,
        "RSI_IPA_STATE_SET({base:#x}, {top:#x}) gave {:#x}, next {:#x}",
        out[0],
        out[1]
    );
    p.populate(base, top)
}

/// The level-3 tables of window `k` in consumer `c` (what exit 7 would ask for: the window
/// is fresh, so nothing is assigned there).
fn window_tables(c: &CsmRealm, k: usize) -> Outcome {
    let (mut at, top) = (WINDOWS[k], WINDOWS[k] + SIZES[k].1);
    while at < top {
        c.ensure_table(at)?;
        at = (at & !((2 << 20) - 1)) + (2 << 20);
    }
    Ok(())
}

/// SHARE of `region` (of size index `k`) to `c` and its ACCEPT, unmeasured.
fn attach(p: &CsmRealm, c: &CsmRealm, region: u64, k: usize) -> Result<Grant, Failure> {
    let g = Grant {
        region,
        share: share(p, region, c, MODE_RW)?,
        size: SIZES[k].1,
        mode: MODE_RW,
    };
    accept(c, p, &g, WINDOWS[k], &Host::default())?;
    Ok(g)
}

fn body(r: &Realms<'_>, meter: &mut Meter) -> Outcome {
    let p = r.get(0);
    let consumers: [&CsmRealm; CONSUMERS] = core::array::from_fn(|i| r.get(1 + i));
    let c1 = consumers[0];
    for k in 0..SIZES.len() {
        provider_ram(p, k)?;
        for c in consumers {
            window_tables(c, k)?;
        }
    }
    meter.round_trip(p)?;

    // CREATE: the 8 MiB region measured (its 2,048 pages summarised), the others not.
    let mut regions = [0u64; 3];
    for k in [0, MID] {
        regions[k] = create(p, BASES[k], SIZES[k].1)?;
    }
    let out = meter.rsi("csm_create_8m", p, Op::Create, &[BASES[BIG], SIZES[BIG].1])?;
    regions[BIG] = out[1];

    // ACCEPT and REVOKE of each size in the first consumer.
    let mut grants = [None; 3];
    for (k, (size_name, size)) in SIZES.iter().enumerate() {
        let share = share(p, regions[k], c1, MODE_RW)?;
        let mut name = crate::console::Line::new();
        let _ = core::fmt::Write::write_fmt(&mut name, format_args!("csm_accept_{size_name}"));
        let args = [share, p.id, WINDOWS[k], *size];
        let out = meter.rsi(name.as_str(), c1, Op::Accept, &args)?;
        ensure!(
            out[1..3] == [*size, MODE_RW],
            "ACCEPT of {size_name} gave size {:#x}, mode {}",
            out[1],
            out[2]
        );
        grants[k] = Some(share);
    }
    for (k, (size_name, _)) in SIZES.iter().enumerate() {
        let Some(share) = grants[k] else { continue };
        let mut name = crate::console::Line::new();
        let _ = core::fmt::Write::write_fmt(&mut name, format_args!("csm_revoke_{size_name}"));
        meter.rsi(name.as_str(), p, Op::Revoke, &[share])?;
    }

    // DESTROY of the 8 MiB region attached in every consumer.
    for c in consumers {
        attach(p, c, regions[BIG], BIG)?;
    }
    meter.rsi("csm_destroy_8m_x3", p, Op::Destroy, &[regions[BIG]])?;

    // The damaging DATA_DESTROY: the first page of the 2 MiB region, attached in every
    // consumer (the region becomes Damaged, its aliases go).
    regions[BIG] = create(p, BASES[BIG], SIZES[BIG].1)?;
    for c in consumers {
        attach(p, c, regions[MID], MID)?;
        attach(p, c, regions[BIG], BIG)?;
    }
    let out = meter.measure("csm_data_destroy_2m_x3", 1, false, || {
        Ok(p.data_destroy(BASES[MID]))
    })?;
    expect(
        format_args!("the damaging RMI_DATA_DESTROY"),
        out.0[0],
        status::SUCCESS,
    )?;

    // APT_DESTROY of the provider, its 8 MiB region attached in every consumer.
    let out = meter.measure("csm_apt_destroy_8m_x3", 1, false, || Ok(p.apt_destroy()))?;
    expect(
        format_args!("RMI_APT_DESTROY of the provider"),
        out.0[0],
        status::SUCCESS,
    )
}

/// Runs the CSM benchmarks in this boot: `traced` (segments between markers) or timed (with
/// `empty` the cost of an empty pair of counter reads). Any failure is a `BENCH error`.
pub fn bench(traced: bool, empty: u64) {
    super::realm_vm::set_host_rims(false);
    let meter = core::cell::RefCell::new(Meter {
        traced,
        empty,
        round_trip: 0,
    });
    let outcome = with_realms(SPECS, &|r: &Realms<'_>| body(r, &mut meter.borrow_mut()));
    super::realm_vm::set_host_rims(true);
    if outcome.is_err() {
        runner::report(regs::cpu_slot(), "csm_bench", &outcome);
        println!("BENCH error csm (see the FAIL line above)");
    }
}
