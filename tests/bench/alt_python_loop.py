"""alt_python_loop.py: the agent's old sandbox manager's approach, one job at a
time in a Python loop (requests). Prints one JSON object: jobs, failed, wall_s,
cpu_s (this process, around the loop), maxrss_kib.

usage: alt_python_loop.py --api URL --key KEY --jobs N
"""
import argparse
import json
import resource
import sys
import time

from alt_common import new_session, run_one


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--jobs", type=int, default=10)
    a = ap.parse_args()
    s = new_session()
    failed = 0
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    for i in range(a.jobs):
        try:
            if run_one(s, a.api, a.key, "loop-%d" % i) != 0:
                failed += 1
        except Exception as e:  # a failed job, counted like atc-fleet's
            print("job %d: %s" % (i, e), file=sys.stderr)
            failed += 1
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    json.dump({"jobs": a.jobs, "failed": failed, "wall_s": wall, "cpu_s": cpu,
               "maxrss_kib": ru1.ru_maxrss}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
