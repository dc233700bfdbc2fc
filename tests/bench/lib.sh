# lib.sh: shared helpers of the benchmark scripts (bench_*.sh). Builds on
# tests/integration/lib.sh (redis-server, kafka-mock, daytona-local as child
# processes, stopped on exit) and adds: a quiet worker, CPU and memory readings
# from /proc, a wait for N final results, and figure output.
#
# Binaries: $ATC_BIN_DIR (default: build-release/bin, then build/bin). Build them with
#   cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DATC_TESTS=OFF -DATC_BENCH=ON
#   cmake --build build-release -j2 --target atc-worker atc daytona-local kafka-mock atc-load
# Figures: each script appends tab-separated rows to $BENCH_OUT/<name>.tsv
# (default $BENCH_OUT = /tmp/atc-bench) and prints them.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(cd "$BENCH_DIR/../.." && pwd)
if [[ -z "${ATC_BIN_DIR:-}" ]]; then
    for d in "$ROOT_DIR/build-release/bin" "$ROOT_DIR/build/bin"; do
        [[ -x "$d/atc-worker" ]] && { ATC_BIN_DIR=$d; break; }
    done
fi
export ATC_BIN_DIR
# Every run's files (daytona-local's sandboxes, Redis, logs) on tmpfs: on this
# VM's ext4 each job's 13 opens, 3 mkdirs and the deletes cost daytona-local
# ~4 ms of kernel CPU, a simulated service's cost that is not the fleet's.
if [[ -z "${TMPDIR:-}" && -d /dev/shm && -w /dev/shm ]]; then
    export TMPDIR=/dev/shm
fi
# shellcheck source=../integration/lib.sh
source "$ROOT_DIR/tests/integration/lib.sh"
BENCH_OUT=${BENCH_OUT:-/tmp/atc-bench}
mkdir -p "$BENCH_OUT"
# Debian's python (requests, redis, celery come from Debian packages).
PY=${BENCH_PYTHON:-/usr/bin/python3}
export PYTHONDONTWRITEBYTECODE=1
CLK_TCK=$(getconf CLK_TCK)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

bench_load() { cut -d' ' -f1 /proc/loadavg; }

# bench_cpu PID: utime+stime of PID in seconds (all its threads).
bench_cpu() {
    awk -v t="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / t }' "/proc/$1/stat"
}

# bench_sys PID: stime of PID in seconds (the kernel's share; callgrind does not see it).
bench_sys() {
    awk -v t="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.3f\n", $13 / t }' "/proc/$1/stat"
}

# bench_hwm_kib PID: peak resident set (VmHWM) in KiB.
bench_hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# bench_start_worker NAME CONCURRENCY [args...]: a worker with warn-level logs;
# waits until it is in its consumer group (/readyz) unless BENCH_NO_READY=1.
bench_start_worker() {
    local name=$1 conc=$2 port
    shift 2
    port=$(it_free_port)
    it_start "$name" env ATC_HTTP_ADDR="127.0.0.1:$port" ATC_WORKER_ID="bench-$name" \
        ATC_LOG_FORMAT=text ATC_LOG_LEVEL="${BENCH_LOG_LEVEL:-warn}" ATC_CONCURRENCY="$conc" \
        ATC_REAPER_INTERVAL_S=0 ${BENCH_WRAP:-} "$(it_bin atc-worker)" "$@"
    WORKER_PID=$IT_LAST_PID
    WORKER_HTTP="http://127.0.0.1:$port"
    if [[ "${BENCH_NO_READY:-0}" != 1 ]]; then
        it_wait_for "${BENCH_READY_TIMEOUT:-120}" "atc-worker $name /readyz" curl -fsS "$WORKER_HTTP/readyz"
    fi
}

# bench_submit N PREFIX [atc-load args...]: submits N jobs (cmd true, one file).
bench_submit() {
    local n=$1 prefix=$2
    shift 2
    "$(it_bin atc-load)" --count "$n" --prefix "$prefix" --threads "${BENCH_LOAD_THREADS:-8}" "$@" \
        >>"$IT_TMP/load.out" 2>>"$IT_TMP/load.log" || it_fail "atc-load failed: $(tail -n 3 "$IT_TMP/load.log")"
}

# bench_finals: number of final results written (entries of the atc:results stream).
bench_finals() { redis-cli -p "$REDIS_PORT" XLEN atc:results; }

# bench_wait_finals N TIMEOUT_S: until N final results exist.
bench_wait_finals() {
    local n=$1 timeout=$2 end=$((SECONDS + $2))
    while (($(bench_finals) < n)); do
        ((SECONDS > end)) && it_fail "only $(bench_finals) of $n results after ${timeout}s"
        sleep 0.05
    done
}

# bench_stats PREFIX: JSON summary of the results with ids PREFIX-*
bench_stats() { "$PY" "$BENCH_DIR/results.py" --port "$REDIS_PORT" --prefix "$1"; }

# bench_row FILE COLUMNS...: appends one tab-separated row to $BENCH_OUT/FILE and prints it.
bench_row() {
    local f=$BENCH_OUT/$1
    shift
    local IFS=$'\t'
    echo "$*" | tee -a "$f"
}

# bench_header FILE COLUMNS...: starts $BENCH_OUT/FILE with a header row (#-prefixed).
bench_header() {
    local f=$BENCH_OUT/$1
    shift
    local IFS=$'\t'
    echo "# $*" | tee "$f"
}

# bench_json FIELD: a field of the JSON on stdin.
bench_json() { "$PY" -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(v)' "$1"; }

# bench_start_daytona [args...]: daytona-local, whose sandboxes run
# /usr/bin/python3 whatever the caller's PATH (its --python default; a pyenv
# shim would cost ~0.2-1 s of CPU per start).
# BENCH_SANDBOX picks what an exec does:
#   remote (default): nothing runs here; each exec answers, after its latency, what
#     the worker's runner prints for a passing `true` (--exec-canned), and with
#     nothing to run there is nothing to confine (--no-confine: confined, each
#     create and upload cost daytona-local ~4 ms of CPU more, 1.3 CPUs at 256 in
#     flight). With Daytona the sandboxes' CPU is on Daytona's machines, not the
#     worker's; run here, their ~25-30 ms of CPU a job (sh, timeout, python3,
#     namespaces) saturates these 2 CPUs at ~50 jobs/s and the figures measure the
#     machine, not the fleet.
#   local: every command really runs on this machine, confined (the old figures).
bench_start_daytona() {
    local extra=()
    case ${BENCH_SANDBOX:-remote} in
        remote) extra=(--exec-canned $'0 0\n' --no-confine) ;;
        local) ;;
        *) it_fail "BENCH_SANDBOX must be remote or local, not ${BENCH_SANDBOX}" ;;
    esac
    it_start_daytona "${extra[@]}" "$@"
}
