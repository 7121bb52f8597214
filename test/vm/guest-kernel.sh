#!/usr/bin/env bash
# Runs inside the QEMU guest (scripts/vm.sh --driver nvme; it gives the nvme
# driver two poll queues and probes again): the kernel's configs, where
# the controller stays the kernel nvme driver's and nvpoll is its client.
#   - each config (io_uring_cmd, io_uring, libaio, psync) passes the driver
#     tests (vm_rw: data at every size and offset, QD32 mixed I/O with
#     per-LBA generations, a reset under load, error cases) and a verified
#     nvpoll-perf run; io_uring and io_uring_cmd also with --iopoll;
#   - the fallback: the PCI address of the nvme-bound controller opens
#     through io_uring_cmd, and what it writes dd reads from the block
#     device, and the other way round;
#   - data written through io_uring_cmd is read back through vfio-pci after
#     a rebind, and data vfio-pci wrote through io_uring_cmd after the
#     controller went back to nvme;
#   - the fio engine's crc32c verify job on /dev/ngXnY;
#   - what the kernel configs refuse, with the config that can;
#   - with --cli-checks: nvme-cli (the host's, through the shared root) on the kernel-bound
#     controller and nvpoll -o json through vfio-pci read the same: id-ctrl,
#     id-ns, smart-log have equal key sets, and the fields that do not change
#     between reads are equal (serial, model, firmware, nn, nsze, ncap, the
#     LBA formats; Number of Queues and the temperature threshold from
#     get-feature); nvpoll format takes namespace 1 from 512 B to 4 KiB
#     blocks and back, and the kernel driver sees each size after a rebind.
#
# usage: guest-kernel.sh EXPECTED_SERIAL EXPECTED_NSZE [--cli-checks] (namespace 1; a namespace 2 with 4 KiB blocks too)
set -uo pipefail
serial=${1:?usage: guest-kernel.sh SERIAL NSZE [--cli-checks]} nsze=${2:?usage: guest-kernel.sh SERIAL NSZE [--cli-checks]}
cli=${3:-}
case $cli in "" | --cli-checks) ;; *) echo "guest-kernel.sh: unknown option $cli"; exit 2 ;; esac
cd "$(dirname "$0")/../.." || exit 1
repo=$PWD
bdf=${NVP_BDF:?not in a scripts/vm.sh guest (NVP_BDF unset)}
nvpoll=build/nvpoll perf=build/nvpoll-perf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

CHECK_TAIL=6
# shellcheck source=test/vm/lib.sh
. test/vm/lib.sh

# The kernel's nodes for the controller at $bdf, once both namespaces have them: ng/blk for nsid 1,
# ng2/blk2 for nsid 2. Node numbers need not follow nsids (the kernel scans namespaces in
# parallel), so sysfs's nsid attribute says which is which; ngXnY stands beside nvmeXnY.
nodes() {
	local i b n
	for ((i = 0; i < 100; i++)); do
		ng='' blk='' ng2='' blk2=''
		for b in /sys/bus/pci/devices/"$bdf"/nvme/nvme*/nvme*n* /sys/block/nvme*n*; do
			[ -r "$b/nsid" ] || continue
			n=${b##*/}
			[[ $n == *c* || $n == *p* ]] && continue
			case $(cat "$b/nsid") in
			1) blk=/dev/$n ng=/dev/ng${n#nvme} ;;
			2) blk2=/dev/$n ng2=/dev/ng${n#nvme} ;;
			esac
		done
		if [ -n "$blk" ] && [ -n "$blk2" ] && [ -e "$blk" ] && [ -e "$ng" ] && [ -e "$blk2" ] && [ -e "$ng2" ]; then
			return 0
		fi
		sleep 0.1
	done
	echo "no namespace nodes for both namespaces of $bdf after 10 s"
	return 1
}

pattern() { # FILE BLOCKS SEED: reproducible data
	python3 -c "import random,sys; r=random.Random($3); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range($2 * 512)))" >"$1"
}

dd_read() { # DEV SLBA NLB OUT
	dd if="$1" of="$4" bs=512 skip="$2" count="$3" iflag=direct status=none
}

uri_of() { [ "$1" = io_uring_cmd ] && echo "$ng" || echo "$blk"; }

# Poll queues for --iopoll: the parameter applies when nvme probes, so probe again.
check "nvme.poll_queues=2, and the controller probed again" bash -c \
	"echo 2 >/sys/module/nvme/parameters/poll_queues && echo '$bdf' >/sys/bus/pci/devices/$bdf/driver/unbind &&
	 echo nvme >/sys/bus/pci/devices/$bdf/driver_override && echo '$bdf' >/sys/bus/pci/drivers_probe"
check "the controller's namespace nodes" nodes || { echo "guest-kernel: no nodes, giving up"; exit 1; }
echo "# $bdf: nsid 1 $ng, $blk; nsid 2 $ng2, $blk2"

for be in io_uring_cmd io_uring libaio psync; do
	check "list-backends: $be usable, naming the controller" \
		expect_out "^$be +yes +nvme .*1 controller of the kernel's \\(nvme" "$nvpoll" list-backends
done

for be in io_uring_cmd io_uring libaio psync; do
	uri=$(uri_of "$be")
	check "driver tests (vm_rw) through $be on $uri" env NVP_BE="$be" build/test-vm/vm_rw "$uri" "$serial" "$nsze"
	check "nvpoll-perf --be $be: QD32 randrw --verify, the header names the config" \
		expect_out "^nvpoll-perf: $uri \\($be\\)" "$perf" "$uri" --be "$be" -q 32 -w randrw --verify -t 2
done
check "nvpoll-perf --be io_uring_cmd --iopoll (poll queues): QD32 randrw --verify" \
	expect_out "^nvpoll-perf: .* \\(io_uring_cmd\\)" "$perf" "$ng" --be io_uring_cmd --iopoll -q 32 -w randrw \
	--verify -t 2
# The block node polls where the kernel says it does (queue/io_poll): else a clear refusal.
if [ "$(cat "/sys/block/${blk#/dev/}/queue/io_poll")" = 1 ]; then
	check "nvpoll-perf --be io_uring --iopoll (poll queues): QD32 randrw --verify" \
		expect_out "^nvpoll-perf: .* \\(io_uring\\)" "$perf" "$blk" --be io_uring --iopoll -q 32 -w randrw \
		--verify -t 2
else
	check "nvpoll-perf --be io_uring --iopoll on a node without polled I/O: refused, naming io_uring_cmd" \
		expect_error "has no polled I/O (queue/io_poll is 0).*io_uring_cmd polls on /dev/ng" \
		"$perf" "$blk" --be io_uring --iopoll -t 1
fi

# A node names its namespace: the second one (4 KiB blocks) through each kind of node.
check "nvpoll-perf on $ng2 and $blk2 runs on namespace 2, 4 KiB blocks" bash -c \
	"'$perf' '$ng2' -n 2000 | grep -q '^nvpoll-perf: $ng2 (io_uring_cmd), nsid 2, 4096-byte LBAs' &&
	 '$perf' '$blk2' --be psync -n 2000 | grep -q '^nvpoll-perf: $blk2 (psync), nsid 2, 4096-byte LBAs'"
check "driver tests (vm_rw) through io_uring_cmd on $ng2" env NVP_BE=io_uring_cmd build/test-vm/vm_rw "$ng2"

# The fallback: a PCI address bound to nvme.
check "$bdf bound to nvme opens through io_uring_cmd" \
	expect_out "^backend  : io_uring_cmd" "$nvpoll" identify "$bdf"
check "identify --json says so too" expect_out '"backend":"io_uring_cmd"' "$nvpoll" identify "$bdf" --json
pattern "$tmp/a" 16 1
check "written through $bdf (io_uring_cmd), read by dd from $blk" bash -c \
	"'$nvpoll' write '$bdf' --nsid 1 --slba 2048 --nlb 16 --data '$tmp/a' &&
	 dd if='$blk' of='$tmp/a.dd' bs=512 skip=2048 count=16 iflag=direct status=none && cmp '$tmp/a' '$tmp/a.dd'"
pattern "$tmp/b" 16 2
check "written by dd to $blk, read through $ng (io_uring_cmd) and psync" bash -c \
	"dd if='$tmp/b' of='$blk' bs=512 seek=4096 oflag=direct conv=notrunc status=none &&
	 '$nvpoll' read '$ng' --nsid 1 --slba 4096 --nlb 16 --data '$tmp/b.ng' && cmp '$tmp/b' '$tmp/b.ng' &&
	 '$nvpoll' --be psync read '$blk' --nsid 1 --slba 4096 --nlb 16 --data '$tmp/b.ps' && cmp '$tmp/b' '$tmp/b.ps'"

# Across drivers: what one path wrote, the other reads.
check "rebind $bdf to vfio-pci" rebind "$bdf" vfio-pci
check "vfio-pci reads what io_uring_cmd wrote" bash -c \
	"'$nvpoll' read '$bdf' --nsid 1 --slba 2048 --nlb 16 --data '$tmp/a.vfio' && cmp '$tmp/a' '$tmp/a.vfio'"
pattern "$tmp/c" 16 3
check "vfio-pci writes" "$nvpoll" write "$bdf" --nsid 1 --slba 6144 --nlb 16 --data "$tmp/c"
check "rebind $bdf to nvme" rebind "$bdf" nvme
check "the namespace nodes are back" nodes
check "io_uring_cmd and dd read what vfio-pci wrote" bash -c \
	"'$nvpoll' read '$ng' --nsid 1 --slba 6144 --nlb 16 --data '$tmp/c.ng' && cmp '$tmp/c' '$tmp/c.ng' &&
	 dd if='$blk' of='$tmp/c.dd' bs=512 skip=6144 count=16 iflag=direct status=none && cmp '$tmp/c' '$tmp/c.dd'"

check "fio engine: crc32c verify job on $ng (io_uring_cmd)" bash -c \
	"cd '$tmp' && fio --ioengine=external:'$repo/build/nvpoll-fio.so' --thread=1 --filename='$ng' \
	 --name=verify --rw=randwrite --bs=4k --size=8m --iodepth=16 --iodepth_batch=4 \
	 --iodepth_batch_complete_min=1 --verify=crc32c --do_verify=1 >fio.out 2>&1; rc=\$?;
	 cat fio.out; [ \$rc = 0 ] && ! grep -E 'err= *[1-9]' fio.out"

# nvme-cli and nvpoll read the same controller, and the rest of the CLI through vfio-pci
# (issue 16): with --cli-checks, on one kernel only (they test nvpoll, not the kernel).
cli_checks() {
	# nvme-cli and nvpoll read the same controller (issue 16). nvme-cli 2.3 has no get-feature
	# -o json: its text value ("Current value:0x...") stands in.
	cmp_py=test/vm/nvme-cli-compare.py
	ctrl=/dev/$(basename /sys/bus/pci/devices/"$bdf"/nvme/nvme*)
	feature_value() { nvme get-feature "$ctrl" -f "$1" | sed -n 's/.*Current value:\(0x[0-9a-f]*\).*/\1/p'; }
	check "nvme-cli reads $ctrl and $blk (kernel driver)" bash -c \
		"nvme id-ctrl '$ctrl' -o json >'$tmp/k-ctrl.json' && nvme id-ns '$blk' -o json >'$tmp/k-ns.json' &&
		 nvme smart-log '$ctrl' -o json >'$tmp/k-smart.json'"
	nq_k=$(feature_value 7) temp_k=$(feature_value 4)
	check "rebind $bdf to vfio-pci for nvpoll" rebind "$bdf" vfio-pci
	check "nvpoll reads $bdf (vfio-pci) -o json" bash -c \
		"'$nvpoll' id-ctrl '$bdf' -o json >'$tmp/p-ctrl.json' && '$nvpoll' id-ns '$bdf' --nsid 1 -o json >'$tmp/p-ns.json' &&
		 '$nvpoll' smart-log '$bdf' -o json >'$tmp/p-smart.json' &&
		 '$nvpoll' get-feature '$bdf' -f 7 -o json >'$tmp/p-nq.json' && '$nvpoll' get-feature '$bdf' -f 4 -o json >'$tmp/p-temp.json'"
	check "id-ctrl: nvme-cli's keys, and serial, model, firmware, nn, wctemp, cctemp equal" \
		python3 "$cmp_py" "$tmp/k-ctrl.json" "$tmp/p-ctrl.json" sn mn fr nn vid ssvid wctemp cctemp
	check "id-ns: nvme-cli's keys, and nsze, ncap, nlbaf, flbas, every LBA format equal" \
		python3 "$cmp_py" "$tmp/k-ns.json" "$tmp/p-ns.json" nsze ncap nlbaf flbas lbafs
	check "smart-log: nvme-cli's keys, and the warning and spare fields equal" \
		python3 "$cmp_py" "$tmp/k-smart.json" "$tmp/p-smart.json" critical_warning spare_thresh percent_used
	check "get-feature 7 (Number of Queues) and 4 (Temperature Threshold): nvme-cli's values ($nq_k, $temp_k)" \
		python3 -c "import json,sys
nq=json.load(open('$tmp/p-nq.json'))['value']; t=json.load(open('$tmp/p-temp.json'))['value']
print('nvpoll: nq %#010x, temperature threshold %#010x' % (nq, t))
sys.exit(0 if '$nq_k' and '$temp_k' and nq == int('$nq_k', 16) and t == int('$temp_k', 16) else 1)"
	# The rest of the nvme-cli-shaped commands through vfio-pci on QEMU's controller, each by what it did.
	check "error-log, fw-log, get-log: QEMU's logs" bash -c \
		"'$nvpoll' error-log '$bdf' | grep -E '^[0-9]+ of [0-9]+ entries' &&
		 '$nvpoll' fw-log '$bdf' | grep -E '^frs1 *: 0x' &&
		 '$nvpoll' get-log '$bdf' --log-id 2 --log-len 512 | grep -E '^01f0: '"
	check "set-feature 4 to 0x150, get-feature reads it back, then nvme-cli's value again ($temp_k)" bash -c \
		"'$nvpoll' set-feature '$bdf' -f 4 -v 0x150 &&
		 '$nvpoll' get-feature '$bdf' -f 4 -o json | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)[\"value\"] != 0x150)' &&
		 '$nvpoll' set-feature '$bdf' -f 4 -v '$temp_k'"
	pattern "$tmp/z" 8 5
	# (Deallocated blocks are not checked for zeroes: QEMU's -drive defaults to discard=ignore.)
	check "write, compare, write-zeroes zeroes it, dsm --ad, flush" bash -c \
		"'$nvpoll' write '$bdf' --nsid 1 --slba 8192 --nlb 8 --data '$tmp/z' &&
		 '$nvpoll' compare '$bdf' --nsid 1 --slba 8192 --nlb 8 --data '$tmp/z' &&
		 '$nvpoll' write-zeroes '$bdf' --nsid 1 --slba 8192 --nlb 8 && head -c 4096 /dev/zero >'$tmp/zero' &&
		 '$nvpoll' compare '$bdf' --nsid 1 --slba 8192 --nlb 8 --data '$tmp/zero' &&
		 '$nvpoll' dsm '$bdf' --nsid 1 --slba 8200 --nlb 8 --ad && '$nvpoll' flush '$bdf'"
	check "compare of other data fails with exit 1" bash -c \
		"'$nvpoll' compare '$bdf' --nsid 1 --slba 8192 --nlb 8 --data '$tmp/z'; [ \$? = 1 ]"
	check "show-regs: CC.EN and CSTS.RDY set, VS 1.4 (QEMU 7.2), the admin queue's size in AQA" bash -c \
		"'$nvpoll' show-regs '$bdf' -o json >'$tmp/regs.json' && cat '$tmp/regs.json' &&
		 python3 -c 'import json,sys; r = json.load(open(sys.argv[1]))
sys.exit(not (r[\"cc\"] & 1 and r[\"csts\"] & 1 and r[\"vs\"] == 0x10400 and r[\"aqa\"] & 0xfff))' '$tmp/regs.json'"
	check "admin-passthru Identify Controller holds the serial; io-passthru Flush" bash -c \
		"'$nvpoll' admin-passthru '$bdf' --opcode 6 --cdw10 1 --data-len 4096 --read -b | dd bs=1 skip=4 count=20 status=none | grep -q '^$serial' &&
		 '$nvpoll' io-passthru '$bdf' --opcode 0 --nsid 1"
	check "reset: the controller comes back and reads" bash -c \
		"'$nvpoll' reset '$bdf' && '$nvpoll' read '$bdf' --nsid 1 --slba 8192 --nlb 8 --data '$tmp/after-reset' && cmp '$tmp/after-reset' '$tmp/zero'"
	# format: 512 B -> 4 KiB (QEMU's LBA format 4) through vfio-pci, the kernel sees it; and back.
	check "nvpoll format --lbaf 4: namespace 1 now has 4 KiB blocks" \
		expect_out "^namespace 1: $((nsze / 8)) blocks of 4096 bytes" "$nvpoll" format "$bdf" --nsid 1 --lbaf 4 --force
	check "rebind $bdf to nvme" rebind "$bdf" nvme
	check "the namespace nodes are back" nodes
	check "the kernel sees 4096-byte blocks on $blk, nvme-cli LBA format 4 in use" bash -c \
		"cat /sys/block/${blk#/dev/}/queue/logical_block_size; nvme id-ns '$blk' | grep 'in use';
		 [ \"\$(cat /sys/block/${blk#/dev/}/queue/logical_block_size)\" = 4096 ] &&
		 nvme id-ns '$blk' | grep -q '^lbaf  4 : .*lbads:12 .*(in use)'"
	check "rebind $bdf to vfio-pci" rebind "$bdf" vfio-pci
	check "nvpoll format --lbaf 0 --ses 1: 512 B blocks again" \
		expect_out "^namespace 1: $nsze blocks of 512 bytes" "$nvpoll" format "$bdf" --nsid 1 --lbaf 0 --ses 1 --force
	check "rebind $bdf to nvme" rebind "$bdf" nvme
	check "the namespace nodes are back" nodes
	check "the kernel sees 512-byte blocks on $blk" bash -c \
		"cat /sys/block/${blk#/dev/}/queue/logical_block_size;
		 [ \"\$(cat /sys/block/${blk#/dev/}/queue/logical_block_size)\" = 512 ]"
}
[ "$cli" = --cli-checks ] && cli_checks

# Refusals, each naming what can.
check "--shadow-doorbells on io_uring_cmd is refused" \
	expect_error "config io_uring_cmd has no doorbells of nvpoll's to shadow.*vfio-pci, uio-generic, sim" \
	"$perf" "$ng" --shadow-doorbells -t 1
check "--iopoll on libaio is refused" \
	expect_error "config libaio has no kernel polled completions: they are io_uring's and io_uring_cmd's" \
	"$perf" "$blk" --be libaio --iopoll -t 1
check "--be vfio-pci on the nvme-bound device says to bind it" \
	expect_error "bound to nvme.*nvpoll-setup config" "$nvpoll" --be vfio-pci identify "$bdf"
check "a node that is not there" expect_error "/dev/ng9n9 does not exist" "$nvpoll" identify /dev/ng9n9

echo "guest-kernel: $fails failed"
[ "$fails" = 0 ]
