#!/usr/bin/env bash
# run.sh: runs the official Daytona TypeScript SDK (sdk_smoke.mjs) against the
# build's daytona-local. Exit 77 (skipped) when node or npm is missing.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
bin="${ATC_BIN_DIR:-$here/../../build/bin}/daytona-local"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "sdk.daytona_local: SKIPPED: node and npm are needed for the official SDK test" >&2
  exit 77
fi
if [ ! -x "$bin" ]; then
  echo "sdk.daytona_local: $bin not found; build daytona-local first (set ATC_BIN_DIR)" >&2
  exit 1
fi
if [ ! -d "$here/node_modules/@daytonaio/sdk" ]; then
  (cd "$here" && npm ci --no-audit --no-fund) || {
    echo "sdk.daytona_local: SKIPPED: npm ci failed (no registry access?)" >&2
    exit 77
  }
fi

. "$here/lib.sh"
. "$here/../python_env.sh"
sdk_pypi=0
if pypi_reachable /usr/bin/python3; then sdk_pypi=1; fi
# A PATH whose python3, python and pip fail as a pyenv shim can: the sandboxes
# must not depend on it (daytona-local --python, default /usr/bin/python3).
write_failing_shims "$work/shims"
sdk_path="$work/shims:$PATH"
sdk_start_local sdk.daytona_local "$bin" --listen 127.0.0.1:0 --api-key sdk-test-key \
  --create-state starting --start-delay-ms 300

# A local package index for the snapshot part (issue 12): one tiny wheel.
index_url=""
if [ -x /usr/bin/python3 ] &&
  /usr/bin/python3 "$here/../envs/make_index.py" "$work/index" atc-sdk-demo==1.0 >/dev/null; then
  iport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  /usr/bin/python3 -m http.server --bind 127.0.0.1 "$iport" --directory "$work/index" \
    >/dev/null 2>&1 &
  ipid=$!
  trap 'kill -TERM "$ipid" 2>/dev/null; wait "$ipid" 2>/dev/null; sdk_cleanup' EXIT
  for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$iport/simple/" >/dev/null 2>&1 && index_url="http://127.0.0.1:$iport/simple" && break
    sleep 0.1
  done
fi

# Run from the work dir so that no stray .env can make the SDK's URL ambiguous.
(cd "$work" && DAYTONA_API_URL="$url" DAYTONA_API_KEY=sdk-test-key SDK_PYPI=$sdk_pypi \
  SDK_PIP_INDEX_URL="$index_url" \
  NODE_PATH="$here/node_modules" node "$here/sdk_smoke.mjs")
rc=$?
if [ $rc -ne 0 ]; then
  echo "--- daytona-local stderr ---" >&2
  cat "$work/err" >&2
fi
exit $rc
