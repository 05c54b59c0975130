// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/detail/pii_detectors.hpp"
#endif

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <exception>
#include <iterator>
#include <new>
#include <string_view>
#include <vector>

#include "fooocus_audit/detail/crypto.hpp"

namespace fooocus_audit::detect {
namespace pii_impl {

// Byte classes. A run of "word" bytes (ASCII letters, digits, '_') is the unit the scanner dispatches on; a
// byte >= 0x80 is class 0, so it is a boundary and never part of a match.
enum : std::uint8_t {
  kLetter = 1,
  kDigit = 2,
  kUnder = 4,
  kNonHex = 8,         // a word byte that is not a hex digit (g-z, G-Z, '_')
  kNonB58 = 16,        // a word byte outside the base58 alphabet ('0', 'O', 'I', 'l', '_')
  kTrigger = 32,       // '@', '+', ':'
  kWord = 64,          // any word byte (letter, digit, '_')
  kInteresting = 128,  // where the scanner stops: a digit or a trigger
};
constexpr std::uint8_t kWordMask = kWord;

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = kDigit;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = static_cast<std::uint8_t>(kLetter | (c > 'f' ? kNonHex : 0));
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = static_cast<std::uint8_t>(kLetter | (c > 'F' ? kNonHex : 0));
  t['_'] = kUnder | kNonHex | kNonB58;
  t['0'] |= kNonB58;
  t['O'] |= kNonB58;
  t['I'] |= kNonB58;
  t['l'] |= kNonB58;
  for (auto& c : t)
    if (c & (kLetter | kDigit | kUnder)) c |= kWord;
  t['@'] = t['+'] = t[':'] = kTrigger;
  for (auto& c : t)
    if (c & (kDigit | kTrigger)) c |= kInteresting;
  return t;
}
inline constexpr std::array<std::uint8_t, 256> kClass = make_classes();

constexpr bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(unsigned char c) noexcept { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
constexpr bool is_alnum(unsigned char c) noexcept { return is_digit(c) || is_alpha(c); }
constexpr bool is_word(unsigned char c) noexcept { return (kClass[c] & kWordMask) != 0; }
constexpr bool is_hex(unsigned char c) noexcept {
  return (kClass[c] & (kLetter | kDigit)) && !(kClass[c] & kNonHex);
}
constexpr unsigned char lower(unsigned char c) noexcept { return (c >= 'A' && c <= 'Z') ? c | 0x20 : c; }

// ---- validators (pure functions on already-extracted characters) ----

inline bool luhn_ok(const char* d, int len) noexcept {
  int sum = 0;
  bool dbl = false;
  for (int k = len - 1; k >= 0; --k) {
    int v = d[k] - '0';
    if (dbl) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

/// The value of the first n digits; saturates at 100'000'000 (callers compare with smaller bounds), so a long digit
/// run (a date whose year has a dozen digits) cannot overflow.
inline int prefix_value(const char* d, int n) noexcept {
  constexpr int kCap = 100000000;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    v = v * 10 + (d[k] - '0');
    if (v >= kCap) return kCap;
  }
  return v;
}

/// Issuer identification: the prefix ranges and lengths of the major networks.
inline bool card_issuer_ok(const char* d, int len) noexcept {
  const int p2 = prefix_value(d, 2), p3 = prefix_value(d, 3), p4 = prefix_value(d, 4),
            p6 = prefix_value(d, 6);
  if (d[0] == '4') return len == 13 || len == 16 || len == 19;                 // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return len == 16;  // Mastercard
  if (p2 == 34 || p2 == 37) return len == 15;                                  // Amex
  const bool long_ok = len >= 16 && len <= 19;
  if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65) return long_ok;          // Discover
  if (p6 >= 622126 && p6 <= 622925) return long_ok;                                // Discover/UnionPay
  if (p4 >= 3528 && p4 <= 3589) return long_ok;                                    // JCB
  if ((p3 >= 300 && p3 <= 305) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39)  // Diners
    return len >= 14 && len <= 19;
  if (p2 == 62) return long_ok;  // UnionPay
  switch (p4) {                  // Maestro
    case 5018:
    case 5020:
    case 5038:
    case 5893:
    case 6304:
    case 6759:
    case 6761:
    case 6762:
    case 6763:
      return len >= 13 && len <= 19;
    default:
      return false;
  }
}

inline bool card_ok(const char* d, int len) noexcept {
  return len >= 13 && len <= 19 && card_issuer_ok(d, len) && luhn_ok(d, len);
}

/// US SSN ranges: area 001-899 except 666, group 01-99, serial 0001-9999.
inline bool ssn_ok(int area, int group, int serial) noexcept {
  return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

/// IBAN length per country (SWIFT IBAN Registry); 0 when the country has no IBAN.
inline int iban_length(unsigned char a, unsigned char b) noexcept {
  struct Entry {
    char cc[3];
    int len;
  };
  static constexpr Entry kTable[] = {
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
      {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
      {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
      {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
      {"GT", 28}, {"HN", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26},
      {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20},
      {"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20},
      {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
      {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24},
      {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25},
      {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
      {"YE", 30},
  };
  const char A = static_cast<char>(a & ~0x20), B = static_cast<char>(b & ~0x20);
  for (const Entry& e : kTable)
    if (e.cc[0] == A && e.cc[1] == B) return e.len;
  return 0;
}

/// ISO 13616 mod-97 over the rearranged IBAN (letters A=10 ... Z=35, case-insensitive).
inline bool iban_mod97_ok(const char* s, int len) noexcept {
  int r = 0;
  for (int q = 0; q < len; ++q) {
    const int k = q + 4 < len ? q + 4 : q + 4 - len;  // characters 4.. first, then 0..3 (no division)
    const unsigned char c = static_cast<unsigned char>(s[k]);
    if (is_digit(c))
      r = (r * 10 + (c - '0')) % 97;
    else
      r = (r * 100 + (lower(c) - 'a' + 10)) % 97;
  }
  return r == 1;
}

constexpr std::array<std::int8_t, 256> make_base58() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  constexpr char kAlphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  for (int k = 0; k < 58; ++k) t[static_cast<unsigned char>(kAlphabet[k])] = static_cast<std::int8_t>(k);
  return t;
}
inline constexpr std::array<std::int8_t, 256> kBase58 = make_base58();
inline int base58_value(unsigned char c) noexcept { return kBase58[c]; }

/// Base58check P2PKH ('1', version 0x00) or P2SH ('3', version 0x05): 25 bytes whose last 4 are the first
/// 4 of SHA-256(SHA-256(first 21)).
inline bool base58check_ok(const unsigned char* s, std::size_t len) {
  // The number in 7 32-bit limbs (big-endian limb order); it must fit in 200 bits (25 bytes).
  std::uint32_t limbs[7] = {};
  std::size_t ones = 0;
  while (ones < len && s[ones] == '1') ++ones;
  for (std::size_t k = 0; k < len; ++k) {
    const int v = base58_value(s[k]);
    if (v < 0) return false;
    std::uint64_t carry = static_cast<std::uint64_t>(v);
    for (int b = 6; b >= 0; --b) {
      carry += 58u * static_cast<std::uint64_t>(limbs[b]);
      limbs[b] = static_cast<std::uint32_t>(carry);
      carry >>= 32;
    }
    if (carry != 0) return false;
  }
  if (limbs[0] >> 8 != 0) return false;  // more than 25 bytes
  std::uint8_t buf[25];
  buf[0] = static_cast<std::uint8_t>(limbs[0]);
  for (int b = 1; b < 7; ++b)
    for (int q = 0; q < 4; ++q)
      buf[1 + (b - 1) * 4 + q] = static_cast<std::uint8_t>(limbs[b] >> (24 - 8 * q));
  std::size_t zeros = 0;
  while (zeros < 25 && buf[zeros] == 0) ++zeros;
  if (zeros != ones) return false;  // leading '1's must be exactly the leading zero bytes
  if (!((s[0] == '1' && buf[0] == 0x00) || (s[0] == '3' && buf[0] == 0x05))) return false;
  try {
    const Hash h1 = detail::sha256(buf, 21);
    const Hash h2 = detail::sha256(h1.data(), h1.size());
    return std::memcmp(h2.data(), buf + 21, 4) == 0;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception&) {
    return false;  // OpenSSL failure: not validated, so not reported as a checksum match
  }
}

inline std::uint32_t bech32_polymod_step(std::uint32_t chk, std::uint32_t v) noexcept {
  static constexpr std::uint32_t kGen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  const std::uint32_t top = chk >> 25;
  chk = ((chk & 0x1ffffff) << 5) ^ v;
  for (int k = 0; k < 5; ++k)
    if ((top >> k) & 1) chk ^= kGen[k];
  return chk;
}

/// A segwit address "bc1..." (BIP 173 bech32 for witness v0, BIP 350 bech32m for v1-16), one case.
inline bool bech32_segwit_ok(const unsigned char* s, std::size_t len) noexcept {
  static constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
  if (len < 14 || len > 74) return false;
  bool has_lower = false, has_upper = false;
  for (std::size_t k = 0; k < len; ++k) {
    has_lower |= (s[k] >= 'a' && s[k] <= 'z');
    has_upper |= (s[k] >= 'A' && s[k] <= 'Z');
  }
  if (has_lower && has_upper) return false;
  // hrp "bc", expanded: high bits, 0, low bits.
  std::uint32_t chk = 1;
  chk = bech32_polymod_step(chk, 'b' >> 5);
  chk = bech32_polymod_step(chk, 'c' >> 5);
  chk = bech32_polymod_step(chk, 0);
  chk = bech32_polymod_step(chk, 'b' & 31);
  chk = bech32_polymod_step(chk, 'c' & 31);
  std::uint8_t data[74];
  const std::size_t dlen = len - 3;
  for (std::size_t k = 0; k < dlen; ++k) {
    const char* hit = static_cast<const char*>(std::memchr(kCharset, lower(s[3 + k]), 32));
    if (hit == nullptr) return false;
    data[k] = static_cast<std::uint8_t>(hit - kCharset);
    chk = bech32_polymod_step(chk, data[k]);
  }
  const unsigned version = data[0];
  if (version > 16) return false;
  if (chk != (version == 0 ? 1u : 0x2bc830a3u)) return false;
  // Witness program: the 5-bit groups between version and checksum regrouped to bytes, no padding.
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t prog = 0;
  for (std::size_t k = 1; k + 6 < dlen; ++k) {
    acc = (acc << 5) | data[k];
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      ++prog;
    }
  }
  if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0) return false;
  if (prog < 2 || prog > 40) return false;
  return version != 0 || prog == 20 || prog == 32;
}

inline bool leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
inline bool date_ok(int y, int m, int d) noexcept {
  static constexpr int kDays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 || d > kDays[m - 1]) return false;
  return !(m == 2 && d == 29 && !leap(y));
}

/// Month names (English, plus the ASCII-spelled German and French ones) and their 3-letter abbreviations.
/// Returns 1-12, or 0. Called on the word before every small number, so it rejects by first letter first.
inline int month_number(const unsigned char* s, std::size_t len) noexcept {
  struct Entry {
    std::string_view name;
    int month;
  };
  static constexpr Entry kJ[] = {{"january", 1}, {"jan", 1}, {"januar", 1}, {"janvier", 1},
                                 {"june", 6},    {"jun", 6}, {"juni", 6},   {"juin", 6},
                                 {"july", 7},    {"jul", 7}, {"juli", 7},   {"juillet", 7}};
  static constexpr Entry kF[] = {{"february", 2}, {"feb", 2}, {"februar", 2}};
  static constexpr Entry kM[] = {{"march", 3}, {"mar", 3}, {"mars", 3}, {"may", 5}, {"mai", 5}};
  static constexpr Entry kA[] = {{"april", 4}, {"apr", 4}, {"avril", 4}, {"august", 8}, {"aug", 8}};
  static constexpr Entry kS[] = {{"september", 9}, {"sep", 9}, {"sept", 9}, {"septembre", 9}};
  static constexpr Entry kO[] = {{"october", 10}, {"oct", 10}, {"oktober", 10}, {"octobre", 10}};
  static constexpr Entry kN[] = {{"november", 11}, {"nov", 11}, {"novembre", 11}};
  static constexpr Entry kD[] = {{"december", 12}, {"dec", 12}, {"dezember", 12}};
  if (len < 3 || len > 9) return 0;
  const Entry* first = nullptr;
  std::size_t count = 0;
  switch (lower(s[0])) {
    case 'j':
      first = kJ, count = std::size(kJ);
      break;
    case 'f':
      first = kF, count = std::size(kF);
      break;
    case 'm':
      first = kM, count = std::size(kM);
      break;
    case 'a':
      first = kA, count = std::size(kA);
      break;
    case 's':
      first = kS, count = std::size(kS);
      break;
    case 'o':
      first = kO, count = std::size(kO);
      break;
    case 'n':
      first = kN, count = std::size(kN);
      break;
    case 'd':
      first = kD, count = std::size(kD);
      break;
    default:
      return 0;
  }
  for (std::size_t e = 0; e < count; ++e) {
    const std::string_view name = first[e].name;
    if (name.size() != len) continue;
    std::size_t k = 1;
    while (k < len && lower(s[k]) == static_cast<unsigned char>(name[k])) ++k;
    if (k == len) return first[e].month;
  }
  return 0;
}

enum class Ctx { phone, ssn, dob };

// Confidence of each kind of match (docs/privacy.md §3).
constexpr float kConfChecksum = 1.0f;  // card, IBAN, bitcoin
constexpr float kConfEmail = 0.95f;
constexpr float kConfPhoneIntlKnown = 0.9f;
constexpr float kConfPhoneIntl = 0.75f;
constexpr float kConfPhoneUsParen = 0.85f;
constexpr float kConfPhoneNational = 0.8f;
constexpr float kConfPhoneTrunk = 0.75f;
constexpr float kConfWeak = 0.6f;  // bare digits with a context word
constexpr float kConfSsnDashed = 0.85f;
constexpr float kConfSsnSpaced = 0.7f;
constexpr float kConfSsnBare = 0.7f;
constexpr float kConfContextBonus = 0.1f;  // an SSN format with "ssn"/"social security" nearby
constexpr float kConfIp = 0.9f;
constexpr float kConfEthereum = 0.8f;
constexpr float kConfDob = 0.85f;
constexpr float kConfPatient = 0.8f;

// How far back (bytes) context words are looked for, and how far forward the bounded parsers may look.
constexpr std::size_t kContextWindow = 40;

class Scanner {
 public:
  Scanner(std::string_view text, DetectorMask enabled, std::vector<Match>& out) noexcept
      : p_(reinterpret_cast<const unsigned char*>(text.data())), n_(text.size()), en_(enabled), out_(out) {}

  /// Every match starts at, or is found from, a digit or one of '@' '+' ':' (see next_interesting): runs of
  /// letters, spaces and punctuation are skipped 16 bytes at a time. Context words, local parts of emails,
  /// month names and hex groups of letters are reached by bounded look-backs from there.
  void run() {
    std::size_t i = 0, done = 0;  // bytes before `done` are handled
    for (;;) {
      i = next_interesting(i);
      if (i >= n_) break;
      if (!is_digit(p_[i])) {
        on_trigger(i);
        done = ++i;
        continue;
      }
      // The word run holding this digit: back over the letters skipped since `done`, then forward.
      std::size_t s = i;
      while (s > done && is_word(p_[s - 1])) --s;
      std::uint8_t flags = 0;
      std::size_t j = s;
      while (j < n_) {
        const std::uint8_t d = kClass[p_[j]];
        if (!(d & kWord)) break;
        flags |= d;
        ++j;
      }
      on_run(s, j, flags);
      // The all-digit runs glued to this one by '.', '-' or '/' ("1.2", "2024-05-01", "v2.5.5") cannot start
      // a match (glued_before): take them here without a dispatch.
      while (j + 1 < n_ && (p_[j] == '.' || p_[j] == '-' || p_[j] == '/') && is_digit(p_[j + 1]) &&
             is_digit(p_[j - 1])) {
        std::size_t k = j + 1;
        while (k < n_ && is_digit(p_[k])) ++k;
        if (k < n_ && is_word(p_[k])) break;  // a mixed run: dispatch it normally
        j = k;
      }
      done = i = j;
    }
  }

  /// The first position >= i holding a digit, '@', '+' or ':' (n_ if none).
  std::size_t next_interesting(std::size_t i) const noexcept {
#if defined(__SSE2__)
    const __m128i zero_char = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9), at_sign = _mm_set1_epi8('@'),
                  plus = _mm_set1_epi8('+'), colon = _mm_set1_epi8(':');
    while (i + 16 <= n_) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_ + i));
      const __m128i t = _mm_sub_epi8(v, zero_char);
      __m128i hit = _mm_cmpeq_epi8(_mm_min_epu8(t, nine), t);  // unsigned (c - '0') <= 9
      hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, at_sign));
      hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, plus));
      hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, colon));
      const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
      if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(mask));
      i += 16;
    }
#endif
    while (i < n_ && !(kClass[p_[i]] & kInteresting)) ++i;
    return i;
  }

 private:
  const unsigned char* p_;
  std::size_t n_;
  DetectorMask en_;
  std::vector<Match>& out_;
  // End of the last match of a kind: a detector does not start a new match inside its own previous one, and
  // no numeric detector starts inside a checksum-validated match (card, IBAN, crypto address).
  std::size_t strong_end_ = 0, phone_end_ = 0, ssn_end_ = 0, ip_end_ = 0, dob_end_ = 0, email_end_ = 0,
              pid_end_ = 0;
  // patient_words(): where its search ended, and whether it found a trigram.
  bool pid_words_ = false;
  std::size_t pid_searched_ = 0;

  bool on(Detector d) const noexcept { return (en_ & mask_of(d)) != 0; }
  unsigned char at(std::size_t i) const noexcept { return i < n_ ? p_[i] : 0; }

  void emit(std::size_t b, std::size_t e, Detector d, float conf) {
    out_.push_back(Match{b, e, d, conf > 1.0f ? 1.0f : conf});
  }

  /// Consecutive digits at i, at most `cap` counted (callers compare against small exact lengths).
  std::size_t digits(std::size_t i, std::size_t cap = 20) const noexcept {
    std::size_t k = 0;
    while (k <= cap && is_digit(at(i + k))) ++k;
    return k;
  }
  /// The number at i continues a longer dotted/dashed/slashed number ("1.2.3.4.5" at "2").
  bool glued_before(std::size_t i) const noexcept {
    if (i < 2) return false;
    const unsigned char c = p_[i - 1];
    return (c == '.' || c == '-' || c == '/') && is_digit(p_[i - 2]);
  }
  /// What follows position e continues the token: a word byte, or one of `seps` followed by a digit.
  bool glued_after(std::size_t e, const char* seps) const noexcept {
    const unsigned char c = at(e);
    if (is_word(c)) return true;
    return c != 0 && std::strchr(seps, c) != nullptr && is_digit(at(e + 1));
  }
  bool word_is(std::size_t b, std::size_t e, std::string_view w) const noexcept {
    if (e - b != w.size()) return false;
    for (std::size_t k = 0; k < w.size(); ++k)
      if (lower(p_[b + k]) != static_cast<unsigned char>(w[k])) return false;
    return true;
  }

  /// The word right before i (separated only by up to 3 of " :=#\t") is one of `words`. Used for negative
  /// context: "seed 4111111111111111" is a Fooocus seed, "version 1.2.3.4" a version.
  template <std::size_t N>
  bool preceded_by(std::size_t i, const std::string_view (&words)[N]) const noexcept {
    std::size_t k = i, skipped = 0;
    while (k > 0 && skipped < 3) {
      const unsigned char c = p_[k - 1];
      if (c != ' ' && c != ':' && c != '=' && c != '#' && c != '\t') break;
      --k;
      ++skipped;
    }
    const std::size_t e = k;
    while (k > 0 && e - k < 10 && is_alnum(p_[k - 1])) --k;
    if (k > 0 && is_word(p_[k - 1])) return false;
    for (std::string_view w : words)
      if (word_is(k, e, w)) return true;
    return false;
  }
  bool preceded_by_seed(std::size_t i) const noexcept {
    static constexpr std::string_view kSeed[] = {"seed", "seeds"};
    return preceded_by(i, kSeed);
  }

  bool context_word(Ctx kind, std::size_t b, std::size_t e, std::size_t nb, std::size_t ne) const noexcept {
    switch (kind) {
      case Ctx::phone: {
        static constexpr std::string_view kWords[] = {
            "phone", "phones", "telephone", "tel",      "mobile",  "mob",     "cell",  "cellphone", "call",
            "fax",   "sms",    "ph",        "whatsapp", "contact", "telefon", "handy", "telefono"};
        for (std::string_view w : kWords)
          if (word_is(b, e, w)) return true;
        return false;
      }
      case Ctx::ssn:
        if (word_is(b, e, "ssn") || word_is(b, e, "ssns")) return true;
        // "social security": this word is "social", the one after it "security".
        return word_is(b, e, "social") && ne > nb && word_is(nb, ne, "security");
      case Ctx::dob: {
        static constexpr std::string_view kWords[] = {
            "dob", "birth",        "birthdate",  "birthday", "born",   "geb",        "geboren",
            "nee", "geburtsdatum", "geburtstag", "nacido",   "nacida", "nacimiento",
        };
        for (std::string_view w : kWords)
          if (word_is(b, e, w)) return true;
        // "D.O.B.": the last letter of a dotted abbreviation.
        return e == b + 1 && lower(p_[b]) == 'b' && b >= 4 && p_[b - 1] == '.' && lower(p_[b - 2]) == 'o' &&
               p_[b - 3] == '.' && lower(p_[b - 4]) == 'd' &&
               (b == 4 || (!is_word(p_[b - 5]) && p_[b - 5] != '.'));
      }
    }
    return false;
  }

  /// A context word of `kind`, as a whole word, within kContextWindow bytes before s.
  bool has_context(std::size_t s, Ctx kind) const noexcept {
    const std::size_t lo = s > kContextWindow ? s - kContextWindow : 0;
    std::size_t k = s, nb = 0, ne = 0;
    while (k > lo) {
      while (k > lo && !is_alnum(p_[k - 1])) {
        const unsigned char c = p_[k - 1];
        if (c == ';' || c == '\n' || c == '|') return false;  // the context ends with the clause
        --k;
      }
      if (k == lo) break;
      const std::size_t e = k;
      bool digit = false;
      while (k > lo && is_alnum(p_[k - 1])) digit |= is_digit(p_[--k]);
      if (k == lo && k > 0 && is_alnum(p_[k - 1])) break;  // a word cut by the window
      if (digit) break;  // another number in between: the context word belongs to that one
      // '_' glues words ("my_phone" is not "phone"), UTF-8 letters do not (they are boundaries).
      const bool whole = (k == 0 || p_[k - 1] != '_') && at(e) != '_';
      if (whole && context_word(kind, k, e, nb, ne)) return true;
      nb = k;
      ne = e;
    }
    // "né" / "née" (UTF-8 é = C3 A9, É = C3 89), from where the word scan stopped.
    if (kind == Ctx::dob) {
      for (std::size_t q = k; q + 3 <= s; ++q) {
        if (lower(p_[q]) != 'n' || p_[q + 1] != 0xC3 || (p_[q + 2] != 0xA9 && p_[q + 2] != 0x89)) continue;
        if (q > 0 && is_word(p_[q - 1])) continue;
        std::size_t e = q + 3;
        if (lower(at(e)) == 'e') ++e;
        if (!is_word(at(e))) return true;
      }
    }
    return false;
  }

  // ---- dispatch ----

  void on_trigger(std::size_t k) {
    switch (p_[k]) {
      case '@':
        if (on(Detector::email)) try_email(k);
        break;
      case '+':
        if (on(Detector::phone)) try_phone_intl(k);
        break;
      case ':': {
        if (!on(Detector::ipv6) || k < ip_end_) break;
        // "::1..." starts here; "dead:beef::..." started at a group of hex letters just before (a group
        // with a digit in it was tried by on_run).
        std::size_t r = k;
        while (r > 0 && k - r <= 4 && is_word(p_[r - 1])) --r;
        if (r == k) {
          const unsigned char prev = k > 0 ? p_[k - 1] : 0;
          if (at(k + 1) == ':' && prev != ':' && prev != '.') try_ipv6(k);
          break;
        }
        if (k - r > 4 || (r > 0 && (is_word(p_[r - 1]) || p_[r - 1] == ':' || p_[r - 1] == '.'))) break;
        bool letters_only_hex = true;
        for (std::size_t q = r; q < k; ++q)
          letters_only_hex = letters_only_hex && is_hex(p_[q]) && !is_digit(p_[q]);
        if (letters_only_hex) try_ipv6(r);
        break;
      }
      default:
        break;
    }
  }

  // Inlined into run(): it runs for every word run holding a digit (about a dozen per prompt).
  [[gnu::always_inline]] void on_run(std::size_t i, std::size_t j, std::uint8_t flags) {
    const std::size_t len = j - i;
    const unsigned char c0 = p_[i];
    const unsigned char prev = i > 0 ? p_[i - 1] : 0;
    if (on(Detector::ipv6) && len <= 4 && at(j) == ':' && !(flags & kNonHex) && i >= ip_end_ && prev != ':' &&
        prev != '.')
      try_ipv6(i);
    // An identifier has at least 3 digits; the ones with fewer than 3 characters in this run ("A1-B2-C3") are
    // not looked for, which keeps the short numbers of a prompt ("1.2", "8k") cheap.
    if (len >= 3 && on(Detector::patient_id) && i >= pid_end_ && patient_words(i)) try_patient(i);
    if (is_digit(c0)) {
      if (!(flags & (kLetter | kUnder))) {
        on_digit_run(i, j);
      } else if (c0 == '0' && (at(i + 1) | 0x20) == 'x') {
        if (on(Detector::ethereum_address) && len == 42) try_ethereum(i);
      } else if (on(Detector::date_of_birth) && i >= dob_end_ && !glued_before(i)) {
        // "23rd April 1990": a day with an ordinal suffix.
        const std::size_t dd = digits(i, 2);
        if (dd >= 1 && dd <= 2 && len == dd + 2) {
          const unsigned char a = lower(p_[i + dd]), b = lower(p_[i + dd + 1]);
          if ((a == 's' && b == 't') || (a == 'n' && b == 'd') || (a == 'r' && b == 'd') ||
              (a == 't' && b == 'h'))
            try_date_words(i, i + dd, j);
        }
      }
    } else if (len >= 4 && is_alpha(p_[i + 1]) && is_digit(p_[i + 2]) && is_digit(p_[i + 3])) {
      if (on(Detector::iban) && i >= strong_end_) try_iban(i, j);
    } else if ((c0 | 0x20) == 'b' && (p_[i + 1] | 0x20) == 'c' && p_[i + 2] == '1') {
      if (on(Detector::bitcoin_address) && len >= 14 && bech32_segwit_ok(p_ + i, len)) {
        emit(i, j, Detector::bitcoin_address, kConfChecksum);
        strong_end_ = j;
      }
    }
    if ((c0 == '1' || c0 == '3') && len >= 26 && len <= 35 && !(flags & kNonB58) &&
        on(Detector::bitcoin_address) && i >= strong_end_ && base58check_ok(p_ + i, len)) {
      emit(i, j, Detector::bitcoin_address, kConfChecksum);
      strong_end_ = j;
    }
  }

  void on_digit_run(std::size_t i, std::size_t j) {
    const std::size_t len = j - i;
    if (glued_before(i)) return;
    if (i > 0 && p_[i - 1] == '(' && on(Detector::phone)) try_phone_paren(i - 1);
    if (len < 9) {
      // A short number goes on only with a separator some detector below needs: "1.2)", "30)", "0.5>" stop.
      const unsigned char c = at(j);
      if (c == '.') {
        const std::size_t d = digits(j + 1, 4);
        if (at(j + 1) != ' ' && (d == 0 || at(j + 1 + d) != '.')) return;
      } else if (c != ' ' && c != '-' && c != '/' && c != ',') {
        return;
      }
    }
    if (on(Detector::credit_card) && i >= strong_end_) try_card(i, j);
    if (i < strong_end_) return;
    if (on(Detector::ssn) && i >= ssn_end_) try_ssn(i, j);
    if (on(Detector::phone) && i >= phone_end_) try_phone_national(i, j);
    if (on(Detector::ipv4) && len <= 3 && at(j) == '.' && i >= ip_end_) try_ipv4(i);
    if (on(Detector::date_of_birth) && i >= dob_end_) try_date_numeric(i, j);
  }

  // ---- email ----

  static bool is_local_char(unsigned char c) noexcept {
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
  }

  void try_email(std::size_t k) {
    if (k < email_end_) return;
    std::size_t b = k;
    while (b > 0 && k - b <= 64 && is_local_char(p_[b - 1])) --b;
    if (k - b > 64) return;  // local part longer than RFC 5321 allows, or no boundary before it
    while (b < k && (p_[b] == '.' || p_[b] == '+' || p_[b] == '-')) ++b;
    if (b == k || p_[k - 1] == '.') return;
    for (std::size_t q = b; q + 1 < k; ++q)
      if (p_[q] == '.' && p_[q + 1] == '.') return;
    // "scheme://user:password@host": credentials in a URL (url_credentials), not an address.
    if (b > 0 && p_[b - 1] == ':') {
      for (std::size_t q = b - 1; q >= 3 && b - q < 128 && p_[q - 1] > ' ' && p_[q - 1] < 0x80; --q)
        if (p_[q - 1] == '/' && p_[q - 2] == '/' && p_[q - 3] == ':') return;
    }
    std::size_t pos = k + 1, labels = 0, last_b = pos;
    for (;;) {
      const std::size_t s = pos;
      while (pos - s <= 63 && (is_alnum(at(pos)) || at(pos) == '-')) ++pos;
      const std::size_t ll = pos - s;
      if (ll == 0 || ll > 63 || p_[s] == '-' || p_[pos - 1] == '-') return;
      ++labels;
      last_b = s;
      if (pos - (k + 1) > 253) return;
      if (at(pos) == '.' && is_alnum(at(pos + 1))) {
        ++pos;
        continue;
      }
      break;
    }
    if (labels < 2 || at(pos) == '_') return;
    // Top-level domain: letters only (2-63), or an IDN "xn--" label.
    const std::size_t tl = pos - last_b;
    bool tld_ok = tl >= 2;
    if (tl >= 5 && word_is(last_b, last_b + 4, "xn--")) {
      tld_ok = true;
    } else {
      for (std::size_t q = last_b; q < pos && tld_ok; ++q) tld_ok = is_alpha(p_[q]);
    }
    if (!tld_ok) return;
    // File names shaped like addresses ("icon@2x.png", "lora@v2.safetensors"): these extensions are no TLD.
    static constexpr std::string_view kFileExtensions[] = {
        "png",  "jpg",         "jpeg", "gif", "webp", "bmp", "tif",  "tiff", "svg", "psd", "heic",
        "avif", "safetensors", "ckpt", "pth", "onnx", "bin", "json", "yaml", "yml", "txt"};
    for (std::string_view x : kFileExtensions)
      if (word_is(last_b, pos, x)) return;
    emit(b, pos, Detector::email, kConfEmail);
    email_end_ = pos;
  }

  // ---- phone ----

  /// "+<country code> <groups>": digits grouped by single spaces, dashes or dots, one group may be in
  /// parentheses, "(0)" after the country code is the ignored trunk prefix. The longest prefix of whole
  /// groups with a plausible length for its country wins.
  void try_phone_intl(std::size_t k) {
    if (k < phone_end_ || k < strong_end_) return;
    if (k > 0 && (is_word(p_[k - 1]) || p_[k - 1] == '+')) return;
    if (!is_digit(at(k + 1))) return;
    char d[20];
    int nd = 0;
    std::size_t ends[10];
    int nd_at[10];
    int groups = 0;
    std::size_t pos = k + 1;
    bool paren_used = false;
    for (;;) {
      // One group, possibly "(ddd)".
      bool paren = false;
      if (at(pos) == '(') {
        if (paren_used || groups == 0) break;
        paren = true;
        paren_used = true;
        ++pos;
      }
      const std::size_t g = digits(pos, 15);
      if (g == 0 || nd + static_cast<int>(g) > 17) break;
      const bool trunk_zero = paren && groups == 1 && g == 1 && p_[pos] == '0';
      if (!trunk_zero)
        for (std::size_t q = 0; q < g; ++q) d[nd++] = static_cast<char>(p_[pos + q]);
      pos += g;
      if (paren) {
        if (at(pos) != ')') break;
        ++pos;
      }
      ends[groups] = pos;
      nd_at[groups] = nd;
      ++groups;
      if (groups == 10) break;
      // A separator: one of " -." (or none before/after a parenthesised group).
      const unsigned char c = at(pos);
      if ((c == ' ' || c == '-' || c == '.') &&
          (is_digit(at(pos + 1)) || (at(pos + 1) == '(' && !paren_used))) {
        ++pos;
      } else if (c == '(' && !paren_used) {
        // "+44(0)20...": no separator before the parenthesis.
      } else if (paren && is_digit(c)) {
        // "(0)20": no separator after it.
      } else {
        break;
      }
    }
    for (int gi = groups - 1; gi >= 0; --gi) {
      const std::size_t e = ends[gi];
      if (glued_after(e, ".-/")) continue;
      const float conf = intl_plausible(d, nd_at[gi]);
      if (conf > 0) {
        emit(k, e, Detector::phone, conf);
        phone_end_ = e;
        return;
      }
    }
  }

  /// Plausible E.164 length for the country codes we know, 10-15 digits otherwise; 0 if implausible.
  static float intl_plausible(const char* d, int m) noexcept {
    if (m < 8) return 0;
    if (d[0] == '1') return (m == 11 && d[1] >= '2') ? kConfPhoneIntlKnown : 0;  // NANP: 1 + NXX NXX XXXX
    if (d[0] == '4' && d[1] == '4')
      return (m >= 11 && m <= 12 && d[2] != '0') ? kConfPhoneIntlKnown : 0;  // UK
    if (d[0] == '4' && d[1] == '9')
      return (m >= 10 && m <= 15 && d[2] != '0') ? kConfPhoneIntlKnown : 0;                     // DE
    if (d[0] == '3' && d[1] == '3') return (m == 11 && d[2] != '0') ? kConfPhoneIntlKnown : 0;  // FR
    if (d[0] == '9' && d[1] == '1') return (m == 12 && d[2] != '0') ? kConfPhoneIntlKnown : 0;  // IN
    if (d[0] == '0') return 0;  // no country code starts with 0
    return (m >= 10 && m <= 15) ? kConfPhoneIntl : 0;
  }

  /// "(555) 123-4567", "(555)123-4567", "(555) 123 4567", "(555) 123.4567".
  void try_phone_paren(std::size_t k) {
    if (k < phone_end_ || k < strong_end_) return;
    if (k > 0 && is_word(p_[k - 1])) return;
    if (digits(k + 1, 3) != 3 || at(k + 1) < '2' || at(k + 4) != ')') return;
    std::size_t pos = k + 5;
    if (at(pos) == ' ') ++pos;
    if (digits(pos, 3) != 3) return;
    pos += 3;
    const unsigned char s = at(pos);
    if (s == '-' || s == '.' || s == ' ') ++pos;
    if (digits(pos, 4) != 4) return;
    pos += 4;
    if (glued_after(pos, ".-/")) return;
    emit(k, pos, Detector::phone, kConfPhoneUsParen);
    phone_end_ = pos;
  }

  /// The number at i follows "+<1-3 digits>" and one separator: the rest of an international number that
  /// try_phone_intl already judged, not a national one ("+1 055 123 4567").
  bool after_country_code(std::size_t i) const noexcept {
    std::size_t k = i;
    if (k > 0 && (p_[k - 1] == ' ' || p_[k - 1] == '-' || p_[k - 1] == '.')) --k;
    std::size_t d = 0;
    while (k > 0 && d < 4 && is_digit(p_[k - 1])) --k, ++d;
    return d >= 1 && d <= 3 && k > 0 && p_[k - 1] == '+';
  }

  void try_phone_national(std::size_t i, std::size_t j) {
    const std::size_t len = j - i;
    if (after_country_code(i)) return;
    const unsigned char sep = at(j);
    const bool sep_ok = (sep == '-' || sep == '.' || sep == ' ') && is_digit(at(j + 1));
    // US "NXX-NXX-XXXX" (dashes, dots or spaces, one kind), optionally "1-" first.
    auto us_at = [&](std::size_t a) -> std::size_t {  // a: start of the area code; returns end or 0
      if (digits(a, 3) != 3 || p_[a] < '2' || at(a + 3) != sep) return 0;
      if (digits(a + 4, 3) != 3 || at(a + 7) != sep || digits(a + 8, 4) != 4) return 0;
      return glued_after(a + 12, ".-/") ? 0 : a + 12;
    };
    if (sep_ok && len == 3) {
      if (const std::size_t e = us_at(i)) return emit_phone(i, e, kConfPhoneNational);
    }
    if (sep_ok && len == 1 && p_[i] == '1') {
      if (const std::size_t e = us_at(j + 1)) return emit_phone(i, e, kConfPhoneNational);
    }
    // Trunk-prefix national numbers (UK, DE, FR, IN, ...): "0" + area code (2-6 digits with the 0), then
    // groups of 2-8 digits split by one kind of separator; 10-12 digits in all.
    if (p_[i] == '0' && len >= 2 && len <= 6 && at(i + 1) != '0' &&
        (sep == ' ' || sep == '-' || sep == '.' || sep == '/') && is_digit(at(j + 1))) {
      std::size_t pos = j, total = len, best = 0;
      for (int g = 0; g < 5 && at(pos) == sep; ++g) {
        const std::size_t gl = digits(pos + 1, 9);
        if (gl < 2 || gl > 8 || total + gl > 12) break;
        pos += 1 + gl;
        total += gl;
        if (total >= 10 && !glued_after(pos, ".-/")) best = pos;
      }
      if (best != 0 && !preceded_by_seed(i)) return emit_phone(i, best, kConfPhoneTrunk);
    }
    // Bare digits: a phone only with a phone context word nearby.
    if ((len == 10 && (p_[i] >= '2' || p_[i] == '0')) ||
        (len == 11 && (p_[i] == '0' || (p_[i] == '1' && p_[i + 1] >= '2')))) {
      if (!glued_after(j, ".-/") && !preceded_by_seed(i) && has_context(i, Ctx::phone))
        emit_phone(i, j, kConfWeak);
    }
  }
  void emit_phone(std::size_t b, std::size_t e, float conf) {
    emit(b, e, Detector::phone, conf);
    phone_end_ = e;
  }

  // ---- SSN ----

  void try_ssn(std::size_t i, std::size_t j) {
    const std::size_t len = j - i;
    const unsigned char sep = at(j);
    if (len == 3 && (sep == '-' || sep == ' ') && digits(j + 1, 2) == 2 && at(j + 3) == sep &&
        digits(j + 4, 4) == 4 && !glued_after(j + 8, ".-/")) {
      const int area = prefix_value(reinterpret_cast<const char*>(p_ + i), 3);
      const int group = prefix_value(reinterpret_cast<const char*>(p_ + j + 1), 2);
      const int serial = prefix_value(reinterpret_cast<const char*>(p_ + j + 4), 4);
      if (!ssn_ok(area, group, serial)) return;
      float conf = sep == '-' ? kConfSsnDashed : kConfSsnSpaced;
      if (has_context(i, Ctx::ssn)) conf += kConfContextBonus;
      emit(i, j + 8, Detector::ssn, conf);
      ssn_end_ = j + 8;
      return;
    }
    if (len == 9 && !glued_after(j, ".-/")) {
      const char* d = reinterpret_cast<const char*>(p_ + i);
      if (!ssn_ok(prefix_value(d, 3), prefix_value(d + 3, 2), prefix_value(d + 5, 4))) return;
      if (preceded_by_seed(i) || !has_context(i, Ctx::ssn)) return;
      emit(i, j, Detector::ssn, kConfSsnBare);
      ssn_end_ = j;
    }
  }

  // ---- payment cards ----

  void try_card(std::size_t i, std::size_t j) {
    const std::size_t len = j - i;
    if (len >= 13 && len <= 19) {
      if (glued_after(j, ".")) return;
      if (card_ok(reinterpret_cast<const char*>(p_ + i), static_cast<int>(len)) && !preceded_by_seed(i)) {
        emit(i, j, Detector::credit_card, kConfChecksum);
        strong_end_ = j;
      }
      return;
    }
    // Grouped: "4111 1111 1111 1111", "3782-822463-10005"; one kind of separator.
    const unsigned char sep = at(j);
    if (len != 4 || (sep != ' ' && sep != '-') || !is_digit(at(j + 1))) return;
    char d[24];
    std::memcpy(d, p_ + i, 4);
    int nd = 4;
    int glen[6] = {4};
    std::size_t gend[6] = {j};
    int groups = 1;
    std::size_t pos = j;
    while (groups < 6 && at(pos) == sep && is_digit(at(pos + 1))) {
      const std::size_t g = digits(pos + 1, 7);
      if (g > 6 || nd + static_cast<int>(g) > 19 || glued_after(pos + 1 + g, ".")) break;
      std::memcpy(d + nd, p_ + pos + 1, g);
      nd += static_cast<int>(g);
      pos += 1 + g;
      glen[groups] = static_cast<int>(g);
      gend[groups] = pos;
      ++groups;
    }
    int total = nd;
    for (int gc = groups; gc >= 2; --gc) {
      bool shape = true;
      for (int g = 1; g + 1 < gc; ++g) shape = shape && glen[g] == 4;
      shape = shape && glen[gc - 1] >= 1 && glen[gc - 1] <= 4;
      if (gc == 3 && glen[1] == 6 && (glen[2] == 5 || glen[2] == 4))
        shape = true;  // Amex 4-6-5, Diners 4-6-4
      if (shape && total >= 13 && card_ok(d, total)) {
        emit(i, gend[gc - 1], Detector::credit_card, kConfChecksum);
        strong_end_ = gend[gc - 1];
        return;
      }
      total -= glen[gc - 1];
    }
  }

  // ---- IBAN ----

  void try_iban(std::size_t i, std::size_t j) {
    const int want = iban_length(p_[i], p_[i + 1]);
    if (want == 0) return;
    const std::size_t len = j - i;
    char s[40];
    std::size_t end = 0;
    if (len == static_cast<std::size_t>(want)) {
      std::memcpy(s, p_ + i, len);
      end = j;
    } else if (len == 4 && at(j) == ' ') {
      // Groups of 4 split by single spaces, the last one 1-4 characters.
      std::memcpy(s, p_ + i, 4);
      int total = 4;
      std::size_t pos = j;
      while (total < want && at(pos) == ' ' && is_alnum(at(pos + 1))) {
        std::size_t g = 0;
        while (g <= 4 && is_word(at(pos + 1 + g))) ++g;
        if (g > 4 || (g < 4 && total + static_cast<int>(g) != want)) return;
        for (std::size_t q = 0; q < g; ++q) {
          if (!is_alnum(p_[pos + 1 + q])) return;
          s[total++] = static_cast<char>(p_[pos + 1 + q]);
        }
        pos += 1 + g;
      }
      if (total != want) return;
      end = pos;
    } else {
      return;
    }
    for (int q = 4; q < want; ++q)
      if (!is_alnum(static_cast<unsigned char>(s[q]))) return;
    const int check = (s[2] - '0') * 10 + (s[3] - '0');
    if (check < 2 || check > 98) return;
    if (!iban_mod97_ok(s, want)) return;
    emit(i, end, Detector::iban, kConfChecksum);
    strong_end_ = end;
  }

  // ---- IP addresses ----

  /// Dotted quad at i: four decimal octets 0-255 without leading zeros. Returns the end or 0.
  std::size_t parse_ipv4(std::size_t i) const noexcept {
    std::size_t pos = i;
    for (int o = 0; o < 4; ++o) {
      if (o > 0) {
        if (at(pos) != '.') return 0;
        ++pos;
      }
      const std::size_t g = digits(pos, 3);
      if (g == 0 || g > 3) return 0;
      if (g > 1 && p_[pos] == '0') return 0;  // leading zeros: ambiguous (octal), not accepted
      if (prefix_value(reinterpret_cast<const char*>(p_ + pos), static_cast<int>(g)) > 255) return 0;
      pos += g;
    }
    return pos;
  }

  void try_ipv4(std::size_t i) {
    const std::size_t e = parse_ipv4(i);
    if (e == 0 || glued_after(e, ".")) return;
    static constexpr std::string_view kVersion[] = {"version", "ver", "v", "build", "release", "firmware"};
    if (preceded_by(i, kVersion)) return;
    emit(i, e, Detector::ipv4, kConfIp);
    ip_end_ = e;
  }

  /// IPv6 at s (a hex group or "::"): 8 groups, or fewer with one "::" (at least 2 groups written, so "::",
  /// "::1" and "a::" are not reported), the last 32 bits optionally as a dotted quad.
  void try_ipv6(std::size_t s) {
    std::size_t pos = s;
    int groups = 0;
    bool dbl = false;
    if (at(pos) == ':') {
      dbl = true;
      pos += 2;
    }
    std::size_t end = pos;
    for (;;) {
      std::size_t h = pos;
      while (h - pos < 5 && is_hex(at(h))) ++h;
      const std::size_t hl = h - pos;
      if (hl == 0) break;
      if (hl > 4 || is_word(at(h))) return;
      if (at(h) == '.') {
        const std::size_t e4 = parse_ipv4(pos);
        if (e4 == 0) return;
        groups += 2;
        end = e4;
        break;
      }
      ++groups;
      end = pos = h;
      if (groups > 8) return;
      if (at(pos) != ':') break;
      if (at(pos + 1) == ':') {
        if (dbl) return;
        dbl = true;
        end = pos += 2;
        continue;
      }
      if (!is_hex(at(pos + 1))) break;  // a trailing single ':' is not part of the address
      ++pos;
    }
    const bool valid = dbl ? (groups >= 2 && groups <= 7) : groups == 8;
    if (!valid || glued_after(end, ".")) return;
    emit(s, end, Detector::ipv6, kConfIp);
    ip_end_ = end;
  }

  // ---- crypto addresses ----

  void try_ethereum(std::size_t i) {
    if (i < strong_end_) return;
    for (std::size_t q = i + 2; q < i + 42; ++q)
      if (!is_hex(p_[q])) return;
    // EIP-55 needs Keccak-256, which OpenSSL 3.0's providers do not offer through EVP: the checksum of a
    // mixed-case address is not verified, every form is reported as format-only (docs/privacy.md §3).
    emit(i, i + 42, Detector::ethereum_address, kConfEthereum);
    strong_end_ = i + 42;
  }

  // ---- dates of birth ----

  void emit_dob(std::size_t b, std::size_t e) {
    if (!has_context(b, Ctx::dob)) return;
    emit(b, e, Detector::date_of_birth, kConfDob);
    dob_end_ = e;
  }

  void try_date_numeric(std::size_t i, std::size_t j) {
    const std::size_t len = j - i;
    const unsigned char sep = at(j);
    const char* d = reinterpret_cast<const char*>(p_);
    const std::size_t a = (sep == '-' || sep == '/' || sep == '.') ? digits(j + 1, 2) : 0;
    if (a >= 1 && a <= 2 && at(j + 1 + a) == sep) {
      const std::size_t b0 = j + 2 + a, b = digits(b0, 4);
      const int x = prefix_value(d + i, static_cast<int>(len));
      const int y = prefix_value(d + j + 1, static_cast<int>(a));
      if (len == 4 && b >= 1 && b <= 2) {  // 1990-04-23
        const int z = prefix_value(d + b0, static_cast<int>(b));
        if (date_ok(x, y, z) && !glued_after(b0 + b, "-/.")) emit_dob(i, b0 + b);
      } else if (len <= 2 && b == 4) {  // 23.04.1990, 04/23/1990
        const int z = prefix_value(d + b0, 4);
        if ((date_ok(z, y, x) || date_ok(z, x, y)) && !glued_after(b0 + 4, "-/.")) emit_dob(i, b0 + 4);
      }
      return;
    }
    if (len <= 2) try_date_words(i, j, j);
  }

  /// A day (digits [i, dj), the run ending at j after an ordinal suffix): "23 April 1990", "23. April 1990",
  /// "23rd April, 1990", or with the month before it, "April 23, 1990", "Apr. 23 1990".
  void try_date_words(std::size_t i, std::size_t dj, std::size_t j) {
    const int day = prefix_value(reinterpret_cast<const char*>(p_ + i), static_cast<int>(dj - i));
    auto year_at = [&](std::size_t pos, std::size_t* end) -> int {  // " 1990" or ", 1990"
      if (at(pos) == ',') ++pos;
      if (at(pos) != ' ' || digits(pos + 1, 4) != 4) return 0;
      *end = pos + 5;
      if (glued_after(*end, "-/.")) return 0;
      return prefix_value(reinterpret_cast<const char*>(p_ + pos + 1), 4);
    };
    // Day first.
    std::size_t pos = j;
    if (at(pos) == '.' && j == dj) ++pos;
    if (at(pos) == ' ' && is_alpha(at(pos + 1))) {
      const std::size_t ms = pos + 1;
      std::size_t me = ms;
      while (me - ms <= 9 && is_alpha(at(me))) ++me;
      const int month = is_word(at(me)) ? 0 : month_number(p_ + ms, me - ms);
      if (month != 0) {
        if (at(me) == '.') ++me;
        std::size_t end = 0;
        const int year = year_at(me, &end);
        if (year != 0 && date_ok(year, month, day)) return emit_dob(i, end);
      }
    }
    // Month first: the word before the day.
    if (i >= 2 && p_[i - 1] == ' ') {
      std::size_t me = i - 1;
      if (me > 0 && p_[me - 1] == '.') --me;
      std::size_t ms = me;
      while (ms > 0 && me - ms <= 9 && is_alpha(p_[ms - 1])) --ms;
      if (ms > 0 && is_word(p_[ms - 1])) return;
      const int month = month_number(p_ + ms, me - ms);
      std::size_t end = 0;
      const int year = month != 0 ? year_at(j, &end) : 0;
      if (year != 0 && date_ok(year, month, day)) emit_dob(ms, end);
    }
  }

  // ---- patient identifiers ----

  /// Every context try_patient accepts for the run at i holds "mrn", "patient" or "record" (any case), and that
  /// word starts at most kPatientReach bytes before i: false when none of "mrn", "pat", "rec" (any case) starts
  /// in [i - kPatientReach, i). Searched 16 positions at a time, each position at most once per scan (the runs
  /// come in text order); once one is found, true for every later run (a prefilter may say yes too often).
  static constexpr std::size_t kPatientReach = 64;
  bool patient_words(std::size_t i) noexcept {
    if (!pid_words_ && pid_searched_ < i) pid_words_ = find_patient_trigram(i);
    return pid_words_;
  }
  [[gnu::noinline]] bool find_patient_trigram(std::size_t limit) noexcept {
    std::size_t q = std::max(pid_searched_, limit > kPatientReach ? limit - kPatientReach : 0);
#if defined(__SSE2__)
    const __m128i fold = _mm_set1_epi8(0x20);
    auto eq = [](__m128i x, char ch) { return _mm_cmpeq_epi8(x, _mm_set1_epi8(ch)); };
    for (; q < limit && n_ - q >= 18; q += 16) {
      const __m128i a = _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p_ + q)), fold);
      const __m128i b = _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p_ + q + 1)), fold);
      const __m128i c = _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p_ + q + 2)), fold);
      const __m128i hit = _mm_or_si128(
          _mm_and_si128(_mm_and_si128(eq(a, 'm'), eq(b, 'r')), eq(c, 'n')),
          _mm_or_si128(_mm_and_si128(_mm_and_si128(eq(a, 'p'), eq(b, 'a')), eq(c, 't')),
                       _mm_and_si128(_mm_and_si128(eq(a, 'r'), eq(b, 'e')), eq(c, 'c'))));
      if (_mm_movemask_epi8(hit) != 0) return true;
    }
#endif
    for (; q < limit && q + 3 <= n_; ++q) {
      const unsigned char a = p_[q] | 0x20, b = p_[q + 1] | 0x20, c = p_[q + 2] | 0x20;
      if ((a == 'm' && b == 'r' && c == 'n') || (a == 'p' && b == 'a' && c == 't') ||
          (a == 'r' && b == 'e' && c == 'c'))
        return true;
    }
    pid_searched_ = q;
    return false;
  }

  /// The alphabetic word ending at e (at most 12 letters, a whole word); sets *b. False if none.
  bool word_ending_at(std::size_t e, std::size_t* b) const noexcept {
    std::size_t k = e;
    while (k > 0 && e - k <= 12 && is_alpha(p_[k - 1])) --k;
    if (k == e || e - k > 12 || (k > 0 && is_word(p_[k - 1]))) return false;
    *b = k;
    return true;
  }

  /// An identifier (4-20 of [A-Za-z0-9-], at least 3 digits) holding the digits of the run at i, after
  /// "MRN", "patient id|identifier|number|no|num|nr|#" or "medical record[s] [number|no|num|nr|#]", then up
  /// to 4 of " :#=.-" and an optional "is".
  void try_patient(std::size_t i) {
    // The reach of the context before i (patient_words(i) is true here): i - t <= 20, t - k <= 4,
    // k - b <= 12, "is" and the word before it 13, then up to 2 blanks and a 12-letter word (w2b): i - 63 <= w2b.
    // The identifier around the run.
    std::size_t t = i;
    while (t > 0 && i - t <= 20 && (is_alnum(p_[t - 1]) || p_[t - 1] == '-')) --t;
    while (t < i && p_[t] == '-') ++t;
    if (t > 0 && (is_word(p_[t - 1]) || i - t > 20)) return;
    // The context before it.
    std::size_t k = t;
    bool hash = false;
    for (int q = 0; q < 4 && k > 0; ++q) {
      const unsigned char c = p_[k - 1];
      if (c != ' ' && c != ':' && c != '#' && c != '=' && c != '.' && c != '-' && c != '\t') break;
      hash |= c == '#';
      --k;
    }
    std::size_t b = 0;
    if (!word_ending_at(k, &b)) return;
    if (word_is(b, k, "is")) {
      if (b == 0 || p_[b - 1] != ' ' || !word_ending_at(b - 1, &b)) return;
      k = b;
      while (k < t && is_alpha(p_[k])) ++k;
    }
    bool ok = word_is(b, k, "mrn");
    std::size_t w2b = 0, w2e = b;
    while (w2e > 0 && b - w2e < 2 && p_[w2e - 1] == ' ') --w2e;
    auto prev_is = [&](std::string_view w) {
      return w2e < b && word_ending_at(w2e, &w2b) && word_is(w2b, w2e, w);
    };
    auto record_before = [&](std::size_t rb, std::size_t re) {
      if (!word_is(rb, re, "record") && !word_is(rb, re, "records")) return false;
      std::size_t me = rb, mb = 0;
      while (me > 0 && rb - me < 2 && p_[me - 1] == ' ') --me;
      return me < rb && word_ending_at(me, &mb) && word_is(mb, me, "medical");
    };
    if (!ok && hash) ok = word_is(b, k, "patient") || record_before(b, k);
    if (!ok) {
      static constexpr std::string_view kNumberWords[] = {"id", "identifier", "number", "no", "num", "nr"};
      bool number_word = false;
      for (std::string_view w : kNumberWords) number_word = number_word || word_is(b, k, w);
      if (number_word)
        ok = prev_is("patient") || (w2e < b && word_ending_at(w2e, &w2b) && record_before(w2b, w2e));
    }
    if (!ok) ok = record_before(b, k);  // "medical record: 123456"
    if (!ok) return;
    std::size_t e = t;
    int nd = 0;
    while (e - t <= 20 && (is_alnum(at(e)) || at(e) == '-')) nd += is_digit(p_[e++]);
    while (e > t && p_[e - 1] == '-') --e;
    if (e - t < 4 || e - t > 20 || nd < 3 || is_word(at(e)) || (at(e) == '-' && is_alnum(at(e + 1)))) return;
    emit(t, e, Detector::patient_id, kConfPatient);
    pid_end_ = e;
  }
};

}  // namespace pii_impl

FA_INLINE void scan_pii(std::string_view text, DetectorMask enabled, std::vector<Match>& out) {
  enabled &= kPiiDetectors;
  if (enabled == 0 || text.empty()) return;
  pii_impl::Scanner(text, enabled, out).run();
}

}  // namespace fooocus_audit::detect
