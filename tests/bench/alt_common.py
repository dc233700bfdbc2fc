"""alt_common.py: one job the way the alternatives run it, with `requests` against
the Daytona HTTP API (daytona-local in the benchmarks): create a sandbox, upload
the job's file (bulk-upload, multipart), run the command (process/execute),
delete the sandbox. The same job atc-fleet runs: one small file, `cmd` true."""
import requests

FILE_NAME = "tool.py"
FILE_BODY = b"x = 1\n"


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
                         json={"command": cmd, "timeout": 60})
        r.raise_for_status()
        return r.json()["exitCode"]
    finally:
        session.delete(api + "/sandbox/" + sid, headers=auth, timeout=120).raise_for_status()


def new_session():
    return requests.Session()
