#!/usr/bin/env bash
# install-deps.sh: installs, from Debian's packages, what atc-fleet needs to
# build, test and run locally. Does nothing for packages already there.
# Used by the README's demo, by .ci/run and by the Dockerfile's build stage.
#   install-deps.sh [--check] [--bench | --runtime-only]
# --check prints the missing packages on one line and exits 1, installing nothing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  # the fuzz targets (tests/fuzz/): clang and its sanitizer and libFuzzer
  # runtimes (compiler-rt), which are only a Recommends of clang and so never
  # arrive with --no-install-recommends unless named
  clang libclang-rt-dev
  librdkafka-dev libcurl4-openssl-dev libssl-dev libmsgpack-dev libhiredis-dev libcmocka-dev
  libjansson-dev libmicrohttpd-dev libexpat1-dev
  # python3 is the sandboxes' interpreter in daytona-local (--python
  # /usr/bin/python3); python3-venv makes the venvs of the Python SDK test
  # (tests/sdk/run_python.sh) and of the deploy checks
  redis-server kcat jq curl ca-certificates python3 python3-pytest python3-pip python3-venv
  # the agent-side Python client, producer/python (atc_fleet), and its tests
  python3-confluent-kafka python3-msgpack python3-redis
  # a real Apache Kafka broker for the integration tests (tests/kafka/)
  maven openjdk-17-jre-headless
  coreutils procps
  # deploy/monitoring/'s checks (tests/monitoring/): promtool for the alert
  # rules and their unit tests, PyYAML to read the PrometheusRule
  prometheus python3-yaml
)
check_only=0
if [ "${1:-}" = "--check" ]; then
  check_only=1
  shift
fi
if [ "${1:-}" = "--bench" ]; then
  # tests/bench/: plots (also deploy/monitoring/render-panels.sh), and the
  # alternatives atc-fleet is measured against
  packages+=(gnuplot-nox python3-requests python3-celery valgrind)
fi
if [ "${1:-}" = "--runtime-only" ]; then
  # The shared libraries the programs link (tests/deploy/check.sh compares this
  # list with ldd of the built programs), ca-certificates for TLS, and curl for
  # the image's HEALTHCHECK (it needs only libcurl4, which is here anyway).
  packages=(librdkafka1 libcurl4 libssl3 libmsgpackc2 libhiredis0.14 libjansson4 libmicrohttpd12 libexpat1 ca-certificates
            curl)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "${check_only:-0}" = 1 ]; then
  # --check: name what is missing, install nothing (tests/run.sh's first step)
  echo "${missing[*]}"
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
