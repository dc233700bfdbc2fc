# lib.sh: sourced by the SDK tests (run.sh, run_python.sh): starts the build's
# daytona-local and stops it at exit.
#   sdk_start_local NAME BIN ARGS...   sets $url and $work (a temporary
#   directory removed at exit; daytona-local's stdout and stderr are
#   $work/out and $work/err); exits 1 when it does not start. Runs it with
#   $sdk_path as PATH when set.
sdk_pid=""
sdk_cleanup() {
  if [ -n "$sdk_pid" ]; then
    kill -TERM "$sdk_pid" 2>/dev/null
    wait "$sdk_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
work="$(mktemp -d "${TMPDIR:-/tmp}/sdk-test.XXXXXX")"
trap sdk_cleanup EXIT

sdk_start_local() {
  local name=$1 bin=$2
  shift 2
  PATH="${sdk_path:-$PATH}" "$bin" "$@" >"$work/out" 2>"$work/err" &
  sdk_pid=$!
  url=""
  for _ in $(seq 1 100); do
    url="$(head -n 1 "$work/out" 2>/dev/null | sed -n 's/^DAYTONA_API_URL=//p')"
    [ -n "$url" ] && break
    if ! kill -0 "$sdk_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "$name: daytona-local did not start" >&2
    cat "$work/err" >&2
    exit 1
  fi
}
