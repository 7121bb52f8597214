#!/usr/bin/env bash
# Fetch and configure the source of the fio that is installed, so that the
# nvpoll ioengine (bench/fio/nvpoll-fio.c) is compiled against exactly the
# headers -- struct thread_data, struct io_u, FIO_IOOPS_VERSION -- of the
# fio binary that will dlopen() it.
#
#   bench/fio/get-fio-src.sh DIR
#
# Leaves the configured tree in DIR (config-host.h and FIO-VERSION-FILE
# included) and its Debian version in DIR/.nvpoll-fio-version, the
# Makefile's stamp; when DIR already holds the installed version it only
# touches that. The source comes from Debian through apt (`apt-get source
# fio=VERSION`): when apt has no deb-src entry for the repository the
# installed fio came from, one mirroring that deb entry is added as
# /etc/apt/sources.list.d/nvpoll-deb-src.sources (root only).
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

dir=$(realpath -m "${1:?usage: get-fio-src.sh DIR}")
srclist=/etc/apt/sources.list.d/nvpoll-deb-src.sources
apt_opts=(-o DPkg::Lock::Timeout=600 -q)

say() { printf 'get-fio-src: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

version=$(dpkg-query -W -f='${Version}' fio 2>/dev/null || true)
[[ -n $version ]] || die "fio is not installed: run scripts/install-deps.sh (or apt-get install fio)"
if [[ -s $dir/config-host.h && -s $dir/FIO-VERSION-FILE &&
	$(cat "$dir/.nvpoll-fio-version" 2>/dev/null) == "$version" ]]; then
	touch "$dir/.nvpoll-fio-version" # make's stamp: checked against this script and dpkg's fio.list
	exit 0
fi

have_source() {
	apt-cache showsrc --only-source fio 2>/dev/null | grep -qx "Version: $version"
}

# The Signed-By of the entry (deb822 stanza or one-line [signed-by=]) for URI.
signed_by() {
	local uri=${1%/} entry=$2 file
	file=${entry%:*}
	[[ -r $file ]] || return 0
	if [[ $file == *.sources ]]; then
		awk -v RS= -v uri="$uri" '
			{ ok = 0; n = split($0, l, "\n")
			  for (i = 1; i <= n; i++) if (l[i] ~ /^URIs:/) {
				  m = split(l[i], u, /[ \t]+/)
				  for (j = 2; j <= m; j++) { sub(/\/$/, "", u[j]); if (u[j] == uri) ok = 1 } }
			  if (ok) for (i = 1; i <= n; i++)
				  if (l[i] ~ /^Signed-By:/) { sub(/^Signed-By:[ \t]*/, "", l[i]); print l[i]; exit } }' "$file"
	else
		sed -n "s|^deb[ \t]*\[[^]]*signed-by=\([^] \t]*\).*${uri}/\?[ \t].*|\1|p" "$file" | head -n1
	fi
}

# deb-src stanzas mirroring the deb entries that carry the installed version.
write_deb_src() {
	local uri suite comp entry key
	apt-cache policy fio | awk -v v="$version" '
		/^ *(\*\*\* )?[^ ]+ [0-9]+$/ { cur = ($1 == "***" ? $2 : $1) == v; next }
		cur && $2 ~ /^[a-z]+:\/\// && NF >= 4 { split($3, sc, "/"); print $2, sc[1], sc[2] }' |
	sort -u | while read -r uri suite comp; do
		# shellcheck disable=SC2016 # $(...) is apt's template syntax, not ours
		entry=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(SOURCESENTRY)' 2>/dev/null |
			awk -v u="${uri%/}/" -v s="$suite" '$1 == u && $2 == s { print $3; exit }')
		key=$(signed_by "$uri" "$entry")
		printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\n' "$uri" "$suite" "$comp"
		[[ -z $key ]] || printf 'Signed-By: %s\n' "$key"
		printf '\n'
	done
}

if ! have_source; then
	if [[ ! -s $srclist ]]; then
		((EUID == 0)) || die "apt has no deb-src entry for fio $version; as root, add one (this script does it when run as root)"
		write_deb_src >"$srclist.tmp"
		[[ -s $srclist.tmp ]] || { rm -f "$srclist.tmp"; die "apt knows no repository that carries fio $version"; }
		mv "$srclist.tmp" "$srclist"
		say "added deb-src entries for fio $version in $srclist:"
		sed 's/^/  | /' "$srclist" >&2
	fi
	((EUID == 0)) || die "apt's source index lacks fio $version: run 'apt-get update' as root"
	say "apt-get update (source indexes)"
	apt-get "${apt_opts[@]}" update >&2 || die "apt-get update failed"
	have_source || die "no repository in apt's sources has the source of fio $version"
fi

tmp=$(mktemp -d "${dir%/}.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
say "fetching the source of fio $version"
# apt-get source unpacks with dpkg-source; _apt's sandbox can't write here, hence -q noise.
(cd "$tmp" && apt-get "${apt_opts[@]}" source "fio=$version" >&2 2>"$tmp/apt.log") ||
	die "apt-get source fio=$version failed: $(tail -n 3 "$tmp/apt.log")"
tree=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'fio-*' | head -n1)
[[ -n $tree && -f $tree/configure && -f $tree/ioengines.h ]] || die "unexpected layout of fio's source in $tmp"

# As debian/rules does (--enable-gfio and --enable-libnbd only add programs
# and engines). Which optional libraries configure finds changes no struct
# an engine sees: in struct io_u, CONFIG_LIBAIO's iocb and CONFIG_RDMA's
# pointer share a union with the always-present, larger POSIX aiocb.
say "configuring fio's source"
(cd "$tree" && ./configure --disable-native >"$tmp/configure.log" 2>&1) ||
	die "fio's ./configure failed: $(tail -n 5 "$tmp/configure.log")"
# FIO-VERSION-FILE: the version string fio was built with, as its Makefile makes it.
(cd "$tree" && ./FIO-VERSION-GEN >/dev/null 2>&1) || die "fio's FIO-VERSION-GEN failed"
printf '%s\n' "$version" >"$tree/.nvpoll-fio-version"
rm -rf "$dir"
mv "$tree" "$dir"
say "fio $version source ready in $dir"
