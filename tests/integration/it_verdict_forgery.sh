#!/usr/bin/env bash
# it_verdict_forgery.sh: code under test that tries to write its own verdict.
# A conftest.py whose pytest_sessionfinish sets the exit status to 0, a tool
# whose atexit hook calls os._exit(0), a test that calls os._exit(0) before
# pytest can write its report, a job shipping its own pytest.py (and
# sitecustomize.py, a .pth file, a file under .atc/) sent straight to Kafka:
# none may end `passed`. An honest job beside them still passes.
# kafka-mock only: its subject is the sandbox side (Daytona, the runner, Redis);
# the Kafka path it takes is the one the integration.real.* tests cover.
source "$(dirname "$0")/lib.sh"
source "$IT_LIB_DIR/msgpack.sh"

it_start_redis
it_start_kafka --partitions 2
it_start_daytona --confine
ATC_CONCURRENCY=4 it_start_worker worker
it_wait_for 60 "the worker in the group" curl -fsS "$WORKER_HTTP/readyz"

cd "$IT_TMP"
printf 'def add(a, b):\n    return a + b\n' >tool.py
printf 'from tool import add\n\ndef test_add():\n    assert add(2, 3) == 5\n' >test_tool.py
printf 'from tool import add\n\ndef test_add():\n    assert add(2, 3) == 6\n' >test_bad.py

# 1. The session's exit status rewritten at the end.
cat >conftest.py <<'PY'
def pytest_sessionfinish(session, exitstatus):
    session.exitstatus = 0
PY
# 2. Whatever pytest decides, the interpreter exits 0.
cat >tool_atexit.py <<'PY'
import atexit, os
atexit.register(lambda: os._exit(0))

def add(a, b):
    return a + b
PY
printf 'from tool_atexit import add\n\ndef test_add():\n    assert add(2, 3) == 6\n' >test_atexit.py
# 3. The test kills its interpreter with status 0 before any report exists.
printf 'import os\n\ndef test_quit():\n    os._exit(0)\n' >test_quit.py

submit() { # ID ARGS...
    local id=$1
    shift
    it_expect_exit 0 it_atc submit --id "$id" "$@"
}
submit honest --code tool.py --tests test_tool.py
submit sessionfinish --code tool.py --file conftest.py=conftest.py --tests test_bad.py
submit atexit --file tool_atexit.py=tool_atexit.py --tests test_atexit.py
submit quit --tests test_quit.py

# 4. Files a well-behaved producer refuses to send (atc submit checks the
# same rules), straight to Kafka: a pytest.py printing "1 passed", and the
# other names that run before or instead of pytest.
fake_pytest='import sys
print("1 passed in 0.01s")
sys.exit(0)
'
raw_job() { # ID PATH CONTENTS: a job with test_bad.py and one more file
    { mp_map 3; mp_str v; mp_uint 1; mp_str id; mp_str "$1"; mp_str files; mp_map 2
      mp_str test_bad.py; mp_str "$(cat test_bad.py)"; mp_str "$2"; mp_str "$3"; }
}
{
    for spec in "shadow pytest.py" "sitecust sitecustomize.py" "usercust usercustomize.py" \
        "pth evil.pth" "atcdir .atc/report.xml" "pkgdir pytest/__init__.py" \
        "underscore _pytest/main.py"; do
        set -- $spec
        printf '%s\xff' "$1"
        raw_job "$1" "$2" "$fake_pytest"
        printf '\xfe'
    done
} >raw.msgs
kcat -P -b "$ATC_BROKERS" -t atc.jobs -K '\xff' -D '\xfe' <raw.msgs 2>kcat.err ||
    it_fail "kcat: $(cat kcat.err)"

printf '%s\n' honest sessionfinish atexit quit shadow sitecust usercust pth atcdir pkgdir \
    underscore >all.ids
it_wait_all_final all.ids 120
it_assert_one_final_result all.ids

field() { it_redis HGET "atc:result:$1" "$2"; }
for id in $(cat all.ids); do
    it_log "$id: $(field "$id" status)/$(field "$id" reason): $(field "$id" error)"
done
it_assert_eq "$(field honest status)/$(field honest reason)" passed/tests_passed "honest"
it_assert_eq "$(field honest tests_passed)" 1 "honest tests_passed"
for id in sessionfinish atexit quit shadow sitecust usercust pth atcdir pkgdir underscore; do
    [[ "$(field "$id" status)" != passed ]] || it_fail "$id: a forged verdict ended passed"
done
# The exit status said 0, the fleet's report said a test failed.
it_assert_eq "$(field sessionfinish status)/$(field sessionfinish reason)" \
    failed/verdict_contradiction "sessionfinish"
it_assert_eq "$(field sessionfinish exit_code)" 0 "sessionfinish exit_code"
it_assert_contains "$(field sessionfinish error)" "exit status 0" "sessionfinish error"
it_assert_eq "$(field sessionfinish tests_failed)" 1 "sessionfinish tests_failed"
it_assert_eq "$(field atexit status)/$(field atexit reason)" failed/verdict_contradiction "atexit"
it_assert_eq "$(field quit status)/$(field quit reason)" failed/no_report "quit"
for id in shadow sitecust usercust pth atcdir pkgdir underscore; do
    it_assert_eq "$(field "$id" status)/$(field "$id" reason)" rejected/bad_message "$id"
    it_assert_contains "$(field "$id" error)" "reserved" "$id error"
done
it_wait_eq 15 "no live sandbox in daytona-local" 0 it_daytona_live
it_log "ok"
