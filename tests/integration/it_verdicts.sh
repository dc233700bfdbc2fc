#!/usr/bin/env bash
# it_verdicts.sh: what the fleet's pytest plugin adds to a result (issue 13).
# A suite whose second test hangs: it ends `timeout` at the per-test limit,
# its stack where it hung in the digest, and the first and third tests keep
# their outcomes. A test that fails once and passes when run again is `flaky`
# and the job failed/flaky. A failing assertion's digest stays under the cap,
# names the assertion and no pytest-internal frame. Coverage of a tool half of
# whose functions are tested, and the lint lists. An install failure's digest
# is pip's reason. Forging the side report never makes a failed job pass.
# kafka-mock only: its subject is the sandbox side (Daytona, the runner, Redis);
# the Kafka path it takes is the one the integration.real.* tests cover.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 2
it_start_daytona --confine
ATC_CONCURRENCY=4 ATC_DIGEST_BYTES=600 it_start_worker worker
it_wait_for 60 "the worker in the group" curl -fsS "$WORKER_HTTP/readyz"

cd "$IT_TMP"
cat >tool.py <<'PY'
def add(a, b):
    return a + b


def sub(a, b):
    d = a - b
    return d


def mul(a, b):
    p = a * b
    return p


def div(a, b):
    q = a / b
    return q
PY
# 1. The second test hangs; the first and third must keep their outcomes.
cat >test_hang.py <<'PY'
import time
from tool import add, sub


def test_first():
    assert add(1, 2) == 3


def test_second_hangs():
    while True:
        time.sleep(0.05)


def test_third():
    assert sub(3, 1) == 2
PY
# 2. Fails on its first run, passes on the next (a mark in the work dir).
cat >test_flaky.py <<'PY'
import os
from tool import add


def test_sometimes():
    if not os.path.exists("ran.once"):
        open("ran.once", "w").close()
        assert add(1, 1) == 3
    assert add(1, 1) == 2


def test_steady():
    assert add(2, 2) == 4
PY
# 3. A failing assertion inside the tool's call chain, three times over.
cat >helper.py <<'PY'
from tool import add


def check_sum(a, b, want):
    got = add(a, b)
    assert got == want, "add(%d, %d) gave %d, wanted %d" % (a, b, got, want)
PY
cat >test_digest.py <<'PY'
import pytest
from helper import check_sum


@pytest.mark.parametrize("a", [1, 2, 3])
def test_wrong(a):
    check_sum(1, 1, -1)


def test_boom():
    raise ValueError("the tool was handed nothing")
PY
# 4. Half of the tool's functions tested (add, sub), one test that asserts
# nothing and one that imports nothing from the tool.
cat >test_cov.py <<'PY'
from tool import add, sub


def test_add():
    assert add(2, 3) == 5


def test_sub():
    assert sub(2, 3) == -1


def test_calls_only():
    add(1, 1)
PY
cat >test_alone.py <<'PY'
def test_nothing_from_tool():
    assert 1 + 1 == 2
PY

# 6. A job that rewrites the side report to call its failure flaky: at most
# the reason changes; the status stays failed.
cat >conftest.py <<'PY'
import json
import pytest


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    side = session.config.getoption("--atc-side")
    with open(side, "w") as f:
        json.dump({"v": 1, "tests": [{"classname": "test_bad", "name": "test_add",
                                      "outcome": "flaky", "runs": 2}]}, f)
PY
printf 'from tool import add\n\ndef test_add():\n    assert add(2, 3) == 6\n' >test_bad.py

submit() { it_expect_exit 0 it_atc submit "$@"; }
submit --id forged --code tool.py --tests test_bad.py --file conftest.py=conftest.py
submit --id hang --code tool.py --tests test_hang.py --test-timeout 2 --timeout 60
submit --id flaky --code tool.py --tests test_flaky.py
submit --id noreruns --code tool.py --tests test_flaky.py --reruns 0
submit --id digest --code tool.py --file helper.py=helper.py --tests test_digest.py --reruns 0
submit --id cov --code tool.py --tests test_cov.py --file test_alone.py=test_alone.py
submit --id pipfail --code tool.py --tests test_cov.py --dep 'atc-no-such-package==9'
printf '%s\n' hang flaky noreruns digest cov pipfail forged >all.ids
it_wait_all_final all.ids 180
it_assert_one_final_result all.ids

field() { it_redis HGET "atc:result:$1" "$2"; }
json() { it_atc get "$1" --json; }
outcome() { # ID TESTNAME
    json "$1" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
print(" ".join(t["outcome"] for t in r["tests"] if t["name"] == sys.argv[1]))' "$2"
}
for id in $(cat all.ids); do
    it_log "$id: $(field "$id" status)/$(field "$id" reason) digest:
$(field "$id" digest)"
done

# 1. The hung test.
it_assert_eq "$(field hang status)/$(field hang reason)" failed/tests_failed "hang"
it_assert_eq "$(outcome hang test_first)" passed "hang: first test"
it_assert_eq "$(outcome hang test_second_hangs)" timeout "hang: second test"
it_assert_eq "$(outcome hang test_third)" passed "hang: third test"
it_assert_eq "$(field hang tests_timeout)" 1 "hang tests_timeout"
it_assert_eq "$(field hang test_timeout_s)" 2 "hang test_timeout_s"
it_assert_contains "$(field hang digest)" "timeout test_hang::test_second_hangs" "hang digest"
it_assert_contains "$(field hang digest)" "test_hang.py:11 in test_second_hangs: time.sleep(0.05)" \
    "hang digest: the stack where it hung"
test_ms=$(field hang test_ms)
[[ $test_ms -lt 30000 ]] || it_fail "hang: the run took $test_ms ms; the 2 s limit did not cut the test"

# 2. Flaky.
it_assert_eq "$(field flaky status)/$(field flaky reason)" failed/flaky "flaky"
it_assert_eq "$(outcome flaky test_sometimes)" flaky "flaky: test_sometimes"
it_assert_eq "$(outcome flaky test_steady)" passed "flaky: test_steady"
it_assert_eq "$(field flaky tests_flaky)" 1 "flaky tests_flaky"
it_assert_eq "$(field flaky reruns)" 1 "flaky reruns (the worker's default)"
[[ -n "$(field flaky rerun_ms)" ]] || it_fail "flaky: no rerun_ms"
it_assert_eq "$(field flaky python_hash_seed)" 0 "flaky python_hash_seed"
it_assert_eq "$(field flaky tz)" UTC "flaky tz"
# Without reruns the same suite is an ordinary failure.
it_assert_eq "$(field noreruns status)/$(field noreruns reason)" failed/tests_failed "noreruns"
it_assert_eq "$(outcome noreruns test_sometimes)" failed "noreruns: test_sometimes"

# 3. The digest.
d=$(field digest digest)
[[ ${#d} -le 600 ]] || it_fail "digest: ${#d} bytes, over ATC_DIGEST_BYTES=600"
it_assert_contains "$d" "failed test_digest::test_wrong[1] (same failure: test_digest::test_wrong[2], test_digest::test_wrong[3])" \
    "digest folds the same assertion"
it_assert_contains "$d" "AssertionError: add(1, 1) gave 2, wanted -1" "digest names the assertion"
it_assert_contains "$d" "helper.py:6 in check_sum: assert got == want" "digest: the tool's frame"
it_assert_contains "$d" "ValueError: the tool was handed nothing" "digest: the exception"
if grep -Eq '_pytest|pluggy|site-packages|dist-packages|\.atc/' <<<"$d"; then
    it_fail "digest holds a frame outside the job's files: $d"
fi
raw=$(field digest output)
it_assert_contains "$raw" "FAILED test_digest.py::test_boom - ValueError" "the raw output stays as it was"

# 4. Coverage and lint.
cov=$(field cov coverage_pct)
it_log "coverage of tool.py: $cov%"
/usr/bin/python3 -c "import sys; c = float(sys.argv[1]); sys.exit(0 if 35 <= c <= 65 else 1)" "$cov" ||
    it_fail "coverage of a tool half of whose functions are tested is $cov%"
lint=$(json cov | /usr/bin/python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["lint"], sort_keys=True))')
it_assert_contains "$lint" '"tests_without_assert": ["test_cov.py::test_calls_only"]' "lint: no assert"
it_assert_contains "$lint" '"tests_not_importing_tool": ["test_alone.py::test_nothing_from_tool"]' \
    "lint: no import"
it_assert_eq "$(field cov status)" passed "cov"
text=$(it_atc get cov)
it_assert_contains "$text" "coverage: $cov%" "atc get shows coverage"
it_assert_contains "$text" "lint: tests that assert nothing: test_cov.py::test_calls_only" "atc get shows lint"

# 5. pip's reason.
it_assert_eq "$(field pipfail status)/$(field pipfail reason)" error/deps_failed "pipfail"
it_assert_contains "$(field pipfail digest)" "install failed: ERROR:" "pipfail digest"

# 6. The forged side report.
it_assert_eq "$(field forged status)" failed "forged: the side report cannot pass a failing job"
it_assert_eq "$(field forged exit_code)" 1 "forged exit_code"

it_wait_eq 15 "no live sandbox in daytona-local" 0 it_daytona_live
it_log "ok"
