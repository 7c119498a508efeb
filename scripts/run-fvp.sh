#!/usr/bin/env bash
# Boots TF-A + our RMM + the NS test hypervisor on the Arm FVP (FVP_Base_RevC-2xAEMvA).
# Build the images first with `cargo xtask fvp`; the FVP itself is not installable here.
#
#   scripts/run-fvp.sh [path/to/FVP_Base_RevC-2xAEMvA]
#
# Consoles: terminal_0 = TF-A and the test hypervisor (UART0), terminal_3 = the RMM (UART3).
# Model flags follow TF-A 2.12's docs/components/realm-management-extension.rst.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
images="$here/target/images/fvp"
model=${1:-FVP_Base_RevC-2xAEMvA}
for f in bl1.bin fip.bin; do
  [ -f "$images/$f" ] || { echo "missing $images/$f: run 'cargo xtask fvp' first" >&2; exit 1; }
done
cluster_flags=()
for c in 0 1; do
  cluster_flags+=(
    -C cluster$c.NUM_CORES=4 -C cluster$c.PA_SIZE=48 -C cluster$c.ecv_support_level=2
    -C cluster$c.gicv3.cpuintf-mmap-access-level=2 -C cluster$c.gicv3.without-DS-support=1
    -C cluster$c.gicv4.mask-virtual-interrupt=1 -C cluster$c.has_arm_v8-6=1
    -C cluster$c.has_amu=1 -C cluster$c.has_branch_target_exception=1
    -C cluster$c.rme_support_level=2 -C cluster$c.has_rndr=1
    -C cluster$c.has_v8_7_pmu_extension=2 -C cluster$c.max_32bit_el=-1
    -C cluster$c.stage12_tlb_size=1024 -C cluster$c.check_memory_attributes=0
    -C cluster$c.ish_is_osh=1 -C cluster$c.restriction_on_speculative_execution=2
    -C cluster$c.restriction_on_speculative_execution_aarch32=2
  )
done
exec "$model" \
  -C bp.secureflashloader.fname="$images/bl1.bin" \
  -C bp.flashloader0.fname="$images/fip.bin" \
  -C bp.refcounter.non_arch_start_at_default=1 -C bp.refcounter.use_real_time=0 \
  -C bp.ve_sysregs.exit_on_shutdown=1 -C cache_state_modelled=0 \
  -C bp.dram_size=4 -C bp.secure_memory=0 \
  -C pci.pci_smmuv3.mmu.SMMU_ROOT_IDR0=3 -C pci.pci_smmuv3.mmu.SMMU_ROOT_IIDR=0x43B \
  -C pci.pci_smmuv3.mmu.root_register_page_offset=0x20000 \
  -C pctl.startup=0.0.0.0 \
  "${cluster_flags[@]}"
