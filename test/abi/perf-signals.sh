#!/usr/bin/env bash
# nvpoll-perf stopped by SIGINT and SIGTERM against the sim (make unit): the
# summary comes out every time, however many signals arrive, with the exit
# status a shell reports for the signal; a run stopped in its warmup says it
# never left it, in text and JSON.   usage: perf-signals.sh BUILD-DIR
set -uo pipefail
build=$(cd "${1:?usage: perf-signals.sh BUILD-DIR}" && pwd)
perf=$build/nvpoll-perf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

ok() { echo "ok   - $*"; }
bad() { # NAME: the run's output follows
	echo "FAIL - $1"; sed 's/^/  | /' "$tmp/out" | tail -n 15; fails=$((fails + 1))
}

# NAME WANT-RC PATTERN: the last run exited WANT-RC and printed PATTERN
expect() {
	if [ "$rc" != "$2" ]; then bad "$1 (exit $rc, want $2)"
	elif ! grep -q -- "$3" "$tmp/out"; then bad "$1 (no '$3')"
	else ok "$1"; fi
}

# timeout(1) signals the child, then its whole process group (which setsid
# makes a group of its own), so nvpoll-perf gets two SIGINTs close together:
# the second used to kill it before the summary in some runs.
for i in 1 2 3 4 5 6 7 8; do
	setsid -w timeout --preserve-status -s INT 0.5 "$perf" sim -q 8 -t 10 >"$tmp/out" 2>&1
	rc=$?
	expect "timeout -s INT, process group signalled, run $i: summary" 130 "I/Os (.*stopped by SIGINT"
done

# The same without the race: both signals while the device is still opening
# (the sim takes 2 s to become ready), so the second surely finds the first handled.
two_signals() { # SIG: nvpoll-perf sim gets SIG twice, 0.3 s apart
	"$perf" sim:ready_ms=2000 -t 1 >"$tmp/out" 2>&1 &
	local pid=$!
	sleep 0.5
	kill -"$1" "$pid"
	sleep 0.3
	kill -"$1" "$pid"
	wait "$pid"
	rc=$?
}
two_signals INT
expect "two SIGINTs: one summary, exit 130" 130 "I/Os (.*stopped by SIGINT"
two_signals TERM
expect "two SIGTERMs: one summary, exit 143" 143 "I/Os (.*stopped by SIGTERM"

# Stopped 1 s into a 30 s warmup: the figures are warmup I/Os, and it says so.
timeout --preserve-status -s INT 1 "$perf" sim -q 8 --warmup 30 -t 1 >"$tmp/out" 2>&1
rc=$?
expect "SIGINT in the warmup, text" 130 "the run never left warmup (--warmup 30)"
timeout --preserve-status -s INT 1 "$perf" sim -q 8 --warmup 30 -t 1 --json >"$tmp/out" 2>"$tmp/err"
rc=$?
if python3 - "$tmp/out" <<'EOF'; then expect "SIGINT in the warmup, JSON" 130 '"left_warmup":false'; else bad "SIGINT in the warmup, JSON"; fi
import json, sys
d = json.load(open(sys.argv[1]))
assert d["interrupted"] is True and d["signal"] == "SIGINT", d
assert d["left_warmup"] is False and d["threads"][0]["left_warmup"] is False, d
EOF

# A run that did leave its warmup says nothing of the kind.
"$perf" sim -q 8 --warmup 0.2 -t 0.3 >"$tmp/out" 2>&1
rc=$?
if grep -q "never left warmup" "$tmp/out"; then bad "a finished run with warmup claims it never left it"
else expect "a finished run with warmup, text" 0 "I/Os ("; fi
"$perf" sim -q 8 --warmup 0.2 -t 0.3 --json >"$tmp/out" 2>&1
rc=$?
expect "a finished run with warmup, JSON" 0 '"interrupted":false,"signal":null,"left_warmup":true'

echo "perf-signals: $fails failed"
[ "$fails" = 0 ]
