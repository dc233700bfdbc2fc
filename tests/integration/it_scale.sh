#!/usr/bin/env bash
# it_scale.sh: 500 jobs through 3 workers of concurrency 32, each job's sandbox
# busy for about a second (`sleep 1`): every job ends with exactly one final
# result, and no sandbox is live at the end. Prints the throughput.
source "$(dirname "$0")/lib.sh"

N=${IT_SCALE_JOBS:-500}

it_start_redis
it_start_kafka --partitions 6
it_start_daytona
export ATC_CONCURRENCY=32 ATC_LOG_LEVEL=info ATC_KAFKA_SESSION_TIMEOUT_MS=6000 \
    ATC_KAFKA_HEARTBEAT_INTERVAL_MS=500
workers=()
for w in w1 w2 w3; do
    it_start_worker "$w"
    workers+=("$WORKER_HTTP")
done
for h in "${workers[@]}"; do
    it_wait_for 90 "worker $h in the group (readyz)" curl -fsS "$h/readyz"
done

t0=$(date +%s.%N)
it_produce_jobs scale "$N" 'sleep 1' 30
it_wait_all_final "$IT_TMP/scale.ids" 300
t2=$(date +%s.%N)

it_assert_one_final_result "$IT_TMP/scale.ids"
passed=$(awk '$2 == "passed"' "$IT_TMP/states.txt" | wc -l)
it_assert_eq "$passed" "$N" "jobs passed (the others: $(awk '$2 != "passed"' "$IT_TMP/states.txt" | head -n 3))"
it_log "throughput: $(jq -n "$N / ($t2 - $t0) | . * 10 | round / 10") jobs/s ($N jobs in $(jq -n "$t2 - $t0 | round") s from the first submit)"

# Each worker did part of the work.
for h in "${workers[@]}"; do
    n=$(it_metric "$h" 'atc_jobs_total{status="passed",reason="tests_passed"}')
    it_log "worker $h: $n jobs"
    [[ "$n" -gt 0 ]] || it_fail "worker $h ran no job"
done
it_wait_eq 15 "no live sandbox in daytona-local" 0 it_daytona_live
created=$(curl -fsS "$DAYTONA_BASE/_local/stats" | jq .created)
[[ "$created" -ge "$N" ]] || it_fail "daytona-local created $created sandboxes for $N jobs"
it_log "ok"
