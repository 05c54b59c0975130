# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Sourced by scripts/test.sh and scripts/demo.sh: one definition of each build directory's configuration,
# so running the demo after the tests reuses build/ instead of rebuilding it.

FA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FA_JOBS="${FA_JOBS:-2}"

# fa_configure <build-dir> <cmake args...>: configures with Ninja. A directory left behind by another
# generator (a plain `cmake -B build`) would make CMake refuse, so its cache is dropped first.
fa_configure() {
  local dir="$1"
  shift
  if [[ -f "$dir/CMakeCache.txt" ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
    echo "note: $dir was configured with another generator; reconfiguring it from scratch"
    rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
  fi
  cmake -S "$FA_ROOT" -B "$dir" -G Ninja "$@"
}

# build/: the Release build with everything, warnings as errors.
fa_configure_release() {
  fa_configure "$FA_ROOT/build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DFOOOCUS_AUDIT_WERROR=ON \
    -DFOOOCUS_AUDIT_SANITIZE= \
    -DFOOOCUS_AUDIT_BUILD_TESTS=ON \
    -DFOOOCUS_AUDIT_BUILD_EXAMPLES=ON \
    -DFOOOCUS_AUDIT_BUILD_BENCH=ON \
    -DFOOOCUS_AUDIT_BUILD_CLI=ON \
    -DFOOOCUS_AUDIT_BUILD_FUZZ=OFF \
    -DFOOOCUS_AUDIT_INSTALL=ON
}
