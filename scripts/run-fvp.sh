#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Boots TF-A + our RMM + a BL33 on the Arm FVP (FVP_Base_RevC-2xAEMvA). The model flags are
# TF-A 2.12's (docs/components/realm-management-extension.rst), which documents FVP 11.26
# (docs/plat/arm/fvp/fvp-support.rst); a model without the `rme_support_level` parameter
# cannot run RME and refuses these flags.
#
#   scripts/run-fvp.sh [path/to/FVP_Base_RevC-2xAEMvA] [extra model arguments...]
#
# Build the images first with `cargo xtask fvp`. Environment overrides:
#   BL1=<bl1.bin> FIP=<fip.bin>   other images (e.g. a FIP with your own BL33, docs/own-host.md)
#   FVP_LOGS=<dir>                where the UART logs go (default target/fvp-logs/)
# Everything after the model path goes to the model unchanged, e.g.
#   scripts/run-fvp.sh FVP_Base_RevC-2xAEMvA -C bp.vis.disable_visualisation=1
#   scripts/run-fvp.sh FVP_Base_RevC-2xAEMvA --data cluster0.cpu0=Image@0x84000000
#
# Every UART is written to a file as well as to its terminal:
#   uart0.log (terminal_0): TF-A BL1/BL2 and the normal world (our test hypervisor, or Linux)
#   uart1.log (terminal_1): TF-A BL31's runtime console and its crash console
#   uart2.log (terminal_2): the Secure world (unused without an SPM)
#   uart3.log (terminal_3): the RMM
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
images="$here/target/images/fvp"
bl1=${BL1:-$images/bl1.bin}
fip=${FIP:-$images/fip.bin}
logs=${FVP_LOGS:-$here/target/fvp-logs}
model=FVP_Base_RevC-2xAEMvA
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  model=$1
  shift
fi
for f in "$bl1" "$fip"; do
  [ -f "$f" ] || { echo "missing $f: run 'cargo xtask fvp' first" >&2; exit 1; }
done
mkdir -p "$logs"
uart_flags=()
for n in 0 1 2 3; do
  uart_flags+=(-C "bp.pl011_uart$n.out_file=$logs/uart$n.log" -C "bp.pl011_uart$n.unbuffered_output=1")
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
echo "run-fvp: UART logs in $logs/uart{0,1,2,3}.log (3 = the RMM)" >&2
exec "$model" \
  -C bp.secureflashloader.fname="$bl1" \
  -C bp.flashloader0.fname="$fip" \
  -C bp.refcounter.non_arch_start_at_default=1 -C bp.refcounter.use_real_time=0 \
  -C bp.ve_sysregs.exit_on_shutdown=1 -C cache_state_modelled=0 \
  -C bp.dram_size=4 -C bp.secure_memory=0 \
  -C pci.pci_smmuv3.mmu.SMMU_ROOT_IDR0=3 -C pci.pci_smmuv3.mmu.SMMU_ROOT_IIDR=0x43B \
  -C pci.pci_smmuv3.mmu.root_register_page_offset=0x20000 \
  -C pctl.startup=0.0.0.0 \
  "${cluster_flags[@]}" \
  "${uart_flags[@]}" \
  "$@"
