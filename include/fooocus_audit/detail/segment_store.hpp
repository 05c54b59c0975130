// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file detail/segment_store.hpp
/// Segment files on disk (docs/log-format.md §5): naming and order, the directory lock, appends,
/// fsync, truncation and quarantine. Knows bytes, not events.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fooocus_audit/common.hpp"

namespace fooocus_audit {
namespace detail {

struct SegmentInfo {
  std::string path;        ///< full path
  std::string name;        ///< file name, segment-NNNNNNNNNNNNNNNNNNNN.jsonl
  std::uint64_t first_seq = 0;
};

/// "segment-" + 20-digit zero-padded seq + ".jsonl".
std::string segment_name(std::uint64_t first_seq);
/// Parses a segment file name; nullopt when the name is not one.
std::optional<std::uint64_t> parse_segment_name(std::string_view name) noexcept;
/// Segments of a log directory in log order. Fails with not_found / io_error.
Result<std::vector<SegmentInfo>> list_segments(const std::string& dir);

/// Status from errno with context: "write segment-...: No space left on device".
Status errno_status(std::string_view what, int err);

/// Reads fd to its end in chunks of `chunk` bytes, handing each to `sink` (flat memory; EINTR retried).
Status read_chunks(int fd, std::size_t chunk, const std::function<void(std::string_view)>& sink,
                   std::string_view what);

/// Reads a whole file (for recovery of one segment; bounded by the segment size limit).
Result<std::string> read_file(const std::string& path);
/// Writes all bytes, retrying on EINTR and short writes.
Status write_all(int fd, const char* data, std::size_t n, std::string_view what);
/// fsync of a directory, so that created or renamed entries survive a crash.
Status fsync_dir(const std::string& dir);
/// The directory part of a path: "." when it has none, "/" for a file in the root.
std::string parent_dir(const std::string& path);
/// Creates `path` (O_EXCL, O_NOFOLLOW) with `mode`, writes `bytes`, fsyncs the file and its directory; on
/// any failure the file is removed again. Fails (io_error) if `path` exists. Error messages name the file
/// as "<what> <path>" ("create MAC seed file /k/mac.key: ...", "<path>" when `what` is empty), never the
/// bytes.
Status create_file_exclusive(const std::string& path, std::string_view bytes, mode_t mode,
                             std::string_view what = {});
/// Atomically replaces `path` with `bytes`: writes "<path>.tmp.<pid>" (O_NOFOLLOW, chmod to `mode`), fsyncs
/// it, renames it over `path` and fsyncs the directory. After a crash `path` holds the old or the new bytes,
/// never a mix; the temporary file is removed on failure. Error messages name the file, never the bytes.
Status write_file_atomic(const std::string& path, std::string_view bytes, mode_t mode);
/// Reads `path` whole and returns parse(text); a parse failure keeps its code and names the file
/// ("<path>: <why>").
template <typename T, typename Parse>
Result<T> parse_file(const std::string& path, Parse&& parse);
/// Creates a directory (mode 0700) if missing; parents must exist.
Status ensure_dir(const std::string& dir);

/// An exclusive flock(2) on <dir>/LOCK held for the object's lifetime.
class DirLock {
 public:
  DirLock() = default;
  ~DirLock();
  DirLock(DirLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  DirLock& operator=(DirLock&& o) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  /// Fails with Code::locked when another holder exists (in this or another process).
  static Result<DirLock> acquire(const std::string& dir, mode_t mode);

 private:
  int fd_ = -1;
};

/// The open, append-only segment the writer appends to.
class SegmentFile {
 public:
  SegmentFile() = default;
  ~SegmentFile();
  SegmentFile(SegmentFile&& o) noexcept;
  SegmentFile& operator=(SegmentFile&& o) noexcept;
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;

  /// Opens (creating with `mode` if needed, O_APPEND) <dir>/<segment_name(first_seq)>; fsyncs the directory
  /// when the file was created.
  static Result<SegmentFile> open(const std::string& dir, std::uint64_t first_seq, mode_t mode);

  Status append(const char* data, std::size_t n);
  Status sync();                       ///< fdatasync
  Status truncate(std::uint64_t size);  ///< back to a known-good size after a failed write
  std::uint64_t size() const noexcept { return size_; }
  std::uint64_t first_seq() const noexcept { return first_seq_; }
  const std::string& name() const noexcept { return name_; }
  bool is_open() const noexcept { return fd_ >= 0; }
  void close() noexcept;

 private:
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t first_seq_ = 0;
  std::string name_;
};

/// Suffix of a quarantine file whose log.recovered record is not yet durable (docs/log-format.md §6.3).
inline constexpr std::string_view kPendingSuffix = ".pending";

/// Moves bytes [offset, end) of a segment into <dir>/quarantine/<name>.<offset>.torn.pending (fsynced), then
/// truncates the segment to `offset` and fsyncs it. Returns the final quarantine path relative to dir
/// (without ".pending"); finish_quarantine() renames it once the log.recovered record is durable.
/// A quarantine file left ".pending" by a writer that stopped before its log.recovered record was durable.
struct PendingQuarantine {
  std::string segment;     ///< segment it was cut from (from the file name)
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
  std::string sha256;      ///< hex
  std::string quarantine;  ///< final path relative to the log directory (without ".pending")
};
Result<std::vector<PendingQuarantine>> list_pending_quarantine(const std::string& dir);
/// Renames each "<rel>.pending" to "<rel>" and fsyncs quarantine/.
Status finish_quarantine(const std::string& dir, const std::vector<std::string>& quarantined);

Result<std::string> quarantine_tail(const std::string& dir, const SegmentInfo& seg, std::uint64_t offset,
                                    std::string_view tail_bytes, mode_t mode);

template <typename T, typename Parse>
Result<T> parse_file(const std::string& path, Parse&& parse) {
  Result<std::string> text = read_file(path);
  if (!text) return text.status();
  Result<T> r = std::forward<Parse>(parse)(text.value());
  if (!r) return Status(r.status().code(), path + ": " + r.status().message());
  return r;
}

}  // namespace detail
}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/detail/segment_store-inl.hpp"
#endif
