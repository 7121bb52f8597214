#!/usr/bin/env bash
# fio with nvpoll's ioengine against the sim (make unit): crc32c verify at
# queue depth with batched doorbells, several jobs sharing one controller,
# trim, a second namespace, the example job file, and the errors a user
# can make.   usage: fio-sim.sh BUILD-DIR
set -uo pipefail
build=${1:?usage: fio-sim.sh BUILD-DIR}
cd "$(dirname "$0")/../.." || exit 1
engine=$build/nvpoll-fio.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# fio writes verify state files and "sim" layout files in its cwd: keep them out of the tree.
nvfio() { (cd "$tmp" && fio --ioengine=external:"$engine" --thread=1 "$@"); }

check() { # NAME CMD...: CMD must succeed
	local name=$1 start=$SECONDS; shift
	if "$@" >"$tmp/out" 2>&1; then
		echo "ok   - $name ($((SECONDS - start)) s)"
	else
		echo "FAIL - $name"; sed 's/^/  | /' "$tmp/out" | tail -n 25; fails=$((fails + 1))
	fi
}

expect_error() { # NAME PATTERN CMD...: CMD must fail and print PATTERN
	local name=$1 pattern=$2; shift 2
	if "$@" >"$tmp/out" 2>&1; then
		echo "FAIL - $name (succeeded)"; fails=$((fails + 1))
	elif grep -q -- "$pattern" "$tmp/out"; then
		echo "ok   - $name: $(grep -m1 -- "$pattern" "$tmp/out")"
	else
		echo "FAIL - $name (no '$pattern')"; sed 's/^/  | /' "$tmp/out" | tail -n 15; fails=$((fails + 1))
	fi
}

# A run passes only if every job says err= 0 and fio exits 0.
clean_run() {
	nvfio "$@" >"$tmp/run" 2>&1 || { cat "$tmp/run"; return 1; }
	cat "$tmp/run"
	! grep -E 'err= *[1-9]|verify: bad|verify failed' "$tmp/run"
}

check "randwrite + crc32c verify, iodepth 16, batches of 4" clean_run --name=v --filename=sim \
	--rw=randwrite --bs=4k --size=8m --iodepth=16 --iodepth_batch=4 \
	--iodepth_batch_complete_min=1 --verify=crc32c --do_verify=1
shadow_run() { # clean_run with shadow doorbells, which the engine must report in use
	NVPOLL_FIO_SHADOW_DOORBELLS=1 clean_run "$@" && grep -q "nvpoll-fio: sim: shadow doorbells" "$tmp/run"
}
check "shadow doorbells: randwrite + crc32c verify, iodepth 16, batches of 4" shadow_run --name=v \
	--filename=sim --rw=randwrite --bs=4k --size=8m --iodepth=16 --iodepth_batch=4 \
	--iodepth_batch_complete_min=1 --verify=crc32c --do_verify=1
check "mixed sizes 4k..64k, iodepth 32, batch 8" clean_run --name=v --filename=sim \
	--rw=randwrite --bsrange=4k-64k --bs_unaligned=0 --size=8m --iodepth=32 --iodepth_batch=8 \
	--verify=crc32c
check "4 jobs (4 qpairs, one controller), each its own 2 MiB, verified" clean_run --name=j \
	--filename=sim --rw=randrw --bs=8k --size=2m --offset_increment=2m --numjobs=4 \
	--iodepth=8 --iodepth_batch=2 --verify=crc32c --group_reporting
# Job r reads what job w wrote: passes only if both jobs drove the same controller.
check "a later job verifies what an earlier one wrote (one shared device)" clean_run \
	--filename=sim --bs=4k --size=4m --verify=crc32c \
	--name=w --rw=randwrite --do_verify=0 --iodepth=8 --name=r --stonewall --rw=read --iodepth=8
expect_error "verify catches data that is not there" "bad magic header" \
	nvfio --filename=sim --bs=4k --size=1m --verify=crc32c --name=w --rw=write --do_verify=0 \
	--name=r --stonewall --rw=read --offset=8m
check "trim, then write + verify over trimmed blocks" clean_run --name=t --filename=sim \
	--rw=trimwrite --bs=64k --size=8m --iodepth=8 --verify=crc32c
check "randtrim at depth" clean_run --name=t --filename=sim --rw=randtrim --bs=16k --size=8m --iodepth=16
check "'\\:' in sim options, namespace 2 with 4 KiB blocks" clean_run --name=n \
	--filename='sim\:ns=2,lbads=512\:4096/ns=2' --rw=randwrite --bs=4k --size=4m --iodepth=4 \
	--verify=crc32c
check "two namespaces of one controller in one job" clean_run --name=n \
	--filename='sim\:ns=2,size=2M/ns=1:sim\:ns=2,size=2M/ns=2' --rw=randwrite --bs=4k --iodepth=4 \
	--verify=crc32c
# The example job file as it is, but smaller and shorter.
sed -e 's/^size=.*/size=4m/' -e 's/^runtime=.*/runtime=1/' bench/fio/nvpoll.fio >"$tmp/nvpoll.fio"
check "example job file bench/fio/nvpoll.fio (4 MiB, 1 s)" bash -c \
	"cd '$tmp' && NVPOLL_FIO='$engine' NVPOLL_DEV=sim fio nvpoll.fio >job.out 2>&1; rc=\$?; cat job.out; [ \$rc = 0 ] && ! grep -E 'err= *[1-9]' job.out"

expect_error "--thread=0 is refused" "add --thread=1" \
	bash -c "cd '$tmp' && fio --ioengine=external:'$engine' --name=x --filename=sim --rw=read --size=1m"
expect_error "bs below the block size is refused" "not a multiple of the namespace's 4096-byte blocks" \
	nvfio --name=x --filename='sim\:lbads=4096' --rw=read --bs=512 --size=1m
expect_error "bs above MDTS is refused" "above the controller's largest transfer" \
	nvfio --name=x --filename='sim\:mdts=1' --rw=read --bs=64k --size=1m
expect_error "a dotted BDF is read as a PCI address" "0000:00:1f.7" \
	nvfio --name=x --filename=0000.00.1f.7/ns=1 --rw=read --size=1m
expect_error "a short dotted BDF gets the domain" "0000:00:1f.7" \
	nvfio --name=x --filename=00.1f.7 --rw=read --size=1m
expect_error "a file name that is no device says how to write one" "'.' for ':'" \
	nvfio --name=x --filename=nonsense/ns=x --rw=read --size=1m
expect_error "an inactive namespace is refused" "namespace 9 is not active" \
	nvfio --name=x --filename=sim/ns=9 --rw=read --size=1m
expect_error "two controllers in one job are refused" "one job drives one controller" \
	nvfio --name=x --filename='sim:sim\:ns=2' --rw=read --size=1m

echo "fio-sim: $fails failed"
[ "$fails" = 0 ]
