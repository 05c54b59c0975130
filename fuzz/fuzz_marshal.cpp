// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the C ABI's event decoders (src/c_api/capi_event.cpp). Every input is read both as Python
// marshal data (fa_logger_log_marshal) and as JSON text (fa_logger_log's fast parser).
//
// Invariants (any violation aborts):
// - decode_marshal never crashes: it refuses (invalid_argument or too_large, with a message) or gives a tree
//   that is an object nested at most 64 levels, whose JSON text the fast JSON parser reads back to the same value.
// - decode_json_fast never takes a text that nlohmann's strict parser (parse_json_object) refuses, and when it
//   takes one its tree equals nlohmann's value, type for type and bit for bit.
// - Whenever a tree maps onto GenerationEvent (the typed back end), the event's canonical bytes equal those of the
//   tree as JSON (jcs::serialize), or both have none.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

// The C ABI's internals (not exported by libfooocus_audit_c), compiled here with the fuzzer's instrumentation.
#include "../src/c_api/capi_event.cpp"
#include "../src/c_api/capi_json.cpp"
#include "../tests/support/json_identical.hpp"

#define FA_FUZZ_TARGET "fuzz_marshal"
#include "fuzz_check.hpp"
#include "fooocus_audit/generation_event.hpp"
#include "fooocus_audit/jcs.hpp"

namespace {

namespace fa = fooocus_audit;
namespace capi = fooocus_audit::capi;
using nlohmann::json;

std::size_t depth(const json& j) {
  if (!j.is_structured()) return 0;
  std::size_t d = 0;
  for (const json& c : j) d = std::max(d, depth(c));
  return d + 1;
}

// The typed back end writes what the JSON back end writes.
void check_typed(const capi::EventTree& tree, const json& as_json, std::string_view input) {
  fa::GenerationEvent g;
  if (!capi::tree_to_generation_event(tree, &g)) return;
  std::string typed, generic;
  bool typed_ok = true, generic_ok = true;
  try {
    g.append_canonical(typed);
  } catch (const fa::jcs::Error&) {
    typed_ok = false;
  }
  try {
    generic = fa::jcs::serialize(as_json);
  } catch (const fa::jcs::Error&) {
    generic_ok = false;
  }
  CHECK(typed_ok == generic_ok);
  if (typed_ok) CHECK(typed == generic);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  capi::EventTree tree;
  const fa::Status s = capi::decode_marshal(data, size, &tree);
  if (!s.ok()) {
    CHECK(s.code() == fa::Code::invalid_argument || s.code() == fa::Code::too_large);
    CHECK(!s.message().empty());
  } else {
    const json j = capi::tree_to_json(tree);
    CHECK(j.is_object());
    CHECK(depth(j) <= capi::kMaxJsonDepth);
    const std::string text = j.dump();
    capi::EventTree back;
    CHECK(capi::decode_json_fast(text, &back));
    CHECK(fa_test::identical(capi::tree_to_json(back), j));
    check_typed(tree, j, input);
  }

  capi::EventTree fast;
  if (capi::decode_json_fast(input, &fast)) {
    json ref;
    CHECK(capi::parse_json_object(input.data(), input.size(), "event", &ref).ok());
    const json j = capi::tree_to_json(fast);
    CHECK(fa_test::identical(j, ref));
    check_typed(fast, j, input);
  }
  return 0;
}
