// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the secret guard's prefilter over canonical bytes (guard_may_redact_canonical,
// docs/privacy.md §4.5) against the guard on the JSON tree.
//
// Invariants (any violation aborts):
// - Any bytes: guard_may_redact_canonical reads only its input and returns (ASan/UBSan watch it).
// - Any JSON text nlohmann accepts: if guard_may_redact on the parsed value is true (or guard_redact changes
//   it), guard_may_redact_canonical on the text as given is true too (whitespace, any escape); and on the
//   canonical form (jcs::serialize) both answers are equal.
// - The input as one string (when it is valid UTF-8): as a value, a member name, and the value of a
//   "password" member, the canonical answer equals the tree answer, and is true whenever a redaction happens.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#define FA_FUZZ_TARGET "fuzz_guard"
#include "fuzz_check.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/secret_guard.hpp"

namespace fa = fooocus_audit;

namespace {

bool canonical(const nlohmann::json& v, std::string* out) {
  try {
    *out = fa::jcs::serialize(v);
    return true;
  } catch (const fa::jcs::Error&) {
    return false;
  }
}

void check_event(std::string_view input, const nlohmann::json& v, bool text_is_json) {
  const bool tree = fa::guard_may_redact(v, {});
  nlohmann::json copy = v;
  const bool redacts = fa::guard_redact(copy, {}) != 0;
  CHECK(tree || !redacts);
  if (text_is_json && tree) CHECK(fa::guard_may_redact_canonical(input));
  std::string c;
  if (!canonical(v, &c)) return;
  CHECK(fa::guard_may_redact_canonical(c) == tree);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)fa::guard_may_redact_canonical(input);

  const nlohmann::json v = nlohmann::json::parse(input.begin(), input.end(), nullptr, false);
  if (!v.is_discarded()) check_event(input, v, true);

  const std::string s(input);
  std::string probe;
  if (!canonical(nlohmann::json(s), &probe)) return 0;  // not valid UTF-8
  check_event(input, nlohmann::json{{"v", s}}, false);
  check_event(input, nlohmann::json{{s, 1}}, false);
  check_event(input, nlohmann::json{{"password", s}}, false);
  return 0;
}
