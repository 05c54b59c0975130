#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The project's test command. Stages, each in its own build directory:
#   (a) release  build/       Release, -Werror, everything; ctest (unit, package, examples, ...)
#   (b) asan     build-asan/  Debug -O1, ASan+UBSan (clang, else GCC); ctest -L unit
#   (c) tsan     build-tsan/  Debug -O1, TSan (clang, else GCC); the unit tests named *concurren*/*thread*
#   (d) fuzz     build-fuzz/  clang + libFuzzer; every fuzz/fuzz_*.cpp for FUZZ_SECONDS seconds
# Every stage runs even when an earlier one fails; the last line is "N passed, M failed".
#
# Environment: FA_TEST_QUICK=1 runs (a) only; FA_TEST_STAGES picks stages by name ("release asan tsan fuzz",
# the default). FUZZ_SECONDS per fuzzer (default 6; 7 fuzzers). FA_JOBS (default 2).
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$FA_ROOT"

FUZZ_SECONDS="${FUZZ_SECONDS:-6}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1}"
# Debug builds under sanitizers: -O1 keeps them fast enough; libstdc++ assertions catch container misuse.
SAN_DEBUG_FLAGS="-g -O1 -D_GLIBCXX_ASSERTIONS"
# Sanitized and fuzz builds skip what stage (a) already covers. Warnings are enforced in (a) only, with
# one compiler (GCC): a second compiler's extra diagnostics should not fail a sanitizer stage.
SAN_COMMON_ARGS=(
  -DCMAKE_BUILD_TYPE=Debug
  "-DCMAKE_C_FLAGS_DEBUG=$SAN_DEBUG_FLAGS"
  "-DCMAKE_CXX_FLAGS_DEBUG=$SAN_DEBUG_FLAGS"
  -DFOOOCUS_AUDIT_WERROR=OFF
  -DFOOOCUS_AUDIT_BUILD_TESTS=ON
  -DFOOOCUS_AUDIT_BUILD_EXAMPLES=OFF
  -DFOOOCUS_AUDIT_BUILD_BENCH=OFF
  -DFOOOCUS_AUDIT_BUILD_FUZZ=OFF
  -DFOOOCUS_AUDIT_INSTALL=OFF
)
TSAN_TEST_REGEX='[Cc]oncurren|[Tt]hread'

have_clang() { command -v clang >/dev/null 2>&1 && command -v clang++ >/dev/null 2>&1; }

# Sanitizer builds use Clang where available: with ASan it compiles this code base 2-4x faster than GCC 12
# (GCC's -O1 ASan build of the Catch2 runner alone took three minutes on two cores). GCC's runtimes work too.
SAN_COMPILERS=()
if have_clang; then
  SAN_COMPILERS=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
fi

stage_release() {
  fa_configure_release
  cmake --build build -j "$FA_JOBS"
  (cd build && ctest --output-on-failure -j "$FA_JOBS")
}

stage_asan() {
  fa_configure "$FA_ROOT/build-asan" "${SAN_COMMON_ARGS[@]}" "${SAN_COMPILERS[@]}" -DFOOOCUS_AUDIT_SANITIZE=address
  cmake --build build-asan -j "$FA_JOBS"
  (cd build-asan && ctest -L unit --output-on-failure -j "$FA_JOBS")
}

# The TSan build compiles only what its tests need: the test files with a TEST_CASE named like
# TSAN_TEST_REGEX (FOOOCUS_AUDIT_TEST_FILES) and the tests/c programs named like it.
stage_tsan() {
  local files c_targets
  files="$(perl -0777 -ne 'if (/TEST_CASE\(\s*"[^"]*(?:'"$TSAN_TEST_REGEX"')/) { ($n = $ARGV) =~ s{.*/|\.cpp$}{}g; print "$n\n" }' \
             tests/test_*.cpp | paste -sd'|')"
  c_targets="$(find tests/c -name '*.c' -printf '%f\n' | sed 's/\.c$//' | grep -E "$TSAN_TEST_REGEX" || true)"
  echo "TSan: test files ${files:-<none>}; C programs ${c_targets:-<none>}"
  fa_configure "$FA_ROOT/build-tsan" "${SAN_COMMON_ARGS[@]}" "${SAN_COMPILERS[@]}" -DFOOOCUS_AUDIT_SANITIZE=thread \
    "-DFOOOCUS_AUDIT_TEST_FILES=/(${files:-none})\\.cpp\$"
  # shellcheck disable=SC2086  # c_targets is a list of target names
  cmake --build build-tsan -j "$FA_JOBS" --target fooocus_audit_tests $c_targets
  local count
  count="$(cd build-tsan && ctest -N -L unit -R "$TSAN_TEST_REGEX" | sed -n 's/^Total Tests: //p')"
  if [[ "${count:-0}" -eq 0 ]]; then
    echo "WARNING: no unit test name matches /$TSAN_TEST_REGEX/; nothing ran under TSan"
    return 0
  fi
  (cd build-tsan && ctest -L unit -R "$TSAN_TEST_REGEX" --output-on-failure -j "$FA_JOBS")
}

stage_fuzz() {
  fa_configure "$FA_ROOT/build-fuzz" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DFOOOCUS_AUDIT_WERROR=OFF -DFOOOCUS_AUDIT_SANITIZE= -DFOOOCUS_AUDIT_BUILD_FUZZ=ON \
    -DFOOOCUS_AUDIT_BUILD_TESTS=OFF -DFOOOCUS_AUDIT_BUILD_EXAMPLES=OFF -DFOOOCUS_AUDIT_BUILD_BENCH=OFF \
    -DFOOOCUS_AUDIT_BUILD_CLI=OFF -DFOOOCUS_AUDIT_INSTALL=OFF
  cmake --build build-fuzz -j "$FA_JOBS" --target fooocus_audit_fuzzers
  local src name corpus seeds dict failures=0 ran=0
  for src in fuzz/fuzz_*.cpp; do
    [[ -e "$src" ]] || continue
    name="$(basename "$src" .cpp)"
    corpus="build-fuzz/corpus/$name"
    seeds="fuzz/corpus/$name"
    mkdir -p "$corpus" "build-fuzz/artifacts"
    if [[ -d "$seeds" ]]; then
      cp -R "$seeds/." "$corpus/"
    fi
    local args=(-max_total_time="$FUZZ_SECONDS" -timeout=10 -print_final_stats=1
                -artifact_prefix="build-fuzz/artifacts/$name-")
    dict="fuzz/$name.dict"
    if [[ -f "$dict" ]]; then
      args+=(-dict="$dict")
    fi
    echo "---- $name for ${FUZZ_SECONDS}s (corpus $corpus)"
    ran=$((ran + 1))
    if ! "build-fuzz/fuzz/$name" "${args[@]}" "$corpus"; then
      echo "FAILED: $name (reproducer in build-fuzz/artifacts/)"
      failures=$((failures + 1))
    fi
  done
  if ((ran == 0)); then
    echo "WARNING: fuzz/ has no fuzz_*.cpp; nothing fuzzed"
  fi
  ((failures == 0))
}

passed=0
failed=0
results=()

# run_stage <label> <function>: runs the stage in a subshell with errexit in force (a function called
# from an `if` would silently lose it) and records the outcome without stopping the script.
run_stage() {
  local label="$1" fn="$2" rc start
  start=$SECONDS
  echo
  echo "==================== stage $label"
  set +e
  (set -euo pipefail; "$fn")
  rc=$?
  set -e
  if ((rc == 0)); then
    passed=$((passed + 1))
    results+=("PASS  $label ($((SECONDS - start))s)")
  else
    failed=$((failed + 1))
    results+=("FAIL  $label ($((SECONDS - start))s, exit $rc)")
  fi
}

bash scripts/deps.sh

stages="${FA_TEST_STAGES:-release asan tsan fuzz}"
if [[ "${FA_TEST_QUICK:-0}" == "1" ]]; then
  stages="release"
fi
wants() { [[ " $stages " == *" $1 "* ]]; }

if wants release; then run_stage "(a) release build + all tests" stage_release; fi
if wants asan; then run_stage "(b) ASan+UBSan unit tests" stage_asan; fi
if wants tsan; then run_stage "(c) TSan concurrency tests" stage_tsan; fi
if wants fuzz; then
  if have_clang; then
    run_stage "(d) fuzzers, ${FUZZ_SECONDS}s each" stage_fuzz
  else
    results+=("SKIP  (d) fuzzers: clang not found")
  fi
fi
if [[ "$stages" != "release asan tsan fuzz" ]]; then
  results+=("SKIP  stages not selected (FA_TEST_QUICK / FA_TEST_STAGES: '$stages')")
fi

echo
echo "==================== summary"
printf '%s\n' "${results[@]}"
echo "$passed passed, $failed failed"
((failed == 0))
