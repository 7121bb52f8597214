#!/usr/bin/env bash
# Runs inside the QEMU guest (scripts/vm.sh --driver nvme) with two emulated
# controllers on the kernel nvme driver: NVP_BDF, which stays free, and a
# second one whose namespace gets a mounted ext4 filesystem here.  Checks
# scripts/setup.sh end to end: it binds only the free controller, never the
# one in use, changes nothing when run twice, reports both in status --json,
# lets an unprivileged user (nobody, via TARGET_USER) open the device,
# reports a forced doctor failure with its fix, and reset undoes it all.
#
# usage: guest-setup.sh   (see the run_case line in test/vm/run.sh)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 125
setup=scripts/setup.sh
nvpoll=build/nvpoll
nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
tmp=$(mktemp -d)
mnt=$tmp/mnt
read -r free busy _ <<<"${NVP_BDFS:-}"
fails=0
start=$SECONDS

cleanup() {
    swapoff -a 2>/dev/null
    umount "$mnt" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

check() { # NAME CMD...: run CMD, report with its time
    local name=$1 t0=$EPOCHREALTIME
    shift
    if "$@"; then
        printf 'ok   - %s (%s s)\n' "$name" "$(elapsed "$t0")"
    else
        printf 'FAIL - %s (%s s)\n' "$name" "$(elapsed "$t0")"
        fails=$((fails + 1))
    fi
}

elapsed() { # since EPOCHREALTIME $1, in seconds with one decimal
    local us=$((${EPOCHREALTIME/./} - ${1/./}))
    printf '%d.%d' $((us / 1000000)) $((us / 100000 % 10))
}

# Runs setup.sh with VAR=VALUE... settings; its output goes to $tmp/out.
run_setup() {
    local -a vars=()
    while [[ $1 == *=* ]]; do vars+=("$1"); shift; done
    env "${vars[@]}" "$setup" "$@" >"$tmp/out" 2>&1
}

# Everything here reads files with bash builtins: in the emulated guest each
# exec costs a tenth of a second.
said() { # PATTERN: the last setup.sh output matches (ERE)
    [[ $(<"$tmp/out") =~ $1 ]] && return 0
    echo "  no match for: $1"
    show
    return 1
}

show() { # the last setup.sh output, indented
    local line
    while IFS= read -r line; do echo "  | $line"; done <"$tmp/out"
}

attr() { # FILE: its first line
    local v=""
    [[ -r $1 ]] && IFS= read -r v <"$1"
    printf '%s\n' "$v"
}

driver_of() {
    local line
    while IFS= read -r line; do
        [[ $line != DRIVER=* ]] || { echo "${line#DRIVER=}"; return; }
    done <"/sys/bus/pci/devices/$1/uevent"
}

disk_of() { # BDF: its first namespace's block device, while nvme has it
    local d
    for d in /sys/bus/pci/devices/"$1"/nvme/nvme*/nvme*n1; do
        [[ -e $d ]] && echo "${d##*/}"
    done
    return 0
}

# What config or reset may change; equal snapshots mean nothing changed.
snapshot() {
    local b
    for b in $free $busy; do
        echo "$b $(driver_of "$b") $(attr "/sys/bus/pci/devices/$b/driver_override")"
    done
    attr "$nr"
    [[ ! -f /run/nvpoll-setup/state ]] || echo "$(</run/nvpoll-setup/state)"
    for b in /dev/vfio/* /dev/hugepages; do
        if [[ -O $b ]]; then echo "$b root"; else echo "$b other"; fi
    done
    echo "$(</proc/mounts)"
}

# ---------------------------------------------------------------- checks

make_busy() {
    busy_disk=$(disk_of "$busy")
    [[ -n $busy_disk ]] && mkfs.ext4 -q -F "/dev/$busy_disk" && mkdir -p "$mnt" &&
        mount "/dev/$busy_disk" "$mnt" && echo keep >"$mnt/data"
}

help_usage() { run_setup help && said "^usage: scripts/setup.sh"; }

rejects() { # PATTERN VAR=VALUE... ARGS...: fails, says PATTERN, changes nothing
    local pattern=$1 before
    shift
    before=$(snapshot)
    if run_setup "$@"; then echo "  unexpectedly succeeded"; return 1; fi
    said "$pattern" && [[ $(snapshot) == "$before" ]]
}

both_on_nvme() { [[ $(driver_of "$free") == nvme && $(driver_of "$busy") == nvme ]]; }

config_blocked() {
    run_setup PCI_BLOCKED="$free" HUGEMEM=512 config && said "$free: skipped \(in PCI_BLOCKED\)" &&
        said "$busy: in use" && both_on_nvme && [[ ! -s /run/nvpoll-setup/state ]]
}

config_allowed() {
    run_setup PCI_ALLOWED="${busy#0000:}" HUGEMEM=512 config &&
        said "$free: skipped \(not in PCI_ALLOWED\)" && said "$busy: in use" && both_on_nvme
}

config_main() {
    run_setup HUGEMEM=600 HUGENODE=0 TARGET_USER=nobody config || { show; return 1; }
    cp "$tmp/out" "$tmp/config.out"
    show
    [[ $(driver_of "$free") == vfio-pci && $(driver_of "$busy") == nvme ]] &&
        said "$free: bound to vfio-pci \(was nvme\)" && said "300 x 2048 KiB on NUMA node 0 \(was 256\)" &&
        said "$busy: in use, left on nvme: $busy_disk is mounted on $mnt" &&
        [[ $(attr "$nr") == 300 && $(stat -c %U /dev/vfio/3) == nobody ]]
}

config_again() {
    local before
    before=$(snapshot)
    run_setup HUGEMEM=600 HUGENODE=0 TARGET_USER=nobody config && said "$free: already bound to vfio-pci" &&
        [[ $(snapshot) == "$before" ]]
}

status_json() {
    "$setup" status --json >"$tmp/status.json" || return 1
    /usr/bin/python3 - "$tmp/status.json" "$free" "$busy" "$busy_disk" "$mnt" <<'EOF'
import json, sys
path, free, busy, disk, mnt = sys.argv[1:]
s = json.load(open(path))
c = {x["bdf"]: x for x in s["controllers"]}
assert set(c) == {free, busy}, c
f, b = c[free], c[busy]
assert f["driver"] == "vfio-pci" and f["iommu_group"] == 3 and f["group_viable"] is True, f
assert f["bound_by_setup"] is True and f["block_devices"] == [] and f["in_use"] == [], f
assert b["driver"] == "nvme" and b["iommu_group"] == 4 and b["bound_by_setup"] is False, b
assert disk in b["block_devices"], b
assert {"device": disk, "mountpoint": mnt} in b["mounts"], b
assert any("mounted on " + mnt in u for u in b["in_use"]), b
hp = [h for h in s["hugepages"] if h["node"] is None and h["size_kb"] == 2048]
assert hp and hp[0]["total"] == 300, s["hugepages"]
assert s["iommu"]["enabled"] is True and s["vfio"]["vfio_pci"] == "loaded", s
assert s["vfio"]["container"] is True and "/dev/hugepages" in s["hugetlbfs"], s
assert s["memlock"][0]["user"] == "root", s["memlock"]
EOF
}

status_text() {
    "$setup" status >"$tmp/out" 2>&1 && said "$free  vfio-pci .*IOMMU group 3 \(viable\)" &&
        said "in use: $busy_disk is mounted on $mnt"
}

status_unprivileged() {
    setpriv --reuid=65534 --regid=65534 --clear-groups "$setup" status >"$tmp/out" 2>&1 &&
        said "$free  vfio-pci .*\[bound by setup.sh\]" && said "memlock of nobody: 8192 KiB"
}

identify_root() {
    "$nvpoll" identify "$free" >"$tmp/out" 2>&1 && said "sn +: nvpoll-vm0"
}

# nobody gets the memlock limit that config told it to put in limits.conf
# (the guest's /etc is read-only; ulimit stands in for pam_limits).
identify_nobody() {
    local kib=""
    [[ $(<"$tmp/config.out") =~ nobody\ -\ memlock\ ([0-9]+) ]] && kib=${BASH_REMATCH[1]}
    [[ $kib == 614400 ]] || { echo "  no limits.conf line for nobody in config's output"; return 1; }
    (ulimit -l "$kib" && setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$nvpoll" identify "$free" >"$tmp/out" 2>&1) && said "sn +: nvpoll-vm0"
}

identify_nobody_denied() { # before TARGET_USER gave it the group
    chown root /dev/vfio/3
    ! setpriv --reuid=65534 --regid=65534 --clear-groups "$nvpoll" identify "$free" >"$tmp/out" 2>&1 &&
        said "permission denied.*TARGET_USER"
    local rc=$?
    chown nobody /dev/vfio/3
    return $rc
}

doctor_ok() {
    run_setup doctor && said "ok   $busy is in use, left on nvme" && said "doctor: all checks passed"
}

doctor_memlock() {
    ! run_setup TARGET_USER=nobody doctor &&
        said "FAIL the memlock limit of nobody \(8192 KiB\) is below the 600 MiB" &&
        said "fix: echo 'nobody - memlock 614400' >> /etc/security/limits.conf"
}

doctor_no_hugepages() {
    local rc=0
    echo 0 >"$nr"
    ! run_setup doctor && said "FAIL no 2 MiB hugepages are reserved" &&
        said "fix: scripts/setup.sh config" || rc=1
    echo 300 >"$nr"
    return $rc
}

reset_main() {
    run_setup reset || { show; return 1; }
    show
    said "$free: returned to nvme" && [[ $(driver_of "$free") == nvme ]] &&
        wait_disk "$free" && [[ $(attr "$nr") == 256 && ! -e /run/nvpoll-setup/state && -O /dev/hugepages ]]
}

wait_disk() { # BDF: its /dev/nvmeXn1 comes back
    local i d
    for ((i = 1; i <= 100; i++)); do
        d=$(disk_of "$1")
        [[ -n $d && -b /dev/$d ]] && { echo "  $1: /dev/$d is back after $((i / 10)).$((i % 10)) s"; return 0; }
        sleep 0.1
    done
    return 1
}

busy_untouched() {
    [[ $(driver_of "$busy") == nvme && $(attr "$mnt/data") == keep && -n $(disk_of "$busy") ]] &&
        grep -q " $mnt ext4 " /proc/mounts
}

reset_again() {
    local before
    before=$(snapshot)
    run_setup reset && said "reset: nothing to undo" && [[ $(snapshot) == "$before" ]]
}

uio_override() {
    run_setup DRIVER_OVERRIDE=uio_pci_generic PCI_ALLOWED="$free" HUGEMEM=0 config &&
        [[ $(driver_of "$free") == uio_pci_generic ]] && compgen -G "/dev/uio*" >/dev/null &&
        said "$free: the IOMMU translates its DMA.*iommu=pt" &&
        run_setup reset && [[ $(driver_of "$free") == nvme ]]
}

swap_refused() {
    umount "$mnt" && mkswap -f "/dev/$busy_disk" >/dev/null 2>&1 && swapon "/dev/$busy_disk" || return 1
    run_setup PCI_ALLOWED="$busy" HUGEMEM=0 config && said "$busy: in use.*$busy_disk is an active swap device" &&
        [[ $(driver_of "$busy") == nvme ]]
    local rc=$?
    swapoff "/dev/$busy_disk"
    return $rc
}

# ---------------------------------------------------------------- the run

check "two controllers: $free (free) and $busy" test -n "$busy"
check "ext4 on $busy's namespace, mounted" make_busy
check "help shows the usage" help_usage
check "unknown command: clear error, nothing changed" rejects "unknown command 'frobnicate'" frobnicate
check "HUGEMEM=lots: clear error, nothing changed" rejects "HUGEMEM='lots'" HUGEMEM=lots config
check "HUGEMEM past the memory: clear error, nothing changed" rejects "set HUGEMEM lower" HUGEMEM=100000 config
check "HUGENODE=7: clear error, nothing changed" rejects "no NUMA node 7" HUGENODE=7 config
check "PCI_ALLOWED not a controller: clear error, nothing changed" \
    rejects "0000:00:09.0 is not an NVMe controller" PCI_ALLOWED=0000:00:09.0 config
check "PCI_BLOCKED malformed: clear error, nothing changed" rejects "'banana' is not a PCI address" \
    PCI_BLOCKED=banana config
check "DRIVER_OVERRIDE=nvme: clear error, nothing changed" rejects "DRIVER_OVERRIDE='nvme'" DRIVER_OVERRIDE=nvme config
check "TARGET_USER unknown: clear error, nothing changed" rejects "no such user" TARGET_USER=nosuchuser config
check "PCI_BLOCKED=$free: nothing bound" config_blocked
check "PCI_ALLOWED=$busy: the in-use one is still refused" config_allowed
check "config binds $free only, names $busy as in use" config_main
check "config twice changes nothing" config_again
check "status --json reports both controllers" status_json
check "status (text) reports both controllers" status_text
check "status runs unprivileged (as nobody)" status_unprivileged
check "nvpoll identify $free as root" identify_root
check "nobody without TARGET_USER's chown: permission denied" identify_nobody_denied
check "nvpoll identify $free as nobody (TARGET_USER, limits.conf line)" identify_nobody
check "driver guest tests on the bound controller" test/vm/guest-spine.sh nvpoll-vm0 131072
check "doctor passes after config" doctor_ok
check "doctor: nobody's memlock too low, with its fix" doctor_memlock
check "doctor: no hugepages, with its fix" doctor_no_hugepages
check "reset returns $free to nvme, releases hugepages" reset_main
check "$busy untouched: still mounted, data intact" busy_untouched
check "reset twice changes nothing" reset_again
check "DRIVER_OVERRIDE=uio_pci_generic binds, reset undoes it" uio_override
check "active swap on $busy is refused" swap_refused
echo "guest-setup: $fails failed ($((SECONDS - start)) s)"
[[ $fails == 0 ]]
