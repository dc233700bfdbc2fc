#!/usr/bin/env bash
# run_python.sh: runs the official Daytona Python SDK (sdk_smoke.py, the
# version pinned in requirements.txt) against the build's daytona-local. The
# SDK goes into a venv made by /usr/bin/python3 -m venv, kept between runs
# (ATC_SDK_VENV, default BUILD/sdk-venv) and rebuilt when requirements.txt
# changes. Exit 77 (skipped) only when the package index cannot be reached.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
bindir="${ATC_BIN_DIR:-$here/../../build/bin}"
bin="$bindir/daytona-local"
venv="${ATC_SDK_VENV:-$bindir/../sdk-venv}"
name=sdk.python_daytona_local
. "$here/../python_env.sh"

if [ ! -x "$bin" ]; then
  echo "$name: $bin not found; build daytona-local first (set ATC_BIN_DIR)" >&2
  exit 1
fi
stamp="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$venv/.atc-requirements" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$venv"
  if ! /usr/bin/python3 -m venv "$venv"; then
    echo "$name: /usr/bin/python3 -m venv failed: install python3-venv (deploy/install-deps.sh)" >&2
    exit 1
  fi
  if ! pypi_reachable "$venv/bin/python"; then
    rm -rf "$venv"
    echo "$name: SKIPPED: the Python package index cannot be reached, so the daytona SDK cannot be installed" >&2
    exit 77
  fi
  if ! PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"; then
    rm -rf "$venv"
    echo "$name: pip install -r tests/sdk/requirements.txt failed although the index answers" >&2
    exit 1
  fi
  echo "$stamp" > "$venv/.atc-requirements"
fi

. "$here/lib.sh"
# A PATH whose python3, python and pip fail as a pyenv shim can: the sandboxes
# must not depend on it (daytona-local --python, default /usr/bin/python3).
write_failing_shims "$work/shims"
sdk_path="$work/shims:$PATH"
sdk_start_local "$name" "$bin" --listen 127.0.0.1:0 --api-key sdk-test-key \
  --create-state starting --start-delay-ms 300

# From the work dir, so that no stray .env changes the SDK's settings.
(cd "$work" && env -u DAYTONA_TARGET DAYTONA_API_URL="$url" DAYTONA_API_KEY=sdk-test-key \
  "$venv/bin/python" "$here/sdk_smoke.py")
rc=$?
if [ $rc -ne 0 ]; then
  echo "--- daytona-local stderr ---" >&2
  cat "$work/err" >&2
fi
exit $rc
