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
    if [[ $rc -ne 0 ]]; then
        # Show the tail of every log so a CI failure explains itself.
        for f in "$IT_TMP"/*.log; do
            [[ -s "$f" ]] || continue
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

it_start_redis() {
    local bin port
    bin=$(command -v redis-server) || it_fail "redis-server is not installed"
    port=$(it_free_port)
    it_start redis "$bin" --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$IT_TMP" --loglevel warning
    REDIS_PID=$IT_LAST_PID
    REDIS_PORT=$port
    it_wait_for 10 "redis-server on port $port" \
        bash -c "[[ \$(redis-cli -p $port ping) == PONG ]]"
    export ATC_REDIS_URL="redis://127.0.0.1:$port/0"
    export REDIS_PORT
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
        it_start kafka "$(dirname "${BASH_SOURCE[0]}")/../kafka/start-kafka.sh" \
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
        local n
        n=$(grep -c "all brokers down" "$IT_TMP/kafka.log")
        kill -USR1 "$KAFKA_PID"
        it_wait_for 10 "kafka-mock logs the brokers down" \
            test "$(grep -c "all brokers down" "$IT_TMP/kafka.log")" -gt "$n"
    fi
}

it_kafka_up() {
    if [[ "${ATC_IT_KAFKA:-mock}" == real ]]; then
        local line name
        kill -0 "$KAFKA_PID" 2>/dev/null && it_fail "it_kafka_up: the broker is still running"
        IT_KAFKA_STARTS=$((IT_KAFKA_STARTS + 1))
        name=kafka.$IT_KAFKA_STARTS
        it_start "$name" "$(dirname "${BASH_SOURCE[0]}")/../kafka/start-kafka.sh" --dir "$IT_KAFKA_DIR"
        KAFKA_PID=$IT_LAST_PID
        line=$(_it_kafka_first_line "$name")
        it_assert_eq "$line" "ATC_BROKERS=$ATC_BROKERS" "the restarted broker's address"
    else
        local n
        n=$(grep -c "all brokers up" "$IT_TMP/kafka.log")
        kill -USR2 "$KAFKA_PID"
        it_wait_for 10 "kafka-mock logs the brokers up" \
            test "$(grep -c "all brokers up" "$IT_TMP/kafka.log")" -gt "$n"
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

# Prints daytona-local's count of sandboxes not yet deleted.
it_daytona_live() {
    curl -fsS "$DAYTONA_BASE/_local/stats" |
        jq -r .live
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
