// SPDX-License-Identifier: Apache-2.0
#pragma once
// Random text for detector tests: key-like strings drawn from an alphabet with the caller's generator
// (std::mt19937_64), one draw per character, so a test's seed fixes its inputs.

#include <cstddef>
#include <string>

namespace fa_test {

inline const std::string kBase62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
inline const std::string kB64Url = kBase62 + "-_";

/// `n` characters of `alphabet`.
template <typename Rng>
std::string random_text(Rng& rng, const std::string& alphabet, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s.push_back(alphabet[static_cast<std::size_t>(rng() % alphabet.size())]);
  return s;
}

/// `n` characters of `alphabet` with at least one lower case letter, one upper case letter and one digit (high
/// entropy, as the generic secret detector wants).
template <typename Rng>
std::string random_mixed(Rng& rng, const std::string& alphabet, std::size_t n) {
  for (;;) {
    std::string s = random_text(rng, alphabet, n);
    bool lo = false, up = false, di = false;
    for (char c : s) {
      lo = lo || (c >= 'a' && c <= 'z');
      up = up || (c >= 'A' && c <= 'Z');
      di = di || (c >= '0' && c <= '9');
    }
    if (lo && up && di) return s;
  }
}

}  // namespace fa_test
