#!/usr/bin/env bash
# Runs inside the QEMU guest (scripts/vm.sh), with the emulated controller
# bound to vfio-pci and its address in NVP_BDF. Checks the driver end to end
# against a real (emulated) controller through real vfio-pci.
#
# usage: guest-spine.sh EXPECTED_SERIAL EXPECTED_NSZE [--rebind-checks]
set -euo pipefail
serial=$1 nsze=$2 rebind=${3:-}
cd "$(dirname "$0")/../.."
nvpoll=build/nvpoll
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # NAME CMD...: run CMD, report
	local name=$1; shift
	if "$@"; then echo "ok   - $name"; else echo "FAIL - $name"; fails=$((fails + 1)); fi
}

identify_json() {
	"$nvpoll" identify "$NVP_BDF" --json >"$tmp/id.json" || return 1
	cat "$tmp/id.json"
	grep -q "\"sn\":\"$serial\"" "$tmp/id.json" && grep -q "\"nsze\":$nsze," "$tmp/id.json" &&
		grep -q '"backend":"vfio-pci"' "$tmp/id.json"
}

cli_roundtrip() { # 1 MiB + 512 B through write and read: more than MDTS, so the CLI splits it
	local blocks
	blocks=$(sed -n 's/.*"lba_size":\([0-9]*\).*/\1/p' "$tmp/id.json")
	head -c $((2051 * blocks)) /dev/urandom >"$tmp/in"
	"$nvpoll" write "$NVP_BDF" --nsid 1 --slba 1000 --nlb 2051 --data "$tmp/in" &&
		"$nvpoll" read "$NVP_BDF" --nsid 1 --slba 1000 --nlb 2051 --data "$tmp/out" &&
		cmp "$tmp/in" "$tmp/out"
}

shadow_verify() { # QD: random reads and writes through shadow doorbells, every block checked
	build/nvpoll-perf "$NVP_BDF" --shadow-doorbells -w randrw --verify -q "$1" -t 2 --range 8M \
		>"$tmp/perf.out" 2>&1 || { sed 's/^/  | /' "$tmp/perf.out"; return 1; }
	grep "I/Os" "$tmp/perf.out"
	grep -q "shadow doorbells" "$tmp/perf.out" # the controller took the buffers
}

expect_error() { # PATTERN CMD...: CMD must fail and say PATTERN
	local pattern=$1; shift
	if "$@" >"$tmp/err" 2>&1; then echo "  unexpectedly succeeded: $*"; return 1; fi
	sed 's/^/  | /' "$tmp/err"
	grep -q -- "$pattern" "$tmp/err"
}

rebind() { # DRIVER
	local dev=/sys/bus/pci/devices/$NVP_BDF
	echo "$1" >"$dev/driver_override"
	[ -e "$dev/driver" ] && echo "$NVP_BDF" >"$dev/driver/unbind"
	echo "$NVP_BDF" >/sys/bus/pci/drivers_probe
	for _ in $(seq 100); do
		[ "$(basename "$(readlink "$dev/driver" 2>/dev/null)")" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

check "identify --json shows the controller QEMU was given" identify_json
check "driver tests (vm_rw)" build/test-vm/vm_rw "$NVP_BDF" "$serial" "$nsze"
check "driver tests with shadow doorbells (vm_rw)" \
	build/test-vm/vm_rw "$NVP_BDF" "$serial" "$nsze" --shadow-doorbells
check "shadow doorbells, QD1 randrw --verify (nvpoll-perf)" shadow_verify 1
check "shadow doorbells, QD32 randrw --verify (nvpoll-perf)" shadow_verify 32
check "CLI write then read of 2051 blocks is identical" cli_roundtrip
check "CLI data survives close and reopen" bash -c \
	"'$nvpoll' read '$NVP_BDF' --nsid 1 --slba 1000 --nlb 2051 --data '$tmp/again' && cmp '$tmp/in' '$tmp/again'"
check "nonexistent BDF gives a clear error" expect_error "no PCI device" "$nvpoll" identify 0000:0f:1f.7
check "malformed BDF gives a clear error" expect_error "not a device URI" "$nvpoll" identify 0000:zz:00.0
check "LBA past the end is refused by the CLI" expect_error "past the end" \
	"$nvpoll" read "$NVP_BDF" --nsid 1 --slba "$nsze" --nlb 1 --data "$tmp/x"
check "inactive namespace is refused" expect_error "not active" \
	"$nvpoll" identify "$NVP_BDF" --nsid 77
if [ "$rebind" = --rebind-checks ]; then
	check "rebind to the kernel nvme driver" rebind nvme
	check "the kernel's namespace nodes appear" bash -c \
		"for i in \$(seq 100); do ls /sys/bus/pci/devices/$NVP_BDF/nvme/nvme*/ng* >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1"
	check "bound to nvme: opens through the kernel's io_uring_cmd, data intact" bash -c \
		"'$nvpoll' identify '$NVP_BDF' | grep -q '^backend  : io_uring_cmd' &&
		 '$nvpoll' read '$NVP_BDF' --nsid 1 --slba 1000 --nlb 2051 --data '$tmp/kernel' && cmp '$tmp/in' '$tmp/kernel'"
	check "bound to nvme, --be vfio-pci: a clear error naming nvpoll-setup" \
		expect_error "bound to nvme.*nvpoll-setup config" "$nvpoll" --be vfio-pci identify "$NVP_BDF"
	check "rebind to vfio-pci" rebind vfio-pci
	check "data written before the kernel driver took the device is still there" bash -c \
		"'$nvpoll' read '$NVP_BDF' --nsid 1 --slba 1000 --nlb 2051 --data '$tmp/again2' && cmp '$tmp/in' '$tmp/again2'"
fi
echo "guest-spine: $fails failed"
[ "$fails" = 0 ]
