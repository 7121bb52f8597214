#!/usr/bin/env bash
# nvpoll-perf's options against the sim (make unit): each checked end to end
# through the text report and the JSON, plus the refusals of bad values
# (exit 2 and a message naming the option).   usage: perf-options.sh BUILD-DIR
set -uo pipefail
build=$(cd "${1:?usage: perf-options.sh BUILD-DIR}" && pwd)
perf=$build/nvpoll-perf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

ok() { echo "ok   - $*"; }
bad() { # NAME: the run's output follows
	echo "FAIL - $1"; sed 's/^/  | /' "$tmp/out" | tail -n 20; fails=$((fails + 1))
}
run() { "$perf" "$@" >"$tmp/out" 2>&1; rc=$?; }
# NAME PATTERN: the last run exited 0 and printed PATTERN
expect_out() {
	if [ "$rc" != 0 ]; then bad "$1 (exit $rc)"
	elif ! grep -qE -- "$2" "$tmp/out"; then bad "$1 (no '$2')"
	else ok "$1"; fi
}
# NAME PATTERN: the last run exited 2 and said PATTERN
expect_usage() {
	if [ "$rc" != 2 ]; then bad "$1 (exit $rc, want 2)"
	elif ! grep -qE -- "$2" "$tmp/out"; then bad "$1 (no '$2')"
	else ok "$1"; fi
}
# NAME PYTHON: the last run exited 0 and PYTHON holds of its JSON document d (stdout only)
expect_json() {
	local name=$1
	shift
	if [ "$rc" != 0 ]; then bad "$name (exit $rc)"; return; fi
	if python3 -c "import json, sys
d = json.loads(open(sys.argv[1]).read().splitlines()[-1])
$1" "$tmp/out" >"$tmp/py" 2>&1; then ok "$name"; else cat "$tmp/py" >>"$tmp/out"; bad "$name"; fi
}
json() { "$perf" "$@" --json >"$tmp/out" 2>"$tmp/err"; rc=$?; [ "$rc" = 0 ] || cat "$tmp/err" >>"$tmp/out"; }

# ---- reads and writes apart (rw, randrw)
json sim -w randrw -M 70 -q 8 -n 20000 -T 2 --seed 1
expect_json "randrw -M 70, JSON: read and write sides add up to the total, 70 % reads" '
for s in d["threads"] + [d["total"]]:
    r, w = s["read"], s["write"]
    assert r["ios"] == s["reads"] and w["ios"] == s["writes"], s
    assert r["ios"] + w["ios"] == s["ios"], s
    assert abs(r["iops"] + w["iops"] - s["iops"]) < 1, s
    assert abs(r["mibps"] + w["mibps"] - s["mibps"]) < 0.01, s
    assert r["lat_us"]["min"] >= s["lat_us"]["min"] and w["lat_us"]["max"] <= s["lat_us"]["max"], s
t = d["total"]
assert t["ios"] == 20000, t
assert abs(t["reads"] / t["ios"] - 0.7) < 0.03, t
assert t["read"]["mibps"] > 0 and t["write"]["mibps"] > 0, t'
json sim -w randread -q 8 -n 5000
expect_json "randread, JSON: a write side with nothing in it" '
t = d["total"]
assert t["write"]["ios"] == 0 and t["write"]["iops"] == 0 and t["write"]["lat_us"]["max"] == 0, t
assert t["read"]["ios"] == t["ios"] == 5000, t'
run sim -w rw -q 8 -n 20000
expect_out "rw, text: read and write rows under the total" '^  read .*'
if ! grep -q '^  write ' "$tmp/out"; then bad "rw, text: no write row"; fi
run sim -w randread -q 8 -n 5000
if grep -qE '^  (read|write) ' "$tmp/out"; then bad "randread, text: read/write rows in a one-way workload"
else ok "randread, text: no read/write rows"; fi

# ---- the coarse latency summary (fio's power-of-ten buckets)
json sim -w randrw -q 8 -n 20000
expect_json "JSON: share under each power of ten, rising to 100 %, read and write alike" '
for s in (d["total"], d["total"]["read"], d["total"]["write"]):
    u = s["lat_pct_under"]
    assert list(u) == ["1us", "10us", "100us", "1ms", "10ms", "100ms", "1s", "10s"], u
    v = list(u.values())
    assert all(0 <= a <= b <= 100 for a, b in zip(v, v[1:])), u
    assert v[-1] == 100, u   # the sim answers within 10 s
    assert (u["1ms"] == 100) == (s["lat_us"]["max"] < 1000), s'
run sim -w randread -q 1 -n 5000
expect_out "text: the latency summary line ends at the first bound all I/Os are under" \
	'^I/Os: latency under [0-9]+[mu]?s [0-9.]+%, .* 100\.00%$'

# ---- durations with units; --status-interval
for t in 300ms 0.3s 0.005m; do
	json sim -q 4 -t "$t" --warmup 100ms
	expect_json "-t $t --warmup 100ms: 0.3 s measured after 0.1 s of warmup" '
c = d["config"]
assert abs(c["time_s"] - 0.3) < 1e-9 and abs(c["warmup_s"] - 0.1) < 1e-9, c
assert 0.25 < d["total"]["seconds"] < 1.5, d["total"]["seconds"]'
done
for t in 5x 10sec -1 1e9 "" 2mm ms 1e4h nan; do
	run sim -t "$t"
	expect_usage "-t '$t' is refused" "^nvpoll-perf: -t '$t': expected a time above 0"
done
run sim --warmup 2q
expect_usage "--warmup '2q' is refused" "^nvpoll-perf: --warmup '2q': expected a time, 0 or more"
run sim --status-interval 1ms
expect_usage "--status-interval 1ms is refused (10 ms at least)" "^nvpoll-perf: --status-interval '1ms'"
run sim -q 4 -t 1.1 --status-interval 250ms --warmup 0.6
n=$(grep -cE '^\[ *[0-9.]+ s( warmup)?\] +[0-9]+ IOPS' "$tmp/out")
nw=$(grep -cE '^\[ *[0-9.]+ s warmup\]' "$tmp/out")
# 6 lines (2 in the warmup) on an idle machine; a loaded one stalls the sim, never adds lines.
if [ "$rc" = 0 ] && [ "$n" -ge 4 ] && [ "$n" -le 9 ] && [ "$nw" -ge 1 ] && [ "$nw" -le 3 ]; then
	ok "--status-interval 250ms, not a terminal: $n progress lines in 1.7 s, $nw in the warmup"
else bad "--status-interval 250ms: $n progress lines ($nw warmup), want 4..9 (1..3), exit $rc"; fi
run sim -q 4 -t 0.5
if grep -qE '^\[ *[0-9.]+ s' "$tmp/out"; then bad "no --status-interval, not a terminal: progress lines"
else ok "no --status-interval, not a terminal: no progress lines"; fi
# A terminal (script(1) gives the run a pseudo-terminal): one line a second by default.
if command -v script >/dev/null; then
	script -qec "'$perf' sim -q 4 -t 2.5" /dev/null >"$tmp/out" 2>&1
	rc=$?
	n=$(grep -cE '^\[ *[0-9.]+ s\] +[0-9]+ IOPS' "$tmp/out")
	if [ "$rc" = 0 ] && [ "$n" -ge 2 ] && [ "$n" -le 3 ]; then ok "a terminal: a progress line every second ($n in 2.5 s)"
	else bad "a terminal: $n progress lines in 2.5 s, want 2..3 (exit $rc)"; fi
else bad "script(1) is missing (util-linux): the terminal case cannot run"; fi
"$perf" sim -q 4 -t 1 --status-interval 200ms --json >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 0 ] && python3 - "$tmp/out" <<'PY' 2>"$tmp/py"; then ok "--json --status-interval: one JSON object per line, the summary last"; else cat "$tmp/py" >>"$tmp/out"; bad "--json --status-interval"; fi
import json, sys
lines = open(sys.argv[1]).read().splitlines()
docs = [json.loads(l) for l in lines]
st = [d["status"] for d in docs[:-1]]
assert 3 <= len(st) <= 12, len(st)   # 5, give or take a loaded machine's stalls
assert all(set(s) == {"elapsed_s", "phase", "ios", "iops", "mibps", "mean_us"} for s in st), st
assert all(a["elapsed_s"] < b["elapsed_s"] and a["ios"] <= b["ios"] for a, b in zip(st, st[1:])), st
assert all(s["phase"] == "measure" for s in st) and st[0]["iops"] > 0, st
assert "total" in docs[-1] and "status" not in docs[-1], docs[-1].keys()
PY

# ---- --rate: per thread, evenly; latency from when each command was due
json sim -q 8 --rate 1000 -n 600 -T 2 --yield
expect_json "--rate 1000 -T 2 -n 600: 1000 IOPS per thread" '
assert d["config"]["rate_iops"] == 1000, d["config"]
# Never faster than the rate (the schedule holds them back, whatever the load);
# slower only by what a loaded machine costs the sim, so that bound is loose.
for t in d["threads"]:
    assert t["ios"] == 300, t
    assert t["seconds"] >= 0.297 and 250 < t["iops"] <= 1010, t   # 300 I/Os: the last due at 0.299 s
t = d["total"]
assert 500 < t["iops"] <= 2020, t
assert 0 <= t["rate_late"] <= t["ios"], t   # late ones depend on the sim getting a CPU'
json sim -q 8 --rate 1500 -t 400ms -w randrw --yield
expect_json "--rate 1500 -t 400ms randrw: reads and writes share the rate" '
t = d["total"]
assert 300 < t["iops"] <= 1500 * 1.02, t   # at most the rate (+ the first command of the run); a loaded host gets less
assert abs(t["read"]["iops"] + t["write"]["iops"] - t["iops"]) < 1, t'
# Far above what one slot can do: every command waits for the one before, the
# backlog grows all run long, and since latency counts from when a command
# was due, the worst is most of the run (from the real submission it would be
# a single command's service time, a few microseconds to milliseconds).
json sim -q 1 --rate 100000000 -t 0.5
expect_json "--rate far above QD1 capacity: latency from the due time grows to most of the run" '
t = d["total"]
assert t["lat_us"]["max"] > 250000, t["lat_us"]
assert t["rate_late"] > 0.9 * t["ios"], t'
run sim -q 4 --rate 800 -t 0.3
expect_out "--rate, text: header and the late line" '^rate: 800 IOPS per thread; [0-9]+ commands left over one interval late'
for v in 0 -5 1.5 abc 2000000000; do
	run sim --rate "$v"
	expect_usage "--rate '$v' is refused" "^nvpoll-perf: --rate '$v': expected IOPS per thread"
done

# ---- --random-dist zipf:THETA
json sim:lbads=4096,size=64M -q 8 -n 20000 --random-dist zipf:1.2 --seed 5
expect_json "--random-dist zipf:1.2: config says so" '
c = d["config"]
assert c["random_dist"] == "zipf" and c["zipf_theta"] == 1.2, c'
for v in zipf zipf: zipf:0 zipf:-1 zipf:x zipf:101 normal; do
	run sim --random-dist "$v"
	expect_usage "--random-dist '$v' is refused" "^nvpoll-perf: --random-dist '$v': expected uniform or zipf:THETA"
done
run sim -w read --random-dist zipf:0.9
expect_usage "--random-dist with a sequential workload is refused" "applies to randread, randwrite and randrw only"
run sim -w randread --random-dist uniform -n 1000
expect_out "--random-dist uniform runs" '^1000 I/Os'

# ---- several targets: DEVICE repeated, -r, --nsid lists; threads dealt in turn
json sim:ns=2 --nsid 1,2 -T 4 -q 4 -n 8000 -w randrw --verify --range 4M
expect_json "sim:ns=2 --nsid 1,2 -T 4: one controller, two targets, threads 0,2 and 1,3, verify passes" '
ts = d["targets"]
assert [(t["nsid"], t["threads"], t["controller"]) for t in ts] == [(1, [0, 2], "sim:ns=2"), (2, [1, 3], "sim:ns=2")], ts
assert [th["target"] for th in d["threads"]] == [0, 1, 0, 1], d["threads"]
assert sum(t["ios"] for t in ts) == d["total"]["ios"] == 8000, ts
for t in ts:
    ids = t["threads"]
    assert t["ios"] == sum(d["threads"][i]["ios"] for i in ids), t
    assert t["read"]["ios"] + t["write"]["ios"] == t["ios"], t
    assert t["verify"]["lbas_checked"] > 0, t
assert d["failed"] is False and d["nsid"] == 1, d["nsid"]'
json sim -r sim:lbads=4096 -r nil -q 4 -n 9000
expect_json "sim -r sim:lbads=4096 -r nil: three controllers, in the order given, one thread each" '
ts = d["targets"]
assert [(t["device"], t["backend"], t["lba_size"], t["threads"]) for t in ts] == \
    [("sim", "sim", 512, [0]), ("sim:lbads=4096", "sim", 4096, [1]), ("nil", "nil", 4096, [2])], ts
assert d["config"]["threads"] == 3 and all(t["ios"] == 3000 for t in ts), ts'
# Two namespaces of one controller by URI (/ns=N, as a PCI address takes it): opened once.
json sim:ns=2/ns=1 sim:ns=2/ns=2 -q 2 -n 2000
expect_json "sim:ns=2/ns=1 sim:ns=2/ns=2: one controller, its namespaces 1 and 2" '
ts = d["targets"]
assert [(t["device"], t["controller"], t["nsid"]) for t in ts] == \
    [("sim:ns=2/ns=1", "sim:ns=2", 1), ("sim:ns=2/ns=2", "sim:ns=2", 2)], ts'
run sim:ns=2/ns=2 -r sim:ns=2 --nsid 2
expect_usage "a namespace named by /ns=N and by --nsid on one controller is refused" "namespace 2 of sim:ns=2 is a target twice"
run sim sim:ns=2 -T 3 -n 3000 -q 2
expect_out "text: a header line and a row per target" '^nvpoll-perf: target1 sim:ns=2 \(sim\), nsid 1, .*, thread 1$'
if grep -q '^target0 ' "$tmp/out" && grep -q '^target1 ' "$tmp/out"; then ok "text: target rows"
else bad "text: no target0/target1 rows"; fi
run sim -n 1000
if grep -qE '^target|target0' "$tmp/out"; then bad "one target: target rows or tags"; else ok "one target: the report as before"; fi
run sim sim
expect_usage "the same namespace twice is refused" "namespace 1 of sim is a target twice"
run 0000:00:05.0/ns=1 -r 0000:00:05.0/ns=1
expect_usage "the same PCI namespace twice is refused before the device is touched" \
	"namespace 1 of 0000:00:05.0 is a target twice"
run sim:ns=2 --nsid 1,2 -T 1
expect_usage "fewer threads than targets is refused" "1 threads for 2 targets"
for v in 0 1,,2 1,1 ,1 "1," x; do
	run sim --nsid "$v"
	expect_usage "--nsid '$v' is refused" "^nvpoll-perf: --nsid '$v'"
done
run sim:ns=2 --nsid 1,3
expect_usage "an inactive namespace in the list is refused" "namespace 3"

# ---- zoned workloads: zwrite, zappend (16 zones of 512 LBAs, 64 I/Os of 4 KiB each)
zs=sim:zoned=1,size=4M,zone_size=256K
json $zs -w zwrite -q 1 -n 2000 --verify --seed 3
expect_json "zwrite -q 1 -n 2000 --verify: 31 zones full, 16 reset for reuse, every full zone read back" '
t = d["total"]
assert d["failed"] is False and d["config"]["open_zones"] == 1, d["config"]
assert t["writes"] == 2000 and t["reads"] == 31 * 64, t
# zones 0..15, then 16 more from zone 0 on, each reset first: the 32nd has 2000 - 31 * 64 writes
assert t["zones"] == {"written_full": 31, "reset": 16, "reset_before_run": 0}, t["zones"]
assert t["verify"]["lbas_checked"] == 31 * 512 and t["verify"]["lbas_never_written"] == 0, t["verify"]
tg = d["targets"][0]
assert tg["zone_lbas"] == 512 and tg["zones_per_thread"] == 16, tg'
json $zs -w zappend -q 8 --open-zones 2 -n 5000 --verify
expect_json "zappend -q 8 --open-zones 2 -n 5000 --verify: appends fill zones, resets follow, read back checks" '
t = d["total"]
z = t["zones"]
assert d["failed"] is False and t["writes"] == 5000, t
assert 0 <= 5000 - 64 * z["written_full"] < 2 * 64, z   # what is left is in the two open zones
takes = z["written_full"] + 2
assert takes - 16 - 1 <= z["reset"] <= takes - 16, z      # the last zone taken may wait for a reset -n does not allow
assert t["verify"]["lbas_checked"] == z["written_full"] * 512, t["verify"]'
json $zs -w zappend -q 16 -n 3000 -o 8k
expect_json "zappend -q 16 into one zone, 8 KiB: zones of 32 appends fill and are reset" '
z = d["total"]["zones"]
assert d["total"]["writes"] == 3000 and 0 <= 3000 - 32 * z["written_full"] < 32 and z["reset"] >= z["written_full"] - 16, z'
json $zs,max_open=2,max_active=2 -w zwrite -q 2 -T 1 -n 3000
expect_json "zwrite within max_open=2,max_active=2: full zones stop counting, so the run never meets the limit" '
assert d["failed"] is False and d["total"]["zones"]["written_full"] >= 45, d["total"]["zones"]'
json $zs -w zwrite -q 4 -T 2 -t 1 --verify
expect_json "zwrite -q 4 -T 2 -t 1 --verify: 8 zones per thread, each thread its own" '
assert d["failed"] is False and d["targets"][0]["zones_per_thread"] == 8, d["targets"][0]
for th in d["threads"]:
    assert th["writes"] > 0 and "zones" in th, th
assert sum(th["zones"]["written_full"] for th in d["threads"]) == d["total"]["zones"]["written_full"]'
run $zs -w zwrite -q 2 -n 1000
expect_out "zwrite, text: the zones line" '^zones: 1[45] written full, 0 reset for reuse, 0 reset before the run \(not Empty\)$'
if grep -q '^zwrite (2 open zones per thread of 16, 512 LBAs each), 4096 bytes, QD 2' "$tmp/out"; then ok "zwrite, text: the header names the zones"
else bad "zwrite, text: no zones in the header"; fi
json sim -n 100
expect_json "not zoned: no zones in the JSON" 'assert "zones" not in d["total"] and d["config"]["open_zones"] == 0, d["config"]'
run sim -w zwrite
expect_usage "zwrite on a namespace that is not zoned is refused" "^nvpoll-perf: -w zwrite: sim: namespace 1 is not zoned"
run sim -w zappend
expect_usage "zappend on a namespace that is not zoned is refused" "^nvpoll-perf: -w zappend: sim: namespace 1 is not zoned"
for m in write randwrite rw randrw; do
	run $zs -w $m
	expect_usage "-w $m on a zoned namespace is refused" "^nvpoll-perf: -w $m: .*namespace 1 is zoned: writes must land at each zone's write pointer"
done
run $zs -w randread -n 500
expect_out "randread on a zoned namespace runs" '^500 I/Os'
run $zs -w zwrite -q 17
expect_usage "zwrite -q above the zones per thread is refused" "17 open zones per thread \(-q\) but the window holds 16 whole zones"
run $zs,max_open=2 -w zwrite -q 3
expect_usage "zwrite over max_open is refused" "namespace 1 allows 2 open zones \(MOR\)"
run $zs,max_active=3 -w zappend -q 4 --open-zones 2 -T 2
expect_usage "zappend over max_active is refused" "2 open zones per thread times 2 threads is 4; namespace 1 allows 3 active zones \(MAR\)"
run $zs -w zwrite --open-zones 2
expect_usage "--open-zones with zwrite is refused" "^nvpoll-perf: --open-zones applies to -w zappend only"
run sim -w randread --open-zones 2
expect_usage "--open-zones with randread is refused" "^nvpoll-perf: --open-zones applies to -w zappend only"
run $zs -w zappend -q 4 --open-zones 5
expect_usage "--open-zones above -q is refused" "^nvpoll-perf: --open-zones 5 is more zones than the 4 commands"
for v in 0 x 70000; do
	run $zs -w zappend --open-zones $v
	expect_usage "--open-zones '$v' is refused" "^nvpoll-perf: --open-zones '$v': expected a number of zones"
done
run $zs -w zwrite --range 100:4096
expect_usage "a zoned --range that starts inside a zone is refused" "LBA 100 is not the start of a zone"
run $zs -w zwrite -o 3072
expect_usage "an I/O size that does not divide the zone is refused" "6 LBAs per I/O do not divide the zone size, 512 LBAs"
run $zs,zasl=1 -w zappend -o 16k
expect_usage "an append over ZASL is refused" "a Zone Append carries at most 8192 bytes"
run $zs -w zappend --rate 100
expect_usage "--rate with a zoned workload is refused" "^nvpoll-perf: --rate does not apply to -w zappend"

# ---- --version: the library's version, in the JSON too
hdr=$(cd "$(dirname "$0")/../.." && sed -n 's/^#define NVP_VERSION_MAJOR //p; s/^#define NVP_VERSION_MINOR //p' include/nvpoll.h | paste -sd.)
run --version
expect_out "--version says nvpoll $hdr (include/nvpoll.h)" "^nvpoll-perf \(nvpoll\) ${hdr//./\\.}\$"
json sim -n 100
expect_json "JSON carries the version" "assert d['version'] == '$hdr', d['version']"

echo "perf-options: $fails failed"
[ "$fails" = 0 ]
