// SPDX-License-Identifier: MIT OR Apache-2.0
//! ESR_EL2 and HPFAR_EL2 of a realm's trap, decoded once into types.
//!
//! Only the syndrome fields the RMM acts on are decoded; [`Esr::raw`] keeps the rest for
//! sanitising. Layouts are the Arm ARM's (ESR_EL2: EC [31:26], IL [25], ISS [24:0]).

/// Exception classes the RMM distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionClass {
    /// 0x01: WFI or WFE trapped (HCR_EL2.TWI/TWE).
    Wfx,
    /// 0x07: FP/SIMD access trapped (CPTR_EL2.TFP).
    FpAccess,
    /// 0x16: HVC (never reaches EL2 from a realm: HCR_EL2.HCD makes it UNDEFINED).
    Hvc64,
    /// 0x17: SMC trapped (HCR_EL2.TSC): RSI and realm PSCI.
    Smc64,
    /// 0x18: MSR/MRS/system instruction trapped.
    SysReg,
    /// 0x20: instruction abort from a lower EL.
    InstructionAbort,
    /// 0x24: data abort from a lower EL.
    DataAbort,
    /// Anything else.
    Other(u8),
}

impl ExceptionClass {
    fn from_ec(ec: u8) -> Self {
        match ec {
            0x01 => Self::Wfx,
            0x07 => Self::FpAccess,
            0x16 => Self::Hvc64,
            0x17 => Self::Smc64,
            0x18 => Self::SysReg,
            0x20 => Self::InstructionAbort,
            0x24 => Self::DataAbort,
            other => Self::Other(other),
        }
    }
}

/// ESR_EL2 of a synchronous trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Esr(u64);

/// `ESR_ELx.EC` mask.
pub const EC_MASK: u64 = 0x3F << 26;
/// The exception class of a trapped SMC (AArch64), in place.
pub const EC_SMC64: u64 = 0x17 << 26;
/// `ESR_ELx.IL` (32-bit instruction).
pub const IL: u64 = 1 << 25;
/// Data abort `ISV`: the syndrome describes the access.
pub const ISV: u64 = 1 << 24;
/// Data abort `SAS`: access size (log2 bytes).
pub const SAS_MASK: u64 = 0b11 << 22;
/// Data abort `SSE`: sign-extend the loaded value.
pub const SSE: u64 = 1 << 21;
/// Data abort `SRT`: the transfer register.
pub const SRT_MASK: u64 = 0x1F << 16;
/// Data abort `SF`: 64-bit register.
pub const SF: u64 = 1 << 15;
/// Data abort `FnV`: FAR not valid.
pub const FNV: u64 = 1 << 10;
/// Data abort `EA`: external abort.
pub const EA: u64 = 1 << 9;
/// Data abort `S1PTW`: fault on a stage-1 table walk.
pub const S1PTW: u64 = 1 << 7;
/// Data abort `WnR`: a write.
pub const WNR: u64 = 1 << 6;
/// Abort `DFSC`/`IFSC`: the fault status code.
pub const FSC_MASK: u64 = 0x3F;

/// A fault status code's kind, from `DFSC`/`IFSC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultStatus {
    /// Translation fault at some level: the stage-2 entry is not valid.
    Translation,
    /// Access flag fault.
    AccessFlag,
    /// Permission fault.
    Permission,
    /// Anything else (external aborts, alignment, TLB conflicts…).
    Other,
}

impl Esr {
    /// Wraps a raw ESR_EL2 value.
    pub const fn new(raw: u64) -> Self {
        Self(raw)
    }

    /// The raw value.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// The exception class.
    pub fn class(self) -> ExceptionClass {
        ExceptionClass::from_ec(((self.0 & EC_MASK) >> 26) as u8)
    }

    /// Whether a data abort's syndrome describes the access (ISV).
    pub const fn isv(self) -> bool {
        self.0 & ISV != 0
    }

    /// Whether a data abort was a write.
    pub const fn is_write(self) -> bool {
        self.0 & WNR != 0
    }

    /// The transfer register of a data abort with ISV (31 is XZR).
    pub const fn srt(self) -> usize {
        ((self.0 & SRT_MASK) >> 16) as usize
    }

    /// Access size in bytes of a data abort with ISV.
    pub const fn access_bytes(self) -> u32 {
        1 << ((self.0 & SAS_MASK) >> 22)
    }

    /// Whether a load sign-extends.
    pub const fn sign_extend(self) -> bool {
        self.0 & SSE != 0
    }

    /// Whether the transfer register is 64-bit.
    pub const fn sixty_four(self) -> bool {
        self.0 & SF != 0
    }

    /// What kind of fault an abort was.
    pub const fn fault_status(self) -> FaultStatus {
        match self.0 & FSC_MASK {
            0b00_0100..=0b00_0111 => FaultStatus::Translation,
            0b00_1001..=0b00_1011 => FaultStatus::AccessFlag,
            0b00_1101..=0b00_1111 => FaultStatus::Permission,
            _ => FaultStatus::Other,
        }
    }

    /// Whether the abort is an external abort.
    pub const fn external(self) -> bool {
        self.0 & EA != 0
    }
}

/// The faulting IPA's page from HPFAR_EL2 (FIPA, bits [47:4] hold IPA[51:12]).
pub const fn fault_ipa_page(hpfar: u64) -> u64 {
    ((hpfar >> 4) & 0xFF_FFFF_FFFF) << 12
}

/// What a data abort loaded into a register: `value` cut to the access size, sign-extended if
/// the syndrome asks, and cut to 32 bits for a W register.
pub fn load_value(esr: Esr, value: u64) -> u64 {
    let bits = esr.access_bytes() * 8;
    let mut v = if bits >= 64 {
        value
    } else {
        value & ((1 << bits) - 1)
    };
    if esr.sign_extend() && bits < 64 {
        let shift = 64 - bits;
        v = (((v << shift) as i64) >> shift) as u64;
    }
    if !esr.sixty_four() {
        v &= 0xFFFF_FFFF;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data abort from a lower EL: EC 0x24, IL, with `iss`.
    fn dabt(iss: u64) -> Esr {
        Esr::new(0x24 << 26 | IL | iss)
    }

    #[test]
    fn classes() {
        assert_eq!(Esr::new(0x17 << 26 | IL).class(), ExceptionClass::Smc64);
        assert_eq!(Esr::new(0x01 << 26 | IL).class(), ExceptionClass::Wfx);
        assert_eq!(Esr::new(0x24 << 26).class(), ExceptionClass::DataAbort);
        assert_eq!(
            Esr::new(0x20 << 26).class(),
            ExceptionClass::InstructionAbort
        );
        assert_eq!(Esr::new(0x3C << 26).class(), ExceptionClass::Other(0x3C));
    }

    #[test]
    fn data_abort_fields() {
        // ISV, 4-byte, SSE, x7, SF, write, translation fault level 3.
        let esr = dabt(ISV | 0b10 << 22 | SSE | 7 << 16 | SF | WNR | 0b00_0111);
        assert!(esr.isv() && esr.is_write() && esr.sign_extend() && esr.sixty_four());
        assert_eq!(esr.srt(), 7);
        assert_eq!(esr.access_bytes(), 4);
        assert_eq!(esr.fault_status(), FaultStatus::Translation);
        assert_eq!(dabt(0b00_1111).fault_status(), FaultStatus::Permission);
        assert_eq!(dabt(0b00_1011).fault_status(), FaultStatus::AccessFlag);
        assert_eq!(dabt(0b01_0000).fault_status(), FaultStatus::Other);
    }

    #[test]
    fn hpfar_to_ipa() {
        assert_eq!(fault_ipa_page(0x8000_0090_0000 >> 8), 0x8000_0090_0000);
        assert_eq!(fault_ipa_page(0x1234_5000 >> 8 | 0xF), 0x1234_5000);
    }

    #[test]
    fn loaded_values() {
        // 1-byte, sign-extended into an X register.
        let esr = dabt(ISV | SSE | SF);
        assert_eq!(load_value(esr, 0x1FF), u64::MAX);
        // 2-byte, sign-extended into a W register.
        let esr = dabt(ISV | 0b01 << 22 | SSE);
        assert_eq!(load_value(esr, 0x8000), 0xFFFF_8000);
        // 4-byte, zero-extended.
        let esr = dabt(ISV | 0b10 << 22 | SF);
        assert_eq!(load_value(esr, 0xDEAD_BEEF_1234_5678), 0x1234_5678);
        // Without SSE the top bit of the access stays a value bit.
        assert_eq!(load_value(esr, 0x8000_0000), 0x8000_0000);
        assert_eq!(load_value(dabt(ISV | SF), 0x1FF), 0xFF, "unsigned byte");
        // 8-byte.
        let esr = dabt(ISV | 0b11 << 22 | SF);
        assert_eq!(load_value(esr, u64::MAX - 1), u64::MAX - 1);
    }
}
