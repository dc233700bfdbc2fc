#!/usr/bin/env bash
# it_env_quota.sh: dependency environments within the organisation's snapshot
# quota, smaller here (1, daytona-local's --snapshot-quota) than ATC_ENV_MAX
# (40). A second dependency set is refused for the quota: the worker drops the
# least recently used environment no job uses and builds the new one. A quota
# held by a snapshot that is not the fleet's: nothing to drop, the job installs
# in its sandbox (fallback) and passes.
# kafka-mock only: its subject is the sandbox side (Daytona, the runner, Redis);
# the Kafka path it takes is the one the integration.real.* tests cover.
source "$(dirname "$0")/lib.sh"

cd "$IT_TMP"
it_start_pip_index atc-q-one==1.0 atc-q-two==1.0

it_start_redis
it_start_kafka
it_start_daytona --snapshot-quota 1 --strict-snapshots
ATC_LOG_LEVEL=info it_start_worker worker
it_wait_for 60 "the worker in the group" curl -fsS "$WORKER_HTTP/readyz"

for pkg in one two; do
    printf 'import atc_q_%s\n\ndef test_it():\n    assert atc_q_%s.who()\n' "$pkg" "$pkg" >"test_$pkg.py"
done
snapshots() { curl -fsS -H "Authorization: Bearer $DAYTONA_API_KEY" "$DAYTONA_API_URL/snapshots" |
    jq -r '[.items[].name] | sort | join(",")'; }
# run PKG WANT: a job on atc-q-PKG, waited for; its "env_status/status" must be WANT.
run() {
    it_expect_exit 0 it_atc submit --tests "test_$1.py" --dep "atc-q-$1" --wait --wait-timeout 120 \
        --json
    local r
    r=$(tail -n 1 <<<"$IT_OUT")
    it_assert_eq "$(jq -r '.env_status + "/" + .status' <<<"$r")" "$2" \
        "env_status/status of the job on atc-q-$1 (its error: $(jq -r .error <<<"$r"))"
}

it_log "the first set takes the quota's one snapshot"
run one built/passed
one=$(it_redis ZRANGE atc:envs 0 -1)

it_log "a second set, refused for the quota: the first environment is dropped, the second built"
run two built/passed
two=$(it_redis ZRANGE atc:envs 0 -1)
[[ "$two" != "$one" ]] || it_fail "the environment did not change"
it_assert_eq "$(snapshots)" "$two" "daytona-local's snapshots: the second set's only"
[[ "$(it_metric "$WORKER_HTTP" atc_env_dropped_total)" -ge 1 ]] ||
    it_fail "no environment counted as dropped: $(curl -fsS "$WORKER_HTTP/metrics" | grep env_)"

it_log "the quota held by a snapshot that is not the fleet's: the job installs in its sandbox"
it_expect_exit 0 it_atc env rm "$two"
it_wait_eq 10 "no snapshot left" "" snapshots
curl -fsS -X POST -H "Authorization: Bearer $DAYTONA_API_KEY" -H 'Content-Type: application/json' \
    -d '{"name": "someone-elses", "buildInfo": {"dockerfileContent": "FROM python:3.11-slim\n"}}' "$DAYTONA_API_URL/snapshots" \
    >/dev/null || it_fail "cannot create the other snapshot"
fallbacks0=$(it_metric "$WORKER_HTTP" atc_env_fallbacks_total)
run one fallback/passed
it_assert_eq "$(snapshots)" someone-elses "the other snapshot left alone"
[[ "$(it_metric "$WORKER_HTTP" atc_env_fallbacks_total)" -gt "${fallbacks0:-0}" ]] ||
    it_fail "the fallback was not counted"
it_assert_eq "$(it_daytona_live)" 0 "live sandboxes"
