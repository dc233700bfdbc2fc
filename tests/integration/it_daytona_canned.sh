#!/usr/bin/env bash
# it_daytona_canned.sh: daytona-local's benchmark mode, --exec-canned. Every
# process/execute answers exit code 0 with the canned text and runs nothing;
# the request is still checked and counted; code-run still runs. Then the
# worker against it: a job whose command would fail passes on the canned
# answer, which is what the benchmarks rely on (docs/benchmarks.md).
# kafka-mock only: its subject is the sandbox side (Daytona, the runner, Redis);
# the Kafka path it takes is the one the integration.real.* tests cover.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 1
it_start_daytona --exec-canned $'0 0\ncanned output\n'
AUTH="Authorization: Bearer test-key"
cd "$IT_TMP"

id=$(curl -fsS -H "$AUTH" -H 'Content-Type: application/json' -X POST "$DAYTONA_API_URL/sandbox" \
    -d '{}' | jq -er .id) || it_fail "create"
body=$(jq -n --arg c "touch $IT_TMP/ran; exit 3" '{command: $c}')
reply=$(curl -fsS -H "$AUTH" -H 'Content-Type: application/json' -X POST \
    "$DAYTONA_BASE/toolbox/$id/process/execute" -d "$body") || it_fail "execute"
it_assert_eq "$(jq -r .exitCode <<<"$reply")" 0 "canned exit code"
it_assert_eq "$(jq -r .result <<<"$reply")" $'0 0\ncanned output' "canned result"
[[ ! -e "$IT_TMP/ran" ]] || it_fail "the canned mode ran the command"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "$AUTH" -H 'Content-Type: application/json' \
    -X POST "$DAYTONA_BASE/toolbox/$id/process/execute" -d '{"command":"  "}')
it_assert_eq "$code" 400 "an empty command is still refused"
reply=$(curl -fsS -H "$AUTH" -H 'Content-Type: application/json' -X POST \
    "$DAYTONA_BASE/toolbox/$id/process/code-run" -d '{"code":"print(6*7)"}') || it_fail "code-run"
it_assert_eq "$(jq -r .result <<<"$reply")" 42 "code-run still runs"
it_assert_eq "$(curl -fsS "$DAYTONA_BASE/_local/stats" | jq -r .execs)" 2 "execs counted"
curl -fsS -H "$AUTH" -X DELETE "$DAYTONA_API_URL/sandbox/$id" >/dev/null || it_fail "delete"
it_wait_eq 10 "no live sandbox before the worker" 0 it_daytona_live

it_start_worker worker
it_wait_for 60 "the worker to join its group (readyz)" curl -fsS "$WORKER_HTTP/readyz"
printf 'x = 1\n' >tool.py
it_run it_atc submit --id canned-1 --file tool.py=tool.py --cmd 'exit 3' --wait --wait-timeout 60
it_expect_exit 0 it_atc wait canned-1 --timeout 60 --json
it_assert_eq "$(jq -r .status <<<"$IT_OUT")" passed "the job's status on the canned answer"
it_assert_contains "$(jq -r .output <<<"$IT_OUT")" "canned output" "the job's output"
it_wait_eq 10 "no live sandbox" 0 it_daytona_live
it_log "ok"
