#!/usr/bin/env bash
# The guest half of `make bench` (bench/run.sh boots the guest with
# scripts/vm.sh and runs this in it): against one emulated NVMe controller,
# run nvpoll-perf through vfio-pci, then hand the controller to the kernel
# nvme driver and run fio with the same I/O size and queue depth; last,
# NVMe/TCP: the kernel's nvmet-tcp target over namespace 1 on loopback,
# nvpoll-perf tcp:// beside fio io_uring on the kernel's NVMe/TCP host.
#
#   bench/guest.sh OUTDIR
#
# Namespace 1 has 4 KiB blocks, namespace 2 has 512 B blocks (run.sh sets
# them up). Every run writes its JSON to OUTDIR/<tool>-<case>.json and its
# stderr to OUTDIR/<tool>-<case>.err; a failed run is noted in
# OUTDIR/failed and the rest still run. Exit status: 0 when every run
# produced its JSON, 1 otherwise.
set -uo pipefail

out=${1:?usage: bench/guest.sh OUTDIR}
bdf=${NVP_BDF:?not in a scripts/vm.sh guest (NVP_BDF unset)}
dur=${NVP_BENCH_TIME:-5}
warm=${NVP_BENCH_WARMUP:-1}
cpu=${NVP_BENCH_CPU:-1}	# the I/O thread's CPU, for nvpoll-perf and fio alike
dev=/sys/bus/pci/devices/$bdf
mkdir -p "$out/marks"
: >"$out/failed"

# name nsid bytes workload depth, then nvpoll-perf's own options for the case.
# Shadow doorbells at QD1: with QEMU's ioeventfd doorbells (run.sh) they cut
# the latency there, and the kernel driver uses them on this controller
# too; at QD32 they cost the emulator two DMA accesses per completion, so
# the registers do better (bench/README.md has the figures).
cases=(
	"rr4k_qd1   1 4096 randread  1  --shadow-doorbells"
	"rr4k_qd32  1 4096 randread  32"
	"rw4k_qd32  1 4096 randwrite 32"
	"rr512_qd32 2 512  randread  32"
)

note() { printf 'bench/guest.sh: %s\n' "$*" >&2; }
failed() { note "FAILED: $*"; printf '%s\n' "$*" >>"$out/failed"; }

# Runs "$@" with stdout to $1.json (kept only if it is JSON), stderr to $1.err.
# marks/$1.start and .end bracket it for bench/emucpu.py on the host, which
# notes how much CPU QEMU's main loop spent meanwhile.
run_json() {
	local base=$out/$1 name=$1
	shift
	local rc=0
	note "$*"
	: >"$out/marks/$name.start"
	"$@" >"$base.json.tmp" 2>"$base.err" || rc=$?
	: >"$out/marks/$name.end"
	if ((rc == 0)) && [[ -s $base.json.tmp ]]; then
		mv "$base.json.tmp" "$base.json"
	else
		failed "$(basename "$base") (exit $rc): $(tail -n 3 "$base.err" | tr '\n' ' ')"
		rm -f "$base.json.tmp"
	fi
}

{
	printf '{"kernel":"%s","bdf":"%s","cpus":%s,"time_s":%s,"warmup_s":%s,' \
		"$(uname -r)" "$bdf" "$(nproc)" "$dur" "$warm"
	printf '"clocksource":"%s","date":"%s"}\n' \
		"$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)" "$(date -u +%FT%TZ)"
} >"$out/env.json"

# ---- fio, on either driver
# --clocksource=cpu: the guest's clocksource is the emulated HPET, which makes
# every clock_gettime() a trapped MMIO read; fio's own time stamps would then
# cost the kernel path IOPS it does not owe. lat_percentiles: submission to
# completion, as nvpoll-perf measures.
fio_run() {
	local name=$1 file=$2 bs=$3 rw=$4 qd=$5 engine=$6
	shift 6
	run_json "$name" fio --name="$name" --filename="$file" --direct=1 --rw="$rw" --bs="$bs" \
		--ioengine="$engine" --iodepth="$qd" --time_based --runtime="$dur" --ramp_time="$warm" \
		--cpus_allowed="$cpu" --clocksource=cpu --norandommap --randrepeat=0 \
		--lat_percentiles=1 --percentile_list=50:90:99:99.9:99.99 --output-format=json "$@"
}
# ---- fio with nvpoll's ioengine on vfio-pci, then nvpoll-perf on the same binding
# fio treats ':' in --filename specially: the engine takes '.' in its place.
# iodepth_batch: post a batch, one doorbell, as nvpoll-perf does. The engine
# takes shadow doorbells where nvpoll-perf does (from the environment).
for c in "${cases[@]}"; do
	read -r name nsid bs rw qd nvopts <<<"$c"
	shadow=0
	[[ $nvopts == *--shadow-doorbells* ]] && shadow=1
	NVPOLL_FIO_SHADOW_DOORBELLS=$shadow fio_run "fionvp-$name" "${bdf//:/.}/ns=$nsid" "$bs" "$rw" "$qd" \
		"external:$PWD/build/nvpoll-fio.so" --thread=1 --iodepth_batch_submit="$qd" \
		--iodepth_batch_complete_max="$qd"
done
# QD1 last here and psync first after the rebind: the two runs that make the
# latency ratio run back to back, seconds apart, so a drift of the host's
# speed during the boot cannot land on one of them only.
for c in "${cases[@]:1}" "${cases[0]}"; do
	read -r name nsid bs rw qd nvopts <<<"$c"
	# shellcheck disable=SC2086 # nvopts: zero or more options
	run_json "nvpoll-$name" build/nvpoll-perf "$bdf" --nsid "$nsid" -o "$bs" -w "$rw" -q "$qd" \
		-t "$dur" --warmup "$warm" --cpus "$cpu" --json --hist $nvopts
done

# ---- hand the controller to the kernel nvme driver
# One poll queue, so fio's --hipri (polled io_uring) has one to use; it
# applies at the probe below. Interrupt-driven I/O keeps the default queues.
echo 1 >/sys/module/nvme/parameters/poll_queues 2>/dev/null || note "nvme has no poll_queues parameter: hipri falls back to interrupts"
echo nvme >"$dev/driver_override"
[[ -e $dev/driver ]] && echo "$bdf" >"$dev/driver/unbind"
echo "$bdf" >/sys/bus/pci/drivers_probe
declare -A blk=()
for _ in $(seq 300); do
	for b in "$dev"/nvme/nvme*/nvme*n*; do
		[[ -r $b/nsid && -b /dev/${b##*/} ]] && blk[$(cat "$b/nsid")]=/dev/${b##*/}
	done
	[[ -n ${blk[1]:-} && -n ${blk[2]:-} ]] && break
	sleep 0.2
done
if [[ -z ${blk[1]:-} || -z ${blk[2]:-} ]]; then
	failed "the kernel nvme driver did not bring up namespaces 1 and 2 of $bdf (driver: $(basename "$(readlink "$dev/driver" 2>/dev/null)" 2>/dev/null))"
	exit 1
fi
note "kernel driver: nsid 1 = ${blk[1]}, nsid 2 = ${blk[2]}"

# ---- fio on the kernel driver: psync at QD1 first (see above), then io_uring
for c in "${cases[@]}"; do
	read -r name nsid bs rw qd _ <<<"$c"
	if [[ $qd == 1 ]]; then
		fio_run "psync-$name" "${blk[$nsid]}" "$bs" "$rw" 1 psync
	fi
done
for c in "${cases[@]}"; do
	read -r name nsid bs rw qd _ <<<"$c"
	fio_run "uring-$name" "${blk[$nsid]}" "$bs" "$rw" "$qd" io_uring
	fio_run "uringpoll-$name" "${blk[$nsid]}" "$bs" "$rw" "$qd" io_uring --hipri
done

# ---- the kernel's paths through nvpoll's API, beside fio's engine on the same path (QD32 cases)
for c in "${cases[@]:1}"; do
	read -r name nsid bs rw qd _ <<<"$c"
	ng=/dev/${blk[$nsid]#/dev/}
	ng=/dev/ng${ng#/dev/nvme}
	run_json "nvkuring-$name" build/nvpoll-perf "${blk[$nsid]}" --be io_uring -o "$bs" -w "$rw" -q "$qd" \
		-t "$dur" --warmup "$warm" --cpus "$cpu" --json --hist
	run_json "nvkcmd-$name" build/nvpoll-perf "$ng" --be io_uring_cmd -o "$bs" -w "$rw" -q "$qd" \
		-t "$dur" --warmup "$warm" --cpus "$cpu" --json --hist
	# The generic char node has no O_DIRECT: passthrough bypasses the page cache anyway.
	fio_run "uringcmd-$name" "$ng" "$bs" "$rw" "$qd" io_uring_cmd --cmd_type=nvme --direct=0
done

# ---- NVMe/TCP (issue 14): nvpoll's tcp:// host beside the kernel's NVMe/TCP host, one nvmet-tcp target
# The target is the kernel's nvmet over loopback, its namespace the null-co namespace 1 (blk[1]: reads
# return zeroes, writes are dropped), so the network path dominates. Both hosts are measured against
# the same subsystem in the same boot, each case nvpoll-perf first, then fio io_uring on the kernel
# host's block device (nvme connect -t tcp), back to back. The target's work (nvmet-tcp's io_work,
# queued on the CPU the data came from: the host's) runs on the guest's CPUs too, beside either host;
# so nvpoll-perf yields after an empty poll (--yield): spinning, it kept the target waiting for the
# CPU it polls on (QD1 randread 1391 us mean spinning, 884 us yielding, A/B in one boot), where fio
# sleeps in io_uring_enter and leaves the CPU to the target.
tnqn=nqn.2026-12.io.nvpoll:bench
tcfg=/sys/kernel/config/nvmet
tcp_cases=(
	"tcp_rr4k_qd1  randread  1"
	"tcp_rw4k_qd1  randwrite 1"
	"tcp_rr4k_qd32 randread  32"
	"tcp_rw4k_qd32 randwrite 32"
)
tcp_target() {
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config || return 1
	[[ -d $tcfg ]] || { note "no $tcfg: nvmet is not loaded"; return 1; }
	ip link set lo up &&
		mkdir "$tcfg/subsystems/$tnqn" && echo 1 >"$tcfg/subsystems/$tnqn/attr_allow_any_host" &&
		mkdir "$tcfg/subsystems/$tnqn/namespaces/1" &&
		echo "${blk[1]}" >"$tcfg/subsystems/$tnqn/namespaces/1/device_path" &&
		echo 1 >"$tcfg/subsystems/$tnqn/namespaces/1/enable" &&
		mkdir "$tcfg/ports/1" && echo tcp >"$tcfg/ports/1/addr_trtype" &&
		echo ipv4 >"$tcfg/ports/1/addr_adrfam" && echo 127.0.0.1 >"$tcfg/ports/1/addr_traddr" &&
		echo 4420 >"$tcfg/ports/1/addr_trsvcid" &&
		ln -s "$tcfg/subsystems/$tnqn" "$tcfg/ports/1/subsystems/$tnqn"
}
# The kernel host's block device for $tnqn (with native multipath, the subsystem's head node).
tcp_kernel_host() {
	local b
	nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "$tnqn" >&2 || return 1
	for _ in $(seq 100); do
		for b in /sys/block/nvme*n1; do
			[[ ${b##*/} == *c* ]] && continue
			[[ $(cat "$b/device/subsysnqn" 2>/dev/null) == "$tnqn" ]] && { echo "/dev/${b##*/}"; return 0; }
		done
		sleep 0.1
	done
	return 1
}
if ! tcp_target; then
	failed "cannot set up the nvmet-tcp target $tnqn on 127.0.0.1:4420 over ${blk[1]}"
elif ! kblk=$(tcp_kernel_host) || [[ ! -b $kblk ]]; then
	failed "nvme connect -t tcp to $tnqn: no block device"
else
	note "NVMe/TCP: target $tnqn on 127.0.0.1:4420 over ${blk[1]}; kernel host $kblk"
	for c in "${tcp_cases[@]}"; do
		read -r name rw qd <<<"$c"
		run_json "nvtcp-$name" build/nvpoll-perf "tcp://127.0.0.1/$tnqn" --nsid 1 -o 4096 -w "$rw" -q "$qd" \
			-t "$dur" --warmup "$warm" --cpus "$cpu" --json --hist --yield
		fio_run "uringtcp-$name" "$kblk" 4096 "$rw" "$qd" io_uring
	done
	# System calls per I/O of nvpoll-perf on the QD1 and QD32 reads, outside the measured runs (strace -c
	# slows every call down): what the socket costs per command.
	if command -v strace >/dev/null; then
		for qd in 1 32; do
			strace -f -c -o "$out/nvtcp-syscalls-qd$qd.txt" build/nvpoll-perf "tcp://127.0.0.1/$tnqn" --nsid 1 \
				-o 4096 -w randread -q "$qd" -n 20000 --warmup 0 --cpus "$cpu" --json --yield \
				>"$out/nvtcp-syscalls-qd$qd.json" 2>/dev/null || note "strace of nvpoll-perf QD$qd failed"
		done
	else
		note "no strace in the guest: no system call counts"
	fi
	nvme disconnect -n "$tnqn" >/dev/null 2>&1
fi
rm -f "$tcfg/ports/1/subsystems/$tnqn" 2>/dev/null
rmdir "$tcfg/ports/1" 2>/dev/null
echo 0 >"$tcfg/subsystems/$tnqn/namespaces/1/enable" 2>/dev/null
rmdir "$tcfg/subsystems/$tnqn/namespaces/1" "$tcfg/subsystems/$tnqn" 2>/dev/null

[[ ! -s $out/failed ]]
