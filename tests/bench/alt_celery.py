"""alt_celery.py: the Celery alternative. A Celery app (Redis broker and result
backend from BENCH_REDIS_URL) with one task doing the same HTTP calls as the other
runners (alt_common.run_one). Celery's defaults (prefetch x4, early ack): with
task_acks_late=True and worker_prefetch_multiplier=1 (closer to atc-fleet's
at-least-once), Celery 5.2.6 stalled ~18 s between batches of 32 here. Run the worker with
  python3 -m celery -A alt_celery worker --pool threads --concurrency C
and submit with
  python3 alt_celery.py --api URL --key KEY --jobs N
which sends N tasks, waits until every one is done (polling the states) and prints one JSON object
(jobs, failed, wall_s).
"""
import argparse
import json
import os
import sys
import threading
import time

from celery import Celery

from alt_common import new_session, run_one

REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
app = Celery("alt_celery", broker=REDIS, backend=REDIS)
app.conf.update(result_expires=3600, broker_connection_retry_on_startup=True)
_local = threading.local()


@app.task(name="alt_celery.run_job")
def run_job(api, key, job_id):
    s = getattr(_local, "session", None)
    if s is None:
        s = _local.session = new_session()
    return run_one(s, api, key, job_id)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--jobs", type=int, default=96)
    a = ap.parse_args()
    t0 = time.monotonic()
    handles = [run_job.delay(a.api, a.key, "celery-%d" % i) for i in range(a.jobs)]
    # Poll the states rather than get() one by one: a get() on a result that is
    # already stored can wait for the backend's polling interval, which would
    # make the submitter, not the worker, the limit.
    pending, deadline = list(handles), time.monotonic() + 600
    while pending and time.monotonic() < deadline:
        pending = [h for h in pending if not h.ready()]
        if pending:
            time.sleep(0.02)
    wall = time.monotonic() - t0
    failed = len(pending)
    for h in handles:
        if h in pending:
            continue
        try:
            if h.get(timeout=1, propagate=True) != 0:
                failed += 1
        except Exception as e:
            print("task: %s" % e, file=sys.stderr)
            failed += 1
    json.dump({"jobs": a.jobs, "failed": failed, "wall_s": wall}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
