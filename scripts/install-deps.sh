#!/usr/bin/env bash
# Install what building and testing nvpoll needs on Debian 12 (run as root).
# Idempotent: installs only what is missing. scripts/vm.sh fetches the guest
# kernel and busybox itself. With --fuzz: clang and libFuzzer too (make fuzz).
set -euo pipefail

pkgs=(build-essential pkg-config libcmocka-dev libpci-dev libnuma-dev liburing-dev libaio-dev
      qemu-system-x86 qemu-utils busybox-static cpio kmod fio nvme-cli valgrind shellcheck python3 python3-matplotlib
      man-db groff-base xz-utils dpkg-dev e2fsprogs util-linux)

[ "${1:-}" = --fuzz ] && pkgs+=(clang libclang-rt-14-dev)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -q
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
