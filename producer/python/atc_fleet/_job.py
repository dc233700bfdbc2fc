"""_job.py: the job message of CONTRACT section 3 (docs/job.md): the same rules
as the C codec (common/src/job.c), and an encoder whose bytes match
atc_job_encode's: keys in the same order, files as bin, optional keys only
when set."""

import os
import re
import threading
import time

import msgpack

JOB_VERSION = 1
ID_MAX = 128
FILES_MAX = 64
PATH_MAX = 255
DEPS_MAX = 64
DEP_LEN_MAX = 256
ENV_MAX = 64
LABELS_MAX = 16
RERUNS_MAX = 5
UINT32_MAX = 0xFFFFFFFF

_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}\Z")
_PATH_CHARS = re.compile(r"[A-Za-z0-9._-]+\Z")
_ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_VERSION = r"[A-Za-z0-9.*+!-]+"
_OP = r"(?:===|==|!=|<=|>=|~=|<|>)"
_DEP_RE = re.compile(
    r"%s(?:\[%s(?:,%s)*\])?(?:%s%s(?:,%s%s)*)?\Z" % (_NAME, _NAME, _NAME, _OP, _VERSION, _OP, _VERSION))
_DEP_CHARS = re.compile(r"[A-Za-z0-9.*+!\-_\[\],=<>~]*\Z")


def id_valid(s):
    """True when s is a valid job id: 1 to 128 bytes of [A-Za-z0-9._:-]."""
    return isinstance(s, str) and _ID_RE.match(s) is not None


def _path_problem(p):
    if not p:
        return "is empty"
    if len(p.encode()) > PATH_MAX:
        return "is longer than 255 bytes"
    if p.startswith("/"):
        return 'is absolute (starts with "/")'
    for comp in p.split("/"):
        if comp == "":
            return "has an empty component"
        if comp == ".":
            return 'has a "." component'
        if comp == "..":
            return 'has a ".." component'
        if not _PATH_CHARS.match(comp):
            return "has a character outside [A-Za-z0-9._-] in a component"
    return _reserved_problem(p)


_RUNNER_MODULES = ("pytest", "_pytest", "pluggy", "py")


def _reserved_problem(p):
    """Why a valid path may not be a job's file (common/src/job.c, reserved_problem)."""
    if p == ".atc" or p.startswith(".atc/"):
        return "is reserved: .atc/ is the worker's directory in the sandbox"
    if p.endswith(".pth"):
        return "is reserved: a .pth file runs code when Python starts"
    comps = p.split("/")
    for i, comp in enumerate(comps):
        if comp in ("sitecustomize.py", "usercustomize.py"):
            return "is reserved: it runs code when Python starts"
        is_dir = i < len(comps) - 1
        for m in _RUNNER_MODULES:
            if (is_dir and comp == m) or comp == m + ".py":
                return "is reserved: it would shadow the test runner (pytest, pluggy, py)"
    return None


def _dep_problem(d):
    if not d:
        return "is empty"
    if len(d.encode()) > DEP_LEN_MAX:
        return "is longer than 256 bytes"
    if d.startswith("-"):
        return "is an option, not a requirement"
    if d[0] in "./" or "@" in d or "://" in d:
        return "is a URL or a path, not a requirement"
    if not _DEP_CHARS.match(d):
        return "has a character that is not allowed (spaces, markers, quotes and shell characters are not)"
    if not _DEP_RE.match(d):
        return "is not NAME[extras] followed by version clauses such as ==1.2 or >=2,<3"
    return None


def _check_kvs(field, kv, limit, env_names):
    if not isinstance(kv, dict):
        raise ValueError("%s: must be a dict of str to str" % field)
    if len(kv) > limit:
        raise ValueError("%s: at most %d entries (got %d)" % (field, limit, len(kv)))
    for k, v in kv.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ValueError("%s: names and values must be str (%r)" % (field, k))
        if "\0" in k or "\0" in v:
            raise ValueError("%s: %r holds a NUL character" % (field, k))
        if env_names and not _ENV_RE.match(k):
            raise ValueError("%s: name %r does not match [A-Za-z_][A-Za-z0-9_]*" % (field, k))


def validate(job):
    """Checks a job dict (the keys of docs/job.md) against every rule of
    CONTRACT section 3; raises ValueError naming the field."""
    if job.get("v") != JOB_VERSION:
        raise ValueError("v: must be %d (got %r)" % (JOB_VERSION, job.get("v")))
    jid = job.get("id")
    if jid is None:
        raise ValueError("id: missing")
    if not id_valid(jid):
        raise ValueError("id: %r must be 1 to %d bytes of [A-Za-z0-9._:-]" % (jid, ID_MAX))
    files = job.get("files")
    if not isinstance(files, dict) or not 1 <= len(files) <= FILES_MAX:
        raise ValueError("files: must hold 1 to %d entries (got %d)"
                         % (FILES_MAX, len(files) if isinstance(files, dict) else 0))
    for path, data in files.items():
        if not isinstance(path, str):
            raise ValueError("files: path %r is not a str" % (path,))
        why = _path_problem(path)
        if why is not None:
            raise ValueError("files: path %r %s" % (path, why))
        if not isinstance(data, (bytes, bytearray)):
            raise ValueError("files: contents of %r must be bytes or str" % path)
        if len(data) > UINT32_MAX:
            raise ValueError("files: contents of %r are larger than 4 GiB" % path)
    deps = job.get("deps")
    if deps is not None:
        if not isinstance(deps, list):
            raise ValueError("deps: must be a list of str")
        if len(deps) > DEPS_MAX:
            raise ValueError("deps: at most %d entries (got %d)" % (DEPS_MAX, len(deps)))
        for i, d in enumerate(deps):
            if not isinstance(d, str):
                raise ValueError("deps[%d]: must be a str" % i)
            why = _dep_problem(d)
            if why is not None:
                raise ValueError("deps[%d]: %r %s" % (i, d, why))
    for field in ("cmd", "snapshot"):
        s = job.get(field)
        if s is not None:
            if not isinstance(s, str):
                raise ValueError("%s: must be a str" % field)
            if s == "":
                raise ValueError("%s: must not be empty when present" % field)
            if "\0" in s:
                raise ValueError("%s: holds a NUL character" % field)
    t = job.get("timeout_s")
    if t is not None:
        if isinstance(t, bool) or not isinstance(t, int) or t > UINT32_MAX or t < 0:
            raise ValueError("timeout_s: must be whole seconds (got %r)" % (t,))
        if t == 0:
            raise ValueError("timeout_s: must be at least 1")
    t = job.get("test_timeout_s")
    if t is not None:
        if isinstance(t, bool) or not isinstance(t, int) or t > UINT32_MAX or t < 1:
            raise ValueError("test_timeout_s: must be whole seconds, at least 1 (got %r)" % (t,))
    n = job.get("reruns")
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= RERUNS_MAX:
            raise ValueError("reruns: must be 0 to %d (got %r)" % (RERUNS_MAX, n))
    g = job.get("group")
    if g is not None and not id_valid(g):
        raise ValueError("group: %r must be 1 to %d bytes of [A-Za-z0-9._:-]" % (g, ID_MAX))
    for field in RESOURCE_FIELDS:
        r = job.get(field)
        if r is not None:
            if isinstance(r, bool) or not isinstance(r, int) or r < 0:
                raise ValueError("%s: must be an unsigned integer (got %r)" % (field, r))
            if r == 0:
                raise ValueError("%s: must be at least 1 (leave it out for the default)" % field)
            if r > RESOURCE_MAX:
                raise ValueError("%s: must be at most %d (got %d)" % (field, RESOURCE_MAX, r))
            if job.get("snapshot") is not None:
                raise ValueError('%s: not with "snapshot" (resources are given to the '
                                 "fleet's own environment snapshots only)" % field)
    if job.get("env") is not None:
        _check_kvs("env", job["env"], ENV_MAX, True)
    if job.get("labels") is not None:
        _check_kvs("labels", job["labels"], LABELS_MAX, False)


# cpu (vCPUs), memory_gib, disk_gib: Daytona's units; the fleet caps each.
RESOURCE_FIELDS = ("cpu", "memory_gib", "disk_gib")
RESOURCE_MAX = 1024


def encode(job):
    """The job dict as msgpack, byte for byte as atc_job_encode writes it."""
    validate(job)
    out = [("v", job["v"]), ("id", job["id"]),
           ("files", {p: bytes(d) for p, d in job["files"].items()})]
    if job.get("deps"):
        out.append(("deps", list(job["deps"])))
    if job.get("cmd") is not None:
        out.append(("cmd", job["cmd"]))
    if job.get("timeout_s") is not None:
        out.append(("timeout_s", job["timeout_s"]))
    if job.get("env"):
        out.append(("env", dict(job["env"])))
    if job.get("labels"):
        out.append(("labels", dict(job["labels"])))
    if job.get("snapshot") is not None:
        out.append(("snapshot", job["snapshot"]))
    if job.get("submitted_ms"):
        out.append(("submitted_ms", job["submitted_ms"]))
    if job.get("cache"):
        out.append(("cache", True))
    if job.get("test_timeout_s") is not None:
        out.append(("test_timeout_s", job["test_timeout_s"]))
    if job.get("reruns") is not None:
        out.append(("reruns", job["reruns"]))
    if job.get("group") is not None:
        out.append(("group", job["group"]))
    for field in RESOURCE_FIELDS:
        if job.get(field) is not None:
            out.append((field, job[field]))
    return msgpack.packb(dict(out), use_bin_type=True)


_uuid_lock = threading.Lock()
_uuid_last_ms = 0
_uuid_counter = 0


def uuid7():
    """An RFC 9562 UUIDv7 as text, with the C side's layout: 48 bits of ms, a
    12-bit counter (random start each ms) so ids from one process sort in
    the order they were made, 62 random bits."""
    global _uuid_last_ms, _uuid_counter
    b = bytearray(os.urandom(16))
    with _uuid_lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _uuid_last_ms:
            ms = _uuid_last_ms
            if _uuid_counter >= 0xFFF:
                ms += 1
                _uuid_counter = ((b[6] & 0x07) << 8) | b[7]
            else:
                _uuid_counter += 1
        else:
            _uuid_counter = ((b[6] & 0x07) << 8) | b[7]
        _uuid_last_ms = ms
        counter = _uuid_counter
    b[0:6] = ms.to_bytes(6, "big")
    b[6] = 0x70 | ((counter >> 8) & 0x0F)
    b[7] = counter & 0xFF
    b[8] = 0x80 | (b[8] & 0x3F)
    h = b.hex()
    return "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
