// SPDX-License-Identifier: Apache-2.0
// Handles, the last error and output buffers of the C ABI (capi_support.hpp).

#include "capi_support.hpp"

#include <mutex>

#include <fmt/format.h>

namespace fooocus_audit::capi {

namespace {

constexpr std::size_t kErrorBytes = 1024;
thread_local char t_error[kErrorBytes] = {0};

/// Destroyed handles, kept so that later use is detected; freed when the process exits (so that a leak
/// checker stays quiet). Each costs sizeof(Shell) bytes until then.
class Graveyard {
 public:
  ~Graveyard() {
    Shell* s = head_;
    while (s != nullptr) {
      Shell* next = s->next_dead;
      delete s;
      s = next;
    }
  }
  void add(Shell* s) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    s->next_dead = head_;
    head_ = s;
  }

 private:
  std::mutex mu_;
  Shell* head_ = nullptr;
};

Graveyard& graveyard() {
  static Graveyard g;
  return g;
}

}  // namespace

std::string_view kind_name(Kind k) noexcept {
  switch (k) {
    case Kind::logger: return "fa_logger";
    case Kind::tracker: return "fa_tracker";
    case Kind::sanitizer: return "fa_sanitizer";
    case Kind::registry: return "fa_registry";
    case Kind::verifier: return "fa_verifier";
  }
  return "unknown";
}

void set_error(std::string_view message) noexcept {
  std::size_t n = message.size() < kErrorBytes - 1 ? message.size() : kErrorBytes - 1;
  if (n < message.size()) {
    // Do not cut a UTF-8 sequence: back up over continuation bytes.
    while (n > 0 && (static_cast<unsigned char>(message[n]) & 0xC0u) == 0x80u) --n;
  }
  std::memcpy(t_error, message.data(), n);
  t_error[n] = '\0';
}

const char* last_error() noexcept { return t_error; }

static_assert(FA_OK == static_cast<int>(Code::ok) && FA_INVALID_ARGUMENT == static_cast<int>(Code::invalid_argument) &&
                  FA_IO_ERROR == static_cast<int>(Code::io_error) && FA_LOCKED == static_cast<int>(Code::locked) &&
                  FA_CORRUPTION == static_cast<int>(Code::corruption) && FA_CLOSED == static_cast<int>(Code::closed) &&
                  FA_DROPPED == static_cast<int>(Code::dropped) && FA_TOO_LARGE == static_cast<int>(Code::too_large) &&
                  FA_NOT_FOUND == static_cast<int>(Code::not_found) && FA_INTERNAL == static_cast<int>(Code::internal),
              "fooocus_audit.h status codes 0..9 are the C++ Code values");

fa_status report(const Status& s) noexcept {
  if (s.ok()) return FA_OK;
  if (s.message().empty()) set_error(code_name(s.code()));
  else set_error(s.message());
  return static_cast<fa_status>(s.code());
}

Shell* make_shell(Kind kind, void* impl) { return new Shell{kLive, kind, impl, nullptr}; }

Status lookup(const void* handle, Kind kind, void** impl) {
  if (handle == nullptr) return {Code::invalid_argument, fmt::format("{}: NULL handle", kind_name(kind))};
  const Shell* s = static_cast<const Shell*>(handle);
  if (s->magic == kDead)
    return {Code::invalid_argument, fmt::format("{}: handle used after it was destroyed", kind_name(kind))};
  if (s->magic != kLive)
    return {Code::invalid_argument, fmt::format("{}: not a handle of this library", kind_name(kind))};
  if (s->kind != kind)
    return {Code::invalid_argument,
            fmt::format("{}: wrong kind of handle ({} given)", kind_name(kind), kind_name(s->kind))};
  *impl = s->impl;
  return Status::OK();
}

void* bury(Shell* shell) noexcept {
  void* impl = shell->impl;
  shell->magic = kDead;
  shell->impl = nullptr;
  graveyard().add(shell);
  return impl;
}

void emit(std::string_view text, char** out, std::size_t* out_len) {
  char* p = static_cast<char*>(std::malloc(text.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  if (!text.empty()) std::memcpy(p, text.data(), text.size());
  p[text.size()] = '\0';
  *out = p;
  *out_len = text.size();
}

std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

}  // namespace fooocus_audit::capi

// ---------------------------------------------------------------------------------------------------------------
// The functions of fooocus_audit.h that belong to no object.

namespace capi = fooocus_audit::capi;

extern "C" {

FA_EXPORT const char* fa_strerror(fa_status code) {
  switch (code) {
    case FA_OK: return "ok";
    case FA_INVALID_ARGUMENT: return "invalid_argument";
    case FA_IO_ERROR: return "io_error";
    case FA_LOCKED: return "locked";
    case FA_CORRUPTION: return "corruption";
    case FA_CLOSED: return "closed";
    case FA_DROPPED: return "dropped";
    case FA_TOO_LARGE: return "too_large";
    case FA_NOT_FOUND: return "not_found";
    case FA_INTERNAL: return "internal";
    case FA_INVALID_HANDLE: return "invalid_handle";
    case FA_NO_MEMORY: return "no_memory";
    default: return "unknown";
  }
}

FA_EXPORT const char* fa_last_error(void) { return capi::last_error(); }

FA_EXPORT const char* fa_version(void) { return FOOOCUS_AUDIT_VERSION_STRING; }

FA_EXPORT int fa_abi_version(void) { return FA_ABI_VERSION; }

FA_EXPORT void fa_free(void* p) { std::free(p); }

}  // extern "C"
