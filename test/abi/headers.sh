#!/usr/bin/env bash
# Every public header compiles on its own, first thing in a file, as C
# (ISO C11 and GNU C11 with the project's warnings) and as C++ (C++11 and
# C++17), so that an application can include any of them in any order.
#   usage: headers.sh BUILD-DIR
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 n=0

compile() { # LABEL HEADER COMPILER ARGS...
	local label=$1 h=$2; shift 2
	n=$((n + 1))
	if ! printf '#include <%s>\n#include <%s>\ntypedef int header_test_nonempty;\n' "$h" "$h" | "$@" -Iinclude -fsyntax-only - >"$tmp/err" 2>&1; then
		echo "FAIL - $h as $label:"; sed 's/^/  | /' "$tmp/err" | head -n 12; fails=$((fails + 1))
	fi
}

for h in nvpoll.h $(cd include && ls nvpoll/*.h); do
	compile "C11" "$h" cc -x c -std=c11 -pedantic -Wall -Wextra -Werror
	compile "GNU C11" "$h" cc -x c -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		-Wmissing-prototypes -Wcast-qual -Wconversion
	compile "C++11" "$h" g++ -x c++ -std=c++11 -Wall -Wextra -Werror
	compile "C++17" "$h" g++ -x c++ -std=c++17 -Wall -Wextra -Werror -Wold-style-cast
done
echo "headers: $((n - fails)) of $n compiles passed (each header included twice, on its own)"
[ "$fails" = 0 ]
