"""test_agent_call.py: the agent's own call, verbatim, through
atc_fleet.DaytonaManager against the live stack: no test_code (the tests
travel inside tool_code), dependencies pytest and langchain-core, timeout as
an int or a float, and the constructors the old class had."""

import pytest

from atc_fleet import DaytonaManager
from conftest import pypi_reachable

# What the agent generates: a langchain tool whose tests are in the same file.
LANGCHAIN_TOOL = '''from langchain_core.tools import tool


@tool
def word_count(text: str) -> int:
    """Counts the words in a text."""
    return len(text.split())


def test_word_count():
    assert word_count.invoke({"text": "one two  three"}) == 3


def test_is_a_tool():
    assert word_count.name == "word_count"
'''

# The same shape with nothing to install: runs where the index is out of reach.
PLAIN_TOOL = '''def tool(f):
    f.is_tool = True
    return f


@tool
def word_count(text: str) -> int:
    return len(text.split())


def test_word_count():
    assert word_count("one two  three") == 3


def test_is_a_tool():
    assert word_count.is_tool
'''
PLAIN_TOOL_WRONG = PLAIN_TOOL + '''

def test_word_count_wrong():
    assert word_count("one two") == 3, "miscounted"
'''
NO_TESTS = "def word_count(text):\n    return len(text.split())\n"


class DaytonaConfig:
    """Stands for daytona.DaytonaConfig, which the agent passed to the old class."""

    def __init__(self, api_key=None, api_url=None, target=None):
        self.api_key, self.api_url, self.target = api_key, api_url, target


def agent_call(manager, generated_code, dependencies):
    """The agent's code, verbatim but for the dependency list (a parameter so
    the offline variant can use one that needs no index)."""
    printed = []
    print = printed.append  # noqa: A001 - what the agent prints is checked
    result = manager.run_code_with_tests(
        tool_code=generated_code,
        dependencies=dependencies,
        timeout=60
    )
    if result["success"]: ...
    else: print(f"Tests failed: {result['output']}")
    return result, printed


def test_agent_call__langchain_tool_with_its_tests_inside__passes(fleet_env):
    if not pypi_reachable():
        pytest.skip("the Python package index cannot be reached: pytest and langchain-core "
                    "cannot be installed in a sandbox")
    manager = DaytonaManager(DaytonaConfig(api_key="agent-key"))
    generated_code = LANGCHAIN_TOOL
    # Verbatim, as the agent calls it.
    result = manager.run_code_with_tests(
        tool_code=generated_code,
        dependencies=["pytest", "langchain-core"],
        timeout=60
    )
    if result["success"]: ...
    else: print(f"Tests failed: {result['output']}")
    manager.close()
    assert result["success"] is True, result["output"]
    assert "2 passed" in result["output"]


def test_agent_call__tests_inside_tool_code__run_without_test_code(fleet_env):
    manager = DaytonaManager(api_key="agent-key", api_url="https://example.invalid/api")
    try:
        result, printed = agent_call(manager, PLAIN_TOOL, [])
        assert result["success"] is True and printed == [], result["output"]
        assert "2 passed" in result["output"]
        result, printed = agent_call(manager, PLAIN_TOOL_WRONG, [])
        assert result["success"] is False
        assert "miscounted" in result["output"] and "1 failed, 2 passed" in result["output"]
        assert printed and printed[0].startswith("Tests failed: ")
    finally:
        manager.close()


def test_agent_call__tool_code_without_tests__does_not_succeed(fleet_env):
    manager = DaytonaManager()
    try:
        result, _ = agent_call(manager, NO_TESTS, [])
    finally:
        manager.close()
    assert result["success"] is False
    assert "no_tests" in result["output"] or "no tests ran" in result["output"]


def test_run_code_with_tests__float_timeout__is_accepted(client):
    result = DaytonaManager(client=client).run_code_with_tests(PLAIN_TOOL, timeout=30.5)
    assert result["success"] is True, result["output"]


def test_run_code_with_tests__negative_timeout__fails_without_submitting(client):
    result = DaytonaManager(client=client).run_code_with_tests(PLAIN_TOOL, timeout=-1.0)
    assert result["success"] is False and "timeout" in result["output"]


def test_run_code_with_tests__separate_test_code__still_imports_tool(client):
    tests = "from tool import word_count\n\ndef test_it():\n    assert word_count('a b') == 2\n"
    result = DaytonaManager(client=client).run_code_with_tests(PLAIN_TOOL, tests, [], 60.0)
    assert result["success"] is True and "1 passed" in result["output"], result["output"]
