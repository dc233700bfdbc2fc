#!/usr/bin/env bash
# it_abandon_waits.sh: SIGTERM with a short grace while jobs wait on something
# long: a create answered 429 with Retry-After 300 s, and a test command of
# 300 s (its exec request in flight). Once the grace is over the worker
# abandons them: each stops waiting within about a second, the worker exits 0
# long before either wait would have ended, no result is written, and no
# sandbox is left live.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 2
it_start_daytona
export ATC_LOG_LEVEL=info
ATC_CONCURRENCY=4 ATC_SHUTDOWN_GRACE_S=2 ATC_MAX_TIMEOUT_S=600 it_start_worker worker
it_wait_for 60 "the worker in the group" curl -fsS "$WORKER_HTTP/readyz"

cd "$IT_TMP"
printf 'x = 1\n' >tool.py
daytona_running() { curl -fsS "$DAYTONA_BASE/_local/stats" | jq .running; }

it_log "one job runs a 300 s command"
it_expect_exit 0 it_atc submit --id slow-exec --file tool.py=tool.py --cmd 'sleep 299.5' --timeout 400
it_wait_eq 60 "the command running in daytona-local" 1 daytona_running

it_log "another job's create is answered 429, Retry-After 300 s"
faults='{"next":[{"path_prefix":"/api/sandbox","method":"POST","status":429,"retry_after":300}]}'
curl -fsS -X POST "$DAYTONA_BASE/_local/faults" -d "$faults" >/dev/null || it_fail "cannot queue faults"
it_expect_exit 0 it_atc submit --id slow-retry --file tool.py=tool.py --cmd true
it_wait_for 60 "the create's retry to wait" grep -q "job=slow-retry creating the sandbox failed" "$WORKER_LOG"

t0=$SECONDS
kill -TERM "$WORKER_PID"
while kill -0 "$WORKER_PID" 2>/dev/null; do
    # Far below either wait (300 s); a worker that sat them out fails here.
    ((SECONDS - t0 <= 60)) || it_fail "the worker still runs 60 s after SIGTERM"
    sleep 0.2
done
status=0
wait "$WORKER_PID" || status=$?
it_log "the worker exited $status after $((SECONDS - t0)) s"
it_assert_eq "$status" 0 "exit status"
grep -q 'abandoning 2 job' "$WORKER_LOG" || it_fail "the worker did not log abandoning 2 jobs"
for id in slow-exec slow-retry; do
    it_assert_eq "$(it_redis HGET "atc:result:$id" status)" running "$id status (abandoned, no result)"
done
it_wait_eq 15 "no live sandbox" 0 it_daytona_live
it_log "ok"
