// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file chain_verifier.hpp
/// ChainVerifier: checks a log against docs/log-format.md §8 and pinpoints every problem by sequence
/// number, segment file, byte offset and reason code. Streaming: memory stays flat whatever the log size.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fooocus_audit/anchor.hpp"
#include "fooocus_audit/common.hpp"
#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/signed_note.hpp"

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
  mac_missing,           ///< a record without `mac` in a log that uses MACs (§8.2 step 10)
  mac_epoch,             ///< a record sealed in the wrong MAC epoch for its position (re-sealed with a later key)
  mac_invalid,           ///< the MAC tag does not verify under the epoch key
  checkpoint_invalid,    ///< a log.checkpoint record that is malformed or does not match the records (step 11)
  checkpoint_replayed,   ///< an old checkpoint copied forward (its size is below its position)
  checkpoint_signature,  ///< no valid signature by a trusted key, a bad one, or by a key the log retired
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
  // What was checked (docs/log-format.md §8.3).
  bool uses_macs = false;            ///< the log carries MACs (or the verifier was told to expect them)
  std::uint64_t macs_checked = 0;    ///< tags verified with the key
  std::uint64_t macs_unchecked = 0;  ///< records carrying a `mac` that could not be checked (no key, or an epoch before the key's)
  std::optional<std::uint64_t> mac_first_epoch, mac_last_epoch;  ///< epochs seen
  std::string mac_key_problem;       ///< why a given MAC key could not be used (then MACs count as unchecked)
  std::uint64_t checkpoints = 0;               ///< log.checkpoint records read
  std::uint64_t checkpoints_verified = 0;      ///< ... whose signature verified with a trusted key
  std::uint64_t checkpoints_sig_unchecked = 0; ///< ... signed, but no trusted keys were given
  std::uint64_t checkpoints_unsigned = 0;      ///< ... without a note (the signer was unavailable)
  std::optional<std::uint64_t> last_signed_checkpoint;  ///< size of the newest signed checkpoint record
  std::vector<std::string> signing_keys;       ///< key labels (name+id) of checkpoint signatures verified
  std::uint64_t checkpoint_anchors_checked = 0;  ///< checkpoint anchors compared with the log
  std::uint64_t checkpoint_anchors_unchecked = 0;  ///< anchors a partial or damaged log could not be compared with
  std::uint64_t checkpoint_roots_unchecked = 0;  ///< checkpoint records whose root could not be compared with the
                                                 ///< records (a partial log before its first checkpoint, or
                                                 ///< damage reported earlier)
  bool anchor_checked = false;
  std::vector<Finding> findings;     ///< at most VerifyOptions::max_findings
  std::uint64_t findings_total = 0;  ///< including those not kept
};

/// A record as ChainVerifier hands it to VerifyOptions::on_record. The views point into the verifier's read
/// buffer and are valid only during the call: copy what you keep.
struct VerifiedRecord {
  std::uint64_t seq = 0;
  std::string_view ts;           ///< the record's ts (RFC 3339 UTC, as written)
  std::int64_t ts_micros = 0;    ///< the same, microseconds since the Unix epoch
  std::string_view event_type;   ///< the event's event_type
  std::string_view event;        ///< the exact bytes of the record's `event` member (a JSON object, JCS)
};

struct VerifyOptions {
  std::optional<Anchor> anchor;  ///< detects truncation, rollback and rewriting of the tail
  /// The first record expected. nullopt: 0 (a whole log). A single segment file defaults to its name.
  std::optional<std::uint64_t> start_seq;
  std::size_t max_findings = 1000;
  /// Threads for parsing and hashing (the sequential chain checks stay on the caller's thread).
  /// 0: one per core, at most 4.
  unsigned threads = 0;
  /// Signed checkpoints kept outside the log (§5.2): prove the log extends each of them.
  std::vector<CheckpointAnchor> checkpoint_anchors;
  /// Keys whose checkpoint signatures are trusted (§10.5). Empty: signatures are not checked.
  std::vector<note::VerifierKey> trusted_keys;
  /// The auditor's MAC seed file (or a writer state file: checks from its epoch on). Empty: MACs not checked.
  /// With a key, a log without MACs is reported (mac_missing).
  std::string mac_key_path;
  /// The log id the auditor expects (from provisioning or an earlier audit). Empty: any. A log with another id
  /// is reported (log_id_mismatch at its first record): a compromised writer could start a new log and have
  /// its checkpoints signed, since a signer trusts a new origin on first use (§10.4).
  std::string expected_log_id;
  /// Called on the caller's thread, in log order, for every record that passed its own checks (§8.2 steps 1-5:
  /// a terminated line within the size limit that is canonical JSON with the version-1 record layout), right
  /// after the sequential checks (steps 6-11) have processed it. System records (`log.*` event types:
  /// checkpoints, epoch ends, gaps, key rotations) are delivered too; consumers filter on event_type.
  /// On a damaged log: lines that fail their own checks (torn, too large, bad JSON, not canonical, bad layout,
  /// unknown version) are not delivered; every other record is, in the order the lines appear, whatever later
  /// checks find about it (sequence gaps, duplicates, reordering, timestamp regressions, broken links, bad MACs,
  /// bad checkpoints), including the records after a break. The consumer learns which ranges are not verified
  /// from the findings of the summary (a finding about a record may be added after its delivery: a broken link
  /// is judged by the record that follows). With an intact log the records arrive exactly in seq order 0, 1, ...
  /// The same records in the same order whatever `threads` is. Must not throw: if it does, delivery stops and
  /// verify_path/verify_fd return Code::invalid_argument ("on_record: ..."); see ChainVerifier::hook_status.
  std::function<void(const VerifiedRecord&)> on_record;
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

  /// OK, or why VerifyOptions::on_record stopped being called (it threw). verify_path/verify_fd return it.
  Status hook_status() const;

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
