#!/usr/bin/env bash
# The host half of `make bench` without a guest: bench/emucpu.py against a
# stand-in "QEMU" whose CPU time is known, and bench/report.py on a real
# nvpoll-perf JSON (sim) next to fio-shaped ones, checking the ratios, the
# verdict and the emulator line it prints.   usage: report.sh BUILD-DIR
set -euo pipefail
build=$(cd "${1:?usage: report.sh BUILD-DIR}" && pwd)
cd "$(dirname "$0")/../.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# ---- emucpu.py: a process that burns CPU for 2.5 s; marks 1 s apart inside it.
mkdir -p "$tmp/marks"
python3 bench/emucpu.py "$tmp/pid" "$tmp/marks" "$tmp/emucpu.json" "$tmp/done" &
emucpu=$!
# The stand-in also takes its own CPU time between the marks, so the check
# holds on a loaded host too, where it gets only a share of a CPU.
python3 - "$tmp/marks" "$tmp/self.json" <<'PY' &
import json, os, sys, time
marks, out = sys.argv[1], sys.argv[2]
t, cpu = time.time(), {}
while time.time() - t < 2.5:
    for m in ("start", "end"):
        if m not in cpu and os.path.exists(f"{marks}/busy.{m}"):
            cpu[m] = time.process_time()
json.dump({"cpu_s": cpu["end"] - cpu["start"]}, open(out, "w"))
PY
echo $! >"$tmp/pid"
burner=$!
sleep 0.5
: >"$tmp/marks/busy.start"
sleep 1
: >"$tmp/marks/busy.end"
: >"$tmp/marks/unfinished.start"
wait "$emucpu" || fail "emucpu.py exited $?"
wait "$burner" || fail "the stand-in exited $?"
cat "$tmp/emucpu.json" "$tmp/self.json"
python3 - "$tmp/emucpu.json" "$tmp/self.json" <<'EOF' || fail "emucpu.py measured the wrong thing"
import json, sys
runs = json.load(open(sys.argv[1]))
own = json.load(open(sys.argv[2]))["cpu_s"]
assert set(runs) == {"busy"}, runs          # a run without its end mark is left out
b = runs["busy"]
assert 0.5 <= b["wall_s"] <= 3.0, b         # the marks are 1 s apart (a loaded host is late)
assert own > 0.02, own                      # the stand-in ran at all
assert abs(b["cpu_s"] - own) <= 0.25 + 0.1 * own, (b, own)  # its CPU time, as it saw it (both sample late under load)
EOF
# QEMU that never started: it gives up once run.sh says the guest is done.
: >"$tmp/done"
if timeout 5 python3 bench/emucpu.py "$tmp/nopid" "$tmp/marks" "$tmp/x.json" "$tmp/done" 2>/dev/null; then
	fail "emucpu.py without a pid file succeeded"
fi

# ---- report.py: nvpoll from a real run, psync shaped like fio's JSON.
g=$tmp/out/guest
mkdir -p "$g"
"$build/nvpoll-perf" sim -q 1 -n 20000 --json >"$g/nvpoll-rr4k_qd1.json"
nv_mean=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["lat_us"]["mean"])' \
	"$g/nvpoll-rr4k_qd1.json")
nv_iops=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["iops"])' \
	"$g/nvpoll-rr4k_qd1.json")
# psync: mean latency 4x nvpoll's (a MISS of the 0.2x target), IOPS a quarter.
python3 - "$g/psync-rr4k_qd1.json" "$nv_mean" "$nv_iops" <<'EOF'
import json, sys
mean_us, iops = float(sys.argv[2]) * 4, float(sys.argv[3]) / 4
side = {"io_bytes": 4096, "iops": iops, "lat_ns": {"mean": mean_us * 1000, "percentile": {"99.000000": mean_us * 3000}}}
doc = {"jobs": [{"read": side, "write": {"io_bytes": 0}}]}
open(sys.argv[1], "w").write("fio: a note before the JSON\n" + json.dumps(doc))
EOF
# The kernel paths' table: nvpoll-perf's JSON (nil standing in for the kernel) beside fio-shaped
# io_uring (same IOPS: 1.00x, PASS) and io_uring_cmd (1.25x nvpoll's: 0.80x, a MISS of 0.9x).
"$build/nvpoll-perf" nil -q 32 -n 200000 --json >"$g/nvkuring-rr4k_qd32.json"
cp "$g/nvkuring-rr4k_qd32.json" "$g/nvkcmd-rr4k_qd32.json"
k_iops=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["iops"])' \
	"$g/nvkuring-rr4k_qd32.json")
python3 - "$g" "$k_iops" <<'EOF'
import json, sys
g, iops = sys.argv[1], float(sys.argv[2])
for tool, x in (("uring", 1.0), ("uringcmd", 1.25)):
    side = {"io_bytes": 4096, "iops": iops * x, "lat_ns": {"mean": 1000.0, "percentile": {"99.000000": 3000.0}}}
    open(f"{g}/{tool}-rr4k_qd32.json", "w").write(json.dumps({"jobs": [{"read": side, "write": {"io_bytes": 0}}]}))
EOF
# NVMe/TCP: nvpoll-perf's JSON (sim, nil) as the tcp:// runs, fio-shaped kernel-host runs beside them:
# QD32 randread at 1/1.5 of nvpoll's IOPS (1.50x, PASS), QD32 randwrite at nvpoll's (1.00x, MISS of 1.3x),
# QD1 randread at twice nvpoll's mean latency (0.50x, PASS); QD1 randwrite not run (N/A).
cp "$g/nvpoll-rr4k_qd1.json" "$g/nvtcp-tcp_rr4k_qd1.json"
cp "$g/nvkuring-rr4k_qd32.json" "$g/nvtcp-tcp_rr4k_qd32.json"
cp "$g/nvkuring-rr4k_qd32.json" "$g/nvtcp-tcp_rw4k_qd32.json"
python3 - "$g" "$k_iops" "$nv_mean" "$nv_iops" <<'EOF'
import json, sys
g, iops, mean, iops1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
for name, i, mean_us in (("tcp_rr4k_qd32", iops / 1.5, 50.0), ("tcp_rw4k_qd32", iops, 50.0), ("tcp_rr4k_qd1", iops1 / 2, mean * 2)):
    side = {"io_bytes": 4096, "iops": i, "lat_ns": {"mean": mean_us * 1000, "percentile": {}}}
    empty = {"io_bytes": 0}
    job = {"read": side, "write": empty} if "rr" in name else {"read": empty, "write": side}
    job.update(usr_cpu=10.0, sys_cpu=40.0)
    open(f"{g}/uringtcp-{name}.json", "w").write(json.dumps({"jobs": [job]}))
EOF
# strace -c of a QD32 run: 2000 I/Os, 1000 sendmsg, 3000 recvfrom of which 1000 found nothing.
cat >"$g/nvtcp-syscalls-qd32.txt" <<'EOF'
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 60.00    0.030000          10      3000      1000 recvfrom
 40.00    0.020000          20      1000           sendmsg
  0.00    0.000000           0         3           close
------ ----------- ----------- --------- --------- ----------------
100.00    0.050000                  4003      1000 total
EOF
echo '{"total":{"ios":2000}}' >"$g/nvtcp-syscalls-qd32.json"
# The emulator: half busy during nvpoll's run, a quarter during psync's.
cat >"$tmp/out/emucpu.json" <<'EOF'
{"nvpoll-rr4k_qd1": {"wall_s": 6.0, "cpu_s": 3.0}, "psync-rr4k_qd1": {"wall_s": 6.0, "cpu_s": 1.5}}
EOF
echo '{"pm_qos_cpu_dma_latency_0":true,"cpuidle":"x"}' >"$tmp/out/host.json"
rc=0
python3 bench/report.py table "$g" >"$tmp/report.txt" 2>"$tmp/report.err" || rc=$?
cat "$tmp/report.txt"
((rc == 1)) || fail "report.py exited $rc with most runs missing (want 1)"
grep -q "fio psync: 4.00x IOPS, 0.25x latency" "$tmp/report.txt" || fail "QD1 ratio to psync"
grep -q "MISS  4 KiB randread QD1: nvpoll mean latency <= 0.2x fio psync: 0.25x" "$tmp/report.txt" ||
	fail "QD1 verdict"
grep -q "PM QoS cpu_dma_latency=0" "$tmp/report.txt" || fail "PM QoS not reported"
grep -q "PASS  4 KiB randread QD32: nvpoll --be io_uring IOPS >= 0.9x fio io_uring: 1.00x" "$tmp/report.txt" ||
	fail "io_uring verdict"
grep -q "MISS  4 KiB randread QD32: nvpoll --be io_uring_cmd IOPS >= 0.9x fio io_uring_cmd: 0.80x" "$tmp/report.txt" ||
	fail "io_uring_cmd verdict"
grep -q "N/A   4 KiB randwrite QD32: nvpoll --be io_uring_cmd IOPS >= 0.9x fio io_uring_cmd: not measured" \
	"$tmp/report.txt" || fail "an unmeasured kernel-path case"
grep -q "PASS  NVMe/TCP 4 KiB randread QD32: nvpoll IOPS >= 1.3x the kernel host's: 1.50x" "$tmp/report.txt" ||
	fail "NVMe/TCP QD32 read verdict"
grep -q "MISS  NVMe/TCP 4 KiB randwrite QD32: nvpoll IOPS >= 1.3x the kernel host's: 1.00x" "$tmp/report.txt" ||
	fail "NVMe/TCP QD32 write verdict"
grep -q "PASS  NVMe/TCP 4 KiB randread QD1: nvpoll mean latency <= 0.8x the kernel host's: 0.50x" "$tmp/report.txt" ||
	fail "NVMe/TCP QD1 read verdict"
grep -q "N/A   NVMe/TCP 4 KiB randwrite QD1: nvpoll mean latency <= 0.8x the kernel host's: not measured" \
	"$tmp/report.txt" || fail "NVMe/TCP unmeasured case"
grep -q "QD32 under strace -c (2000 I/Os): recvfrom 1.50 (0.50 EAGAIN), sendmsg 0.50$" "$tmp/report.txt" ||
	fail "NVMe/TCP system calls per I/O"
want=$(python3 - "$g/nvtcp-tcp_rr4k_qd32.json" "$k_iops" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))["total"]["cpu"]
fio = 0.5 / (float(sys.argv[2]) / 1.5) * 1e6
print(f"4 KiB randread QD32    nvpoll tcp://: {c['user_us_per_io']:.1f} + {c['sys_us_per_io']:.1f} = "
      f"{c['user_us_per_io'] + c['sys_us_per_io']:.1f}; fio io_uring, kernel host: {fio * 0.2:.1f} + {fio * 0.8:.1f} = {fio:.1f}")
EOF
)
grep -qF "$want" "$tmp/report.txt" || fail "NVMe/TCP CPU per I/O, want: $want"
want=$(python3 - "$nv_iops" <<'EOF'
import sys
i = float(sys.argv[1])
# report.py keeps two decimals, then prints one
print(f"nvpoll (vfio-pci): 50% busy, {round(0.5 / i * 1e6, 2):.1f} us of host CPU per I/O; "
      f"fio psync: 25% busy, {round(0.25 / (i / 4) * 1e6, 2):.1f} us of host CPU per I/O")
EOF
)
grep -qF "$want" "$tmp/report.txt" || fail "emulator line, want: $want"
python3 - "$tmp/out/results.json" <<'EOF' || fail "results.json"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["emulator_main_loop"]["nvpoll-rr4k_qd1"]["busy"] == 0.5, r["emulator_main_loop"]
assert any(t["result"] == "MISS" for t in r["targets"]), r["targets"]
EOF
echo "report.sh: ok"
