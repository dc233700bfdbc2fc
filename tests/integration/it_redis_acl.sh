#!/usr/bin/env bash
# it_redis_acl.sh: the Redis users of deploy/redis/acl.sh on a real
# redis-server. The worker runs as atc-worker; `atc` and the Python client as
# atc-producer, which writes only its own keys and runs no script: a job is
# submitted and passes end to end, is read and waited for; a queued job (on a
# topic no worker reads) reads as queued and is cancelled (a worker writes the
# final result); a running job is cancelled and stops. Then the producer's
# user tries to write what a verdict is made of (a result hash, the results
# stream, a done list, a cache entry) or to run a script: NOPERM each time,
# and nothing changed.
source "$(dirname "$0")/lib.sh"

cd "$IT_TMP"
ATC_REDIS_WORKER_PASSWORD=w-secret ATC_REDIS_PRODUCER_PASSWORD=p-secret \
    "$IT_LIB_DIR/../../deploy/redis/acl.sh" >users.acl || it_fail "acl.sh failed"
# The harness's own redis-cli stays the default user here (production: off).
echo "user default on nopass ~* &* +@all" >>users.acl
_it_redis_on redis "$(it_free_port)" --appendonly no --dir "$IT_TMP" --aclfile "$IT_TMP/users.acl"
it_start_kafka --partitions 1 --topic atc.jobs --topic atc.jobs.dlq --topic atc.idle
it_start_daytona
base="127.0.0.1:$REDIS_PORT/0"
ATC_REDIS_URL="redis://atc-worker:w-secret@$base" it_start_worker worker
it_wait_for 60 "the worker in the group" curl -fsS "$WORKER_HTTP/readyz"
export ATC_REDIS_URL="redis://atc-producer:p-secret@$base"
status() { it_redis HGET "atc:result:$1" status; }

it_log "submit, get, wait as the producer"
printf 'def test_ok():\n    assert True\n' >test_ok.py
it_expect_exit 0 it_atc submit --id acl-ok --tests test_ok.py --wait --wait-timeout 60
it_assert_eq "$(status acl-ok)" passed "acl-ok"
it_expect_exit 0 it_atc get acl-ok --json
it_assert_eq "$(jq -r .status <<<"$IT_OUT")" passed "atc get"
it_expect_exit 0 it_atc wait acl-ok --timeout 10

it_log "cancel of a queued job (no worker reads atc.idle): a worker finalises it"
ATC_JOBS_TOPIC=atc.idle it_expect_exit 0 it_atc submit --id acl-queued --tests test_ok.py \
    --group g-acl
it_assert_eq "$(it_redis EXISTS atc:result:acl-queued)" 0 "no result hash from the producer"
it_expect_exit 0 it_atc get acl-queued --json
it_assert_eq "$(jq -r '.status + " " + .group' <<<"$IT_OUT")" "queued g-acl" "a queued job"
t0=$(date +%s%N)
it_expect_exit 0 it_atc cancel acl-queued
it_log "atc cancel of a queued job: $((($(date +%s%N) - t0) / 1000000)) ms to the final result"
it_assert_eq "$IT_OUT" "acl-queued cancelled" "atc cancel of a queued job"
it_expect_exit 3 it_atc get acl-queued --json
it_assert_eq "$(jq -r '.status + " " + .reason + " " + .group' <<<"$IT_OUT")" \
    "cancelled cancelled g-acl" "the cancelled result"

it_log "cancel of a running job: its worker stops it"
it_expect_exit 0 it_atc submit --id acl-slow --file test_ok.py=test_ok.py --cmd 'sleep 30' \
    --timeout 60
it_wait_for 30 "acl-slow running" bash -c \
    "[[ \$(redis-cli -p $REDIS_PORT HGET atc:result:acl-slow status) == running ]]"
t0=$(date +%s%N)
it_expect_exit 0 it_atc cancel acl-slow
it_log "atc cancel of a running job: $((($(date +%s%N) - t0) / 1000000)) ms: $IT_OUT"
it_assert_contains "$IT_OUT" "acl-slow cancel" "atc cancel of a running job"
cancelled() { [[ $(status acl-slow) == cancelled ]]; }
it_wait_for 60 "acl-slow cancelled" cancelled
it_wait_eq 30 "no live sandbox in daytona-local" 0 it_daytona_live

it_log "the Python client as the producer"
if /usr/bin/python3 -c 'import confluent_kafka, msgpack, redis' 2>/dev/null; then
    PYTHONPATH="$IT_LIB_DIR/../../producer/python" /usr/bin/python3 - <<'EOF' ||
from atc_fleet import Client, CANCEL_DONE
idle = Client(topic="atc.idle")
jid = idle.submit(tests="def test_ok():\n    assert True\n", group="g-py")
r = idle.get(jid)
assert (r.status, r.group) == ("queued", "g-py"), r
assert idle.cancel(jid) == CANCEL_DONE
r = idle.get(jid)
assert (r.status, r.group) == ("cancelled", "g-py"), r
idle.close()
with Client() as c:
    r = c.wait(c.submit(tests="def test_ok():\n    assert True\n"), timeout=60)
    assert r.status == "passed", r
print("python client ok")
EOF
        it_fail "the Python client as atc-producer"
else
    it_log "skipped: /usr/bin/python3 lacks confluent_kafka, msgpack or redis"
fi

it_log "what the producer may not do"
prod() { redis-cli -p "$REDIS_PORT" --user atc-producer --pass p-secret --no-auth-warning "$@"; }
final_sha=$(sha1sum "$IT_LIB_DIR/../../common/lua/final.lua" | cut -c1-40)
attacks=(
    "HSET atc:result:acl-ok status failed"
    "HSET atc:result:acl-forged status passed"
    "HDEL atc:result:acl-ok status"
    "XADD atc:results * id acl-forged status passed"
    "RPUSH atc:done:acl-forged passed"
    "LPUSH atc:done:acl-forged passed"
    "LMOVE atc:done:acl-ok atc:done:acl-forged RIGHT LEFT"
    "SET atc:done:acl-ok x"
    "SET atc:cache:x acl-ok"
    "SET atc:queued:acl-ok x"
    "EVAL return 0"
    "EVALSHA $final_sha 0"
    "FCALL f 0"
    "DEL atc:result:acl-ok"
    "SET atc:worker:atc-workers:it-worker 1"
    "KEYS atc"
    "FLUSHALL"
    "CONFIG GET maxmemory"
)
for cmd in "${attacks[@]}"; do
    read -ra words <<<"$cmd" # no glob: '*' stays a word
    out=$(prod "${words[@]}" 2>&1)
    it_assert_contains "$out" NOPERM "producer: $cmd"
done
it_assert_eq "$(prod HGET atc:result:acl-ok status)" passed "the producer reads"
it_assert_eq "$(it_redis HGET atc:result:acl-ok status)" passed "acl-ok unchanged"
it_assert_eq "$(it_redis EXISTS atc:result:acl-forged atc:done:acl-forged)" 0 "nothing forged"
it_assert_eq "$(it_redis LLEN atc:done:acl-ok)" 1 "acl-ok's done list"
[[ $(it_redis XRANGE atc:results - +) != *acl-forged* ]] || it_fail "a forged stream entry"
it_log "ok"
