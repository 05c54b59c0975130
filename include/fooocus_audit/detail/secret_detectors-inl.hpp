// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/detail/secret_detectors.hpp"
#endif

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fooocus_audit::detect {
namespace secret_impl {

// Character classes (ASCII only: a byte >= 0x80 is in no class, so it always ends a match).
constexpr std::uint8_t kLo = 1, kUp = 2, kDi = 4;
constexpr std::uint8_t kAlnum = kLo | kUp | kDi;
constexpr std::uint8_t kTokSym = 8;    // + / = _ - . ~   (generic high-entropy values)
constexpr std::uint8_t kPassSym = 16;  // ! # $ % * + - . / : = ? @ ^ _ | ~   (password values)
constexpr std::uint8_t kB64Url = 32;   // - _   (JWT segments, key bodies)
constexpr std::uint8_t kPemSym = 64;   // + / = whitespace : , - \   (PEM bodies and their headers)
constexpr std::uint8_t kUserSym = 128;  // RFC 3986 userinfo: - . _ ~ % ! $ & ' ( ) * + , ; = :

struct CharTable {
  std::uint8_t v[256];
};
constexpr void add_chars(CharTable& t, const char* s, std::uint8_t f) {
  for (; *s != 0; ++s) t.v[static_cast<unsigned char>(*s)] |= f;
}
constexpr CharTable make_char_table() {
  CharTable t{};
  for (int c = 'a'; c <= 'z'; ++c) t.v[c] |= kLo;
  for (int c = 'A'; c <= 'Z'; ++c) t.v[c] |= kUp;
  for (int c = '0'; c <= '9'; ++c) t.v[c] |= kDi;
  for (int c = 0; c < 128; ++c)
    if ((t.v[c] & kAlnum) != 0) t.v[c] |= kPemSym | kUserSym;
  add_chars(t, "+/=_-.~", kTokSym);
  add_chars(t, "!#$%*+-./:=?@^_|~", kPassSym);
  add_chars(t, "-_", kB64Url);
  add_chars(t, "+/= \t\r\n:,-\\", kPemSym);
  add_chars(t, "-._~%!$&'()*+,;=:", kUserSym);
  return t;
}
inline constexpr CharTable kChars = make_char_table();

inline bool has(std::uint8_t c, std::uint8_t f) noexcept { return (kChars.v[c] & f) != 0; }
inline bool is_alnum(std::uint8_t c) noexcept { return has(c, kAlnum); }
inline bool is_lower(std::uint8_t c) noexcept { return has(c, kLo); }
inline bool is_upper(std::uint8_t c) noexcept { return has(c, kUp); }
inline bool is_digit(std::uint8_t c) noexcept { return has(c, kDi); }
inline bool is_alpha(std::uint8_t c) noexcept { return has(c, kLo | kUp); }
inline std::uint8_t lower(std::uint8_t c) noexcept { return is_upper(c) ? static_cast<std::uint8_t>(c + 32) : c; }

// ---------------------------------------------------------------------------------------------------------
// Anchors (docs/privacy.md §4.3). Every match of a structural detector contains one of the anchor bytes
// A _ - x J : at a fixed offset from its start; every generic value follows a strong separator (: or =) or is
// a run of 16+ value bytes. walk() finds these positions 64 bytes at a time and the prefilter and the
// scanner visit exactly the same positions in the same order.

inline bool is_anchor_byte(std::uint8_t ch) noexcept {
  return ch == 'A' || ch == '_' || ch == '-' || ch == 'x' || ch == 'J' || ch == ':' || ch == '=';
}
struct AnchorTable {
  bool v[256];
};
constexpr AnchorTable make_anchor_table() {
  AnchorTable t{};
  for (char ch : {'A', '_', '-', 'x', 'J', ':', '='}) t.v[static_cast<unsigned char>(ch)] = true;
  return t;
}
inline constexpr AnchorTable kAnchorBytes = make_anchor_table();

// ---------------------------------------------------------------------------------------------------------
// CRC-32 (IEEE, as zlib) for the GitHub token checksum. A checksum, not a cryptographic primitive.

struct CrcTable {
  std::uint32_t v[256];
};
constexpr CrcTable make_crc_table() {
  CrcTable t{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t.v[n] = c;
  }
  return t;
}
inline constexpr CrcTable kCrc = make_crc_table();

inline std::uint32_t crc32(const std::uint8_t* p, std::size_t n) noexcept {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = kCrc.v[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

/// Six base62 digits (0-9A-Za-z), most significant first, zero-padded: GitHub's checksum encoding.
inline void base62_6(std::uint32_t v, char out[6]) noexcept {
  static constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  for (int i = 5; i >= 0; --i) {
    out[i] = kDigits[v % 62];
    v /= 62;
  }
}

// ---------------------------------------------------------------------------------------------------------

inline bool starts_with(const std::uint8_t* p, std::size_t n, std::size_t i, std::string_view s) noexcept {
  return i <= n && n - i >= s.size() && std::memcmp(p + i, s.data(), s.size()) == 0;
}
inline bool starts_with_ci(const std::uint8_t* p, std::size_t n, std::size_t i, std::string_view lower_s) noexcept {
  if (i > n || n - i < lower_s.size()) return false;
  for (std::size_t k = 0; k < lower_s.size(); ++k)
    if (lower(p[i + k]) != static_cast<std::uint8_t>(lower_s[k])) return false;
  return true;
}
inline std::size_t run_end(const std::uint8_t* p, std::size_t n, std::size_t i, std::uint8_t f) noexcept {
  while (i < n && has(p[i], f)) ++i;
  return i;
}
/// At least two of the classes lower, upper, digit occur in [b, e); stops as soon as two are seen (checked
/// every 8 bytes).
inline bool two_classes(const std::uint8_t* p, std::size_t b, std::size_t e) noexcept {
  std::uint8_t seen = 0;
  for (std::size_t i = b; i < e;) {
    const std::size_t stop = e - i > 8 ? i + 8 : e;
    for (; i < stop; ++i) seen |= kChars.v[p[i]];
    seen &= kAlnum;
    if ((seen & (seen - 1)) != 0) return true;  // two of the three bits
  }
  return false;
}
/// c * log2(c) for c < 256, computed once.
inline const float* clogc_table() noexcept {
  static const std::array<float, 256> t = [] {
    std::array<float, 256> a{};
    for (std::size_t c = 1; c < a.size(); ++c) a[c] = static_cast<float>(static_cast<double>(c) * std::log2(c));
    return a;
  }();
  return t.data();
}

/// Shannon entropy in bits per byte of [b, e) (ASCII bytes; at most 65535 of them):
/// log2(n) - sum(c log2 c) / n over the byte counts c.
inline double entropy(const std::uint8_t* p, std::size_t b, std::size_t e) noexcept {
  std::uint16_t counts[128] = {};
  for (std::size_t i = b; i < e; ++i) ++counts[p[i] & 0x7F];
  const float* t = clogc_table();
  const double n = static_cast<double>(e - b);
  double sum = 0;
  for (std::uint16_t c : counts)
    if (c != 0) sum += c < 256 ? static_cast<double>(t[c]) : c * std::log2(static_cast<double>(c));
  return std::log2(n) - sum / n;
}
inline bool all_same(const std::uint8_t* p, std::size_t b, std::size_t e) noexcept {
  for (std::size_t i = b + 1; i < e; ++i)
    if (p[i] != p[b]) return false;
  return true;
}

/// Decodes base64url (no padding) into `out`; false on a malformed length.
inline bool base64url_decode(const std::uint8_t* p, std::size_t n, std::string& out) {
  if (n % 4 == 1) return false;
  out.clear();
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t c = p[i];
    std::uint32_t v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else return false;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

// Limits that keep every detector linear (docs/privacy.md §4.1).
constexpr std::size_t kMaxJwtHeader = 4096;       // encoded header characters
constexpr std::size_t kMaxPemSpan = 64 * 1024;    // BEGIN to END, or the truncated block
constexpr std::size_t kMaxIdentifierTail = 64;    // "secret_access_key" after the key word
constexpr std::size_t kMaxGenericValue = 4096;    // longer runs are data, not a credential
constexpr std::size_t kMaxSchemeBack = 32;

constexpr std::size_t kSecretCount = kDetectorCount - static_cast<std::size_t>(kFirstSecretDetector);
inline std::size_t slot(Detector d) noexcept {
  return static_cast<std::size_t>(d) - static_cast<std::size_t>(kFirstSecretDetector);
}

struct Ctx {
  const std::uint8_t* p = nullptr;
  std::size_t n = 0;
  DetectorMask enabled = 0;
  std::vector<Match>* out = nullptr;
  // Per detector: anchors before this position were already covered by a scanned body (keys do not nest).
  std::size_t covered[kSecretCount] = {};
  std::size_t generic_covered = 0;
  // The next "-----END " at or after pem_search_from (npos: none).
  std::size_t pem_search_from = 0;
  std::size_t pem_next_end = 0;
  bool pem_searched = false;
  std::string scratch;
  // Prefilter mode for the detectors it runs in full (url, generic): emit() only records that one was found.
  bool dry = false;
  bool found = false;

  bool on(Detector d) const noexcept { return (enabled & mask_of(d)) != 0; }
  bool skip(Detector d, std::size_t start) const noexcept { return start < covered[slot(d)]; }
  void cover(Detector d, std::size_t end) noexcept {
    if (end > covered[slot(d)]) covered[slot(d)] = end;
  }
  void emit(Detector d, std::size_t b, std::size_t e, float confidence) {
    if (dry) {
      found = true;
      return;
    }
    out->push_back(Match{b, e, d, confidence});
    cover(d, e);
  }
  bool left_boundary(std::size_t start) const noexcept { return start == 0 || !is_alnum(p[start - 1]); }
};

// Each detector: the prefix and boundary test (all the prefilter runs), then, when kScan, the full check.

template <bool kScan>
bool aws_or_google(Ctx& c, std::size_t s) {
  const std::uint8_t* p = c.p;
  const std::size_t n = c.n;
  if (n - s < 4 || !c.left_boundary(s)) return false;
  if (p[s + 1] == 'I' && p[s + 2] == 'z' && p[s + 3] == 'a') {
    // Google API key: AIza + 35 of [A-Za-z0-9_-].
    if (!kScan) return true;
    if (!c.on(Detector::google_api_key) || c.skip(Detector::google_api_key, s)) return false;
    if (n - s < 39) return false;
    for (std::size_t i = s + 4; i < s + 39; ++i)
      if (!has(p[i], kAlnum | kB64Url)) return false;
    if (s + 39 < n && has(p[s + 39], kAlnum | kB64Url)) return false;
    c.emit(Detector::google_api_key, s, s + 39, 0.95f);
    return false;
  }
  static constexpr std::array<std::string_view, 8> kAws{"AKIA", "ASIA", "AGPA", "AIDA",
                                                         "AROA", "ANPA", "ANVA", "AIPA"};
  bool prefix = false;
  for (std::string_view a : kAws)
    if (std::memcmp(p + s, a.data(), 4) == 0) prefix = true;
  if (!prefix) return false;
  if (!kScan) return true;
  if (!c.on(Detector::aws_access_key) || n - s < 20) return false;
  for (std::size_t i = s + 4; i < s + 20; ++i)
    if (!has(p[i], kUp | kDi)) return false;
  if (s + 20 < n && is_alnum(p[s + 20])) return false;
  c.emit(Detector::aws_access_key, s, s + 20, 0.9f);
  return false;
}

template <bool kScan>
bool github_classic(Ctx& c, std::size_t s) {  // s: the 'g' of gh?_
  const std::uint8_t* p = c.p;
  if (p[s] != 'g' || p[s + 1] != 'h' || !c.left_boundary(s)) return false;
  const std::uint8_t k = p[s + 2];
  if (k != 'p' && k != 'o' && k != 'u' && k != 's' && k != 'r') return false;
  if (!kScan) return true;
  if (!c.on(Detector::github_token) || c.n - s < 40) return false;
  for (std::size_t i = s + 4; i < s + 40; ++i)
    if (!is_alnum(p[i])) return false;
  if (s + 40 < c.n && is_alnum(p[s + 40])) return false;
  char sum[6];
  base62_6(crc32(p + s + 4, 30), sum);
  if (std::memcmp(sum, p + s + 34, 6) != 0) return false;  // wrong checksum: not a GitHub token
  c.emit(Detector::github_token, s, s + 40, 1.0f);
  return false;
}

template <bool kScan>
bool github_pat(Ctx& c, std::size_t s) {  // github_pat_ + 22 alnum + _ + 59 alnum
  const std::uint8_t* p = c.p;
  if (!starts_with(p, c.n, s, "github_pat_") || !c.left_boundary(s)) return false;
  if (!kScan) return true;
  if (!c.on(Detector::github_token) || c.skip(Detector::github_token, s) || c.n - s < 93) return false;
  for (std::size_t i = s + 11; i < s + 93; ++i)
    if (i == s + 33 ? p[i] != '_' : !is_alnum(p[i])) return false;
  if (s + 93 < c.n && has(p[s + 93], kAlnum | kB64Url)) return false;
  c.emit(Detector::github_token, s, s + 93, 0.95f);
  return false;
}

template <bool kScan>
bool gitlab(Ctx& c, std::size_t s) {
  static constexpr std::array<std::string_view, 13> kPrefixes{
      "glpat-", "gldt-",  "glrt-",  "glrtr-",  "glptt-", "glcbt-", "glimt-",
      "glagent-", "glsoat-", "glffct-", "gloas-", "glft-", "glwt-"};
  const std::uint8_t* p = c.p;
  if (!c.left_boundary(s)) return false;
  std::size_t body = 0;
  for (std::string_view pre : kPrefixes)
    if (starts_with(p, c.n, s, pre)) body = s + pre.size();
  if (body == 0) return false;
  if (!kScan) return true;
  if (!c.on(Detector::gitlab_token) || c.skip(Detector::gitlab_token, s)) return false;
  // Body [A-Za-z0-9_-]{20,}, optionally continued by routable parts ".01.abcd" (a dot between alnums).
  std::size_t e = run_end(p, c.n, body, kAlnum | kB64Url);
  while (e + 1 < c.n && p[e] == '.' && is_alnum(p[e + 1])) e = run_end(p, c.n, e + 1, kAlnum | kB64Url);
  c.cover(Detector::gitlab_token, e);
  while (e > body && (p[e - 1] == '-' || p[e - 1] == '_')) --e;
  if (e - body < 20 || !two_classes(p, body, e)) return false;
  c.emit(Detector::gitlab_token, s, e, 0.9f);
  return false;
}

template <bool kScan>
bool slack(Ctx& c, std::size_t s) {  // xox[abeoprs][-.]
  const std::uint8_t* p = c.p;
  if (c.n - s < 5 || p[s] != 'x' || p[s + 1] != 'o' || p[s + 2] != 'x' || !c.left_boundary(s)) return false;
  const std::uint8_t k = p[s + 3];
  if (k != 'a' && k != 'b' && k != 'e' && k != 'o' && k != 'p' && k != 'r' && k != 's') return false;
  if (p[s + 4] != '-' && p[s + 4] != '.') return false;
  if (!kScan) return true;
  if (!c.on(Detector::slack_token) || c.skip(Detector::slack_token, s)) return false;
  const std::size_t body = s + 5;
  std::size_t e = body;
  int dashes = 0;
  bool digit = false;
  while (e < c.n) {
    const std::uint8_t ch = p[e];
    if (is_alnum(ch)) {
      digit = digit || is_digit(ch);
    } else if (ch == '-') {
      ++dashes;
    } else if (ch == '.' && e + 1 < c.n && is_alnum(p[e + 1])) {
    } else {
      break;
    }
    ++e;
  }
  c.cover(Detector::slack_token, e);
  while (e > body && p[e - 1] == '-') {
    --e;
    --dashes;
  }
  if (e - body < 10 || !digit) return false;
  c.emit(Detector::slack_token, s, e, (dashes >= 2 && e - body >= 20) ? 0.95f : 0.7f);
  return false;
}

template <bool kScan>
bool sk_dash(Ctx& c, std::size_t s) {  // sk-  (OpenAI-style, and sk-ant- Anthropic)
  const std::uint8_t* p = c.p;
  if (p[s] != 's' || p[s + 1] != 'k' || !c.left_boundary(s)) return false;
  if (!kScan) return true;
  const std::size_t n = c.n;
  if (starts_with(p, n, s, "sk-ant-")) {
    if (!c.on(Detector::anthropic_key) || c.skip(Detector::anthropic_key, s)) return false;
    // sk-ant-<kind><2 digits>-<body>: api03, admin01, ...
    std::size_t i = s + 7;
    const std::size_t kind = i;
    while (i < n && is_lower(p[i]) && i - kind < 8) ++i;
    if (i - kind < 2 || n - i < 3 || !is_digit(p[i]) || !is_digit(p[i + 1]) || p[i + 2] != '-') return false;
    const std::size_t body = i + 3;
    std::size_t e = run_end(p, n, body, kAlnum | kB64Url);
    c.cover(Detector::anthropic_key, e);
    if (e - body < 32 || !two_classes(p, body, e)) return false;
    const bool exact = e - body == 95 && p[e - 1] == 'A' && p[e - 2] == 'A';
    c.emit(Detector::anthropic_key, s, e, exact ? 1.0f : 0.9f);
    return false;
  }
  if (!c.on(Detector::openai_key) || c.skip(Detector::openai_key, s)) return false;
  const std::size_t body = s + 3;
  std::size_t e = run_end(p, n, body, kAlnum | kB64Url);
  c.cover(Detector::openai_key, e);
  while (e > body && (p[e - 1] == '-' || p[e - 1] == '_')) --e;
  if (e - body < 20 || !two_classes(p, body, e)) return false;
  const std::string_view b(reinterpret_cast<const char*>(p + body), e - body);
  float conf = 0.6f;
  if (b.find("T3BlbkFJ") != std::string_view::npos) conf = 1.0f;
  else if (e - body >= 32) conf = 0.8f;
  c.emit(Detector::openai_key, s, e, conf);
  return false;
}

template <bool kScan>
bool stripe(Ctx& c, std::size_t s) {  // sk_live_ sk_test_ rk_live_ rk_test_
  const std::uint8_t* p = c.p;
  if ((p[s] != 's' && p[s] != 'r') || p[s + 1] != 'k' || !c.left_boundary(s)) return false;
  if (!starts_with(p, c.n, s + 3, "live_") && !starts_with(p, c.n, s + 3, "test_")) return false;
  if (!kScan) return true;
  if (!c.on(Detector::stripe_key) || c.skip(Detector::stripe_key, s)) return false;
  const std::size_t body = s + 8;
  const std::size_t e = run_end(p, c.n, body, kAlnum);
  c.cover(Detector::stripe_key, e);
  if (e - body < 16 || !two_classes(p, body, e)) return false;
  if (e < c.n && p[e] == '_') return false;  // part of a longer identifier
  c.emit(Detector::stripe_key, s, e, 0.95f);
  return false;
}

template <bool kScan>
bool stripe_whsec(Ctx& c, std::size_t s) {  // whsec_ + 24+ alnum
  const std::uint8_t* p = c.p;
  if (!starts_with(p, c.n, s, "whsec_") || !c.left_boundary(s)) return false;
  if (!kScan) return true;
  if (!c.on(Detector::stripe_key) || c.skip(Detector::stripe_key, s)) return false;
  const std::size_t body = s + 6;
  const std::size_t e = run_end(p, c.n, body, kAlnum);
  c.cover(Detector::stripe_key, e);
  if (e - body < 24 || !two_classes(p, body, e)) return false;
  c.emit(Detector::stripe_key, s, e, 0.95f);
  return false;
}

template <bool kScan>
bool jwt(Ctx& c, std::size_t s) {  // s: the 'e' of eyJ
  const std::uint8_t* p = c.p;
  const std::size_t n = c.n;
  if (p[s] != 'e' || p[s + 1] != 'y' || (s > 0 && has(p[s - 1], kAlnum | kB64Url))) return false;
  if (!kScan) return true;
  if (!c.on(Detector::jwt) || c.skip(Detector::jwt, s)) return false;
  std::size_t h = s;
  while (h < n && h - s <= kMaxJwtHeader && has(p[h], kAlnum | kB64Url)) ++h;
  if (h >= n || p[h] != '.' || h - s > kMaxJwtHeader) return false;
  const std::size_t pe = run_end(p, n, h + 1, kAlnum | kB64Url);
  if (pe - (h + 1) < 2 || pe >= n || p[pe] != '.') return false;
  const std::size_t se = run_end(p, n, pe + 1, kAlnum | kB64Url);
  c.cover(Detector::jwt, se);
  if (!base64url_decode(p + s, h - s, c.scratch)) return false;
  const nlohmann::json header = nlohmann::json::parse(c.scratch, nullptr, false);
  if (!header.is_object() || !header.contains("alg")) return false;
  c.emit(Detector::jwt, s, se, 1.0f);
  return false;
}

inline bool pem_label_ok(const std::uint8_t* p, std::size_t b, std::size_t e) {
  const std::string_view l(reinterpret_cast<const char*>(p + b), e - b);
  auto ends = [&](std::string_view suf) { return l.size() >= suf.size() && l.substr(l.size() - suf.size()) == suf; };
  return ends("PRIVATE KEY") || ends("PRIVATE KEY BLOCK");
}

template <bool kScan>
bool pem(Ctx& c, std::size_t s) {  // s: the first '-' of -----BEGIN
  const std::uint8_t* p = c.p;
  const std::size_t n = c.n;
  if (!starts_with(p, n, s, "-----BEGIN ")) return false;
  if (!kScan) return true;
  if (!c.on(Detector::private_key) || c.skip(Detector::private_key, s)) return false;
  const std::size_t lb = s + 11;
  std::size_t le = lb;
  while (le < n && le - lb <= 40 && (is_upper(p[le]) || is_digit(p[le]) || p[le] == ' ')) ++le;
  if (!starts_with(p, n, le, "-----") || !pem_label_ok(p, lb, le)) return false;
  const std::size_t head_end = le + 5;
  // The next END marker, found once for all BEGIN lines before it.
  if (!c.pem_searched || (c.pem_next_end != std::string_view::npos && c.pem_next_end < head_end)) {
    const std::string_view t(reinterpret_cast<const char*>(p), n);
    c.pem_next_end = t.find("-----END ", std::max(head_end, c.pem_search_from));
    c.pem_search_from = c.pem_next_end == std::string_view::npos ? n : c.pem_next_end;
    c.pem_searched = true;
  }
  if (c.pem_next_end != std::string_view::npos && c.pem_next_end - s <= kMaxPemSpan) {
    std::size_t e = c.pem_next_end + 9;
    const std::size_t stop = std::min(n, e + 48);
    while (e < stop && !starts_with(p, n, e, "-----")) ++e;
    e = starts_with(p, n, e, "-----") ? e + 5 : c.pem_next_end + 9;
    c.emit(Detector::private_key, s, e, 1.0f);
    return false;
  }
  // Truncated: the header and the body that follows it, up to kMaxPemSpan.
  std::size_t e = head_end;
  const std::size_t stop = std::min(n, s + kMaxPemSpan);
  while (e < stop && has(p[e], kPemSym) && !(p[e] == '-' && starts_with(p, n, e, "-----"))) ++e;  // to the next armor line
  c.cover(Detector::private_key, e);
  std::size_t base64 = 0;
  for (std::size_t i = head_end; i < e && base64 < 16; ++i) base64 += is_alnum(p[i]) || p[i] == '+' || p[i] == '/';
  if (base64 < 16) return false;
  while (e > head_end && (p[e - 1] == ' ' || p[e - 1] == '\n' || p[e - 1] == '\r' || p[e - 1] == '\t')) --e;
  c.emit(Detector::private_key, s, e, 0.9f);
  return false;
}

template <bool kScan>
bool url(Ctx& c, std::size_t i) {  // i: the ':' of ://
  const std::uint8_t* p = c.p;
  const std::size_t n = c.n;
  if (n - i < 3 || p[i + 1] != '/' || p[i + 2] != '/') return false;
  std::size_t sb = i;
  while (sb > 0 && i - sb < kMaxSchemeBack && (is_alnum(p[sb - 1]) || p[sb - 1] == '+' || p[sb - 1] == '.' ||
                                                p[sb - 1] == '-'))
    --sb;
  while (sb < i && !is_alpha(p[sb])) ++sb;
  if (sb == i) return false;
  // Run in full by the prefilter too (no allocation): URLs without credentials are common in events.
  const std::size_t a = i + 3;
  // Slack incoming webhook: https://hooks.slack.com/services/T.../B.../secret
  if (c.on(Detector::slack_token) && starts_with(p, n, a, "hooks.slack.com/services/T") &&
      !c.skip(Detector::slack_token, sb)) {
    const std::size_t b = a + 25;
    std::size_t e = b;
    int slashes = 0;
    while (e < n && (is_alnum(p[e]) || p[e] == '/' || p[e] == '_')) slashes += p[e++] == '/';
    c.cover(Detector::slack_token, e);
    if (slashes >= 2 && e - b >= 24) c.emit(Detector::slack_token, sb, e, 1.0f);
    if (!kScan && c.found) return true;
  }
  if (!c.on(Detector::url_credentials) || c.skip(Detector::url_credentials, a)) return false;
  std::size_t e = a, at = 0;
  bool found_at = false;
  while (e < n && (has(p[e], kUserSym) || p[e] == '@')) {
    if (p[e] == '@') {
      at = e;
      found_at = true;
    }
    ++e;
  }
  c.cover(Detector::url_credentials, e);
  if (!found_at || at + 1 >= n || !(is_alnum(p[at + 1]) || p[at + 1] == '[')) return false;
  std::size_t colon = a;
  while (colon < at && p[colon] != ':') ++colon;
  if (colon >= at || colon + 1 == at) return false;  // no password
  if (all_same(p, colon + 1, at) && (p[colon + 1] == '*' || p[colon + 1] == 'x' || p[colon + 1] == 'X'))
    return false;  // a masked placeholder
  c.emit(Detector::url_credentials, a, at, 0.9f);
  return !kScan && c.found;
}

// --- generic: key words followed by a value --------------------------------------------------------------

enum class KwKind : std::uint8_t { plain, password, bearer, auth };
struct Keyword {
  std::string_view word;  // lower case
  KwKind kind;
};

inline bool component_start(const std::uint8_t* p, std::size_t s) noexcept {
  if (s == 0) return true;
  const std::uint8_t b = p[s - 1];
  if (!is_alnum(b)) return true;
  if (is_lower(b) && is_upper(p[s])) return true;  // apiKey, clientSecret
  return s >= 3 && starts_with_ci(p, s, s - 3, "api");  // apikey, APIKEY, apisecret
}

/// End of the key word (with an optional plural s) if it ends a component, else 0.
inline std::size_t component_end(const std::uint8_t* p, std::size_t n, std::size_t e) noexcept {
  if (e < n && (p[e] == 's' || p[e] == 'S')) {
    const std::size_t f = e + 1;
    if (f == n || !is_alpha(p[f]) || (is_lower(p[f - 1]) && is_upper(p[f]))) return f;
  }
  if (e == n || !is_alpha(p[e])) return e;
  if (is_lower(p[e - 1]) && is_upper(p[e])) return e;  // tokenValue
  return 0;
}

/// The first letters of the key words, any case.
inline bool is_keyword_first(std::uint8_t ch) noexcept {
  switch (lower(ch)) {
    case 'a': case 'b': case 'c': case 'k': case 'p': case 's': case 't': return true;
    default: return false;
  }
}

/// The key word starting at s, if any (an identifier component, see component_start / component_end).
inline const Keyword* keyword_at(const std::uint8_t* p, std::size_t n, std::size_t s, std::size_t* end) noexcept {
  static constexpr Keyword kAuthorization{"authorization", KwKind::auth}, kAuth{"auth", KwKind::auth},
      kBearer{"bearer", KwKind::bearer}, kCredential{"credential", KwKind::plain}, kKey{"key", KwKind::plain},
      kPassword{"password", KwKind::password}, kPasswd{"passwd", KwKind::password}, kPwd{"pwd", KwKind::password},
      kSecret{"secret", KwKind::plain}, kToken{"token", KwKind::plain};
  const Keyword* cands[2] = {nullptr, nullptr};
  switch (lower(p[s])) {
    case 'a': cands[0] = &kAuthorization; cands[1] = &kAuth; break;
    case 'b': cands[0] = &kBearer; break;
    case 'c': cands[0] = &kCredential; break;
    case 'k': cands[0] = &kKey; break;
    case 'p': cands[0] = &kPassword; cands[1] = s + 1 < n && lower(p[s + 1]) == 'w' ? &kPwd : &kPasswd; break;
    case 's': cands[0] = &kSecret; break;
    case 't': cands[0] = &kToken; break;
    default: return nullptr;
  }
  for (const Keyword* k : cands) {
    if (k == nullptr || !starts_with_ci(p, n, s, k->word)) continue;
    const std::size_t e = component_end(p, n, s + k->word.size());
    if (e == 0 || !component_start(p, s)) continue;
    *end = e;
    return k;
  }
  return nullptr;
}

/// Identifier names whose value is not a secret even though they contain a key word: token_count, key_id...
inline bool non_secret_name(const std::uint8_t* p, std::size_t b, std::size_t e) noexcept {
  std::size_t s = e;
  while (s > b && is_alpha(p[s - 1]) && !(s < e && is_upper(p[s]) && is_lower(p[s - 1]))) --s;
  if (s == e || e - s > 12) return false;
  char buf[12];
  for (std::size_t i = s; i < e; ++i) buf[i - s] = static_cast<char>(lower(p[i]));
  const std::string_view last(buf, e - s);
  static constexpr std::array<std::string_view, 46> kNames{
      "id",       "ids",      "name",     "names",   "type",    "count",   "counts",   "len",
      "length",   "size",     "prefix",   "suffix",  "hash",    "digest",  "version",  "url",
      "uri",      "path",     "file",     "dir",     "format",  "alg",     "algorithm", "expires",
      "expiry",   "ttl",      "index",    "limit",   "usage",   "kind",    "method",   "methods",
      "scheme",   "provider", "status",   "state",   "scope",   "scopes",  "issuer",   "endpoint",
      "at",       "time",     "date",     "error",   "reason",  "mode"};
  for (std::string_view k : kNames)
    if (last == k) return true;
  return false;
}

inline bool placeholder_value(const std::uint8_t* p, std::size_t b, std::size_t e) noexcept {
  if (all_same(p, b, e)) return true;
  const std::uint8_t f = p[b];
  if (f == '$' || f == '%' || f == '{' || f == '<') return true;  // ${DB_PASSWORD}, %s
  if (e - b > 12) return false;
  char buf[12];
  for (std::size_t i = b; i < e; ++i) buf[i - b] = static_cast<char>(lower(p[i]));
  const std::string_view v(buf, e - b);
  static constexpr std::array<std::string_view, 14> kWords{"null",   "none",     "nil",      "true",   "false",
                                                            "empty",  "undefined", "redacted", "hidden", "masked",
                                                            "required", "optional", "string",  "unset"};
  for (std::string_view w : kWords)
    if (v == w) return true;
  return false;
}

template <bool kScan>
bool generic(Ctx& c, std::size_t s) {
  const std::uint8_t* p = c.p;
  const std::size_t n = c.n;
  std::size_t kw_end = 0;
  const Keyword* kw = keyword_at(p, n, s, &kw_end);
  if (kw == nullptr) return false;
  // Run in full by the prefilter too (no allocation): "key light", "secret garden" are ordinary prompt words.
  if (!c.on(Detector::generic_secret) || s < c.generic_covered) return false;
  // The rest of the identifier: secret_access_key, tokenValue, api-key.
  std::size_t j = kw_end;
  while (j < n && j - kw_end <= kMaxIdentifierTail && (is_alnum(p[j]) || p[j] == '_' || p[j] == '-' || p[j] == '.'))
    ++j;
  if (j - kw_end > kMaxIdentifierTail) {
    c.generic_covered = j;
    return false;
  }
  std::size_t name_end = j;
  while (name_end > kw_end && (p[name_end - 1] == '-' || p[name_end - 1] == '.')) --name_end;
  c.generic_covered = std::max(c.generic_covered, name_end);
  if (non_secret_name(p, s, name_end)) return false;
  j = name_end;
  // Separator: an optional closing quote, then = : := => or whitespace, or the word "is".
  if (j < n && (p[j] == '"' || p[j] == '\'' || p[j] == '`')) ++j;
  std::size_t ws = 0;
  while (j < n && (p[j] == ' ' || p[j] == '\t') && ws < 16) ++j, ++ws;
  bool strong = false;
  if (j < n && p[j] == '=') {
    strong = true;
    ++j;
    if (j < n && p[j] == '>') ++j;
  } else if (j < n && p[j] == ':') {
    strong = true;
    ++j;
    if (j < n && p[j] == '=') ++j;
  } else if (ws > 0 && starts_with_ci(p, n, j, "is") && j + 2 < n && p[j + 2] == ' ') {
    j += 2;
  } else if (ws == 0) {
    return false;
  }
  for (std::size_t k = 0; j < n && (p[j] == ' ' || p[j] == '\t') && k < 16; ++k) ++j;
  if (j < n && (p[j] == '"' || p[j] == '\'' || p[j] == '`')) ++j;
  // Authorization: Bearer <token> / Basic <base64>: skip the scheme word.
  if (kw->kind == KwKind::auth || kw->kind == KwKind::plain) {
    for (std::string_view scheme : {std::string_view("bearer "), std::string_view("basic "),
                                    std::string_view("token "), std::string_view("digest ")})
      if (starts_with_ci(p, n, j, scheme)) {
        j += scheme.size();
        for (std::size_t k = 0; j < n && p[j] == ' ' && k < 16; ++k) ++j;
        break;
      }
  }
  const bool password_value = kw->kind == KwKind::password && strong;
  const std::uint8_t cls = password_value ? (kAlnum | kPassSym) : (kAlnum | kTokSym);
  const std::size_t vb = j;
  // "key password=<value>": after a weak separator (whitespace) the value is itself a key word with a strong
  // one; that inner key word reports the value with its own span (nothing is covered here, so the scan reaches
  // it). After a strong separator the value stays this key word's ("password: key:abc" is a password).
  if (std::size_t inner_end = 0; !strong && keyword_at(p, n, vb, &inner_end) != nullptr) {
    std::size_t t = inner_end;
    while (t < n && t - inner_end <= kMaxIdentifierTail && (is_alnum(p[t]) || p[t] == '_' || p[t] == '-')) ++t;
    if (t < n && (p[t] == '=' || p[t] == ':')) return false;
  }
  std::size_t ve = run_end(p, n, vb, cls);
  c.generic_covered = std::max(c.generic_covered, ve);
  while (ve > vb && (p[ve - 1] == '.' || p[ve - 1] == ':')) --ve;  // sentence end
  const std::size_t len = ve - vb;
  if (len == 0 || len > kMaxGenericValue) return false;
  if (len >= 16 && two_classes(p, vb, ve) && entropy(p, vb, ve) >= 3.0) {
    const std::string_view v(reinterpret_cast<const char*>(p + vb), len);
    const bool pathlike = v.find('/') != std::string_view::npos && v.find('.') != std::string_view::npos;
    if (!pathlike) {
      const float conf = kw->kind == KwKind::bearer ? 0.9f : strong ? 0.8f : 0.7f;
      c.emit(Detector::generic_secret, vb, ve, conf);
      return !kScan && c.found;
    }
  }
  if (password_value && len >= 3 && !placeholder_value(p, vb, ve)) c.emit(Detector::generic_secret, vb, ve, 0.6f);
  return !kScan && c.found;
}

// The identifier in which a key word can start, before a separator or a value (docs/privacy.md §4.3): key
// word 13 + plural 1 + tail 64, rounded up.
constexpr std::size_t kIdentWindow = 96;

struct IdentTable {
  bool v[256];
};
constexpr IdentTable make_ident_table() {
  IdentTable t{};
  for (int c = 0; c < 256; ++c)
    t.v[c] = (kChars.v[c] & kAlnum) != 0 || c == '_' || c == '-' || c == '.';
  return t;
}
inline constexpr IdentTable kIdent = make_ident_table();
inline bool is_ident(std::uint8_t ch) noexcept { return kIdent.v[ch]; }

struct KeywordFirstTable {
  bool v[256];
};
constexpr KeywordFirstTable make_keyword_first_table() {
  KeywordFirstTable t{};
  for (char ch : {'a', 'b', 'c', 'k', 'p', 's', 't'}) {
    t.v[static_cast<unsigned char>(ch)] = true;
    t.v[static_cast<unsigned char>(ch - 'a' + 'A')] = true;
  }
  return t;
}
inline constexpr KeywordFirstTable kKeywordFirst = make_keyword_first_table();

template <bool kScan>
bool keywords_in(Ctx& c, std::size_t b, std::size_t e) {
  const std::uint8_t* p = c.p;
  std::uint8_t prev = b == 0 ? 0 : p[b - 1];
  for (std::size_t s = b; s < e; ++s) {
    const std::uint8_t ch = p[s];
    // is_keyword_first() and component_start() in short: a word start, a lower->upper change, or "key" after
    // "api". Bitwise, so that only the rare candidates take a branch.
    const std::uint8_t cp = kChars.v[prev], cc = kChars.v[ch];
    const bool start = ((cp & kAlnum) == 0) | (((cp & kLo) != 0) & ((cc & kUp) != 0)) | ((ch | 0x20) == 'k');
    prev = ch;
    if ((kKeywordFirst.v[ch] & start) && generic<kScan>(c, s) && !kScan) return true;
  }
  return false;
}

/// A strong separator (: or =) at q: the key word, if any, is in the identifier that ends right before it
/// (after optional blanks and a closing quote).
template <bool kScan>
bool separator_event(Ctx& c, std::size_t q) {
  const std::uint8_t* p = c.p;
  std::size_t j = q;
  for (std::size_t ws = 0; j > 0 && (p[j - 1] == ' ' || p[j - 1] == '\t') && ws < 16; ++ws) --j;
  if (j > 0 && (p[j - 1] == '"' || p[j - 1] == '\'' || p[j - 1] == '`')) --j;
  std::size_t b = j;
  while (b > 0 && j - b < kIdentWindow && is_ident(p[b - 1])) --b;
  return keywords_in<kScan>(c, b, j);
}

/// A maximal run [rs, re) of 16+ value bytes: if it could be a generic value after a weak separator (the
/// cheap part of generic()'s high-entropy test), the key words in the identifiers before it.
template <bool kScan>
bool value_event(Ctx& c, std::size_t rs, std::size_t re) {
  const std::uint8_t* p = c.p;
  while (re > rs && p[re - 1] == '.') --re;
  const std::size_t len = re - rs;
  if (len < 16 || len > kMaxGenericValue) return false;
  // The cheap tests first: a path or URL-like run ("AppleWebKit/537.36") is the common case.
  const std::string_view v(reinterpret_cast<const char*>(p + rs), len);
  if (v.find('/') != std::string_view::npos && v.find('.') != std::string_view::npos) return false;
  if (!two_classes(p, rs, re)) return false;  // (the entropy test is left to generic(): it costs more)
  // Backwards over what generic() allows between a key word's identifier and a weak-separator value: blanks
  // and quotes, and at most two of the words "is" and Bearer/Basic/Token/Digest (each may itself end the
  // identifier holding the key word: "token <value>").
  std::size_t j = rs;
  for (int stage = 0; stage < 3; ++stage) {
    for (std::size_t k = 0; j > 0 && k < 40 && (p[j - 1] == ' ' || p[j - 1] == '\t' || p[j - 1] == '"' ||
                                                p[j - 1] == '\'' || p[j - 1] == '`');
         ++k)
      --j;
    std::size_t b = j;
    while (b > 0 && j - b < kIdentWindow && is_ident(p[b - 1])) --b;
    if (keywords_in<kScan>(c, b, j) && !kScan) return true;
    const std::size_t len_word = j - b;
    bool gap_word = false;
    for (std::string_view w : {std::string_view("is"), std::string_view("bearer"), std::string_view("basic"),
                               std::string_view("token"), std::string_view("digest")})
      gap_word = gap_word || (len_word == w.size() && starts_with_ci(p, c.n, b, w));
    if (!gap_word || j == rs) break;
    j = b;
  }
  return false;
}

/// The detectors anchored at anchor byte p[i].
template <bool kScan>
bool anchor_event(Ctx& c, std::size_t i) {
  const std::uint8_t* p = c.p;
  bool hit = false;
  switch (p[i]) {
    case 'A':
      hit = aws_or_google<kScan>(c, i);
      break;
    case '_':
      if (i >= 3) hit |= github_classic<kScan>(c, i - 3);
      if (i >= 6) hit |= github_pat<kScan>(c, i - 6);
      if (i >= 2) hit |= stripe<kScan>(c, i - 2);
      if (i >= 5) hit |= stripe_whsec<kScan>(c, i - 5);
      break;
    case '-':
      if (i >= 2) hit |= sk_dash<kScan>(c, i - 2);
      for (std::size_t k = 4; k <= 7 && k <= i; ++k)
        if (p[i - k] == 'g' && p[i - k + 1] == 'l') hit |= gitlab<kScan>(c, i - k);
      hit |= pem<kScan>(c, i);
      break;
    case 'x':
      hit = slack<kScan>(c, i);
      break;
    case 'J':
      if (i >= 2) hit = jwt<kScan>(c, i - 2);
      break;
    case ':':
      hit = url<kScan>(c, i);
      if (!kScan && hit) return true;
      hit |= separator_event<kScan>(c, i);
      break;
    case '=':
      hit = separator_event<kScan>(c, i);
      break;
    default:
      break;
  }
  return hit;
}

struct Masks {
  std::uint64_t anchor = 0;  // anchor bytes
  std::uint64_t value = 0;   // bytes of [A-Za-z0-9+/=_.~-]
};

// The neighbour every detector anchored at an anchor byte needs (anchor_fits): kind[c] is the kind bit of anchor
// byte c (0 for other bytes), and that kind fits at i when its bit is set in prev[p[i - 1]] or next[p[i + 1]].
struct AnchorFitTables {
  std::uint8_t kind[256], prev[256], next[256];
};
constexpr AnchorFitTables make_anchor_fit_tables() {
  AnchorFitTables t{};
  constexpr std::uint8_t kA = 1, kUnder = 2, kMinus = 4, kX = 8, kJ = 16, kAlways = 32;
  t.kind[static_cast<unsigned char>('A')] = kA;
  t.kind[static_cast<unsigned char>('_')] = kUnder;
  t.kind[static_cast<unsigned char>('-')] = kMinus;
  t.kind[static_cast<unsigned char>('x')] = kX;
  t.kind[static_cast<unsigned char>('J')] = kJ;
  t.kind[static_cast<unsigned char>(':')] = kAlways;
  t.kind[static_cast<unsigned char>('=')] = kAlways;
  for (auto& v : t.prev) v = kAlways;
  for (char c : {'K', 'S', 'G', 'I', 'R', 'N'}) t.next[static_cast<unsigned char>(c)] |= kA;  // AKIA ... AIza
  for (char c : {'p', 'o', 'u', 's', 'r', 'b', 'k', 'c'})  // gh?_, github_, sk_ rk_, whsec_
    t.prev[static_cast<unsigned char>(c)] |= kUnder;
  for (char c : {'k', 't', 'r', 's'}) t.prev[static_cast<unsigned char>(c)] |= kMinus;  // sk-, the gl...- prefixes
  t.next[static_cast<unsigned char>('-')] |= kMinus;                                   // -----BEGIN
  t.next[static_cast<unsigned char>('o')] |= kX;                                       // xox
  t.prev[static_cast<unsigned char>('y')] |= kJ;                                       // eyJ
  return t;
}
inline constexpr AnchorFitTables kAnchorFit = make_anchor_fit_tables();

/// The anchor byte at i has the neighbour that every detector anchored there needs: an `A` followed by one of
/// K S G I R N (AKIA ASIA AGPA AIDA AROA ANPA ANVA AIPA AIza), a `_` after one of p o u s r (gh?_), b
/// (github_), k (sk_, rk_), c (whsec_), a `-` after k (sk-), t r s (the gl...- prefixes) or before a `-`
/// (-----BEGIN), an `x` before an `o` (xox), a `J` after a `y` (eyJ); `:` and `=` always. At any other anchor
/// byte every detector of anchor_event returns at once without a finding and without changing the scan's
/// state, so walk() skips it. (A `-` that is not a gl...- prefix's own may reach gitlab() for a prefix that
/// ended earlier; that call is a no-op, since the prefix's own `-` already scanned and covered the token.)
inline bool anchor_fits(const std::uint8_t* p, std::size_t n, std::size_t i) noexcept {
  const std::uint8_t prev = i > 0 ? p[i - 1] : 0, next = i + 1 < n ? p[i + 1] : 0;
  return (kAnchorFit.kind[p[i]] & (kAnchorFit.prev[prev] | kAnchorFit.next[next])) != 0;
}

/// The masks of the 64 bytes at b (bytes past n are in neither).
inline Masks block_masks(const std::uint8_t* p, std::size_t n, std::size_t b) noexcept {
  Masks m;
  const std::size_t avail = n - b;
#if defined(__SSE2__)
  for (std::size_t k = 0; k < 4 && 16 * k < avail; ++k) {
    const std::size_t o = b + 16 * k;
    __m128i v;
    if (n - o >= 16) {
      v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + o));
    } else if (n >= 16) {  // the last, partial lane: the text's last 16 bytes stored before 16 zero bytes
      alignas(16) std::uint8_t buf[32];
      _mm_store_si128(reinterpret_cast<__m128i*>(buf), _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16)));
      _mm_store_si128(reinterpret_cast<__m128i*>(buf + 16), _mm_setzero_si128());
      v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + (o + 16 - n)));  // text byte x: buf[x + 16 - n]
    } else {  // a text under 16 bytes: zero bytes are in neither mask
      alignas(16) std::uint8_t buf[16] = {};
      std::memcpy(buf, p + o, n - o);
      v = _mm_load_si128(reinterpret_cast<const __m128i*>(buf));
    }
    auto eq = [&](char ch) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(ch)); };
    // Unsigned range test lo <= c <= hi: (c - lo) == min(c - lo, hi - lo).
    auto in_range = [](__m128i x, char lo, char hi) {
      const __m128i t = _mm_sub_epi8(x, _mm_set1_epi8(lo));
      return _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(static_cast<char>(hi - lo))), t);
    };
    const __m128i under = eq('_'), assign = eq('=');
    const __m128i a = _mm_or_si128(_mm_or_si128(_mm_or_si128(eq('A'), under), _mm_or_si128(eq('-'), eq('x'))),
                                   _mm_or_si128(_mm_or_si128(eq('J'), eq(':')), assign));
    // Value bytes: letters, "-./0-9" (one range, 0x2D-0x39), and + = _ ~.
    const __m128i alpha = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 'z');
    const __m128i t = _mm_or_si128(_mm_or_si128(alpha, in_range(v, '-', '9')),
                                   _mm_or_si128(_mm_or_si128(eq('+'), assign), _mm_or_si128(under, eq('~'))));
    m.anchor |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(a)) & 0xFFFFu) << (16 * k);
    m.value |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(t)) & 0xFFFFu) << (16 * k);
  }
#else
  for (std::size_t k = 0; k < 64 && k < avail; ++k) {
    m.anchor |= static_cast<std::uint64_t>(kAnchorBytes.v[p[b + k]]) << k;
    m.value |= static_cast<std::uint64_t>(has(p[b + k], kAlnum | kTokSym)) << k;
  }
#endif
  return m;
}

inline int lowest_bit(std::uint64_t v) noexcept { return __builtin_ctzll(v); }

/// Visits every anchor byte and every maximal run of 16+ value bytes, in position order.
template <bool kScan>
bool walk(Ctx& c) {
  const std::uint8_t* p = c.p;
  const std::size_t n = c.n;
  if (n == 0) return false;
  if (n < 16) {  // no run of 16 value bytes fits: only anchor bytes can start a match (member names, short values)
    bool any = false;
    for (std::size_t i = 0; i < n; ++i) any |= kAnchorBytes.v[p[i]];
    if (!any) return false;
  }
  Masks cur = block_masks(p, n, 0);
  std::size_t run_done = 0;  // end of the last value run handled
  for (std::size_t b = 0; b < n; b += 64) {
    const Masks next = n - b > 64 ? block_masks(p, n, b + 64) : Masks{};
    // Bit i: the 16 bytes from b + i are all value bytes (runs of 2, 4, 8, then 16 ones over the 128 bits
    // cur.value | next.value << 64; next supplies the 15 bits of look-ahead).
    std::uint64_t longs = cur.value;
    if (longs != 0) {
      std::uint64_t lo = cur.value, hi = next.value;
      for (unsigned k = 1; k < 16; k *= 2) {
        lo &= (lo >> k) | (hi << (64 - k));
        hi &= hi >> k;
      }
      longs = lo;
    }
    std::uint64_t anchors = cur.anchor;
    while ((anchors | longs) != 0) {
      const int ia = anchors != 0 ? lowest_bit(anchors) : 64;
      const int il = longs != 0 ? lowest_bit(longs) : 64;
      if (ia <= il) {
        anchors &= anchors - 1;
        const std::size_t i = b + static_cast<std::size_t>(ia);
        if (anchor_fits(p, n, i) && anchor_event<kScan>(c, i) && !kScan) return true;
        continue;
      }
      const std::size_t rs = b + static_cast<std::size_t>(il);
      longs &= longs - 1;
      if (rs < run_done) continue;
      // The run's end: the first byte outside the value mask, from the masks of this block and the next.
      std::size_t re;
      if (const std::uint64_t z = ~cur.value & (~std::uint64_t{0} << il); z != 0)
        re = b + static_cast<std::size_t>(lowest_bit(z));
      else if (n - b <= 64 || ~next.value != 0)
        re = std::min(n, b + 64 + static_cast<std::size_t>(n - b <= 64 ? 0 : lowest_bit(~next.value)));
      else
        re = run_end(p, n, b + 128, kAlnum | kTokSym);
      run_done = re;
      longs = re - b >= 64 ? 0 : longs & ~((std::uint64_t{1} << (re - b)) - 1);
      if (value_event<kScan>(c, rs, re) && !kScan) return true;
    }
    cur = next;
  }
  return false;
}

}  // namespace secret_impl

FA_INLINE void scan_secrets(std::string_view text, DetectorMask enabled, std::vector<Match>& out) {
  enabled &= kSecretDetectors;
  if (enabled == 0) return;
  secret_impl::Ctx c;
  c.p = reinterpret_cast<const std::uint8_t*>(text.data());
  c.n = text.size();
  c.enabled = enabled;
  c.out = &out;
  secret_impl::walk<true>(c);
}

FA_INLINE bool may_contain_secret(std::string_view text) noexcept {
  secret_impl::Ctx c;
  c.p = reinterpret_cast<const std::uint8_t*>(text.data());
  c.n = text.size();
  c.enabled = kSecretDetectors;
  c.dry = true;
  return secret_impl::walk<false>(c);
}

FA_INLINE bool is_secret_name(std::string_view name) noexcept {
  // The generic detector on `name=<a fixed high-entropy value>`: a match in the value means that any
  // high-entropy value of this member would be reported.
  static constexpr std::string_view kProbe = "=Zx8Kq2LmN4pR7sT9vW1yB3c";
  if (name.empty() || name.size() > 64) return false;
  char buf[64 + kProbe.size()];
  std::memcpy(buf, name.data(), name.size());
  std::memcpy(buf + name.size(), kProbe.data(), kProbe.size());
  secret_impl::Ctx c;
  c.p = reinterpret_cast<const std::uint8_t*>(buf);
  c.n = name.size() + kProbe.size();
  c.enabled = mask_of(Detector::generic_secret);
  c.dry = true;
  for (std::size_t s = 0; s < name.size(); ++s)
    if (secret_impl::is_keyword_first(c.p[s]) && secret_impl::generic<false>(c, s)) return true;
  return false;
}

FA_INLINE void scan_member_value(std::string_view name, std::string_view value, DetectorMask enabled,
                                 std::vector<Match>& out) {
  if ((enabled & mask_of(Detector::generic_secret)) == 0 || !is_secret_name(name)) return;
  std::string probe;
  probe.reserve(name.size() + 1 + value.size());
  probe.append(name).append("=").append(value);
  std::vector<Match> found;
  scan_secrets(probe, mask_of(Detector::generic_secret), found);
  const std::size_t off = name.size() + 1;
  for (const Match& m : found)
    if (m.begin >= off) out.push_back(Match{m.begin - off, m.end - off, m.detector, m.confidence});
}

}  // namespace fooocus_audit::detect
