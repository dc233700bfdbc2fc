#!/usr/bin/env bash
# it_watch.sh: `atc watch`, `atc stats` and `atc cancel` against a live stack:
# watch prints one line per finished job, filtered by label; stats counts jobs
# by status and asks the broker for the group's lag; cancel ends a queued job
# (never run) and reports finals, unknown ids and a Redis out of reach.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --topic atc.jobs --topic atc.jobs.dlq --topic atc.idle
it_start_daytona
it_start_worker worker
it_wait_for 60 "the worker to join its group (readyz)" curl -fsS "$WORKER_HTTP/readyz"

cd "$IT_TMP"
printf 'def add(a, b):\n    return a + b\n' >tool.py
printf 'from tool import add\n\ndef test_add():\n    assert add(1, 2) == 3\n' >test_tool.py
printf 'from tool import add\n\ndef test_add():\n    assert add(1, 2) == 4\n' >test_bad.py

it_log "watch: one line per finished job with the label"
it_start watch "$(it_bin atc)" watch --label suite=w --count 2 --json
watch_pid=$IT_LAST_PID
sleep 1 # watch reads the stream's newest id at start
it_expect_exit 0 it_atc submit --code tool.py --tests test_tool.py --wait --wait-timeout 120
other=$(head -n 1 <<<"$IT_OUT")
it_expect_exit 0 it_atc submit --code tool.py --tests test_tool.py --label suite=w --wait --wait-timeout 120
passed=$(head -n 1 <<<"$IT_OUT")
it_expect_exit 1 it_atc submit --code tool.py --tests test_bad.py --label suite=w --label x=y --wait --wait-timeout 120
failed=$(head -n 1 <<<"$IT_OUT")
it_wait_for 30 "atc watch to print 2 lines and stop" bash -c "! kill -0 $watch_pid"
lines=$(cat "$IT_TMP/watch.out")
it_assert_eq "$(wc -l <<<"$lines")" 2 "watch lines"
it_assert_eq "$(jq -r '.id + " " + .status + " " + .reason' <<<"$lines" | tr '\n' ,)" \
    "$passed passed tests_passed,$failed failed tests_failed," "watch lines"
it_assert_eq "$(jq -r '.labels.suite' <<<"$lines" | sort -u)" w "labels in watch lines"
[[ "$lines" != *"$other"* ]] || it_fail "watch printed a job without the label: $lines"
jq -e 'select(.duration_ms | type == "number")' <<<"$lines" >/dev/null || it_fail "no duration: $lines"

it_log "watch: text lines"
it_start watch-text "$(it_bin atc)" watch --count 1
sleep 1
it_expect_exit 0 it_atc submit --code tool.py --tests test_tool.py --wait --wait-timeout 120
id=$(head -n 1 <<<"$IT_OUT")
it_wait_for 30 "atc watch (text) to print its line" bash -c "[[ -s $IT_TMP/watch-text.out ]]"
it_assert_contains "$(cat "$IT_TMP/watch-text.out")" "$id passed tests_passed " "text line"

it_log "stats: jobs by status and the group's lag"
it_wait_for 60 "the group's lag to reach 0" bash -c \
    "[[ \$('$(it_bin atc)' stats --json | jq -r .lag.messages) == 0 ]]"
it_expect_exit 0 it_atc stats --json --window 600
it_assert_eq "$(jq -r '.by_status.passed' <<<"$IT_OUT")" 3 "passed in stats"
it_assert_eq "$(jq -r '.by_status.failed' <<<"$IT_OUT")" 1 "failed in stats"
it_assert_eq "$(jq -r '.total' <<<"$IT_OUT")" 4 "total in stats"
it_assert_eq "$(jq -r '.lag.group' <<<"$IT_OUT")" atc-workers "group in stats"
it_expect_exit 0 it_atc stats
it_assert_contains "$IT_OUT" "jobs finished in the last 3600 s: 4" "stats text"
it_assert_contains "$IT_OUT" "lag of group atc-workers on atc.jobs: 0 messages" "stats text lag"
ATC_BROKERS=127.0.0.1:1 it_expect_exit 0 it_atc stats -X socket.timeout.ms=1000
it_assert_contains "$IT_OUT" "unknown" "stats with no broker"
it_expect_exit 2 it_atc stats --window -5

it_log "cancel: a queued job (on a topic no worker reads)"
ATC_JOBS_TOPIC=atc.idle it_expect_exit 0 it_atc submit --code tool.py --tests test_tool.py
queued=$IT_OUT
it_expect_exit 0 it_atc cancel "$queued"
it_assert_contains "$IT_OUT" "cancelled" "cancel output"
it_expect_exit 3 it_atc get "$queued" --json
it_assert_eq "$(jq -r '.status + "/" + .reason' <<<"$IT_OUT")" cancelled/cancelled "cancelled result"
it_expect_exit 3 it_atc wait "$queued" --timeout 5
it_expect_exit 3 it_atc cancel "$queued"
it_assert_contains "$IT_ERR" "already cancelled" "second cancel"
it_expect_exit 3 it_atc cancel "$passed"
it_assert_contains "$IT_ERR" "already passed" "cancel of a passed job"
it_expect_exit 4 it_atc cancel "no-such-job-$$"
it_expect_exit 2 it_atc cancel "bad id"
it_expect_exit 2 it_atc cancel
ATC_REDIS_URL=redis://127.0.0.1:1/0 it_expect_exit 2 it_atc cancel "$queued"
it_assert_eq "$(it_daytona_live)" 0 "live sandboxes"
it_log "ok"
