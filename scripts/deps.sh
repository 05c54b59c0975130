#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian package the build, tests, demo, benchmarks and fuzzers need.
# Idempotent: when everything is already installed it returns without touching apt.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

packages=(
  cmake ninja-build g++ clang libclang-rt-14-dev pkg-config  # toolchain; clang for TSan and libFuzzer
  libssl-dev libfmt-dev nlohmann-json3-dev libre2-dev        # library dependencies
  catch2 python3 python3-pytest                              # tests
  chromium                                                   # tests: HTML report rendered headless
  python3-venv python3-pip python3-setuptools                # tests: pip install ./bindings/python
  libspdlog-dev                                              # benchmark peer
  ca-certificates git
)

missing=()
for pkg in "${packages[@]}"; do
  if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "deps: all ${#packages[@]} packages installed"
  exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo -n env DEBIAN_FRONTEND=noninteractive)
  else
    echo "deps: missing packages (${missing[*]}) and not root; install them or rerun as root" >&2
    exit 1
  fi
fi
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
