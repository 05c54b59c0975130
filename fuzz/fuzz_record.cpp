// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: record::parse and jcs::scan_object on arbitrary bytes.
//
// Invariants (any violation aborts):
// - record::parse either rejects with a reason and an offset inside the input, or accepts a record whose
//   fields obey docs/log-format.md §2: seq <= 2^53-1, ts is a valid timestamp that formats back to itself,
//   log_id and event_type are well formed, the whole line and its event are canonical JCS objects, and
//   (without `mac`) append_record rebuilds exactly the input from the parsed fields.
// - A rejected line is classified as docs/log-format.md §8.2 step 3 says: non_canonical only for valid JSON
//   objects, bad_json not for a valid JSON object that only lacks the canonical form.
// - parse_timestamp and format_timestamp are inverse on their whole domain.
// - Whatever scan_object accepts is valid JSON to nlohmann, the members it reports are the object's
//   members, and jcs::serialize of the parsed value reproduces the input byte for byte.

#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#define FA_FUZZ_TARGET "fuzz_record"
#include "fuzz_check.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/record.hpp"

namespace fa = fooocus_audit;

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// True when text is an object in the RFC 8259 grammar (whitespace allowed). nlohmann is the reference,
// after escaped surrogates are replaced by \u0000: the grammar allows "\ud800", nlohmann refuses it.
bool json_object_grammar(std::string_view text) {
  std::string t(text);
  for (std::size_t i = 0; i + 1 < t.size(); ++i) {
    if (t[i] != '\\') continue;
    if (t[i + 1] == 'u' && i + 5 < t.size() && (t[i + 2] == 'd' || t[i + 2] == 'D') && t[i + 3] != '\0' &&
        std::strchr("89abcdefABCDEF", t[i + 3]) != nullptr &&
        std::isxdigit(static_cast<unsigned char>(t[i + 4])) &&
        std::isxdigit(static_cast<unsigned char>(t[i + 5])))
      t.replace(i + 2, 4, "0000");
    ++i;  // the escaped character
  }
  const std::size_t first = t.find_first_not_of(" \t\r\n");
  return first != std::string::npos && t[first] == '{' && nlohmann::json::accept(t);
}

void check_record(std::string_view input) {
  fa::record::View v;
  const fa::record::ParseResult r = fa::record::parse(input, &v);
  if (!r) {
    CHECK(r.error != fa::record::ParseError::none);
    CHECK(r.offset <= input.size());
    CHECK(!r.detail.empty());
    CHECK(fa::record::parse_error_name(r.error) != "unknown");
    // docs/log-format.md §8.2 step 3: non_canonical is "valid JSON but not its canonical form", bad_json is
    // "not JSON, not an object". I-JSON violations (duplicate names, integer range, depth, UTF-8) in valid
    // JSON may be either.
    if (r.error == fa::record::ParseError::non_canonical) CHECK(json_object_grammar(input));
    if (r.error == fa::record::ParseError::bad_json) {
      const fa::jcs::Problem p = fa::jcs::scan_object(input, nullptr, 0).problem;
      // An escaped lone surrogate ("\udd25") is RFC 8259 grammar but not I-JSON: nlohmann refuses the raw
      // text, and bad_json is then a fair answer too.
      const bool ijson_text = nlohmann::json::accept(input.begin(), input.end());
      if (p != fa::jcs::Problem::duplicate_key && p != fa::jcs::Problem::number_range &&
          p != fa::jcs::Problem::depth && p != fa::jcs::Problem::invalid_utf8 && ijson_text)
        CHECK(!json_object_grammar(input));
    }
    return;
  }
  CHECK(r.offset == 0 && r.detail.empty());
  CHECK(v.version == fa::record::kFormatVersion);
  CHECK(v.seq <= static_cast<std::uint64_t>(fa::record::kMaxSafeInteger));
  CHECK(inside(v.log_id, input) && inside(v.ts, input) && inside(v.event, input) &&
        inside(v.event_type, input));
  CHECK(fa::record::valid_log_id(v.log_id));
  CHECK(fa::record::valid_event_type(v.event_type));
  CHECK(inside(v.event_type, v.event));

  std::int64_t micros = 0;
  CHECK(v.ts.size() == fa::record::kTimestampChars);
  CHECK(fa::record::parse_timestamp(v.ts, &micros));
  CHECK(micros == v.ts_micros);
  CHECK(fa::record::format_timestamp(micros) == v.ts);

  CHECK(fa::jcs::scan_object(input, nullptr, 0).problem == fa::jcs::Problem::none);
  CHECK(v.event.size() >= 2 && v.event.front() == '{' && v.event.back() == '}');
  // The event sits at depth 2 of the record, so its own nesting limit is one less.
  CHECK(fa::jcs::scan_object(v.event, nullptr, 0, fa::jcs::default_max_depth - 1).problem ==
        fa::jcs::Problem::none);

  if (!v.has_mac) {
    std::string rebuilt;
    fa::record::append_record(rebuilt, v.event, v.log_id, v.prev, v.seq, v.ts);
    CHECK(rebuilt == input);
  }
}

void check_scan(std::string_view input) {
  std::array<fa::jcs::Member, 4> members{};
  const fa::jcs::ScanResult s = fa::jcs::scan_object(input, members.data(), members.size());
  if (!s) {
    CHECK(s.offset <= input.size());
    CHECK(fa::jcs::problem_name(s.problem) != "unknown");
    return;
  }
  CHECK(s.offset == 0);
  CHECK(s.members == (s.total_members < members.size() ? s.total_members : members.size()));

  const nlohmann::json j = nlohmann::json::parse(input.begin(), input.end(), nullptr, false);
  CHECK(!j.is_discarded());
  CHECK(j.is_object());
  CHECK(j.size() == s.total_members);
  std::string out;
  try {
    out = fa::jcs::serialize(j);
  } catch (const fa::jcs::Error& e) {
    std::fprintf(stderr, "jcs::serialize threw: %s\n", e.what());
    fa_fuzz::fail(FA_FUZZ_TARGET, "scan_object accepted a text that serialize refuses", input);
  }
  CHECK(out == input);

  for (std::size_t i = 0; i < s.members; ++i) {
    const fa::jcs::Member& m = members[i];
    CHECK(inside(m.key, input) && inside(m.value, input));
    std::string quoted;
    quoted.reserve(m.key.size() + 2);
    quoted.append(1, '"').append(m.key).append(1, '"');
    const nlohmann::json key = nlohmann::json::parse(quoted, nullptr, false);
    CHECK(key.is_string());
    const auto it = j.find(key.get<std::string>());
    CHECK(it != j.end());
    const nlohmann::json value = nlohmann::json::parse(m.value.begin(), m.value.end(), nullptr, false);
    CHECK(!value.is_discarded());
    CHECK(value == *it);
    CHECK(fa::jcs::serialize(value) == m.value);
  }
}

// Timestamps on their own: whatever parse_timestamp accepts formats back to the same 27 bytes, and every
// formatted instant (clamped to years 0000..9999) parses back to itself.
void check_timestamp(std::string_view input) {
  if (input.size() >= fa::record::kTimestampChars) {
    const std::string_view ts = input.substr(0, fa::record::kTimestampChars);
    std::int64_t micros = 0;
    if (fa::record::parse_timestamp(ts, &micros)) CHECK(fa::record::format_timestamp(micros) == ts);
  }
  if (input.size() >= sizeof(std::int64_t)) {
    std::int64_t raw;
    std::memcpy(&raw, input.data(), sizeof raw);
    constexpr std::int64_t kMin = -62167219200LL * 1000000, kMax = 253402300799LL * 1000000 + 999999;
    const std::int64_t micros = raw < kMin ? kMin : raw > kMax ? kMax : raw;
    const std::string ts = fa::record::format_timestamp(raw);
    std::int64_t back = 0;
    CHECK(fa::record::parse_timestamp(ts, &back));
    CHECK(back == micros);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_record(input);
  check_scan(input);
  check_timestamp(input);
  return 0;
}
