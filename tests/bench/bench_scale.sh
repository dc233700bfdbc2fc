#!/usr/bin/env bash
# bench_scale.sh: benchmark 3, scale-out. kafka-mock --partitions 8, daytona-local
# with --latency-create-ms 300 --latency-exec-ms 500, workers at concurrency
# BENCH_WORKER_CONC (16) each.
#   Drain: pre-load N jobs, then start 1, 2 or 4 workers at once; drain time = from
#     the workers' start to the last final result (includes joining the group);
#     throughput = N / (first started_ms .. last finished_ms).
#   Crash: 2 workers serve a paced stream; one is killed with SIGKILL; recovery =
#     the longest wait (started_ms - submitted_ms) of a job submitted after the
#     kill (its partitions are unserved until the group rebalances), and the time
#     from the kill until every job submitted before it is final.
# librdkafka's session.timeout.ms decides how soon the group notices a dead member:
# BENCH_SESSION_MS (6000, the mock broker's minimum) and heartbeat.interval.ms
# BENCH_HEARTBEAT_MS (1000) are passed to the workers and reported.
#
#   tests/bench/bench_scale.sh
#   BENCH_SCALE_JOBS=1000 BENCH_SESSION_MS=10000 tests/bench/bench_scale.sh
# Output: $BENCH_OUT/scale.tsv, $BENCH_OUT/crash.tsv
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DAYTONA_ARGS=(--latency-create-ms 300 --latency-exec-ms 500)
export ATC_KAFKA_SESSION_TIMEOUT_MS=${BENCH_SESSION_MS:-6000}
export ATC_KAFKA_HEARTBEAT_INTERVAL_MS=${BENCH_HEARTBEAT_MS:-1000}
conc=${BENCH_WORKER_CONC:-16}

if [[ "${1:-}" != --one ]]; then
    source "$HERE/lib.sh"
    bench_header scale.tsv workers conc_each jobs drain_s jobs_per_s speedup failed load
    for w in ${BENCH_WORKERS:-1 2 4}; do
        bash "$0" --one drain "$w" || exit 1
    done
    bench_header crash.tsv session_timeout_ms heartbeat_ms jobs max_wait_after_kill_s p50_wait_after_kill_s inflight_final_after_kill_s failed load
    bash "$0" --one crash 2 || exit 1
    exit 0
fi

what=$2 w=$3
source "$HERE/lib.sh"
it_start_redis
it_start_kafka --partitions 8
bench_start_daytona "${DAYTONA_ARGS[@]}"
export DAYTONA_API_KEY DAYTONA_API_URL

now_ms() { date +%s%3N; }

if [[ $what == drain ]]; then
    n=${BENCH_SCALE_JOBS:-256}
    bench_submit "$n" sc
    t0=$(now_ms)
    pids=()
    for ((i = 1; i <= w; i++)); do
        BENCH_NO_READY=1 bench_start_worker "w$i" "$conc"
        pids+=("$WORKER_PID")
    done
    bench_wait_finals "$n" $((300 + n))
    stats=$(bench_stats sc)
    last=$(bench_json last_finished_ms <<<"$stats")
    span=$(bench_json span_started_s <<<"$stats")
    passed=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"].get("passed",0))' <<<"$stats")
    thr=$(awk -v n="$n" -v s="$span" 'BEGIN { printf "%.2f", n / s }')
    base=$(awk '!/^#/ && $1 == 1 { print $5; exit }' "$BENCH_OUT/scale.tsv" 2>/dev/null)
    bench_row scale.tsv "$w" "$conc" "$n" "$(awk -v a="$t0" -v b="$last" 'BEGIN { printf "%.2f", (b - a) / 1000 }')" \
        "$thr" "$(awk -v t="$thr" -v b="${base:-$thr}" 'BEGIN { printf "%.2f", t / b }')" \
        "$((n - passed))" "$(bench_load)"
    exit 0
fi

# crash: two workers, a paced stream, kill -9 one of them mid-way.
rate=${BENCH_CRASH_RATE:-10}
before_s=${BENCH_CRASH_BEFORE_S:-10}
after_s=${BENCH_CRASH_AFTER_S:-30}
bench_start_worker w1 "$conc"
bench_start_worker w2 "$conc"
victim=$WORKER_PID
n1=$((rate * before_s))
n2=$((rate * after_s))
BENCH_LOAD_THREADS=4 bench_submit "$n1" pre --rate "$rate"
kill_ms=$(now_ms)
kill -9 "$victim"
BENCH_LOAD_THREADS=4 bench_submit "$n2" post --rate "$rate"
bench_wait_finals $((n1 + n2)) $((300 + n1 + n2))
"$PY" - "$REDIS_PORT" "$kill_ms" >"$IT_TMP/crash.json" <<'EOF'
import json, sys
import redis
r = redis.Redis(port=int(sys.argv[1]), decode_responses=True)
kill = int(sys.argv[2])
waits, pre_fin, failed, n = [], [], 0, 0
for k in r.scan_iter(match="atc:result:*", count=1000):
    h = r.hmget(k, ["status", "submitted_ms", "started_ms", "finished_ms"])
    n += 1
    failed += h[0] != "passed"
    sub, st, fin = int(h[1]), int(h[2]), int(h[3])
    if k.startswith("atc:result:post-"):
        waits.append(st - sub)
    else:
        pre_fin.append(fin)
waits.sort()
json.dump({"n": n, "failed": failed, "max_wait_s": waits[-1] / 1000.0,
           "p50_wait_s": waits[len(waits) // 2] / 1000.0,
           "pre_final_after_kill_s": (max(pre_fin) - kill) / 1000.0}, sys.stdout)
EOF
j=$(cat "$IT_TMP/crash.json")
bench_row crash.tsv "$ATC_KAFKA_SESSION_TIMEOUT_MS" "$ATC_KAFKA_HEARTBEAT_INTERVAL_MS" "$(bench_json n <<<"$j")" \
    "$(bench_json max_wait_s <<<"$j")" "$(bench_json p50_wait_s <<<"$j")" \
    "$(bench_json pre_final_after_kill_s <<<"$j")" "$(bench_json failed <<<"$j")" "$(bench_load)"
