#!/usr/bin/env bash
# it_exec_cap.sh: a job that writes around the worker's output capper (straight
# to the runner's own stdout, found through /proc) cannot make the worker read
# a reply larger than ATC_MAX_OUTPUT_BYTES needs: the job ends
# failed/output_too_large, the worker lives on, and a normal job beside it
# passes.
# kafka-mock only: its subject is the sandbox side (Daytona, the runner, Redis);
# the Kafka path it takes is the one the integration.real.* tests cover.
source "$(dirname "$0")/lib.sh"
source "$IT_LIB_DIR/msgpack.sh"

it_start_redis
it_start_kafka --partitions 1
# Without the jail: its own pid namespace and uid keep a job from the runner
# here; a Daytona sandbox runs both as one user. Without the jail there is no
# network namespace either, so the jobs ask for "network": "open" (a blocked
# network that is not would stop them before they run: it_network.sh).
it_start_daytona --no-confine
ATC_CONCURRENCY=2 ATC_MAX_OUTPUT_BYTES=32768 ATC_ALLOW_OPEN_NETWORK=1 it_start_worker worker
it_wait_for 60 "the worker in the group" curl -fsS "$WORKER_HTTP/readyz"
cd "$IT_TMP"
cat >around.py <<'PY'
import os

def parent(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])

# The oldest ancestor running .atc/run.sh is the runner itself: its stdout is
# the reply of the sandbox's exec, not the pipe into the capper.
pid, runner = os.getpid(), None
while pid > 1:
    pid = parent(pid)
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if b".atc/run.sh" in f.read():
                runner = pid
    except OSError:
        pass
print("runner", runner, flush=True)
with open("/proc/%d/fd/1" % runner, "wb") as out:
    for _ in range(16):
        out.write(b"x" * (1 << 20))
PY
printf 'def add(a, b):\n    return a + b\n' >tool.py
printf 'from tool import add\n\ndef test_add():\n    assert add(2, 3) == 5\n' >test_tool.py
{
    printf 'around\xff'
    mp_map 5; mp_str v; mp_uint 1; mp_str id; mp_str around; mp_str network; mp_str open
    mp_str cmd; mp_str 'python3 around.py'
    mp_str files; mp_map 1; mp_str around.py; mp_str "$(cat around.py)"
    printf '\xfe'
    printf 'normal\xff'
    mp_map 4; mp_str v; mp_uint 1; mp_str id; mp_str normal; mp_str network; mp_str open
    mp_str files; mp_map 2; mp_str tool.py; mp_str "$(cat tool.py)"
    mp_str test_tool.py; mp_str "$(cat test_tool.py)"
    printf '\xfe'
} >raw.msgs
kcat -P -b "$ATC_BROKERS" -t atc.jobs -K '\xff' -D '\xfe' <raw.msgs 2>kcat.err ||
    it_fail "kcat: $(cat kcat.err)"
printf '%s\n' around normal >all.ids
it_wait_all_final all.ids 120
field() { it_redis HGET "atc:result:$1" "$2"; }
it_log "around: $(field around status)/$(field around reason): $(field around error)"
it_assert_eq "$(field around status)/$(field around reason)" failed/output_too_large "around"
it_assert_eq "$(field normal status)" passed "normal"
kill -0 "$WORKER_PID" || it_fail "the worker died"
it_wait_eq 15 "no live sandbox in daytona-local" 0 it_daytona_live
it_log "ok"
