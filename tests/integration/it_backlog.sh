#!/usr/bin/env bash
# it_backlog.sh: the messages a worker holds beyond its running jobs. With 2
# job threads and 6 jobs of 3 s each (2 s of the threads' work is under 2
# jobs), the backlog stays at its minimum, the thread count (worker/backlog.h):
# 2 run and 2 wait, and the metrics say so (atc_jobs_in_flight 2,
# atc_jobs_waiting 2); no more than 2 sandboxes ever exist at once (a held job
# is never started early), and every job ends passed with exactly one sandbox
# made for it. daytona-local runs nothing here (--exec-canned): an exec just
# takes 3 s.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 1
it_start_daytona --exec-canned $'0 0\n' --no-confine --latency-exec-ms 3000
ATC_CONCURRENCY=2 it_start_worker worker
it_wait_for 60 "the worker to join its group (readyz)" curl -fsS "$WORKER_HTTP/readyz"

it_produce_jobs held 6 true 60
it_wait_eq 30 "2 jobs in flight" 2 it_metric "$WORKER_HTTP" atc_jobs_in_flight
it_wait_eq 10 "2 jobs waiting" 2 it_metric "$WORKER_HTTP" atc_jobs_waiting
peak=$(curl -fsS "$DAYTONA_BASE/_local/stats" | jq -r .peak_live)
[[ "$peak" -le 2 ]] || it_fail "$peak sandboxes at once with 2 job threads: a held job started early"

it_wait_eq 60 "6 final results" 6 it_count_final "$IT_TMP/held.ids"
it_assert_one_final_result "$IT_TMP/held.ids"
notpassed=$(awk '$2 != "passed"' "$IT_TMP/states.txt")
[[ -z "$notpassed" ]] || it_fail "jobs not passed: $(head -n 3 <<<"$notpassed")"
stats=$(curl -fsS "$DAYTONA_BASE/_local/stats")
it_assert_eq "$(jq -r .created <<<"$stats")" 6 "sandboxes made"
[[ "$(jq -r .peak_live <<<"$stats")" -le 2 ]] || it_fail "more than 2 sandboxes at once: $stats"
it_wait_eq 10 "nothing waiting once all ran" 0 it_metric "$WORKER_HTTP" atc_jobs_waiting
it_log "ok"
