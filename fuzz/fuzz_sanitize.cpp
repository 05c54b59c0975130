// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: PromptSanitizer::sanitize (prompt_sanitizer.hpp) on arbitrary bytes, under three
// configurations: labels with invalid UTF-8 refused; keyed tokens with U+FFFD repair, a custom pattern and an
// allow pattern; deterministic AES-256-SIV encryption with repair.
//
// Invariants (any violation aborts; ASan/UBSan catch the rest):
// - Valid UTF-8 input (or the replace policy) is always sanitized; ill-formed input under the error policy is
//   refused with invalid_argument, never sanitized.
// - The output is valid UTF-8. Findings are in order, disjoint, inside the (repaired) input, on code point
//   boundaries; their output spans are inside the output and hold "[...]".
// - The output is exactly the input with each finding's span replaced by its replacement: nothing else
//   changes, so no finding's raw value survives except where the same bytes also stand outside every span.
//   A raw value (4+ bytes) never occurs more often in the output (the key id of encrypted spans masked) than
//   outside the spans of the input.
// - Sanitizing twice gives the same result (all three configurations are deterministic).
// - Every encrypted span reveals the value it replaced.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#define FA_FUZZ_TARGET "fuzz_sanitize"
#include "fuzz_check.hpp"
#include "fooocus_audit/detail/utf8.hpp"
#include "fooocus_audit/prompt_sanitizer.hpp"

namespace fa = fooocus_audit;

namespace {

fa::PromptSanitizer make(fa::SanitizerConfig c, char fill) {
  auto key = fa::TenantKey::from_bytes(std::string(32, fill));
  auto s = fa::PromptSanitizer::create(std::move(c), std::move(key.value()));
  if (!s) std::abort();
  return std::move(s.value());
}

const fa::PromptSanitizer& labels() {
  static const fa::PromptSanitizer s = make(fa::SanitizerConfig{}, 'a');
  return s;
}

const fa::PromptSanitizer& tokens() {
  static const fa::PromptSanitizer s = [] {
    fa::SanitizerConfig c;
    c.default_mode = fa::ReplacementMode::token;
    c.invalid_utf8 = fa::InvalidUtf8Policy::replace;
    c.custom_patterns.push_back({"ticket", "[A-Z]{2,4}-[0-9]{2,8}", "", std::nullopt, 0.8});
    c.allow.patterns = {"[a-z]+@allowed\\.example"};
    return make(c, 'b');
  }();
  return s;
}

const fa::PromptSanitizer& encrypted() {
  static const fa::PromptSanitizer s = [] {
    fa::SanitizerConfig c;
    c.default_mode = fa::ReplacementMode::encrypt;
    c.invalid_utf8 = fa::InvalidUtf8Policy::replace;
    return make(c, 'c');
  }();
  return s;
}

std::size_t count(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t at = hay.find(needle); at != std::string_view::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

void check(const fa::PromptSanitizer& s, std::string_view input, bool replace, bool reveal) {
  auto r = s.sanitize(input);
  const bool valid = fa::utf8::is_valid(input);
  if (!valid && !replace) {
    CHECK(!r);
    CHECK(r.status().code() == fa::Code::invalid_argument);
    return;
  }
  CHECK(r.ok());
  const fa::SanitizeResult& res = r.value();
  const std::string text = valid ? std::string(input) : fa::utf8::repair(input);
  CHECK(fa::utf8::is_valid(res.text));
  CHECK((res.invalid_utf8_replaced == 0) == valid);

  std::string rebuilt;
  std::size_t at = 0;
  for (const auto& f : res.findings) {
    CHECK(f.begin >= at);
    CHECK(f.begin < f.end);
    CHECK(f.end <= text.size());
    CHECK(fa::utf8::is_boundary(text, f.begin));
    CHECK(fa::utf8::is_boundary(text, f.end));
    CHECK(f.out_begin < f.out_end);
    CHECK(f.out_end <= res.text.size());
    CHECK(res.text[f.out_begin] == '[');
    CHECK(res.text[f.out_end - 1] == ']');
    rebuilt.append(text, at, f.begin - at);
    CHECK(rebuilt.size() == f.out_begin);
    rebuilt.append(res.text, f.out_begin, f.out_end - f.out_begin);
    at = f.end;
    if (reveal && f.mode == fa::ReplacementMode::encrypt) {
      auto plain = s.reveal(std::string_view(res.text).substr(f.out_begin, f.out_end - f.out_begin));
      CHECK(plain.ok());
      CHECK(plain.value() == std::string_view(text).substr(f.begin, f.end - f.begin));
    }
  }
  rebuilt.append(text, at, std::string::npos);
  CHECK(rebuilt == res.text);

  // Raw values: not more often in the output than outside the input's spans.
  std::string outside;
  at = 0;
  for (const auto& f : res.findings) {
    outside.append(text, at, f.begin - at).push_back('\x01');
    at = f.end;
  }
  outside.append(text, at, std::string::npos);
  // The key id stands in every encrypted span, and reveal() compares it, so the fuzzer learns it: a value that
  // equals part of it (or straddles it) is not a leak. It is masked with 0xFF, a byte no value holds (the text
  // is valid UTF-8).
  std::string shown = res.text;
  const std::string& kid = s.key_id();
  if (!kid.empty())
    for (std::size_t k = shown.find(kid); k != std::string::npos; k = shown.find(kid, k + kid.size()))
      shown.replace(k, kid.size(), kid.size(), '\xff');
  for (const auto& f : res.findings) {
    const std::string_view v = std::string_view(text).substr(f.begin, f.end - f.begin);
    if (v.size() < 4) continue;
    CHECK(count(shown, v) <= count(outside, v));
  }

  auto again = s.sanitize(input);
  CHECK(again.ok());
  CHECK(again->to_json() == res.to_json());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check(labels(), input, false, false);
  check(tokens(), input, true, false);
  check(encrypted(), input, true, true);
  return 0;
}
