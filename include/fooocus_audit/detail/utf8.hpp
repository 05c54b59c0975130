// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file detail/utf8.hpp
/// UTF-8 validation and repair for PromptSanitizer (docs/privacy.md §1). Well-formed means the Unicode
/// Standard's Table 3-7: no overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF. Repair
/// replaces each maximal subpart of an ill-formed sequence by U+FFFD (Unicode §3.9 "U+FFFD Substitution of
/// Maximal Subparts", the WHATWG Encoding Standard's behaviour). All functions run in linear time.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace fooocus_audit::utf8 {

inline constexpr std::size_t npos = static_cast<std::size_t>(-1);
/// U+FFFD REPLACEMENT CHARACTER in UTF-8.
inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

/// Length of the well-formed sequence starting at s[i] (1..4), or 0 when it is ill-formed; then *bad is the
/// length of its maximal subpart (1..3), the bytes one U+FFFD replaces. Requires i < s.size().
inline std::size_t sequence_length(std::string_view s, std::size_t i, std::size_t* bad) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  const unsigned c = p[i];
  *bad = 1;
  if (c < 0x80) return 1;
  std::size_t need = 0;
  unsigned lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;  // 0x80..0xC1, 0xF5..0xFF: never a lead byte
  }
  for (std::size_t k = 1; k <= need; ++k) {
    if (i + k >= n) return 0;
    const unsigned b = p[i + k];
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return 0;
    *bad = k + 1;
  }
  return need + 1;
}

/// Byte offset of the first ill-formed sequence, or npos when `s` is well-formed UTF-8.
inline std::size_t first_invalid(std::string_view s) noexcept {
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII fast path: 8 bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if ((w & 0x8080808080808080ULL) != 0) break;
      i += 8;
    }
    if (i >= n) break;
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    std::size_t bad = 0;
    const std::size_t len = sequence_length(s, i, &bad);
    if (len == 0) return i;
    i += len;
  }
  return npos;
}

inline bool is_valid(std::string_view s) noexcept { return first_invalid(s) == npos; }

/// `s` with every maximal subpart of an ill-formed sequence replaced by U+FFFD; *replaced (if not null)
/// counts the replacements.
inline std::string repair(std::string_view s, std::size_t* replaced = nullptr) {
  std::string out;
  out.reserve(s.size() + 16);
  std::size_t count = 0, i = 0, run = 0;  // [run, i): well-formed bytes not yet copied
  while (i < s.size()) {
    std::size_t bad = 0;
    const std::size_t len = sequence_length(s, i, &bad);
    if (len != 0) {
      i += len;
      continue;
    }
    out.append(s.data() + run, i - run);
    out.append(kReplacement);
    ++count;
    i += bad;
    run = i;
  }
  out.append(s.data() + run, s.size() - run);
  if (replaced != nullptr) *replaced = count;
  return out;
}

/// True when byte offset i of well-formed `s` starts a code point (or is s.size()).
inline bool is_boundary(std::string_view s, std::size_t i) noexcept {
  return i == 0 || i >= s.size() ? i <= s.size() : (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
}

/// The largest code point boundary <= i (i clamped to s.size()).
inline std::size_t floor_boundary(std::string_view s, std::size_t i) noexcept {
  if (i >= s.size()) return s.size();
  std::size_t steps = 0;
  while (i > 0 && steps < 3 && !is_boundary(s, i)) --i, ++steps;
  return i;
}

/// The smallest code point boundary >= i (i clamped to s.size()).
inline std::size_t ceil_boundary(std::string_view s, std::size_t i) noexcept {
  std::size_t steps = 0;
  while (i < s.size() && steps < 3 && !is_boundary(s, i)) ++i, ++steps;
  return i < s.size() ? i : s.size();
}

}  // namespace fooocus_audit::utf8
