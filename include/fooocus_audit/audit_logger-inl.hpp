// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/audit_logger.hpp"
#endif

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>

#include "fooocus_audit/events.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/record.hpp"
#include "fooocus_audit/signed_note.hpp"

namespace fooocus_audit {

namespace logger_impl {

// The secret guard (docs/privacy.md §4) for either kind of event: a redacted copy in `guarded` only when
// something was redacted; the copy must still validate. Called once guard_may_redact_canonical has said yes
// (§4.5: then guard_may_redact says yes too) or when the event has no canonical form, so it does not run the
// prefilter again.
template <typename Event>
Status apply_guard(const Event& event, const GuardOptions& options, std::optional<Event>& guarded,
                   std::size_t& redacted) {
  if (!options.enabled || (options.detectors & detect::kSecretDetectors) == 0) return Status::OK();
  guarded.emplace(event);
  redacted = guard_redact(*guarded, options);
  if (redacted == 0) {
    guarded.reset();
    return Status::OK();
  }
  if (Status s = events::validate_event(*guarded); !s)
    return {Code::invalid_argument,
            fmt::format("secret guard: the event no longer validates once its secrets are redacted ({}); "
                        "event refused", s.message())};
  return Status::OK();
}

// Bytes a record adds around its event: {"event":...,"log_id":"<32>","prev":"<64>","seq":<16>,"ts":"<27>","v":1}\n
constexpr std::size_t kRecordOverhead = 200;
// The writer passes sealed lines to write(2) in chunks of about this size.
constexpr std::size_t kWriteChunk = 1u << 20;
// The writer is woken when the queue reaches kWakeBatch records (or the queue capacity, if smaller), or when
// the first record has waited kGatherDelay; flush(), close() and a full queue wake it at once. A producer that
// is slower than the writer thus costs one wake-up per batch, not one futex wake and one write(2) per event.
constexpr std::size_t kWakeBatch = 64;
constexpr std::chrono::microseconds kGatherDelay{1000};
// Record buffers go back from the writer to the producers (AuditLogger::spare_heads_, then one per thread in
// spare_head()), so that a record costs no allocation on the caller's thread and no cross-thread free. At most
// this many wait, each of at most this capacity.
constexpr std::size_t kSpareHeads = 2 * kWakeBatch;
constexpr std::size_t kSpareHeadMaxCapacity = 16 * 1024;
// Room for a typical event's record (the seed article's event takes about 1,450 bytes).
constexpr std::size_t kHeadReserve = 1536;

/// This thread's buffer for its next record: enqueue() refills it from AuditLogger::spare_heads_, log() takes it.
inline std::string& spare_head() {
  thread_local std::string spare;
  return spare;
}
inline std::string take_spare_head() {
  std::string s;
  s.swap(spare_head());
  s.clear();
  s.reserve(kHeadReserve);
  return s;
}

inline std::int64_t realtime_micros() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

inline const char* durability_name(Durability d) noexcept {
  switch (d) {
    case Durability::none: return "none";
    case Durability::group_commit: return "group_commit";
    case Durability::always: return "always";
  }
  return "unknown";
}

// Reads the last line (without its LF) of a completed segment. A completed segment ends with LF.
inline Result<std::string> read_last_line(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return detail::errno_status(fmt::format("open {}", path), errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return detail::errno_status(fmt::format("stat {}", path), err);
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::string tail;
  std::uint64_t pos = size;
  constexpr std::uint64_t kChunk = 64 * 1024;
  for (;;) {
    const std::uint64_t n = std::min(kChunk, pos);
    pos -= n;
    std::string chunk(n, '\0');
    if (::pread(fd, chunk.data(), n, static_cast<off_t>(pos)) != static_cast<ssize_t>(n)) {
      const int err = errno;
      ::close(fd);
      return detail::errno_status(fmt::format("read {}", path), err);
    }
    tail.insert(0, chunk);
    if (!tail.empty() && tail.back() != '\n') {
      ::close(fd);
      return Status(Code::corruption, fmt::format("{} does not end with a complete record", path));
    }
    const auto nl = tail.size() >= 2 ? tail.rfind('\n', tail.size() - 2) : std::string::npos;
    if (nl != std::string::npos || pos == 0 || tail.size() > record::kMaxRecordBytes + 1) {
      ::close(fd);
      if (tail.empty()) return Status(Code::corruption, fmt::format("{} is empty but is not the newest segment", path));
      const std::size_t start = nl == std::string::npos ? 0 : nl + 1;
      return tail.substr(start, tail.size() - 1 - start);
    }
  }
}

// Records nest their event one level down, so an event may use one level less than the format's 64.
constexpr std::size_t kMaxEventDepth = jcs::default_max_depth - 1;

// True when v nests containers more than `limit` levels deep (v itself is level 1).
inline bool nests_deeper_than(const nlohmann::json& v, std::size_t limit) {
  if (!v.is_structured()) return false;
  if (limit == 0) return true;
  for (const auto& child : v)
    if (nests_deeper_than(child, limit - 1)) return true;
  return false;
}

// Leaf hashes of every line of a completed segment (the records a verifier would read). Used once, when a
// writer with a signer resumes a log whose newest segment holds no checkpoint to start the tree from.
inline Status append_segment_leaves(const std::string& path, merkle::Frontier& frontier) {
  Result<std::string> data = detail::read_file(path);
  if (!data) return data.status();
  std::string_view d = data.value();
  while (!d.empty()) {
    const std::size_t nl = d.find('\n');
    if (nl == std::string_view::npos) return Status(Code::corruption, fmt::format("{} ends inside a record", path));
    frontier.append(record::chain_hash(d.substr(0, nl)));
    d.remove_prefix(nl + 1);
  }
  return {};
}

inline std::string key_hash_name(const note::VerifierKey& k) { return note::key_label(k.name, k.id); }

// What a writer needs of a log.checkpoint record: its size (= its seq), frontier and first signer.
struct CheckpointSeen {
  std::uint64_t size = 0;
  std::vector<Hash> frontier;
  std::string signer;  // "name+hexid" of the note's first signature; empty when unsigned
};

inline std::optional<CheckpointSeen> read_checkpoint_event(std::string_view event, std::uint64_t seq) {
  const nlohmann::json ev = nlohmann::json::parse(event, nullptr, /*allow_exceptions=*/false);
  if (!ev.is_object() || !ev.contains("size") || !ev["size"].is_number_unsigned() || !ev.contains("frontier") ||
      !ev["frontier"].is_array() || ev["size"].get<std::uint64_t>() != seq)
    return std::nullopt;
  CheckpointSeen c;
  c.size = seq;
  for (const auto& n : ev["frontier"]) {
    Hash h{};
    if (!n.is_string() || !detail::parse_hash_hex(n.get<std::string>(), &h)) return std::nullopt;
    c.frontier.push_back(h);
  }
  if (ev.contains("note") && ev["note"].is_string()) {
    Result<note::Note> n = note::parse_note(ev["note"].get<std::string>());
    if (n && !n->signatures.empty()) c.signer = note::key_label(n->signatures.front().name, n->signatures.front().id);
  }
  return c;
}

// The newest signed checkpoint in the segments before the one starting at `before_seq`, looking back over at
// most `max_records` records, with the leaf hashes of every record from it up to `before_seq`.
struct SignedResume {
  CheckpointSeen checkpoint;
  std::vector<Hash> leaves_from;  // leaves checkpoint.size .. before_seq-1
};

inline Result<std::optional<SignedResume>> find_signed_checkpoint(const std::vector<detail::SegmentInfo>& segs,
                                                                  std::uint64_t before_seq, std::size_t max_records) {
  std::vector<Hash> later;  // leaves of the segments already looked at (after the current one), in order
  for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
    if (it->first_seq >= before_seq) continue;
    Result<std::string> data = detail::read_file(it->path);
    if (!data) return data.status();
    std::vector<std::string_view> lines;
    std::string_view d = data.value();
    while (!d.empty()) {
      const std::size_t nl = d.find('\n');
      if (nl == std::string_view::npos) break;
      lines.push_back(d.substr(0, nl));
      d.remove_prefix(nl + 1);
    }
    std::vector<Hash> leaves;
    leaves.reserve(lines.size());
    for (std::string_view l : lines) leaves.push_back(record::chain_hash(l));
    for (std::size_t i = lines.size(); i-- > 0;) {
      record::View v;
      if (!record::parse(lines[i], &v) || v.event_type != "log.checkpoint") continue;
      std::optional<CheckpointSeen> c = read_checkpoint_event(v.event, v.seq);
      if (!c || c->signer.empty()) continue;
      SignedResume r{std::move(*c), {}};
      r.leaves_from.assign(leaves.begin() + static_cast<std::ptrdiff_t>(i), leaves.end());
      r.leaves_from.insert(r.leaves_from.end(), later.begin(), later.end());
      return std::optional<SignedResume>(std::move(r));
    }
    leaves.insert(leaves.end(), later.begin(), later.end());
    later = std::move(leaves);
    if (later.size() > max_records) break;
  }
  return std::optional<SignedResume>();
}

// A hard cap on the leaf hashes kept for a signer that keeps failing (32 bytes each).
constexpr std::size_t kMaxPendingLeaves = std::size_t{1} << 22;

}  // namespace logger_impl

// What open() learned from the newest segment (and the last record of the one before).
struct AuditLogger::ResumeInfo {
  bool have_last = false;  // a record was read
  bool last_has_mac = false;
  std::uint64_t last_epoch = 0;
  bool last_is_epoch_end = false;
  std::uint64_t epoch_records = 0;  // records of last_epoch seen in the newest segment
  std::uint64_t open_seq = 0;       // first seq of the newest segment
  std::vector<Hash> leaves;         // chain hashes of the newest segment's records, in order
  bool have_checkpoint = false;     // the newest segment holds a log.checkpoint record ...
  std::uint64_t cp_size = 0;        // ... of this size,
  std::vector<Hash> cp_frontier;    // ... this frontier,
  std::string cp_signer;            // ... signed by this key ("name+hexid"; empty when unsigned)
  std::optional<logger_impl::CheckpointSeen> last_signed;  // the newest signed checkpoint in the newest segment
  std::size_t segments = 0;
};

FA_INLINE AuditLogger::AuditLogger(LoggerOptions options) : options_(std::move(options)) {}

FA_INLINE AuditLogger::~AuditLogger() { (void)close(); }

FA_INLINE Result<std::unique_ptr<AuditLogger>> AuditLogger::open(LoggerOptions options) {
  auto bad = [](std::string why) { return Status(Code::invalid_argument, std::move(why)); };
  if (options.dir.empty()) return bad("LoggerOptions.dir is empty");
  while (options.dir.size() > 1 && options.dir.back() == '/') options.dir.pop_back();
  if (options.queue_capacity == 0) return bad("LoggerOptions.queue_capacity must be at least 1");
  if (options.max_event_bytes == 0 || options.max_event_bytes > record::kMaxRecordBytes - 1024)
    return bad("LoggerOptions.max_event_bytes must be between 1 and 16 MiB - 1 KiB");
  if (options.max_segment_bytes < 4096) return bad("LoggerOptions.max_segment_bytes must be at least 4096");
  if (options.group_commit_interval.count() < 0) return bad("LoggerOptions.group_commit_interval is negative");
  if (options.max_segment_age.count() <= 0) return bad("LoggerOptions.max_segment_age must be positive");
  // The writer needs to read and write its files; nobody else may write them (or get setuid/sticky bits).
  if ((options.file_mode & 0600) != 0600 || (options.file_mode & ~mode_t{0644}) != 0)
    return bad(fmt::format("LoggerOptions.file_mode {:04o}: must be 0600, 0640 or 0644 (owner read-write; group and "
                           "others at most read)",
                           static_cast<unsigned>(options.file_mode)));

  std::unique_ptr<AuditLogger> lg(new AuditLogger(std::move(options)));
  if (lg->options_.monitor) lg->options_.monitor->reset();  // one writer session, as Monitor::replay assumes
  if (Status s = lg->recover_and_open(); !s) return s;
  lg->writer_ = std::thread([p = lg.get()] { p->run(); });
  return lg;
}

FA_INLINE std::int64_t AuditLogger::now_micros() const {
  return options_.clock_micros ? options_.clock_micros() : logger_impl::realtime_micros();
}

FA_INLINE Status AuditLogger::recover_and_open() {
  const std::string& dir = options_.dir;
  if (Status s = detail::ensure_dir(dir); !s) return s;
  Result<detail::DirLock> lock = detail::DirLock::acquire(dir, options_.file_mode);
  if (!lock) return lock.status();
  lock_ = std::move(lock.value());

  // Quarantine files still ".pending" were moved aside by an open that stopped before announcing them.
  Result<std::vector<detail::PendingQuarantine>> pending = detail::list_pending_quarantine(dir);
  if (!pending) return pending.status();
  for (detail::PendingQuarantine& q : pending.value())
    recovered_.push_back({std::move(q.segment), q.offset, q.bytes, std::move(q.sha256), std::move(q.quarantine),
                          "torn_record", true});

  Result<std::vector<detail::SegmentInfo>> segs = detail::list_segments(dir);
  if (!segs) return segs.status();
  std::string log_id;
  std::uint64_t next_seq = 0;
  Hash prev{};
  bool have_prev = false;  // prev is known (a previous record was read)
  std::int64_t last_ts = 0;
  std::uint64_t open_seq = 0;  // first_seq of the segment to append to
  ResumeInfo info;
  info.segments = segs->size();
  // Keys and tree bookkeeping of one valid record (the verifier checks these fields; open only reads them).
  auto note_record = [&](std::string_view line, const record::View& v, const Hash& chain, bool in_newest) {
    info.have_last = true;
    info.last_has_mac = v.has_mac;
    if (v.has_mac && (!in_newest || v.mac_epoch != info.last_epoch || info.last_is_epoch_end)) info.epoch_records = 0;
    info.last_epoch = v.mac_epoch;
    info.last_is_epoch_end = v.event_type == "log.epoch_end";
    if (!in_newest) return Status();
    ++info.epoch_records;
    info.leaves.push_back(chain);
    if (v.event_type != "log.checkpoint") return Status();
    std::optional<logger_impl::CheckpointSeen> c = logger_impl::read_checkpoint_event(v.event, v.seq);
    if (!c)
      return Status(Code::corruption, fmt::format("the log.checkpoint record {} is malformed; run the verifier", v.seq));
    info.have_checkpoint = true;
    info.cp_size = c->size;
    info.cp_frontier = c->frontier;
    info.cp_signer = c->signer;
    if (!c->signer.empty()) info.last_signed = std::move(c);
    (void)line;
    return Status();
  };

  if (!segs->empty()) {
    const detail::SegmentInfo& last = segs->back();
    open_seq = last.first_seq;
    next_seq = last.first_seq;
    if (segs->size() >= 2) {
      const detail::SegmentInfo& before = (*segs)[segs->size() - 2];
      Result<std::string> line = logger_impl::read_last_line(before.path);
      if (!line) return line.status();
      record::View v;
      if (!record::parse(line.value(), &v) || v.seq + 1 != last.first_seq)
        return Status(Code::corruption,
                      fmt::format("{} does not end with record {}; run the verifier", before.name, last.first_seq - 1));
      log_id = std::string(v.log_id);
      prev = record::chain_hash(line.value());
      have_prev = true;
      last_ts = v.ts_micros;
      (void)note_record(line.value(), v, prev, false);
    }
    info.open_seq = last.first_seq;
    Result<std::string> data = detail::read_file(last.path);
    if (!data) return data.status();
    const std::string& d = data.value();
    std::size_t off = 0;
    std::optional<std::size_t> bad_at;
    std::string reason;
    while (off < d.size()) {
      const char* nl = static_cast<const char*>(std::memchr(d.data() + off, '\n', d.size() - off));
      if (nl == nullptr) {
        bad_at = off;
        reason = "torn_record";
        break;
      }
      const std::string_view line(d.data() + off, static_cast<std::size_t>(nl - (d.data() + off)));
      // The checks of a verifier (§8.2). A line that is not a record may be a crash artefact (a zero-filled
      // page ending in the LF of a later write); a well-formed record that does not continue the chain
      // never is: it was changed, inserted or copied, and healing it would hide that.
      record::View v;
      if (!record::parse(line, &v)) {
        bad_at = off;
        reason = "invalid_record";
        break;
      }
      const char* broken = nullptr;
      if (!log_id.empty() && v.log_id != log_id)
        broken = "belongs to another log";
      else if (v.seq != next_seq)
        broken = "has the wrong sequence number";
      else if (have_prev && v.ts_micros < last_ts)
        broken = "goes back in time";
      else if (v.seq == 0 ? v.prev != record::genesis_hash(v.log_id) : have_prev && v.prev != prev)
        broken = "does not link to the record before it";
      if (broken != nullptr)
        return Status(Code::corruption,
                      fmt::format("{}: the record at offset {} (seq {}) {}; this is not a torn write. Run the "
                                  "verifier; the writer will not resume this log",
                                  last.name, off, v.seq, broken));
      log_id = std::string(v.log_id);
      prev = record::chain_hash(line);
      have_prev = true;
      last_ts = v.ts_micros;
      if (Status s = note_record(line, v, prev, true); !s) return s;
      ++next_seq;
      off = static_cast<std::size_t>(nl - d.data()) + 1;
    }
    if (bad_at) {
      // A crash leaves garbage only at the end. A valid record after the bad bytes means damage, not a crash.
      std::size_t p = *bad_at;
      while (p < d.size()) {
        const char* nl = static_cast<const char*>(std::memchr(d.data() + p, '\n', d.size() - p));
        if (nl == nullptr) break;
        record::View v;
        if (p != *bad_at && record::parse(std::string_view(d.data() + p, static_cast<std::size_t>(nl - (d.data() + p))), &v))
          return Status(Code::corruption,
                        fmt::format("{}: invalid bytes at offset {} are followed by valid records; this is not a "
                                    "torn write. Run the verifier; the writer will not resume this log",
                                    last.name, *bad_at));
        p = static_cast<std::size_t>(nl - d.data()) + 1;
      }
      const std::string_view tail = std::string_view(d).substr(*bad_at);
      Result<std::string> q = detail::quarantine_tail(dir, last, *bad_at, tail, options_.file_mode);
      if (!q) return q.status();
      recovered_.push_back(
          {last.name, *bad_at, tail.size(), detail::to_hex(detail::sha256(tail)), q.value(), reason});
    }
    if (log_id.empty() && open_seq != 0)
      return Status(Code::corruption,
                    fmt::format("{} holds no valid record and there is no earlier segment to resume from", last.name));
  }

  const bool created = log_id.empty();
  if (created) {
    log_id = record::new_log_id();
    // A MAC key file already converted for a log that never got a durable record (the creating writer
    // stopped in between) names that log: create it again under the same id rather than strand the key.
    if (!options_.mac_key_path.empty()) {
      Result<mac::KeyFileKind> kind = mac::detect_key_file(options_.mac_key_path);
      if (kind && kind.value() == mac::KeyFileKind::state) {
        Result<mac::StateInfo> st = mac::WriterState::inspect(options_.mac_key_path);
        if (st && st->epoch == 0) log_id = st->log_id;
      }
    }
    prev = record::genesis_hash(log_id);
    next_seq = 0;
  }
  log_id_ = log_id;
  prev_ = prev;
  next_seq_ = next_seq;
  last_ts_ = last_ts;
  if (Status s = setup_keys(created, info); !s) return s;

  // System records first, written and synced before any event is accepted: log.opened precedes every
  // other record of this session (§4), then what recovery moved aside.
  const std::uint64_t first_new_seq = next_seq_;
  seal_system({{"event_type", "log.opened"},
                       {"reason", created ? "created" : "resumed"},
                       {"library", "fooocus_audit " FOOOCUS_AUDIT_VERSION_STRING},
                       {"pid", static_cast<std::int64_t>(::getpid())},
                       {"durability", logger_impl::durability_name(options_.durability)},
               {"group_commit_ms", static_cast<std::int64_t>(options_.group_commit_interval.count())}});
  for (const RecoveryNote& n : recovered_) {
    nlohmann::json note = {{"event_type", "log.recovered"}, {"segment", n.segment}, {"offset", n.offset},
                           {"bytes", n.bytes}, {"sha256", n.sha256}, {"quarantine", n.quarantine},
                           {"reason", n.reason}};
    if (n.interrupted) note["interrupted"] = true;
    seal_system(note);
  }
  if (track_tree_ && !info.cp_signer.empty()) {
    const note::VerifierKey& k = options_.signer->verifier_key();
    if (info.cp_signer != logger_impl::key_hash_name(k))
      seal_system({{"event_type", "log.key_rotated"}, {"old_key", info.cp_signer}, {"new_key", k.text()}});
  }

  Result<detail::SegmentFile> seg = detail::SegmentFile::open(dir, open_seq, options_.file_mode);
  if (!seg) return seg.status();
  if (seg->size() > 0 && seg->size() + buf_.size() > options_.max_segment_bytes) {
    // The resumed segment is full: leave it synced (a crashed writer may not have) and start the next.
    if (Status s = seg->sync(); !s) return s;
    seg = detail::SegmentFile::open(dir, first_new_seq, options_.file_mode);
    if (!seg) return seg.status();
  }
  segment_ = std::move(seg.value());
  segment_opened_ = std::chrono::steady_clock::now();
  if (Status s = write_buffer(); !s) return s;
  if (Status s = sync_segment(); !s) return s;
  // The log.recovered records are durable: only now do the quarantine files lose ".pending".
  std::vector<std::string> quarantined;
  for (const RecoveryNote& n : recovered_) quarantined.push_back(n.quarantine);
  if (Status s = detail::finish_quarantine(dir, quarantined); !s) return s;
  records_ = next_seq_;
  durable_head_ = synced_head_;
  return {};
}

FA_INLINE Status AuditLogger::setup_keys(bool created, ResumeInfo& info) {
  const auto now = std::chrono::steady_clock::now();
  // MACs (§9.2): a log has them from its first record or never; the key file and the log agree on the epoch.
  if (!created && info.have_last && info.last_has_mac && options_.mac_key_path.empty())
    return Status(Code::invalid_argument,
                  "this log carries MACs: LoggerOptions.mac_key_path must name the writer's MAC key state file");
  if (!options_.mac_key_path.empty()) {
    if (!created && !(info.have_last && info.last_has_mac))
      return Status(Code::invalid_argument,
                    "this log was created without MACs; MACs can only be enabled when a log is created");
    if (!created) {
      Result<mac::KeyFileKind> kind = mac::detect_key_file(options_.mac_key_path);
      if (!kind) return kind.status();
      if (kind.value() == mac::KeyFileKind::seed)
        return Status(Code::invalid_argument,
                      fmt::format("{} is a MAC seed, but log {} already uses MACs: the writer needs its evolving "
                                  "state file (restarting from the seed would bring back wiped keys)",
                                  options_.mac_key_path, log_id_));
    }
    Result<mac::WriterState> ws = mac::WriterState::open(options_.mac_key_path, log_id_);
    if (!ws) return ws.status();
    mac_.emplace(std::move(ws.value()));
    if (!created) {
      const std::uint64_t e = info.last_epoch, k = mac_->epoch();
      if (k == e && info.last_is_epoch_end) {
        // The end of epoch e is durable but the key did not move on before the writer stopped.
        if (Status s = mac_->advance(); !s) return s;
      } else if (!(k == e || (k == e + 1 && info.last_is_epoch_end))) {
        return Status(Code::corruption,
                      fmt::format("the MAC key file is at epoch {} but the log is at epoch {}{}; the key file does "
                                  "not belong to this point of the log",
                                  k, e, info.last_is_epoch_end ? " (ended)" : ""));
      }
      epoch_records_ = mac_->epoch() == e ? info.epoch_records : 0;
    }
    epoch_started_ = now;
  }

  // The Merkle tree, for checkpoints (§10.3): resume from the newest segment's last checkpoint when there is one.
  if (options_.signer) {
    track_tree_ = true;
    cp_origin_ = note::checkpoint_origin(options_.signer->verifier_key().name, log_id_);
    if (!created) {
      // The signer's base is the newest *signed* checkpoint (what it last signed, as far as the log knows),
      // even when unsigned ones follow it (a signer outage), so that the signer can check the whole extension.
      std::optional<logger_impl::SignedResume> older;
      if (!info.last_signed && info.open_seq != 0) {
        Result<std::vector<detail::SegmentInfo>> segs = detail::list_segments(options_.dir);
        if (!segs) return segs.status();
        Result<std::optional<logger_impl::SignedResume>> r =
            logger_impl::find_signed_checkpoint(segs.value(), info.open_seq, logger_impl::kMaxPendingLeaves);
        if (!r) return r.status();
        older = std::move(r.value());
      }
      if (info.last_signed) {
        info.have_checkpoint = true;
        info.cp_size = info.last_signed->size;
        info.cp_frontier = info.last_signed->frontier;
        info.cp_signer = info.last_signed->signer;
      }
      std::size_t from = 0;  // index into info.leaves of the first leaf after the tree's start
      if (older) {
        try {
          frontier_ = merkle::Frontier::from_nodes(older->checkpoint.size, older->checkpoint.frontier);
        } catch (const std::invalid_argument&) {
          return Status(Code::corruption, fmt::format("the log.checkpoint record {} has a frontier that does not fit "
                                                      "its size; run the verifier",
                                                      older->checkpoint.size));
        }
        cp_base_size_ = frontier_.size();
        cp_base_frontier_ = frontier_.nodes();
        for (const Hash& h : older->leaves_from) {
          frontier_.append(h);
          cp_leaves_.push_back(h);
        }
        if (frontier_.size() != info.open_seq)
          return Status(Code::corruption, "the segments before the newest do not hold exactly the records before it; "
                                          "run the verifier");
        info.cp_signer = older->checkpoint.signer;
        for (const Hash& h : info.leaves) {
          frontier_.append(h);
          cp_leaves_.push_back(h);
        }
      } else if (info.have_checkpoint) {
        try {
          frontier_ = merkle::Frontier::from_nodes(info.cp_size, info.cp_frontier);
        } catch (const std::invalid_argument&) {
          return Status(Code::corruption,
                        fmt::format("the log.checkpoint record {} has a frontier that does not fit its size; run the "
                                    "verifier",
                                    info.cp_size));
        }
        from = static_cast<std::size_t>(info.cp_size - info.open_seq);
      } else if (info.open_seq != 0) {
        // No checkpoint to start from (a log written without a signer so far): hash every earlier segment once.
        Result<std::vector<detail::SegmentInfo>> segs = detail::list_segments(options_.dir);
        if (!segs) return segs.status();
        for (const detail::SegmentInfo& seg : segs.value())
          if (seg.first_seq < info.open_seq)
            if (Status s = logger_impl::append_segment_leaves(seg.path, frontier_); !s) return s;
        if (frontier_.size() != info.open_seq)
          return Status(Code::corruption, "the segments before the newest do not hold exactly the records before it; "
                                          "run the verifier");
      }
      if (!older) {
        cp_base_size_ = frontier_.size();
        cp_base_frontier_ = frontier_.nodes();
        for (std::size_t i = from; i < info.leaves.size(); ++i) {
          frontier_.append(info.leaves[i]);
          cp_leaves_.push_back(info.leaves[i]);
        }
      }
      if (frontier_.size() != next_seq_) return Status(Code::internal, "tree size does not match the log at open");
    }
    cp_next_after_ = next_seq_;
    cp_started_ = now;
  } else {
    info.cp_signer.clear();
  }
  return {};
}

FA_INLINE Status AuditLogger::end_epoch() {
  seal_system({{"event_type", "log.epoch_end"}, {"epoch", mac_->epoch()}});
  // §9.2: the end record is durable before the key moves on, whatever the durability policy.
  Status s = write_buffer();
  if (s) s = sync_segment();
  if (s) s = mac_->advance();
  if (!s) {
    std::lock_guard<std::mutex> g(mu_);
    fatal_ = true;
    return Status(s.code(), "ending MAC epoch: " + s.message());
  }
  epoch_records_ = 0;
  epoch_started_ = std::chrono::steady_clock::now();
  return {};
}

FA_INLINE Status AuditLogger::make_checkpoint() {
  // The records a signer is asked to sign are durable first: a crash must never leave the signer having
  // signed a tree larger than the log, which it would then see as a fork.
  if (Status s = write_buffer(); !s) return s;
  if (dirty_)
    if (Status s = sync_segment(); !s) return s;
  const std::uint64_t size = next_seq_;
  const Hash root = frontier_.root();
  CheckpointRequest req;
  req.origin = cp_origin_;
  req.base_size = cp_base_size_;
  req.base_frontier = cp_base_frontier_;
  req.leaves = cp_leaves_;
  req.size = size;
  req.root = root;
  Result<std::string> note = Status(Code::internal, "checkpoint signer did not answer");
  try {
    note = options_.signer->sign_checkpoint(req);
  } catch (const std::exception& e) {
    note = Status(Code::internal, e.what());
  }
  nlohmann::json frontier = nlohmann::json::array();
  for (const Hash& h : frontier_.nodes()) frontier.push_back(detail::to_hex(h));
  nlohmann::json ev = {{"event_type", "log.checkpoint"}, {"size", size}, {"root", detail::to_hex(root)},
                       {"frontier", std::move(frontier)}};
  if (note) {
    ev["note"] = note.value();
    cp_base_size_ = size;
    cp_base_frontier_ = frontier_.nodes();
    cp_leaves_.clear();
    ++checkpoints_;
  } else {
    ++checkpoints_unsigned_;
    report(Status(note.status().code(), "checkpoint signer: " + note.status().message()));
    if (cp_leaves_.size() > logger_impl::kMaxPendingLeaves) {
      // The signer has been failing for millions of records: stop holding their hashes. It will refuse the
      // next request as a gap until its state for this log is reset.
      cp_base_size_ = size;
      cp_base_frontier_ = frontier_.nodes();
      cp_leaves_.clear();
    }
  }
  seal_system(ev);
  cp_next_after_ = next_seq_;
  cp_started_ = std::chrono::steady_clock::now();
  if (!note || (options_.checkpoint_anchor_path.empty() && !options_.on_checkpoint)) return {};
  // Nobody outside hears of a checkpoint before the records it covers (and itself) are durable.
  if (Status s = write_buffer(); !s) return s;
  if (Status s = sync_segment(); !s) return s;
  const CheckpointAnchor anchor{log_id_, note.value()};
  if (!options_.checkpoint_anchor_path.empty())
    if (Status s = append_checkpoint_anchor(options_.checkpoint_anchor_path, anchor); !s)
      report(Status(s.code(), "checkpoint anchor file: " + s.message()));
  if (options_.on_checkpoint) {
    try {
      options_.on_checkpoint(anchor);
    } catch (...) {
      // A throwing callback must not take the writer down.
    }
  }
  return {};
}

FA_INLINE Status AuditLogger::periodic(bool stopping) {
  const auto now = std::chrono::steady_clock::now();
  if (mac_ && (epoch_records_ >= options_.mac_epoch_records || now >= epoch_started_ + options_.mac_epoch_interval))
    if (Status s = end_epoch(); !s) return s;
  if (track_tree_) {
    const std::uint64_t since = next_seq_ - cp_next_after_;
    if (since > 0 && (stopping || since >= options_.checkpoint_records || now >= cp_started_ + options_.checkpoint_interval))
      return make_checkpoint();
  }
  return {};
}

FA_INLINE std::chrono::steady_clock::time_point AuditLogger::next_deadline() const {
  auto t = std::chrono::steady_clock::time_point::max();
  if (mac_) t = std::min(t, epoch_started_ + options_.mac_epoch_interval);
  if (track_tree_ && next_seq_ > cp_next_after_) t = std::min(t, cp_started_ + options_.checkpoint_interval);
  return t;
}

FA_INLINE bool AuditLogger::deadline_passed() const { return std::chrono::steady_clock::now() >= next_deadline(); }

FA_INLINE AuditLogger::Sealable AuditLogger::make_sealable(std::string&& head_with_event, bool hash_now) const {
  // Up to the end of log_id: `mac` (§9), when there is one, comes next; seal() adds it and the tail.
  head_with_event.append(R"(,"log_id":")").append(log_id_).push_back('"');
  Sealable r{std::move(head_with_event), std::nullopt, MonitorInput()};
  if (hash_now) {
    r.hash.emplace();
    const std::uint8_t leaf = 0x00;  // RFC 6962 leaf prefix: the chain hash is the record's leaf hash (§3)
    r.hash->update(&leaf, 1);
    r.hash->update(r.head);
  }
  return r;
}

FA_INLINE void AuditLogger::seal(Sealable& r, bool is_event) {
  std::int64_t now = now_micros();
  if (now < last_ts_) now = last_ts_;  // time never goes backwards in the log (§6.1)
  if (now != last_ts_ || last_ts_text_.empty()) {
    last_ts_text_ = record::format_timestamp(now);
    last_ts_ = now;
  }
  tail_.assign(R"(,"prev":")");
  record::append_record_tail(tail_, prev_, next_seq_, last_ts_text_);
  buf_.append(r.head);
  detail::Sha256& hash = r.hash ? *r.hash : writer_hash_;
  if (!r.hash) {
    const std::uint8_t leaf = 0x00;  // as in make_sealable
    hash.update(&leaf, 1);
    hash.update(r.head);
  }
  if (mac_) {
    // The tag covers the record without `mac` (U, §9.1), whose digest shares the head's running hash.
    hash.copy_to(unmac_hash_);
    unmac_hash_.update(tail_);
    const Hash tag = mac_->mac().tag(unmac_hash_.final());
    const std::size_t at = buf_.size();
    buf_.append(R"(,"mac":{"epoch":)");
    char num[24];
    const auto end = std::to_chars(num, num + sizeof num, mac_->epoch());
    buf_.append(num, static_cast<std::size_t>(end.ptr - num));
    buf_.append(R"(,"tag":")");
    detail::append_hex(buf_, tag.data(), tag.size());
    buf_.append(R"("})");
    hash.update(buf_.data() + at, buf_.size() - at);
    ++epoch_records_;
  }
  buf_.append(tail_);
  hash.update(tail_);
  prev_ = hash.final();  // == record::chain_hash(line): the bytes hashed are the bytes written (final() resets)
  buf_.push_back('\n');
  if (track_tree_) {
    frontier_.append(prev_);
    cp_leaves_.push_back(prev_);
  }
  ++next_seq_;
  if (is_event) ++buf_items_;
}

FA_INLINE void AuditLogger::seal_system(const nlohmann::json& event) {
  std::string head(record::kRecordHeadOpen);
  jcs::append(head, event);
  Sealable r = make_sealable(std::move(head), false);
  seal(r, false);
}

FA_INLINE void AuditLogger::monitor_sealed(const Sealable& r) {
  std::vector<Alert> alerts;
  try {
    alerts = options_.monitor->observe(r.monitor, next_seq_ - 1, last_ts_);
  } catch (const std::exception& e) {  // out of memory: logging goes on, the callback hears of it
    report(Status(Code::internal, std::string("monitor: ") + e.what()));
    return;
  }
  for (const Alert& a : alerts) {
    nlohmann::json ev = a.to_json();
    seal_system(ev);  // right after its trigger, through the same sealing path as every record
    if (options_.on_alert) alerts_unwritten_.push_back(std::move(ev));
  }
}

FA_INLINE void AuditLogger::deliver_alerts() {
  std::vector<nlohmann::json> ready;
  ready.swap(alerts_unwritten_);
  for (const nlohmann::json& a : ready) {
    try {
      options_.on_alert(a);
    } catch (...) {
      // A throwing callback must not take the writer down.
    }
  }
}

FA_INLINE Anchor AuditLogger::sealed_head() const { return Anchor{log_id_, next_seq_ - 1, prev_, last_ts_text_}; }

FA_INLINE Status AuditLogger::log(const nlohmann::json& event_in) {
  // The event schema (docs/events.md): object, event_type per §4 and not log.*, known types' members.
  if (Status s = events::validate_event(event_in); !s) return s;
  return log_validated(event_in);
}

FA_INLINE Status AuditLogger::log(const GenerationEvent& event_in) {
  // The same schema without a JSON tree: request_id and the few formatted members of image_generation.
  if (Status s = events::validate_event(event_in); !s) return s;
  return log_validated(event_in);
}

namespace logger_impl {

inline void append_canonical(std::string& out, const nlohmann::json& event) { jcs::append(out, event); }
inline void append_canonical(std::string& out, const GenerationEvent& event) { event.append_canonical(out); }

inline Status check_depth(const nlohmann::json& event) {
  if (nests_deeper_than(event, kMaxEventDepth))
    return {Code::invalid_argument,
            fmt::format("event nests deeper than {} levels (its record adds one more)", kMaxEventDepth)};
  return {};
}
inline Status check_depth(const GenerationEvent&) { return {}; }  // its shape nests three levels

}  // namespace logger_impl

template <typename Event>
Status AuditLogger::log_validated(const Event& event_in) {
  // The secret guard (docs/privacy.md §4.5): its prefilter runs over the canonical bytes, which are needed
  // anyway (every string guard_redact scans is in them); only when it fires (or the event has no canonical
  // form) the guard as before: a copy, redaction, the copy serialized instead.
  std::string bytes = logger_impl::take_spare_head();
  bytes.append(record::kRecordHeadOpen);
  bool canonical = true;
  try {
    logger_impl::append_canonical(bytes, event_in);
  } catch (const jcs::Error&) {
    canonical = false;
  }
  std::optional<Event> guarded;
  std::size_t redacted = 0;
  if (!canonical ||
      guard_may_redact_canonical(std::string_view(bytes).substr(record::kRecordHeadOpen.size()),
                                 options_.secret_guard)) {
    if (Status s = logger_impl::apply_guard(event_in, options_.secret_guard, guarded, redacted); !s) return s;
    if (guarded || !canonical) {
      bytes.resize(record::kRecordHeadOpen.size());
      try {
        logger_impl::append_canonical(bytes, guarded ? *guarded : event_in);
      } catch (const jcs::Error& e) {
        return {Code::invalid_argument, e.what()};
      }
    }
  }
  const Event& event = guarded ? *guarded : event_in;
  if (Status s = logger_impl::check_depth(event); !s) return s;
  const std::size_t event_bytes = bytes.size() - record::kRecordHeadOpen.size();
  MonitorInput watched = options_.monitor ? options_.monitor->extract(event) : MonitorInput();
  Status st = enqueue(std::move(bytes), event_bytes, std::move(watched));
  if (st.ok() && redacted != 0) {
    std::lock_guard<std::mutex> g(mu_);
    secrets_redacted_ += redacted;
  }
  return st;
}

FA_INLINE Status AuditLogger::enqueue(std::string&& head_with_event, std::size_t event_bytes, MonitorInput monitor) {
  if (event_bytes > options_.max_event_bytes)
    return {Code::too_large, fmt::format("event of {} bytes exceeds max_event_bytes ({})", event_bytes,
                                         options_.max_event_bytes)};
  // Most of the chain hash (§3: only the tail of a record depends on the record before it) can be computed
  // here, on the caller's thread, outside the lock. It is when the writer is behind (more records queued than
  // it takes per wake-up): many producers then share the hashing. A producer slower than the writer leaves it
  // to the writer, which has the time, and returns sooner. Either way the bytes hashed are the same.
  const bool hash_now = queue_depth_.load(std::memory_order_relaxed) > 2 * logger_impl::kWakeBatch;
  std::optional<Sealable> sealable;
  try {
    sealable.emplace(make_sealable(std::move(head_with_event), hash_now));
  } catch (const std::runtime_error& e) {  // OpenSSL could not set up a digest: nothing was queued
    return {Code::internal, e.what()};
  }
  Sealable& record = *sealable;
  record.monitor = std::move(monitor);
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    if (stop_ || closed_) return {Code::closed, "logger is closed"};
    if (fatal_ || !error_.ok())
      return {Code::io_error, "log writer is failing, event not accepted: " + error_.message()};
    if (queue_.size() < options_.queue_capacity) break;
    if (options_.overflow == OverflowPolicy::drop_and_record_gap) {
      ++dropped_;
      ++dropped_pending_;
      writer_cv_.notify_one();
      return {Code::dropped, "queue full: event dropped (a log.gap record will count it)"};
    }
    writer_cv_.notify_one();  // the queue is full: the writer must not wait out its gather delay
    space_cv_.wait(lk);
  }
  const bool first = queue_.empty();
  queue_.push_back(std::move(record));
  queue_depth_.store(queue_.size(), std::memory_order_relaxed);
  ++accepted_;
  if (!spare_heads_.empty() && logger_impl::spare_head().capacity() < logger_impl::kHeadReserve) {
    logger_impl::spare_head().swap(spare_heads_.back());
    spare_heads_.pop_back();
  }
  if (first) queue_since_ = std::chrono::steady_clock::now();
  // An idle writer hears of the first record (it then waits kGatherDelay for more); a waiting one of a batch.
  if ((first && writer_idle_) || queue_.size() == std::min(logger_impl::kWakeBatch, options_.queue_capacity))
    writer_cv_.notify_one();
  return {};
}

FA_INLINE Status AuditLogger::flush() {
  std::unique_lock<std::mutex> lk(mu_);
  if (closed_ || stop_) return {Code::closed, "logger is closed"};
  const std::uint64_t target = accepted_;
  if (durable_ < target) {
    flush_target_ = std::max(flush_target_, target);
    writer_cv_.notify_one();
    // Not woken by stop_: close() lets the writer finish, so the answer is known once it has.
    flush_cv_.wait(lk, [&] { return durable_ >= target || fatal_ || !error_.ok() || closed_; });
    if (durable_ < target) {
      if (fatal_ || !error_.ok()) return error_;
      return {Code::closed, "logger closed during flush"};
    }
  }
  lk.unlock();
  if (!options_.anchor_path.empty()) return save_anchor();
  return {};
}

FA_INLINE Status AuditLogger::save_anchor() {
  std::lock_guard<std::mutex> g(anchor_mu_);
  Anchor head;
  {
    std::lock_guard<std::mutex> m(mu_);
    head = durable_head_;
  }
  // Concurrent flushes must not replace a newer anchor with an older one.
  if (anchor_saved_ && head.seq <= anchor_saved_seq_) return {};
  Status s = head.save(options_.anchor_path);
  if (s) {
    anchor_saved_ = true;
    anchor_saved_seq_ = head.seq;
  }
  return s;
}

FA_INLINE void AuditLogger::report(const Status& s) {
  if (options_.on_error) {
    try {
      options_.on_error(s);
    } catch (...) {
      // A throwing callback must not take the writer down.
    }
  }
}

FA_INLINE Status AuditLogger::write_buffer() {
  if (buf_.empty()) return {};
  const std::uint64_t before = segment_.size();
  Status s = segment_.append(buf_.data(), buf_.size());
  if (!s) {
    // Never leave a partial line behind: cut back to the last complete one and keep the records in memory.
    if (Status t = segment_.truncate(before); !t) {
      std::lock_guard<std::mutex> g(mu_);
      fatal_ = true;
    }
    return s;
  }
  buf_.clear();
  written_items_ += buf_items_;
  buf_items_ = 0;
  written_head_ = sealed_head();
  dirty_ = true;
  return {};
}

// Syncs the current segment. Every earlier segment was synced when the writer left it (maybe_rotate),
// so afterwards everything written is durable.
FA_INLINE Status AuditLogger::sync_segment() {
  Status s = segment_.sync();
  last_sync_ = std::chrono::steady_clock::now();
  if (s) {
    dirty_ = false;
    synced_items_ = written_items_;
    synced_head_ = written_head_;
  } else {
    // After a failed fsync the kernel may have dropped the dirty pages: durability is unknown, never retry.
    std::lock_guard<std::mutex> g(mu_);
    fatal_ = true;
  }
  return s;
}

FA_INLINE Status AuditLogger::maybe_rotate(std::size_t next_line_bytes) {
  const std::uint64_t current = segment_.size() + buf_.size();
  if (current == 0) return {};
  const bool too_big = current + next_line_bytes > options_.max_segment_bytes;
  const bool too_old = std::chrono::steady_clock::now() - segment_opened_ >= options_.max_segment_age;
  if (!too_big && !too_old) return {};
  if (Status s = write_buffer(); !s) return s;
  // A segment the writer leaves is synced whatever the policy, so that close() can promise everything.
  if (dirty_)
    if (Status s = sync_segment(); !s) return s;
  Result<detail::SegmentFile> next = detail::SegmentFile::open(options_.dir, next_seq_, options_.file_mode);
  if (!next) return next.status();
  segment_ = std::move(next.value());
  segment_opened_ = std::chrono::steady_clock::now();
  // Every segment starts with a checkpoint, so a writer resumes (and a prover starts) from the newest one.
  if (track_tree_) return make_checkpoint();
  return {};
}

FA_INLINE void AuditLogger::run() {
  using clock = std::chrono::steady_clock;
  constexpr auto kRetryDelay = std::chrono::milliseconds(100);
  const auto interval = options_.group_commit_interval;
  const bool group = options_.durability == Durability::group_commit;
  const bool none = options_.durability == Durability::none;
  std::vector<Sealable> batch;
  std::vector<std::string> recycled;  // emptied record buffers, handed to spare_heads_ under the next lock
  recycled.reserve(logger_impl::kSpareHeads);
  bool failing = false, fatal = false;
  clock::time_point retry_at{};

  for (;;) {
    std::uint64_t gap = 0, want = 0;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lk(mu_);
      for (std::string& h : recycled) {  // the last batch's buffers, for the producers
        if (spare_heads_.size() >= logger_impl::kSpareHeads) break;
        spare_heads_.push_back(std::move(h));
      }
      recycled.clear();
      auto has_work = [&] {
        if (stop_) return true;
        if (fatal) return false;
        const auto now = clock::now();
        if (failing) return now >= retry_at;
        if (dropped_pending_ > 0) return true;
        if (!queue_.empty() && (queue_.size() >= std::min(logger_impl::kWakeBatch, options_.queue_capacity) ||
                                now >= queue_since_ + logger_impl::kGatherDelay || flush_target_ > written_))
          return true;
        if (now >= next_deadline()) return true;
        if (flush_target_ > durable_) return !group || now >= last_sync_ + interval;
        return group && dirty_ && now >= last_sync_ + interval;
      };
      while (!has_work()) {
        writer_idle_ = queue_.empty();
        if (failing && !fatal) {
          writer_cv_.wait_until(lk, retry_at);
        } else if (!fatal && !queue_.empty()) {  // gathering: until the batch fills or the first record's delay ends
          auto until = std::min(queue_since_ + logger_impl::kGatherDelay, next_deadline());
          if (group && (dirty_ || flush_target_ > durable_)) until = std::min(until, last_sync_ + interval);
          writer_cv_.wait_until(lk, until);
        } else if (!fatal && group && (dirty_ || flush_target_ > durable_)) {
          writer_cv_.wait_until(lk, std::min(last_sync_ + interval, next_deadline()));
        } else if (!fatal && next_deadline() != clock::time_point::max()) {
          writer_cv_.wait_until(lk, next_deadline());
        } else {
          writer_cv_.wait(lk);
        }
      }
      writer_idle_ = false;
      batch.swap(queue_);
      queue_depth_.store(0, std::memory_order_relaxed);
      gap = dropped_pending_;
      dropped_pending_ = 0;
      want = flush_target_;
      stopping = stop_;
    }
    space_cv_.notify_all();

    Status err;
    if (!fatal) {
      for (Sealable& r : batch) {
        // After a failure the records stay in memory, in order, until a retry writes them.
        if (!failing && err.ok()) err = maybe_rotate(r.head.size() + logger_impl::kRecordOverhead);
        seal(r, true);
        if (recycled.size() < logger_impl::kSpareHeads && r.head.capacity() <= logger_impl::kSpareHeadMaxCapacity) {
          r.head.clear();  // sealed: its bytes are in buf_
          recycled.push_back(std::move(r.head));
        }
        if (!r.monitor.empty()) monitor_sealed(r);
        if (!failing && err.ok() && (mac_ || track_tree_) &&
            ((mac_ && epoch_records_ >= options_.mac_epoch_records) ||
             (track_tree_ && next_seq_ - cp_next_after_ >= options_.checkpoint_records)))
          err = periodic(false);
        // Hand the kernel 1 MiB at a time, while the bytes are still in cache.
        if (buf_.size() >= logger_impl::kWriteChunk && !failing && err.ok()) err = write_buffer();
      }
      if (gap > 0) seal_system({{"event_type", "log.gap"}, {"dropped", gap}, {"reason", "queue_full"}});
      if (!failing && err.ok()) {
        bool last = false;
        if (stopping) {
          std::lock_guard<std::mutex> g(mu_);
          last = queue_.empty() && dropped_pending_ == 0;
        }
        err = periodic(last);
      }
    }
    batch.clear();

    if (!fatal && err.ok()) err = write_buffer();
    if (!fatal && err.ok() && !alerts_unwritten_.empty()) deliver_alerts();
    if (!fatal && err.ok() && dirty_) {
      bool need_sync = stopping;
      if (options_.durability == Durability::always) need_sync = need_sync || want > synced_items_;
      if (group) need_sync = need_sync || clock::now() >= last_sync_ + interval;
      if (need_sync) err = sync_segment();
    }

    // The callback hears of a failure (and of the recovery) before flush() or log() can report it, so a
    // caller that gets the error from them also finds it in what its callback recorded.
    Status published;
    if (!err.ok()) {
      const bool was_fatal = fatal;
      {
        std::lock_guard<std::mutex> g(mu_);
        if (fatal_) fatal = true;
      }
      published = fatal ? Status(Code::io_error, err.message() + " (fatal: reopen the log; the verifier shows what "
                                                                 "is on disk)")
                        : err;
      if (!failing || fatal != was_fatal) report(published);
    } else if (failing && !fatal) {
      report(Status());
    }
    {
      std::lock_guard<std::mutex> g(mu_);
      if (fatal_) fatal = true;
      written_ = written_items_;
      durable_ = none ? written_items_ : synced_items_;
      durable_head_ = none ? written_head_ : synced_head_;
      records_ = next_seq_;
      mac_epoch_ = mac_ ? mac_->epoch() : 0;
      checkpoints_pub_ = checkpoints_;
      checkpoints_unsigned_pub_ = checkpoints_unsigned_;
      if (!err.ok()) {
        ++write_errors_;
        error_ = std::move(published);
        fatal_ = fatal;
        failing = true;
        retry_at = clock::now() + kRetryDelay;
      } else if (failing && !fatal) {
        failing = false;
        error_ = Status();
      }
    }
    flush_cv_.notify_all();
    space_cv_.notify_all();

    if (stopping) {
      std::lock_guard<std::mutex> g(mu_);
      if (queue_.empty() && dropped_pending_ == 0) break;
    }
  }
  segment_.close();
}

FA_INLINE Status AuditLogger::close() {
  std::lock_guard<std::mutex> serial(close_mu_);
  {
    std::lock_guard<std::mutex> g(mu_);
    if (closed_) return Status();
    stop_ = true;
  }
  writer_cv_.notify_all();
  space_cv_.notify_all();
  const bool started = writer_.joinable();  // false when open() failed
  if (started) writer_.join();
  Status result;
  {
    std::lock_guard<std::mutex> g(mu_);
    closed_ = true;
    if (written_ < accepted_)
      result = Status(Code::io_error, fmt::format("{} accepted events could not be written: {}", accepted_ - written_,
                                                  error_.message()));
    else if (fatal_)
      result = error_;
  }
  flush_cv_.notify_all();
  // The anchor names the last durable record, which stays true even after an error.
  if (started && !options_.anchor_path.empty()) {
    Status a = save_anchor();
    if (result.ok()) result = std::move(a);
  }
  lock_ = detail::DirLock();
  return result;
}

FA_INLINE Anchor AuditLogger::head() const {
  std::lock_guard<std::mutex> g(mu_);
  return durable_head_;
}

FA_INLINE LoggerStats AuditLogger::stats() const {
  std::lock_guard<std::mutex> g(mu_);
  LoggerStats st{accepted_, written_, durable_, dropped_, records_, write_errors_};
  st.mac_epoch = mac_epoch_;
  st.checkpoints = checkpoints_pub_;
  st.checkpoints_unsigned = checkpoints_unsigned_pub_;
  st.secrets_redacted = secrets_redacted_;
  return st;
}

}  // namespace fooocus_audit
