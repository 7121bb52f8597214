#!/usr/bin/env bash
# bench/plot.py, the latency CDFs make bench draws (build/bench/latency.svg):
# the curves it reads from nvpoll-perf's JSON (with --hist, without, as JSON
# Lines) and from fio's, checked against the runs' own figures, then one SVG
# of all of them.   usage: plot.sh BUILD-DIR
set -euo pipefail
build=$(cd "${1:?usage: plot.sh BUILD-DIR}" && pwd)
cd "$(dirname "$0")/../.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

perf=$build/nvpoll-perf
"$perf" sim -q 4 -n 20000 --json --hist >"$tmp/nvpoll-hist.json"
"$perf" sim -q 8 -n 20000 -w randrw --json >"$tmp/nvpoll-randrw.json"
"$perf" sim -q 4 -t 0.5 --json --status-interval 100ms >"$tmp/nvpoll-lines.json"
python3 - "$tmp/fio-psync.json" <<'PY'
import json, sys
pct = {"50.000000": 20000, "90.000000": 30000, "99.000000": 90000, "99.900000": 400000}
side = {"io_bytes": 4096, "iops": 1.0, "lat_ns": {"min": 9000, "max": 900000, "mean": 25000, "percentile": pct}}
open(sys.argv[1], "w").write("fio: a note\n" + json.dumps({"jobs": [{"read": side, "write": {"io_bytes": 0}}]}))
PY
echo '{"kernel":"x"}' >"$tmp/env.json"

# The curves: rising from 0 to 1, through the run's own percentiles.
python3 - "$tmp" <<'PY' || fail "curves"
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("plot", "bench/plot.py")
plot = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plot)
d = sys.argv[1]
for name in ("nvpoll-hist", "nvpoll-randrw", "nvpoll-lines", "fio-psync"):
    doc = plot.load(os.path.join(d, name + ".json"))
    pts = plot.curve(doc)
    assert pts and pts[0][1] == 0 and pts[-1][1] == 1, (name, pts[:3], pts[-3:])
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(pts, pts[1:])), (name, pts)
    def at(x):  # the CDF at x: the last point at or left of it
        return max((y for px, y in pts if px <= x), default=0)
    if name.startswith("nvpoll"):
        lat = doc["total"]["lat_us"]
        # Half the I/Os lie at or under p50: with --hist p50 is the midpoint of the first bucket
        # that holds half, so the curve reaches 0.5 at that bucket's end, not before p50.
        if "hist" in doc:
            assert at(lat["p50"]) < 0.5 <= at(lat["p50"] * 1.01), (name, lat, pts[:40])
        else:
            assert at(lat["p50"]) >= 0.5 and at(lat["p50"] * 0.999) < 0.5, (name, lat, pts)
        assert at(lat["p99"] * 1.01) >= 0.99, name
        assert abs(pts[-1][0] - lat["max"]) <= lat["max"] * 0.01, (name, pts[-1], lat["max"])
    else:
        assert at(30.0) == 0.9 and at(29.9) == 0.5 and pts[-1] == (900.0, 1.0), pts
assert len(plot.curve(plot.load(os.path.join(d, "nvpoll-hist.json")))) > 20  # the histogram's buckets
assert plot.curve(plot.load(os.path.join(d, "env.json"))) is None
# make bench's TOOL-CASE names: a row per case, the tools of each side by side; others: one row.
runs = [(n, [], False) for n in ("nvpoll-rr4k_qd1", "uring-rr4k_qd32", "psync-rr4k_qd1", "nvpoll-rr4k_qd32")]
assert [(c, [m[0] for m in ms]) for c, ms in plot.group_runs(runs)] == [
    ("rr4k_qd1", ["nvpoll-rr4k_qd1", "psync-rr4k_qd1"]), ("rr4k_qd32", ["nvpoll-rr4k_qd32", "uring-rr4k_qd32"])]
assert [c for c, _ in plot.group_runs([(n, [], False) for n in ("a-x", "b-y", "c")])] == [""]
PY

# One SVG of every run, env.json left out with a word; labels are text in it.
python3 bench/plot.py "$tmp/latency.svg" "$tmp"/*.json >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "plot.py exited $?"; }
cat "$tmp/out"
grep -q "env.json: neither nvpoll-perf's nor fio's JSON: left out" "$tmp/out" || fail "env.json not named as left out"
grep -q "4 runs -> " "$tmp/out" || fail "not 4 runs plotted"
python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$tmp/latency.svg" || fail "not an SVG"
for n in nvpoll-hist nvpoll-randrw nvpoll-lines fio-psync; do
	grep -q ">$n<" "$tmp/latency.svg" || fail "no label $n in the SVG"
done
# Nothing to plot: exit 1, and usage: exit 2.
rc=0; python3 bench/plot.py "$tmp/none.svg" "$tmp/env.json" 2>/dev/null || rc=$?
((rc == 1)) || fail "plot.py with no run exited $rc (want 1)"
rc=0; python3 bench/plot.py "$tmp/x.txt" "$tmp/nvpoll-hist.json" 2>/dev/null || rc=$?
((rc == 2)) || fail "plot.py with a bad output name exited $rc (want 2)"
echo "plot.sh: ok"
