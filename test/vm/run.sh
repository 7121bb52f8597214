#!/usr/bin/env bash
# Guest integration tests: each case boots a QEMU guest (scripts/vm.sh) with
# a given emulated NVMe controller and runs a guest-side script in it.
# Prints each case's time; fails if any case fails. Nothing is skipped: a
# missing prerequisite is a failure, with the harness's message.
set -uo pipefail
cd "$(dirname "$0")/../.."
vm=scripts/vm.sh
failed=()

run_case() { # NAME VM-OPTIONS... -- GUEST-CMD...
	local name=$1; shift
	local start rc
	start=$(date +%s)
	echo "=== vmtest: $name"
	"$vm" "$@"
	rc=$?
	if [ "$rc" = 0 ]; then
		echo "=== PASS $name ($(($(date +%s) - start)) s)"
	else
		echo "=== FAIL $name (exit $rc, $(($(date +%s) - start)) s)"
		failed+=("$name")
	fi
}

# 64 MiB of 512 B blocks, MDTS 7 (QEMU's default: 512 KiB), through vfio-pci.
run_case "vfio-pci, 512 B blocks" --disk-size 64M -- \
	test/vm/guest-spine.sh nvpoll-vm0 131072 --rebind-checks
# 4 KiB blocks and a small MDTS (32 KiB), so PRP lists and splits get exercised differently.
run_case "vfio-pci, 4 KiB blocks, mdts=3" --disk-size 64M \
	--nvme-opts "mdts=3,logical_block_size=4096,physical_block_size=4096" -- \
	test/vm/guest-spine.sh nvpoll-vm0 16384

if [ "${#failed[@]}" -gt 0 ]; then
	echo "vmtest: failed: ${failed[*]}"
	exit 1
fi
echo "vmtest: all passed"
