// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/prompt_sanitizer.hpp"
#endif

#include <fcntl.h>
#include <fmt/format.h>
#include <re2/re2.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <iterator>
#include <set>
#include <thread>
#include <unordered_set>
#include <utility>

#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/detail/pii_detectors.hpp"
#include "fooocus_audit/detail/secret_detectors.hpp"
#include "fooocus_audit/detail/segment_store.hpp"
#include "fooocus_audit/detail/utf8.hpp"

namespace fooocus_audit {

namespace sanitizer_impl {

// Labels of the key derivation (docs/privacy.md §5.1).
inline constexpr std::string_view kHkdfSalt = "fooocus-audit/v1/sanitizer";
inline constexpr std::string_view kInfoHash = "prompt-hash";
inline constexpr std::string_view kInfoToken = "token";
inline constexpr std::string_view kInfoSiv = "aes-256-siv";
inline constexpr std::string_view kInfoGcm = "aes-256-gcm";
inline constexpr std::string_view kInfoKid = "kid";
// Associated data of encrypted spans and fields (§5.3, docs/log-format.md §12.1).
inline constexpr std::string_view kSpanAd = "fooocus-audit/v1/span";
inline constexpr std::string_view kFieldAd = "fooocus-audit/v1/fa_enc";
inline constexpr std::uint8_t kSpanAlgSiv = 0x01;
inline constexpr std::uint8_t kSpanAlgGcm = 0x02;
inline constexpr std::size_t kTokenBytes = 10;  // 80 bits -> 16 base32 characters
inline constexpr std::size_t kMaxConfigBytes = 1 << 20;

inline Status bad(std::string msg) { return {Code::invalid_argument, std::move(msg)}; }

// The two lowercase hex digits of every byte.
struct HexPairs {
  char v[256][2];
};
inline constexpr HexPairs kHexPairs = [] {
  HexPairs t{};
  constexpr char kDigits[] = "0123456789abcdef";
  for (int b = 0; b < 256; ++b) {
    t.v[b][0] = kDigits[b >> 4];
    t.v[b][1] = kDigits[b & 15];
  }
  return t;
}();

// No byte >= 0x80 (then the text is valid UTF-8): 16 bytes at a time without a branch per block, the common
// case of prompts; utf8::first_invalid() runs only on the others.
inline bool is_ascii(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
#if defined(__SSE2__)
  if (n >= 16) {
    __m128i acc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16));
    for (; n - i >= 16; i += 16)
      acc = _mm_or_si128(acc, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)));
    return _mm_movemask_epi8(acc) == 0;
  }
#endif
  unsigned char acc = 0;
  for (; i < n; ++i) acc = static_cast<unsigned char>(acc | p[i]);
  return acc < 0x80;
}

inline bool parse_mode(std::string_view s, ReplacementMode* out) {
  for (auto m : {ReplacementMode::label, ReplacementMode::token, ReplacementMode::encrypt})
    if (to_string(m) == s) {
      *out = m;
      return true;
    }
  return false;
}

inline bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 64 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

inline bool valid_type(std::string_view s) {
  if (s.empty() || s.size() > 48) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; });
}

inline std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

inline std::string type_name(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a number";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::object: return "an object";
    default: return "another type";
  }
}

// Member readers: each names the member path in its error.
inline Status want_string(const nlohmann::json& v, const std::string& path, std::string* out) {
  if (!v.is_string()) return bad(fmt::format("{}: must be a string, not {}", path, type_name(v)));
  *out = v.get<std::string>();
  return {};
}

inline Status want_bool(const nlohmann::json& v, const std::string& path, bool* out) {
  if (!v.is_boolean()) return bad(fmt::format("{}: must be true or false, not {}", path, type_name(v)));
  *out = v.get<bool>();
  return {};
}

inline Status want_mode(const nlohmann::json& v, const std::string& path, ReplacementMode* out) {
  std::string s;
  Status st = want_string(v, path, &s);
  if (st && !parse_mode(s, out)) st = bad(fmt::format("{}: must be one of label, token, encrypt", path));
  return st;
}

inline Status want_strings(const nlohmann::json& v, const std::string& path, std::vector<std::string>* out) {
  if (!v.is_array()) return bad(fmt::format("{}: must be an array of strings, not {}", path, type_name(v)));
  out->clear();
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::string s;
    if (Status st = want_string(v[i], fmt::format("{}[{}]", path, i), &s); !st) return st;
    if (s.empty()) return bad(fmt::format("{}[{}]: must not be empty", path, i));
    out->push_back(std::move(s));
  }
  return {};
}

inline Status want_object(const nlohmann::json& v, const std::string& path) {
  if (!v.is_object()) return bad(fmt::format("{}: must be an object, not {}", path, type_name(v)));
  return {};
}

inline Status unknown_member(const std::string& path, const std::string& key) {
  return bad(fmt::format("{}{}{}: unknown member", path, path.empty() ? "" : ".", key));
}

inline Status want_positive(const nlohmann::json& v, const std::string& path, std::uint64_t max,
                            std::uint64_t* out) {
  if (!v.is_number_integer() || (v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() < 1))
    return bad(fmt::format("{}: must be a positive integer", path));
  const std::uint64_t x = v.get<std::uint64_t>();
  if (x < 1 || x > max) return bad(fmt::format("{}: must be between 1 and {}", path, max));
  *out = x;
  return {};
}

// Reads a small regular file (the config or a key file). `secret`: the caller wipes the buffer.
inline Status read_small_file(const std::string& path, std::size_t max, std::string* out, struct stat* st,
                              std::string_view what) {
  out->clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return detail::errno_status(fmt::format("open {} {}", what, path), errno);
  Status s;
  if (::fstat(fd, st) != 0) {
    s = detail::errno_status(fmt::format("stat {} {}", what, path), errno);
  } else if (!S_ISREG(st->st_mode)) {
    s = bad(fmt::format("{} {} is not a regular file", what, path));
  } else if (static_cast<std::uint64_t>(st->st_size) > max) {
    s = bad(fmt::format("{} {} is larger than {} bytes", what, path, max));
  } else {
    out->resize(static_cast<std::size_t>(st->st_size));
    std::size_t n = 0;
    while (n < out->size()) {
      const ssize_t r = ::read(fd, &(*out)[n], out->size() - n);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        s = detail::errno_status(fmt::format("read {} {}", what, path), errno);
        break;
      }
      if (r == 0) break;
      n += static_cast<std::size_t>(r);
    }
    out->resize(n);
  }
  ::close(fd);
  return s;
}

inline void wipe(std::string& s) noexcept {
  if (!s.empty()) detail::secure_wipe(&s[0], s.size());
  s.clear();
}

inline int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

inline std::string base32(const std::uint8_t* p, std::size_t n) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  out.reserve((n * 8 + 4) / 5);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kAlphabet[(acc >> bits) & 31]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (5 - bits)) & 31]);
  return out;
}

inline std::string ad_for_span(std::string_view type) {
  std::string ad(kSpanAd);
  ad.push_back('\0');
  ad.append(type);
  return ad;
}

inline std::string ad_for_field(EncryptionAlgorithm alg, std::string_view kid) {
  std::string ad(kFieldAd);
  ad.push_back('\0');
  ad.append(to_string(alg));
  ad.push_back('\0');
  ad.append(kid);
  return ad;
}

// A detector type's normal form for tokens (docs/privacy.md §5.2).
inline std::string normalize(std::string_view type, std::string_view v) {
  std::string out;
  out.reserve(v.size());
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  if (type == "EMAIL" || type == "IP_ADDRESS") {
    for (char c : v) out.push_back(lower(c));
  } else if (type == "PHONE" || type == "SSN" || type == "CREDIT_CARD") {
    for (char c : v)
      if (c >= '0' && c <= '9') out.push_back(c);
  } else if (type == "IBAN") {
    for (char c : v)
      if (c != ' ' && c != '-') out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  } else if (type == "CRYPTO_ADDRESS") {
    const bool fold = v.size() > 2 && (v.substr(0, 2) == "0x" || v.substr(0, 2) == "0X" ||
                                       lower(v[0]) == 'b' || lower(v[0]) == 't') &&
                      (v.substr(0, 2) == "0x" || v.substr(0, 2) == "0X" || lower(v[2]) == '1');
    for (char c : v) out.push_back(fold ? lower(c) : c);
  } else {
    out.assign(v);
  }
  return out;
}

}  // namespace sanitizer_impl

// ------------------------------------------------------------------------------------------------------------
// TenantKey

FA_INLINE TenantKey::TenantKey(TenantKey&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }

FA_INLINE TenantKey& TenantKey::operator=(TenantKey&& other) noexcept {
  if (this != &other) {
    if (!bytes_.empty()) detail::secure_wipe(bytes_.data(), bytes_.size());
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

FA_INLINE TenantKey::~TenantKey() {
  if (!bytes_.empty()) detail::secure_wipe(bytes_.data(), bytes_.size());
}

FA_INLINE Result<TenantKey> TenantKey::from_bytes(std::string_view bytes) {
  if (bytes.size() < kMinBytes || bytes.size() > kMaxBytes)
    return sanitizer_impl::bad(
        fmt::format("tenant key: must have {} to {} bytes, not {}", kMinBytes, kMaxBytes, bytes.size()));
  TenantKey k;
  k.bytes_.assign(bytes.begin(), bytes.end());
  return k;
}

FA_INLINE Result<TenantKey> TenantKey::generate() {
  TenantKey k;
  k.bytes_.resize(kMinBytes);
  try {
    detail::random_bytes(k.bytes_.data(), k.bytes_.size());
  } catch (const std::exception& e) {
    return Status(Code::internal, e.what());
  }
  return k;
}

FA_INLINE Result<TenantKey> TenantKey::load(const std::string& path) {
  using namespace sanitizer_impl;
  std::string text;
  struct stat st {};
  Status s = read_small_file(path, kMagic.size() + 2 + 2 * kMaxBytes + 1, &text, &st, "tenant key file");
  if (s && (st.st_mode & 077) != 0)
    s = bad(fmt::format("tenant key file {} is accessible to group or others (mode {:04o}): run chmod 600 {}", path,
                        static_cast<unsigned>(st.st_mode & 07777), path));
  TenantKey k;
  if (s) {
    std::string_view t = text;
    if (!t.empty() && t.back() == '\n') t.remove_suffix(1);
    const std::size_t hex_len = t.size() > kMagic.size() + 1 ? t.size() - kMagic.size() - 1 : 0;
    if (t.substr(0, kMagic.size()) != kMagic || t.size() <= kMagic.size() || t[kMagic.size()] != ' ' ||
        hex_len % 2 != 0 || hex_len / 2 < kMinBytes || hex_len / 2 > kMaxBytes) {
      s = bad(fmt::format("tenant key file {}: expected \"{} <lowercase hex of {} to {} bytes>\"", path, kMagic,
                          kMinBytes, kMaxBytes));
    } else {
      k.bytes_.resize(hex_len / 2);
      const char* h = t.data() + kMagic.size() + 1;
      for (std::size_t i = 0; i < k.bytes_.size() && s; ++i) {
        const int hi = hex_digit(h[2 * i]), lo = hex_digit(h[2 * i + 1]);
        if (hi < 0 || lo < 0)
          s = bad(fmt::format("tenant key file {}: the key must be lowercase hexadecimal", path));
        else
          k.bytes_[i] = static_cast<std::uint8_t>(hi * 16 + lo);
      }
    }
  }
  wipe(text);
  if (!s) return s;
  return k;
}

FA_INLINE Status TenantKey::save(const std::string& path) const {
  std::string text(kMagic);
  text.reserve(kMagic.size() + 2 + 2 * bytes_.size());
  text.push_back(' ');
  detail::append_hex(text, bytes_.data(), bytes_.size());
  text.push_back('\n');
  Status s = detail::create_file_exclusive(path, text, 0600, "create tenant key file");
  sanitizer_impl::wipe(text);
  return s;
}

// ------------------------------------------------------------------------------------------------------------
// SanitizerConfig

FA_INLINE detect::DetectorMask SanitizerConfig::enabled_mask() const noexcept {
  detect::DetectorMask m = 0;
  for (std::size_t i = 0; i < detect::kDetectorCount; ++i)
    if (detectors[i].enabled) m |= detect::mask_of(static_cast<detect::Detector>(i));
  return m;
}

FA_INLINE Result<SanitizerConfig> SanitizerConfig::from_json(const nlohmann::json& j) {
  using namespace sanitizer_impl;
  if (!j.is_object()) return bad(fmt::format("configuration: must be a JSON object, not {}", type_name(j)));
  SanitizerConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    Status s;
    if (key == "version") {
      if (!v.is_number_integer() || v.get<std::int64_t>() != 1) s = bad("version: must be 1");
    } else if (key == "default_mode") {
      s = want_mode(v, key, &c.default_mode);
    } else if (key == "detectors") {
      s = want_object(v, key);
      for (auto d = v.begin(); s && d != v.end(); ++d) {
        const std::string path = "detectors." + d.key();
        detect::Detector det{};
        if (!detect::parse_detector(d.key(), &det)) {
          s = bad(fmt::format("{}: unknown detector (docs/privacy.md §3, §4 list them)", path));
          break;
        }
        DetectorSettings& ds = c.detector(det);
        if (d.value().is_boolean()) {
          ds.enabled = d.value().get<bool>();
        } else if (d.value().is_object()) {
          for (auto m = d.value().begin(); s && m != d.value().end(); ++m) {
            if (m.key() == "enabled") {
              s = want_bool(m.value(), path + ".enabled", &ds.enabled);
            } else if (m.key() == "mode") {
              ReplacementMode mode{};
              s = want_mode(m.value(), path + ".mode", &mode);
              ds.mode = mode;
            } else {
              s = unknown_member(path, m.key());
            }
          }
        } else {
          s = bad(fmt::format("{}: must be true, false or an object, not {}", path, type_name(d.value())));
        }
      }
    } else if (key == "custom_patterns") {
      if (!v.is_array()) s = bad(fmt::format("custom_patterns: must be an array, not {}", type_name(v)));
      for (std::size_t i = 0; s && i < v.size(); ++i) {
        const std::string path = fmt::format("custom_patterns[{}]", i);
        s = want_object(v[i], path);
        CustomPattern p;
        bool have_pattern = false;
        for (auto m = v[i].begin(); s && m != v[i].end(); ++m) {
          const std::string mp = path + "." + m.key();
          if (m.key() == "name") {
            s = want_string(m.value(), mp, &p.name);
            if (s && !valid_name(p.name))
              s = bad(fmt::format("{}: 1 to 64 of a-z, 0-9, _ starting with a letter", mp));
          } else if (m.key() == "pattern") {
            s = want_string(m.value(), mp, &p.pattern);
            if (s && p.pattern.empty()) s = bad(fmt::format("{}: must not be empty", mp));
            have_pattern = true;
          } else if (m.key() == "type" || m.key() == "label") {
            s = want_string(m.value(), mp, &p.type);
            if (s && !valid_type(p.type)) s = bad(fmt::format("{}: 1 to 48 of A-Z, 0-9, _", mp));
          } else if (m.key() == "mode") {
            ReplacementMode mode{};
            s = want_mode(m.value(), mp, &mode);
            p.mode = mode;
          } else if (m.key() == "confidence") {
            if (!m.value().is_number() || !(m.value().get<double>() > 0.0) || m.value().get<double>() > 1.0)
              s = bad(fmt::format("{}: must be a number in (0, 1]", mp));
            else
              p.confidence = m.value().get<double>();
          } else {
            s = unknown_member(path, m.key());
          }
        }
        if (s && p.name.empty()) s = bad(fmt::format("{}.name: required", path));
        if (s && !have_pattern) s = bad(fmt::format("{}.pattern: required", path));
        if (s) c.custom_patterns.push_back(std::move(p));
      }
    } else if (key == "allow") {
      s = want_object(v, key);
      for (auto m = v.begin(); s && m != v.end(); ++m) {
        if (m.key() == "values")
          s = want_strings(m.value(), "allow.values", &c.allow.values);
        else if (m.key() == "patterns")
          s = want_strings(m.value(), "allow.patterns", &c.allow.patterns);
        else
          s = unknown_member("allow", m.key());
      }
    } else if (key == "invalid_utf8") {
      std::string t;
      s = want_string(v, key, &t);
      if (s && t == "error") c.invalid_utf8 = InvalidUtf8Policy::error;
      else if (s && t == "replace") c.invalid_utf8 = InvalidUtf8Policy::replace;
      else if (s) s = bad("invalid_utf8: must be \"error\" or \"replace\"");
    } else if (key == "prompt_hash") {
      std::string t;
      s = want_string(v, key, &t);
      if (s && t == "keyed") c.prompt_hash = PromptHashMode::keyed;
      else if (s && t == "plain") c.prompt_hash = PromptHashMode::plain;
      else if (s) s = bad("prompt_hash: must be \"keyed\" or \"plain\"");
    } else if (key == "encryption") {
      std::string t;
      s = want_string(v, key, &t);
      if (s && t == "aes-256-siv") c.encryption = EncryptionAlgorithm::aes_256_siv;
      else if (s && t == "aes-256-gcm") c.encryption = EncryptionAlgorithm::aes_256_gcm;
      else if (s) s = bad("encryption: must be \"aes-256-siv\" or \"aes-256-gcm\"");
    } else if (key == "tenant_id") {
      s = want_string(v, key, &c.tenant_id);
      if (s && c.tenant_id.size() > 256) s = bad("tenant_id: at most 256 bytes");
    } else if (key == "tenant_key_file") {
      s = want_string(v, key, &c.tenant_key_file);
    } else if (key == "max_input_bytes") {
      std::uint64_t x = 0;
      s = want_positive(v, key, std::uint64_t{1} << 32, &x);
      c.max_input_bytes = static_cast<std::size_t>(x);
    } else if (key == "re2_max_mem") {
      std::uint64_t x = 0;
      s = want_positive(v, key, std::uint64_t{1} << 30, &x);
      if (s && x < (std::uint64_t{1} << 16)) s = bad("re2_max_mem: must be between 65536 and 1073741824");
      c.re2_max_mem = static_cast<std::int64_t>(x);
    } else {
      s = unknown_member("", key);
    }
    if (!s) return s;
  }
  return c;
}

FA_INLINE Result<SanitizerConfig> SanitizerConfig::parse(std::string_view json_text, std::string_view source) {
  nlohmann::json j = nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (j.is_discarded()) {
    // Re-parse with exceptions for the position (the error path only).
    try {
      const nlohmann::json again = nlohmann::json::parse(json_text.begin(), json_text.end());
      (void)again;
    } catch (const nlohmann::json::parse_error& e) {
      std::size_t line = 1, col = 1;
      for (std::size_t i = 0; i + 1 < e.byte && i < json_text.size(); ++i) {
        if (json_text[i] == '\n') {
          ++line;
          col = 1;
        } else {
          ++col;
        }
      }
      return sanitizer_impl::bad(fmt::format("{}:{}:{}: invalid JSON", source, line, col));
    } catch (...) {
    }
    return sanitizer_impl::bad(fmt::format("{}: invalid JSON", source));
  }
  Result<SanitizerConfig> c = from_json(j);
  if (!c) return sanitizer_impl::bad(fmt::format("{}: {}", source, c.status().message()));
  return c;
}

FA_INLINE Result<SanitizerConfig> SanitizerConfig::from_file(const std::string& path) {
  std::string text;
  struct stat st {};
  Status s = sanitizer_impl::read_small_file(path, sanitizer_impl::kMaxConfigBytes, &text, &st, "sanitizer config");
  if (!s) return s;
  return parse(text, path);
}

FA_INLINE nlohmann::json SanitizerConfig::to_json() const {
  nlohmann::json j;
  j["version"] = 1;
  j["default_mode"] = std::string(to_string(default_mode));
  nlohmann::json dets = nlohmann::json::object();
  for (std::size_t i = 0; i < detect::kDetectorCount; ++i) {
    nlohmann::json d = {{"enabled", detectors[i].enabled}};
    if (detectors[i].mode) d["mode"] = std::string(to_string(*detectors[i].mode));
    dets[std::string(detect::detector_name(static_cast<detect::Detector>(i)))] = std::move(d);
  }
  j["detectors"] = std::move(dets);
  nlohmann::json customs = nlohmann::json::array();
  for (const auto& p : custom_patterns) {
    nlohmann::json o = {{"name", p.name}, {"pattern", p.pattern}, {"confidence", p.confidence}};
    if (!p.type.empty()) o["type"] = p.type;
    if (p.mode) o["mode"] = std::string(to_string(*p.mode));
    customs.push_back(std::move(o));
  }
  j["custom_patterns"] = std::move(customs);
  j["allow"] = {{"values", allow.values}, {"patterns", allow.patterns}};
  j["invalid_utf8"] = invalid_utf8 == InvalidUtf8Policy::error ? "error" : "replace";
  j["prompt_hash"] = prompt_hash == PromptHashMode::keyed ? "keyed" : "plain";
  j["encryption"] = encryption == EncryptionAlgorithm::aes_256_siv ? "aes-256-siv" : "aes-256-gcm";
  j["tenant_id"] = tenant_id;
  j["tenant_key_file"] = tenant_key_file;
  j["max_input_bytes"] = max_input_bytes;
  j["re2_max_mem"] = re2_max_mem;
  return j;
}

// ------------------------------------------------------------------------------------------------------------
// SanitizeResult

FA_INLINE nlohmann::json SanitizeResult::to_json() const {
  nlohmann::json f = nlohmann::json::array();
  for (const auto& x : findings) {
    f.push_back({{"type", x.type},
                 {"detector", x.detector},
                 {"begin", x.begin},
                 {"end", x.end},
                 {"out_begin", x.out_begin},
                 {"out_end", x.out_end},
                 {"confidence", std::round(x.confidence * 1000.0) / 1000.0},
                 {"mode", std::string(to_string(x.mode))}});
  }
  return {{"text", text}, {"prompt_hash", prompt_hash}, {"findings", std::move(f)}};
}

// ------------------------------------------------------------------------------------------------------------
// PromptSanitizer

namespace detail {

// HMAC-SHA256 under one key for concurrent callers without re-keying: a few keyed contexts, each taken with
// an atomic flag (acquire/release) for one mac(); when all are busy the caller works on a fresh clone. Keys
// live only inside these OpenSSL contexts, which cleanse them when the pool dies.
class MacPool {
 public:
  static constexpr std::size_t kSlots = 8;
  MacPool() = default;
  void key(const std::uint8_t* k, std::size_t n) {
    base_ = HmacSha256(k, n);
    for (auto& s : slots_) s = base_.clone();
  }
  Hash mac(const void* data, std::size_t n) const {
    // The thread's first slot, hashed once per thread (std::hash of a thread id hashes its bytes).
    static thread_local const std::size_t home = std::hash<std::thread::id>{}(std::this_thread::get_id()) % kSlots;
    const std::size_t start = home;
    for (std::size_t k = 0; k < kSlots; ++k) {
      const std::size_t i = (start + k) % kSlots;
      bool expected = false;
      if (busy_[i].load(std::memory_order_relaxed) ||
          !busy_[i].compare_exchange_strong(expected, true, std::memory_order_acquire))
        continue;
      struct Release {
        std::atomic<bool>& b;
        ~Release() { b.store(false, std::memory_order_release); }
      } release{busy_[i]};
      return slots_[i].mac(data, n);
    }
    HmacSha256 c = base_.clone();
    return c.mac(data, n);
  }

 private:
  HmacSha256 base_;
  mutable std::array<HmacSha256, kSlots> slots_;
  mutable std::array<std::atomic<bool>, kSlots> busy_{};
};

struct SanitizerState {
  struct Custom {
    std::string name, type;
    ReplacementMode mode = ReplacementMode::label;
    double confidence = 0.9;
    std::unique_ptr<re2::RE2> re;
  };
  SanitizerConfig config;
  detect::DetectorMask mask = 0;
  std::vector<Custom> customs;
  std::unordered_set<std::string> allow_values;
  std::vector<std::unique_ptr<re2::RE2>> allow_patterns;
  bool has_key = false;
  std::string kid;
  // Derived subkeys (docs/privacy.md §5.1); wiped by the destructor.
  std::array<std::uint8_t, 32> k_hash{}, k_token{}, k_gcm{};
  std::array<std::uint8_t, 64> k_siv{};
  MacPool hash_mac, token_mac;

  SanitizerState() = default;
  SanitizerState(const SanitizerState&) = delete;
  SanitizerState& operator=(const SanitizerState&) = delete;
  ~SanitizerState() {
    secure_wipe(k_hash.data(), k_hash.size());
    secure_wipe(k_token.data(), k_token.size());
    secure_wipe(k_gcm.data(), k_gcm.size());
    secure_wipe(k_siv.data(), k_siv.size());
  }
};

}  // namespace detail

namespace sanitizer_impl {

inline re2::RE2::Options re2_options(std::int64_t max_mem) {
  re2::RE2::Options o;
  o.set_log_errors(false);
  o.set_never_capture(true);
  o.set_max_mem(max_mem);
  return o;
}

inline void derive(const TenantKey& key, std::string_view tenant_id, std::string_view purpose, std::uint8_t* out,
                   std::size_t n) {
  std::string info(purpose);
  info.push_back('\0');
  info.append(tenant_id);
  detail::hkdf_sha256(key.bytes().data(), key.bytes().size(), kHkdfSalt, info, out, n);
}

inline bool needs_key(const SanitizerConfig& c) {
  if (c.prompt_hash == PromptHashMode::keyed) return true;
  auto keyed = [](ReplacementMode m) { return m != ReplacementMode::label; };
  if (keyed(c.default_mode)) return true;
  for (const auto& d : c.detectors)
    if (d.enabled && d.mode && keyed(*d.mode)) return true;
  for (const auto& p : c.custom_patterns)
    if (p.mode && keyed(*p.mode)) return true;
  return false;
}


// A candidate finding: [begin, end), source < kDetectorCount is a built-in detector, else custom index.
struct Candidate {
  std::size_t begin, end;
  std::size_t source;
  double confidence;
  int rank;  // 0 secret, 1 custom, 2 personal data
};

// The overlap ranking (docs/privacy.md §1): a ranks before b. A strict total order on candidates that differ in
// any member, so the best of a group does not depend on the order the candidates were found in.
inline bool ranks_before(const Candidate& a, const Candidate& b) noexcept {
  if (a.rank != b.rank) return a.rank < b.rank;
  if (a.confidence != b.confidence) return a.confidence > b.confidence;
  if (a.end - a.begin != b.end - b.begin) return a.end - a.begin > b.end - b.begin;
  if (a.begin != b.begin) return a.begin < b.begin;
  return a.source < b.source;
}

// One finding: the best candidate of a group of transitively overlapping ones, and the union of their spans.
struct Group {
  Candidate best;
  std::size_t begin, end;
};

struct Scratch {
  std::vector<detect::Match> matches;
  std::vector<Candidate> cands;
  std::vector<Group> chosen;
  template <typename V>
  static void trim_one(V& v) {
    v.clear();
    if (v.capacity() > 4096) V().swap(v);
  }
  void trim() {
    trim_one(matches);
    trim_one(cands);
    trim_one(chosen);
  }
};

inline Scratch& thread_scratch() {
  static thread_local Scratch s;
  return s;
}

inline std::string encrypt_span(const detail::SanitizerState& st, std::string_view type, std::string_view value) {
  const std::string ad = ad_for_span(type);
  std::string payload;
  if (st.config.encryption == EncryptionAlgorithm::aes_256_siv) {
    payload.push_back(static_cast<char>(kSpanAlgSiv));
    payload += detail::aes256_siv_encrypt(st.k_siv.data(), ad, value);
  } else {
    payload.push_back(static_cast<char>(kSpanAlgGcm));
    payload += detail::aes256_gcm_encrypt(st.k_gcm.data(), ad, value);
  }
  return detail::b64url_encode(payload.data(), payload.size());
}

inline std::string token_of(const detail::SanitizerState& st, std::string_view type, std::string_view value) {
  std::string msg(type);
  msg.push_back('\0');
  msg += normalize(type, value);
  const Hash h = st.token_mac.mac(msg.data(), msg.size());
  wipe(msg);
  return base32(h.data(), kTokenBytes);
}

}  // namespace sanitizer_impl

FA_INLINE Result<PromptSanitizer> PromptSanitizer::create(SanitizerConfig config) {
  if (!config.tenant_key_file.empty()) {
    Result<TenantKey> key = TenantKey::load(config.tenant_key_file);
    if (!key) return key.status();
    return build(std::move(config), &key.value());
  }
  return build(std::move(config), nullptr);
}

FA_INLINE Result<PromptSanitizer> PromptSanitizer::create(SanitizerConfig config, TenantKey key) {
  return build(std::move(config), &key);
}

FA_INLINE Result<PromptSanitizer> PromptSanitizer::build(SanitizerConfig config, const TenantKey* key) {
  using namespace sanitizer_impl;
  auto st = std::make_shared<detail::SanitizerState>();
  try {
    const bool have_key = key != nullptr && !key->bytes().empty();
    if (!have_key && needs_key(config))
      return bad(
          "a tenant key is required: prompt_hash \"keyed\" (the default) and the token and encrypt modes use "
          "it; set tenant_key_file, pass a TenantKey, or use prompt_hash \"plain\" with label mode only");
    std::set<std::string> names;
    for (std::size_t i = 0; i < config.custom_patterns.size(); ++i) {
      const CustomPattern& p = config.custom_patterns[i];
      const std::string where = fmt::format("custom_patterns[{}] \"{}\"", i, p.name);
      detect::Detector d{};
      if (!valid_name(p.name)) return bad(fmt::format("{}: name must be 1 to 64 of a-z, 0-9, _", where));
      if (detect::parse_detector(p.name, &d))
        return bad(fmt::format("{}: name is a built-in detector's", where));
      if (!names.insert(p.name).second) return bad(fmt::format("{}: duplicate name", where));
      if (!p.type.empty() && !valid_type(p.type)) return bad(fmt::format("{}: type must be 1 to 48 of A-Z, 0-9, _", where));
      if (!(p.confidence > 0.0 && p.confidence <= 1.0)) return bad(fmt::format("{}: confidence must be in (0, 1]", where));
      detail::SanitizerState::Custom c;
      c.name = p.name;
      c.type = p.type.empty() ? upper(p.name) : p.type;
      c.mode = p.mode.value_or(config.default_mode);
      c.confidence = p.confidence;
      c.re = std::make_unique<re2::RE2>(p.pattern, re2_options(config.re2_max_mem));
      if (!c.re->ok()) return bad(fmt::format("{}: invalid RE2 pattern: {}", where, c.re->error()));
      st->customs.push_back(std::move(c));
    }
    for (const auto& v : config.allow.values) st->allow_values.insert(v);
    for (std::size_t i = 0; i < config.allow.patterns.size(); ++i) {
      auto re = std::make_unique<re2::RE2>(config.allow.patterns[i], re2_options(config.re2_max_mem));
      if (!re->ok()) return bad(fmt::format("allow.patterns[{}]: invalid RE2 pattern: {}", i, re->error()));
      st->allow_patterns.push_back(std::move(re));
    }
    if (have_key) {
      st->has_key = true;
      derive(*key, config.tenant_id, kInfoHash, st->k_hash.data(), st->k_hash.size());
      derive(*key, config.tenant_id, kInfoToken, st->k_token.data(), st->k_token.size());
      derive(*key, config.tenant_id, kInfoSiv, st->k_siv.data(), st->k_siv.size());
      derive(*key, config.tenant_id, kInfoGcm, st->k_gcm.data(), st->k_gcm.size());
      std::array<std::uint8_t, 8> kid{};
      derive(*key, config.tenant_id, kInfoKid, kid.data(), kid.size());
      st->kid = detail::to_hex(kid.data(), kid.size());
      st->hash_mac.key(st->k_hash.data(), st->k_hash.size());
      st->token_mac.key(st->k_token.data(), st->k_token.size());
    }
    st->mask = config.enabled_mask();
    st->config = std::move(config);
  } catch (const std::exception& e) {
    return Status(Code::internal, fmt::format("sanitizer: {}", e.what()));
  }
  return PromptSanitizer(std::move(st));
}

FA_INLINE const std::string& PromptSanitizer::key_id() const noexcept { return state_->kid; }
FA_INLINE const SanitizerConfig& PromptSanitizer::config() const noexcept { return state_->config; }

FA_INLINE std::string PromptSanitizer::prompt_hash(std::string_view raw) const {
  using namespace sanitizer_impl;
  const bool keyed = state_->config.prompt_hash == PromptHashMode::keyed && state_->has_key;
  const Hash h = keyed ? state_->hash_mac.mac(raw.data(), raw.size()) : detail::sha256(raw);
  // "<prefix><64 hex>" written into a local buffer two digits per table lookup, then copied once.
  static constexpr std::string_view kKeyed = "hmac-sha256:", kPlain = "sha256:";
  const std::string_view prefix = keyed ? kKeyed : kPlain;
  char buf[kKeyed.size() + 64];
  std::memcpy(buf, prefix.data(), prefix.size());
  char* w = buf + prefix.size();
  for (std::size_t i = 0; i < h.size(); ++i, w += 2) std::memcpy(w, kHexPairs.v[h[i]], 2);
  return std::string(buf, static_cast<std::size_t>(w - buf));
}

FA_INLINE Result<std::string> PromptSanitizer::token_for(std::string_view type, std::string_view value) const {
  if (!state_->has_key) return sanitizer_impl::bad("token_for: this sanitizer has no tenant key");
  // The type is the domain separator of the token's message (type || 0x00 || value): a type holding a NUL
  // byte would make two (type, value) pairs collide.
  if (!sanitizer_impl::valid_type(type))
    return sanitizer_impl::bad("token_for: type must be 1 to 48 of A-Z, 0-9, _");
  try {
    return sanitizer_impl::token_of(*state_, type, value);
  } catch (const std::exception& e) {
    return Status(Code::internal, e.what());
  }
}

namespace sanitizer_impl {
constexpr std::size_t kCustomWindow = 1024;          // bytes one custom-pattern search may read
constexpr std::size_t kCustomOverlap = 256;          // overlap of consecutive windows that found nothing
constexpr std::size_t kCustomBudgetPerByte = 16;     // window bytes per input byte, per custom pattern
constexpr std::size_t kCustomBudgetBase = 1u << 20;  // ... plus this, so short prompts never hit it
// The value is on the allow-list (out of line: most configurations have none).
[[gnu::noinline]] inline bool is_allowed(const detail::SanitizerState& st, std::string_view v) {
  if (!st.allow_values.empty() && st.allow_values.count(std::string(v)) != 0) return true;
  for (const auto& re : st.allow_patterns)
    if (re2::RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re)) return true;
  return false;
}

// Appends candidate c, clamped to the text and widened to code point boundaries, unless its value is allowed.
inline void add_candidate(const detail::SanitizerState& st, std::string_view text, bool allow_list,
                          std::vector<Candidate>& cands, Candidate c) {
  c.end = std::min(c.end, text.size());
  if (c.begin >= c.end) return;
  c.begin = utf8::floor_boundary(text, c.begin);
  c.end = utf8::ceil_boundary(text, c.end);
  if (allow_list && is_allowed(st, text.substr(c.begin, c.end - c.begin))) return;
  cands.push_back(c);
}

// The candidates of the custom patterns (out of line: most configurations have none).
[[gnu::noinline]] inline Status scan_custom(const detail::SanitizerState& st, std::string_view text,
                                            bool allow_list, std::vector<Candidate>& cands) {
  // Custom patterns. One RE2 search is linear, but searching again after each match is not: a pattern like
  // [0-9]+x|[0-9] reads to the end of a digit run to find each one-digit match. So every search is confined
  // to a window of kCustomWindow bytes (a longer match is found in pieces, each redacted; a window that finds
  // nothing is followed by one overlapping it by kCustomOverlap bytes), and the bytes the windows cover are
  // charged against a budget linear in the prompt's size; a pattern that matches so densely that it would
  // exceed it refuses the prompt (nothing is returned, so nothing raw can be logged) instead of taking
  // quadratic time (docs/privacy.md §2).
  const std::size_t custom_budget = kCustomBudgetPerByte * text.size() + kCustomBudgetBase;
  for (std::size_t ci = 0; ci < st.customs.size(); ++ci) {
    const re2::RE2& re = *st.customs[ci].re;
    const re2::StringPiece whole(text.data(), text.size());
    std::size_t pos = 0, spent = 0;
    re2::StringPiece m;
    while (pos <= text.size()) {
      std::size_t end = std::min(text.size(), pos + kCustomWindow);
      if (end < text.size()) end = std::max(pos, utf8::floor_boundary(text, end));
      spent += end - pos + 1;
      if (spent > custom_budget)
        return bad(fmt::format("custom pattern \"{}\" matches too densely: its search exceeded the budget of {} "
                               "bytes per input byte; the prompt is refused",
                               st.customs[ci].name, kCustomBudgetPerByte));
      if (!re.Match(whole, pos, end, re2::RE2::UNANCHORED, &m, 1)) {
        if (end >= text.size()) break;
        pos = utf8::ceil_boundary(text, std::max(pos + 1, end - kCustomOverlap));
        continue;
      }
      const auto b = static_cast<std::size_t>(m.data() - text.data());
      const std::size_t e = b + m.size();
      if (e > b)
        add_candidate(st, text, allow_list, cands, {b, e, detect::kDetectorCount + ci, st.customs[ci].confidence, 1});
      pos = e > b ? e : utf8::ceil_boundary(text, b + 1);
      if (e == b && b >= text.size()) break;
    }
  }
  return {};
}

}  // namespace sanitizer_impl

FA_INLINE Result<SanitizeResult> PromptSanitizer::sanitize(std::string_view input) const {
  using namespace sanitizer_impl;
  const detail::SanitizerState& st = *state_;
  if (input.size() > st.config.max_input_bytes)
    return Status(Code::too_large, fmt::format("prompt of {} bytes exceeds max_input_bytes ({})", input.size(),
                                               st.config.max_input_bytes));
  SanitizeResult res;
  try {
    std::string repaired;
    std::string_view text = input;
    const std::size_t bad_at = is_ascii(input) ? utf8::npos : utf8::first_invalid(input);
    if (bad_at != utf8::npos) {
      if (st.config.invalid_utf8 == InvalidUtf8Policy::error)
        return bad(fmt::format("invalid UTF-8 at byte {}", bad_at));
      repaired = utf8::repair(input, &res.invalid_utf8_replaced);
      text = repaired;
    }

    // Per-thread scratch vectors: no allocation per call once warm; trimmed after a huge prompt.
    Scratch& scratch = thread_scratch();
    struct Trim {
      Scratch& s;
      ~Trim() { s.trim(); }
    } trim{scratch};
    std::vector<detect::Match>& matches = scratch.matches;
    if ((st.mask & detect::kPiiDetectors) != 0) detect::scan_pii(text, st.mask, matches);
    // No may_contain_secret() first: when it says yes, the scan would walk the text a second time.
    if ((st.mask & detect::kSecretDetectors) != 0) detect::scan_secrets(text, st.mask, matches);

    // Candidates: clamped, widened to code point boundaries, allowed values dropped.
    std::vector<Candidate>& cands = scratch.cands;
    const bool allow_list = !st.allow_values.empty() || !st.allow_patterns.empty();
    for (const auto& m : matches) {
      const auto idx = static_cast<std::size_t>(m.detector);
      if (idx >= detect::kDetectorCount || (st.mask & detect::mask_of(m.detector)) == 0) continue;
      add_candidate(st, text, allow_list, cands,
                    {m.begin, m.end, idx, static_cast<double>(m.confidence), detect::is_secret(m.detector) ? 0 : 2});
    }
    if (!st.customs.empty())
      if (Status s = scan_custom(st, text, allow_list, cands); !s) return s;
    // Overlaps: each group of transitively overlapping candidates becomes one finding, the union of their
    // spans, reported as the group's best candidate by ranks_before (rank, then confidence, longer span, earlier
    // start, lower source): the one a greedy "keep what overlaps nothing kept" pass in ranking order would keep.
    // Dropping the losers instead would leave the part of a value outside the winner's span in the text. The
    // groups are found in start order; which of two candidates with the same start comes first does not matter.
    if (cands.size() > 1)
      std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) { return a.begin < b.begin; });
    std::vector<Group>& chosen = scratch.chosen;
    for (const Candidate& c : cands) {
      if (chosen.empty() || c.begin >= chosen.back().end) {
        chosen.push_back({c, c.begin, c.end});
        continue;
      }
      Group& g = chosen.back();  // g.begin <= c.begin < g.end
      g.end = std::max(g.end, c.end);
      if (ranks_before(c, g.best)) g.best = c;
    }

    // Output.
    res.text.reserve(text.size() + chosen.size() * 24);
    std::size_t at = 0;
    res.findings.reserve(chosen.size());
    for (const Group& g : chosen) {
      const Candidate& c = g.best;
      res.text.append(text.data() + at, g.begin - at);
      std::string_view type, name;
      ReplacementMode mode;
      if (c.source < detect::kDetectorCount) {
        const auto d = static_cast<detect::Detector>(c.source);
        type = detect::detector_type(d);
        name = detect::detector_name(d);
        mode = st.config.mode_of(d);
      } else {
        const auto& cu = st.customs[c.source - detect::kDetectorCount];
        type = cu.type;
        name = cu.name;
        mode = cu.mode;
      }
      const std::string_view value = text.substr(g.begin, g.end - g.begin);
      const std::size_t out_begin = res.text.size();
      res.text.push_back('[');
      res.text.append(type);
      switch (mode) {
        case ReplacementMode::label:
          res.text.append("_REDACTED]");
          break;
        case ReplacementMode::token:
          res.text.push_back(':');
          res.text.append(token_of(st, type, value));
          res.text.push_back(']');
          break;
        case ReplacementMode::encrypt:
          res.text.append(":enc:").append(st.kid).push_back(':');
          res.text.append(encrypt_span(st, type, value));
          res.text.push_back(']');
          break;
      }
      res.findings.push_back(SanitizeFinding{std::string(type), std::string(name), g.begin, g.end, out_begin,
                                             res.text.size(), c.confidence, mode});
      at = g.end;
    }
    res.text.append(text.data() + at, text.size() - at);
    res.prompt_hash = prompt_hash(input);
  } catch (const std::bad_alloc&) {
    return Status(Code::too_large, "sanitize: out of memory");
  } catch (const std::exception& e) {
    return Status(Code::internal, fmt::format("sanitize: {}", e.what()));
  }
  return res;
}

FA_INLINE Result<std::string> PromptSanitizer::reveal(std::string_view span) const {
  using namespace sanitizer_impl;
  const detail::SanitizerState& st = *state_;
  std::string_view s = span;
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  const std::size_t enc = s.find(":enc:");
  if (enc == std::string_view::npos || !valid_type(s.substr(0, enc)))
    return bad("reveal: not an encrypted span \"[TYPE:enc:<kid>:<base64url>]\"");
  const std::string_view type = s.substr(0, enc);
  std::string_view rest = s.substr(enc + 5);
  const std::size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return bad("reveal: not an encrypted span \"[TYPE:enc:<kid>:<base64url>]\"");
  const std::string_view kid = rest.substr(0, colon);
  const std::string_view b64 = rest.substr(colon + 1);
  if (!st.has_key) return bad("reveal: this sanitizer has no tenant key");
  if (kid != st.kid)
    return bad(fmt::format("reveal: the span was encrypted under key id {}, this sanitizer's key id is {}",
                           kid.substr(0, 32), st.kid));
  std::string payload;
  if (!detail::b64url_decode(b64, &payload) || payload.empty())
    return bad("reveal: the ciphertext is not canonical base64url");
  const auto alg = static_cast<std::uint8_t>(payload[0]);
  const std::string_view ct = std::string_view(payload).substr(1);
  std::string out;
  bool ok = false;
  try {
    if (alg == kSpanAlgSiv)
      ok = detail::aes256_siv_decrypt(st.k_siv.data(), ad_for_span(type), ct, &out);
    else if (alg == kSpanAlgGcm)
      ok = detail::aes256_gcm_decrypt(st.k_gcm.data(), ad_for_span(type), ct, &out);
    else
      return bad(fmt::format("reveal: unknown algorithm byte 0x{:02x}", alg));
  } catch (const std::exception& e) {
    return Status(Code::internal, fmt::format("reveal: {}", e.what()));
  }
  if (!ok)
    return Status(Code::corruption, "reveal: authentication failed (wrong tenant key, or altered ciphertext or type)");
  return out;
}

FA_INLINE Result<nlohmann::json> PromptSanitizer::encrypt_field(std::string_view value) const {
  using namespace sanitizer_impl;
  const detail::SanitizerState& st = *state_;
  if (!st.has_key) return bad("encrypt_field: this sanitizer has no tenant key");
  const EncryptionAlgorithm alg = st.config.encryption;
  if (value.empty() && alg == EncryptionAlgorithm::aes_256_siv)
    return bad("encrypt_field: AES-256-SIV cannot encrypt an empty value");
  std::string ct;
  try {
    const std::string ad = ad_for_field(alg, st.kid);
    ct = alg == EncryptionAlgorithm::aes_256_siv ? detail::aes256_siv_encrypt(st.k_siv.data(), ad, value)
                                                 : detail::aes256_gcm_encrypt(st.k_gcm.data(), ad, value);
  } catch (const std::exception& e) {
    return Status(Code::internal, fmt::format("encrypt_field: {}", e.what()));
  }
  nlohmann::json j;
  j["fa_enc"] = {{"alg", std::string(to_string(alg))}, {"kid", st.kid}, {"ct", detail::b64_encode(ct.data(), ct.size())}};
  return j;
}

FA_INLINE Result<std::string> PromptSanitizer::decrypt_field(const nlohmann::json& encrypted) const {
  using namespace sanitizer_impl;
  const detail::SanitizerState& st = *state_;
  if (!encrypted.is_object() || encrypted.size() != 1 || !encrypted.contains("fa_enc") ||
      !encrypted["fa_enc"].is_object())
    return bad("decrypt_field: expected {\"fa_enc\":{\"alg\",\"kid\",\"ct\"}}");
  const nlohmann::json& e = encrypted["fa_enc"];
  for (auto it = e.begin(); it != e.end(); ++it)
    if (it.key() != "alg" && it.key() != "kid" && it.key() != "ct") return unknown_member("fa_enc", it.key());
  std::string alg_s, kid, ct_b64;
  if (!e.contains("alg") || !e.contains("kid") || !e.contains("ct"))
    return bad("decrypt_field: fa_enc needs alg, kid and ct");
  if (Status s = want_string(e["alg"], "fa_enc.alg", &alg_s); !s) return s;
  if (Status s = want_string(e["kid"], "fa_enc.kid", &kid); !s) return s;
  if (Status s = want_string(e["ct"], "fa_enc.ct", &ct_b64); !s) return s;
  EncryptionAlgorithm alg{};
  if (alg_s == "AES-256-SIV")
    alg = EncryptionAlgorithm::aes_256_siv;
  else if (alg_s == "AES-256-GCM")
    alg = EncryptionAlgorithm::aes_256_gcm;
  else
    return bad("fa_enc.alg: must be \"AES-256-SIV\" or \"AES-256-GCM\"");
  if (!st.has_key) return bad("decrypt_field: this sanitizer has no tenant key");
  if (kid != st.kid)
    return bad(fmt::format("decrypt_field: the value was encrypted under key id {}, this sanitizer's key id is {}",
                           std::string_view(kid).substr(0, 32), st.kid));
  std::string ct;
  if (!detail::b64_decode(ct_b64, &ct)) return bad("fa_enc.ct: not canonical base64");
  std::string out;
  bool ok = false;
  try {
    const std::string ad = ad_for_field(alg, kid);
    ok = alg == EncryptionAlgorithm::aes_256_siv ? detail::aes256_siv_decrypt(st.k_siv.data(), ad, ct, &out)
                                                 : detail::aes256_gcm_decrypt(st.k_gcm.data(), ad, ct, &out);
  } catch (const std::exception& ex) {
    return Status(Code::internal, fmt::format("decrypt_field: {}", ex.what()));
  }
  if (!ok) return Status(Code::corruption, "decrypt_field: authentication failed (wrong tenant key or altered ciphertext)");
  return out;
}

}  // namespace fooocus_audit
