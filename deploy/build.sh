#!/usr/bin/env bash
# build.sh: the release build of atc-fleet and its unit tests, the one sequence
# that both the Dockerfile's build stage and CI run.
#   deploy/build.sh [BUILD_DIR]      (default: build-release in the source tree)
# The programs land in BUILD_DIR/bin. Environment: ATC_BUILD_JOBS (default: the
# number of cores), ATC_TEST_JOBS (default 2).
# The release preset turns the tests off; they are turned back on here so the
# unit tests (ctest label "unit") are built with the same flags as the programs
# that ship, and run before anything is packaged.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-release}
jobs=${ATC_BUILD_JOBS:-$(nproc)}

cd "$root"
cmake --preset release -B "$build" -DATC_TESTS=ON >/dev/null
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" -L unit -j "${ATC_TEST_JOBS:-2}" --output-on-failure --no-tests=error
