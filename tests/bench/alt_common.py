"""alt_common.py: one job the way the alternatives run it, with `requests` against
the Daytona HTTP API (daytona-local in the benchmarks): create a sandbox, upload
the job's file (bulk-upload, multipart), run the command (process/execute),
fetch the JUnit report (bulk-download), delete the sandbox. The same job and the
same sandbox-side work as atc-fleet's: one small file, `cmd` true, run under
`timeout` with its output piped through python3 (atc-worker's .atc/run.sh and
cap.py do that), so both sides pay the same process starts in the sandbox."""
import requests

FILE_NAME = "tool.py"
FILE_BODY = b"x = 1\n"
# What atc-worker's runner does around the command: a time limit, the output
# captured through python3, the exit status kept.
RUNNER = ("{ timeout -k 5 60 sh -c \"$ATC_CMD\" </dev/null 2>&1; echo $? >.rc; }"
          " | python3 -c 'import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())'\n"
          "exit \"$(cat .rc)\"\n")


def run_one(session, api, key, job_id, cmd="true"):
    """Runs one job; returns the command's exit code (raises on an HTTP error)."""
    auth = {"Authorization": "Bearer " + key}
    r = session.post(api + "/sandbox", headers=auth, timeout=120,
                     json={"name": "alt-" + job_id, "labels": {"alt-bench": job_id}})
    r.raise_for_status()
    sb = r.json()
    sid = sb["id"]
    tb = sb["toolboxProxyUrl"].rstrip("/") + "/" + sid
    try:
        r = session.post(tb + "/files/bulk-upload", headers=auth, timeout=120,
                         files=[("files[0].path", (None, FILE_NAME)),
                                ("files[0].file", (FILE_NAME, FILE_BODY))])
        r.raise_for_status()
        r = session.post(tb + "/process/execute", headers=auth, timeout=120,
                         json={"command": RUNNER, "envs": {"ATC_CMD": cmd}, "timeout": 80})
        r.raise_for_status()
        code = r.json()["exitCode"]
        # The JUnit report (pytest --junitxml); `true` writes none, as with atc.
        session.post(tb + "/files/bulk-download", headers=auth, timeout=120,
                     json={"paths": ["report.xml"]})
        return code
    finally:
        session.delete(api + "/sandbox/" + sid, headers=auth, timeout=120).raise_for_status()


def new_session():
    return requests.Session()
