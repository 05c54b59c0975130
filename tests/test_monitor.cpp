// SPDX-License-Identifier: Apache-2.0
// Monitor, the rule engine of docs/monitoring.md, driven with a synthetic clock: each rule kind at its
// boundaries, grouping, tenant isolation, throttling, caps, the four default rules and rule-file errors.

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fooocus_audit/events.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/monitor.hpp"

using fooocus_audit::Alert;
using fooocus_audit::Monitor;
using fooocus_audit::MonitorRule;
using fooocus_audit::RuleKind;
using nlohmann::json;

namespace {

constexpr std::int64_t kSec = 1000000;
constexpr std::int64_t kMin = 60 * kSec;
constexpr std::int64_t kHour = 60 * kMin;
constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kT0 = 1774000000LL * kSec;  // 2026-03-20, a day boundary plus some hours

/// A monitor fed one event at a time with an explicit sequence number and time.
struct Feed {
  std::shared_ptr<Monitor> m;
  std::uint64_t seq = 0;
  std::vector<Alert> all;

  explicit Feed(std::vector<MonitorRule> rules) {
    auto r = Monitor::create(std::move(rules));
    INFO(r.status().to_string());
    REQUIRE(r.ok());
    m = r.value();
  }
  explicit Feed(const std::string& rules_json) {
    auto rules = Monitor::parse_rules(rules_json);
    INFO(rules.status().to_string());
    REQUIRE(rules.ok());
    auto r = Monitor::create(rules.value());
    INFO(r.status().to_string());
    REQUIRE(r.ok());
    m = r.value();
  }
  std::vector<Alert> operator()(const json& ev, std::int64_t ts) {
    std::vector<Alert> a = m->observe(m->extract(ev), seq++, ts);
    for (const Alert& x : a) all.push_back(x);
    return a;
  }
};

json failed(const std::string& tenant, const std::string& user = "mallory") {
  return {{"event_type", "auth.failed"}, {"tenant_id", tenant}, {"user_id", user}, {"ip_address", "198.51.100.7"}};
}

MonitorRule find_default(const std::string& name) {
  for (const MonitorRule& r : Monitor::default_rules())
    if (r.name == name) return r;
  FAIL("no default rule " << name);
  return {};
}

std::string error_of(const std::string& text) {
  auto r = Monitor::parse_rules(text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == fooocus_audit::Code::invalid_argument);
  return r.status().message();
}

}  // namespace

TEST_CASE("monitor: threshold fires on the 11th failure within 5 minutes and not on the 10th", "[monitor]") {
  Feed f({find_default("excessive_failed_auth")});
  for (int i = 0; i < 10; ++i) CHECK(f(failed("acme"), kT0 + i * kSec).empty());
  auto a = f(failed("acme"), kT0 + 5 * kMin);  // the window [t - 5 min, t] is inclusive: the first still counts
  REQUIRE(a.size() == 1);
  CHECK(a[0].rule == "excessive_failed_auth");
  CHECK(a[0].kind == RuleKind::threshold);
  CHECK(a[0].value == 11);
  CHECK(a[0].threshold == 10.0);
  CHECK(a[0].window_seconds == 300);
  CHECK(a[0].first_seq == 0);
  CHECK(a[0].last_seq == 10);
  CHECK(a[0].tenant_id == "acme");
  CHECK(a[0].severity == fooocus_audit::events::Severity::medium);
}

TEST_CASE("monitor: threshold window slides - an event 5 min + 1 us older no longer counts", "[monitor]") {
  Feed f({find_default("excessive_failed_auth")});
  CHECK(f(failed("acme"), kT0).empty());
  for (int i = 1; i < 10; ++i) CHECK(f(failed("acme"), kT0 + 4 * kMin + i).empty());
  // 11th event 5 min + 1 us after the first: the first has left the window, 10 remain.
  CHECK(f(failed("acme"), kT0 + 5 * kMin + 1).empty());
  // One more inside the window makes 11 again.
  auto a = f(failed("acme"), kT0 + 5 * kMin + 2);
  REQUIRE(a.size() == 1);
  CHECK(a[0].value == 11);
  CHECK(a[0].first_seq == 1);
}

TEST_CASE("monitor: throttling raises once per window while the group stays above", "[monitor]") {
  Feed f({find_default("excessive_failed_auth")});
  std::int64_t t = kT0;
  for (int i = 0; i < 11; ++i) f(failed("acme"), t += kSec);
  REQUIRE(f.all.size() == 1);
  const std::int64_t raised_at = t;
  // A burst keeps the count above 10 for a long time: nothing more until the window has passed.
  while (t < raised_at + 5 * kMin) {
    f(failed("acme"), t);
    t += kSec;
  }
  CHECK(f.all.size() == 1);
  CHECK(f(failed("acme"), raised_at + 5 * kMin).empty());  // t == t0 + W: still quiet
  auto a = f(failed("acme"), raised_at + 5 * kMin + 1);    // t > t0 + W and still above
  REQUIRE(a.size() == 1);
  CHECK(a[0].value > 11);
}

TEST_CASE("monitor: groups and tenants are counted apart", "[monitor]") {
  Feed f(R"({"rules":[{"name":"per_user","kind":"threshold","severity":"high","event_types":"auth.failed",
             "group_by":["user_id"],"window_seconds":60,"threshold":2}]})");
  std::int64_t t = kT0;
  // Three failures, each for another user or tenant: no group goes above 2.
  for (const auto& [tenant, user] : std::vector<std::pair<std::string, std::string>>{
           {"acme", "alice"}, {"acme", "bob"}, {"globex", "alice"}, {"acme", "alice"}, {"globex", "alice"},
           {"acme", "bob"}})
    CHECK(f(failed(tenant, user), t += kSec).empty());
  auto a = f(failed("globex", "alice"), t += kSec);
  REQUIRE(a.size() == 1);
  CHECK(a[0].tenant_id == "globex");
  REQUIRE(a[0].group.size() == 1);
  CHECK(a[0].group[0] == std::make_pair(std::string("user_id"), std::string("alice")));
  const json j = a[0].to_json();
  CHECK(j["tenant_id"] == "globex");
  CHECK(j["user_id"] == "alice");
  CHECK(j["group"] == json{{"user_id", "alice"}});
  CHECK(fooocus_audit::events::validate_event(j).ok());
  // An event without the group field does not count at all.
  json anon = failed("globex");
  anon.erase("user_id");
  for (int i = 0; i < 5; ++i) CHECK(f(anon, t += kSec).empty());
}

TEST_CASE("monitor: a tenant named like another tenant's group cannot merge with it", "[monitor]") {
  // Keys are length-prefixed: tenant "a" + user "b:c" differs from tenant "a:b" + user "c" and the like.
  Feed f(R"([{"name":"r","kind":"threshold","event_types":"auth.failed","group_by":"user_id",
             "window_seconds":60,"threshold":1}])");
  CHECK(f(failed("1:a", "b"), kT0).empty());
  CHECK(f(failed("1", "a1:b"), kT0 + 1).empty());
  CHECK(f(failed("", "1:a1:b"), kT0 + 2).empty());
  CHECK(f.m->groups() == 3);
}

TEST_CASE("monitor: where conditions select events", "[monitor]") {
  Feed f({find_default("nsfw_pattern")});
  auto check = [](std::string request, json flags) {
    return json{{"event_type", "safety_check.completed"}, {"tenant_id", "acme"}, {"request_id", std::move(request)},
                {"prompt_hash", "sha256:" + std::string(64, 'a')}, {"has_nsfw_concepts", std::move(flags)},
                {"action", "flagged_for_review"}};
  };
  std::int64_t t = kT0;
  // Clean checks never count, whatever their number.
  for (int i = 0; i < 20; ++i) CHECK(f(check("r", json::array({false, false})), t += kSec).empty());
  CHECK(f(check("r", false), t += kSec).empty());
  // Five NSFW detections (a bool or any true in an array) are not more than five.
  for (int i = 0; i < 5; ++i) CHECK(f(check("r", i % 2 ? json(true) : json::array({false, true})), t += kSec).empty());
  auto a = f(check("r", json::array({true})), t += kSec);
  REQUIRE(a.size() == 1);
  CHECK(a[0].rule == "nsfw_pattern");
  CHECK(a[0].value == 6);
  CHECK(a[0].severity == fooocus_audit::events::Severity::high);
  // generation.completed also carries a safety verdict: not counted, so one detection is never counted twice.
  Feed g({find_default("nsfw_pattern")});
  for (int i = 0; i < 10; ++i)
    CHECK(g(json{{"event_type", "generation.completed"}, {"request_id", "r"}, {"safety", {{"has_nsfw_concepts", true}}}},
            kT0 + i)
              .empty());
  CHECK(g.m->groups() == 0);
}

TEST_CASE("monitor: where operators equals in exists and numbers compare as numbers", "[monitor]") {
  Feed f(R"([{"name":"r","kind":"threshold","event_types":["acme.job"],"window_seconds":10,"threshold":0,
             "where":{"code":{"in":[500,503]},"retry":false,"region":{"exists":true},"note":{"exists":false}}}])");
  std::int64_t t = kT0;
  CHECK(f({{"event_type", "acme.job"}, {"code", 200}, {"retry", false}, {"region", "eu"}}, t += kMin).empty());
  CHECK(f({{"event_type", "acme.job"}, {"code", 500}, {"retry", true}, {"region", "eu"}}, t += kMin).empty());
  CHECK(f({{"event_type", "acme.job"}, {"code", 500}, {"retry", false}}, t += kMin).empty());
  CHECK(f({{"event_type", "acme.job"}, {"code", 500}, {"retry", false}, {"region", "eu"}, {"note", "x"}}, t += kMin)
            .empty());
  CHECK(f({{"event_type", "acme.job"}, {"code", "500"}, {"retry", false}, {"region", "eu"}}, t += kMin).empty());
  CHECK(f({{"event_type", "acme.job"}, {"code", 503.0}, {"retry", false}, {"region", "eu"}}, t += kMin).size() == 1);
}

TEST_CASE("monitor: baseline needs its minimum history and compares with the typical day", "[monitor]") {
  MonitorRule r = find_default("unusual_generation_volume");  // 1 h > 2 x mean of up to 7 days, 3 days min, >= 5
  Feed f({r});
  auto gen = [](const std::string& user) {
    return json{{"event_type", "generation.submitted"}, {"tenant_id", "acme"}, {"user_id", user}, {"request_id", "q"}};
  };
  const std::int64_t day0 = (kT0 / kDay) * kDay;
  // Day 0: a heavy first day alone is no alert (no history yet), whatever the volume.
  for (int i = 0; i < 50; ++i) CHECK(f(gen("alice"), day0 + 10 * kHour + i * kSec).empty());
  // Days 1 and 2: two events a day. Still fewer than 3 complete days of history on day 2.
  for (int d = 1; d <= 2; ++d)
    for (int i = 0; i < 2; ++i) CHECK(f(gen("alice"), day0 + d * kDay + 9 * kHour + i * kSec).empty());
  for (int i = 0; i < 60; ++i) CHECK(f(gen("alice"), day0 + 2 * kDay + 12 * kHour + i * kSec).empty());
  // Day 3: history = days 0..2 = 50 + 2 + 62 = 114 over 3 days, typical 38, limit 76.
  std::int64_t t = day0 + 3 * kDay + 8 * kHour;
  for (int i = 0; i < 76; ++i) CHECK(f(gen("alice"), t += kSec).empty());
  auto a = f(gen("alice"), t += kSec);
  REQUIRE(a.size() == 1);
  CHECK(a[0].kind == RuleKind::baseline);
  CHECK(a[0].value == 77);
  CHECK(a[0].baseline == Approx(38.0));
  CHECK(a[0].threshold == Approx(76.0));
  CHECK(a[0].group == std::vector<std::pair<std::string, std::string>>{{"user_id", "alice"}});
  const json j = a[0].to_json();
  CHECK(fooocus_audit::events::validate_event(j).ok());
  CHECK(j["kind"] == "baseline");
  // Another user with no history at all never alerts, and bob's volume does not move alice's baseline.
  for (int i = 0; i < 200; ++i) CHECK(f(gen("bob"), t += kSec).empty());
}

TEST_CASE("monitor: baseline with a quiet history alerts above min_count only", "[monitor]") {
  MonitorRule r = find_default("unusual_generation_volume");
  Feed f({r});
  auto gen = json{{"event_type", "generation.submitted"}, {"user_id", "carol"}, {"request_id", "q"}};
  const std::int64_t day0 = (kT0 / kDay) * kDay;
  CHECK(f(gen, day0).empty());  // first seen on day 0, then silent: typical = 1/7 .. 1/3, 2 x that < 1
  std::int64_t t = day0 + 8 * kDay + kHour;  // idle 8 days > baseline_days: the group was forgotten
  for (int i = 0; i < 10; ++i) CHECK(f(gen, t += kSec).empty());
  t = day0 + 12 * kDay;  // 4 days after its return: history 4 days, 10 events, typical 2.5, limit 5
  for (int i = 0; i < 5; ++i) CHECK(f(gen, t += kSec).empty());
  CHECK(f(gen, t += kSec).size() == 1);
  CHECK(f.all.back().tenant_id.empty());
  CHECK_FALSE(f.all.back().to_json().contains("tenant_id"));
}

TEST_CASE("monitor: new_value learns a key's first value and alerts on a new one once", "[monitor]") {
  Feed f({find_default("api_key_anomaly")});
  auto used = [](const std::string& key, const std::string& ip, const std::string& tenant = "acme") {
    return json{{"event_type", "apikey.used"}, {"key_id", key}, {"ip_address", ip}, {"tenant_id", tenant}};
  };
  std::int64_t t = kT0;
  CHECK(f(used("key_1", "10.0.0.1"), t += kSec).empty());  // first sighting of the key: learned, no alert
  CHECK(f(used("key_1", "10.0.0.1"), t += kSec).empty());
  auto a = f(used("key_1", "203.0.113.9"), t += kSec);
  REQUIRE(a.size() == 1);
  CHECK(a[0].kind == RuleKind::new_value);
  CHECK(a[0].new_value == "203.0.113.9");
  CHECK(a[0].value == 2);
  const json j = a[0].to_json();
  CHECK(j["ip_address"] == "203.0.113.9");
  CHECK(j["group"] == json{{"key_id", "key_1"}});
  CHECK(j["value_field"] == "ip_address");
  CHECK(fooocus_audit::events::validate_event(j).ok());
  CHECK(f(used("key_1", "203.0.113.9"), t += kSec).empty());  // learned now
  // The same key id in another tenant is another key.
  CHECK(f(used("key_1", "198.51.100.1", "globex"), t += kSec).empty());
  CHECK(f(used("key_1", "198.51.100.2", "globex"), t += kSec).size() == 1);
  // An event without the value does not count.
  CHECK(f(json{{"event_type", "apikey.used"}, {"key_id", "key_1"}}, t += kSec).empty());
}

TEST_CASE("monitor: new_value cap forgets the least recently seen value", "[monitor]") {
  Feed f(R"([{"name":"k","kind":"new_value","event_types":"apikey.used","group_by":"key_id",
             "value_field":"ip_address","max_values":3}])");
  auto used = [](const std::string& ip) {
    return json{{"event_type", "apikey.used"}, {"key_id", "key_1"}, {"ip_address", ip}};
  };
  std::int64_t t = kT0;
  CHECK(f(used("a"), t += kSec).empty());
  CHECK(f(used("b"), t += kSec).size() == 1);
  CHECK(f(used("c"), t += kSec).size() == 1);
  CHECK(f(used("a"), t += kSec).empty());       // a is recent again; b is now the least recently seen
  CHECK(f(used("d"), t += kSec).size() == 1);   // at the cap: b goes
  CHECK(f(used("a"), t += kSec).empty());
  CHECK(f(used("c"), t += kSec).empty());
  CHECK(f(used("b"), t += kSec).size() == 1);   // forgotten, so new again
}

TEST_CASE("monitor: new_value learning period and forgetting idle keys", "[monitor]") {
  Feed f(R"([{"name":"k","kind":"new_value","event_types":"apikey.used","group_by":"key_id",
             "value_field":"ip_address","learning_seconds":3600,"forget_after_seconds":86400}])");
  auto used = [](const std::string& ip) {
    return json{{"event_type", "apikey.used"}, {"key_id", "key_1"}, {"ip_address", ip}};
  };
  CHECK(f(used("a"), kT0).empty());
  CHECK(f(used("b"), kT0 + kHour - 1).empty());       // within the learning hour
  CHECK(f(used("c"), kT0 + kHour).size() == 1);        // learning is over
  CHECK(f(used("z"), kT0 + kHour + kDay + 1).empty());  // idle more than a day: forgotten, a first sighting again
  CHECK(f.m->groups() == 1);
}

TEST_CASE("monitor: max_groups evicts the least recently active group", "[monitor]") {
  Feed f(R"([{"name":"r","kind":"threshold","event_types":"auth.failed","group_by":"user_id",
             "window_seconds":3600,"threshold":2,"max_groups":2}])");
  std::int64_t t = kT0;
  CHECK(f(failed("acme", "u1"), t += kSec).empty());
  CHECK(f(failed("acme", "u2"), t += kSec).empty());
  CHECK(f(failed("acme", "u1"), t += kSec).empty());
  CHECK(f(failed("acme", "u3"), t += kSec).empty());  // at the cap: u2, the least recently active, goes
  CHECK(f.m->groups() == 2);
  CHECK(f(failed("acme", "u2"), t += kSec).empty());  // counts from zero again (and u1 goes)
  CHECK(f(failed("acme", "u2"), t += kSec).empty());  // 2, not 3
  CHECK(f(failed("acme", "u2"), t += kSec).size() == 1);
  CHECK(f(failed("acme", "u1"), t += kSec).empty());  // u1 was forgotten too
  CHECK(f.m->groups() == 2);
}

TEST_CASE("monitor: idle groups expire and memory stays bounded", "[monitor]") {
  Feed f({find_default("excessive_failed_auth")});
  for (int i = 0; i < 1000; ++i) f(failed("tenant_" + std::to_string(i)), kT0 + i);
  CHECK(f.m->groups() == 1000);
  f(failed("acme"), kT0 + 5 * kMin + 1000);  // every earlier group is idle for more than the window
  CHECK(f.m->groups() == 1);
}

TEST_CASE("monitor: max_window_events caps the window but decisions stay exact", "[monitor]") {
  Feed f(R"([{"name":"r","kind":"threshold","event_types":"auth.failed","window_seconds":60,"threshold":3,
             "max_window_events":4}])");
  std::int64_t t = kT0;
  for (int i = 0; i < 3; ++i) CHECK(f(failed("acme"), t += 1).empty());
  auto a = f(failed("acme"), t += 1);
  REQUIRE(a.size() == 1);
  for (int i = 0; i < 100; ++i) f(failed("acme"), t += 1);
  auto b = f(failed("acme"), t + 60 * kSec + 10);
  REQUIRE(b.size() == 0);  // only this event is left within the window
  auto c = f(failed("acme"), kT0 + 200 * kSec);
  CHECK(c.empty());
}

TEST_CASE("monitor: events no rule names cost nothing and time never goes back", "[monitor]") {
  Feed f(Monitor::default_rules());
  CHECK_FALSE(f.m->wants("generation.completed"));
  CHECK(f.m->wants("auth.failed"));
  CHECK(f.m->extract(json{{"event_type", "generation.completed"}, {"request_id", "r"}}).empty());
  CHECK(f.m->extract(json::array()).empty());
  CHECK(f.m->extract(json{{"event_type", 3}}).empty());
  CHECK(f.m->extract("auth.failed", "not json").empty());
  // A record whose ts goes back counts at the latest ts seen.
  for (int i = 0; i < 10; ++i) f(failed("acme"), kT0 + 10 * kMin);
  CHECK(f(failed("acme"), kT0).size() == 1);
  f.m->reset();
  CHECK(f.m->groups() == 0);
}

TEST_CASE("monitor: secrets and long values reach alerts only as hashes", "[monitor]") {
  Feed f(R"([{"name":"r","kind":"threshold","event_types":"acme.login","group_by":"token",
             "window_seconds":60,"threshold":0}])");
  const std::string secret = "sk-live-0123456789abcdefghij";
  auto a = f(json{{"event_type", "acme.login"}, {"token", secret}, {"tenant_id", std::string(60, 't')}}, kT0);
  REQUIRE(a.size() == 1);
  const std::string bytes = fooocus_audit::jcs::serialize(a[0].to_json());
  CHECK(bytes.find(secret) == std::string::npos);
  CHECK(bytes.find(std::string(60, 't')) == std::string::npos);
  CHECK(a[0].group[0].second.rfind("sha256:", 0) == 0);
  CHECK(a[0].tenant_id.rfind("sha256:", 0) == 0);
}

TEST_CASE("monitor: the default rules file equals default_rules()", "[monitor]") {
  auto file = Monitor::load_rules(std::string(FA_SOURCE_DIR) + "/share/monitoring/default-rules.json");
  INFO(file.status().to_string());
  REQUIRE(file.ok());
  CHECK(Monitor::rules_to_json(file.value()) == Monitor::rules_to_json(Monitor::default_rules()));
  // And the JSON form round-trips.
  auto again = Monitor::parse_rules(Monitor::rules_to_json(Monitor::default_rules()).dump());
  REQUIRE(again.ok());
  CHECK(Monitor::rules_to_json(again.value()) == Monitor::rules_to_json(Monitor::default_rules()));
  REQUIRE(Monitor::default_rules().size() == 4);
}

TEST_CASE("monitor: rule file errors name the rule and the member", "[monitor]") {
  CHECK(error_of("{") == "rules: not valid JSON");
  CHECK(error_of(R"({"rulez":[]})") == "rules document: rulez: unknown member");
  CHECK(error_of(R"({"version":2,"rules":[]})") == "rules document: version: must be 1");
  CHECK(error_of(R"([{"kind":"threshold"}])") == "rules[0]: name: required string is missing");
  CHECK(error_of(R"([{"name":"Bad Name","kind":"threshold"}])") ==
        "rules[0]: name: must be 1-64 characters of [a-z0-9_.-]");
  CHECK(error_of(R"([{"name":"a","kind":"sum"}])") == "rule 'a': kind: must be one of threshold|baseline|new_value");
  CHECK(error_of(R"([{"name":"a","kind":"threshold","event_types":"x","window_seconds":60}])") ==
        "rule 'a': threshold: required member is missing");
  CHECK(error_of(R"([{"name":"a","kind":"threshold","event_types":"x","window_seconds":0,"threshold":1}])") ==
        "rule 'a': window_seconds: must be an integer from 1 to 31622400");
  CHECK(error_of(R"([{"name":"a","kind":"threshold","event_types":"x","window_seconds":60,"threshold":1.5}])") ==
        "rule 'a': threshold: must be an integer from 0 to 99999999");
  CHECK(error_of(R"([{"name":"a","kind":"threshold","event_types":"x","window_seconds":60,"threshold":1,
                     "factor":2}])") == "rule 'a': factor: unknown member for a threshold rule");
  CHECK(error_of(R"([{"name":"a","kind":"threshold","event_types":["log.opened"],"window_seconds":60,
                     "threshold":1}])") == "rule 'a': event_types: log.* and alert.raised records are never monitor inputs");
  CHECK(error_of(R"([{"name":"a","kind":"threshold","event_types":[],"window_seconds":60,"threshold":1}])") ==
        "rule 'a': event_types: must name at least one");
  CHECK(error_of(R"([{"name":"a","kind":"threshold","event_types":"x","window_seconds":60,"threshold":1,
                     "group_by":["tenant_id"]}])") ==
        "rule 'a': group_by: tenant_id is always part of the group; do not list it");
  CHECK(error_of(R"([{"name":"a","kind":"threshold","event_types":"x","window_seconds":60,"threshold":1,
                     "where":{"f":{"gt":1}}}])") == "rule 'a': where.f: unknown operator (equals, in, exists, any_true)");
  CHECK(error_of(R"([{"name":"a","kind":"threshold","event_types":"x","window_seconds":60,"threshold":1,
                     "where":{"f":[1]}}])") ==
        "rule 'a': where.f: must be a string, number or boolean (equality), or an operator object");
  CHECK(error_of(R"([{"name":"a","kind":"threshold","event_types":"x","window_seconds":60,"threshold":1,
                     "severity":"urgent"}])") == "rule 'a': severity: must be one of low|medium|high|critical");
  CHECK(error_of(R"([{"name":"a","kind":"baseline","event_types":"x","window_seconds":60,"factor":0}])") ==
        "rule 'a': factor: must be a number above 0 and at most 1000000");
  CHECK(error_of(R"([{"name":"a","kind":"baseline","event_types":"x","window_seconds":60,"factor":2,
                     "baseline_days":2,"min_history_days":3}])") == "rule 'a': min_history_days: must be at most baseline_days");
  CHECK(error_of(R"([{"name":"a","kind":"new_value","event_types":"x","value_field":"ip"}])") ==
        "rule 'a': group_by: required member is missing");
  CHECK(error_of(R"([{"name":"a","kind":"new_value","event_types":"x","group_by":"k","value_field":"k"}])") ==
        "rule 'a': value_field: must not be one of group_by");
  CHECK(error_of(R"([{"name":"a","kind":"threshold","event_types":"x","window_seconds":60,"threshold":1},
                     {"name":"a","kind":"threshold","event_types":"y","window_seconds":60,"threshold":1}])") ==
        "rule 'a' (rules[1]): name: used by two rules");
  // The struct form goes through the same checks.
  MonitorRule bad = find_default("excessive_failed_auth");
  bad.window_seconds = -1;
  auto m = Monitor::create({bad});
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().message() == "rule 'excessive_failed_auth': window_seconds: must be an integer from 1 to 31622400");
  auto twice = Monitor::create({find_default("nsfw_pattern"), find_default("nsfw_pattern")});
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.status().message() == "rule 'nsfw_pattern': name: used by two rules");
}

TEST_CASE("monitor: alert.raised is a known event type in a reserved family", "[monitor]") {
  namespace ev = fooocus_audit::events;
  CHECK(ev::is_reserved_family("alert.raised"));
  CHECK_FALSE(ev::validate_event(json{{"event_type", "alert.fired"}}).ok());
  CHECK(ev::validate_event(json{{"event_type", "alert.raised"}, {"rule", "r"}, {"severity", "low"}}).ok());
  const auto s = ev::validate_event(json{{"event_type", "alert.raised"}, {"rule", "r"}, {"severity", "urgent"}});
  CHECK(s.message() == "alert.raised: severity: must be one of low|medium|high|critical");
  CHECK_FALSE(ev::validate_event(json{{"event_type", "alert.raised"}, {"severity", "low"}}).ok());
  CHECK_FALSE(
      ev::validate_event(json{{"event_type", "alert.raised"}, {"rule", "r"}, {"severity", "low"}, {"kind", "sum"}}).ok());
}
