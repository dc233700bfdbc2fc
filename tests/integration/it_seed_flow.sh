#!/usr/bin/env bash
# it_seed_flow.sh: the seed's flow on the local stack with a pyenv-like shim
# first on the caller's PATH: `atc submit --dep pytest --dep langchain-core` of
# a tool built with langchain_core.tools.tool passes (pip installs the deps in
# the sandbox with daytona-local's --python, not the shim), a failing test of
# the same tool fails, and no sandbox is left. Needs the Python package index:
# skipped (77) only where it cannot be reached.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../python_env.sh"

pypi_reachable /usr/bin/python3 ||
    it_skip "the Python package index cannot be reached: pytest and langchain-core cannot be installed in a sandbox"

# What pyenv leaves first on PATH when its shims folder is read-only: every
# python3/python/pip fails after its rehash. Every process below inherits it.
shims=$IT_TMP/shims
write_failing_shims "$shims"
export PATH="$shims:$PATH"
it_expect_exit 1 python3 -c pass
it_assert_contains "$IT_ERR" "cannot rehash" "the shim fails as pyenv's does"

it_start_redis
it_start_kafka
it_start_daytona
it_assert_eq "$(curl -fsS "$DAYTONA_BASE/_local/stats" | jq -r .python)" /usr/bin/python3 \
    "daytona-local's sandbox python (its --python default)"
ATC_CONCURRENCY=2 it_start_worker worker

cd "$IT_TMP"
cat >tool.py <<'PY'
from langchain_core.tools import tool


@tool
def word_count(text: str) -> int:
    """Counts the words in a text."""
    return len(text.split())
PY
cat >test_tool.py <<'PY'
from tool import word_count


def test_is_a_langchain_tool():
    assert word_count.name == "word_count"
    assert "Counts the words" in word_count.description


def test_invoke():
    assert word_count.invoke({"text": "one two  three"}) == 3
PY
cat >test_tool_wrong.py <<'PY'
from tool import word_count


def test_invoke_wrong():
    assert word_count.invoke({"text": "one two"}) == 3
PY

it_expect_exit 0 it_atc submit --id it-seed.pass --code tool.py --tests test_tool.py \
    --dep pytest --dep langchain-core --timeout 120 --wait --wait-timeout 400
it_assert_eq "$(it_redis hget atc:result:it-seed.pass status)" passed \
    "the seed's job (install: $(it_redis hget atc:result:it-seed.pass install_output | tail -n 3); output: $(it_redis hget atc:result:it-seed.pass output | tail -n 5))"
it_assert_eq "$(it_redis hget atc:result:it-seed.pass tests_passed)" 2 "tests passed"

it_expect_exit 1 it_atc submit --id it-seed.fail --code tool.py --tests test_tool_wrong.py \
    --dep pytest --dep langchain-core --timeout 120 --wait --wait-timeout 400
it_assert_eq "$(it_redis hget atc:result:it-seed.fail status)" failed "a failing test of the same tool"
it_assert_eq "$(it_redis hget atc:result:it-seed.fail reason)" tests_failed "its reason"
it_assert_contains "$(it_redis hget atc:result:it-seed.fail output)" "assert 2 == 3" "pytest's output"

it_wait_eq 30 "no sandbox left live" 0 it_daytona_live
it_log "PASS"
