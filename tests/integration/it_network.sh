#!/usr/bin/env bash
# it_network.sh: a test that connects to a TCP listener on the host must not
# reach it: sandboxes run the tests with networkBlockAll. A job with deps gets
# the network for pip (from a local package index here), then it is blocked
# (POST /sandbox/{id}/network-settings) before the tests. A job asking for
# "network": "open" is rejected by a worker whose operator does not allow it.
# A service that refuses network-settings fails the job closed. The result
# records the policy applied. An honest job still passes.
# kafka-mock only: its subject is the sandbox side (Daytona, the runner, Redis);
# the Kafka path it takes is the one the integration.real.* tests cover.
source "$(dirname "$0")/lib.sh"
source "$IT_LIB_DIR/msgpack.sh"

it_start_redis
it_start_kafka --partitions 2
it_start_daytona --confine
ATC_CONCURRENCY=4 it_start_worker worker
it_wait_for 60 "the worker in the group" curl -fsS "$WORKER_HTTP/readyz"

cd "$IT_TMP"
# The listener on the host: one line per connection it accepts.
cat >listener.py <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
while True:
    c, a = s.accept()
    with open(sys.argv[1], "a") as f:
        f.write("connection from %s:%d\n" % a)
    c.close()
PY
: >seen.log
it_start listener /usr/bin/python3 listener.py "$IT_TMP/seen.log"
LPORT=$(it_first_line listener 10)
# Sanity: the listener does see a connection made from the host.
(exec 3<>"/dev/tcp/127.0.0.1/$LPORT") || it_fail "cannot reach the listener from the host"
it_wait_for 5 "the listener's own check" grep -q connection seen.log
: >seen.log

# A package index with one tiny wheel, for a job with deps.
mkdir -p index/simple/atcprobe
/usr/bin/python3 - index/simple/atcprobe <<'PY'
import base64, hashlib, sys, zipfile
d = sys.argv[1]
name = "atcprobe-0.1-py3-none-any.whl"
files = {
    "atcprobe.py": "VALUE = 42\n",
    "atcprobe-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: atcprobe\nVersion: 0.1\n",
    "atcprobe-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: it\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
rec = []
with zipfile.ZipFile("%s/%s" % (d, name), "w") as z:
    for p, t in files.items():
        z.writestr(p, t)
        h = base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b"=").decode()
        rec.append("%s,sha256=%s,%d" % (p, h, len(t)))
    rec.append("atcprobe-0.1.dist-info/RECORD,,")
    z.writestr("atcprobe-0.1.dist-info/RECORD", "\n".join(rec) + "\n")
open(d + "/index.html", "w").write('<a href="%s">%s</a>\n' % (name, name))
PY
IPORT=$(it_free_port)
it_start index /usr/bin/python3 -m http.server --bind 127.0.0.1 --directory index "$IPORT"
it_wait_for 10 "the package index" curl -fsS "http://127.0.0.1:$IPORT/simple/atcprobe/"

cat >test_probe.py <<PY
import socket

def test_reach_the_host():
    socket.create_connection(("127.0.0.1", $LPORT), timeout=3).close()
PY
cat >test_probe_deps.py <<PY
import socket
import atcprobe

def test_dep_installed():
    assert atcprobe.VALUE == 42

def test_reach_the_host():
    socket.create_connection(("127.0.0.1", $LPORT), timeout=3).close()
PY
printf 'def add(a, b):\n    return a + b\n' >tool.py
printf 'from tool import add\n\ndef test_add():\n    assert add(2, 3) == 5\n' >test_tool.py

it_expect_exit 0 it_atc submit --id honest --code tool.py --tests test_tool.py
it_expect_exit 0 it_atc submit --id probe --tests test_probe.py
it_expect_exit 0 it_atc submit --id probedeps --tests test_probe_deps.py --dep atcprobe==0.1 \
    --env "PIP_INDEX_URL=http://127.0.0.1:$IPORT/simple/"
# "network": "open", straight to Kafka (atc submit has no such option).
{
    printf 'open\xff'
    mp_map 4; mp_str v; mp_uint 1; mp_str id; mp_str open; mp_str network; mp_str open
    mp_str files; mp_map 1; mp_str test_probe.py; mp_str "$(cat test_probe.py)"
    printf '\xfe'
    printf 'badnet\xff'
    mp_map 4; mp_str v; mp_uint 1; mp_str id; mp_str badnet; mp_str network; mp_str host
    mp_str files; mp_map 1; mp_str test_probe.py; mp_str "$(cat test_probe.py)"
    printf '\xfe'
} >raw.msgs
kcat -P -b "$ATC_BROKERS" -t atc.jobs -K '\xff' -D '\xfe' <raw.msgs 2>kcat.err ||
    it_fail "kcat: $(cat kcat.err)"

printf '%s\n' honest probe probedeps open badnet >all.ids
it_wait_all_final all.ids 180
it_assert_one_final_result all.ids
field() { it_redis HGET "atc:result:$1" "$2"; }
for id in $(cat all.ids); do
    it_log "$id: $(field "$id" status)/$(field "$id" reason) network=$(field "$id" network):" \
        "$(field "$id" error)"
done
it_assert_eq "$(field honest status)/$(field honest network)" passed/blocked "honest"
it_assert_eq "$(field probe status)/$(field probe reason)" failed/tests_failed "probe"
it_assert_eq "$(field probe network)" blocked "probe network"
it_assert_eq "$(field probedeps status)/$(field probedeps reason)" failed/tests_failed "probedeps"
it_assert_eq "$(field probedeps tests_passed)/$(field probedeps tests_failed)" 1/1 \
    "probedeps: the dep imported (from the index, over the network), the host unreachable"
it_assert_eq "$(field probedeps network)" blocked_after_install "probedeps network"
it_assert_eq "$(field open status)/$(field open reason)" rejected/network_not_allowed "open"
it_assert_contains "$(field open error)" "ATC_ALLOW_OPEN_NETWORK=1" "open error"
it_assert_eq "$(field badnet status)/$(field badnet reason)" rejected/bad_message "badnet"
it_assert_contains "$(field badnet error)" 'network: must be "none" or "open"' "badnet error"
[[ ! -s seen.log ]] || it_fail "the listener saw a sandbox: $(cat seen.log)"

# A service that refuses network-settings: the job with deps fails closed. And
# one that accepts networkBlockAll but does not apply it (daytona-local without
# its jail: no network namespace): the worker's probe, before the job's code
# runs, still reaches the API, and the job ends error/network_not_blocked.
it_stop "$WORKER_PID"
it_stop "$DAYTONA_PID"
it_start_daytona --no-confine --refuse-network-settings
ATC_CONCURRENCY=4 it_start_worker worker2
it_wait_for 60 "the second worker in the group" curl -fsS "$WORKER_HTTP/readyz"
it_expect_exit 0 it_atc submit --id refused --tests test_probe_deps.py --dep atcprobe==0.1 \
    --env "PIP_INDEX_URL=http://127.0.0.1:$IPORT/simple/"
it_expect_exit 0 it_atc submit --id unblocked --tests test_probe.py
printf '%s\n' refused unblocked >refused.ids
it_wait_all_final refused.ids 120
it_log "unblocked: $(field unblocked status)/$(field unblocked reason): $(field unblocked error)"
it_assert_eq "$(field unblocked status)/$(field unblocked reason)" error/network_not_blocked "unblocked"
[[ -z "$(field unblocked exit_code)" ]] || it_fail "unblocked: the tests ran"
it_log "refused: $(field refused status)/$(field refused reason): $(field refused error)"
it_assert_eq "$(field refused status)/$(field refused reason)" error/network_refused "refused"
it_assert_contains "$(field refused error)" "not run with the network open" "refused error"
[[ -z "$(field refused exit_code)" ]] || it_fail "refused: the tests ran"
[[ ! -s seen.log ]] || it_fail "the listener saw a sandbox: $(cat seen.log)"
it_wait_eq 15 "no live sandbox in daytona-local" 0 it_daytona_live
it_log "ok"
