#!/usr/bin/env bash
# bench_alternatives.sh: benchmark 5, atc-fleet against what a user would pick
# instead, in one run against one daytona-local (--latency-create-ms 300
# --latency-exec-ms 500), the same job (one small file, cmd `true`):
#   atc     atc-worker at concurrency C (32), jobs pre-submitted by atc-load;
#   celery  Debian's Celery, Redis broker and result backend (the same redis-server),
#           --pool threads --concurrency C, each task the same HTTP calls (alt_celery.py);
#   loop    a Python loop with requests, one job at a time (alt_python_loop.py).
# Throughput (jobs/s), CPU per job of the worker side (atc-worker; the Celery
# worker's process tree; the loop's process), peak RSS, and ratios against atc.
#
#   tests/bench/bench_alternatives.sh
#   BENCH_ALT_JOBS=320 BENCH_LOOP_JOBS=40 BENCH_ALT_CONC=64 tests/bench/bench_alternatives.sh
# Output: $BENCH_OUT/alternatives.tsv
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
c=${BENCH_ALT_CONC:-32}
n=${BENCH_ALT_JOBS:-$((c * 4))}
nloop=${BENCH_LOOP_JOBS:-12}

it_start_redis
it_start_kafka --partitions 8
bench_start_daytona --latency-create-ms 300 --latency-exec-ms 500
export DAYTONA_API_KEY DAYTONA_API_URL

# Sum of utime+stime over a process and its descendants (live ones).
tree_cpu() {
    local pid=$1 total kid
    total=$(bench_cpu "$pid")
    for kid in $(pgrep -P "$pid"); do
        total=$(awk -v a="$total" -v b="$(tree_cpu "$kid")" 'BEGIN { printf "%.3f", a + b }')
    done
    echo "$total"
}
tree_hwm_kib() {
    local pid=$1 total kid
    total=$(bench_hwm_kib "$pid")
    for kid in $(pgrep -P "$pid"); do
        total=$((total + $(tree_hwm_kib "$kid")))
    done
    echo "$total"
}

bench_header alternatives.tsv system concurrency jobs jobs_per_s cpu_ms_per_job jobs_per_cpu_s peak_rss_mib failed throughput_x_vs_atc cpu_per_job_x_vs_atc rss_x_vs_atc jobs_per_cpu_s_atc_over_this load

# --- atc-fleet
bench_start_worker w "$c"
cpu0=$(bench_cpu "$WORKER_PID")
bench_submit "$n" alt
bench_wait_finals "$n" $((300 + n))
cpu1=$(bench_cpu "$WORKER_PID")
atc_rss=$(bench_hwm_kib "$WORKER_PID")
stats=$(bench_stats alt)
passed=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"].get("passed",0))' <<<"$stats")
atc_wall=$(bench_json span_started_s <<<"$stats")
atc_cpu=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.3f", b - a }')
it_stop "$WORKER_PID"
atc_failed=$((n - passed))

row() { # system conc jobs wall cpu rss_kib failed load
    local thr cpj jpc
    thr=$(awk -v n="$3" -v w="$4" 'BEGIN { printf "%.2f", n / w }')
    cpj=$(awk -v n="$3" -v c="$5" 'BEGIN { printf "%.3f", c * 1000 / n }')
    jpc=$(awk -v n="$3" -v c="$5" 'BEGIN { printf "%.1f", (c > 0 ? n / c : 0) }')
    bench_row alternatives.tsv "$1" "$2" "$3" "$thr" "$cpj" "$jpc" \
        "$(awk -v k="$6" 'BEGIN { printf "%.1f", k / 1024 }')" "$7" \
        "$(awk -v t="$thr" -v a="$atc_thr" 'BEGIN { printf "%.3f", t / a }')" \
        "$(awk -v x="$cpj" -v a="$atc_cpj" 'BEGIN { printf "%.1f", x / a }')" \
        "$(awk -v k="$6" -v a="$atc_rss" 'BEGIN { printf "%.1f", k / a }')" \
        "$(awk -v x="$jpc" -v a="$atc_jpc" 'BEGIN { printf "%.1f", (x > 0 ? a / x : 0) }')" "$8"
}
atc_thr=$(awk -v n="$n" -v w="$atc_wall" 'BEGIN { printf "%.2f", n / w }')
atc_cpj=$(awk -v n="$n" -v c="$atc_cpu" 'BEGIN { printf "%.3f", c * 1000 / n }')
atc_jpc=$(awk -v n="$n" -v c="$atc_cpu" 'BEGIN { printf "%.1f", (c > 0 ? n / c : 0) }')
row atc-fleet "$c" "$n" "$atc_wall" "$atc_cpu" "$atc_rss" "$atc_failed" "$(bench_load)"

# --- Celery, thread pool of the same concurrency
export BENCH_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/1"
cd "$HERE" || exit 1
it_start celery env PYTHONPATH="$HERE" "$PY" -m celery -A alt_celery worker --pool threads \
    --concurrency "$c" --loglevel info --without-gossip --without-mingle --without-heartbeat
CELERY_PID=$IT_LAST_PID
it_wait_for 120 "the celery worker to be ready" grep -q "ready" "$IT_TMP/celery.log"
cpu0=$(tree_cpu "$CELERY_PID")
PYTHONPATH="$HERE" "$PY" "$HERE/alt_celery.py" --api "$DAYTONA_API_URL" --key "$DAYTONA_API_KEY" \
    --jobs "$n" >"$IT_TMP/celery.json" 2>"$IT_TMP/celery-submit.log" || it_fail "the celery run failed"
cpu1=$(tree_cpu "$CELERY_PID")
rss=$(tree_hwm_kib "$CELERY_PID")
j=$(cat "$IT_TMP/celery.json")
row celery "$c" "$n" "$(bench_json wall_s <<<"$j")" "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')" \
    "$rss" "$(bench_json failed <<<"$j")" "$(bench_load)"
it_stop "$CELERY_PID"

# --- the Python loop, one job at a time
"$PY" "$HERE/alt_python_loop.py" --api "$DAYTONA_API_URL" --key "$DAYTONA_API_KEY" --jobs "$nloop" \
    >"$IT_TMP/loop.json" 2>"$IT_TMP/loop.log" || it_fail "the loop failed"
j=$(cat "$IT_TMP/loop.json")
row python-loop 1 "$nloop" "$(bench_json wall_s <<<"$j")" "$(bench_json cpu_s <<<"$j")" \
    "$(bench_json maxrss_kib <<<"$j")" "$(bench_json failed <<<"$j")" "$(bench_load)"
[[ "$(it_daytona_live)" == 0 ]] || it_log "warning: sandboxes left live: $(it_daytona_live)"
