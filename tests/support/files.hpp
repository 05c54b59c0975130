// SPDX-License-Identifier: Apache-2.0
#pragma once
// Temporary directories and raw file access for tests: what a crash, an attacker with a hex editor, or an
// auditor with a copy of the log would do to the files.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fooocus_audit/detail/segment_store.hpp"

namespace fa_test {

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it when the object dies.
class TempDir {
 public:
  explicit TempDir(const char* prefix = "fa_test") {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" + prefix + ".XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + tmpl);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const noexcept { return path_; }
  /// path()/name
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

/// Whole file as bytes; throws when it cannot be read.
inline std::string read_bytes(const std::string& path) {
  fooocus_audit::Result<std::string> r = fooocus_audit::detail::read_file(path);
  if (!r) throw std::runtime_error(r.status().to_string());
  return r.value();
}

namespace files_impl {
inline void write_with(const std::string& path, std::string_view bytes, int flags) {
  const int fd = ::open(path.c_str(), flags | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("open " + path);
  const fooocus_audit::Status s = fooocus_audit::detail::write_all(fd, bytes.data(), bytes.size(), path);
  ::close(fd);
  if (!s) throw std::runtime_error(s.to_string());
}
}  // namespace files_impl

/// Replaces a file's contents (creating it 0600).
inline void write_bytes(const std::string& path, std::string_view bytes) {
  files_impl::write_with(path, bytes, O_CREAT | O_TRUNC);
}

/// Appends raw bytes to a file (as a crash or an attacker would), no fsync.
inline void append_bytes(const std::string& path, std::string_view bytes) {
  files_impl::write_with(path, bytes, O_APPEND);
}

/// Overwrites bytes in place at `offset`, like an attacker with a hex editor.
inline void patch_file(const std::string& path, std::uint64_t offset, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + path);
  const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
  ::close(fd);
  if (n != static_cast<ssize_t>(bytes.size())) throw std::runtime_error("cannot patch " + path);
}

inline void truncate_file(const std::string& path, std::uint64_t size) {
  if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) throw std::runtime_error("truncate " + path);
}

inline bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace fa_test
