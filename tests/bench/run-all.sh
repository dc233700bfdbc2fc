#!/usr/bin/env bash
# run-all.sh: runs every benchmark (not part of the default test run), then draws
# the plots. Figures land in $BENCH_OUT (default /tmp/atc-bench) as .tsv files;
# plots in $BENCH_PLOTS (default docs/bench). Each benchmark keeps its own knobs
# (BENCH_SCALE, BENCH_ROUNDS, ...; see the head of each script).
#
#   cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DATC_TESTS=OFF -DATC_BENCH=ON
#   cmake --build build-release -j2 --target atc-worker atc daytona-local kafka-mock atc-load
#   tests/bench/run-all.sh            # or: tests/bench/run-all.sh busy scale
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export BENCH_OUT=${BENCH_OUT:-/tmp/atc-bench}
mkdir -p "$BENCH_OUT"
{
    echo "date: $(date -u +%FT%TZ)"
    echo "host: $(uname -srm); $(nproc) CPUs; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo "memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "librdkafka: $(pkg-config --modversion rdkafka 2>/dev/null); libcurl: $(pkg-config --modversion libcurl 2>/dev/null); python3: $(/usr/bin/python3 --version 2>&1); celery: $(/usr/bin/python3 -c 'import celery; print(celery.__version__)' 2>/dev/null)"
} | tee "$BENCH_OUT/machine.txt"
status=0
for b in ${*:-overhead busy scale ratelimit alternatives}; do
    echo "=== $b ($(date -u +%T), load $(cut -d' ' -f1 /proc/loadavg))"
    if ! bash "$HERE/bench_$b.sh"; then
        echo "=== $b FAILED" >&2
        status=1
    fi
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$BENCH_OUT/machine.txt"
bash "$HERE/plot.sh" || status=1
exit $status
