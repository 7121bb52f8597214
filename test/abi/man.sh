#!/usr/bin/env bash
# The man pages: each renders without a warning (man -l, groff -ww), each
# section 3 page has RETURN VALUE and ERRORS, every public function is on a
# page and every function a page names exists, cross-references resolve,
# and the pages of the commands mention every option their --help shows.
#   usage: man.sh BUILD-DIR
set -uo pipefail
build=${1:?usage: man.sh BUILD-DIR}
cd "$(dirname "$0")/../.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
indent() { sed 's/^/  | /'; }
ok() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

for p in nvpoll.1 nvpoll-perf.1 nvpoll-setup.8 nvpoll.3 nvp_dev_open.3 nvp_dma_alloc.3 \
	nvp_qpair_create.3 nvp_admin_cmd.3 nvp_errmsg.3; do
	[ -f "man/$p" ] || fail "man/$p is missing"
done

for p in man/*.[1-8]; do
	# man-db's own check (as lintian runs it), then groff with every warning.
	LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$p" >/dev/null 2>"$tmp/w"
	groff -man -ww -z "$p" 2>>"$tmp/w"
	if [ -s "$tmp/w" ]; then fail "$p renders with warnings:"; sed 's/^/  | /' "$tmp/w"; else ok "$p renders cleanly"; fi
done

for p in man/*.3; do
	missing=""
	for s in NAME SYNOPSIS DESCRIPTION "RETURN VALUE" ERRORS "SEE ALSO"; do
		grep -q "^\.SH \"\?$s\"\?\$" "$p" || missing="$missing '$s'"
	done
	if [ -z "$missing" ]; then ok "$p has RETURN VALUE and ERRORS"; else fail "$p lacks section(s)$missing"; fi
done

# Functions the pages name vs. the public functions: exported, or static inline and not nvp__.
man/aliases.sh man/*.3 | awk '{ sub(/\.3$/, "", $1); print $1 }' >"$tmp/named"
for p in man/*.3; do b=${p##*/}; echo "${b%.3}"; done | grep -v '^nvpoll$' >>"$tmp/named"
sort -u -o "$tmp/named" "$tmp/named"
{ echo '#include <nvpoll.h>'; for h in include/nvpoll/*.h; do echo "#include <nvpoll/${h##*/}>"; done; } >"$tmp/all.c"
cc -std=gnu11 -Iinclude -aux-info "$tmp/aux" -c -o "$tmp/all.o" "$tmp/all.c"
grep -E '^/\* include/nvpoll[^ ]*:[0-9]+:N[CF] \*/ ' "$tmp/aux" |
	sed -E 's/ *\(.*//; s/.*[ *]([A-Za-z_][A-Za-z0-9_]*)$/\1/' | grep '^nvp_' | grep -v '^nvp__' |
	sort -u >"$tmp/public"
undocumented=$(comm -13 "$tmp/named" "$tmp/public")
stale=$(comm -23 "$tmp/named" "$tmp/public")
if [ -z "$undocumented" ]; then ok "all $(wc -l <"$tmp/public") public functions have a page"; else
	fail "public functions on no man page:"; indent <<<"$undocumented"; fi
if [ -z "$stale" ]; then ok "every function the pages name exists"; else
	fail "man pages name functions the headers do not declare:"; indent <<<"$stale"; fi

# Cross-references to our own pages must resolve to a page or an alias.
{ for p in man/*.[1-8]; do b=${p##*/}; echo "${b%.*}(${b##*.})"; done
  man/aliases.sh man/*.3 | awk '{ sub(/\.3$/, "", $1); print $1 "(3)" }'; } | sort -u >"$tmp/pages"
grep -ho '^\.BR [a-z_\\-]* ([0-9])' man/*.[1-8] | sed -E 's/^\.BR ([^ ]*) \(([0-9])\)/\1(\2)/; s/\\-/-/g' |
	grep -E '^(nvp_|nvpoll)' | sort -u >"$tmp/refs"
broken=$(comm -23 "$tmp/refs" "$tmp/pages")
if [ -z "$broken" ]; then ok "all $(wc -l <"$tmp/refs") references to nvpoll pages resolve"; else
	fail "references to pages that do not exist:"; indent <<<"$broken"; fi

# Every option a command's --help shows appears in its page.
check_options() { # PAGE HELP-TEXT-FILE
	local page=$1 help=$2 missing="" o
	# shellcheck disable=SC2013 # options are single words
	for o in $(grep -o -- '--[a-z][a-z-]*' "$help" | sort -u); do
		grep -q -- "$(printf '%s' "$o" | sed 's/-/\\\\-/g')" "$page" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then ok "$page documents every option of its --help"; else
		fail "$page misses options:$missing"; fi
}
if [ -x "$build/nvpoll" ]; then
	"$build/nvpoll" --help >"$tmp/help" 2>&1
	check_options man/nvpoll.1 "$tmp/help"
	# shellcheck disable=SC2013 # commands are single words
	for c in $(sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' "$tmp/help"); do
		grep -q "^\.B $(printf '%s' "$c" | sed 's/-/\\\\-/g')\$" man/nvpoll.1 || fail "man/nvpoll.1 does not describe command '$c'"
	done
fi
if [ -x "$build/nvpoll-perf" ]; then
	"$build/nvpoll-perf" --help >"$tmp/help" 2>&1
	check_options man/nvpoll-perf.1 "$tmp/help"
fi
if [ -f scripts/setup.sh ]; then
	bash scripts/setup.sh help >"$tmp/help" 2>&1
	check_options man/nvpoll-setup.8 "$tmp/help"
	missing=""
	for v in $(grep -o '^  [A-Z_]*=' "$tmp/help" | tr -d ' ='); do
		grep -q "$v" man/nvpoll-setup.8 || missing="$missing $v"
	done
	for c in $(sed -n 's/^usage: [^[]*\[\(.*\)\]$/\1/p' "$tmp/help" | tr -d '|[]' | tr ' ' '\n' | grep '^[a-z]'); do
		grep -q "^\.BR\? $c" man/nvpoll-setup.8 || missing="$missing $c"
	done
	if [ -z "$missing" ]; then ok "man/nvpoll-setup.8 documents every command and variable of setup.sh help"
	else fail "man/nvpoll-setup.8 misses:$missing"; fi
fi

echo "man: $fails failed"
[ "$fails" = 0 ]
