// SPDX-License-Identifier: Apache-2.0
#pragma once
// The invariant check shared by the fuzz targets: print what broke and the input, then abort so that
// libFuzzer saves the input as a crash.

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace fa_fuzz {

[[noreturn]] inline void fail(const char* target, const char* what, std::string_view input) {
  std::fprintf(stderr, "%s: invariant violated: %s\ninput (%zu bytes): %.*s\n", target, what, input.size(),
               static_cast<int>(input.size() < 2048 ? input.size() : 2048), input.data());
  std::abort();
}

}  // namespace fa_fuzz

// CHECK(cond) in a function that has `input` (the fuzzer's bytes) in scope; FA_FUZZ_TARGET names the target.
#define CHECK(cond)                                                    \
  do {                                                                 \
    if (!(cond)) fa_fuzz::fail(FA_FUZZ_TARGET, #cond, input);          \
  } while (0)
