// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_REC_AUX_COUNT, RMI_REC_CREATE and RMI_REC_DESTROY.
//!
//! Check order is the reference RMM's (TF-RMM `runtime/rmi/rec.c`, rmm-spec-v1.0-rel0;
//! `docs/reference/tf-rmm-rel0-facts.md` §8–10), including its quirks: `num_aux > 16` is
//! refused before anything else, the auxiliary granules are claimed (DELEGATED → REC_AUX)
//! before the REC and RD are locked, and `num_aux` must equal the aux count only after the
//! realm-state and MPIDR checks.

use super::args::{RdArgs, RecArgs, RecCreateArgs};
use super::error::{Handled, RmiError};
use super::locks::{lock_one, lock_rd, lock_two};
use super::ns_page;
use crate::arch::Machine;
use crate::granule::{GranuleAddr, GranuleTable};
use crate::invariant;
use crate::locks;
use crate::monitor::Monitor;
use crate::realm::descriptor::Rd;
use crate::realm::rec::{Rec, RecInit};
use attest::measurement::extend_rec;
use core::mem::offset_of;
use rmm_abi::rmi::rec_params::{
    MAX_REC_AUX_GRANULES, REC_CREATE_NR_GPRS, RecFlags, RecMpidr, RecParams,
};
use rmm_abi::rmi::states::{GranuleState, RealmState};

/// Auxiliary granules every REC needs (TF-RMM's constant `MAX_REC_AUX_GRANULES`).
pub const REC_AUX_COUNT: u64 = MAX_REC_AUX_GRANULES as u64;

/// RD reference count at which no further REC may be created (the reference RMM's 10-bit
/// refcount limit; feature register 0 reports MAX_RECS_ORDER = 10).
pub const MAX_RECS: u16 = (1 << 10) - 1;

/// Handles RMI_REC_AUX_COUNT(x1 = rd).
#[inline(always)]
pub fn aux_count(monitor: &Monitor, machine: &impl Machine, args: RdArgs) -> Handled<1> {
    lock_rd(monitor, machine, args.rd)?;
    Ok([REC_AUX_COUNT])
}

/// Auxiliary granules claimed as REC_AUX; dropping it without [`ClaimedAux::keep`] returns
/// them to DELEGATED (they were zero and nothing wrote them).
struct ClaimedAux<'t> {
    granules: &'t GranuleTable,
    addrs: [GranuleAddr; MAX_REC_AUX_GRANULES],
    count: usize,
}

impl<'t> ClaimedAux<'t> {
    /// Claims the granules of `aux` (at most [`MAX_REC_AUX_GRANULES`]: `HostRecParams::aux`
    /// holds no more) in order; on an error the ones claimed so far go back to DELEGATED.
    fn claim(granules: &'t GranuleTable, aux: &[u64]) -> Result<Self, RmiError> {
        let mut claimed = Self {
            granules,
            addrs: [GranuleAddr::ZERO; MAX_REC_AUX_GRANULES],
            count: 0,
        };
        for (slot, &pa) in claimed.addrs.iter_mut().zip(aux) {
            let mut granule = lock_one(granules, pa, GranuleState::Delegated)?;
            granule.set_state(GranuleState::RecAux);
            *slot = granule.addr();
            claimed.count += 1;
        }
        Ok(claimed)
    }

    fn keep(mut self) -> ([GranuleAddr; MAX_REC_AUX_GRANULES], usize) {
        let count = core::mem::take(&mut self.count);
        (self.addrs, count)
    }
}

impl Drop for ClaimedAux<'_> {
    fn drop(&mut self) {
        for addr in self.addrs.iter().take(self.count) {
            // Claimed above and unlocked since, but no command moves a REC_AUX granule but
            // REC_DESTROY, which cannot reach these (no REC names them yet).
            let mut granule = locks::owned(self.granules, *addr, GranuleState::RecAux)
                .unwrap_or_else(|| {
                    invariant::broken_at("a claimed aux granule is not REC_AUX", addr.get())
                });
            granule.set_state(GranuleState::Delegated);
        }
    }
}

/// The fields of the host's `RmiRecParams` that REC_CREATE uses, as read (once, before any
/// is checked) from its page: five reads of 16 to 144 bytes instead of the 4 KiB structure.
/// Each read starts on a 16-byte boundary and is a whole number of 16-byte units, so `flags`,
/// `mpidr` and `pc` come with the reserved slot after them, which is ignored.
struct HostRecParams {
    flags: u64,
    mpidr: u64,
    pc: u64,
    gprs: [u64; REC_CREATE_NR_GPRS],
    /// `num_aux`, then `aux[0..16]`, then the reserved slot after them.
    aux: [u64; 1 + MAX_REC_AUX_GRANULES + 1],
}

const _: () = assert!(offset_of!(RecParams, flags).is_multiple_of(16));
const _: () = assert!(offset_of!(RecParams, mpidr).is_multiple_of(16));
const _: () = assert!(offset_of!(RecParams, pc).is_multiple_of(16));
const _: () = assert!(offset_of!(RecParams, gprs).is_multiple_of(16));
const _: () = assert!(offset_of!(RecParams, num_aux).is_multiple_of(16));
const _: () = assert!(offset_of!(RecParams, aux) == offset_of!(RecParams, num_aux) + 8);

impl HostRecParams {
    /// Reads the fields from the host page at `pa` (tracked and UNDELEGATED, else
    /// `RMI_ERROR_INPUT`; so is a fault while reading).
    fn read(granules: &GranuleTable, machine: &impl Machine, pa: u64) -> Result<Self, RmiError> {
        let page = ns_page::host_page(granules, pa)?;
        let mut flags = [0u64; 2];
        let mut mpidr = [0u64; 2];
        let mut pc = [0u64; 2];
        let mut gprs = [0u64; REC_CREATE_NR_GPRS];
        let mut aux = [0u64; 1 + MAX_REC_AUX_GRANULES + 1];
        ns_page::read(machine, page, offset_of!(RecParams, flags), &mut flags)?;
        ns_page::read(machine, page, offset_of!(RecParams, mpidr), &mut mpidr)?;
        ns_page::read(machine, page, offset_of!(RecParams, pc), &mut pc)?;
        ns_page::read(machine, page, offset_of!(RecParams, gprs), &mut gprs)?;
        ns_page::read(machine, page, offset_of!(RecParams, num_aux), &mut aux)?;
        Ok(Self {
            flags: flags[0],
            mpidr: mpidr[0],
            pc: pc[0],
            gprs,
            aux,
        })
    }

    /// `num_aux`.
    fn num_aux(&self) -> u64 {
        self.aux[0]
    }

    /// `aux[0..16]`.
    fn aux(&self) -> &[u64] {
        self.aux.get(1..=MAX_REC_AUX_GRANULES).unwrap_or(&[])
    }
}

/// Handles RMI_REC_CREATE(x1 = rd, x2 = rec, x3 = params PA).
#[inline(always)]
pub fn create(monitor: &Monitor, machine: &impl Machine, args: RecCreateArgs) -> Handled {
    let RecCreateArgs {
        rd: rd_pa,
        rec: rec_pa,
        params: params_pa,
    } = args;
    let params = HostRecParams::read(&monitor.granules, machine, params_pa)?;
    // `num_aux` above the aux count (16) is refused here, before any lock (TF-RMM's order).
    let num_aux = params.num_aux();
    let Some(aux) = usize::try_from(num_aux)
        .ok()
        .and_then(|n| params.aux().get(..n))
    else {
        return Err(RmiError::Input.into());
    };
    let aux = ClaimedAux::claim(&monitor.granules, aux)?;
    let (mut rec, mut rd) = lock_two(
        &monitor.granules,
        (rec_pa, GranuleState::Delegated),
        (rd_pa, GranuleState::Rd),
    )?;
    if rd.refcount() >= MAX_RECS {
        return Err(RmiError::Realm(0).into());
    }
    let realm = Rd::new(machine, rd.addr());
    if realm.state() != RealmState::New {
        return Err(RmiError::Realm(0).into());
    }
    let Some(mpidr) = RecMpidr::new(params.mpidr) else {
        return Err(RmiError::Input.into());
    };
    if mpidr.index() != realm.rec_count() {
        return Err(RmiError::Input.into());
    }
    if num_aux != REC_AUX_COUNT {
        return Err(RmiError::Input.into());
    }
    rd.get_ref().map_err(|_| RmiError::Realm(0))?;

    let runnable = params.flags & RecFlags::RUNNABLE.bits() != 0;
    let (aux, num_aux) = aux.keep();
    Rec::new(machine, rec.addr()).initialise(&RecInit {
        rd: rd.addr(),
        mpidr,
        runnable,
        pc: params.pc,
        gprs: params.gprs,
        aux,
        num_aux,
    });
    if runnable {
        let config = realm.config();
        let rim = extend_rec(
            machine.sha2_engine(),
            config.hash,
            &realm.rim(),
            params.flags,
            params.pc,
            &params.gprs,
        );
        realm.set_rim(&rim);
    }
    realm.set_rec_count(mpidr.index() + 1);
    rec.set_state(GranuleState::Rec);
    Ok([])
}

/// Handles RMI_REC_DESTROY(x1 = rec).
#[inline(always)]
pub fn destroy(monitor: &Monitor, machine: &impl Machine, args: RecArgs) -> Handled {
    let RecArgs { rec: rec_pa } = args;
    let granules = &monitor.granules;
    let mut rec = lock_one(granules, rec_pa, GranuleState::Rec)?;
    // A REC is referenced while it runs.
    if rec.refcount() != 0 {
        return Err(RmiError::Rec.into());
    }
    let view = Rec::new(machine, rec.addr());
    let rd_addr = view.rd();
    // REC_CREATE made them REC_AUX and only this command moves them back: one in another
    // state can only be an RMM bug, and stops the monitor (never returning) before that
    // granule is scrubbed.
    for aux in view.aux() {
        let mut granule = locks::owned(granules, aux, GranuleState::RecAux).unwrap_or_else(|| {
            invariant::broken_at("a REC's aux granule is not REC_AUX", aux.get())
        });
        machine.zero_granule(aux);
        granule.set_state(GranuleState::Delegated);
    }
    machine.zero_granule(rec.addr());
    rec.set_state(GranuleState::Delegated);
    drop(rec);
    // The RD cannot go away while this REC counted in it; the reference drops the reference
    // with a release store and no lock. Here the RD lock is taken briefly instead, after the
    // REC lock is released (RD before REC would be the external-granule order otherwise).
    let mut rd = locks::owned(granules, rd_addr, GranuleState::Rd)
        .unwrap_or_else(|| invariant::broken_at("a REC's RD stopped being an RD", rd_addr.get()));
    invariant::holds(rd.put_ref(), "RD reference count");
    Ok([])
}
