//! Test-only fault injection (cargo feature `fault-injection`; never in shipped images).
//!
//! [`FaultInjectingEl3`] wraps the real EL3 port. When the host sends `TEST_FAULT_INJECTION`
//! with an NS physical address in x1, the RMM loads from that address at R-EL2. With the MMU
//! off that is a Realm-PAS access to an NS granule, so the CPU takes a Granule Protection
//! Fault into the RMM's vectors, which must report it (ESR/ELR/FAR) and stop this CPU while
//! the others keep serving. The end-to-end suite checks exactly that.

use crate::arch::El3Port;
use crate::rmi::{RmiRequest, RmiResult};
use rmm_abi::rmi::fid::TEST_FAULT_INJECTION;

/// The real EL3 port plus the fault-injection id.
pub struct FaultInjectingEl3<E: El3Port>(pub E);

impl<E: El3Port> FaultInjectingEl3<E> {
    fn inspect(request: Option<RmiRequest>) -> Option<RmiRequest> {
        if let Some(req) = request.filter(|r| r.regs[0] == u64::from(TEST_FAULT_INJECTION)) {
            log::warn!(
                "fault injection: loading from NS PA {:#x} at R-EL2",
                req.arg(1)
            );
            // SAFETY: a one-word read changes no memory. For an NS address it takes the
            // expected Granule Protection Fault, which the vectors report before stopping
            // this CPU (so nothing after it runs); for any other address the value is
            // discarded. Only test builds contain this.
            let _ = unsafe { core::ptr::read_volatile(req.arg(1) as *const u64) };
        }
        request
    }
}

impl<E: El3Port> El3Port for FaultInjectingEl3<E> {
    fn boot_complete(&mut self, status: u64) -> Option<RmiRequest> {
        Self::inspect(self.0.boot_complete(status))
    }

    fn rmi_complete(&mut self, result: &RmiResult) -> Option<RmiRequest> {
        Self::inspect(self.0.rmi_complete(result))
    }
}
