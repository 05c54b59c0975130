// SPDX-License-Identifier: Apache-2.0
#pragma once
// What the benchmark programs share: the event they log (the seed article's section 2.2 example generation
// event, about 1.2 KB canonical, with real-looking hash values), their command-line parsing, a scratch
// directory that is not left behind on failure, round-robin runs of their cases, and the figures every
// report carries (load average, CPU time, the median run).

#include <stdlib.h>  // getloadavg, mkdtemp
#include <sys/resource.h>
#include <time.h>  // clock_gettime

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "fooocus_audit/generation_event.hpp"

namespace fa_bench {

// The seed article's §2.2 example generation event.
inline fooocus_audit::GenerationEvent article_event() {
  fooocus_audit::GenerationEvent e;
  e.event_type = "image_generation";
  e.version = "1.0";
  e.timestamp = "2024-01-15T14:30:00.000Z";
  e.request_id = "req_764cabcf-b745-4b3e-ae38-1200304cf45b";
  e.user_id = "alice@enterprise.com";
  e.tenant_id = "acme_corp";
  e.session_id = "sess_abc123def456";
  e.ip_address = "10.2.3.4";
  e.user_agent = "Fooocus-API-client/1.0";
  e.request.prompt_sanitized = "professional product photography, luxury watch on marble surface";
  e.request.prompt_hash = "sha256:c630f4de33836ed2a6c23d695b33f80035594b5b0feaa3b56eab4a5b0b9ce1bb";
  e.request.negative_prompt = "blurry, low resolution, watermark";
  e.request.performance = "Quality";
  e.request.aspect_ratio = "1024x1024";
  e.request.num_images = 1;
  e.request.seed = 176400;
  e.request.loras = {{"brand-style-v2", 0.8}};
  e.request.styles = {"Fooocus Enhance", "Fooocus Sharp"};
  e.request.guidance_scale = 4.0;
  e.request.sharpness = 2.0;
  e.request.enable_safety_checker = true;
  e.processing.worker_id = "gpu-node-5";
  e.processing.queue_wait_ms = 234;
  e.processing.generation_duration_ms = 8542;
  e.processing.retry_count = 0;
  e.processing.model_version = "sd_xl_base_1.0";
  e.processing.refiner_model = "None";
  e.outputs = {{"s3://company-images/generations/acme_corp/req_764cabcf.png",
                "sha256:742b42db2607565a6f33f23f218216a61a3597304c8ac71e3de81b6e68d7b852", 1024, 1024,
                524288}};
  e.safety.has_nsfw_concepts = false;
  e.safety.safety_checker_version = "v2.1";
  e.result = "success";
  return e;
}

/// A directory this program created and must not leave behind if it gives up half-way ("" when none).
inline std::string& scratch_dir() {
  static std::string dir;
  return dir;
}

/// Prints "<program>: <what>", removes the scratch directory, exits with status 2.
[[noreturn]] inline void die(const char* program, const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program, what.c_str());
  if (!scratch_dir().empty()) {
    std::error_code ec;
    std::filesystem::remove_all(scratch_dir(), ec);
  }
  std::exit(2);
}

/// Prints `text` (the program's usage) to stdout for code 0, else to stderr, and exits with `code`.
[[noreturn]] inline void usage(const char* text, int code) {
  std::fprintf(code == 0 ? stdout : stderr, "%s", text);
  std::exit(code);
}

/// One command-line option: a value parsed into *target (integers as std::stoull / std::stoi would, a string
/// as given), or a switch that stores a fixed value.
class Flag {
 public:
  Flag(std::string_view name, std::string* target)
      : name_(name), takes_value_(true), set_([target](const char* v) { *target = v; }) {}
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Flag(std::string_view name, T* target)
      : name_(name), takes_value_(true), set_([target](const char* v) { *target = parse_integer<T>(v); }) {}
  Flag(std::string_view name, bool* target, bool value)
      : name_(name), takes_value_(false), set_([target, value](const char*) { *target = value; }) {}

  std::string_view name() const { return name_; }
  bool takes_value() const { return takes_value_; }
  void set(const char* value) const { set_(value); }

 private:
  // Unsigned: std::stoull, cut to T. Signed: out of T's range throws std::out_of_range, as std::stoi does.
  template <typename T>
  static T parse_integer(const char* v) {
    if constexpr (std::is_unsigned_v<T>) {
      return static_cast<T>(std::stoull(v));
    } else {
      const long long x = std::stoll(v);
      if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max())
        throw std::out_of_range(std::string("option value out of range: ") + v);
      return static_cast<T>(x);
    }
  }

  std::string_view name_;
  bool takes_value_;
  std::function<void(const char*)> set_;
};

/// Applies argv[1..] to `flags`. --help and -h print `usage_text` and exit 0; an unknown option or a missing
/// value prints it to stderr and exits 2.
inline void parse_flags(int argc, char** argv, const char* usage_text, std::initializer_list<Flag> flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") usage(usage_text, 0);
    const Flag* flag = nullptr;
    for (const Flag& f : flags)
      if (f.name() == a) flag = &f;
    if (flag == nullptr) usage(usage_text, 2);
    if (!flag->takes_value()) {
      flag->set(nullptr);
    } else {
      if (i + 1 >= argc) usage(usage_text, 2);
      flag->set(argv[++i]);
    }
  }
}

/// Creates the directory "<prefix>-XXXXXX" (mkdtemp) and returns its path; dies when it cannot. With
/// remove_on_failure it becomes the scratch directory die() removes.
inline std::string make_scratch_dir(const char* program, const std::string& prefix, bool remove_on_failure) {
  std::string dir = prefix + "-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) die(program, "mkdtemp " + dir + ": " + std::strerror(errno));
  if (remove_on_failure) scratch_dir() = dir;
  return dir;
}

/// "1.23 0.98 0.75", or "?" when the system does not say.
inline std::string load_average() {
  double l[3] = {0, 0, 0};
  if (::getloadavg(l, 3) != 3) return "?";
  return fmt::format("{:.2f} {:.2f} {:.2f}", l[0], l[1], l[2]);
}

/// User + system time in a getrusage / wait4 result, in seconds.
inline double cpu_seconds(const rusage& ru) {
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/// The median of `v` (of an even count, the upper of the two middle values); `v` must not be empty.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// A CPU-time clock (CLOCK_THREAD_CPUTIME_ID, CLOCK_PROCESS_CPUTIME_ID), in seconds.
inline double cpu_clock_seconds(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// CPU time of the calling thread, in seconds: what one core did for it, whatever else the machine ran.
inline double thread_cpu_seconds() { return cpu_clock_seconds(CLOCK_THREAD_CPUTIME_ID); }

/// CPU time of the whole process (every thread), in seconds.
inline double process_cpu_seconds() { return cpu_clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }

/// The run with the median `seconds(run)` (of an even count, the upper of the two middle ones).
template <typename Run, typename Seconds>
const Run& median_run(const std::vector<Run>& runs, Seconds seconds) {
  std::vector<const Run*> v;
  for (const Run& r : runs) v.push_back(&r);
  std::sort(v.begin(), v.end(), [&](const Run* a, const Run* b) { return seconds(*a) < seconds(*b); });
  return *v[v.size() / 2];
}

/// The load average before and after the timed rounds of run_round_robin().
struct LoadAverages {
  std::string before, after;
};

/// Runs every case `warmup` untimed rounds, then `runs` timed rounds, round-robin: measure(c) runs case c
/// (a struct with `id` and `results`) once, and a timed round keeps what it returns in c.results. Unless
/// quiet, the progress is shown on one line of stderr, ids padded to id_width.
template <typename Case, typename Measure>
LoadAverages run_round_robin(std::vector<Case>& cases, int warmup, int runs, bool quiet, int id_width,
                             Measure measure) {
  for (int w = 0; w < warmup; ++w)
    for (Case& c : cases) {
      if (!quiet) std::fprintf(stderr, "warm-up %d/%d %-*s ...\r", w + 1, warmup, id_width, c.id.c_str());
      (void)measure(c);
    }
  LoadAverages load;
  load.before = load_average();
  for (int r = 0; r < runs; ++r)
    for (Case& c : cases) {
      if (!quiet) std::fprintf(stderr, "run %d/%d %-*s ...\r", r + 1, runs, id_width, c.id.c_str());
      c.results.push_back(measure(c));
    }
  if (!quiet) std::fprintf(stderr, "%60s\r", "");
  load.after = load_average();
  return load;
}

}  // namespace fa_bench
