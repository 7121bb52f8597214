#!/bin/sh
# For each section 3 page given, prints "ALIAS.3 PAGE.3" for every other
# function its NAME section lists, so that `man nvp_read` finds the page of
# its group (the Makefile installs these as ".so man3/PAGE.3" links).
#   usage: man/aliases.sh man/*.3
set -eu
for page in "$@"; do
	base=${page##*/}
	awk -v page="$base" '
		/^\.SH NAME/ { inname = 1; next }
		inname && /^\./ { exit }
		inname { names = names " " $0; if ($0 ~ /\\-/) exit }
		END {
			sub(/\\-.*/, "", names)
			n = split(names, a, /[ ,]+/)
			for (i = 1; i <= n; i++)
				if (a[i] != "" && a[i] ".3" != page)
					print a[i] ".3", page
		}' "$page"
done
