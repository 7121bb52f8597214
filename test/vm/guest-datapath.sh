#!/usr/bin/env bash
# Runs inside the QEMU guest (scripts/vm.sh), with the emulated controller
# bound to vfio-pci and its address in NVP_BDF; test/vm/run.sh gives it
# namespaces 2 (ms=8, separate metadata, PI type 1), 3 (ms=8, extended
# LBAs, PI type 2), 4 (zoned, 1 MiB zones), 5 (ms=16, extended, PI type 3
# in the first 8 bytes) and 6 (plain, an nvme-ns device: it states Copy
# limits, where QEMU 7.2's drive= namespace 1 reports MSRC/MSSRL/MCL 0 and
# fails a Copy with Internal Error). vm_datapath checks metadata and PI
# both ways, data changed behind its PI, zones filled by write and by
# append, reported, reset; Compare and Copy; Verify and Write
# Uncorrectable refused (QEMU 7.2's ONCS lacks both).
#
# usage: guest-datapath.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
bdf=${NVP_BDF:?not in a scripts/vm.sh guest (NVP_BDF unset)}
build/test-vm/vm_datapath "$bdf" 6 4 2 3 5
