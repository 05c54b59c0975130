// SPDX-License-Identifier: Apache-2.0
// The secret guard (secret_guard.hpp) alone and inside AuditLogger: keys in any string of an event, member
// names included, never reach the segment files; the log still verifies; the guard can be switched off (which
// shows that these tests can fail).

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/chain_verifier.hpp"
#include "fooocus_audit/detail/secret_detectors.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/secret_guard.hpp"
#include "support/files.hpp"
#include "support/log_fixture.hpp"
#include "support/logger_support.hpp"

namespace fa = fooocus_audit;
using nlohmann::json;

namespace {

// Keys assembled at run time so that this file holds nothing a secret scanner would flag.
const std::string kAws = std::string("AKIA") + "Q3EGRMPLT5ZX7WUV";
const std::string kGithub = std::string("gh") + "p_fIkRGaBu5PeKsznM" + "zXQOg3kETH1Sgx" + "2oIfSC";
const std::string kOpenAi = std::string("sk-") + "proj-" + "Ab3dEf6hIj9kLm2nOp5q" + "T3Blbk" "FJ" + "Zy8xWv7uTs6rQp5oNm4l";
const std::string kStripe = std::string("sk_") + "live_" + "4eC39HqLyjWDarjtT1zdp7dc";
const std::string kSlackPw = "Zx8Kq2LmN4pR7sT9vW1yB3c";  // a password value

std::string all_segment_bytes(const std::string& dir) {
  std::string all;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) all += fa_test::read_bytes(e.path().string());
  return all;
}

fa::LoggerOptions options_for(const std::string& dir) {
  fa::LoggerOptions o;
  o.dir = dir;
  o.durability = fa::Durability::none;
  o.clock_micros = fa_test::stepping_clock();
  return o;
}

json secret_event() {
  return {{"event_type", "app.error"},
          {"user_agent", "curl/8.0 (token " + kGithub + ")"},
          {"error", {{"message", "upstream refused key " + kAws + " for request 7"}, {"code", 401}}},
          {"attempts", json::array({"first", json::array({"nested: " + kOpenAi})})},
          {"header " + kStripe, "member name carries the key"},
          {"password", "hunter2"},
          {"prompt_hash", "sha256:" + std::string(64, 'c')}};
}

}  // namespace

TEST_CASE("secret guard: strings are redacted with type labels and a second pass finds nothing", "[guard]") {
  std::string s = "ua=" + kAws + " and " + kGithub + ", key " + kAws;
  CHECK(fa::guard_redact(s, {}) == 3);
  CHECK(s == "ua=[AWS_ACCESS_KEY_REDACTED] and [GITHUB_TOKEN_REDACTED], key [AWS_ACCESS_KEY_REDACTED]");
  std::string again = s;
  CHECK(fa::guard_redact(again, {}) == 0);
  CHECK(again == s);
  CHECK_FALSE(fa::detect::may_contain_secret(s));

  std::string off = kAws;
  CHECK(fa::guard_redact(off, fa::GuardOptions{false, fa::detect::kSecretDetectors}) == 0);
  CHECK(off == kAws);
  std::string only_github = kAws + " " + kGithub;
  CHECK(fa::guard_redact(only_github, fa::GuardOptions{true, fa::detect::mask_of(fa::detect::Detector::github_token)}) == 1);
  CHECK(only_github == kAws + " [GITHUB_TOKEN_REDACTED]");

  std::string plain = "a photo of a cat, key light, 8k";
  const void* data = plain.data();
  CHECK(fa::guard_redact(plain, {}) == 0);
  CHECK(plain.data() == data);  // not copied
}

TEST_CASE("secret guard: json events at any depth and in member names", "[guard]") {
  json ev = secret_event();
  CHECK(fa::guard_may_redact(ev, {}));
  const std::size_t n = fa::guard_redact(ev, {});
  CHECK(n == 5);
  const std::string dumped = ev.dump();
  for (const std::string& k : {kAws, kGithub, kOpenAi, kStripe, std::string("hunter2")})
    CHECK(dumped.find(k) == std::string::npos);
  CHECK(ev["user_agent"] == "curl/8.0 (token [GITHUB_TOKEN_REDACTED])");
  CHECK(ev["error"]["message"] == "upstream refused key [AWS_ACCESS_KEY_REDACTED] for request 7");
  CHECK(ev["attempts"][1][0] == "nested: [OPENAI_KEY_REDACTED]");
  CHECK(ev.contains("header [STRIPE_KEY_REDACTED]"));
  CHECK(ev["password"] == "[GENERIC_SECRET_REDACTED]");
  CHECK(ev["prompt_hash"] == "sha256:" + std::string(64, 'c'));
  json again = ev;
  CHECK(fa::guard_redact(again, {}) == 0);  // idempotent
  CHECK(again == ev);

  // Two names that redact to the same label stay two members.
  json two = {{"a " + kAws, 1}, {"a " + std::string("AKIA") + "ZZZZZZZZZZZZZZZZ", 2}};
  CHECK(fa::guard_redact(two, {}) == 2);
  CHECK(two.size() == 2);
  CHECK(two.contains("a [AWS_ACCESS_KEY_REDACTED]"));
  CHECK(two.contains("a [AWS_ACCESS_KEY_REDACTED] #2"));

  // Ordinary events: no trigger, nothing changes.
  const json plain = fa_test::sample_event(3);
  CHECK_FALSE(fa::guard_may_redact(plain, {}));
  json copy = plain;
  CHECK(fa::guard_redact(copy, {}) == 0);
  CHECK(copy == plain);
  // Member names that hold no secret: key_id, token_count.
  json ids = {{"event_type", "apikey.created"}, {"key_id", "key_2f9c"}, {"token_count", 77}, {"owner", "svc"}};
  CHECK_FALSE(fa::guard_may_redact(ids, {}));
}

TEST_CASE("secret guard: very deep json does not recurse", "[guard]") {
  json deep = kAws;
  for (int i = 0; i < 20000; ++i) deep = json::array({std::move(deep)});
  CHECK(fa::guard_may_redact(deep, {}));
  CHECK(fa::guard_redact(deep, {}) == 1);
  const json* j = &deep;
  while (j->is_array()) j = &(*j)[0];
  CHECK(*j == "[AWS_ACCESS_KEY_REDACTED]");
}

TEST_CASE("secret guard: the logger keeps keys out of the segment files and the log verifies", "[guard]") {
  for (const bool on : {true, false}) {
    fa_test::TempDir tmp;
    const std::string dir = tmp / "log";
    auto opt = options_for(dir);
    opt.secret_guard.enabled = on;
    auto lg = fa::AuditLogger::open(opt);
    REQUIRE(lg);
    REQUIRE((*lg)->log(secret_event()));
    REQUIRE((*lg)->log(fa_test::sample_event(1)));
    REQUIRE((*lg)->flush());
    CHECK((*lg)->stats().secrets_redacted == (on ? 5u : 0u));
    REQUIRE((*lg)->close());
    const std::string bytes = all_segment_bytes(dir);
    for (const std::string& k : {kAws, kGithub, kOpenAi, kStripe, std::string("hunter2")}) {
      INFO("guard " << on << " key " << k.substr(0, 6));
      CHECK((bytes.find(k) == std::string::npos) == on);  // guard off: the key is there (the test can fail)
    }
    for (const char* label : {"[GITHUB_TOKEN_REDACTED]", "[AWS_ACCESS_KEY_REDACTED]", "[OPENAI_KEY_REDACTED]",
                              "header [STRIPE_KEY_REDACTED]", "[GENERIC_SECRET_REDACTED]"})
      CHECK((bytes.find(label) != std::string::npos) == on);
    CHECK(fa_test::verify_path(dir).intact);
  }
}

TEST_CASE("secret guard: the GenerationEvent path redacts every string member", "[guard]") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto lg = fa::AuditLogger::open(options_for(dir));
  REQUIRE(lg);
  fa::GenerationEvent e = fa_test::generation_event("req_1");
  e.user_agent = "bot/1.0 " + kAws;
  e.request.prompt_sanitized = "a cat with api_key=" + kSlackPw + " in the sky";
  e.request.negative_prompt = "blurry, " + kGithub;
  e.request.loras = {{"lora " + kStripe, 0.5}};
  e.request.styles = {"Fooocus V2", kOpenAi};
  e.outputs[0].url = "https://deploy:" + kSlackPw + "@cdn.example.com/1.png";
  e.processing.worker_id = "gpu-0 " + kAws;
  const fa::GenerationEvent original = e;
  REQUIRE((*lg)->log(e));
  REQUIRE((*lg)->log(fa_test::generation_event("req_2")));  // no secret: the fast path
  REQUIRE((*lg)->flush());
  CHECK((*lg)->stats().secrets_redacted == 7);
  REQUIRE((*lg)->close());
  CHECK(e.user_agent == original.user_agent);  // the caller's event is not modified
  const std::string bytes = all_segment_bytes(dir);
  for (const std::string& k : {kAws, kGithub, kOpenAi, kStripe, kSlackPw}) CHECK(bytes.find(k) == std::string::npos);
  for (const char* label : {"bot/1.0 [AWS_ACCESS_KEY_REDACTED]", "api_key=[GENERIC_SECRET_REDACTED] in the sky",
                            "https://[URL_CREDENTIALS_REDACTED]@cdn.example.com/1.png", "lora [STRIPE_KEY_REDACTED]"})
    CHECK(bytes.find(label) != std::string::npos);
  CHECK(bytes.find("req_2") != std::string::npos);
  CHECK(fa_test::verify_path(dir).intact);

  fa::GenerationEvent copy = original;
  CHECK(fa::guard_may_redact(copy, {}));
  CHECK(fa::guard_redact(copy, {}) == 7);
  CHECK_FALSE(fa::guard_may_redact(copy, {}));
  CHECK_FALSE(fa::guard_may_redact(fa_test::generation_event("req_3"), {}));
}

TEST_CASE("secret guard: api key events with identifiers pass untouched and key material is still refused",
          "[guard]") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto lg = fa::AuditLogger::open(options_for(dir));
  REQUIRE(lg);
  const json created = {{"event_type", "apikey.created"}, {"key_id", "ak_01HXYZ3K8M9N2P4Q6R7S0T5VWX"},
                        {"owner", "svc-batch"}, {"scopes", {"images:generate"}}, {"actor", "admin@enterprise.com"}};
  REQUIRE((*lg)->log(created));
  // key material in key_id: refused by the schema (the guard is the second line for the other members)
  const fa::Status s = (*lg)->log(json{{"event_type", "apikey.created"}, {"key_id", kStripe}});
  CHECK(s.code() == fa::Code::invalid_argument);
  CHECK(s.message().find(kStripe) == std::string::npos);
  // a custom event type that is itself a key: redacting it breaks the event type, so the event is refused
  const std::string type_key = "sk-abcdefghij0123456789klmnop";
  const fa::Status t = (*lg)->log(json{{"event_type", type_key}});
  CHECK(t.code() == fa::Code::invalid_argument);
  CHECK(t.message().find("secret guard") != std::string::npos);
  CHECK(t.message().find(type_key) == std::string::npos);
  REQUIRE((*lg)->flush());
  CHECK((*lg)->stats().secrets_redacted == 0);
  CHECK((*lg)->stats().accepted == 1);
  REQUIRE((*lg)->close());
  const std::string bytes = all_segment_bytes(dir);
  CHECK(bytes.find(R"("key_id":"ak_01HXYZ3K8M9N2P4Q6R7S0T5VWX")") != std::string::npos);
  CHECK(bytes.find(type_key) == std::string::npos);
  CHECK(bytes.find(kStripe) == std::string::npos);
}

TEST_CASE("secret guard: 10 MB adversarial strings finish with the expected result", "[guard]") {
  auto repeat = [](const std::string& unit, std::size_t bytes) {
    std::string s;
    while (s.size() < bytes) s += unit;
    return s;
  };
  const std::size_t kSize = 10u << 20;
  {
    std::string s = repeat("password: ", kSize);
    const std::size_t n = fa::guard_redact(s, {});
    CHECK(n > 0);
    CHECK(s.find("[GENERIC_SECRET_REDACTED]") != std::string::npos);
  }
  {
    std::string s = repeat("eyJ.sk-.AKIA-----BEGIN PRIVATE KEY-----", kSize);
    CHECK(fa::guard_redact(s, {}) == 0);
  }
  {
    std::string s = repeat("1234567890@((", kSize) + " " + kGithub;
    CHECK(fa::guard_redact(s, {}) == 1);
    CHECK(s.compare(0, 13, "1234567890@((") == 0);
    CHECK(s.substr(s.size() - 23) == "[GITHUB_TOKEN_REDACTED]");
  }
}

TEST_CASE("secret guard: concurrent loggers redact every event", "[guard]") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto lg = fa::AuditLogger::open(options_for(dir));
  REQUIRE(lg);
  constexpr int kThreads = 4, kEach = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        json ev = {{"event_type", "app.request"},
                   {"user_agent", "client " + std::to_string(t) + " " + kAws},
                   {"n", i}};
        if (!(*lg)->log(ev)) ++failures;
        fa::GenerationEvent g = fa_test::generation_event("req_" + std::to_string(t) + "_" + std::to_string(i));
        g.user_agent = "ua " + kGithub;
        if (!(*lg)->log(g)) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  REQUIRE((*lg)->flush());
  CHECK((*lg)->stats().secrets_redacted == 2u * kThreads * kEach);
  REQUIRE((*lg)->close());
  const std::string bytes = all_segment_bytes(dir);
  CHECK(bytes.find(kAws) == std::string::npos);
  CHECK(bytes.find(kGithub) == std::string::npos);
  CHECK(fa_test::verify_path(dir).intact);
}

TEST_CASE("secret guard: the prefilter over canonical bytes answers as the tree guard", "[guard]") {
  auto canon = [](const json& j) {
    std::string s;
    fa::jcs::append(s, j);
    return s;
  };
  auto same = [&](const json& j) {
    INFO(canon(j));
    CHECK(fa::guard_may_redact_canonical(canon(j)) == fa::guard_may_redact(j, {}));
    return fa::guard_may_redact_canonical(canon(j));
  };
  // Ordinary events, with key words in member names that are not secret holders: no.
  CHECK_FALSE(same(fa_test::generation_event("req_3").to_json()));
  CHECK_FALSE(same(fa_test::sample_event(7)));
  CHECK_FALSE(same(json{{"event_type", "auth.failed"}, {"method", "password"}, {"api_key_id", "ak_01HXYZ3K8M9N2P4Q"},
                        {"token_count", 77}, {"prompt", "key light, monkey, secret garden, https://example.com/x"}}));
  CHECK_FALSE(same(json{{"password", 5}}));  // a secret holder without a string value
  // Secrets anywhere, member names and secret holders included.
  CHECK(same(secret_event()));
  CHECK(same(json{{"password", "hunter2"}}));
  CHECK(same(json{{"a", json::array({json{{"b", "x " + kAws}}})}}));
  CHECK(same(json{{"header " + kStripe, 1}}));
  // A key word right after a byte that JCS escapes: in the canonical text the byte before it is a letter or a
  // digit of the escape (\n, \u0001), which the prefilter still counts as a word start.
  CHECK(same(json{{"v", "\nsecret=" + kSlackPw}}));
  CHECK(same(json{{"v", std::string("\x01token: ") + kSlackPw}}));
  CHECK(same(json{{"v", "\"password\":\"" + kSlackPw + "\""}}));
  CHECK(same(json{{"v", "key\t" + kSlackPw}}));
  CHECK(same(json{{"v", "\\" + kOpenAi + "\""}}));

  // Other JSON texts: whitespace is allowed; an escape JCS never writes answers true (it could hide a trigger).
  CHECK(fa::guard_may_redact_canonical("{ \"password\" :\n \"hunter2\" }"));
  CHECK_FALSE(fa::guard_may_redact_canonical("{ \"note\" : \"ok\" }"));
  CHECK(fa::guard_may_redact_canonical(R"({"v":"\u0041KIAQ3EGRMPLT5ZX7WUV"})"));
  CHECK(fa::guard_may_redact_canonical(R"({"v":"https:\/\/admin:pw@db"})"));
  CHECK_FALSE(fa::guard_may_redact_canonical(R"({"v":"a\u001fb\\c\"d"})"));
  // Switched off, or no secret detector: false, as guard_may_redact.
  fa::GuardOptions off;
  off.enabled = false;
  CHECK_FALSE(fa::guard_may_redact_canonical(canon(secret_event()), off));
  fa::GuardOptions none;
  none.detectors = fa::detect::kPiiDetectors;
  CHECK_FALSE(fa::guard_may_redact_canonical(canon(secret_event()), none));
  // Bytes that are not JSON: any answer, but safe (the sanitizer builds check the reads).
  for (const char* junk : {"", "\"", "\\", "token", "\"key", "key\"", "\\u00", "\"a\\", "://@", "AKIA\"", "\"sk-"})
    (void)fa::guard_may_redact_canonical(junk);
}

TEST_CASE("secret guard: the canonical prefilter is linear on adversarial 10 MB events", "[guard]") {
  auto repeat = [](const std::string& unit, std::size_t bytes) {
    std::string s;
    while (s.size() < bytes) s += unit;
    return s;
  };
  auto canon = [](const json& j) {
    std::string s;
    fa::jcs::append(s, j);
    return s;
  };
  const std::size_t kSize = 10u << 20;
  // One string: every "://" looks for an '@' to the end of the string once, not once per "://".
  CHECK_FALSE(fa::guard_may_redact_canonical(canon(json{{"v", repeat("a:// ", kSize)}})));
  // Escapes everywhere; a trigger in every word of one string (the string is checked once).
  CHECK_FALSE(fa::guard_may_redact_canonical(canon(json{{"v", repeat("\"\\\n\x01", kSize)}})));
  CHECK_FALSE(fa::guard_may_redact_canonical(canon(json{{"v", repeat("key ", kSize)}})));
  // Many short strings that each hold a trigger but no secret.
  json many = json::array();
  for (std::size_t i = 0; i < kSize / 16; ++i) many.push_back("key light");
  CHECK_FALSE(fa::guard_may_redact_canonical(canon(many)));
  // The same with a secret at the very end.
  many.push_back("x " + kAws);
  CHECK(fa::guard_may_redact_canonical(canon(many)));
}
