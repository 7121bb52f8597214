# shellcheck shell=bash disable=SC2154 # $tmp and $fails belong to the sourcing script
# Shared by the guest test scripts that source it (scripts/vm.sh guests): the
# check/expect helpers and rebinding a PCI function. The sourcing script sets
# $tmp (a scratch directory) and fails=0 first; CHECK_TAIL lines of a passing
# check's output are shown (default 12).

check() { # NAME CMD...: run CMD, report
	local name=$1 start=$SECONDS; shift
	if "$@" >"$tmp/out" 2>&1; then
		sed 's/^/  | /' "$tmp/out" | tail -n "${CHECK_TAIL:-12}"
		echo "ok   - $name ($((SECONDS - start)) s)"
	else
		sed 's/^/  | /' "$tmp/out" | tail -n 40
		echo "FAIL - $name"
		fails=$((fails + 1))
	fi
}

expect_error() { # PATTERN CMD...: CMD must fail and say PATTERN
	local pattern=$1; shift
	if "$@" >"$tmp/err" 2>&1; then echo "unexpectedly succeeded: $*"; cat "$tmp/err"; return 1; fi
	cat "$tmp/err"
	grep -q -- "$pattern" "$tmp/err" || { echo "(expected: $pattern)"; return 1; }
}

expect_out() { # PATTERN CMD...: CMD must succeed and print PATTERN (extended regex)
	local pattern=$1; shift
	"$@" >"$tmp/o" 2>&1 || { cat "$tmp/o"; return 1; }
	cat "$tmp/o"
	grep -Eq -- "$pattern" "$tmp/o" || { echo "(expected: $pattern)"; return 1; }
}

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null || true; }

rebind() { # BDF DRIVER ("" for none): bound to DRIVER within 10 s, or a message
	local dev=/sys/bus/pci/devices/$1
	echo "${2:-none}" >"$dev/driver_override"
	[ -e "$dev/driver" ] && echo "$1" >"$dev/driver/unbind"
	[ -n "$2" ] || return 0
	echo "$1" >/sys/bus/pci/drivers_probe
	for _ in $(seq 100); do
		[ "$(driver_of "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	echo "could not bind $1 to $2 (now: $(driver_of "$1"))"
	return 1
}
