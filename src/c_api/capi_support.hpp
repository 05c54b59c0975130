// SPDX-License-Identifier: Apache-2.0
#pragma once
// Internal to libfooocus_audit_c: handles, the thread-local last error, the exception barrier and output
// buffers shared by the files of src/c_api/ (docs/c-api.md §1).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/fooocus_audit.h"

namespace fooocus_audit::capi {

enum class Kind : std::uint32_t { logger = 1, tracker = 2, sanitizer = 3, registry = 4, verifier = 5 };

/// What every fa_* handle points to. The C types (fa_logger, ...) stay incomplete: a handle is a Shell*.
/// destroy() turns a shell into a tombstone (magic kDead, impl released) that is kept until the process exits,
/// so a handle used after destroy is recognised instead of read as freed memory.
struct Shell {
  std::uint32_t magic;
  Kind kind;
  void* impl;
  Shell* next_dead;  // the graveyard's list
};
inline constexpr std::uint32_t kLive = 0x46414c56u;  // "FALV"
inline constexpr std::uint32_t kDead = 0x46414444u;  // "FADD"

std::string_view kind_name(Kind k) noexcept;

/// Records the message of a failing call for fa_last_error() (truncated to 1 KiB at a UTF-8 boundary).
void set_error(std::string_view message) noexcept;
/// The message fa_last_error() returns.
const char* last_error() noexcept;
/// FA_OK, or the code of s with its message recorded.
fa_status report(const Status& s) noexcept;

/// A new live shell around impl (ownership passes to the shell).
Shell* make_shell(Kind kind, void* impl);
/// The impl of a live handle of `kind`; else invalid_handle status (NULL, wrong kind, destroyed, foreign).
Status lookup(const void* handle, Kind kind, void** impl);
/// Marks a live shell dead and keeps it in the graveyard; returns its impl for the caller to delete.
void* bury(Shell* shell) noexcept;

/// The status FA_INVALID_HANDLE travels as inside the library: a Status cannot carry codes above 9.
struct InvalidHandle {
  std::string message;
};

/// Runs f (returning Status) behind the exception barrier: no exception leaves it.
template <typename F>
fa_status guarded(F&& f) noexcept {
  try {
    return report(f());
  } catch (const InvalidHandle& e) {
    set_error(e.message);
    return FA_INVALID_HANDLE;
  } catch (const std::bad_alloc&) {
    set_error("out of memory");
    return FA_NO_MEMORY;
  } catch (...) {
    set_error("internal error: an unexpected C++ exception (please report it)");
    return FA_INTERNAL;
  }
}

/// The impl of a live handle, or throws InvalidHandle (inside guarded()).
template <typename Impl>
Impl& get(const void* handle, Kind kind) {
  void* impl = nullptr;
  Status s = lookup(handle, kind, &impl);
  if (!s.ok()) throw InvalidHandle{s.message()};
  return *static_cast<Impl*>(impl);
}

/// Copies text into a malloc'ed, NUL-terminated buffer (throws std::bad_alloc).
void emit(std::string_view text, char** out, std::size_t* out_len);
/// JSON text of a result (invalid UTF-8 from the file system is replaced by U+FFFD, never an exception).
std::string json_text(const nlohmann::json& j);

/// For functions returning a buffer: clears the out-parameters, refuses NULL ones, runs f(std::string&) behind
/// the barrier and hands the string over through emit().
template <typename F>
fa_status guarded_out(char** out, std::size_t* out_len, F&& f) noexcept {
  if (out != nullptr) *out = nullptr;
  if (out_len != nullptr) *out_len = 0;
  return guarded([&]() -> Status {
    if (out == nullptr || out_len == nullptr)
      return {Code::invalid_argument, out == nullptr ? "out: NULL out-parameter" : "out_len: NULL out-parameter"};
    std::string result;
    Status s = f(result);
    if (!s.ok()) return s;
    emit(result, out, out_len);
    return Status::OK();
  });
}

/// Destroys a handle of `kind` behind the barrier: NULL is allowed, anything else that is not a live handle of
/// that kind is left alone (and recorded for fa_last_error()).
template <typename Impl, typename Before>
void destroy_handle(void* handle, Kind kind, Before&& before) noexcept {
  if (handle == nullptr) return;
  (void)guarded([&]() -> Status {
    Impl& impl = get<Impl>(handle, kind);
    before(impl);
    delete static_cast<Impl*>(bury(static_cast<Shell*>(handle)));
    return Status::OK();
  });
}

}  // namespace fooocus_audit::capi
