#!/usr/bin/env bash
# Runs inside the QEMU guest (scripts/vm.sh --monitor): hot-unplug of NVMe
# controllers behind pcie-root-ports (QEMU monitor device_del) while nvpoll
# drives them, bound to vfio-pci or uio_pci_generic (test/vm/run.sh sets
# the machine up). The controller at 00:03.0 is never removed; removable
# controller N (QEMU id nvrN) sits on PCI bus N:
#   nvr1  nvpoll-perf -q 32 on it: ends by itself, non-zero, says "removed",
#         prints its summary; the device leaves sysfs
#   nvr2  vm_unplug: I/O on it and on 00:03.0 in one process; 00:03.0 keeps
#         working, its data checked
#   nvr3  fio with nvpoll's ioengine: the job ends with an error
#   nvr4  (vfio only) the control run: with NVP_TEST_NO_DEVICE_REQUEST=1
#         nvpoll registers no request channel, and the kernel's removal
#         stays blocked until nvpoll-perf is stopped
# and the kernel never logged "blocked until released by user" but in the
# control run.
#
# usage: guest-unplug.sh vfio|uio
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
mode=${1:?usage: guest-unplug.sh vfio|uio}
: "${NVP_VM_MONITOR:?not in a scripts/vm.sh --monitor guest}"
keep=0000:00:03.0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
show() { sed 's/^/  | /' "$@" | tail -n 25; }
# Times are the guest's uptime, the clock of dmesg's time stamps.
now() { local up _; read -r up _ </proc/uptime; echo "$up"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# request_time BDF: uptime at which vfio-pci asked its user for the device back.
request_time() {
	dmesg | sed -n "s/^\[ *\([0-9.]*\)\] vfio-pci $1: Relaying device request to user (#0).*/\1/p" | head -n1
}
present() { [ -e "/sys/bus/pci/devices/$1" ]; }
blocked_lines() { dmesg | grep -c "blocked until released" || true; }

# wait_gone BDF SECONDS: 0 once the function left sysfs.
wait_gone() {
	local n=$(($2 * 20))
	while present "$1" && [ $n -gt 0 ]; do sleep 0.05; n=$((n - 1)); done
	! present "$1"
}

# wait_exit PID SECONDS: 0 once the process ended.
wait_exit() {
	local n=$(($2 * 20))
	while kill -0 "$1" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.05; n=$((n - 1)); done
	! kill -0 "$1" 2>/dev/null
}

# Its output goes to a file, so fully buffered: nothing shows it started. Under
# TCG an open takes about a second; give it more, so the removal hits running I/O.
wait_started() { sleep 4; }

unplug() { echo "device_del $1" >>"$NVP_VM_MONITOR"; }

for n in 1 2 3 4; do
	present "0000:0$n:00.0" || { echo "FAIL - no removable controller on bus $n (run.sh's topology)"; exit 1; }
done
blocked_before=$(blocked_lines)

# ---- nvr1: nvpoll-perf ends by itself, says why, prints its summary
bdf=0000:01:00.0
build/nvpoll-perf "$bdf" -q 32 -w randread -t 120 >"$tmp/perf.out" 2>"$tmp/perf.err" &
pid=$!
wait_started
t0=$(now)
unplug nvr1
if wait_exit "$pid" 15; then
	wait "$pid"
	rc=$?
	t1=$(now)
	t_exit=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	if [ "$rc" != 0 ] && grep -q "$bdf was removed" "$tmp/perf.err" && grep -q "^total" "$tmp/perf.out"; then
		ok "nvpoll-perf on $bdf: device_del -> exit $rc in $t_exit s, with its summary"
	else
		bad "nvpoll-perf on $bdf: exit $rc after device_del, or no 'removed' message, or no summary"
		show "$tmp/perf.out" "$tmp/perf.err"
	fi
	if [ "$mode" = vfio ]; then
		# The kernel takes a while (ACPI eject under TCG) before it asks: time nvpoll from the request.
		treq=$(request_time "$bdf")
		if [ -n "$treq" ]; then
			t_exit=$(awk -v a="$treq" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
			ok "nvpoll-perf on $bdf: the kernel's request came $(awk -v a="$t0" -v b="$treq" 'BEGIN { printf "%.2f", b - a }') s after device_del, nvpoll-perf ended $t_exit s after it"
		else
			bad "no 'Relaying device request' for $bdf in dmesg"
		fi
	fi
	awk -v t="$t_exit" 'BEGIN { exit !(t <= 5) }' || bad "nvpoll-perf took $t_exit s (> 5 s) to end"
else
	bad "nvpoll-perf on $bdf still runs 15 s after device_del"
	kill -9 "$pid"
	show "$tmp/perf.err"
fi
if wait_gone "$bdf" 10; then
	ok "$bdf left sysfs $(since "$t0") s after device_del"
else
	bad "$bdf still in sysfs 10 s after device_del"
fi

# ---- nvr2: a second controller in the same process keeps working
want_event=()
want_event=(--want-event) # vfio: the request; uio: sysfs going away
if build/test-vm/vm_unplug --device-id nvr2 "${want_event[@]}" 0000:02:00.0 "$keep" >"$tmp/unplug.out" 2>&1; then
	ok "vm_unplug: $(grep -h 'removal started' "$tmp/unplug.out" | sed 's/^vm_unplug: //')"
	ok "vm_unplug: $(grep -h 'checked' "$tmp/unplug.out" | sed 's/^vm_unplug: //')"
else
	bad "vm_unplug (0000:02:00.0 removed, $keep kept)"
	show "$tmp/unplug.out"
fi

# ---- nvr3: fio with nvpoll's ioengine ends the job with an error
bdf=0000:03:00.0
fio --name=unplug --ioengine=external:"$PWD/build/nvpoll-fio.so" --thread=1 --filename="${bdf//:/.}/ns=1" \
	--rw=randread --bs=4k --iodepth=16 --time_based=1 --runtime=120 \
	--output-format=json --output="$tmp/fio.json" >"$tmp/fio.err" 2>&1 &
pid=$!
sleep 4
t0=$(now)
unplug nvr3
if wait_exit "$pid" 20; then
	wait "$pid"
	rc=$?
	if [ "$rc" != 0 ] && python3 - "$tmp/fio.json" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
jobs = json.loads(text[text.index("{"):])["jobs"]
sys.exit(0 if jobs and all(j["error"] for j in jobs) else 1)
EOF
	then
		ok "fio on $bdf: device_del -> job ended with an error, fio exit $rc, in $(since "$t0") s"
	else
		bad "fio on $bdf: exit $rc, job error not reported"
		show "$tmp/fio.err"
	fi
else
	bad "fio on $bdf still runs 20 s after device_del"
	kill -9 "$pid"
fi
wait_gone "$bdf" 10 || bad "$bdf still in sysfs 10 s after device_del"

blocked_after=$(blocked_lines)
if [ "$blocked_after" = "$blocked_before" ]; then
	ok "the kernel never logged 'blocked until released by user'"
else
	bad "the kernel logged 'blocked until released by user'"
	dmesg | grep -i "vfio\|blocked" | tail -n 10 | sed 's/^/  | /'
fi

# ---- nvr4: the control run: no request channel, the removal stays blocked
if [ "$mode" = vfio ]; then
	bdf=0000:04:00.0
	NVP_TEST_NO_DEVICE_REQUEST=1 build/nvpoll-perf "$bdf" -q 32 -w randread -t 120 \
		>"$tmp/perf.out" 2>"$tmp/perf.err" &
	pid=$!
	wait_started
	unplug nvr4
	sleep 8
	if kill -0 "$pid" 2>/dev/null && present "$bdf" && [ "$(blocked_lines)" != "$blocked_after" ]; then
		ok "control: without the request channel, nvpoll-perf runs on and the removal is blocked 8 s later"
	else
		bad "control: without the request channel the removal was not blocked (so the test above proves nothing)"
		show "$tmp/perf.err"
	fi
	kill -INT "$pid" 2>/dev/null
	wait_exit "$pid" 15 || kill -9 "$pid"
	wait "$pid" 2>/dev/null
	wait_gone "$bdf" 10 && ok "control: $bdf left sysfs once nvpoll-perf ended" ||
		bad "control: $bdf still in sysfs after nvpoll-perf ended"
fi

[ "$fails" = 0 ] && echo "guest-unplug ($mode): all passed" || echo "guest-unplug ($mode): $fails failed"
[ "$fails" = 0 ]
