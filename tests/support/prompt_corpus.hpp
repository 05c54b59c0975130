// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file tests/support/prompt_corpus.hpp
/// The labelled prompt corpus (tests/data/prompts_labelled.jsonl, written by make_prompts_labelled.py) and
/// the precision/recall scoring used by test_sanitizer_accuracy.cpp and bench/bench_sanitize.cpp. No Catch2
/// here, so the benchmark can include it.
///
/// Scoring: a prediction is a true positive when it overlaps a not yet matched label of the same category;
/// each label is matched at most once. The category is the type, except that every secret type counts as
/// one category "SECRET" (calling a Stripe key a generic secret still keeps it out of the log).

#include <cstddef>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fooocus_audit/detail/detect.hpp"

namespace fa_test {

struct Label {
  std::string type;
  std::size_t begin = 0, end = 0;
};

struct LabelledPrompt {
  std::string prompt;
  std::vector<Label> labels;
};

inline std::vector<LabelledPrompt> load_labelled_prompts(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<LabelledPrompt> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    LabelledPrompt p;
    p.prompt = j.at("prompt").get<std::string>();
    for (const auto& l : j.at("labels"))
      p.labels.push_back({l.at("type").get<std::string>(), l.at("begin").get<std::size_t>(), l.at("end").get<std::size_t>()});
    out.push_back(std::move(p));
  }
  return out;
}

inline std::string category(std::string_view type) {
  namespace d = fooocus_audit::detect;
  for (std::size_t i = static_cast<std::size_t>(d::kFirstSecretDetector); i < d::kDetectorCount; ++i)
    if (d::detector_type(static_cast<d::Detector>(i)) == type) return "SECRET";
  return std::string(type);
}

struct Score {
  std::size_t labels = 0, predictions = 0, true_positives = 0, matched_labels = 0;
  double precision() const { return predictions == 0 ? 1.0 : static_cast<double>(true_positives) / static_cast<double>(predictions); }
  double recall() const { return labels == 0 ? 1.0 : static_cast<double>(matched_labels) / static_cast<double>(labels); }
};

/// Adds one prompt's predictions to the score; returns the false positives and the missed labels (for
/// diagnostics) through the optional out-parameters.
inline void score_prompt(const std::vector<Label>& truth, const std::vector<Label>& predicted, Score& s,
                         std::vector<Label>* false_positives = nullptr, std::vector<Label>* missed = nullptr) {
  std::vector<bool> used(truth.size(), false);
  s.labels += truth.size();
  s.predictions += predicted.size();
  for (const Label& p : predicted) {
    bool hit = false;
    for (std::size_t i = 0; i < truth.size(); ++i) {
      if (used[i] || category(truth[i].type) != category(p.type)) continue;
      if (p.begin < truth[i].end && truth[i].begin < p.end) {
        used[i] = true;
        hit = true;
        break;
      }
    }
    if (hit)
      ++s.true_positives;
    else if (false_positives != nullptr)
      false_positives->push_back(p);
  }
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (used[i])
      ++s.matched_labels;
    else if (missed != nullptr)
      missed->push_back(truth[i]);
  }
}

/// The seed article's four patterns (its §6.2 PII_PATTERNS) with the finding type each stands for.
struct SeedPattern {
  const char* pattern;
  const char* type;
};
inline constexpr SeedPattern kSeedPatterns[] = {
    {R"(\b\d{3}-\d{2}-\d{4}\b)", "SSN"},
    {R"(\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Z|a-z]{2,}\b)", "EMAIL"},
    {R"(\b\d{10}\b)", "PHONE"},
    {R"(\b\d{16}\b)", "CREDIT_CARD"},
};

}  // namespace fa_test
