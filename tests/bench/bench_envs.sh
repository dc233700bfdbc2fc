#!/usr/bin/env bash
# bench_envs.sh: dependency environments (issue 12) against today's per-job pip.
# One worker, daytona-local running every command for real (confined), jobs
# submitted one at a time with `atc submit --wait` (latency, not throughput).
# For each dependency set, side by side in one run:
#   pip      ATC_ENVS=off: every job installs in its sandbox (today's path)
#   build    ATC_ENVS=on, the first job: it builds the environment
#   warm     ATC_ENVS=on, the jobs after it: they run from the snapshot
# Per row: time to verdict (finished_ms - submitted_ms) p50 and p95, and
# sandbox-seconds per job (the job's time from its start minus the wait for
# its environment: the span its sandbox existed, near enough), p50; the test
# command's own time (test_ms) p50 for the ratio the issue asks about.
# Sets: "local" (two tiny wheels from a local index on 127.0.0.1, always) and
# "seed" (pytest + langchain-core from PyPI through pip's own configuration;
# skipped with a note when PyPI cannot be reached).
#
#   tests/bench/bench_envs.sh                   # BENCH_JOBS=10 warm/pip jobs a set
#   BENCH_SETS=local tests/bench/bench_envs.sh
# Output: $BENCH_OUT/envs.tsv
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# Confined sandboxes (their own uids) cannot reach into lib.sh's /dev/shm default.
export TMPDIR=${TMPDIR:-/tmp}
source "$HERE/lib.sh"

N=${BENCH_JOBS:-10}
bench_header envs.tsv set mode jobs verdict_p50_s verdict_p95_s sandbox_s_p50 test_s_p50 env_status load

cd "$IT_TMP"
"$PY" "$ROOT_DIR/tests/envs/make_index.py" index atc-bench-a==1.0:atc-bench-b atc-bench-b==1.0 ||
    it_fail "cannot build the wheels"
index_port=$(it_free_port)
it_start index "$PY" -m http.server --bind 127.0.0.1 "$index_port" --directory index
it_wait_for 15 "the package index" curl -fsS "http://127.0.0.1:$index_port/simple/"
local_index="http://127.0.0.1:$index_port/simple"

it_start_redis
it_start_kafka --partitions 2
BENCH_SANDBOX=local bench_start_daytona
export DAYTONA_API_KEY DAYTONA_API_URL

cat >test_local.py <<'PY'
import atc_bench_a, atc_bench_b

def test_it():
    assert atc_bench_a.who() and atc_bench_b.who()
PY
cat >test_seed.py <<'PY'
import langchain_core
import pytest

def test_it():
    assert langchain_core.__version__
PY

# one SET MODE PREFIX COUNT DEP...: COUNT jobs one after another; a row.
one() {
    local set=$1 mode=$2 prefix=$3 count=$4 i
    shift 4
    local deps=()
    for d in "$@"; do deps+=(--dep "$d"); done
    for ((i = 1; i <= count; i++)); do
        it_atc submit --id "$prefix-$i" --tests "test_$set.py" "${deps[@]}" --wait \
            --wait-timeout 900 --json >"$IT_TMP/$prefix-$i.json" 2>>"$IT_TMP/submit.err" ||
            it_fail "$prefix-$i did not pass: $(tail -c 600 "$IT_TMP/$prefix-$i.json")"
    done
    "$PY" - "$REDIS_PORT" "$prefix" "$count" "$set" "$mode" "$(bench_load)" <<'PY' | tee -a "$BENCH_OUT/envs.tsv"
import sys, redis
port, prefix, count, sset, mode, load = sys.argv[1:]
r = redis.Redis(port=int(port), decode_responses=True)
F = ["finished_ms", "submitted_ms", "duration_ms", "env_build_ms", "test_ms", "env_status"]
rows = [{k: v for k, v in zip(F, r.hmget("atc:result:%s-%d" % (prefix, i), F)) if v is not None}
        for i in range(1, int(count) + 1)]
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(p / 100.0 * (len(v) - 1)))))]
verdict = [(int(x["finished_ms"]) - int(x["submitted_ms"])) / 1000 for x in rows]
sandbox = [(int(x["duration_ms"]) - max(0, int(x.get("env_build_ms", 0)))) / 1000 for x in rows]
test = [int(x.get("test_ms", 0)) / 1000 for x in rows]
status = ",".join(sorted(set(x.get("env_status", "-") for x in rows)))
print("\t".join([sset, mode, count, "%.2f" % pct(verdict, 50), "%.2f" % pct(verdict, 95),
                 "%.2f" % pct(sandbox, 50), "%.2f" % pct(test, 50), status, load]))
PY
}

# run_set SET INDEX_URL DEP...: pip, then build and warm, each with its own worker.
run_set() {
    local set=$1 index=$2
    shift 2
    ATC_ENVS=off ATC_PIP_INDEX_URL=$index bench_start_worker "pip-$set" 4
    one "$set" pip "$set-pip" "$N" "$@"
    it_stop "$WORKER_PID"
    ATC_ENVS=on ATC_PIP_INDEX_URL=$index bench_start_worker "env-$set" 4
    one "$set" build "$set-build" 1 "$@"
    one "$set" warm "$set-warm" "$N" "$@"
    it_stop "$WORKER_PID"
}

for set in ${BENCH_SETS:-local seed}; do
    case $set in
        local) run_set local "$local_index" atc-bench-a atc-bench-b ;;
        seed)
            if ! "$PY" -m pip download --no-deps --dest "$IT_TMP/probe" langchain-core >/dev/null 2>&1; then
                echo "# seed: skipped, PyPI cannot be reached from here" | tee -a "$BENCH_OUT/envs.tsv"
                continue
            fi
            run_set seed "" pytest langchain-core
            ;;
        *) it_fail "unknown set $set (local, seed)" ;;
    esac
done
