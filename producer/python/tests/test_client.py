"""test_client.py: the Python client against the live stack: submit and wait,
wait_all over 200 jobs, the old manager's answers, one wire format with `atc`."""

import json
import uuid

import msgpack
import pytest

from atc_fleet import DaytonaManager, Result, WaitAllTimeout, run_code_with_tests
from atc_fleet import _job

TOOL = "def add(a, b):\n    return a + b\n"
TESTS_OK = "from tool import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"
TESTS_BAD = ("from tool import add\n\ndef test_add_right():\n    assert add(2, 2) == 4\n\n"
             "def test_add_wrong():\n    assert add(1, 2) == 4, 'wrong sum'\n")
BROKEN_TOOL = "def add(a, b)\n    return a + b\n"


def test_submit_and_wait__passing_tool__is_passed_with_typed_fields(client):
    job_id = client.submit(code=TOOL, tests=TESTS_OK, labels={"tool": "add"})
    r = client.wait(job_id, 180)
    assert isinstance(r, Result) and r.final
    assert r.status == "passed" and r.reason == "tests_passed"
    assert r.exit_code == 0 and r.tests_total == 1 and r.tests_passed == 1
    assert [t.name for t in r.tests] == ["test_add"] and r.tests[0].outcome == "passed"
    assert r.labels == {"tool": "add"}
    assert r.attempt == 1 and isinstance(r.duration_ms, int)
    assert r.output_truncated is False and r.cached is False


def test_submit_and_wait__failing_test__is_failed_naming_the_test(client):
    r = client.wait(client.submit(code=TOOL, tests=TESTS_BAD), 180)
    assert (r.status, r.reason) == ("failed", "tests_failed")
    assert (r.tests_passed, r.tests_failed) == (1, 1)
    failed = [t for t in r.tests if t.outcome == "failed"]
    assert [t.name for t in failed] == ["test_add_wrong"] and "wrong sum" in failed[0].message


def test_get__unknown_job__is_none(client):
    assert client.get("no-such-job-" + uuid.uuid4().hex) is None


def test_wait__unknown_job__times_out(client):
    with pytest.raises(TimeoutError):
        client.wait("no-such-job-" + uuid.uuid4().hex, 0.5)


@pytest.mark.parametrize("kwargs,field", [
    (dict(files={"../x.py": "x"}), "files"),
    (dict(files={}), "files"),
    (dict(code=TOOL, deps=["requests; os_name=='nt'"]), "deps[0]"),
    (dict(code=TOOL, env={"1BAD": "x"}), "env"),
    (dict(code=TOOL, timeout=0), "timeout_s"),
    (dict(code=TOOL, job_id="bad id"), "id"),
    (dict(code=TOOL, labels={str(i): "x" for i in range(17)}), "labels"),
    (dict(code=TOOL, cmd=""), "cmd"),
    (dict(code=TOOL, files={"pytest.py": "x"}), "files"),
    (dict(code=TOOL, files={"lib/sitecustomize.py": "x"}), "files"),
    (dict(code=TOOL, files={".atc/report.xml": "x"}), "files"),
])
def test_submit__job_breaking_a_rule__raises_valueerror_naming_the_field(client, kwargs, field):
    with pytest.raises(ValueError) as e:
        client.submit(**kwargs)
    assert str(e.value).startswith(field)


def test_wait_all__200_jobs__returns_all_200_results(client):
    ids = [client.submit(files={"t.txt": "x"}, cmd="true", labels={"batch": "200"})
           for _ in range(200)]
    results = client.wait_all(ids, 600)
    assert sorted(results) == sorted(ids)
    assert all(r.final and r.id == i for i, r in results.items())
    assert {r.status for r in results.values()} == {"passed"}


def test_wait_all__some_never_finish__raises_with_the_finished_ones(client):
    done = client.submit(files={"t.txt": "x"}, cmd="true")
    client.wait(done, 180)
    with pytest.raises(WaitAllTimeout) as e:
        client.wait_all([done, "never-" + uuid.uuid4().hex], 1)
    assert list(e.value.results) == [done] and len(e.value.pending) == 1


def test_run_code_with_tests__passing_tool__succeeds(client):
    out = run_code_with_tests(TOOL, TESTS_OK, [], 60, client=client)
    assert out["success"] is True and "1 passed" in out["output"]


def test_run_code_with_tests__failing_test__fails_with_the_assertion(client):
    out = DaytonaManager(client=client).run_code_with_tests(TOOL, TESTS_BAD, [], 60)
    assert out["success"] is False
    assert "wrong sum" in out["output"] and "1 failed" in out["output"]


def test_run_code_with_tests__syntax_error__fails_naming_it(client):
    out = run_code_with_tests(BROKEN_TOOL, TESTS_OK, None, 60, client=client)
    assert out["success"] is False
    assert "SyntaxError" in out["output"]


def test_run_code_with_tests__bad_dependency__fails_without_submitting(client):
    out = run_code_with_tests(TOOL, TESTS_OK, ["--index-url=http://evil"], 60, client=client)
    assert out["success"] is False and "deps[0]" in out["output"]


def test_wire__job_from_python__is_read_by_atc_get(stack, client):
    job_id = client.submit(code=TOOL, tests=TESTS_OK, labels={"from": "python"})
    client.wait(job_id, 180)
    p = stack.atc("get", job_id, "--json")
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    assert j["status"] == "passed" and j["labels"] == {"from": "python"} and j["id"] == job_id


def test_wire__job_from_atc_submit__is_read_by_python(stack, client, tmp_path):
    (tmp_path / "tool.py").write_text(TOOL)
    (tmp_path / "test_tool.py").write_text(TESTS_OK)
    p = stack.atc("submit", "--code", str(tmp_path / "tool.py"), "--tests",
                  str(tmp_path / "test_tool.py"), "--label", "from=atc")
    assert p.returncode == 0, p.stderr
    job_id = p.stdout.decode().strip()
    r = client.wait(job_id, 180)
    assert r.status == "passed" and r.labels == {"from": "atc"} and r.tests_passed == 1


def test_wire__python_encoder__matches_the_c_encoder_byte_for_byte(stack, tmp_path):
    """`atc submit` sends a job; the message read back from the broker equals
    what the Python encoder makes of the same job."""
    from confluent_kafka import Consumer, TopicPartition
    (tmp_path / "tool.py").write_text(TOOL)
    (tmp_path / "test_tool.py").write_text(TESTS_OK)
    job_id = "wire-" + uuid.uuid4().hex
    p = stack.atc("submit", "--id", job_id, "--code", str(tmp_path / "tool.py"),
                  "--tests", str(tmp_path / "test_tool.py"), "--dep", "requests>=2,<3",
                  "--cmd", "pytest -q", "--timeout", "30", "--env", "A=1", "--env", "B_2=two",
                  "--label", "k=v", "--snapshot", "snap", "--cache")
    assert p.returncode == 0, p.stderr
    c = Consumer({"bootstrap.servers": stack.brokers, "group.id": "wire-" + job_id,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        md = c.list_topics("atc.jobs", timeout=10)
        c.assign([TopicPartition("atc.jobs", n) for n in md.topics["atc.jobs"].partitions])
        wire = None
        end = __import__("time").monotonic() + 30
        while wire is None and __import__("time").monotonic() < end:
            m = c.poll(0.5)
            if m is not None and not m.error() and m.key() == job_id.encode():
                wire = m.value()
    finally:
        c.close()
    assert wire is not None, "the job was not found on the broker"
    sent = msgpack.unpackb(wire, raw=False)
    job = {"v": 1, "id": job_id,
           "files": {"tool.py": TOOL.encode(), "test_tool.py": TESTS_OK.encode()},
           "deps": ["requests>=2,<3"], "cmd": "pytest -q", "timeout_s": 30,
           "env": {"A": "1", "B_2": "two"}, "labels": {"k": "v"}, "snapshot": "snap",
           "submitted_ms": sent["submitted_ms"], "cache": True}
    assert _job.encode(job) == wire
