#!/usr/bin/env bash
# measure.sh: sizes the worker's resource requests. Starts redis-server,
# kafka-mock, daytona-local and one atc-worker (concurrency 32 unless
# ATC_CONCURRENCY says otherwise) on loopback, submits N jobs (default 300), waits
# for all of them to finish, and prints the worker's peak RSS (VmHWM), CPU
# seconds and the wall time. Not part of the test suite: a tool, bounded in count
# and time, that only talks to processes it started on 127.0.0.1.
#   ATC_BIN_DIR=build-release/bin tests/deploy/measure.sh [N]
source "$(dirname "$0")/../integration/lib.sh"

jobs_n=${1:-300}
export ATC_CONCURRENCY=${ATC_CONCURRENCY:-32}
it_start_redis
it_start_kafka --partitions 32
it_start_daytona
ATC_LOG_LEVEL=info it_start_worker worker
it_wait_for 60 "the worker to join its group (readyz)" curl -fsS "$WORKER_HTTP/readyz"

cd "$IT_TMP"
printf 'def add(a, b):\n    return a + b\n' >tool.py
printf 'from tool import add\n\ndef test_add():\n    assert add(1, 2) == 3\n\ndef test_neg():\n    assert add(-1, -2) == -3\n' >test_tool.py

finished() {
    curl -fsS "$WORKER_HTTP/metrics" | awk '/^atc_jobs_total\{/ {n += $NF} END {print n + 0}'
}
cpu_s() { # utime + stime of the worker, in seconds
    awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$WORKER_PID/stat"
}

start=$SECONDS
cpu0=$(cpu_s)
for ((i = 0; i < jobs_n; i++)); do
    it_atc submit --code tool.py --tests test_tool.py --label n="$i" >/dev/null ||
        it_fail "submit $i failed"
done
it_log "submitted $jobs_n jobs in $((SECONDS - start)) s"
peak_in_flight=0
deadline=$((SECONDS + 900))
while (($(finished) < jobs_n)); do
    ((SECONDS < deadline)) || it_fail "only $(finished) of $jobs_n jobs finished in 900 s"
    f=$(curl -fsS "$WORKER_HTTP/metrics" | awk '/^atc_jobs_in_flight/ {print $NF}')
    ((${f%.*} > peak_in_flight)) && peak_in_flight=${f%.*}
    sleep 0.5
done
wall=$((SECONDS - start))
cpu1=$(cpu_s)
hwm=$(awk '/^VmHWM/ {print $2, $3}' "/proc/$WORKER_PID/status")
rss=$(awk '/^VmRSS/ {print $2, $3}' "/proc/$WORKER_PID/status")
threads=$(awk '/^Threads/ {print $2}' "/proc/$WORKER_PID/status")
echo "jobs=$jobs_n concurrency=$ATC_CONCURRENCY wall_s=$wall peak_in_flight=$peak_in_flight"
echo "worker VmHWM=$hwm VmRSS_at_end=$rss threads=$threads"
echo "worker cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.2f", b - a}')" \
     "mean_cores=$(awk -v a="$cpu0" -v b="$cpu1" -v w="$wall" 'BEGIN {printf "%.3f", (b - a) / (w > 0 ? w : 1)}')"
curl -fsS "$WORKER_HTTP/metrics" | grep -E '^atc_jobs_total' || true
