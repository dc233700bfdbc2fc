"""conftest.py: a live local stack for the client's tests, as
tests/integration/lib.sh starts it: redis-server, kafka-mock, daytona-local
(api key test-key) and atc-worker from $ATC_BIN_DIR, each a real process,
stopped at the end whatever happens."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # atc_fleet from the checkout

# Topics: the session worker's, and one no worker reads until a test starts one.
TOPICS = ["atc.jobs", "atc.jobs.dlq", "atc.idle", "atc.idle.dlq"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(what, cond, timeout=15.0, every=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            v = cond()
            if v:
                return v
        except Exception:
            pass
        time.sleep(every)
    raise AssertionError("timed out after %gs waiting for %s" % (timeout, what))


class Stack:
    def __init__(self, bindir, tmp):
        self.bindir = bindir
        self.tmp = tmp
        self.procs = []
        self.env = dict(os.environ)

    def bin(self, name):
        p = os.path.join(self.bindir, name)
        if not os.access(p, os.X_OK):
            pytest.skip("no program %s (build it, or set ATC_BIN_DIR)" % p)
        return p

    def start(self, name, argv, env=None):
        out = open(os.path.join(self.tmp, name + ".out"), "wb")
        err = open(os.path.join(self.tmp, name + ".log"), "wb")
        p = subprocess.Popen(argv, stdout=out, stderr=err, env=env or self.env,
                             start_new_session=True)
        out.close()
        err.close()
        self.procs.append((name, p))
        return p

    def first_line(self, name, timeout=10):
        path = os.path.join(self.tmp, name + ".out")

        def line():
            with open(path) as f:
                s = f.readline()
            return s.strip() if s.endswith("\n") else None
        return wait_for("%s's first line" % name, line, timeout)

    def stop(self, p, sig=signal.SIGTERM):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop_all(self):
        for _name, p in reversed(self.procs):
            self.stop(p)

    def start_redis(self):
        port = free_port()
        self.start("redis", [shutil.which("redis-server") or "redis-server", "--port", str(port),
                             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", self.tmp, "--loglevel", "warning"])
        import redis
        url = "redis://127.0.0.1:%d/0" % port
        wait_for("redis-server", lambda: redis.Redis.from_url(url).ping())
        self.env["ATC_REDIS_URL"] = self.redis_url = url

    def start_kafka(self):
        args = [self.bin("kafka-mock")]
        for t in TOPICS:
            args += ["--topic", t]
        self.start("kafka", args)
        line = self.first_line("kafka")
        assert line.startswith("ATC_BROKERS="), line
        self.env["ATC_BROKERS"] = self.brokers = line.split("=", 1)[1]

    def start_daytona(self):
        root = os.path.join(self.tmp, "daytona")
        os.makedirs(root, exist_ok=True)
        self.start("daytona", [self.bin("daytona-local"), "--listen", "127.0.0.1:0",
                               "--root", root, "--api-key", "test-key"])
        line = self.first_line("daytona")
        assert line.startswith("DAYTONA_API_URL="), line
        self.env["DAYTONA_API_URL"] = line.split("=", 1)[1]
        self.env["DAYTONA_API_KEY"] = "test-key"
        self.daytona_base = self.env["DAYTONA_API_URL"][:-len("/api")]

    def daytona_stats(self):
        with urllib.request.urlopen(self.daytona_base + "/_local/stats", timeout=5) as r:
            return json.load(r)

    def start_worker(self, name="worker", **extra):
        port = free_port()
        env = dict(self.env, ATC_HTTP_ADDR="127.0.0.1:%d" % port, ATC_WORKER_ID="py-" + name,
                   ATC_LOG_FORMAT="text", ATC_LOG_LEVEL="debug")
        env.update({k: str(v) for k, v in extra.items()})
        p = self.start(name, [self.bin("atc-worker")], env=env)
        base = "http://127.0.0.1:%d" % port
        wait_for("atc-worker %s /healthz" % name,
                 lambda: urllib.request.urlopen(base + "/healthz", timeout=2).status == 200, 15)
        wait_for("atc-worker %s /readyz" % name,
                 lambda: urllib.request.urlopen(base + "/readyz", timeout=2).status == 200, 90)
        return p

    def atc(self, *args, timeout=300, env=None):
        return subprocess.run([self.bin("atc")] + list(args), env=dict(self.env, **(env or {})),
                              capture_output=True, timeout=timeout)


@pytest.fixture(scope="session")
def stack():
    bindir = os.environ.get("ATC_BIN_DIR") or os.path.join(HERE, "../../../build/bin")
    tmp = tempfile.mkdtemp(prefix="atc-pytest.")
    s = Stack(os.path.abspath(bindir), tmp)
    failed = True
    try:
        s.start_redis()
        s.start_kafka()
        s.start_daytona()
        s.start_worker("worker", ATC_CONCURRENCY=32)
        failed = False
        yield s
    finally:
        s.stop_all()
        if failed or os.environ.get("IT_KEEP") == "1":
            for f in sorted(os.listdir(tmp)):
                if f.endswith(".log"):
                    with open(os.path.join(tmp, f), "rb") as fh:
                        tail = fh.read()[-3000:].decode("utf-8", "replace")
                    sys.stderr.write("----- %s -----\n%s\n" % (f, tail))
        if os.environ.get("IT_KEEP") == "1":
            sys.stderr.write("kept %s\n" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def client(stack):
    from atc_fleet import Client
    c = Client(brokers=stack.brokers, redis_url=stack.redis_url, topic="atc.jobs")
    yield c
    c.close()


def pypi_reachable():
    """Whether Debian's pip reaches the Python package index (the one pip is
    configured for) within 20 s, as tests/python_env.sh checks it."""
    try:
        return subprocess.run(["/usr/bin/python3", "-m", "pip", "index", "versions", "pip",
                               "--retries", "0", "--timeout", "20"],
                              env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"),
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture
def fleet_env(stack, monkeypatch):
    """The environment an agent's process has: ATC_BROKERS and ATC_REDIS_URL
    pointing at the stack, for code that builds its Client() itself."""
    monkeypatch.setenv("ATC_BROKERS", stack.brokers)
    monkeypatch.setenv("ATC_REDIS_URL", stack.redis_url)
    monkeypatch.setenv("ATC_JOBS_TOPIC", "atc.jobs")
    return stack
