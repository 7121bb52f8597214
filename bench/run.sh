#!/usr/bin/env bash
# `make bench`: nvpoll against the kernel's nvme driver, side by side.
#
# 1. On the host: instructions per I/O with the sim (bench/ipio.sh).
# 2. One QEMU guest boot (scripts/vm.sh) with one emulated NVMe controller
#    carrying two namespaces -- nsid 1 with 4 KiB blocks, nsid 2 with 512 B
#    blocks (an nvme-ns on the same controller: one controller, one boot) --
#    both backed by null-co (reads return zeros, writes are dropped: no host
#    I/O in the measurement). In it, bench/guest.sh runs nvpoll-perf on
#    vfio-pci, rebinds the controller to the kernel nvme driver and runs fio
#    (io_uring, io_uring --hipri, and psync at QD1) on the same namespaces
#    with the same I/O size and queue depth. Results: build/bench/guest/*.json.
# 3. On the host: one table (bench/report.py), PASS/MISS per target of
#    issue 5, summary in build/bench/results.json.
#
# Exit status 0 when everything ran, whatever the targets say; 1 when a run
# or the guest failed. NVP_BENCH_TIME / NVP_BENCH_WARMUP (seconds per run,
# default 5 and 1) pass through to the guest.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bench
gdir=$out/guest
rc=0

say() { printf 'bench: %s\n' "$*" >&2; }

# A fresh Debian 12 as root: what the build, the guest and the tables need.
scripts/install-deps.sh
if ! command -v python3 >/dev/null; then
	((EUID == 0)) || { say "python3 is missing: apt-get install python3"; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends python3 >&2
fi
# The Makefile does not read build/bench/perf.d, so a changed library header
# (include/nvpoll/qpair.h is inlined into nvpoll-perf) would not rebuild it:
# read the dependencies here. A stale nvpoll-perf reads the qpair at old offsets.
make -s all fio
if [[ -f build/bench/perf.d ]]; then
	make -s -f Makefile -f build/bench/perf.d build/nvpoll-perf
fi

mkdir -p "$out"
rm -rf "$gdir"
rm -f "$out/ipio.json" "$out/results.json"

say "instructions per I/O on the host (sim, callgrind)"
if ! bench/ipio.sh "$out"; then
	say "bench/ipio.sh failed"
	rc=1
fi

say "booting the guest: nvpoll-perf on vfio-pci, then fio on the kernel nvme driver (a few minutes under TCG)"
ns2="-drive if=none,id=nvm1,format=raw,file=null-co://,file.read-zeroes=on,file.size=1G"
ns2+=" -device nvme-ns,drive=nvm1,bus=nvme0,nsid=2,logical_block_size=512,physical_block_size=512"
vm_rc=0
scripts/vm.sh --driver vfio-pci --null-disk --disk-size 1G \
	--nvme-opts "logical_block_size=4096,physical_block_size=4096" \
	--qemu-args "$ns2" --timeout 1200 -- bench/guest.sh "$gdir" || vm_rc=$?
if ((vm_rc != 0)); then
	say "the guest run failed (exit $vm_rc)${gdir:+; see $gdir/*.err}"
	[[ -s $gdir/failed ]] && sed 's/^/  | /' "$gdir/failed" >&2
	rc=1
fi

python3 bench/report.py table "$gdir" "$out/ipio.json" || rc=1
exit "$rc"
