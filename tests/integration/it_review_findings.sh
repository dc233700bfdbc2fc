#!/usr/bin/env bash
# it_review_findings.sh: the review's smaller findings, end to end. A worker
# with ATC_SNAPSHOT_ALLOW rejects a job naming another snapshot and runs one
# naming none; a cmd that is not UTF-8 is rejected; the worker's secrets
# (DAYTONA_API_KEY, a Redis password, a Kafka SASL password) are gone from its
# environment (/proc/<pid>/environ), and the
# password is masked in its start-up log even when it holds an '@'.
# kafka-mock only: its subject is the sandbox side (Daytona, the runner, Redis);
# the Kafka path it takes is the one the integration.real.* tests cover.
source "$(dirname "$0")/lib.sh"
source "$IT_LIB_DIR/msgpack.sh"

it_start_redis
# A Redis password with an '@' in it.
it_redis CONFIG SET requirepass 'p@ss@word' >/dev/null
export ATC_REDIS_URL="redis://:p@ss@word@127.0.0.1:$REDIS_PORT/0"
export REDISCLI_AUTH="p@ss@word" # every redis-cli of lib.sh
it_start_kafka --partitions 1
it_start_daytona
ATC_SNAPSHOT_ALLOW="py-a, py-b" ATC_KAFKA_SASL_PASSWORD=k-secret it_start_worker worker
it_wait_for 60 "the worker in the group" curl -fsS "$WORKER_HTTP/readyz"

env_of_worker=$(tr '\0' '\n' <"/proc/$WORKER_PID/environ")
[[ "$env_of_worker" != *DAYTONA_API_KEY=* ]] || it_fail "DAYTONA_API_KEY is still in the worker's environment"
[[ "$env_of_worker" != *ATC_REDIS_URL=* ]] || it_fail "the Redis URL with its password is still in the environment"
[[ "$env_of_worker" != *k-secret* ]] || it_fail "the Kafka password is still in the environment"
[[ "$env_of_worker" == *ATC_SNAPSHOT_ALLOW=* ]] || it_fail "a setting that is no secret left the environment"
! grep -q 'word@\|p@ss\|ss@word' "$WORKER_LOG" || it_fail "the Redis password shows in the log: $(grep -m1 'ss@' "$WORKER_LOG")"
grep -q "redis://\*\*\*@127.0.0.1:$REDIS_PORT/0" "$WORKER_LOG" || it_fail "the masked Redis URL is not logged"

cd "$IT_TMP"
printf 'def test_ok():\n    assert True\n' >test_ok.py
it_expect_exit 0 it_atc submit --id plain --tests test_ok.py
it_expect_exit 0 it_atc submit --id othersnap --tests test_ok.py --snapshot evil-image
{
    printf 'badcmd\xff'
    LC_ALL=C # byte lengths
    mp_map 4; mp_str v; mp_uint 1; mp_str id; mp_str badcmd; mp_str cmd; mp_str $'echo \xc0\x80'
    mp_str files; mp_map 1; mp_str test_ok.py; mp_str "$(cat test_ok.py)"
    printf '\xfe'
} >raw.msgs
kcat -P -b "$ATC_BROKERS" -t atc.jobs -K '\xff' -D '\xfe' <raw.msgs 2>kcat.err ||
    it_fail "kcat: $(cat kcat.err)"
printf '%s\n' plain othersnap badcmd >all.ids
it_wait_all_final all.ids 90
field() { it_redis HGET "atc:result:$1" "$2"; }
for id in plain othersnap badcmd; do
    it_log "$id: $(field $id status)/$(field $id reason): $(field $id error)"
done
it_assert_eq "$(field plain status)" passed "plain"
it_assert_eq "$(field othersnap status)/$(field othersnap reason)" rejected/snapshot_not_allowed "othersnap"
it_assert_contains "$(field othersnap error)" "ATC_SNAPSHOT_ALLOW" "othersnap error"
it_assert_eq "$(field badcmd status)/$(field badcmd reason)" rejected/bad_message "badcmd"
it_assert_contains "$(field badcmd error)" "cmd: must be valid UTF-8" "badcmd error"
it_log "ok"
