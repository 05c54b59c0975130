// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/detail/segment_store.hpp"
#endif

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "fooocus_audit/detail/crypto.hpp"

namespace fooocus_audit {
namespace detail {

FA_INLINE std::string segment_name(std::uint64_t first_seq) { return fmt::format("segment-{:020}.jsonl", first_seq); }

FA_INLINE std::optional<std::uint64_t> parse_segment_name(std::string_view name) noexcept {
  constexpr std::string_view kPrefix = "segment-", kSuffix = ".jsonl";
  if (name.size() != kPrefix.size() + 20 + kSuffix.size() || name.substr(0, kPrefix.size()) != kPrefix ||
      name.substr(kPrefix.size() + 20) != kSuffix)
    return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = kPrefix.size(); i < kPrefix.size() + 20; ++i) {
    const char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

FA_INLINE Status errno_status(std::string_view what, int err) {
  const Code code = err == ENOENT ? Code::not_found : Code::io_error;
  return {code, fmt::format("{}: {}", what, std::strerror(err))};
}

FA_INLINE Result<std::vector<SegmentInfo>> list_segments(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return errno_status(fmt::format("open log directory {}", dir), errno);
  std::vector<SegmentInfo> out;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (auto seq = parse_segment_name(name)) out.push_back({dir + "/" + std::string(name), std::string(name), *seq});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const SegmentInfo& a, const SegmentInfo& b) { return a.first_seq < b.first_seq; });
  return out;
}

FA_INLINE Status read_chunks(int fd, std::size_t chunk, const std::function<void(std::string_view)>& sink,
                            std::string_view what) {
  std::unique_ptr<char[]> buf(new char[chunk]);
  for (;;) {
    const ssize_t n = ::read(fd, buf.get(), chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(fmt::format("read {}", what), errno);
    }
    if (n == 0) return {};
    sink(std::string_view(buf.get(), static_cast<std::size_t>(n)));
  }
}

FA_INLINE Result<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_status(fmt::format("open {}", path), errno);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return errno_status(fmt::format("read {}", path), err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

FA_INLINE Status write_all(int fd, const char* data, std::size_t n, std::string_view what) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno_status(fmt::format("write {}", what), errno);
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return {};
}

FA_INLINE Status fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status(fmt::format("open directory {}", dir), errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return errno_status(fmt::format("fsync directory {}", dir), err);
  return {};
}

FA_INLINE std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}

FA_INLINE Status create_file_exclusive(const std::string& path, std::string_view bytes, mode_t mode,
                                       std::string_view what) {
  const std::string name = what.empty() ? path : fmt::format("{} {}", what, path);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return errno_status(fmt::format("create {}", name), errno);
  Status s = write_all(fd, bytes.data(), bytes.size(), name);
  if (s && ::fsync(fd) != 0) s = errno_status(fmt::format("fsync {}", name), errno);
  if (::close(fd) != 0 && s) s = errno_status(fmt::format("close {}", name), errno);
  if (s) s = fsync_dir(parent_dir(path));
  if (!s) ::unlink(path.c_str());
  return s;
}

FA_INLINE Status write_file_atomic(const std::string& path, std::string_view bytes, mode_t mode) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return errno_status(fmt::format("create {}", tmp), errno);
  Status s;
  // A temporary file left behind by a crashed earlier run keeps its old mode through O_TRUNC.
  if (::fchmod(fd, mode) != 0) s = errno_status(fmt::format("chmod {}", tmp), errno);
  if (s) s = write_all(fd, bytes.data(), bytes.size(), tmp);
  if (s && ::fsync(fd) != 0) s = errno_status(fmt::format("fsync {}", tmp), errno);
  if (::close(fd) != 0 && s) s = errno_status(fmt::format("close {}", tmp), errno);
  if (s && ::rename(tmp.c_str(), path.c_str()) != 0) s = errno_status(fmt::format("rename {}", path), errno);
  if (!s) {
    ::unlink(tmp.c_str());
    return s;
  }
  return fsync_dir(parent_dir(path));
}

FA_INLINE Status ensure_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return {};
  return errno_status(fmt::format("create directory {}", dir), errno);
}

FA_INLINE DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

FA_INLINE DirLock& DirLock::operator=(DirLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

FA_INLINE Result<DirLock> DirLock::acquire(const std::string& dir, mode_t mode) {
  const std::string path = dir + "/LOCK";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) return errno_status(fmt::format("open {}", path), errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    if (err == EWOULDBLOCK)
      return Status(Code::locked, fmt::format("log directory {} is locked by another writer{}", dir,
                                              n > 0 ? fmt::format(" (pid {})", std::string(buf, static_cast<std::size_t>(n))) : ""));
    return errno_status(fmt::format("lock {}", path), err);
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The pid is only a diagnostic for the "locked" message; the lock itself is held.
  }
  DirLock lock;
  lock.fd_ = fd;
  return lock;
}

FA_INLINE SegmentFile::~SegmentFile() { close(); }

FA_INLINE SegmentFile::SegmentFile(SegmentFile&& o) noexcept
    : fd_(o.fd_), size_(o.size_), first_seq_(o.first_seq_), name_(std::move(o.name_)) {
  o.fd_ = -1;
}

FA_INLINE SegmentFile& SegmentFile::operator=(SegmentFile&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    size_ = o.size_;
    first_seq_ = o.first_seq_;
    name_ = std::move(o.name_);
    o.fd_ = -1;
  }
  return *this;
}

FA_INLINE void SegmentFile::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

FA_INLINE Result<SegmentFile> SegmentFile::open(const std::string& dir, std::uint64_t first_seq, mode_t mode) {
  SegmentFile f;
  f.name_ = segment_name(first_seq);
  f.first_seq_ = first_seq;
  const std::string path = dir + "/" + f.name_;
  bool created = true;
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  }
  if (fd < 0) return errno_status(fmt::format("open {}", path), errno);
  f.fd_ = fd;
  // A segment this call created but could not make durable is removed again: an empty segment that is
  // not the newest would break the log (§5.1).
  auto fail = [&](Status s) -> Result<SegmentFile> {
    if (created) ::unlink(path.c_str());
    return s;
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(errno_status(fmt::format("stat {}", path), errno));
  f.size_ = static_cast<std::uint64_t>(st.st_size);
  if (created) {
    if (::fsync(fd) != 0) return fail(errno_status(fmt::format("fsync {}", path), errno));
    if (Status s = fsync_dir(dir); !s) return fail(std::move(s));
  }
  return f;
}

FA_INLINE Status SegmentFile::append(const char* data, std::size_t n) {
  Status s = write_all(fd_, data, n, name_);
  if (s) size_ += n;
  return s;
}

FA_INLINE Status SegmentFile::sync() {
  if (::fdatasync(fd_) != 0) return errno_status(fmt::format("fdatasync {}", name_), errno);
  return {};
}

FA_INLINE Status SegmentFile::truncate(std::uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
    return errno_status(fmt::format("truncate {}", name_), errno);
  size_ = size;
  return {};
}

FA_INLINE Result<std::vector<PendingQuarantine>> list_pending_quarantine(const std::string& dir) {
  std::vector<PendingQuarantine> out;
  const std::string qdir = dir + "/quarantine";
  DIR* d = ::opendir(qdir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return errno_status(fmt::format("open {}", qdir), errno);
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    constexpr std::string_view kTorn = ".torn";
    if (name.size() > kTorn.size() + kPendingSuffix.size() &&
        name.substr(name.size() - kPendingSuffix.size()) == kPendingSuffix)
      names.emplace_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    PendingQuarantine q;
    q.quarantine = "quarantine/" + name.substr(0, name.size() - kPendingSuffix.size());
    // <segment name>.<offset>[.<n>].torn
    const std::size_t seg_end = name.find(".jsonl.");
    if (seg_end != std::string::npos) {
      q.segment = name.substr(0, seg_end + 6);
      q.offset = std::strtoull(name.c_str() + seg_end + 7, nullptr, 10);
    }
    Result<std::string> bytes = read_file(qdir + "/" + name);
    if (!bytes) return bytes.status();
    q.bytes = bytes->size();
    q.sha256 = to_hex(sha256(bytes.value()));
    out.push_back(std::move(q));
  }
  return out;
}

FA_INLINE Status finish_quarantine(const std::string& dir, const std::vector<std::string>& quarantined) {
  if (quarantined.empty()) return {};
  for (const std::string& rel : quarantined) {
    const std::string from = dir + "/" + rel + std::string(kPendingSuffix), to = dir + "/" + rel;
    if (::rename(from.c_str(), to.c_str()) != 0) return errno_status(fmt::format("rename {}", from), errno);
  }
  return fsync_dir(dir + "/quarantine");
}

FA_INLINE Result<std::string> quarantine_tail(const std::string& dir, const SegmentInfo& seg,
                                              std::uint64_t offset, std::string_view tail_bytes, mode_t mode) {
  const std::string qdir = dir + "/quarantine";
  if (Status s = ensure_dir(qdir); !s) return s;
  if (Status s = fsync_dir(dir); !s) return s;  // the quarantine directory itself must survive a crash
  std::string rel, path;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    rel = fmt::format("quarantine/{}.{}{}.torn", seg.name, offset, attempt ? fmt::format(".{}", attempt) : "");
    path = dir + "/" + rel + std::string(kPendingSuffix);
    struct stat st {};
    if (::stat((dir + "/" + rel).c_str(), &st) == 0) continue;  // the final name is taken too
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0 && (errno != EEXIST || attempt > 1000)) return errno_status(fmt::format("create {}", path), errno);
  }
  Status s = write_all(fd, tail_bytes.data(), tail_bytes.size(), rel);
  if (s && ::fsync(fd) != 0) s = errno_status(fmt::format("fsync {}", path), errno);
  ::close(fd);
  if (!s) return s;
  if (s = fsync_dir(qdir); !s) return s;
  const int sfd = ::open(seg.path.c_str(), O_WRONLY | O_CLOEXEC);
  if (sfd < 0) return errno_status(fmt::format("open {}", seg.path), errno);
  if (::ftruncate(sfd, static_cast<off_t>(offset)) != 0 || ::fsync(sfd) != 0) {
    const int err = errno;
    ::close(sfd);
    return errno_status(fmt::format("truncate {}", seg.name), err);
  }
  ::close(sfd);
  return rel;
}

}  // namespace detail
}  // namespace fooocus_audit
