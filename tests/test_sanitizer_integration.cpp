// SPDX-License-Identifier: Apache-2.0
// PromptSanitizer with AuditLogger: generation events whose prompts are full of personal data and keys are
// sanitized per tenant and logged; no raw value reaches any file of the log directory, keyed tokens agree
// within a tenant and differ across tenants, and the log verifies (docs/privacy.md §1).

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/generation_event.hpp"
#include "fooocus_audit/prompt_sanitizer.hpp"
#include "support/files.hpp"
#include "support/logger_support.hpp"

namespace fa = fooocus_audit;

namespace {

// Raw values in the prompts: none may appear in any byte of the log directory.
const std::vector<std::string> kRaw = {
    "alice.patient@example.com", "+44 20 7946 0958",     "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00",
    "123-45-6789",               "AKIAQYLPMN5HFIQR7XZB", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
};

std::string prompt(int i) {
  // Every event carries the same e-mail address; the other values rotate.
  std::string p = "portrait of a patient, (masterpiece:1.2), <lora:add-detail-xl:0.8>, contact " + kRaw[0];
  p += ", phone " + kRaw[1];
  if (i % 2 == 0) p += ", billed to card " + kRaw[2] + ", IBAN " + kRaw[3];
  if (i % 3 == 0) p += ", SSN " + kRaw[4];
  p += ", aws key " + kRaw[5] + ", stripe " + kRaw[6] + ", 1024x1024, seed 1234567890";
  return p;
}

// The token of the e-mail address in a sanitized prompt: "[EMAIL:<token>]".
std::string email_token(const std::string& sanitized) {
  const std::size_t at = sanitized.find("[EMAIL:");
  if (at == std::string::npos) return {};
  return sanitized.substr(at, sanitized.find(']', at) - at + 1);
}

}  // namespace

TEST_CASE("sanitizer integration: no raw value reaches the log and tokens are per tenant", "[sanitizer][integration]") {
  fa_test::TempDir dir;
  std::map<std::string, fa::PromptSanitizer> tenants;
  for (const char* t : {"tenant_a", "tenant_b"}) {
    fa::SanitizerConfig c;
    c.tenant_id = t;
    c.default_mode = fa::ReplacementMode::token;
    c.detector(fa::detect::Detector::credit_card).mode = fa::ReplacementMode::encrypt;
    auto key = fa::TenantKey::generate();
    REQUIRE(key);
    auto s = fa::PromptSanitizer::create(c, std::move(key.value()));
    REQUIRE(s);
    tenants.emplace(t, std::move(s.value()));
  }

  std::map<std::string, std::vector<std::string>> tokens;  // tenant -> e-mail token per event
  std::vector<std::string> card_spans;
  {
    auto logger = fa_test::must_open(fa_test::options_for(dir.path()));
    for (int i = 0; i < 6; ++i) {
      const std::string tenant = i % 2 == 0 ? "tenant_a" : "tenant_b";
      const fa::PromptSanitizer& s = tenants.at(tenant);
      const std::string raw = prompt(i);
      auto r = s.sanitize(raw);
      REQUIRE(r);
      for (const auto& v : kRaw) {
        INFO(v);
        CHECK(r->text.find(v) == std::string::npos);
      }
      tokens[tenant].push_back(email_token(r->text));
      for (const auto& f : r->findings)
        if (f.type == "CREDIT_CARD" && tenant == "tenant_a")
          card_spans.push_back(r->text.substr(f.out_begin, f.out_end - f.out_begin));

      fa::GenerationEvent e = fa_test::generation_event("req_" + std::to_string(i));
      e.tenant_id = tenant;
      e.request.prompt_sanitized = r->text;
      e.request.prompt_hash = r->prompt_hash;
      REQUIRE(logger->log(e));
    }
    REQUIRE(logger->close());
  }

  // Tokens: equal within a tenant, different across tenants.
  for (const auto& [tenant, list] : tokens) {
    REQUIRE(list.size() == 3);
    CHECK_FALSE(list[0].empty());
    CHECK(list[0] == list[1]);
    CHECK(list[1] == list[2]);
  }
  CHECK(tokens["tenant_a"][0] != tokens["tenant_b"][0]);
  // Encrypted card numbers can be revealed by the tenant's investigators only.
  REQUIRE_FALSE(card_spans.empty());
  CHECK(tenants.at("tenant_a").reveal(card_spans[0]).value() == kRaw[2]);
  CHECK_FALSE(tenants.at("tenant_b").reveal(card_spans[0]));

  // Grep every byte of every file under the log directory.
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (!entry.is_regular_file()) continue;
    ++files;
    const std::string bytes = fa_test::read_bytes(entry.path().string());
    for (const auto& v : kRaw) {
      INFO(entry.path().string() << " holds " << v);
      CHECK(bytes.find(v) == std::string::npos);
    }
    // Digits-only forms of the numbers either.
    CHECK(bytes.find("4111111111111111") == std::string::npos);
    CHECK(bytes.find("442079460958") == std::string::npos);
  }
  CHECK(files >= 1);
  const auto summary = fa_test::verify(dir.path());
  CHECK(summary.intact);
}
