// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the RFC 8785 writer (jcs::serialize and its primitives) against nlohmann/json.
//
// Invariants (any violation aborts):
// - Any JSON nlohmann accepts either has no canonical form (jcs::Error) or serializes to a text that
//   nlohmann parses back to the same value, that serializes to itself again (idempotence) and that,
//   for an object, scan_object accepts. Conversely, a text that is its own canonical form is accepted.
// - append_string fails exactly on invalid UTF-8 (nlohmann's strict dump is the reference) and
//   otherwise writes a literal that decodes to the same bytes.
// - key_less orders valid UTF-8 strings by their UTF-16 code units (a reference transcoder here).
// - number_to_string writes, for every finite double, a number that reads back as the same double;
//   append_number writes the same text within the I-JSON bound and refuses it outside, and scan_object
//   accepts what it writes.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#define FA_FUZZ_TARGET "fuzz_jcs"
#include "fuzz_check.hpp"
#include "fooocus_audit/jcs.hpp"

namespace fa = fooocus_audit;
namespace jcs = fooocus_audit::jcs;

namespace {

bool try_serialize(const nlohmann::json& v, std::string* out) {
  try {
    *out = jcs::serialize(v);
    return true;
  } catch (const jcs::Error&) {
    return false;
  }
}

void check_document(std::string_view input) {
  const nlohmann::json v = nlohmann::json::parse(input.begin(), input.end(), nullptr, false);
  if (v.is_discarded()) return;
  std::string out;
  if (!try_serialize(v, &out)) return;

  const nlohmann::json back = nlohmann::json::parse(out, nullptr, false);
  CHECK(!back.is_discarded());
  CHECK(back == v);
  std::string again;
  CHECK(try_serialize(back, &again));
  CHECK(again == out);

  if (v.is_object()) {
    const jcs::ScanResult s = jcs::scan_object(out, nullptr, 0);
    if (!s)
      std::fprintf(stderr, "scan_object: %s at %zu of %s\n", jcs::problem_name(s.problem).data(), s.offset,
                   out.c_str());
    CHECK(s.problem == jcs::Problem::none);
    CHECK(s.total_members == v.size());
    // "iff": a text that is already its own canonical form must be accepted as it stands.
    if (out == input) CHECK(jcs::scan_object(input, nullptr, 0).problem == jcs::Problem::none);
  } else {
    // Any value is canonical as a member: {"a":<out>} must scan, unless wrapping exceeds the depth limit.
    nlohmann::json wrapped = nlohmann::json::object();
    wrapped["a"] = v;
    std::string w;
    if (try_serialize(wrapped, &w)) {
      CHECK(w == "{\"a\":" + out + "}");
      CHECK(jcs::scan_object(w, nullptr, 0).problem == jcs::Problem::none);
    }
  }
}

// Reference UTF-8 -> UTF-16 for valid input (validity is established by nlohmann first).
std::u16string to_utf16(std::string_view s) {
  std::u16string out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    std::uint32_t cp;
    if (*p < 0x80) {
      cp = *p++;
    } else if (*p < 0xE0) {
      cp = (p[0] & 0x1Fu) << 6 | (p[1] & 0x3Fu);
      p += 2;
    } else if (*p < 0xF0) {
      cp = (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
      p += 3;
    } else {
      cp = (p[0] & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu);
      p += 4;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  }
  return out;
}

bool valid_utf8_by_nlohmann(std::string_view s) {
  try {
    (void)nlohmann::json(std::string(s)).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

void check_string(std::string_view input) {
  std::string out;
  bool ok = true;
  try {
    jcs::append_string(out, input);
  } catch (const jcs::Error&) {
    ok = false;
  }
  CHECK(ok == valid_utf8_by_nlohmann(input));
  if (!ok) {
    CHECK(out.empty());
    return;
  }
  const nlohmann::json back = nlohmann::json::parse(out, nullptr, false);
  CHECK(back.is_string());
  CHECK(back.get_ref<const std::string&>() == input);
  const std::string obj = "{\"k\":" + out + "}";
  CHECK(jcs::scan_object(obj, nullptr, 0).problem == jcs::Problem::none);
  const std::string key_obj = "{" + out + ":0}";
  CHECK(jcs::scan_object(key_obj, nullptr, 0).problem == jcs::Problem::none);
}

void check_key_order(std::string_view input) {
  if (input.empty()) return;
  const std::size_t cut = static_cast<unsigned char>(input[0]) % input.size();
  const std::string_view a = input.substr(1, cut), b = input.substr(1 + cut);
  if (!valid_utf8_by_nlohmann(a) || !valid_utf8_by_nlohmann(b)) return;
  const std::u16string ua = to_utf16(a), ub = to_utf16(b);
  CHECK(jcs::key_less(a, b) == (ua < ub));
  CHECK(jcs::key_less(b, a) == (ub < ua));
  if (a == b) return;
  // A two-member object in that order scans iff the order is right, with escapes on either side.
  std::string sa, sb;
  jcs::append_string(sa, a);
  jcs::append_string(sb, b);
  const std::string obj = "{" + sa + ":0," + sb + ":1}";
  const jcs::Problem p = jcs::scan_object(obj, nullptr, 0).problem;
  CHECK(p == (ua < ub ? jcs::Problem::none : jcs::Problem::key_order));
}

void check_number(std::string_view input) {
  if (input.size() < sizeof(double)) return;
  double d;
  std::memcpy(&d, input.data(), sizeof d);
  std::string any;
  try {
    any = jcs::number_to_string(d);
  } catch (const jcs::Error&) {
    CHECK(!std::isfinite(d));
    return;
  }
  CHECK(std::isfinite(d));
  const nlohmann::json back = nlohmann::json::parse(any, nullptr, false);
  CHECK(back.is_number());
  CHECK(back.get<double>() == d);

  // append_number adds the I-JSON bound: integral values with 2^53 <= |v| < 1e21 are refused.
  const double mag = std::fabs(d);
  const bool in_policy = !(mag > static_cast<double>(jcs::max_safe_integer) && mag < 1e21);
  std::string out = "x";
  bool ok = true;
  try {
    jcs::append_number(out, d);
  } catch (const jcs::Error&) {
    ok = false;
  }
  CHECK(ok == in_policy);
  if (!ok) {
    CHECK(out == "x");
    return;
  }
  CHECK(out == "x" + any);
  std::string via_json;
  CHECK(try_serialize(nlohmann::json(d), &via_json));
  CHECK(via_json == any);
  CHECK(jcs::scan_object("{\"n\":" + any + "}", nullptr, 0).problem == jcs::Problem::none);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_document(input);
  check_string(input);
  check_key_order(input);
  check_number(input);
  return 0;
}
