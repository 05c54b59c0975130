// SPDX-License-Identifier: Apache-2.0
// fooocus-audit monitor (docs/cli.md): replay with the default or a given rules file, text and NDJSON output,
// the comparison with logged alerts, and exit codes.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fooocus_audit/fooocus_audit.hpp"
#include "support/cli_support.hpp"
#include "support/log_fixture.hpp"
#include "support/logger_support.hpp"

using namespace fa_test;
namespace fa = fooocus_audit;
using nlohmann::json;

#ifdef FA_CLI_PATH

namespace {

/// A log of `failures` auth.failed events one second apart, written with or without the default monitor.
void write_failures(const std::string& dir, int failures, bool monitored) {
  fa::LoggerOptions o = options_for(dir);
  o.clock_micros = stepping_clock(1000000);
  if (monitored) o.monitor = fa::Monitor::create(fa::Monitor::default_rules()).value();
  auto lg = must_open(o);
  for (int i = 0; i < failures; ++i)
    REQUIRE(lg->log(json{{"event_type", "auth.failed"}, {"tenant_id", "acme"}, {"user_id", "mallory"}}).ok());
  REQUIRE(lg->close().ok());
}

std::vector<json> lines_of(const std::string& out) {
  std::vector<json> v;
  for (const std::string& l : split_lines(out)) v.push_back(json::parse(l));
  return v;
}

}  // namespace

TEST_CASE("cli: monitor exits 0 on a quiet log and 1 when alerts are raised", "[monitor][cli]") {
  TempDir tmp;
  write_failures(tmp / "quiet", 10, true);
  Run quiet = run_cli({"monitor", tmp / "quiet"});
  INFO(quiet.err);
  CHECK(quiet.status == 0);
  CHECK(contains(quiet.out, "alerts: 0 raised by the replay, 0 logged, 0 missing, 0 unexpected"));

  write_failures(tmp / "loud", 11, true);
  Run loud = run_cli({"monitor", tmp / "loud"});
  CHECK(loud.status == 1);
  CHECK(contains(loud.out, "excessive_failed_auth [medium] tenant_id=acme"));
  CHECK(contains(loud.out, "(logged)"));
  CHECK(contains(loud.out, "alerts: 1 raised by the replay, 1 logged, 0 missing, 0 unexpected"));
  // Every alert logged and every logged one raised: --mismatch-only accepts it.
  CHECK(run_cli({"monitor", tmp / "loud", "--mismatch-only"}).status == 0);
}

TEST_CASE("cli: monitor reports an alert missing from the log as NDJSON", "[monitor][cli]") {
  TempDir tmp;
  write_failures(tmp / "log", 11, false);  // written without a monitor: the alert is not in the log
  Run r = run_cli({"monitor", tmp / "log", "--json", "--mismatch-only"});
  CHECK(r.status == 1);
  const std::vector<json> lines = lines_of(r.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["type"] == "alert");
  CHECK(lines[0]["status"] == "missing");
  CHECK(lines[0]["alert"]["rule"] == "excessive_failed_auth");
  CHECK(lines[0]["alert"]["value"] == 11);
  CHECK(fa::events::validate_event(lines[0]["alert"]).ok());
  CHECK(lines[1]["type"] == "summary");
  CHECK(lines[1]["intact"] == true);
  CHECK(lines[1]["missing"] == 1);
  CHECK(lines[1]["matched"] == 0);
}

TEST_CASE("cli: monitor with a rules file and its errors", "[monitor][cli]") {
  TempDir tmp;
  write_failures(tmp / "log", 3, true);
  write_bytes(tmp / "rules.json", R"({"rules":[{"name":"two_failures","kind":"threshold","severity":"low",
      "event_types":"auth.failed","group_by":"user_id","window_seconds":60,"threshold":2}]})");
  Run r = run_cli({"monitor", tmp / "log", "--rules", tmp / "rules.json", "--json"});
  CHECK(r.status == 1);
  const std::vector<json> lines = lines_of(r.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["alert"]["rule"] == "two_failures");
  CHECK(lines[0]["alert"]["group"] == json{{"user_id", "mallory"}});
  CHECK(lines[0]["status"] == "missing");  // the live monitor ran the default rules

  write_bytes(tmp / "bad.json", R"([{"name":"x","kind":"threshold","event_types":"auth.failed","window_seconds":60}])");
  Run bad = run_cli({"monitor", tmp / "log", "--rules", tmp / "bad.json"});
  CHECK(bad.status == 2);
  CHECK(contains(bad.err, "rule 'x': threshold: required member is missing"));
  CHECK(run_cli({"monitor", tmp / "log", "--rules", tmp / "none.json"}).status == 2);
  CHECK(run_cli({"monitor"}).status == 2);
  CHECK(run_cli({"monitor", tmp / "log", "--bogus"}).status == 2);
  CHECK(run_cli({"monitor", tmp / "nowhere"}).status == 2);
  Run help = run_cli({"monitor", "--help"});
  CHECK(help.status == 0);
  CHECK(contains(help.out, "usage: fooocus-audit monitor PATH"));
  CHECK(contains(run_cli({"--help"}).out, "monitor "));
}

TEST_CASE("cli: monitor text output cannot be given extra lines by a value from the log", "[monitor][cli]") {
  TempDir tmp;
  {
    fa::LoggerOptions o = options_for(tmp / "log");
    o.clock_micros = stepping_clock(1000000);
    auto lg = must_open(o);
    // api_key_anomaly: the key's first address is learned, the second one (with a newline) raises.
    for (const char* ip : {"10.0.0.1", "x\nFORGED ok (logged)"})
      REQUIRE(lg->log(json{{"event_type", "apikey.used"}, {"tenant_id", "acme"}, {"key_id", "key_1"},
                           {"ip_address", ip}})
                  .ok());
    REQUIRE(lg->close().ok());
  }
  Run r = run_cli({"monitor", tmp / "log"});
  INFO(r.out << r.err);
  CHECK(r.status == 1);
  CHECK(contains(r.out, "api_key_anomaly"));
  CHECK(contains(r.out, "new ip_address=x\\x0aFORGED ok (logged)"));
  for (const std::string& l : split_lines(r.out)) CHECK(l.rfind("FORGED", 0) != 0);
}

TEST_CASE("cli: monitor on a damaged log says so and exits 1", "[monitor][cli]") {
  TempDir tmp;
  write_failures(tmp / "log", 5, true);
  const std::string seg = segments(tmp / "log").back().path;
  std::string bytes = read_bytes(seg);
  const auto at = bytes.find("mallory");
  REQUIRE(at != std::string::npos);
  bytes.replace(at, 7, "mallorx");
  write_bytes(seg, bytes);
  Run r = run_cli({"monitor", tmp / "log", "--mismatch-only"});
  CHECK(r.status == 1);
  CHECK(contains(r.out, "LOG NOT INTACT"));
}

#endif  // FA_CLI_PATH
