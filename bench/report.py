#!/usr/bin/env python3
"""Tables for `make bench` (bench/run.sh) and bench/ipio.sh.

  report.py table GUESTDIR [IPIO_JSON]
      the nvpoll vs fio table from bench/guest.sh's files, PASS/MISS per target;
      writes GUESTDIR/../results.json
  report.py ipio OUT_JSON QD:ANNOTATE_TXT:PERF_JSON ...
      instructions per I/O from `callgrind_annotate --inclusive=no --auto=no` output
      and nvpoll-perf's --json of the same run; writes OUT_JSON

Exit status 1 when a run's result is missing or unreadable, 2 for bad arguments.
"""
import json
import os
import re
import sys

CASES = [
    # name, label, the kernel-path runs it is compared with
    ("rr4k_qd1", "4 KiB randread QD1", ["fionvp", "uring", "uringpoll", "psync"]),
    ("rr4k_qd32", "4 KiB randread QD32", ["fionvp", "uring", "uringpoll"]),
    ("rw4k_qd32", "4 KiB randwrite QD32", ["fionvp", "uring", "uringpoll"]),
    ("rr512_qd32", "512 B randread QD32", ["fionvp", "uring", "uringpoll"]),
]
TOOLS = {
    "nvpoll": "nvpoll (vfio-pci)",
    "fionvp": "fio + nvpoll engine",
    "uring": "fio io_uring",
    "uringpoll": "fio io_uring --hipri",
    "psync": "fio psync",
}
# The kernel's paths through nvpoll's API (nvpoll-perf --be ...) beside fio's engine on the same path.
KERNEL_CASES = ["rr4k_qd32", "rw4k_qd32", "rr512_qd32"]
KERNEL_PAIRS = [("nvkuring", "uring"), ("nvkcmd", "uringcmd")]
KERNEL_TOOLS = {
    "nvkuring": "nvpoll --be io_uring",
    "uring": "fio io_uring",
    "nvkcmd": "nvpoll --be io_uring_cmd",
    "uringcmd": "fio io_uring_cmd",
}
# NVMe/TCP (issue 14): nvpoll-perf tcp:// and fio io_uring on the kernel's NVMe/TCP host, one nvmet-tcp target.
TCP_CASES = [
    ("tcp_rr4k_qd1", "4 KiB randread QD1"),
    ("tcp_rw4k_qd1", "4 KiB randwrite QD1"),
    ("tcp_rr4k_qd32", "4 KiB randread QD32"),
    ("tcp_rw4k_qd32", "4 KiB randwrite QD32"),
]
TCP_TOOLS = {"nvtcp": "nvpoll tcp://", "uringtcp": "fio io_uring, kernel host"}
TARGET_TCP_QD32_IOPS = 1.3  # nvpoll >= 1.3x the kernel host's IOPS at QD32
TARGET_TCP_QD1_LAT = 0.8  # nvpoll <= 0.8x the kernel host's mean latency at QD1
TARGET_KERNEL_IOPS = 0.9  # nvpoll's kernel configs >= 0.9x fio's IOPS on the same engine
TARGET_QD32_IOPS = 6.0  # nvpoll IOPS >= 6x io_uring at QD32
TARGET_QD1_LAT = 0.2  # nvpoll mean latency <= 0.2x psync at QD1
TARGET_IPIO = 200  # driver instructions per I/O at QD32


def load_json(path):
    """A JSON document, tolerating lines of chatter before it (fio prints notes)."""
    with open(path) as f:
        text = f.read()
    start = text.find("{")
    if start < 0:
        raise ValueError(f"{path}: no JSON object")
    return json.loads(text[start:])


def nvpoll_result(doc):
    t = doc["total"]
    return {"iops": t["iops"], "mean_us": t["lat_us"]["mean"], "p99_us": t["lat_us"]["p99"],
            "doorbells": doc.get("doorbells", "registers")}


def nvpoll_counters(doc):
    return doc["total"]["counters"]


def fio_result(doc):
    job = doc["jobs"][0]
    side = job["read"] if job["read"]["io_bytes"] > 0 else job["write"]
    lat = side["lat_ns"]
    pct = lat.get("percentile", {})
    p99 = next((v for k, v in pct.items() if abs(float(k) - 99.0) < 1e-6), None)
    return {"iops": side["iops"], "mean_us": lat["mean"] / 1000.0,
            "p99_us": p99 / 1000.0 if p99 is not None else None}


def fio_cpu(doc):
    """fio's own process: CPU microseconds per I/O from usr_cpu and sys_cpu (percent of its runtime)."""
    job = doc["jobs"][0]
    r = fio_result(doc)
    if not r["iops"] or "usr_cpu" not in job:
        return None
    return {"user_us_per_io": job["usr_cpu"] / 100 / r["iops"] * 1e6, "sys_us_per_io": job["sys_cpu"] / 100 / r["iops"] * 1e6}


def strace_counts(path):
    """{syscall: (calls, errors)} from `strace -c` output."""
    counts = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"^\s*[0-9.]+\s+[0-9.]+\s+[0-9]+\s+([0-9]+)\s+([0-9]*)\s*(\w+)\s*$", line)
            if m and m.group(3) != "total":
                counts[m.group(3)] = (int(m.group(1)), int(m.group(2) or 0))
    return counts


def tcp_table(guestdir, missing, verdict_rows):
    """The NVMe/TCP table, CPU per I/O, system calls per I/O; verdicts appended to verdict_rows."""
    res, cpu = {}, {}
    for name, _ in TCP_CASES:
        for tool in TCP_TOOLS:
            path = os.path.join(guestdir, f"{tool}-{name}.json")
            try:
                doc = load_json(path)
                if tool == "nvtcp":
                    res[(tool, name)] = nvpoll_result(doc)
                    cpu[(tool, name)] = doc["total"].get("cpu")
                else:
                    res[(tool, name)] = fio_result(doc)
                    cpu[(tool, name)] = fio_cpu(doc)
            except (OSError, ValueError, KeyError, IndexError) as e:
                missing.append(f"{tool}-{name}: {e}")
    w = 28
    print()
    print("NVMe/TCP: the kernel's nvmet-tcp target on 127.0.0.1 over the null-co namespace, same boot;")
    print("nvpoll-perf tcp://127.0.0.1/NQN beside fio io_uring on the kernel's NVMe/TCP host (nvme connect -t tcp):")
    head = f"{'case':<22}" + "".join(f"| {TCP_TOOLS[c]:<{w - 1}}" for c in TCP_TOOLS) + "| nvpoll vs kernel host"
    print(head)
    print(f"{'':<22}" + f"| {'IOPS':>8} {'mean':>8} {'p99':>8} " * len(TCP_TOOLS))
    print("-" * len(head))
    for name, label in TCP_CASES:
        row = f"{label:<22}"
        for c in TCP_TOOLS:
            r = res.get((c, name))
            row += f"| {'':>8} {'':>8} {'':>8} " if r is None else \
                f"| {fmt(r['iops'], 8, 0)} {fmt(r['mean_us'], 8)} {fmt(r['p99_us'], 8)} "
        a, b = res.get(("nvtcp", name)), res.get(("uringtcp", name))
        if a and b and b["iops"] and b["mean_us"]:
            row += f"| {a['iops'] / b['iops']:.2f}x IOPS, {a['mean_us'] / b['mean_us']:.2f}x latency"
        print(row)
    print("CPU per I/O, microseconds (user + system) -- nvpoll: its I/O thread (getrusage RUSAGE_THREAD);")
    print("fio: its process's usr_cpu/sys_cpu (the kernel host's work in kworkers and the target's are in neither):")
    for name, label in TCP_CASES:
        parts = []
        for c in TCP_TOOLS:
            x = cpu.get((c, name))
            parts.append(f"{TCP_TOOLS[c]}: {x['user_us_per_io']:.1f} + {x['sys_us_per_io']:.1f} = "
                         f"{x['user_us_per_io'] + x['sys_us_per_io']:.1f}" if x else f"{TCP_TOOLS[c]}: -")
        print(f"  {label:<22} " + "; ".join(parts))
    for qd in (1, 32):
        path = os.path.join(guestdir, f"nvtcp-syscalls-qd{qd}.txt")
        try:
            sc = strace_counts(path)
            ios = load_json(os.path.join(guestdir, f"nvtcp-syscalls-qd{qd}.json"))["total"]["ios"]
        except (OSError, ValueError, KeyError):
            continue
        if not ios:
            continue
        parts = [f"{n} {c / ios:.2f} ({e / ios:.2f} EAGAIN)" if e else f"{n} {c / ios:.2f}"
                 for n, (c, e) in sorted(sc.items(), key=lambda kv: -kv[1][0]) if c / ios >= 0.01]
        print(f"  system calls per I/O of nvpoll-perf, 4 KiB randread QD{qd} under strace -c ({ios} I/Os): "
              + ", ".join(parts))
    for name, label in TCP_CASES:
        a, b = res.get(("nvtcp", name)), res.get(("uringtcp", name))
        if name.endswith("qd32"):
            text = f"NVMe/TCP {label}: nvpoll IOPS >= {TARGET_TCP_QD32_IOPS:g}x the kernel host's"
            ok = None if not (a and b and b["iops"]) else a["iops"] / b["iops"] >= TARGET_TCP_QD32_IOPS
            if ok is not None:
                text += f": {a['iops'] / b['iops']:.2f}x ({a['iops']:.0f} vs {b['iops']:.0f})"
        else:
            text = f"NVMe/TCP {label}: nvpoll mean latency <= {TARGET_TCP_QD1_LAT:g}x the kernel host's"
            ok = None if not (a and b and b["mean_us"]) else a["mean_us"] / b["mean_us"] <= TARGET_TCP_QD1_LAT
            if ok is not None:
                text += f": {a['mean_us'] / b['mean_us']:.2f}x ({a['mean_us']:.1f} vs {b['mean_us']:.1f} us)"
        if ok is None:
            text += ": not measured"
        verdict_rows.append((ok, text))
    return {f"{t}-{n}": dict(r, cpu=cpu.get((t, n))) for (t, n), r in res.items()}


def fmt(v, width, digits=1):
    if v is None:
        return "-".rjust(width)
    return f"{v:{width}.{digits}f}"


def table(guestdir, ipio_path=None):
    results, missing, counters = {}, [], {}
    for name, _, others in CASES:
        for tool in ["nvpoll"] + others:
            path = os.path.join(guestdir, f"{tool}-{name}.json")
            try:
                doc = load_json(path)
                results[(tool, name)] = nvpoll_result(doc) if tool == "nvpoll" else fio_result(doc)
                if tool == "nvpoll":
                    counters[name] = nvpoll_counters(doc)
            except (OSError, ValueError, KeyError, IndexError) as e:
                missing.append(f"{tool}-{name}: {e}")
    for name in KERNEL_CASES:
        for tool in KERNEL_TOOLS:
            if tool == "uring":
                continue  # loaded above
            path = os.path.join(guestdir, f"{tool}-{name}.json")
            try:
                doc = load_json(path)
                results[(tool, name)] = nvpoll_result(doc) if tool.startswith("nvk") else fio_result(doc)
            except (OSError, ValueError, KeyError, IndexError) as e:
                missing.append(f"{tool}-{name}: {e}")
    env = {}
    try:
        env = load_json(os.path.join(guestdir, "env.json"))
    except (OSError, ValueError):
        pass
    outdir = os.path.dirname(os.path.abspath(guestdir))
    try:
        env["host"] = load_json(os.path.join(outdir, "host.json"))
    except (OSError, ValueError):
        pass
    emu = {}
    try:
        emu = load_json(os.path.join(outdir, "emucpu.json"))
    except (OSError, ValueError):
        missing.append("emucpu.json: QEMU's main-loop CPU was not measured")

    cols = ["nvpoll", "fionvp", "uring", "uringpoll", "psync"]
    w = 28
    print()
    print(f"nvpoll vs the kernel nvme driver: one QEMU guest boot (TCG, kernel {env.get('kernel', '?')}), "
          f"QEMU's emulated NVMe, {env.get('time_s', '?')} s per run after {env.get('warmup_s', '?')} s warmup,")
    print("one thread pinned to the same vCPU; latency is submission to completion, in microseconds.")
    try:
        with open(os.path.join(outdir, "pinned")) as f:
            env["pinned"] = f.read().strip()
    except OSError:
        env["pinned"] = None
    print(f"QEMU's threads pinned: {env['pinned']}." if env["pinned"] else "QEMU's threads not pinned.")
    if env.get("host", {}).get("pm_qos_cpu_dma_latency_0"):
        print("NVP_BENCH_PMQOS=1: host CPUs kept out of deep idle (PM QoS cpu_dma_latency=0) for the whole run.")
    print()
    head = f"{'case':<22}" + "".join(f"| {TOOLS[c]:<{w - 1}}" for c in cols)
    print(head)
    print(f"{'':<22}" + f"| {'IOPS':>8} {'mean':>8} {'p99':>8} " * len(cols))
    print("-" * len(head))
    for name, label, _ in CASES:
        row = f"{label:<22}"
        for c in cols:
            r = results.get((c, name))
            if r is None:
                row += f"| {'':>8} {'':>8} {'':>8} "
            else:
                row += f"| {fmt(r['iops'], 8, 0)} {fmt(r['mean_us'], 8)} {fmt(r['p99_us'], 8)} "
        print(row)
    print()
    print("nvpoll's ratio to each (IOPS x, mean latency x; above 1 and below 1 are better):")
    for name, label, others in CASES:
        nv = results.get(("nvpoll", name))
        parts = []
        for c in others:
            r = results.get((c, name))
            if nv and r and r["iops"] and r["mean_us"]:
                parts.append(f"{TOOLS[c]}: {nv['iops'] / r['iops']:.2f}x IOPS, {nv['mean_us'] / r['mean_us']:.2f}x latency")
            else:
                parts.append(f"{TOOLS[c]}: -")
        print(f"  {label:<22} " + "; ".join(parts))

    print()
    print("the kernel's paths, through nvpoll's API and through fio, same controller, same boot:")
    kcols = list(KERNEL_TOOLS)
    head = f"{'case':<22}" + "".join(f"| {KERNEL_TOOLS[c]:<{w - 1}}" for c in kcols)
    print(head)
    print(f"{'':<22}" + f"| {'IOPS':>8} {'mean':>8} {'p99':>8} " * len(kcols))
    print("-" * len(head))
    labels = {name: label for name, label, _ in CASES}
    for name in KERNEL_CASES:
        row = f"{labels[name]:<22}"
        for c in kcols:
            r = results.get((c, name))
            row += f"| {'':>8} {'':>8} {'':>8} " if r is None else \
                f"| {fmt(r['iops'], 8, 0)} {fmt(r['mean_us'], 8)} {fmt(r['p99_us'], 8)} "
        print(row)

    shadow = [label for name, label, _ in CASES
              if results.get(("nvpoll", name), {}).get("doorbells") == "shadow"]
    if shadow:
        print(f"nvpoll-perf and the fio engine used shadow doorbells (--shadow-doorbells) for: "
              f"{', '.join(shadow)}; doorbell registers for the rest.")
    print()
    print("nvpoll's counters (nvp_qpair_stats):")
    for name, label, _ in CASES:
        c = counters.get(name)
        if c:
            print(f"  {label:<22} {c['submissions_per_sq_doorbell']:6.1f} submissions per SQ doorbell, "
                  f"{c['completions_per_busy_poll']:6.1f} completions per poll that found work, "
                  f"{c['empty_polls_per_io']:8.1f} empty polls per I/O")
    # QEMU emulates the controller in its main thread: its CPU time per I/O is
    # what each command costs the emulator, a floor no driver gets under at QD1.
    emu_per_io = {}
    for (tool, name), r in results.items():
        e = emu.get(f"{tool}-{name}")
        if e and e["wall_s"] > 0 and r["iops"]:
            busy = e["cpu_s"] / e["wall_s"]
            emu_per_io[f"{tool}-{name}"] = {"busy": round(busy, 3), "cpu_us_per_io": round(busy / r["iops"] * 1e6, 2)}
    qd1 = [(t, emu_per_io.get(f"{t}-rr4k_qd1")) for t in ["nvpoll", "psync"]]
    if all(e for _, e in qd1):
        print()
        print("QEMU's main loop (the emulated controller) during the QD1 runs: "
              + "; ".join(f"{TOOLS[t]}: {e['busy'] * 100:.0f}% busy, {e['cpu_us_per_io']:.1f} us of host CPU per I/O"
                          for t, e in qd1))
        nv = results.get(("nvpoll", "rr4k_qd1"))
        if nv:
            print(f"  nvpoll's QD1 mean latency is {nv['mean_us']:.1f} us, "
                  f"{nv['mean_us'] - qd1[0][1]['cpu_us_per_io']:.1f} us above what the emulator itself spends per command.")
    tcp_rows = []
    tcp_results = tcp_table(guestdir, missing, tcp_rows)
    print()
    print("targets (issues 5, 13 and 14):")
    verdicts = []

    def verdict(ok, text):
        word = "PASS" if ok else ("MISS" if ok is not None else "N/A ")
        verdicts.append({"target": text, "result": word.strip()})
        print(f"  {word}  {text}")

    for name, label, _ in CASES:
        if not name.endswith("qd32"):
            continue
        nv, ur = results.get(("nvpoll", name)), results.get(("uring", name))
        if nv and ur and ur["iops"]:
            x = nv["iops"] / ur["iops"]
            verdict(x >= TARGET_QD32_IOPS, f"{label}: nvpoll IOPS >= {TARGET_QD32_IOPS:g}x fio io_uring: {x:.2f}x "
                    f"({nv['iops']:.0f} vs {ur['iops']:.0f})")
        else:
            verdict(None, f"{label}: nvpoll IOPS >= {TARGET_QD32_IOPS:g}x fio io_uring: not measured")
    for name in KERNEL_CASES:
        for ours, theirs in KERNEL_PAIRS:
            a, b = results.get((ours, name)), results.get((theirs, name))
            text = f"{labels[name]}: {KERNEL_TOOLS[ours]} IOPS >= {TARGET_KERNEL_IOPS:g}x {KERNEL_TOOLS[theirs]}"
            if a and b and b["iops"]:
                x = a["iops"] / b["iops"]
                verdict(x >= TARGET_KERNEL_IOPS, f"{text}: {x:.2f}x ({a['iops']:.0f} vs {b['iops']:.0f})")
            else:
                verdict(None, f"{text}: not measured")
    nv, ps = results.get(("nvpoll", "rr4k_qd1")), results.get(("psync", "rr4k_qd1"))
    if nv and ps and ps["mean_us"]:
        x = nv["mean_us"] / ps["mean_us"]
        verdict(x <= TARGET_QD1_LAT, f"4 KiB randread QD1: nvpoll mean latency <= {TARGET_QD1_LAT:g}x fio psync: "
                f"{x:.2f}x ({nv['mean_us']:.1f} vs {ps['mean_us']:.1f} us)")
    else:
        verdict(None, f"4 KiB randread QD1: nvpoll mean latency <= {TARGET_QD1_LAT:g}x fio psync: not measured")
    for ok, text in tcp_rows:
        verdict(ok, text)
    ipio = None
    if ipio_path:
        try:
            ipio = load_json(ipio_path)
            qd32 = next(r for r in ipio["runs"] if r["qd"] == 32 and r.get("config", "sim") == "sim")
            # Empty polls apart where the run measured their cost: the figure that does not move with the host's load.
            d = qd32.get("driver_per_io_busy", qd32["driver_per_io"])
            verdict(d < TARGET_IPIO, f"instructions per I/O (sim, callgrind, QD32): driver {d:.0f} < {TARGET_IPIO}")
        except (OSError, ValueError, KeyError, StopIteration) as e:
            missing.append(f"ipio: {e}")
            verdict(None, f"instructions per I/O < {TARGET_IPIO}: not measured")

    summary = {
        "env": env,
        "emulator_main_loop": emu_per_io,
        "results": {f"{tool}-{name}": r for (tool, name), r in results.items()},
        "tcp": tcp_results,
        "nvpoll_counters": counters,
        "targets": verdicts,
        "ipio": ipio,
        "missing": missing,
    }
    out = os.path.join(os.path.dirname(os.path.abspath(guestdir)), "results.json")
    with open(out, "w") as f:
        json.dump(summary, f, indent=1)
    print(f"\n(summary in {os.path.relpath(out)}; raw JSON of every run in {os.path.relpath(guestdir)}/)")
    if missing:
        print("\nruns without a result:", file=sys.stderr)
        for m in missing:
            print(f"  {m}", file=sys.stderr)
        return 1
    return 0


LINE = re.compile(r"^\s*([0-9,]+)\s+(?:\(\s*[0-9.]+%\)\s+)?(\S+?):(\S+)(?:\s+\[.*\])?\s*$")


def classify(path):
    if path.startswith("lib/") or path.startswith("include/nvpoll/"):
        return "driver"
    return "benchmark"


def ipio(annotate_txt, perf_json, qd):
    """Per-I/O instructions of the I/O thread, split into driver and benchmark by source file."""
    doc = load_json(perf_json)
    ios = doc["total"]["ios"]
    c = doc["total"]["counters"]
    rows, totals = [], {"driver": 0, "benchmark": 0}
    with open(annotate_txt) as f:
        in_table = False
        for line in f:
            if "file:function" in line:
                in_table = True
                continue
            if line.startswith("-- Auto-annotated"):
                break
            m = LINE.match(line) if in_table else None
            if not m:
                continue
            n = int(m.group(1).replace(",", ""))
            where = f"{m.group(2)}:{m.group(3)}"
            kind = classify(m.group(2))
            totals[kind] += n
            rows.append((n, kind, where))
    if not ios or not rows:
        raise ValueError("no I/Os or no callgrind data")
    run = {
        "qd": qd, "ios": ios,
        "driver_per_io": totals["driver"] / ios,
        "benchmark_per_io": totals["benchmark"] / ios,
        "submissions_per_sq_doorbell": c["submissions_per_sq_doorbell"],
        "completions_per_busy_poll": c["completions_per_busy_poll"],
        "empty_polls_per_io": c["empty_polls_per_io"],
        "breakdown": [{"where": w, "kind": k, "per_io": n / ios} for n, k, w in sorted(rows, reverse=True)
                      if n / ios >= 0.5],
    }
    return run


def empty_poll_cost(runs):
    """Driver and benchmark instructions of one empty poll, from the calibration run ("spin") against the sim run
    at the same QD: the two differ (nearly) only in their empty polls."""
    spin = next((r for r in runs if r["config"] == "spin"), None)
    base = next((r for r in runs if r["config"] == "sim" and spin and r["qd"] == spin["qd"]), None)
    if not spin or not base or spin["empty_polls_per_io"] - base["empty_polls_per_io"] < 10:
        return None
    de = spin["empty_polls_per_io"] - base["empty_polls_per_io"]
    return {k: (spin[k] - base[k]) / de for k in ("driver_per_io", "benchmark_per_io")}


def ipio_print(runs, cost):
    for run in runs:
        if run["config"] == "spin":
            if cost:
                print(f"one empty poll (QD{run['qd']} without --yield: {run['empty_polls_per_io']:.0f} empty polls per I/O): "
                      f"driver {cost['driver_per_io']:.1f} + benchmark {cost['benchmark_per_io']:.1f} instructions")
            continue
        print(f"QD{run['qd']}, {run['config']}: {run['ios']} I/Os; I/O thread: driver {run['driver_per_io']:.1f} + benchmark "
              f"{run['benchmark_per_io']:.1f} = {run['driver_per_io'] + run['benchmark_per_io']:.1f} instructions per I/O")
        busy = ""
        if "driver_per_io_busy" in run:
            busy = f"; empty polls apart: driver {run['driver_per_io_busy']:.1f} per I/O"
        print(f"  ({run['submissions_per_sq_doorbell']:.1f} submissions per SQ doorbell, "
              f"{run['completions_per_busy_poll']:.1f} completions per busy poll, "
              f"{run['empty_polls_per_io']:.2f} empty polls per I/O, counted in{busy})")
        for b in run["breakdown"]:
            print(f"  {b['per_io']:7.1f}  {b['kind']:<9}  {b['where']}")


def main(argv):
    if len(argv) >= 3 and argv[1] == "table":
        return table(argv[2], argv[3] if len(argv) > 3 else None)
    if len(argv) >= 4 and argv[1] == "ipio":
        # ipio OUT_JSON QD[@CONFIG]:ANNOTATE:PERF_JSON ...  (CONFIG: the device, sim when left out)
        runs = []
        for spec in argv[3:]:
            qd, ann, pj = spec.split(":", 2)
            qd, _, config = qd.partition("@")
            run = ipio(ann, pj, int(qd))
            run["config"] = config or "sim"
            runs.append(run)
        cost = empty_poll_cost(runs)
        if cost:
            for run in runs:
                if run["config"] == "sim":
                    run["driver_per_io_busy"] = run["driver_per_io"] - run["empty_polls_per_io"] * cost["driver_per_io"]
        ipio_print(runs, cost)
        with open(argv[2], "w") as f:
            json.dump({"method": "valgrind --tool=callgrind --fair-sched=yes --toggle-collect=worker_main on nvpoll-perf "
                       "against sim (and nil: no device at all); instructions of the I/O thread, by source file "
                       "(lib/, include/nvpoll/: driver); driver_per_io_busy: without the empty polls, at the cost "
                       "per empty poll measured by the run without --yield (config spin)",
                       "empty_poll": cost,
                       "runs": [r for r in runs if r["config"] != "spin"]}, f, indent=1)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
