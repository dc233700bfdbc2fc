"""results.py: summarizes the atc-fleet results of one benchmark run, read from Redis.

Prints one JSON object: counts by status, wall span (first started_ms to last
finished_ms, first submitted_ms to last finished_ms), per-job sandbox time
(create_ms+upload_ms+test_ms+delete_ms) percentiles, and end-to-end latency
(finished_ms - submitted_ms) minus the sandbox time, p50/p99; per-phase p50;
throughput and mean jobs in flight in the steady state (the middle 60% of the
span).
"""
import argparse
import json
import sys

import redis

FIELDS = ["status", "submitted_ms", "started_ms", "finished_ms", "create_ms",
          "upload_ms", "test_ms", "delete_ms", "install_ms", "worker"]


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--prefix", required=True)
    a = ap.parse_args()
    r = redis.Redis(port=a.port, decode_responses=True)
    keys = list(r.scan_iter(match="atc:result:%s-*" % a.prefix, count=1000))
    pipe = r.pipeline(transaction=False)
    for k in keys:
        pipe.hmget(k, FIELDS)
    rows = [dict(zip(FIELDS, v)) for v in pipe.execute()]
    status = {}
    injob = []
    sandbox, overhead, e2e, started, finished, submitted, creates = [], [], [], [], [], [], []
    phase_ms = {f: [] for f in ("create_ms", "upload_ms", "test_ms", "delete_ms")}
    workers = {}
    for row in rows:
        status[row["status"]] = status.get(row["status"], 0) + 1
        workers[row["worker"]] = workers.get(row["worker"], 0) + 1
        if row["finished_ms"] is None or row["started_ms"] is None:
            continue
        fin, st = int(row["finished_ms"]), int(row["started_ms"])
        sub = int(row["submitted_ms"] or st)
        phases = [int(row[f]) for f in ("create_ms", "upload_ms", "test_ms", "delete_ms")
                  if row[f] is not None and int(row[f]) >= 0]
        sb = sum(phases)
        for f in phase_ms:
            if row[f] is not None and int(row[f]) >= 0:
                phase_ms[f].append(int(row[f]))
        sandbox.append(sb)
        e2e.append(fin - sub)
        overhead.append(fin - sub - sb)
        injob.append(fin - st - sb)
        started.append(st)
        finished.append(fin)
        submitted.append(sub)
        if row["create_ms"] is not None:
            creates.append(int(row["create_ms"]))
    # Steady state: the middle 60% of the span, away from the burst's ramp-up
    # (messages still arriving) and its drain (the last jobs ending one by one).
    steady_jobs_per_s = steady_inflight = None
    if started and max(finished) > min(started):
        t0, t1 = min(started), max(finished)
        w0, w1 = t0 + 0.2 * (t1 - t0), t1 - 0.2 * (t1 - t0)
        done = sum(1 for f in finished if w0 <= f < w1)
        busy = sum(max(0.0, min(f, w1) - max(s, w0)) for s, f in zip(started, finished))
        steady_jobs_per_s = done * 1000.0 / (w1 - w0)
        steady_inflight = busy / (w1 - w0)
    # Idle gaps of a worker slot at concurrency 1: next start - previous finish.
    order = sorted(zip(started, finished))
    gaps = [order[i + 1][0] - order[i][1] for i in range(len(order) - 1)]
    out = {
        "gap_p50_ms": pct(gaps, 50),
        "injob_overhead_p50_ms": pct(injob, 50),
        "inflight_mean": (sum(f - s for s, f in zip(started, finished)) /
                          float(max(finished) - min(started))) if started and max(finished) > min(started) else None,
        "steady_jobs_per_s": steady_jobs_per_s,
        "steady_inflight_mean": steady_inflight,
        "n": len(rows),
        "status": status,
        "workers": workers,
        "span_started_s": (max(finished) - min(started)) / 1000.0 if started else None,
        "span_submitted_s": (max(finished) - min(submitted)) / 1000.0 if started else None,
        "first_started_ms": min(started) if started else None,
        "last_finished_ms": max(finished) if finished else None,
        "sandbox_p50_ms": pct(sandbox, 50),
        "sandbox_mean_ms": sum(sandbox) / len(sandbox) if sandbox else None,
        "create_p50_ms": pct(creates, 50),
        "phase_p50_ms": {f[:-3]: pct(v, 50) for f, v in phase_ms.items()},
        "e2e_p50_ms": pct(e2e, 50),
        "e2e_p99_ms": pct(e2e, 99),
        "overhead_p50_ms": pct(overhead, 50),
        "overhead_p99_ms": pct(overhead, 99),
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
