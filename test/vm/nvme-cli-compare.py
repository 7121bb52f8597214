#!/usr/bin/env python3
"""Compare nvme-cli's JSON with nvpoll's for the same controller (test/vm/guest-kernel.sh).

usage: nvme-cli-compare.py NVME_CLI.json NVPOLL.json [FIELD...]
The key sets (nested, arrays as []) must be equal, and so must each FIELD's value
(a top-level key; its value compared whole, lists and objects too).
"""
import json
import sys


def paths(v, prefix=""):
    out = set()
    if isinstance(v, dict):
        for k, x in v.items():
            out.add(prefix + k)
            out |= paths(x, prefix + k + ".")
    elif isinstance(v, list):
        for x in v:
            out |= paths(x, prefix + "[].")
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        ref = json.load(f)
    with open(sys.argv[2]) as f:
        got = json.load(f)
    bad = 0
    for k in sorted(paths(ref) - paths(got)):
        print(f"nvme-cli has {k}, nvpoll does not")
        bad += 1
    for k in sorted(paths(got) - paths(ref)):
        print(f"nvpoll has {k}, nvme-cli does not")
        bad += 1
    for field in sys.argv[3:]:
        if ref.get(field) != got.get(field):
            print(f"{field}: nvme-cli {ref.get(field)!r}, nvpoll {got.get(field)!r}")
            bad += 1
        else:
            print(f"{field}: {ref.get(field)!r} in both")
    print(f"{len(paths(ref))} keys compared, {bad} differences")
    sys.exit(1 if bad else 0)


main()
