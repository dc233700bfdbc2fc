#!/usr/bin/env bash
# it_backlog.sh: the messages a worker holds beyond its running jobs
# (worker/backlog.h). With 2 job threads and jobs of 3 s each: before any job
# has run the backlog is at its most, so of 6 jobs 2 run and 4 wait; once
# jobs of 3 s have run, 2 s of the threads' work is under 2 jobs, so the
# backlog is the thread count: of 6 more, 2 run and 2 wait. The metrics say
# so (atc_jobs_in_flight, atc_jobs_waiting); never more than 2 sandboxes at
# once (a held job is never started early); every job ends passed with exactly
# one sandbox made for it. daytona-local runs nothing here (--exec-canned): an
# exec just takes 3 s.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 1
it_start_daytona --exec-canned $'0 0\n' --no-confine --latency-exec-ms 3000
ATC_CONCURRENCY=2 it_start_worker worker
it_wait_for 60 "the worker to join its group (readyz)" curl -fsS "$WORKER_HTTP/readyz"

# run PREFIX WAITING: 6 jobs; 2 in flight and WAITING held while the first run.
run() {
    it_produce_jobs "$1" 6 true 60
    it_wait_eq 30 "$1: 2 jobs in flight" 2 it_metric "$WORKER_HTTP" atc_jobs_in_flight
    it_wait_eq 10 "$1: $2 jobs waiting" "$2" it_metric "$WORKER_HTTP" atc_jobs_waiting
    peak=$(curl -fsS "$DAYTONA_BASE/_local/stats" | jq -r .peak_live)
    [[ "$peak" -le 2 ]] || it_fail "$peak sandboxes at once with 2 job threads: a held job started early"
    it_wait_eq 60 "$1: 6 final results" 6 it_count_final "$IT_TMP/$1.ids"
    it_assert_one_final_result "$IT_TMP/$1.ids"
    notpassed=$(awk '$2 != "passed"' "$IT_TMP/states.txt")
    [[ -z "$notpassed" ]] || it_fail "jobs not passed: $(head -n 3 <<<"$notpassed")"
}

it_log "no job has run yet: the backlog is at its most"
run first 4
it_log "jobs of 3 s have run: the backlog is the thread count"
run second 2
stats=$(curl -fsS "$DAYTONA_BASE/_local/stats")
it_assert_eq "$(jq -r .created <<<"$stats")" 12 "sandboxes made"
[[ "$(jq -r .peak_live <<<"$stats")" -le 2 ]] || it_fail "more than 2 sandboxes at once: $stats"
it_wait_eq 10 "nothing waiting once all ran" 0 it_metric "$WORKER_HTTP" atc_jobs_waiting
it_log "ok"
