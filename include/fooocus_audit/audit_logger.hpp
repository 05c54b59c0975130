// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file audit_logger.hpp
/// AuditLogger: the writer of a tamper-evident log (docs/log-format.md). Any number of threads call
/// log(); one writer thread seals records (seq, ts, prev, chain hash) in order and appends them to
/// segment files.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "fooocus_audit/anchor.hpp"
#include "fooocus_audit/common.hpp"
#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/detail/segment_store.hpp"
#include "fooocus_audit/generation_event.hpp"
#include "fooocus_audit/mac_key.hpp"
#include "fooocus_audit/merkle.hpp"
#include "fooocus_audit/secret_guard.hpp"
#include "fooocus_audit/monitor.hpp"
#include "fooocus_audit/signer.hpp"

namespace fooocus_audit {

/// What `flush()` waits for. docs/log-format.md §7.1 states exactly what survives a crash under each.
enum class Durability {
  none,          ///< write(2) to the OS: survives a process crash, not a power loss
  group_commit,  ///< fdatasync at most once per interval, shared by all flushers
  always,        ///< fdatasync on every flush()
};

/// What log() does when the queue is full.
enum class OverflowPolicy {
  block,                ///< wait for room (default: an audit log never drops silently)
  drop_and_record_gap,  ///< return Code::dropped; the writer seals a log.gap record with the count
};

struct LoggerOptions {
  std::string dir;  ///< log directory; created (0700) if missing, its parent must exist
  Durability durability = Durability::group_commit;
  std::chrono::milliseconds group_commit_interval{10};
  std::size_t queue_capacity = 65536;  ///< events between callers and the writer
  OverflowPolicy overflow = OverflowPolicy::block;
  std::uint64_t max_segment_bytes = 64ull << 20;
  std::chrono::seconds max_segment_age{3600};
  std::size_t max_event_bytes = 1u << 20;  ///< canonical event size limit (at most 16 MiB - 1 KiB)
  mode_t file_mode = 0600;  ///< segments and lock file: 0600, 0640 or 0644 (open() refuses any other mode)
  /// Called from the writer thread when a write or sync fails (and again when it recovers, with ok),
  /// before flush() and log() report that change; also when a checkpoint cannot be signed or appended to
  /// the anchor file (logging goes on). It must not call back into the logger.
  std::function<void(const Status&)> on_error;
  /// If set, the anchor of the last durable record is saved here after every successful flush() and at
  /// close(). Keep it outside the log directory, ideally on another host.
  std::string anchor_path;
  /// Clock in microseconds since the Unix epoch (UTC); tests inject one. Default: CLOCK_REALTIME.
  std::function<std::int64_t()> clock_micros;

  // Forward-secure MACs (docs/log-format.md §9).
  /// The MAC key file: the seed from `fooocus-audit keygen` when the log is created (converted in place into
  /// the writer's evolving state, so keep the auditor's copy first), the writer's state file afterwards.
  /// Empty: no MACs. A log is created with or without MACs and keeps that for its whole life.
  std::string mac_key_path;
  std::uint64_t mac_epoch_records = 100000;             ///< records per MAC epoch, at most
  std::chrono::milliseconds mac_epoch_interval{60000};  ///< epoch length, at most; idle epochs are sealed too

  // Signed checkpoints (docs/log-format.md §10).
  /// Signs checkpoints (LocalSigner in process, RemoteSigner in another process). Null: no checkpoints. The
  /// writer thread calls it; a signing error is reported through on_error and the checkpoint is written
  /// unsigned (still a resume point), so a signer outage never stops logging.
  std::shared_ptr<CheckpointSigner> signer;
  std::uint64_t checkpoint_records = 10000;              ///< records between checkpoints, at most
  std::chrono::milliseconds checkpoint_interval{60000};  ///< time between checkpoints when records arrived
  /// Anchor file (§5.2) to which every signed checkpoint is appended once the records it covers are durable.
  /// Keep it outside the log directory, ideally on another host.
  std::string checkpoint_anchor_path;
  /// Called from the writer thread with every signed checkpoint once the records it covers are durable
  /// (ship it to a witness or another host). It must not call back into the logger.
  std::function<void(const CheckpointAnchor&)> on_checkpoint;

  // Monitoring (docs/monitoring.md).
  /// Rules evaluated as events are logged. log() extracts the few fields the rules need on the caller's thread;
  /// the writer feeds each sealed record (its seq and ts, in log order) to the monitor and seals every alert
  /// it raises as an alert.raised record right after it (chained, MACed and checkpointed like any record;
  /// alert records are not fed back). open() resets the monitor: its state lives for one writer session, as
  /// Monitor::replay assumes. Null: no monitoring (no cost).
  std::shared_ptr<Monitor> monitor;
  /// Called from the writer thread with each alert.raised event once its record is written (write(2)
  /// returned), in log order. It must not call back into the logger.
  std::function<void(const nlohmann::json& alert)> on_alert;

  /// The secret guard (docs/privacy.md §4): after validation, log() replaces every secret the detectors find
  /// in any string of the event (member names included) by "[<TYPE>_REDACTED]" before it is canonicalized and
  /// sealed, so a key pasted into a user agent or an error message never reaches disk. On by default; events
  /// without a trigger are not copied. A redacted event must still validate, else log() refuses it
  /// (invalid_argument) without logging the secret.
  GuardOptions secret_guard;
};

struct LoggerStats {
  std::uint64_t accepted = 0;      ///< events accepted by log()
  std::uint64_t written = 0;       ///< accepted events written to the segment (write(2) returned)
  std::uint64_t durable = 0;       ///< accepted events covered by the durability policy
  std::uint64_t dropped = 0;       ///< events refused with Code::dropped (lossy policy only)
  std::uint64_t records = 0;       ///< records sealed so far, system records included
  std::uint64_t write_errors = 0;  ///< failed write/sync attempts
  std::uint64_t mac_epoch = 0;     ///< current MAC epoch (0 without MACs)
  std::uint64_t checkpoints = 0;   ///< signed checkpoints written by this logger
  std::uint64_t checkpoints_unsigned = 0;  ///< checkpoints written without a signature (signer failed)
  std::uint64_t secrets_redacted = 0;  ///< secrets the guard replaced in accepted events (LoggerOptions::secret_guard)
};

/// What open() found and quarantined (also written to the log as log.recovered).
struct RecoveryNote {
  std::string segment;
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
  std::string sha256;      ///< hex SHA-256 of the quarantined bytes
  std::string quarantine;  ///< relative to the log directory
  std::string reason;      ///< "torn_record" or "invalid_record"
  /// The bytes were quarantined by an earlier open that stopped before its log.recovered was durable.
  bool interrupted = false;
};

/// Thread safety: log(), flush(), head(), stats() and close() may be called from any thread concurrently;
/// calls made while or after close() runs return Code::closed (a flush() already waiting returns ok if
/// close() made its events durable). The destructor must not race with any other call.
class AuditLogger {
 public:
  /// Opens or creates the log in options.dir: takes the directory lock (Code::locked if another writer
  /// holds it), recovers a torn tail (§6.3), writes log.opened (then log.recovered for each quarantined
  /// tail), syncs them and starts the writer thread. Errors: invalid_argument (options), locked,
  /// corruption (damage that is not a torn tail; nothing is modified), io_error, not_found.
  static Result<std::unique_ptr<AuditLogger>> open(LoggerOptions options);

  ~AuditLogger();
  AuditLogger(const AuditLogger&) = delete;
  AuditLogger& operator=(const AuditLogger&) = delete;

  /// Queues an event (a JSON object with a valid, non-"log." event_type, nested at most 63 levels so
  /// that its record stays within the format's 64). Canonicalizes it on the calling thread. Errors:
  /// invalid_argument (names the field), too_large, io_error (the writer is failing; nothing was
  /// queued), dropped (lossy policy), closed.
  Status log(const nlohmann::json& event);
  /// Fast path for the library's own generation event: no JSON tree is built.
  Status log(const GenerationEvent& event);

  /// Returns when every event accepted before the call is written under the durability policy, or the
  /// reason it is not (the writer's current error).
  Status flush();

  /// Drains the queue, writes and fdatasyncs everything (whatever the durability policy), saves the
  /// anchor, stops the writer, releases the lock. Returns an io_error naming the number of accepted
  /// events that could not be written, or the sync error that left their durability unknown.
  /// Idempotent: later calls return ok.
  Status close();

  /// The anchor of the last durable record.
  Anchor head() const;
  LoggerStats stats() const;
  const std::string& log_id() const noexcept { return log_id_; }
  const std::string& dir() const noexcept { return options_.dir; }
  const std::vector<RecoveryNote>& recovered() const noexcept { return recovered_; }

 private:
  explicit AuditLogger(LoggerOptions options);
  Status recover_and_open();
  /// A record head (record::kRecordHeadOpen + event + head close) with SHA-256 already run over 0x00 || head
  /// on the caller's thread; the writer appends the tail and finishes the chain hash.
  struct Sealable {
    std::string head;
    std::optional<detail::Sha256> hash;  // the running hash of 0x00 || head, when the caller computed it
    MonitorInput monitor;                // what the monitor needs of the event (empty without a monitor)
  };
  Sealable make_sealable(std::string&& head_with_event, bool hash_now) const;
  /// Both log() overloads after validation: canonical bytes, the secret guard, the monitor's input, enqueue.
  template <typename Event>
  Status log_validated(const Event& event);
  Status enqueue(std::string&& head_with_event, std::size_t event_bytes, MonitorInput monitor = {});
  void run();
  void seal(Sealable& record, bool is_event);
  void seal_system(const nlohmann::json& event);
  void monitor_sealed(const Sealable& record);  // feeds a just-sealed event record to the monitor
  void deliver_alerts();                       // hands written alerts to on_alert
  Anchor sealed_head() const;
  Status write_buffer();
  Status sync_segment();
  Status maybe_rotate(std::size_t next_line_bytes);
  void report(const Status& s);
  Status save_anchor();
  std::int64_t now_micros() const;
  struct ResumeInfo;  // what open() learned from the newest segment
  Status setup_keys(bool created, ResumeInfo& info);
  Status end_epoch();
  Status make_checkpoint();
  /// Epoch ends and checkpoints that are due (by count, by time, or because the writer stops).
  Status periodic(bool stopping);
  std::chrono::steady_clock::time_point next_deadline() const;
  bool deadline_passed() const;

  LoggerOptions options_;
  detail::DirLock lock_;
  std::string log_id_;
  std::vector<RecoveryNote> recovered_;

  // Writer-thread state (touched only by the writer, or by open() before the thread starts).
  detail::SegmentFile segment_;
  std::chrono::steady_clock::time_point segment_opened_{};
  std::string buf_;                 // sealed lines not yet written
  std::uint64_t next_seq_ = 0;
  Hash prev_{};
  std::int64_t last_ts_ = 0;
  std::string last_ts_text_;
  std::uint64_t buf_items_ = 0;     // accepted events inside buf_
  std::uint64_t written_items_ = 0, synced_items_ = 0;  // accepted events written / fdatasynced
  Anchor written_head_, synced_head_;
  std::chrono::steady_clock::time_point last_sync_{};
  bool dirty_ = false;              // written but not synced
  std::string tail_;                // scratch: the part of a record after its log_id
  detail::Sha256 unmac_hash_;       // scratch: digest of the record without its mac (§9.1)
  detail::Sha256 writer_hash_;      // scratch: the chain hash of a record the caller did not hash

  // MACs (writer thread).
  std::optional<mac::WriterState> mac_;
  std::uint64_t epoch_records_ = 0;  // records sealed in the current epoch
  std::chrono::steady_clock::time_point epoch_started_{};

  // Merkle tree and checkpoints (writer thread; only with a signer).
  bool track_tree_ = false;
  merkle::Frontier frontier_;
  std::string cp_origin_;
  std::uint64_t cp_base_size_ = 0;       // the tree the signer last signed (as far as this writer knows)
  std::vector<Hash> cp_base_frontier_;
  std::vector<Hash> cp_leaves_;          // leaf hashes since cp_base_size_
  std::uint64_t cp_next_after_ = 0;      // next_seq_ right after the last checkpoint record
  std::chrono::steady_clock::time_point cp_started_{};
  std::uint64_t checkpoints_ = 0, checkpoints_unsigned_ = 0;

  // Monitoring (writer thread).
  std::vector<nlohmann::json> alerts_unwritten_;  // sealed alert events waiting for write(2), for on_alert

  // Shared state, guarded by mu_.
  mutable std::mutex mu_;
  std::condition_variable writer_cv_, space_cv_, flush_cv_;
  std::vector<Sealable> queue_;
  std::vector<std::string> spare_heads_;  // emptied record buffers from the writer, for the producers' next events
  std::uint64_t accepted_ = 0, written_ = 0, durable_ = 0, dropped_ = 0, dropped_pending_ = 0;
  std::uint64_t flush_target_ = 0, records_ = 0, write_errors_ = 0;
  std::uint64_t mac_epoch_ = 0, checkpoints_pub_ = 0, checkpoints_unsigned_pub_ = 0;  // published by the writer
  std::uint64_t secrets_redacted_ = 0;  // LoggerStats::secrets_redacted
  Anchor durable_head_;
  Status error_;        // current write error (retried) ...
  bool fatal_ = false;  // ... or a sync error (not retried: durability unknown)
  bool stop_ = false, closed_ = false;
  bool writer_idle_ = false;                            // the writer waits with an empty queue
  std::atomic<std::size_t> queue_depth_{0};             // queue_.size(), readable without mu_ (a hint)
  std::chrono::steady_clock::time_point queue_since_{};  // when the oldest queued record was accepted
  std::thread writer_;
  std::mutex close_mu_;   // serializes close()
  std::mutex anchor_mu_;  // serializes anchor saves; taken before mu_
  bool anchor_saved_ = false;
  std::uint64_t anchor_saved_seq_ = 0;
};

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/audit_logger-inl.hpp"
#endif
