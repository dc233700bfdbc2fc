"""manager.py: the agent's old sandbox manager's interface on top of the fleet:
run_code_with_tests(tool_code, test_code, dependencies, timeout) returning
{"success": bool, "output": str}, so the agent switches by changing an import."""

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


def run_code_with_tests(tool_code, test_code, dependencies=None, timeout=60, client=None,
                        wait_margin_s=DEFAULT_WAIT_MARGIN_S, **submit_args):
    """Runs test_code (uploaded as test_tool.py) against tool_code (tool.py)
    with pip dependencies in a fleet sandbox. Returns {"success": True only
    when the tests passed, "output": the test output, or why it did not run}."""
    own = client is None
    c = Client() if own else client
    try:
        try:
            job_id = c.submit(code=tool_code, tests=test_code, deps=list(dependencies or []),
                              timeout=int(timeout) if timeout else None, **submit_args)
        except (ValueError, SubmitError, TimeoutError) as e:
            return {"success": False, "output": "the job was not submitted: %s\n" % e}
        wait_s = (int(timeout) if timeout else 60) + wait_margin_s
        try:
            r = c.wait(job_id, wait_s)
        except TimeoutError as e:
            return {"success": False, "output": "no result within %d s: %s\n" % (wait_s, e)}
        return {"success": r.status == "passed", "output": _output_of(r)}
    finally:
        if own:
            c.close()


class DaytonaManager:
    """Drop-in for the agent's old DaytonaManager: the same method, run on the
    fleet. Arguments the old class took (API keys, targets) are accepted and
    ignored; the fleet's are the workers'. One Client is shared by the calls."""

    def __init__(self, *args, client=None, **kwargs):
        self._client = client
        self._lock = threading.Lock()

    def _get_client(self):
        with self._lock:
            if self._client is None:
                self._client = Client()
            return self._client

    def run_code_with_tests(self, tool_code, test_code, dependencies=None, timeout=60):
        return run_code_with_tests(tool_code, test_code, dependencies, timeout,
                                   client=self._get_client())

    def close(self):
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
