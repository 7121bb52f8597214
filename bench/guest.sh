#!/usr/bin/env bash
# The guest half of `make bench` (bench/run.sh boots the guest with
# scripts/vm.sh and runs this in it): against one emulated NVMe controller,
# run nvpoll-perf through vfio-pci, then hand the controller to the kernel
# nvme driver and run fio with the same I/O size and queue depth.
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

[[ ! -s $out/failed ]]
