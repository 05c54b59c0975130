// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/secret_guard.hpp"
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
// Stage 1 of the canonical prefilter also has an AVX2 form, chosen at run time (no -march flag needed).
#if defined(__SSE2__) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(FOOOCUS_AUDIT_NO_SIMD)
#define FOOOCUS_AUDIT_GUARD_AVX2 1
#include <immintrin.h>
#endif

#include "fooocus_audit/detail/secret_detectors.hpp"

namespace fooocus_audit {
namespace guard_impl {

/// Replaces the (merged) spans of `found` in `s`; returns the number of replacements.
inline std::size_t apply(std::string& s, std::vector<detect::Match>& found) {
  if (found.empty()) return 0;
  std::sort(found.begin(), found.end(), [](const detect::Match& a, const detect::Match& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0, count = 0;
  for (std::size_t i = 0; i < found.size();) {
    std::size_t b = found[i].begin, e = found[i].end;
    detect::Detector label = found[i].detector;
    std::size_t longest = e - b;
    std::size_t j = i + 1;
    for (; j < found.size() && found[j].begin < e; ++j) {
      const std::size_t len = found[j].end - found[j].begin;
      if (len > longest || (len == longest && found[j].detector < label)) {
        longest = len;
        label = found[j].detector;
      }
      e = std::max(e, found[j].end);
    }
    // Equal spans: the specific detector (lower enum value) names it rather than generic_secret.
    for (std::size_t k = i; k < j; ++k)
      if (found[k].end - found[k].begin == longest && found[k].detector < label) label = found[k].detector;
    out.append(s, pos, b - pos);
    out.append("[").append(detect::detector_type(label)).append("_REDACTED]");
    pos = e;
    ++count;
    i = j;
  }
  out.append(s, pos, std::string::npos);
  s.swap(out);
  return count;
}

inline bool may(std::string_view s) noexcept { return detect::may_contain_secret(s); }

inline bool may_member(std::string_view name, const nlohmann::json& value) noexcept {
  return may(name) || (value.is_string() && detect::is_secret_name(name));
}

}  // namespace guard_impl

FA_INLINE std::size_t guard_redact(std::string& s, const GuardOptions& options) {
  const detect::DetectorMask mask = options.detectors & detect::kSecretDetectors;
  if (!options.enabled || mask == 0 || !detect::may_contain_secret(s)) return 0;
  std::vector<detect::Match> found;
  detect::scan_secrets(s, mask, found);
  return guard_impl::apply(s, found);
}

FA_INLINE std::size_t guard_redact(nlohmann::json& event, const GuardOptions& options) {
  const detect::DetectorMask mask = options.detectors & detect::kSecretDetectors;
  if (!options.enabled || mask == 0) return 0;
  std::size_t count = 0;
  std::vector<nlohmann::json*> stack{&event};
  std::vector<detect::Match> found;
  while (!stack.empty()) {
    nlohmann::json* j = stack.back();
    stack.pop_back();
    if (j->is_string()) {
      count += guard_redact(j->get_ref<std::string&>(), options);
    } else if (j->is_array()) {
      for (auto& v : *j)
        if (v.is_structured() || v.is_string()) stack.push_back(&v);
    } else if (j->is_object()) {
      // Member names first (renaming moves the values), then the values.
      std::vector<std::pair<std::string, std::string>> renames;
      for (auto it = j->begin(); it != j->end(); ++it) {
        const std::string& name = it.key();
        if (it->is_string() && detect::is_secret_name(name)) {
          found.clear();
          std::string& v = it->get_ref<std::string&>();
          detect::scan_member_value(name, v, mask, found);
          if (!found.empty()) {
            if (detect::may_contain_secret(v)) detect::scan_secrets(v, mask, found);
            count += guard_impl::apply(v, found);
          }
        }
        if (detect::may_contain_secret(name)) {
          std::string renamed = name;
          if (const std::size_t n = guard_redact(renamed, options); n != 0) {
            count += n;
            renames.emplace_back(name, std::move(renamed));
          }
        }
      }
      for (auto& [from, to] : renames) {
        nlohmann::json value = std::move((*j)[from]);
        j->erase(from);
        std::string name = to;
        for (int k = 2; j->contains(name); ++k) name = to + " #" + std::to_string(k);
        (*j)[name] = std::move(value);
      }
      for (auto& v : j->items())
        if (v.value().is_structured() || v.value().is_string()) stack.push_back(&v.value());
    }
  }
  return count;
}

namespace guard_impl {
template <class Event, class F>
void for_each_string(Event& e, F&& f) {
  f(e.event_type);
  f(e.version);
  f(e.timestamp);
  f(e.request_id);
  f(e.user_id);
  f(e.tenant_id);
  f(e.session_id);
  f(e.ip_address);
  f(e.user_agent);
  f(e.request.prompt_sanitized);
  f(e.request.prompt_hash);
  f(e.request.negative_prompt);
  f(e.request.performance);
  f(e.request.aspect_ratio);
  for (auto& l : e.request.loras) f(l.name);
  for (auto& s : e.request.styles) f(s);
  f(e.processing.worker_id);
  f(e.processing.model_version);
  f(e.processing.refiner_model);
  for (auto& o : e.outputs) {
    f(o.url);
    f(o.hash);
  }
  f(e.safety.safety_checker_version);
  f(e.result);
}
}  // namespace guard_impl

FA_INLINE std::size_t guard_redact(GenerationEvent& event, const GuardOptions& options) {
  if (!options.enabled) return 0;
  std::size_t count = 0;
  guard_impl::for_each_string(event, [&](std::string& s) { count += guard_redact(s, options); });
  return count;
}

FA_INLINE bool guard_may_redact(const nlohmann::json& event, const GuardOptions& options) noexcept {
  if (!options.enabled || (options.detectors & detect::kSecretDetectors) == 0) return false;
  // Iterative walk; a fixed stack for the usual shallow event, a vector only beyond 64 pending values.
  try {
    const nlohmann::json* small[64];
    std::size_t top = 0;
    std::vector<const nlohmann::json*> big;
    auto push = [&](const nlohmann::json* j) {
      if (big.empty() && top < 64) small[top++] = j;
      else big.push_back(j);
    };
    push(&event);
    while (top != 0 || !big.empty()) {
      const nlohmann::json* j;
      if (!big.empty()) {
        j = big.back();
        big.pop_back();
      } else {
        j = small[--top];
      }
      if (j->is_string()) {
        if (guard_impl::may(j->get_ref<const std::string&>())) return true;
      } else if (j->is_array()) {
        for (const auto& v : *j)
          if (v.is_structured() || v.is_string()) push(&v);
      } else if (j->is_object()) {
        for (auto it = j->cbegin(); it != j->cend(); ++it) {
          if (guard_impl::may_member(it.key(), *it)) return true;
          if (it->is_structured() || it->is_string()) push(&*it);
        }
      }
    }
    return false;
  } catch (...) {
    return true;  // out of memory for the walk: let the full guard decide
  }
}

namespace guard_impl {

// ---------------------------------------------------------------------------------------------------------
// The prefilter over the canonical form of an event (guard_may_redact_canonical; docs/privacy.md §4.5).
// Stage 1 looks, 16 bytes at a time, for the few byte pairs with which every trigger of the secret detectors
// begins; stage 2 takes the string that holds a trigger, decoded, and asks exactly what guard_may_redact(json)
// asks of it. Every byte a trigger is made of (letters, digits, _ - : / @ and space) is written unescaped by
// JCS, so a trigger in a decoded string is the same bytes in the canonical text.

namespace canon {

using u8 = unsigned char;

inline bool alpha(u8 c) noexcept { return static_cast<u8>((c | 0x20) - 'a') < 26; }
inline bool alnum(u8 c) noexcept { return alpha(c) || static_cast<u8>(c - '0') < 10; }
inline bool upper(u8 c) noexcept { return static_cast<u8>(c - 'A') < 26; }
inline bool lower(u8 c) noexcept { return static_cast<u8>(c - 'a') < 26; }
inline u8 fold(u8 c) noexcept { return upper(c) ? static_cast<u8>(c | 0x20) : c; }
inline bool json_ws(u8 c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
inline int hex(u8 c) noexcept {
  if (static_cast<u8>(c - '0') < 10) return c - '0';
  const u8 f = static_cast<u8>(c | 0x20);
  return f >= 'a' && f <= 'f' ? f - 'a' + 10 : -1;
}

struct Scan {
  const u8* p = nullptr;
  std::size_t n = 0;
  std::size_t decided = 0;      // the strings that end before this position hold nothing to redact
  std::size_t escape_from = 0;  // a backslash at or after this position starts an escape
  std::size_t no_at_begin = 0;  // [no_at_begin, no_at_end): no '@' before the end of the string
  std::size_t no_at_end = 0;
  std::string scratch;  // a decoded string that has escapes
};

inline bool at(const Scan& c, std::size_t i, u8 ch) noexcept { return i < c.n && c.p[i] == ch; }
inline bool starts(const Scan& c, std::size_t i, std::string_view w) noexcept {
  return i <= c.n && c.n - i >= w.size() && std::memcmp(c.p + i, w.data(), w.size()) == 0;
}
/// Lower-case `w` at i, any case.
inline bool starts_ci(const Scan& c, std::size_t i, std::string_view w) noexcept {
  if (i > c.n || c.n - i < w.size()) return false;
  for (std::size_t k = 0; k < w.size(); ++k)
    if (fold(c.p[i + k]) != static_cast<u8>(w[k])) return false;
  return true;
}

/// Key word `w` (§4.2) at s, as an identifier component. The end is the detectors' test: letters are never
/// escaped, and where the decoded string has a non-letter or ends, the canonical text has that byte, the '\' of
/// its escape or the closing quote, all non-letters. The start is relaxed: the byte before may be the last
/// byte of an escape (`\n`, `\u001f`), so a backslash 2 to 6 bytes back also counts; any upper-case first
/// letter counts (the detectors want lower before it).
inline bool keyword(const Scan& c, std::size_t b, std::size_t back, std::string_view w) noexcept {
  if (b < back) return false;
  const std::size_t s = b - back;
  if (!starts_ci(c, s, w)) return false;
  const u8* p = c.p;
  bool start = s == 0 || !alnum(p[s - 1]) || upper(p[s]) || (s >= 3 && starts_ci(c, s - 3, "api"));
  for (std::size_t k = 2; !start && k <= 6 && k <= s; ++k) start = p[s - k] == '\\';
  if (!start) return false;
  const std::size_t e = s + w.size(), n = c.n;
  if (e < n && (p[e] == 's' || p[e] == 'S')) {  // plural
    const std::size_t f = e + 1;
    if (f == n || !alpha(p[f]) || (lower(p[f - 1]) && upper(p[f]))) return true;
  }
  return e == n || !alpha(p[e]) || (lower(p[e - 1]) && upper(p[e]));
}

/// After "://" at a - 3: the URL detectors need an '@' in the user-info run (which never holds a quote) or
/// the Slack webhook host.
inline bool url_trigger(Scan& c, std::size_t a) noexcept {
  if (starts(c, a, "hooks.")) return true;
  if (a >= c.no_at_begin && a < c.no_at_end) return false;
  std::size_t j = a;
  for (; j < c.n && c.p[j] != '"'; ++j)
    if (c.p[j] == '@') return true;
  c.no_at_begin = a;
  c.no_at_end = j;
  return false;
}

/// Whether a trigger (docs/privacy.md §4.5) starts at or around hit position i.
inline bool trigger(Scan& c, std::size_t i) noexcept {
  const u8* p = c.p;
  switch (p[i]) {
    case 'A':  // AKIA ASIA AGPA AIDA AROA ANPA ANVA AIPA AIza
      if (i + 3 < c.n && fold(p[i + 3]) == 'a') return true;
      break;
    case 'g':  // gh?_ github_pat_ gl...-
      if (at(c, i + 3, '_') || at(c, i + 6, '_')) return true;
      if (at(c, i + 1, 'l'))
        for (std::size_t k = 4; k <= 7; ++k)
          if (at(c, i + k, '-')) return true;
      break;
    case 'k':  // sk_ rk_ sk-
      if (at(c, i + 1, '_') || at(c, i + 1, '-')) return true;
      break;
    case 'w':  // whsec_
      if (at(c, i + 5, '_')) return true;
      break;
    case '-':
      if (starts(c, i, "-----BEGIN ")) return true;
      break;
    case 'x':  // xox
      if (at(c, i + 2, 'x')) return true;
      break;
    case 'y':  // eyJ
      if (at(c, i + 1, 'J')) return true;
      break;
    case ':':
      if (at(c, i + 1, '/') && at(c, i + 2, '/')) return url_trigger(c, i + 3);
      break;
    default:
      break;
  }
  const u8 f1 = i + 1 < c.n ? fold(p[i + 1]) : 0;
  switch (fold(p[i])) {
    case 'k': return f1 == 'e' && keyword(c, i, 0, "key");
    case 'o': return f1 == 'k' && keyword(c, i, 1, "token");
    case 'c': return f1 == 'r' && (keyword(c, i, 0, "credential") || keyword(c, i, 2, "secret"));
    case 's': return f1 == 'w' && (keyword(c, i, 3, "password") || keyword(c, i, 3, "passwd"));
    case 'p': return f1 == 'w' && keyword(c, i, 0, "pwd");
    case 'b': return f1 == 'e' && keyword(c, i, 0, "bearer");
    case 'a': return f1 == 'u' && (keyword(c, i, 0, "authorization") || keyword(c, i, 0, "auth"));
    default: return false;
  }
}

/// A backslash at i: false for the escapes JCS writes (and for the second '\' of "\\"), true for any other
/// (`\/`, `\u0041`), which could hide a trigger from stage 1.
inline bool odd_escape(Scan& c, std::size_t i) noexcept {
  if (i < c.escape_from) return false;
  if (i + 1 >= c.n) return true;
  switch (c.p[i + 1]) {
    case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't':
      c.escape_from = i + 2;
      return false;
    case 'u':
      if (i + 5 < c.n && c.p[i + 2] == '0' && c.p[i + 3] == '0' && (c.p[i + 4] == '0' || c.p[i + 4] == '1') &&
          hex(c.p[i + 5]) >= 0) {
        c.escape_from = i + 6;
        return false;
      }
      return true;
    default:
      return true;
  }
}

/// The decoded string of the escaped bytes `s`; false for an escape other than those JCS writes.
inline bool decode(std::string_view s, std::string& out) {
  out.clear();
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(s[i]);
      continue;
    }
    if (++i == s.size()) return false;
    switch (s[i]) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        if (s.size() - i < 5) return false;
        int v = 0;
        for (std::size_t k = 1; k <= 4; ++k) {
          const int h = hex(static_cast<u8>(s[i + k]));
          if (h < 0) return false;
          v = v << 4 | h;
        }
        if (v >= 0x20) return false;
        out.push_back(static_cast<char>(v));
        i += 4;
        break;
      }
      default: return false;
    }
  }
  return true;
}

/// Stage 2 for the string that holds position k: what guard_may_redact(json) asks of it (the prefilter, and for
/// a member name with a string value is_secret_name). True also when the bytes around k are not JSON.
inline bool string_may_redact(Scan& c, std::size_t k) {
  if (k < c.decided) return false;  // inside the string decided last
  const u8* p = c.p;
  const std::size_t n = c.n;
  // The opening quote: the last quote before k that follows an even number of backslashes.
  std::size_t open = k;
  for (;;) {
    while (open > 0 && p[open - 1] != '"') --open;
    if (open == 0) return true;
    --open;
    std::size_t bs = 0;
    while (bs < open && p[open - 1 - bs] == '\\') ++bs;
    if (bs % 2 == 0) break;
  }
  std::size_t close = open + 1;
  bool escaped = false;
  while (close < n && p[close] != '"') {
    if (p[close] == '\\') {
      escaped = true;
      ++close;
    }
    ++close;
  }
  if (close >= n || close < k) return true;
  std::string_view s(reinterpret_cast<const char*>(p + open + 1), close - open - 1);
  if (escaped) {
    if (!decode(s, c.scratch)) return true;
    s = c.scratch;
  }
  if (detect::may_contain_secret(s)) return true;
  std::size_t m = close + 1;
  while (m < n && json_ws(p[m])) ++m;
  if (m < n && p[m] == ':') {  // a member name
    for (++m; m < n && json_ws(p[m]);) ++m;
    if (m < n && p[m] == '"' && detect::is_secret_name(s)) return true;
  }
  c.decided = close + 1;
  return false;
}

inline bool hit(Scan& c, std::size_t i) {
  if (c.p[i] == '\\') return odd_escape(c, i);
  return trigger(c, i) && string_may_redact(c, i);
}

#if defined(__SSE2__)
/// Stage 1: bit k set when a trigger pair starts at q[k] (reads q[0..21]).
inline unsigned hits16(const u8* q) noexcept {
  auto load = [](const u8* x) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(x)); };
  auto eq = [](__m128i v, char ch) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(ch)); };
  auto both = [](__m128i a, __m128i b) { return _mm_and_si128(a, b); };
  auto either = [](__m128i a, __m128i b) { return _mm_or_si128(a, b); };
  const __m128i v0 = load(q), v1 = load(q + 1), v2 = load(q + 2), v3 = load(q + 3), v5 = load(q + 5),
                v6 = load(q + 6);
  const __m128i lc = _mm_set1_epi8(0x20);
  const __m128i f0 = either(v0, lc), f1 = either(v1, lc), f3 = either(v3, lc);
  const __m128i dash1 = eq(v1, '-'), k0 = eq(f0, 'k'), e1 = eq(f1, 'e');
  __m128i m = both(eq(v0, 'A'), eq(f3, 'a'));
  m = either(m, both(eq(v0, 'g'), either(either(eq(v3, '_'), eq(v6, '_')), eq(v1, 'l'))));
  m = either(m, both(k0, either(eq(v1, '_'), dash1)));
  m = either(m, both(eq(v0, 'w'), eq(v5, '_')));
  m = either(m, both(eq(v0, '-'), dash1));
  m = either(m, both(eq(v0, 'x'), eq(v2, 'x')));
  m = either(m, both(eq(v0, 'y'), eq(v1, 'J')));
  m = either(m, both(eq(v0, ':'), eq(v1, '/')));
  m = either(m, eq(v0, '\\'));
  m = either(m, both(k0, e1));                                            // key
  m = either(m, both(eq(f0, 'o'), eq(f1, 'k')));                          // token
  m = either(m, both(eq(f0, 'c'), eq(f1, 'r')));                          // credential, secret
  m = either(m, both(either(eq(f0, 's'), eq(f0, 'p')), eq(f1, 'w')));     // password, passwd, pwd
  m = either(m, both(eq(f0, 'b'), e1));                                   // bearer
  m = either(m, both(eq(f0, 'a'), eq(f1, 'u')));                          // auth, authorization
  return static_cast<unsigned>(_mm_movemask_epi8(m));
}
#endif

#if defined(FOOOCUS_AUDIT_GUARD_AVX2)
/// Stage 1 on 32 bytes, as hits16 on q and q + 16 (reads q[0..37]). Macros, not lambdas: a lambda does not
/// take the function's target attribute.
__attribute__((target("avx2"))) inline std::uint32_t hits32(const u8* q) noexcept {
#define FA_LOAD(x) _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x))
#define FA_EQ(v, ch) _mm256_cmpeq_epi8(v, _mm256_set1_epi8(ch))
#define FA_AND(a, b) _mm256_and_si256(a, b)
#define FA_OR(a, b) _mm256_or_si256(a, b)
  const __m256i v0 = FA_LOAD(q), v1 = FA_LOAD(q + 1), v2 = FA_LOAD(q + 2), v3 = FA_LOAD(q + 3),
                v5 = FA_LOAD(q + 5), v6 = FA_LOAD(q + 6);
  const __m256i lc = _mm256_set1_epi8(0x20);
  const __m256i f0 = FA_OR(v0, lc), f1 = FA_OR(v1, lc), f3 = FA_OR(v3, lc);
  const __m256i dash1 = FA_EQ(v1, '-'), k0 = FA_EQ(f0, 'k'), e1 = FA_EQ(f1, 'e');
  __m256i m = FA_AND(FA_EQ(v0, 'A'), FA_EQ(f3, 'a'));
  m = FA_OR(m, FA_AND(FA_EQ(v0, 'g'), FA_OR(FA_OR(FA_EQ(v3, '_'), FA_EQ(v6, '_')), FA_EQ(v1, 'l'))));
  m = FA_OR(m, FA_AND(k0, FA_OR(FA_EQ(v1, '_'), dash1)));
  m = FA_OR(m, FA_AND(FA_EQ(v0, 'w'), FA_EQ(v5, '_')));
  m = FA_OR(m, FA_AND(FA_EQ(v0, '-'), dash1));
  m = FA_OR(m, FA_AND(FA_EQ(v0, 'x'), FA_EQ(v2, 'x')));
  m = FA_OR(m, FA_AND(FA_EQ(v0, 'y'), FA_EQ(v1, 'J')));
  m = FA_OR(m, FA_AND(FA_EQ(v0, ':'), FA_EQ(v1, '/')));
  m = FA_OR(m, FA_EQ(v0, '\\'));
  m = FA_OR(m, FA_AND(k0, e1));                                             // key
  m = FA_OR(m, FA_AND(FA_EQ(f0, 'o'), FA_EQ(f1, 'k')));                     // token
  m = FA_OR(m, FA_AND(FA_EQ(f0, 'c'), FA_EQ(f1, 'r')));                     // credential, secret
  m = FA_OR(m, FA_AND(FA_OR(FA_EQ(f0, 's'), FA_EQ(f0, 'p')), FA_EQ(f1, 'w')));  // password, passwd, pwd
  m = FA_OR(m, FA_AND(FA_EQ(f0, 'b'), e1));                                 // bearer
  m = FA_OR(m, FA_AND(FA_EQ(f0, 'a'), FA_EQ(f1, 'u')));                     // auth, authorization
#undef FA_LOAD
#undef FA_EQ
#undef FA_AND
#undef FA_OR
  return static_cast<std::uint32_t>(_mm256_movemask_epi8(m));
}
#endif

/// Stages 1 and 2 from byte i on (every trigger before i already ruled out), 16 bytes at a time.
inline bool may_redact_from(Scan& c, std::size_t i) {
  const u8* p = c.p;
  const std::size_t n = c.n;
#if defined(__SSE2__)
  for (; n - i >= 22; i += 16)
    for (unsigned m = hits16(p + i); m != 0; m &= m - 1)
      if (hit(c, i + static_cast<std::size_t>(__builtin_ctz(m)))) return true;
  if (i < n) {  // the last bytes, zero-padded: a zero byte is in no trigger pair
    alignas(16) u8 buf[48] = {};
    std::memcpy(buf, p + i, n - i);
    for (std::size_t b = 0; b < n - i; b += 16)
      for (unsigned m = hits16(buf + b); m != 0; m &= m - 1) {
        const std::size_t k = i + b + static_cast<std::size_t>(__builtin_ctz(m));
        if (k < n && hit(c, k)) return true;
      }
  }
#else
  for (; i < n; ++i) {
    switch (p[i]) {
      case 'A': case 'g': case 'k': case 'K': case 'w': case '-': case 'x': case 'y': case ':': case '\\':
      case 'o': case 'O': case 'c': case 'C': case 's': case 'S': case 'p': case 'P': case 'b': case 'B':
      case 'a':
        if (hit(c, i)) return true;
        break;
      default:
        break;
    }
  }
#endif
  return false;
}

#if defined(FOOOCUS_AUDIT_GUARD_AVX2)
/// may_redact_from(c, 0) with stage 1 32 bytes at a time: the same hits in the same order, so the same answer.
__attribute__((target("avx2"))) inline bool may_redact_avx2(Scan& c) {
  std::size_t i = 0;
  for (; c.n - i >= 38; i += 32)
    for (std::uint32_t m = hits32(c.p + i); m != 0; m &= m - 1)
      if (hit(c, i + static_cast<std::size_t>(__builtin_ctz(m)))) return true;
  return may_redact_from(c, i);
}

inline bool cpu_has_avx2() noexcept {
  static const bool has = __builtin_cpu_supports("avx2") != 0;
  return has;
}
#endif

inline bool may_redact(Scan& c) {
#if defined(FOOOCUS_AUDIT_GUARD_AVX2)
  if (cpu_has_avx2()) return may_redact_avx2(c);
#endif
  return may_redact_from(c, 0);
}

}  // namespace canon

}  // namespace guard_impl

FA_INLINE bool guard_may_redact_canonical(std::string_view canonical_json, const GuardOptions& options) noexcept {
  if (!options.enabled || (options.detectors & detect::kSecretDetectors) == 0) return false;
  try {
    guard_impl::canon::Scan c;
    c.p = reinterpret_cast<const unsigned char*>(canonical_json.data());
    c.n = canonical_json.size();
    return guard_impl::canon::may_redact(c);
  } catch (...) {
    return true;  // out of memory for a decoded string: let the full guard decide
  }
}

namespace detail {

FA_INLINE bool guard_may_redact_canonical_portable(std::string_view canonical_json) noexcept {
  try {
    guard_impl::canon::Scan c;
    c.p = reinterpret_cast<const unsigned char*>(canonical_json.data());
    c.n = canonical_json.size();
    return guard_impl::canon::may_redact_from(c, 0);
  } catch (...) {
    return true;
  }
}

FA_INLINE bool guard_canonical_uses_avx2() noexcept {
#if defined(FOOOCUS_AUDIT_GUARD_AVX2)
  return guard_impl::canon::cpu_has_avx2();
#else
  return false;
#endif
}

}  // namespace detail

FA_INLINE bool guard_may_redact(const GenerationEvent& event, const GuardOptions& options) noexcept {
  if (!options.enabled || (options.detectors & detect::kSecretDetectors) == 0) return false;
  bool any = false;
  guard_impl::for_each_string(event, [&](const std::string& s) { any = any || guard_impl::may(s); });
  return any;
}

}  // namespace fooocus_audit
