"""_result.py: a result of CONTRACT section 4 (the hash atc:result:<id>) as
typed Python values."""

import dataclasses
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import msgpack

FINAL_STATUSES = frozenset(
    ("passed", "failed", "error", "timeout", "rejected", "cancelled"))

_INT_FIELDS = (
    "exit_code", "tests_total", "tests_passed", "tests_failed", "tests_errors",
    "tests_skipped", "attempt", "submitted_ms", "started_ms", "finished_ms",
    "duration_ms", "create_ms", "upload_ms", "install_ms", "test_ms", "delete_ms",
    "tests_flaky", "tests_timeout", "test_timeout_s", "reruns", "rerun_ms")
_BOOL_FIELDS = ("output_truncated", "cached", "cancel_requested")
_STR_FIELDS = ("status", "reason", "output", "install_output", "error", "worker",
               "sandbox", "traceparent", "cached_from", "digest", "group",
               "python_hash_seed", "tz")


@dataclass
class TestCase:
    """One <testcase> of the JUnit report."""
    __test__ = False  # not a pytest test class
    name: str = ""
    classname: str = ""
    outcome: str = ""  # passed, failed, error, skipped, flaky, timeout
    time_ms: int = 0
    message: str = ""


@dataclass
class Result:
    """A job's result, final or not. Fields absent from the hash are None
    (tests: [], labels: {}); unknown fields land in `extra` as bytes."""
    id: str
    status: str = ""
    reason: Optional[str] = None
    exit_code: Optional[int] = None
    tests_total: Optional[int] = None
    tests_passed: Optional[int] = None
    tests_failed: Optional[int] = None
    tests_errors: Optional[int] = None
    tests_skipped: Optional[int] = None
    tests: List[TestCase] = field(default_factory=list)
    output: Optional[str] = None
    output_truncated: bool = False
    install_output: Optional[str] = None
    error: Optional[str] = None
    attempt: Optional[int] = None
    worker: Optional[str] = None
    sandbox: Optional[str] = None
    submitted_ms: Optional[int] = None
    started_ms: Optional[int] = None
    finished_ms: Optional[int] = None
    duration_ms: Optional[int] = None
    create_ms: Optional[int] = None
    upload_ms: Optional[int] = None
    install_ms: Optional[int] = None
    test_ms: Optional[int] = None
    delete_ms: Optional[int] = None
    labels: Dict[str, str] = field(default_factory=dict)
    traceparent: Optional[str] = None
    cached: bool = False
    cached_from: Optional[str] = None
    cancel_requested: bool = False
    # Issue 13: what the fleet's pytest plugin adds (docs/results.md).
    tests_flaky: Optional[int] = None
    tests_timeout: Optional[int] = None
    test_timeout_s: Optional[int] = None
    reruns: Optional[int] = None
    rerun_ms: Optional[int] = None
    digest: Optional[str] = None
    coverage_pct: Optional[float] = None
    lint: Dict[str, List[str]] = field(default_factory=dict)
    python_hash_seed: Optional[str] = None
    tz: Optional[str] = None
    group: Optional[str] = None
    extra: Dict[str, bytes] = field(default_factory=dict)

    @property
    def final(self):
        """True for passed, failed, error, timeout, rejected and cancelled."""
        return self.status in FINAL_STATUSES

    @property
    def passed(self):
        return self.status == "passed"

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_hash(cls, job_id, h):
        """Builds a Result from HGETALL's answer (bytes to bytes). Hostile
        values never raise: a number that is not one becomes None, a blob that
        is not msgpack an empty list or dict."""
        r = cls(id=job_id)
        for k, v in h.items():
            name = k.decode("utf-8", "replace") if isinstance(k, bytes) else k
            raw = v if isinstance(v, bytes) else str(v).encode()
            if name in _INT_FIELDS:
                try:
                    setattr(r, name, int(raw))
                except ValueError:
                    setattr(r, name, None)
            elif name in _BOOL_FIELDS:
                setattr(r, name, raw.strip() not in (b"", b"0"))
            elif name in _STR_FIELDS:
                setattr(r, name, raw.decode("utf-8", "replace"))
            elif name == "tests":
                r.tests = _decode_tests(raw)
            elif name == "labels":
                r.labels = _decode_labels(raw)
            elif name == "coverage_pct":
                try:
                    r.coverage_pct = float(raw)
                except ValueError:
                    r.coverage_pct = None
            elif name == "lint":
                r.lint = _decode_lint(raw)
            else:
                r.extra[name] = raw
        return r


def _text(x):
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    return "" if x is None else str(x)


def _unpack(raw):
    try:
        return msgpack.unpackb(raw, raw=True, strict_map_key=False,
                               max_bin_len=len(raw), max_str_len=len(raw),
                               max_array_len=len(raw), max_map_len=len(raw))
    except Exception:  # not well-formed: treated as absent
        return None


def _decode_tests(raw):
    arr = _unpack(raw)
    if not isinstance(arr, list):
        return []
    out = []
    for t in arr:
        if not isinstance(t, dict):
            continue
        d = {_text(k): v for k, v in t.items()}
        tm = d.get("time_ms")
        out.append(TestCase(name=_text(d.get("name")), classname=_text(d.get("classname")),
                            outcome=_text(d.get("outcome")),
                            time_ms=tm if isinstance(tm, int) and not isinstance(tm, bool) else 0,
                            message=_text(d.get("message"))))
    return out


def _decode_labels(raw):
    m = _unpack(raw)
    if not isinstance(m, dict):
        return {}
    return {_text(k): _text(v) for k, v in m.items()}


def _decode_lint(raw):
    m = _unpack(raw)
    if not isinstance(m, dict):
        return {}
    return {_text(k): [_text(x) for x in v] for k, v in m.items() if isinstance(v, list)}
