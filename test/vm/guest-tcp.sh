#!/usr/bin/env bash
# Runs inside the QEMU guest (scripts/vm.sh --driver nvme): nvpoll's NVMe/TCP
# host against the kernel's own target (nvmet, nvmet-tcp), over loopback.
#   - a subsystem made through configfs, its namespace the guest's emulated
#     NVMe namespace (the kernel nvme driver's block device), a port on
#     127.0.0.1:4420, any host allowed;
#   - the driver tests (vm_rw) through tcp://127.0.0.1/NQN, without digests
#     and with header and data digests;
#   - Keep Alive held by nvp_admin_poll() and lost without it, the subsystem
#     taken off the port under QD 32, reconnecting by nvp_ctrl_reset()
#     (vm_tcp);
#   - the kernel's own NVMe/TCP host (nvme connect -t tcp) reads with dd what
#     nvpoll wrote over TCP, and nvpoll reads what dd wrote through it;
#   - nvpoll discover (text and --json) lists the subsystem, not the one
#     this host may not use;
#   - refusals: nothing listening, an unknown subsystem NQN, a host the
#     subsystem does not allow; each says so.
#
# usage: guest-tcp.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
bdf=${NVP_BDF:?not in a scripts/vm.sh guest (NVP_BDF unset)}
nvpoll=build/nvpoll
tmp=$(mktemp -d)
fails=0
nqn=nqn.2026-12.io.nvpoll:tcp-test
closed=nqn.2026-12.io.nvpoll:closed
cfg=/sys/kernel/config/nvmet

CHECK_TAIL=8
# shellcheck source=test/vm/lib.sh
. test/vm/lib.sh

cleanup() {
	nvme disconnect -n "$nqn" >/dev/null 2>&1
	rm -f "$cfg/ports/1/subsystems/$nqn" "$cfg/ports/1/subsystems/$closed"
	rmdir "$cfg/ports/1" 2>/dev/null
	for s in "$nqn" "$closed"; do
		[ -d "$cfg/subsystems/$s" ] || continue
		echo 0 >"$cfg/subsystems/$s/namespaces/1/enable" 2>/dev/null
		rmdir "$cfg/subsystems/$s/namespaces/1" "$cfg/subsystems/$s" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

die() { echo "guest-tcp: $*"; exit 1; }

# The kernel nvme driver's block device for namespace 1 of $bdf.
blk=""
for _ in $(seq 100); do
	for b in /sys/bus/pci/devices/"$bdf"/nvme/nvme*/nvme*n1; do
		[ -e "$b" ] && blk=/dev/${b##*/}
	done
	[ -n "$blk" ] && [ -b "$blk" ] && break
	sleep 0.1
done
[ -b "$blk" ] || die "no block device for $bdf's namespace 1 after 10 s (driver: $(driver_of "$bdf"))"

# The target: nvmet through configfs.
[ -d /sys/kernel/config ] || die "no /sys/kernel/config"
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config || die "cannot mount configfs"
[ -d "$cfg" ] || die "no $cfg: nvmet is not loaded (scripts/vm.sh GUEST_MODULES)"
ip link set lo up || die "cannot bring lo up"
make_subsys() { # NQN ALLOW_ANY
	mkdir "$cfg/subsystems/$1" && echo "$2" >"$cfg/subsystems/$1/attr_allow_any_host" &&
		mkdir "$cfg/subsystems/$1/namespaces/1" &&
		echo "$blk" >"$cfg/subsystems/$1/namespaces/1/device_path" &&
		echo 1 >"$cfg/subsystems/$1/namespaces/1/enable"
}
make_subsys "$nqn" 1 || die "cannot make subsystem $nqn"
make_subsys "$closed" 0 || die "cannot make subsystem $closed"
mkdir "$cfg/ports/1" && echo tcp >"$cfg/ports/1/addr_trtype" && echo ipv4 >"$cfg/ports/1/addr_adrfam" &&
	echo 127.0.0.1 >"$cfg/ports/1/addr_traddr" && echo 4420 >"$cfg/ports/1/addr_trsvcid" ||
	die "cannot make port 1"
ln -s "$cfg/subsystems/$nqn" "$cfg/ports/1/subsystems/$nqn" &&
	ln -s "$cfg/subsystems/$closed" "$cfg/ports/1/subsystems/$closed" || die "cannot add the subsystems to port 1"
uri=tcp://127.0.0.1/$nqn
echo "# target: $nqn on 127.0.0.1:4420 (tcp), namespace 1 = $blk; kernel $(uname -r)"

check "identify through $uri: config tcp, the target's model" \
	expect_out "^backend  : tcp" "$nvpoll" identify "$uri"
check "driver tests (vm_rw) through $uri, no digests" build/test-vm/vm_rw "$uri"
check "driver tests (vm_rw) through $uri, header and data digests" \
	env NVP_TCP_DIGEST=header,data build/test-vm/vm_rw "$uri"

CHECK_TAIL=16 check "Keep Alive (KATO 5 s) holds a 12 s idle connection with nvp_admin_poll(), loses it without; port removal under QD32 ends every command; nvp_ctrl_reset() reconnects (vm_tcp)" \
	build/test-vm/vm_tcp "$uri" "$cfg/ports/1/subsystems/$nqn"
CHECK_TAIL=4 check "nvpoll-perf over TCP: QD32 4 KiB randrw --verify for 2 s" \
	expect_out "^nvpoll-perf: $uri \\(tcp\\)" build/nvpoll-perf "$uri" -q 32 -w randrw --verify -t 2
CHECK_TAIL=4 check "nvpoll-perf over TCP: QD1 4 KiB randread for 2 s" build/nvpoll-perf "$uri" -q 1 -t 2

# fio's nvpoll engine on a tcp:// filename (each ':' escaped for fio): its crc32c verify job.
fio_uri=${uri//:/\\:}
check "fio ioengine on $uri: crc32c verify job" bash -c \
	"cd '$tmp' && fio --ioengine=external:'$PWD/build/nvpoll-fio.so' --thread=1 --filename='$fio_uri' \
	 --name=verify --rw=randwrite --bs=4k --size=8m --iodepth=16 --iodepth_batch=4 \
	 --iodepth_batch_complete_min=1 --verify=crc32c --do_verify=1 >fio.out 2>&1; rc=\$?;
	 cat fio.out; [ \$rc = 0 ] && ! grep -E 'err= *[1-9]' fio.out"

# The kernel's own NVMe/TCP host on the same subsystem.
pattern() { # FILE BLOCKS SEED
	python3 -c "import random,sys; r=random.Random($3); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range($2 * 512)))" >"$1"
}
pattern "$tmp/a" 64 1
pattern "$tmp/b" 64 2
# 1 MiB reads end with C2HData SUCCESS (SQ flow control off); 1 MiB writes go by R2T and H2CData.
check "reads end by C2HData SUCCESS, large writes by R2T/H2CData (nvpoll-perf, debug log)" bash -c \
	"NVP_LOG=debug build/nvpoll-perf '$uri' -q 4 -o 1M -w randrw -n 64 --verify >'$tmp/perf' 2>&1;
	 rc=\$?; grep -E 'queue 1 closed|^nvpoll-perf' '$tmp/perf';
	 [ \$rc = 0 ] && grep -Eq 'queue 1 closed: [1-9][0-9]* completed by C2HData SUCCESS, [1-9][0-9]* H2CData' '$tmp/perf'"
# After every other writer (fio and nvpoll-perf above write anywhere in the namespace).
check "nvpoll writes 64 blocks at 8192 over TCP, with digests" \
	env NVP_TCP_DIGEST=header,data "$nvpoll" write "$uri" --nsid 1 --slba 8192 --nlb 64 --data "$tmp/a"
kblk=""
connect_kernel() {
	local b
	nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "$nqn" || return 1
	for _ in $(seq 100); do
		# The namespace's block device (with native multipath, the subsystem's head node): its
		# device (a controller or a subsystem) names the NQN.
		for b in /sys/block/nvme*n1; do
			[[ ${b##*/} == *c* ]] && continue
			[ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = "$nqn" ] && kblk=/dev/${b##*/}
		done
		[ -n "$kblk" ] && [ -b "$kblk" ] && { echo "kernel host: $kblk"; return 0; }
		sleep 0.1
	done
	echo "no block device for the kernel's connection to $nqn"
	return 1
}
check "the kernel's NVMe/TCP host connects (nvme connect -t tcp)" connect_kernel
check "dd reads through the kernel's TCP host what nvpoll wrote" bash -c \
	"dd if='$kblk' of='$tmp/a.k' bs=512 skip=8192 count=64 iflag=direct status=none && cmp '$tmp/a' '$tmp/a.k'"
check "dd writes through the kernel's TCP host, nvpoll reads it over TCP" bash -c \
	"dd if='$tmp/b' of='$kblk' bs=512 seek=16384 oflag=direct conv=notrunc status=none &&
	 '$nvpoll' read '$uri' --nsid 1 --slba 16384 --nlb 64 --data '$tmp/b.n' && cmp '$tmp/b' '$tmp/b.n'"
nvme disconnect -n "$nqn" >/dev/null 2>&1

# Discovery: the subsystems the target lists for this host (not the one closed to it).
check "nvpoll discover tcp://127.0.0.1: $nqn at 127.0.0.1:4420, not $closed" bash -c \
	"'$nvpoll' discover tcp://127.0.0.1 >'$tmp/disc' && cat '$tmp/disc' &&
	 grep -Eq '^tcp +nvm +127\.0\.0\.1 +4420 +1 +$nqn\$' '$tmp/disc' && ! grep -q '$closed' '$tmp/disc'"
cat >"$tmp/disc.py" <<EOF
import json, sys
d = json.load(sys.stdin)
r = [x for x in d["records"] if x["subnqn"] == "$nqn"]
assert len(r) == 1, d
assert (r[0]["trtype"], r[0]["subtype"], r[0]["traddr"], r[0]["trsvcid"], r[0]["adrfam"]) == ("tcp", "nvm", "127.0.0.1", "4420", 1), r
assert not [x for x in d["records"] if x["subnqn"] == "$closed"], d
print(len(d["records"]), "records, ours:", r[0])
EOF
check "nvpoll discover tcp://127.0.0.1:4420 --json" bash -c \
	"'$nvpoll' discover tcp://127.0.0.1:4420 --json | python3 '$tmp/disc.py'"

# What a target refuses, in words.
check "nothing listening on port 4421: refused, naming the target" \
	expect_error "cannot connect to 127.0.0.1:4421 .*Connection refused" "$nvpoll" identify "tcp://127.0.0.1:4421/$nqn"
check "an NQN the port does not export: Connect Invalid Parameters, naming the subsystem NQN" \
	expect_error "refused Connect for queue 0 .*no such subsystem NQN" "$nvpoll" identify "tcp://127.0.0.1/$nqn.nope"
check "a subsystem that does not allow this host: Connect Invalid Host" \
	expect_error "Connect Invalid Host" "$nvpoll" identify "tcp://127.0.0.1/$closed"
check "a URI without an NQN: what a tcp:// URI looks like" \
	expect_error "use tcp://HOST\\[:PORT\\]/SUBSYSTEM-NQN" "$nvpoll" identify "tcp://127.0.0.1"

if [ "$fails" -gt 0 ]; then
	echo "guest-tcp: $fails check(s) failed"
	exit 1
fi
echo "guest-tcp: all checks passed"
