#!/usr/bin/env bash
# it_kill9.sh: `kill -9` of one of three workers mid-run. Its partitions go to
# the other two; the jobs it had taken are redelivered (their offsets were never
# stored) and the ones it left `running` are run again, so every job still ends
# with exactly one final result. Its sandboxes are left behind: the reaper of
# the surviving workers (short interval, short job limits) deletes them.
source "$(dirname "$0")/lib.sh"

N=150
it_start_redis
it_start_kafka --partitions 6
it_start_daytona
# A job may take at most 10 + 10 + 10 s (+ the reaper's margin), so the
# reaper, every 5 s, may delete a sandbox once it is about half a minute old.
export ATC_CONCURRENCY=16 ATC_LOG_LEVEL=info ATC_KAFKA_SESSION_TIMEOUT_MS=6000 \
    ATC_KAFKA_HEARTBEAT_INTERVAL_MS=500 ATC_REAPER_INTERVAL_S=5 ATC_MAX_TIMEOUT_S=10 \
    ATC_INSTALL_TIMEOUT_S=10 ATC_SANDBOX_CREATE_TIMEOUT_S=10
# This test shows the age sweep, the last resort: the orphan sweep (liveness
# keys), which would delete w2's sandboxes first, is off (it_orphans.sh shows it).
export ATC_ORPHAN_SWEEP_S=0
declare -A http pid
for w in w1 w2 w3; do
    it_start_worker "$w"
    http[$w]=$WORKER_HTTP
    pid[$w]=$WORKER_PID
done
for w in w1 w2 w3; do
    it_wait_for 90 "worker $w in the group (readyz)" curl -fsS "${http[$w]}/readyz"
done

it_produce_jobs k9 "$N" 'sleep 3' 10
# Kill w2 once it has jobs in flight and has finished a few already.
it_wait_for 90 "w2 running jobs" bash -c \
    "(( \$(curl -fsS ${http[w2]}/metrics | awk '\$1 == \"atc_jobs_in_flight\" {print \$2}') >= 4 )) &&
     grep -q 'finished:' '$IT_TMP/w2.log'"
kill -KILL "${pid[w2]}"
killed_at=$SECONDS
wait "${pid[w2]}" 2>/dev/null
it_log "killed w2 (pid ${pid[w2]}) with $(it_daytona_live) sandboxes live"

# The jobs w2 left `running`: each must be run again by another worker.
orphans=$(it_job_states "$IT_TMP/k9.ids" | awk '$2 == "running" {print $1}' |
    while read -r id; do
        [[ "$(it_redis HGET "atc:result:$id" worker)" == it-w2 ]] && echo "$id"
    done)
it_log "w2 left $(wc -w <<<"$orphans") job(s) running: $(echo $orphans)"
[[ -n "$orphans" ]] || it_fail "w2 was killed with jobs in flight, yet none is left running by it"

it_wait_all_final "$IT_TMP/k9.ids" 150
it_assert_one_final_result "$IT_TMP/k9.ids"
notpassed=$(awk '$2 != "passed"' "$IT_TMP/states.txt")
[[ -z "$notpassed" ]] || it_fail "jobs not passed: $(head -n 5 <<<"$notpassed")"
for id in $orphans; do
    w=$(it_redis HGET "atc:result:$id" worker)
    a=$(it_redis HGET "atc:result:$id" attempt)
    [[ "$w" != it-w2 && "$a" -ge 2 ]] ||
        it_fail "job $id, left running by the killed worker, ended with worker=$w attempt=$a"
done
for w in w1 w3; do
    kill -0 "${pid[$w]}" || it_fail "worker $w died"
done

# w2's sandboxes are leaked; the reaper deletes them once they are older than
# the longest a job may take, which the worker logs at start:
# "reaper: every 5 s, sandboxes older than N s".
max_age=$(grep -o 'sandboxes older than [0-9]* s' "$IT_TMP/w1.log" | grep -o '[0-9]*' | head -n 1)
[[ -n "$max_age" ]] || it_fail "w1 logged no reaper start line ('reaper: ... sandboxes older than N s')"
live=$(it_daytona_live)
it_log "all $N jobs final; $live sandbox(es) live; the reaper deletes them once $max_age s old"
[[ "$live" -gt 0 ]] || it_fail "no sandbox of the killed worker was left: the reaper is not shown"
# The leaked sandboxes were made before the kill: give them max_age, two reaper
# periods and a margin from then.
it_wait_eq $((max_age + 20 - (SECONDS - killed_at))) "the reaper to delete the killed worker's sandboxes" \
    0 it_daytona_live
reaped=0
for w in w1 w3; do
    reaped=$((reaped + $(it_metric "${http[$w]}" atc_sandboxes_reaped_total)))
done
[[ "$reaped" -ge "$live" ]] || it_fail "the workers count $reaped reaped sandboxes, $live were leaked"
it_log "ok"
