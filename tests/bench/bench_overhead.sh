#!/usr/bin/env bash
# bench_overhead.sh: benchmark 1, the worker's own cost. daytona-local with no added
# latency, jobs `cmd true` with one small file; at concurrency 1, 32 and 256:
# worker CPU seconds per job (/proc/<pid>/stat utime+stime, from ready to the last
# result), instructions per job (the worker under valgrind --tool=callgrind, counters
# zeroed once it is ready, dumped after the last result), peak RSS (VmHWM) and jobs/s.
#
#   tests/bench/bench_overhead.sh                 # default: a minute or two
#   BENCH_SCALE=4 tests/bench/bench_overhead.sh   # 4x the jobs
#   BENCH_CONCS="32" BENCH_CALLGRIND=0 ...        # one concurrency, no callgrind
# Output: $BENCH_OUT/overhead.tsv; callgrind annotations in $BENCH_OUT/callgrind-c<C>.txt
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

if [[ "${1:-}" != --one ]]; then
    source "$HERE/lib.sh"
    bench_header overhead.tsv concurrency jobs mode cpu_ms_per_job sys_share instr_per_job peak_rss_mib jobs_per_s sandbox_p50_ms failed load
    scale=${BENCH_SCALE:-1}
    for c in ${BENCH_CONCS:-1 32 256}; do
        case $c in 1) n=40 ;; 32) n=320 ;; *) n=512 ;; esac
        n=$((n * scale))
        bash "$0" --one "$c" "$n" native || exit 1
        if [[ "${BENCH_CALLGRIND:-1}" == 1 ]]; then
            case $c in 1) n=20 ;; 32) n=96 ;; *) n=256 ;; esac
            bash "$0" --one "$c" "$n" callgrind || exit 1
        fi
    done
    exit 0
fi

c=$2 n=$3 mode=$4
source "$HERE/lib.sh"
it_start_redis
it_start_kafka --partitions 8
bench_start_daytona
export DAYTONA_API_KEY DAYTONA_API_URL
if [[ $mode == callgrind ]]; then
    cg_out=$IT_TMP/callgrind.out
    BENCH_WRAP="valgrind --tool=callgrind --callgrind-out-file=$cg_out.%p --dump-instr=no" \
        BENCH_READY_TIMEOUT=240 bench_start_worker w "$c"
    # valgrind is the child of env; callgrind_control talks to the valgrind'd pid.
    sleep 1
    cg_pid=$(pgrep -P "$WORKER_PID" -f atc-worker || echo "$WORKER_PID")
    callgrind_control -z "$cg_pid" >/dev/null 2>&1 || it_fail "callgrind_control -z failed"
else
    bench_start_worker w "$c"
fi
cpu0=$(bench_cpu "$WORKER_PID"); sys0=$(bench_sys "$WORKER_PID")
bench_submit "$n" oh
bench_wait_finals "$n" $((60 + n * 2))
cpu1=$(bench_cpu "$WORKER_PID"); sys1=$(bench_sys "$WORKER_PID")
hwm=$(bench_hwm_kib "$WORKER_PID")
instr=-
if [[ $mode == callgrind ]]; then
    rm -f "$cg_out".*
    callgrind_control -d "$cg_pid" >/dev/null 2>&1 || it_fail "callgrind_control -d failed"
    sleep 2
    f=$(ls -t "$cg_out".* 2>/dev/null | head -n 1)
    [[ -n "$f" ]] || it_fail "no callgrind dump"
    total=$(awk '/^summary:/ { print $2 }' "$f")
    [[ -n "$total" ]] || total=$(awk '/^totals:/ { print $2 }' "$f")
    instr=$((total / n))
    callgrind_annotate --inclusive=no "$f" 2>/dev/null | head -n 60 >"$BENCH_OUT/callgrind-c$c.txt"
    callgrind_annotate --inclusive=yes "$f" 2>/dev/null | head -n 80 >"$BENCH_OUT/callgrind-c$c-inclusive.txt"
    cp "$f" "$BENCH_OUT/callgrind-c$c.out"
fi
stats=$(bench_stats oh)
span=$(bench_json span_started_s <<<"$stats")
passed=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"].get("passed",0))' <<<"$stats")
bench_row overhead.tsv "$c" "$n" "$mode" \
    "$(awk -v a="$cpu0" -v b="$cpu1" -v n="$n" 'BEGIN { printf "%.3f", (b - a) * 1000 / n }')" \
    "$(awk -v a="$cpu0" -v b="$cpu1" -v x="$sys0" -v y="$sys1" 'BEGIN { printf "%.2f", (b > a ? (y - x) / (b - a) : 0) }')" \
    "$instr" "$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')" \
    "$(awk -v n="$n" -v s="$span" 'BEGIN { printf "%.1f", n / s }')" \
    "$(bench_json sandbox_p50_ms <<<"$stats")" "$((n - passed))" "$(bench_load)"
