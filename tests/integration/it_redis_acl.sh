#!/usr/bin/env bash
# it_redis_acl.sh: the Redis users of deploy/redis/acl.sh. The worker runs as
# atc-worker, `atc` as atc-producer: a job is submitted, waited for and
# passes, another is cancelled; the producer's user cannot write a cache
# entry or a liveness key, delete a result, or run a script of its own. (It can
# still HSET a result hash: see deploy/redis/acl.sh, "NOT achieved".)
source "$(dirname "$0")/lib.sh"

cd "$IT_TMP"
ATC_REDIS_WORKER_PASSWORD=w-secret ATC_REDIS_PRODUCER_PASSWORD=p-secret \
    "$IT_LIB_DIR/../../deploy/redis/acl.sh" >users.acl || it_fail "acl.sh failed"
# The harness's own redis-cli stays the default user here (production: off).
echo "user default on nopass ~* &* +@all" >>users.acl
_it_redis_on redis "$(it_free_port)" --appendonly no --dir "$IT_TMP" --aclfile "$IT_TMP/users.acl"
it_start_kafka --partitions 1
it_start_daytona
base="127.0.0.1:$REDIS_PORT/0"
ATC_REDIS_URL="redis://atc-worker:w-secret@$base" it_start_worker worker
it_wait_for 60 "the worker in the group" curl -fsS "$WORKER_HTTP/readyz"
export ATC_REDIS_URL="redis://atc-producer:p-secret@$base"

printf 'def test_ok():\n    assert True\n' >test_ok.py
it_expect_exit 0 it_atc submit --id acl-ok --tests test_ok.py --wait --wait-timeout 60
it_assert_eq "$(it_redis HGET atc:result:acl-ok status)" passed "acl-ok"
it_expect_exit 0 it_atc submit --id acl-slow --file test_ok.py=test_ok.py --cmd 'sleep 30' \
    --timeout 60
it_wait_for 30 "acl-slow running" bash -c \
    "[[ \$(redis-cli -p $REDIS_PORT HGET atc:result:acl-slow status) == running ]]"
it_expect_exit 0 it_atc cancel acl-slow
cancelled() { [[ $(it_redis HGET atc:result:acl-slow status) == cancelled ]]; }
it_wait_for 60 "acl-slow cancelled" cancelled

prod() { redis-cli -p "$REDIS_PORT" --user atc-producer --pass p-secret --no-auth-warning "$@"; }
for cmd in "SET atc:cache:x acl-ok" "EVAL return 1 0" "DEL atc:result:acl-ok" \
    "SET atc:worker:atc-workers:it-worker 1" "KEYS atc" "FLUSHALL" "CONFIG GET maxmemory"; do
    out=$(prod $cmd 2>&1)
    it_assert_contains "$out" NOPERM "producer: $cmd"
done
it_assert_eq "$(prod HGET atc:result:acl-ok status)" passed "the producer reads"
it_log "ok"
