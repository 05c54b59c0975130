// SPDX-License-Identifier: Apache-2.0
// The C ABI of PromptSanitizer (include/fooocus_audit/fooocus_audit.h, docs/c-api.md §7).

#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "capi_json.hpp"
#include "capi_support.hpp"
#include "fooocus_audit/fooocus_audit.h"
#include "fooocus_audit/prompt_sanitizer.hpp"

namespace fooocus_audit::capi {
namespace {

struct SanitizerImpl {
  PromptSanitizer sanitizer;  // const member functions may run concurrently
};

// Prompts and tokens are passed on as bytes: the sanitizer applies its own UTF-8 policy and size limit.
Status raw_bytes(const char* data, std::size_t len, std::string_view what, std::string_view* out) {
  if (data == nullptr && len != 0) return {Code::invalid_argument, std::string(what) + ": NULL pointer with a length"};
  *out = data == nullptr ? std::string_view() : std::string_view(data, len);
  return Status::OK();
}

}  // namespace
}  // namespace fooocus_audit::capi

namespace fa = fooocus_audit;
using fa::Code;
using fa::Status;
using fa::capi::get;
using fa::capi::Kind;
using fa::capi::SanitizerImpl;

extern "C" {

FA_EXPORT fa_status fa_sanitizer_create(const char* config_json, size_t config_len, fa_sanitizer** out) {
  if (out != nullptr) *out = nullptr;
  return fa::capi::guarded([&]() -> Status {
    if (out == nullptr) return {Code::invalid_argument, "out: NULL out-parameter"};
    nlohmann::json j;
    if (config_json == nullptr && config_len == 0) j = nlohmann::json::object();
    else if (Status s = fa::capi::parse_json_object(config_json, config_len, "config", &j); !s.ok()) return s;
    fa::Result<fa::SanitizerConfig> config = fa::SanitizerConfig::from_json(j);
    if (!config) return {config.status().code(), "config: " + config.status().message()};
    // A path member, as everywhere in the C ABI (docs/c-api.md §2.3): the operating system would cut it at a NUL
    // byte and open another file than the one named.
    if (config->tenant_key_file.find('\0') != std::string::npos)
      return {Code::invalid_argument, "config.tenant_key_file: must not contain a NUL byte"};
    fa::Result<fa::PromptSanitizer> sanitizer = fa::PromptSanitizer::create(std::move(config.value()));
    if (!sanitizer) return sanitizer.status();
    auto impl = std::make_unique<SanitizerImpl>(SanitizerImpl{std::move(sanitizer.value())});
    *out = reinterpret_cast<fa_sanitizer*>(fa::capi::make_shell(Kind::sanitizer, impl.get()));
    impl.release();
    return Status::OK();
  });
}

FA_EXPORT fa_status fa_sanitizer_sanitize(fa_sanitizer* s, const char* text, size_t text_len, char** out_json,
                                          size_t* out_len) {
  return fa::capi::guarded_out(out_json, out_len, [&](std::string& out) -> Status {
    const SanitizerImpl& impl = get<SanitizerImpl>(s, Kind::sanitizer);
    std::string_view prompt;
    if (Status st = fa::capi::raw_bytes(text, text_len, "text", &prompt); !st.ok()) return st;
    fa::Result<fa::SanitizeResult> r = impl.sanitizer.sanitize(prompt);
    if (!r) return r.status();
    out = fa::capi::json_text(r->to_json());
    return Status::OK();
  });
}

FA_EXPORT fa_status fa_sanitizer_prompt_hash(fa_sanitizer* s, const char* text, size_t text_len, char** out,
                                             size_t* out_len) {
  return fa::capi::guarded_out(out, out_len, [&](std::string& result) -> Status {
    const SanitizerImpl& impl = get<SanitizerImpl>(s, Kind::sanitizer);
    std::string_view prompt;
    if (Status st = fa::capi::raw_bytes(text, text_len, "text", &prompt); !st.ok()) return st;
    result = impl.sanitizer.prompt_hash(prompt);
    return Status::OK();
  });
}

FA_EXPORT fa_status fa_sanitizer_reveal(fa_sanitizer* s, const char* token, size_t token_len, char** out,
                                        size_t* out_len) {
  return fa::capi::guarded_out(out, out_len, [&](std::string& result) -> Status {
    const SanitizerImpl& impl = get<SanitizerImpl>(s, Kind::sanitizer);
    std::string_view span;
    if (Status st = fa::capi::raw_bytes(token, token_len, "token", &span); !st.ok()) return st;
    fa::Result<std::string> plain = impl.sanitizer.reveal(span);
    if (!plain) return plain.status();
    result = std::move(plain.value());
    return Status::OK();
  });
}

FA_EXPORT void fa_sanitizer_destroy(fa_sanitizer* s) {
  fa::capi::destroy_handle<SanitizerImpl>(s, Kind::sanitizer, [](SanitizerImpl&) {});
}

}  // extern "C"
