#!/usr/bin/env python3
"""Latency CDFs of benchmark runs, in one SVG (Debian's python3-matplotlib).

  plot.py OUT.svg RUN.json ...     (OUT.png works too)

Each RUN.json is nvpoll-perf --json output (its last line is the summary,
so --status-interval output works too) or fio --output-format=json. The
curve of an nvpoll-perf run is exact to a histogram bucket when it ran with
--hist; without, it is drawn through the percentiles and the power-of-ten
shares. fio's come from its percentile list (lat_ns when it ran with
lat_percentiles=1, else clat_ns). Files that are neither are named on
stderr and left out. Left: the CDF; right: the tail, 1 - CDF, on a log
scale, where p99 and beyond can be read. Each curve is labelled with its
file's name; curves drawn through a few percentiles are dashed. Files
named TOOL-CASE.json (make bench's) get one row of plots per CASE, so the
tools of one case sit side by side.

Exit status 0 when a plot was written, 1 when no file had a latency
distribution or matplotlib is missing, 2 for bad arguments.
"""
import json
import os
import sys


def load(path):
    """The document in @path: nvpoll-perf's last JSON line, or fio's JSON after any chatter."""
    with open(path) as f:
        text = f.read()
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                doc = json.loads(line)
            except ValueError:
                break
            if "total" in doc or "jobs" in doc:
                return doc
            break
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object")
    return json.loads(text[start:])


def nvpoll_curve(doc):
    """(latency in us, fraction of I/Os at or under it) points, rising to 1."""
    hist = doc.get("hist")
    if hist and hist.get("buckets"):
        total = sum(b[2] for b in hist["buckets"])
        pts, seen = [(hist["buckets"][0][0], 0.0)], 0
        for low, high, n in hist["buckets"]:
            seen += n
            pts.append((high, seen / total))
        return pts
    t = doc["total"]
    lat = t["lat_us"]
    if not t["ios"]:
        return []
    pts = [(lat["min"], 0.0)]
    for k, v in lat.items():
        if k.startswith("p"):
            pts.append((v, float(k[1:]) / 100))
    for k, v in t.get("lat_pct_under", {}).items():
        us = float(k[:-2]) if k.endswith("us") else float(k[:-2]) * 1000 if k.endswith("ms") else float(k[:-1]) * 1e6
        if lat["min"] <= us <= lat["max"]:
            pts.append((us, v / 100))
    pts.append((lat["max"], 1.0))
    return monotone(sorted(pts))


def monotone(pts):
    """A CDF never falls: the percentiles are estimated to a histogram bucket
    while the power-of-ten shares are exact counts, so where a percentile
    lands just past a bound (p99.9 10.002 us, 99.9007% under 10 us) the
    larger share stands."""
    out, top = [], 0.0
    for x, y in pts:
        top = max(top, y)
        out.append((x, top))
    return out


def fio_curve(doc):
    job = doc["jobs"][0]
    side = job["read"] if job["read"].get("io_bytes", 0) > 0 else job["write"]
    lat = side.get("lat_ns", {}) if side.get("lat_ns", {}).get("percentile") else side.get("clat_ns", {})
    pct = lat.get("percentile", {})
    if not pct:
        return []
    pts = [(lat["min"] / 1000.0, 0.0)] if "min" in lat else []
    pts += [(v / 1000.0, float(k) / 100) for k, v in pct.items()]
    if "max" in lat:
        pts.append((lat["max"] / 1000.0, 1.0))
    return sorted(pts)


def curve(doc):
    if "total" in doc and "lat_us" in doc["total"]:
        return nvpoll_curve(doc)
    if "jobs" in doc:
        return fio_curve(doc)
    return None


def exact_curve(path):
    """Whether the curve of @path comes from a histogram (nvpoll-perf --hist) rather than a few percentiles."""
    try:
        return bool(load(path).get("hist"))
    except (OSError, ValueError):
        return False


def group_runs(runs):
    """make bench's TOOL-CASE.json names: one row of plots per CASE; other names share one row."""
    if len(runs) > 1 and all("-" in name for name, _, _ in runs):
        cases = {}
        for run in sorted(runs):
            cases.setdefault(run[0].split("-", 1)[1], []).append(run)
        if len(cases) < len(runs):
            return sorted(cases.items())
    return [("", sorted(runs))]


def import_pyplot():
    try:
        import matplotlib
    except ImportError:
        # A python3 of its own on PATH (pyenv, a venv) lacks Debian's package: ask Debian's.
        if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
            os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
        print("plot.py: matplotlib is missing: scripts/install-deps.sh (or apt-get install python3-matplotlib)",
              file=sys.stderr)
        sys.exit(1)
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, smaller
    matplotlib.rcParams["svg.hashsalt"] = "nvpoll"  # the same input, the same file
    import matplotlib.pyplot as plt
    return plt


def main(argv):
    if len(argv) < 3 or not argv[1].endswith((".svg", ".png")):
        print("usage: plot.py OUT.svg RUN.json ...", file=sys.stderr)
        return 2
    plt = import_pyplot()
    runs = []
    for path in argv[2:]:
        name = os.path.splitext(os.path.basename(path))[0]
        try:
            pts = curve(load(path))
        except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
            print(f"plot.py: {path}: not a benchmark result ({e}): left out", file=sys.stderr)
            continue
        if pts is None:
            print(f"plot.py: {path}: neither nvpoll-perf's nor fio's JSON: left out", file=sys.stderr)
            continue
        if not pts:
            print(f"plot.py: {path}: no I/O, no latency distribution: left out", file=sys.stderr)
            continue
        runs.append((name, pts, exact_curve(path)))
    if not runs:
        print("plot.py: no run with a latency distribution", file=sys.stderr)
        return 1
    groups = group_runs(runs)
    fig, axes = plt.subplots(len(groups), 2, figsize=(15, 4.2 * len(groups) + 0.8), squeeze=False)
    colors = plt.get_cmap("tab10" if max(len(m) for _, m in groups) <= 10 else "tab20").colors
    for (case, members), (cdf, tail) in zip(groups, axes):
        for i, (name, pts, exact) in enumerate(members):
            xs = [max(x, 1e-3) for x, _ in pts]
            ys = [y for _, y in pts]
            style = dict(color=colors[i % len(colors)], linewidth=1.3, linestyle="-" if exact else "--")
            tx = [x for x, y in zip(xs, ys) if y < 1]
            ty = [1 - y for y in ys if y < 1]
            if exact:  # a histogram: the steps are the data
                cdf.step(xs, ys, where="post", label=name, **style)
                if tx:
                    tail.step(tx, ty, where="post", **style)
            else:  # a few percentiles: drawn straight between them, dashed
                cdf.plot(xs, ys, marker=".", label=name, **style)
                if tx:
                    tail.plot(tx, ty, marker=".", **style)
        for ax in (cdf, tail):
            ax.set_xscale("log")
            ax.grid(True, which="both", alpha=0.3)
        cdf.set_ylabel("share of I/Os at or under")
        cdf.set_ylim(0, 1.01)
        tail.set_yscale("log")
        tail.set_ylabel("share above (1 - CDF)")
        tail.set_ylim(bottom=1e-5, top=1.5)
        if case:
            cdf.set_title(case, loc="left", fontsize="medium")
        tail.legend(*cdf.get_legend_handles_labels(), fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    for ax in axes[-1]:
        ax.set_xlabel("latency (us, submission to completion)")
    fig.suptitle("latency CDF per run (dashed: through the run's percentiles only)")
    fig.tight_layout()
    fig.savefig(argv[1], metadata={"Date": None} if argv[1].endswith(".svg") else None, bbox_inches="tight")
    print(f"plot.py: {len(runs)} runs -> {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
