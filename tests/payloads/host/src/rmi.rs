//! Typed RMI calls, as a host hypervisor makes them: arguments in x1.., results in x0..x4.

use crate::smc::smc;
use rmm_abi::rmi::fid;

/// What the host sees after an RMI call: x0..x4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RmiRegs(pub [u64; 5]);

/// Calls `fid` with x1.. = `args` (at most 7).
pub fn call(fid: u64, args: &[u64]) -> RmiRegs {
    let mut regs = [0u64; 8];
    regs[0] = fid;
    for (slot, arg) in regs[1..].iter_mut().zip(args) {
        *slot = *arg;
    }
    let out = smc(regs);
    RmiRegs([out[0], out[1], out[2], out[3], out[4]])
}

/// RMI_VERSION(requested). x4 carries `x4` so callers can check it is preserved.
pub fn version(requested: u64, x4: u64) -> RmiRegs {
    call(u64::from(fid::VERSION), &[requested, 0, 0, x4])
}

/// RMI_FEATURES(index).
pub fn features(index: u64, x4: u64) -> RmiRegs {
    call(u64::from(fid::FEATURES), &[index, 0, 0, x4])
}

/// RMI_GRANULE_DELEGATE(pa).
pub fn granule_delegate(pa: u64, x4: u64) -> RmiRegs {
    call(u64::from(fid::GRANULE_DELEGATE), &[pa, 0, 0, x4])
}

/// RMI_GRANULE_UNDELEGATE(pa).
pub fn granule_undelegate(pa: u64, x4: u64) -> RmiRegs {
    call(u64::from(fid::GRANULE_UNDELEGATE), &[pa, 0, 0, x4])
}
