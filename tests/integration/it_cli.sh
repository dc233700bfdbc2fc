#!/usr/bin/env bash
# it_cli.sh: the `atc` command line against kafka-mock (or Apache Kafka, with
# ATC_IT_KAFKA=real) and redis-server, no worker: submit, get, wait, and the
# exit statuses scripts rely on.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 2

cd "$IT_TMP"
printf 'def add(a, b):\n    return a + b\n' >calc.py
printf 'from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n' >test_calc.py

# submit without a worker: prints the id once the broker has it, exits 0.
it_expect_exit 0 it_atc submit --code calc.py --tests test_calc.py --label session=it-cli
id=$IT_OUT
[[ "$id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] ||
    it_fail "submit printed '$id', not a UUIDv7"

# --id is used as given.
it_expect_exit 0 it_atc submit --tests test_calc.py --id it-cli.given:1
it_assert_eq "$IT_OUT" "it-cli.given:1" "submit --id"

# get of a job not final yet: exit 0, the status printed.
it_expect_exit 0 it_atc get "$id"
it_assert_contains "$IT_OUT" "status: queued" "get (text)"
it_expect_exit 0 it_atc get "$id" --json
jq -e '.status == "queued" and (.submitted_ms | type == "number")' <<<"$IT_OUT" >/dev/null ||
    it_fail "get --json: $IT_OUT"

# get of an unknown id: 4.
it_expect_exit 4 it_atc get no-such-job-id
it_assert_contains "$IT_ERR" "no such job" "get unknown"

# wait with a short timeout on a queued job: 4, with the current status shown.
it_expect_exit 4 it_atc wait "$id" --timeout 1
it_assert_contains "$IT_OUT" "status: queued" "wait timeout"

# A final result (written here as a worker would) sets the exit status.
redis-cli -p "$REDIS_PORT" HSET "atc:result:$id" status failed reason tests_failed \
    tests_total 1 tests_passed 0 tests_failed 1 tests_errors 0 tests_skipped 0 >/dev/null
redis-cli -p "$REDIS_PORT" RPUSH "atc:done:$id" failed >/dev/null
it_expect_exit 1 it_atc wait "$id" --timeout 5
it_assert_contains "$IT_OUT" "status: failed" "wait final"
it_expect_exit 1 it_atc get "$id" --json
jq -e '.tests_failed == 1' <<<"$IT_OUT" >/dev/null ||
    it_fail "get --json counts: $IT_OUT"
redis-cli -p "$REDIS_PORT" HSET "atc:result:it-cli.given:1" status error error "sandbox failed" >/dev/null
it_expect_exit 3 it_atc get it-cli.given:1

# Bad usage: 2, with a one-line message and a hint.
it_expect_exit 2 it_atc
it_expect_exit 2 it_atc frobnicate
it_expect_exit 2 it_atc submit
it_assert_contains "$IT_ERR" "--help" "usage hint"
it_expect_exit 2 it_atc submit --code
it_expect_exit 2 it_atc submit --code calc.py --timeout soon
it_expect_exit 2 it_atc submit --file ../escape.py=calc.py
it_expect_exit 2 it_atc submit --code does-not-exist.py
it_expect_exit 2 it_atc submit --code calc.py --wait-timeout 3
it_expect_exit 2 it_atc get
it_expect_exit 2 it_atc wait "$id" --timeout never
it_expect_exit 2 it_atc -X no.such.property=1 submit --code calc.py
it_assert_contains "$IT_ERR" "no.such.property" "bad -X named"
it_expect_exit 0 it_atc --help
it_expect_exit 0 it_atc submit --help

# Unreachable broker: 2 (after message.timeout.ms).
dead=$(it_free_port)
it_expect_exit 2 env ATC_BROKERS="127.0.0.1:$dead" "$(it_bin atc)" -X message.timeout.ms=2000 \
    submit --code calc.py
it_assert_contains "$IT_ERR" "not delivered" "unreachable broker"

# A broker outage (kafka-mock: SIGUSR1/SIGUSR2; Apache Kafka: stopped, restarted).
it_kafka_down
it_expect_exit 2 it_atc -X message.timeout.ms=2000 submit --code calc.py
it_kafka_up
it_expect_exit 0 it_atc -X message.timeout.ms=10000 submit --code calc.py

# Unreachable Redis: 2 for get and wait; submit still succeeds.
dead=$(it_free_port)
it_expect_exit 2 env ATC_REDIS_URL="redis://127.0.0.1:$dead/0" "$(it_bin atc)" get "$id"
it_expect_exit 2 env ATC_REDIS_URL="redis://127.0.0.1:$dead/0" "$(it_bin atc)" wait "$id" --timeout 1
it_expect_exit 0 env ATC_REDIS_URL="redis://127.0.0.1:$dead/0" "$(it_bin atc)" submit --code calc.py

it_log "ok"
