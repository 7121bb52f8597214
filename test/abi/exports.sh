#!/usr/bin/env bash
# The shared library's ABI: its soname, and exactly the public API exported.
# A symbol exported but declared in no public header is an internal one
# leaking (lib/libnvpoll.map or an NVP_API on a private function); a
# function declared but not exported is API the library does not provide.
#   usage: exports.sh BUILD-DIR
set -euo pipefail
build=${1:?usage: exports.sh BUILD-DIR}
cd "$(dirname "$0")/../.." || exit 1
lib=$build/libnvpoll.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
indent() { sed 's/^/  | /'; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

major=$(sed -n 's/^#define NVP_VERSION_MAJOR //p' include/nvpoll.h)
minor=$(sed -n 's/^#define NVP_VERSION_MINOR //p' include/nvpoll.h)
# Before 1.0 the minor version is part of the soname: each may change the ABI.
want=libnvpoll.so.$major; [ "$major" = 0 ] && want=libnvpoll.so.0.$minor
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" = "$want" ]; then echo "ok   - soname $soname"; else fail "soname '$soname', want $want"; fi

# Defined dynamic symbols, without the version node itself (type A).
nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sort >"$tmp/exported"
bad=$(grep -v '^nvp_[A-Za-z0-9_]*@@NVPOLL_[0-9]*$' "$tmp/exported" || true)
if [ -z "$bad" ]; then
	echo "ok   - all $(wc -l <"$tmp/exported") exported symbols are nvp_*, versioned"
else
	fail "exported symbols outside nvp_*@@NVPOLL_*:"; indent <<<"$bad"
fi
sed 's/@.*//' "$tmp/exported" | sort -u >"$tmp/exported.names"

# Every function the public headers declare extern (not static inline), as the compiler sees them.
{ echo '#include <nvpoll.h>'; for h in include/nvpoll/*.h; do echo "#include <nvpoll/${h##*/}>"; done; } >"$tmp/all.c"
cc -std=gnu11 -Iinclude -aux-info "$tmp/aux" -c -o "$tmp/all.o" "$tmp/all.c"
grep -E '^/\* include/nvpoll[^ ]*:[0-9]+:NC \*/ extern ' "$tmp/aux" |
	sed -E 's/ *\(.*//; s/.*[ *]([A-Za-z_][A-Za-z0-9_]*)$/\1/' | sort -u >"$tmp/declared"

leaked=$(comm -23 "$tmp/exported.names" "$tmp/declared")
missing=$(comm -13 "$tmp/exported.names" "$tmp/declared")
if [ -z "$leaked" ]; then echo "ok   - every exported symbol is declared in include/"; else
	fail "exported but in no public header (internal symbols leaking):"; indent <<<"$leaked"; fi
if [ -z "$missing" ]; then echo "ok   - every function declared in include/ is exported ($(wc -l <"$tmp/declared"))"; else
	fail "declared in include/ but not exported by $lib:"; indent <<<"$missing"; fi

# The fio engine exports its entry point and nothing of the library linked into it.
if [ -f "$build/nvpoll-fio.so" ]; then
	fio_syms=$(nm -D --defined-only "$build/nvpoll-fio.so" | awk '$2 != "A" { print $3 }' | sed 's/@.*//' | sort -u | tr '\n' ' ')
	if [ "$fio_syms" = "ioengine " ]; then echo "ok   - nvpoll-fio.so exports only ioengine"; else
		fail "nvpoll-fio.so exports: $fio_syms"; fi
fi

echo "exports: $fails failed"
[ "$fails" = 0 ]
