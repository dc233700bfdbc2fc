#!/usr/bin/env bash
# bench_plugin.sh: what the fleet's pytest plugin (worker/fleet_plugin.py) costs
# in sandbox time. Runs the worker's own default test command, as the sandbox
# runs it, over one suite in a scratch directory, BENCH_RUNS times (default 5)
# in each mode, and prints the median wall and CPU ms of each:
#   bare       pytest with the JUnit report only (the command before issue 13)
#   plugin     the plugin, no coverage, no reruns (per-test timer, side report, lint)
#   coverage   the plugin with line coverage (sys.settrace on Python < 3.12,
#              sys.monitoring from 3.12)
#   rerun      the plugin with coverage and one rerun of a failing test
# The suite: a tool with a CPU-bound function (BENCH_LOOPS iterations, default
# 200000) and 20 tests, one of which fails (in the rerun mode only).
#   tests/bench/bench_plugin.sh          # prints a table on stdout
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${BENCH_PYTHON:-/usr/bin/python3}
RUNS=${BENCH_RUNS:-5}
LOOPS=${BENCH_LOOPS:-200000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/.atc/py"
cp "$HERE/../../worker/fleet_plugin.py" "$tmp/.atc/py/atc_fleet_plugin.py"
cd "$tmp"
cat >tool.py <<PY
def spin(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def add(a, b):
    return a + b
PY
{
    printf 'import os\nfrom tool import add, spin\n\n'
    for i in $(seq 1 19); do
        printf 'def test_%d():\n    assert spin(%d) >= 0\n\n' "$i" "$LOOPS"
    done
    printf 'def test_fails():\n    assert os.environ.get("BENCH_FAIL") != "1"\n'
} >test_tool.py

boot='import sys; sys.path[:] = [p for p in sys.path if p not in ("", ".")]; sys.path.insert(0, ".atc/py"); import pytest; sys.exit(pytest.main())'
run_once() { # MODE -> "wall_ms cpu_ms"
    local args=(-q -p no:cacheprovider --junitxml=.atc/r/report.xml)
    local fail=0
    case $1 in
        plugin) args+=(-p atc_fleet_plugin --atc-side=.atc/r/fleet.json --atc-test-timeout=30 --atc-reruns=0 --atc-coverage=0) ;;
        coverage) args+=(-p atc_fleet_plugin --atc-side=.atc/r/fleet.json --atc-test-timeout=30 --atc-reruns=0 --atc-coverage=1) ;;
        rerun) args+=(-p atc_fleet_plugin --atc-side=.atc/r/fleet.json --atc-test-timeout=30 --atc-reruns=1 --atc-coverage=1); fail=1 ;;
    esac
    rm -rf .atc/r && mkdir -p .atc/r
    BENCH_FAIL=$fail "$PY" -c '
import resource, subprocess, sys, time
t0 = time.monotonic()
subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = (time.monotonic() - t0) * 1000
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%d %d" % (wall, (u.ru_utime + u.ru_stime) * 1000))' "$PY" -c "$boot" "${args[@]}" -- test_tool.py
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
printf 'python: %s, %s tests x %s loops, %s runs a mode (medians)\n' "$("$PY" -V 2>&1)" 20 "$LOOPS" "$RUNS"
printf '%-9s %8s %8s %10s\n' mode wall_ms cpu_ms vs_bare
base=0
for mode in bare plugin coverage rerun; do
    : >"$tmp/w" && : >"$tmp/c"
    for _ in $(seq 1 "$RUNS"); do
        read -r w c < <(run_once "$mode")
        echo "$w" >>"$tmp/w"
        echo "$c" >>"$tmp/c"
    done
    w=$(median <"$tmp/w") c=$(median <"$tmp/c")
    [[ $mode == bare ]] && base=$w
    printf '%-9s %8s %8s %9sx\n' "$mode" "$w" "$c" "$(awk -v a="$w" -v b="$base" 'BEGIN { printf "%.2f", a / b }')"
done
if [[ -f .atc/r/fleet.json ]]; then
    "$PY" -c 'import json; d = json.load(open(".atc/r/fleet.json")); print("rerun mode: rerun_ms %s, coverage %s%%" % (d["rerun_ms"], d["coverage"]["pct"]))'
fi
