#!/usr/bin/env bash
# Instructions per I/O: what the driver costs the submitting thread, per
# command, for submission and completion (issue 5 asks for < 200 at QD32).
#
#   bench/ipio.sh [OUTDIR]        (default build/bench; needs no guest)
#
# Runs build/nvpoll-perf against the in-process sim under valgrind's
# callgrind for a fixed number of 4 KiB random reads, collecting only inside
# the I/O thread's worker_main (--toggle-collect): setup, teardown and the
# sim's own thread are left out. The I/O thread's instructions are then split
# by the source file they come from -- lib/ and include/nvpoll/ (the inline
# hot path) are the driver, the rest is the benchmark's own work (picking
# LBAs, time stamps, the histogram) -- and divided by the I/Os done.
# Valgrind runs one thread at a time. --yield hands the CPU over when a poll
# finds nothing; --fair-sched=yes (a FIFO lock) and the sim's yield=1 (its
# thread yields when idle, never sleeps) make sure the sim's thread is the
# one that gets it, so a QD32 batch costs one empty poll, every run (without
# them a run had 0.03 or ~0.6 empty polls per I/O: 185 or ~210). Empty polls
# are also counted apart: a calibration run without --yield (thousands of
# empty polls per I/O) gives what one empty poll costs, and the report
# subtracts the empty polls of each sim run ("busy" figure).
#
# Prints a breakdown per QD and writes OUTDIR/ipio.json; the callgrind data
# stays in OUTDIR/ipio-qdN.callgrind for `callgrind_annotate --auto=yes`.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/bench}
count=${NVP_IPIO_COUNT:-100000}
perf=build/nvpoll-perf
mkdir -p "$out"

die() { printf 'bench/ipio.sh: %s\n' "$*" >&2; exit 1; }
[[ -x $perf ]] || die "$perf is missing: run make first"
# Rebuild it if a source or a header it inlines changed (the Makefile reads its objects' .d files).
make -s "$perf" >&2 || die "cannot rebuild $perf"
if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
	die "valgrind is missing: run scripts/install-deps.sh (or apt-get install valgrind)"
fi
command -v python3 >/dev/null || die "python3 is missing: apt-get install python3"

# QD32 and QD1 on the sim (nvpoll's PCIe path), then QD32 on nil (the transport path, no device:
# the library's own cost per I/O there; nil zeroes each read's buffer, counted in).
specs=()
# The last, 32:spin, is the calibration: no --yield, so the I/O thread polls a
# whole valgrind time slice before the sim runs.
for run in 32:sim 1:sim 32:nil 32:spin; do
	qd=${run%%:*} config=${run#*:}
	n=$count yield=--yield
	((qd == 1)) && n=$((count / 5))
	name=ipio-qd$qd${config/sim/}
	dev=sim:lbads=4096,yield=1
	[[ $config == nil ]] && dev=nil
	[[ $config == spin ]] && n=$((count / 20)) yield=
	cg=$out/$name.callgrind
	rm -f "$cg"
	if ! valgrind -q --tool=callgrind --fair-sched=yes --toggle-collect=worker_main --callgrind-out-file="$cg" \
		"$perf" "$dev" -q "$qd" -o 4096 -w randread -n "$n" --seed 1 $yield --json \
		>"$out/$name.json" 2>"$out/$name.err"; then
		cat "$out/$name.err" >&2
		die "nvpoll-perf under callgrind failed (QD$qd, $config)"
	fi
	callgrind_annotate --inclusive=no --auto=no --threshold=100 "$cg" >"$out/$name.txt"
	specs+=("$qd@$config:$out/$name.txt:$out/$name.json")
done
echo "instructions per 4 KiB read, nvpoll-perf against sim and nil, callgrind (I/O thread only):"
python3 bench/report.py ipio "$out/ipio.json" "${specs[@]}"
