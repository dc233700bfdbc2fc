#!/usr/bin/env bash
# it_hostile_jobs.sh: a job printing 1 GiB, a (bounded) fork bomb and an endless
# loop, jobs whose environment breaks every python3 (PYTHONHOME), every PATH
# lookup (PATH=/nonexistent) or every dynamic program (LD_PRELOAD), and one
# whose env values are full of quotes, newlines and `$(...)`, with a normal job
# beside them. Each hostile job ends with its status, its output capped, its
# sandbox deleted and its processes gone; the normal job passes. A job's env
# reaches its command (and pip) only, never the worker's runner in the sandbox.
source "$(dirname "$0")/lib.sh"

MAX_OUT=32768
it_start_redis
it_start_kafka --partitions 2
it_start_daytona --confine
ATC_CONCURRENCY=8 ATC_LOG_LEVEL=info ATC_MAX_OUTPUT_BYTES=$MAX_OUT it_start_worker worker
it_wait_for 60 "the worker in the group" curl -fsS "$WORKER_HTTP/readyz"

cd "$IT_TMP"
# 1 GiB on stdout, then a failure.
cat >big.py <<'PY'
import sys
for _ in range(1024):
    sys.stdout.write('x' * 1048576)
sys.stdout.flush()
sys.exit(1)
PY
# A fork bomb, bounded: daytona-local runs a job's commands as real processes
# on this machine, as root here, where RLIMIT_NPROC (`ulimit -u`) is not
# enforced, so the bomb itself stops at 150 processes. Each child becomes a
# `sleep` with a mark in its arguments, to find any the sandbox left behind.
# The mark is this run's own: the same test against the other broker may run
# at the same time.
mark="31.$$"
cat >test_bomb.py <<PY
import os, time

MARK = "$mark"  # sleep 31.<pid>: never a real job's, nor another run's

def test_bomb():
    kids = 0
    while kids < 150:
        pid = os.fork()
        if pid == 0:
            os.execv("/bin/sleep", ["sleep", MARK])
        kids += 1
    time.sleep(60)
PY
printf 'def test_spin():\n    while True:\n        pass\n' >test_spin.py
printf 'def add(a, b):\n    return a + b\n' >tool.py
printf 'from tool import add\n\ndef test_add():\n    assert add(2, 3) == 5\n' >test_tool.py

submit() { # ID ARGS...
    local id=$1
    shift
    it_expect_exit 0 it_atc submit --id "$id" "$@"
}
submit big --file big.py=big.py --cmd 'python3 big.py' --timeout 60
submit bomb --tests test_bomb.py --timeout 10
submit spin --tests test_spin.py --timeout 5
submit normal --code tool.py --tests test_tool.py --timeout 60
# The job's environment reaches its command, not the worker's own runner.
submit pyenv --code tool.py --env PYTHONHOME=/nonexistent --env PYTHONPATH=/nonexistent \
    --cmd 'echo hostile env; python3 -c pass || echo its python3 is broken' --timeout 30
# No PATH: the runner's mkdir, timeout and python3 still run; the command
# finds only what it names by absolute path.
submit pathenv --code tool.py --env PATH=/nonexistent \
    --cmd 'echo "path=$PATH"; /bin/cat tool.py; ls || echo "no ls on its PATH"' --timeout 30
# A preload that cannot load: ld.so warns once, for the command's own shell
# (echo is built in), not for each of the runner's programs.
submit preload --code tool.py --env LD_PRELOAD=/nonexistent.so \
    --cmd 'echo "preload=$LD_PRELOAD"' --timeout 30
# Values reach the command byte for byte: nothing in them is expanded or run.
quoted='it'"'"'s "q" $(touch MARK1) `touch MARK2` ${HOME} \ '"'"'\'"'"''"'"'; touch MARK3; '"'"
multi=$'line 1\n  line 2\n'
submit quoting --code tool.py --env "Q=$quoted" --env "M=$multi" --env 'E=' \
    --cmd 'printf "<%s>\n" "$Q" "$M" "${E-unset}"; ls MARK* 2>/dev/null && echo "a value ran"; exit 0' \
    --timeout 30
# pip sees the job's env too (its index), and the worker's PIP_USER=0 wins.
submit pipenv --code tool.py --tests test_tool.py --dep atc-no-such-package-zz9 \
    --env PIP_INDEX_URL=http://127.0.0.1:9/atc-index/ --env PIP_USER=1 --timeout 30
printf '%s\n' big bomb spin normal pyenv pathenv preload quoting pipenv >all.ids
bomb_count() { pgrep -c -f "^sleep ${mark//./[.]}\$" || true; }
it_wait_eq 60 "the fork bomb's 150 processes" 150 bomb_count
it_wait_all_final all.ids 120
it_assert_one_final_result all.ids

field() { it_redis HGET "atc:result:$1" "$2"; }
check() { # ID STATUS REASON
    it_assert_eq "$(field "$1" status)/$(field "$1" reason)" "$2/$3" "$1 status/reason"
    local n
    n=$(it_redis HSTRLEN "atc:result:$1" output)
    [[ "$n" -le "$MAX_OUT" ]] || it_fail "$1: output of $n bytes, over ATC_MAX_OUTPUT_BYTES=$MAX_OUT"
    it_log "$1: $(field "$1" status)/$(field "$1" reason), output $n bytes," \
        "truncated=$(field "$1" output_truncated), $(field "$1" duration_ms) ms"
}
check big failed command_failed
it_assert_eq "$(field big output_truncated)" 1 "big output_truncated"
it_assert_eq "$(field big exit_code)" 1 "big exit_code"
[[ "$(it_redis HSTRLEN atc:result:big output)" -ge $((MAX_OUT / 2)) ]] ||
    it_fail "big: the capped output keeps less than half the cap"
check bomb timeout test_timeout
check spin timeout test_timeout
check normal passed tests_passed
check pyenv passed tests_passed
it_assert_contains "$(field pyenv output)" "hostile env" "pyenv output"
it_assert_contains "$(field pyenv output)" "its python3 is broken" "pyenv output (the env reached it)"
check pathenv passed tests_passed
it_assert_contains "$(field pathenv output)" "path=/nonexistent" "pathenv output"
it_assert_contains "$(field pathenv output)" "def add(a, b):" "pathenv output (/bin/cat)"
it_assert_contains "$(field pathenv output)" "no ls on its PATH" "pathenv output (ls)"
check preload passed tests_passed
it_assert_contains "$(field preload output)" "preload=/nonexistent.so" "preload output"
it_assert_eq "$(field preload output | grep -c 'from LD_PRELOAD')" 1 \
    "ld.so warnings (only the command's shell may see the preload)"
check quoting passed tests_passed
it_assert_eq "$(field quoting output)" "<$quoted>"$'\n'"<$multi>"$'\n<>' "quoting output"
check pipenv error deps_failed
it_assert_contains "$(field pipenv install_output)" "http://127.0.0.1:9/atc-index/" \
    "pipenv install_output (pip used the job's index)"
[[ "$(field pipenv install_output)" != *"--user"* ]] || it_fail "pipenv: PIP_USER=1 reached pip"

it_wait_eq 15 "no live sandbox in daytona-local" 0 it_daytona_live
it_wait_eq 15 "no process of the fork bomb left" 0 bomb_count
kill -0 "$WORKER_PID" || it_fail "the worker died"
it_log "ok"
