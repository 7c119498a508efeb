// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RmiFeatureRegister0` (the value `RMI_FEATURES` returns for index 0), RMM 1.0-rel0 layout,
//! with typed getters and masking `with_*` builders.
//!
//! | bits | field |
//! |---|---|
//! | `[7:0]` | S2SZ |
//! | `[8]` | LPA2 |
//! | `[9]` | SVE_EN |
//! | `[13:10]` | SVE_VL |
//! | `[19:14]` | NUM_BPS |
//! | `[25:20]` | NUM_WPS |
//! | `[26]` | PMU_EN |
//! | `[31:27]` | PMU_NUM_CTRS |
//! | `[32]` | HASH_SHA_256 |
//! | `[33]` | HASH_SHA_512 |
//! | `[37:34]` | GICV3_NUM_LRS |
//! | `[41:38]` | MAX_RECS_ORDER |
//! | `[63:42]` | reserved, zero |

/// `RMI_FEATURES` index of feature register 0.
pub const FEATURE_REGISTER_0_INDEX: u64 = 0;

/// Shift of S2SZ.
pub const S2SZ_SHIFT: u32 = 0;
/// Width of S2SZ.
pub const S2SZ_WIDTH: u32 = 8;
/// Shift of LPA2.
pub const LPA2_SHIFT: u32 = 8;
/// Width of LPA2.
pub const LPA2_WIDTH: u32 = 1;
/// Shift of SVE_EN.
pub const SVE_EN_SHIFT: u32 = 9;
/// Width of SVE_EN.
pub const SVE_EN_WIDTH: u32 = 1;
/// Shift of SVE_VL.
pub const SVE_VL_SHIFT: u32 = 10;
/// Width of SVE_VL.
pub const SVE_VL_WIDTH: u32 = 4;
/// Shift of NUM_BPS.
pub const NUM_BPS_SHIFT: u32 = 14;
/// Width of NUM_BPS.
pub const NUM_BPS_WIDTH: u32 = 6;
/// Shift of NUM_WPS.
pub const NUM_WPS_SHIFT: u32 = 20;
/// Width of NUM_WPS.
pub const NUM_WPS_WIDTH: u32 = 6;
/// Shift of PMU_EN.
pub const PMU_EN_SHIFT: u32 = 26;
/// Width of PMU_EN.
pub const PMU_EN_WIDTH: u32 = 1;
/// Shift of PMU_NUM_CTRS.
pub const PMU_NUM_CTRS_SHIFT: u32 = 27;
/// Width of PMU_NUM_CTRS.
pub const PMU_NUM_CTRS_WIDTH: u32 = 5;
/// Shift of HASH_SHA_256.
pub const HASH_SHA_256_SHIFT: u32 = 32;
/// Width of HASH_SHA_256.
pub const HASH_SHA_256_WIDTH: u32 = 1;
/// Shift of HASH_SHA_512.
pub const HASH_SHA_512_SHIFT: u32 = 33;
/// Width of HASH_SHA_512.
pub const HASH_SHA_512_WIDTH: u32 = 1;
/// Shift of GICV3_NUM_LRS.
pub const GICV3_NUM_LRS_SHIFT: u32 = 34;
/// Width of GICV3_NUM_LRS.
pub const GICV3_NUM_LRS_WIDTH: u32 = 4;
/// Shift of MAX_RECS_ORDER.
pub const MAX_RECS_ORDER_SHIFT: u32 = 38;
/// Width of MAX_RECS_ORDER.
pub const MAX_RECS_ORDER_WIDTH: u32 = 4;

/// Bits `[41:0]`: every defined field; bits `[63:42]` are reserved.
pub const FEATURE_REGISTER_0_DEFINED_MASK: u64 = (1 << 42) - 1;

/// Mask of a `width`-bit field at bit 0 (`width` ≤ 63).
const fn low_mask(width: u32) -> u64 {
    (1u64 << width) - 1
}

/// `RmiFeatureRegister0` as a raw 64-bit value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct FeatureRegister0(pub u64);

impl FeatureRegister0 {
    /// Reads the `width`-bit field at `shift`.
    pub const fn field(self, shift: u32, width: u32) -> u64 {
        (self.0 >> shift) & low_mask(width)
    }

    /// Replaces the `width`-bit field at `shift` with `value` masked to `width` bits; other bits
    /// are left unchanged.
    pub const fn with_field(self, shift: u32, width: u32, value: u64) -> Self {
        let mask = low_mask(width) << shift;
        Self((self.0 & !mask) | ((value << shift) & mask))
    }

    /// The raw value.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// S2SZ `[7:0]`: maximum IPA width supported for a realm.
    pub const fn s2sz(self) -> u8 {
        self.field(S2SZ_SHIFT, S2SZ_WIDTH) as u8
    }
    /// Sets S2SZ (masked to 8 bits).
    pub const fn with_s2sz(self, value: u64) -> Self {
        self.with_field(S2SZ_SHIFT, S2SZ_WIDTH, value)
    }

    /// LPA2 `[8]`: LPA2 stage-2 translation supported.
    pub const fn lpa2(self) -> bool {
        self.field(LPA2_SHIFT, LPA2_WIDTH) != 0
    }
    /// Sets LPA2.
    pub const fn with_lpa2(self, value: bool) -> Self {
        self.with_field(LPA2_SHIFT, LPA2_WIDTH, value as u64)
    }

    /// SVE_EN `[9]`: SVE supported.
    pub const fn sve_en(self) -> bool {
        self.field(SVE_EN_SHIFT, SVE_EN_WIDTH) != 0
    }
    /// Sets SVE_EN.
    pub const fn with_sve_en(self, value: bool) -> Self {
        self.with_field(SVE_EN_SHIFT, SVE_EN_WIDTH, value as u64)
    }

    /// SVE_VL `[13:10]`: maximum SVE vector length, encoded as VQ - 1.
    pub const fn sve_vl(self) -> u8 {
        self.field(SVE_VL_SHIFT, SVE_VL_WIDTH) as u8
    }
    /// Sets SVE_VL (masked to 4 bits).
    pub const fn with_sve_vl(self, value: u64) -> Self {
        self.with_field(SVE_VL_SHIFT, SVE_VL_WIDTH, value)
    }

    /// NUM_BPS `[19:14]`: number of breakpoints available.
    pub const fn num_bps(self) -> u8 {
        self.field(NUM_BPS_SHIFT, NUM_BPS_WIDTH) as u8
    }
    /// Sets NUM_BPS (masked to 6 bits).
    pub const fn with_num_bps(self, value: u64) -> Self {
        self.with_field(NUM_BPS_SHIFT, NUM_BPS_WIDTH, value)
    }

    /// NUM_WPS `[25:20]`: number of watchpoints available.
    pub const fn num_wps(self) -> u8 {
        self.field(NUM_WPS_SHIFT, NUM_WPS_WIDTH) as u8
    }
    /// Sets NUM_WPS (masked to 6 bits).
    pub const fn with_num_wps(self, value: u64) -> Self {
        self.with_field(NUM_WPS_SHIFT, NUM_WPS_WIDTH, value)
    }

    /// PMU_EN `[26]`: PMU supported.
    pub const fn pmu_en(self) -> bool {
        self.field(PMU_EN_SHIFT, PMU_EN_WIDTH) != 0
    }
    /// Sets PMU_EN.
    pub const fn with_pmu_en(self, value: bool) -> Self {
        self.with_field(PMU_EN_SHIFT, PMU_EN_WIDTH, value as u64)
    }

    /// PMU_NUM_CTRS `[31:27]`: number of PMU counters available.
    pub const fn pmu_num_ctrs(self) -> u8 {
        self.field(PMU_NUM_CTRS_SHIFT, PMU_NUM_CTRS_WIDTH) as u8
    }
    /// Sets PMU_NUM_CTRS (masked to 5 bits).
    pub const fn with_pmu_num_ctrs(self, value: u64) -> Self {
        self.with_field(PMU_NUM_CTRS_SHIFT, PMU_NUM_CTRS_WIDTH, value)
    }

    /// HASH_SHA_256 `[32]`: SHA-256 measurement supported.
    pub const fn hash_sha_256(self) -> bool {
        self.field(HASH_SHA_256_SHIFT, HASH_SHA_256_WIDTH) != 0
    }
    /// Sets HASH_SHA_256.
    pub const fn with_hash_sha_256(self, value: bool) -> Self {
        self.with_field(HASH_SHA_256_SHIFT, HASH_SHA_256_WIDTH, value as u64)
    }

    /// HASH_SHA_512 `[33]`: SHA-512 measurement supported.
    pub const fn hash_sha_512(self) -> bool {
        self.field(HASH_SHA_512_SHIFT, HASH_SHA_512_WIDTH) != 0
    }
    /// Sets HASH_SHA_512.
    pub const fn with_hash_sha_512(self, value: bool) -> Self {
        self.with_field(HASH_SHA_512_SHIFT, HASH_SHA_512_WIDTH, value as u64)
    }

    /// GICV3_NUM_LRS `[37:34]`: number of GICv3 list registers available, minus one.
    pub const fn gicv3_num_lrs(self) -> u8 {
        self.field(GICV3_NUM_LRS_SHIFT, GICV3_NUM_LRS_WIDTH) as u8
    }
    /// Sets GICV3_NUM_LRS (masked to 4 bits).
    pub const fn with_gicv3_num_lrs(self, value: u64) -> Self {
        self.with_field(GICV3_NUM_LRS_SHIFT, GICV3_NUM_LRS_WIDTH, value)
    }

    /// MAX_RECS_ORDER `[41:38]`: log2 of the maximum number of RECs per realm.
    pub const fn max_recs_order(self) -> u8 {
        self.field(MAX_RECS_ORDER_SHIFT, MAX_RECS_ORDER_WIDTH) as u8
    }
    /// Sets MAX_RECS_ORDER (masked to 4 bits).
    pub const fn with_max_recs_order(self, value: u64) -> Self {
        self.with_field(MAX_RECS_ORDER_SHIFT, MAX_RECS_ORDER_WIDTH, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_tiles_bits_0_to_41() {
        let fields = [
            (S2SZ_SHIFT, S2SZ_WIDTH),
            (LPA2_SHIFT, LPA2_WIDTH),
            (SVE_EN_SHIFT, SVE_EN_WIDTH),
            (SVE_VL_SHIFT, SVE_VL_WIDTH),
            (NUM_BPS_SHIFT, NUM_BPS_WIDTH),
            (NUM_WPS_SHIFT, NUM_WPS_WIDTH),
            (PMU_EN_SHIFT, PMU_EN_WIDTH),
            (PMU_NUM_CTRS_SHIFT, PMU_NUM_CTRS_WIDTH),
            (HASH_SHA_256_SHIFT, HASH_SHA_256_WIDTH),
            (HASH_SHA_512_SHIFT, HASH_SHA_512_WIDTH),
            (GICV3_NUM_LRS_SHIFT, GICV3_NUM_LRS_WIDTH),
            (MAX_RECS_ORDER_SHIFT, MAX_RECS_ORDER_WIDTH),
        ];
        let mut next = 0;
        for (shift, width) in fields {
            assert_eq!(shift, next);
            next = shift + width;
        }
        assert_eq!(next, 42);
    }

    #[test]
    fn field_placement() {
        let z = FeatureRegister0::default();
        assert_eq!(z.with_s2sz(48).0, 48);
        assert_eq!(z.with_lpa2(true).0, 1 << 8);
        assert_eq!(z.with_sve_en(true).0, 1 << 9);
        assert_eq!(z.with_sve_vl(0xF).0, 0xF << 10);
        assert_eq!(z.with_num_bps(0x3F).0, 0x3F << 14);
        assert_eq!(z.with_num_wps(0x3F).0, 0x3F << 20);
        assert_eq!(z.with_pmu_en(true).0, 1 << 26);
        assert_eq!(z.with_pmu_num_ctrs(0x1F).0, 0x1F << 27);
        assert_eq!(z.with_hash_sha_256(true).0, 1 << 32);
        assert_eq!(z.with_hash_sha_512(true).0, 1 << 33);
        assert_eq!(z.with_gicv3_num_lrs(0xF).0, 0xF << 34);
        assert_eq!(z.with_max_recs_order(0xF).0, 0xF << 38);

        // A TF-RMM-like value built by hand.
        let raw: u64 = 48
            | (1 << 9)
            | (3 << 10)
            | (5 << 14)
            | (3 << 20)
            | (1 << 26)
            | (6 << 27)
            | (1 << 32)
            | (1 << 33)
            | (15 << 34)
            | (10 << 38);
        let r = FeatureRegister0(raw);
        assert_eq!(r.s2sz(), 48);
        assert!(!r.lpa2());
        assert!(r.sve_en());
        assert_eq!(r.sve_vl(), 3);
        assert_eq!(r.num_bps(), 5);
        assert_eq!(r.num_wps(), 3);
        assert!(r.pmu_en());
        assert_eq!(r.pmu_num_ctrs(), 6);
        assert!(r.hash_sha_256());
        assert!(r.hash_sha_512());
        assert_eq!(r.gicv3_num_lrs(), 15);
        assert_eq!(r.max_recs_order(), 10);
        let built = FeatureRegister0::default()
            .with_s2sz(48)
            .with_sve_en(true)
            .with_sve_vl(3)
            .with_num_bps(5)
            .with_num_wps(3)
            .with_pmu_en(true)
            .with_pmu_num_ctrs(6)
            .with_hash_sha_256(true)
            .with_hash_sha_512(true)
            .with_gicv3_num_lrs(15)
            .with_max_recs_order(10);
        assert_eq!(built, r);
    }

    #[test]
    fn builders_mask_to_field_width() {
        let z = FeatureRegister0::default();
        assert_eq!(z.with_s2sz(u64::MAX).0, 0xFF);
        assert_eq!(z.with_sve_vl(u64::MAX).0, 0xF << 10);
        assert_eq!(z.with_sve_vl(0x10).0, 0, "bit 4 of value dropped");
        assert_eq!(z.with_num_bps(u64::MAX).0, 0x3F << 14);
        assert_eq!(z.with_num_wps(0x40).0, 0);
        assert_eq!(z.with_pmu_num_ctrs(0x20).0, 0);
        assert_eq!(z.with_pmu_num_ctrs(u64::MAX).0, 0x1F << 27);
        assert_eq!(z.with_gicv3_num_lrs(u64::MAX).0, 0xF << 34);
        assert_eq!(z.with_max_recs_order(u64::MAX).0, 0xF << 38);
        assert_eq!(
            z.with_max_recs_order(u64::MAX).0 & !FEATURE_REGISTER_0_DEFINED_MASK,
            0
        );

        // Setting one field to all ones/zeros never disturbs the neighbours.
        let ones = FeatureRegister0(u64::MAX);
        assert_eq!(ones.with_sve_vl(0).0, !(0xF << 10));
        assert_eq!(ones.with_lpa2(false).0, !(1 << 8));
        assert_eq!(ones.with_num_wps(0).0, !(0x3F << 20));
        assert_eq!(ones.with_sve_vl(u64::MAX), ones);
    }
}
