// SPDX-License-Identifier: Apache-2.0
// bench_policy: ContentPolicyEnforcer::check() of a ~1 KiB prompt against R rules (default 100, each with
// three keywords, two whole words and one RE2 pattern), against two peers measured in the same run: the same
// rules checked one enforcer per rule (what matching rule by rule, one regex at a time, costs) and the
// SHA-256 of the prompt that enforce() computes for its events. docs/content-policy.md has the results.
//
//   bench_policy [--rules R] [--checks N] [--runs K] [--json]
//
// Each case runs N checks (default 20,000) per round, K timed rounds (default 5) after one warm-up round;
// the median round is reported. A prompt that matches nothing is the worst case (the whole text is scanned);
// a prompt that violates three rules is measured too. Times are reported, never asserted.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "fooocus_audit/content_policy.hpp"
#include "fooocus_audit/detail/crypto.hpp"

namespace fa = fooocus_audit;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int rules = 100;
  int checks = 20000;
  int runs = 5;
  bool json = false;
};

constexpr char kUsage[] =
    "usage: bench_policy [--rules R] [--checks N] [--runs K] [--json]\n"
    "  --rules R   rules in the policy (default 100)\n"
    "  --checks N  checks per round (default 20000)\n"
    "  --runs K    timed rounds, the median is reported (default 5)\n"
    "  --json      machine-readable output on stdout instead of the table\n";

[[noreturn]] void die(const std::string& what) { fa_bench::die("bench_policy", what); }

fa::PolicyRule make_rule(int i) {
  fa::PolicyRule r;
  r.id = fmt::format("rule-{:03}", i);
  r.name = fmt::format("Synthetic rule {}", i);
  r.severity = fa::events::Severity::high;
  r.keywords = {fmt::format("forbidden{}kw", i), fmt::format("banned phrase {}", i),
                fmt::format("xq{}zz", i)};
  r.whole_words = {fmt::format("wordy{}", i), fmt::format("term{}x", i)};
  r.patterns = {fmt::format(R"((?i)\bpat{}\s*\d{{3,}}\b)", i)};
  return r;
}

// About 1 KiB of prompt-like text that none of the rules match.
std::string clean_prompt() {
  std::string p;
  while (p.size() < 1024)
    p += "professional product photography, luxury watch on marble surface, soft studio lighting, 85mm lens, "
         "shallow depth of field, ultra detailed, 8k, ";
  p.resize(1024);
  return p;
}

double median_ns_per_call(int checks, int runs, const std::function<void()>& call) {
  std::vector<double> rounds;
  for (int r = 0; r <= runs; ++r) {
    const auto t0 = Clock::now();
    for (int i = 0; i < checks; ++i) call();
    const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / checks;
    if (r > 0) rounds.push_back(ns);  // round 0 warms up (RE2 builds its DFA states lazily)
  }
  std::sort(rounds.begin(), rounds.end());
  return rounds[rounds.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  fa_bench::parse_flags(
      argc, argv, kUsage,
      {{"--rules", &o.rules}, {"--checks", &o.checks}, {"--runs", &o.runs}, {"--json", &o.json, true}});
  if (o.rules < 1 || o.checks < 1 || o.runs < 1) fa_bench::usage(kUsage, 2);

  std::vector<fa::PolicyRule> rules;
  for (int i = 0; i < o.rules; ++i) rules.push_back(make_rule(i));
  const auto t0 = Clock::now();
  auto policy = fa::ContentPolicyEnforcer::create(rules);
  const double compile_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (!policy) die(policy.status().to_string());
  std::vector<fa::ContentPolicyEnforcer> one_per_rule;
  for (const auto& r : rules) {
    auto e = fa::ContentPolicyEnforcer::create({r});
    if (!e) die(e.status().to_string());
    one_per_rule.push_back(std::move(e).value());
  }

  const std::string clean = clean_prompt();
  std::string dirty = clean;
  dirty.replace(100, 12, " wordy1 xq2z");  // "xq2z" is not "xq2zz": two rules, not three
  dirty.replace(300, 16, " PAT3 12345 .. ");
  dirty.replace(500, 14, "forbidden0kw  ");
  const std::size_t dirty_hits = policy->check(dirty).violations.size();
  if (!policy->check(clean).violations.empty() || dirty_hits != 3)
    die(fmt::format("unexpected verdicts (clean {}, dirty {})", policy->check(clean).violations.size(),
                    dirty_hits));

  volatile std::size_t sink = 0;
  struct Row {
    std::string id;
    double ns;
  };
  std::vector<Row> rows;
  rows.push_back({"check_clean", median_ns_per_call(o.checks, o.runs, [&] {
                    sink = sink + policy->check(clean).violations.size();
                  })});
  rows.push_back({"check_3_violations", median_ns_per_call(o.checks, o.runs, [&] {
                    sink = sink + policy->check(dirty).violations.size();
                  })});
  rows.push_back(
      {"peer_one_enforcer_per_rule_clean", median_ns_per_call(std::max(1, o.checks / 10), o.runs, [&] {
         for (const auto& e : one_per_rule) sink = sink + e.check(clean).violations.size();
       })});
  rows.push_back({"peer_sha256_prompt",
                  median_ns_per_call(o.checks, o.runs, [&] { sink = sink + fa::detail::sha256(clean)[0]; })});

  if (o.json) {
    std::printf("{\"rules\":%d,\"prompt_bytes\":%zu,\"compile_ms\":%.3f,\"load\":\"%s\",\"results\":{",
                o.rules, clean.size(), compile_ms, fa_bench::load_average().c_str());
    for (std::size_t i = 0; i < rows.size(); ++i)
      std::printf("%s\"%s_ns\":%.0f", i ? "," : "", rows[i].id.c_str(), rows[i].ns);
    std::printf("}}\n");
  } else {
    std::printf(
        "bench_policy: %d rules (3 keywords, 2 whole words, 1 pattern each), %zu-byte prompt, "
        "compiled in %.1f ms; load %s\n",
        o.rules, clean.size(), compile_ms, fa_bench::load_average().c_str());
    for (const Row& r : rows) std::printf("  %-34s %10.2f us/check\n", r.id.c_str(), r.ns / 1000);
  }
  return 0;
}
