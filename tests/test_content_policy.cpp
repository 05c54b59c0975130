// SPDX-License-Identifier: Apache-2.0
// ContentPolicyEnforcer (docs/content-policy.md): the three matcher kinds, word boundaries, case folding, any
// prompt bytes, RE2's linear time, rule file errors with their line, and the policy.violation and
// safety_check.completed events in a real log that verifies and holds the prompt's hash, never its text.
#include <fmt/format.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/content_policy.hpp"
#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/events.hpp"
#include "support/logger_support.hpp"

namespace fa = fooocus_audit;
namespace events = fooocus_audit::events;
using fa::Code;
using fa::ContentPolicyEnforcer;
using fa::MatcherKind;
using fa::PolicyRule;
using nlohmann::json;

namespace {

PolicyRule rule(std::string id, std::vector<std::string> keywords, std::vector<std::string> whole_words = {},
                std::vector<std::string> patterns = {},
                events::PolicyAction action = events::PolicyAction::rejected) {
  PolicyRule r;
  r.name = "Rule " + id;
  r.id = std::move(id);
  r.severity = events::Severity::high;
  r.action = action;
  r.keywords = std::move(keywords);
  r.whole_words = std::move(whole_words);
  r.patterns = std::move(patterns);
  return r;
}

ContentPolicyEnforcer make(std::vector<PolicyRule> rules) {
  auto p = ContentPolicyEnforcer::create(std::move(rules));
  INFO(p.status().to_string());
  REQUIRE(p.ok());
  return std::move(p).value();
}

bool matches(const ContentPolicyEnforcer& p, std::string_view prompt) {
  return !p.check(prompt).violations.empty();
}

// The status of parsing `text` as a rule file named "rules.json"; the test fails if it parses.
fa::Status parse_error(const std::string& text) {
  auto p = ContentPolicyEnforcer::parse(text, "rules.json");
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().code() == Code::invalid_argument);
  return p.status();
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Every byte of every segment of a log directory.
std::string log_bytes(const std::string& dir) {
  std::string all;
  for (const auto& seg : fa_test::segments(dir)) all += fa_test::read_bytes(seg.path);
  return all;
}

std::vector<json> events_of_type(const std::string& dir, std::string_view type) {
  std::vector<json> out;
  for (const json& e : fa_test::user_events(fa_test::read_records(dir)))
    if (e["event_type"] == type) out.push_back(e);
  return out;
}

constexpr char kPolicyFile[] = R"({
  "version": 1,
  "rules": [
    {
      "id": "weapons-001",
      "name": "Weapons manufacturing",
      "severity": "critical",
      "action": "reject",
      "keywords": ["ghost gun", "untraceable firearm"],
      "whole_words": ["pipe bomb"],
      "patterns": ["(?i)\\b3d[- ]?print(ed|ing)?\\s+(gun|rifle|pistol)s?\\b"]
    },
    {
      "id": "celebrity-002",
      "name": "Real person likeness",
      "severity": "medium",
      "action": "flag",
      "whole_words": ["deepfake"],
      "description": "Flag for review; not rejected."
    }
  ]
})";

}  // namespace

TEST_CASE("policy: keywords are case-insensitive substrings") {
  const auto p = make({rule("k1", {"ghost gun", "\xC3\x96LFASS"})});  // "ÖLFASS"
  CHECK(matches(p, "a ghost gun on a table"));
  CHECK(matches(p, "A GHOST Gun"));
  CHECK(matches(p, "theghost gunsmith"));  // a substring, boundaries do not matter
  CHECK_FALSE(matches(p, "ghostgun"));
  CHECK_FALSE(matches(p, "ghost  gun"));   // a literal: two spaces are not one
  CHECK(matches(p, "ein \xC3\xB6lfass"));  // "ölfass": Unicode case folding
  CHECK_FALSE(matches(p, "a watch on marble"));
  const auto v = p.check("GHOST GUN");
  REQUIRE(v.violations.size() == 1);
  CHECK(v.violations[0].matcher == MatcherKind::keyword);
  CHECK(v.violations[0].rule_id == "k1");
  CHECK(v.violations[0].rule_name == "Rule k1");
  CHECK(v.violations[0].severity == events::Severity::high);
}

TEST_CASE("policy: whole words need a non-word character or the end on both sides") {
  const auto p = make({rule("w1", {}, {"class", "pipe bomb", "caf\xC3\xA9", "c++"})});
  for (const char* yes : {"class", "Class!", "a class.", "(CLASS)", "first-class", "class\nnext", "x,class,y",
                          "a PIPE BOMB", "caf\xC3\xA9", "CAF\xC3\x89 au lait", "learn c++ now", "c++"}) {
    INFO(yes);
    CHECK(matches(p, yes));
  }
  for (const char* no : {"classic", "subclass", "class_a", "class2", "classes", "pipe bombs", "cafe",
                         "caf\xC3\xA9s", "abc++", "caf\xC3\xA9\xCC\x81"}) {  // last: é + combining acute
    INFO(no);
    CHECK_FALSE(matches(p, no));
  }
  // Letters beyond ASCII are word characters: "na" is not a word in "naïve".
  const auto na = make({rule("w2", {}, {"na"})});
  CHECK_FALSE(matches(na, "na\xC3\xAFve"));
  CHECK_FALSE(matches(na, "\xD0\x96na"));    // "Жna"
  CHECK(matches(na, "na\xE2\x80\x94"));      // "na—": an em dash is a boundary
  CHECK(matches(na, "\xC2\xA0na\xC2\xA0"));  // no-break spaces
  const auto v = p.check("a class");
  REQUIRE(v.violations.size() == 1);
  CHECK(v.violations[0].matcher == MatcherKind::whole_word);
}

TEST_CASE("policy: patterns are RE2 expressions, case-sensitive unless (?i)") {
  const auto p =
      make({rule("p1", {}, {}, {R"(\b3d[- ]?print(ed|ing)?\s+(gun|rifle)s?\b)"}),
            rule("p2", {}, {}, {R"((?i)credit\s*card\s*\d{4})"}), rule("p3", {}, {}, {R"(^only this$)"})});
  CHECK(matches(p, "a 3d-printed rifle"));
  CHECK(matches(p, "3d printing guns"));
  CHECK_FALSE(matches(p, "a 3D-printed rifle"));  // case-sensitive as written
  CHECK(matches(p, "CREDIT CARD 1234"));
  CHECK(matches(p, "only this"));
  CHECK_FALSE(matches(p, "not only this"));  // anchors refer to the whole prompt
  const auto v = p.check("credit card 0000");
  REQUIRE(v.violations.size() == 1);
  CHECK(v.violations[0].rule_id == "p2");
  CHECK(v.violations[0].matcher == MatcherKind::pattern);
}

TEST_CASE("policy: one violation per rule, in rule order - flag rules allow, reject rules do not") {
  const auto p = make({rule("r1", {"alpha"}, {"alpha"}, {"alp"}),  // every kind matches "alpha"
                       rule("r2", {"zzz"}), rule("r3", {}, {}, {"beta"}, events::PolicyAction::flagged)});
  auto v = p.check("beta alpha");
  REQUIRE(v.violations.size() == 2);
  CHECK(v.violations[0].rule_id == "r1");
  CHECK(v.violations[0].matcher == MatcherKind::keyword);  // the first kind that matched
  CHECK(v.violations[1].rule_id == "r3");
  CHECK(v.violations[1].action == events::PolicyAction::flagged);
  CHECK_FALSE(v.allowed);
  CHECK(v.reject());

  v = p.check("beta only");
  REQUIRE(v.violations.size() == 1);
  CHECK(v.allowed);  // flagged, not rejected

  v = p.check("nothing here");
  CHECK(v.allowed);
  CHECK(v.violations.empty());

  // 100 rules, each with its own keyword: the set maps every hit back to its rule.
  std::vector<PolicyRule> many;
  for (int i = 0; i < 100; ++i) many.push_back(rule(fmt::format("r{}", i), {fmt::format("word{:03}x", i)}));
  const auto big = make(std::move(many));
  v = big.check("word007x and WORD099X and word042x");
  REQUIRE(v.violations.size() == 3);
  CHECK(v.violations[0].rule_id == "r7");
  CHECK(v.violations[1].rule_id == "r42");
  CHECK(v.violations[2].rule_id == "r99");

  const auto empty = make({});
  CHECK(empty.check("anything").allowed);
  CHECK(empty.check("anything").violations.empty());
}

TEST_CASE("policy: any prompt bytes are safe - invalid UTF-8 is a word boundary") {
  const auto p = make({rule("u1", {"\xF0\x9F\x94\xAB"}, {"bomb"}, {"(?i)kn[i1]fe"})});  // keyword: 🔫
  CHECK(matches(p, "a \xF0\x9F\x94\xAB emoji"));
  CHECK(matches(p, "bomb\xFF"));  // an invalid byte does not hide the word
  CHECK(matches(p,
                "\xC3"
                "bomb"));  // a truncated sequence before it
  CHECK(matches(p, std::string("bomb\0x", 6)));
  CHECK(matches(p, std::string("x\0kn1fe", 7)));
  CHECK_FALSE(matches(p, "bo\xFFmb"));
  CHECK_FALSE(matches(p, ""));
  CHECK_FALSE(matches(p, "\xED\xA0\x80\xF4\x90\x80\x80\xC0\xAF"));  // surrogate, > U+10FFFF, overlong

  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 300, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 256);
    if (i % 3 == 0) s.insert(s.size() / 2, " bomb ");
    const auto v = p.check(s);
    if (i % 3 == 0) CHECK_FALSE(v.violations.empty());
  }
}

TEST_CASE("policy: RE2 runs catastrophic-backtracking patterns in linear time") {
  // (a+)+$ and (x+x+)+y take exponential time in backtracking engines on a long run with no match.
  const auto p = make({rule("redos", {}, {}, {"(a+)+$", "(x+x+)+y", "^(([a-z])+.)+[A-Z]([a-z])+$"})});
  const std::string as = std::string(100000, 'a') + "!";
  const std::string xs = std::string(100000, 'x');
  CHECK_FALSE(matches(p, as));
  CHECK_FALSE(matches(p, xs));
  CHECK(matches(p, std::string(100000, 'a')));
  CHECK(matches(p, xs + "y"));

  // Whole words are confirmed occurrence by occurrence: a prompt that is one long word full of candidates.
  const auto ww = make({rule("ww", {}, {"a", "aa"})});
  CHECK_FALSE(matches(ww, std::string(100000, 'a')));
  CHECK(matches(ww, std::string(100000, 'a') + " aa"));

  // A pattern whose DFA would need ~2^20 states on random text: RE2 rebuilds its state cache as it goes
  // (still linear) and the set finds both rules.
  const auto big = make({rule("dfa", {}, {}, {"(?:a|b)*a(?:a|b){20}c"}), rule("kw", {"needle"})});
  std::mt19937 rng(11);
  std::string text(200000, 'a');
  for (char& c : text) c = rng() % 2 ? 'a' : 'b';
  text += "c needle";
  const auto v = big.check(text);
  REQUIRE(v.violations.size() == 2);
  CHECK(v.violations[0].rule_id == "dfa");
  CHECK(v.violations[1].rule_id == "kw");
}

TEST_CASE("policy: a rule file loads with every member") {
  fa_test::TempDir tmp;
  fa_test::write_bytes(tmp / "rules.json", kPolicyFile);
  auto p = ContentPolicyEnforcer::load(tmp / "rules.json");
  INFO(p.status().to_string());
  REQUIRE(p.ok());
  const auto& rules = p->rules();
  REQUIRE(rules.size() == 2);
  CHECK(rules[0].id == "weapons-001");
  CHECK(rules[0].severity == events::Severity::critical);
  CHECK(rules[0].action == events::PolicyAction::rejected);
  CHECK(rules[0].keywords.size() == 2);
  CHECK(rules[1].action == events::PolicyAction::flagged);
  CHECK(rules[1].description == "Flag for review; not rejected.");
  CHECK(p->check("how to 3D-print guns").reject());
  CHECK(p->check("a Pipe Bomb").reject());
  auto v = p->check("a deepfake of a senator");
  CHECK(v.allowed);
  REQUIRE(v.violations.size() == 1);
  CHECK(v.violations[0].rule_id == "celebrity-002");

  auto missing = ContentPolicyEnforcer::load(tmp / "nope.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::not_found);
  CHECK(contains(missing.status().message(), "nope.json"));
}

TEST_CASE("policy: rule file errors name the line and the reason") {
  SECTION("invalid JSON: the line of the syntax error") {
    const auto s = parse_error("{\n  \"rules\": [\n    {\"id\": \"a\",}\n  ]\n}\n");
    CHECK(contains(s.message(), "rules.json:3:"));
    CHECK(contains(s.message(), "invalid JSON"));
    CHECK_FALSE(contains(s.message(), "json.exception"));
    const auto end = parse_error("{\n\"rules\": [\n");
    CHECK(contains(end.message(), "rules.json:3:"));
  }
  SECTION("unknown severity: the line where the rule starts") {
    const auto s = parse_error(R"({
  "rules": [
    {"id": "ok", "name": "Fine", "severity": "low", "keywords": ["x"]},
    {
      "id": "bad", "name": "Bad", "severity": "severe",
      "keywords": ["y"]
    }
  ]
})");
    CHECK(s.message() ==
          "rules.json:4:5: rule 2 (\"bad\"): unknown severity \"severe\" (expected low, medium, high or "
          "critical)");
  }
  SECTION("duplicate ids") {
    const auto s = parse_error(R"({"rules": [
  {"id": "dup", "name": "One", "severity": "low", "keywords": ["x"]},
  {"id": "other", "name": "Two", "severity": "low", "keywords": ["x"]},
  {"id": "dup", "name": "Three", "severity": "low", "keywords": ["x"]}
]})");
    CHECK(s.message() == "rules.json:4:3: rule 3 (\"dup\"): duplicate id (first defined at line 2)");
  }
  SECTION("an RE2 compile error, with RE2's message") {
    const auto s = parse_error(R"({"rules": [
  {"id": "ok", "name": "Fine", "severity": "low", "patterns": ["a+"]},

  {"id": "re", "name": "Broken", "severity": "high", "patterns": ["fine", "(unclosed"]}
]})");
    CHECK(contains(s.message(), "rules.json:4:3: rule 2 (\"re\"): patterns[1] does not compile: "));
    CHECK(contains(s.message(), "missing )"));
    // Syntax RE2 refuses on purpose (backreferences, lookaround) is reported the same way.
    CHECK(contains(
        parse_error(R"({"rules": [{"id": "b", "name": "B", "severity": "low", "patterns": ["(a)\\1"]}]})")
            .message(),
        "patterns[0] does not compile"));
    CHECK(contains(
        parse_error(R"j({"rules": [{"id": "l", "name": "L", "severity": "low", "patterns": ["a(?=b)"]}]})j")
            .message(),
        "patterns[0] does not compile"));
  }
  SECTION("members, types and values of a rule") {
    struct Case {
      const char* rule;
      const char* why;
    };
    for (const Case& c : std::vector<Case>{
             {R"("not an object")", "a rule must be a JSON object"},
             {R"({"name": "N", "severity": "low", "keywords": ["x"]})", "missing \"id\""},
             {R"({"id": "i", "severity": "low", "keywords": ["x"]})", "missing \"name\""},
             {R"({"id": "i", "name": "N", "keywords": ["x"]})", "missing \"severity\""},
             {R"({"id": "i", "name": "N", "severity": 3, "keywords": ["x"]})",
              "\"severity\" must be a string"},
             {R"({"id": "i", "name": "N", "severity": "low", "action": "block", "keywords": ["x"]})",
              "unknown action \"block\" (expected reject or flag)"},
             {R"({"id": "i", "name": "N", "severity": "low", "keyword": ["x"]})",
              "unknown member \"keyword\""},
             {R"({"id": "i", "name": "N", "severity": "low", "keywords": "x"})",
              "\"keywords\" must be an array of strings"},
             {R"({"id": "i", "name": "N", "severity": "low", "keywords": ["x", 2]})",
              "keywords[1] must be a string"},
             {R"({"id": "i", "name": "N", "severity": "low", "whole_words": [""]})",
              "whole_words[0] is empty"},
             {R"({"id": "i", "name": "N", "severity": "low", "patterns": [""]})", "patterns[0] is empty"},
             {R"({"id": "i", "name": "N", "severity": "low"})", "no matcher"},
             {R"({"id": "i", "name": "", "severity": "low", "keywords": ["x"]})", "name is empty"},
             {R"({"id": "has space", "name": "N", "severity": "low", "keywords": ["x"]})",
              "invalid id \"has space\""},
             {R"({"id": "", "name": "N", "severity": "low", "keywords": ["x"]})", "invalid id \"\""},
         }) {
      INFO(c.rule);
      const auto s = parse_error(std::string("{\n\"rules\": [\n\n  ") + c.rule + "\n]}");
      CHECK(contains(s.message(), "rules.json:4:3: rule 1"));
      CHECK(contains(s.message(), c.why));
    }
  }
  SECTION("the document") {
    CHECK(contains(parse_error("[]").message(), "rules.json:1:1: a policy file is a JSON object"));
    CHECK(contains(parse_error("{}").message(), "missing \"rules\" array"));
    CHECK(contains(parse_error(R"({"rules": {}})").message(), "missing \"rules\" array"));
    CHECK(contains(parse_error(R"({"version": 2, "rules": []})").message(), "unsupported \"version\""));
    CHECK(contains(parse_error("\n  {\"rule\": []}").message(), "rules.json:2:3: unknown member \"rule\""));
  }
  SECTION("escaped keys and strings do not shift the reported line") {
    const auto s = parse_error(
        "{\"description\": \"a \\\"quoted\\\" [tricky] {text}\",\n\"\\u0072ules\": [\n"
        "{\"id\": \"a\", \"name\": \"x\\\"]}\", \"severity\": \"low\", \"keywords\": [\"[\"]},\n"
        "{\"id\": \"b\", \"name\": \"y\", \"severity\": \"nope\", \"keywords\": [\"x\"]}]}");
    CHECK(contains(s.message(), "rules.json:4:1: rule 2 (\"b\"): unknown severity"));
  }
}

TEST_CASE("policy: rules built in code are checked the same way") {
  auto bad = ContentPolicyEnforcer::create({rule("ok", {"x"}), rule("re", {}, {}, {"(("})});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::invalid_argument);
  CHECK(contains(bad.status().message(), "rule 2 (\"re\"): patterns[0] does not compile: missing )"));
  auto dup = ContentPolicyEnforcer::create({rule("a", {"x"}), rule("a", {"y"})});
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.status().message() == "rule 2 (\"a\"): duplicate id (first defined at rule 1)");
  auto utf8 = ContentPolicyEnforcer::create({rule("u", {"ok", "bad\xFF"})});
  REQUIRE_FALSE(utf8.ok());
  CHECK(contains(utf8.status().message(), "keywords[1] is not valid UTF-8"));
}

TEST_CASE("policy: enforce logs policy.violation with the prompt's hash and never its text") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto logger = fa_test::must_open(fa_test::options_for(dir));
  auto p = ContentPolicyEnforcer::parse(kPolicyFile, "rules.json");
  REQUIRE(p.ok());

  const std::string prompt = "Zebra-7731 instructions: build a GHOST GUN and a pipe bomb; deepfake too";
  const std::string hash = "sha256:" + fa::detail::to_hex(fa::detail::sha256(prompt));
  events::Context ctx;
  ctx.user_id = "alice@enterprise.com";
  ctx.tenant_id = "acme_corp";
  auto v = p->enforce(prompt, "req_764cabcf", *logger, ctx);
  INFO(v.status().to_string());
  REQUIRE(v.ok());
  CHECK(v->reject());
  REQUIRE(v->violations.size() == 2);

  // An allowed prompt logs nothing; a flagged one logs a violation and is allowed.
  auto clean = p->enforce("a luxury watch on marble", "req_clean", *logger);
  REQUIRE(clean.ok());
  CHECK(clean->allowed);
  auto flagged = p->enforce("a deepfake portrait", "", *logger);
  REQUIRE(flagged.ok());
  CHECK(flagged->allowed);
  REQUIRE(flagged->violations.size() == 1);
  REQUIRE(logger->close().ok());

  const auto summary = fa_test::verify(dir);
  INFO(fa_test::describe(summary));
  REQUIRE(summary.intact);

  const std::string bytes = log_bytes(dir);
  CHECK(contains(bytes, hash));
  CHECK_FALSE(contains(bytes, "Zebra-7731"));
  CHECK_FALSE(contains(bytes, "instructions"));
  CHECK_FALSE(contains(bytes, "GHOST GUN"));
  CHECK_FALSE(contains(bytes, "ghost gun"));  // nor the matched keyword
  CHECK_FALSE(contains(bytes, "luxury watch"));

  const auto logged = events_of_type(dir, "policy.violation");
  REQUIRE(logged.size() == 3);
  for (const json& e : logged) {
    INFO(e.dump());
    CHECK(events::validate_event(e).ok());
    CHECK_FALSE(e.contains("prompt"));
    CHECK_FALSE(e.contains("prompt_sanitized"));
  }
  CHECK(logged[0]["prompt_hash"] == hash);
  CHECK(logged[0]["rule_id"] == "weapons-001");
  CHECK(logged[0]["rule_name"] == "Weapons manufacturing");
  CHECK(logged[0]["severity"] == "critical");
  CHECK(logged[0]["action"] == "rejected");
  CHECK(logged[0]["matcher"] == "keyword");
  CHECK(logged[0]["request_id"] == "req_764cabcf");
  CHECK(logged[0]["user_id"] == "alice@enterprise.com");
  CHECK(logged[0]["tenant_id"] == "acme_corp");
  CHECK(logged[1]["rule_id"] == "celebrity-002");
  CHECK(logged[1]["action"] == "flagged");
  CHECK(logged[1]["matcher"] == "whole_word");
  CHECK(logged[2]["rule_id"] == "celebrity-002");
  CHECK_FALSE(logged[2].contains("request_id"));  // enforce() without one
}

TEST_CASE("policy: a keyed prompt hash, and a hasher that misbehaves") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto logger = fa_test::must_open(fa_test::options_for(dir));
  auto p = ContentPolicyEnforcer::create({rule("k", {"forbidden"})});
  REQUIRE(p.ok());

  CHECK(fa::hmac_prompt_hasher("short").status().code() == Code::invalid_argument);
  const std::string key(32, 'K');
  auto hasher = fa::hmac_prompt_hasher(key);
  REQUIRE(hasher.ok());
  p->set_prompt_hasher(hasher.value());
  const std::string prompt = "Quokka-4411 forbidden thing";
  const std::string expected =
      "hmac-sha256:" + fa::detail::to_hex(fa::detail::hmac_sha256(key.data(), key.size(), prompt));
  CHECK(p->hash_prompt(prompt) == expected);
  REQUIRE(p->enforce(prompt, "req_1", *logger).ok());

  // A hasher that returns the prompt itself is refused before anything reaches the log.
  p->set_prompt_hasher([](std::string_view s) { return std::string(s); });
  auto bad = p->enforce("Platypus-9902 forbidden", "req_2", *logger);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::invalid_argument);
  CHECK_FALSE(contains(bad.status().message(), "Platypus"));
  p->set_prompt_hasher({});  // back to SHA-256
  CHECK(p->hash_prompt("x") == fa::sha256_prompt_hash("x"));
  REQUIRE(logger->close().ok());

  REQUIRE(fa_test::verify(dir).intact);
  const std::string bytes = log_bytes(dir);
  CHECK(contains(bytes, expected));
  CHECK_FALSE(contains(bytes, "Quokka"));
  CHECK_FALSE(contains(bytes, "Platypus"));
  CHECK(events_of_type(dir, "policy.violation").size() == 1);
}

TEST_CASE("policy: safety_check.completed is logged with the prompt hash") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto logger = fa_test::must_open(fa_test::options_for(dir));
  auto p = ContentPolicyEnforcer::create({});
  REQUIRE(p.ok());
  const std::string prompt = "Narwhal-5150 on a beach";
  events::Context ctx;
  ctx.user_id = "bob";
  REQUIRE(p->log_safety_check(prompt, "req_9", *logger, std::vector<bool>{false, true},
                              events::SafetyAction::flagged_for_review, "v2.1", ctx)
              .ok());
  REQUIRE(fa::log_safety_check(*logger, "req_10", fa::sha256_prompt_hash("other"), false,
                               events::SafetyAction::allowed)
              .ok());
  // Refused: a malformed hash (never logged) and a missing request_id.
  auto s = fa::log_safety_check(*logger, "req_11", "Narwhal-5150", true, events::SafetyAction::blocked);
  CHECK(s.code() == Code::invalid_argument);
  CHECK_FALSE(contains(s.message(), "Narwhal"));
  CHECK(fa::log_safety_check(*logger, "", fa::sha256_prompt_hash("x"), true, events::SafetyAction::blocked)
            .code() == Code::invalid_argument);
  REQUIRE(logger->close().ok());

  REQUIRE(fa_test::verify(dir).intact);
  CHECK_FALSE(contains(log_bytes(dir), "Narwhal"));
  const auto logged = events_of_type(dir, "safety_check.completed");
  REQUIRE(logged.size() == 2);
  for (const json& e : logged) CHECK(events::validate_event(e).ok());
  CHECK(logged[0]["request_id"] == "req_9");
  CHECK(logged[0]["prompt_hash"] == fa::sha256_prompt_hash(prompt));
  CHECK(logged[0]["has_nsfw_concepts"] == json::array({false, true}));
  CHECK(logged[0]["safety_checker_version"] == "v2.1");
  CHECK(logged[0]["action"] == "flagged_for_review");
  CHECK(logged[0]["user_id"] == "bob");
  CHECK(logged[1]["has_nsfw_concepts"] == false);
  CHECK(logged[1]["action"] == "allowed");
  CHECK_FALSE(logged[1].contains("safety_checker_version"));
}

TEST_CASE("policy: check runs concurrently on one enforcer from several threads") {
  std::vector<PolicyRule> rules;
  for (int i = 0; i < 50; ++i)
    rules.push_back(rule(fmt::format("r{}", i), {fmt::format("kw{}z", i)}, {fmt::format("ww{}", i)},
                         {fmt::format("(?i)pa+t{}q", i)}));
  const auto p = make(std::move(rules));
  const int iterations = fa_test::kUnderTsan ? 200 : 2000;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < iterations; ++i) {
        const int k = (i * 7 + t) % 50;
        const std::string prompt =
            fmt::format("some text kw{}z then ww{} and PAAT{}Q end", k, (k + 1) % 50, (k + 2) % 50);
        const auto v = p.check(prompt);
        if (v.violations.size() != 3) ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(wrong.load() == 0);
}
