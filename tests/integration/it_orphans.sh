#!/usr/bin/env bash
# it_orphans.sh: 16 jobs in flight on a worker that is SIGKILLed, a second
# worker in the group: the dead worker's sandboxes are gone within 60 s (its
# liveness key expires, the survivor's orphan sweep deletes what is labelled
# with it), long before the age sweep's limit (about 24 min with the default
# limits). Every job still ends with one final result.
# kafka-mock only: its subject is the sandbox side (Daytona, the runner, Redis);
# the Kafka path it takes is the one the integration.real.* tests cover.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 2
it_start_daytona
# The default job limits: the age sweep would wait ~24 min. The Kafka session
# stays at its default too, so redelivery (45 s) is not what cleans up.
export ATC_CONCURRENCY=16 ATC_LOG_LEVEL=info
declare -A http pid
for w in w1 w2; do
    it_start_worker "$w"
    http[$w]=$WORKER_HTTP
    pid[$w]=$WORKER_PID
done
for w in w1 w2; do
    it_wait_for 90 "worker $w in the group (readyz)" curl -fsS "${http[$w]}/readyz"
done
it_log "$(grep -h 'orphan sweep every' "$IT_TMP/w1.log" | head -n 1)"

live_of() { it_daytona_live_of "$1"; }
inflight_ge() { (($(it_metric "${http[w1]}" atc_jobs_in_flight) >= $1)); }
live_of_ge() { (($(live_of "$1") >= $2)); }

it_produce_jobs orph 64 'sleep 10' 60
it_wait_for 60 "16 jobs in flight on w1" inflight_ge 16
it_wait_for 30 "16 sandboxes of w1" live_of_ge w1 16
before=$(live_of w1)
kill -KILL "${pid[w1]}"
killed_at=$SECONDS
wait "${pid[w1]}" 2>/dev/null
it_log "killed w1 with $before live sandboxes"
it_wait_eq 60 "the killed worker's sandboxes deleted" 0 live_of w1
took=$((SECONDS - killed_at))
it_log "w1's $before sandboxes gone $took s after the kill"
orphaned=$(it_metric "${http[w2]}" atc_sandboxes_orphaned_total)
[[ "$orphaned" -ge "$before" ]] ||
    it_fail "w2 counts $orphaned orphaned sandboxes, w1 left $before"
grep -q "its worker is gone" "$IT_TMP/w2.log" || it_fail "w2 logged no 'its worker is gone'"

it_wait_all_final "$IT_TMP/orph.ids" 240
it_assert_one_final_result "$IT_TMP/orph.ids"
notpassed=$(awk '$2 != "passed"' "$IT_TMP/states.txt")
[[ -z "$notpassed" ]] || it_fail "jobs not passed: $(head -n 5 <<<"$notpassed")"
it_wait_eq 30 "no live sandbox in daytona-local" 0 it_daytona_live
kill -0 "${pid[w2]}" || it_fail "w2 died"
it_log "ok"
