#!/usr/bin/env bash
# it_worker.sh: the fleet end to end. redis-server, kafka-mock, daytona-local and
# atc-worker run as real processes; `atc` and raw messages drive them. Shows the
# statuses of passing, failing, broken, undeployable and slow tools, rejection
# of malformed messages with dead-letter records, one final result for a job
# delivered twice, no sandbox left live, and a clean stop on SIGTERM; a
# cooperative partition.assignment.strategy refused at start (exit 2).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/msgpack.sh"

it_start_redis
it_start_kafka --partitions 2
it_start_daytona
# A cooperative assignment strategy is refused at start (the worker takes whole
# assignments, the eager protocol), from the environment or from -X; `timeout`
# turns a worker that starts anyway into a failure.
it_expect_exit 2 env ATC_HTTP_ADDR= ATC_KAFKA_PARTITION_ASSIGNMENT_STRATEGY=cooperative-sticky \
    timeout 60 "$(it_bin atc-worker)"
it_assert_contains "$IT_ERR" "partition.assignment.strategy" "the worker's message"
it_expect_exit 2 env ATC_HTTP_ADDR= timeout 60 "$(it_bin atc-worker)" \
    -X partition.assignment.strategy=roundrobin,cooperative-sticky
it_assert_contains "$IT_ERR" "cooperative-sticky" "the worker's message"
ATC_MAX_JOB_BYTES=65536 ATC_CONCURRENCY=4 it_start_worker worker
worker_pid=$WORKER_PID
it_wait_for 60 "the worker to join its group (readyz)" curl -fsS "$WORKER_HTTP/readyz"

cd "$IT_TMP"
cat >tool.py <<'PY'
def add(a, b):
    return a + b
PY
cat >test_tool.py <<'PY'
from tool import add

def test_add():
    assert add(1, 2) == 3

def test_add_negative():
    assert add(-1, -2) == -3
PY
cat >test_wrong.py <<'PY'
from tool import add

def test_add_right():
    assert add(2, 2) == 4

def test_add_wrong():
    assert add(1, 2) == 4, "wrong sum"
PY
printf 'def add(a, b)\n    return a + b\n' >broken.py
printf 'from broken import add\n\ndef test_add():\n    assert add(1, 2) == 3\n' >test_broken.py
printf 'import time\n\ndef test_forever():\n    time.sleep(60)\n' >test_slow.py

no_live_sandbox() {
    it_wait_eq 15 "no live sandbox in daytona-local" 0 it_daytona_live
}

# submit_wait EXPECTED_EXIT ARGS...: atc submit --wait --json; the result in $R.
submit_wait() {
    local want=$1
    shift
    it_expect_exit "$want" it_atc submit "$@" --wait --wait-timeout 180 --json
    R=$(printf '%s\n' "$IT_OUT" | tail -n 1)
    jq -e . >/dev/null <<<"$R" || it_fail "not a JSON result: $IT_OUT"
}
field() { jq -r "$1" <<<"$R"; }

it_log "a passing tool"
submit_wait 0 --code tool.py --tests test_tool.py --label tool=add
it_assert_eq "$(field .status)" passed "status"
it_assert_eq "$(field .exit_code)" 0 "exit_code"
it_assert_eq "$(field .tests_total)/$(field .tests_passed)/$(field .tests_failed)" 2/2/0 "counts"
it_assert_eq "$(field '[.tests[].name] | sort | join(",")')" "test_add,test_add_negative" "tests names"
it_assert_eq "$(field '[.tests[].outcome] | unique | join(",")')" passed "tests outcomes"
it_assert_eq "$(field .labels.tool)" add "labels"
it_assert_eq "$(field .attempt)" 1 "attempt"
[[ "$(field .sandbox)" != null && "$(field .create_ms)" != null && "$(field .test_ms)" != null ]] ||
    it_fail "sandbox and phase times missing: $R"
no_live_sandbox

it_log "a failing test"
submit_wait 1 --code tool.py --tests test_wrong.py
it_assert_eq "$(field .status)/$(field .reason)" failed/tests_failed "status"
it_assert_eq "$(field .tests_passed)/$(field .tests_failed)" 1/1 "counts"
it_assert_eq "$(field '.tests[] | select(.outcome == "failed") | .name')" test_add_wrong "failing test"
it_assert_contains "$(field '.tests[] | select(.outcome == "failed") | .message')" "wrong sum" "message"
no_live_sandbox

it_log "a syntax error in the tool"
submit_wait 1 --file broken.py=broken.py --tests test_broken.py
it_assert_eq "$(field .status)/$(field .reason)" failed/collection_error "status"
it_assert_contains "$(field .output)" "SyntaxError" "output"
no_live_sandbox

it_log "a dependency that cannot be installed"
submit_wait 3 --code tool.py --tests test_tool.py --dep "atc-no-such-package-zz9==0.0.1"
it_assert_eq "$(field .status)/$(field .reason)" error/deps_failed "status"
it_assert_contains "$(field .install_output)" "atc-no-such-package-zz9" "install_output"
[[ "$(field .error)" != null ]] || it_fail "no error sentence: $R"
no_live_sandbox

it_log "a test run past its timeout"
submit_wait 3 --tests test_slow.py --timeout 8
it_assert_eq "$(field .status)/$(field .reason)" timeout/test_timeout "status"
it_assert_contains "$(field .output)" "test_forever" "output"
[[ "$(field .test_ms)" -lt 30000 ]] || it_fail "the timeout did not cut the run: $(field .test_ms) ms"
no_live_sandbox

it_log "malformed messages straight to the topic"
produce_file() { # KEY FILE (KEY may be empty)
    if [[ -n "$1" ]]; then
        kcat -P -b "$ATC_BROKERS" -t atc.jobs -k "$1" "$2"
    else
        kcat -P -b "$ATC_BROKERS" -t atc.jobs "$2"
    fi
}
head -c 300 /dev/urandom >random.bin
produce_file "" random.bin
{ mp_map 3; mp_str v; mp_uint 1; mp_str id; mp_str it-bad-types; mp_str files; mp_uint 7; } >types.bin
produce_file "" types.bin
{ mp_map 2; mp_str v; mp_uint 1; mp_str files; mp_map 1; mp_str a.py; mp_str x; } >noid.bin
produce_file "" noid.bin
{ mp_map 3; mp_str v; mp_uint 1; mp_str id; mp_str it-bad-dotdot; mp_str files; mp_map 1; mp_str ../x.py; mp_str x; } >dotdot.bin
produce_file it-bad-dotdot dotdot.bin
{ mp_map 3; mp_str v; mp_uint 1; mp_str id; mp_str it-bad-abs; mp_str files; mp_map 1; mp_str /etc/x.py; mp_str x; } >abs.bin
produce_file it-bad-abs abs.bin
{ mp_map 3; mp_str v; mp_uint 1; mp_str id; mp_str it-too-large; mp_str files; mp_map 1; mp_str big.py; mp_str "$(head -c 70000 /dev/zero | tr '\0' 'x')"; } >big.bin
produce_file it-too-large big.bin

for id in it-bad-types it-bad-dotdot it-bad-abs it-too-large; do
    it_expect_exit 3 it_atc wait "$id" --timeout 60 --json
    R=$IT_OUT
    it_assert_eq "$(field .status)" rejected "$id status"
    [[ "$(field .error)" != null ]] || it_fail "$id: no error sentence"
done
it_expect_exit 3 it_atc get it-bad-types --json
R=$IT_OUT
it_assert_eq "$(field .reason)" bad_message "bad types reason"
it_assert_contains "$(field .error)" "files" "bad types error names the field"
it_expect_exit 3 it_atc get it-bad-dotdot --json
R=$IT_OUT
it_assert_contains "$(field .error)" ".." "dotdot error"
it_expect_exit 3 it_atc get it-too-large --json
R=$IT_OUT
it_assert_eq "$(field .reason)" too_large "too large reason"

dlq_count() { kcat -C -b "$ATC_BROKERS" -t atc.jobs.dlq -o beginning -e -q -f 'x\n' 2>/dev/null | grep -c x; }
it_wait_for 30 "6 dead-letter records" test "$(dlq_count)" -ge 6
kcat -C -b "$ATC_BROKERS" -t atc.jobs.dlq -o beginning -e -q -f '%k|%s\n' >dlq.txt 2>/dev/null
grep -aq '^it-bad-types|' dlq.txt || it_fail "no dead-letter record keyed it-bad-types"
grep -aq 'bad_message' dlq.txt || it_fail "dead-letter records lack their reason"
grep -aq 'too_large' dlq.txt || it_fail "no too_large dead-letter record"
# Its original (70 kB) is beyond ATC_MAX_JOB_BYTES: kept cut to it, and marked.
# Read as kcat's JSON lines: a raw msgpack value may hold a newline byte (its
# ts_ms does, now and then) between the key and the mark.
kcat -C -b "$ATC_BROKERS" -t atc.jobs.dlq -o beginning -e -q -J >dlq.json 2>/dev/null
grep -a '"key":"it-too-large"' dlq.json | grep -aq 'original_truncated' ||
    it_fail "the too_large record is not marked original_truncated"

it_log "the worker still serves the next good job"
submit_wait 0 --code tool.py --tests test_tool.py
it_assert_eq "$(field .status)" passed "after garbage"
kill -0 "$worker_pid" || it_fail "the worker died"

it_log "the same job delivered twice"
it_expect_exit 0 it_atc submit --id it-dup-1 --code tool.py --tests test_tool.py --wait --wait-timeout 120
it_expect_exit 0 it_atc submit --id it-dup-1 --code tool.py --tests test_tool.py
it_wait_for 60 "the second delivery to be skipped" grep -q "job=it-dup-1 skipped" "$WORKER_LOG"
entries=$(redis-cli -p "$REDIS_PORT" XRANGE atc:results - + | grep -c '^it-dup-1$')
it_assert_eq "$entries" 1 "stream entries for it-dup-1"
it_assert_eq "$(redis-cli -p "$REDIS_PORT" LLEN atc:done:it-dup-1)" 1 "done list length"
it_assert_eq "$(redis-cli -p "$REDIS_PORT" HGET atc:result:it-dup-1 attempt)" 1 "attempt"
ttl=$(redis-cli -p "$REDIS_PORT" TTL atc:result:it-dup-1)
[[ "$ttl" -gt 600000 ]] || it_fail "final result TTL is $ttl"
no_live_sandbox

it_log "metrics and probes"
metrics=$(curl -fsS "$WORKER_HTTP/metrics")
it_assert_contains "$metrics" 'atc_jobs_total{status="passed",reason="tests_passed"}' "metrics"
it_assert_contains "$metrics" 'atc_jobs_total{status="rejected",reason="bad_message"}' "metrics"
curl -fsS "$WORKER_HTTP/readyz" >/dev/null || it_fail "not ready"

it_log "SIGTERM stops the worker cleanly"
kill -TERM "$worker_pid"
status=0
wait "$worker_pid" || status=$?
it_assert_eq "$status" 0 "worker exit status"
no_live_sandbox
it_log "ok"
