#!/usr/bin/env bash
# it_replay_dlq.sh: `atc replay-dlq`. Jobs end `error` while the sandbox service
# fails every create, and get dead-letter records; a malformed message is
# rejected; a record that is not a dead-letter record sits in the topic too.
# --dry-run lists them and changes nothing; the replay resets and sends the
# error jobs again, which then pass with one final result each; the rejected
# one is skipped; a second replay sends nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/msgpack.sh"

it_start_redis
it_start_kafka --partitions 2
it_start_daytona
ATC_CONCURRENCY=4 ATC_RETRY_MAX=1 it_start_worker worker
it_wait_for 60 "the worker to join its group (readyz)" curl -fsS "$WORKER_HTTP/readyz"

cd "$IT_TMP"
printf 'x = 1\n' >tool.py
ids=(rp-err-1 rp-err-2 rp-err-3)

count() { # TOPIC: how many records it holds
    kcat -C -b "$ATC_BROKERS" -t "$1" -o beginning -e -q -f 'x\n' 2>/dev/null | grep -c x
}
state() { # ID: "status done_len stream_entries attempt replayed"
    local n
    n=$(it_redis XRANGE atc:results - + | grep -cx "$1")
    echo "$(it_redis HGET "atc:result:$1" status) $(it_redis LLEN "atc:done:$1") $n" \
        "$(it_redis HGET "atc:result:$1" attempt) $(it_redis HGET "atc:result:$1" replayed)"
}

it_log "three jobs meet a sandbox service that fails every create (2 tries each)"
faults=$(jq -cn '{next: [range(6) | {path_prefix: "/api/sandbox", method: "POST", status: 503}]}')
curl -fsS -X POST "$DAYTONA_BASE/_local/faults" -d "$faults" >/dev/null || it_fail "cannot queue faults"
for id in "${ids[@]}"; do
    it_expect_exit 0 it_atc submit --id "$id" --file tool.py=tool.py --cmd true
done
for id in "${ids[@]}"; do
    it_expect_exit 3 it_atc wait "$id" --timeout 120 --json
    it_assert_eq "$(jq -r '.status + "/" + .reason' <<<"$IT_OUT")" error/sandbox_failed "$id"
done
it_assert_eq "$(curl -fsS "$DAYTONA_BASE/_local/faults" | jq '.next | length')" 0 "faults left"

it_log "a malformed message is rejected; a stray record lands in the dead-letter topic"
{ mp_map 3; mp_str v; mp_uint 1; mp_str id; mp_str rp-bad; mp_str files; mp_uint 7; } >bad.bin
kcat -P -b "$ATC_BROKERS" -t atc.jobs -k rp-bad bad.bin || it_fail "cannot produce bad.bin"
it_expect_exit 3 it_atc wait rp-bad --timeout 60 --json
it_assert_eq "$(jq -r '.status + "/" + .reason' <<<"$IT_OUT")" rejected/bad_message "rp-bad"
printf 'not a dead-letter record' >stray.bin
kcat -P -b "$ATC_BROKERS" -t atc.jobs.dlq -k stray stray.bin || it_fail "cannot produce stray.bin"
it_wait_for 30 "5 records in the dead-letter topic" test "$(count atc.jobs.dlq)" -ge 5
jobs_before=$(count atc.jobs)

it_log "--dry-run lists them and changes nothing"
it_expect_exit 0 it_atc replay-dlq --dry-run
for id in "${ids[@]}"; do
    grep -q "^$id sandbox_failed [0-9T:.-]*Z would-replay " <<<"$IT_OUT" ||
        it_fail "dry run: no would-replay line for $id: $IT_OUT"
    it_assert_eq "$(state "$id")" "error 1 1 1 " "$id after the dry run"
done
grep -q '^rp-bad bad_message .* skip:rejected ' <<<"$IT_OUT" || it_fail "dry run: rp-bad not skipped: $IT_OUT"
it_assert_eq "$(wc -l <<<"$IT_OUT")" 4 "dry-run lines"
it_assert_contains "$IT_ERR" "not a dead-letter record" "the stray record is reported"
it_assert_contains "$IT_ERR" "5 read, 1 invalid, 4 matched, 3 would be replayed, 1 skipped (1 rejected)" "summary"
it_assert_eq "$(count atc.jobs)" "$jobs_before" "messages on the jobs topic after the dry run"

it_log "filters: --reason names the rejected one; --id, --since narrow the list"
it_expect_exit 0 it_atc replay-dlq --dry-run --reason bad_message --json
it_assert_eq "$(jq -sc 'map([.id, .action, .status])' <<<"$IT_OUT")" '[["rp-bad","would-replay","rejected"]]' "--reason bad_message"
it_expect_exit 0 it_atc replay-dlq --dry-run --id rp-err-2 --since 1h
it_assert_eq "$(cut -d' ' -f1,4 <<<"$IT_OUT")" "rp-err-2 would-replay" "--id --since 1h"
it_expect_exit 0 it_atc replay-dlq --dry-run --since "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"
it_assert_eq "$IT_OUT" "" "--since in the future"
it_expect_exit 0 it_atc replay-dlq --dry-run --max 1
it_assert_eq "$(grep -c ' would-replay ' <<<"$IT_OUT")" 1 "--max 1: would-replay lines"
it_assert_contains "$IT_ERR" "1 would be replayed" "--max 1 summary"
it_assert_contains "$IT_ERR" "stopped at --max" "--max 1 summary"
it_expect_exit 2 it_atc replay-dlq --since 5
it_expect_exit 2 it_atc replay-dlq --max 0

it_log "the replay resets and sends the error jobs; they pass, once each"
it_expect_exit 0 it_atc replay-dlq --json
it_assert_eq "$(jq -sc 'map([.id, .action]) | sort' <<<"$IT_OUT")" \
    '[["rp-bad","skipped"],["rp-err-1","replayed"],["rp-err-2","replayed"],["rp-err-3","replayed"]]' "replay"
it_assert_contains "$IT_ERR" "3 replayed, 1 skipped (1 rejected)" "summary"
for id in "${ids[@]}"; do
    it_expect_exit 0 it_atc wait "$id" --timeout 120 --json
    it_assert_eq "$(jq -r '.status + "/" + .reason' <<<"$IT_OUT")" passed/tests_passed "$id after the replay"
    it_assert_eq "$(jq -r '.error' <<<"$IT_OUT")" null "$id keeps no error of the failed attempt"
    it_assert_eq "$(jq -c '[.attempt, .replayed]' <<<"$IT_OUT")" "[2,1]" "$id attempt and replayed in --json"
    # One final result now (done list 1); the stream keeps the earlier error's entry.
    it_assert_eq "$(state "$id")" "passed 1 2 2 1" "$id state (status done stream attempt replayed)"
done
it_assert_eq "$(state rp-bad)" "rejected 1 1  " "rp-bad untouched"
it_assert_eq "$(count atc.jobs)" "$((jobs_before + 3))" "messages on the jobs topic after the replay"

it_log "a second replay sends nothing"
jobs_before=$(count atc.jobs)
it_expect_exit 0 it_atc replay-dlq
for id in "${ids[@]}"; do
    grep -q "^$id sandbox_failed .* skip:final " <<<"$IT_OUT" || it_fail "$id not skipped as final: $IT_OUT"
done
it_assert_contains "$IT_ERR" "0 replayed, 4 skipped (3 final, 1 rejected)" "second summary"
it_assert_eq "$(count atc.jobs)" "$jobs_before" "messages on the jobs topic after the second replay"
sleep 2
for id in "${ids[@]}"; do
    it_assert_eq "$(state "$id")" "passed 1 2 2 1" "$id after the second replay"
done

it_log "an empty or missing dead-letter topic is nothing to replay"
ATC_DLQ_TOPIC=atc.rp.none it_expect_exit 0 it_atc replay-dlq
it_wait_eq 15 "no live sandbox" 0 it_daytona_live
kill -0 "$WORKER_PID" || it_fail "the worker died"
it_log "ok"
