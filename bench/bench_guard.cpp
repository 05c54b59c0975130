// SPDX-License-Identifier: Apache-2.0
// bench_guard: the secret guard (secret_guard.hpp) and its detectors (detail/secret_detectors.hpp).
//
//   bench_guard [--mb M] [--events N] [--runs K] [--json]
//
// 1. Throughput in MB/s of detect::may_contain_secret (the prefilter) and detect::scan_secrets (all secret
//    detectors) on corpora of M MB each (default 8): Fooocus-style prompts, browser user agents, file paths,
//    error messages, prompts with about one secret each, and single 1 MB strings. Peers measured in the same
//    run: memchr for a byte that is absent (the memory-speed ceiling) and one RE2 search for the union of the
//    trigger prefixes and key words (what "a regex for the prefixes" costs).
// 2. The guard's prefilter on the seed article's §2.2 generation event, MB/s of the event's canonical form and
//    events/s: guard_may_redact on the struct and on the JSON tree (the per-string walks), and
//    guard_may_redact_canonical on the canonical bytes (what both AuditLogger::log overloads run).
// 3. AuditLogger::log of N §2.2 events (default 200,000; Durability::none), guard on and guard off, struct and
//    JSON paths, events/s; and the same with a key in the user agent (the copy-and-redact path).
// Every case runs K timed rounds (default 5) after one warm-up round, round-robin; the median is reported.
// Single-thread cases (1, 2) are timed by the thread's CPU time; logging (3) by the wall clock, and the CPU time
// of the whole process (caller + writer thread) per event is reported too: on a shared machine it is the
// steadier figure for the guard's cost.
// Times are reported, never asserted. docs/benchmarks.md ("bench_guard") has the results.

#include <fmt/format.h>
#include <re2/re2.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/detail/secret_detectors.hpp"
#include "fooocus_audit/secret_guard.hpp"

namespace fa = fooocus_audit;
namespace fd = fooocus_audit::detect;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int mb = 8;
  int events = 200000;
  int runs = 5;
  bool json = false;
};

constexpr char kUsage[] =
    "usage: bench_guard [--mb M] [--events N] [--runs K] [--json]\n"
    "  --mb M      megabytes per text corpus (default 8)\n"
    "  --events N  events logged per logging round (default 200000)\n"
    "  --runs K    timed rounds, the median is reported (default 5)\n"
    "  --json      machine-readable output on stdout instead of the table\n";

[[noreturn]] void die(const std::string& what) { fa_bench::die("bench_guard", what); }

std::mt19937_64 rng(42);

template <typename T>
const T& pick(const std::vector<T>& v) {
  return v[rng() % v.size()];
}

std::string random_of(const std::string& alphabet, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s.push_back(alphabet[rng() % alphabet.size()]);
  return s;
}

// Fooocus-style prompts: subjects, styles, weights "(word:1.2)", quality tags; ~200-400 bytes each.
std::string prompt() {
  static const std::vector<std::string> subject{
      "a portrait of a young woman with freckles", "a cyberpunk city street at night", "a majestic lion in the savanna",
      "an astronaut riding a horse on mars", "a cozy cabin in a snowy forest", "a bowl of ramen, food photography",
      "a secret garden with glowing flowers", "a samurai standing in the rain", "a steampunk airship above the clouds",
      "a luxury watch on a marble surface", "a cat wearing a tiny crown", "an ancient temple covered in moss"};
  static const std::vector<std::string> tags{
      "highly detailed", "8k", "cinematic lighting", "key light", "rim light", "(masterpiece:1.2)",
      "(best quality:1.1)", "sharp focus", "bokeh", "volumetric fog", "octane render", "unreal engine 5",
      "trending on artstation", "by greg rutkowski", "photorealistic", "hdr", "soft shadows", "golden hour",
      "depth of field", "intricate", "ultra-detailed", "35mm film", "analog photo", "dramatic sky", "--ar 16:9"};
  std::string p = pick(subject);
  const int n = 8 + static_cast<int>(rng() % 12);
  for (int i = 0; i < n; ++i) p += ", " + pick(tags);
  return p;
}

std::string user_agent() {
  static const std::vector<std::string> ua{
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
      "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
      "Fooocus-API-client/1.0", "python-requests/2.31.0", "curl/8.5.0", "okhttp/4.12.0",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"};
  return pick(ua);
}

std::string path() {
  static const std::vector<std::string> p{
      "/home/fooocus/models/checkpoints/juggernautXL_v8Rundiffusion.safetensors",
      "/home/fooocus/models/loras/sd_xl_offset_example-lora_1.0.safetensors",
      "s3://company-images/generations/acme_corp/req_764cabcf.png", "C:\\Fooocus\\outputs\\2024-01-15\\image_001.png",
      "/var/lib/fooocus/outputs/2026-03-25/14-30-45_176400.png", "models/vae/sdxl_vae.safetensors"};
  return pick(p);
}

std::string error_message() {
  static const std::vector<std::string> e{
      "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 23.65 GiB total capacity; 20.11 GiB already allocated)",
      "RuntimeError: Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!",
      "FileNotFoundError: [Errno 2] No such file or directory: 'models/checkpoints/missing.safetensors'",
      "ConnectionResetError: [Errno 104] Connection reset by peer while uploading to https://cdn.example.com/out",
      "ValueError: invalid literal for int() with base 10: 'abc' in seed field", "Timeout after 300s waiting for worker gpu-node-5"};
  return pick(e);
}

std::string secret() {
  static const std::string b62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  switch (rng() % 6) {
    case 0: return "AKIA" + random_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
    case 1: return "sk-proj-" + random_of(b62, 20) + "T3Blbk" "FJ" + random_of(b62, 20);
    case 2: return "api_key=" + random_of(b62, 32);
    case 3: return "https://admin:" + random_of(b62, 12) + "@db.internal/app";
    case 4: return "sk_live_" + random_of(b62, 24);
    default: return "AIza" + random_of(b62, 35);
  }
}

std::string corpus(std::size_t bytes, std::string (*gen)(), const char* sep) {
  std::string s;
  s.reserve(bytes + 512);
  while (s.size() < bytes) s += gen() + sep;
  return s;
}

std::string prompts_with_secrets(std::size_t bytes) {
  std::string s;
  s.reserve(bytes + 512);
  while (s.size() < bytes) {
    std::string p = prompt();
    const std::size_t at = p.find(", ", p.size() / 2);
    p.insert(at == std::string::npos ? p.size() : at, " " + secret());
    s += p + "\n";
  }
  return s;
}

// Splits a corpus into lines (the guard sees one string at a time).
std::vector<std::string_view> lines_of(const std::string& s) {
  std::vector<std::string_view> out;
  std::size_t b = 0;
  while (b < s.size()) {
    std::size_t e = s.find('\n', b);
    if (e == std::string::npos) e = s.size();
    out.emplace_back(s.data() + b, e - b);
    b = e + 1;
  }
  return out;
}

struct Result {
  double seconds = 0;  // thread CPU time for single-thread cases, wall-clock for logging cases
  std::size_t found = 0;
  double process_cpu = 0;  // logging cases: CPU time of the whole process (caller and writer threads)
};

struct Case {
  std::string id;
  std::string group;
  double bytes = 0;   // per round (MB/s), or 0
  double events = 0;  // per round (ev/s), or 0
  std::function<std::size_t()> body;
  std::vector<Result> results;
  bool wall = false;  // logging: two threads, timed by the wall clock
};

// The machine is shared: single-thread cases are timed by the CPU time of their thread (what one core
// does, independent of how often the scheduler ran something else); logging cases by the wall clock.
template <typename F>
Result timed(F&& f, bool wall) {
  const auto t0 = Clock::now();
  const double c0 = fa_bench::thread_cpu_seconds(), p0 = fa_bench::process_cpu_seconds();
  const std::size_t found = f();
  const double c1 = fa_bench::thread_cpu_seconds(), p1 = fa_bench::process_cpu_seconds();
  const auto t1 = Clock::now();
  return Result{wall ? std::chrono::duration<double>(t1 - t0).count() : c1 - c0, found, p1 - p0};
}

std::string trigger_regex() {
  return R"((?i:key|token|secret|password|passwd|pwd|bearer|auth|credential)|AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|)"
         R"(AIza|gh[pousr]_|github_pat_|gl[a-z]+-|xox[abeoprs][-.]|sk-|[sr]k_(?:live|test)_|whsec_|eyJ|-----BEGIN |://)";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    fa_bench::parse_flags(argc, argv, kUsage,
                          {{"--mb", &o.mb}, {"--events", &o.events}, {"--runs", &o.runs}, {"--json", &o.json, true}});
  } catch (const std::exception& e) {
    die(std::string("bad option value: ") + e.what());
  }
  if (o.mb <= 0 || o.events <= 0 || o.runs <= 0) fa_bench::usage(kUsage, 2);
  const std::size_t bytes = static_cast<std::size_t>(o.mb) << 20;

  struct Corpus {
    std::string name;
    std::string text;
    std::vector<std::string_view> lines;
  };
  std::vector<Corpus> corpora;
  corpora.push_back({"prompts", corpus(bytes, prompt, "\n"), {}});
  corpora.push_back({"user agents", corpus(bytes, user_agent, "\n"), {}});
  corpora.push_back({"paths", corpus(bytes, path, "\n"), {}});
  corpora.push_back({"error messages", corpus(bytes, error_message, "\n"), {}});
  corpora.push_back({"prompts, ~1 secret each", prompts_with_secrets(bytes), {}});
  for (Corpus& c : corpora) c.lines = lines_of(c.text);
  // 1 MB strings scanned whole.
  std::string big_prompt = corpus(1u << 20, prompt, " ");
  big_prompt.resize(1u << 20);
  std::string big_ua = corpus(1u << 20, user_agent, " ");
  big_ua.resize(1u << 20);

  const RE2 peer_re(trigger_regex());
  if (!peer_re.ok()) die("RE2 peer: " + peer_re.error());

  std::vector<Case> cases;
  for (const Corpus& c : corpora) {
    const Corpus* cp = &c;
    const double b = static_cast<double>(c.text.size());
    cases.push_back({"may_contain_secret: " + c.name, "text", b, 0, [cp] {
                       std::size_t n = 0;
                       for (std::string_view l : cp->lines) n += fd::may_contain_secret(l);
                       return n;
                     }, {}});
    cases.push_back({"scan_secrets: " + c.name, "text", b, 0, [cp] {
                       std::vector<fd::Match> m;
                       std::size_t n = 0;
                       for (std::string_view l : cp->lines) {
                         m.clear();
                         fd::scan_secrets(l, fd::kSecretDetectors, m);
                         n += m.size();
                       }
                       return n;
                     }, {}});
    cases.push_back({"peer RE2 trigger search: " + c.name, "text", b, 0, [cp, &peer_re] {
                       std::size_t n = 0;
                       for (std::string_view l : cp->lines) n += RE2::PartialMatch(l, peer_re);
                       return n;
                     }, {}});
    cases.push_back({"peer memchr (absent byte): " + c.name, "text", b, 0, [cp] {
                       std::size_t n = 0;
                       for (std::string_view l : cp->lines) n += std::memchr(l.data(), 0x01, l.size()) != nullptr;
                       return n;
                     }, {}});
  }
  for (const std::string* big : {&big_prompt, &big_ua}) {
    const std::string name = big == &big_prompt ? "1 MB prompt string" : "1 MB user-agent string";
    cases.push_back({"may_contain_secret: " + name, "text", static_cast<double>(big->size()) * 8, 0, [big] {
                       std::size_t n = 0;
                       for (int i = 0; i < 8; ++i) n += fd::may_contain_secret(*big);
                       return n;
                     }, {}});
    cases.push_back({"scan_secrets: " + name, "text", static_cast<double>(big->size()) * 8, 0, [big] {
                       std::size_t n = 0;
                       std::vector<fd::Match> m;
                       for (int i = 0; i < 8; ++i) {
                         m.clear();
                         fd::scan_secrets(*big, fd::kSecretDetectors, m);
                         n += m.size();
                       }
                       return n;
                     }, {}});
  }

  // The §2.2 event: the guard's fast path alone.
  const fa::GenerationEvent ev = fa_bench::article_event();
  const nlohmann::json ev_json = ev.to_json();
  std::string ev_canonical;
  ev.append_canonical(ev_canonical);
  const double ev_string_bytes = static_cast<double>(ev_canonical.size());
  const int kGuardEvents = 200000;
  cases.push_back({"guard_may_redact(GenerationEvent) §2.2", "event", ev_string_bytes * kGuardEvents, kGuardEvents,
                   [&ev] {
                     std::size_t n = 0;
                     for (int i = 0; i < kGuardEvents; ++i) n += fa::guard_may_redact(ev, {});
                     return n;
                   }, {}});
  cases.push_back({"guard_may_redact(json) §2.2", "event", ev_string_bytes * kGuardEvents, kGuardEvents, [&ev_json] {
                     std::size_t n = 0;
                     for (int i = 0; i < kGuardEvents; ++i) n += fa::guard_may_redact(ev_json, {});
                     return n;
                   }, {}});
  cases.push_back({"guard_may_redact_canonical §2.2 (log path)", "event", ev_string_bytes * kGuardEvents,
                   kGuardEvents, [&ev_canonical] {
                     std::size_t n = 0;
                     for (int i = 0; i < kGuardEvents; ++i) n += fa::guard_may_redact_canonical(ev_canonical);
                     return n;
                   }, {}});

  // Logging, guard on and off.
  const std::string base = fa_bench::make_scratch_dir("bench_guard", "/tmp/bench_guard", true);
  int round = 0;
  fa::GenerationEvent ev_key = ev;
  ev_key.user_agent = "Fooocus-API-client/1.0 AKIA" "Q3EGRMPLT5ZX7WUV";
  nlohmann::json ev_key_json = ev_key.to_json();
  auto log_case = [&](bool guard, int kind) {
    return [&, guard, kind] {
      const std::string dir = fmt::format("{}/r{}", base, round++);
      fa::LoggerOptions opt;
      opt.dir = dir;
      opt.durability = fa::Durability::none;
      opt.secret_guard.enabled = guard;
      auto lg = fa::AuditLogger::open(opt);
      if (!lg) die("open: " + lg.status().to_string());
      for (int i = 0; i < o.events; ++i) {
        fa::Status s = kind == 0   ? (*lg)->log(ev)
                       : kind == 1 ? (*lg)->log(ev_json)
                       : kind == 2 ? (*lg)->log(ev_key)
                                   : (*lg)->log(ev_key_json);
        if (!s) die("log: " + s.to_string());
      }
      if (fa::Status s = (*lg)->close(); !s) die("close: " + s.to_string());
      const std::size_t redacted = (*lg)->stats().secrets_redacted;
      lg->reset();
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
      return redacted;
    };
  };
  const double evs = o.events;
  cases.push_back({"log(GenerationEvent) §2.2, guard on", "log", 0, evs, log_case(true, 0), {}, true});
  cases.push_back({"log(GenerationEvent) §2.2, guard off", "log", 0, evs, log_case(false, 0), {}, true});
  cases.push_back({"log(json) §2.2, guard on", "log", 0, evs, log_case(true, 1), {}, true});
  cases.push_back({"log(json) §2.2, guard off", "log", 0, evs, log_case(false, 1), {}, true});
  cases.push_back({"log(GenerationEvent) key in user agent, guard on", "log", 0, evs, log_case(true, 2), {}, true});
  cases.push_back({"log(json) key in user agent, guard on", "log", 0, evs, log_case(true, 3), {}, true});

  const fa_bench::LoadAverages load = fa_bench::run_round_robin(
      cases, 1, o.runs, o.json, 48, [](Case& c) { return timed(c.body, c.wall); });
  std::error_code ec;
  std::filesystem::remove_all(base, ec);

  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Case& c : cases) {
      const Result& r = fa_bench::median_run(c.results, [](const Result& x) { return x.seconds; });
      out.push_back({{"case", c.id}, {"seconds", r.seconds}, {"found", r.found},
                     {"mb_per_s", c.bytes > 0 ? c.bytes / r.seconds / 1e6 : 0.0},
                     {"events_per_s", c.events > 0 ? c.events / r.seconds : 0.0},
                     {"process_cpu_us_per_event", c.wall ? r.process_cpu / c.events * 1e6 : 0.0}});
    }
    std::printf("%s\n", nlohmann::json{{"load_before", load.before}, {"load_after", load.after}, {"cases", out}}.dump(2).c_str());
    return 0;
  }
  std::printf("bench_guard: %d MB per corpus, %d events per logging round, median of %d rounds; load %s -> %s\n\n",
              o.mb, o.events, o.runs, load.before.c_str(), load.after.c_str());
  std::printf("| case | MB/s | events/s | process CPU µs/event | found/redacted |\n|---|---:|---:|---:|---:|\n");
  for (const Case& c : cases) {
    const Result& r = fa_bench::median_run(c.results, [](const Result& x) { return x.seconds; });
    std::printf("| %s | %s | %s | %s | %zu |\n", c.id.c_str(),
                c.bytes > 0 ? fmt::format("{:.0f}", c.bytes / r.seconds / 1e6).c_str() : "",
                c.events > 0 ? fmt::format("{:.0f}", c.events / r.seconds).c_str() : "",
                c.wall ? fmt::format("{:.2f}", r.process_cpu / c.events * 1e6).c_str() : "", r.found);
  }
  return 0;
}
