// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/file_hash.hpp"
#endif

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <memory>

#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/detail/segment_store.hpp"

namespace fooocus_audit {

FA_INLINE Result<std::string> hash_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return detail::errno_status(fmt::format("open {}", path), errno);
  detail::Sha256 h;
  constexpr std::size_t kChunk = 1u << 20;
  std::unique_ptr<char[]> buf(new char[kChunk]);
  for (;;) {
    const ssize_t n = ::read(fd, buf.get(), kChunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return detail::errno_status(fmt::format("read {}", path), err);
    }
    if (n == 0) break;
    h.update(buf.get(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return "sha256:" + detail::to_hex(h.final());
}

}  // namespace fooocus_audit
