#!/usr/bin/env bash
# Runs inside the QEMU guest (scripts/vm.sh --driver nvme), with a second
# controller in an nvme-subsys whose namespace 1 is attached and namespace 2
# is not (nvme-ns ...,detached=true): Namespace Attachment through vfio-pci.
#   - the kernel nvme driver sees namespace 1 alone;
#   - nvpoll through vfio-pci: list-ns without 2, list-ns --all with it,
#     list-ctrl naming the controller's CNTLID, I/O to namespace 2 refused;
#   - attach-ns: listed and readable; attaching again is Namespace Already
#     Attached; after a rebind the kernel has a node for namespace 2;
#   - detach-ns: gone from list-ns; after a rebind the kernel has no node
#     for it.
#
# usage: guest-nsattach.sh BDF (the subsystem's controller)
set -uo pipefail
bdf=${1:?usage: guest-nsattach.sh BDF}
cd "$(dirname "$0")/../.." || exit 1
nvpoll=build/nvpoll
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

CHECK_TAIL=8
# shellcheck source=test/vm/lib.sh
. test/vm/lib.sh

# The nsids the kernel has nodes for under the controller at $bdf, e.g. "1 2", once
# namespace 1's node is there (the kernel scans a controller's namespaces after probe).
kernel_nsids() {
	local b ids i
	for ((i = 0; i < 100; i++)); do
		ids=""
		for b in /sys/bus/pci/devices/"$bdf"/nvme/nvme*/nvme*n*; do
			[ -r "$b/nsid" ] || continue
			ids="$ids $(cat "$b/nsid")"
		done
		ids=$(tr ' ' '\n' <<<"$ids" | sed '/^$/d' | sort -n | tr '\n' ' ')
		case " $ids" in *" 1 "*) sleep 0.5; break ;; esac
		sleep 0.1
	done
	# Read again after the pause: a namespace scanned late shows up too.
	ids=""
	for b in /sys/bus/pci/devices/"$bdf"/nvme/nvme*/nvme*n*; do
		[ -r "$b/nsid" ] && ids="$ids $(cat "$b/nsid")"
	done
	tr ' ' '\n' <<<"$ids" | sed '/^$/d' | sort -n | tr '\n' ' ' | sed 's/ $//'
}

expect_kernel() { # NSIDS: the kernel's namespaces of $bdf are exactly these
	local got
	got=$(kernel_nsids)
	echo "kernel nvme driver: namespaces of $bdf: ${got:-none}"
	[ "$got" = "$1" ]
}

check "the kernel nvme driver has namespace 1 of $bdf, not the detached 2" expect_kernel "1"
check "rebind $bdf to vfio-pci" rebind "$bdf" vfio-pci
check "list-ns: namespace 1 only" bash -c \
	"'$nvpoll' list-ns '$bdf' -o json | tee /dev/stderr | grep -qx '{\"nsid_list\":\[{\"nsid\":1}\]}'"
check "list-ns --all: namespaces 1 and 2" bash -c \
	"'$nvpoll' list-ns '$bdf' --all -o json | tee /dev/stderr | grep -qx '{\"nsid_list\":\[{\"nsid\":1},{\"nsid\":2}\]}'"
cntlid=$("$nvpoll" id-ctrl "$bdf" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cntlid"])')
check "list-ctrl: the subsystem has this controller (CNTLID $cntlid); namespace 2 is attached to none" bash -c \
	"'$nvpoll' list-ctrl '$bdf' -o json | tee /dev/stderr | grep -q '{\"ctrl_id\":$cntlid}' &&
	 '$nvpoll' list-ctrl '$bdf' -n 2 | tee /dev/stderr | grep -qx 'num of ctrls present: 0'"
check "a read of namespace 2 is refused by the controller (exit 1, its status named)" \
	expect_error "io-passthru failed: Invalid" "$nvpoll" io-passthru "$bdf" --nsid 2 --opcode 2 --data-len 512 --read -b
check "attach-ns -n 2 (to this controller)" expect_out "^attach-ns: Success, nsid:2$" "$nvpoll" attach-ns "$bdf" -n 2
check "list-ns: namespaces 1 and 2; namespace 2 reads" bash -c \
	"'$nvpoll' list-ns '$bdf' | tee /dev/stderr | grep -q '^\[   1\]:0x2 ' &&
	 '$nvpoll' read '$bdf' --nsid 2 --slba 0 --nlb 8 --data '$tmp/r' && [ \$(stat -c %s '$tmp/r') = 4096 ]"
check "attach-ns -n 2 again: Namespace Already Attached (exit 1)" \
	expect_error "Namespace Already Attached" "$nvpoll" attach-ns "$bdf" -n 2 -c "$cntlid"
check "rebind $bdf to nvme" rebind "$bdf" nvme
check "the kernel nvme driver now has namespaces 1 and 2" expect_kernel "1 2"
check "rebind $bdf to vfio-pci" rebind "$bdf" vfio-pci
check "detach-ns -n 2 -c $cntlid" expect_out "^detach-ns: Success, nsid:2$" "$nvpoll" detach-ns "$bdf" -n 2 -c "$cntlid"
check "list-ns: namespace 1 only again" bash -c \
	"'$nvpoll' list-ns '$bdf' -o json | tee /dev/stderr | grep -qx '{\"nsid_list\":\[{\"nsid\":1}\]}'"
check "rebind $bdf to nvme" rebind "$bdf" nvme
check "the kernel nvme driver has namespace 1 only again" expect_kernel "1"

echo "guest-nsattach: $fails failed"
[ "$fails" = 0 ]
