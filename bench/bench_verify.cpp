// SPDX-License-Identifier: Apache-2.0
// bench_verify: ChainVerifier::verify_path throughput on a ~1 GiB log against its floor, OpenSSL SHA-256,
// measured in one run (docs/benchmarks.md explains the cases and the targets).
//
//   bench_verify [--bytes N] [--dir DIR] [--keep] [--threads T] [--runs R] [--warmup W] [--tmp DIR] [--json]
//
// Without --dir, a log of about N bytes (default 1 GiB) of the seed article's §2.2 generation event is
// written with AuditLogger (Durability::none) into a new directory under --tmp (default /tmp) and removed
// at the end unless --keep. Nothing is dropped from the page cache: the log is read once before timing and
// every number is a warm-cache number.
//
// Each measurement runs in its own forked process, so its peak resident memory (VmHWM) is its own and not
// that of the generator; the parent stays small. Cases run round-robin R times; medians are reported.

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/chain_verifier.hpp"
#include "fooocus_audit/generation_event.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/mac_key.hpp"
#include "fooocus_audit/signer.hpp"
#include "bench_common.hpp"

namespace fa = fooocus_audit;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

using fa_bench::article_event;

struct Options {
  std::uint64_t bytes = 1ull << 30;
  std::string dir;  // reuse this log instead of generating one
  bool keep = false;
  unsigned threads = 0;  // the multi-threaded case; 0 = the verifier's default
  int runs = 3;
  int warmup = 1;  // untimed rounds first: fresh guest memory is slow to touch the first time on a VM
  std::string tmp = "/tmp";
  bool json = false;
  bool keys = false;  // generate the log with MACs and signed checkpoints; verify with the seed and the key
};

// With --keys: the auditor's MAC seed and the trusted checkpoint key the verifier cases use.
struct Keys {
  std::string seed_path;
  std::vector<fa::note::VerifierKey> trusted;
};
Keys g_keys;

constexpr char kUsage[] =
    "usage: bench_verify [--bytes N] [--dir DIR] [--keep] [--threads T] [--runs R]\n"
    "                    [--warmup W] [--tmp DIR] [--keys] [--json]\n"
    "  --bytes N    size of the generated log (default 1073741824)\n"
    "  --dir DIR    verify this existing log instead of generating one (never removed)\n"
    "  --keep       keep the generated log and print its path\n"
    "  --threads T  threads of the parallel case (default 0: the verifier's default); a\n"
    "               --threads 1 case always runs too\n"
    "  --runs R     runs per case, the median is reported (default 3)\n"
    "  --warmup W   untimed rounds of every case before the timed ones (default 1)\n"
    "  --tmp DIR    where the log is generated (default /tmp)\n"
    "  --keys       write the log with MACs and signed checkpoints, verify with the seed and key\n"
    "  --json       machine-readable output on stdout instead of the table\n";

Options parse_args(int argc, char** argv) {
  Options o;
  fa_bench::parse_flags(argc, argv, kUsage,
                        {{"--bytes", &o.bytes},
                         {"--dir", &o.dir},
                         {"--keep", &o.keep, true},
                         {"--threads", &o.threads},
                         {"--runs", &o.runs},
                         {"--warmup", &o.warmup},
                         {"--tmp", &o.tmp},
                         {"--json", &o.json, true},
                         {"--keys", &o.keys, true}});
  if (o.bytes == 0 || o.runs <= 0 || o.warmup < 0) fa_bench::usage(kUsage, 2);
  return o;
}

[[noreturn]] void die(const std::string& what) { fa_bench::die("bench_verify", what); }

std::uint64_t segment_bytes(const std::string& dir) {
  std::uint64_t n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string().rfind("segment-", 0) == 0) n += e.file_size();
  return n;
}

// Peak resident set of this process in KiB (VmHWM: per address space, so unaffected by the parent).
long vm_hwm_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

// What a measuring child sends back through its pipe.
struct ChildResult {
  double seconds = 0;
  std::uint64_t bytes = 0;    // bytes processed
  std::uint64_t records = 0;  // verifier only
  long vm_hwm_kib = 0;
  int ok = 0;  // verifier: intact; others: 1
  char error[200] = {};
};

struct Measured {
  ChildResult r;
  long ru_maxrss_kib = 0;  // from wait4; includes what the child inherited at fork (the parent is small)
  double cpu_seconds = 0;  // user + system time of the child, all its threads
};

// Runs fn in a forked child (the parent has no threads, so fork is safe) and collects its result.
Measured in_child(const std::function<ChildResult()>& fn) {
  int p[2];
  if (::pipe(p) != 0) die(std::string("pipe: ") + std::strerror(errno));
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) die(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::close(p[0]);
    ChildResult r;
    try {
      r = fn();
    } catch (const std::exception& e) {
      std::snprintf(r.error, sizeof r.error, "%s", e.what());
    }
    r.vm_hwm_kib = vm_hwm_kib();
    const ssize_t w = ::write(p[1], &r, sizeof r);
    ::_exit(w == static_cast<ssize_t>(sizeof r) ? 0 : 3);
  }
  ::close(p[1]);
  Measured m;
  std::size_t got = 0;
  auto* dst = reinterpret_cast<char*>(&m.r);
  while (got < sizeof m.r) {
    const ssize_t n = ::read(p[0], dst + got, sizeof m.r - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(p[0]);
  int status = 0;
  rusage ru{};
  if (::wait4(pid, &status, 0, &ru) != pid) die(std::string("wait4: ") + std::strerror(errno));
  if (got != sizeof m.r || !WIFEXITED(status) || WEXITSTATUS(status) != 0) die("a measuring child failed");
  if (m.r.error[0] != '\0') die(m.r.error);
  m.ru_maxrss_kib = ru.ru_maxrss;
  m.cpu_seconds = fa_bench::cpu_seconds(ru);
  return m;
}

// --- the log ---------------------------------------------------------------------------------------------

std::string generate_log(const Options& o) {
  const std::string base = fa_bench::make_scratch_dir("bench_verify", o.tmp + "/fa-bench-verify", !o.keep);
  const std::string dir = base + "/log";
  const fa::GenerationEvent ev = article_event();
  std::string canonical;
  ev.append_canonical(canonical);
  if (canonical != fa::jcs::serialize(ev.to_json())) die("append_canonical and jcs::serialize disagree");
  // A record adds about 185 bytes around its event (docs/log-format.md §2.2) plus the digits of seq.
  const std::uint64_t per_line = canonical.size() + 190;
  const std::uint64_t events = (o.bytes + per_line - 1) / per_line;
  std::optional<fa::note::SigningKey> key;
  if (o.keys) {
    auto seed = fa::mac::Seed::generate();
    g_keys.seed_path = base + "/auditor-mac.key";
    if (!seed || !seed->save(g_keys.seed_path) || !seed->save(base + "/writer-mac.key")) die("cannot write MAC seeds");
    auto k = fa::note::SigningKey::generate("bench.example/fooocus");
    if (!k) die("keygen: " + k.status().to_string());
    g_keys.trusted = {k->verifier()};
    key.emplace(std::move(k.value()));
  }
  // The writer (and its queue of up to 64k events) lives in a child, so it does not inflate our RSS.
  in_child([&] {
    fa::LoggerOptions lo;
    lo.dir = dir;
    lo.durability = fa::Durability::none;
    if (key) {
      lo.mac_key_path = base + "/writer-mac.key";
      lo.signer = std::make_shared<fa::LocalSigner>(std::move(*key));
    }
    auto opened = fa::AuditLogger::open(std::move(lo));
    if (!opened) throw std::runtime_error("open: " + opened.status().to_string());
    for (std::uint64_t i = 0; i < events; ++i)
      if (fa::Status s = opened.value()->log(ev); !s) throw std::runtime_error("log: " + s.to_string());
    if (fa::Status s = opened.value()->close(); !s) throw std::runtime_error("close: " + s.to_string());
    ChildResult r;
    r.ok = 1;
    return r;
  });
  return dir;
}

// Reads every segment once so that the timed runs see a warm page cache; returns the bytes read.
std::uint64_t warm_cache(const std::string& dir) {
  std::vector<char> buf(4u << 20);
  std::uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename().string().rfind("segment-", 0) != 0) continue;
    const int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open " + e.path().string() + ": " + std::strerror(errno));
    ssize_t n;
    while ((n = ::read(fd, buf.data(), buf.size())) > 0) total += static_cast<std::uint64_t>(n);
    ::close(fd);
  }
  return total;
}

// --- cases -----------------------------------------------------------------------------------------------

// SHA-256 fetched once (OpenSSL 3), as `openssl speed -evp` and the library itself do; EVP_sha256() would
// pay an implicit provider look-up inside every EVP_Digest call and make the peer look slower than it is.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw std::runtime_error("EVP_MD_fetch SHA256");
  return md;
}

ChildResult run_verifier(const std::string& dir, unsigned threads) {
  fa::VerifyOptions vo;
  vo.threads = threads;
  vo.mac_key_path = g_keys.seed_path;
  vo.trusted_keys = g_keys.trusted;
  fa::ChainVerifier v(vo);
  const auto t0 = Clock::now();
  fa::Result<fa::VerifySummary> s = v.verify_path(dir);
  const auto t1 = Clock::now();
  if (!s) throw std::runtime_error("verify_path: " + s.status().to_string());
  ChildResult r;
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  r.bytes = s->bytes;
  r.records = s->records;
  r.ok = s->intact && (g_keys.seed_path.empty() || (s->macs_checked == s->records && s->checkpoints_verified > 0)) ? 1 : 0;
  if (!r.ok)
    std::snprintf(r.error, sizeof r.error, "the generated log is not intact: %s",
                  fa::format_summary_text(s.value()).substr(0, 150).c_str());
  return r;
}

// The peer: `openssl speed -evp sha256 -bytes 1024`, i.e. one EVP_Digest per 1024-byte block of a buffer
// that stays in L1, one thread, over as many bytes as the log holds.
ChildResult run_sha256_1k(std::uint64_t bytes) {
  unsigned char block[1024];
  for (std::size_t i = 0; i < sizeof block; ++i) block[i] = static_cast<unsigned char>(i * 131u + 7u);
  const EVP_MD* md = sha256_md();
  unsigned char out[EVP_MAX_MD_SIZE];
  const std::uint64_t blocks = bytes / sizeof block;
  const auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < blocks; ++i) {
    if (EVP_Digest(block, sizeof block, out, nullptr, md, nullptr) != 1)
      throw std::runtime_error("EVP_Digest");
    block[0] = out[0];  // keep the compiler honest
  }
  const auto t1 = Clock::now();
  ChildResult r;
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  r.bytes = blocks * sizeof block;
  r.ok = 1;
  return r;
}

// Information: read the segments in 4 MiB chunks (as the verifier does) and SHA-256 every 1 KiB block of
// them. The floor of any verifier that reads with read(2) and hashes every byte once, on one thread.
ChildResult run_read_sha256(const std::string& dir) {
  std::vector<fs::path> segs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string().rfind("segment-", 0) == 0)
      segs.push_back(e.path());
  std::sort(segs.begin(), segs.end());
  std::unique_ptr<unsigned char[]> buf(new unsigned char[4u << 20]);
  const EVP_MD* md = sha256_md();
  unsigned char out[EVP_MAX_MD_SIZE];
  std::uint64_t total = 0;
  const auto t0 = Clock::now();
  for (const fs::path& p : segs) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("open " + p.string());
    ssize_t n;
    while ((n = ::read(fd, buf.get(), 4u << 20)) > 0) {
      for (ssize_t off = 0; off < n; off += 1024) {
        const std::size_t len = std::min<std::size_t>(1024, static_cast<std::size_t>(n - off));
        if (EVP_Digest(buf.get() + off, len, out, nullptr, md, nullptr) != 1)
          throw std::runtime_error("EVP_Digest");
      }
      total += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
  }
  const auto t1 = Clock::now();
  ChildResult r;
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  r.bytes = total;
  r.ok = 1;
  return r;
}

struct Case {
  std::string id;
  std::string label;
  std::function<ChildResult()> run;
  std::vector<Measured> results;

  const Measured& median() const {  // the run with the median time
    return fa_bench::median_run(results, [](const Measured& m) { return m.r.seconds; });
  }
  double mb_per_s() const { return static_cast<double>(median().r.bytes) / median().r.seconds / 1e6; }
  long peak_hwm_kib() const {
    long m = 0;
    for (const Measured& x : results) m = std::max(m, x.r.vm_hwm_kib);
    return m;
  }
  long peak_maxrss_kib() const {
    long m = 0;
    for (const Measured& x : results) m = std::max(m, x.ru_maxrss_kib);
    return m;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  const bool generated = o.dir.empty();
  const auto g0 = Clock::now();
  const std::string dir = generated ? generate_log(o) : o.dir;
  const double gen_seconds = std::chrono::duration<double>(Clock::now() - g0).count();
  const std::uint64_t log_bytes = segment_bytes(dir);
  if (log_bytes == 0) die(dir + " holds no segment bytes");
  const std::uint64_t warmed = warm_cache(dir);

  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const unsigned default_threads = o.threads != 0 ? o.threads : std::min(4u, hw);  // the verifier's rule
  std::vector<Case> cases;
  cases.push_back({"sha256_1k",
                   "OpenSSL EVP_Digest SHA-256, 1 KiB blocks, 1 thread (peer)",
                   [&] { return run_sha256_1k(log_bytes); },
                   {}});
  cases.push_back({"verify",
                   fmt::format("ChainVerifier::verify_path, threads={}{}", o.threads,
                               o.threads == 0 ? fmt::format(" (default: {})", default_threads) : ""),
                   [&] { return run_verifier(dir, o.threads); },
                   {}});
  cases.push_back(
      {"verify_t1", "ChainVerifier::verify_path, threads=1", [&] { return run_verifier(dir, 1); }, {}});
  cases.push_back({"read_sha256_1k",
                   "read(2) 4 MiB + SHA-256 per 1 KiB of the log, 1 thread (info)",
                   [&] { return run_read_sha256(dir); },
                   {}});
  Case baseline{"baseline",
                "this program doing nothing (RSS floor)",
                [] {
                  ChildResult r;
                  r.ok = 1;
                  return r;
                },
                {}};

  baseline.results.push_back(in_child(baseline.run));
  const fa_bench::LoadAverages load =
      fa_bench::run_round_robin(cases, o.warmup, o.runs, o.json, 16, [](Case& c) { return in_child(c.run); });

  const Case& peer = cases[0];
  const Case& ver = cases[1];
  const Case& ver1 = cases[2];
  const double ratio = ver.mb_per_s() / peer.mb_per_s();
  const double ratio1 = ver1.mb_per_s() / peer.mb_per_s();
  const long peak_kib = std::max(ver.peak_hwm_kib(), ver1.peak_hwm_kib());
  const std::uint64_t records = ver.median().r.records;

  if (generated && !o.keep) fs::remove_all(fs::path(dir).parent_path());
  fa_bench::scratch_dir().clear();

  if (o.json) {
    nlohmann::json j;
    j["bench"] = "bench_verify";
    j["log_dir"] = dir;
    j["log_generated"] = generated;
    j["keys"] = o.keys;
    j["log_kept"] = !generated || o.keep;
    j["log_bytes"] = log_bytes;
    j["log_records"] = records;
    j["generate_seconds"] = generated ? nlohmann::json(gen_seconds) : nlohmann::json(nullptr);
    j["warm_cache"] = true;
    j["warm_cache_bytes_read"] = warmed;
    j["hardware_concurrency"] = hw;
    j["runs"] = o.runs;
    j["warmup"] = o.warmup;
    j["load_average_before"] = load.before;
    j["load_average_after"] = load.after;
    j["baseline_vm_hwm_kib"] = baseline.results[0].r.vm_hwm_kib;
    nlohmann::json cs = nlohmann::json::array();
    for (const Case& c : cases) {
      nlohmann::json runs = nlohmann::json::array();
      for (const Measured& m : c.results) runs.push_back(m.r.seconds);
      nlohmann::json cpu = nlohmann::json::array();
      for (const Measured& m : c.results) cpu.push_back(m.cpu_seconds);
      cs.push_back({{"id", c.id},
                    {"label", c.label},
                    {"bytes", c.median().r.bytes},
                    {"seconds", runs},
                    {"cpu_seconds", cpu},
                    {"median_seconds", c.median().r.seconds},
                    {"mb_per_s", c.mb_per_s()},
                    {"vs_sha256_1k", c.mb_per_s() / peer.mb_per_s()},
                    {"vm_hwm_kib", c.peak_hwm_kib()},
                    {"ru_maxrss_kib", c.peak_maxrss_kib()}});
    }
    j["cases"] = cs;
    j["targets"] = {
        {"verify_over_sha256", {{"value", ratio}, {"target", 0.60}, {"met", ratio >= 0.60}}},
        {"keyed_verify_over_sha256",
         {{"value", o.keys ? nlohmann::json(ratio) : nlohmann::json(nullptr)}, {"target", 0.50},
          {"met", o.keys && ratio >= 0.50}}},
        {"verify_t1_over_sha256", {{"value", ratio1}, {"target", 0.60}, {"met", ratio1 >= 0.60}}},
        {"verifier_peak_rss_mib",
         {{"value", static_cast<double>(peak_kib) / 1024.0}, {"target", 64}, {"met", peak_kib < 64 * 1024}}}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }

  std::printf("bench_verify: %s%s log %s, %llu bytes (%.2f GiB), %llu records, warm page cache\n",
              generated ? "generated" : "existing", o.keys ? " keyed (MACs + signed checkpoints, both checked)" : "", dir.c_str(), static_cast<unsigned long long>(log_bytes),
              static_cast<double>(log_bytes) / (1u << 30), static_cast<unsigned long long>(records));
  std::printf(
      "median of %d runs after %d warm-up round(s), each run in its own process; MB = 10^6 bytes\n"
      "load average before: %s, after: %s\n\n",
      o.runs, o.warmup, load.before.c_str(), load.after.c_str());
  std::printf("%-15s %-62s %9s %7s %9s %10s %12s\n", "case", "what", "median s", "cpu s", "MB/s", "vs sha256",
              "peak RSS MiB");
  for (const Case& c : cases)
    std::printf("%-15s %-62s %9.3f %7.3f %9.1f %9.0f%% %12.1f\n", c.id.c_str(), c.label.c_str(),
                c.median().r.seconds, c.median().cpu_seconds, c.mb_per_s(),
                100.0 * c.mb_per_s() / peer.mb_per_s(), static_cast<double>(c.peak_hwm_kib()) / 1024.0);
  std::printf("%-15s %-62s %9s %7s %9s %10s %12.1f\n", baseline.id.c_str(), baseline.label.c_str(), "", "",
              "", "", static_cast<double>(baseline.results[0].r.vm_hwm_kib) / 1024.0);
  std::printf("\ntargets:\n");
  std::printf("  verify / sha256_1k >= 60%%       %6.0f%%  %s\n", 100 * ratio,
              ratio >= 0.60 ? "met" : "NOT MET");
  std::printf("  verify_t1 / sha256_1k >= 60%%    %6.0f%%  %s\n", 100 * ratio1,
              ratio1 >= 0.60 ? "met" : "NOT MET");
  std::printf("  verifier peak RSS < 64 MiB      %6.1f MiB  %s\n", static_cast<double>(peak_kib) / 1024.0,
              peak_kib < 64 * 1024 ? "met" : "NOT MET");
  if (o.keys)  // the keys-and-checkpoints issue: MACs and signatures checked, at least half of SHA-256
    std::printf("  keyed verify / sha256_1k >= 50%%  %6.0f%%  %s\n", 100 * ratio, ratio >= 0.50 ? "met" : "NOT MET");
  if (generated && o.keep) std::printf("\nkept the log in %s\n", dir.c_str());
  return 0;
}
