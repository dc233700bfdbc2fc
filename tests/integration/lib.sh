# lib.sh: a bash library for integration tests (it_*.sh): start redis-server,
# kafka-mock, daytona-local and atc-worker as real processes in a temporary
# directory, wait for conditions, and stop everything on exit, pass or fail.
#
# Use:   source "$(dirname "$0")/lib.sh"
# Binaries come from $ATC_BIN_DIR (set by ctest; default ../../build/bin).
# Everything a test starts is stopped, and $IT_TMP removed, by an EXIT trap.
# Keep IT_KEEP=1 in the environment to keep $IT_TMP (logs) for a post-mortem.
#
# Functions (each exits the test with a message when it cannot do its job):
#   it_start_redis                 -> REDIS_PORT, ATC_REDIS_URL (exported)
#   it_start_kafka [args]          -> ATC_BROKERS (exported), KAFKA_PID; kafka-mock, or
#                                     Apache Kafka with ATC_IT_KAFKA=real (docs/kafka.md)
#   it_kafka_down / it_kafka_up    take the brokers down / up again (outage tests)
#   it_start_daytona [args]        -> DAYTONA_API_URL, DAYTONA_API_KEY=test-key,
#                                     DAYTONA_BASE (http://host:port), DAYTONA_PID
#   it_start_worker [name] [args]  -> WORKER_PID, WORKER_HTTP (http://127.0.0.1:port),
#                                     WORKER_LOG; env: everything above plus
#                                     ATC_HTTP_ADDR, ATC_WORKER_ID, ATC_LOG_FORMAT=text
#   it_start NAME CMD...           any process, stdout to $IT_TMP/NAME.out,
#                                  stderr to $IT_TMP/NAME.log -> IT_LAST_PID
#   it_first_line NAME [timeout_s] the first stdout line of NAME
#   it_stop PID [signal]           stop one process now (TERM, KILL after 5 s)
#   it_wait_for TIMEOUT_S WHAT CMD...   until CMD succeeds, else fail naming WHAT
#   it_daytona_live                prints daytona-local's live sandbox count
#   it_run CMD...                  runs CMD; IT_RC, IT_OUT, IT_ERR (files' text)
#   it_expect_exit CODE CMD...     it_run and fail unless the exit status is CODE
#   it_atc ARGS...                 runs $ATC_BIN_DIR/atc
#   it_free_port                   prints a TCP port that was free a moment ago
#   it_assert_eq A B WHAT / it_assert_contains HAY NEEDLE WHAT / it_fail MSG / it_log MSG
#   it_skip MSG                    ends the test as skipped (exit 77)

set -u -o pipefail

IT_NAME=$(basename "${0%.sh}")
if [[ -z "${ATC_BIN_DIR:-}" ]]; then
    ATC_BIN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../build/bin" 2>/dev/null && pwd) || true
fi
export ATC_BIN_DIR
IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/atc-${IT_NAME}.XXXXXX") || { echo "cannot make a temp dir" >&2; exit 1; }
export IT_TMP
IT_PIDS=()
IT_NAMES=()
IT_RC=0
IT_OUT=""
IT_ERR=""

it_log() { echo "[$IT_NAME] $*" >&2; }

it_fail() {
    echo "[$IT_NAME] FAIL: $*" >&2
    exit 1
}

# it_skip REASON: ends the test as skipped (ctest's SKIP_RETURN_CODE).
IT_SKIP=77
it_skip() {
    echo "[$IT_NAME] SKIP: $*" >&2
    exit "$IT_SKIP"
}

# Stops one process: SIGTERM (or the given signal), SIGKILL after 5 s.
it_stop() {
    local pid=$1 sig=${2:-TERM} i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -s "$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    kill -s KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

_it_cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    for ((i = ${#IT_PIDS[@]} - 1; i >= 0; i--)); do
        it_stop "${IT_PIDS[$i]}"
    done
    if [[ $rc -ne 0 && $rc -ne $IT_SKIP ]]; then
        # Show the tail of every log so a CI failure explains itself.
        for f in "$IT_TMP"/*.log; do
            [[ -s "$f" ]] || continue
            # A worker's group and partition story, which the tail has lost.
            if grep -qm1 ' starting atc-worker' "$f"; then
                echo "----- $(basename "$f") (its group, partitions and warnings) -----" >&2
                grep -E ' (warn|error) | assigned | revoked | kafka |stopping|breaker' "$f" |
                    grep -vE 'failed \(|failed again|retry [0-9]' | head -n 30 >&2
            fi
            echo "----- $(basename "$f") (last 40 lines) -----" >&2
            tail -n 40 "$f" >&2
        done
        it_log "failed (exit $rc)"
    fi
    if [[ "${IT_KEEP:-0}" == 1 ]]; then
        it_log "kept $IT_TMP"
    else
        rm -rf "$IT_TMP"
    fi
    exit "$rc"
}
trap _it_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

it_bin() {
    local p="$ATC_BIN_DIR/$1"
    [[ -x "$p" ]] || it_fail "no program $p (build it first, or set ATC_BIN_DIR)"
    echo "$p"
}

it_free_port() {
    # A port nothing answers on, from the ephemeral range's neighbour (no race-free
    # way exists in bash; the servers we start take a port of their own choosing
    # where they can, with --listen 127.0.0.1:0).
    local p
    for p in $(shuf -i 20000-32000 -n 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    it_fail "no free port found"
}

# it_start NAME CMD...: starts CMD in the background, tracked for cleanup.
it_start() {
    local name=$1
    shift
    "$@" >"$IT_TMP/$name.out" 2>"$IT_TMP/$name.log" &
    IT_LAST_PID=$!
    IT_PIDS+=("$IT_LAST_PID")
    IT_NAMES+=("$name")
}

# it_first_line NAME [timeout_s]: waits for NAME's first stdout line and prints it.
it_first_line() {
    local name=$1 timeout=${2:-10} i line
    for ((i = 0; i < timeout * 10; i++)); do
        if [[ -s "$IT_TMP/$name.out" ]] && IFS= read -r line <"$IT_TMP/$name.out" &&
            [[ "$(wc -l <"$IT_TMP/$name.out")" -ge 1 ]]; then
            echo "$line"
            return 0
        fi
        sleep 0.1
    done
    it_fail "$name printed no first line within ${timeout}s (log: $(tail -n 5 "$IT_TMP/$name.log" 2>/dev/null))"
}

# it_wait_for TIMEOUT_S WHAT CMD...: runs CMD every 0.2 s until it succeeds.
it_wait_for() {
    local timeout=$1 what=$2 end
    shift 2
    end=$((SECONDS + timeout))
    while ((SECONDS <= end)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    it_fail "timed out after ${timeout}s waiting for: $what"
}

# _it_redis_on NAME PORT ARGS...: redis-server on PORT with ARGS, once it answers.
# -> REDIS_PID, REDIS_PORT, ATC_REDIS_URL (exported)
_it_redis_on() {
    local name=$1 port=$2 bin
    shift 2
    bin=$(command -v redis-server) || it_fail "redis-server is not installed"
    it_start "$name" "$bin" --port "$port" --bind 127.0.0.1 --save "" --loglevel warning "$@"
    REDIS_PID=$IT_LAST_PID
    REDIS_PORT=$port
    it_wait_for 10 "redis-server on port $port" \
        bash -c "[[ \$(redis-cli -p $port ping) == PONG ]]"
    export ATC_REDIS_URL="redis://127.0.0.1:$port/0"
    export REDIS_PORT
}

it_start_redis() {
    _it_redis_on redis "$(it_free_port)" --appendonly no --dir "$IT_TMP"
}

# _it_kafka_first_line NAME: the real broker's first stdout line; fails at once
# when start-kafka.sh exits, else after $ATC_IT_KAFKA_START_S (default 240) s.
_it_kafka_first_line() {
    local name=$1 end line
    end=$((SECONDS + ${ATC_IT_KAFKA_START_S:-240}))
    while ((SECONDS <= end)); do
        if [[ -s "$IT_TMP/$name.out" ]] && IFS= read -r line <"$IT_TMP/$name.out"; then
            echo "$line"
            return 0
        fi
        kill -0 "$KAFKA_PID" 2>/dev/null ||
            it_fail "the broker exited before it was ready: $(tail -n 5 "$IT_TMP/$name.log")"
        sleep 0.2
    done
    it_fail "the broker was not ready within ${ATC_IT_KAFKA_START_S:-240}s: $(tail -n 5 "$IT_TMP/$name.log")"
}

# it_start_kafka [--partitions N] [--topic T]... [kafka-mock args]: kafka-mock, or with
# ATC_IT_KAFKA=real Apache Kafka (tests/kafka/start-kafka.sh, a KRaft node with
# its data in $IT_TMP/kafka-data; jars from $ATC_IT_KAFKA_JARS or fetched).
it_start_kafka() {
    local line
    if [[ "${ATC_IT_KAFKA:-mock}" == real ]]; then
        local args=()
        while [[ $# -gt 0 ]]; do
            case $1 in
            --partitions | --topic) args+=("$1" "${2:-}"); shift 2 || shift ;;
            *) it_fail "it_start_kafka: '$1' is for kafka-mock only (ATC_IT_KAFKA=real)" ;;
            esac
        done
        IT_KAFKA_DIR="$IT_TMP/kafka-data"
        IT_KAFKA_STARTS=1
        it_start kafka "$IT_LIB_DIR/../kafka/start-kafka.sh" \
            --dir "$IT_KAFKA_DIR" "${args[@]}"
        KAFKA_PID=$IT_LAST_PID
        line=$(_it_kafka_first_line kafka)
    else
        it_start kafka "$(it_bin kafka-mock)" "$@"
        KAFKA_PID=$IT_LAST_PID
        line=$(it_first_line kafka 10)
    fi
    [[ "$line" == ATC_BROKERS=* ]] || it_fail "kafka's first line is not ATC_BROKERS=...: $line"
    export ATC_BROKERS=${line#ATC_BROKERS=}
}

# Sends kafka-mock SIG and waits until it logs "all brokers WORD" once more.
_it_kafka_mock_signal() {
    local sig=$1 word=$2 n
    n=$(grep -c "all brokers $word" "$IT_TMP/kafka.log")
    kill -"$sig" "$KAFKA_PID"
    it_wait_for 10 "kafka-mock logs the brokers $word" \
        bash -c "(( \$(grep -c 'all brokers $word' '$IT_TMP/kafka.log') > $n ))"
}

# it_kafka_down / it_kafka_up: an outage of the brokers. kafka-mock takes its
# brokers down (SIGUSR1) and up (SIGUSR2); a real broker is stopped (SIGTERM) and
# started again on the same port and data. Both return once it is done;
# ATC_BROKERS stays the same, KAFKA_PID may change.
it_kafka_down() {
    if [[ "${ATC_IT_KAFKA:-mock}" == real ]]; then
        local i
        kill -TERM "$KAFKA_PID" 2>/dev/null || it_fail "the broker (pid $KAFKA_PID) is not running"
        for ((i = 0; i < 600; i++)); do
            kill -0 "$KAFKA_PID" 2>/dev/null || break
            sleep 0.1
        done
        it_stop "$KAFKA_PID" KILL
    else
        _it_kafka_mock_signal USR1 down
    fi
}

it_kafka_up() {
    if [[ "${ATC_IT_KAFKA:-mock}" == real ]]; then
        local line name
        kill -0 "$KAFKA_PID" 2>/dev/null && it_fail "it_kafka_up: the broker is still running"
        IT_KAFKA_STARTS=$((IT_KAFKA_STARTS + 1))
        name=kafka.$IT_KAFKA_STARTS
        it_start "$name" "$IT_LIB_DIR/../kafka/start-kafka.sh" --dir "$IT_KAFKA_DIR"
        KAFKA_PID=$IT_LAST_PID
        line=$(_it_kafka_first_line "$name")
        it_assert_eq "$line" "ATC_BROKERS=$ATC_BROKERS" "the restarted broker's address"
    else
        _it_kafka_mock_signal USR2 up
    fi
}

it_start_daytona() {
    local line
    mkdir -p "$IT_TMP/daytona"
    it_start daytona "$(it_bin daytona-local)" --listen 127.0.0.1:0 --root "$IT_TMP/daytona" \
        --api-key test-key "$@"
    DAYTONA_PID=$IT_LAST_PID
    line=$(it_first_line daytona 10)
    [[ "$line" == DAYTONA_API_URL=* ]] || it_fail "daytona-local's first line is not DAYTONA_API_URL=...: $line"
    export DAYTONA_API_URL=${line#DAYTONA_API_URL=}
    export DAYTONA_API_KEY=test-key
    DAYTONA_BASE=${DAYTONA_API_URL%/api}
}

# it_start_pip_index NAME==VERSION[:REQ;...]...: tiny wheels (tests/envs/make_index.py)
# served as a PEP 503 index on 127.0.0.1 from $IT_TMP/index; exports
# ATC_PIP_INDEX_URL for the workers. Dependency-environment tests need no PyPI.
it_start_pip_index() {
    local port
    [[ -x /usr/bin/python3 ]] || it_skip "no /usr/bin/python3 for the package index"
    /usr/bin/python3 "$IT_LIB_DIR/../envs/make_index.py" "$IT_TMP/index" "$@" >/dev/null ||
        it_fail "cannot build the wheels"
    port=$(it_free_port)
    it_start index /usr/bin/python3 -m http.server --bind 127.0.0.1 "$port" \
        --directory "$IT_TMP/index"
    it_wait_for 15 "the package index" curl -fsS "http://127.0.0.1:$port/simple/"
    export ATC_PIP_INDEX_URL="http://127.0.0.1:$port/simple"
}

# it_start_worker [name] [args...]: starts atc-worker with the environment of
# the servers started so far; waits for its /healthz.
it_start_worker() {
    local name=${1:-worker}
    [[ $# -gt 0 ]] && shift
    local port
    port=$(it_free_port)
    it_start "$name" env ATC_HTTP_ADDR="127.0.0.1:$port" ATC_WORKER_ID="it-$name" \
        ATC_LOG_FORMAT=text ATC_LOG_LEVEL="${ATC_LOG_LEVEL:-debug}" \
        "$(it_bin atc-worker)" "$@"
    WORKER_PID=$IT_LAST_PID
    WORKER_HTTP="http://127.0.0.1:$port"
    WORKER_LOG="$IT_TMP/$name.log"
    it_wait_for 15 "atc-worker $name /healthz" curl -fsS "$WORKER_HTTP/healthz"
}

# it_daytona_create BODY: creates a sandbox on daytona-local with the JSON
# BODY; prints its id.
it_daytona_create() {
    curl -fsS -H "Authorization: Bearer $DAYTONA_API_KEY" -H 'Content-Type: application/json' \
        -X POST "$DAYTONA_API_URL/sandbox" -d "$1" | jq -er .id
}

# it_daytona_exec ID COMMAND [TIMEOUT_S]: runs COMMAND in sandbox ID through the
# toolbox (process/execute); sets EXIT (exitCode) and OUT (result).
it_daytona_exec() {
    local body reply
    body=$(jq -n --arg c "$2" --argjson t "${3:-60}" '{command: $c, timeout: $t}')
    reply=$(curl -fsS -H "Authorization: Bearer $DAYTONA_API_KEY" -H 'Content-Type: application/json' \
        -X POST "$DAYTONA_BASE/toolbox/$1/process/execute" -d "$body") || it_fail "execute in $1: $2"
    EXIT=$(jq -r .exitCode <<<"$reply")
    OUT=$(jq -r .result <<<"$reply")
}

# Prints daytona-local's count of sandboxes not yet deleted.
it_daytona_live() {
    curl -fsS "$DAYTONA_BASE/_local/stats" |
        jq -r .live
}

# it_daytona_live_of NAME: the count of sandboxes labelled atc-worker=it-NAME
# (the worker it_start_worker NAME started) not deleted or being deleted.
it_daytona_live_of() {
    curl -fsS -H "Authorization: Bearer $DAYTONA_API_KEY" -G "$DAYTONA_API_URL/sandbox" \
        --data-urlencode "labels={\"atc-worker\":\"it-$1\"}" --data-urlencode limit=200 |
        jq '[.items[] | select(.state != "destroyed" and .state != "destroying")] | length'
}

# it_run CMD...: runs CMD; sets IT_RC and IT_OUT/IT_ERR to its stdout/stderr.
it_run() {
    local had_e=0
    [[ $- == *e* ]] && had_e=1
    set +e
    "$@" >"$IT_TMP/run.stdout" 2>"$IT_TMP/run.stderr"
    IT_RC=$?
    ((had_e)) && set -e
    IT_OUT=$(cat "$IT_TMP/run.stdout")
    IT_ERR=$(cat "$IT_TMP/run.stderr")
}

it_expect_exit() {
    local want=$1
    shift
    it_run "$@"
    if [[ "$IT_RC" != "$want" ]]; then
        it_fail "'$*' exited $IT_RC, expected $want
stdout: $IT_OUT
stderr: $IT_ERR"
    fi
}

it_atc() { "$(it_bin atc)" "$@"; }

it_assert_eq() {
    [[ "$1" == "$2" ]] || it_fail "${3:-values differ}: got '$1', expected '$2'"
}

it_assert_contains() {
    [[ "$1" == *"$2"* ]] || it_fail "${3:-text lacks '$2'}: got '$1'"
}

# ---- helpers for the fault-tolerance tests (it_scale, it_kill9, ...) ----
#   it_redis ARGS...               redis-cli against the test's redis-server
#   it_submit_many PREFIX N P ARGS...  submits N jobs, ids PREFIX-1..PREFIX-N, P
#                                  `atc submit ARGS... --id ID` at a time; the ids
#                                  go to $IT_TMP/PREFIX.ids (one a line)
#   it_job_states IDSFILE          one line per id: "ID STATUS DONE_LEN STREAM_ENTRIES"
#                                  (STATUS "-" where there is no result hash)
#   it_count_final IDSFILE         prints how many of the ids have a final status
#   it_wait_all_final IDSFILE TIMEOUT_S   until every id is final, else fail
#   it_assert_one_final_result IDSFILE    every id: final status, exactly one
#                                  atc:results entry, atc:done:<id> of length 1
#   it_metric HTTP_BASE SAMPLE     the value of one /metrics sample (e.g.
#                                  atc_jobs_in_flight), 0 where it is absent

# This file's directory, resolved now: a test may cd later.
IT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

it_redis() { redis-cli -p "$REDIS_PORT" "$@"; }

it_submit_many() {
    local prefix=$1 n=$2 par=$3 ids
    shift 3
    ids="$IT_TMP/$prefix.ids"
    seq -f "$prefix-%g" 1 "$n" >"$ids"
    # xargs exits 123 when any invocation failed; each failure names its id.
    if ! xargs -P "$par" -I{} bash -c '"$0" submit "$@" --id "{}" >/dev/null 2>>"$IT_TMP/submit.err" ||
            { echo "submit {} failed" >>"$IT_TMP/submit.err"; exit 1; }' \
        "$(it_bin atc)" "$@" <"$ids"; then
        it_fail "some submits failed: $(grep -m 5 . "$IT_TMP/submit.err")"
    fi
}

# One Lua call reads every id's status and done-list length; the stream is
# read once with --json and counted per id by jq.
it_job_states() {
    local ids=$1 lua
    lua='local r = {}
for i, id in ipairs(ARGV) do
  local s = redis.call("HGET", "atc:result:" .. id, "status")
  if not s then s = "-" end
  r[i] = id .. " " .. s .. " " .. redis.call("LLEN", "atc:done:" .. id)
end
return r'
    it_redis --json XRANGE atc:results - + |
        jq -r '[.[] | .[1] as $f | range(0; $f | length; 2) | select($f[.] == "id") | $f[. + 1]]
               | group_by(.) | .[] | "\(.[0]) \(length)"' >"$IT_TMP/stream.counts"
    xargs -a "$ids" redis-cli -p "$REDIS_PORT" EVAL "$lua" 0 |
        awk 'NR == FNR { n[$1] = $2; next } { print $0, ($1 in n ? n[$1] : 0) }' \
            "$IT_TMP/stream.counts" -
}

it_count_final() {
    xargs -a "$1" redis-cli -p "$REDIS_PORT" EVAL '
local n = 0
for _, id in ipairs(ARGV) do
  local s = redis.call("HGET", "atc:result:" .. id, "status")
  if s == "passed" or s == "failed" or s == "error" or s == "timeout" or s == "rejected" then n = n + 1 end
end
return n' 0
}

it_wait_all_final() {
    local ids=$1 timeout=$2 total end n=0
    total=$(wc -l <"$ids")
    end=$((SECONDS + timeout))
    while ((SECONDS <= end)); do
        n=$(it_count_final "$ids" 2>/dev/null) || n=0
        [[ "$n" == "$total" ]] && return 0
        sleep 1
    done
    it_fail "after ${timeout}s only $n of $total jobs have a final result; e.g.
$(it_job_states "$ids" 2>/dev/null | awk '$2 !~ /^(passed|failed|error|timeout|rejected)$/' | head -n 5)"
}

it_assert_one_final_result() {
    local ids=$1 bad
    it_job_states "$ids" >"$IT_TMP/states.txt"
    it_assert_eq "$(wc -l <"$IT_TMP/states.txt")" "$(wc -l <"$ids")" "number of job states read"
    bad=$(awk '$2 !~ /^(passed|failed|error|timeout|rejected)$/ || $3 != 1 || $4 != 1' "$IT_TMP/states.txt")
    [[ -z "$bad" ]] || it_fail "jobs without exactly one final result (id status done_len stream_entries):
$(head -n 10 <<<"$bad")
($(wc -l <<<"$bad") in all)"
}

it_metric() {
    curl -fsS "$1/metrics" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'
}

# it_produce_jobs PREFIX N CMD [TIMEOUT_S]: writes N jobs straight to atc.jobs
# with one kcat process (hundreds of `atc submit` would take a minute on a busy
# machine): ids PREFIX-0001.. (PREFIX at most 20 bytes), key = id, one file
# job.txt holding "job <id>", `cmd` CMD, `timeout_s`. The ids go to $IT_TMP/PREFIX.ids. No
# `queued` mark is written (that is `atc submit`'s job, not the fleet's).
it_produce_jobs() {
    local prefix=$1 n=$2 cmd=$3 tmo=${4:-60} ids head tail id
    ids="$IT_TMP/$prefix.ids"
    ((${#prefix} <= 20)) || it_fail "it_produce_jobs: prefix $prefix is too long"
    declare -F mp_map >/dev/null || source "$IT_LIB_DIR/msgpack.sh" ||
        it_fail "cannot read $IT_LIB_DIR/msgpack.sh"
    head="$IT_TMP/$prefix.head"
    tail="$IT_TMP/$prefix.tail"
    { mp_map 6; mp_str v; mp_uint 1; mp_str submitted_ms; mp_uint 0; mp_str id; } >"$head"
    { mp_str cmd; mp_str "$cmd"; mp_str timeout_s; mp_uint "$tmo"; mp_str files; mp_map 1
      mp_str job.txt; } >"$tail"
    # Messages end with \xfe, keys with \xff (msgpack -2 and -1: not in these bytes).
    if LC_ALL=C grep -q $'[\xfe\xff]' "$head" "$tail"; then
        it_fail "it_produce_jobs: the job bytes hold a delimiter"
    fi
    seq -f "$prefix-%04g" 1 "$n" >"$ids"
    while IFS= read -r id; do
        printf '%s\xff' "$id"
        cat "$head"
        mp_str "$id"
        cat "$tail"
        mp_str "job $id" # each job's files differ: no cache may answer one for another
        printf '\xfe'
    done <"$ids" >"$IT_TMP/$prefix.msgs"
    kcat -P -b "$ATC_BROKERS" -t "${ATC_JOBS_TOPIC:-atc.jobs}" -K '\xff' -D '\xfe' \
        -X enable.idempotence=true -X acks=all <"$IT_TMP/$prefix.msgs" 2>"$IT_TMP/$prefix.kcat" ||
        it_fail "kcat could not produce $prefix jobs: $(tail -n 3 "$IT_TMP/$prefix.kcat")"
}

# it_start_redis_aof [PORT] [NAME]: redis-server with an append-only file (fsync
# on every write) in $IT_TMP/redis-aof, so that a test may stop it and start it
# again on the same port (it_start_redis_aof "$REDIS_PORT" redis2) with its data.
# -> REDIS_PID, REDIS_PORT, ATC_REDIS_URL (exported)
it_start_redis_aof() {
    local port=${1:-} name=${2:-redis}
    [[ -n "$port" ]] || port=$(it_free_port)
    mkdir -p "$IT_TMP/redis-aof"
    _it_redis_on "$name" "$port" --appendonly yes --appendfsync always --dir "$IT_TMP/redis-aof"
}

# it_http_code URL: prints the HTTP status of a GET (000 when nothing answered).
it_http_code() {
    curl -s -o /dev/null -m 5 -w '%{http_code}' "$1"
}

# it_wait_eq TIMEOUT_S WHAT EXPECTED CMD...: runs CMD every 0.2 s until its
# stdout is EXPECTED, else fails naming WHAT and the last output. (Unlike
# `it_wait_for ... test "$(cmd)" = x`, whose $(cmd) runs once, before waiting.)
it_wait_eq() {
    local timeout=$1 what=$2 want=$3 end got=""
    shift 3
    end=$((SECONDS + timeout))
    while ((SECONDS <= end)); do
        got=$("$@" 2>/dev/null) && [[ "$got" == "$want" ]] && return 0
        sleep 0.2
    done
    it_fail "timed out after ${timeout}s waiting for: $what (last: '$got', expected '$want')"
}
