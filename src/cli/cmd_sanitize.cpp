// SPDX-License-Identifier: Apache-2.0
// fooocus-audit sanitize: try a PromptSanitizer policy on prompts, one per line (docs/privacy.md §6).

#include <fmt/format.h>

#include <cstdio>
#include <optional>
#include <string>

#include "cli_common.hpp"
#include "commands.hpp"
#include "fooocus_audit/prompt_sanitizer.hpp"

namespace fa_cli {

namespace {

constexpr const char* kSanitizeHelp = R"(usage: fooocus-audit sanitize [--config FILE] [--tenant-key FILE] [--json] < prompts.txt
       fooocus-audit sanitize --new-tenant-key FILE

Reads prompts on standard input, one per line (a trailing CR is removed), and prints each
sanitized: personal data and secrets replaced by labels, keyed tokens or encrypted spans as the
configuration says (docs/privacy.md). A line that cannot be sanitized (invalid UTF-8 under the
"error" policy, longer than max_input_bytes) is reported on standard error with its line number
and prints nothing; the other lines go on.

options:
  --config FILE          sanitizer configuration (JSON, docs/privacy.md §2); default: every
                         detector on, label mode, keyed prompt hash
  --tenant-key FILE      the tenant key file (mode 0600); overrides the config's tenant_key_file
  --json                 one JSON object per line: {"line":N,"text":...,"prompt_hash":...,
                         "findings":[{"type","detector","begin","end","out_begin","out_end",
                         "confidence","mode"}]}; findings never hold the raw value
  --new-tenant-key FILE  create a new random tenant key file (0600, never replaced) and exit
  -h, --help             this help

Without any tenant key, a random key is made for this run only (a notice says so): tokens and
keyed hashes then agree within the run but not with any other run.

exit status: 0 every line sanitized, 1 some lines refused, 2 usage error, bad configuration or key.
)";

}  // namespace

int cmd_sanitize(int argc, char** argv) {
  std::string config_path, key_path, new_key_path;
  bool json = false;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "-h" || a == "--help") {
      fmt::print("{}", kSanitizeHelp);
      return kOk;
    } else if (a == "--config") {
      const char* v = value();
      if (!v) return usage_error("--config needs a file", kSanitizeHelp);
      config_path = v;
    } else if (a == "--tenant-key") {
      const char* v = value();
      if (!v) return usage_error("--tenant-key needs a file", kSanitizeHelp);
      key_path = v;
    } else if (a == "--new-tenant-key") {
      const char* v = value();
      if (!v) return usage_error("--new-tenant-key needs a file", kSanitizeHelp);
      new_key_path = v;
    } else if (a == "--json") {
      json = true;
    } else {
      return usage_error(fmt::format("unknown option {}", a), kSanitizeHelp);
    }
  }

  if (!new_key_path.empty()) {
    if (!config_path.empty() || !key_path.empty() || json)
      return usage_error("--new-tenant-key takes no other option", kSanitizeHelp);
    fa::Result<fa::TenantKey> key = fa::TenantKey::generate();
    if (!key) return fail("sanitize", key.status().to_string());
    if (fa::Status s = key->save(new_key_path); !s) return fail("sanitize", s.to_string());
    fmt::print(stderr, "fooocus-audit sanitize: wrote a new tenant key to {} (mode 0600)\n", new_key_path);
    return kOk;
  }

  fa::SanitizerConfig config;
  if (!config_path.empty()) {
    fa::Result<fa::SanitizerConfig> c = fa::SanitizerConfig::from_file(config_path);
    if (!c) return fail("sanitize", c.status().to_string());
    config = std::move(c.value());
  }
  if (!key_path.empty()) config.tenant_key_file = key_path;

  fa::Result<fa::PromptSanitizer> sanitizer = fa::Status(fa::Code::internal, "not created");
  if (config.tenant_key_file.empty()) {
    fa::Result<fa::TenantKey> key = fa::TenantKey::generate();
    if (!key) return fail("sanitize", key.status().to_string());
    fmt::print(stderr,
               "fooocus-audit sanitize: no tenant key given; tokens and keyed hashes use a random key for this "
               "run only\n");
    sanitizer = fa::PromptSanitizer::create(config, std::move(key.value()));
  } else {
    sanitizer = fa::PromptSanitizer::create(config);
  }
  if (!sanitizer) return fail("sanitize", sanitizer.status().to_string());

  const std::size_t limit = config.max_input_bytes;
  std::string line;
  std::uint64_t number = 0, refused = 0;
  for (;;) {
    const LineResult lr = read_line(stdin, line, limit);
    if (lr == LineResult::eof) break;
    ++number;
    if (lr == LineResult::too_long) {
      fmt::print(stderr, "fooocus-audit sanitize: line {}: longer than max_input_bytes ({})\n", number, limit);
      ++refused;
      continue;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    fa::Result<fa::SanitizeResult> r = sanitizer->sanitize(line);
    if (!r) {
      fmt::print(stderr, "fooocus-audit sanitize: line {}: {}\n", number, r.status().to_string());
      ++refused;
      continue;
    }
    if (json) {
      nlohmann::json j = r->to_json();
      j["line"] = number;
      fmt::print("{}\n", j.dump());
    } else {
      fmt::print("{}\n", r->text);
    }
  }
  std::fflush(stdout);
  if (std::ferror(stdout) != 0) return fail("sanitize", "cannot write standard output");
  return refused == 0 ? kOk : kFindings;
}

}  // namespace fa_cli
