#!/usr/bin/env bash
# Runs inside the QEMU guest (scripts/vm.sh): the backend configs, their
# automatic choice, their refusals, and discovery, against real bindings.
#
# usage: guest-backends.sh mixed|uio|libc|numa
#   mixed  booted --driver vfio-pci with iommu=pt and two controllers (the
#          second with several namespaces of different LBA sizes): the
#          second is rebound to uio_pci_generic, so one process drives a
#          vfio-pci and a uio-generic controller at once; then the IOMMU is
#          made to translate for it (refused), and it is handed to nvme and
#          to no driver (refused, with the setup.sh hint).
#   uio    booted --driver uio_pci_generic --iommu off, two controllers.
#   libc   booted --driver vfio-pci --hugepages 0: mem=libc works, the
#          hugepages default fails with its message.
#   numa   booted with two NUMA nodes and a second controller on node 1
#          (behind a pxb-pcie), iommu=pt: DMA memory follows the device's
#          node through vfio-pci and uio-generic, and opts.numa_node wins.
set -euo pipefail
mode=$1
cd "$(dirname "$0")/../.."
nvpoll=build/nvpoll
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
read -r -a bdfs <<<"$NVP_BDFS"

# shellcheck source=test/vm/lib.sh
. test/vm/lib.sh

# The group's default domain can change only while no driver is bound.
set_domain() { # BDF TYPE DRIVER
	local grp
	grp=$(readlink -f "/sys/bus/pci/devices/$1/iommu_group")
	rebind "$1" "" && echo "$2" >"$grp/type" && rebind "$1" "$3" && grep -qx "$2" "$grp/type"
}

json_has() { # FILE PATTERN...: every PATTERN (fixed string) is in FILE
	local f=$1; shift
	for p in "$@"; do grep -qF -- "$p" "$f" || { echo "missing in $f: $p"; return 1; }; done
}

list_json() { # PATTERN...: nvpoll list --json has each
	"$nvpoll" list --json >"$tmp/list.json" || return 1
	cat "$tmp/list.json"
	json_has "$tmp/list.json" "$@"
}

backend_of() { # BDF BACKEND [nvpoll options]: identify --json says which config opened it
	expect_out "\"backend\":\"$2\"" "$nvpoll" identify "$1" --json "${@:3}"
}

multi() { # LINE... -- vm_multi ARGS...: vm_multi passes and prints every LINE (regex)
	local want=()
	while [ "$1" != -- ]; do want+=("$1"); shift; done
	shift
	"$@" >"$tmp/m" 2>&1 || { cat "$tmp/m"; return 1; }
	cat "$tmp/m"
	for w in "${want[@]}"; do grep -Eq -- "$w" "$tmp/m" || { echo "(expected: $w)"; return 1; }; done
}

cli_roundtrip() { # DEVICE [nvpoll options]: 300 blocks through write and read
	local dev=$1 lbs; shift
	lbs=$("$nvpoll" identify "$dev" --nsid 1 --json "$@" | sed -n 's/.*"lba_size":\([0-9]*\).*/\1/p')
	head -c $((300 * lbs)) /dev/urandom >"$tmp/in"
	"$nvpoll" write "$dev" --nsid 1 --slba 77 --nlb 300 --data "$tmp/in" "$@" &&
		"$nvpoll" read "$dev" --nsid 1 --slba 77 --nlb 300 --data "$tmp/back" "$@" &&
		cmp "$tmp/in" "$tmp/back"
}

case $mode in
mixed)
	c0=${bdfs[0]} c1=${bdfs[1]}
	check "second controller rebound to uio_pci_generic" rebind "$c1" uio_pci_generic
	check "list-backends: vfio-pci, uio-generic and sim usable" \
		expect_out '^uio-generic +yes' "$nvpoll" list-backends
	check "list --json shows both controllers, their drivers and usable configs" list_json \
		"{\"bdf\":\"$c0\",\"vendor_id\":\"1b36\",\"device_id\":\"0010\"" \
		"\"vendor\":\"Red Hat, Inc.\",\"device\":\"QEMU NVM Express Controller\"" \
		"\"driver\":\"vfio-pci\"" "\"backend\":\"vfio-pci\",\"usable\":[\"vfio-pci\"]" \
		"{\"bdf\":\"$c1\"" "\"driver\":\"uio_pci_generic\"" "\"iommu_type\":\"identity\"" \
		"\"backend\":\"uio-generic\",\"usable\":[\"uio-generic\"]" "\"numa_node\":"
	check "automatic choice: vfio-pci for the vfio-pci-bound controller" backend_of "$c0" vfio-pci
	check "automatic choice: uio-generic for the uio_pci_generic-bound one" backend_of "$c1" uio-generic
	check "NVP_BE=uio-generic overrides it, and fails on a vfio-pci-bound device, saying why" \
		expect_error "bound to vfio-pci, run nvpoll-setup config to hand it to uio_pci_generic (config uio-generic from NVP_BE" \
		env NVP_BE=uio-generic "$nvpoll" identify "$c0"
	check "--be vfio-pci on the uio-bound device fails, saying why" \
		expect_error "bound to uio_pci_generic, run nvpoll-setup config to hand it to vfio-pci" \
		"$nvpoll" identify "$c1" --be vfio-pci
	check "NVP_BE=uio-generic names the config that fits: it opens" \
		env NVP_BE=uio-generic "$nvpoll" identify "$c1"
	check "mem=libc with uio-generic is refused" \
		expect_error "uio-generic cannot use mem=libc: without an IOMMU" "$nvpoll" identify "$c1" --mem libc
	check "NVP_MEM=libc with uio-generic is refused" \
		expect_error "uio-generic cannot use mem=libc" env NVP_MEM=libc "$nvpoll" identify "$c1"
	check "driver tests (vm_rw) through uio-generic (iommu=pt)" build/test-vm/vm_rw "$c1"
	check "CLI write/read through uio-generic" cli_roundtrip "$c1"
	check "vfio-pci and uio-generic controllers, 5 namespaces of 512 B and 4 KiB, in one process" multi \
		"^ctrl 0 $c0: backend vfio-pci, sn nvpoll-vm0, 2 active" "^ctrl 1 $c1/ns=3: backend uio-generic, sn nvpoll-vm1, 3 active" \
		"^ns 0 nsid 1: lba 512" "^ns 0 nsid 2: lba 4096" "^ns 1 nsid 1: lba 512" "^ns 1 nsid 2: lba 512" \
		"^ns 1 nsid 3: lba 4096" "vm_multi: 2 controllers, all checks passed" -- \
		build/test-vm/vm_multi "$c0" "$c1/ns=3"
	check "an inactive namespace in the URI is refused" \
		expect_error "not active" "$nvpoll" identify "$c1/ns=9"
	check "IOMMU made to translate for the uio device (domain DMA)" set_domain "$c1" DMA uio_pci_generic
	check "uio-generic refuses a device the IOMMU translates for" \
		expect_error "the IOMMU translates DMA for IOMMU group [0-9]* (domain type DMA.*use vfio-pci" \
		"$nvpoll" identify "$c1"
	check "list says why it cannot be opened" list_json "\"usable\":[],\"reason\":\"$c1: the IOMMU translates"
	check "IOMMU back to passthrough" set_domain "$c1" identity uio_pci_generic
	check "rebind to the kernel nvme driver" rebind "$c1" nvme
	check "the kernel's namespace nodes appear" bash -c \
		"for i in \$(seq 100); do ls /sys/bus/pci/devices/$c1/nvme/nvme*/ng* >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1"
	check "bound to nvme: the automatic choice is the kernel's io_uring_cmd" backend_of "$c1" io_uring_cmd
	check "list: driver nvme, the kernel's configs can open it" list_json "\"driver\":\"nvme\"" \
		"\"backend\":\"io_uring_cmd\",\"usable\":[\"io_uring_cmd\",\"io_uring\",\"libaio\",\"psync\"]"
	check "bound to nvme, --be uio-generic: refused, naming nvpoll-setup" \
		expect_error "bound to nvme.*nvpoll-setup config" "$nvpoll" --be uio-generic identify "$c1"
	check "unbound" rebind "$c1" ""
	check "bound to nothing: automatic choice refuses, naming nvpoll-setup" \
		expect_error "not bound to any driver: run nvpoll-setup config" "$nvpoll" identify "$c1"
	check "the vfio-pci controller kept working through all that" cli_roundtrip "$c0"
	;;
uio)
	c0=${bdfs[0]} c1=${bdfs[1]}
	check "list-backends: vfio-pci unusable without IOMMU groups, uio-generic usable" \
		expect_out '^vfio-pci +no .*no IOMMU groups' "$nvpoll" list-backends
	grep -Eq '^uio-generic +yes' "$tmp/o" || { echo "FAIL - uio-generic not usable"; fails=$((fails + 1)); }
	check "list --json: both controllers on uio_pci_generic, no IOMMU group" list_json \
		"{\"bdf\":\"$c0\"" "{\"bdf\":\"$c1\"" "\"driver\":\"uio_pci_generic\",\"iommu_group\":null" \
		"\"backend\":\"uio-generic\",\"usable\":[\"uio-generic\"]"
	check "automatic choice: uio-generic" backend_of "$c0" uio-generic
	check "driver tests (vm_rw) through uio-generic, IOMMU off" build/test-vm/vm_rw "$c0" nvpoll-vm0 131072
	check "CLI write/read through uio-generic" cli_roundtrip "$c0"
	check "two uio-generic controllers, all namespaces, in one process" multi \
		"^ctrl 0 $c0: backend uio-generic" "^ctrl 1 $c1: backend uio-generic" "^ns 1 nsid 3: lba 4096" \
		"vm_multi: 2 controllers, all checks passed" -- build/test-vm/vm_multi "$c0" "$c1"
	check "NVP_BE=vfio-pci overrides the choice and says why it cannot" \
		expect_error "bound to uio_pci_generic, run nvpoll-setup config to hand it to vfio-pci (config vfio-pci from NVP_BE" \
		env NVP_BE=vfio-pci "$nvpoll" identify "$c0"
	check "mem=libc with uio-generic is refused" \
		expect_error "uio-generic cannot use mem=libc" "$nvpoll" identify "$c0" --mem libc
	;;
libc)
	c0=${bdfs[0]}
	check "no hugepages reserved" expect_out '^0$' cat /proc/sys/vm/nr_hugepages
	check "list-backends: uio-generic unusable without hugepages, vfio-pci usable" \
		expect_out '^uio-generic +no .*no 2 MiB hugepages reserved' "$nvpoll" list-backends
	check "the hugepages default fails with its message" \
		expect_error "no free 2 MiB hugepages.*nr_hugepages" "$nvpoll" identify "$c0"
	check "mem=libc opens through vfio-pci" backend_of "$c0" vfio-pci --mem libc
	check "CLI write/read with --mem libc" cli_roundtrip "$c0" --mem libc
	check "vm_multi with mem=libc" expect_out "vm_multi: 1 controllers, all checks passed" \
		build/test-vm/vm_multi --mem libc "$c0"
	check "NVP_MEM=libc is honoured (identify opens with no hugepages)" \
		env NVP_MEM=libc "$nvpoll" identify "$c0" ||
		echo "  (NVP_MEM not taken: lib/nvme/dev.c bring_up() must get the memory kind from nvp_be_mem_name())"
	check "driver tests (vm_rw) through vfio-pci with NVP_MEM=libc" \
		env NVP_MEM=libc build/test-vm/vm_rw "$c0" nvpoll-vm0 131072
	;;
numa)
	c1=${bdfs[1]}
	check "list --json: the second controller is on NUMA node 1" list_json \
		"{\"bdf\":\"$c1\",\"vendor_id\":\"1b36\"" "\"numa_node\":1,\"driver\":\"vfio-pci\""
	check "vfio-pci: DMA memory on the device's node" multi "^ctrl 0 $c1: backend vfio-pci.*on node 1$" \
		"all checks passed" -- build/test-vm/vm_multi "$c1"
	check "vfio-pci: opts.numa_node=0 wins" multi "^ctrl 0 $c1: backend vfio-pci.*on node 0$" \
		"all checks passed" -- build/test-vm/vm_multi --numa 0 "$c1"
	check "vfio-pci with mem=libc: DMA memory on the device's node" multi "^ctrl 0 $c1: .*on node 1$" \
		"all checks passed" -- build/test-vm/vm_multi --mem libc "$c1"
	check "rebound to uio_pci_generic" rebind "$c1" uio_pci_generic
	check "uio-generic: DMA memory on the device's node" multi "^ctrl 0 $c1: backend uio-generic.*on node 1$" \
		"all checks passed" -- build/test-vm/vm_multi "$c1"
	;;
*)
	echo "usage: guest-backends.sh mixed|uio|libc|numa" >&2
	exit 2
	;;
esac
echo "guest-backends $mode: $fails failed"
[ "$fails" = 0 ]
