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

fail() { echo "tests/run.sh: $*" >&2; exit 1; }

# can_link CC SOURCE FLAGS...: whether CC builds and links SOURCE with FLAGS
can_link() {
  local cc=$1 src=$2 dir rc
  shift 2
  dir=$(mktemp -d)
  printf '%s\n' "$src" > "$dir/t.c"
  "$cc" "$@" "$dir/t.c" -o "$dir/t" >/dev/null 2>&1 && rc=0 || rc=1
  rm -rf "$dir"
  return "$rc"
}
program='int main(void) { return 0; }'
fuzz_target='int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; return (int)(n & 0); }'

fuzz_seconds=${ATC_FUZZ_SECONDS:-20}
fuzzing=0
if [ "$#" -eq 0 ] && [ "$fuzz_seconds" -gt 0 ]; then fuzzing=1; fi

# The toolchain first, so a missing piece is one sentence, not a CMake dump.
if ! missing=$(deploy/install-deps.sh --check); then
  fail "missing Debian packages: $missing; run ./deploy/install-deps.sh first."
fi
can_link cc "$program" -fsanitize=address,undefined ||
  fail "cc cannot link with -fsanitize=address,undefined (libasan/libubsan missing): run ./deploy/install-deps.sh."
if [ "$fuzzing" = 1 ]; then
  command -v clang >/dev/null ||
    fail "clang not found, needed for the fuzz targets: run ./deploy/install-deps.sh (or ATC_FUZZ_SECONDS=0 to skip fuzzing)."
  can_link clang "$fuzz_target" -fsanitize=fuzzer,address,undefined ||
    fail "clang cannot link a fuzzer with -fsanitize=fuzzer,address,undefined: its runtimes (compiler-rt, Debian's libclang-rt-dev) are missing; run ./deploy/install-deps.sh."
fi

jobs=${ATC_BUILD_JOBS:-$(nproc)}
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --preset asan -j "${ATC_TEST_JOBS:-2}" "$@"

if [ "$fuzzing" = 1 ]; then
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
fi
