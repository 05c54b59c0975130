#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The project's demo command: builds build/ (Release, the same configuration scripts/test.sh uses) and runs
# the bundled demo, passing every argument through. Build output goes to stderr, the demo's own to stdout.
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$FA_ROOT"

{
  bash scripts/deps.sh
  fa_configure_release
  cmake --build build -j "$FA_JOBS"
} >&2

demo="$FA_ROOT/build/examples/fooocus_demo"
if [[ ! -x "$demo" ]]; then
  echo "demo: $demo was not built. It comes from examples/fooocus_demo.cpp, registered in" >&2
  echo "      examples/CMakeLists.txt with fa_add_example(fooocus_demo); is that in place?" >&2
  exit 1
fi
exec "$demo" "$@"
