// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/jcs.hpp"
#endif

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>
#include <vector>

#if (defined(__SSE2__) || defined(_M_X64)) && !defined(FOOOCUS_AUDIT_NO_SIMD)
#include <emmintrin.h>
#endif
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

namespace fooocus_audit {
namespace jcs {

namespace jcs_impl {

using u8 = unsigned char;

// ---------------------------------------------------------------------------------------------------
// Eight bytes at a time. Words are loaded little-endian on every host, so that the lowest set byte of a
// mask is the first byte in memory.

inline std::uint64_t load_le64(const u8* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

/// Index of the lowest set bit of m (m != 0).
inline unsigned lowest_bit(std::uint64_t m) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  return static_cast<unsigned>(__builtin_ctzll(m));
#elif defined(_MSC_VER)
  unsigned long i;
  _BitScanForward64(&i, m);
  return static_cast<unsigned>(i);
#else
  unsigned i = 0;
  for (; (m & 1) == 0; m >>= 1) ++i;
  return i;
#endif
}

/// Index of the lowest byte whose top bit is set in m (m != 0).
inline unsigned first_marked_byte(std::uint64_t m) noexcept { return lowest_bit(m) >> 3; }

inline constexpr std::uint64_t kOnes = 0x0101010101010101ull;
inline constexpr std::uint64_t kHighs = 0x8080808080808080ull;

/// Marks bytes that end a plain run inside a string: '"', '\\', < 0x20, >= 0x80. A marked byte may be
/// a false positive only above a true one (borrows travel upwards), so the lowest mark is always exact.
inline std::uint64_t special_mask(std::uint64_t v) noexcept {
  const std::uint64_t q = v ^ (kOnes * 0x22);
  const std::uint64_t b = v ^ (kOnes * 0x5C);
  const std::uint64_t zq = (q - kOnes) & ~q;
  const std::uint64_t zb = (b - kOnes) & ~b;
  const std::uint64_t ctl = (v - kOnes * 0x20) & ~v;
  return (zq | zb | ctl | v) & kHighs;
}

inline bool is_special(u8 c) noexcept { return c == 0x22 || c == 0x5C || c < 0x20 || c >= 0x80; }

/// Advances p to the first special byte in [p, end), or to end.
inline const u8* skip_plain(const u8* p, const u8* end) noexcept {
#if (defined(__SSE2__) || defined(_M_X64)) && !defined(FOOOCUS_AUDIT_NO_SIMD)
  // Sixteen at a time where SSE2 is baseline (FOOOCUS_AUDIT_NO_SIMD keeps to the portable path, so
  // that tests can cover it on x86). A signed compare with 0x20 also catches bytes >= 0x80.
  const __m128i quote = _mm_set1_epi8(0x22);
  const __m128i backslash = _mm_set1_epi8(0x5C);
  const __m128i space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                   _mm_cmplt_epi8(v, space));
    const unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(m));
    if (bits != 0) return p + lowest_bit(bits);
    p += 16;
  }
#endif
  while (end - p >= 8) {
    const std::uint64_t m = special_mask(load_le64(p));
    if (m != 0) return p + first_marked_byte(m);
    p += 8;
  }
  while (p < end && !is_special(*p)) ++p;
  return p;
}

/// Length (2..4) of the valid UTF-8 sequence starting at p (whose first byte is >= 0x80), or 0 when
/// it is invalid: stray continuation, overlong, surrogate, above U+10FFFF or truncated.
inline std::size_t utf8_sequence(const u8* p, const u8* end) noexcept {
  const unsigned c = p[0];
  const std::size_t avail = static_cast<std::size_t>(end - p);
  auto cont = [](u8 x) { return (x & 0xC0) == 0x80; };
  if (c < 0xC2) return 0;
  if (c < 0xE0) return (avail >= 2 && cont(p[1])) ? 2 : 0;
  if (c < 0xF0) {
    if (avail < 3) return 0;
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = c == 0xED ? 0x9F : 0xBF;
    return (p[1] >= lo && p[1] <= hi && cont(p[2])) ? 3 : 0;
  }
  if (c < 0xF5) {
    if (avail < 4) return 0;
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = c == 0xF4 ? 0x8F : 0xBF;
    return (p[1] >= lo && p[1] <= hi && cont(p[2]) && cont(p[3])) ? 4 : 0;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// Key order.

/// Orders the first differing bytes x != y of two UTF-8 strings with equal prefixes by UTF-16 code
/// units. Only there can UTF-16 and byte order disagree: a 4-byte lead (F0..F4, a surrogate pair in
/// UTF-16) against a 3-byte lead of U+E000..U+FFFF (EE, EF).
inline int utf16_order_at(unsigned x, unsigned y) noexcept {
  if (x >= 0xF0 && (y == 0xEE || y == 0xEF)) return -1;
  if (y >= 0xF0 && (x == 0xEE || x == 0xEF)) return 1;
  return x < y ? -1 : 1;
}

inline int compare_utf16(const u8* a, std::size_t na, const u8* b, std::size_t nb) noexcept {
  const std::size_t n = na < nb ? na : nb;
  std::size_t i = 0;
  while (n - i >= 8) {
    const std::uint64_t d = load_le64(a + i) ^ load_le64(b + i);
    if (d != 0) {
      i += lowest_bit(d) >> 3;
      return utf16_order_at(a[i], b[i]);
    }
    i += 8;
  }
  for (; i < n; ++i)
    if (a[i] != b[i]) return utf16_order_at(a[i], b[i]);
  return na < nb ? -1 : (na > nb ? 1 : 0);
}

/// Decodes the bytes of a string that passed the canonical check (escapes are well formed).
class Unescaper {
 public:
  Unescaper(const u8* p, const u8* end) noexcept : p_(p), end_(end) {}
  /// Next decoded byte, or -1 at the end.
  int next() noexcept {
    if (p_ == end_) return -1;
    const u8 c = *p_;
    if (c != '\\') {
      ++p_;
      return c;
    }
    const u8 e = p_[1];
    p_ += 2;
    switch (e) {
      case 'b': return 0x08;
      case 'f': return 0x0C;
      case 'n': return 0x0A;
      case 'r': return 0x0D;
      case 't': return 0x09;
      case 'u': {
        const int hi = p_[2] - '0';
        const int lo = p_[3] <= '9' ? p_[3] - '0' : p_[3] - 'a' + 10;
        p_ += 4;
        return hi << 4 | lo;
      }
      default: return e;  // '"' or '\\'
    }
  }

 private:
  const u8* p_;
  const u8* end_;
};

inline int compare_escaped(const u8* a, std::size_t na, const u8* b, std::size_t nb) noexcept {
  Unescaper ua(a, a + na), ub(b, b + nb);
  for (;;) {
    const int x = ua.next(), y = ub.next();
    if (x != y) {
      if (x < 0) return -1;
      if (y < 0) return 1;
      return utf16_order_at(static_cast<unsigned>(x), static_cast<unsigned>(y));
    }
    if (x < 0) return 0;
  }
}

// ---------------------------------------------------------------------------------------------------
// Writing.

inline constexpr char kHex[] = "0123456789abcdef";

/// Enough for every output of format_double (the longest is 25 bytes, "-0.00000" + 17 digits).
inline constexpr std::size_t kNumberBuffer = 32;

/// ES6 Number::toString of a finite double into buf[kNumberBuffer]; returns the length.
inline std::size_t format_double(char* buf, double v) noexcept {
  if (v == 0) {
    buf[0] = '0';
    return 1;
  }
  char sci[kNumberBuffer];
  const auto r = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific);
  // sci is "[-]d[.ddd]e(+|-)xx" with the shortest round-trip digits.
  const char* s = sci;
  char* w = buf;
  if (*s == '-') {
    *w++ = '-';
    ++s;
  }
  char digits[20];
  int k = 0;
  digits[k++] = *s++;
  if (*s == '.')
    for (++s; *s != 'e'; ++s) digits[k++] = *s;
  ++s;  // 'e'
  const bool exp_negative = *s == '-';
  ++s;
  int e = 0;
  for (; s < r.ptr; ++s) e = e * 10 + (*s - '0');
  if (exp_negative) e = -e;
  const int n = e + 1;  // value = 0.d1..dk * 10^n

  if (k <= n && n <= 21) {
    std::memcpy(w, digits, static_cast<std::size_t>(k));
    w += k;
    std::memset(w, '0', static_cast<std::size_t>(n - k));
    w += n - k;
  } else if (0 < n && n <= 21) {
    std::memcpy(w, digits, static_cast<std::size_t>(n));
    w += n;
    *w++ = '.';
    std::memcpy(w, digits + n, static_cast<std::size_t>(k - n));
    w += k - n;
  } else if (-6 < n && n <= 0) {
    *w++ = '0';
    *w++ = '.';
    std::memset(w, '0', static_cast<std::size_t>(-n));
    w += -n;
    std::memcpy(w, digits, static_cast<std::size_t>(k));
    w += k;
  } else {
    *w++ = digits[0];
    if (k > 1) {
      *w++ = '.';
      std::memcpy(w, digits + 1, static_cast<std::size_t>(k - 1));
      w += k - 1;
    }
    *w++ = 'e';
    *w++ = n - 1 < 0 ? '-' : '+';
    w = std::to_chars(w, buf + kNumberBuffer, n - 1 < 0 ? 1 - n : n - 1).ptr;
  }
  return static_cast<std::size_t>(w - buf);
}

/// Appends the quoted, escaped string; returns false (out unchanged) when s is not valid UTF-8, with the
/// offending byte offset in *bad.
inline bool write_string(std::string& out, std::string_view s, std::size_t* bad) {
  const u8* const begin = reinterpret_cast<const u8*>(s.data());
  const u8* const end = begin + s.size();
  const std::size_t mark = out.size();
  out.push_back('"');
  const u8* run = begin;
  const u8* p = begin;
  for (;;) {
    p = skip_plain(p, end);
    if (p == end) break;
    const u8 c = *p;
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence(p, end);
      if (n == 0) {
        out.resize(mark);
        *bad = static_cast<std::size_t>(p - begin);
        return false;
      }
      p += n;
      continue;
    }
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    char esc[6] = {'\\', 0, 0, 0, 0, 0};
    std::size_t len = 2;
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case 0x08: esc[1] = 'b'; break;
      case 0x0C: esc[1] = 'f'; break;
      case 0x0A: esc[1] = 'n'; break;
      case 0x0D: esc[1] = 'r'; break;
      case 0x09: esc[1] = 't'; break;
      default:
        esc[1] = 'u';
        esc[2] = '0';
        esc[3] = '0';
        esc[4] = kHex[c >> 4];
        esc[5] = kHex[c & 0xF];
        len = 6;
    }
    out.append(esc, len);
    run = ++p;
  }
  out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(end - run));
  out.push_back('"');
  return true;
}

inline void write_integer(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

inline std::string integer_range_message() {
  return "integer outside the I-JSON safe range [-(2^53-1), 2^53-1]; encode it as a JSON string";
}

/// Why d cannot be written into a record, or null. Below 1e21 an integral double is written as a plain
/// integer, which I-JSON bounds like any other.
inline const char* double_problem(double d) noexcept {
  if (!std::isfinite(d)) return "NaN and infinite numbers have no JSON form";
  const double mag = std::fabs(d);
  if (mag > static_cast<double>(max_safe_integer) && mag < 1e21)  // all such doubles are integral
    return "integral number outside the I-JSON safe range [-(2^53-1), 2^53-1]; encode it as a JSON string";
  return nullptr;
}

/// One step of the path from the root to the value being written; lives on the writer's stack.
struct PathNode {
  const PathNode* parent;
  const std::string* key;  // null for an array element
  std::size_t index;
};

[[noreturn]] inline void fail_at(const PathNode* node, std::string what) {
  std::vector<const PathNode*> chain;
  for (const PathNode* n = node; n != nullptr; n = n->parent) chain.push_back(n);
  std::string path;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    path.push_back('/');
    if ((*it)->key == nullptr) {
      path += std::to_string((*it)->index);
      continue;
    }
    for (const char c : *(*it)->key) {
      if (c == '~')
        path += "~0";
      else if (c == '/')
        path += "~1";
      else
        path.push_back(c);
    }
  }
  throw Error(std::move(path), std::move(what));
}

inline void write_value(std::string& out, const nlohmann::json& v, const PathNode* node, std::size_t depth) {
  using value_t = nlohmann::json::value_t;
  switch (v.type()) {
    case value_t::null: out.append("null", 4); return;
    case value_t::boolean:
      if (v.get<bool>())
        out.append("true", 4);
      else
        out.append("false", 5);
      return;
    case value_t::number_integer: {
      const auto i = v.get<std::int64_t>();
      if (i > max_safe_integer || i < -max_safe_integer) fail_at(node, integer_range_message());
      write_integer(out, i);
      return;
    }
    case value_t::number_unsigned: {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(max_safe_integer)) fail_at(node, integer_range_message());
      write_integer(out, static_cast<std::int64_t>(u));
      return;
    }
    case value_t::number_float: {
      const double d = v.get<double>();
      if (const char* why = double_problem(d)) fail_at(node, why);
      char buf[kNumberBuffer];
      out.append(buf, format_double(buf, d));
      return;
    }
    case value_t::string: {
      std::size_t bad = 0;
      if (!write_string(out, v.get_ref<const std::string&>(), &bad))
        fail_at(node, "string is not valid UTF-8 (byte " + std::to_string(bad) + ")");
      return;
    }
    case value_t::array: {
      if (depth >= default_max_depth)
        fail_at(node, "nesting deeper than " + std::to_string(default_max_depth) + " levels");
      const auto& arr = v.get_ref<const nlohmann::json::array_t&>();
      out.push_back('[');
      for (std::size_t i = 0; i < arr.size(); ++i) {
        if (i != 0) out.push_back(',');
        const PathNode child{node, nullptr, i};
        write_value(out, arr[i], &child, depth + 1);
      }
      out.push_back(']');
      return;
    }
    case value_t::object: {
      if (depth >= default_max_depth)
        fail_at(node, "nesting deeper than " + std::to_string(default_max_depth) + " levels");
      const auto& obj = v.get_ref<const nlohmann::json::object_t&>();
      using Item = nlohmann::json::object_t::value_type;
      auto write_member = [&](const Item& item, bool first) {
        if (!first) out.push_back(',');
        std::size_t bad = 0;
        if (!write_string(out, item.first, &bad))
          fail_at(node, "member name is not valid UTF-8 (byte " + std::to_string(bad) + ")");
        out.push_back(':');
        const PathNode child{node, &item.first, 0};
        write_value(out, item.second, &child, depth + 1);
      };
      // The map iterates in byte order, which is UTF-16 order unless supplementary characters meet
      // U+E000..U+FFFF; only then is a sorted copy of the member list needed.
      bool sorted = true;
      const std::string* prev = nullptr;
      for (const auto& item : obj) {
        if (prev != nullptr && !key_less(*prev, item.first)) {
          sorted = false;
          break;
        }
        prev = &item.first;
      }
      out.push_back('{');
      if (sorted) {
        bool first = true;
        for (const auto& item : obj) {
          write_member(item, first);
          first = false;
        }
      } else {
        std::vector<const Item*> items;
        items.reserve(obj.size());
        for (const auto& item : obj) items.push_back(&item);
        std::sort(items.begin(), items.end(),
                  [](const Item* a, const Item* b) { return key_less(a->first, b->first); });
        for (std::size_t i = 0; i < items.size(); ++i) write_member(*items[i], i == 0);
      }
      out.push_back('}');
      return;
    }
    case value_t::binary: fail_at(node, "binary values have no JSON form");
    case value_t::discarded: fail_at(node, "discarded value has no JSON form");
  }
  fail_at(node, "unknown value type");
}

// ---------------------------------------------------------------------------------------------------
// Scanning.

/// Validates the string body starting at p (just after the opening quote). On success returns
/// Problem::none with p at the closing quote; else the problem with p at the offending byte.
inline Problem scan_string(const u8*& p, const u8* end, bool* escaped) noexcept {
  for (;;) {
    p = skip_plain(p, end);
    if (p == end) return Problem::syntax;
    const u8 c = *p;
    if (c == '"') return Problem::none;
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence(p, end);
      if (n == 0) return Problem::invalid_utf8;
      p += n;
      continue;
    }
    if (c < 0x20) return Problem::non_canonical_string;
    // c == '\\'
    if (end - p < 2) return Problem::syntax;
    switch (p[1]) {
      case '"':
      case '\\':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        *escaped = true;
        p += 2;
        continue;
      case '/': return Problem::non_canonical_string;
      case 'u': break;
      default: return Problem::syntax;
    }
    if (end - p < 6) return Problem::syntax;
    auto hex = [](u8 x) { return (x >= '0' && x <= '9') || (x >= 'a' && x <= 'f') || (x >= 'A' && x <= 'F'); };
    if (!hex(p[2]) || !hex(p[3]) || !hex(p[4]) || !hex(p[5])) return Problem::syntax;
    // Canonical only as \u00xx, lowercase, for a control character without a short escape.
    if (p[2] != '0' || p[3] != '0' || (p[4] != '0' && p[4] != '1')) return Problem::non_canonical_string;
    const u8 l = p[5];
    if (l >= 'A' && l <= 'F') return Problem::non_canonical_string;
    if (p[4] == '0' && (l == '8' || l == '9' || l == 'a' || l == 'c' || l == 'd'))
      return Problem::non_canonical_string;
    *escaped = true;
    p += 6;
  }
}

/// Validates the number starting at p ('-' or a digit) and advances p past it.
inline Problem scan_number(const u8*& p, const u8* end) noexcept {
  const u8* const start = p;
  auto digit = [](u8 x) { return x >= '0' && x <= '9'; };
  if (*p == '-') ++p;
  if (p == end || !digit(*p)) return Problem::syntax;
  const u8* const int_start = p;
  if (*p == '0')
    ++p;
  else
    while (p < end && digit(*p)) ++p;
  const u8* const int_end = p;
  bool integral = true;
  bool exponent = false;
  const u8* frac = p;
  if (p < end && *p == '.') {
    integral = false;
    frac = ++p;
    if (p == end || !digit(*p)) return Problem::syntax;
    while (p < end && digit(*p)) ++p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    integral = false;
    exponent = true;
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (p == end || !digit(*p)) return Problem::syntax;
    while (p < end && digit(*p)) ++p;
  }
  if (integral) {
    const std::size_t nd = static_cast<std::size_t>(int_end - int_start);
    if (nd == 1 && *int_start == '0' && start != int_start) {
      p = start;
      return Problem::non_canonical_number;  // "-0"
    }
    // 2^53-1 = 9007199254740991 has 16 digits.
    if (nd < 16) return Problem::none;
    if (nd == 16 && std::memcmp(int_start, "9007199254740991", 16) <= 0) return Problem::none;
    p = start;
    return Problem::number_range;
  }
  const std::size_t len = static_cast<std::size_t>(p - start);
  const u8* const after = p;
  p = start;
  if (!exponent) {
    // Plain "i.f": a decimal of at most 15 significant digits (DBL_DIG) is the only one of its length
    // or shorter that reads as its double, so it is canonical exactly when the fraction has no trailing
    // zero and, below 1, at most five zeros follow the point (10^-6 <= |v|; smaller is written 1e-7).
    if (after[-1] == '0') return Problem::non_canonical_number;
    std::size_t significant = static_cast<std::size_t>(after - frac);
    if (*int_start == '0') {
      const u8* q = frac;
      while (*q == '0') ++q;
      if (q - frac > 5) return Problem::non_canonical_number;
      significant -= static_cast<std::size_t>(q - frac);
    } else {
      significant += static_cast<std::size_t>(int_end - int_start);
    }
    if (significant <= 15) {
      p = after;
      return Problem::none;
    }
  }
  if (len > kNumberBuffer) return Problem::non_canonical_number;
  double d = 0;
  const auto r = std::from_chars(reinterpret_cast<const char*>(start), reinterpret_cast<const char*>(after), d);
  if (r.ec == std::errc::result_out_of_range) return Problem::number_range;
  if (r.ec != std::errc() || r.ptr != reinterpret_cast<const char*>(after)) return Problem::syntax;
  char buf[kNumberBuffer];
  const std::size_t n = format_double(buf, d);
  if (n != len || std::memcmp(buf, start, len) != 0) return Problem::non_canonical_number;
  p = after;
  return Problem::none;
}

struct Level {
  const u8* prev_key;  // null before the first member of an object
  std::size_t prev_len;
  bool is_object;
  bool prev_escaped;
};

}  // namespace jcs_impl

FA_INLINE Error::Error(std::string path, std::string what)
    : std::runtime_error(path.empty() ? what : path + ": " + what), path_(std::move(path)) {}

FA_INLINE void append(std::string& out, const nlohmann::json& v) { jcs_impl::write_value(out, v, nullptr, 0); }

FA_INLINE std::string serialize(const nlohmann::json& v) {
  std::string out;
  append(out, v);
  return out;
}

FA_INLINE void append_string(std::string& out, std::string_view utf8) {
  std::size_t bad = 0;
  if (!jcs_impl::write_string(out, utf8, &bad))
    throw Error("", "string is not valid UTF-8 (byte " + std::to_string(bad) + ")");
}

FA_INLINE void append_number(std::string& out, double v) {
  if (const char* why = jcs_impl::double_problem(v)) throw Error("", why);
  char buf[jcs_impl::kNumberBuffer];
  out.append(buf, jcs_impl::format_double(buf, v));
}

FA_INLINE std::string number_to_string(double v) {
  if (!std::isfinite(v)) throw Error("", "NaN and infinite numbers have no JSON form");
  char buf[jcs_impl::kNumberBuffer];
  return std::string(buf, jcs_impl::format_double(buf, v));
}

FA_INLINE void append_integer(std::string& out, std::int64_t v) {
  if (v > max_safe_integer || v < -max_safe_integer) throw Error("", jcs_impl::integer_range_message());
  jcs_impl::write_integer(out, v);
}

FA_INLINE bool key_less(std::string_view a, std::string_view b) noexcept {
  return jcs_impl::compare_utf16(reinterpret_cast<const jcs_impl::u8*>(a.data()), a.size(),
                                 reinterpret_cast<const jcs_impl::u8*>(b.data()), b.size()) < 0;
}

FA_INLINE ScanResult scan_object(std::string_view text, Member* members, std::size_t max_members,
                                 std::size_t max_depth) noexcept {
  using jcs_impl::u8;
  ScanResult res;
  const u8* const begin = reinterpret_cast<const u8*>(text.data());
  const u8* const end = begin + text.size();
  const u8* p = begin;
  if (max_depth > max_depth_limit) max_depth = max_depth_limit;
  jcs_impl::Level stack[max_depth_limit];
  std::size_t depth = 0;
  const u8* key = nullptr;  // current top-level member
  std::size_t key_len = 0;
  const u8* value = nullptr;
  Problem pr = Problem::none;

  auto fail = [&](Problem why, const u8* at) {
    res.problem = why;
    res.offset = static_cast<std::size_t>(at - begin);
    return res;
  };

  if (p == end || *p != '{') return fail(Problem::syntax, p);

open_object:  // p at '{'
  if (depth >= max_depth) return fail(Problem::depth, p);
  stack[depth++] = jcs_impl::Level{nullptr, 0, true, false};
  ++p;
  if (p < end && *p == '}') {
    ++p;
    --depth;
    goto after_value;
  }

member:  // p at the opening quote of a member name
  if (p == end || *p != '"') return fail(Problem::syntax, p);
  {
    const u8* const quote = p;
    bool escaped = false;
    ++p;
    if ((pr = jcs_impl::scan_string(p, end, &escaped)) != Problem::none) return fail(pr, p);
    const u8* const k = quote + 1;
    const std::size_t klen = static_cast<std::size_t>(p - k);
    jcs_impl::Level& lv = stack[depth - 1];
    if (lv.prev_key != nullptr) {
      const int c = (escaped || lv.prev_escaped) ? jcs_impl::compare_escaped(lv.prev_key, lv.prev_len, k, klen)
                                                 : jcs_impl::compare_utf16(lv.prev_key, lv.prev_len, k, klen);
      if (c == 0) return fail(Problem::duplicate_key, quote);
      if (c > 0) return fail(Problem::key_order, quote);
    }
    lv.prev_key = k;
    lv.prev_len = klen;
    lv.prev_escaped = escaped;
    ++p;
    if (p == end || *p != ':') return fail(Problem::syntax, p);
    ++p;
    if (depth == 1) {
      key = k;
      key_len = klen;
      value = p;
    }
  }

value:
  if (p == end) return fail(Problem::syntax, p);
  switch (*p) {
    case '{': goto open_object;
    case '[':
      if (depth >= max_depth) return fail(Problem::depth, p);
      stack[depth++] = jcs_impl::Level{nullptr, 0, false, false};
      ++p;
      if (p < end && *p == ']') {
        ++p;
        --depth;
        goto after_value;
      }
      goto value;
    case '"': {
      bool escaped = false;
      ++p;
      if ((pr = jcs_impl::scan_string(p, end, &escaped)) != Problem::none) return fail(pr, p);
      ++p;
      break;
    }
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
      if ((pr = jcs_impl::scan_number(p, end)) != Problem::none) return fail(pr, p);
      break;
    case 't':
      if (end - p < 4 || std::memcmp(p, "true", 4) != 0) return fail(Problem::syntax, p);
      p += 4;
      break;
    case 'f':
      if (end - p < 5 || std::memcmp(p, "false", 5) != 0) return fail(Problem::syntax, p);
      p += 5;
      break;
    case 'n':
      if (end - p < 4 || std::memcmp(p, "null", 4) != 0) return fail(Problem::syntax, p);
      p += 4;
      break;
    default: return fail(Problem::syntax, p);
  }

after_value:  // a value just ended at p
  if (depth == 0) {
    if (p != end) return fail(Problem::trailing_data, p);
    return res;
  }
  if (depth == 1) {
    if (res.members < max_members) {
      members[res.members++] = Member{
          std::string_view(reinterpret_cast<const char*>(key), key_len),
          std::string_view(reinterpret_cast<const char*>(value), static_cast<std::size_t>(p - value))};
    }
    ++res.total_members;
  }
  if (p == end) return fail(Problem::syntax, p);
  if (stack[depth - 1].is_object) {
    if (*p == ',') {
      ++p;
      goto member;
    }
    if (*p == '}') {
      ++p;
      --depth;
      goto after_value;
    }
  } else {
    if (*p == ',') {
      ++p;
      goto value;
    }
    if (*p == ']') {
      ++p;
      --depth;
      goto after_value;
    }
  }
  return fail(Problem::syntax, p);
}

FA_INLINE std::string_view problem_name(Problem p) noexcept {
  switch (p) {
    case Problem::none: return "none";
    case Problem::syntax: return "syntax";
    case Problem::invalid_utf8: return "invalid_utf8";
    case Problem::non_canonical_string: return "non_canonical_string";
    case Problem::non_canonical_number: return "non_canonical_number";
    case Problem::key_order: return "key_order";
    case Problem::duplicate_key: return "duplicate_key";
    case Problem::depth: return "depth";
    case Problem::trailing_data: return "trailing_data";
    case Problem::number_range: return "number_range";
  }
  return "unknown";
}

}  // namespace jcs
}  // namespace fooocus_audit
