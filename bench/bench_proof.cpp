// SPDX-License-Identifier: Apache-2.0
// bench_proof: inclusion and consistency proofs from a TreeStore of N leaves (default 10,000,000), and their
// verification, against two peers measured in the same run: one SHA-256 of a 1 KiB buffer (the unit a reader
// knows from `openssl speed`) and the full root recomputation a prover without the store would pay (every
// leaf appended to a merkle::Frontier). docs/benchmarks.md has the results.
//
//   bench_proof [--leaves N] [--samples S] [--cold-samples C] [--dir DIR] [--keep] [--seed X] [--json]
//
// The store is built in a new directory under --dir (default /tmp) through TreeStore::append with synthetic
// leaf hashes (leaf i is a function of i, so nothing is kept in memory), flushed, then measured warm: S
// random leaf indices (default 1000) against the full size, S random old sizes for consistency proofs. The
// "cold-ish" case asks the kernel to drop the store's pages (posix_fadvise DONTNEED, no privileges needed)
// before each of C proofs (default 100): a proof then reads its nodes from the block device. The directory is
// removed at the end unless --keep. Times are reported, never asserted.

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "fooocus_audit/merkle.hpp"
#include "fooocus_audit/tree_store.hpp"

namespace fa = fooocus_audit;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::uint64_t leaves = 10'000'000;
  std::size_t samples = 1000;
  std::size_t cold_samples = 100;
  std::string dir = "/tmp";
  bool keep = false;
  std::uint64_t seed = 42;
  bool json = false;
};

constexpr char kUsage[] =
    "usage: bench_proof [--leaves N] [--samples S] [--cold-samples C] [--dir DIR] [--keep]\n"
    "                   [--seed X] [--json]\n"
    "  --leaves N        leaves in the tree store (default 10000000)\n"
    "  --samples S       proofs of each kind timed (default 1000)\n"
    "  --cold-samples C  inclusion proofs timed after dropping the store's pages (default 100, 0: skip)\n"
    "  --dir DIR         where the scratch directory is made (default /tmp)\n"
    "  --keep            keep the scratch directory and print its path\n"
    "  --seed X          seed of the random indices (default 42)\n"
    "  --json            machine-readable output on stdout instead of the table\n";

Options parse_args(int argc, char** argv) {
  Options o;
  fa_bench::parse_flags(argc, argv, kUsage,
                        {{"--leaves", &o.leaves},
                         {"--samples", &o.samples},
                         {"--cold-samples", &o.cold_samples},
                         {"--dir", &o.dir},
                         {"--keep", &o.keep, true},
                         {"--seed", &o.seed},
                         {"--json", &o.json, true}});
  if (o.leaves < 2 || o.samples == 0) fa_bench::usage(kUsage, 2);
  return o;
}

[[noreturn]] void die(const std::string& what) { fa_bench::die("bench_proof", what); }

// Leaf i: 32 bytes of splitmix64 output seeded by i. Looks like a hash, costs nothing, needs no memory.
fa::Hash synthetic_leaf(std::uint64_t i) {
  fa::Hash h;
  std::uint64_t x = i * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
  for (int w = 0; w < 4; ++w) {
    x += 0x9e3779b97f4a7c15ull;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    std::memcpy(h.data() + 8 * w, &z, 8);
  }
  return h;
}

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

struct Stats {
  double median = 0, p99 = 0, max = 0, mean = 0;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Stats s;
  s.median = v[v.size() / 2];
  s.p99 = v[std::min(v.size() - 1, static_cast<std::size_t>(static_cast<double>(v.size()) * 0.99))];
  s.max = v.back();
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  return s;
}

// The peer `openssl speed -evp sha256 -bytes 1024` measures: one EVP_Digest of a 1 KiB buffer in L1, with the
// digest fetched once. Per call, median of 7 rounds of 20,000.
double sha256_1k_us() {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) die("EVP_MD_fetch SHA256");
  unsigned char block[1024];
  for (std::size_t i = 0; i < sizeof block; ++i) block[i] = static_cast<unsigned char>(i * 131u + 7u);
  unsigned char out[EVP_MAX_MD_SIZE];
  std::vector<double> rounds;
  for (int r = 0; r < 8; ++r) {
    const auto t0 = Clock::now();
    for (int i = 0; i < 20000; ++i) {
      if (EVP_Digest(block, sizeof block, out, nullptr, md, nullptr) != 1) die("EVP_Digest");
      block[0] = out[0];
    }
    if (r > 0) rounds.push_back(us_since(t0) / 20000);  // round 0 warms up
  }
  EVP_MD_free(md);
  return stats(rounds).median;
}

// Drops the page cache of every level file (clean pages only; the store was fdatasynced).
void drop_store_pages(const std::string& tree_dir) {
  for (unsigned k = 0; k < 64; ++k) {
    const std::string path = fmt::format("{}/level-{:02}.bin", tree_dir, k);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  const std::string base = fa_bench::make_scratch_dir("bench_proof", o.dir + "/fa-bench-proof", !o.keep);
  const std::string load_before = fa_bench::load_average();
  const std::uint64_t n = o.leaves;

  // --- build the store
  // ---------------------------------------------------------------------------------------
  auto opened = fa::TreeStore::open(base, true);
  if (!opened) die("open: " + opened.status().to_string());
  fa::TreeStore store = std::move(opened).value();
  std::vector<fa::Hash> batch(4096);
  auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < n;) {
    const std::size_t m = static_cast<std::size_t>(std::min<std::uint64_t>(batch.size(), n - i));
    for (std::size_t j = 0; j < m; ++j) batch[j] = synthetic_leaf(i + j);
    if (fa::Status s = store.append(batch.data(), m); !s) die("append: " + s.to_string());
    i += m;
  }
  const double append_s = us_since(t0) / 1e6;
  t0 = Clock::now();
  if (fa::Status s = store.flush(); !s) die("flush: " + s.to_string());
  const double flush_s = us_since(t0) / 1e6;
  std::uint64_t store_bytes = 0;
  for (const auto& e : fs::directory_iterator(store.dir()))
    if (e.path().extension() == ".bin") store_bytes += e.file_size();

  // --- peer: the root recomputed from every leaf (what a prover without the store pays at least)
  // ------------
  t0 = Clock::now();
  fa::merkle::Frontier frontier;
  for (std::uint64_t i = 0; i < n; ++i) frontier.append(synthetic_leaf(i));
  const fa::Hash root = frontier.root();
  const double full_root_s = us_since(t0) / 1e6;
  if (store.root(n).value() != root) die("the store's root differs from the Frontier's");
  const double sha_us = sha256_1k_us();

  // --- inclusion proofs ------------------------------------------------------------------------------------
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<std::uint64_t> any_leaf(0, n - 1), any_old(1, n - 1);
  std::vector<double> inc_gen, inc_ver, con_gen, con_ver, root_at, cold_gen;
  std::size_t inc_len = 0, con_len = 0;
  for (std::size_t s = 0; s < o.samples; ++s) {
    const std::uint64_t i = any_leaf(rng);
    t0 = Clock::now();
    auto p = store.inclusion_proof(i, n);
    inc_gen.push_back(us_since(t0));
    if (!p) die("inclusion_proof: " + p.status().to_string());
    const fa::Hash leaf = synthetic_leaf(i);
    t0 = Clock::now();
    const bool ok = fa::merkle::verify_inclusion(leaf, i, n, p.value(), root);
    inc_ver.push_back(us_since(t0));
    if (!ok) die(fmt::format("inclusion proof for leaf {} does not verify", i));
    inc_len = std::max(inc_len, p.value().size());
  }
  // --- consistency proofs ----------------------------------------------------------------------------------
  for (std::size_t s = 0; s < o.samples; ++s) {
    const std::uint64_t m = any_old(rng);
    t0 = Clock::now();
    auto old_root = store.root(m);
    root_at.push_back(us_since(t0));
    if (!old_root) die("root: " + old_root.status().to_string());
    t0 = Clock::now();
    auto p = store.consistency_proof(m, n);
    con_gen.push_back(us_since(t0));
    if (!p) die("consistency_proof: " + p.status().to_string());
    t0 = Clock::now();
    const bool ok = fa::merkle::verify_consistency(m, n, old_root.value(), root, p.value());
    con_ver.push_back(us_since(t0));
    if (!ok) die(fmt::format("consistency proof {} -> {} does not verify", m, n));
    con_len = std::max(con_len, p.value().size());
  }
  // --- cold-ish: the store's pages dropped before each proof
  // ------------------------------------------------
  for (std::size_t s = 0; s < o.cold_samples; ++s) {
    const std::uint64_t i = any_leaf(rng);
    drop_store_pages(store.dir());
    t0 = Clock::now();
    auto p = store.inclusion_proof(i, n);
    cold_gen.push_back(us_since(t0));
    if (!p) die("inclusion_proof: " + p.status().to_string());
  }
  const std::string load_after = fa_bench::load_average();

  const Stats ig = stats(inc_gen), iv = stats(inc_ver), cg = stats(con_gen), cv = stats(con_ver),
              ra = stats(root_at);
  const bool have_cold = !cold_gen.empty();
  const Stats cold = have_cold ? stats(cold_gen) : Stats{};
  const bool gen_met = ig.p99 < 10000, ver_met = iv.p99 < 1000;

  const std::string tree_dir = store.dir();
  { fa::TreeStore closing = std::move(store); }
  if (!o.keep) fs::remove_all(base);
  fa_bench::scratch_dir().clear();

  if (o.json) {
    auto js = [](const Stats& s) {
      return nlohmann::json{
          {"median_us", s.median}, {"p99_us", s.p99}, {"max_us", s.max}, {"mean_us", s.mean}};
    };
    nlohmann::json j;
    j["bench"] = "bench_proof";
    j["leaves"] = n;
    j["samples"] = o.samples;
    j["store_bytes"] = store_bytes;
    j["append_seconds"] = append_s;
    j["flush_seconds"] = flush_s;
    j["append_leaves_per_s"] = static_cast<double>(n) / append_s;
    j["load_average_before"] = load_before;
    j["load_average_after"] = load_after;
    j["peer_sha256_1k_us"] = sha_us;
    j["peer_full_root_seconds"] = full_root_s;
    j["inclusion_generate"] = js(ig);
    j["inclusion_verify"] = js(iv);
    j["inclusion_max_hashes"] = inc_len;
    j["consistency_generate"] = js(cg);
    j["consistency_verify"] = js(cv);
    j["consistency_max_hashes"] = con_len;
    j["root_at_old_size"] = js(ra);
    j["inclusion_generate_cold"] = have_cold ? js(cold) : nlohmann::json(nullptr);
    j["targets"] = {{"inclusion_generate_p99_under_10ms", gen_met},
                    {"inclusion_verify_p99_under_1ms", ver_met}};
    j["kept"] = o.keep ? nlohmann::json(tree_dir) : nlohmann::json(nullptr);
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }

  std::printf("bench_proof: TreeStore of %llu leaves (%.1f MiB in %s), warm page cache unless noted\n",
              static_cast<unsigned long long>(n), static_cast<double>(store_bytes) / (1 << 20),
              tree_dir.c_str());
  std::printf("load average before: %s, after: %s\n\n", load_before.c_str(), load_after.c_str());
  std::printf("build: TreeStore::append %.2f s (%.0f leaves/s), flush (write + fdatasync) %.2f s\n", append_s,
              static_cast<double>(n) / append_s, flush_s);
  std::printf("peers: SHA-256 of 1 KiB %.3f us; full root recomputation from a Frontier %.2f s\n\n", sha_us,
              full_root_s);
  std::printf("%-44s %10s %10s %10s %12s %14s\n", "case (samples)", "median us", "p99 us", "max us",
              "vs sha256_1k", "full root / it");
  auto row = [&](const std::string& label, const Stats& s) {
    std::printf("%-44s %10.2f %10.2f %10.2f %11.1fx %13.0fx\n", label.c_str(), s.median, s.p99, s.max,
                s.median / sha_us, full_root_s * 1e6 / s.median);
  };
  row(fmt::format("inclusion proof, generate ({})", o.samples), ig);
  row(fmt::format("inclusion proof, verify ({})", o.samples), iv);
  row(fmt::format("consistency proof, generate ({})", o.samples), cg);
  row(fmt::format("consistency proof, verify ({})", o.samples), cv);
  row(fmt::format("root(m) of an old size, from the store ({})", o.samples), ra);
  if (have_cold) row(fmt::format("inclusion proof, generate, pages dropped ({})", cold_gen.size()), cold);
  std::printf("\nlongest proofs: inclusion %zu hashes, consistency %zu hashes\n", inc_len, con_len);
  std::printf(
      "targets (p99, warm): inclusion generation < 10 ms: %.3f ms %s; verification < 1 ms: %.3f ms %s\n",
      ig.p99 / 1000, gen_met ? "met" : "NOT MET", iv.p99 / 1000, ver_met ? "met" : "NOT MET");
  if (o.keep) std::printf("kept %s\n", base.c_str());
  return 0;
}
