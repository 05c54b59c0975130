// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/record.hpp"
#endif

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <cstring>

#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/merkle.hpp"

namespace fooocus_audit {
namespace record {

namespace record_impl {

constexpr std::string_view kGenesisLabel = "fooocus-audit/v1/genesis";

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's civil calendar algorithms).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t y;
  unsigned m, d;
};

constexpr Civil civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

constexpr bool is_leap(std::int64_t y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
  constexpr unsigned k[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : k[m - 1];
}

inline void put_digits(char* out, std::uint64_t v, int n) noexcept {
  for (int i = n - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

inline bool get_digits(std::string_view s, std::size_t at, int n, unsigned* out) noexcept {
  unsigned v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = s[at + static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  *out = v;
  return true;
}

// Skips one value of already-validated canonical JSON starting at p; returns the position after it.
inline const char* skip_value(const char* p, const char* end) noexcept {
  int depth = 0;
  do {
    switch (*p) {
      case '"':
        ++p;
        while (p < end && *p != '"') p += (*p == '\\') ? 2 : 1;
        ++p;
        break;
      case '{':
      case '[':
        ++depth;
        ++p;
        break;
      case '}':
      case ']':
        --depth;
        ++p;
        break;
      default:
        if (depth == 0) {  // scalar at top: number or literal, ends at , } ]
          while (p < end && *p != ',' && *p != '}' && *p != ']') ++p;
          return p;
        }
        ++p;
    }
  } while (depth > 0 && p < end);
  return p;
}

// Finds the raw string value of top-level key "event_type" in a canonical object (keys sorted, so the
// search stops at the first key not less than "event_type").
inline bool find_event_type(std::string_view obj, std::string_view* out) noexcept {
  constexpr std::string_view kKey = "event_type";
  const char* p = obj.data() + 1;
  const char* end = obj.data() + obj.size();
  while (p < end && *p == '"') {
    const char* k = ++p;
    while (p < end && *p != '"') p += (*p == '\\') ? 2 : 1;
    const std::string_view key(k, static_cast<std::size_t>(p - k));
    p += 2;  // closing quote and colon
    if (key == kKey) {
      if (p >= end || *p != '"') return false;
      const char* v = ++p;
      while (p < end && *p != '"' && *p != '\\') ++p;
      if (p >= end || *p != '"') return false;
      *out = std::string_view(v, static_cast<std::size_t>(p - v));
      return true;
    }
    if (!jcs::key_less(key, kKey)) return false;
    p = skip_value(p, end);
    if (p < end && *p == ',') ++p;
  }
  return false;
}

// True when bytes are valid JSON (RFC 8259) denoting an object, whitespace allowed: what the strict
// canonical scanner rejected is then "valid JSON but not its canonical form" (§8.2 step 3), not bad_json.
inline bool lenient_json_object(std::string_view bytes) {
  const std::size_t first = bytes.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || bytes[first] != '{') return false;
  return nlohmann::json::accept(bytes.begin(), bytes.end());
}

inline bool unquote(std::string_view raw, std::string_view* out) noexcept {
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return false;
  *out = raw.substr(1, raw.size() - 2);
  return true;
}

inline bool parse_uint(std::string_view raw, std::uint64_t* out) noexcept {
  if (raw.empty() || raw[0] == '-') return false;
  const auto r = std::from_chars(raw.data(), raw.data() + raw.size(), *out);
  return r.ec == std::errc() && r.ptr == raw.data() + raw.size();
}

}  // namespace record_impl

FA_INLINE Hash chain_hash(std::string_view record_bytes) { return merkle::leaf_hash(record_bytes); }

FA_INLINE Hash genesis_hash(std::string_view log_id) {
  detail::Sha256 h;
  const std::uint8_t domain = 0x02, zero = 0x00;
  h.update(&domain, 1);
  h.update(record_impl::kGenesisLabel);
  h.update(&zero, 1);
  h.update(log_id);
  return h.final();
}

FA_INLINE std::string new_log_id() {
  std::array<std::uint8_t, 16> b{};
  detail::random_bytes(b.data(), b.size());
  return detail::to_hex(b.data(), b.size());
}

FA_INLINE bool valid_log_id(std::string_view s) noexcept {
  if (s.size() != kLogIdChars) return false;
  for (const char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

FA_INLINE bool valid_event_type(std::string_view s) noexcept {
  if (s.empty() || s.size() > 128 || s[0] < 'a' || s[0] > 'z') return false;
  for (const char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
  return true;
}

FA_INLINE void format_timestamp(std::int64_t micros, char out[kTimestampChars]) noexcept {
  using namespace record_impl;
  constexpr std::int64_t kMin = -62167219200LL * 1000000;       // 0000-01-01T00:00:00Z
  constexpr std::int64_t kMax = 253402300799LL * 1000000 + 999999;  // 9999-12-31T23:59:59.999999Z
  if (micros < kMin) micros = kMin;
  if (micros > kMax) micros = kMax;
  std::int64_t secs = micros / 1000000, frac = micros % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::int64_t days = secs / 86400, sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  const Civil c = civil_from_days(days);
  put_digits(out, static_cast<std::uint64_t>(c.y), 4);
  out[4] = '-';
  put_digits(out + 5, c.m, 2);
  out[7] = '-';
  put_digits(out + 8, c.d, 2);
  out[10] = 'T';
  put_digits(out + 11, static_cast<std::uint64_t>(sod / 3600), 2);
  out[13] = ':';
  put_digits(out + 14, static_cast<std::uint64_t>(sod / 60 % 60), 2);
  out[16] = ':';
  put_digits(out + 17, static_cast<std::uint64_t>(sod % 60), 2);
  out[19] = '.';
  put_digits(out + 20, static_cast<std::uint64_t>(frac), 6);
  out[26] = 'Z';
}

FA_INLINE std::string format_timestamp(std::int64_t micros) {
  std::string s(kTimestampChars, '\0');
  format_timestamp(micros, s.data());
  return s;
}

FA_INLINE bool parse_timestamp(std::string_view s, std::int64_t* micros) noexcept {
  using namespace record_impl;
  if (s.size() != kTimestampChars || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != '.' || s[26] != 'Z')
    return false;
  unsigned y, mo, d, h, mi, se, us;
  if (!get_digits(s, 0, 4, &y) || !get_digits(s, 5, 2, &mo) || !get_digits(s, 8, 2, &d) ||
      !get_digits(s, 11, 2, &h) || !get_digits(s, 14, 2, &mi) || !get_digits(s, 17, 2, &se) ||
      !get_digits(s, 20, 6, &us))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59) return false;
  const std::int64_t days = days_from_civil(y, mo, d);
  *micros = ((days * 86400 + h * 3600 + mi * 60 + se) * 1000000) + us;
  return true;
}

FA_INLINE void append_record_head_close(std::string& out, std::string_view log_id) {
  out.append(R"(,"log_id":")");
  out.append(log_id);
  out.append(R"(","prev":")");
}

FA_INLINE void append_record_tail(std::string& out, const Hash& prev, std::uint64_t seq, std::string_view ts) {
  detail::append_hex(out, prev.data(), prev.size());
  out.append(R"(","seq":)");
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, seq);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
  out.append(R"(,"ts":")");
  out.append(ts);
  out.append(R"(","v":1})");
}

FA_INLINE void append_record(std::string& out, std::string_view event_canonical, std::string_view log_id,
                             const Hash& prev, std::uint64_t seq, std::string_view ts) {
  out.append(kRecordHeadOpen);
  out.append(event_canonical);
  append_record_head_close(out, log_id);
  append_record_tail(out, prev, seq, ts);
}

FA_INLINE std::string_view parse_error_name(ParseError e) noexcept {
  switch (e) {
    case ParseError::none: return "none";
    case ParseError::bad_json: return "bad_json";
    case ParseError::non_canonical: return "non_canonical";
    case ParseError::bad_record: return "bad_record";
    case ParseError::unknown_version: return "unknown_version";
  }
  return "unknown";
}

FA_INLINE ParseResult parse(std::string_view bytes, View* out) {
  using namespace record_impl;
  ParseResult res;
  auto fail = [&](ParseError e, std::size_t off, std::string detail) {
    res.error = e;
    res.offset = off;
    res.detail = std::move(detail);
    return res;
  };
  if (bytes.size() > kMaxRecordBytes)
    return fail(ParseError::bad_record, 0, fmt::format("record of {} bytes exceeds 16 MiB", bytes.size()));

  std::array<jcs::Member, 8> m{};
  const jcs::ScanResult scan = jcs::scan_object(bytes, m.data(), m.size());
  if (scan.problem != jcs::Problem::none) {
    // Whitespace (or a CR before the LF) makes the strict scanner see a syntax error or trailing data.
    const bool maybe_whitespace =
        scan.problem == jcs::Problem::syntax || scan.problem == jcs::Problem::trailing_data;
    if (maybe_whitespace && lenient_json_object(bytes))
      return fail(ParseError::non_canonical, scan.offset,
                  fmt::format("valid JSON but not canonical: whitespace at byte {}", scan.offset));
    // The scanner stops at the first problem; "non_canonical" also needs the rest of the text to be JSON.
    const bool canonical_only = (scan.problem == jcs::Problem::non_canonical_string ||
                                 scan.problem == jcs::Problem::non_canonical_number ||
                                 scan.problem == jcs::Problem::key_order) &&
                                lenient_json_object(bytes);
    return fail(canonical_only ? ParseError::non_canonical : ParseError::bad_json, scan.offset,
                fmt::format("{} at byte {}", jcs::problem_name(scan.problem), scan.offset));
  }
  if (scan.total_members > m.size()) return fail(ParseError::bad_record, 0, "record has unexpected members");

  *out = View{};
  const std::size_t n = scan.members;
  auto offset_of = [&](std::string_view v) { return static_cast<std::size_t>(v.data() - bytes.data()); };
  // Version first: a record of another version may legitimately have other members.
  for (std::size_t i = 0; i < n; ++i) {
    if (m[i].key != "v") continue;
    std::uint64_t v = 0;
    if (!parse_uint(m[i].value, &v)) return fail(ParseError::bad_record, offset_of(m[i].value), "v is not an integer");
    if (v != static_cast<std::uint64_t>(kFormatVersion))
      return fail(ParseError::unknown_version, offset_of(m[i].value), fmt::format("format version {}", v));
    out->version = static_cast<std::int64_t>(v);
  }
  if (out->version == 0) return fail(ParseError::bad_record, 0, "missing member v");

  unsigned seen = 0;  // bit per known member
  for (std::size_t i = 0; i < n; ++i) {
    const std::string_view key = m[i].key, val = m[i].value;
    const std::size_t at = offset_of(val);
    if (key == "event") {
      if (val.empty() || val.front() != '{') return fail(ParseError::bad_record, at, "event is not an object");
      if (!find_event_type(val, &out->event_type) || !valid_event_type(out->event_type))
        return fail(ParseError::bad_record, at, "event has no valid event_type");
      out->event = val;
      seen |= 1u;
    } else if (key == "log_id") {
      if (!unquote(val, &out->log_id) || !valid_log_id(out->log_id))
        return fail(ParseError::bad_record, at, "log_id is not 32 lowercase hex characters");
      seen |= 2u;
    } else if (key == "mac") {
      // Canonical JCS leaves exactly one spelling: {"epoch":<uint>,"tag":"<64 hex>"}.
      constexpr std::string_view kOpen = R"({"epoch":)", kTag = R"(,"tag":")", kClose = R"("})";
      const std::size_t comma = val.find(',');
      if (val.substr(0, kOpen.size()) != kOpen || comma == std::string_view::npos ||
          !parse_uint(val.substr(kOpen.size(), comma - kOpen.size()), &out->mac_epoch) ||
          val.substr(comma, kTag.size()) != kTag || val.size() != comma + kTag.size() + 64 + kClose.size() ||
          val.substr(val.size() - kClose.size()) != kClose ||
          !detail::parse_hash_hex(val.substr(comma + kTag.size(), 64), &out->mac_tag))
        return fail(ParseError::bad_record, at, R"(mac is not {"epoch":<integer>,"tag":"<64 hex>"})");
      // `key` points inside the quotes of "mac": the member starts at the comma before its opening quote.
      out->mac_begin = offset_of(key) - 2;
      out->mac_end = at + val.size();
      if (out->mac_begin == 0 || bytes[out->mac_begin] != ',')
        return fail(ParseError::bad_record, at, "mac is not where the record format puts it");
      out->has_mac = true;
    } else if (key == "prev") {
      std::string_view hex;
      if (!unquote(val, &hex) || !detail::parse_hash_hex(hex, &out->prev))
        return fail(ParseError::bad_record, at, "prev is not 64 lowercase hex characters");
      seen |= 4u;
    } else if (key == "seq") {
      if (!parse_uint(val, &out->seq)) return fail(ParseError::bad_record, at, "seq is not a non-negative integer");
      seen |= 8u;
    } else if (key == "ts") {
      if (!unquote(val, &out->ts) || !parse_timestamp(out->ts, &out->ts_micros))
        return fail(ParseError::bad_record, at, "ts is not YYYY-MM-DDTHH:MM:SS.ffffffZ");
      seen |= 16u;
    } else if (key == "v") {
      seen |= 32u;
    } else {
      return fail(ParseError::bad_record, offset_of(key), fmt::format("unexpected member {:?}", std::string(key.substr(0, 64))));
    }
  }
  if (seen != 63u) {
    static constexpr const char* kNames[] = {"event", "log_id", "prev", "seq", "ts", "v"};
    for (unsigned b = 0; b < 6; ++b)
      if ((seen & (1u << b)) == 0) return fail(ParseError::bad_record, 0, fmt::format("missing member {}", kNames[b]));
  }
  return res;
}

}  // namespace record
}  // namespace fooocus_audit
