#!/usr/bin/env bash
# The examples against the sim, as built in the tree (make unit; under ASan
# too, with make asan).   usage: examples.sh BUILD-DIR
set -euo pipefail
build=${1:?usage: examples.sh BUILD-DIR}
cd "$(dirname "$0")/../.." || exit 1

run() { echo "+ $*"; "$@"; }

run "$build/examples/hello"
run "$build/examples/hello" "sim:ns=2,lbads=4096:512,size=1M"
# Stamped blocks read back by 2 threads with their own qpairs: any misplaced
# completion or buffer shows as a stamp mismatch.
run "$build/examples/async_reader" -w -t 2 -q 16 -n 3000 sim
run "$build/examples/async_reader" -t 2 -q 1 -n 500 "sim:lbads=4096"
if "$build/examples/hello" 0000:0f:1f.7 2>"$build/examples/hello.err"; then
	echo "hello opened a device that does not exist"; exit 1
fi
cat "$build/examples/hello.err"
