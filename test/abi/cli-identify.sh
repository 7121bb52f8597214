#!/usr/bin/env bash
# nvpoll identify's text header against sim and nil (make abi): the ids in
# nvme-cli's 0x%04x form, zero included, and the line that names the config;
# --version of nvpoll and nvpoll-perf.
#   usage: cli-identify.sh BUILD-DIR
set -uo pipefail
build=${1:?usage: cli-identify.sh BUILD-DIR}
fails=0
expect() { # NAME PATTERN FILE
	if grep -Eq -- "$2" "$3"; then echo "ok   - $1"; else echo "FAIL - $1 (no '$2' in:)"; sed 's/^/  | /' "$3"; fails=$((fails + 1)); fi
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$build/nvpoll" identify nil >"$out" 2>&1 || { cat "$out"; exit 1; }
expect "nil: a zero vid prints as 0x0000" '^vid      : 0x0000$' "$out"
expect "nil: the config is named" '^backend  : nil$' "$out"
"$build/nvpoll" identify sim >"$out" 2>&1 || { cat "$out"; exit 1; }
expect "sim: vid 0x1b36" '^vid      : 0x1b36$' "$out"
expect "sim: ssvid" '^ssvid    : 0x1af4$' "$out"
expect "sim: the config is named" '^backend  : sim$' "$out"
# --version on every installed program, exit status 0
"$build/nvpoll" --version >"$out" 2>&1 || fails=$((fails + 1))
expect "nvpoll --version" '^nvpoll version [0-9]+\.[0-9]+$' "$out"
if [ -x "$build/nvpoll-perf" ]; then
	"$build/nvpoll-perf" --version >"$out" 2>&1 || fails=$((fails + 1))
	expect "nvpoll-perf --version" '^nvpoll-perf \(nvpoll\) [0-9]+\.[0-9]+$' "$out"
fi
[ "$fails" = 0 ]
