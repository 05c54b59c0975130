// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/file_hash.hpp"
#endif

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>


#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/detail/segment_store.hpp"

namespace fooocus_audit {

FA_INLINE Result<std::string> hash_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return detail::errno_status(fmt::format("open {}", path), errno);
  detail::Sha256 h;
  const Status s = detail::read_chunks(fd, 1u << 20, [&h](std::string_view chunk) { h.update(chunk); }, path);
  ::close(fd);
  if (!s) return s;
  return "sha256:" + detail::to_hex(h.final());
}

}  // namespace fooocus_audit
