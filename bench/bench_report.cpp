// SPDX-License-Identifier: Apache-2.0
// bench_report: ComplianceReportGenerator throughput and memory against its peer, plain ChainVerifier over the
// same log, measured in one run (docs/benchmarks.md, section bench_report).
//
//   bench_report [--events N] [--small N] [--runs R] [--threads T] [--tmp DIR] [--keep] [--json]
//
// Writes two logs with AuditLogger (Durability::none, a clock spreading them over 30 days): N events (default
// 1,000,000) and --small events (default 100,000), both with the same realistic mix of a Fooocus deployment:
// per request generation.submitted, .started, .completed and the image_generation summary (the tracker's
// output), plus authentications, API key use, sessions, safety checks, policy violations, alerts and
// configuration changes, over 500 users, 5 tenants, 6 models and 10 LoRAs.
//
// Cases, each in its own forked process (its peak RSS is its own), round-robin R times, medians reported:
//   verify   ChainVerifier::verify_path, no callback            (the peer: what reading + verifying costs)
//   report   ComplianceReportGenerator::generate (verifies too), monthly report rendered as JSON and HTML
// Both with --threads T parsing threads (default 1: the one-thread target of issue 7, >= 300k events/s).

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/chain_verifier.hpp"
#include "fooocus_audit/compliance_report.hpp"
#include "fooocus_audit/generation_event.hpp"
#include "bench_common.hpp"

namespace fa = fooocus_audit;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kUsage =
    "usage: bench_report [--events N] [--small N] [--runs R] [--threads T] [--tmp DIR] [--keep] [--json]\n";

struct Options {
  std::uint64_t events = 1000000;
  std::uint64_t small = 100000;
  int runs = 3;
  unsigned threads = 1;
  std::string tmp = "/tmp";
  bool keep = false;
  bool json = false;
};

/// Writes `n` events of the realistic mix into dir; returns the records written (system records included).
std::uint64_t write_log(const std::string& dir, std::uint64_t n) {
  fa::LoggerOptions o;
  o.dir = dir;
  o.durability = fa::Durability::none;
  auto now = std::make_shared<std::int64_t>(1772323200LL * 1000000);  // 2026-03-01
  const std::int64_t step = 30LL * 86400 * 1000000 / static_cast<std::int64_t>(std::max<std::uint64_t>(n, 1));
  o.clock_micros = [now, step] { return *now += step; };
  auto lg = fa::AuditLogger::open(o);
  if (!lg) fa_bench::die("bench_report", "open: " + lg.status().to_string());
  fa::AuditLogger& log = **lg;
  static const char* kModels[] = {"sd_xl_base_1.0", "juggernautXL_v8", "realvisxl_v4", "dreamshaper_xl",
                                  "playground_v2.5", "animagine_xl_3"};
  fa::GenerationEvent g = fa_bench::article_event();
  std::uint64_t i = 0;
  auto put = [&](const nlohmann::json& e) {
    if (fa::Status s = log.log(e); !s) fa_bench::die("bench_report", "log: " + s.to_string());
    ++i;
  };
  for (std::uint64_t r = 0; i < n; ++r) {
    const std::string user = fmt::format("user{}@tenant{}.example", r % 500, r % 5);
    const std::string tenant = fmt::format("tenant{}", r % 5);
    const std::string req = fmt::format("req_{}", r);
    const int k = static_cast<int>(r % 20);
    if (k < 14) {  // a generation: four records, as GenerationTracker writes them
      put({{"event_type", "generation.submitted"}, {"request_id", req}, {"user_id", user}, {"tenant_id", tenant},
           {"model_version", kModels[r % 6]}});
      put({{"event_type", "generation.started"}, {"request_id", req}, {"worker_id", "gpu-3"}, {"user_id", user},
           {"tenant_id", tenant}});
      put({{"event_type", "generation.completed"}, {"request_id", req}, {"generation_duration_ms", 8000 + r % 977},
           {"user_id", user}, {"tenant_id", tenant}});
      g.request_id = req;
      g.user_id = user;
      g.tenant_id = tenant;
      g.processing.model_version = kModels[r % 6];
      g.processing.generation_duration_ms = static_cast<std::int64_t>(8000 + r % 977);
      g.request.loras = {{fmt::format("lora-{}", r % 10), 0.8}};
      if (r % 3 == 0) g.request.loras.clear();
      g.safety.has_nsfw_concepts = r % 97 == 0;
      g.result = r % 50 == 0 ? "error" : "success";
      if (fa::Status s = log.log(g); !s) fa_bench::die("bench_report", "log: " + s.to_string());
      ++i;
    } else if (k < 16) {
      put({{"event_type", r % 7 == 0 ? "auth.failed" : "auth.succeeded"}, {"user_id", user}, {"tenant_id", tenant},
           {"method", "oidc"}, {"mfa", true}, {"ip_address", "10.2.3.4"}});
    } else if (k < 18) {
      put({{"event_type", "apikey.used"}, {"key_id", fmt::format("key_{}", r % 40)}, {"tenant_id", tenant},
           {"actor", user}});
    } else if (k == 18) {
      put({{"event_type", "safety_check.completed"}, {"request_id", req}, {"tenant_id", tenant}, {"user_id", user},
           {"prompt_hash", "hmac-sha256:" + std::string(64, 'c')}, {"has_nsfw_concepts", r % 11 == 0},
           {"action", r % 11 == 0 ? "blocked" : "allowed"}});
    } else if (r % 100 == 19) {
      put({{"event_type", "config.updated"}, {"setting", "quality_preset"}, {"old_value", 1}, {"new_value", 2},
           {"changed_by", "admin@example.com"}, {"approved_by", "ciso@example.com"}, {"tenant_id", tenant}});
    } else if (r % 40 == 39) {
      put({{"event_type", "alert.raised"}, {"rule", "unusual_generation_volume"}, {"severity", "medium"},
           {"user_id", user}, {"tenant_id", tenant}});
    } else {
      put({{"event_type", "policy.violation"}, {"prompt_hash", "hmac-sha256:" + std::string(64, 'd')},
           {"rule_id", "R-017"}, {"rule_name", "public figures"}, {"severity", "high"}, {"action", "rejected"},
           {"user_id", user}, {"tenant_id", tenant}});
    }
  }
  if (fa::Status s = log.close(); !s) fa_bench::die("bench_report", "close: " + s.to_string());
  return log.stats().records;
}

struct Sample {
  double seconds = 0;  // wall time of the work, measured in the child
  double cpu = 0;      // user + system time of the child (the machine is shared: the robust figure)
  double max_rss_mib = 0;
  std::uint64_t records = 0;
  bool intact = false;
};

/// Runs `work` in a child process; its wall time (measured in the child) and peak RSS (from wait4).
template <typename Work>
Sample in_child(Work work) {
  int fds[2];
  if (::pipe(fds) != 0) fa_bench::die("bench_report", "pipe");
  const pid_t pid = ::fork();
  if (pid < 0) fa_bench::die("bench_report", "fork");
  if (pid == 0) {
    ::close(fds[0]);
    Sample s = work();
    if (::write(fds[1], &s, sizeof s) != static_cast<ssize_t>(sizeof s)) ::_exit(3);
    ::_exit(0);
  }
  ::close(fds[1]);
  Sample s;
  const ssize_t got = ::read(fds[0], &s, sizeof s);
  ::close(fds[0]);
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  if (got != static_cast<ssize_t>(sizeof s) || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fa_bench::die("bench_report", "a measurement process failed");
  s.max_rss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;
  s.cpu = fa_bench::cpu_seconds(ru);
  return s;
}

Sample run_verify(const std::string& dir, unsigned threads) {
  return in_child([&] {
    fa::VerifyOptions vo;
    vo.threads = threads;
    const auto t0 = Clock::now();
    fa::ChainVerifier v(vo);
    auto r = v.verify_path(dir);
    Sample s;
    s.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (r) {
      s.records = r->records;
      s.intact = r->intact;
    }
    return s;
  });
}

Sample run_report(const std::string& dir, unsigned threads) {
  return in_child([&] {
    fa::ReportOptions o;
    o.verify.threads = threads;
    o.generated_at = "bench";
    const auto t0 = Clock::now();
    fa::ComplianceReportGenerator g(o);
    auto r = g.generate(dir);
    std::size_t bytes = 0;
    if (r) {
      bytes += fa::render_report(*r, fa::ReportKind::monthly, fa::ReportFormat::json).size();
      bytes += fa::render_report(*r, fa::ReportKind::monthly, fa::ReportFormat::html).size();
    }
    Sample s;
    s.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (r && bytes > 0) {
      s.records = r->verification.records;
      s.intact = r->verified;
    }
    return s;
  });
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  fa_bench::parse_flags(argc, argv, kUsage,
                        {{"--events", &opt.events}, {"--small", &opt.small}, {"--runs", &opt.runs},
                         {"--threads", &opt.threads}, {"--tmp", &opt.tmp}, {"--keep", &opt.keep, true},
                         {"--json", &opt.json, true}});
  if (opt.runs < 1) fa_bench::usage(kUsage, 2);
  const std::string root = fa_bench::make_scratch_dir("bench_report", opt.tmp + "/bench_report", !opt.keep);
  struct Log {
    std::string dir;
    std::uint64_t events, records = 0;
    std::uintmax_t bytes = 0;
  };
  std::vector<Log> logs = {{root + "/small", opt.small}, {root + "/large", opt.events}};
  for (Log& l : logs) {
    fs::create_directories(l.dir);
    const auto t0 = Clock::now();
    l.records = write_log(l.dir, l.events);
    for (const auto& e : fs::directory_iterator(l.dir)) l.bytes += e.file_size();
    std::fprintf(stderr, "bench_report: wrote %llu records (%.1f MiB) in %.1f s\n",
                 static_cast<unsigned long long>(l.records), static_cast<double>(l.bytes) / 1048576.0,
                 std::chrono::duration<double>(Clock::now() - t0).count());
    (void)run_verify(l.dir, opt.threads);  // warm the page cache
  }
  const std::string load_before = fa_bench::load_average();
  nlohmann::json out = nlohmann::json::array();
  if (!opt.json)
    fmt::print("{:<8} {:>10} {:>9} {:>10} {:>12} {:>14} {:>10} {:>11}\n", "log", "records", "MiB", "case", "records/s",
               "records/cpu-s", "MB/s", "peak RSS MiB");
  for (const Log& l : logs) {
    std::vector<double> vt, rt, vr, rr, vc, rc;
    for (int i = 0; i < opt.runs; ++i) {
      const Sample v = run_verify(l.dir, opt.threads);
      const Sample r = run_report(l.dir, opt.threads);
      if (!v.intact || !r.intact || v.records != l.records || r.records != l.records)
        fa_bench::die("bench_report", "a log did not verify");
      vt.push_back(v.seconds);
      rt.push_back(r.seconds);
      vr.push_back(v.max_rss_mib);
      vc.push_back(v.cpu);
      rc.push_back(r.cpu);
      rr.push_back(r.max_rss_mib);
    }
    using fa_bench::median;
    const double v_s = median(vt), r_s = median(rt), v_c = median(vc), r_c = median(rc);
    const double mb = static_cast<double>(l.bytes) / 1e6;
    const std::string name = l.events == opt.small ? "small" : "large";
    for (auto [which, s, c, rss] :
         {std::tuple{"verify", v_s, v_c, median(vr)}, std::tuple{"report", r_s, r_c, median(rr)}}) {
      if (opt.json)
        out.push_back({{"log", name}, {"records", l.records}, {"bytes", l.bytes}, {"case", which}, {"seconds", s},
                       {"cpu_seconds", c}, {"records_per_s", static_cast<double>(l.records) / s},
                       {"records_per_cpu_s", static_cast<double>(l.records) / c}, {"peak_rss_mib", rss},
                       {"threads", opt.threads}});
      else
        fmt::print("{:<8} {:>10} {:>9.1f} {:>10} {:>12.0f} {:>14.0f} {:>10.0f} {:>11.1f}\n", name, l.records,
                   static_cast<double>(l.bytes) / 1048576.0, which, static_cast<double>(l.records) / s,
                   static_cast<double>(l.records) / c, mb / s, rss);
    }
    if (!opt.json)
      fmt::print("{:<8} report costs {:.2f}x the wall time and {:.2f}x the CPU time of verification alone\n", name,
                 r_s / v_s, r_c / v_c);
  }
  if (opt.json) fmt::print("{}\n", out.dump(2));
  else fmt::print("threads {}; load average before {} after {}\n", opt.threads, load_before, fa_bench::load_average());
  if (!opt.keep) fs::remove_all(root);
  return 0;
}
