// SPDX-License-Identifier: Apache-2.0
// bench_model_hash: the model registry's file hasher (fooocus_audit::hash_model_file, what register_model,
// verify_file and check_generation run on multi-GB .safetensors files) against coreutils `sha256sum` on the
// same file, in the same run (docs/benchmarks.md explains the target: at least 0.90 of sha256sum's speed).
//
//   bench_model_hash [--mib N] [--tmp DIR] [--runs R] [--warmup W] [--explore] [--json]
//
// A file of N MiB (default 2048) of pseudo-random bytes is created under --tmp (default /tmp) and removed at
// the end. Nothing is dropped from the page cache: the warm-up rounds read it, every number is a warm-cache
// number. Cases run round-robin R times (default 3); the median is reported. sha256sum (and `openssl dgst
// -sha256`, when installed, for information) are spawned as processes; their output must equal the library's
// hash.
// --explore adds the variants that chose the hasher's design: read sizes from 32 KiB to 4 MiB, mmap, and the
// ceiling: SHA-256 of an in-cache buffer, no I/O.

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/model_registry.hpp"

namespace fa = fooocus_audit;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::uint64_t mib = 2048;
  std::string tmp = "/tmp";
  int runs = 3;
  int warmup = 1;
  bool explore = false;
  bool json = false;
};

constexpr char kUsage[] =
    "usage: bench_model_hash [--mib N] [--tmp DIR] [--runs R] [--warmup W] [--explore] [--json]\n"
    "  --mib N     size of the model file in MiB (default 2048)\n"
    "  --tmp DIR   where the file is created, and removed afterwards (default /tmp)\n"
    "  --runs R    runs per case, the median is reported (default 3)\n"
    "  --warmup W  untimed rounds of every case first (default 1; warms the page cache)\n"
    "  --explore   also time read sizes 32 KiB..4 MiB, mmap, and SHA-256 without I/O\n"
    "  --json      machine-readable output on stdout instead of the table\n";

[[noreturn]] void die(const std::string& what) { fa_bench::die("bench_model_hash", what); }

struct Measured {
  double seconds = 0;
  double cpu_seconds = 0;
  std::string sha256;  // "sha256:<hex>"
};

struct Case {
  std::string id;
  std::string label;
  std::function<Measured()> run;
  std::vector<Measured> results;
  const Measured& median() const {
    return fa_bench::median_run(results, [](const Measured& m) { return m.seconds; });
  }
};

double self_cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return fa_bench::cpu_seconds(ru);
}

/// Writes `mib` MiB of xorshift bytes (incompressible, like model weights) to a new file.
void create_file(const std::string& path, std::uint64_t mib) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) die("create " + path + ": " + std::strerror(errno));
  std::vector<std::uint64_t> block((1u << 20) / sizeof(std::uint64_t));
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  for (std::uint64_t i = 0; i < mib; ++i) {
    for (std::uint64_t& w : block) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      w = x;
    }
    const char* p = reinterpret_cast<const char*>(block.data());
    std::size_t left = block.size() * sizeof(std::uint64_t);
    while (left > 0) {
      const ssize_t n = ::write(fd, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) die("write " + path + ": " + std::strerror(errno));
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  if (::close(fd) != 0) die("close " + path + ": " + std::strerror(errno));
}

/// The library's hasher, in this process.
Measured run_library(const std::string& path) {
  const double c0 = self_cpu_seconds();
  const auto t0 = Clock::now();
  fa::Result<fa::FileDigest> d = fa::hash_model_file(path);
  const auto t1 = Clock::now();
  if (!d) die("hash_model_file: " + d.status().to_string());
  return {std::chrono::duration<double>(t1 - t0).count(), self_cpu_seconds() - c0, d->sha256};
}

/// A program that prints "<hex>  <path>" (or "SHA2-256(path)= <hex>"), spawned; wall time from fork to exit.
Measured run_program(const std::vector<std::string>& args) {
  int p[2];
  if (::pipe(p) != 0) die(std::string("pipe: ") + std::strerror(errno));
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const auto t0 = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) die(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::dup2(p[1], 1);
    ::close(p[0]);
    ::close(p[1]);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(p[1]);
  std::string out;
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(p[0]);
  int status = 0;
  rusage ru{};
  if (::wait4(pid, &status, 0, &ru) != pid) die(std::string("wait4: ") + std::strerror(errno));
  const auto t1 = Clock::now();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die(args[0] + " failed: " + out);
  // The first run of 64 hex digits in the output.
  std::string hex;
  for (std::size_t i = 0; i + 64 <= out.size() && hex.empty(); ++i) {
    std::size_t j = i;
    while (j < out.size() && std::isxdigit(static_cast<unsigned char>(out[j]))) ++j;
    if (j - i == 64) hex = out.substr(i, 64);
    i = j;
  }
  if (hex.empty()) die(args[0] + " printed no hash: " + out);
  return {std::chrono::duration<double>(t1 - t0).count(), fa_bench::cpu_seconds(ru), "sha256:" + hex};
}

/// --explore: read(2) into a buffer of `chunk` bytes, EVP SHA-256 (the library's wrapper), no advice.
Measured run_read_chunk(const std::string& path, std::size_t chunk) {
  const double c0 = self_cpu_seconds();
  const auto t0 = Clock::now();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open " + path);
  std::unique_ptr<unsigned char[]> buf(new unsigned char[chunk]);
  fa::detail::Sha256 h;
  ssize_t n;
  while ((n = ::read(fd, buf.get(), chunk)) > 0) h.update(buf.get(), static_cast<std::size_t>(n));
  ::close(fd);
  const std::string sha = "sha256:" + fa::detail::to_hex(h.final());
  const auto t1 = Clock::now();
  return {std::chrono::duration<double>(t1 - t0).count(), self_cpu_seconds() - c0, sha};
}

/// --explore: mmap the whole file (MADV_SEQUENTIAL) and hash it in 1 MiB steps: no copy out of the page
/// cache.
Measured run_mmap(const std::string& path) {
  const double c0 = self_cpu_seconds();
  const auto t0 = Clock::now();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) die("open " + path);
  const auto size = static_cast<std::size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) die("mmap " + path);
  ::madvise(map, size, MADV_SEQUENTIAL);
  fa::detail::Sha256 h;
  const auto* p = static_cast<const unsigned char*>(map);
  for (std::size_t off = 0; off < size; off += 1u << 20)
    h.update(p + off, std::min<std::size_t>(1u << 20, size - off));
  ::munmap(map, size);
  ::close(fd);
  const std::string sha = "sha256:" + fa::detail::to_hex(h.final());
  const auto t1 = Clock::now();
  return {std::chrono::duration<double>(t1 - t0).count(), self_cpu_seconds() - c0, sha};
}

/// --explore: the ceiling without I/O: EVP SHA-256 over a 1 MiB buffer that stays in cache, as many bytes as
/// the file (the hash differs from the file's; not compared).
Measured run_memory(std::uint64_t bytes) {
  std::vector<unsigned char> buf(1u << 20, 0x5a);
  const double c0 = self_cpu_seconds();
  const auto t0 = Clock::now();
  fa::detail::Sha256 h;
  for (std::uint64_t done = 0; done < bytes; done += buf.size()) h.update(buf.data(), buf.size());
  const std::string sha = "sha256:" + fa::detail::to_hex(h.final());
  const auto t1 = Clock::now();
  return {std::chrono::duration<double>(t1 - t0).count(), self_cpu_seconds() - c0, sha};
}

bool have_program(const char* name) {
  const std::string cmd = fmt::format("command -v {} >/dev/null 2>&1", name);
  return std::system(cmd.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  fa_bench::parse_flags(argc, argv, kUsage,
                        {{"--mib", &o.mib},
                         {"--tmp", &o.tmp},
                         {"--runs", &o.runs},
                         {"--warmup", &o.warmup},
                         {"--explore", &o.explore, true},
                         {"--json", &o.json, true}});
  if (o.mib == 0 || o.runs <= 0 || o.warmup < 0) fa_bench::usage(kUsage, 2);
  if (!have_program("sha256sum")) die("sha256sum is not installed (coreutils)");

  const std::string dir =
      fa_bench::make_scratch_dir("bench_model_hash", o.tmp + "/fa-bench-model-hash", true);
  const std::string path = dir + "/model.safetensors";
  if (!o.json)
    std::fprintf(stderr, "creating %llu MiB in %s ...\n", static_cast<unsigned long long>(o.mib),
                 path.c_str());
  create_file(path, o.mib);
  const double bytes = static_cast<double>(o.mib) * 1048576.0;

  std::vector<Case> cases;
  cases.push_back(
      {"fa_hash_model_file", "fooocus_audit::hash_model_file", [&] { return run_library(path); }, {}});
  cases.push_back({"sha256sum",
                   "sha256sum (coreutils, spawned)",
                   [&] {
                     return run_program({"sha256sum", path});
                   },
                   {}});
  if (have_program("openssl"))
    cases.push_back({"openssl_dgst",
                     "openssl dgst -sha256 (spawned, information)",
                     [&] {
                       return run_program({"openssl", "dgst", "-sha256", path});
                     },
                     {}});
  if (o.explore) {
    for (std::size_t kib : {32u, 128u, 256u, 1024u, 4096u})
      cases.push_back({fmt::format("read_{}k", kib),
                       fmt::format("explore: read {} KiB, no fadvise", kib),
                       [&, kib] { return run_read_chunk(path, kib * 1024); },
                       {}});
    cases.push_back({"mmap", "explore: mmap + MADV_SEQUENTIAL", [&] { return run_mmap(path); }, {}});
    cases.push_back({"memory", "explore: no I/O (ceiling)", [&] { return run_memory(o.mib << 20); }, {}});
  }

  const fa_bench::LoadAverages load =
      fa_bench::run_round_robin(cases, o.warmup, o.runs, o.json, 20, [](Case& c) { return c.run(); });

  const std::string expected = cases[0].results.front().sha256;
  for (const Case& c : cases)
    for (const Measured& m : c.results)
      if (c.id != "memory" && m.sha256 != expected)
        die(fmt::format("{} computed {}, the library {}", c.id, m.sha256, expected));

  const double fa_mbps = bytes / 1e6 / cases[0].median().seconds;
  const double sum_mbps = bytes / 1e6 / cases[1].median().seconds;
  const double ratio = fa_mbps / sum_mbps;
  const bool met = ratio >= 0.90;

  if (o.json) {
    nlohmann::json j = {{"mib", o.mib},
                        {"runs", o.runs},
                        {"load_before", load.before},
                        {"load_after", load.after},
                        {"sha256", expected},
                        {"ratio_vs_sha256sum", ratio},
                        {"target", 0.90},
                        {"met", met},
                        {"cases", nlohmann::json::array()}};
    for (const Case& c : cases) {
      const Measured& m = c.median();
      j["cases"].push_back({{"id", c.id},
                            {"seconds", m.seconds},
                            {"cpu_seconds", m.cpu_seconds},
                            {"mb_per_s", bytes / 1e6 / m.seconds}});
    }
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print(
        "bench_model_hash: {} MiB file, warm page cache, median of {} run(s) ({} warm-up), load {} -> {}\n",
        o.mib, o.runs, o.warmup, load.before, load.after);
    fmt::print("{}\n\n", expected);
    fmt::print("{:<46} {:>10} {:>9} {:>9}   runs (s)\n", "case", "MB/s", "wall s", "cpu s");
    for (const Case& c : cases) {
      const Measured& m = c.median();
      std::string runs;
      for (const Measured& r : c.results) runs += fmt::format(" {:.3f}", r.seconds);
      fmt::print("{:<46} {:>10.0f} {:>9.3f} {:>9.3f}  {}\n", c.label, bytes / 1e6 / m.seconds, m.seconds,
                 m.cpu_seconds, runs);
    }
    fmt::print("\nhash_model_file / sha256sum = {:.2f} (target >= 0.90): {}\n", ratio,
               met ? "met" : "NOT MET");
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return met ? 0 : 1;
}
