// SPDX-License-Identifier: Apache-2.0
// bench_sanitize: PromptSanitizer::sanitize() with every detector on, one thread, over the labelled corpus of
// Fooocus-style prompts (tests/data/prompts_labelled.jsonl, about one finding per prompt), against the seed
// article's approach measured in the same run: its four patterns applied with std::regex_replace one after
// the other (Python's re.sub loop) plus the plain SHA-256 of the prompt; then the parts of the label-mode case
// (PII scan, secret scan, keyed prompt hash) each alone. Also the time per MB of 1 MB and
// 10 MB adversarial prompts (long digit runs, nested brackets, repeated '@', key-like runs), to show linear
// time, and the precision and recall of both approaches on the corpus. docs/benchmarks.md has the results.
//
//   bench_sanitize [--corpus FILE] [--passes N] [--runs K] [--skip-adversarial]
//
// Each case runs N passes over the corpus per round (default 30; the seed gets N/30 + 1 passes, it is slow),
// K timed rounds (default 5) after one warm-up round; the median round is reported. Times are reported,
// never asserted. std::regex appears here only as the measured peer (the library never uses it).

#include <fmt/format.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "../tests/support/prompt_corpus.hpp"
#include "bench_common.hpp"
#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/detail/pii_detectors.hpp"
#include "fooocus_audit/detail/secret_detectors.hpp"
#include "fooocus_audit/prompt_sanitizer.hpp"

namespace fa = fooocus_audit;
using Clock = std::chrono::steady_clock;

namespace {

constexpr char kUsage[] =
    "usage: bench_sanitize [--corpus FILE] [--passes N] [--runs K] [--skip-adversarial]\n"
    "  --corpus FILE       labelled prompts (default tests/data/prompts_labelled.jsonl)\n"
    "  --passes N          passes over the corpus per round for PromptSanitizer (default 30)\n"
    "  --runs K            timed rounds, the median is reported (default 5)\n"
    "  --skip-adversarial  skip the 1 MB / 10 MB linearity inputs\n";

[[noreturn]] void die(const std::string& what) { fa_bench::die("bench_sanitize", what); }

// The seed article's sanitizer: its PII_PATTERNS through std::regex, replaced one pattern after the other.
struct SeedSanitizer {
  std::vector<std::pair<std::regex, std::string>> patterns;
  SeedSanitizer() {
    const char* labels[] = {"[SSN_REDACTED]", "[EMAIL_REDACTED]", "[PHONE_REDACTED]", "[CC_REDACTED]"};
    for (std::size_t i = 0; i < 4; ++i) patterns.emplace_back(std::regex(fa_test::kSeedPatterns[i].pattern), labels[i]);
  }
  std::string sanitize(const std::string& prompt, std::string* hash) const {
    std::string s = prompt;
    for (const auto& [re, label] : patterns) s = std::regex_replace(s, re, label);
    *hash = "sha256:" + fa::detail::to_hex(fa::detail::sha256(prompt));
    return s;
  }
  std::vector<fa_test::Label> findings(const std::string& prompt) const {
    std::vector<fa_test::Label> out;
    for (std::size_t i = 0; i < patterns.size(); ++i)
      for (auto it = std::sregex_iterator(prompt.begin(), prompt.end(), patterns[i].first); it != std::sregex_iterator();
           ++it)
        out.push_back({fa_test::kSeedPatterns[i].type, static_cast<std::size_t>(it->position(0)),
                       static_cast<std::size_t>(it->position(0) + it->length(0))});
    return out;
  }
};

// Wall-clock and this thread's CPU time of one round. On a shared machine the CPU time is the steadier figure:
// waiting for a core does not count.
struct Timing {
  double wall = 0, cpu = 0;
};

template <typename F>
Timing median_timing(int runs, F&& round) {
  round();  // warm-up
  std::vector<double> w, c;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = Clock::now();
    const double c0 = fa_bench::thread_cpu_seconds();
    round();
    c.push_back(fa_bench::thread_cpu_seconds() - c0);
    w.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return {fa_bench::median(std::move(w)), fa_bench::median(std::move(c))};
}

std::string adversarial(std::size_t bytes, int kind) {
  std::string s;
  s.reserve(bytes + 64);
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  while (s.size() < bytes) {
    switch (kind) {
      case 0: s.push_back(static_cast<char>('0' + (s.size() * 7 + s.size() / 13) % 10)); break;  // one digit run
      case 1: s.append(s.size() % 2000 < 1000 ? "(" : ")"); break;                             // nested brackets
      case 2: s.append("a@"); break;                                                          // repeated '@'
      default: {
        // Near-misses of many detectors: key prefixes, digit groups, dots and colons, without spaces.
        static const char* parts[] = {"AKIA", "ghp_", "sk-", "4111-", "1234", "@x.", "::", "192.168.", "eyJ", "+44", "="};
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.append(parts[x % 11]);
      }
    }
  }
  s.resize(bytes);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string corpus_path = "tests/data/prompts_labelled.jsonl";
  int passes = 30, runs = 5;
  bool skip_adv = false;
  fa_bench::parse_flags(argc, argv, kUsage,
                        {{"--corpus", &corpus_path}, {"--passes", &passes}, {"--runs", &runs},
                         {"--skip-adversarial", &skip_adv, true}});
  if (passes < 1 || runs < 1) fa_bench::usage(kUsage, 2);
  std::vector<fa_test::LabelledPrompt> corpus;
  try {
    corpus = fa_test::load_labelled_prompts(corpus_path);
  } catch (const std::exception& e) {
    die(e.what());
  }
  std::size_t bytes = 0, labels = 0;
  for (const auto& p : corpus) bytes += p.prompt.size(), labels += p.labels.size();

  auto key = fa::TenantKey::from_bytes(std::string(32, 'k'));
  fa::SanitizerConfig cfg;  // every detector on, label mode, keyed prompt hash
  auto ours = fa::PromptSanitizer::create(cfg, std::move(key.value()));
  if (!ours) die(ours.status().to_string());
  fa::SanitizerConfig tcfg;
  tcfg.default_mode = fa::ReplacementMode::token;
  auto tok = fa::PromptSanitizer::create(tcfg, std::move(fa::TenantKey::from_bytes(std::string(32, 't')).value()));
  if (!tok) die(tok.status().to_string());
  const SeedSanitizer seed;

  std::printf("bench_sanitize: %zu prompts, %zu bytes (%.0f bytes/prompt), %zu labelled findings (%.2f/prompt)\n",
              corpus.size(), bytes, static_cast<double>(bytes) / static_cast<double>(corpus.size()), labels,
              static_cast<double>(labels) / static_cast<double>(corpus.size()));
  std::printf("load average before: %s\n", fa_bench::load_average().c_str());

  std::size_t sink = 0;
  auto run_ours = [&](const fa::PromptSanitizer& s, int n) {
    for (int k = 0; k < n; ++k)
      for (const auto& p : corpus) {
        auto r = s.sanitize(p.prompt);
        if (!r) die(r.status().to_string());
        sink += r->text.size() + r->findings.size();
      }
  };
  const int seed_passes = passes / 30 + 1;
  const Timing t_ours = median_timing(runs, [&] { run_ours(ours.value(), passes); });
  const Timing t_tok = median_timing(runs, [&] { run_ours(tok.value(), passes); });
  const Timing t_seed = median_timing(runs, [&] {
    std::string h;
    for (int k = 0; k < seed_passes; ++k)
      for (const auto& p : corpus) sink += seed.sanitize(p.prompt, &h).size() + h.size();
  });
  const double mb = static_cast<double>(bytes) / 1e6;
  std::printf("\n%-50s %12s %12s %14s\n", "case", "MB/s (wall)", "MB/s (CPU)", "us/prompt (CPU)");
  auto row = [&](const char* name, const Timing& t, int n) {
    std::printf("%-50s %12.1f %12.1f %14.3f\n", name, mb * n / t.wall, mb * n / t.cpu,
                t.cpu * 1e6 / (static_cast<double>(corpus.size()) * n));
  };
  row("PromptSanitizer, label mode, keyed hash", t_ours, passes);
  row("PromptSanitizer, token mode, keyed hash", t_tok, passes);
  row("seed article: 4 x std::regex_replace + SHA-256", t_seed, seed_passes);
  std::printf("ratio PromptSanitizer (label) / seed: %.1fx (wall), %.1fx (CPU)\n",
              (passes / t_ours.wall) / (seed_passes / t_seed.wall), (passes / t_ours.cpu) / (seed_passes / t_seed.cpu));

  // The parts of the label-mode case, each alone over the corpus. Alone, each keeps the branch predictor and
  // the instruction cache to itself, so the parts add up to less than the whole.
  std::vector<fa::detect::Match> found;
  auto per_prompt = [&](const Timing& t) { return t.cpu * 1e6 / (static_cast<double>(corpus.size()) * passes); };
  const Timing t_pii = median_timing(runs, [&] {
    for (int k = 0; k < passes; ++k)
      for (const auto& p : corpus) {
        found.clear();
        fa::detect::scan_pii(p.prompt, fa::detect::kAllDetectors, found);
        sink += found.size();
      }
  });
  const Timing t_secrets = median_timing(runs, [&] {
    for (int k = 0; k < passes; ++k)
      for (const auto& p : corpus) {
        found.clear();
        fa::detect::scan_secrets(p.prompt, fa::detect::kAllDetectors, found);
        sink += found.size();
      }
  });
  const Timing t_hash = median_timing(runs, [&] {
    for (int k = 0; k < passes; ++k)
      for (const auto& p : corpus) sink += ours->prompt_hash(p.prompt).size();
  });
  std::printf("parts alone (us/prompt, CPU): PII scan %.3f, secret scan %.3f, keyed prompt hash %.3f\n",
              per_prompt(t_pii), per_prompt(t_secrets), per_prompt(t_hash));

  // Accuracy on the same corpus.
  fa_test::Score so, ss;
  for (const auto& p : corpus) {
    auto r = ours->sanitize(p.prompt);
    std::vector<fa_test::Label> pred;
    for (const auto& f : r->findings) pred.push_back({f.type, f.begin, f.end});
    fa_test::score_prompt(p.labels, pred, so);
    fa_test::score_prompt(p.labels, seed.findings(p.prompt), ss);
  }
  std::printf("\n%-30s %10s %10s %8s %8s %8s\n", "approach", "precision", "recall", "TP", "FP", "FN");
  std::printf("%-30s %10.3f %10.3f %8zu %8zu %8zu\n", "PromptSanitizer", so.precision(), so.recall(),
              so.true_positives, so.predictions - so.true_positives, so.labels - so.matched_labels);
  std::printf("%-30s %10.3f %10.3f %8zu %8zu %8zu\n", "seed article (4 regexes)", ss.precision(), ss.recall(),
              ss.true_positives, ss.predictions - ss.true_positives, ss.labels - ss.matched_labels);

  if (!skip_adv) {
    std::printf("\n%-26s %14s %14s %8s   (CPU time)\n", "adversarial input", "1 MB: ms/MB", "10 MB: ms/MB", "ratio");
    const char* names[] = {"one digit run", "nested brackets", "repeated '@'", "detector near-misses"};
    for (int kind = 0; kind < 4; ++kind) {
      const std::string small = adversarial(1000000, kind), big = adversarial(10000000, kind);
      const Timing ts = median_timing(3, [&] {
        auto r = ours->sanitize(small);
        if (!r) die(r.status().to_string());
        sink += r->text.size();
      });
      const Timing tb = median_timing(3, [&] {
        auto r = ours->sanitize(big);
        if (!r) die(r.status().to_string());
        sink += r->text.size();
      });
      std::printf("%-26s %14.2f %14.2f %8.2f\n", names[kind], ts.cpu * 1e3, tb.cpu * 1e3 / 10, (tb.cpu / 10) / ts.cpu);
    }
  }
  std::printf("\nload average after: %s (checksum %zu)\n", fa_bench::load_average().c_str(), sink % 10);
  return 0;
}
