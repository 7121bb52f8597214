#!/usr/bin/env python3
"""How busy QEMU's main loop is during each benchmark run: the emulator's floor.

    bench/emucpu.py PIDFILE MARKDIR OUT.json DONEFILE

Runs on the host next to the guest (bench/run.sh starts it). QEMU emulates
the NVMe controller in its main thread: every command costs that thread
host CPU time, and at QD1 a command cannot complete faster than that. The
guest (bench/guest.sh) creates MARKDIR/<run>.start and MARKDIR/<run>.end
around each run; this script notes the main thread's CPU time (utime +
stime of /proc/PID/task/PID) and the wall clock when each appears, and
when QEMU exits writes OUT.json: {run: {"wall_s", "cpu_s"}}. The report
divides by the run's IOPS for microseconds of emulator CPU per I/O.
DONEFILE appearing before PIDFILE does means QEMU never started: exit 1.
"""
import json
import os
import sys
import time

POLL_S = 0.02


def main_thread_cpu_s(pid):
    with open(f"/proc/{pid}/task/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv):
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    pidfile, markdir, out, donefile = argv[1:]
    pid = None
    while pid is None:
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            if os.path.exists(donefile):
                print(f"bench/emucpu.py: QEMU never wrote {pidfile}", file=sys.stderr)
                return 1
            time.sleep(POLL_S)

    seen, runs = {}, {}
    while os.path.exists(f"/proc/{pid}"):
        try:
            names = os.listdir(markdir)
        except OSError:
            names = []
        for name in names:
            if name in seen or not name.endswith((".start", ".end")):
                continue
            try:
                seen[name] = (time.monotonic(), main_thread_cpu_s(pid))
            except OSError:
                break  # QEMU is gone
            run, kind = name.rsplit(".", 1)
            if kind == "end" and f"{run}.start" in seen:
                (w0, c0), (w1, c1) = seen[f"{run}.start"], seen[name]
                runs[run] = {"wall_s": round(w1 - w0, 3), "cpu_s": round(c1 - c0, 3)}
        time.sleep(POLL_S)
    with open(out, "w") as f:
        json.dump(runs, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
