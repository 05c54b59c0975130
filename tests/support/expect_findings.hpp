// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file tests/support/expect_findings.hpp
/// Catch2 assertions on ChainVerifier findings: exact reason, seq, segment, byte offset and count.

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "log_fixture.hpp"

namespace fa_test {

/// One expected finding; unset optionals are not compared.
struct Expect {
  fa::Reason reason;
  std::optional<std::uint64_t> seq;
  std::optional<std::string> segment = std::nullopt;
  std::optional<std::uint64_t> offset = std::nullopt;
  std::optional<std::uint64_t> count = std::nullopt;
  std::optional<bool> inferred = std::nullopt;
};

inline bool matches(const fa::Finding& f, const Expect& e) {
  return f.reason == e.reason && f.seq == e.seq && (!e.segment || f.segment == *e.segment) &&
         (!e.offset || f.offset == *e.offset) && (!e.count || f.count == *e.count) &&
         (!e.inferred || f.seq_inferred == *e.inferred);
}

inline std::string describe(const Expect& e) {
  std::string s = std::string(fa::reason_name(e.reason)) + " seq=" + (e.seq ? std::to_string(*e.seq) : "-");
  if (e.segment) s += " segment=" + *e.segment;
  if (e.offset) s += " offset=" + std::to_string(*e.offset);
  if (e.count) s += " count=" + std::to_string(*e.count);
  if (e.inferred) s += *e.inferred ? " (inferred)" : " (read)";
  return s;
}

/// The summary contains a finding matching `e`, and the log is not intact.
inline void require_finding(const fa::VerifySummary& s, const Expect& e) {
  INFO("expected " << describe(e) << "\ngot " << describe(s));
  REQUIRE_FALSE(s.intact);
  bool found = false;
  for (const fa::Finding& f : s.findings) found = found || matches(f, e);
  REQUIRE(found);
}

/// The summary holds exactly these findings (in any order), and the log is not intact.
inline void require_exactly(const fa::VerifySummary& s, const std::vector<Expect>& want) {
  std::string expected;
  for (const Expect& e : want) expected += "\n  " + describe(e);
  INFO("expected:" << expected << "\ngot " << describe(s));
  REQUIRE_FALSE(s.intact);
  REQUIRE(s.findings_total == want.size());
  REQUIRE(s.findings.size() == want.size());
  std::vector<bool> used(s.findings.size(), false);
  for (const Expect& e : want) {
    bool found = false;
    for (std::size_t i = 0; i < s.findings.size() && !found; ++i)
      if (!used[i] && matches(s.findings[i], e)) used[i] = found = true;
    REQUIRE(found);
  }
}

inline void require_intact(const fa::VerifySummary& s) {
  INFO(describe(s));
  REQUIRE(s.intact);
  REQUIRE(s.findings_total == 0);
  REQUIRE(s.findings.empty());
}

}  // namespace fa_test
