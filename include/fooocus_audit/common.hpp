// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file common.hpp
/// Build-mode switch, version and the Status / Result types used by every public API.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

// Header-only vs compiled mode (the spdlog pattern): the compiled target defines
// FOOOCUS_AUDIT_COMPILED_LIB publicly; headers then leave definitions to src/.
#ifdef FOOOCUS_AUDIT_COMPILED_LIB
#define FA_INLINE
#else
#define FA_INLINE inline
#define FOOOCUS_AUDIT_HEADER_ONLY 1
#endif

#define FOOOCUS_AUDIT_VERSION_MAJOR 0
#define FOOOCUS_AUDIT_VERSION_MINOR 1
#define FOOOCUS_AUDIT_VERSION_PATCH 0
#define FOOOCUS_AUDIT_VERSION_STRING "0.1.0"

namespace fooocus_audit {

/// Error codes. The numeric values are part of the ABI and never change.
enum class Code : int {
  ok = 0,
  invalid_argument = 1,  ///< bad input from the caller (malformed event, bad option)
  io_error = 2,          ///< the operating system refused a read/write/fsync (errno in message)
  locked = 3,            ///< another writer holds the log directory
  corruption = 4,        ///< on-disk data is not a valid log where the writer must resume
  closed = 5,            ///< the logger was closed
  dropped = 6,           ///< lossy overflow policy: the event was not accepted (a gap record follows)
  too_large = 7,         ///< event exceeds the configured maximum record size
  not_found = 8,         ///< file or directory does not exist
  internal = 9,          ///< a bug: please report it
};

/// Human-readable name of a code ("io_error", ...).
constexpr std::string_view code_name(Code c) noexcept {
  switch (c) {
    case Code::ok: return "ok";
    case Code::invalid_argument: return "invalid_argument";
    case Code::io_error: return "io_error";
    case Code::locked: return "locked";
    case Code::corruption: return "corruption";
    case Code::closed: return "closed";
    case Code::dropped: return "dropped";
    case Code::too_large: return "too_large";
    case Code::not_found: return "not_found";
    case Code::internal: return "internal";
  }
  return "unknown";
}

/// Outcome of an operation: a code and, when not ok, a message that never contains secrets.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status OK() { return {}; }

  bool ok() const noexcept { return code_ == Code::ok; }
  explicit operator bool() const noexcept { return ok(); }
  Code code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  /// "io_error: write segment-...: No space left on device"
  std::string to_string() const {
    if (ok()) return "ok";
    std::string s(code_name(code_));
    if (!message_.empty()) s.append(": ").append(message_);
    return s;
  }

 private:
  Code code_ = Code::ok;
  std::string message_;
};

/// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}     // NOLINT(google-explicit-constructor)
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  Status status() const { return ok() ? Status::OK() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace fooocus_audit
