# atc_fleet_plugin: the fleet's pytest plugin, written by atc-worker into the
# sandbox at .atc/py/ with the job's files and loaded with -p by the default
# test command (docs/results.md, "What the plugin adds").
#
# It adds detail to a run; it never decides the verdict. The verdict is the
# exit status and the fleet's JUnit report, which this plugin only ever makes
# stricter: a flaky test's failing first run and a timed-out test's failure are
# logged to pytest as failures, so the JUnit report and the exit status say
# "failed" whatever the side report says. Job code runs in this interpreter and
# can rewrite anything here; the worker reads the side report as hints that can
# turn a failed test into `flaky` or `timeout`, never into `passed`.
#
#   --atc-test-timeout=S  per-test limit in seconds (0: none): SIGALRM raises
#                         AtcTestTimeout in the test; faulthandler kills the
#                         process S+10 s later if the test never returns to Python
#   --atc-reruns=N        a failed test is run again up to N times
#   --atc-side=PATH       the JSON side report (beside the JUnit report)
#   --atc-coverage=0|1    line coverage of the job's non-test .py files
import ast
import faulthandler
import json
import os
import signal
import sys
import threading
import time

import pytest
from _pytest.junitxml import mangle_test_address
from _pytest.runner import runtestprotocol

_ATC_DIR = os.path.abspath(".atc")
_ROOT = os.path.abspath(".")


class AtcTestTimeout(BaseException):
    """Raised in a test that ran past --atc-test-timeout (a BaseException, so
    an `except Exception` in the test cannot swallow it)."""


def pytest_addoption(parser):
    g = parser.getgroup("atc-fleet")
    g.addoption("--atc-test-timeout", type=float, default=0.0)
    g.addoption("--atc-reruns", type=int, default=0)
    g.addoption("--atc-side", default=None)
    g.addoption("--atc-coverage", type=int, default=0)


class _State:
    def __init__(self, config):
        self.timeout = max(0.0, config.getoption("--atc-test-timeout"))
        self.reruns = max(0, config.getoption("--atc-reruns"))
        self.side = config.getoption("--atc-side")
        self.tests = {}
        self.test_files = set()
        self.cov = _Coverage() if config.getoption("--atc-coverage") else None
        self.cov_ms = 0.0
        self.rerun_ms = 0.0


_state = None


def pytest_configure(config):
    global _state
    if config.getoption("--atc-side") is None:
        return
    _state = _State(config)
    if _state.cov is not None:
        _state.cov.start()


def _own_file(path):
    """The path relative to the work directory for a job's own file, else None."""
    try:
        ap = os.path.abspath(path)
    except (TypeError, ValueError):
        return None
    if not ap.startswith(_ROOT + os.sep) or ap.startswith(_ATC_DIR + os.sep):
        return None
    return os.path.relpath(ap, _ROOT)


def _frames(tb):
    out = []
    while tb is not None:
        f = tb.tb_frame
        rel = _own_file(f.f_code.co_filename)
        if rel is not None:
            import linecache
            code = linecache.getline(f.f_code.co_filename, tb.tb_lineno).strip()
            out.append([rel, tb.tb_lineno, f.f_code.co_name, code[:200]])
        tb = tb.tb_next
    return out


def _exc_line(exc):
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    name = type(exc).__name__
    return (name + ": " + first if first else name)[:300]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if _state is None:
        return
    rep = outcome.get_result()
    if call.excinfo is not None and rep.failed:
        item._atc_exc = (_exc_line(call.excinfo.value), _frames(call.excinfo.tb),
                         call.excinfo.errisinstance(AtcTestTimeout))


def _alarm(signum, frame):
    raise AtcTestTimeout("the test ran longer than %g s (--atc-test-timeout)" % _state.timeout)


def _run_once(item, nextitem):
    item._atc_exc = None
    use_alarm = _state.timeout > 0 and threading.current_thread() is threading.main_thread()
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, _state.timeout)
        faulthandler.dump_traceback_later(_state.timeout + 10, exit=True)
    try:
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            faulthandler.cancel_dump_traceback_later()
            signal.signal(signal.SIGALRM, old)
    return reports, item._atc_exc


def _failed(reports):
    return any(r.failed for r in reports)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    if _state is None:
        return None
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    reports, exc = _run_once(item, nextitem)
    outcome, runs = None, 1
    timed_out = exc is not None and exc[2]
    if timed_out:
        outcome = "timeout"
    elif _failed(reports):
        t0 = time.monotonic()
        for _ in range(_state.reruns):
            if hasattr(item, "_initrequest"):
                item._initrequest()
            again, _exc2 = _run_once(item, nextitem)
            runs += 1
            if not _failed(again):
                outcome = "flaky"
                break
        _state.rerun_ms += (time.monotonic() - t0) * 1000
    # The first run's reports are the ones pytest (and so the JUnit report and
    # the exit status) sees: a flaky test stays a failure there.
    for r in reports:
        item.ihook.pytest_runtest_logreport(report=r)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    if _failed(reports):
        names = mangle_test_address(item.nodeid)
        entry = {"classname": ".".join(names[:-1]), "name": names[-1], "runs": runs}
        if outcome:
            entry["outcome"] = outcome
        if exc is not None:
            entry["exception"], entry["frames"] = exc[0], exc[1]
        _state.tests[item.nodeid] = entry
    return True


# ---- lint: tests that assert nothing, tests that import nothing from the tool


def _lint(session, tool_modules):
    no_assert, no_import = [], []
    files = {}
    for item in session.items:
        path = str(getattr(item, "fspath", ""))
        rel = _own_file(path)
        if rel is None or not rel.endswith(".py"):
            continue
        if rel not in files:
            try:
                with open(path, "rb") as f:
                    tree = ast.parse(f.read())
            except (OSError, SyntaxError, ValueError):
                continue
            imported = set()
            funcs = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    imported.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    imported.add(node.module.split(".")[0])
                elif isinstance(node, ast.ImportFrom) and node.level > 0:
                    imported.update(a.name for a in node.names)
                    if node.module:
                        imported.add(node.module.split(".")[0])
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    funcs.setdefault(node.name, node)
            files[rel] = (bool(imported & tool_modules), funcs)
        imports_tool, funcs = files[rel]
        fname = getattr(item, "originalname", None) or item.name
        node = funcs.get(fname)
        if node is not None and not _asserts(node):
            no_assert.append(item.nodeid)
        if not imports_tool:
            no_import.append(item.nodeid)
    return {"tests_without_assert": no_assert[:100], "tests_not_importing_tool": no_import[:100]}


def _asserts(fn):
    for node in ast.walk(fn):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.With):  # pytest.raises / pytest.warns
            return True
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name.startswith("assert") or name in ("fail", "raises", "warns", "approx"):
                return True
    return False


# ---- coverage: sys.monitoring (3.12+) or sys.settrace, over the job's own
# non-test .py files; executable lines from the code objects' line tables.


class _Coverage:
    def __init__(self):
        self.hit = {}
        self.why = None

    def _mine(self, filename):
        rel = _own_file(filename)
        if rel is None or not rel.endswith(".py"):
            return None
        base = os.path.basename(rel)
        if base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py":
            return None
        return rel

    def start(self):
        mon = getattr(sys, "monitoring", None)
        if mon is not None:
            try:
                tool = mon.COVERAGE_ID
                mon.use_tool_id(tool, "atc-fleet")
            except (ValueError, AttributeError) as e:
                self.why = "sys.monitoring unavailable: %s" % e
                return
            hit, mine, cache = self.hit, self._mine, {}

            def on_line(code, line):
                fn = code.co_filename
                rel = cache.get(fn, 0)
                if rel == 0:
                    rel = cache[fn] = mine(fn)
                if rel is None:
                    return mon.DISABLE
                hit.setdefault(rel, set()).add(line)
                return mon.DISABLE

            mon.register_callback(tool, mon.events.LINE, on_line)
            mon.set_events(tool, mon.events.LINE)
            self._mon = tool
            return
        # sys.settrace: a line event costs a Python call, so a code object
        # whose executable lines have all been seen is traced no more (its
        # later frames run untraced), and a frame stops tracing lines once
        # its code object is complete.
        hit, mine, cache = self.hit, self._mine, {}
        want, seen, done = {}, {}, set()

        def local(frame, event, arg):
            if event == "line":
                code = frame.f_code
                s = seen[code]
                if frame.f_lineno not in s:
                    s.add(frame.f_lineno)
                    hit[cache[code.co_filename]].add(frame.f_lineno)
                    if len(s) >= want[code]:
                        done.add(code)
                        frame.f_trace_lines = False
            return local

        def glob(frame, event, arg):
            code = frame.f_code
            if code in done:
                return None
            fn = code.co_filename
            rel = cache.get(fn, 0)
            if rel == 0:
                rel = cache[fn] = mine(fn)
                if rel is not None:
                    hit.setdefault(rel, set())
            if rel is None:
                return None
            if code not in want:
                lines = {ln for _s, _e, ln in code.co_lines() if ln is not None}
                if code.co_name != "<module>":
                    # A function's first line (its def) raises no line event
                    # here; the module's code covers it.
                    lines.discard(code.co_firstlineno)
                want[code] = len(lines)
                seen[code] = set()
                if not lines:
                    done.add(code)
                    return None
            return local

        sys.settrace(glob)
        threading.settrace(glob)

    def stop(self):
        if getattr(self, "_mon", None) is not None:
            sys.monitoring.set_events(self._mon, 0)
            sys.monitoring.free_tool_id(self._mon)
        else:
            sys.settrace(None)
            threading.settrace(None)

    def result(self):
        if self.why:
            return {"unavailable": self.why}
        files = {}
        total = covered = 0
        for dirpath, dirnames, filenames in os.walk(_ROOT):
            dirnames[:] = [d for d in dirnames if d not in (".atc", "__pycache__") and not d.startswith(".")]
            for fn in filenames:
                rel = self._mine(os.path.join(dirpath, fn))
                if rel is None:
                    continue
                lines = _executable_lines(os.path.join(dirpath, fn))
                if lines is None:
                    continue
                got = self.hit.get(rel, set()) & lines
                files[rel] = [len(got), len(lines)]
                total += len(lines)
                covered += len(got)
        if total == 0:
            return {"unavailable": "the job has no non-test Python file with executable lines"}
        return {"pct": round(100.0 * covered / total, 1), "files": files}


def _executable_lines(path):
    try:
        with open(path, "rb") as f:
            code = compile(f.read(), path, "exec")
    except (OSError, SyntaxError, ValueError):
        return None
    lines = set()
    stack = [code]
    while stack:
        c = stack.pop()
        for _s, _e, line in c.co_lines():
            if line is not None:
                lines.add(line)
        stack.extend(k for k in c.co_consts if hasattr(k, "co_lines"))
    return lines


def pytest_sessionfinish(session, exitstatus):
    if _state is None or not _state.side:
        return
    side = {
        "v": 1,
        "tests": list(_state.tests.values()),
        "test_timeout_s": _state.timeout,
        "reruns": _state.reruns,
        "rerun_ms": int(_state.rerun_ms),
    }
    if _state.cov is not None:
        t0 = time.monotonic()
        _state.cov.stop()
        side["coverage"] = _state.cov.result()
        side["coverage_report_ms"] = int((time.monotonic() - t0) * 1000)
    try:
        tool = set()
        for dirpath, dirnames, filenames in os.walk(_ROOT):
            dirnames[:] = [d for d in dirnames if d not in (".atc", "__pycache__")]
            for fn in filenames:
                if fn.endswith(".py") and not (fn.startswith("test_") or fn.endswith("_test.py")
                                               or fn == "conftest.py"):
                    tool.add(fn[:-3])
            for d in dirnames:
                if os.path.exists(os.path.join(dirpath, d, "__init__.py")):
                    tool.add(d)
        side["lint"] = _lint(session, tool)
    except Exception as e:  # lint is detail: never let it cost the report
        side["lint_error"] = str(e)[:200]
    tmp = _state.side + ".tmp"
    with open(tmp, "w") as f:
        json.dump(side, f)
    os.replace(tmp, _state.side)
