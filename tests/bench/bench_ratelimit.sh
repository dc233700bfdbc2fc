#!/usr/bin/env bash
# bench_ratelimit.sh: benchmark 4, rate limits. daytona-local --create-rate-per-min
# LIMIT (default 60, i.e. the 300/min case scaled down so a short run sees several
# windows); one worker at concurrency 32 with more jobs queued than the limit
# allows. daytona-local's `created` counter is read once a second. The first
# window is a burst (a sliding window starts empty), so the share is measured over
# the steady part: creates from t=60 s to t=DURATION against LIMIT per minute.
# Jobs failed: final results other than `passed` (the target is none).
#
#   tests/bench/bench_ratelimit.sh                                   # 60/min, 150 s
#   BENCH_RATE_LIMIT=300 BENCH_RATE_S=300 tests/bench/bench_ratelimit.sh
# Output: $BENCH_OUT/ratelimit.tsv, $BENCH_OUT/ratelimit-series.tsv (t_s created)
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
limit=${BENCH_RATE_LIMIT:-60}
dur=${BENCH_RATE_S:-150}
((dur > 60)) || it_fail "BENCH_RATE_S must be more than 60"
n=$((limit * (dur + 60) / 60))

it_start_redis
it_start_kafka --partitions 8
bench_start_daytona --create-rate-per-min "$limit"
export DAYTONA_API_KEY DAYTONA_API_URL
stat() { curl -fsS "$DAYTONA_BASE/_local/stats" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["created"], d["creates_rate_limited"])'; }
bench_submit "$n" rl
bench_start_worker w 32
t0=$SECONDS
: >"$BENCH_OUT/ratelimit-series.tsv"
c60=""
while ((SECONDS - t0 < dur)); do
    read -r created limited < <(stat)
    echo "$((SECONDS - t0))	$created" >>"$BENCH_OUT/ratelimit-series.tsv"
    if [[ -z "$c60" ]] && ((SECONDS - t0 >= 60)); then
        c60=$created
        t60=$SECONDS
    fi
    sleep 1
done
read -r created limited < <(stat)
t_end=$SECONDS
finals=$(bench_finals)
stats=$(bench_stats rl)
passed=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"].get("passed",0))' <<<"$stats")
per_min=$(awk -v a="$c60" -v b="$created" -v s="$((t_end - t60))" 'BEGIN { printf "%.1f", (b - a) * 60 / s }')
bench_header ratelimit.tsv limit_per_min run_s steady_window_s creates_total creates_per_min_steady share_used creates_429 finals failed load
bench_row ratelimit.tsv "$limit" "$dur" "$((t_end - t60))" "$created" "$per_min" \
    "$(awk -v p="$per_min" -v l="$limit" 'BEGIN { printf "%.3f", p / l }')" "$limited" \
    "$finals" "$((finals - passed))" "$(bench_load)"
