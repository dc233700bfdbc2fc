"""tables.py: prints the benchmark figures in $BENCH_OUT (default /tmp/atc-bench)
as Markdown tables, one per .tsv file, for docs/benchmarks.md.

usage: /usr/bin/python3 tests/bench/tables.py [overhead busy scale crash ratelimit alternatives]
"""
import os
import sys

OUT = os.environ.get("BENCH_OUT", "/tmp/atc-bench")


def fmt(v):
    try:
        f = float(v)
    except ValueError:
        return v
    if f != int(f) and abs(f) < 1e6:
        return "%.3g" % f if abs(f) < 10 else "%.1f" % f
    return v


def table(name):
    path = os.path.join(OUT, name + ".tsv")
    if not os.path.exists(path):
        return
    rows = [line.rstrip("\n").split("\t") for line in open(path) if line.strip()]
    head = rows[0]
    head[0] = head[0].lstrip("# ")
    print("#### %s\n" % name)
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows[1:]:
        print("| " + " | ".join(fmt(v) for v in r) + " |")
    print()


for n in sys.argv[1:] or ["overhead", "busy", "scale", "crash", "ratelimit", "alternatives"]:
    table(n)
