// SPDX-License-Identifier: Apache-2.0
// bench_log: how fast AuditLogger logs the seed article's §2.2 generation event, against spdlog writing
// the same event as JSON, measured in one run (docs/benchmarks.md explains the cases and the targets).
//
//   bench_log [--events N] [--always-events N] [--runs R] [--warmup W] [--tmp DIR] [--only IDS]
//             [--no-prefault] [--json]
//
// Every case writes N events into a fresh directory under --tmp (default /tmp) and is timed from the
// first log() call to the return of close() (ours) or of flush() and the sink's destruction (spdlog), so
// every byte has been handed to the kernel. After W untimed warm-up rounds, cases run round-robin R times;
// the median time is reported.

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/generation_event.hpp"
#include "fooocus_audit/jcs.hpp"
#include "bench_common.hpp"

#if defined(FA_HAVE_SPDLOG)
#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#endif

namespace fa = fooocus_audit;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

using fa_bench::article_event;

// The same event as a JSON tree built directly from its values, the way an application that logs JSON
// with spdlog would build it for every event (no GenerationEvent involved). main() checks that it equals
// article_event().to_json().
nlohmann::json article_json() {
  return {
      {"event_type", "image_generation"},
      {"version", "1.0"},
      {"timestamp", "2024-01-15T14:30:00.000Z"},
      {"request_id", "req_764cabcf-b745-4b3e-ae38-1200304cf45b"},
      {"user_id", "alice@enterprise.com"},
      {"tenant_id", "acme_corp"},
      {"session_id", "sess_abc123def456"},
      {"ip_address", "10.2.3.4"},
      {"user_agent", "Fooocus-API-client/1.0"},
      {"request",
       {{"prompt_sanitized", "professional product photography, luxury watch on marble surface"},
        {"prompt_hash", "sha256:c630f4de33836ed2a6c23d695b33f80035594b5b0feaa3b56eab4a5b0b9ce1bb"},
        {"negative_prompt", "blurry, low resolution, watermark"},
        {"performance", "Quality"},
        {"aspect_ratio", "1024x1024"},
        {"num_images", 1},
        {"seed", 176400},
        {"loras", nlohmann::json::array({{{"name", "brand-style-v2"}, {"weight", 0.8}}})},
        {"styles", {"Fooocus Enhance", "Fooocus Sharp"}},
        {"guidance_scale", 4.0},
        {"sharpness", 2.0},
        {"enable_safety_checker", true}}},
      {"processing",
       {{"worker_id", "gpu-node-5"},
        {"queue_wait_ms", 234},
        {"generation_duration_ms", 8542},
        {"retry_count", 0},
        {"model_version", "sd_xl_base_1.0"},
        {"refiner_model", "None"}}},
      {"outputs", nlohmann::json::array(
                      {{{"url", "s3://company-images/generations/acme_corp/req_764cabcf.png"},
                        {"hash", "sha256:742b42db2607565a6f33f23f218216a61a3597304c8ac71e3de81b6e68d7b852"},
                        {"width", 1024},
                        {"height", 1024},
                        {"file_size_bytes", 524288}}})},
      {"safety", {{"has_nsfw_concepts", false}, {"safety_checker_version", "v2.1"}}},
      {"result", "success"}};
}

struct Options {
  std::uint64_t events = 1000000;
  std::uint64_t always_events = 100000;
  int runs = 3;
  int warmup = 1;  // untimed rounds first: fresh guest memory is slow to touch the first time on a VM
  std::string tmp = "/tmp";
  std::string only;  // comma-separated case ids (for profiling one case)
  bool prefault = true;
  bool json = false;
};

constexpr char kUsage[] =
    "usage: bench_log [--events N] [--always-events N] [--runs R] [--warmup W] [--tmp DIR] [--only IDS]\n"
    "                 [--no-prefault] [--json]\n"
    "  --events N         events per case (default 1000000)\n"
    "  --always-events N  events for the Durability::always + flush()/100 case (default 100000)\n"
    "  --runs R           runs per case, the median is reported (default 3)\n"
    "  --warmup W         untimed rounds of every case before the timed ones (default 1)\n"
    "  --tmp DIR          where the per-run log directories are created (default /tmp)\n"
    "  --no-prefault      skip writing and deleting a scratch file of the run's size before each run\n"
    "  --only IDS         run only these cases (comma-separated ids, e.g. fa_none,spdlog_dump)\n"
    "  --json             machine-readable output on stdout instead of the table\n";

Options parse_args(int argc, char** argv) {
  Options o;
  fa_bench::parse_flags(argc, argv, kUsage,
                        {{"--events", &o.events},
                         {"--always-events", &o.always_events},
                         {"--runs", &o.runs},
                         {"--warmup", &o.warmup},
                         {"--tmp", &o.tmp},
                         {"--only", &o.only},
                         {"--no-prefault", &o.prefault, false},
                         {"--json", &o.json, true}});
  if (o.events == 0 || o.runs <= 0 || o.warmup < 0) fa_bench::usage(kUsage, 2);
  return o;
}

[[noreturn]] void die(const std::string& what) { fa_bench::die("bench_log", what); }

std::string make_temp_dir(const std::string& base) {
  return fa_bench::make_scratch_dir("bench_log", base + "/fa-bench-log", true);
}

std::uint64_t dir_bytes(const std::string& dir) {
  std::uint64_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

// Writes and deletes a scratch file of about `bytes` in dir, outside the timed span. On a VM that hands idle
// guest memory back to the host (free page reporting, DAMON pageout), the first touch of a page costs a
// host fault: a run that gets such pages for its page cache is up to 2x slower than the same run on pages
// that were just freed (measured: docs/benchmarks.md). Every case gets the same treatment.
void prefault(const Options& o, const std::string& dir, std::uint64_t bytes) {
  if (!o.prefault) return;
  const std::string path = dir + "/prefault.tmp";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) die("open " + path + ": " + std::strerror(errno));
  static const std::string block(1u << 20, 'x');
  for (std::uint64_t done = 0; done < bytes; done += block.size())
    if (std::fwrite(block.data(), 1, block.size(), f) != block.size()) die("write " + path);
  std::fclose(f);
  fs::remove(path);
}

struct RunResult {
  double seconds = 0;
  double cpu_seconds = 0;   // user + system time of the whole process (every thread) over the timed span
  std::uint64_t bytes = 0;  // bytes on disk after the run (segments + lock file, or the spdlog file)
};

double process_cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return fa_bench::cpu_seconds(ru);
}

// --- our cases -------------------------------------------------------------------------------------------

enum class Input { event_struct, event_struct_built, json_tree };

RunResult run_ours(const Options& o, std::uint64_t n, fa::Durability d, std::uint64_t flush_every,
                   Input input, bool keyed = false) {
  const std::string dir = make_temp_dir(o.tmp);
  fa::LoggerOptions lo;
  lo.dir = dir + "/log";
  lo.durability = d;
  lo.group_commit_interval = std::chrono::milliseconds(10);
  if (keyed) {
    // Forward-secure MACs and Ed25519-signed checkpoints with their default epoch and checkpoint policy.
    auto seed = fa::mac::Seed::generate();
    if (!seed || !seed->save(dir + "/mac.key")) die("cannot write a MAC seed");
    lo.mac_key_path = dir + "/mac.key";
    auto key = fa::note::SigningKey::generate("bench.example/fooocus");
    if (!key) die("keygen: " + key.status().to_string());
    lo.signer = std::make_shared<fa::LocalSigner>(std::move(key.value()));
    lo.checkpoint_anchor_path = dir + "/checkpoints.anchor";
  }
  auto opened = fa::AuditLogger::open(std::move(lo));
  if (!opened) die("open: " + opened.status().to_string());
  std::unique_ptr<fa::AuditLogger> lg = std::move(opened.value());
  const fa::GenerationEvent ev = article_event();
  const nlohmann::json tree = ev.to_json();
  prefault(o, dir, n * 1500);

  const double c0 = process_cpu_seconds();
  const auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    fa::Status s;
    switch (input) {
      case Input::event_struct:
        s = lg->log(ev);
        break;
      case Input::event_struct_built:
        s = lg->log(article_event());
        break;
      case Input::json_tree:
        s = lg->log(tree);
        break;
    }
    if (!s) die("log: " + s.to_string());
    if (flush_every != 0 && (i + 1) % flush_every == 0)
      if (fa::Status f = lg->flush(); !f) die("flush: " + f.to_string());
  }
  if (fa::Status s = lg->close(); !s) die("close: " + s.to_string());
  const auto t1 = Clock::now();

  RunResult r;
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  r.cpu_seconds = process_cpu_seconds() - c0;
  r.bytes = dir_bytes(dir);
  lg.reset();
  fs::remove_all(dir);
  fa_bench::scratch_dir().clear();
  return r;
}

// --- the spdlog peer -------------------------------------------------------------------------------------

#if defined(FA_HAVE_SPDLOG)
enum class Peer { dump_prebuilt_tree, build_and_dump, async_dump_prebuilt_tree };

RunResult run_spdlog(const Options& o, std::uint64_t n, Peer peer) {
  const std::string dir = make_temp_dir(o.tmp);
  const std::string path = dir + "/events.jsonl";
  const fa::GenerationEvent ev = article_event();
  const nlohmann::json tree = ev.to_json();
  std::shared_ptr<spdlog::logger> lg;
  if (peer == Peer::async_dump_prebuilt_tree) {
    // One worker thread, blocking when full: the shape closest to AuditLogger's writer thread.
    spdlog::init_thread_pool(65536, 1);
    lg = spdlog::create_async<spdlog::sinks::basic_file_sink_mt>("bench_async", path, true);
  } else {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, true);
    lg = std::make_shared<spdlog::logger>("bench", std::move(sink));
  }
  lg->set_pattern("%v");
  lg->set_level(spdlog::level::info);
  prefault(o, dir, n * 1500);

  const double c0 = process_cpu_seconds();
  const auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    if (peer == Peer::build_and_dump)
      lg->info(article_json().dump());
    else
      lg->info(tree.dump());
  }
  lg->flush();
  if (peer == Peer::async_dump_prebuilt_tree) {
    spdlog::drop("bench_async");
    lg.reset();
    spdlog::shutdown();  // joins the worker after it drained the queue
  }
  lg.reset();  // closes the file
  const auto t1 = Clock::now();

  RunResult r;
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  r.cpu_seconds = process_cpu_seconds() - c0;
  r.bytes = dir_bytes(dir);
  fs::remove_all(dir);
  fa_bench::scratch_dir().clear();
  return r;
}
#endif

// --- driver ----------------------------------------------------------------------------------------------

struct Case {
  std::string id;
  std::string label;
  std::uint64_t events;
  std::function<RunResult()> run;
  std::vector<RunResult> results;

  double median_seconds() const {
    std::vector<double> t;
    for (const RunResult& r : results) t.push_back(r.seconds);
    std::sort(t.begin(), t.end());
    const std::size_t m = t.size() / 2;
    return t.size() % 2 ? t[m] : (t[m - 1] + t[m]) / 2;
  }
  double rate() const { return static_cast<double>(events) / median_seconds(); }
  double median_cpu_seconds() const {  // CPU time of the run with the median wall time
    return fa_bench::median_run(results, [](const RunResult& r) { return r.seconds; }).cpu_seconds;
  }
  double cpu_us_per_event() const { return 1e6 * median_cpu_seconds() / static_cast<double>(events); }
  double bytes_per_event() const {
    return results.empty() ? 0 : static_cast<double>(results.back().bytes) / static_cast<double>(events);
  }
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  const fa::GenerationEvent ev = article_event();
  std::string canonical;
  ev.append_canonical(canonical);
  if (canonical != fa::jcs::serialize(ev.to_json())) die("append_canonical and jcs::serialize disagree");
  if (article_json() != ev.to_json()) die("article_json() and article_event().to_json() differ");
  const std::size_t dump_bytes = ev.to_json().dump().size();

  using D = fa::Durability;
  std::vector<Case> cases;
  cases.push_back({"fa_none",
                   "fooocus_audit, none, GenerationEvent",
                   o.events,
                   [&] { return run_ours(o, o.events, D::none, 0, Input::event_struct); },
                   {}});
#if defined(FA_HAVE_SPDLOG)
  cases.push_back({"spdlog_dump",
                   "spdlog sync, json.dump() of prebuilt tree",
                   o.events,
                   [&] { return run_spdlog(o, o.events, Peer::dump_prebuilt_tree); },
                   {}});
#endif
  cases.push_back({"fa_none_built",
                   "fooocus_audit, none, GenerationEvent built per event",
                   o.events,
                   [&] { return run_ours(o, o.events, D::none, 0, Input::event_struct_built); },
                   {}});
#if defined(FA_HAVE_SPDLOG)
  cases.push_back({"spdlog_build_dump",
                   "spdlog sync, json tree built + dump() per event",
                   o.events,
                   [&] { return run_spdlog(o, o.events, Peer::build_and_dump); },
                   {}});
  cases.push_back({"spdlog_async_dump",
                   "spdlog async (1 worker), json.dump()",
                   o.events,
                   [&] { return run_spdlog(o, o.events, Peer::async_dump_prebuilt_tree); },
                   {}});
#endif
  cases.push_back({"fa_none_json",
                   "fooocus_audit, none, nlohmann::json tree (JCS)",
                   o.events,
                   [&] { return run_ours(o, o.events, D::none, 0, Input::json_tree); },
                   {}});
  cases.push_back({"fa_none_keys",
                   "fooocus_audit, none, MACs + signed checkpoints",
                   o.events,
                   [&] { return run_ours(o, o.events, D::none, 0, Input::event_struct, true); },
                   {}});
  cases.push_back({"fa_group_commit",
                   "fooocus_audit, group_commit 10 ms",
                   o.events,
                   [&] { return run_ours(o, o.events, D::group_commit, 0, Input::event_struct); },
                   {}});
  cases.push_back({"fa_always_flush100",
                   "fooocus_audit, always, flush() every 100",
                   o.always_events,
                   [&] { return run_ours(o, o.always_events, D::always, 100, Input::event_struct); },
                   {}});

  if (!o.only.empty()) {
    const std::string list = "," + o.only + ",";
    cases.erase(
        std::remove_if(cases.begin(), cases.end(),
                       [&](const Case& c) { return list.find("," + c.id + ",") == std::string::npos; }),
        cases.end());
    if (cases.empty()) die("--only " + o.only + " matches no case");
  }

  const fa_bench::LoadAverages load =
      fa_bench::run_round_robin(cases, o.warmup, o.runs, o.json, 20, [](Case& c) { return c.run(); });

  auto find = [&](const std::string& id) -> const Case* {
    for (const Case& c : cases)
      if (c.id == id) return &c;
    return nullptr;
  };
  const Case* ours = find("fa_none");
  const Case* peer = find("spdlog_dump");
  const Case* group = find("fa_group_commit");
  const Case* keyed = find("fa_none_keys");
  const double ratio = peer && ours ? ours->rate() / peer->rate() : 0;
  if (o.json) {
    nlohmann::json j;
    j["bench"] = "bench_log";
    j["events"] = o.events;
    j["always_events"] = o.always_events;
    j["runs"] = o.runs;
    j["warmup"] = o.warmup;
    j["prefault"] = o.prefault;
    j["event_canonical_bytes"] = canonical.size();
    j["event_dump_bytes"] = dump_bytes;
    j["load_average_before"] = load.before;
    j["load_average_after"] = load.after;
#if defined(FA_HAVE_SPDLOG)
    j["spdlog_version"] = fmt::format("{}.{}.{}", SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH);
#else
    j["spdlog_version"] = nullptr;
#endif
    nlohmann::json cs = nlohmann::json::array();
    for (const Case& c : cases) {
      nlohmann::json runs = nlohmann::json::array();
      nlohmann::json cpu = nlohmann::json::array();
      for (const RunResult& r : c.results) runs.push_back(r.seconds);
      for (const RunResult& r : c.results) cpu.push_back(r.cpu_seconds);
      cs.push_back({{"id", c.id},
                    {"label", c.label},
                    {"events", c.events},
                    {"seconds", runs},
                    {"cpu_seconds", cpu},
                    {"cpu_us_per_event", c.cpu_us_per_event()},
                    {"median_seconds", c.median_seconds()},
                    {"events_per_second", c.rate()},
                    {"bytes_per_event", c.bytes_per_event()}});
    }
    j["cases"] = cs;
    nlohmann::json t = nlohmann::json::object();
    if (ours)
      t["fa_none_events_per_second"] = {
          {"value", ours->rate()}, {"target", 250000}, {"met", ours->rate() >= 250000}};
    if (ours && peer) t["fa_none_over_spdlog"] = {{"value", ratio}, {"target", 3.0}, {"met", ratio >= 3.0}};
    if (group)
      t["fa_group_commit_events_per_second"] = {
          {"value", group->rate()}, {"target", 100000}, {"met", group->rate() >= 100000}};
    if (keyed)
      t["fa_none_keys_events_per_second"] = {
          {"value", keyed->rate()}, {"target", 200000}, {"met", keyed->rate() >= 200000}};
    j["targets"] = t;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }

  std::printf(
      "bench_log: the §2.2 generation event (%zu bytes canonical, %zu bytes as json.dump()), one producer\n",
      canonical.size(), dump_bytes);
  std::printf("median of %d runs after %d warm-up round(s)%s; load average before: %s, after: %s\n\n", o.runs,
              o.warmup, o.prefault ? ", page cache prefaulted before each run" : "", load.before.c_str(),
              load.after.c_str());
  std::printf("%-20s %-52s %9s %9s %11s %9s %9s %8s\n", "case", "what", "events", "median s", "events/s",
              "vs spdlog", "cpu us/ev", "B/event");
  for (const Case& c : cases) {
    const std::string vs = peer ? fmt::format("{:.2f}x", c.rate() / peer->rate()) : std::string("-");
    std::printf("%-20s %-52s %9llu %9.3f %11.0f %9s %9.2f %8.0f\n", c.id.c_str(), c.label.c_str(),
                static_cast<unsigned long long>(c.events), c.median_seconds(), c.rate(), vs.c_str(),
                c.cpu_us_per_event(), c.bytes_per_event());
  }
  std::printf("\ntargets:\n");
  if (ours)
    std::printf("  fa_none >= 250000 events/s          %12.0f  %s\n", ours->rate(),
                ours->rate() >= 250000 ? "met" : "NOT MET");
  if (ours && peer)
    std::printf("  fa_none / spdlog_dump >= 3.0        %12.2f  %s\n", ratio,
                ratio >= 3.0 ? "met" : "NOT MET");
  else if (ours)
    std::printf("  fa_none / spdlog_dump >= 3.0        (spdlog_dump not measured)\n");
  if (group)
    std::printf("  fa_group_commit >= 100000 events/s  %12.0f  %s\n", group->rate(),
                group->rate() >= 100000 ? "met" : "NOT MET");
  if (keyed)
    std::printf("  fa_none_keys >= 200000 events/s     %12.0f  %s\n", keyed->rate(),
                keyed->rate() >= 200000 ? "met" : "NOT MET");
  return 0;
}
