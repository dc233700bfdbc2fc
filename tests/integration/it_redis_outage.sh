#!/usr/bin/env bash
# it_redis_outage.sh: redis-server stopped for 20 s mid-run, then started again
# on the same port (with an append-only file, so its data survives). Meanwhile
# the workers answer 503 on /readyz; afterwards no job is lost.
#
# "No offset stored for a job without its result": w2 is killed (-9) at the end
# of the outage, when the jobs it finished during the outage still have no final
# result. Stored offsets are committed every few seconds, so had w2 stored the
# offset of such a job, w1, which takes over w2's partitions, would start after
# it and the job would never get a final result.
source "$(dirname "$0")/lib.sh"

it_start_redis_aof
it_start_kafka --partitions 4
it_start_daytona
export ATC_CONCURRENCY=8 ATC_LOG_LEVEL=info ATC_KAFKA_SESSION_TIMEOUT_MS=6000 \
    ATC_KAFKA_HEARTBEAT_INTERVAL_MS=500
it_start_worker w1
w1=$WORKER_HTTP
w1_pid=$WORKER_PID
it_start_worker w2
w2=$WORKER_HTTP
w2_pid=$WORKER_PID
it_wait_for 90 "w1 in the group" curl -fsS "$w1/readyz"
it_wait_for 90 "w2 in the group" curl -fsS "$w2/readyz"

in_flight() { it_metric "$1" atc_jobs_in_flight; }
it_produce_jobs before 40 'sleep 3' 30
it_wait_for 60 "jobs in flight on both workers, some done" bash -c \
    "grep -q 'finished:' '$IT_TMP/w1.log' && grep -q 'finished:' '$IT_TMP/w2.log' &&
     (( \$(curl -fsS $w1/metrics | awk '\$1 == \"atc_jobs_in_flight\" {print \$2}') >= 2 )) &&
     (( \$(curl -fsS $w2/metrics | awk '\$1 == \"atc_jobs_in_flight\" {print \$2}') >= 2 ))"
it_log "stopping redis with $(it_count_final "$IT_TMP/before.ids") of 40 jobs final," \
    "$(in_flight "$w1") + $(in_flight "$w2") in flight"
it_stop "$REDIS_PID"
down_at=$SECONDS
it_wait_eq 10 "w1 /readyz to answer 503" 503 it_http_code "$w1/readyz"
it_wait_eq 10 "w2 /readyz to answer 503" 503 it_http_code "$w2/readyz"
it_log "readyz: $(curl -s "$w1/readyz")"
curl -fsS "$w1/healthz" >/dev/null || it_fail "w1 /healthz fails while only redis is down"

# Jobs that arrive while redis is down.
it_produce_jobs during 20 'sleep 2' 30
while ((SECONDS - down_at < 20)); do
    sleep 1
    it_assert_eq "$(it_http_code "$w1/readyz")" 503 "w1 /readyz $((SECONDS - down_at)) s into the outage"
done
kill -0 "$w1_pid" || it_fail "w1 died while redis was down"
kill -0 "$w2_pid" || it_fail "w2 died while redis was down"
# The jobs w2 ran to the end but could not write a result for.
w2_unwritten=$(grep 'writing the result failed' "$IT_TMP/w2.log" | grep -o 'job=[^ ]*' | sort -u | cut -d= -f2)
it_log "w2 holds $(wc -w <<<"$w2_unwritten") finished job(s) without a result; killing it (-9)"
[[ -n "$w2_unwritten" ]] || it_fail "w2 had no finished job waiting for redis: the test shows nothing"
kill -KILL "$w2_pid"
wait "$w2_pid" 2>/dev/null

it_start_redis_aof "$REDIS_PORT" redis2
it_log "redis back after $((SECONDS - down_at)) s"
it_wait_eq 15 "w1 /readyz to answer 200 again" 200 it_http_code "$w1/readyz"

it_wait_all_final "$IT_TMP/before.ids" 120
it_wait_all_final "$IT_TMP/during.ids" 60
cat "$IT_TMP/before.ids" "$IT_TMP/during.ids" >"$IT_TMP/all.ids"
it_assert_one_final_result "$IT_TMP/all.ids"
notpassed=$(awk '$2 != "passed"' "$IT_TMP/states.txt")
[[ -z "$notpassed" ]] || it_fail "jobs not passed: $(head -n 5 <<<"$notpassed")"
for id in $w2_unwritten; do
    it_assert_eq "$(it_redis HGET "atc:result:$id" worker)" it-w1 "worker of $id (finished by w2 while redis was down)"
done
kill -0 "$w1_pid" || it_fail "w1 died"
grep -q 'redis reachable again' "$IT_TMP/w1.log" || it_fail "w1 never logged redis reachable again"
it_log "ok"
