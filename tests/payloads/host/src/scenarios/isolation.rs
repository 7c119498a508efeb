// SPDX-License-Identifier: MIT OR Apache-2.0
//! The NS world cannot touch the RMM or a realm: the RMM's carve-out and every granule it
//! has made part of a realm are Realm PAS, and QEMU enforces granule protection, so an NS
//! read takes a Granule Protection Fault.

use super::pool::{check, check_ok};
use super::realms::{Realm, VMID_ISOLATION, create_rec, expect_gpf, window};
use crate::exceptions::probe_read;
use crate::platform::RMM_IMAGE;
use crate::realm::{Shape, table_end};
use crate::rmi::{self, X4, status};
use crate::runner::{Outcome, Scenario};
use crate::{ensure_eq, fail};

/// The scenarios of this file.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "ns_read_of_rmm_image_takes_gpf",
        run: ns_read_of_rmm_image,
    },
    Scenario {
        name: "ns_read_of_realm_granules_takes_gpf",
        run: ns_read_of_realm_granules,
    },
];

/// Data abort taken without a change in exception level.
const EC_DATA_ABORT_SAME_EL: u64 = 0x25;
/// DFSC: Granule Protection Fault, not on a translation table walk.
const DFSC_GPF: u64 = 0x28;

fn ns_read_of_rmm_image() -> Outcome {
    match probe_read(RMM_IMAGE) {
        Ok(value) => fail!("read {value:#x} from the RMM image at {RMM_IMAGE:#x} without a fault"),
        Err(fault) => {
            ensure_eq!(fault.class(), EC_DATA_ABORT_SAME_EL, "ESR_EL2.EC");
            ensure_eq!(fault.status_code(), DFSC_GPF, "ESR_EL2.DFSC");
            ensure_eq!(fault.far, RMM_IMAGE, "FAR_EL2");
            Ok(())
        }
    }
}

/// A realm with one granule of every kind (RD, root and level-3 RTTs, DATA, REC and its
/// auxiliary granules): each one faults when the host reads it, and reads as zero once the
/// realm is gone and the granules are undelegated.
fn ns_read_of_realm_granules() -> Outcome {
    let mut pool = window(4);
    let shape = Shape {
        s2sz: 39,
        start_level: 1,
        num_roots: 1,
        hash: 0,
        vmid: VMID_ISOLATION,
    };
    let realm = Realm::create(&mut pool, shape)?;
    let rd = realm.rd;
    let tables = realm.new_tables_to(&mut pool, 0, 3)?;
    let data = pool.delegate()?;
    check_ok(
        rmi::data_create_unknown(rd, data, 0),
        format_args!("DATA_CREATE_UNKNOWN"),
    )?;
    let rec = pool.delegate()?;
    let aux = pool.delegate_run(16)?;
    create_rec(&mut pool, &realm, rec, 0, aux)?;
    let granules = [
        ("RD", rd),
        ("root RTT", realm.rtt_base),
        ("level-3 RTT", tables[3]),
        ("DATA", data),
        ("REC", rec),
        ("REC aux", aux + 15 * 4096),
    ];
    for (what, pa) in granules {
        expect_gpf(pa, what)?;
    }
    check_ok(rmi::rec_destroy(rec), format_args!("REC_DESTROY"))?;
    check(
        rmi::data_destroy(rd, 0),
        [status::SUCCESS, data, table_end(0, 3), 0, X4],
        format_args!("DATA_DESTROY"),
    )?;
    realm.destroy_tables(0, &tables)?;
    realm.destroy()?;
    pool.undelegate_all()?;
    for (what, pa) in granules {
        if let Err(fault) = probe_read(pa) {
            fail!(
                "the undelegated {what} granule {pa:#x} still faults: ESR_EL2={:#x}",
                fault.esr
            );
        }
    }
    Ok(())
}
