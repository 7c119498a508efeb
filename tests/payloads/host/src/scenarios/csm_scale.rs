// SPDX-License-Identifier: MIT OR Apache-2.0
//! CSM with more than one peer and more than one region (`docs/csm.md`, "Capacities"):
//!
//! - one provider, two consumers (one read-write, one read-only) seeing each other's writes;
//!   a second grant of the region to the same consumer is refused;
//! - one consumer of two providers, in two windows; a window overlapping the first is
//!   refused;
//! - capacities: a region over 8 MiB is refused (`RSI_ERROR_INPUT`), the 9th region of a
//!   realm is `RSI_ERROR_STATE`, and a destroyed region's slot is free again;
//! - a 16 MiB blob shared as two 8 MiB regions (2,048 pages each), accepted while the host's
//!   own timer interrupt fires (IRQ exits during the calls), and read back in full.

use super::csm_realm::{CsmSpec, Host, Realms, expect, rsi_status, with_realms};
use super::csm_share::{
    Grant, MODE_RO, MODE_RW, PROVIDER_RAM, SEED, SMALL, accept, accept_refused, create, expect_sea,
    offer, share, verify,
};
use crate::realm::PAGE;
use crate::runner::{Outcome, Scenario};
use crate::timer_irq::HostTimerIrq;
use crate::{ensure, println, regs};
use realm_protocol::csm::{BLOB_IPA, BLOB_WINDOW_IPA, MAX_REGION_SIZE, Op, REGION_IPA, WINDOW_IPA};

/// Run by the primary, in order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "csm_one_provider_two_consumers",
        run: two_consumers,
    },
    Scenario {
        name: "csm_one_consumer_two_providers",
        run: two_providers,
    },
    Scenario {
        name: "csm_region_capacity_limits",
        run: capacity,
    },
    Scenario {
        name: "csm_16mib_blob_as_two_regions_under_host_timer",
        run: blob,
    },
];

/// Scenario 9a.
fn two_consumers() -> Outcome {
    const SPECS: &[CsmSpec] = &[
        CsmSpec::new("provider", PROVIDER_RAM),
        CsmSpec::new("consumer_rw", &[]),
        CsmSpec::new("consumer_ro", &[]),
    ];
    with_realms(SPECS, &|r: &Realms<'_>| {
        let (p, rw, ro) = (r.get(0), r.get(1), r.get(2));
        let g_rw = offer(p, rw, REGION_IPA, SMALL, SEED, 8, MODE_RW)?;
        let g_ro = Grant {
            share: share(p, g_rw.region, ro, MODE_RO)?,
            mode: MODE_RO,
            ..g_rw
        };
        ensure!(g_ro.share != g_rw.share, "two grants with one ShareId");
        accept(rw, p, &g_rw, WINDOW_IPA, &Host::default())?;
        accept(ro, p, &g_ro, WINDOW_IPA + 0x4_0000, &Host::default())?;
        verify(rw, WINDOW_IPA, SMALL, SEED, 8)?;
        verify(ro, WINDOW_IPA + 0x4_0000, SMALL, SEED, 8)?;
        rw.call(Op::Write, &[WINDOW_IPA, SMALL, SEED + 3, 8])?;
        verify(p, REGION_IPA, SMALL, SEED + 3, 8)?;
        verify(ro, WINDOW_IPA + 0x4_0000, SMALL, SEED + 3, 8)?;
        let w = ro.call(Op::ProbeWrite, &[WINDOW_IPA + 0x4_0000, 1])?;
        expect_sea(w[0], format_args!("read-only consumer's write"))?;
        let again = p.call(Op::Share, &[g_rw.region, ro.id, MODE_RW])?;
        expect(
            format_args!("a second SHARE of the region to the same consumer"),
            again[0],
            rsi_status::STATE,
        )?;
        verify(rw, WINDOW_IPA, SMALL, SEED + 3, 8)
    })
}

/// Scenario 9b.
fn two_providers() -> Outcome {
    const SPECS: &[CsmSpec] = &[
        CsmSpec::new("provider1", PROVIDER_RAM),
        CsmSpec::new("provider2", PROVIDER_RAM),
        CsmSpec::new("consumer", &[]),
    ];
    with_realms(SPECS, &|r: &Realms<'_>| {
        let (p1, p2, c) = (r.get(0), r.get(1), r.get(2));
        let g1 = offer(p1, c, REGION_IPA, SMALL, SEED + 1, 8, MODE_RO)?;
        let g2 = offer(p2, c, REGION_IPA + SMALL, 2 * SMALL, SEED + 2, 8, MODE_RO)?;
        let second = WINDOW_IPA + 0x10_0000;
        accept(c, p1, &g1, WINDOW_IPA, &Host::default())?;
        let overlapping = [g2.share, p2.id, WINDOW_IPA + PAGE, g2.size];
        accept_refused(
            c,
            overlapping,
            rsi_status::INPUT,
            "overlapping the first window",
        )?;
        let swapped = [g2.share, p1.id, second, g2.size];
        accept_refused(c, swapped, rsi_status::INPUT, "naming the other provider")?;
        accept(c, p2, &g2, second, &Host::default())?;
        verify(c, WINDOW_IPA, SMALL, SEED + 1, 8)?;
        verify(c, second, 2 * SMALL, SEED + 2, 8)?;
        // Detach from one provider; the other window stays.
        let out = c.call(Op::Detach, &[g1.share])?;
        expect(format_args!("consumer's RSI_CSM_DETACH"), out[0], 0)?;
        verify(c, second, 2 * SMALL, SEED + 2, 8)
    })
}

/// Scenario 9c.
fn capacity() -> Outcome {
    const SPECS: &[CsmSpec] = &[CsmSpec::new("provider", PROVIDER_RAM)];
    with_realms(SPECS, &|r: &Realms<'_>| {
        let p = r.get(0);
        let big = p.call(Op::Create, &[REGION_IPA, MAX_REGION_SIZE + PAGE])?;
        expect(
            format_args!("RSI_CSM_CREATE of 8 MiB + 4 KiB"),
            big[0],
            rsi_status::INPUT,
        )?;
        let mut regions = [0u64; 8];
        for (k, region) in regions.iter_mut().enumerate() {
            *region = create(p, REGION_IPA + k as u64 * PAGE, PAGE)?;
        }
        let ninth = REGION_IPA + 8 * PAGE;
        let (out, _) = p.call_with(Op::Create, &[ninth, PAGE], &Host::default())?;
        expect(
            format_args!("the 9th RSI_CSM_CREATE"),
            out[0],
            rsi_status::STATE,
        )?;
        let out = p.call(Op::Destroy, &[regions[3]])?;
        expect(format_args!("RSI_CSM_DESTROY of region 4"), out[0], 0)?;
        let again = create(p, ninth, PAGE)?;
        ensure!(
            !regions.contains(&again),
            "a new region reused RegionId {again}"
        );
        Ok(())
    })
}

/// Scenario 9d: two regions of 8 MiB.
const BLOB_REGIONS: u64 = 2;
/// One word checked every this many bytes of the blob.
const BLOB_STRIDE: u64 = 1024;

fn blob() -> Outcome {
    const SPECS: &[CsmSpec] = &[
        CsmSpec::new(
            "provider",
            &[(BLOB_IPA, BLOB_IPA + BLOB_REGIONS * MAX_REGION_SIZE)],
        ),
        CsmSpec::new("consumer", &[]),
    ];
    let Some(timer) = HostTimerIrq::enable() else {
        crate::fail!("the host timer interrupt could not be set up");
    };
    // 50 µs after each entry, a few times per call.
    let ticks = regs::cntfrq_el0() / 20_000;
    with_realms(SPECS, &|r: &Realms<'_>| {
        let (p, c) = (r.get(0), r.get(1));
        let mut irqs = 0;
        for k in 0..BLOB_REGIONS {
            let (base, window) = (
                BLOB_IPA + k * MAX_REGION_SIZE,
                BLOB_WINDOW_IPA + k * MAX_REGION_SIZE,
            );
            let g = offer(
                p,
                c,
                base,
                MAX_REGION_SIZE,
                SEED + 10 + k,
                BLOB_STRIDE,
                MODE_RO,
            )?;
            let host = Host {
                timer: Some((&timer, ticks)),
                ..Host::default()
            };
            let e = accept(c, p, &g, window, &host)?;
            ensure!(
                e.prepare >= 1,
                "ACCEPT of an 8 MiB window without tables never asked to prepare it"
            );
            irqs += e.irq;
        }
        for k in 0..BLOB_REGIONS {
            let window = BLOB_WINDOW_IPA + k * MAX_REGION_SIZE;
            verify(c, window, MAX_REGION_SIZE, SEED + 10 + k, BLOB_STRIDE)?;
        }
        println!("csm: the blob's ACCEPTs took {irqs} IRQ exit(s) from the host timer");
        Ok(())
    })
}
