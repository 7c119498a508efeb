// SPDX-License-Identifier: MIT OR Apache-2.0
//! Memory attributes of the RMM's stage-1 mappings and the register values that define them.
//!
//! Translation regime: EL2 with `HCR_EL2.E2H = 0` (one VA range, one privilege level),
//! 4 KiB granule, 48-bit VA (`T0SZ = 16`, walks start at level 0), output addresses up to
//! 48 bits. MAIR index 0 is Device-nGnRE, index 1 Normal write-back.

/// What kind of memory a range is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryKind {
    /// Device-nGnRE (the console).
    Device,
    /// Normal, inner and outer write-back, read/write-allocate, inner shareable.
    Normal,
}

/// What the RMM may do with a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Code: read and execute, never written.
    ReadExecute,
    /// Constants: read only, never executed.
    ReadOnly,
    /// Data: read and write, never executed.
    ReadWrite,
}

/// Which physical address space an access goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pas {
    /// Realm PAS (the RMM's own memory and delegated granules).
    Realm,
    /// Non-secure PAS (host memory: parameter pages).
    NonSecure,
}

/// The attributes of one mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributes {
    /// Memory type.
    pub kind: MemoryKind,
    /// Permissions.
    pub access: Access,
    /// Physical address space.
    pub pas: Pas,
}

impl Attributes {
    /// RMM code.
    pub const CODE: Self = Self::normal(Access::ReadExecute, Pas::Realm);
    /// RMM constants.
    pub const RODATA: Self = Self::normal(Access::ReadOnly, Pas::Realm);
    /// RMM data and Realm-PAS granules.
    pub const REALM_DATA: Self = Self::normal(Access::ReadWrite, Pas::Realm);
    /// Host memory.
    pub const NS_DATA: Self = Self::normal(Access::ReadWrite, Pas::NonSecure);
    /// A device the RMM drives (the console). Devices are reached in the Realm PAS: TF-A's
    /// GPT leaves MMIO as "any PAS" on QEMU and FVP.
    pub const DEVICE: Self = Self {
        kind: MemoryKind::Device,
        access: Access::ReadWrite,
        pas: Pas::Realm,
    };

    const fn normal(access: Access, pas: Pas) -> Self {
        Self {
            kind: MemoryKind::Normal,
            access,
            pas,
        }
    }

    /// The lower and upper attribute bits of a block or page descriptor.
    pub const fn descriptor_bits(self) -> u64 {
        let (index, share) = match self.kind {
            MemoryKind::Device => (MAIR_DEVICE_INDEX, 0),
            MemoryKind::Normal => (MAIR_NORMAL_INDEX, SH_INNER),
        };
        let ro = match self.access {
            Access::ReadWrite => 0,
            Access::ReadExecute | Access::ReadOnly => AP_READ_ONLY,
        };
        let xn = match self.access {
            Access::ReadExecute => 0,
            Access::ReadWrite | Access::ReadOnly => XN,
        };
        let ns = match self.pas {
            Pas::Realm => 0,
            Pas::NonSecure => NS,
        };
        (index << 2) | ns | AP_RES1 | ro | share | AF | xn
    }

    /// The attributes encoded in a block or page descriptor (inverse of
    /// [`descriptor_bits`](Self::descriptor_bits)).
    pub const fn from_descriptor(desc: u64) -> Self {
        let kind = if (desc >> 2) & 7 == MAIR_DEVICE_INDEX {
            MemoryKind::Device
        } else {
            MemoryKind::Normal
        };
        let access = match (desc & AP_READ_ONLY != 0, desc & XN != 0) {
            (false, _) => Access::ReadWrite,
            (true, false) => Access::ReadExecute,
            (true, true) => Access::ReadOnly,
        };
        let pas = if desc & NS != 0 {
            Pas::NonSecure
        } else {
            Pas::Realm
        };
        Self { kind, access, pas }
    }
}

const MAIR_DEVICE_INDEX: u64 = 0;
const MAIR_NORMAL_INDEX: u64 = 1;
const NS: u64 = 1 << 5;
/// AP[1] is RES1 in a one-VA-range regime.
const AP_RES1: u64 = 1 << 6;
const AP_READ_ONLY: u64 = 1 << 7;
const SH_INNER: u64 = 3 << 8;
const AF: u64 = 1 << 10;
const XN: u64 = 1 << 54;

/// `MAIR_EL2`: attr0 Device-nGnRE, attr1 Normal WB RA/WA inner and outer.
pub const MAIR_EL2: u64 = 0x04 | (0xFF << 8);

/// Bits of virtual address (`T0SZ = 64 - 48`).
pub const VA_BITS: u32 = 48;

/// `TCR_EL2` (E2H = 0 layout) for the given `ID_AA64MMFR0_EL1.PARange`; output addresses are
/// capped at 48 bits, as 52-bit output needs LPA2 descriptors, which the RMM does not use.
pub const fn tcr_el2(pa_range: u64) -> u64 {
    let ps = if pa_range > 5 { 5 } else { pa_range };
    let t0sz = 64 - VA_BITS as u64;
    let irgn0_wbwa = 1 << 8;
    let orgn0_wbwa = 1 << 10;
    let sh0_inner = 3 << 12;
    let tg0_4k = 0 << 14;
    let res1 = (1 << 31) | (1 << 23);
    t0sz | irgn0_wbwa | orgn0_wbwa | sh0_inner | tg0_4k | (ps << 16) | res1
}

/// The largest physical address + 1 that `tcr_el2(pa_range)` can reach.
pub const fn pa_limit(pa_range: u64) -> u64 {
    let bits = match pa_range {
        0 => 32,
        1 => 36,
        2 => 40,
        3 => 42,
        4 => 44,
        _ => 48,
    };
    1 << bits
}

/// `SCTLR_EL2` (E2H = 0) with the MMU, data and instruction caches, stack alignment checks and
/// write-implies-execute-never on.
pub const SCTLR_EL2_MMU_ON: u64 = {
    let res1 = (1 << 29)
        | (1 << 28)
        | (1 << 23)
        | (1 << 22)
        | (1 << 18)
        | (1 << 16)
        | (1 << 11)
        | (1 << 5)
        | (1 << 4);
    let m = 1 << 0;
    let c = 1 << 2;
    let sa = 1 << 3;
    let i = 1 << 12;
    let wxn = 1 << 19;
    res1 | m | c | sa | i | wxn
};

/// `HCR_EL2` while the RMM runs its own code: AArch64 lower ELs, no VHE (E2H = 0, TGE = 0).
pub const HCR_EL2_RMM: u64 = 1 << 31;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_round_trip_through_descriptors() {
        for attrs in [
            Attributes::CODE,
            Attributes::RODATA,
            Attributes::REALM_DATA,
            Attributes::NS_DATA,
            Attributes::DEVICE,
        ] {
            assert_eq!(Attributes::from_descriptor(attrs.descriptor_bits()), attrs);
        }
    }

    #[test]
    fn only_code_is_executable_and_code_is_not_writable() {
        assert_eq!(
            Attributes::CODE.descriptor_bits() & (XN | AP_READ_ONLY),
            AP_READ_ONLY
        );
        for data in [
            Attributes::RODATA,
            Attributes::REALM_DATA,
            Attributes::NS_DATA,
        ] {
            assert_ne!(data.descriptor_bits() & XN, 0);
        }
        assert_eq!(Attributes::NS_DATA.descriptor_bits() & NS, NS);
        assert_eq!(Attributes::REALM_DATA.descriptor_bits() & NS, 0);
    }

    #[test]
    fn tcr_caps_output_size_at_48_bits() {
        assert_eq!((tcr_el2(6) >> 16) & 7, 5);
        assert_eq!((tcr_el2(2) >> 16) & 7, 2);
        assert_eq!(tcr_el2(5) & 0x3F, 16);
        assert_eq!(pa_limit(6), 1 << 48);
        assert_eq!(pa_limit(1), 1 << 36);
    }
}
