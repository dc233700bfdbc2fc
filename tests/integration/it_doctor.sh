#!/usr/bin/env bash
# it_doctor.sh: `atc doctor` and `atc-worker --check` against the local stack:
# all pass; then an evicting Redis, a wrong Daytona key, a missing topic, Redis
# stopped (each exit 1 and the sentence); an interrupt that leaves no sandbox;
# the key read from a .env file (and the warning about a world-readable one).
# kafka-mock only: its subject is the sandbox side (Daytona, the runner, Redis);
# the Kafka path it takes is the one the integration.real.* tests cover.
source "$(dirname "$0")/lib.sh"

# Redis with persistence on, as the doctor asks.
_it_redis_on redis "$(it_free_port)" --appendonly yes --dir "$IT_TMP"
it_start_kafka --topic atc.jobs --topic atc.jobs.dlq
it_start_daytona
# A worker, so that the group exists and has a member.
it_start_worker
it_wait_for 60 "the worker to be ready" curl -fsS "$WORKER_HTTP/readyz"

live_is_zero() { [[ $(it_daytona_live) == 0 ]]; }

# 1. All pass, one line per check with its time.
it_expect_exit 0 "$(it_bin atc)" doctor
for check in configuration kafka.brokers kafka.topics kafka.group redis redis.eviction \
    redis.persistence daytona.key daytona.create daytona.exec daytona.egress daytona.quota \
    daytona.delete; do
    grep -Eq "^ok +$check +[0-9]+ ms" <<<"$IT_OUT" || it_fail "no passing line for $check: $IT_OUT"
done
it_log "$IT_OUT"
if [[ "${ATC_IT_KAFKA:-mock}" == real ]]; then
    # kafka-mock does not answer DescribeGroups; a real broker does.
    it_assert_contains "$IT_OUT" "group atc-workers: 1 member(s), state Stable" "the group's members"
fi
it_assert_contains "$IT_OUT" "all checks passed" "the last line"
it_assert_contains "$IT_OUT" "daytona-api-key=***" "the key shown as ***"
grep -q test-key <<<"$IT_OUT" && it_fail "the key was printed: $IT_OUT"
it_assert_contains "$IT_OUT" "blocked: no connection" "egress blocked under networkBlockAll"
live_is_zero || it_fail "the doctor left a sandbox behind"

# --json: one object, ok true, every check passed.
it_expect_exit 0 "$(it_bin atc)" doctor --json
[[ $(jq -r '.ok' <<<"$IT_OUT") == true ]] || it_fail "--json ok is not true: $IT_OUT"
[[ $(jq '[.checks[] | select(.status != "pass")] | length' <<<"$IT_OUT") == 0 ]] ||
    it_fail "--json has checks that did not pass: $IT_OUT"

# A 429 on the key check: retried after Retry-After, and the rate-limit headers shown.
curl -fsS -X POST "$DAYTONA_BASE/_local/faults" \
    -d '{"next":[{"path_prefix":"/api/sandbox","method":"GET","status":429,"retry_after":1}]}' >/dev/null
it_expect_exit 0 "$(it_bin atc)" doctor
grep -Eq "^ok +daytona.key .*HTTP 429 \(retried after 1 s\).*X-RateLimit-Limit-authenticated: [0-9]+.*X-RateLimit-Remaining-authenticated: 0" <<<"$IT_OUT" ||
    it_fail "no rate-limit headers on the key line: $IT_OUT"
live_is_zero || it_fail "the doctor left a sandbox behind"

# The worker's --check: the same checks, once.
it_expect_exit 0 env ATC_WORKER_ID=it-check ATC_LOG_FORMAT=text "$(it_bin atc-worker)" --check
it_assert_contains "$IT_OUT" "all checks passed" "atc-worker --check"
live_is_zero || it_fail "atc-worker --check left a sandbox behind"

# 2. An evicting Redis.
redis-cli -p "$REDIS_PORT" config set maxmemory-policy allkeys-lru >/dev/null
it_expect_exit 1 "$(it_bin atc)" doctor --no-sandbox
it_assert_contains "$IT_OUT" "problem: Redis may evict keys (maxmemory-policy allkeys-lru)" "evicting Redis"
it_assert_contains "$IT_OUT" "set maxmemory-policy noeviction" "the fix"
redis-cli -p "$REDIS_PORT" config set maxmemory-policy noeviction >/dev/null

# 3. A wrong Daytona key.
it_expect_exit 1 env DAYTONA_API_KEY=wrong-key "$(it_bin atc)" doctor
it_assert_contains "$IT_OUT" "problem: Daytona refused the API key (HTTP 401)" "wrong key"
live_is_zero || it_fail "a sandbox was left behind with a wrong key"

# 4. A missing topic.
it_expect_exit 1 env ATC_DLQ_TOPIC=atc.no-such-dlq "$(it_bin atc)" doctor --no-sandbox
it_assert_contains "$IT_OUT" "problem: the dead-letter topic 'atc.no-such-dlq' does not exist" "missing topic"
it_assert_contains "$IT_OUT" "ATC_DLQ_TOPIC" "the fix names the variable"

# 5. Interrupted while a command runs in the sandbox: the sandbox is deleted all the same.
curl -fsS -X POST "$DAYTONA_BASE/_local/faults" \
    -d '{"next":[{"path_prefix":"/toolbox/","kind":"hang","hang_ms":20000}]}' >/dev/null
it_start doctor_int "$(it_bin atc)" doctor
pid=$IT_LAST_PID
it_wait_for 15 "the doctor to reach daytona.create" grep -q "daytona.create" "$IT_TMP/doctor_int.out"
kill -INT "$pid"
for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && it_fail "the doctor did not stop within 10 s of SIGINT"
wait "$pid"
rc=$?
[[ $rc == 1 ]] || it_fail "an interrupted doctor exited $rc, not 1"
grep -Eq "^ok +daytona.delete" "$IT_TMP/doctor_int.out" ||
    it_fail "no delete after the interrupt: $(cat "$IT_TMP/doctor_int.out")"
live_is_zero || it_fail "an interrupted doctor left a sandbox behind"
curl -fsS -X DELETE "$DAYTONA_BASE/_local/faults" >/dev/null

# 6. The key from a .env file (the environment has none); a world-readable one warns.
dir="$IT_TMP/envdir"
mkdir -p "$dir"
printf '# the fleet\nexport DAYTONA_API_KEY="test-key"\nDAYTONA_API_URL=http://127.0.0.1:1/api\n' >"$dir/.env"
chmod 644 "$dir/.env"
it_expect_exit 0 bash -c "cd '$dir' && env -u DAYTONA_API_KEY '$(it_bin atc)' doctor"
it_assert_contains "$IT_ERR" "may read it (chmod 600 it)" "the world-readable warning"
it_assert_contains "$IT_ERR" "DAYTONA_API_URL set in .env was ignored" "the endpoint stays the environment's"
chmod 600 "$dir/.env"
it_expect_exit 0 bash -c "cd '$dir' && env -u DAYTONA_API_KEY '$(it_bin atc)' doctor --no-sandbox"
grep -q "chmod 600" <<<"$IT_ERR" && it_fail "a warning for a private .env: $IT_ERR"
# The environment wins over the file.
printf 'DAYTONA_API_KEY=wrong-key\n' >"$dir/.env"
it_expect_exit 0 bash -c "cd '$dir' && '$(it_bin atc)' doctor"

# 7. Redis stopped.
it_stop "$REDIS_PID"
it_expect_exit 1 "$(it_bin atc)" doctor --no-sandbox
it_assert_contains "$IT_OUT" "problem: cannot reach Redis" "Redis stopped"
it_assert_contains "$IT_OUT" "check ATC_REDIS_URL" "the fix"
live_is_zero || it_fail "sandboxes left behind"
it_log "PASS"
