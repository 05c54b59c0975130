// SPDX-License-Identifier: Apache-2.0
// bench_monitor: the cost of monitoring (docs/monitoring.md), measured in one run against its peers:
//
//   engine      Monitor::extract + observe per event with the four default rules, over a mix of auth.failed,
//               apikey.used, generation.submitted and safety_check.completed events (ns/event)
//   window      one threshold rule whose window holds 10k events vs 1M events (O(1): the cost per event
//               must not grow with the window)
//   logging     AuditLogger (Durability::none, L events: the GenerationEvent of bench_log and the JSON mix)
//               without a monitor vs with the default rules (events/s, default L = 200,000)
//   replay      Monitor::replay of an N-event log (default 1,000,000) vs ChainVerifier alone (events/s)
//
//   bench_monitor [--events N] [--log-events L] [--runs K] [--tmp DIR] [--json]
//
// K timed rounds (default 3) after one warm-up round; the median is reported. Times are reported, never asserted.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_common.hpp"
#include "fooocus_audit/fooocus_audit.hpp"

namespace fa = fooocus_audit;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

struct Options {
  std::uint64_t events = 1000000;
  std::uint64_t log_events = 200000;
  int runs = 3;
  std::string tmp = "/tmp";
  bool json = false;
};

constexpr char kUsage[] =
    "usage: bench_monitor [--events N] [--log-events L] [--runs K] [--tmp DIR] [--json]\n"
    "  --events N      events of the replayed log (default 1000000)\n"
    "  --log-events L  events per logging run (default 200000)\n"
    "  --runs K    timed rounds, the median is reported (default 3)\n"
    "  --tmp DIR   where the log directories are created (default /tmp)\n"
    "  --json      machine-readable output on stdout instead of the table\n";

[[noreturn]] void die(const std::string& what) { fa_bench::die("bench_monitor", what); }

constexpr std::int64_t kT0 = 1774000000LL * 1000000;

// The JSON mix: 1 in 4 of each type; 50 tenants, 1000 API keys from 3 addresses each, 10,000 users.
json mix_event(std::uint64_t i) {
  const std::string tenant = "tenant_" + std::to_string(i % 50);
  switch (i % 4) {
    case 0:
      return {{"event_type", "auth.failed"}, {"tenant_id", tenant}, {"user_id", "user_" + std::to_string(i % 10000)},
              {"method", "password"}, {"ip_address", "198.51.100." + std::to_string(i % 200)}};
    case 1:
      return {{"event_type", "apikey.used"}, {"tenant_id", tenant}, {"key_id", "key_" + std::to_string(i % 1000)},
              {"ip_address", "10.0." + std::to_string(i % 1000 / 4) + "." + std::to_string(i % 3)}};
    case 2:
      return {{"event_type", "generation.submitted"}, {"tenant_id", tenant},
              {"user_id", "user_" + std::to_string(i % 10000)}, {"request_id", "req_" + std::to_string(i)}};
    default:
      return {{"event_type", "safety_check.completed"}, {"tenant_id", tenant}, {"request_id", "req_" + std::to_string(i)},
              {"prompt_hash", "sha256:" + std::string(64, 'a')}, {"has_nsfw_concepts", json::array({false, i % 64 == 3})},
              {"action", "allowed"}};
  }
}

std::shared_ptr<fa::Monitor> make_monitor(std::vector<fa::MonitorRule> rules) {
  auto m = fa::Monitor::create(std::move(rules));
  if (!m) die(m.status().to_string());
  return m.value();
}

template <typename F>
double median_of(int runs, F&& round) {
  std::vector<double> v;
  for (int r = 0; r <= runs; ++r) {
    const double x = round();
    if (r > 0) v.push_back(x);  // round 0 warms up
  }
  return fa_bench::median(std::move(v));
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// ns per event of extract + observe over `n` prebuilt events, 10 ms apart in time.
double engine_ns(const std::vector<json>& events, int runs) {
  auto m = make_monitor(fa::Monitor::default_rules());
  std::uint64_t alerts = 0;
  const double ns = median_of(runs, [&] {
    m->reset();
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < events.size(); ++i)
      alerts += m->observe(m->extract(events[i]), i, kT0 + static_cast<std::int64_t>(i) * 10000).size();
    return seconds_since(t0) * 1e9 / static_cast<double>(events.size());
  });
  if (alerts == 0) die("the engine mix raised no alert");
  return ns;
}

// ns per event of observe on one group whose window holds `in_window` events (1 ms apart), measured over the
// `measured` events after the window is full.
double window_ns(std::uint64_t in_window, std::uint64_t measured, int runs) {
  fa::MonitorRule r;
  r.name = "big_window";
  r.event_types = {"auth.failed"};
  r.window_seconds = static_cast<std::int64_t>(in_window / 1000);
  r.threshold = 99999999;
  r.max_window_events = 100000000;
  auto m = make_monitor({r});
  const fa::MonitorInput in = m->extract(json{{"event_type", "auth.failed"}, {"tenant_id", "acme"}});
  return median_of(runs, [&] {
    m->reset();
    std::int64_t t = kT0;
    for (std::uint64_t i = 0; i < in_window; ++i) (void)m->observe(in, i, t += 1000);
    const auto t0 = Clock::now();
    for (std::uint64_t i = 0; i < measured; ++i) (void)m->observe(in, in_window + i, t += 1000);
    return seconds_since(t0) * 1e9 / static_cast<double>(measured);
  });
}

// Events per second logged (Durability::none) until close() returns.
// monitored: 0 none, 1 the default rules, 2 the defaults plus a baseline rule naming image_generation.
double log_rate(const Options& o, int monitored, bool typed, const std::vector<json>& mix, std::uint64_t n) {
  const std::string dir = fa_bench::make_scratch_dir("bench_monitor", o.tmp + "/bench_monitor_log", true);
  fa::LoggerOptions lo;
  lo.dir = dir + "/log";
  lo.durability = fa::Durability::none;
  std::vector<fa::MonitorRule> rules = fa::Monitor::default_rules();
  if (monitored == 2) {
    fa::MonitorRule r = rules[1];  // unusual_generation_volume, on the §2.2 summary instead
    r.name = "unusual_image_generation_volume";
    r.event_types = {"image_generation"};
    rules.push_back(r);
  }
  if (monitored > 0) lo.monitor = make_monitor(rules);
  const fa::GenerationEvent ge = fa_bench::article_event();
  const auto t0 = Clock::now();
  {
    auto lg = fa::AuditLogger::open(lo);
    if (!lg) die(lg.status().to_string());
    for (std::uint64_t i = 0; i < n; ++i) {
      const fa::Status s = typed ? lg.value()->log(ge) : lg.value()->log(mix[i % mix.size()]);
      if (!s) die(s.to_string());
    }
    if (fa::Status s = lg.value()->close(); !s) die(s.to_string());
  }
  const double rate = static_cast<double>(n) / seconds_since(t0);
  std::filesystem::remove_all(dir);
  fa_bench::scratch_dir().clear();
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  fa_bench::parse_flags(argc, argv, kUsage,
                        {{"--events", &o.events}, {"--log-events", &o.log_events}, {"--runs", &o.runs}, {"--tmp", &o.tmp}, {"--json", &o.json, true}});
  if (o.events < 1000 || o.log_events < 1000 || o.runs < 1) fa_bench::usage(kUsage, 2);

  std::vector<json> mix;
  for (std::uint64_t i = 0; i < 200000; ++i) mix.push_back(mix_event(i));

  const std::string load_before = fa_bench::load_average();
  const double engine = engine_ns(mix, o.runs);
  const double w10k = window_ns(10000, 1000000, o.runs);
  const double w1m = window_ns(1000000, 1000000, o.runs);

  // Logging with and without a monitor, alternating so that both see the same machine.
  const std::uint64_t n_log = o.log_events;
  std::vector<double> typed_none, typed_mon, typed_named, mix_none, mix_mon;
  for (int r = 0; r <= o.runs; ++r) {
    const double a = log_rate(o, 0, true, mix, n_log), b = log_rate(o, 1, true, mix, n_log);
    const double e = log_rate(o, 2, true, mix, n_log);
    const double c = log_rate(o, 0, false, mix, n_log), d = log_rate(o, 1, false, mix, n_log);
    if (r == 0) continue;
    typed_none.push_back(a);
    typed_mon.push_back(b);
    typed_named.push_back(e);
    mix_none.push_back(c);
    mix_mon.push_back(d);
  }
  auto med = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };

  // Offline: one monitored log of N mix events, replayed; the verifier alone is the peer.
  const std::string dir = fa_bench::make_scratch_dir("bench_monitor", o.tmp + "/bench_monitor_replay", true);
  {
    fa::LoggerOptions lo;
    lo.dir = dir + "/log";
    lo.durability = fa::Durability::none;
    lo.monitor = make_monitor(fa::Monitor::default_rules());
    auto lg = fa::AuditLogger::open(lo);
    if (!lg) die(lg.status().to_string());
    for (std::uint64_t i = 0; i < o.events; ++i)
      if (fa::Status s = lg.value()->log(mix[i % mix.size()]); !s) die(s.to_string());
    if (fa::Status s = lg.value()->close(); !s) die(s.to_string());
  }
  std::uint64_t records = 0, alerts = 0;
  bool consistent = true;
  std::vector<double> replay_rates, verify_rates;
  for (int r = 0; r <= o.runs; ++r) {
    auto t0 = Clock::now();
    fa::ChainVerifier v;
    auto sum = v.verify_path(dir + "/log");
    if (!sum || !sum->intact) die("the benchmark log does not verify");
    const double vs = seconds_since(t0);
    t0 = Clock::now();
    auto rep = make_monitor(fa::Monitor::default_rules())->replay(dir + "/log");
    if (!rep) die(rep.status().to_string());
    const double rs = seconds_since(t0);
    records = rep->summary.records;
    alerts = rep->alerts.size();
    consistent = consistent && rep->consistent();
    if (r == 0) continue;
    verify_rates.push_back(static_cast<double>(records) / vs);
    replay_rates.push_back(static_cast<double>(records) / rs);
  }
  std::filesystem::remove_all(dir);
  fa_bench::scratch_dir().clear();
  if (!consistent) die("the replay does not match the live alerts");
  const std::string load_after = fa_bench::load_average();

  const double tn = med(typed_none), tm = med(typed_mon), tr = med(typed_named), mn = med(mix_none), mm = med(mix_mon);
  const double vr = med(verify_rates), rr = med(replay_rates);
  if (o.json) {
    json j = {{"engine_ns_per_event", engine},
              {"window_10k_ns_per_event", w10k},
              {"window_1m_ns_per_event", w1m},
              {"log_typed_none_ev_s", tn},
              {"log_typed_monitor_ev_s", tm},
              {"log_typed_rule_named_ev_s", tr},
              {"log_mix_none_ev_s", mn},
              {"log_mix_monitor_ev_s", mm},
              {"verify_records_s", vr},
              {"replay_records_s", rr},
              {"replay_records", records},
              {"replay_alerts", alerts},
              {"events", o.events},
              {"runs", o.runs}};
    fmt::print("{}\n", j.dump());
    return 0;
  }
  fmt::print("bench_monitor: default rules (4), median of {} runs after 1 warm-up; load average before: {}, after: {}\n\n",
             o.runs, load_before, load_after);
  fmt::print("{:<44} {:>14}\n", "engine: extract + observe, JSON mix", fmt::format("{:.0f} ns/event", engine));
  fmt::print("{:<44} {:>14}\n", "window of 10k events, per event", fmt::format("{:.1f} ns/event", w10k));
  fmt::print("{:<44} {:>14}   ratio 1M/10k {:.2f}\n", "window of 1M events, per event", fmt::format("{:.1f} ns/event", w1m),
             w1m / w10k);
  fmt::print("\nlogging, Durability::none, {} events             no monitor    default rules    ratio\n", n_log);
  fmt::print("{:<44} {:>11.0f} {:>16.0f} {:>8.2f}\n", "GenerationEvent (bench_log's fa_none)", tn, tm, tm / tn);
  fmt::print("{:<44} {:>11.0f} {:>16.0f} {:>8.2f}\n", "GenerationEvent, + a rule naming image_generation", tn, tr,
             tr / tn);
  fmt::print("{:<44} {:>11.0f} {:>16.0f} {:>8.2f}\n", "JSON mix (every event matches a rule)", mn, mm, mm / mn);
  fmt::print("\noffline, a {}-record log ({} alerts)         verify only    monitor replay   ratio\n", records, alerts);
  fmt::print("{:<44} {:>11.0f} {:>16.0f} {:>8.2f}\n", "records/s", vr, rr, rr / vr);
  return 0;
}
