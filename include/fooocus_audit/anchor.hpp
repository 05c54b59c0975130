// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file anchor.hpp
/// The head of a log kept outside it (docs/log-format.md §5.2), so that deleting the newest records
/// is detected by the verifier.

#include <cstdint>
#include <string>
#include <string_view>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/detail/crypto.hpp"

namespace fooocus_audit {

struct Anchor {
  std::string log_id;
  std::uint64_t seq = 0;  ///< sequence number of the head record
  Hash head{};            ///< chain hash of that record
  std::string ts;         ///< its ts

  /// Canonical JSON text (JCS), one line, no trailing LF.
  std::string to_json() const;
  /// Parses and validates the §5.2 object. Errors are invalid_argument with the reason.
  static Result<Anchor> parse(std::string_view text);
  static Result<Anchor> load(const std::string& path);
  /// Atomically replaces `path` (temporary file, fsync, rename, fsync of the directory), mode 0600.
  Status save(const std::string& path) const;
};

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/anchor-inl.hpp"
#endif
