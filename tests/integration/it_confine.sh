#!/usr/bin/env bash
# it_confine.sh: daytona-local's confinement of sandbox commands (daytona-local-jail):
# a command sees neither another sandbox's directory nor its processes, has no
# network under networkBlockAll, a fork bomb stops at the process limit while the
# server keeps answering, deleting a sandbox kills all it started, and python3 +
# pytest still work inside. Talks to daytona-local with curl and jq only.
source "$(dirname "$0")/lib.sh"

it_start_daytona
if ! grep -q "^daytona-local: confinement: " "$IT_TMP/daytona.log"; then
    it_skip "the jail does not work on this machine: $(head -n 3 "$IT_TMP/daytona.log")"
fi
grep "^daytona-local: confinement: " "$IT_TMP/daytona.log" >&2
PORT=${DAYTONA_BASE##*:}
AUTH="Authorization: Bearer test-key"

# create BODY -> the new sandbox's id; run ID COMMAND [TIMEOUT_S] -> EXIT, OUT (lib.sh)
create() { it_daytona_create "$@"; }
run() { it_daytona_exec "$@"; }

# procs_of UID -> the number of processes running as UID on this machine
procs_of() {
    ps -u "$1" -o pid= 2>/dev/null | wc -l
}

a=$(create '{"labels":{"t":"confine"}}') || it_fail "create a"
b=$(create '{}') || it_fail "create b"
nonet=$(create '{"networkBlockAll":true}') || it_fail "create nonet"
bomb=$(create '{}') || it_fail "create bomb"

# Each sandbox has a uid of its own when the server runs as root.
uid_a=$(stat -c %u "$IT_TMP/daytona/$a")
uid_b=$(stat -c %u "$IT_TMP/daytona/$b")
if [[ $(id -u) == 0 ]]; then
    [[ "$uid_a" != 0 && "$uid_a" != "$uid_b" ]] ||
        it_fail "sandboxes a and b should have distinct non-root uids, have $uid_a and $uid_b"
    run "$a" 'id -u'
    it_assert_eq "$OUT" "$uid_a" "the uid a command of sandbox a runs as"
fi

# Another sandbox's directory is not there, from a relative or an absolute path.
run "$a" "ls ../$b"
[[ "$EXIT" != 0 ]] || it_fail "ls ../$b from sandbox a succeeded: $OUT"
run "$a" "ls $IT_TMP/daytona/$b"
[[ "$EXIT" != 0 ]] || it_fail "ls of sandbox b's absolute path from a succeeded: $OUT"
run "$a" 'ls ..'
it_assert_eq "$OUT" "$a" "what sandbox a sees in the sandboxes' root"

# Another sandbox's processes are not visible: a sleeper in b, ps in a.
(run "$b" 'exec sleep 77.5' 30 >/dev/null 2>&1 &)
it_wait_for 10 "the sleeper of sandbox b runs" pgrep -f '^sleep 77.5$'
run "$a" 'ps ax -o args='
it_assert_eq "$EXIT" 0 "ps in sandbox a"
[[ "$OUT" != *"sleep 77.5"* ]] || it_fail "sandbox a sees sandbox b's process: $OUT"
run "$a" 'ps ax -o pid= | wc -l'
[[ "$OUT" -le 5 ]] || it_fail "sandbox a sees $OUT processes, expected only its own few"

# No network under networkBlockAll: neither the internet nor the server's own port.
run "$nonet" "python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), 2)\""
[[ "$EXIT" != 0 ]] || it_fail "a networkBlockAll sandbox connected out: $OUT"
run "$nonet" "python3 -c \"import socket; socket.create_connection(('127.0.0.1', $PORT), 2)\""
[[ "$EXIT" != 0 ]] || it_fail "a networkBlockAll sandbox reached daytona-local's port: $OUT"
it_assert_contains "$OUT" "Connection refused" "connecting to daytona-local's port from inside"
# ... while a sandbox without it still reaches the server (pip install needs the network).
run "$a" "python3 -c \"import socket; socket.create_connection(('127.0.0.1', $PORT), 2)\""
it_assert_eq "$EXIT" 0 "connecting to daytona-local's port from a sandbox with network"

# python3 and pytest work inside, and the command can write its directory.
printf 'def test_one():\n    assert 1 + 1 == 2\n' >"$IT_TMP/test_one.py"
curl -fsS -H "$AUTH" -X POST "$DAYTONA_BASE/toolbox/$a/files/bulk-upload" \
    -F "files[0].path=tests/test_one.py" -F "files[0].file=@$IT_TMP/test_one.py" >/dev/null ||
    it_fail "upload to sandbox a"
run "$a" 'python3 -m pytest --version'
it_assert_eq "$EXIT" 0 "python3 -m pytest --version in a sandbox: $OUT"
it_assert_contains "$OUT" "pytest" "python3 -m pytest --version"
run "$a" 'python3 -m pytest -q -p no:cacheprovider tests && touch tests/written && echo ok'
it_assert_eq "$EXIT" 0 "pytest on an uploaded test in a sandbox: $OUT"
it_assert_contains "$OUT" "1 passed" "pytest's summary"

# A bounded fork bomb: 1000 sleepers hit the process limit; the server answers meanwhile.
uid_bomb=$(stat -c %u "$IT_TMP/daytona/$bomb")
(run "$bomb" 'for i in $(seq 1000); do sleep 300.25 & done; echo started; wait' 600 \
    >/dev/null 2>&1 &)
if [[ $(id -u) == 0 ]]; then
    it_wait_for 60 "the fork bomb reaches the process limit" \
        bash -c "[[ \$(ps -u $uid_bomb -o pid= | wc -l) -ge 500 ]]"
    n=$(procs_of "$uid_bomb")
    [[ "$n" -le 512 ]] || it_fail "the fork bomb has $n processes, above the limit of 512"
else
    it_wait_for 60 "the fork bomb starts sleepers" pgrep -f '^sleep 300[.]25$'
fi
curl -fsS -m 10 "$DAYTONA_BASE/_local/stats" | jq -e '.live == 4' >/dev/null ||
    it_fail "/_local/stats does not answer during the fork bomb"
run "$a" 'echo still here'
it_assert_eq "$OUT" "still here" "a command in another sandbox during the fork bomb"

# Deleting the sandbox kills every process it started.
curl -fsS -H "$AUTH" -X DELETE "$DAYTONA_API_URL/sandbox/$bomb" >/dev/null || it_fail "delete bomb"
it_wait_for 10 "every sleeper of the deleted sandbox is gone" bash -c "! pgrep -f '^sleep 300[.]25$' >/dev/null"
if [[ $(id -u) == 0 ]]; then
    n=$(procs_of "$uid_bomb")
    it_assert_eq "$n" 0 "processes left under the deleted sandbox's uid $uid_bomb"
fi
[[ ! -e "$IT_TMP/daytona/$bomb" ]] || it_fail "the deleted sandbox's directory is still there"

for id in "$a" "$b" "$nonet"; do
    curl -fsS -H "$AUTH" -X DELETE "$DAYTONA_API_URL/sandbox/$id" >/dev/null || it_fail "delete $id"
done
it_wait_for 10 "sandbox b's sleeper is gone" bash -c "! pgrep -f '^sleep 77.5$' >/dev/null"
it_assert_eq "$(it_daytona_live)" 0 "live sandboxes at the end"
it_log "ok"
