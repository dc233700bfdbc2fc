#!/usr/bin/env bash
# bench_busy.sh: benchmark 2, keeping sandboxes busy. daytona-local with
# --latency-create-ms 300 --latency-exec-ms 500; one worker at concurrency C in
# 1 8 32 128 256 512.
#   Phase A (throughput): a burst of C*ROUNDS jobs into a ready worker; throughput =
#     jobs / (first started_ms .. last finished_ms). Ideal = C / L, where L is the
#     sandbox-side time per job (create_ms+upload_ms+test_ms+delete_ms, median)
#     measured at concurrency 1; a second ratio uses the mean measured in the
#     same run (what the machine allowed at that load). The steady-state ratio
#     counts only the middle 60% of the span (no ramp-up, no drain), against
#     C / L. Worker CPU and VmHWM too.
#   Phase B (latency): jobs paced at half the ideal rate for BENCH_LAT_S seconds;
#     p50/p99 of finished_ms - submitted_ms minus the job's own sandbox time.
#
#   tests/bench/bench_busy.sh                       # default: a few minutes
#   BENCH_ROUNDS=16 BENCH_LAT_S=20 BENCH_CONCS="1 32 256" tests/bench/bench_busy.sh
#   BENCH_SANDBOX=local tests/bench/bench_busy.sh   # sandboxes' commands run here (lib.sh)
# Output: $BENCH_OUT/busy.tsv
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DAYTONA_ARGS=(--latency-create-ms 300 --latency-exec-ms 500)

if [[ "${1:-}" != --one ]]; then
    source "$HERE/lib.sh"
    bench_header busy.tsv concurrency jobs jobs_per_s ideal_per_s ratio sandbox_p50_ms ratio_measured cpu_ms_per_job peak_rss_mib lat_jobs overhead_p50_ms overhead_p99_ms e2e_p50_ms failed gap_c1_p50_ms inflight_mean injob_overhead_p50_ms steady_jobs_per_s steady_ratio steady_inflight_mean sandbox_mode load
    L1=""
    for c in ${BENCH_CONCS:-1 8 32 128 256 512}; do
        BENCH_L1=$L1 bash "$0" --one "$c" || exit 1
        if [[ -z "$L1" ]]; then
            L1=$(awk '!/^#/ { print $6; exit }' "$BENCH_OUT/busy.tsv")
        fi
    done
    exit 0
fi

c=$2
source "$HERE/lib.sh"
rounds=${BENCH_ROUNDS:-8}
((c == 1)) && rounds=$((rounds * 4))
n=$((c * rounds))
it_start_redis
it_start_kafka --partitions 8
bench_start_daytona "${DAYTONA_ARGS[@]}"
export DAYTONA_API_KEY DAYTONA_API_URL
bench_start_worker w "$c"
cpu0=$(bench_cpu "$WORKER_PID")
bench_submit "$n" tp
bench_wait_finals "$n" $((120 + n))
cpu1=$(bench_cpu "$WORKER_PID")
hwm=$(bench_hwm_kib "$WORKER_PID")
stats=$(bench_stats tp)
span=$(bench_json span_started_s <<<"$stats")
sb=$(bench_json sandbox_mean_ms <<<"$stats")
sb50=$(bench_json sandbox_p50_ms <<<"$stats")
L1=${BENCH_L1:-$sb50}
passed=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"].get("passed",0))' <<<"$stats")

# Phase B: paced at half the ideal rate.
rate=$(awk -v c="$c" -v l="$L1" 'BEGIN { printf "%.3f", 0.5 * c * 1000 / l }')
lat_s=${BENCH_LAT_S:-6}
m=$(awk -v r="$rate" -v s="$lat_s" 'BEGIN { m = int(r * s); if (m < 8) m = 8; print m }')
threads=$((m < 8 ? m : 8))
BENCH_LOAD_THREADS=$threads bench_submit "$m" lat --rate "$rate"
bench_wait_finals $((n + m)) $((120 + m))
lstats=$(bench_stats lat)
lpassed=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"].get("passed",0))' <<<"$lstats")

thr=$(awk -v n="$n" -v s="$span" 'BEGIN { printf "%.2f", n / s }')
ideal=$(awk -v c="$c" -v l="$L1" 'BEGIN { printf "%.2f", c * 1000 / l }')
bench_row busy.tsv "$c" "$n" "$thr" "$ideal" \
    "$(awk -v t="$thr" -v i="$ideal" 'BEGIN { printf "%.3f", t / i }')" "$sb50" \
    "$(awk -v t="$thr" -v c="$c" -v l="$sb" 'BEGIN { printf "%.3f", t / (c * 1000 / l) }')" \
    "$(awk -v a="$cpu0" -v b="$cpu1" -v n="$n" 'BEGIN { printf "%.3f", (b - a) * 1000 / n }')" \
    "$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')" "$m" \
    "$(bench_json overhead_p50_ms <<<"$lstats")" "$(bench_json overhead_p99_ms <<<"$lstats")" \
    "$(bench_json e2e_p50_ms <<<"$lstats")" "$((n + m - passed - lpassed))" \
    "$( ((c == 1)) && bench_json gap_p50_ms <<<"$stats" || echo -)" \
    "$(bench_json inflight_mean <<<"$stats")" "$(bench_json injob_overhead_p50_ms <<<"$stats")" \
    "$(bench_json steady_jobs_per_s <<<"$stats")" \
    "$(awk -v t="$(bench_json steady_jobs_per_s <<<"$stats")" -v i="$ideal" 'BEGIN { printf "%.3f", t / i }')" \
    "$(bench_json steady_inflight_mean <<<"$stats")" "${BENCH_SANDBOX:-remote}" "$(bench_load)"
