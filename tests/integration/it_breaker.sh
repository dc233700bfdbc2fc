#!/usr/bin/env bash
# it_breaker.sh: the circuit breaker over sandbox creation. It hears one
# outcome per job's create, after the create's own retries. Creates refused as
# asked (400, an unknown snapshot) end their jobs error/sandbox_rejected and do
# not open it. Then the sandbox service fails every create for a while: after
# ten jobs in a row whose creates failed for good the worker stops creating
# sandboxes (and pauses consumption) instead of burning through the queue; jobs
# that arrive meanwhile wait rather than fail, and once a probe succeeds the
# breaker closes and they run.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 2
it_start_daytona
ATC_CONCURRENCY=8 ATC_RETRY_MAX=2 it_start_worker worker
it_wait_for 60 "the worker to join its group (readyz)" curl -fsS "$WORKER_HTTP/readyz"

cd "$IT_TMP"
printf 'x = 1\n' >tool.py

it_log "creates refused as asked (400) end their jobs, and do not open the breaker"
faults=$(jq -cn '{next: [range(12) | {path_prefix: "/api/sandbox", method: "POST", status: 400}]}')
curl -fsS -X POST "$DAYTONA_BASE/_local/faults" -d "$faults" >/dev/null || it_fail "cannot queue faults"
for i in $(seq 1 12); do
    it_expect_exit 0 it_atc submit --id "brk-snap-$i" --file tool.py=tool.py --cmd true \
        --snapshot no-such-snapshot
done
for i in $(seq 1 12); do
    it_run it_atc wait "brk-snap-$i" --timeout 90 --json
    it_assert_eq "$(jq -r '.status + "/" + .reason' <<<"$IT_OUT")" error/sandbox_rejected "brk-snap-$i"
    it_assert_contains "$(jq -r .error <<<"$IT_OUT")" "no-such-snapshot" "brk-snap-$i error"
done
grep -q "circuit breaker open" "$WORKER_LOG" && it_fail "twelve refused creates opened the breaker"

# Each job makes 1 + ATC_RETRY_MAX = 3 creates before its create fails for
# good, so ten failed jobs take 30 faults; more are queued (8 jobs may be
# between the gate and their last try), and what is left once the breaker is
# open is cleared, so that its probe succeeds.
faults=$(jq -cn '{next: [range(60) | {path_prefix: "/api/sandbox", method: "POST", status: 503}]}')
curl -fsS -X POST "$DAYTONA_BASE/_local/faults" -d "$faults" >/dev/null || it_fail "cannot queue faults"

it_log "jobs meet a failing service"
for i in $(seq 1 12); do
    it_expect_exit 0 it_atc submit --id "brk-early-$i" --file tool.py=tool.py --cmd true
done
it_wait_for 90 "the breaker to open" grep -q "circuit breaker open" "$WORKER_LOG"
curl -fsS -X DELETE "$DAYTONA_BASE/_local/faults" >/dev/null || it_fail "cannot clear the faults"

it_log "jobs that arrive while it is open wait instead of failing"
for i in 1 2 3; do
    it_expect_exit 0 it_atc submit --id "brk-late-$i" --file tool.py=tool.py --cmd true
done
for i in 1 2 3; do
    it_expect_exit 0 it_atc wait "brk-late-$i" --timeout 90 --json
    it_assert_eq "$(jq -r .status <<<"$IT_OUT")" passed "brk-late-$i status"
done
grep -q "circuit breaker closed" "$WORKER_LOG" || it_fail "the breaker never closed"
open_line=$(grep -n "circuit breaker open" "$WORKER_LOG" | head -n 1 | cut -d: -f1)
close_line=$(grep -n "circuit breaker closed" "$WORKER_LOG" | head -n 1 | cut -d: -f1)
((close_line > open_line)) || it_fail "closed (line $close_line) before it opened (line $open_line)"

it_log "the early jobs end passed, or error/sandbox_failed where their own retries ran out first"
for i in $(seq 1 12); do
    it_run it_atc wait "brk-early-$i" --timeout 90 --json
    s=$(jq -r '.status + "/" + .reason' <<<"$IT_OUT")
    [[ "$s" == passed/tests_passed || "$s" == error/sandbox_failed ]] ||
        it_fail "brk-early-$i ended $s"
done
it_assert_eq "$(curl -fsS "$DAYTONA_BASE/_local/faults" | jq '.next | length')" 0 "faults left"
it_wait_eq 15 "no live sandbox" 0 it_daytona_live
it_log "ok"
