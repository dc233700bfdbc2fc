#!/usr/bin/env bash
# run_example.sh: runs producer/examples/submit_and_wait against a live local
# stack (tests/integration/lib.sh): a passing job, a failing one, and a job
# cancelled while queued on a topic no worker reads.
source "$(dirname "$0")/../../tests/integration/lib.sh"

it_start_redis
it_start_kafka --topic atc.jobs --topic atc.jobs.dlq --topic atc.idle
it_start_daytona
it_start_worker worker
it_wait_for 60 "the worker to join its group (readyz)" curl -fsS "$WORKER_HTTP/readyz"
ex=$(it_bin submit_and_wait)

cd "$IT_TMP"
printf 'def add(a, b):\n    return a + b\n' >tool.py
printf 'from tool import add\n\ndef test_add():\n    assert add(1, 2) == 3\n' >test_tool.py
printf 'from tool import add\n\ndef test_add():\n    assert add(1, 2) == 4\n' >test_bad.py

it_expect_exit 0 "$ex" tool.py test_tool.py
it_assert_contains "$IT_OUT" "status passed reason tests_passed tests 1/1" "passing job"
it_expect_exit 1 "$ex" tool.py test_bad.py
it_assert_contains "$IT_OUT" "status failed" "failing job"
ATC_JOBS_TOPIC=atc.idle it_expect_exit 3 "$ex" --cancel tool.py test_tool.py
it_assert_contains "$IT_OUT" "cancel outcome 1" "cancel outcome"
it_assert_contains "$IT_OUT" "status cancelled reason cancelled" "cancelled job"
it_log "ok"
