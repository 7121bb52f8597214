#!/usr/bin/env bash
# make install into a scratch DESTDIR, then use the installed copy the way
# an application would: build examples/ out of tree with pkg-config (shared
# and static), a C++ program, fio with the installed engine, man with the
# installed pages; then make uninstall must leave nothing behind.
#   usage: install.sh BUILD-DIR
set -uo pipefail
build=${1:?usage: install.sh BUILD-DIR}
cd "$(dirname "$0")/../.." || exit 1
repo=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root prefix=/usr/local
fails=0
indent() { sed 's/^/  | /'; }
ok() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
check() { # NAME CMD...
	local name=$1; shift
	if "$@" >"$tmp/out" 2>&1; then ok "$name"; else fail "$name"; sed 's/^/  | /' "$tmp/out" | tail -n 20; fi
}

major=$(sed -n 's/^#define NVP_VERSION_MAJOR //p' include/nvpoll.h)
minor=$(sed -n 's/^#define NVP_VERSION_MINOR //p' include/nvpoll.h)
lib=$root$prefix/lib

if ! make -s --no-print-directory O="$build" DESTDIR="$root" PREFIX="$prefix" install >"$tmp/install.log" 2>&1; then
	fail "make install"; sed 's/^/  | /' "$tmp/install.log" | tail -n 30
	exit 1
fi
ok "make install DESTDIR=... PREFIX=$prefix"
(cd "$root" && find . \( -type f -o -type l \) | sort | sed 's/^\.//') >"$tmp/files"
echo "  installed $(wc -l <"$tmp/files") files and links"

# ---- layout
for f in include/nvpoll.h include/nvpoll/spec.h include/nvpoll/qpair.h include/nvpoll/types.h lib/libnvpoll.a \
	lib/libnvpoll.so.$major.$minor lib/pkgconfig/nvpoll.pc lib/nvpoll/nvpoll-fio.so bin/nvpoll \
	share/man/man1/nvpoll.1 share/man/man1/nvpoll-perf.1 share/man/man8/nvpoll-setup.8 \
	share/man/man3/nvpoll.3 share/man/man3/nvp_qpair_create.3 share/man/man3/nvp_read.3; do
	[ -e "$root$prefix/$f" ] || fail "$prefix/$f not installed"
done
[ ! -f bench/perf/main.c ] || [ -x "$root$prefix/bin/nvpoll-perf" ] || fail "nvpoll-perf not installed"
[ ! -f scripts/setup.sh ] || [ -x "$root$prefix/sbin/nvpoll-setup" ] || fail "nvpoll-setup not installed"
# Before 1.0 the soname is the file's own name (each minor version may change the ABI).
soname=libnvpoll.so.$major; [ "$major" = 0 ] && soname=libnvpoll.so.$major.$minor
if [ "$soname" != "libnvpoll.so.$major.$minor" ]; then
	check "$soname -> libnvpoll.so.$major.$minor" test "$(readlink "$lib/$soname")" = "libnvpoll.so.$major.$minor"
fi
check "libnvpoll.so -> $soname" test "$(readlink "$lib/libnvpoll.so")" = "$soname"
check "the installed library's soname is $soname" \
	bash -c "readelf -d '$lib/libnvpoll.so.$major.$minor' | grep -q 'SONAME.*\[$soname\]'"

# ---- pkg-config, from the DESTDIR as if it were /
export PKG_CONFIG_LIBDIR=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root
check "pkg-config --modversion nvpoll is $major.$minor" test "$(pkg-config --modversion nvpoll)" = "$major.$minor"
check "pkg-config --static --libs nvpoll has -lpthread -lnuma -lpci -luring -laio" \
	bash -c "pkg-config --static --libs nvpoll | grep -q -- '-lnvpoll -lpthread -lnuma -lpci -luring -laio'"
echo "  cflags: $(pkg-config --cflags nvpoll)   libs: $(pkg-config --libs nvpoll)"

# ---- examples, out of tree: a copy of examples/ and nothing else of the source
mkdir -p "$tmp/oot"
cp examples/*.c "$tmp/oot/"
cd "$tmp/oot" || exit 1
export LD_LIBRARY_PATH=$lib
for src in *.c; do
	ex=${src%.c}
	# shellcheck disable=SC2046 # pkg-config's output is a list of words
	check "build $ex out of tree: cc $src \$(pkg-config --cflags --libs nvpoll)" \
		cc -std=gnu11 -Wall -Wextra -Werror -o "$ex" "$src" $(pkg-config --cflags --libs nvpoll)
	check "$ex links the installed $soname" \
		bash -c "readelf -d '$ex' | grep -q 'NEEDED.*\[$soname\]' && ldd '$ex' | grep -q '$lib/$soname'"
	# shellcheck disable=SC2046
	check "build $ex statically against libnvpoll.a (pkg-config --static)" \
		cc -std=gnu11 -o "$ex-static" "$src" $(pkg-config --cflags nvpoll) \
		-Wl,-Bstatic $(pkg-config --libs-only-L nvpoll) -lnvpoll -Wl,-Bdynamic \
		$(pkg-config --static --libs-only-l nvpoll | sed 's/-lnvpoll//')
done
check "hello runs against sim" ./hello sim
check "hello (static) runs against sim" ./hello-static sim
check "async_reader runs against sim, stamps checked" ./async_reader -w -t 2 -q 8 -n 1000 sim
check "async_reader (static) runs against sim" ./async_reader-static -t 2 -q 8 -n 500 sim

cat >cxx.cc <<'EOF'
#include <cstdio>
#include <nvpoll.h>
#include <nvpoll/sim.h>

int main()
{
	nvp_dev *dev = nvp_dev_open("sim", nullptr);

	if (!dev) {
		std::fprintf(stderr, "%s\n", nvp_errmsg());
		return 1;
	}
	std::printf("C++: %u namespace(s) via %s\n", nvp_ns_list(dev, nullptr), nvp_dev_backend(dev));
	nvp_dev_close(dev);
	return 0;
}
EOF
# shellcheck disable=SC2046
check "a C++ program builds and runs against the installed copy" bash -c \
	"g++ -std=c++17 -Wall -Wextra -Werror -o cxx cxx.cc $(pkg-config --cflags --libs nvpoll) && ./cxx"

check "fio runs the installed engine (crc32c verify on sim)" bash -c \
	"fio --ioengine=external:$lib/nvpoll/nvpoll-fio.so --thread=1 --name=v --filename=sim --rw=randwrite \
	 --bs=4k --size=2m --iodepth=8 --verify=crc32c | grep -q 'err= 0'"
check "man finds nvp_read(3) in the installed pages (alias of nvp_qpair_create(3))" bash -c \
	"MANPATH='$root$prefix/share/man' MANWIDTH=80 man 3 nvp_read 2>/dev/null | grep -q '^NVP_QPAIR_CREATE(3)'"
cd "$repo" || exit 1

# ---- uninstall
if make -s --no-print-directory O="$build" DESTDIR="$root" PREFIX="$prefix" uninstall >"$tmp/uninstall.log" 2>&1; then
	left=$(cd "$root" && find . \( -type f -o -type l \) | sed 's/^\.//')
	if [ -z "$left" ]; then ok "make uninstall removes every file it installed"; else
		fail "make uninstall left:"; indent <<<"$left"; fi
else
	fail "make uninstall"; sed 's/^/  | /' "$tmp/uninstall.log" | tail -n 20
fi

echo "install: $fails failed"
[ "$fails" = 0 ]
