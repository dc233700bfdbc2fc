#!/usr/bin/env bash
# it_daytona_faults.sh: daytona-local answers 30% of its /api and /toolbox calls
# with a 429, a 500 or a dropped connection. The worker retries those faults of
# the fleet, so every job still ends `passed` or `failed` as its code deserves
# (never `error`), and no sandbox is left live.
# kafka-mock only: its subject is the sandbox side (Daytona, the runner, Redis);
# the Kafka path it takes is the one the integration.real.* tests cover.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 2
seed=${IT_FAULT_SEED:-$RANDOM}
it_log "fault seed $seed (IT_FAULT_SEED=$seed repeats the draw, not the threads' timing)"
it_start_daytona --fault-rate 0.3 --fault-kinds 429,500,drop \
    --fault-seed "$seed"
# ATC_RETRY_MAX=10, not the default 5: the worker's retry budget is spent per
# job, not per call, and a toolbox fault starts again with a new sandbox, so at
# 30% faults about 8% of jobs run out of 5 retries (see the report of this test).
# ATC_ORPHAN_SWEEP_S=0: the end of this test shows the reaper thread deleting a
# sandbox whose delete failed; the orphan sweep (every 10 s) would otherwise race
# it to the same sandbox (it_orphans shows the sweep).
ATC_CONCURRENCY=8 ATC_LOG_LEVEL=info ATC_RETRY_MAX=${IT_RETRY_MAX:-10} ATC_ORPHAN_SWEEP_S=0 \
    it_start_worker worker
it_wait_for 60 "the worker in the group" curl -fsS "$WORKER_HTTP/readyz"

cd "$IT_TMP"
printf 'def add(a, b):\n    return a + b\n' >tool.py
printf 'from tool import add\n\ndef test_add():\n    assert add(1, 2) == 3\n' >test_good.py
printf 'from tool import add\n\ndef test_add():\n    assert add(1, 2) == 4\n' >test_bad.py
it_submit_many good 20 4 --code tool.py --tests test_good.py --timeout 60
it_submit_many bad 20 4 --code tool.py --tests test_bad.py --timeout 60
cat good.ids bad.ids >all.ids
it_wait_all_final all.ids 200
it_assert_one_final_result all.ids

errors=$(awk '$2 == "error"' states.txt | cut -d' ' -f1)
if [[ -n "$errors" ]]; then
    for id in $errors; do
        it_log "$id: error: $(it_redis HGET "atc:result:$id" reason): $(it_redis HGET "atc:result:$id" error)"
    done
    it_fail "$(wc -w <<<"$errors") job(s) ended error under 30% faults"
fi
wrong=$(awk 'NR == FNR { good[$1] = 1; next }
             ($1 in good && $2 != "passed") || (!($1 in good) && $2 != "failed")' good.ids states.txt)
[[ -z "$wrong" ]] || it_fail "jobs with the wrong status: $(head -n 5 <<<"$wrong")"
# The JUnit report is part of the result: a fault while fetching it is the
# fleet's, not the code's, so each result still has its test counts.
nocounts=$(while read -r id; do
    [[ "$(it_redis HGET "atc:result:$id" tests_total)" == 1 ]] || echo "$id"
done <all.ids)
[[ -z "$nocounts" ]] || it_fail "$(wc -w <<<"$nocounts") result(s) without their test counts" \
    "(tests_total != 1): $(echo $nocounts); worker log: $(grep -m 3 'JUnit report' worker.log)"

stats=$(curl -fsS "$DAYTONA_BASE/_local/stats")
faults=$(jq .faults_injected <<<"$stats")
it_log "daytona-local: $faults faults injected in $(jq .requests <<<"$stats") requests"
[[ "$faults" -ge 20 ]] || it_fail "only $faults faults were injected: the test shows little"
retries=$(curl -fsS "$WORKER_HTTP/metrics" | awk '$1 ~ /^atc_retries_total/ { n += $2 } END { print n + 0 }')
it_log "worker retries: $retries"
it_wait_eq 60 "no live sandbox in daytona-local" 0 it_daytona_live

# A delete that keeps failing: the job's result does not wait on it, and the
# reaper thread deletes the sandbox within seconds, long before its periodic
# sweep would find it by age (create + install + test limits, minutes).
it_log "a sandbox whose delete fails five times in a row"
deferred0=$(it_metric "$WORKER_HTTP" atc_sandbox_deletes_deferred_total)
faults=$(jq -cn '{next: [range(5) | {path_prefix: "/api/sandbox/", method: "DELETE", status: 500}]}')
curl -fsS -X POST "$DAYTONA_BASE/_local/faults" -d "$faults" >/dev/null || it_fail "cannot queue faults"
it_expect_exit 0 it_atc submit --id undeletable --code tool.py --tests test_good.py --wait \
    --wait-timeout 120
it_wait_eq 10 "the five DELETE faults taken" 0 \
    bash -c "curl -fsS '$DAYTONA_BASE/_local/faults' | jq '[.next[] | select(.method == \"DELETE\")] | length'"
deferred=$(it_metric "$WORKER_HTTP" atc_sandbox_deletes_deferred_total)
[[ "$deferred" -gt "$deferred0" ]] || it_fail "no delete was handed to the reaper thread"
it_wait_eq 60 "no live sandbox after the reaper thread's retries" 0 it_daytona_live
grep -q "(its job's delete failed)" "$WORKER_LOG" || it_fail "the reaper thread did not log the delete"
it_log "ok"
