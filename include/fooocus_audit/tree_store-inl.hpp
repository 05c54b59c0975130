// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/tree_store.hpp"
#endif

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <string_view>
#include <utility>

#include "fooocus_audit/record.hpp"

namespace fooocus_audit {

namespace tree_store_impl {

inline constexpr unsigned kLevels = 64;
inline constexpr std::size_t kNodeBytes = sizeof(Hash);
/// Leaves buffered before append() writes them (2 MiB of level 0, plus about as much above).
inline constexpr std::size_t kWriteBatch = 64 * 1024;
/// Nodes per read when a level file is read sequentially.
inline constexpr std::size_t kReadBatch = 4096;

inline std::string level_path(const std::string& dir, unsigned level) {
  return fmt::format("{}/level-{:02}.bin", dir, level);
}

/// Reads exactly n nodes of `level` starting at node `first`; corruption when the file ends early. The path
/// (dir, level) is only formatted for a message.
inline Status pread_nodes(int fd, std::uint64_t first, std::size_t n, Hash* out, const std::string& dir,
                          unsigned level) {
  auto* dst = reinterpret_cast<char*>(out);
  std::size_t want = n * kNodeBytes, got = 0;
  const auto base = static_cast<off_t>(first * kNodeBytes);
  while (got < want) {
    const ssize_t r = ::pread(fd, dst + got, want - got, base + static_cast<off_t>(got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return detail::errno_status(fmt::format("read {}", level_path(dir, level)), errno);
    }
    if (r == 0)
      return {Code::corruption,
              fmt::format("{} ends at byte {}, before node {} (it was truncated while open?)",
                          level_path(dir, level), static_cast<std::uint64_t>(base) + got, first + n - 1)};
    got += static_cast<std::size_t>(r);
  }
  return {};
}

inline Status pwrite_all(int fd, const void* data, std::size_t n, std::uint64_t offset,
                         const std::string& path) {
  const auto* src = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, src, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return detail::errno_status(fmt::format("write {}", path), errno);
    }
    src += w;
    n -= static_cast<std::size_t>(w);
    offset += static_cast<std::uint64_t>(w);
  }
  return {};
}

inline bool is_zero(const Hash& h) noexcept {
  return std::all_of(h.begin(), h.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace tree_store_impl

FA_INLINE TreeStore::Level::Level(Level&& o) noexcept
    : fd(o.fd), written(o.written), pending(std::move(o.pending)), unsynced(o.unsynced) {
  o.fd = -1;
}

FA_INLINE TreeStore::Level& TreeStore::Level::operator=(Level&& o) noexcept {
  if (this != &o) {
    if (fd >= 0) ::close(fd);
    fd = o.fd;
    written = o.written;
    pending = std::move(o.pending);
    unsynced = o.unsynced;
    o.fd = -1;
  }
  return *this;
}

FA_INLINE TreeStore::Level::~Level() {
  if (fd >= 0) ::close(fd);
}

FA_INLINE std::string TreeStore::level_path(unsigned level) const {
  return tree_store_impl::level_path(dir_, level);
}

FA_INLINE Status TreeStore::open_level(unsigned level, bool create) {
  Level& l = levels_[level];
  if (l.fd >= 0) return {};
  const std::string path = level_path(level);
  const int flags = (writable_ ? O_RDWR : O_RDONLY) | O_CLOEXEC | (create ? O_CREAT : 0);
  const int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) {
    if (errno == ENOENT && !create) return {};  // a level the tree has not reached yet
    return detail::errno_status(fmt::format("open {}", path), errno);
  }
  l.fd = fd;
  if (create) dir_unsynced_ = true;
  return {};
}

FA_INLINE Result<TreeStore> TreeStore::open(const std::string& log_dir, bool writable) {
  using namespace tree_store_impl;
  TreeStore s;
  s.log_dir_ = log_dir;
  s.dir_ = log_dir + "/tree";
  s.writable_ = writable;
  s.levels_.resize(kLevels);

  struct stat st {};
  if (::stat(log_dir.c_str(), &st) != 0)
    return detail::errno_status(fmt::format("open log directory {}", log_dir), errno);
  if (writable) {
    if (::mkdir(s.dir_.c_str(), 0700) == 0) {
      if (Status e = detail::fsync_dir(log_dir); !e) return e;
    } else if (errno != EEXIST) {
      return detail::errno_status(fmt::format("create directory {}", s.dir_), errno);
    }
    Result<detail::DirLock> lock = detail::DirLock::acquire(s.dir_, 0600);
    if (!lock) {
      if (lock.status().code() == Code::locked)
        return Status(Code::locked, fmt::format("tree store {} is open for writing elsewhere ({})", s.dir_,
                                                lock.status().message()));
      return lock.status();
    }
    s.lock_ = std::move(lock).value();
  } else if (::stat(s.dir_.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return Status(Code::not_found,
                    fmt::format("no tree store in {}: open it writable and call sync_from_log()", log_dir));
    return detail::errno_status(fmt::format("open {}", s.dir_), errno);
  }

  // Nodes per level as found, then the largest size all levels agree on: level k must hold floor(size / 2^k).
  std::uint64_t count[kLevels] = {};
  std::uint64_t bytes[kLevels] = {};
  for (unsigned k = 0; k < kLevels; ++k) {
    if (Status e = s.open_level(k, false); !e) return e;
    Level& l = s.levels_[k];
    if (l.fd < 0) continue;
    if (::fstat(l.fd, &st) != 0) return detail::errno_status(fmt::format("stat {}", s.level_path(k)), errno);
    bytes[k] = static_cast<std::uint64_t>(st.st_size);
    count[k] = bytes[k] / kNodeBytes;
    // A crash can leave the end of a file allocated but never written: whole-zero nodes, which no SHA-256
    // output is in practice.
    std::vector<Hash> buf(kReadBatch);
    while (count[k] > 0) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(count[k], kReadBatch));
      if (Status e = pread_nodes(l.fd, count[k] - n, n, buf.data(), s.dir_, k); !e) return e;
      std::size_t keep = n;
      while (keep > 0 && is_zero(buf[keep - 1])) --keep;
      count[k] -= n - keep;
      if (keep > 0) break;
    }
  }
  std::uint64_t size = count[0];
  for (unsigned k = 1; k < kLevels; ++k)
    if (count[k] < (UINT64_MAX >> k))  // else it cannot constrain a 64-bit size
      size = std::min(size, ((count[k] + 1) << k) - 1);

  std::string note;
  for (unsigned k = 0; k < kLevels; ++k) {
    Level& l = s.levels_[k];
    const std::uint64_t want = size >> k;
    l.written = want;
    if (bytes[k] == want * kNodeBytes) continue;
    if (!writable) continue;  // read-only: use the consistent prefix, change nothing
    if (::ftruncate(l.fd, static_cast<off_t>(want * kNodeBytes)) != 0 || ::fdatasync(l.fd) != 0)
      return detail::errno_status(fmt::format("truncate {}", s.level_path(k)), errno);
    note += fmt::format("{}level-{:02}.bin cut from {} to {} bytes", note.empty() ? "" : "; ", k, bytes[k],
                        want * kNodeBytes);
  }
  if (!note.empty())
    s.repair_note_ =
        fmt::format("{} (consistent size {} leaves; sync_from_log() appends the rest again)", note, size);
  s.size_ = size;
  if (Status e = s.load_frontier(); !e) return e;
  return s;
}

FA_INLINE Status TreeStore::load_frontier() {
  frontier_.clear();
  for (unsigned k = tree_store_impl::kLevels; k-- > 0;) {
    if (((size_ >> k) & 1) == 0) continue;
    Result<Hash> h = node(k, (size_ >> k) - 1);
    if (!h) return h.status();
    frontier_.push_back(h.value());
  }
  return {};
}

FA_INLINE Result<Hash> TreeStore::node(unsigned level, std::uint64_t index) const {
  if (level >= tree_store_impl::kLevels || index >= (size_ >> level))
    return Status(Code::invalid_argument,
                  fmt::format("tree store: node ({}, {}) is beyond the {} leaves", level, index, size_));
  const Level& l = levels_[level];
  if (index >= l.written) return l.pending[static_cast<std::size_t>(index - l.written)];
  Hash h;
  if (Status e = tree_store_impl::pread_nodes(l.fd, index, 1, &h, dir_, level); !e) return e;
  return h;
}

FA_INLINE Status TreeStore::append(const Hash* leaves, std::size_t n) {
  if (!writable_) return {Code::invalid_argument, fmt::format("tree store {} is open read-only", dir_)};
  try {
    for (std::size_t i = 0; i < n; ++i) {
      // Each trailing set bit of size_ is a perfect subtree as high as the new one: merging with it completes
      // a node of the next level. State changes only after every hash is computed.
      Hash created[tree_store_impl::kLevels];
      std::size_t merged = 0;
      Hash carry = leaves[i];
      for (std::uint64_t s = size_; (s & 1) != 0; s >>= 1, ++merged) {
        carry = merkle::node_hash(frontier_[frontier_.size() - 1 - merged], carry);
        created[merged] = carry;
      }
      levels_[0].pending.push_back(leaves[i]);
      for (std::size_t j = 0; j < merged; ++j) levels_[j + 1].pending.push_back(created[j]);
      frontier_.resize(frontier_.size() - merged);
      frontier_.push_back(carry);
      ++size_;
      if (levels_[0].pending.size() >= tree_store_impl::kWriteBatch)
        if (Status e = write_pending(); !e) return e;
    }
  } catch (const std::exception& e) {
    return {Code::internal, fmt::format("tree store: node hash: {}", e.what())};
  }
  return {};
}

FA_INLINE Status TreeStore::write_pending() {
  // Lowest level first; open() accepts any subset of these writes surviving a crash.
  for (unsigned k = 0; k < tree_store_impl::kLevels; ++k) {
    Level& l = levels_[k];
    if (l.pending.empty()) continue;
    if (Status e = open_level(k, true); !e) return e;
    if (Status e = tree_store_impl::pwrite_all(l.fd, l.pending.data(),
                                               l.pending.size() * tree_store_impl::kNodeBytes,
                                               l.written * tree_store_impl::kNodeBytes, level_path(k));
        !e)
      return e;
    l.written += l.pending.size();
    l.pending.clear();
    l.unsynced = true;
  }
  return {};
}

FA_INLINE Status TreeStore::flush() {
  if (!writable_) return {};
  if (Status e = write_pending(); !e) return e;
  for (unsigned k = 0; k < tree_store_impl::kLevels; ++k) {
    Level& l = levels_[k];
    if (!l.unsynced) continue;
    if (::fdatasync(l.fd) != 0)
      return detail::errno_status(fmt::format("fdatasync {}", level_path(k)), errno);
    l.unsynced = false;
  }
  if (dir_unsynced_) {
    if (Status e = detail::fsync_dir(dir_); !e) return e;
    dir_unsynced_ = false;
  }
  return {};
}

FA_INLINE Result<Hash> TreeStore::root(std::uint64_t size) const {
  if (size > size_)
    return Status(Code::invalid_argument,
                  fmt::format("tree store: root of {} leaves, the store holds {}", size, size_));
  if (size != size_) return merkle::root_at(*this, size);
  if (frontier_.empty()) return merkle::empty_root();
  try {
    Hash h = frontier_.back();
    for (std::size_t i = frontier_.size() - 1; i-- > 0;) h = merkle::node_hash(frontier_[i], h);
    return h;
  } catch (const std::exception& e) {
    return Status(Code::internal, fmt::format("tree store: node hash: {}", e.what()));
  }
}

FA_INLINE Result<Hash> TreeStore::leaf(std::uint64_t index) const {
  if (index >= size_)
    return Status(Code::invalid_argument, fmt::format("tree store: leaf {} of {} leaves", index, size_));
  return node(0, index);
}

FA_INLINE Result<std::vector<Hash>> TreeStore::inclusion_proof(std::uint64_t index,
                                                               std::uint64_t size) const {
  return merkle::inclusion_proof(static_cast<const merkle::NodeSource&>(*this), index, size);
}

FA_INLINE Result<std::vector<Hash>> TreeStore::consistency_proof(std::uint64_t old_size,
                                                                 std::uint64_t new_size) const {
  return merkle::consistency_proof(static_cast<const merkle::NodeSource&>(*this), old_size, new_size);
}

FA_INLINE Status TreeStore::truncate_all() {
  for (unsigned k = 0; k < tree_store_impl::kLevels; ++k) {
    Level& l = levels_[k];
    l.pending.clear();
    l.written = 0;
    l.unsynced = false;
    if (l.fd < 0) continue;
    if (::ftruncate(l.fd, 0) != 0 || ::fdatasync(l.fd) != 0)
      return detail::errno_status(fmt::format("truncate {}", level_path(k)), errno);
  }
  frontier_.clear();
  size_ = 0;
  return {};
}

FA_INLINE Status TreeStore::rebuild(TreeSyncReport* report) {
  if (!writable_) return {Code::invalid_argument, fmt::format("tree store {} is open read-only", dir_)};
  if (Status e = truncate_all(); !e) return e;
  return sync_from_log(report);
}

FA_INLINE Status TreeStore::check() const {
  using namespace tree_store_impl;
  // Reads level k-1 and level k side by side, kReadBatch parents at a time.
  auto read_range = [this](unsigned level, std::uint64_t first, std::size_t n, Hash* out) -> Status {
    const Level& l = levels_[level];
    std::size_t i = 0;
    if (first < l.written) {
      i = static_cast<std::size_t>(std::min<std::uint64_t>(n, l.written - first));
      if (Status e = pread_nodes(l.fd, first, i, out, dir_, level); !e) return e;
    }
    for (; i < n; ++i) out[i] = l.pending[static_cast<std::size_t>(first + i - l.written)];
    return {};
  };
  std::vector<Hash> children(2 * kReadBatch), parents(kReadBatch);
  try {
    for (unsigned k = 1; k < kLevels && (size_ >> k) > 0; ++k) {
      const std::uint64_t total = size_ >> k;
      for (std::uint64_t first = 0; first < total; first += kReadBatch) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kReadBatch, total - first));
        if (Status e = read_range(k - 1, 2 * first, 2 * n, children.data()); !e) return e;
        if (Status e = read_range(k, first, n, parents.data()); !e) return e;
        for (std::size_t i = 0; i < n; ++i)
          if (merkle::node_hash(children[2 * i], children[2 * i + 1]) != parents[i])
            return {
                Code::corruption,
                fmt::format("{}: node {} is not the hash of its children in level-{:02}.bin; delete {} and "
                            "sync again (or call TreeStore::rebuild())",
                            level_path(k), first + i, k - 1, dir_)};
      }
    }
  } catch (const std::exception& e) {
    return {Code::internal, fmt::format("tree store: node hash: {}", e.what())};
  }
  return {};
}

FA_INLINE Status TreeStore::sync_from_log(TreeSyncReport* report) {
  TreeSyncReport local;
  TreeSyncReport& rep = report != nullptr ? *report : local;
  rep = TreeSyncReport();
  if (!writable_) return {Code::invalid_argument, fmt::format("tree store {} is open read-only", dir_)};
  Result<std::vector<detail::SegmentInfo>> listed = detail::list_segments(log_dir_);
  if (!listed) return listed.status();
  const std::vector<detail::SegmentInfo>& segs = listed.value();
  const std::uint64_t start_size = size_;

  // Resume at the segment holding record size_-1, which is checked against the store's last leaf first.
  bool checking = size_ > 0;
  const std::uint64_t first_needed = checking ? size_ - 1 : 0;
  std::size_t start = segs.size();
  for (std::size_t i = segs.size(); i-- > 0;)
    if (segs[i].first_seq <= first_needed) {
      start = i;
      break;
    }

  bool stopped = false, mismatch = false, trailing = false, skip_to_lf = false;
  Status failure;  // an I/O or OpenSSL failure, not a finding
  std::uint64_t expect = size_;
  Hash prev{};
  std::string log_id;
  std::vector<Hash> batch;
  batch.reserve(4096);
  std::size_t stop_segment = 0;

  auto stop = [&](std::size_t seg, std::uint64_t offset, std::string reason, std::string detail_text) {
    stopped = true;
    stop_segment = seg;
    rep.stopped_reason = std::move(reason);
    rep.stopped_segment = segs[seg].name;
    rep.stopped_offset = offset;
    rep.stopped_seq = checking ? first_needed : expect;
    rep.detail = std::move(detail_text);
  };
  auto flush_batch = [&]() -> bool {
    if (batch.empty()) return true;
    failure = append(batch.data(), batch.size());
    batch.clear();
    return failure.ok();
  };

  if (segs.empty()) {
    if (size_ > 0) {
      mismatch = true;
      rep.stopped_reason = "store_mismatch";
      rep.detail = fmt::format("the log has no segment but the tree store holds {} leaves", size_);
    }
  } else if (start == segs.size()) {  // every segment starts after the first record needed
    if (checking) {
      mismatch = true;
      rep.detail = fmt::format("the log's first segment is {}: no segment holds record {}", segs[0].name,
                               first_needed);
    } else {
      stop(0, 0, "missing_segment", fmt::format("the log starts with {}, not with seq 0", segs[0].name));
      trailing = true;
    }
  }

  try {
    for (std::size_t si = start; si < segs.size() && !stopped && !mismatch && failure.ok(); ++si) {
      const detail::SegmentInfo& seg = segs[si];
      const int fd = ::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        failure = detail::errno_status(fmt::format("open {}", seg.path), errno);
        break;
      }
      std::uint64_t pos = 0, line_start = 0, line_no = 0;
      std::string carry;

      auto handle_line = [&](std::string_view line, std::uint64_t offset) {
        if (checking) {
          const std::uint64_t line_seq = seg.first_seq + line_no++;
          if (line_seq < first_needed) return;
          record::View v;
          const record::ParseResult parsed = record::parse(line, &v);
          Result<Hash> stored = leaf(first_needed);
          if (!stored) {
            failure = stored.status();
            stopped = true;
            return;
          }
          std::string why;
          if (!parsed)
            why = fmt::format("the line there is not a record ({})", record::parse_error_name(parsed.error));
          else if (v.seq != first_needed)
            why = fmt::format("the line there is record {}", v.seq);
          else if (record::chain_hash(line) != stored.value())
            why = fmt::format("its chain hash {} differs from the store's leaf {}",
                              detail::to_hex(record::chain_hash(line)), detail::to_hex(stored.value()));
          if (!why.empty()) {
            stop(si, offset, "store_mismatch",
                 fmt::format("record {} ({} offset {}): {}", first_needed, seg.name, offset, why));
            mismatch = true;
            return;
          }
          prev = stored.value();
          log_id = std::string(v.log_id);
          checking = false;
          return;
        }
        if (line.size() > record::kMaxRecordBytes) {
          stop(si, offset, "record_too_large", fmt::format("a line of {} bytes", line.size()));
          return;
        }
        record::View v;
        const record::ParseResult parsed = record::parse(line, &v);
        if (!parsed) {
          stop(si, offset, std::string(record::parse_error_name(parsed.error)), parsed.detail);
          return;
        }
        if (v.seq != expect) {
          stop(si, offset, "sequence", fmt::format("record {} where {} was expected", v.seq, expect));
          return;
        }
        if (!log_id.empty() && v.log_id != log_id) {
          stop(si, offset, "log_id_mismatch", fmt::format("log_id {} in a log of {}", v.log_id, log_id));
          return;
        }
        if (expect == 0 ? v.prev != record::genesis_hash(v.log_id) : v.prev != prev) {
          stop(si, offset, expect == 0 ? "genesis_mismatch" : "broken_link",
               fmt::format("prev {} is not the chain hash {} of the record before", detail::to_hex(v.prev),
                           detail::to_hex(expect == 0 ? record::genesis_hash(v.log_id) : prev)));
          return;
        }
        prev = record::chain_hash(line);
        if (log_id.empty()) log_id = std::string(v.log_id);
        batch.push_back(prev);
        ++expect;
        if (batch.size() >= 4096 && !flush_batch()) stopped = true;
      };

      auto sink = [&](std::string_view chunk) {
        std::size_t i = 0;
        while (i < chunk.size()) {
          if (stopped || mismatch) {
            if (skip_to_lf) {  // the rest of a line too long to keep belongs to the line stopped on
              const std::size_t nl = chunk.find('\n', i);
              if (nl == std::string_view::npos) break;
              i = nl + 1;
              skip_to_lf = false;
              continue;
            }
            trailing = true;
            break;
          }
          const std::size_t nl = chunk.find('\n', i);
          if (nl == std::string_view::npos) {
            carry.append(chunk.substr(i));
            if (carry.size() > record::kMaxRecordBytes) {
              if (checking) {
                stop(si, line_start, "store_mismatch",
                     fmt::format("a line of more than {} bytes before record {}", record::kMaxRecordBytes,
                                 first_needed));
                mismatch = true;
              } else {
                stop(si, line_start, "record_too_large",
                     fmt::format("a line of more than {} bytes", record::kMaxRecordBytes));
              }
              skip_to_lf = true;
              carry.clear();
            }
            break;
          }
          if (carry.empty()) {
            handle_line(chunk.substr(i, nl - i), line_start);
          } else {
            carry.append(chunk.substr(i, nl - i));
            handle_line(carry, line_start);
            carry.clear();
          }
          line_start = pos + nl + 1;
          i = nl + 1;
        }
        pos += chunk.size();
      };

      Status read = detail::read_chunks(fd, 1u << 20, sink, seg.path);
      ::close(fd);
      if (!read) {
        failure = read;
        break;
      }
      if (!stopped && !mismatch && failure.ok() && !carry.empty()) {
        if (checking) {
          stop(si, line_start, "store_mismatch",
               fmt::format("the log ends in a torn line ({} bytes without LF) before record {}", carry.size(),
                           first_needed));
          mismatch = true;
        } else {
          stop(si, line_start, "torn_record",
               fmt::format("{} bytes without LF at the end of the segment", carry.size()));
        }
      }
    }
  } catch (const std::exception& e) {
    failure = Status(Code::internal, fmt::format("tree store: hashing a record: {}", e.what()));
  }
  if (!failure) return failure;
  if (checking && !mismatch && rep.stopped_reason.empty()) {
    mismatch = true;
    rep.stopped_reason = "store_mismatch";
    if (rep.detail.empty())
      rep.detail = fmt::format("the log ends before record {}, the store's last leaf", first_needed);
  }
  if (mismatch) {
    rep.size = size_;
    rep.stopped_reason = "store_mismatch";
    rep.stopped_seq = first_needed;
    return {Code::corruption,
            fmt::format(
                "tree store {} does not match the log: {}. It is stale (the log was replaced or lost records "
                "in a crash) or it was altered; delete {} and sync again, or call TreeStore::rebuild()",
                dir_, rep.detail, dir_)};
  }
  if (!flush_batch()) return failure;
  if (Status e = flush(); !e) return e;
  rep.appended = size_ - start_size;
  rep.size = size_;
  if (!stopped) {
    rep.at_end = true;
    return {};
  }
  // A tail when nothing follows the line stopped on but empty segments.
  bool tail = !trailing;
  for (std::size_t i = stop_segment + 1; i < segs.size() && tail; ++i) {
    struct stat st {};
    if (::stat(segs[i].path.c_str(), &st) != 0)
      return detail::errno_status(fmt::format("stat {}", segs[i].path), errno);
    tail = st.st_size == 0;
  }
  rep.stopped_at_tail = tail;
  if (tail) return {};
  return {
      Code::corruption,
      fmt::format(
          "log {} offset {} (seq {}): {}: {}; more of the log follows, so this is not a torn tail. The tree "
          "store holds the {} records before it; check the log with the verifier",
          rep.stopped_segment, rep.stopped_offset, rep.stopped_seq, rep.stopped_reason, rep.detail, size_)};
}

}  // namespace fooocus_audit
