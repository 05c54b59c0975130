// SPDX-License-Identifier: Apache-2.0
// Precision and recall of PromptSanitizer against the seed article's approach (four regular expressions) on
// the labelled corpus tests/data/prompts_labelled.jsonl (docs/privacy.md §7).

#include <re2/re2.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "fooocus_audit/prompt_sanitizer.hpp"
#include "support/prompt_corpus.hpp"

namespace fa = fooocus_audit;

namespace {

// The seed article's sanitizer: each pattern over the prompt (its re.sub loop; the labels it writes contain
// no digit or '@', so running every pattern on the original text finds the same spans).
std::vector<fa_test::Label> seed_findings(const std::string& text) {
  static const std::vector<std::unique_ptr<re2::RE2>> patterns = [] {
    std::vector<std::unique_ptr<re2::RE2>> v;
    for (const auto& p : fa_test::kSeedPatterns) v.push_back(std::make_unique<re2::RE2>(p.pattern));
    return v;
  }();
  std::vector<fa_test::Label> out;
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    re2::StringPiece in(text), m;
    std::size_t pos = 0;
    while (pos < text.size() && patterns[i]->Match(in, pos, text.size(), re2::RE2::UNANCHORED, &m, 1)) {
      const auto b = static_cast<std::size_t>(m.data() - text.data());
      out.push_back({fa_test::kSeedPatterns[i].type, b, b + m.size()});
      pos = b + std::max<std::size_t>(m.size(), 1);
    }
  }
  return out;
}

std::string describe(const std::string& prompt, const std::vector<fa_test::Label>& labels) {
  std::string s;
  for (const auto& l : labels) s += l.type + " '" + prompt.substr(l.begin, l.end - l.begin) + "'; ";
  return s;
}

}  // namespace

TEST_CASE("sanitizer accuracy: better precision and recall than the seed article on the labelled corpus",
          "[sanitizer][accuracy]") {
  const auto corpus = fa_test::load_labelled_prompts(std::string(FA_SOURCE_DIR) + "/tests/data/prompts_labelled.jsonl");
  REQUIRE(corpus.size() >= 300);

  fa::SanitizerConfig c;
  c.prompt_hash = fa::PromptHashMode::plain;  // label mode: no key needed to measure detection
  auto s = fa::PromptSanitizer::create(c);
  REQUIRE(s);

  fa_test::Score ours, seed;
  std::string our_errors, seed_errors;
  for (const auto& p : corpus) {
    auto r = s->sanitize(p.prompt);
    REQUIRE(r);
    std::vector<fa_test::Label> predicted;
    for (const auto& f : r->findings) predicted.push_back({f.type, f.begin, f.end});
    std::vector<fa_test::Label> fp, missed;
    fa_test::score_prompt(p.labels, predicted, ours, &fp, &missed);
    if (!fp.empty()) our_errors += "FP " + describe(p.prompt, fp) + "\n";
    if (!missed.empty()) our_errors += "FN " + describe(p.prompt, missed) + "\n";
    fa_test::score_prompt(p.labels, seed_findings(p.prompt), seed);
  }
  INFO("ours: precision " << ours.precision() << " recall " << ours.recall() << " (" << ours.true_positives << "/"
                          << ours.predictions << " predictions, " << ours.matched_labels << "/" << ours.labels
                          << " labels)");
  INFO("seed: precision " << seed.precision() << " recall " << seed.recall());
  INFO("our errors:\n" << our_errors);
  CHECK(ours.labels >= 250);
  CHECK(ours.precision() > seed.precision());
  CHECK(ours.recall() > seed.recall());
  // Thresholds (docs/privacy.md §7): at most 3 false findings per 100 reported, at most 5 missed per 100.
  CHECK(ours.precision() >= 0.97);
  CHECK(ours.recall() >= 0.95);
}
