#!/usr/bin/env bash
# it_create_leaks.sh: sandbox creates whose answer is lost. daytona-local's
# `drop_after` fault makes the sandbox, then closes the connection without the
# reply. A lost reply on one try is cured by the retry (409, then the sandbox is
# adopted: its labels say it is the job's); lost on every try, the job ends
# error and the sandbox the service made is deleted all the same. A sandbox of
# someone else that holds the job's name is neither adopted nor deleted. The
# reaper's sweep is off, so only the job itself can have deleted a sandbox.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 1
it_start_daytona
ATC_CONCURRENCY=2 ATC_RETRY_MAX=2 ATC_REAPER_INTERVAL_S=0 it_start_worker worker
it_wait_for 60 "the worker to join its group (readyz)" curl -fsS "$WORKER_HTTP/readyz"

cd "$IT_TMP"
printf 'x = 1\n' >tool.py

queue_faults() {
    curl -fsS -X POST "$DAYTONA_BASE/_local/faults" -d "$1" >/dev/null || it_fail "cannot queue faults"
}

# The sandbox name of a job's first attempt and try (docs/worker.md).
sandbox_name() {
    local clean hash
    clean=$(printf '%s' "${1:0:24}" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9' '-')
    hash=$(printf '%s' "$1" | sha256sum | cut -c1-16)
    echo "atc-$clean-$hash-1-1"
}

it_log "a create whose reply is lost once: the retry adopts the sandbox"
queue_faults '{"next":[{"path_prefix":"/api/sandbox","method":"POST","kind":"drop_after"}]}'
it_run it_atc submit --id lost-once --file tool.py=tool.py --cmd true --wait --wait-timeout 90 --json
it_expect_exit 0 it_atc wait lost-once --timeout 90 --json
it_assert_eq "$(jq -r .status <<<"$IT_OUT")" passed "lost-once status"
it_assert_eq "$(jq -r .created <<<"$(curl -fsS "$DAYTONA_BASE/_local/stats")")" 1 "sandboxes made"
it_wait_eq 10 "no live sandbox" 0 it_daytona_live

it_log "a create whose reply is lost on every try: error, and no sandbox left"
queue_faults "$(jq -cn '{next: [range(3) | {path_prefix: "/api/sandbox", method: "POST", kind: "drop_after"}]}')"
it_run it_atc submit --id lost-always --file tool.py=tool.py --cmd true --wait --wait-timeout 90 --json
it_run it_atc wait lost-always --timeout 90 --json
it_assert_eq "$(jq -r '.status + "/" + .reason' <<<"$IT_OUT")" error/sandbox_failed "lost-always"
it_assert_eq "$(curl -fsS "$DAYTONA_BASE/_local/faults" | jq '.next | length')" 0 "faults left"
it_wait_eq 10 "no live sandbox after the lost creates" 0 it_daytona_live

it_log "a sandbox of someone else under the job's name is left alone"
name=$(sandbox_name squatted-1)
body=$(jq -cn --arg n "$name" '{name: $n, labels: {"atc-job": "someone-else", "atc-fleet": "x"}}')
squat=$(curl -fsS -X POST -H "Authorization: Bearer $DAYTONA_API_KEY" -H 'Content-Type: application/json' \
    "$DAYTONA_API_URL/sandbox" -d "$body" | jq -r .id)
[[ -n "$squat" && "$squat" != null ]] || it_fail "cannot make the squatting sandbox"
it_run it_atc submit --id squatted-1 --file tool.py=tool.py --cmd true --wait --wait-timeout 90 --json
it_run it_atc wait squatted-1 --timeout 90 --json
it_assert_eq "$(jq -r '.status + "/" + .reason' <<<"$IT_OUT")" error/sandbox_failed "squatted-1"
it_assert_contains "$(jq -r .error <<<"$IT_OUT")" "not this job's" "squatted-1 error"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $DAYTONA_API_KEY" \
    "$DAYTONA_API_URL/sandbox/$squat")
it_assert_eq "$code" 200 "the squatting sandbox is still there"
it_assert_eq "$(it_daytona_live)" 1 "live sandboxes (the squatter only)"
it_log "ok"
