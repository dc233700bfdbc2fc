#!/usr/bin/env bash
# it_orphans_flush.sh: Redis loses its data (FLUSHALL, as a restart without
# persistence would) three times while two live workers run long jobs. Each
# time their liveness keys are gone until each one's next beat (up to 2 s),
# and with orphan sweeps every second each worker sweeps in that gap. Neither
# may take the other for dead (a key must stay missing over consecutive
# sweeps 5 s apart, worker/liveness.h): no sandbox is deleted under its job,
# and every job ends passed with one final result.
# kafka-mock only: its subject is the sandbox side (Daytona, Redis); the Kafka
# path it takes is the one the integration.real.* tests cover.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 2
it_start_daytona
export ATC_CONCURRENCY=4 ATC_LOG_LEVEL=info ATC_ORPHAN_SWEEP_S=1
declare -A http
for w in w1 w2; do
    it_start_worker "$w"
    http[$w]=$WORKER_HTTP
done
for w in w1 w2; do
    it_wait_for 90 "worker $w in the group (readyz)" curl -fsS "${http[$w]}/readyz"
done

inflight() { it_metric "${http[$1]}" atc_jobs_in_flight; }
all_in_flight() { (($(inflight w1) + $(inflight w2) >= 8)); }
both_have_sandboxes() { (($(it_daytona_live_of w1) >= 1 && $(it_daytona_live_of w2) >= 1)); }

# Every job runs across the flushes (a result written before one would be lost).
it_produce_jobs flush 8 'sleep 30' 90
it_wait_for 60 "8 jobs in flight" all_in_flight
it_wait_for 30 "sandboxes of both workers" both_have_sandboxes
it_log "in flight: w1 $(inflight w1), w2 $(inflight w2)"
for round in 1 2 3; do
    it_redis FLUSHALL >/dev/null
    # The gap the fix is about: the keys are gone right after the flush.
    missing=$(it_redis EXISTS atc:worker:atc-workers:it-w1 atc:worker:atc-workers:it-w2)
    it_log "flush $round: $((2 - missing)) liveness key(s) missing right after it"
    sleep 6
    for w in w1 w2; do
        n=$(it_daytona_live_of "$w")
        [[ "$n" -ge 1 ]] || it_fail "after flush $round, $w has no live sandbox left"
    done
done

it_wait_all_final "$IT_TMP/flush.ids" 120
it_assert_one_final_result "$IT_TMP/flush.ids"
notpassed=$(awk '$2 != "passed"' "$IT_TMP/states.txt")
[[ -z "$notpassed" ]] || it_fail "jobs not passed: $(head -n 5 <<<"$notpassed")"
for w in w1 w2; do
    orphaned=$(it_metric "${http[$w]}" atc_sandboxes_orphaned_total)
    [[ "$orphaned" == 0 ]] || it_fail "$w's orphan sweep deleted $orphaned sandbox(es) of a live worker"
    ! grep -q "its worker is gone" "$IT_TMP/$w.log" || it_fail "$w took a live worker for dead"
done
it_wait_eq 30 "no live sandbox in daytona-local" 0 it_daytona_live
it_log "ok"
