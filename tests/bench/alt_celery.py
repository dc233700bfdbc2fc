"""alt_celery.py: the Celery alternative. A Celery app (Redis broker and result
backend from BENCH_REDIS_URL) with one task doing the same HTTP calls as the other
runners (alt_common.run_one). Run the worker with
  python3 -m celery -A alt_celery worker --pool threads --concurrency C
and submit with
  python3 alt_celery.py --api URL --key KEY --jobs N
which sends N tasks, waits for every result and prints one JSON object
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
app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1,
                result_expires=3600, broker_connection_retry_on_startup=True)
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
    failed = 0
    for h in handles:
        try:
            if h.get(timeout=600) != 0:
                failed += 1
        except Exception as e:
            print("task: %s" % e, file=sys.stderr)
            failed += 1
    json.dump({"jobs": a.jobs, "failed": failed, "wall_s": time.monotonic() - t0}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
