// SPDX-License-Identifier: Apache-2.0
// The monitor inside AuditLogger (LoggerOptions::monitor): alerts sealed as alert.raised records right after
// their trigger, chained, MACed and checkpointed; on_alert after the record is written; the offline replay
// gives exactly the live alerts, and finds suppressed or forged ones.

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "fooocus_audit/fooocus_audit.hpp"
#include "fooocus_audit/jcs.hpp"
#include "support/keyed_log.hpp"
#include "support/log_fixture.hpp"
#include "support/logger_support.hpp"

namespace fa = fooocus_audit;
using nlohmann::json;

namespace {

std::shared_ptr<fa::Monitor> default_monitor() {
  auto m = fa::Monitor::create(fa::Monitor::default_rules());
  REQUIRE(m.ok());
  return m.value();
}

json failed(const std::string& tenant) {
  return {{"event_type", "auth.failed"}, {"tenant_id", tenant}, {"user_id", "mallory"}, {"method", "password"}};
}
json used(const std::string& key, const std::string& ip) {
  return {{"event_type", "apikey.used"}, {"key_id", key}, {"ip_address", ip}, {"tenant_id", "acme"}};
}
json nsfw(int i) {
  return {{"event_type", "safety_check.completed"}, {"request_id", "req_" + std::to_string(i)},
          {"prompt_hash", "sha256:" + std::string(64, 'c')}, {"has_nsfw_concepts", json::array({false, true})},
          {"action", "blocked"}, {"tenant_id", "acme"}};
}

/// Alerts handed to on_alert, as canonical JSON.
struct Collected {
  std::mutex mu;
  std::vector<std::string> alerts;
  std::function<void(const json&)> callback() {
    return [this](const json& a) {
      std::lock_guard<std::mutex> g(mu);
      alerts.push_back(fa::jcs::serialize(a));
    };
  }
};

std::vector<std::string> logged_alerts(const std::string& dir) {
  std::vector<std::string> out;
  for (const fa_test::ReadRecord& r : fa_test::read_records(dir))
    if (r.value["event"]["event_type"] == "alert.raised") out.push_back(fa::jcs::serialize(r.value["event"]));
  return out;
}

std::vector<std::string> replayed(const fa::MonitorReplay& r) {
  std::vector<std::string> out;
  for (const fa::Alert& a : r.alerts) out.push_back(fa::jcs::serialize(a.to_json()));
  return out;
}

}  // namespace

TEST_CASE("monitor live: alerts are sealed after their trigger and the replay gives the same", "[monitor]") {
  fa_test::KeyedLog k;
  fa::LoggerOptions o = k.options();
  o.clock_micros = fa_test::stepping_clock(1000000);
  o.monitor = default_monitor();
  Collected got;
  std::atomic<int> unwritten{0};
  o.on_alert = [&](const json& a) {
    // Called once the record is written: its bytes are in the newest segment already.
    std::string all;
    for (const auto& seg : fa_test::segments(k.dir)) all += fa_test::read_bytes(seg.path);
    if (all.find(fa::jcs::serialize(a)) == std::string::npos) ++unwritten;
    got.callback()(a);
  };
  {
    auto lg = fa_test::must_open(o);
    for (int i = 0; i < 11; ++i) REQUIRE(lg->log(failed("acme")).ok());       // the 11th within 5 min: alert
    for (int i = 0; i < 10; ++i) REQUIRE(lg->log(failed("globex")).ok());     // 10 is not more than 10
    REQUIRE(lg->log(used("key_1", "10.0.0.1")).ok());                          // learned
    REQUIRE(lg->log(used("key_1", "10.0.0.1")).ok());
    REQUIRE(lg->log(used("key_1", "203.0.113.5")).ok());                       // new ip: alert
    for (int i = 0; i < 6; ++i) REQUIRE(lg->log(nsfw(i)).ok());               // the 6th: alert
    for (int i = 0; i < 20; ++i) REQUIRE(lg->log(fa_test::generation_event("g" + std::to_string(i))).ok());
    for (int i = 0; i < 100; ++i) REQUIRE(lg->log(fa_test::sample_event(i)).ok());  // crosses epochs, checkpoints
    REQUIRE(lg->close().ok());
  }
  const auto records = fa_test::read_records(k.dir);
  std::vector<std::string> rules;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const json& ev = records[i].value["event"];
    if (ev["event_type"] != "alert.raised") continue;
    rules.push_back(ev["rule"]);
    CHECK(fa::events::validate_event(ev).ok());
    // Right after its trigger: the record before it is the event that raised it.
    REQUIRE(i > 0);
    CHECK(ev["last_seq"] == records[i - 1].value["seq"]);
    CHECK(records[i].value.contains("mac"));
  }
  CHECK(rules == std::vector<std::string>{"excessive_failed_auth", "api_key_anomaly", "nsfw_pattern"});
  CHECK(got.alerts == logged_alerts(k.dir));
  CHECK(unwritten == 0);

  const fa::VerifySummary sum = fa_test::verify_path(k.dir, k.full());
  CHECK(sum.intact);
  CHECK(sum.macs_checked > 0);
  CHECK(sum.checkpoints_verified > 0);

  auto m = default_monitor();
  auto r = m->replay(k.dir, k.full());
  REQUIRE(r.ok());
  CHECK(r->summary.intact);
  CHECK(replayed(r.value()) == got.alerts);
  CHECK(r->matched == 3);
  CHECK(r->consistent());
  CHECK(r->sessions == 1);
}

TEST_CASE("monitor live: each writer session starts empty and the replay agrees", "[monitor]") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto clock = fa_test::stepping_clock(1000000);  // shared by both sessions: time goes on
  auto monitor = default_monitor();
  Collected got;
  for (int session = 0; session < 2; ++session) {
    fa::LoggerOptions o = fa_test::options_for(dir);
    o.clock_micros = clock;
    o.monitor = monitor;  // the same object: open() resets it
    o.on_alert = got.callback();
    auto lg = fa_test::must_open(o);
    for (int i = 0; i < 6; ++i) REQUIRE(lg->log(failed("acme")).ok());
    REQUIRE(lg->close().ok());
  }
  CHECK(got.alerts.empty());  // 12 failures within a minute, but never more than 10 in one session
  CHECK(logged_alerts(dir).empty());
  auto r = default_monitor()->replay(dir);
  REQUIRE(r.ok());
  CHECK(r->alerts.empty());
  CHECK(r->sessions == 2);
  CHECK(r->consistent());
}

TEST_CASE("monitor live: the replay finds suppressed and forged alerts", "[monitor]") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  {
    fa::LoggerOptions o = fa_test::options_for(dir);  // no monitor: the alert is never written
    o.clock_micros = fa_test::stepping_clock(1000000);
    auto lg = fa_test::must_open(o);
    for (int i = 0; i < 11; ++i) REQUIRE(lg->log(failed("acme")).ok());
    // A caller can log alert.raised itself: one the rules do not justify, and one of a rule not replayed.
    REQUIRE(lg->log(json{{"event_type", "alert.raised"}, {"rule", "nsfw_pattern"}, {"severity", "high"}}).ok());
    REQUIRE(lg->log(json{{"event_type", "alert.raised"}, {"rule", "waf_block"}, {"severity", "low"}}).ok());
    REQUIRE(lg->close().ok());
  }
  auto r = default_monitor()->replay(dir);
  REQUIRE(r.ok());
  CHECK(r->summary.intact);
  REQUIRE(r->alerts.size() == 1);
  CHECK(r->missing == std::vector<std::size_t>{0});
  REQUIRE(r->unexpected.size() == 1);
  CHECK(r->logged[r->unexpected[0]].event["rule"] == "nsfw_pattern");
  CHECK(r->other_logged == 1);
  CHECK_FALSE(r->consistent());
  // The replay sets on_record itself.
  fa::VerifyOptions busy;
  busy.on_record = [](const fa::VerifiedRecord&) {};
  CHECK(default_monitor()->replay(dir, busy).status().code() == fa::Code::invalid_argument);
}

TEST_CASE("monitor live: an alert record altered in the log is missing and unexpected", "[monitor]") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  {
    fa::LoggerOptions o = fa_test::options_for(dir);
    o.clock_micros = fa_test::stepping_clock(1000000);
    o.monitor = default_monitor();
    auto lg = fa_test::must_open(o);
    for (int i = 0; i < 11; ++i) REQUIRE(lg->log(failed("acme")).ok());
    REQUIRE(lg->log(failed("globex")).ok());  // a record after the alert, whose link the change breaks
    REQUIRE(lg->close().ok());
  }
  REQUIRE(logged_alerts(dir).size() == 1);
  // Lower the alert's severity in place (same length): the chain breaks, and the alert no longer matches.
  const auto seg = fa_test::segments(dir).back().path;
  std::string bytes = fa_test::read_bytes(seg);
  const auto at = bytes.find(R"("severity":"medium")");
  REQUIRE(at != std::string::npos);
  bytes.replace(at, 19, R"("severity":"lowxxx")");
  fa_test::write_bytes(seg, bytes);
  auto r = default_monitor()->replay(dir);
  REQUIRE(r.ok());
  CHECK_FALSE(r->summary.intact);
  CHECK(r->missing.size() == 1);
  CHECK(r->unexpected.size() == 1);
}

TEST_CASE("monitor live: the typed generation event and its record give the same monitor input", "[monitor]") {
  auto rules = fa::Monitor::parse_rules(R"([{"name":"per_model","kind":"threshold","event_types":"image_generation",
      "group_by":["user_id","processing.model_version"],"where":{"result":"success"},"window_seconds":60,
      "threshold":2}])");
  REQUIRE(rules.ok());
  auto m = fa::Monitor::create(rules.value());
  REQUIRE(m.ok());
  const fa::GenerationEvent ge = fa_test::generation_event("req_1");
  std::string bytes;
  ge.append_canonical(bytes);
  const fa::MonitorInput a = m.value()->extract(ge), b = m.value()->extract("image_generation", bytes);
  REQUIRE(a.hits.size() == 1);
  REQUIRE(b.hits.size() == 1);
  CHECK(a.hits[0].key == b.hits[0].key);
  CHECK(m.value()->extract(ge.to_json()).hits[0].key == a.hits[0].key);

  fa_test::TempDir tmp;
  fa::LoggerOptions o = fa_test::options_for(tmp / "log");
  o.monitor = m.value();
  Collected got;
  o.on_alert = got.callback();
  auto lg = fa_test::must_open(o);
  for (int i = 0; i < 3; ++i) REQUIRE(lg->log(fa_test::generation_event("req_" + std::to_string(i))).ok());
  REQUIRE(lg->close().ok());
  REQUIRE(got.alerts.size() == 1);
  const json alert = json::parse(got.alerts[0]);
  CHECK(alert["group"] == json{{"user_id", "user_7"}, {"processing.model_version", "juggernautXL_v8Rundiffusion"}});
  CHECK(alert["tenant_id"] == "tenant_a");
}

TEST_CASE("monitor live: concurrent producers get the same alerts live and in the replay", "[monitor]") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto rules = fa::Monitor::default_rules();
  fa::MonitorRule burst;  // a rule that fires often under load: 3 failures in 100 ms per tenant
  burst.name = "burst";
  burst.event_types = {"auth.failed"};
  burst.window_seconds = 1;
  burst.threshold = 3;
  rules.push_back(burst);
  auto m = fa::Monitor::create(rules);
  REQUIRE(m.ok());
  fa::LoggerOptions o = fa_test::options_for(dir);
  o.monitor = m.value();
  Collected got;
  o.on_alert = got.callback();
  o.queue_capacity = 64;  // back-pressure, so the writer and producers interleave
  const int per_thread = fa_test::kUnderTsan ? 150 : 600;
  std::atomic<int> refused{0};
  {
    auto lg = fa_test::must_open(o);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          fa::Status s;
          if (i % 3 == 0)
            s = lg->log(used("key_" + std::to_string(t), "10.0." + std::to_string(t) + "." + std::to_string(i % 7)));
          else
            s = lg->log(failed("tenant_" + std::to_string(t % 2)));
          if (!s) ++refused;
        }
      });
    for (auto& th : threads) th.join();
    REQUIRE(lg->close().ok());
  }
  CHECK(refused == 0);
  const std::vector<std::string> logged = logged_alerts(dir);
  CHECK(got.alerts == logged);
  CHECK_FALSE(logged.empty());
  auto r = fa::Monitor::create(rules).value()->replay(dir);
  REQUIRE(r.ok());
  CHECK(r->summary.intact);
  CHECK(replayed(r.value()) == logged);
  CHECK(r->consistent());
}
