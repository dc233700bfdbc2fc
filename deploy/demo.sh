#!/usr/bin/env bash
# demo.sh: the fleet's main job on a local stack, from a fresh Debian machine.
# Installs what is missing, builds, starts redis-server, kafka-mock,
# daytona-local and one atc-worker, submits a passing and a failing sample job
# (deploy/demo/), prints both results, and stops everything again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

./deploy/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)" >/dev/null
bin=$root/build/bin

work=$(mktemp -d "${TMPDIR:-/tmp}/atc-demo.XXXXXX")
pids=()
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { # a port nothing listens on: ask the kernel via bash's /dev/tcp
  local p
  for p in $(shuf -i 20000-60000 -n 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  return 1
}
first_line() { # FILE: waits for a program's first line of output
  for _ in $(seq 100); do [ -s "$1" ] && { head -n 1 "$1"; return; }; sleep 0.1; done
  echo "no output in $1" >&2; return 1
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  >"$work/redis.log" 2>&1 &
pids+=($!)
"$bin/kafka-mock" >"$work/kafka.out" 2>"$work/kafka.log" &
pids+=($!)
# The sandboxes run Debian's python3 whatever python3 comes first on this PATH
# (a pyenv shim, a venv): --python's default, spelled out.
"$bin/daytona-local" --listen 127.0.0.1:0 --api-key demo-key --python /usr/bin/python3 \
  >"$work/daytona.out" 2>"$work/daytona.log" &
pids+=($!)

export ATC_REDIS_URL="redis://127.0.0.1:$redis_port/0"
export "$(first_line "$work/kafka.out")"      # ATC_BROKERS=...
export "$(first_line "$work/daytona.out")"    # DAYTONA_API_URL=...
export DAYTONA_API_KEY=demo-key
export ATC_HTTP_ADDR="127.0.0.1:$(free_port)" ATC_LOG_FORMAT=text ATC_CONCURRENCY=4
"$bin/atc-worker" 2>"$work/worker.log" &
pids+=($!)
echo "stack: redis $ATC_REDIS_URL, kafka $ATC_BROKERS, daytona $DAYTONA_API_URL, worker http://$ATC_HTTP_ADDR"

cd deploy/demo
echo
echo "== a passing tool: atc submit --code slugify.py --tests test_slugify.py --wait"
"$bin/atc" submit --code slugify.py --tests test_slugify.py --label demo=passing --wait --wait-timeout 120 || true
echo
echo "== a failing tool: atc submit --code slugify.py --tests test_slugify_unicode.py --wait"
"$bin/atc" submit --code slugify.py --tests test_slugify_unicode.py --label demo=failing --wait --wait-timeout 120 || true
echo
echo "sandboxes still live: $(curl -s "${DAYTONA_API_URL%/api}/_local/stats")"
echo "worker log: the lines about the two jobs"
grep -E "started|finished" "$work/worker.log" | sed 's/^/  /'
