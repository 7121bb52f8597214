#!/usr/bin/env bash
# Makes this machine ready for nvpoll in one step, undoes it in one step, and
# explains what it sees: hugepages, the vfio-pci (or uio_pci_generic) driver,
# and the NVMe controllers handed to it with driver_override.
#
# Safety first: a controller with a mounted filesystem, an active swap or a
# holder (LVM, md, dm) on any of its namespaces is never unbound, and reset
# undoes only what config did (recorded under /run, which a reboot clears just
# as it clears the bindings).  "scripts/setup.sh help" lists the commands and
# variables; they follow SPDK's and DPDK's setup scripts.
#
# sysfs and /proc are read with bash builtins, not cat/awk/readlink: in a
# rescue shell or an emulated test guest every exec costs a tenth of a second.
set -euo pipefail
# modprobe, swapon and friends live in sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

readonly PCI=/sys/bus/pci
readonly NVME_CLASS=0x010802
readonly HUGE_SYS=/sys/kernel/mm/hugepages
readonly NODE_SYS=/sys/devices/system/node
readonly STATE_DIR=/run/nvpoll-setup
readonly STATE=$STATE_DIR/state
# nvpoll takes its DMA memory from 2 MiB hugepages only.
readonly NVPOLL_PGSZ=2048
# Exit codes: 1 something failed, 2 the command line or a variable is wrong.
readonly EXIT_USAGE=2
# How to run us, in the commands we print: scripts/setup.sh in the source
# tree, nvpoll-setup once installed (make install).
SELF=$0
[[ $SELF != */sbin/* && $SELF != */bin/* ]] || SELF=${SELF##*/}
readonly SELF

usage() {
    cat <<EOF
usage: $SELF [config | reset | status [--json] | doctor | help]

Prepares this machine for nvpoll (config and reset need root).

  config          (the default) load vfio-pci, reserve hugepages, mount
                  hugetlbfs if none is mounted, and bind every allowed NVMe
                  controller that is not in use to vfio-pci
  reset           undo config: give the controllers it bound back to the
                  kernel nvme driver, release the hugepages it reserved
  status [--json] every NVMe controller (driver, NUMA node, IOMMU group and
                  its viability, block devices, mounts), hugepages per node
                  and size, IOMMU, vfio/iommufd, memlock limit
  doctor          check what nvpoll needs; print each failed check with the
                  command that fixes it (exit 1 if one fails)
  help            this text

Variables:
  HUGEMEM=MiB            hugepage memory to reserve (default 2048; on each
                         node of HUGENODE; 0 reserves none); never shrinks
  HUGENODE=N[,N...]      NUMA nodes to reserve on (default: the kernel picks)
  HUGEPGSZ=KiB           hugepage size (default 2048, the size nvpoll uses)
  PCI_ALLOWED="BDF ..."  only these controllers (default: every one)
  PCI_BLOCKED="BDF ..."  never these controllers
  DRIVER_OVERRIDE=vfio-pci|uio_pci_generic
                         driver to bind (default vfio-pci; uio_pci_generic
                         when the IOMMU is off)
  TARGET_USER=name       let this user open the /dev/vfio nodes and hugetlbfs
                         and check its memlock limit against the hugepages

A controller is left alone while any of its namespaces is mounted (the root
filesystem included), is an active swap or has a holder (LVM, md, dm): config
says which device and why and goes on with the others.  Running config twice
changes nothing; reset undoes only what config did.
Exit status: 0 done, 1 something failed, 2 bad command or variable.
EOF
}

say() { printf '%s\n' "$*"; }
warn() { printf 'setup.sh: warning: %s\n' "$*" >&2; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }
usage_error() { printf 'setup.sh: error: %s\n' "$*" >&2; exit "$EXIT_USAGE"; }

# Prints its arguments joined by "; ".
join() {
    local IFS=$'\x1f' out
    out="$*"
    printf '%s\n' "${out//$'\x1f'/; }"
}

# Waits up to $1 seconds for CMD... to succeed.
wait_for() {
    local tries=$(($1 * 10))
    shift
    until "$@"; do
        ((--tries > 0)) || return 1
        sleep 0.1
    done
}

# Sets array $1 to the lines CMD... prints.  No process substitution: a
# rescue shell or a test guest may have no /dev/fd.
lines_of() {
    local -n _lines=$1
    local _out
    shift
    _out=$("$@") || true
    _lines=()
    [[ -z $_out ]] || mapfile -t _lines <<<"$_out"
}

# Sets variable $1 to the first line of file $2, or to $3 when unreadable.
read_attr() {
    local -n _val=$1
    _val=${3:-}
    [[ -r $2 ]] || return 0
    IFS= read -r _val <"$2" || true
}

# sysfs rejects some writes (a driver that will not bind, a busy device):
# callers decide what that means, so the shell's own message is dropped.
sysfs_write() {
    { printf '%s\n' "$1" >"$2"; } 2>/dev/null
}

# ---------------------------------------------------------------- variables

# Validated values of the variables; parse_env sets them all before any
# command touches the system, so a bad value leaves nothing half done.
hugemem=0
hugepgsz=$NVPOLL_PGSZ
hugenodes=()
allowed=()
blocked=()
driver=""
driver_why=""
target_user=""
target_uid=""
ctrls=()
me=root

parse_env() {
    ((EUID == 0)) || me=$(id -un)
    lines_of ctrls nvme_controllers
    parse_hugemem
    parse_hugepgsz
    parse_hugenode
    parse_bdfs PCI_ALLOWED "${PCI_ALLOWED:-}"
    allowed=("${bdfs[@]}")
    parse_bdfs PCI_BLOCKED "${PCI_BLOCKED:-}"
    blocked=("${bdfs[@]}")
    parse_driver
    parse_target_user
}

parse_hugemem() {
    local v=${HUGEMEM:-2048}
    [[ $v =~ ^[0-9]{1,9}$ ]] ||
        usage_error "HUGEMEM='$v': give the hugepage memory in MiB, e.g. HUGEMEM=2048"
    hugemem=$((10#$v))
}

hugepage_sizes() {
    local d sizes=()
    for d in "$HUGE_SYS"/hugepages-*kB; do
        [[ -d $d ]] || continue
        d=${d##*-}
        sizes+=("${d%kB}")
    done
    printf '%s\n' "${sizes[*]:-none}"
}

parse_hugepgsz() {
    local v=${HUGEPGSZ:-$NVPOLL_PGSZ}
    [[ $v =~ ^[0-9]{1,9}$ && -d $HUGE_SYS/hugepages-$((10#$v))kB ]] ||
        usage_error "HUGEPGSZ='$v': this kernel offers hugepages of $(hugepage_sizes) KiB"
    hugepgsz=$((10#$v))
    ((hugepgsz == NVPOLL_PGSZ)) ||
        warn "HUGEPGSZ=$hugepgsz: nvpoll allocates 2048 KiB hugepages only"
}

parse_hugenode() {
    local v=${HUGENODE:-} n
    local -a list
    hugenodes=()
    [[ -n $v ]] || return 0
    [[ $v =~ ^[0-9]+(,[0-9]+)*$ ]] ||
        usage_error "HUGENODE='$v': give NUMA node numbers separated by commas, e.g. HUGENODE=0,1"
    IFS=, read -ra list <<<"$v"
    for n in "${list[@]}"; do
        n=$((10#$n))
        [[ -d $NODE_SYS/node$n/hugepages/hugepages-${hugepgsz}kB ]] ||
            usage_error "HUGENODE: this machine has no NUMA node $n with ${hugepgsz} KiB hugepages (nodes: $(numa_nodes))"
        hugenodes+=("$n")
    done
}

numa_nodes() {
    local d nodes=()
    for d in "$NODE_SYS"/node[0-9]*; do
        [[ -d $d ]] && nodes+=("${d##*node}")
    done
    printf '%s\n' "${nodes[*]:-none}"
}

# Sets bdfs to the controllers named by variable $1 (value $2), in the full
# lower-case form sysfs uses.  Each must be an NVMe controller here: a typo
# in PCI_BLOCKED must not silently expose the disk it meant to protect.
parse_bdfs() {
    local name=$1 item
    local -a items
    bdfs=()
    read -ra items <<<"${2//,/ }"
    for item in "${items[@]}"; do
        [[ $item =~ ^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$ ]] ||
            usage_error "$name: '$item' is not a PCI address like 0000:05:00.0"
        [[ $item == ????:* ]] || item=0000:$item
        item=${item,,}
        is_nvme "$item" ||
            usage_error "$name: $item is not an NVMe controller on this machine (they are: ${ctrls[*]:-none})"
        bdfs+=("$item")
    done
}

parse_driver() {
    case ${DRIVER_OVERRIDE:-} in
        vfio-pci|uio_pci_generic)
            driver=$DRIVER_OVERRIDE
            driver_why="DRIVER_OVERRIDE" ;;
        "")
            if iommu_on; then
                driver=vfio-pci
                driver_why="the IOMMU is on"
            else
                driver=uio_pci_generic
                driver_why="the IOMMU is off"
            fi ;;
        *) usage_error "DRIVER_OVERRIDE='$DRIVER_OVERRIDE': nvpoll works with vfio-pci or uio_pci_generic" ;;
    esac
}

parse_target_user() {
    target_user=${TARGET_USER:-}
    [[ -n $target_user ]] || return 0
    target_uid=$(id -u -- "$target_user" 2>/dev/null) ||
        usage_error "TARGET_USER='$target_user': no such user"
}

# ---------------------------------------------------------------- sysfs facts

is_nvme() {
    local class
    read_attr class "$PCI/devices/$1/class"
    [[ $class == "$NVME_CLASS" ]]
}

# NVMe controllers by class code, in BDF order (the glob sorts).
nvme_controllers() {
    local d
    for d in "$PCI"/devices/*; do
        if is_nvme "${d##*/}"; then printf '%s\n' "${d##*/}"; fi
    done
}

# The driver bound to device $1, or nothing (uevent says, without readlink).
driver_of() {
    local line
    [[ -r $PCI/devices/$1/uevent ]] || return 0
    while IFS= read -r line; do
        if [[ $line == DRIVER=* ]]; then
            printf '%s\n' "${line#DRIVER=}"
            return 0
        fi
    done <"$PCI/devices/$1/uevent"
}

driver_is() { [[ $(driver_of "$1") == "$2" ]]; }

# The IOMMU group of device $1, or nothing when the IOMMU is off.
group_of() {
    local g
    for g in /sys/kernel/iommu_groups/*/devices/"$1"; do
        [[ -e $g ]] || continue
        g=${g%/devices/*}
        printf '%s\n' "${g##*/}"
    done
}

# driver_override, or "-" when none is set.
override_of() {
    local v
    read_attr v "$PCI/devices/$1/driver_override"
    [[ -n $v && $v != "(null)" ]] || v=-
    printf '%s\n' "$v"
}

iommu_on() {
    compgen -G "/sys/kernel/iommu_groups/*" >/dev/null
}

# Why config leaves controller $1 alone by the user's choice, or nothing.
skip_reason() {
    local b
    for b in "${blocked[@]}"; do
        if [[ $b == "$1" ]]; then echo "in PCI_BLOCKED"; return; fi
    done
    ((${#allowed[@]})) || return 0
    for b in "${allowed[@]}"; do
        [[ $b != "$1" ]] || return 0
    done
    echo "not in PCI_ALLOWED"
}

selected_controllers() {
    local bdf
    for bdf in "${ctrls[@]}"; do
        [[ -n $(skip_reason "$bdf") ]] || printf '%s\n' "$bdf"
    done
}

# The kernel's rule (vfio_dev_driver_allowed): a group is viable when every
# device is unbound, bound to a vfio driver or pci-stub, or is a bridge.
# Prints the devices of group $1 other than $2 that break it.
group_offenders() {
    local d name drv class
    for d in /sys/kernel/iommu_groups/"$1"/devices/*; do
        name=${d##*/}
        [[ -e $d && $name != "$2" ]] || continue
        drv=$(driver_of "$name")
        [[ -n $drv && $drv != *vfio* && $drv != pci-stub ]] || continue
        read_attr class "$d/class"
        case ${class:0:6} in 0x0604|0x0607|0x0609) continue ;; esac
        printf '%s is bound to %s\n' "$name" "$drv"
    done
}

# The block devices (namespaces, then partitions) of controller $1 while the
# nvme driver has it.  With native multipath a namespace's disk belongs to
# the subsystem (nvme0n1) and the controller holds a hidden path (nvme0c0n1).
ctrl_disks() {
    local c d s
    local -A seen=()
    for c in "$PCI/devices/$1"/nvme/nvme*; do
        [[ -e $c ]] || continue
        for d in "$c"/nvme*n* /sys/class/nvme-subsystem/*/"${c##*/}"; do
            if [[ $d == /sys/class/nvme-subsystem/* ]]; then
                [[ -e $d ]] || continue
                for s in "${d%/*}"/nvme*n*; do
                    [[ -e $s ]] && with_partitions "${s##*/}"
                done
            elif [[ -e $d && ! ${d##*/} =~ ^nvme[0-9]+c[0-9]+n ]]; then
                with_partitions "${d##*/}"
            fi
        done
    done
}

# Prints disk $1 and its partitions, each once (seen is the caller's).
with_partitions() {
    local p
    for p in "/sys/class/block/$1" /sys/class/block/"$1"/"$1"p*; do
        [[ -e $p && -z ${seen[${p##*/}]:-} ]] || continue
        seen[${p##*/}]=1
        printf '%s\n' "${p##*/}"
    done
}

# Mount points of block device $1: by device number, and by source name for
# filesystems (btrfs) that report an anonymous device number.
mounts_of() {
    local majmin i
    local -a f
    read_attr majmin "/sys/class/block/$1/dev"
    # id parent maj:min root mountpoint options [optional...] - type source ...
    while read -ra f; do
        for ((i = 6; i < ${#f[@]} - 1; i++)); do
            [[ ${f[i]} != - ]] || break
        done
        if [[ ${f[2]} == "$majmin" || ${f[i + 2]:-} == "/dev/$1" ]]; then
            printf '%b\n' "${f[4]}"
        fi
    done </proc/self/mountinfo
}

is_swap() {
    local dev
    while read -r dev _; do
        [[ $dev != /dev/* || ! $dev -ef /dev/$1 ]] || return 0
    done </proc/swaps
    return 1
}

# "dm-0 (LVM volume vg-root)", "md0 (md RAID)", ...
holder_name() {
    local h=$1 dm=/sys/class/block/$1/dm name uuid
    if [[ -r $dm/name ]]; then
        read_attr name "$dm/name"
        read_attr uuid "$dm/uuid"
        if [[ $uuid == LVM-* ]]; then
            printf '%s (LVM volume %s)\n' "$h" "$name"
        else
            printf '%s (device-mapper %s)\n' "$h" "$name"
        fi
    elif [[ $h == md* ]]; then
        printf '%s (md RAID)\n' "$h"
    else
        printf '%s\n' "$h"
    fi
}

# One line per reason block device $1 must not lose its driver.
disk_usage() {
    local mp h
    local -a mps
    lines_of mps mounts_of "$1"
    for mp in "${mps[@]}"; do
        if [[ $mp == / ]]; then
            printf '%s holds the root filesystem (/)\n' "$1"
        else
            printf '%s is mounted on %s\n' "$1" "$mp"
        fi
    done
    if is_swap "$1"; then printf '%s is an active swap device\n' "$1"; fi
    for h in /sys/class/block/"$1"/holders/*; do
        [[ -e $h ]] && printf '%s is held by %s\n' "$1" "$(holder_name "${h##*/}")"
    done
    return 0
}

# "pid 123 (qemu)" for each process holding device node $1 open.
openers() {
    local fd pid last="" comm
    for fd in /proc/[0-9]*/fd/*; do
        [[ $fd -ef $1 ]] 2>/dev/null || continue
        pid=${fd#/proc/}
        pid=${pid%%/*}
        [[ $pid != "$last" && $pid != "$BASHPID" ]] || continue
        last=$pid
        read_attr comm "/proc/$pid/comm" "?"
        printf 'pid %s (%s)\n' "$pid" "$comm"
    done
}

# The device node a user-space driver opens for controller $1, if any.
user_node() {
    local group uio
    case $(driver_of "$1") in
        vfio-pci)
            group=$(group_of "$1")
            [[ -z $group ]] || printf '/dev/vfio/%s\n' "$group" ;;
        uio_pci_generic)
            for uio in "$PCI/devices/$1"/uio/uio*; do
                [[ -e $uio ]] && printf '/dev/%s\n' "${uio##*/}"
            done ;;
    esac
    return 0
}

# One line per reason controller $1 must keep its driver: its disks are in
# use, or a process (QEMU, SPDK, nvpoll) has it open through vfio or uio.
ctrl_usage() {
    local d node
    local -a disks users
    lines_of disks ctrl_disks "$1"
    for d in "${disks[@]}"; do disk_usage "$d"; done
    node=$(user_node "$1")
    [[ -n $node ]] || return 0
    lines_of users openers "$node"
    for d in "${users[@]}"; do printf '%s is open by %s\n' "$node" "$d"; done
}

# ---------------------------------------------------------------- state

# One line per change config made: KIND KEY ORIGINAL...; reset replays them
# backwards.  Only the first change of a KEY is kept: it holds the original.
state_has() {
    local kind key
    [[ -f $STATE ]] || return 1
    while read -r kind key _; do
        [[ $kind != "$1" || $key != "$2" ]] || return 0
    done <"$STATE"
    return 1
}

# Records a change; returns 1 when KEY was already recorded.
state_add() {
    if state_has "$1" "$2"; then return 1; fi
    printf '%s\n' "$*" >>"$STATE"
}

state_del() {
    local line kind key
    local -a keep=()
    [[ -f $STATE ]] || return 0
    while IFS= read -r line; do
        read -r kind key _ <<<"$line"
        [[ $kind == "$1" && $key == "$2" ]] || keep+=("$line")
    done <"$STATE"
    # We hold the lock, and the file is read whole: rewrite it in place.
    if ((${#keep[@]})); then printf '%s\n' "${keep[@]}" >"$STATE"; else : >"$STATE"; fi
}

state_count() {
    local kind n=0
    if [[ -f $STATE ]]; then
        while read -r kind _; do
            [[ $kind != "$1" ]] || n=$((n + 1))
        done <"$STATE"
    fi
    echo "$n"
}

take_lock() {
    [[ -d $STATE_DIR ]] || mkdir -p "$STATE_DIR"
    exec 9>"$STATE_DIR/lock"
    flock -w 60 9 || die "another setup.sh holds $STATE_DIR/lock"
}

require_root() {
    ((EUID == 0)) || die "$1 changes drivers and hugepages: run it as root (sudo $SELF $1)"
}

# ---------------------------------------------------------------- config

load_module() {
    local drv=$1 out
    [[ ! -d $PCI/drivers/$drv ]] || return 0
    out=$(modprobe "$drv" 2>&1) ||
        die "cannot load $drv (${out:-modprobe $drv failed}): is this kernel's module package installed? apt-get install --reinstall linux-image-$(uname -r)"
    wait_for 5 test -d "$PCI/drivers/$drv" ||
        die "modprobe $drv worked but $PCI/drivers/$drv did not appear"
    say "driver: loaded $drv"
}

hugetlbfs_mounts() {
    local mp type
    while read -r _ mp type _; do
        [[ $type != hugetlbfs ]] || printf '%b\n' "$mp"
    done </proc/mounts
}

mount_hugetlbfs() {
    local -a mounts
    lines_of mounts hugetlbfs_mounts
    if ((${#mounts[@]})); then
        say "hugetlbfs: mounted on ${mounts[0]}"
        return
    fi
    mkdir -p /dev/hugepages
    mount -t hugetlbfs -o "pagesize=${hugepgsz}K" nodev /dev/hugepages ||
        die "cannot mount hugetlbfs on /dev/hugepages"
    state_add mount /dev/hugepages - || true
    say "hugetlbfs: mounted on /dev/hugepages"
}

# The nr_hugepages files config sets: one per HUGENODE node, or the global one.
huge_files() {
    local n
    if ((${#hugenodes[@]} == 0)); then
        printf '%s\n' "$HUGE_SYS/hugepages-${hugepgsz}kB/nr_hugepages"
        return
    fi
    for n in "${hugenodes[@]}"; do
        printf '%s\n' "$NODE_SYS/node$n/hugepages/hugepages-${hugepgsz}kB/nr_hugepages"
    done
}

huge_where() {
    if [[ $1 == "$NODE_SYS"/node* ]]; then
        local n=${1#"$NODE_SYS"/node}
        printf 'on NUMA node %s\n' "${n%%/*}"
    else
        echo "system-wide"
    fi
}

# KiB that may still go to hugepages for file $1: what is available, less a
# sixteenth of the memory kept back for the system.
huge_room_kb() {
    local info=/proc/meminfo key=MemAvailable line total=0 avail=0
    if [[ $1 == "$NODE_SYS"/node* ]]; then
        info=${1%%/hugepages/*}/meminfo
        key=MemFree
    fi
    # "MemTotal:  123 kB", or per node "Node 0 MemTotal:  123 kB"
    while IFS= read -r line; do
        [[ ! $line =~ (^|[[:space:]])MemTotal:[[:space:]]+([0-9]+) ]] || total=${BASH_REMATCH[2]}
        [[ ! $line =~ (^|[[:space:]])$key:[[:space:]]+([0-9]+) ]] || avail=${BASH_REMATCH[2]}
    done <"$info"
    echo $((avail - total / 16))
}

# Sets huge_todo to the nr_hugepages files short of HUGEMEM, or dies if the
# memory is not there: before config changes anything.
huge_want=0
huge_todo=()
plan_hugepages() {
    local f have need room
    local -a files
    huge_want=$(((hugemem * 1024 + hugepgsz - 1) / hugepgsz))
    ((huge_want > 0)) || return 0
    lines_of files huge_files
    for f in "${files[@]}"; do
        read_attr have "$f" 0
        ((have < huge_want)) || continue
        need=$(((huge_want - have) * hugepgsz))
        room=$(huge_room_kb "$f")
        ((need <= room)) ||
            die "HUGEMEM=$hugemem MiB needs $((need / 1024)) MiB more hugepages $(huge_where "$f"), but only $((room > 0 ? room / 1024 : 0)) MiB can be spared: set HUGEMEM lower"
        huge_todo+=("$f")
    done
}

reserve_hugepages() {
    local f have
    local -a files
    if ((huge_want == 0)); then
        say "hugepages: HUGEMEM=0, none reserved"
        return
    fi
    lines_of files huge_files
    for f in "${files[@]}"; do
        [[ " ${huge_todo[*]} " != *" $f "* ]] || continue
        read_attr have "$f"
        say "hugepages: $have x $hugepgsz KiB $(huge_where "$f") already (HUGEMEM=$hugemem MiB needs $huge_want)"
    done
    ((${#huge_todo[@]} == 0)) || set_hugepages "$huge_want" "${huge_todo[@]}"
}

# Sets each file to $1 pages, all or none: the kernel may grant fewer.
set_hugepages() {
    local want=$1 f got old
    local -a files=() olds=() added=()
    shift
    for f in "$@"; do
        read_attr old "$f" 0
        files+=("$f")
        olds+=("$old")
        if state_add huge "$f" "$old"; then added+=("$f"); fi
        sysfs_write "$want" "$f" || true
        read_attr got "$f" 0
        if ((got < want)); then
            undo_hugepages files olds added
            die "the kernel granted only $got of $want hugepages of $hugepgsz KiB $(huge_where "$f") (memory too fragmented?): set HUGEMEM lower, or reserve them at boot (hugepages= on the kernel command line)"
        fi
        say "hugepages: $want x $hugepgsz KiB $(huge_where "$f") (was $old)"
    done
}

undo_hugepages() {
    local -n _files=$1 _olds=$2 _added=$3
    local i
    for i in "${!_files[@]}"; do
        sysfs_write "${_olds[i]}" "${_files[i]}" || true
    done
    for i in "${_added[@]}"; do state_del huge "$i"; done
}

# Waits for the node a user-space driver opens to appear for controller $1.
wait_user_node() {
    case $driver in
        vfio-pci) wait_for 10 test -c "/dev/vfio/$(group_of "$1")" ;;
        uio_pci_generic) wait_for 10 compgen -G "$PCI/devices/$1/uio/uio*" >/dev/null ;;
    esac
}

# Hands controller $1 (now on driver $2, or none) to $driver.  On failure
# the controller goes back where it was and nothing is recorded.
bind_device() {
    local bdf=$1 cur=$2 dev=$PCI/devices/$1 old new=0
    old=$(override_of "$bdf")
    if state_add bind "$bdf" "${cur:--}" "$old"; then new=1; fi
    if sysfs_write "$driver" "$dev/driver_override" &&
        { [[ -z $cur ]] || sysfs_write "$bdf" "$dev/driver/unbind"; }; then
        sysfs_write "$bdf" "$PCI/drivers_probe" || true
        if wait_for 10 driver_is "$bdf" "$driver" && wait_user_node "$bdf"; then
            return 0
        fi
    fi
    warn "$bdf: could not bind it to $driver (dmesg may say why), giving it back to ${cur:-no driver}"
    restore_device "$bdf" "$old"
    ((new == 0)) || state_del bind "$bdf"
    return 1
}

# Sets driver_override of $1 back to $2 ("-": none) and lets the kernel probe.
restore_device() {
    local bdf=$1 ov=$2 dev=$PCI/devices/$1
    [[ $ov != - ]] || ov=""
    sysfs_write "$ov" "$dev/driver_override" || return 1
    if [[ -e $dev/driver ]]; then
        sysfs_write "$bdf" "$dev/driver/unbind" || return 1
    fi
    sysfs_write "$bdf" "$PCI/drivers_probe" || true
}

# Counters for config's summary.
n_bound=0 n_already=0 n_busy=0 n_skipped=0
failed=()

config_controller() {
    local bdf=$1 why cur
    local -a usage
    why=$(skip_reason "$bdf")
    if [[ -n $why ]]; then
        say "$bdf: skipped ($why)"
        n_skipped=$((n_skipped + 1))
        return
    fi
    cur=$(driver_of "$bdf")
    if [[ $cur == "$driver" ]]; then
        say "$bdf: already bound to $driver"
        n_already=$((n_already + 1))
        return
    fi
    lines_of usage ctrl_usage "$bdf"
    if ((${#usage[@]})); then
        say "$bdf: in use, left on ${cur:-no driver}: $(join "${usage[@]}")"
        n_busy=$((n_busy + 1))
        return
    fi
    if bind_device "$bdf" "$cur"; then
        say "$bdf: bound to $driver (was ${cur:-unbound})"
        n_bound=$((n_bound + 1))
    else
        failed+=("$bdf")
    fi
}

# A controller bound where nvpoll still cannot open it: say why.
check_groups() {
    local bdf group
    local -a bad sel
    lines_of sel selected_controllers
    for bdf in "${sel[@]}"; do
        driver_is "$bdf" "$driver" || continue
        if [[ $driver == uio_pci_generic ]]; then
            ! uio_dma_translated "$bdf" ||
                warn "$bdf: the IOMMU translates its DMA, so the physical addresses uio_pci_generic uses would fault: boot with iommu=pt, or use vfio-pci"
            continue
        fi
        group=$(group_of "$bdf")
        lines_of bad group_offenders "$group" "$bdf"
        ((${#bad[@]} == 0)) ||
            warn "$bdf: IOMMU group $group is not viable ($(join "${bad[@]}")): nvpoll cannot open it until those are unbound ($SELF doctor)"
    done
}

# uio_pci_generic hands the device physical addresses: an IOMMU that
# translates its DMA (group type DMA or DMA-FQ, not identity) breaks them.
uio_dma_translated() {
    local group type
    group=$(group_of "$1")
    [[ -n $group ]] || return 1
    read_attr type "/sys/kernel/iommu_groups/$group/type"
    [[ $type == DMA* ]]
}

# ---------------------------------------------------------------- TARGET_USER

# Gives $1 to the target user, remembering its owner for reset.
give_to_user() {
    local owner
    owner=$(stat -c %u:%g "$1")
    [[ ${owner%%:*} != "$target_uid" ]] || return 0
    state_add chown "$1" "$owner" || true
    chown "$target_uid" "$1"
    say "TARGET_USER: $1 now belongs to $target_user"
}

# The memlock limit (KiB or "unlimited") user $1 gets at login (pam_limits).
user_memlock() {
    local out=""
    if [[ $1 == "$me" ]]; then
        ulimit -l
        return
    fi
    ((EUID != 0)) || out=$(su -s /bin/sh -c 'ulimit -l' -- "$1" 2>/dev/null </dev/null) || out=""
    printf '%s\n' "${out:-unknown}"
}

# What nvpoll may pin for DMA: every hugepage of the size it uses.
pinnable_kb() {
    local n
    read_attr n "$HUGE_SYS/hugepages-${NVPOLL_PGSZ}kB/nr_hugepages" 0
    echo $((n * NVPOLL_PGSZ))
}

# Empty when user $1 may pin all of pinnable_kb, else why not.
memlock_problem() {
    local have need
    have=$(user_memlock "$1")
    need=$(pinnable_kb)
    case $have in
        unlimited) return 0 ;;
        unknown) echo "cannot read the memlock limit of $1 (su $1 failed)"; return 0 ;;
    esac
    ((have < need)) || return 0
    echo "the memlock limit of $1 ($have KiB) is below the $((need / 1024)) MiB of hugepages nvpoll may pin"
}

limits_line() {
    printf '%s - memlock %s\n' "$1" "$(pinnable_kb)"
}

grant_user() {
    local bdf node mnt problem
    local -a mounts sel
    [[ -n $target_user ]] || return 0
    if [[ $driver != vfio-pci ]]; then
        warn "TARGET_USER: $driver needs root (physical addresses come from /proc/self/pagemap); only vfio-pci works for $target_user"
        return
    fi
    lines_of sel selected_controllers
    for bdf in "${sel[@]}"; do
        node=$(user_node "$bdf")
        [[ -z $node || ! -e $node ]] || give_to_user "$node"
    done
    lines_of mounts hugetlbfs_mounts
    for mnt in "${mounts[@]}"; do give_to_user "$mnt"; done
    problem=$(memlock_problem "$target_user")
    if [[ -z $problem ]]; then
        say "TARGET_USER: the memlock limit of $target_user covers the hugepages"
        return
    fi
    say "TARGET_USER: $problem; add this line to /etc/security/limits.conf and log in again:"
    say "    $(limits_line "$target_user")"
}

cmd_config() {
    local bdf
    require_root config
    take_lock
    plan_hugepages
    say "driver: $driver ($driver_why)"
    load_module "$driver"
    reserve_hugepages
    mount_hugetlbfs
    for bdf in "${ctrls[@]}"; do config_controller "$bdf"; done
    ((${#ctrls[@]})) || warn "no NVMe controller (PCI class $NVME_CLASS) on this machine"
    check_groups
    grant_user
    say "config: $n_bound bound, $n_already already bound, $n_busy in use (left alone), $n_skipped skipped, ${#failed[@]} failed"
    ((${#failed[@]} == 0)) || die "could not bind ${failed[*]}"
}

# ---------------------------------------------------------------- reset

# Gives controller $1 back to the kernel: $2 is the driver_override config
# found on it.  Leaves it alone if someone else has moved or opened it.
undo_bind() {
    local bdf=$1 ov=$2 cur want=nvme
    local -a users
    if [[ ! -e $PCI/devices/$bdf ]]; then
        say "$bdf: gone, forgotten"
        state_del bind "$bdf"
        return
    fi
    cur=$(driver_of "$bdf")
    if [[ $cur != vfio-pci && $cur != uio_pci_generic ]]; then
        say "$bdf: now on ${cur:-no driver}, not by setup.sh: left alone"
        state_del bind "$bdf"
        return
    fi
    lines_of users ctrl_usage "$bdf"
    if ((${#users[@]})); then
        say "$bdf: in use, left on $cur: $(join "${users[@]}")"
        return 1
    fi
    case $ov in vfio-pci|uio_pci_generic) ov=- ;; -) ;; *) want=$ov ;; esac
    if restore_device "$bdf" "$ov" && wait_for 10 driver_is "$bdf" "$want"; then
        wait_for 10 ctrl_live "$bdf" || warn "$bdf: the nvme controller is not live yet"
        say "$bdf: returned to $want"
        state_del bind "$bdf"
        return
    fi
    say "$bdf: could not return it to $want (now on $(driver_of "$bdf")); dmesg may say why"
    return 1
}

# The nvme driver brings a controller up after probe returns.
ctrl_live() {
    local f state
    [[ $(driver_of "$1") == nvme ]] || return 0
    for f in "$PCI/devices/$1"/nvme/nvme*/state; do
        read_attr state "$f"
        [[ $state != live ]] || return 0
    done
    return 1
}

undo_chown() {
    [[ ! -e $1 ]] || chown "$2" "$1"
    state_del chown "$1"
}

undo_huge() {
    local size=${1%kB/nr_hugepages} now
    sysfs_write "$2" "$1" || warn "could not set $1 back to $2"
    read_attr now "$1"
    say "hugepages: $now x ${size##*-} KiB $(huge_where "$1") (as config found them)"
    state_del huge "$1"
}

undo_mount() {
    if umount "$1" 2>/dev/null; then
        say "hugetlbfs: unmounted $1"
        state_del mount "$1"
    else
        warn "hugetlbfs on $1 is busy, left mounted"
    fi
}

# Controllers on a user-space driver that config did not bind: reset
# leaves them alone, but says so.
note_foreign() {
    local bdf cur
    local -a sel
    lines_of sel selected_controllers
    for bdf in "${sel[@]}"; do
        cur=$(driver_of "$bdf")
        [[ $cur == vfio-pci || $cur == uio_pci_generic ]] || continue
        state_has bind "$bdf" ||
            say "$bdf: on $cur, but not bound by setup.sh: left alone"
    done
}

# Calls FN KIND KEY VALUE for each line of the state, newest first.
state_replay() {
    local -a lines
    local i kind key val
    [[ -f $STATE ]] || return 0
    mapfile -t lines <"$STATE"
    for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
        read -r kind key val <<<"${lines[i]}"
        "$1" "$kind" "$key" "$val"
    done
}

reset_rc=0
reset_bind() {
    [[ $1 == bind && -z $(skip_reason "$2") ]] || return 0
    undo_bind "$2" "${3#* }" || reset_rc=1
}

forget_gone_node() {
    [[ $1 != chown || -e $2 ]] || state_del chown "$2"
}

reset_rest() {
    case $1 in
        chown) undo_chown "$2" "$3" ;;
        huge) undo_huge "$2" "$3" ;;
        mount) undo_mount "$2" ;;
    esac
}

cmd_reset() {
    require_root reset
    take_lock
    note_foreign
    if [[ ! -s $STATE ]]; then
        say "reset: nothing to undo"
        return 0
    fi
    [[ $(state_count bind) == 0 ]] || load_module nvme
    state_replay reset_bind
    # A vfio node goes away with the last device of its group.
    state_replay forget_gone_node
    if [[ $(state_count bind) != 0 ]]; then
        say "reset: hugepages kept: $(state_count bind) controller(s) still bound by setup.sh"
    else
        state_replay reset_rest
    fi
    [[ -s $STATE ]] || rm -f "$STATE"
    return "$reset_rc"
}

# ---------------------------------------------------------------- status

# What ctrl_info found out about one controller.
c_bdf="" c_driver="" c_numa=-1 c_group="" c_skip="" c_ours=false
c_offenders=() c_disks=() c_usage=() c_mounts=()

# Sets the c_* globals describing controller $1.
ctrl_info() {
    local d mp
    local -a mps
    c_bdf=$1
    c_driver=$(driver_of "$1")
    read_attr c_numa "$PCI/devices/$1/numa_node" -1
    c_group=$(group_of "$1")
    c_offenders=() c_disks=() c_usage=() c_mounts=()
    [[ -z $c_group ]] || lines_of c_offenders group_offenders "$c_group" "$1"
    lines_of c_disks ctrl_disks "$1"
    for d in "${c_disks[@]}"; do
        lines_of mps mounts_of "$d"
        for mp in "${mps[@]}"; do c_mounts+=("$d" "$mp"); done
    done
    lines_of c_usage ctrl_usage "$1"
    c_skip=$(skip_reason "$1")
    c_ours=false
    if state_has bind "$1"; then c_ours=true; fi
}

json_str() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\t'/\\t}
    printf '"%s"' "$s"
}

json_list() {
    local sep="" item
    printf '['
    for item in "$@"; do
        printf '%s' "$sep"
        json_str "$item"
        sep=,
    done
    printf ']'
}

# A number, or null when empty.
json_num() { printf '%s' "${1:-null}"; }

# A string, or null when empty.
json_str_null() { if [[ -z $1 ]]; then printf null; else json_str "$1"; fi; }

bool() { if "$@"; then printf true; else printf false; fi; }

ctrl_json() {
    local i sep=""
    ctrl_info "$1"
    printf '{"bdf":"%s","numa_node":%s,"driver":' "$c_bdf" "$c_numa"
    json_str_null "$c_driver"
    printf ',"iommu_group":%s,"group_viable":' "$(json_num "$c_group")"
    if [[ -z $c_group ]]; then printf null; else bool test "${#c_offenders[@]}" = 0; fi
    printf ',"group_offenders":'
    json_list "${c_offenders[@]}"
    printf ',"block_devices":'
    json_list "${c_disks[@]}"
    printf ',"mounts":['
    for ((i = 0; i < ${#c_mounts[@]}; i += 2)); do
        printf '%s{"device":"%s","mountpoint":' "$sep" "${c_mounts[i]}"
        json_str "${c_mounts[i + 1]}"
        printf '}'
        sep=,
    done
    printf '],"in_use":'
    json_list "${c_usage[@]}"
    printf ',"selected":%s,"skip_reason":' "$(bool test -z "$c_skip")"
    json_str_null "$c_skip"
    printf ',"bound_by_setup":%s}' "$c_ours"
}

# Prints "NODE SIZE_KB TOTAL FREE" per node and size ("-" for the system).
hugepage_rows() {
    local d node size total free
    for d in "$HUGE_SYS"/hugepages-*kB "$NODE_SYS"/node[0-9]*/hugepages/hugepages-*kB; do
        [[ -d $d ]] || continue
        node=-
        [[ $d != "$NODE_SYS"/* ]] || { node=${d#"$NODE_SYS"/node}; node=${node%%/*}; }
        size=${d##*-}
        read_attr total "$d/nr_hugepages" 0
        read_attr free "$d/free_hugepages" 0
        printf '%s %s %s %s\n' "$node" "${size%kB}" "$total" "$free"
    done
}

# "loaded", "available" (modprobe would find it) or "missing".
module_state() {
    if [[ -d $PCI/drivers/$1 || -d /sys/module/${1//-/_} ]]; then echo loaded
    elif modprobe -n -q "$1" 2>/dev/null; then echo available
    else echo missing; fi
}

iommu_groups() {
    local g=(/sys/kernel/iommu_groups/*)
    [[ -e ${g[0]} ]] || { echo 0; return; }
    echo "${#g[@]}"
}

noiommu_mode() {
    local v
    read_attr v /sys/module/vfio/parameters/enable_unsafe_noiommu_mode
    [[ $v == Y ]]
}

# The users whose memlock limit matters: the caller, and TARGET_USER.
memlock_users() {
    printf '%s\n' "$me"
    [[ -z $target_user || $target_user == "$me" ]] || printf '%s\n' "$target_user"
}

status_json() {
    local bdf sep="" node size total free user lim
    local -a mounts rows users
    printf '{"controllers":['
    for bdf in "${ctrls[@]}"; do
        printf '%s' "$sep"
        ctrl_json "$bdf"
        sep=,
    done
    printf '],"hugepages":['
    sep=""
    lines_of rows hugepage_rows
    for lim in "${rows[@]}"; do
        read -r node size total free <<<"$lim"
        [[ $node != - ]] || node=null
        printf '%s{"node":%s,"size_kb":%s,"total":%s,"free":%s}' "$sep" "$node" "$size" "$total" "$free"
        sep=,
    done
    lines_of mounts hugetlbfs_mounts
    printf '],"hugetlbfs":'
    json_list "${mounts[@]}"
    printf ',"iommu":{"enabled":%s,"groups":%s},' "$(bool iommu_on)" "$(iommu_groups)"
    printf '"vfio":{"vfio_pci":"%s","container":%s,"iommufd":%s,"cdev":%s,"noiommu":%s},' \
        "$(module_state vfio-pci)" "$(bool test -c /dev/vfio/vfio)" "$(bool test -c /dev/iommu)" \
        "$(bool test -d /dev/vfio/devices)" "$(bool noiommu_mode)"
    printf '"uio_pci_generic":"%s","driver":"%s","memlock":[' "$(module_state uio_pci_generic)" "$driver"
    sep=""
    lines_of users memlock_users
    for user in "${users[@]}"; do
        lim=$(user_memlock "$user")
        printf '%s{"user":' "$sep"
        json_str "$user"
        printf ',"unlimited":%s,"limit_kb":' "$(bool test "$lim" = unlimited)"
        [[ $lim =~ ^[0-9]+$ ]] || lim=null
        printf '%s}' "$lim"
        sep=,
    done
    printf '],"pinnable_kb":%s}\n' "$(pinnable_kb)"
}

ctrl_text() {
    local group="no IOMMU group" d line
    ctrl_info "$1"
    if [[ -n $c_group ]]; then
        group="IOMMU group $c_group (viable)"
        ((${#c_offenders[@]} == 0)) || group="IOMMU group $c_group (not viable: $(join "${c_offenders[@]}"))"
    fi
    line="$c_bdf  ${c_driver:-no driver}  NUMA node $c_numa  $group"
    [[ $c_ours == false ]] || line+="  [bound by setup.sh]"
    [[ -z $c_skip ]] || line+="  [$c_skip]"
    say "  $line"
    for d in "${c_disks[@]}"; do say "      /dev/$d"; done
    for d in "${c_usage[@]}"; do say "      in use: $d"; done
}

status_text() {
    local bdf row node size total free prev="" user
    local -a rows mounts users
    say "NVMe controllers:"
    for bdf in "${ctrls[@]}"; do ctrl_text "$bdf"; done
    ((${#ctrls[@]})) || say "  none (no PCI function of class $NVME_CLASS)"
    printf 'hugepages (free/total):'
    lines_of rows hugepage_rows
    for row in "${rows[@]}"; do
        read -r node size total free <<<"$row"
        if [[ $node == - ]]; then node=system; else node=node$node; fi
        [[ $node == "$prev" ]] || printf '\n  %-8s' "$node:"
        printf '  %s KiB %s/%s' "$size" "$free" "$total"
        prev=$node
    done
    printf '\n'
    lines_of mounts hugetlbfs_mounts
    say "hugetlbfs: ${mounts[*]:-not mounted}"
    if iommu_on; then say "IOMMU: on ($(iommu_groups) groups)"; else say "IOMMU: off"; fi
    say "vfio-pci: $(module_state vfio-pci); /dev/vfio/vfio: $(bool test -c /dev/vfio/vfio); iommufd (/dev/iommu): $(bool test -c /dev/iommu); vfio no-IOMMU mode: $(bool noiommu_mode)"
    say "uio_pci_generic: $(module_state uio_pci_generic); config would bind: $driver ($driver_why)"
    lines_of users memlock_users
    for user in "${users[@]}"; do
        if [[ $user == root ]]; then
            say "memlock of root: $(user_memlock root) KiB (root pins past it with CAP_IPC_LOCK)"
        else
            say "memlock of $user: $(user_memlock "$user") KiB"
        fi
    done
}

cmd_status() {
    case ${1:-} in
        "") status_text ;;
        --json) status_json ;;
        *) usage_error "status takes --json or nothing, not '$1'" ;;
    esac
}

# ---------------------------------------------------------------- doctor

n_fail=0

pass() { say "ok   $1"; }
fail() { # WHAT FIX
    say "FAIL $1"
    say "     fix: $2"
    n_fail=$((n_fail + 1))
}

# The command that adds kernel options $1 and reboots (Debian's GRUB).
grub_fix() {
    printf '%s\n' "sed -i 's/^GRUB_CMDLINE_LINUX=\"/&$1 /' /etc/default/grub && update-grub && reboot"
}

check_iommu() {
    local opt=intel_iommu=on
    if iommu_on; then
        pass "IOMMU is on ($(iommu_groups) groups)"
    elif [[ $driver == uio_pci_generic && $driver_why == DRIVER_OVERRIDE ]]; then
        pass "IOMMU is off, and DRIVER_OVERRIDE asks for uio_pci_generic"
    else
        ! grep -q AuthenticAMD /proc/cpuinfo 2>/dev/null || opt=amd_iommu=on
        fail "IOMMU is off (no $opt on the kernel command line?): vfio-pci needs it" \
            "$(grub_fix "$opt iommu=pt")"
    fi
}

check_module() {
    case $(module_state "$driver") in
        loaded) pass "$driver is loaded" ;;
        available) fail "$driver is not loaded" "modprobe $driver" ;;
        *) fail "this kernel has no $driver module" "apt-get install --reinstall linux-image-$(uname -r)" ;;
    esac
}

check_hugepages() {
    local dir=$HUGE_SYS/hugepages-${NVPOLL_PGSZ}kB total free resv
    read_attr total "$dir/nr_hugepages" 0
    read_attr free "$dir/free_hugepages" 0
    read_attr resv "$dir/resv_hugepages" 0
    if ((total == 0)); then
        fail "no 2 MiB hugepages are reserved" "$SELF config"
    elif ((free - resv <= 0)); then
        fail "all $total 2 MiB hugepages are in use" \
            "HUGEMEM=$((total * 2 + 512)) $SELF config"
    else
        pass "$((free - resv)) of $total 2 MiB hugepages are free"
    fi
}

# The command that clears one device from a group that is not viable.
offender_fix() {
    local dev=${1%% *}
    if is_nvme "$dev"; then
        echo "PCI_ALLOWED=$dev $SELF config (after unmounting what it holds)"
    else
        echo "echo $dev > $PCI/devices/$dev/driver/unbind"
    fi
}

# The user who will run nvpoll: TARGET_USER, else the caller.
run_user() { printf '%s\n' "${target_user:-$me}"; }

user_can_open() { # USER NODE
    local uid
    [[ -e $2 ]] || return 1
    uid=$(id -u -- "$1")
    [[ $(stat -c %u "$2") == "$uid" ]] || { [[ $uid == "$EUID" && -r $2 && -w $2 ]]; }
}

check_controller() {
    local bdf=$1 user
    ctrl_info "$bdf"
    user=$(run_user)
    if [[ $c_driver != "$driver" ]]; then
        if ((${#c_usage[@]})); then
            pass "$bdf is in use, left on ${c_driver:-no driver}: $(join "${c_usage[@]}")"
        else
            fail "$bdf is bound to ${c_driver:-no driver}, not $driver" "PCI_ALLOWED=$bdf $SELF config"
        fi
        return
    fi
    pass "$bdf is bound to $driver"
    if [[ $driver == uio_pci_generic ]]; then
        ! uio_dma_translated "$bdf" ||
            fail "$bdf: the IOMMU translates its DMA, so uio_pci_generic's physical addresses would fault" \
                "$(grub_fix iommu=pt)"
        return 0
    fi
    if ((${#c_offenders[@]})); then
        fail "$bdf: IOMMU group $c_group is not viable: $(join "${c_offenders[@]}")" \
            "$(offender_fix "${c_offenders[0]}")"
    fi
    if [[ $user != root ]] && ! user_can_open "$user" "/dev/vfio/$c_group"; then
        fail "$bdf: $user cannot open /dev/vfio/$c_group" "TARGET_USER=$user $SELF config"
    fi
}

check_controllers() {
    local bdf
    local -a sel
    lines_of sel selected_controllers
    for bdf in "${sel[@]}"; do check_controller "$bdf"; done
    ((${#sel[@]})) || fail "no NVMe controller to use (none here, or none allowed by PCI_ALLOWED/PCI_BLOCKED)" \
        "attach one, or correct PCI_ALLOWED/PCI_BLOCKED ($SELF status lists them)"
}

check_memlock() {
    local user problem
    user=$(run_user)
    if [[ $user == root ]]; then
        pass "root pins DMA memory past the memlock limit (CAP_IPC_LOCK)"
        return
    fi
    problem=$(memlock_problem "$user")
    if [[ -z $problem ]]; then
        pass "the memlock limit of $user covers the $(($(pinnable_kb) / 1024)) MiB of hugepages"
    else
        fail "$problem" "echo '$(limits_line "$user")' >> /etc/security/limits.conf  # then log in again"
    fi
}

cmd_doctor() {
    check_iommu
    check_module
    check_hugepages
    check_controllers
    check_memlock
    if ((n_fail)); then
        say "doctor: $n_fail check(s) failed"
        return 1
    fi
    say "doctor: all checks passed"
}

# ---------------------------------------------------------------- main

main() {
    local cmd=${1:-config}
    (($# == 0)) || shift
    case $cmd in
        help|-h|--help) usage; return ;;
        config|reset|doctor) (($# == 0)) || usage_error "$cmd takes no arguments (see $SELF help)" ;;
        status) (($# <= 1)) || usage_error "status takes --json or nothing" ;;
        *) usage_error "unknown command '$cmd' (see $SELF help)" ;;
    esac
    parse_env
    "cmd_$cmd" "$@"
}

main "$@"
