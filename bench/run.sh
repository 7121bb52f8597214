#!/usr/bin/env bash
# `make bench`: nvpoll against the kernel's nvme driver, side by side.
#
# 1. On the host: instructions per I/O with the sim (bench/ipio.sh).
# 2. One QEMU guest boot (scripts/vm.sh) with one emulated NVMe controller
#    carrying two namespaces -- nsid 1 with 4 KiB blocks, nsid 2 with 512 B
#    blocks (an nvme-ns on the same controller: one controller, one boot) --
#    both backed by null-co (reads return zeros, writes are dropped: no host
#    I/O in the measurement), with ioeventfd=on: doorbell writes behind
#    shadow doorbells reach QEMU as eventfd signals (the kernel driver uses
#    shadow doorbells on this controller; nvpoll-perf does at QD1). In it,
#    bench/guest.sh runs nvpoll-perf on vfio-pci, rebinds the controller to
#    the kernel nvme driver and runs fio (io_uring, io_uring --hipri, and
#    psync at QD1) on the same namespaces with the same I/O size and queue
#    depth. Results: build/bench/guest/*.json.
# 3. On the host: one table (bench/report.py), PASS/MISS per target of
#    issue 5, summary in build/bench/results.json; and build/bench/latency.svg,
#    the latency CDF of every run in the guest (bench/plot.py).
#
# While the guest runs, bench/emucpu.py notes the CPU time of QEMU's main
# thread (where the NVMe controller is emulated) during each run: divided
# by the I/Os, the emulator's own cost per command, the floor under QD1.
#
# QEMU's threads are pinned as libvirt's vcpupin/emulatorpin would: the vCPU
# that every tool's I/O thread runs on gets the last host CPU to itself,
# QEMU's main loop (the emulated controller) and the other vCPUs share the
# rest. Unpinned, the host scheduler moves them around and the QD1 figures
# of one boot can differ from the next by half. NVP_BENCH_PIN=0: no pinning.
#
# NVP_BENCH_PMQOS=1 keeps the host's CPUs out of deep idle states for the
# guest's lifetime (PM QoS: /dev/cpu_dma_latency = 0, what tuned's
# latency-performance profile does). On a virtual machine an idle CPU's
# wake-up costs tens of microseconds, and every I/O here wakes QEMU's
# threads: it lowers every tool's latency, the kernel path's most. Off by
# default, as the targets of issue 5 were set without it.
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

# Held open for the guest's lifetime: the request lasts as long as the descriptor.
pmqos=false
if [[ ${NVP_BENCH_PMQOS:-0} == 1 ]]; then
	if { exec {qos_fd}>/dev/cpu_dma_latency; } 2>/dev/null && printf '\0\0\0\0' 1>&"$qos_fd"; then
		pmqos=true
	else
		say "cannot hold /dev/cpu_dma_latency (not root?): going on without PM QoS"
	fi
fi
printf '{"pm_qos_cpu_dma_latency_0":%s,"cpuidle":"%s"}\n' "$pmqos" \
	"$(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null || echo none)" >"$out/host.json"
rm -f "$out/qemu.pid" "$out/emucpu.json" "$out/vm.done" "$out/pinned"
python3 bench/emucpu.py "$out/qemu.pid" "$gdir/marks" "$out/emucpu.json" "$out/vm.done" &
emucpu_pid=$!

# Once QEMU runs and its vCPU threads exist ("CPU N/TCG", named by
# -name debug-threads=on), pin them; threads it starts later inherit the
# main thread's CPUs. Notes what it did in $out/pinned for the report.
pin_qemu() {
	local io_vcpu=${NVP_BENCH_CPU:-1} last rest pid t tid comm
	last=$(($(nproc) - 1))
	((last >= 1)) || { say "one host CPU: QEMU's threads are not pinned"; return 0; }
	rest=0
	((last == 1)) || rest=0-$((last - 1))
	for _ in $(seq 3000); do
		[[ -e $out/vm.done ]] && return 0
		if [[ -s $out/qemu.pid ]]; then
			pid=$(<"$out/qemu.pid")
			grep -qx "CPU $io_vcpu/TCG" /proc/"$pid"/task/*/comm 2>/dev/null && break
		fi
		sleep 0.1
	done
	[[ -n ${pid:-} ]] || return 0
	for t in /proc/"$pid"/task/*; do
		tid=${t##*/}
		comm=$(cat "$t/comm" 2>/dev/null) || continue
		if [[ $comm == "CPU $io_vcpu/TCG" ]]; then
			taskset -pc "$last" "$tid" >/dev/null
		else
			taskset -pc "$rest" "$tid" >/dev/null
		fi
	done
	printf 'vCPU %s alone on host CPU %s; the main loop and the other vCPUs on host CPU %s\n' \
		"$io_vcpu" "$last" "$rest" >"$out/pinned"
}
if [[ ${NVP_BENCH_PIN:-1} != 0 ]]; then
	pin_qemu &
fi

say "booting the guest: nvpoll-perf on vfio-pci, then fio on the kernel nvme driver (a few minutes under TCG)"
ns2="-drive if=none,id=nvm1,format=raw,file=null-co://,file.read-zeroes=on,file.size=1G"
ns2+=" -device nvme-ns,drive=nvm1,bus=nvme0,nsid=2,logical_block_size=512,physical_block_size=512"
vm_rc=0
scripts/vm.sh --driver vfio-pci --null-disk --disk-size 1G \
	--nvme-opts "logical_block_size=4096,physical_block_size=4096,ioeventfd=on" \
	--qemu-args "$ns2 -pidfile $PWD/$out/qemu.pid -name nvpoll-bench,debug-threads=on" --timeout 1200 -- bench/guest.sh "$gdir" || vm_rc=$?
if ((vm_rc != 0)); then
	say "the guest run failed (exit $vm_rc)${gdir:+; see $gdir/*.err}"
	[[ -s $gdir/failed ]] && sed 's/^/  | /' "$gdir/failed" >&2
	rc=1
fi

[[ $pmqos == true ]] && exec {qos_fd}>&-
# It ends with QEMU, or at once if QEMU never wrote its pid file; so does pin_qemu.
: >"$out/vm.done"
wait "$emucpu_pid" || say "bench/emucpu.py ended without figures: no emulator CPU per I/O"
wait
python3 bench/report.py table "$gdir" "$out/ipio.json" || rc=1
rm -f "$out/latency.svg"
shopt -s nullglob
runs=("$gdir"/*-*.json)
if ((${#runs[@]})) && python3 bench/plot.py "$out/latency.svg" "${runs[@]}" >&2; then
	say "latency CDFs of ${#runs[@]} runs: $out/latency.svg"
else
	say "no latency plot (bench/plot.py failed or no run produced JSON)"
	rc=1
fi
exit "$rc"
