"""manager.py: the agent's old sandbox manager's interface on top of the fleet:
run_code_with_tests(tool_code, test_code=None, dependencies, timeout) returning
{"success": bool, "output": str}, so the agent switches by changing an import."""

import math
import threading

from .client import Client, SubmitError

# Time, past the test run's own limit, that a call waits for its result:
# queueing, sandbox creation and installing dependencies.
DEFAULT_WAIT_MARGIN_S = 600


def _output_of(r):
    """The test output, with what explains a run that did not get that far."""
    parts = []
    if r.status not in ("passed", "failed") and r.error:
        parts.append("%s (%s): %s" % (r.status, r.reason or "-", r.error))
    if r.install_output:
        parts.append(r.install_output)
    if r.output:
        parts.append(r.output)
    if not parts:
        parts.append("%s (%s)" % (r.status, r.reason or "-"))
    return "\n".join(p.rstrip("\n") for p in parts) + "\n"


# Where the code goes in the sandbox. Without test_code the tool file is itself
# the test module, so it gets a name pytest collects (test_*.py).
TOOL_FILE = "tool.py"
TESTS_FILE = "test_tool.py"


def _timeout_s(timeout):
    """The job's timeout_s: whole seconds, a float rounded up; None or 0: the default."""
    if timeout is None or timeout == 0:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or \
            not math.isfinite(timeout) or timeout < 0:
        raise ValueError("timeout: %r is not a number of seconds >= 0" % (timeout,))
    return int(math.ceil(timeout))


def run_code_with_tests(tool_code, test_code=None, dependencies=None, timeout=60, client=None,
                        wait_margin_s=DEFAULT_WAIT_MARGIN_S, **submit_args):
    """Runs test_code (uploaded as test_tool.py) against tool_code (tool.py)
    with pip dependencies in a fleet sandbox. Without test_code, tool_code is
    itself the test module (uploaded as test_tool.py): its test_* functions are
    the tests. timeout is the test run's limit in seconds (int or float).
    Returns {"success": True only when the tests passed, "output": the test
    output, or why it did not run}; never raises for a job that breaks a rule,
    a broker out of reach or no result in time."""
    own = client is None
    c = None
    try:
        try:
            timeout_s = _timeout_s(timeout)
            files = {TOOL_FILE: tool_code, TESTS_FILE: test_code} if test_code is not None \
                else {TESTS_FILE: tool_code}
            c = Client() if own else client
            job_id = c.submit(files=files, deps=list(dependencies or []), timeout=timeout_s,
                              **submit_args)
        except (ValueError, SubmitError, TimeoutError) as e:
            return {"success": False, "output": "the job was not submitted: %s\n" % e}
        wait_s = (timeout_s or 60) + wait_margin_s
        try:
            r = c.wait(job_id, wait_s)
        except TimeoutError as e:
            return {"success": False, "output": "no result within %d s: %s\n" % (wait_s, e)}
        return {"success": r.status == "passed", "output": _output_of(r)}
    finally:
        if own and c is not None:
            c.close()


class DaytonaManager:
    """Drop-in for the agent's old DaytonaManager: the same constructor and
    method, run on the fleet. The old class was built as DaytonaManager(),
    DaytonaManager(config) with the SDK's DaytonaConfig, or
    DaytonaManager(api_key=..., api_url=..., target=...): all are accepted and
    the Daytona settings ignored (the workers hold the fleet's). client= gives
    an atc_fleet.Client to use; otherwise one is made from the environment
    (ATC_BROKERS, ATC_REDIS_URL, ...) at the first call and shared by the calls."""

    def __init__(self, config=None, *args, client=None, api_key=None, api_url=None, target=None,
                 **kwargs):
        self.config = config            # kept for code that reads it back
        self._client = client
        self._lock = threading.Lock()

    def _get_client(self):
        with self._lock:
            if self._client is None:
                self._client = Client()
            return self._client

    def run_code_with_tests(self, tool_code, test_code=None, dependencies=None, timeout=60):
        """See the module-level run_code_with_tests."""
        return run_code_with_tests(tool_code, test_code, dependencies, timeout,
                                   client=self._get_client())

    def close(self):
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
