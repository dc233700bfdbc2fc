#!/usr/bin/env bash
# run.sh: the whole test suite. Builds with AddressSanitizer and
# UndefinedBehaviorSanitizer (warnings are errors), runs every unit, SDK and
# integration test with ctest, then each fuzz target for a bounded time.
#   tests/run.sh                 everything
#   tests/run.sh -R integration  only tests whose name matches (ctest -R)
#   ATC_FUZZ_SECONDS=0 tests/run.sh   skip fuzzing
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

jobs=${ATC_BUILD_JOBS:-$(nproc)}
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --preset asan -j "${ATC_TEST_JOBS:-2}" "$@"

fuzz_seconds=${ATC_FUZZ_SECONDS:-20}
if [ "$#" -eq 0 ] && [ "$fuzz_seconds" -gt 0 ]; then
  if command -v clang >/dev/null; then
    cmake --preset fuzz >/dev/null
    cmake --build --preset fuzz -j "$jobs"
    for fuzzer in build-fuzz/bin/fuzz_*; do
      name=$(basename "$fuzzer")
      corpus="tests/fuzz/corpus/${name#fuzz_}"
      work=$(mktemp -d)
      [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
      echo "fuzzing $name for ${fuzz_seconds}s"
      "$fuzzer" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -print_final_stats=1 "$work" 2>&1 | tail -n 5
      rm -rf "$work"
    done
  else
    echo "clang not found: fuzz targets skipped" >&2
  fi
fi
