#!/usr/bin/env bash
# Runs inside the QEMU guest (scripts/vm.sh), with the emulated controller
# bound to vfio-pci and its address in NVP_BDF: the examples, then fio with
# nvpoll's ioengine (build/nvpoll-fio.so) -- a crc32c verify job at queue
# depth from two jobs (two qpairs on one controller), trim, the example job
# file, and a timed random read whose IOPS are printed for the bench table.
#
# usage: guest-fio.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
repo=$PWD
bdf=${NVP_BDF:?not in a scripts/vm.sh guest (NVP_BDF unset)}
# fio splits file names at ':', so the engine takes '.' in their place.
dev=${bdf//:/.}/ns=1
engine=$repo/build/nvpoll-fio.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # NAME CMD...
	local name=$1 start=$SECONDS; shift
	if "$@" >"$tmp/out" 2>&1; then
		echo "ok   - $name ($((SECONDS - start)) s)"
	else
		echo "FAIL - $name"; sed 's/^/  | /' "$tmp/out" | tail -n 30; fails=$((fails + 1))
	fi
}

# fio with the engine in $tmp (its verify state files land there), JSON on
# $tmp/NAME.json; fails unless fio and every job succeeded.
nvfio() { # NAME FIO-ARGS...
	local name=$1; shift
	(cd "$tmp" && fio --ioengine=external:"$engine" --thread=1 --filename="$dev" \
		--output-format=json --output="$name.json" "$@") || return 1
	python3 - "$tmp/$name.json" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()  # fio may put warnings before the JSON
jobs = json.loads(text[text.index("{"):])["jobs"]
bad = [j["jobname"] for j in jobs if j["error"]]
for j in jobs:
    print("  %-14s error=%d read: %d IOPS, write: %d IOPS, trim: %d IOPS" % (j["jobname"], j["error"],
          j["read"]["iops"], j["write"]["iops"], j["trim"]["iops"]))
sys.exit(1 if bad else 0)
EOF
}

# One line per result for bench/run.sh to pick up: RESULT NAME KEY=VALUE...
result() { # NAME JSON-FILE
	python3 - "$1" "$2" <<'EOF'
import json, sys
name, path = sys.argv[1], sys.argv[2]
text = open(path).read()
jobs = json.loads(text[text.index("{"):])["jobs"]
r = sum(j["read"]["iops"] for j in jobs)
w = sum(j["write"]["iops"] for j in jobs)
def p99(io):
    for key in ("lat_ns", "clat_ns"):
        pct = io.get(key, {}).get("percentile")
        if pct:
            return pct.get("99.000000", 0)
    return 0
lat = max(p99(j["read"]) for j in jobs) / 1000
print("RESULT fio-nvpoll %s read_iops=%.0f write_iops=%.0f read_p99_us=%.1f" % (name, r, w, lat))
EOF
}

check "hello against $bdf" build/examples/hello "$bdf"
check "async_reader: 2 threads, stamped blocks read back" \
	build/examples/async_reader -w -t 2 -q 16 -n 2000 "$bdf"

check "fio: randwrite + crc32c verify, 2 jobs, iodepth 16, batches of 4" nvfio verify \
	--name=verify --rw=randwrite --bs=4k --size=8m --offset_increment=8m --numjobs=2 \
	--iodepth=16 --iodepth_batch=4 --iodepth_batch_complete_min=1 --verify=crc32c --do_verify=1
check "fio: a later job verifies what an earlier one wrote" nvfio reverify \
	--name=w --rw=randwrite --bs=16k --size=4m --offset=32m --iodepth=8 --verify=crc32c --do_verify=0 \
	--name=r --stonewall --rw=read --bs=16k --size=4m --offset=32m --iodepth=8 --verify=crc32c
check "fio: trimwrite + verify" nvfio trim --name=trim --rw=trimwrite --bs=64k --size=4m --offset=40m \
	--iodepth=8 --verify=crc32c
check "fio: the example job file bench/fio/nvpoll.fio" bash -c \
	"cd '$tmp' && NVPOLL_FIO='$engine' NVPOLL_DEV='$dev' fio '$repo/bench/fio/nvpoll.fio' >job.out 2>&1; rc=\$?;
	 cat job.out; [ \$rc = 0 ] && ! grep -E 'err= *[1-9]' job.out"
# The figure for the bench table: fio's settings as bench/guest.sh gives fio on the kernel driver.
check "fio: randread 4k qd32, 5 s" nvfio rr4k_qd32 --name=rr4k_qd32 --rw=randread --bs=4k \
	--iodepth=32 --time_based --runtime=5 --ramp_time=1 --clocksource=cpu --norandommap \
	--randrepeat=0 --lat_percentiles=1 --percentile_list=50:90:99:99.9
[ -s "$tmp/verify.json" ] && result rw4k_qd16_verify "$tmp/verify.json"
[ -s "$tmp/rr4k_qd32.json" ] && result rr4k_qd32 "$tmp/rr4k_qd32.json"

echo "guest-fio: $fails failed"
[ "$fails" = 0 ]
