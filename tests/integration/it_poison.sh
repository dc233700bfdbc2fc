#!/usr/bin/env bash
# it_poison.sh: a message whose attempts keep dying with their worker (here a
# `kill -9` while it runs, as a job that makes its worker run out of memory
# would) is stopped: after ATC_MAX_ATTEMPTS=3 dying attempts the next worker
# writes the final `error`/`poison` without running it, sends a dead-letter
# record and stores the offset, so no later worker gets the message again. A
# worker stopped with SIGTERM gives its job up without counting it as dying.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 1
it_start_daytona
export ATC_CONCURRENCY=2 ATC_LOG_LEVEL=info ATC_KAFKA_SESSION_TIMEOUT_MS=6000 \
    ATC_KAFKA_HEARTBEAT_INTERVAL_MS=500 ATC_MAX_ATTEMPTS=3 ATC_SHUTDOWN_GRACE_S=1
cd "$IT_TMP"
printf 'x\n' >x.txt
it_expect_exit 0 it_atc submit --id pois --file x.txt=x.txt --cmd 'sleep 100' --timeout 120
field() { it_redis HGET "atc:result:pois" "$1"; }
attempt_is() { [[ "$(field status)" == running && "$(field attempt)" == "$1" ]]; }

# One graceful give-up (SIGTERM): not a dying attempt.
it_start_worker w0
it_wait_for 60 "attempt 1 running" attempt_is 1
it_stop "$WORKER_PID" TERM
it_assert_eq "$(field abandoned)" 1 "abandoned after a SIGTERM"
# Three deaths.
for i in 2 3 4; do
    it_start_worker "w$i"
    it_wait_for 60 "attempt $i running" attempt_is "$i"
    kill -KILL "$WORKER_PID"
    wait "$WORKER_PID" 2>/dev/null
    it_log "killed w$i during attempt $i"
done
it_start_worker w5
echo pois >pois.ids
it_wait_all_final pois.ids 60
it_log "pois: $(field status)/$(field reason) attempt $(field attempt): $(field error)"
it_assert_eq "$(field status)/$(field reason)" error/poison "the fourth worker's verdict"
it_assert_eq "$(field attempt)" 5 "attempt"
it_assert_contains "$(field error)" "3 attempts" "error"
[[ -z "$(field exit_code)" ]] || it_fail "the poison job was run again"
dlq=$(kcat -C -b "$ATC_BROKERS" -t atc.jobs.dlq -o beginning -e -q -f '%k %s\n' 2>/dev/null | tr -d '\0' |
    grep -a '^pois ' || true)
it_assert_contains "$dlq" "poison" "the dead-letter record"
# The offset is stored: a worker started after this one never sees the message.
it_stop "$WORKER_PID" TERM
it_start_worker w6
it_wait_for 60 "w6 in the group" curl -fsS "$WORKER_HTTP/readyz"
sleep 3
it_assert_eq "$(it_metric "$WORKER_HTTP" atc_messages_received_total)" 0 "messages w6 received"
it_log "ok"
