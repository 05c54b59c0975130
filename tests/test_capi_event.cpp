// SPDX-License-Identifier: Apache-2.0
// The C ABI's event decoding (src/c_api/capi_event.cpp): the fast JSON parser against nlohmann's, and the typed
// back end (AuditLogger::log(GenerationEvent)) against the JSON one, record byte for record byte. The marshal
// front end is compared with JSON through the library in bindings/python/tests/test_marshal.py (CPython writes
// the data) and fuzzed by fuzz/fuzz_marshal.cpp.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

// The C ABI's internals are not exported by libfooocus_audit_c: compiled here as they are there.
#include "../src/c_api/capi_event.cpp"
#include "../src/c_api/capi_json.cpp"
#include "support/logger_support.hpp"
#include "support/files.hpp"
#include "support/json_identical.hpp"

namespace {

namespace fa = fooocus_audit;
namespace capi = fooocus_audit::capi;
using nlohmann::json;

// The seed article's §2.2 example event (docs/events.md §4), as text with whitespace; shared with the Python tests
// and bench_ctypes.py.
const std::string kSeedEvent = fa_test::read_bytes(FA_SOURCE_DIR "/tests/data/seed_event.json");

// The fast parser takes `text` and gives what the reference parser gives, or leaves it to the reference parser.
void check_fast_parser(const std::string& text, bool must_take = false) {
  INFO(text.substr(0, 300));
  capi::EventTree tree;
  const bool fast = capi::decode_json_fast(text, &tree);
  json ref;
  const fa::Status s = capi::parse_json_object(text.data(), text.size(), "event", &ref);
  if (fast) {
    REQUIRE(s.ok());  // never more lenient than the reference
    CHECK(fa_test::identical(capi::tree_to_json(tree), ref));
  }
  if (must_take) CHECK(fast);
}

// The canonical event bytes of each user record in a log directory.
std::vector<std::string> event_bytes(const std::string& dir) {
  std::vector<std::string> out;
  for (const fa_test::ReadRecord& r : fa_test::read_records(dir)) {
    if (r.value["event"]["event_type"].get<std::string>().rfind("log.", 0) == 0) continue;
    const std::string head(fa::record::kRecordHeadOpen);
    REQUIRE(r.line.compare(0, head.size(), head) == 0);
    const std::size_t end = r.line.rfind(R"(,"log_id":")");
    REQUIRE(end != std::string::npos);
    out.push_back(r.line.substr(head.size(), end - head.size()));
  }
  return out;
}

struct Paths {
  fa_test::TempDir tmp;
  std::unique_ptr<fa::AuditLogger> reference, fast_auto, fast_json;

  Paths() {
    auto open = [&](const char* name) {
      fa::LoggerOptions o;
      o.dir = tmp / name;
      o.durability = fa::Durability::none;
      return fa_test::must_open(std::move(o));
    };
    reference = open("reference");
    fast_auto = open("auto");
    fast_json = open("json");
  }

  // Logs `text` through today's path (reference parser, log(json)) and through the tree with each back end: the
  // same status code; whether the typed back end took it is returned.
  bool log(const std::string& text) {
    INFO(text.substr(0, 400));
    json ref;
    fa::Status want = capi::parse_json_object(text.data(), text.size(), "event", &ref);
    if (want.ok()) want = reference->log(ref);
    capi::EventTree tree;
    if (!capi::decode_json_fast(text, &tree)) {
      CHECK(!want.ok());  // every valid JSON object of these tests is the fast parser's
      return false;
    }
    fa::GenerationEvent g;
    const bool typed = capi::tree_to_generation_event(tree, &g);
    const fa::Status a = capi::log_tree(*fast_auto, tree, capi::Backend::automatic);
    const fa::Status j = capi::log_tree(*fast_json, tree, capi::Backend::json_only);
    CHECK(a.code() == want.code());
    CHECK(j.code() == want.code());
    CHECK(a.message() == want.message());
    return typed;
  }

  void compare() {
    for (auto* l : {reference.get(), fast_auto.get(), fast_json.get()}) REQUIRE(l->close().ok());
    const auto r = event_bytes(tmp / "reference");
    const auto a = event_bytes(tmp / "auto");
    const auto j = event_bytes(tmp / "json");
    CHECK(r.size() >= 30);  // most events are accepted: the records compared are not a handful
    REQUIRE(r.size() == a.size());
    REQUIRE(r.size() == j.size());
    for (std::size_t i = 0; i < r.size(); ++i) {
      INFO("event " << i);
      CHECK(a[i] == r[i]);
      CHECK(j[i] == r[i]);
    }
  }
};

}  // namespace

TEST_CASE("capi events: the fast JSON parser reads what nlohmann reads, or leaves it to it", "[capi_event]") {
  check_fast_parser(kSeedEvent, true);
  for (const char* t : {
           R"({})", R"( {"a":1} )", R"({"a":[]})", R"({"a":{}})", R"({"a":[1,[2,[3]],{"b":null}]})",
           R"({"s":"\"\\\/\b\f\n\r\t\u0000\u00e9\u20AC\ud834\udd1e"})", R"({"s":"héllo ✓ 𝄞"})",
           R"({"n":0,"m":-0,"x":-0.0,"y":1E+2,"z":1e-400,"w":2.5e-308,"v":1.7976931348623157e308})",
           R"({"u":18446744073709551615,"o":18446744073709551616,"i":-9223372036854775808,"j":-9223372036854775809})",
           R"({"big":123456789012345678901234567890,"f":0.1,"g":100000000000000000000000.0})",
           "{\"a\"\t:\r\n1}", R"({"a":true,"b":false,"c":null})"})
    check_fast_parser(t, true);
  // Refused by both, or left to the reference parser (which takes a byte order mark).
  for (const char* t : {
           "", " ", "[]", "1", "\"s\"", "null", "{", "}", R"({"a":1,})", R"({"a":1 "b":2})", R"({"a":01})",
           R"({"a":1.})", R"({"a":.5})", R"({"a":1e})", R"({"a":-})", R"({"a":+1})", R"({"a":tru})",
           R"({"a":nul})", R"({"a":"\x"})", R"({"a":"\u12"})", R"({"a":"\ud800"})", R"({"a":"\udc00\ud800"})",
           R"({"a":"\ud800\u0041"})", "{\"a\":\"\x01\"}", R"({"a":1}{)", R"({"a":1} x)", R"({"a":1,"a":2})",
           R"({"a":1e999})", R"({"a":-1e999})", R"({'a':1})", R"({a:1})", "\xEF\xBB\xBF{\"a\":1}",
           "{\"a\":\"\xC3\"}", "{\"a\":\"\xED\xA0\x80\"}", R"({"a":[1,]})", R"({"a":[,1]})", R"({"a":NaN})",
           R"({"a":Infinity})", R"({"a":1}//)"})
    check_fast_parser(t);
  check_fast_parser(std::string("{\"a\":1}\0", 8));
  // Depth: 64 levels are taken, 65 are not.
  check_fast_parser(std::string(63, '[').insert(0, "{\"a\":") + std::string(63, ']') + "}", true);
  check_fast_parser(std::string(64, '[').insert(0, "{\"a\":") + std::string(64, ']') + "}");
  // A large object: duplicates found through the hash set too.
  std::string many = "{";
  for (int i = 0; i < 100; ++i) many += fmt::format("\"k{}\":{},", i, i);
  check_fast_parser(many + "\"k99\":0}");
  check_fast_parser(many + "\"k100\":0}", true);

  SECTION("random documents") {
    std::mt19937_64 rng(20260325);
    const std::vector<std::string> strings{"", "a", "héllo", "\\u00e9", "\\ud834\\udd1e", "tab\\t", "q\\\"", "✓",
                                           "\\/", "0"};
    const std::vector<std::string> numbers{"0",       "-0",   "1",    "-1",        "4.0",     "0.1",
                                           "1e2",     "1E-2", "-0.0", "123456789", "1e-320",  "9007199254740993",
                                           "18446744073709551615", "18446744073709551616", "-9223372036854775809",
                                           "2.2250738585072014e-308", "5e-324", "1.5e300"};
    std::function<std::string(int)> gen = [&](int depth) -> std::string {
      const int k = static_cast<int>(rng() % (depth > 5 ? 4 : 6));
      switch (k) {
        case 0: return "\"" + strings[rng() % strings.size()] + "\"";
        case 1: return numbers[rng() % numbers.size()];
        case 2: return std::vector<std::string>{"true", "false", "null"}[rng() % 3];
        case 3: return "\"" + strings[rng() % strings.size()] + strings[rng() % strings.size()] + "\"";
        case 4: {
          std::string s = "[";
          const int n = static_cast<int>(rng() % 4);
          for (int i = 0; i < n; ++i) s += (i ? "," : "") + gen(depth + 1);
          return s + "]";
        }
        default: {
          std::string s = "{";
          const int n = static_cast<int>(rng() % 4);
          for (int i = 0; i < n; ++i) s += fmt::format("{}\"m{}\":{}", i ? "," : "", i, gen(depth + 1));
          return s + "}";
        }
      }
    };
    for (int i = 0; i < 2000; ++i) check_fast_parser("{\"r\":" + gen(0) + "}", true);
  }
}

TEST_CASE("capi events: typed and JSON back ends write the same records as the reference path", "[capi_event]") {
  Paths p;
  const json seed = json::parse(kSeedEvent);
  CHECK(p.log(kSeedEvent));  // the seed event takes the typed path
  CHECK(p.log(seed.dump()));

  // Near-misses: each either stays typed (a different value) or goes to log(json); never a different record.
  const std::vector<std::pair<std::string, std::function<void(json&)>>> edits{
      {"extra member", [](json& e) { e["extra"] = 1; }},
      {"extra request member", [](json& e) { e["request"]["extra"] = "x"; }},
      {"missing member", [](json& e) { e.erase("user_agent"); }},
      {"missing request member", [](json& e) { e["request"].erase("seed"); }},
      {"other event type", [](json& e) { e["event_type"] = "acme.generation"; }},
      {"wrong type: int as string", [](json& e) { e["request"]["num_images"] = "1"; }},
      {"wrong type: string as int", [](json& e) { e["user_id"] = 7; }},
      {"int where a float is", [](json& e) { e["request"]["guidance_scale"] = 4; }},
      {"float where an int is", [](json& e) { e["outputs"][0]["width"] = 1024.0; }},
      {"big seed 2^53", [](json& e) { e["request"]["seed"] = 9007199254740992ull; }},
      {"seed 2^53-1", [](json& e) { e["request"]["seed"] = 9007199254740991ull; }},
      {"seed 2^64-1", [](json& e) { e["request"]["seed"] = 18446744073709551615ull; }},
      {"seed as string", [](json& e) { e["request"]["seed"] = "18446744073709551615"; }},
      {"negative seed", [](json& e) { e["request"]["seed"] = -1; }},
      {"negative count", [](json& e) { e["processing"]["queue_wait_ms"] = -5; }},
      {"count above 2^53", [](json& e) { e["outputs"][0]["file_size_bytes"] = 9007199254740993ull; }},
      {"num_images 0", [](json& e) { e["request"]["num_images"] = 0; }},
      {"bad timestamp", [](json& e) { e["timestamp"] = "yesterday"; }},
      {"empty timestamp", [](json& e) { e["timestamp"] = ""; }},
      {"bad hash", [](json& e) { e["outputs"][0]["hash"] = "md5:00"; }},
      {"empty hash", [](json& e) { e["outputs"][0]["hash"] = ""; }},
      {"missing request_id", [](json& e) { e["request_id"] = ""; }},
      {"unicode",
       [](json& e) { e["request"]["prompt_sanitized"] = "montre de luxe ✓ sur marbre 𝄞 \u00e9\t\"q\""; }},
      {"NUL in a string", [](json& e) { e["user_agent"] = std::string("a\0b", 3); }},
      {"a secret in the prompt",
       [](json& e) { e["request"]["prompt_sanitized"] = "watch, api key sk-proj-4eC39HqLyjWDarjtT1zdp7dc"; }},
      {"a secret in a style", [](json& e) { e["request"]["styles"][1] = "AKIAIOSFODNN7EXAMPLE"; }},
      {"nsfw flags array", [](json& e) { e["safety"]["has_nsfw_concepts"] = json::array({false, true}); }},
      {"lora extra member", [](json& e) { e["request"]["loras"][0]["x"] = 1; }},
      {"lora weight int", [](json& e) { e["request"]["loras"][0]["weight"] = 1; }},
      {"lora without weight", [](json& e) { e["request"]["loras"][0].erase("weight"); }},
      {"no loras, no styles, no outputs",
       [](json& e) {
         e["request"]["loras"] = json::array();
         e["request"]["styles"] = json::array();
         e["outputs"] = json::array();
       }},
      {"three outputs",
       [](json& e) {
         e["outputs"].push_back(e["outputs"][0]);
         e["outputs"].push_back(e["outputs"][0]);
       }},
      // The typed back end reuses its last event's array elements (and their strings): fewer, shorter ones
      // after more, longer ones must leave nothing behind.
      {"two long outputs, two long loras, three styles",
       [](json& e) {
         e["outputs"].push_back(e["outputs"][0]);
         e["outputs"][1]["url"] = "s3://" + std::string(300, 'u');
         e["request"]["loras"].push_back({{"name", std::string(200, 'l')}, {"weight", 0.25}});
         e["request"]["styles"].push_back(std::string(100, 's'));
       }},
      {"one short output, one short lora, one style",
       [](json& e) {
         e["outputs"][0]["url"] = "s3://b/k.png";
         e["request"]["loras"][0]["name"] = "l";
         e["request"]["styles"] = json::array({"S"});
       }},
      {"style a number", [](json& e) { e["request"]["styles"][0] = 3; }},
      {"outputs an object", [](json& e) { e["outputs"] = json::object(); }},
      {"request null", [](json& e) { e["request"] = nullptr; }},
      {"safety bool", [](json& e) { e["safety"]["has_nsfw_concepts"] = true; }},
      {"guidance -0.0", [](json& e) { e["request"]["guidance_scale"] = -0.0; }},
      {"guidance tiny", [](json& e) { e["request"]["guidance_scale"] = 5e-324; }},
      {"guidance huge", [](json& e) { e["request"]["sharpness"] = 1.7976931348623157e308; }},
      // Integral doubles beyond 2^53-1 (below 1e21 JCS writes them as integers): refused by both back ends
      // with the same message, which names the member.
      {"sharpness 2^60", [](json& e) { e["request"]["sharpness"] = 1152921504606846976.0; }},
      {"guidance -2^53-2", [](json& e) { e["request"]["guidance_scale"] = -9007199254740994.0; }},
      {"lora weight 1e20", [](json& e) { e["request"]["loras"][0]["weight"] = 1e20; }},
      {"lora weight 1e21", [](json& e) { e["request"]["loras"][0]["weight"] = 1e21; }},
      {"generation.submitted", [](json& e) {
         json s{{"event_type", "generation.submitted"}, {"request_id", "r1"}, {"request", e["request"]}};
         e = s;
       }},
      {"log. prefix", [](json& e) { e["event_type"] = "log.opened"; }},
      {"bad event type", [](json& e) { e["event_type"] = "Image Generation"; }},
  };
  int typed = 0;
  for (const auto& [name, edit] : edits) {
    INFO(name);
    json e = seed;
    edit(e);
    typed += p.log(e.dump()) ? 1 : 0;
  }
  CHECK(typed >= 12);  // the value edits that keep the shape stay on the typed path

  // Deep, wide and custom events.
  p.log(std::string(62, '[').insert(0, R"({"event_type":"acme.deep","a":)") + std::string(62, ']') + "}");
  p.log(std::string(63, '[').insert(0, R"({"event_type":"acme.deep","a":)") + std::string(63, ']') + "}");
  p.log(R"({"event_type":"acme.nums","a":[0,-0,-0.0,1e-400,18446744073709551616,1e21,1e-7,0.1,123456789012345678]})");
  p.log(R"({"event_type":"acme.keys","":1,"é":2,"\u0000":3,"a\"b":4})");
  p.compare();
}
