#!/usr/bin/env bash
# The folders of lib/ are a stack: a file includes headers of its own
# folder and of folders below it, and calls functions defined there; never
# of a folder above it, nor of one beside it (the same rank).
#
# The order, bottom up (what the code needs, not a wish):
#   0  lib/*.h lib/*.c   base: internal.h (errors, log, time, registers) with
#                        err.c, and bus.h (the bus contract every layer above
#                        uses: bus ops, BAR0, NVP_DMA_UNIT_*)
#   1  lib/pci           sysfs and PCI address helpers, BAR0 map, the SIGBUS
#                        guard of a BAR
#   2  lib/hugemem       DMA memory sources (hugepages, libc) and the pool;
#                        reads hugepage counts through lib/pci
#   3  lib/vfio lib/uio lib/sim
#                        the buses: each implements bus.h; uio hands the
#                        device hugemem's physical addresses
#   4  lib/nvme          the controller over any bus, and the transport seam
#                        (transport.h)
#   5  lib/kernel lib/nil lib/tcp
#                        transports plugged into lib/nvme's transport.h
#   6  lib/be            the configs: the table of every bus and transport,
#                        and the one choice at open
# include/ (the public API) sits below all of lib/: any file may include it.
#
# Exceptions: none now (nvp_dev_open(), which needs both the configs and the
# controller, lives at the top, in lib/be/open.c). A file listed in
# `exception` below may include and call into the folder named; an exception
# nothing needs any more fails the check, so it is deleted with its cause.
#
# Includes are read from the sources; calls (and data references) from the
# undefined symbols of BUILD-DIR's objects, when they are built.
#   usage: layers.sh [BUILD-DIR]
set -uo pipefail
build=${1:-}
[ -z "$build" ] || build=$(cd "$build" 2>/dev/null && pwd) || build=
cd "$(dirname "$0")/../.." || exit 1

declare -A rank=(
	[.]=0
	[pci]=1
	[hugemem]=2
	[vfio]=3 [uio]=3 [sim]=3
	[nvme]=4
	[kernel]=5 [nil]=5 [tcp]=5
	[be]=6
)
declare -A exception=()
declare -A exception_used=()
fails=0 nfiles=0 nincs=0 ncalls=0

fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

# lib/pci/sysfs.c -> pci; lib/err.c -> .
folder_of() {
	local rel=${1#lib/}

	case $rel in */*) echo "${rel%%/*}" ;; *) echo . ;; esac
}

label() { [ "$1" = . ] && echo "lib/ (base)" || echo "lib/$1"; }

# May FILE (in folder FROM) reach folder TO? WHAT says how, for the message.
check_edge() {
	local file=$1 from=$2 to=$3 what=$4

	[ "$from" = "$to" ] && return
	if [ -z "${rank[$to]+set}" ]; then
		return # reported once per file below
	fi
	[ "${rank[$to]}" -lt "${rank[$from]}" ] && return
	if [ -n "${exception[$file $to]+set}" ]; then
		exception_used[$file $to]=1
		return
	fi
	if [ "${rank[$to]}" -eq "${rank[$from]}" ]; then
		fail "$file ($(label "$from")) $what $(label "$to"), which sits beside it (rank ${rank[$to]})"
	else
		fail "$file ($(label "$from"), rank ${rank[$from]}) $what $(label "$to"), which sits above it (rank ${rank[$to]})"
	fi
}

# ---- includes ---------------------------------------------------------------
before=$fails
while IFS= read -r file; do
	nfiles=$((nfiles + 1))
	from=$(folder_of "$file")
	if [ -z "${rank[$from]+set}" ]; then
		fail "$file: folder $(label "$from") has no place in the order: add it to test/abi/layers.sh"
		continue
	fi
	while IFS= read -r inc; do
		nincs=$((nincs + 1))
		# As the compiler looks: the file's own folder, then -Ilib, then -Iinclude.
		if [ -e "$(dirname "$file")/$inc" ]; then
			target=$(realpath -m --relative-to=. "$(dirname "$file")/$inc")
		elif [ -e "lib/$inc" ]; then
			target=$(realpath -m --relative-to=. "lib/$inc")
		elif [ -e "include/$inc" ]; then
			continue
		else
			fail "$file includes \"$inc\", which is in neither lib/ nor include/"
			continue
		fi
		case $target in
		lib/*) ;;
		include/*) continue ;;
		*) fail "$file includes \"$inc\" from outside lib/ and include/ ($target)"; continue ;;
		esac
		to=$(folder_of "$target")
		[ -n "${rank[$to]+set}" ] || { fail "$file includes $target: folder $(label "$to") has no place in the order"; continue; }
		check_edge "$file" "$from" "$to" "includes \"$inc\" of"
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
done < <(find lib -name '*.[ch]' | sort)
[ "$fails" = "$before" ] && echo "ok   - includes: $nincs quoted includes in $nfiles files of lib/ point down"

# ---- calls ------------------------------------------------------------------
objs=()
if [ -n "$build" ] && [ -d "$build/lib" ]; then
	# Objects of sources that still exist: a file moved away leaves its old object behind.
	while IFS= read -r o; do [ -f "${o%.o}.c" ] && objs+=("$o"); done < <(cd "$build" && find lib -name '*.o' | sort)
fi
if [ "${#objs[@]}" -gt 0 ]; then
	before=$fails
	declare -A defined_in=()
	# Which object defines each global symbol.
	while read -r obj sym; do
		defined_in[$sym]=$obj
	done < <(cd "$build" && for o in "${objs[@]}"; do
		nm --defined-only -g "$o" | awk -v o="$o" 'NF == 3 { print o, $3 }'
	done)
	for o in "${objs[@]}"; do
		src=${o%.o}.c
		from=$(folder_of "$src")
		[ -n "${rank[$from]+set}" ] || continue # reported by the include check
		while read -r sym; do
			def=${defined_in[$sym]:-}
			[ -n "$def" ] || continue # libc, libnuma, ...
			ncalls=$((ncalls + 1))
			to=$(folder_of "$def")
			[ -n "${rank[$to]+set}" ] || continue
			check_edge "$src" "$from" "$to" "uses $sym of"
		done < <(nm --undefined-only "$build/$o" | awk '{ print $NF }' | sort -u)
	done
	[ "$fails" = "$before" ] &&
		echo "ok   - calls: $ncalls references between the ${#objs[@]} objects of lib/ point down"
else
	echo "skip - calls: no objects under ${build:-<no BUILD-DIR>}/lib (make all builds them)"
fi

# ---- the exceptions are still needed ----------------------------------------
for e in "${!exception[@]}"; do
	[ -n "${exception_used[$e]+set}" ] ||
		fail "exception ${e% *} -> lib/${e#* } is not needed any more: delete it from test/abi/layers.sh"
done

echo "layers: base < pci < hugemem < vfio, uio, sim < nvme < kernel, nil < be; ${#exception[@]} exception(s);" \
	"$fails failure(s)"
[ "$fails" = 0 ]
