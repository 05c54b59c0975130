// SPDX-License-Identifier: Apache-2.0
#pragma once
// The fixed signing key of fuzz_note and fuzz_bundle. Their seed corpora (fuzz/corpus/fuzz_note,
// fuzz/corpus/fuzz_bundle) were made with it: the bundles' checkpoints are signed by it, so check_bundle
// accepts them with this trusted key; in fuzz_note it has signed kSignedBody and nothing else, so no other
// text may verify under it. The seed is public: this key protects nothing.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fa_fuzz {

inline constexpr std::string_view kKeyName = "fuzz-origin";

/// Seed bytes 1, 2, ..., 32.
inline std::array<std::uint8_t, 32> key_seed() {
  std::array<std::uint8_t, 32> seed{};
  for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<std::uint8_t>(i + 1);
  return seed;
}

/// The one text fuzz_note's key signs: a checkpoint body (origin "<key name>/<log_id>", the empty tree).
inline constexpr std::string_view kSignedBody =
    "fuzz-origin/00112233445566778899aabbccddeeff\n"
    "0\n"
    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";

/// A second key (seed bytes 101..132) that signs the checkpoints of fuzz/corpus/fuzz_note, so that they
/// exercise the "unknown signer" path of verify_note without breaking fuzz_note's forgery check.
inline constexpr std::string_view kOtherKeyName = "fuzz-other";
inline std::array<std::uint8_t, 32> other_key_seed() {
  std::array<std::uint8_t, 32> seed{};
  for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<std::uint8_t>(i + 101);
  return seed;
}

}  // namespace fa_fuzz
