// SPDX-License-Identifier: Apache-2.0
// fooocus-audit sanitize (docs/privacy.md §6, docs/cli.md): prompts one per line, plain or --json output,
// configuration and key errors, bad lines reported with their numbers. Each test spawns the built tool.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/cli_support.hpp"
#include "support/files.hpp"

using namespace fa_test;

#ifdef FA_CLI_PATH

namespace {

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < s.size()) {
    const std::size_t nl = s.find('\n', at);
    out.push_back(s.substr(at, nl == std::string::npos ? std::string::npos : nl - at));
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("cli sanitize: prints each prompt sanitized and never the raw values", "[cli][sanitizer]") {
  const std::string input =
      "portrait, mail alice@example.com, (masterpiece:1.2)\n"
      "professional product photography, luxury watch on marble surface\n"
      "card 4111 1111 1111 1111 and key AKIAQYLPMN5HFIQR7XZB\r\n";
  const Run r = run_cli({"sanitize"}, input);
  INFO(r.err);
  CHECK(r.status == 0);
  const auto out = lines_of(r.out);
  REQUIRE(out.size() == 3);
  CHECK(out[0] == "portrait, mail [EMAIL_REDACTED], (masterpiece:1.2)");
  CHECK(out[1] == "professional product photography, luxury watch on marble surface");
  CHECK(out[2] == "card [CREDIT_CARD_REDACTED] and key [AWS_ACCESS_KEY_REDACTED]");
  CHECK(contains(r.err, "random key for this run only"));
  for (const char* raw : {"alice@example.com", "4111", "AKIAQYLPMN5HFIQR7XZB"}) CHECK_FALSE(contains(r.out + r.err, raw));
}

TEST_CASE("cli sanitize: a NUL byte inside a line is data, not the end of the line", "[cli][sanitizer]") {
  // Before, lines were read with fgets and cut at the first NUL: what followed it was never sanitized or shown.
  const std::string input = std::string("before\0after alice@example.com\n", 31) + "second line\n";
  const Run r = run_cli({"sanitize", "--json"}, input);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto out = lines_of(r.out);
  REQUIRE(out.size() == 2);
  const nlohmann::json first = nlohmann::json::parse(out[0]);
  CHECK(first.at("text") == std::string("before\0after [EMAIL_REDACTED]", 29));
  CHECK(nlohmann::json::parse(out[1]).at("text") == "second line");
  CHECK_FALSE(contains(r.out + r.err, "alice@example.com"));
}

TEST_CASE("cli sanitize: --json objects with line numbers and the stable schema", "[cli][sanitizer]") {
  TempDir dir;
  const Run k = run_cli({"sanitize", "--new-tenant-key", dir / "tenant.key"});
  REQUIRE(k.status == 0);
  struct stat st {};
  REQUIRE(::stat((dir / "tenant.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(run_cli({"sanitize", "--new-tenant-key", dir / "tenant.key"}).status == 2);  // never replaced

  write_bytes(dir / "config.json", R"({"default_mode": "token", "tenant_id": "acme_corp"})");
  const std::string input = "mail alice@example.com\n\nagain Alice@Example.com\n";
  const Run r = run_cli({"sanitize", "--config", dir / "config.json", "--tenant-key", dir / "tenant.key", "--json"},
                        input);
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  const auto out = lines_of(r.out);
  REQUIRE(out.size() == 3);
  const auto j1 = nlohmann::json::parse(out[0]);
  const auto j2 = nlohmann::json::parse(out[1]);
  const auto j3 = nlohmann::json::parse(out[2]);
  CHECK(j1["line"] == 1);
  CHECK(j2["line"] == 2);
  CHECK(j3["line"] == 3);
  CHECK(j2["findings"].empty());
  REQUIRE(j1["findings"].size() == 1);
  const auto& f = j1["findings"][0];
  CHECK(f["type"] == "EMAIL");
  CHECK(f["detector"] == "email");
  CHECK(f["begin"] == 5);
  CHECK(f["end"] == 22);
  CHECK(f["mode"] == "token");
  CHECK(std::string(j1["prompt_hash"]).rfind("hmac-sha256:", 0) == 0);
  // Same tenant key: the same token in another line and in another run.
  const std::string tok1 = std::string(j1["text"]).substr(5);
  CHECK(std::string(j3["text"]).substr(6) == tok1);
  const Run again = run_cli({"sanitize", "--config", dir / "config.json", "--tenant-key", dir / "tenant.key"},
                            "alice@example.com\n");
  CHECK(again.out == tok1 + "\n");
  CHECK_FALSE(contains(r.out, "alice"));
}

TEST_CASE("cli sanitize: bad lines are reported by number and the rest goes on", "[cli][sanitizer]") {
  const std::string input = "first alice@example.com\nbad \xff byte\nthird bob@example.com\n";
  const Run r = run_cli({"sanitize"}, input);
  CHECK(r.status == 1);
  CHECK(contains(r.err, "line 2: invalid_argument: invalid UTF-8 at byte 4"));
  const auto out = lines_of(r.out);
  REQUIRE(out.size() == 2);
  CHECK(out[0] == "first [EMAIL_REDACTED]");
  CHECK(out[1] == "third [EMAIL_REDACTED]");

  TempDir dir;
  write_bytes(dir / "replace.json", R"({"invalid_utf8": "replace", "max_input_bytes": 40})");
  const Run rep = run_cli({"sanitize", "--config", dir / "replace.json"},
                          input + std::string(50, 'x') + "\nlast\n");
  CHECK(rep.status == 1);
  CHECK(contains(rep.err, "line 4: longer than max_input_bytes (40)"));
  const auto rout = lines_of(rep.out);
  REQUIRE(rout.size() == 4);
  CHECK(rout[1] == "bad \xef\xbf\xbd byte");
  CHECK(rout[3] == "last");
}

TEST_CASE("cli sanitize: bad configuration or key exits 2 with a clear message", "[cli][sanitizer]") {
  TempDir dir;
  write_bytes(dir / "typo.json", R"({"detectors": {"emial": true}})");
  Run r = run_cli({"sanitize", "--config", dir / "typo.json"}, "x\n");
  CHECK(r.status == 2);
  CHECK(contains(r.err, "detectors.emial: unknown detector"));
  CHECK(r.out.empty());

  write_bytes(dir / "pattern.json", R"({"custom_patterns": [{"name": "ticket", "pattern": "T-("}]})");
  r = run_cli({"sanitize", "--config", dir / "pattern.json"}, "x\n");
  CHECK(r.status == 2);
  CHECK(contains(r.err, "\"ticket\": invalid RE2 pattern"));

  r = run_cli({"sanitize", "--config", dir / "missing.json"}, "x\n");
  CHECK(r.status == 2);
  CHECK(contains(r.err, "missing.json"));

  REQUIRE(run_cli({"sanitize", "--new-tenant-key", dir / "k"}).status == 0);
  ::chmod((dir / "k").c_str(), 0644);
  r = run_cli({"sanitize", "--tenant-key", dir / "k"}, "x\n");
  CHECK(r.status == 2);
  CHECK(contains(r.err, "chmod 600"));

  CHECK(run_cli({"sanitize", "--bogus"}).status == 2);
  CHECK(run_cli({"sanitize", "--config"}).status == 2);
  const Run h = run_cli({"sanitize", "--help"});
  CHECK(h.status == 0);
  CHECK(contains(h.out, "--tenant-key FILE"));
}

#endif  // FA_CLI_PATH
