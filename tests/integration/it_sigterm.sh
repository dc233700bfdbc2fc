#!/usr/bin/env bash
# it_sigterm.sh: SIGTERM with jobs in flight.
#  1. grace 20 s, 32 jobs of ~8 s all running: the worker lets them finish and
#     exits 0 within the grace period; every job has its final result.
#  2. grace 2 s, 16 jobs of ~8 s running: the worker abandons them (deletes
#     their sandboxes, stores no offset for them) and exits 0; a second worker
#     started afterwards runs them to completion.
#  3. grace 1 s, one job whose thread is stuck where the abandon cannot reach
#     it: delivering the dead-letter record of a fleet fault while the brokers
#     are down (message.timeout.ms 120 s here; waits on the sandbox service
#     end at an abandon, it_abandon_waits.sh): the worker waits 30 s after the
#     abandon, logs the job, closes the consumer without it and exits 0; the
#     job has no result and no stored offset, so the next worker runs it.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 4
it_start_daytona
export ATC_LOG_LEVEL=info ATC_KAFKA_SESSION_TIMEOUT_MS=6000 ATC_KAFKA_HEARTBEAT_INTERVAL_MS=500

daytona_running() { curl -fsS "$DAYTONA_BASE/_local/stats" | jq .running; }

# wait_exit PID LIMIT_S: waits for PID to exit within LIMIT_S; its status in $status.
wait_exit() {
    local pid=$1 limit=$2 t0=$SECONDS
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS - t0 <= limit)) || it_fail "the worker still runs $limit s after SIGTERM"
        sleep 0.2
    done
    status=0
    wait "$pid" || status=$?
    took=$((SECONDS - t0))
}

it_log "1: grace 20 s, 32 jobs in flight"
ATC_CONCURRENCY=32 ATC_SHUTDOWN_GRACE_S=20 it_start_worker w1
w1=$WORKER_PID
it_wait_for 60 "w1 in the group" curl -fsS "$WORKER_HTTP/readyz"
it_produce_jobs grace 32 'sleep 8' 60
it_wait_eq 60 "32 jobs in flight" 32 it_metric "$WORKER_HTTP" atc_jobs_in_flight
it_wait_eq 60 "32 test commands running in daytona-local" 32 daytona_running
final_before=$(it_count_final "$IT_TMP/grace.ids")
kill -TERM "$w1"
wait_exit "$w1" 30
it_log "w1 exited $status after $took s; $final_before jobs were final at SIGTERM"
it_assert_eq "$status" 0 "w1 exit status"
[[ "$final_before" -lt 32 ]] || it_fail "all jobs ended before SIGTERM: the test shows nothing"
it_assert_eq "$(it_count_final "$IT_TMP/grace.ids")" 32 "jobs final once w1 is gone"
it_assert_one_final_result "$IT_TMP/grace.ids"
notpassed=$(awk '$2 != "passed"' "$IT_TMP/states.txt")
[[ -z "$notpassed" ]] || it_fail "jobs not passed: $(head -n 5 <<<"$notpassed")"
grep -q 'abandon' "$IT_TMP/w1.log" && it_fail "w1 abandoned jobs within its grace period: $(grep -m 3 abandon "$IT_TMP/w1.log")"
it_assert_eq "$(it_daytona_live)" 0 "live sandboxes after w1"

it_log "2: grace 2 s, 16 jobs in flight"
ATC_CONCURRENCY=16 ATC_SHUTDOWN_GRACE_S=2 it_start_worker w2
w2=$WORKER_PID
it_wait_for 60 "w2 in the group" curl -fsS "$WORKER_HTTP/readyz"
it_produce_jobs abandon 16 'sleep 8' 60
it_wait_eq 60 "16 test commands running in daytona-local" 16 daytona_running
kill -TERM "$w2"
wait_exit "$w2" 20
it_log "w2 exited $status after $took s"
it_assert_eq "$status" 0 "w2 exit status"
it_assert_eq "$(it_count_final "$IT_TMP/abandon.ids")" 0 "jobs final after w2 abandoned them"
grep -q 'abandoning 16 job' "$IT_TMP/w2.log" || it_fail "w2 did not log abandoning 16 jobs"
it_assert_eq "$(it_daytona_live)" 0 "live sandboxes after w2 abandoned its jobs"

ATC_CONCURRENCY=16 it_start_worker w3
it_wait_all_final "$IT_TMP/abandon.ids" 90
it_assert_one_final_result "$IT_TMP/abandon.ids"
notpassed=$(awk '$2 != "passed"' "$IT_TMP/states.txt")
[[ -z "$notpassed" ]] || it_fail "jobs not passed: $(head -n 5 <<<"$notpassed")"
others=$(while read -r id; do it_redis HGET "atc:result:$id" worker; done <"$IT_TMP/abandon.ids" |
    grep -vc '^it-w3$')
it_assert_eq "$others" 0 "abandoned jobs finished by a worker other than w3"
it_wait_eq 15 "no live sandbox in daytona-local" 0 it_daytona_live
it_stop "$WORKER_PID"

it_log "3: grace 1 s, a job thread stuck delivering a dead-letter record"
# The create is held 8 s, then dropped: with no retry, a fleet fault, whose
# dead-letter record cannot be delivered once the brokers are down.
curl -fsS -X POST "$DAYTONA_BASE/_local/faults" -d '{"next":[{"path_prefix":"/api/sandbox",
    "method":"POST","kind":"hang","hang_ms":8000}]}' >/dev/null || it_fail "cannot queue the fault"
ATC_CONCURRENCY=4 ATC_SHUTDOWN_GRACE_S=1 ATC_RETRY_MAX=0 ATC_KAFKA_MESSAGE_TIMEOUT_MS=120000 \
    it_start_worker w4
w4=$WORKER_PID
it_wait_for 60 "w4 in the group" curl -fsS "$WORKER_HTTP/readyz"
it_produce_jobs stuck 1 'true' 60
faults_pending() { curl -fsS "$DAYTONA_BASE/_local/stats" | jq .faults_pending; }
it_wait_eq 60 "the create held by daytona-local" 0 faults_pending
it_kafka_down
it_wait_for 60 "w4 to give up the create" grep -q 'in case the unanswered create made it' \
    "$IT_TMP/w4.log"
sleep 2 # its dead-letter delivery is under way
kill -TERM "$w4"
wait_exit "$w4" 55
it_log "w4 exited $status after $took s"
it_assert_eq "$status" 0 "w4 exit status"
grep -q 'still running after the abandon' "$IT_TMP/w4.log" ||
    it_fail "w4 did not log the job still running after the abandon"
grep -q 'still running 30 s after the abandon' "$IT_TMP/w4.log" ||
    it_fail "w4 did not log giving up on the job"
it_assert_eq "$(it_count_final "$IT_TMP/stuck.ids")" 0 "jobs final after w4 left its job"
it_kafka_up
ATC_CONCURRENCY=4 it_start_worker w5
it_wait_all_final "$IT_TMP/stuck.ids" 90
it_assert_one_final_result "$IT_TMP/stuck.ids"
it_assert_eq "$(awk '{print $2}' "$IT_TMP/states.txt")" passed "the stuck job's status"
it_wait_eq 15 "no live sandbox in daytona-local" 0 it_daytona_live
it_log "ok"
