#!/usr/bin/env bash
# Guest smoke test: is the controller that scripts/vm.sh promised really there
# and bound the way NVP_DRIVER says?  Run it as
#   scripts/vm.sh [--driver vfio-pci|uio_pci_generic|nvme] -- test/vm/smoke.sh
set -euo pipefail

failed=0

# check WHAT CMD...: runs CMD, prints "ok WHAT" or "FAIL WHAT".
check() {
    local what=$1
    shift
    if "$@"; then
        printf 'ok   %s\n' "$what"
    else
        printf 'FAIL %s\n' "$what"
        failed=1
    fi
}

# The basename of a sysfs symlink, or nothing when it does not exist.
link_name() {
    [[ -e $1 ]] && basename "$(readlink "$1")"
    return 0
}

# The first path a glob matches, or nothing.
first() {
    [[ -e $1 ]] && printf '%s\n' "$1"
    return 0
}

check_controller() {
    local bdf=$1 dev=/sys/bus/pci/devices/$1 node want=$NVP_DRIVER
    check "$bdf exists" test -e "$dev"
    check "$bdf is an NVMe controller (class 0x010802)" grep -qx 0x010802 "$dev/class"
    # vm.sh --driver none leaves the controller unbound.
    [[ $want != none ]] || want=""
    check "$bdf is bound to NVP_DRIVER=$NVP_DRIVER" test "$(link_name "$dev/driver")" = "$want"
    case $NVP_DRIVER in
        vfio-pci)
            node=/dev/vfio/$(link_name "$dev/iommu_group")
            check "$bdf: $node (its IOMMU group) is a char device" test -c "$node"
            check "/dev/vfio/vfio (the type1 container) exists" test -c /dev/vfio/vfio
            ;;
        uio_pci_generic)
            node=$(first "$dev"/uio/uio*)
            check "$bdf: /dev/${node##*/} (its uio node) exists" test -n "$node" -a -c "/dev/${node##*/}"
            ;;
        nvme)
            node=$(first "$dev"/nvme/nvme*/nvme*n1)
            check "$bdf: /dev/${node##*/} (its first namespace) exists" test -n "$node" -a -b "/dev/${node##*/}"
            ;;
    esac
}

check "running in the vm.sh guest (NVP_VM=1)" test "${NVP_VM:-}" = 1
check "NVP_BDF is set (${NVP_BDF:-unset})" test -n "${NVP_BDF:-}"
if ((failed)); then
    echo "smoke: not in the guest; run it through scripts/vm.sh"
    exit 1
fi
for bdf in ${NVP_BDFS:-$NVP_BDF}; do
    check_controller "$bdf"
done
hugepages=$(awk '/^HugePages_Total/ { print $2 }' /proc/meminfo)
check "hugepages reserved ($hugepages)" test "$hugepages" -gt 0
check "hugetlbfs mounted at /dev/hugepages" grep -q ' /dev/hugepages hugetlbfs ' /proc/mounts

if ((failed)); then
    echo "smoke: FAILED"
    exit 1
fi
echo "smoke: all checks passed"
