"""client.py: the agent's client of atc-fleet: submit jobs to Kafka (an
idempotent producer, returning once the broker acknowledged), read, wait for
and cancel results in Redis, following the layout of docs/results.md. Like
`atc`, it writes only a producer's own keys (the queued mark, the cancel mark
and nudge) and runs no script, so it works as the Redis user atc-producer
(deploy/redis/acl.sh)."""

import time

import confluent_kafka
import redis

from . import _dotenv, _job
from ._result import FINAL_STATUSES, Result

DEFAULT_BROKERS = "127.0.0.1:9092"
DEFAULT_TOPIC = "atc.jobs"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
RESULT_KEY = "atc:result:"
DONE_KEY = "atc:done:"
CANCEL_KEY = "atc:cancel:"
QUEUED_KEY = "atc:queued:"
STREAM = "atc:results"
CANCELS_STREAM = "atc:cancels"
RESULT_TTL_S = 604800
# Blocking waits go in slices, so a lost connection is noticed within one.
_SLICE_S = 5.0
# wait_all re-reads every pending status this often, a safety net under the stream.
_RECHECK_S = 30.0

# How long cancel() waits for the final cancelled result by default.
CANCEL_WAIT_S = 5.0

# What cancel() did.
CANCEL_ALREADY_FINAL = "already_final"  # the result was (or became) final: nothing changed
CANCEL_DONE = "cancelled"               # now final, cancelled (a queued job never ran)
CANCEL_REQUESTED = "requested"          # asked, not final within the wait
CANCEL_UNKNOWN = "unknown"              # no result, no queued mark: marked, never runs


class SubmitError(ConnectionError):
    """The broker did not take the job (not reachable, refused it)."""


class RaceResult:
    """What Client.race found. group: the group every candidate ran in; ids:
    the candidates' job ids, in the order given; winners: the final Results
    that passed, in the order they finished (at most `need`); results: {id:
    final Result} for every candidate final when the race ended; cancelled:
    the ids it cancelled (not final then); won: whether `need` passed."""

    def __init__(self, group, ids, winners, results, cancelled, won):
        self.group = group
        self.ids = ids
        self.winners = winners
        self.results = results
        self.cancelled = cancelled
        self.won = won

    def __repr__(self):
        return "RaceResult(group=%r, won=%r, winners=%r, cancelled=%d)" % (
            self.group, self.won, [w.id for w in self.winners], len(self.cancelled))


class WaitAllTimeout(TimeoutError):
    """wait_all ran out of time: `results` holds the final results so far,
    `pending` the ids still without one."""

    def __init__(self, msg, results, pending):
        super().__init__(msg)
        self.results = results
        self.pending = pending


def kafka_env_config(environ=None):
    """ATC_KAFKA_<NAME>=value as librdkafka properties: lower-cased, '_' to '.'."""
    env = _dotenv.environ() if environ is None else environ
    conf = {}
    for k, v in env.items():
        if k.startswith("ATC_KAFKA_") and len(k) > len("ATC_KAFKA_"):
            conf[k[len("ATC_KAFKA_"):].lower().replace("_", ".")] = v
    return conf


def _now_ms():
    return time.time_ns() // 1_000_000


class Client:
    """One producer and one Redis connection pool. Thread-safe for submit
    from several threads (librdkafka is); waits block their own thread.

    brokers, redis_url, topic default to ATC_BROKERS, ATC_REDIS_URL and
    ATC_JOBS_TOPIC as `atc` reads them (environment, then .env.local, .env); kafka_config is applied last, over
    ATC_KAFKA_*. delivery_timeout_s bounds a submit."""

    def __init__(self, brokers=None, redis_url=None, topic=None, kafka_config=None,
                 delivery_timeout_s=30.0):
        env = _dotenv.environ()  # the environment over .env.local and .env
        self.brokers = brokers or env.get("ATC_BROKERS") or DEFAULT_BROKERS
        self.topic = topic or env.get("ATC_JOBS_TOPIC") or DEFAULT_TOPIC
        self.redis_url = redis_url or env.get("ATC_REDIS_URL") or DEFAULT_REDIS_URL
        self.delivery_timeout_s = float(delivery_timeout_s)
        conf = {
            "enable.idempotence": True,
            "acks": "all",
            "message.timeout.ms": int(self.delivery_timeout_s * 1000),
            "message.max.bytes": 5242880,
        }
        conf["bootstrap.servers"] = self.brokers
        conf.update(kafka_env_config(env))
        conf.update(kafka_config or {})
        try:
            self.delivery_timeout_s = int(conf["message.timeout.ms"]) / 1000.0
        except (TypeError, ValueError):
            pass
        self._producer = confluent_kafka.Producer(conf)
        self._redis = redis.Redis.from_url(self.redis_url, socket_connect_timeout=5,
                                           socket_timeout=5)
        # Blocking reads (BLMOVE, XREAD BLOCK) need a socket that outlasts them.
        self._redis_block = redis.Redis.from_url(self.redis_url, socket_connect_timeout=5,
                                                 socket_timeout=_SLICE_S + 5)

    def close(self):
        """Waits briefly for messages in flight, then drops the connections."""
        if self._producer is not None:
            self._producer.flush(1.0)
            self._producer = None
        self._redis.close()
        self._redis_block.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- submit ----

    def submit(self, files=None, code=None, tests=None, deps=None, cmd=None, timeout=None,
               env=None, labels=None, job_id=None, cache=False, snapshot=None,
               traceparent=None, test_timeout=None, reruns=None, group=None, cpu=None,
               memory_gib=None, disk_gib=None):
        """Sends a job and returns its id once the broker acknowledged it.

        files: {path: bytes or str}; code and tests add "tool.py" and
        "test_tool.py" (unless files already holds those paths). timeout is
        the test run's limit in whole seconds; test_timeout each test's;
        reruns how often a failed test is run again (0..5); group the race
        group the job is part of (see race); cpu, memory_gib, disk_gib the
        sandbox's resources (Daytona's units; the fleet rejects a job over its
        caps). Raises ValueError (naming the
        field) for a job that breaks a rule, SubmitError or TimeoutError when
        the broker did not take it. Marks the result queued in Redis, best
        effort."""
        all_files = {}
        for path, data in (files or {}).items():
            all_files[path] = data.encode("utf-8") if isinstance(data, str) else data
        if code is not None:
            all_files.setdefault("tool.py", code.encode("utf-8") if isinstance(code, str) else code)
        if tests is not None:
            all_files.setdefault("test_tool.py",
                                 tests.encode("utf-8") if isinstance(tests, str) else tests)
        job = {"v": _job.JOB_VERSION, "id": job_id if job_id is not None else _job.uuid7(),
               "files": all_files, "submitted_ms": _now_ms()}
        if deps:
            job["deps"] = list(deps)
        if cmd is not None:
            job["cmd"] = cmd
        if timeout is not None:
            if isinstance(timeout, float) and timeout.is_integer():
                timeout = int(timeout)
            job["timeout_s"] = timeout
        if env:
            job["env"] = dict(env)
        if labels:
            job["labels"] = dict(labels)
        if snapshot is not None:
            job["snapshot"] = snapshot
        if cache:
            job["cache"] = True
        if test_timeout is not None:
            if isinstance(test_timeout, float) and test_timeout.is_integer():
                test_timeout = int(test_timeout)
            job["test_timeout_s"] = test_timeout
        if reruns is not None:
            job["reruns"] = reruns
        if group is not None:
            job["group"] = group
        for field, v in (("cpu", cpu), ("memory_gib", memory_gib), ("disk_gib", disk_gib)):
            if v is not None:
                job[field] = v
        value = _job.encode(job)
        self._produce(job["id"], value, traceparent)
        mark = {"submitted_ms": job["submitted_ms"]}
        if job.get("group"):
            mark["group"] = job["group"]
        try:
            # The producer's own key (atc:queued:<id>), all or nothing, and
            # only while no worker wrote the result (a fast job may have
            # started and deleted the mark already): WATCH makes it one step.
            with self._redis.pipeline(transaction=True) as pipe:
                pipe.watch(RESULT_KEY + job["id"])
                if not pipe.exists(RESULT_KEY + job["id"]):
                    pipe.multi()
                    pipe.hset(QUEUED_KEY + job["id"], mapping=mark)
                    pipe.expire(QUEUED_KEY + job["id"], RESULT_TTL_S)
                    pipe.execute()
        except redis.WatchError:
            pass  # a worker wrote the result meanwhile: no mark needed
        except redis.RedisError:
            pass  # the job is on the broker: submitted whatever Redis says
        return job["id"]

    def submit_raw(self, key, value):
        """Sends bytes as they are (no validation, no Redis)."""
        self._produce(key, value, None)

    def _produce(self, key, value, traceparent):
        state = {}

        def on_delivery(err, msg):
            state["err"] = err
            state["done"] = True

        headers = [("traceparent", traceparent.encode())] if traceparent else None
        deadline = time.monotonic() + self.delivery_timeout_s + 5.0
        while True:
            try:
                self._producer.produce(self.topic, key=key.encode() if isinstance(key, str) else key,
                                       value=value, headers=headers, on_delivery=on_delivery)
                break
            except BufferError:
                if time.monotonic() >= deadline:
                    raise TimeoutError("the producer's queue stayed full")
                self._producer.poll(0.1)
            except confluent_kafka.KafkaException as e:
                raise SubmitError("cannot queue the message for topic %r: %s" % (self.topic, e))
        while not state.get("done"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("message not delivered within %.0f s" % self.delivery_timeout_s)
            self._producer.flush(min(left, 0.1))
        err = state.get("err")
        if err is not None:
            if err.code() in (confluent_kafka.KafkaError._MSG_TIMED_OUT,
                              confluent_kafka.KafkaError._TIMED_OUT):
                raise TimeoutError("message not delivered to topic %r: %s" % (self.topic, err.str()))
            raise SubmitError("message not delivered to topic %r: %s" % (self.topic, err.str()))

    # ---- results ----

    def get(self, job_id):
        """The job's result as it is now, final or not; None when there is none.
        As atc_results_get reads it: the hash atc:result:<id>; where there is
        none, the queued mark as status queued (submitted_ms, group); and
        cancel_requested where a cancel was asked for a job not final."""
        pipe = self._redis.pipeline(transaction=False)
        # The queued mark before the hash: a worker deletes the mark in the
        # script that writes the hash, so a job is never in neither.
        pipe.hgetall(QUEUED_KEY + job_id)
        pipe.hgetall(RESULT_KEY + job_id)
        pipe.exists(CANCEL_KEY + job_id)
        queued, h, cancel = pipe.execute()
        if h:
            h = dict(h)
        elif queued:
            h = {k: v for k, v in queued.items() if k in (b"submitted_ms", b"group")}
            h[b"status"] = b"queued"
        else:
            return None
        if cancel and h.get(b"status", b"").decode("utf-8", "replace") not in FINAL_STATUSES:
            h.setdefault(b"cancel_requested", b"1")
        return Result.from_hash(job_id, h)

    def wait(self, job_id, timeout=None):
        """Blocks until the result is final (timeout None or 0: no limit) and
        returns it, with BLMOVE on atc:done:<id> as the C side does. Raises
        TimeoutError (with the current result as its .result) otherwise."""
        deadline = None if not timeout else time.monotonic() + timeout
        r = self.get(job_id)
        if r is not None and r.final:
            return r
        while True:
            slice_s = _SLICE_S
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                slice_s = max(min(slice_s, left), 0.01)
            done = DONE_KEY + job_id
            got = self._redis_block.execute_command("BLMOVE", done, done, "RIGHT", "LEFT",
                                                    "%.3f" % slice_s)
            if got is not None:
                r = self.get(job_id)
                if r is not None and r.final:
                    return r
                raise RuntimeError("%s holds an element but the result of %s is %r"
                                   % (done, job_id, r.status if r else None))
        r = self.get(job_id)
        if r is not None and r.final:
            return r
        e = TimeoutError("the result of %s was not final within %g s (status: %s)"
                         % (job_id, timeout, r.status if r else "none"))
        e.result = r
        raise e

    def wait_all(self, job_ids, timeout=None):
        """Waits for many jobs at once, without a thread or a round trip per
        job: one pipelined status read, then the atc:results stream followed
        from an id recorded before that read. Returns {id: final Result} for
        every id; raises WaitAllTimeout (with .results and .pending) when some
        are not final within timeout (None or 0: no limit)."""
        ids = list(dict.fromkeys(job_ids))
        results = {}
        pending = set(ids)
        for _batch in self._finals(ids, timeout, pending, results):
            pass
        if pending:
            raise WaitAllTimeout("%d of %d results not final within %g s"
                                 % (len(pending), len(ids), timeout), results, sorted(pending))
        return {i: results[i] for i in ids}

    def _finals(self, ids, timeout, pending, results, slice_s=_SLICE_S):
        """Moves ids from pending to results as their results turn final,
        yielding the list of ids each step finished (maybe empty), until none
        is pending or timeout (None or 0: no limit) has passed."""
        deadline = None if not timeout else time.monotonic() + timeout
        last = self._stream_last()
        before = set(pending)
        self._collect(ids, pending, results)
        yield sorted(before - pending)
        next_check = time.monotonic() + _RECHECK_S
        while pending:
            wait_s = slice_s
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                wait_s = max(min(wait_s, left), 0.001)
            reply = self._redis_block.xread({STREAM: last}, count=1000,
                                            block=max(int(wait_s * 1000), 1))
            finished = []
            for _stream, entries in reply or []:
                for sid, fields in entries:
                    last = sid
                    jid = fields.get(b"id", b"").decode("utf-8", "replace")
                    if jid in pending:
                        finished.append(jid)
            before = set(pending)
            if finished:
                self._collect(finished, pending, results)
            if time.monotonic() >= next_check:
                # The stream is capped (MAXLEN ~ 100000): never trust it alone.
                self._collect(sorted(pending), pending, results)
                next_check = time.monotonic() + _RECHECK_S
            yield sorted(before - pending)
        if pending:
            before = set(pending)
            self._collect(sorted(pending), pending, results)
            yield sorted(before - pending)

    # ---- races ----

    def race(self, candidates, need=1, timeout=None, group=None):
        """Runs candidate implementations of one tool as one group and returns
        as soon as `need` of them passed, cancelling the rest: a queued one
        never runs, a running one is stopped by its worker within seconds.

        candidates: a list of dicts of submit() keyword arguments (files,
        code, tests, deps, ...), one job each; every job carries the job
        field `group` (group, else a fresh id), which its result repeats.
        timeout (None or 0: no limit) bounds the wait; when it runs out the
        rest are cancelled too. Returns a RaceResult; raises ValueError for a
        bad candidate before anything is sent."""
        if need < 1:
            raise ValueError("need: must be at least 1 (got %r)" % (need,))
        cands = list(candidates)
        if not cands:
            raise ValueError("candidates: at least one")
        group = group if group is not None else "race-" + _job.uuid7()
        if not _job.id_valid(group):
            raise ValueError("group: %r must be 1 to %d bytes of [A-Za-z0-9._:-]"
                             % (group, _job.ID_MAX))
        for i, c in enumerate(cands):
            if not isinstance(c, dict):
                raise ValueError("candidates[%d]: must be a dict of submit() arguments" % i)
            if "group" in c:
                raise ValueError("candidates[%d]: the race sets group itself" % i)
        ids = [self.submit(group=group, **c) for c in cands]
        results, pending, winners = {}, set(ids), []
        for finished in self._finals(ids, timeout, pending, results, slice_s=1.0):
            winners.extend(i for i in finished if results[i].status == "passed")
            if len(winners) >= need:
                break
        cancelled = [i for i in ids if i in pending and
                     self.cancel(i, wait=0) in (CANCEL_DONE, CANCEL_REQUESTED, CANCEL_UNKNOWN)]
        # A worker makes a queued one final within about a second, the worker
        # running one stops it: wait a little for them, all at once.
        rest = set(cancelled) & pending
        for _finished in self._finals(sorted(rest), CANCEL_WAIT_S, rest, results, slice_s=0.5):
            pass
        pending -= set(results)
        return RaceResult(group, ids, [results[i] for i in winners[:need]], results, cancelled,
                          len(winners) >= need)

    def _stream_last(self):
        newest = self._redis.xrevrange(STREAM, "+", "-", count=1)
        return newest[0][0] if newest else b"0-0"

    def _collect(self, ids, pending, results, chunk=500):
        """Pipelined HGETALL for ids: moves the final ones from pending to results."""
        ids = [i for i in ids if i in pending]
        for n in range(0, len(ids), chunk):
            part = ids[n:n + chunk]
            pipe = self._redis.pipeline(transaction=False)
            for i in part:
                pipe.hgetall(RESULT_KEY + i)
            for i, h in zip(part, pipe.execute()):
                if h:
                    r = Result.from_hash(i, h)
                    if r.final:
                        results[i] = r
                        pending.discard(i)

    # ---- cancel ----

    def cancel(self, job_id, wait=CANCEL_WAIT_S):
        """Cancels a job as atc_results_cancel does: a final result is left as
        it is; otherwise SET atc:cancel:<id> (the mark the workers watch) and
        XADD atc:cancels (the nudge every worker reads, which makes a queued
        job final at once), then up to `wait` seconds for the final result.
        Returns CANCEL_DONE ("cancelled": now final, cancelled),
        CANCEL_REQUESTED ("requested": not final within the wait; a running
        job's worker stops it, a queued one ends cancelled without running
        once a worker reads the nudge or consumes it - wait() for it),
        CANCEL_ALREADY_FINAL (final before, or it finished first) or
        CANCEL_UNKNOWN (no result and no queued mark: marked so that it never
        runs, not waited for)."""
        if not _job.id_valid(job_id):
            raise ValueError("id: %r is not a job id" % (job_id,))
        pipe = self._redis.pipeline(transaction=False)
        pipe.hget(RESULT_KEY + job_id, "status")
        pipe.exists(QUEUED_KEY + job_id)
        status, queued = pipe.execute()
        status = status.decode("utf-8", "replace") if status is not None else ""
        if status in FINAL_STATUSES:
            return CANCEL_ALREADY_FINAL
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(CANCEL_KEY + job_id, 1, ex=RESULT_TTL_S)
        pipe.xadd(CANCELS_STREAM, {"id": job_id}, maxlen=10000, approximate=True)
        pipe.execute()
        if not status and not queued:
            return CANCEL_UNKNOWN
        if not wait:
            return CANCEL_REQUESTED
        try:
            r = self.wait(job_id, wait)
        except TimeoutError:
            return CANCEL_REQUESTED
        return CANCEL_DONE if r.status == "cancelled" else CANCEL_ALREADY_FINAL
