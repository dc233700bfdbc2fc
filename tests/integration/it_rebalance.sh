#!/usr/bin/env bash
# it_rebalance.sh: rebalances while jobs run long. w1 (16 job threads, so a
# job started twice would run at once) runs 8 jobs of ~20 s; w2
# joins the same consumer group subscribed to another topic, then leaves: two
# eager rebalances in which w1 gives up its partitions and gets the same ones
# back, re-fetching from the committed offset the messages of jobs still
# running. w1 must keep those jobs, not start them again: each job ends with
# one final result at attempt 1, and daytona-local created exactly one
# sandbox per job.
source "$(dirname "$0")/lib.sh"

N=8
it_start_redis
it_start_kafka --partitions 2 --topic atc.jobs --topic atc.jobs.dlq --topic atc.other
it_start_daytona
export ATC_LOG_LEVEL=info ATC_KAFKA_SESSION_TIMEOUT_MS=6000 ATC_KAFKA_HEARTBEAT_INTERVAL_MS=500

daytona_running() { curl -fsS "$DAYTONA_BASE/_local/stats" | jq .running; }
assigned_count() { grep -c 'assigned [0-9]* partition' "$IT_TMP/w1.log"; }
# Under load a slow heartbeat can add a rebalance: count at least, not exactly.
assigned_at_least() { (($(assigned_count) >= $1)); }

ATC_CONCURRENCY=$((2 * N)) it_start_worker w1
w1_http=$WORKER_HTTP
echo "$WORKER_PID" >"$IT_TMP/w1.pid"
it_wait_for 60 "w1 in the group" curl -fsS "$w1_http/readyz"
it_assert_eq "$(assigned_count)" 1 "w1's assignments before the jobs"
it_produce_jobs rb "$N" 'sleep 20' 60
it_wait_eq 60 "$N test commands running in daytona-local" "$N" daytona_running

# w2 joins (a rebalance), then leaves (another); w1 keeps both partitions.
ATC_CONCURRENCY=2 ATC_JOBS_TOPIC=atc.other it_start_worker w2
w2=$WORKER_PID
it_wait_for 30 "w2 in the group" curl -fsS "$WORKER_HTTP/readyz"
it_wait_for 30 "w1 assigned again after w2 joined" assigned_at_least 2
joined=$(assigned_count)
it_stop "$w2"
it_wait_for 30 "w1 assigned again after w2 left" assigned_at_least $((joined + 1))
running=$(daytona_running)
it_log "both rebalances done with $running test commands still running"
[[ "$running" -gt 0 ]] || it_fail "no job ran across the rebalances: the test shows nothing"

it_wait_all_final "$IT_TMP/rb.ids" 120
it_assert_one_final_result "$IT_TMP/rb.ids"
notpassed=$(awk '$2 != "passed"' "$IT_TMP/states.txt")
[[ -z "$notpassed" ]] || it_fail "jobs not passed: $(head -n 5 <<<"$notpassed")"
attempts=$(while read -r id; do it_redis HGET "atc:result:$id" attempt; done <"$IT_TMP/rb.ids" |
    sort | uniq -c | tr -s ' ')
it_assert_eq "$attempts" " $N 1" "attempts per job (count attempt)"
it_wait_eq 15 "no live sandbox in daytona-local" 0 it_daytona_live
it_assert_eq "$(curl -fsS "$DAYTONA_BASE/_local/stats" | jq .created)" "$N" "sandboxes created"

# The offsets of the kept jobs were stored under the new assignment: once w1
# is gone, a new worker re-fetches none of them (a re-fetched one would be
# skipped as a duplicate) before the jobs produced after them are final.
it_stop "$(cat "$IT_TMP/w1.pid")"
ATC_CONCURRENCY=4 it_start_worker w3
it_produce_jobs after 4 'true' 60
it_wait_all_final "$IT_TMP/after.ids" 90
it_assert_eq "$(it_metric "$WORKER_HTTP" atc_duplicates_skipped_total)" 0 \
    "jobs w3 skipped as already final"
it_log "ok"
