#!/usr/bin/env bash
# Run a command inside a throw-away QEMU guest that has an emulated NVMe
# controller bound to vfio-pci, uio_pci_generic or the kernel nvme driver.
#
# The guest boots Debian's stock kernel (unpacked from the .deb, never
# installed) with a busybox initramfs, mounts the host's root read-only and
# this checkout read-write over 9p, chroots into them and runs CMD there, so
# host-built test programs, fio and nvme-cli run unchanged.  CMD's stdout,
# stderr and exit status come back through three serial ports; the kernel's
# console goes to a log that is shown only when something goes wrong.
#
# See usage() for the options and DESIGN.md ("Testing without NVMe hardware")
# for why it is built this way (TCG, intel-iommu, cache modes).
set -euo pipefail

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SCRIPT")/.." && pwd -P)
CACHE=${NVP_VM_CACHE:-$REPO/build/vm}
readonly SCRIPT REPO CACHE
# apt's and kmod's tools live in sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# Exit codes of the harness itself (CMD's own status passes through).
readonly EXIT_TIMEOUT=124
readonly EXIT_HARNESS=125

# Kernel modules the guest needs; their dependencies (and soft dependencies)
# come along.  nvme stays last: the guest loads it only after driver_override
# is set, so that it does not grab a controller meant for vfio-pci.
readonly GUEST_MODULES="virtio_pci 9pnet_virtio 9p vfio vfio_iommu_type1 vfio-pci
uio uio_pci_generic ext4 nvme nvme-tcp nvmet nvmet-tcp"

# Options, with their defaults.
opt_driver=vfio-pci
opt_nvme_opts=""
opt_qemu_args=()
opt_disk_size=""
opt_null_disk=0
opt_iommu=on
opt_mem=2048
opt_smp=2
opt_hugepages=256
opt_timeout=600
opt_kernel=bookworm
opt_verbose=0
opt_console_log=""
opt_kernel_args=""
opt_monitor=0
cmd=()

usage() {
    cat <<'EOF'
usage: scripts/vm.sh [options] -- CMD [ARGS...]

Boots a QEMU (TCG, q35) guest with an emulated NVMe controller, binds the
controller to a driver and runs CMD in this checkout (as cwd) with the host's
root filesystem.  Prints CMD's stdout/stderr and exits with CMD's status
(124: timeout, 125: the harness or guest failed).

  --driver vfio-pci|uio_pci_generic|nvme|none
                        driver for the NVMe controller(s) (default vfio-pci)
  --nvme-opts "k=v,..." appended to the default -device nvme,... (mdts=3, ...)
  --qemu-args "..."     extra qemu arguments, split on whitespace (repeatable)
  --disk-size SIZE      default namespace's backing size (default 64M; a fresh
                        zeroed file per run; with --null-disk default 1G)
  --null-disk           back the default namespace with null-co:// (reads zero)
  --iommu on|off        emulated intel-iommu (default on; off for uio)
  --mem MB              guest memory (default 2048)
  --smp N               guest CPUs (default 2)
  --hugepages N         2 MiB hugepages reserved in the guest (default 256)
  --timeout SECONDS     kill the guest after this long, exit 124 (default 600)
  --kernel-version bookworm|backports
                        Debian 12 kernel (default) or bookworm-backports'
  --kernel-args "..."   extra guest kernel command line (e.g. iommu.strict=1)
  --console-log FILE    keep the guest's kernel console log in FILE
  --monitor             let CMD drive QEMU's monitor: each line it appends to
                        the file named by $NVP_VM_MONITOR is run as a monitor
                        command (device_del ID, ...); the replies are shown
                        when the run fails
  -v, --verbose         also stream the guest console to stderr
  -h, --help            this text

In the guest: NVP_VM=1, NVP_DRIVER, NVP_BDF (first controller), NVP_BDFS
(all, in BDF order); hugetlbfs at /dev/hugepages; /tmp and /run are tmpfs;
the rest of the host root is read-only.  Cache: ${NVP_VM_CACHE:-build/vm}.
EOF
}

say() { printf 'vm.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit "$EXIT_HARNESS"; }

# ---------------------------------------------------------------- options

parse_args() {
    while (($#)); do
        local opt=$1 val=""
        # Accept both "--opt value" and "--opt=value".
        if [[ $opt == --*=* ]]; then
            val=${opt#*=}
            opt=${opt%%=*}
            set -- "$opt" "$val" "${@:2}"
        fi
        case $opt in
            --) shift; cmd=("$@"); break ;;
            -h|--help) usage; exit 0 ;;
            -v|--verbose) opt_verbose=1; shift; continue ;;
            --null-disk) opt_null_disk=1; shift; continue ;;
            --monitor) opt_monitor=1; shift; continue ;;
        esac
        (($# >= 2)) || die "option $opt needs a value (see --help)"
        val=$2
        case $opt in
            --driver) opt_driver=$val ;;
            --nvme-opts) opt_nvme_opts=$val ;;
            --qemu-args) local -a more; read -ra more <<<"$val"; opt_qemu_args+=("${more[@]}") ;;
            --disk-size) opt_disk_size=$val ;;
            --iommu) opt_iommu=$val ;;
            --mem) opt_mem=$val ;;
            --smp) opt_smp=$val ;;
            --hugepages) opt_hugepages=$val ;;
            --timeout) opt_timeout=$val ;;
            --kernel-version) opt_kernel=$val ;;
            --console-log) opt_console_log=$val ;;
            --kernel-args) opt_kernel_args+=" $val" ;;
            *) die "unknown option '$opt' (see --help)" ;;
        esac
        shift 2
    done
    check_args
}

check_args() {
    ((${#cmd[@]})) || die "no command given: scripts/vm.sh [options] -- CMD [ARGS...]"
    case $opt_driver in vfio-pci|uio_pci_generic|nvme|none) ;;
        *) die "--driver must be vfio-pci, uio_pci_generic, nvme or none" ;; esac
    case $opt_iommu in on|off) ;; *) die "--iommu must be on or off" ;; esac
    case $opt_kernel in bookworm|backports) ;;
        *) die "--kernel-version must be bookworm or backports" ;; esac
    local n
    for n in "$opt_mem" "$opt_smp" "$opt_hugepages" "$opt_timeout"; do
        [[ $n =~ ^[0-9]+$ ]] || die "'$n' is not a number"
    done
    [[ -z $opt_disk_size || $opt_disk_size =~ ^[0-9]+[KMGT]?$ ]] ||
        die "--disk-size takes a size like 64M or 2G"
    if [[ $opt_driver == vfio-pci && $opt_iommu == off ]]; then
        # Debian kernels lack CONFIG_VFIO_NOIOMMU, so vfio-pci cannot bind.
        die "--driver vfio-pci needs --iommu on (the guest kernel has no vfio no-IOMMU mode)"
    fi
}

# ---------------------------------------------------------------- host tools

apt_install() {
    ((EUID == 0)) || die "missing package(s) $*: run 'apt-get install $*' as root"
    say "installing $* with apt-get"
    local apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q --no-install-recommends)
    if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "$@" >&2; then
        # A stale or missing package list is the usual cause: refresh once.
        apt-get -o DPkg::Lock::Timeout=600 -q update >&2 || true
        DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "$@" >&2 ||
            die "could not install $*"
    fi
}

ensure_host_tools() {
    local missing=()
    command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
    command -v cpio >/dev/null || missing+=(cpio)
    command -v depmod >/dev/null || missing+=(kmod)
    command -v xz >/dev/null || missing+=(xz-utils)
    # The initramfs has no libc, so only the static build of busybox will do.
    [[ $(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null) == *" installed" ]] ||
        missing+=(busybox-static)
    ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
}

# ---------------------------------------------------------------- kernel

# The URI this machine's apt already uses for Debian (no host is hard-coded).
debian_mirror() {
    # shellcheck disable=SC2016 # $(...) is apt's template syntax, not ours
    apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
        awk '$2 == "bookworm" { print $1; exit }'
}

# bookworm-backports is added only when asked for, as its own sources file.
ensure_backports_source() {
    local list=/etc/apt/sources.list.d/nvpoll-bookworm-backports.list
    if apt-cache policy 2>/dev/null | grep -q 'bookworm-backports/main'; then
        return
    fi
    ((EUID == 0)) || die "the backports kernel needs bookworm-backports in apt's sources (run as root)"
    local uri
    uri=$(debian_mirror)
    [[ -n $uri ]] || die "cannot find the Debian bookworm mirror in apt's sources"
    say "adding bookworm-backports to apt's sources ($list)"
    printf 'deb %s bookworm-backports main\n' "${uri%/}" >"$list"
    apt-get -o DPkg::Lock::Timeout=600 -q update >&2 || die "apt-get update failed"
}

# Prints the versioned kernel package (its name changes with security updates).
kernel_package() {
    local target=() pkg
    if [[ $opt_kernel == backports ]]; then
        ensure_backports_source
        target=(-t bookworm-backports)
    fi
    pkg=$(apt-cache "${target[@]}" depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
    if [[ -z $pkg && $EUID == 0 ]]; then
        apt-get -o DPkg::Lock::Timeout=600 -q update >&2 || true
        pkg=$(apt-cache "${target[@]}" depends linux-image-amd64 2>/dev/null |
            awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
    fi
    printf '%s\n' "$pkg"
}

# kernel_package costs ~1 s; its answer can only change when apt's lists do.
cached_kernel_package() {
    local memo=$CACHE/$opt_kernel.package pkg
    if [[ -s $memo && $memo -nt /var/lib/apt/lists ]]; then
        cat "$memo"
        return
    fi
    pkg=$(kernel_package)
    [[ -z $pkg ]] || printf '%s\n' "$pkg" >"$memo"
    printf '%s\n' "$pkg"
}

# Sets kdir to the cache directory holding kernel and initramfs.cpio.gz.
prepare_kernel() {
    local pkg
    pkg=$(cached_kernel_package)
    if [[ -z $pkg ]]; then
        # Offline with a warm cache is fine: reuse the newest kernel we have.
        pkg=$(find "$CACHE" -maxdepth 1 -name "linux-image-*" -printf '%T@ %f\n' 2>/dev/null |
            sort -rn | awk '{ print $2; exit }')
        [[ -n $pkg ]] || die "cannot resolve linux-image-amd64's kernel package (apt-cache depends linux-image-amd64 found nothing; run apt-get update?)"
        say "warning: apt-cache has no linux-image-amd64, using cached $pkg"
    fi
    kdir=$CACHE/$pkg
    mkdir -p "$kdir"
    if [[ -s $kdir/kernel && -s $kdir/initramfs.cpio.gz && $kdir/initramfs.cpio.gz -nt $SCRIPT ]]; then
        return
    fi
    fetch_kernel_deb "$pkg"
    build_kernel_files "$pkg"
}

fetch_kernel_deb() {
    local pkg=$1
    compgen -G "$kdir/${pkg}_*.deb" >/dev/null && return
    say "downloading $pkg"
    # apt-get download writes to the cwd; _apt can't write there, hence -q noise.
    (cd "$kdir" && apt-get -q download "$pkg" >&2) ||
        die "could not download kernel package $pkg (is apt's package archive reachable?)"
}

build_kernel_files() {
    local pkg=$1 deb tree kver moddir
    deb=$(compgen -G "$kdir/${pkg}_*.deb" | head -n1)
    # Leftovers of a build that was interrupted (we hold the cache lock).
    rm -rf "$kdir"/tmp.*
    tree=$(mktemp -d "$kdir/tmp.unpack.XXXXXX")
    say "unpacking $pkg and building the initramfs (once per kernel)"
    dpkg -x "$deb" "$tree" || die "dpkg -x $deb failed"
    moddir=$(find "$tree" -path '*/lib/modules/*' -maxdepth 4 -mindepth 3 -type d -name '[0-9]*' | head -n1)
    [[ -n $moddir ]] || die "$deb has no lib/modules/<version>"
    kver=${moddir##*/}
    # kmod's -d ROOT expects ROOT/lib/modules; a merged-/usr package has usr/lib.
    [[ -d $tree/lib/modules ]] || ln -s usr/lib "$tree/lib"
    depmod -b "$tree" "$kver" || die "depmod failed for $kver"
    boot_image "$tree" "$kver" "$kdir/tmp.kernel"
    build_initramfs "$tree" "$kver" "$kdir/tmp.initramfs"
    mv "$kdir/tmp.kernel" "$kdir/kernel"
    mv "$kdir/tmp.initramfs" "$kdir/initramfs.cpio.gz"
    printf '%s\n' "$kver" >"$kdir/kernel-release"
    rm -rf "$tree"
}

# Under TCG, decompressing the bzImage takes ~3 s of every boot.  A kernel
# built with CONFIG_PVH can instead be booted by qemu as the plain vmlinux
# ELF, so we decompress it once here; any other kernel boots as shipped.
boot_image() {
    local tree=$1 kver=$2 out=$3 bz
    bz=$tree/boot/vmlinuz-$kver
    if grep -qx CONFIG_PVH=y "$tree/boot/config-$kver" 2>/dev/null; then
        # Debian 12's kernel carries an xz payload, the 6.12 backport zstd.
        extract_payload "$bz" '\xfd7zXZ\x00' "xz -dc --single-stream" "$out" && return
        extract_payload "$bz" '\x28\xb5\x2f\xfd' "zstd -dcq" "$out" && return
        say "note: could not extract vmlinux from the bzImage, booting it as is (slower)"
    fi
    cp "$bz" "$out"
}

# extract_payload BZIMAGE MAGIC DECOMPRESSOR OUT: decompresses from the first
# MAGIC on and succeeds if that gave an ELF file.
extract_payload() {
    local bz=$1 magic=$2 out=$4 off
    local -a decompress
    read -ra decompress <<<"$3"
    command -v "${decompress[0]}" >/dev/null || return 1
    off=$(LC_ALL=C grep -obUaP -m1 "$magic" "$bz" | cut -d: -f1 || true)
    off=${off%%$'\n'*}
    [[ -n $off ]] || return 1
    tail -c +"$((off + 1))" "$bz" >"$out.payload"
    # Trailing bytes after the stream make some decompressors fail late:
    # judge by the output, not the exit status.
    "${decompress[@]}" "$out.payload" >"$out" 2>/dev/null || true
    rm -f "$out.payload"
    [[ $(head -c4 "$out" | od -An -tx1 | tr -d ' ') == 7f454c46 ]]
}

# Prints the wanted modules and everything they need, in load order, as paths
# relative to the module directory.
module_closure() {
    local tree=$1 kver=$2 m
    for m in $GUEST_MODULES; do
        modprobe -d "$tree" -S "$kver" --show-depends "$m" ||
            die "kernel $kver has no module $m"
    done | awk -v pre="$tree/lib/modules/$kver/" '
        $1 == "insmod" && index($2, pre) == 1 {
            p = substr($2, length(pre) + 1); if (!seen[p]++) print p }'
}

build_initramfs() {
    local tree=$1 kver=$2 out=$3 root ko dst
    root=$(mktemp -d "$kdir/tmp.root.XXXXXX")
    mkdir -p "$root"/{bin,sbin,dev,proc,sys,host,etc,lib/modules/"$kver"}
    cp /bin/busybox "$root/bin/busybox"
    local applet
    for applet in $("$root/bin/busybox" --list); do
        [[ $applet == busybox ]] || ln -s busybox "$root/bin/$applet"
    done
    # The kernel's request_module() runs /sbin/modprobe in the initramfs root.
    ln -s ../bin/busybox "$root/sbin/modprobe"
    local mods
    mods=$(module_closure "$tree" "$kver")
    for ko in $mods; do
        dst=$root/lib/modules/$kver/$ko
        mkdir -p "${dst%/*}"
        copy_module "$tree/lib/modules/$kver/$ko" "$dst"
        printf '%s\n' "${ko%.ko*}.ko" >>"$root/etc/nvpvm-modules"
    done
    cp "$tree/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$kver/" 2>/dev/null || true
    depmod -b "$root" "$kver" || die "depmod failed on the initramfs modules"
    guest_init >"$root/init"
    chmod 755 "$root/init"
    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out" ||
        die "could not pack the initramfs"
    rm -rf "$root"
}

# busybox insmod may not read compressed modules: store them plain.
copy_module() {
    local src=$1 dst=$2
    case $src in
        *.ko) cp "$src" "$dst" ;;
        *.ko.xz) command -v xz >/dev/null || apt_install xz-utils; xz -dc "$src" >"${dst%.xz}" ;;
        *.ko.zst) command -v zstd >/dev/null || apt_install zstd; zstd -qdc "$src" >"${dst%.zst}" ;;
        *.ko.gz) gzip -dc "$src" >"${dst%.gz}" ;;
        *) die "unknown module format: $src" ;;
    esac
}

# ---------------------------------------------------------------- guest init

# PID 1 of the guest (busybox ash).  It gets nvp_run=<host run dir> on the
# kernel command line and reads the run's config from there via the host root.
guest_init() {
    cat <<'INIT'
#!/bin/sh
# Generated by scripts/vm.sh: PID 1 of the nvpoll test guest.
export PATH=/bin:/sbin
CHROOT=/host

# ttyS3 carries the result back to vm.sh, one line: exit=N or error=TEXT.
report() { echo "$1" >/dev/ttyS3; }
halt_guest() { sync; poweroff -f; sleep 30; }
die() { echo "vm-init: error: $*"; report "error=$*"; halt_guest; }
# Progress on the console (uptime first): shows where a slow boot spends time.
step() { read -r up _ </proc/uptime; echo "vm-init: $up $*"; }

mount_basics() {
    mount -t proc proc /proc
    mount -t sysfs sysfs /sys
    mount -t devtmpfs devtmpfs /dev
    # Raw: no CR added to CMD's newlines, no echo of anything.
    for t in ttyS1 ttyS2 ttyS3; do stty -F /dev/$t raw -echo 115200; done
}

# Loads every module but nvme, which must wait for driver_override.
load_modules() {
    dir=/lib/modules/$(uname -r)
    while read -r ko; do
        case $ko in */nvme.ko) continue ;; esac
        insmod "$dir/$ko" 2>/dev/null || echo "vm-init: note: insmod $ko failed"
    done </etc/nvpvm-modules
}

load_nvme() {
    dir=/lib/modules/$(uname -r)
    ko=$(grep '/nvme\.ko$' /etc/nvpvm-modules)
    [ -z "$ko" ] || insmod "$dir/$ko" || echo "vm-init: note: insmod nvme failed"
}

P9="trans=virtio,version=9p2000.L,msize=262144"
mount_host() {
    mount -t 9p -o "ro,$P9,cache=loose" hostroot $CHROOT ||
        die "cannot mount the host root over 9p"
    [ -r "$CHROOT$nvp_run/config" ] || die "no run config at $nvp_run/config"
    . "$CHROOT$nvp_run/config"
    # Copied now: the tmpfs mounted below may hide the run dir (under /tmp).
    cp "$CHROOT$nvp_run/cmd.sh" /cmd.sh
    mount -t proc proc $CHROOT/proc
    mount -t sysfs sysfs $CHROOT/sys
    mount -t devtmpfs devtmpfs $CHROOT/dev
    mkdir -p $CHROOT/dev/pts $CHROOT/dev/shm $CHROOT/dev/hugepages
    mount -t devpts devpts $CHROOT/dev/pts
    mount -t tmpfs -o mode=1777 tmpfs $CHROOT/dev/shm
    mount -t hugetlbfs hugetlbfs $CHROOT/dev/hugepages
    # devtmpfs has no /dev/fd: bash's process substitution needs it.
    ln -sf /proc/self/fd $CHROOT/dev/fd
    for d in /tmp /var/tmp /run; do
        mount -t tmpfs -o mode=1777 tmpfs $CHROOT$d || die "cannot mount tmpfs on $d"
    done
    # Mounted last, so a checkout under /tmp or /run is not hidden by tmpfs;
    # cache=mmap keeps it coherent with the host and allows shared mmap.
    mkdir -p "$CHROOT$REPO"
    mount -t 9p -o "$P9,cache=mmap" repo "$CHROOT$REPO" ||
        die "cannot mount the checkout $REPO over 9p"
    mkdir -p $CHROOT/run/nvpoll-vm/modroot/lib/modules
    mount -o bind /lib/modules $CHROOT/run/nvpoll-vm/modroot/lib/modules
    cp /cmd.sh $CHROOT/run/nvpoll-vm/cmd.sh
}

reserve_hugepages() {
    echo "$HUGEPAGES" >/proc/sys/vm/nr_hugepages
    got=$(cat /proc/sys/vm/nr_hugepages)
    [ "$got" = "$HUGEPAGES" ] ||
        echo "vm-init: warning: asked for $HUGEPAGES hugepages, got $got" >/dev/ttyS2
}

# NVMe controllers by class code, in BDF order (the glob sorts).
find_controllers() {
    BDFS=""
    for d in /sys/bus/pci/devices/*; do
        [ "$(cat "$d/class")" = 0x010802 ] && BDFS="$BDFS ${d##*/}"
    done
    BDFS=${BDFS# }
    [ -n "$BDFS" ] || die "no NVMe controller (class 0x010802) in the guest"
}

current_driver() {
    if [ -e "/sys/bus/pci/devices/$1/driver" ]; then
        basename "$(readlink "/sys/bus/pci/devices/$1/driver")"
    fi
}

bind_controllers() {
    [ "$DRIVER" = none ] && return
    for bdf in $BDFS; do
        echo "$DRIVER" >"/sys/bus/pci/devices/$bdf/driver_override"
    done
    load_nvme
    for bdf in $BDFS; do
        cur=$(current_driver "$bdf")
        [ "$cur" = "$DRIVER" ] && continue
        [ -n "$cur" ] && echo "$bdf" >"/sys/bus/pci/devices/$bdf/driver/unbind"
        echo "$bdf" >/sys/bus/pci/drivers_probe
        cur=$(current_driver "$bdf")
        [ "$cur" = "$DRIVER" ] || die "could not bind $bdf to $DRIVER (driver now: ${cur:-none}; see the console log)"
    done
}

# Waits up to $1 seconds for the shell test "$2".
wait_for() {
    n=$(($1 * 10))
    while [ $n -gt 0 ]; do
        eval "$2" && return 0
        usleep 100000
        n=$((n - 1))
    done
    return 1
}

check_controllers() {
    for bdf in $BDFS; do
        d=/sys/bus/pci/devices/$bdf
        case $DRIVER in
        vfio-pci)
            [ -e "$d/iommu_group" ] || die "$bdf has no IOMMU group (is --iommu on?)"
            g=$(basename "$(readlink "$d/iommu_group")")
            wait_for 10 "[ -c /dev/vfio/$g ]" || die "/dev/vfio/$g did not appear for $bdf"
            ;;
        uio_pci_generic)
            wait_for 10 "ls $d/uio/uio* >/dev/null 2>&1" || die "no uio device for $bdf"
            ;;
        nvme)
            wait_for 60 "grep -qx live $d/nvme/nvme*/state 2>/dev/null" ||
                die "nvme controller $bdf did not come up"
            ;;
        esac
    done
    if [ "$DRIVER" = nvme ]; then
        wait_for 60 "ls /dev/nvme*n1 >/dev/null 2>&1" || die "no /dev/nvme*n1 appeared"
    fi
    return 0
}

run_cmd() {
    set -- $BDFS
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root TERM=dumb LANG=C.UTF-8 \
        NVP_VM=1 NVP_DRIVER="$DRIVER" NVP_BDF="$1" NVP_BDFS="$BDFS" \
        MODPROBE_OPTIONS="-d /run/nvpoll-vm/modroot" \
        chroot $CHROOT /bin/bash /run/nvpoll-vm/cmd.sh \
        </dev/null >/dev/ttyS1 2>/dev/ttyS2
    report "exit=$?"
}

mount_basics
step loading modules; load_modules
step mounting the host; mount_host
step reserving hugepages; reserve_hugepages
step binding to "$DRIVER"; find_controllers; bind_controllers; check_controllers
step running CMD; run_cmd
step done; halt_guest
INIT
}

# ---------------------------------------------------------------- the run

make_run_dir() {
    run=$(mktemp -d "${TMPDIR:-/tmp}/nvpoll-vm.XXXXXX")
    trap cleanup EXIT
    {
        printf 'REPO=%q\nDRIVER=%q\nHUGEPAGES=%q\n' "$REPO" "$opt_driver" "$opt_hugepages"
    } >"$run/config"
    make_monitor_dir
    write_cmd_script >"$run/cmd.sh"
    mkfifo "$run/console.fifo" "$run/out.fifo" "$run/err.fifo"
    : >"$run/status"
}

# --monitor: the guest reaches the host only through the checkout (9p, read-
# write), so its monitor commands go into a file there, which a tail -F on
# the host feeds to QEMU's monitor.
make_monitor_dir() {
    monitor_dir=""
    ((opt_monitor)) || return 0
    mkdir -p "$REPO/build"
    monitor_dir=$(mktemp -d "$REPO/build/.vm-monitor.XXXXXX")
    : >"$monitor_dir/commands"
    mkfifo "$run/monitor.in" "$run/monitor.out"
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    # An EXIT trap's last status becomes the script's: end on a true one.
    [[ -z ${run:-} ]] || rm -rf "$run"
    [[ -z ${monitor_dir:-} ]] || rm -rf "$monitor_dir"
}

# Runs in the guest under the host's bash.  Host NVP_* variables pass through
# (those the guest sets itself win).
write_cmd_script() {
    printf '# Generated by scripts/vm.sh\n'
    local var
    while read -r var; do
        case $var in NVP_VM|NVP_DRIVER|NVP_BDF|NVP_BDFS|NVP_VM_CACHE) continue ;; esac
        printf 'export %s=%q\n' "$var" "${!var}"
    done < <(compgen -e | grep '^NVP_' || true)
    [[ -z $monitor_dir ]] || printf 'export NVP_VM_MONITOR=%q\n' "$monitor_dir/commands"
    printf 'cd %q || exit 125\n' "$REPO"
    printf 'exec'
    printf ' %q' "${cmd[@]}"
    printf '\n'
}

disk_args() {
    if ((opt_null_disk)); then
        local size=${opt_disk_size:-1G}
        printf '%s\n' -drive "if=none,id=nvm0,format=raw,file=null-co://,file.read-zeroes=on,file.size=$size"
    else
        truncate -s "${opt_disk_size:-64M}" "$run/disk0.img"
        # Default cache mode: cache=none hangs QEMU's nvme under TCG at QD>=2.
        printf '%s\n' -drive "if=none,id=nvm0,format=raw,file=$run/disk0.img"
    fi
}

qemu_cmdline() {
    local append="console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off init_on_alloc=0 nvp_run=$run"
    q=(qemu-system-x86_64 -nodefaults -no-user-config -no-reboot -display none
        -machine q35 -accel tcg -cpu max -smp "$opt_smp" -m "$opt_mem")
    if [[ $opt_iommu == on ]]; then
        # Default aw-bits (39): the driver must cope with the narrow IOVA space.
        q+=(-device intel-iommu)
        append+=" intel_iommu=on"
        # uio hands the device physical addresses: give devices that vfio
        # does not own an identity mapping so that their DMA still works.
        [[ $opt_driver != uio_pci_generic ]] || append+=" iommu=pt"
    fi
    append+=$opt_kernel_args
    q+=(-kernel "$kdir/kernel" -initrd "$kdir/initramfs.cpio.gz" -append "$append")
    # ttyS0 console, ttyS1 CMD's stdout, ttyS2 its stderr, ttyS3 the status.
    q+=(-chardev "file,id=con,path=$run/console.fifo" -serial chardev:con
        -chardev "file,id=out,path=$run/out.fifo" -serial chardev:out
        -chardev "file,id=err,path=$run/err.fifo" -serial chardev:err
        -serial "file:$run/status")
    # Fixed slots: 9p at 1 and 2, our controller at 3, so that devices added
    # with --qemu-args land after it and NVP_BDF stays the default controller.
    # shellcheck disable=SC2054 # the commas belong to qemu's option syntax
    q+=(-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
        -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot,addr=0x1
        -fsdev "local,id=repo,path=$REPO,security_model=none,multidevs=remap"
        -device virtio-9p-pci,fsdev=repo,mount_tag=repo,addr=0x2)
    mapfile -t -O "${#q[@]}" q < <(disk_args)
    q+=(-device "nvme,serial=nvpoll-vm0,id=nvme0,drive=nvm0,addr=0x3${opt_nvme_opts:+,$opt_nvme_opts}")
    q+=("${opt_qemu_args[@]}")
    # QEMU's pipe chardev reads $run/monitor.in and writes $run/monitor.out.
    [[ -z $monitor_dir ]] || q+=(-monitor "pipe:$run/monitor")
}

# Streams the guest's serial ports to our stdout/stderr.  We hold each FIFO
# open read-write ourselves, so the readers never block on open (even if qemu
# dies before opening its end) and see EOF only once we close it after qemu.
start_readers() {
    exec 7<>"$run/out.fifo" 8<>"$run/err.fifo" 9<>"$run/console.fifo"
    drain <"$run/out.fifo" 7>&- 8>&- 9>&- &
    readers=($!)
    drain <"$run/err.fifo" >&2 7>&- 8>&- 9>&- &
    readers+=($!)
    if ((opt_verbose)); then
        tee "$run/console.log" <"$run/console.fifo" >&2 7>&- 8>&- 9>&- &
    else
        cat <"$run/console.fifo" >"$run/console.log" 7>&- 8>&- 9>&- &
    fi
    readers+=($!)
    start_monitor_relay
}

start_monitor_relay() {
    monitor_relay=""
    [[ -n $monitor_dir ]] || return 0
    exec 4<>"$run/monitor.in" 5<>"$run/monitor.out"
    cat <"$run/monitor.out" >"$run/monitor.log" 4>&- 5>&- 7>&- 8>&- 9>&- &
    readers+=($!)
    # Never ends by itself: stop_readers kills it.
    tail -n +1 -F -s 0.1 "$monitor_dir/commands" >"$run/monitor.in" 2>/dev/null 4>&- 5>&- 7>&- 8>&- 9>&- &
    monitor_relay=$!
}

# Copies stdin to stdout; if stdout goes away (vm.sh ... | head), keeps
# reading, since a full FIFO would stall the guest until the timeout.
drain() {
    cat || cat >/dev/null
}

stop_readers() {
    if [[ -n ${monitor_relay:-} ]]; then
        kill "$monitor_relay" 2>/dev/null || true
        wait "$monitor_relay" 2>/dev/null || true
        exec 4>&- 5>&-
    fi
    exec 7>&- 8>&- 9>&-
    wait "${readers[@]}" || true
}

show_console_tail() {
    say "last lines of the guest console:"
    tail -n 40 "$run/console.log" | tr -d '\r' | sed 's/^/  | /' >&2
    if [[ -s $run/monitor.log ]]; then
        say "QEMU monitor:"
        tr -d '\r' <"$run/monitor.log" | tail -n 20 | sed 's/^/  | /' >&2
    fi
}

# qemu runs in the background so that a signal to vm.sh (Ctrl-C, a CI's
# kill) is handled at once: bash defers traps until a foreground child exits.
start_qemu() {
    timeout --foreground -k 10 "$opt_timeout" "${q[@]}" 7>&- 8>&- 9>&- \
        </dev/null 2>"$run/qemu.log" &
    qemu_pid=$!
    trap 'stop_qemu 130' INT
    trap 'stop_qemu 143' TERM
    trap 'stop_qemu 129' HUP
}

# shellcheck disable=SC2317 # called by the traps above
stop_qemu() {
    interrupted=$1
    say "interrupted, stopping the guest"
    kill -TERM "$qemu_pid" 2>/dev/null || true
}

# Sets qemu_rc once qemu has exited; a trap makes wait return early.
wait_qemu() {
    while :; do
        qemu_rc=0
        wait "$qemu_pid" || qemu_rc=$?
        kill -0 "$qemu_pid" 2>/dev/null || break
    done
    trap - INT TERM HUP
}

# Runs the guest and exits with CMD's status, or explains why it has none.
run_guest() {
    local status start=$SECONDS
    interrupted=0
    qemu_cmdline
    start_readers
    start_qemu
    wait_qemu
    stop_readers
    [[ -z $opt_console_log ]] || tr -d '\r' <"$run/console.log" >"$opt_console_log"
    ((interrupted == 0)) || exit "$interrupted"
    if ((qemu_rc == 124)); then
        say "error: timed out after ${opt_timeout}s (--timeout), guest killed"
        show_console_tail
        exit "$EXIT_TIMEOUT"
    fi
    status=$(tr -d '\r' <"$run/status" | tail -n1)
    case $status in
        exit=*) exit "${status#exit=}" ;;
        error=*) say "error: guest setup failed: ${status#error=}" ;;
        *)
            if ((qemu_rc != 0)); then
                say "error: qemu failed (exit $qemu_rc) after $((SECONDS - start))s:"
                sed 's/^/  | /' "$run/qemu.log" >&2
            else
                say "error: the guest stopped without reporting CMD's status (kernel panic or boot failure?)"
            fi
            ;;
    esac
    show_console_tail
    exit "$EXIT_HARNESS"
}

main() {
    parse_args "$@"
    ensure_host_tools
    mkdir -p "$CACHE"
    # One vm.sh at a time fetches and builds; later ones reuse the result.
    exec 6>"$CACHE/.lock"
    flock 6
    prepare_kernel
    exec 6>&-
    make_run_dir
    run_guest
}

main "$@"
