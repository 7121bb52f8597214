#!/usr/bin/env bash
# Do threads scale? Per-thread IOPS of nvpoll-perf -T 2 against -T 1, in
# alternating pairs on one machine (issue 17: within 10% when two CPUs are free).
#
#   bench/scale.sh [DEVICE] [PAIRS] [SECONDS]    (default: nil 3 3; no guest)
#
# DEVICE is nvpoll-perf's: nil (default: no device, the library's own path),
# or sim (its model thread needs a CPU of its own too: 3 free CPUs for -T 2).
# Each pair runs -T 1 pinned to the first CPU, then -T 2 pinned to the first
# two; the medians of per-thread IOPS are compared. A qpair's lines shared
# with another thread's (test/unit/test_qpair_layout.c checks there are none)
# would show here as -T 2 threads slower than -T 1.
#
# Exit status: 0 the ratio is >= 0.9, 1 below, 2 a run failed. The load
# average is printed: on a machine whose CPUs are busy with other work the
# ratio says little (the script says so, and still reports it).
set -euo pipefail
cd "$(dirname "$0")/.."
dev=${1:-nil} pairs=${2:-3} secs=${3:-3}
perf=build/nvpoll-perf
target=0.9

die() { printf 'bench/scale.sh: %s\n' "$*" >&2; exit 2; }
[[ -x $perf ]] || die "$perf is missing: run make first"
command -v python3 >/dev/null || die "python3 is missing: apt-get install python3"
cpus=$(nproc)
((cpus >= 2)) || die "needs 2 CPUs, this machine has $cpus"
[[ $pairs =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] || die "PAIRS and SECONDS are positive numbers"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { # run THREADS CPULIST OUT
	"$perf" "$dev" -T "$1" --cpus "$2" -t "$secs" -q 32 -o 4096 -w randread --json >"$3" 2>"$3.err" ||
		{ cat "$3.err" >&2; die "nvpoll-perf $dev -T $1 failed"; }
}
load0=$(cut -d' ' -f1 /proc/loadavg)
for ((i = 0; i < pairs; i++)); do
	run 1 0 "$tmp/t1-$i.json"
	run 2 0,1 "$tmp/t2-$i.json"
done
load1=$(cut -d' ' -f1 /proc/loadavg)

python3 - "$tmp" "$pairs" "$target" "$dev" "$cpus" "$load0" "$load1" <<'EOF'
import json, statistics, sys
tmp, pairs, target, dev, cpus, load0, load1 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
per = {1: [], 2: []}
for i in range(pairs):
    for t in (1, 2):
        doc = json.load(open(f"{tmp}/t{t}-{i}.json"))
        th = doc["threads"]
        assert len(th) == t, f"-T {t} reported {len(th)} threads"
        per[t] += [x["iops"] for x in th]
        print(f"pair {i + 1}: -T {t}: " + ", ".join(f"{x['iops']:.0f}" for x in th) + " IOPS per thread")
m1, m2 = statistics.median(per[1]), statistics.median(per[2])
ratio = m2 / m1 if m1 else 0.0
ok = ratio >= target
print(f"{dev}: per-thread IOPS, median: -T 1 {m1:.0f}, -T 2 {m2:.0f}: {ratio:.2f}x "
      f"({'PASS' if ok else 'MISS'}, target >= {target})")
busy = max(load0, load1)
if cpus - busy < 2:
    print(f"note: load average {busy:.1f} on {cpus} CPUs: fewer than 2 were free, so -T 2's threads "
          "shared CPUs with other work; the ratio says little about the driver")
sys.exit(0 if ok else 1)
EOF
