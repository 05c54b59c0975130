// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file anchor.hpp
/// What is kept of a log outside it (docs/log-format.md §5.2) so that the verifier detects deleting,
/// rewriting or forking the newest records: head anchors, signed checkpoint anchors, and anchor files.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

/// A signed checkpoint (§10) kept outside the log. Its note is checked by the verifier, not here.
struct CheckpointAnchor {
  std::string log_id;
  std::string note;  ///< the signed note text (checkpoint body, blank line, signature lines)

  /// Canonical JSON text (JCS), one line, no trailing LF.
  std::string to_json() const;
  /// Parses and validates the §5.2 object (the note only for size and printable text). Errors: invalid_argument.
  static Result<CheckpointAnchor> parse(std::string_view text);
};

/// The anchors of an anchor file (§5.2): one JCS object per line, head or checkpoint anchors, in file order.
struct AnchorSet {
  std::vector<Anchor> heads;
  std::vector<CheckpointAnchor> checkpoints;

  /// Errors (invalid_argument) name the 1-based line. A single object without a final LF is accepted.
  static Result<AnchorSet> parse(std::string_view text);
  static Result<AnchorSet> load(const std::string& path);
};

/// Appends one checkpoint anchor line to `path` (created with mode 0600 if missing; O_APPEND) and fsyncs it
/// (and the directory when the file was created). Safe against concurrent appenders of whole lines.
Status append_checkpoint_anchor(const std::string& path, const CheckpointAnchor& anchor);

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/anchor-inl.hpp"
#endif
