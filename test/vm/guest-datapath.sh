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
# Uncorrectable refused (QEMU 7.2's ONCS lacks both); vectored writes of
# odd segments (an SGL: QEMU's SGLS is 01b) and page-aligned ones (PRPs)
# on namespace 6, read back plainly and vectored. Then the kernel's nvme
# driver takes the controller and reads the SGL-written blocks with dd.
#
# usage: guest-datapath.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
bdf=${NVP_BDF:?not in a scripts/vm.sh guest (NVP_BDF unset)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
# shellcheck source=test/vm/lib.sh
. test/vm/lib.sh

check "vm_datapath: metadata, PI, zones, commands, vectored I/O" \
	env NVP_VEC_OUT="$tmp/vec.bin" build/test-vm/vm_datapath "$bdf" 6 4 2 3 5

# The block node of namespace 6 once the kernel has the controller (up to 10 s).
ns_node() {
	local f
	for _ in $(seq 100); do
		for f in /sys/bus/pci/devices/"$bdf"/nvme/nvme*/nvme*n*/nsid; do
			[ -e "$f" ] && [ "$(cat "$f")" = 6 ] && { echo "/dev/$(basename "$(dirname "$f")")"; return 0; }
		done
		sleep 0.1
	done
	echo "no block node for namespace 6 under $bdf" >&2
	return 1
}

kernel_reads_vec() {
	local node
	[ -s "$tmp/vec.bin" ] || { echo "vm_datapath left no $tmp/vec.bin"; return 1; }
	node=$(ns_node) || return 1
	# LBA 4096, 64 KiB, 512-byte blocks (VEC_SLBA and VEC_BYTES of vm_datapath.c).
	dd if="$node" of="$tmp/kernel.bin" bs=512 skip=4096 count=128 iflag=direct status=none || return 1
	cmp "$tmp/vec.bin" "$tmp/kernel.bin" && echo "$node: 65536 bytes at LBA 4096 as nvp_writev wrote them (SGL)"
}

check "rebind to the kernel nvme driver" rebind "$bdf" nvme
check "the kernel reads the SGL-written blocks (dd) as written" kernel_reads_vec
echo "guest-datapath: $fails failed"
[ "$fails" = 0 ]
