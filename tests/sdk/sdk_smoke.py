"""sdk_smoke.py: the official Daytona Python SDK (tests/sdk/requirements.txt)
against daytona-local: create (the SDK polls a starting sandbox), get, list,
upload, process.exec, pip install pytest langchain-core and a pytest run of a
langchain_core @tool with the sandbox's python3, code_run,
download, a missing file and an exec past its timeout as the SDK's typed
errors, a 429 on create, delete, and the leak check. Run by run_python.sh."""
import json
import os
import sys
import time
import urllib.request

from daytona_api_client import ListSandboxesResponse, Sandbox as SandboxDto, SandboxListItem

from daytona import (
    CreateSandboxFromSnapshotParams,
    Daytona,
    DaytonaConfig,
    DaytonaNotFoundError,
    DaytonaRateLimitError,
    DaytonaTimeoutError,
)

API_URL = os.environ["DAYTONA_API_URL"]
API_KEY = os.environ["DAYTONA_API_KEY"]
BASE = API_URL[: -len("/api")] if API_URL.endswith("/api") else API_URL

# The seed's flow: a tool built with langchain_core's @tool, its tests, and
# pip install pytest langchain-core in the sandbox.
TOOL = b'''from langchain_core.tools import tool

@tool
def slugify(text: str) -> str:
    """Lower-case words joined by dashes."""
    return "-".join(text.lower().split())
'''
TESTS = b'''import sys
from tool import slugify

def test_slugify():
    assert slugify.invoke({"text": "Hello  World"}) == "hello-world"

def test_is_tool():
    assert slugify.name == "slugify"

def test_interpreter():
    print("INTERPRETER", sys.executable)
'''


def check(cond, what):
    if not cond:
        raise AssertionError("check failed: " + what)
    print("[sdk-py] ok:", what, flush=True)


def local(path, body=None, method="GET", auth=False):
    req = urllib.request.Request(BASE + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    if auth:
        req.add_header("Authorization", "Bearer " + API_KEY)
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def check_model(model, obj, what):
    """Every field the generated model requires is in the raw JSON (present,
    even where it may be null), and the model parses it (strict types)."""
    missing = [f.serialization_alias or n for n, f in model.model_fields.items()
               if f.is_required() and (f.serialization_alias or n) not in obj]
    check(not missing, f"{what}: every field {model.__name__} requires is there (missing {missing})")
    model.from_dict(obj)


def main():
    daytona = Daytona(DaytonaConfig(api_key=API_KEY, api_url=API_URL))
    sandbox = daytona.create(CreateSandboxFromSnapshotParams(
        language="python", labels={"purpose": "sdk-py-smoke"}, env_vars={"SMOKE": "1"}))
    deleted = False
    try:
        check(sandbox.id and sandbox.state.value == "started",
              f"created {sandbox.id}, state {sandbox.state.value} (kvm={sandbox.kvm})")
        got = daytona.get(sandbox.id)
        check(got.id == sandbox.id and got.env.get("SMOKE") == "1", "get returns it with its env")
        check_model(SandboxDto, local("/api/sandbox/" + sandbox.id, auth=True), "GET /api/sandbox/{id}")
        page = local("/api/sandbox", auth=True)
        check_model(ListSandboxesResponse, page, "GET /api/sandbox")
        for item in page["items"]:
            check_model(SandboxListItem, item, "a list item")
        built = local("/api/sandbox", {"buildInfo": {"dockerfileContent": "FROM python:3.11"},
                                       "cpu": 2}, "POST", auth=True)
        check_model(SandboxDto, built, "a sandbox created with buildInfo")
        check_model(SandboxDto, local("/api/sandbox/" + built["id"], method="DELETE", auth=True),
                    "DELETE /api/sandbox/{id}")
        listed = [s.id for s in daytona.list()]
        check(sandbox.id in listed, f"list finds it ({len(listed)} sandboxes)")

        sandbox.fs.upload_file(TOOL, "work/tool.py")
        sandbox.fs.upload_file(TESTS, "work/test_tool.py")
        print("[sdk-py] uploaded work/tool.py, work/test_tool.py")

        r = sandbox.process.exec("echo out; echo err >&2; echo $SMOKE")
        check(r.exit_code == 0 and "out" in r.result and "err" in r.result and "1" in r.result,
              f"exec: exit 0, output merged, env passed ({r.result!r})")
        r3 = sandbox.process.exec("exit 3")
        check(r3.exit_code == 3, f"exec exit 3 reported (got {r3.exit_code})")
        which = sandbox.process.exec("command -v python3 pip; python3 -c 'import sys; print(sys.executable)'")
        stats = local("/_local/stats")
        check(which.exit_code == 0 and which.result.strip().endswith(stats["python"]),
              f"python3 in the sandbox is --python {stats['python']} ({which.result!r})")

        pip = sandbox.process.exec("pip install -q pytest langchain-core", timeout=300)
        check(pip.exit_code == 0, f"pip install pytest langchain-core in the sandbox ({pip.result[-300:]!r})")
        t = sandbox.process.exec("python3 -m pytest -q -p no:cacheprovider -s", cwd="work", timeout=120)
        check(t.exit_code == 0 and "3 passed" in t.result, f"pytest in the sandbox: 3 passed ({t.result[-300:]!r})")

        cr = sandbox.process.code_run("print(6 * 7)")
        check(cr.exit_code == 0 and cr.result == "42\n", f"code_run 42 (got {cr.result!r})")

        sandbox.process.exec("python3 -c \"open('out.txt', 'w').write('written in the sandbox\\n')\"", cwd="work")
        data = sandbox.fs.download_file("work/out.txt")
        check(data == b"written in the sandbox\n", f"download content {data!r}")
        check(sandbox.fs.download_file("work/tool.py") == TOOL, "download of an uploaded file round-trips")

        try:
            sandbox.fs.download_file("work/does-not-exist.txt")
            missing = None
        except Exception as e:  # noqa: BLE001 - the type is what is checked
            missing = e
        check(isinstance(missing, DaytonaNotFoundError),
              f"missing file -> DaytonaNotFoundError ({type(missing).__name__})")

        t0 = time.monotonic()
        try:
            sandbox.process.exec("sleep 30", timeout=1)
            late = None
        except Exception as e:  # noqa: BLE001
            late = e
        check(isinstance(late, DaytonaTimeoutError), f"exec past its timeout -> {type(late).__name__}")
        check(time.monotonic() - t0 < 20, "the timeout fired well before the command would have ended")

        local("/_local/faults", {"next": [{"path_prefix": "/api/sandbox", "method": "POST",
                                           "status": 429, "retry_after": 3}]}, "POST")
        try:
            daytona.create(CreateSandboxFromSnapshotParams(language="python"))
            limited = None
        except Exception as e:  # noqa: BLE001
            limited = e
        check(isinstance(limited, DaytonaRateLimitError),
              f"create under a 429 -> DaytonaRateLimitError ({type(limited).__name__})")

        daytona.delete(sandbox)
        deleted = True
        print("[sdk-py] deleted", sandbox.id)
    finally:
        if not deleted:
            try:
                daytona.delete(sandbox)
            except Exception:  # noqa: BLE001
                pass
    s = local("/_local/stats")
    check(s["live"] == 0, f"stats live == 0 (got {s['live']})")
    print("[sdk-py] RESULT: OK")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        print(f"[sdk-py] FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
