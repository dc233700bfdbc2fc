#!/usr/bin/env bash
# it_envs.sh: dependency environments across a fleet of three workers, with no
# PyPI: tiny wheels built here and served by a local package index
# (ATC_PIP_INDEX_URL). 50 jobs with one new dependency set at once: all pass,
# daytona-local built one snapshot, one job `built` and 49 `waited` or `hit`,
# each result with the environment's pip freeze. An uninstallable set: every
# job fails at once with pip's message (error/deps_failed), one build tried.
# The builder SIGKILLed mid-build: another worker finishes the build, no job
# lost. GC keeps the environments at ATC_ENV_MAX. ATC_ENVS=off: pip in the
# sandbox as before, env_status fallback.
# kafka-mock only: its subject is the sandbox side (Daytona, the runner, Redis);
# the Kafka path it takes is the one the integration.real.* tests cover.
source "$(dirname "$0")/lib.sh"

cd "$IT_TMP"
it_start_pip_index atc-demo-a==1.0:atc-demo-b atc-demo-b==2.0 atc-demo-c==3.0 \
    atc-gc-one==1.0 atc-gc-two==1.0 atc-gc-three==1.0 atc-gc-four==1.0 atc-demo-f==1.0

it_start_redis
it_start_kafka --partitions 6
# Every build stays "building" 4 s, so a builder can be killed mid-build; a
# snapshot that is gone is a 400 on create, as with Daytona.
it_start_daytona --snapshot-build-delay-ms 4000 --strict-snapshots
export ATC_CONCURRENCY=24 ATC_LOG_LEVEL=info ATC_KAFKA_SESSION_TIMEOUT_MS=6000 \
    ATC_KAFKA_HEARTBEAT_INTERVAL_MS=500 ATC_ENV_MAX=3 ATC_MAX_TIMEOUT_S=60
declare -A http pid
for w in w1 w2 w3; do
    it_start_worker "$w"
    http[$w]=$WORKER_HTTP
    pid[$w]=$WORKER_PID
done
for w in w1 w2 w3; do
    it_wait_for 90 "worker $w in the group (readyz)" curl -fsS "${http[$w]}/readyz"
done

cat >test_demo.py <<'PY'
import atc_demo_a
import atc_demo_b

def test_the_environment_has_both():
    assert atc_demo_a.who() == "atc-demo-a 1.0"
    assert atc_demo_b.who() == "atc-demo-b 2.0"
PY
stats() { curl -fsS "$DAYTONA_BASE/_local/stats" | jq -r ".$1"; }
result() { it_redis --json HGET "atc:result:$1" "$2" | jq -r .; }
statuses() { # IDS FIELD: counts of FIELD's values
    while read -r id; do result "$id" "$2"; done <"$1" | sort | uniq -c | awk '{print $2 "=" $1}' |
        paste -sd, -
}

it_log "50 jobs with one new dependency set at once, across three workers"
# The same set written three ways: one environment.
it_submit_many dep 50 16 --tests test_demo.py --dep atc-demo-a --dep ATC_Demo.B --dep atc-demo-a
it_wait_all_final "$IT_TMP/dep.ids" 240
it_assert_one_final_result "$IT_TMP/dep.ids"
it_assert_eq "$(statuses "$IT_TMP/dep.ids" status)" "passed=50" "statuses"
it_assert_eq "$(stats snapshot_builds)" 1 "snapshot builds"
env_status=$(statuses "$IT_TMP/dep.ids" env_status)
it_log "env_status: $env_status"
built=$(grep -o 'built=[0-9]*' <<<"$env_status" | cut -d= -f2)
it_assert_eq "${built:-0}" 1 "jobs that built the environment"
others=$(tr ',' '\n' <<<"$env_status" | awk -F= '$1 == "waited" || $1 == "hit" {n += $2} END {print n + 0}')
it_assert_eq "$others" 49 "jobs that waited or hit"
env=$(result dep-1 env)
[[ "$env" =~ ^atc-env-[0-9a-f]{16}$ ]] || it_fail "env is not an environment name: $env"
it_assert_eq "$(statuses "$IT_TMP/dep.ids" env)" "$env=50" "one environment for all"
for id in dep-1 dep-25 dep-50; do
    it_assert_contains "$(result "$id" env_freeze)" "atc-demo-a==1.0" "$id env_freeze"
    it_assert_contains "$(result "$id" env_freeze)" "atc-demo-b==2.0" "$id env_freeze"
    [[ "$(result "$id" install_ms)" == null ]] || it_fail "$id ran pip in its sandbox"
done
it_wait_eq 15 "no live sandbox" 0 it_daytona_live

it_log "an uninstallable set: every job fails fast with pip's message, one build tried"
it_submit_many bad 10 10 --tests test_demo.py --dep atc-no-such-pkg==9.9
it_wait_all_final "$IT_TMP/bad.ids" 120
it_assert_eq "$(statuses "$IT_TMP/bad.ids" status)" "error=10" "statuses"
it_assert_eq "$(statuses "$IT_TMP/bad.ids" reason)" "deps_failed=10" "reasons"
it_assert_contains "$(result bad-3 install_output)" "atc-no-such-pkg" "pip's message"
it_assert_eq "$(stats snapshot_builds_failed)" 1 "failed builds"
it_assert_eq "$(statuses "$IT_TMP/bad.ids" env_status)" "failed=10" "env_status"
# Not the fleet's fault: no dead letter, nothing for replay-dlq.
it_assert_eq "$(result bad-3 sandbox)" null "a sandbox for a known failure"

it_log "the builder SIGKILLed mid-build: another worker finishes it"
cat >test_c.py <<'PY'
import atc_demo_c

def test_c():
    assert atc_demo_c.who() == "atc-demo-c 3.0"
PY
it_submit_many kc 12 12 --tests test_c.py --dep atc-demo-c
it_wait_for 60 "a build claim" bash -c "redis-cli -p $REDIS_PORT --scan --pattern 'atc:env:*:claim' | grep -q ."
claim=$(it_redis --scan --pattern 'atc:env:*:claim' | head -n 1)
owner=$(it_redis GET "$claim")
builder=${owner%%/*}
builder=${builder#it-}
[[ -n "${pid[$builder]:-}" ]] || it_fail "the claim's owner is not a worker of this test: $owner"
kill -KILL "${pid[$builder]}"
wait "${pid[$builder]}" 2>/dev/null
it_log "killed $builder, the builder (claim $owner)"
it_wait_all_final "$IT_TMP/kc.ids" 240
it_assert_one_final_result "$IT_TMP/kc.ids"
it_assert_eq "$(statuses "$IT_TMP/kc.ids" status)" "passed=12" "statuses after the kill"
it_assert_eq "$(stats snapshot_builds)" 2 "snapshot builds (one per set)"

it_log "GC keeps the environments at ATC_ENV_MAX=3"
for pkg in one two three four; do
    printf 'import atc_gc_%s\n\ndef test_it():\n    assert atc_gc_%s.who()\n' "$pkg" "$pkg" >"test_gc_$pkg.py"
    it_expect_exit 0 it_atc submit --tests "test_gc_$pkg.py" --dep "atc-gc-$pkg" --wait \
        --wait-timeout 120 --json
done
it_wait_eq 30 "environments in Redis" 3 it_redis ZCARD atc:envs
it_wait_eq 30 "snapshots in daytona-local" 3 stats snapshots
it_assert_eq "$(it_redis ZSCORE atc:envs "$env")" "" "the least recently used (the first) was dropped"

it_log "a snapshot deleted behind the fleet's back: the job falls back to pip and passes"
gc4=$(it_redis ZREVRANGE atc:envs 0 0)
snap=$(curl -fsS -H "Authorization: Bearer $DAYTONA_API_KEY" "$DAYTONA_API_URL/snapshots/$gc4" | jq -r .id)
curl -fsS -X DELETE -H "Authorization: Bearer $DAYTONA_API_KEY" "$DAYTONA_API_URL/snapshots/$snap" ||
    it_fail "cannot delete snapshot $snap"
it_expect_exit 0 it_atc submit --tests test_gc_four.py --dep atc-gc-four --wait --wait-timeout 120 --json
R=$(tail -n 1 <<<"$IT_OUT")
it_assert_eq "$(jq -r '.env + "/" + .env_status + "/" + .status' <<<"$R")" "$gc4/fallback/passed" \
    "env/env_status/status"
it_assert_eq "$(it_redis EXISTS "atc:env:$gc4")" 0 "the lost environment forgotten (the next job builds it)"

it_log "snapshots refused (403): the job installs in its sandbox; the next one builds"
printf 'import atc_demo_f\n\ndef test_f():\n    assert atc_demo_f.who()\n' >test_f.py
curl -fsS -X POST "$DAYTONA_BASE/_local/faults" \
    -d '{"next":[{"path_prefix":"/api/snapshots","method":"POST","status":403}]}' >/dev/null
it_expect_exit 0 it_atc submit --tests test_f.py --dep atc-demo-f --wait --wait-timeout 120 --json
it_assert_eq "$(jq -r '.env_status + "/" + .status' <<<"$(tail -n 1 <<<"$IT_OUT")")" fallback/passed \
    "env_status/status under a 403"
it_expect_exit 0 it_atc submit --tests test_f.py --dep atc-demo-f --wait --wait-timeout 120 --json
it_assert_eq "$(jq -r '.env_status + "/" + .status' <<<"$(tail -n 1 <<<"$IT_OUT")")" built/passed \
    "env_status/status once snapshots are allowed again"

it_log "ATC_ENVS=off: pip in the sandbox, env_status fallback"
ATC_ENVS=off it_start_worker woff
kill -TERM "${pid[w1]}" "${pid[w2]}" "${pid[w3]}" 2>/dev/null
it_wait_for 90 "worker woff in the group (readyz)" curl -fsS "$WORKER_HTTP/readyz"
it_expect_exit 0 it_atc submit --tests test_demo.py --dep atc-demo-a --wait --wait-timeout 120 --json
R=$(tail -n 1 <<<"$IT_OUT")
it_assert_eq "$(jq -r .env_status <<<"$R")" fallback "env_status"
it_assert_contains "$(jq -r .env_freeze <<<"$R")" "atc-demo-b==2.0" "env_freeze of the fallback"
[[ "$(jq -r .install_ms <<<"$R")" != null ]] || it_fail "no pip in the sandbox: $R"
[[ "$(it_metric "$WORKER_HTTP" 'atc_env_fallbacks_total')" -ge 1 ]] ||
    it_fail "the fallback metric did not count it: $(curl -fsS "$WORKER_HTTP/metrics" | grep env)"
it_wait_eq 15 "no live sandbox" 0 it_daytona_live

it_log "atc env ls | rm | build"
# Three: two left after the lost one was forgotten above, and atc-demo-f.
it_expect_exit 0 it_atc env ls --json
it_assert_eq "$(jq -r '[.[] | select(.state == "active" and .snapshot == "active")] | length' <<<"$IT_OUT")" 3 \
    "active environments listed"
gone=$(jq -r '.[0].name' <<<"$IT_OUT")
it_expect_exit 0 it_atc env rm "$gone"
it_assert_eq "$(it_redis ZCARD atc:envs)/$(stats snapshots)" 2/2 "environments after rm"
it_expect_exit 0 it_atc env build atc-demo-c --json
it_assert_eq "$(jq -r .env_status <<<"$IT_OUT")" built "env build's status"
it_assert_eq "$(it_redis ZCARD atc:envs)/$(stats snapshots)" 3/3 "environments after build"
it_expect_exit 3 it_atc env build atc-no-such-pkg==9.9
it_assert_contains "$IT_OUT" "failed" "env build of an uninstallable set"
it_expect_exit 2 it_atc env rm not-an-env-name
it_log "ok"
