// SPDX-License-Identifier: Apache-2.0
// PromptSanitizer: configuration, replacement modes, keyed tokens, encryption, allow-list, custom patterns,
// UTF-8, prompt hashes and key files (docs/privacy.md §1, §2, §5).

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/detail/utf8.hpp"
#include "fooocus_audit/prompt_sanitizer.hpp"
#include "support/files.hpp"

namespace fa = fooocus_audit;
using fa::PromptSanitizer;
using fa::ReplacementMode;
using fa::SanitizerConfig;
using fa::detect::Detector;

namespace {

std::string key_bytes(char fill) { return std::string(32, fill); }

fa::TenantKey key_of(char fill) {
  auto k = fa::TenantKey::from_bytes(key_bytes(fill));
  REQUIRE(k);
  return std::move(k.value());
}

PromptSanitizer make(SanitizerConfig c, char key = 'k') {
  auto s = PromptSanitizer::create(std::move(c), key_of(key));
  INFO(s.status().to_string());
  REQUIRE(s);
  return std::move(s.value());
}

fa::SanitizeResult run(const PromptSanitizer& s, std::string_view text) {
  auto r = s.sanitize(text);
  INFO(r.status().to_string());
  REQUIRE(r);
  return std::move(r.value());
}

std::string out_span(const fa::SanitizeResult& r, std::size_t i) {
  const auto& f = r.findings.at(i);
  return r.text.substr(f.out_begin, f.out_end - f.out_begin);
}

// A custom pattern, so that mode tests do not depend on the built-in detectors' exact spans.
SanitizerConfig with_custom(ReplacementMode mode, std::string type = "MEMBER_ID") {
  SanitizerConfig c;
  c.default_mode = mode;
  c.custom_patterns.push_back({"member_id", "MEM-[0-9]{6}", std::move(type), std::nullopt, 0.9});
  return c;
}

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

}  // namespace

TEST_CASE("sanitizer: the seed article's four patterns are redacted with its labels", "[sanitizer]") {
  SanitizerConfig c;
  const auto s = make(c);
  const auto r = run(s, "patient SSN 123-45-6789, email alice@enterprise.com, phone 4155550132, "
                        "card 4111111111111111");
  CHECK(r.text == "patient SSN [SSN_REDACTED], email [EMAIL_REDACTED], phone [PHONE_REDACTED], "
                  "card [CREDIT_CARD_REDACTED]");
  REQUIRE(r.findings.size() == 4);
  CHECK(r.findings[0].type == "SSN");
  CHECK(r.findings[1].type == "EMAIL");
  CHECK(r.findings[2].type == "PHONE");
  CHECK(r.findings[3].type == "CREDIT_CARD");
  for (const auto& f : r.findings) CHECK(f.mode == ReplacementMode::label);
}

TEST_CASE("sanitizer: the seed article's example prompts pass unchanged", "[sanitizer]") {
  const auto s = make(SanitizerConfig{});
  for (const char* p : {"professional product photography, luxury watch on marble surface",
                        "blurry, low resolution, watermark"}) {
    const auto r = run(s, p);
    CHECK(r.text == p);
    CHECK(r.findings.empty());
  }
}

TEST_CASE("sanitizer: what the seed over-redacts stays and what it misses is found", "[sanitizer]") {
  const auto s = make(SanitizerConfig{});
  // 16 digits failing Luhn, a 10-digit seed, an SSN in an invalid range: the seed redacts all three.
  for (const char* p : {"seed 4111111111111112, 1024x1024", "seed 1234567890, Fooocus V2", "part 666-12-3456"}) {
    const auto r = run(s, p);
    INFO(p);
    CHECK(r.findings.empty());
    CHECK(r.text == p);
  }
  // Spaced cards and international phones: the seed misses them.
  const auto r = run(s, "card 4111 1111 1111 1111, call +44 20 7946 0958");
  CHECK(r.text == "card [CREDIT_CARD_REDACTED], call [PHONE_REDACTED]");
}

TEST_CASE("sanitizer: findings carry spans and never the raw value", "[sanitizer]") {
  const auto s = make(SanitizerConfig{});
  const std::string in = "a photo for bob.smith@example.org please";
  const auto r = run(s, in);
  REQUIRE(r.findings.size() == 1);
  const auto& f = r.findings[0];
  CHECK(in.substr(f.begin, f.end - f.begin) == "bob.smith@example.org");
  CHECK(out_span(r, 0) == "[EMAIL_REDACTED]");
  CHECK(f.detector == "email");
  CHECK(f.confidence > 0.0);
  CHECK(f.confidence <= 1.0);
  const std::string json = r.to_json().dump();
  CHECK_FALSE(contains(json, "bob.smith"));
  const auto j = r.to_json();
  CHECK(j["text"] == r.text);
  CHECK(j["prompt_hash"] == r.prompt_hash);
  REQUIRE(j["findings"].size() == 1);
  for (const char* k : {"type", "detector", "begin", "end", "out_begin", "out_end", "confidence", "mode"})
    CHECK(j["findings"][0].contains(k));
  CHECK(j["findings"][0].size() == 8);
  CHECK(j.size() == 3);
}

TEST_CASE("sanitizer: tokens are stable within a tenant and differ across tenants", "[sanitizer]") {
  SanitizerConfig c;
  c.default_mode = ReplacementMode::token;
  c.tenant_id = "tenant_a";
  const auto a = make(c, 'a');
  const auto a2 = make(c, 'a');  // another instance, same key: same tokens
  const auto b = make(c, 'b');   // another key
  SanitizerConfig cb = c;
  cb.tenant_id = "tenant_b";
  const auto a_other_tenant = make(cb, 'a');  // same key bytes, other tenant id

  const auto r1 = run(a, "for alice@example.com");
  const auto r2 = run(a2, "again ALICE@Example.COM, and carol@example.com");
  REQUIRE(r1.findings.size() == 1);
  REQUIRE(r2.findings.size() == 2);
  const std::string t1 = out_span(r1, 0);
  CHECK(t1.rfind("[EMAIL:", 0) == 0);
  CHECK(t1.size() == std::string("[EMAIL:]").size() + 16);
  CHECK(out_span(r2, 0) == t1);  // e-mail addresses are compared in lower case
  CHECK(out_span(r2, 1) != t1);
  CHECK(out_span(run(b, "for alice@example.com"), 0) != t1);
  CHECK(out_span(run(a_other_tenant, "for alice@example.com"), 0) != t1);
  CHECK(r1.findings[0].mode == ReplacementMode::token);

  // Cards: spacing does not change the token (digits only).
  const auto c1 = run(a, "card 4111 1111 1111 1111");
  const auto c2 = run(a, "card 4111-1111-1111-1111");
  REQUIRE(c1.findings.size() == 1);
  REQUIRE(c2.findings.size() == 1);
  CHECK(out_span(c1, 0) == out_span(c2, 0));
  CHECK(out_span(c1, 0).rfind("[CREDIT_CARD:", 0) == 0);
  // token_for gives what sanitize writes.
  CHECK("[EMAIL:" + a.token_for("EMAIL", "alice@example.com").value() + "]" == t1);
}

TEST_CASE("sanitizer: known-answer vector of key id and hash and token and ciphertexts", "[sanitizer]") {
  // docs/privacy.md §5.5: computed independently with Python (hmac, cryptography's HKDF and AESSIV).
  SanitizerConfig c;
  c.tenant_id = "acme_corp";
  c.default_mode = ReplacementMode::encrypt;
  std::string k;
  for (int i = 0; i < 32; ++i) k.push_back(static_cast<char>(i));
  auto s = PromptSanitizer::create(c, std::move(fa::TenantKey::from_bytes(k).value()));
  REQUIRE(s);
  CHECK(s->key_id() == "21f17ce2c4397237");
  CHECK(s->prompt_hash("professional product photography, luxury watch on marble surface") ==
        "hmac-sha256:0b1dd58e6436d23450518f2f23048a764e1a8912d7b470bb9e5983231b06f7d7");
  CHECK(s->token_for("EMAIL", "Alice@Example.com").value() == "fvbdg2wyrfkwftqg");
  auto field = s->encrypt_field("alice@enterprise.com");
  REQUIRE(field);
  CHECK(field->dump() ==
        R"({"fa_enc":{"alg":"AES-256-SIV","ct":"VznqSKVL1yQcUTxPilejBLQMfrg/qRP5F/DIF94aQQLdszdu","kid":"21f17ce2c4397237"}})");
  const std::string span = "[EMAIL:enc:21f17ce2c4397237:AZCXPa5Wgdsd3BEkuCJ-U5XKPXw3aHQL0R3zNPtjIAB0Fg]";
  CHECK(s->reveal(span).value() == "alice@example.com");
}

TEST_CASE("sanitizer: encrypted spans round-trip and detect tampering and wrong keys", "[sanitizer]") {
  for (auto alg : {fa::EncryptionAlgorithm::aes_256_siv, fa::EncryptionAlgorithm::aes_256_gcm}) {
    INFO(fa::to_string(alg));
    SanitizerConfig c = with_custom(ReplacementMode::encrypt);
    c.encryption = alg;
    const auto s = make(c, 'k');
    const auto r = run(s, "badge MEM-123456 at the gate");
    REQUIRE(r.findings.size() == 1);
    const std::string span = out_span(r, 0);
    CHECK(span.rfind("[MEMBER_ID:enc:" + s.key_id() + ":", 0) == 0);
    CHECK_FALSE(contains(r.text, "123456"));
    CHECK(s.reveal(span).value() == "MEM-123456");
    CHECK(s.reveal(span.substr(1, span.size() - 2)).value() == "MEM-123456");  // without brackets

    // Deterministic for SIV, randomised for GCM.
    const auto again = run(s, "badge MEM-123456 at the gate");
    if (alg == fa::EncryptionAlgorithm::aes_256_siv)
      CHECK(out_span(again, 0) == span);
    else
      CHECK(out_span(again, 0) != span);

    // Every single-character change of the ciphertext is detected.
    const std::size_t ct_at = span.rfind(':') + 1;
    for (std::size_t i = ct_at; i + 1 < span.size(); ++i) {
      std::string t = span;
      t[i] = t[i] == 'A' ? 'B' : 'A';
      auto bad = s.reveal(t);
      CHECK_FALSE(bad);
    }
    // A changed type is detected (the type is authenticated).
    std::string retyped = span;
    retyped.replace(1, 9, "PHONE_NUM");
    auto rt = s.reveal(retyped);
    REQUIRE_FALSE(rt);
    CHECK(rt.status().code() == fa::Code::corruption);
    // Another key (same tenant id) refuses by key id; another tenant too.
    const auto other = make(c, 'o');
    auto wrong = other.reveal(span);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.status().code() == fa::Code::invalid_argument);
    CHECK(contains(wrong.status().message(), s.key_id()));
    // The same key id but a forged one: swap the key id to the other's, decryption must fail.
    std::string forged = span;
    forged.replace(forged.find(s.key_id()), s.key_id().size(), other.key_id());
    auto f = other.reveal(forged);
    REQUIRE_FALSE(f);
    CHECK(f.status().code() == fa::Code::corruption);
    CHECK_FALSE(s.reveal("[MEMBER_ID_REDACTED]"));
    CHECK_FALSE(s.reveal("not a span"));
  }
}

TEST_CASE("sanitizer: whole-field encryption round-trips and refuses tampering", "[sanitizer]") {
  for (auto alg : {fa::EncryptionAlgorithm::aes_256_siv, fa::EncryptionAlgorithm::aes_256_gcm}) {
    INFO(fa::to_string(alg));
    SanitizerConfig c;
    c.encryption = alg;
    const auto s = make(c);
    auto e = s.encrypt_field("user@enterprise.com");
    REQUIRE(e);
    const auto& inner = (*e)["fa_enc"];
    CHECK(inner["alg"] == std::string(fa::to_string(alg)));
    CHECK(inner["kid"] == s.key_id());
    CHECK(e->size() == 1);
    CHECK(s.decrypt_field(*e).value() == "user@enterprise.com");
    CHECK_FALSE(contains(e->dump(), "enterprise"));

    nlohmann::json t = *e;
    std::string ct = t["fa_enc"]["ct"];
    ct[2] = ct[2] == 'A' ? 'B' : 'A';
    t["fa_enc"]["ct"] = ct;
    auto bad = s.decrypt_field(t);
    REQUIRE_FALSE(bad);
    CHECK(bad.status().code() == fa::Code::corruption);

    nlohmann::json other_alg = *e;
    other_alg["fa_enc"]["alg"] = alg == fa::EncryptionAlgorithm::aes_256_siv ? "AES-256-GCM" : "AES-256-SIV";
    CHECK_FALSE(s.decrypt_field(other_alg));
    nlohmann::json extra = *e;
    extra["fa_enc"]["iv"] = "x";
    CHECK_FALSE(s.decrypt_field(extra));
    CHECK_FALSE(make(c, 'z').decrypt_field(*e));
  }
  SanitizerConfig gcm;
  gcm.encryption = fa::EncryptionAlgorithm::aes_256_gcm;
  const auto g = make(gcm);
  CHECK(g.decrypt_field(g.encrypt_field("").value()).value().empty());
  CHECK_FALSE(make(SanitizerConfig{}).encrypt_field(""));  // SIV cannot encrypt an empty value
}

TEST_CASE("sanitizer: allow-list values and patterns are not redacted", "[sanitizer]") {
  SanitizerConfig c;
  c.allow.values = {"support@example.com"};
  c.allow.patterns = {"[a-z]+@fooocus\\.example"};
  const auto s = make(c);
  const auto r = run(s, "mail support@example.com or team@fooocus.example or eve@evil.example");
  CHECK(r.text == "mail support@example.com or team@fooocus.example or [EMAIL_REDACTED]");
  // An allow pattern must match the whole value: a partial match does not exempt it.
  const auto r2 = run(s, "x.team@fooocus.example.net");
  CHECK(r2.findings.size() == 1);
  // Exact values are case-sensitive.
  CHECK(run(s, "SUPPORT@example.com").findings.size() == 1);
}

TEST_CASE("sanitizer: custom patterns get their labels and invalid ones are refused by name", "[sanitizer]") {
  const auto s = make(with_custom(ReplacementMode::label));
  const auto r = run(s, "badge MEM-004211, second MEM-777777");
  CHECK(r.text == "badge [MEMBER_ID_REDACTED], second [MEMBER_ID_REDACTED]");
  REQUIRE(r.findings.size() == 2);
  CHECK(r.findings[0].detector == "member_id");
  CHECK(r.findings[0].confidence == Approx(0.9));

  SanitizerConfig bad;
  bad.custom_patterns.push_back({"broken_one", "MEM-(", "", std::nullopt, 0.9});
  auto e = PromptSanitizer::create(bad, key_of('k'));
  REQUIRE_FALSE(e);
  CHECK(e.status().code() == fa::Code::invalid_argument);
  CHECK(contains(e.status().message(), "broken_one"));
  CHECK(contains(e.status().message(), "custom_patterns[0]"));

  SanitizerConfig dup = with_custom(ReplacementMode::label);
  dup.custom_patterns.push_back(dup.custom_patterns[0]);
  CHECK_FALSE(PromptSanitizer::create(dup, key_of('k')));
  SanitizerConfig builtin;
  builtin.custom_patterns.push_back({"email", "x", "", std::nullopt, 0.9});
  CHECK_FALSE(PromptSanitizer::create(builtin, key_of('k')));
  SanitizerConfig bad_allow;
  bad_allow.allow.patterns = {"(unclosed"};
  auto ea = PromptSanitizer::create(bad_allow, key_of('k'));
  REQUIRE_FALSE(ea);
  CHECK(contains(ea.status().message(), "allow.patterns[0]"));
  // A pattern that needs more memory than re2_max_mem is refused, not run slowly.
  SanitizerConfig big;
  big.re2_max_mem = 1 << 16;
  std::string huge;
  for (int i = 0; i < 20; ++i) huge += "[a-z]{1000}";
  big.custom_patterns.push_back({"huge", huge, "", std::nullopt, 0.9});
  auto too_big = PromptSanitizer::create(big, key_of('k'));
  REQUIRE_FALSE(too_big);
  CHECK(contains(too_big.status().message(), "\"huge\": invalid RE2 pattern"));
}

TEST_CASE("sanitizer: empty matches of custom patterns do not loop or redact nothing", "[sanitizer]") {
  SanitizerConfig c;
  c.custom_patterns.push_back({"maybe", "x*", "", std::nullopt, 0.5});
  const auto s = make(c);
  const auto r = run(s, "\xe6\xbc\xa2xx\xe5\xad\x97 x");
  CHECK(r.text == "\xe6\xbc\xa2[MAYBE_REDACTED]\xe5\xad\x97 [MAYBE_REDACTED]");
}

TEST_CASE("sanitizer: custom pattern searches stay linear and long matches are redacted whole", "[sanitizer]") {
  // [0-9]+x|[0-9] reads to the end of a digit run for every one-digit match: quadratic without the windows.
  SanitizerConfig dense;
  dense.custom_patterns.push_back({"digit", "[0-9]+x|[0-9]", "", std::nullopt, 0.5});
  const auto d = make(dense);
  const std::string digits(4u << 20, '7');
  auto refused = d.sanitize(digits);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == fa::Code::invalid_argument);
  CHECK(contains(refused.status().message(), "matches too densely"));
  CHECK_FALSE(contains(refused.status().message(), "7777"));
  // The same pattern on an ordinary prompt is fine, and so are prompts of a few kB full of matches.
  CHECK(run(d, "room 42, seed 7").text == "room [DIGIT_REDACTED][DIGIT_REDACTED], seed [DIGIT_REDACTED]");
  const auto many = run(d, std::string(1000, '5'));
  CHECK(many.text.find('5') == std::string::npos);
  CHECK(many.findings.size() == 1000);
  // A match longer than one search window is found in pieces, and every byte of it is redacted.
  SanitizerConfig run_of_digits;
  run_of_digits.custom_patterns.push_back({"number", "[0-9]+", "", std::nullopt, 0.5});
  const auto n = make(run_of_digits);
  const std::string text = "id " + std::string(10000, '9') + " end";
  auto r = n.sanitize(text);
  REQUIRE(r.ok());
  CHECK(r->text.find('9') == std::string::npos);
  CHECK(r->text.substr(0, 3) == "id ");
  CHECK(r->text.substr(r->text.size() - 4) == " end");
  // A pattern that matches rarely scans a long prompt once, across windows, and finds matches on the edges.
  SanitizerConfig rare;
  rare.custom_patterns.push_back({"member_id", "MEM-[0-9]{6}", "", std::nullopt, 0.9});
  const auto m = make(rare);
  std::string longp(100000, 'a');
  for (std::size_t at : {std::size_t{0}, std::size_t{4093}, std::size_t{8190}, std::size_t{99990}})
    longp.replace(at, 10, "MEM-123456");
  auto lr = m.sanitize(longp);
  REQUIRE(lr.ok());
  CHECK(lr->findings.size() == 4);
  CHECK(lr->text.find("MEM-") == std::string::npos);
}

TEST_CASE("sanitizer: overlaps are resolved by rank then confidence then length", "[sanitizer]") {
  SanitizerConfig c;
  // A custom pattern overlapping a built-in e-mail: custom patterns outrank personal data.
  c.custom_patterns.push_back({"staff_mail", "[a-z]+@staff\\.example", "STAFF", std::nullopt, 0.5});
  // Two custom patterns on the same digits: higher confidence wins, then the longer span.
  c.custom_patterns.push_back({"short_low", "T-[0-9]{4}", "", std::nullopt, 0.5});
  c.custom_patterns.push_back({"long_high", "T-[0-9]{4}-[A-Z]{2}", "", std::nullopt, 0.8});
  c.custom_patterns.push_back({"same_conf_short", "Q-[0-9]{2}", "", std::nullopt, 0.7});
  c.custom_patterns.push_back({"same_conf_long", "Q-[0-9]{2}-[0-9]{2}", "", std::nullopt, 0.7});
  const auto s = make(c);
  const auto r = run(s, "ann@staff.example T-1234-AB Q-12-34");
  CHECK(r.text == "[STAFF_REDACTED] [LONG_HIGH_REDACTED] [SAME_CONF_LONG_REDACTED]");
  // Secrets outrank custom patterns.
  SanitizerConfig c2;
  c2.custom_patterns.push_back({"akia", "AKIA[A-Z0-9]{4}", "", std::nullopt, 1.0});
  const auto s2 = make(c2);
  const auto r2 = run(s2, "key AKIAQYLPMN5HFIQR7XZB here");
  REQUIRE(r2.findings.size() == 1);
  CHECK(r2.findings[0].type == "AWS_ACCESS_KEY");
}

TEST_CASE("sanitizer: an overlap winner is widened over the values it beat", "[sanitizer]") {
  // A custom pattern (rank 1) covering only the start of an e-mail (rank 2) must not leave the rest of the
  // address in the text.
  SanitizerConfig c;
  c.custom_patterns.push_back({"staff", "[a-z]+@staff", "", std::nullopt, 0.9});
  const auto s = make(c);
  const auto r = run(s, "mail ann@staff.example.org now");
  CHECK(r.text == "mail [STAFF_REDACTED] now");
  REQUIRE(r.findings.size() == 1);
  CHECK(r.findings[0].type == "STAFF");
  CHECK(r.findings[0].begin == 5);
  CHECK(r.findings[0].end == 26);
  CHECK_FALSE(contains(r.text, "example"));

  // A loser bridging two winners: one finding over the union, named after the best-ranked candidate.
  SanitizerConfig c2;
  c2.custom_patterns.push_back({"hi", "a{5}|b{5}", "", std::nullopt, 1.0});
  c2.custom_patterns.push_back({"lo", "a xx b", "", std::nullopt, 0.5});
  const auto s2 = make(c2);
  const auto r2 = run(s2, "<aaaaa xx bbbbb>");
  CHECK(r2.text == "<[HI_REDACTED]>");
  REQUIRE(r2.findings.size() == 1);
  CHECK(r2.findings[0].detector == "hi");
  CHECK(r2.findings[0].begin == 1);
  CHECK(r2.findings[0].end == 15);
  CHECK(r2.findings[0].out_begin == 1);
  CHECK(r2.findings[0].out_end == r2.text.size() - 1);

  // Built-in detectors: a key inside an e-mail address outranks the address; the address must not survive
  // around the key's label.
  const auto s3 = make(SanitizerConfig{});
  const auto r3 = run(s3, "mail bob.AKIAQYLPMN5HFIQR7XZB@example.com now");
  CHECK(r3.text == "mail [AWS_ACCESS_KEY_REDACTED] now");
  REQUIRE(r3.findings.size() == 1);
  CHECK(r3.findings[0].type == "AWS_ACCESS_KEY");
  CHECK_FALSE(contains(r3.text, "example.com"));
}

TEST_CASE("sanitizer: an overlap group is named after its best candidate wherever that starts", "[sanitizer]") {
  // A chain of overlapping candidates whose best-ranked one starts neither first nor last, and candidates that
  // start at the same byte: one finding over the union, named after the best by rank, confidence, length.
  SanitizerConfig c;
  c.custom_patterns.push_back({"left", "aa xx", "", std::nullopt, 0.5});
  c.custom_patterns.push_back({"middle", "xx bb", "", std::nullopt, 0.9});
  c.custom_patterns.push_back({"right", "bb cc", "", std::nullopt, 0.5});
  c.custom_patterns.push_back({"start_short", "dd", "", std::nullopt, 0.6});
  c.custom_patterns.push_back({"start_long", "dd ee", "", std::nullopt, 0.6});
  const auto s = make(c);
  const auto r = run(s, "<aa xx bb cc> <dd ee>");
  CHECK(r.text == "<[MIDDLE_REDACTED]> <[START_LONG_REDACTED]>");
  REQUIRE(r.findings.size() == 2);
  CHECK(r.findings[0].detector == "middle");
  CHECK(r.findings[0].begin == 1);
  CHECK(r.findings[0].end == 12);
  CHECK(r.findings[0].confidence == Approx(0.9));
  CHECK(r.findings[1].detector == "start_long");
  CHECK(r.findings[1].begin == 15);
  CHECK(r.findings[1].end == 20);
  CHECK(r.findings[1].out_begin == r.text.find("[START_LONG"));
  CHECK(r.findings[1].out_end == r.text.size() - 1);
}

TEST_CASE("sanitizer: token_for refuses a type that breaks domain separation", "[sanitizer]") {
  const auto s = make(with_custom(ReplacementMode::token, "EMP"));
  using namespace std::string_literals;
  // type || 0x00 || value: ("EMP\0X", "Y") and ("EMP", "X\0Y") would hash the same bytes.
  const auto forged = s.token_for("EMP\0X"s, "Y");
  CHECK_FALSE(forged);
  CHECK(s.token_for("EMP", "X\0Y"s));
  CHECK_FALSE(s.token_for("", "x"));
  CHECK_FALSE(s.token_for("email", "x"));
  CHECK(s.token_for("EMAIL", "x"));
}

TEST_CASE("sanitizer: per-detector disable and modes", "[sanitizer]") {
  SanitizerConfig c;
  c.detector(Detector::email).enabled = false;
  c.detector(Detector::phone).mode = ReplacementMode::token;
  const auto s = make(c);
  const auto r = run(s, "alice@example.com +44 20 7946 0958");
  REQUIRE(r.findings.size() == 1);
  CHECK(r.findings[0].type == "PHONE");
  CHECK(r.findings[0].mode == ReplacementMode::token);
  CHECK(r.text.rfind("alice@example.com [PHONE:", 0) == 0);
  CHECK((c.enabled_mask() & fa::detect::mask_of(Detector::email)) == 0);
}

TEST_CASE("sanitizer: CJK emoji and right-to-left text pass through byte-identical", "[sanitizer]") {
  const auto s = make(SanitizerConfig{});
  const std::string texts[] = {
      "\xe6\xa1\x9c\xe3\x81\xae\xe6\x9c\xa8\xe3\x81\xae\xe4\xb8\x8b\xe3\x81\xae\xe7\x8c\xab, (masterpiece:1.2)",
      "\xf0\x9f\x8c\xb8\xe2\x9c\xa8 dreamy pastel sky \xf0\x9f\x8c\x99 \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7",
      "\xd8\xb5\xd9\x88\xd8\xb1\xd8\xa9 \xd9\x84\xd9\x82\xd8\xb7\xd8\xa9 \xe2\x80\x8f\xd8\xb9\xd9\x84\xd9\x89 \xd8\xa7\xd9\x84\xd8\xb4\xd8\xa7\xd8\xb7\xd8\xa6",
      "\xd7\xa8\xd7\x97\xd7\x95\xd7\x91 \xd7\x91\xd7\x99\xd7\xa8\xd7\x95\xd7\xa9\xd7\x9c\xd7\x99\xd7\x9d \xe2\x80\xae reversed \xe2\x80\xac",
  };
  for (const auto& t : texts) {
    const auto r = run(s, t);
    CHECK(r.text == t);
    CHECK(r.findings.empty());
  }
  // PII inside CJK text: spans start and end on code point boundaries, the rest is untouched.
  const std::string mixed = "\xe9\x80\xa3\xe7\xb5\xa1" "alice@example.com\xe3\x81\xbe\xe3\x81\xa7";
  const auto r = run(s, mixed);
  REQUIRE(r.findings.size() == 1);
  CHECK(fa::utf8::is_boundary(mixed, r.findings[0].begin));
  CHECK(fa::utf8::is_boundary(mixed, r.findings[0].end));
  CHECK(fa::utf8::is_valid(r.text));
  CHECK(r.text.rfind("\xe9\x80\xa3\xe7\xb5\xa1", 0) == 0);
}

TEST_CASE("sanitizer: invalid UTF-8 is refused with its offset or replaced", "[sanitizer]") {
  SanitizerConfig c;
  const auto strict = make(c);
  const std::string bad = std::string("ok \xe6\xbc\xa2 then \xff here alice@example.com");
  auto e = strict.sanitize(bad);
  REQUIRE_FALSE(e);
  CHECK(e.status().code() == fa::Code::invalid_argument);
  CHECK(contains(e.status().message(), "byte 12"));
  for (const char* b : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe6\xbc", "\x80"}) CHECK_FALSE(strict.sanitize(b));

  c.invalid_utf8 = fa::InvalidUtf8Policy::replace;
  const auto lenient = make(c);
  const auto r = run(lenient, bad);
  CHECK(r.text == "ok \xe6\xbc\xa2 then \xef\xbf\xbd here [EMAIL_REDACTED]");
  CHECK(r.invalid_utf8_replaced == 1);
  CHECK(fa::utf8::is_valid(r.text));
  // A truncated sequence is one maximal subpart: one U+FFFD.
  CHECK(run(lenient, "a\xe6\xbc").text == "a\xef\xbf\xbd");
  CHECK(run(lenient, "\xf0\x9f\x8c").text == "\xef\xbf\xbd");
  CHECK(run(lenient, "\xc0\xaf").text == "\xef\xbf\xbd\xef\xbf\xbd");
  // The hash is of the raw bytes, not of the repaired text.
  CHECK(lenient.prompt_hash(bad) == r.prompt_hash);
  CHECK(lenient.prompt_hash(r.text) != r.prompt_hash);
}

TEST_CASE("sanitizer: keyed prompt hash cannot be confirmed without the key", "[sanitizer]") {
  const std::string prompt = "portrait of alice@example.com, (masterpiece:1.2)";
  const auto keyed = make(SanitizerConfig{}, 'a');
  const std::string h = keyed.prompt_hash(prompt);
  const std::string plain_hex = fa::detail::to_hex(fa::detail::sha256(prompt));
  REQUIRE(h.size() == std::string("hmac-sha256:").size() + 64);
  CHECK(h.rfind("hmac-sha256:", 0) == 0);
  CHECK_FALSE(contains(h, plain_hex));
  CHECK(h == keyed.prompt_hash(prompt));
  CHECK(h != make(SanitizerConfig{}, 'b').prompt_hash(prompt));
  CHECK(run(keyed, prompt).prompt_hash == h);

  SanitizerConfig p;
  p.prompt_hash = fa::PromptHashMode::plain;
  const auto plain = make(p, 'a');
  CHECK(plain.prompt_hash(prompt) == "sha256:" + plain_hex);
  // Without a key only the plain form and label mode are possible.
  auto no_key = PromptSanitizer::create(p);
  REQUIRE(no_key);
  CHECK(no_key->key_id().empty());
  CHECK(run(no_key.value(), "mail alice@example.com").text == "mail [EMAIL_REDACTED]");
  CHECK_FALSE(no_key->encrypt_field("x"));
  CHECK_FALSE(no_key->token_for("EMAIL", "x"));
  auto needs = PromptSanitizer::create(SanitizerConfig{});
  REQUIRE_FALSE(needs);
  CHECK(contains(needs.status().message(), "tenant key"));
  SanitizerConfig tok = p;
  tok.detector(Detector::phone).mode = ReplacementMode::token;
  CHECK_FALSE(PromptSanitizer::create(tok));
}

TEST_CASE("sanitizer: tenant key files are 0600 and well-formed", "[sanitizer]") {
  fa_test::TempDir dir;
  auto k = fa::TenantKey::generate();
  REQUIRE(k);
  REQUIRE(k->save(dir / "tenant.key"));
  struct stat st {};
  REQUIRE(::stat((dir / "tenant.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_FALSE(k->save(dir / "tenant.key"));  // never replaced

  auto loaded = fa::TenantKey::load(dir / "tenant.key");
  REQUIRE(loaded);
  CHECK(loaded->bytes() == k->bytes());
  SanitizerConfig c;
  c.tenant_key_file = dir / "tenant.key";
  auto via_file = PromptSanitizer::create(c);
  REQUIRE(via_file);
  SanitizerConfig direct;
  auto same = PromptSanitizer::create(direct, std::move(fa::TenantKey::from_bytes(k->bytes()).value()));
  REQUIRE(same);
  CHECK(via_file->prompt_hash("x") == same->prompt_hash("x"));

  // Group- or world-readable: refused, and the message says what to do.
  ::chmod((dir / "tenant.key").c_str(), 0644);
  auto open_key = fa::TenantKey::load(dir / "tenant.key");
  REQUIRE_FALSE(open_key);
  CHECK(open_key.status().code() == fa::Code::invalid_argument);
  CHECK(contains(open_key.status().message(), "chmod 600"));
  CHECK_FALSE(PromptSanitizer::create(c));
  ::chmod((dir / "tenant.key").c_str(), 0640);
  CHECK_FALSE(fa::TenantKey::load(dir / "tenant.key"));

  // Malformed files; the message never shows the file's bytes.
  const std::string hex31(62, 'a');
  for (const std::string& text :
       {std::string("fooocus-audit-tenant-key-v1 ") + hex31 + "\n", std::string("fooocus-audit-tenant-key-v1 ") +
        std::string(64, 'G') + "\n", std::string(32, 'k'), std::string("fooocus-audit-tenant-key-v2 ") +
        std::string(64, 'a') + "\n", std::string("fooocus-audit-tenant-key-v1 ") + std::string(64, 'A') + "\n"}) {
    const std::string path = dir / "bad.key";
    ::unlink(path.c_str());
    fa_test::write_bytes(path, text);
    ::chmod(path.c_str(), 0600);
    auto r = fa::TenantKey::load(path);
    REQUIRE_FALSE(r);
    CHECK_FALSE(contains(r.status().message(), "aaaaaaaa"));
    CHECK_FALSE(contains(r.status().message(), "GGGGGGGG"));
  }
  CHECK(fa::TenantKey::load(dir / "missing.key").status().code() == fa::Code::not_found);
  CHECK_FALSE(fa::TenantKey::from_bytes(std::string(31, 'x')));
  CHECK(fa::TenantKey::from_bytes(std::string(32, 'x')));
}

TEST_CASE("sanitizer: configuration JSON names every bad member", "[sanitizer]") {
  auto err = [](const char* text) {
    auto c = SanitizerConfig::parse(text);
    REQUIRE_FALSE(c);
    CHECK(c.status().code() == fa::Code::invalid_argument);
    return c.status().message();
  };
  CHECK(contains(err(R"({"defualt_mode":"label"})"), "defualt_mode: unknown member"));
  CHECK(contains(err(R"({"default_mode":"mask"})"), "default_mode: must be one of label, token, encrypt"));
  CHECK(contains(err(R"({"default_mode":1})"), "default_mode: must be a string"));
  CHECK(contains(err(R"({"detectors":{"emial":true}})"), "detectors.emial: unknown detector"));
  CHECK(contains(err(R"({"detectors":{"email":{"enabeld":true}}})"), "detectors.email.enabeld: unknown member"));
  CHECK(contains(err(R"({"detectors":{"email":"off"}})"), "detectors.email: must be true, false or an object"));
  CHECK(contains(err(R"({"detectors":{"phone":{"mode":"hash"}}})"), "detectors.phone.mode"));
  CHECK(contains(err(R"({"custom_patterns":[{"name":"x1","pattern":"a","colour":1}]})"),
                 "custom_patterns[0].colour: unknown member"));
  CHECK(contains(err(R"({"custom_patterns":[{"pattern":"a"}]})"), "custom_patterns[0].name: required"));
  CHECK(contains(err(R"({"custom_patterns":[{"name":"Bad Name","pattern":"a"}]})"), "custom_patterns[0].name"));
  CHECK(contains(err(R"({"custom_patterns":[{"name":"x","pattern":"a","confidence":1.5}]})"),
                 "custom_patterns[0].confidence"));
  CHECK(contains(err(R"({"allow":{"values":["a", 2]}})"), "allow.values[1]: must be a string"));
  CHECK(contains(err(R"({"allow":{"regex":[]}})"), "allow.regex: unknown member"));
  CHECK(contains(err(R"({"invalid_utf8":"drop"})"), "invalid_utf8"));
  CHECK(contains(err(R"({"prompt_hash":"md5"})"), "prompt_hash"));
  CHECK(contains(err(R"({"encryption":"aes-128-cbc"})"), "encryption"));
  CHECK(contains(err(R"({"max_input_bytes":0})"), "max_input_bytes"));
  CHECK(contains(err(R"({"max_input_bytes":"big"})"), "max_input_bytes"));
  CHECK(contains(err(R"({"tenant_id":7})"), "tenant_id: must be a string"));
  CHECK(contains(err(R"({"version":2})"), "version"));
  CHECK(contains(err("[1,2]"), "must be a JSON object"));
  CHECK(contains(err("{\n  \"default_mode\": ,\n}"), "<config>:2:"));

  auto ok = SanitizerConfig::parse(R"({
    "version": 1, "default_mode": "token",
    "detectors": {"email": false, "phone": {"mode": "encrypt"}, "ipv4": {"enabled": false}},
    "custom_patterns": [{"name": "employee_id", "pattern": "EMP-[0-9]{6}", "type": "EMPLOYEE_ID",
                         "mode": "label", "confidence": 0.95}],
    "allow": {"values": ["support@example.com"], "patterns": ["[a-z]+@fooocus\\.example"]},
    "invalid_utf8": "replace", "prompt_hash": "plain", "encryption": "aes-256-gcm",
    "tenant_id": "acme_corp", "tenant_key_file": "/etc/fooocus/tenant.key",
    "max_input_bytes": 1000000, "re2_max_mem": 1048576})");
  REQUIRE(ok);
  CHECK(ok->default_mode == ReplacementMode::token);
  CHECK_FALSE(ok->detector(Detector::email).enabled);
  CHECK(ok->mode_of(Detector::phone) == ReplacementMode::encrypt);
  CHECK(ok->mode_of(Detector::ssn) == ReplacementMode::token);
  CHECK_FALSE(ok->detector(Detector::ipv4).enabled);
  REQUIRE(ok->custom_patterns.size() == 1);
  CHECK(ok->custom_patterns[0].type == "EMPLOYEE_ID");
  CHECK(ok->invalid_utf8 == fa::InvalidUtf8Policy::replace);
  CHECK(ok->prompt_hash == fa::PromptHashMode::plain);
  CHECK(ok->encryption == fa::EncryptionAlgorithm::aes_256_gcm);
  CHECK(ok->max_input_bytes == 1000000);
  // to_json() round-trips.
  auto again = SanitizerConfig::from_json(ok->to_json());
  REQUIRE(again);
  CHECK(again->to_json() == ok->to_json());

  fa_test::TempDir dir;
  fa_test::write_bytes(dir / "c.json", R"({"default_mode": "nope"})");
  auto f = SanitizerConfig::from_file(dir / "c.json");
  REQUIRE_FALSE(f);
  CHECK(contains(f.status().message(), dir / "c.json"));
  CHECK(SanitizerConfig::from_file(dir / "none.json").status().code() == fa::Code::not_found);
}

TEST_CASE("sanitizer: inputs above max_input_bytes are refused", "[sanitizer]") {
  SanitizerConfig c;
  c.max_input_bytes = 100;
  const auto s = make(c);
  CHECK(s.sanitize(std::string(100, 'a')));
  auto r = s.sanitize(std::string(101, 'a'));
  REQUIRE_FALSE(r);
  CHECK(r.status().code() == fa::Code::too_large);
}

TEST_CASE("sanitizer: concurrent sanitize calls on one object agree", "[sanitizer][concurrency]") {
  SanitizerConfig c;
  c.default_mode = ReplacementMode::token;
  c.detector(Detector::phone).mode = ReplacementMode::encrypt;
  const auto s = make(c);
  const std::string prompt = "mail alice@example.com, call +44 20 7946 0958, card 4111 1111 1111 1111";
  const auto expected = run(s, prompt).to_json();
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto r = s.sanitize(prompt);
        if (!r || r->to_json() != expected) ++bad[static_cast<std::size_t>(t)];
      }
    });
  for (auto& th : threads) th.join();
  for (int b : bad) CHECK(b == 0);
}

TEST_CASE("sanitizer: many findings and megabyte adversarial prompts", "[sanitizer]") {
  SanitizerConfig c;
  c.custom_patterns.push_back({"pair", "[a-z]+@[a-z]+", "", std::nullopt, 0.5});  // overlaps every e-mail
  const auto s = make(c);
  std::string many;
  for (int i = 0; i < 300; ++i) many += "user" + std::string(1, static_cast<char>('a' + i % 26)) + "@example.com, ";
  const auto r = run(s, many);
  // Custom patterns outrank personal data: each address is one PAIR finding, nothing overlaps.
  REQUIRE(r.findings.size() == 300);
  for (std::size_t i = 1; i < r.findings.size(); ++i) CHECK(r.findings[i - 1].end <= r.findings[i].begin);
  CHECK_FALSE(contains(r.text, "@"));
  CHECK(r.findings[0].type == "PAIR");

  // Long digit runs, nested brackets, repeated '@': sanitized (linear time is measured in bench_sanitize).
  for (const std::string& adversarial :
       {std::string(1 << 20, '7'), std::string(1 << 19, '(') + std::string(1 << 19, ')'), [] {
          std::string a;
          while (a.size() < (1u << 20)) a += "a@";
          return a;
        }()}) {
    const auto big = run(make(SanitizerConfig{}), adversarial);
    CHECK(fa::utf8::is_valid(big.text));
    for (const auto& f : big.findings) CHECK(f.end <= adversarial.size());
  }
}
