// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file chain_verifier.hpp
/// ChainVerifier: checks a log against docs/log-format.md §8 and pinpoints every problem by sequence
/// number, segment file, byte offset and reason code. Streaming: memory stays flat whatever the log size.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fooocus_audit/anchor.hpp"
#include "fooocus_audit/common.hpp"
#include "fooocus_audit/detail/crypto.hpp"

namespace fooocus_audit {

/// Reason codes of docs/log-format.md §8.2. Stable names (reason_name) appear in JSON output.
enum class Reason {
  torn_record,
  record_too_large,
  bad_json,
  non_canonical,
  bad_record,
  unknown_version,
  log_id_mismatch,
  sequence_gap,
  missing_segment,
  sequence_duplicate,
  sequence_reorder,
  segment_name_mismatch,
  timestamp_regression,
  genesis_mismatch,
  hash_mismatch,
  broken_link,
  anchor_mismatch,
  truncated_tail,
};

std::string_view reason_name(Reason r) noexcept;

struct Finding {
  Reason reason{};
  std::optional<std::uint64_t> seq;  ///< the record concerned (for gaps: the first missing one)
  bool seq_inferred = false;         ///< seq was inferred from the neighbours (the line itself is unreadable)
  std::uint64_t count = 1;           ///< records concerned (gaps)
  std::string segment;               ///< segment file name ("-" for a stream)
  std::uint64_t offset = 0;          ///< byte offset of the line in that segment
  std::string detail;                ///< human-readable explanation
};

struct VerifySummary {
  bool intact = false;
  std::uint64_t records = 0;  ///< valid records read
  std::uint64_t lines = 0;    ///< lines read, valid or not
  std::uint64_t bytes = 0;
  std::uint64_t segments = 0;
  std::string log_id;
  std::optional<std::uint64_t> first_seq, last_seq;
  std::string first_ts, last_ts;
  std::optional<Hash> head;         ///< chain hash of the last record read
  std::optional<Hash> merkle_root;  ///< RFC 6962 root, when the records read are exactly 0..tree_size-1
  std::uint64_t tree_size = 0;
  std::uint64_t macs_unchecked = 0;  ///< records carrying a `mac` (keyed-MAC checks are a later feature)
  bool anchor_checked = false;
  std::vector<Finding> findings;     ///< at most VerifyOptions::max_findings
  std::uint64_t findings_total = 0;  ///< including those not kept
};

struct VerifyOptions {
  std::optional<Anchor> anchor;  ///< detects truncation, rollback and rewriting of the tail
  /// The first record expected. nullopt: 0 (a whole log). A single segment file defaults to its name.
  std::optional<std::uint64_t> start_seq;
  std::size_t max_findings = 1000;
  /// Threads for parsing and hashing (the sequential chain checks stay on the caller's thread).
  /// 0: one per core, at most 4.
  unsigned threads = 0;
};

/// Single-use streaming verifier. Feed segments in order (begin_segment, feed*, end_segment), then finish().
/// verify_path() and verify_fd() do all of it. Not thread-safe; one verifier per log.
class ChainVerifier {
 public:
  explicit ChainVerifier(VerifyOptions options = {});
  ~ChainVerifier();
  ChainVerifier(const ChainVerifier&) = delete;
  ChainVerifier& operator=(const ChainVerifier&) = delete;

  /// A log directory (all segments in order) or one segment file. Errors (not findings): not_found,
  /// io_error, invalid_argument (a directory without segments is an empty log, not an error).
  Result<VerifySummary> verify_path(const std::string& path);
  /// A stream of lines, e.g. standard input (fd 0). `name` labels findings.
  Result<VerifySummary> verify_fd(int fd, const std::string& name = "-");

  /// Streaming interface. `first_seq_from_name`: what the file name says (checked against its first record).
  void begin_segment(const std::string& name, std::optional<std::uint64_t> first_seq_from_name);
  void feed(std::string_view bytes);
  void end_segment();
  VerifySummary finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Human-readable report ("OK: 1234 records ..." or one line per finding).
std::string format_summary_text(const VerifySummary& s);
/// JSON report: {"intact":..,"records":..,"findings":[{"reason":..,"seq":..,"segment":..,"offset":..,"detail":..}],...}
std::string format_summary_json(const VerifySummary& s);

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/chain_verifier-inl.hpp"
#endif
