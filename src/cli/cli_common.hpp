// SPDX-License-Identifier: Apache-2.0
#pragma once
// Helpers shared by the fooocus-audit subcommands (src/cli/*.cpp): exit codes, argument parsing, input and
// output. Each subcommand lives in its own file and is declared in commands.hpp.

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fooocus_audit/fooocus_audit.hpp"

namespace fa_cli {

namespace fa = fooocus_audit;

// Exit codes (docs/cli.md).
inline constexpr int kOk = 0;
inline constexpr int kFindings = 1;  // verify: not intact; append: some lines refused; check-proof: invalid bundle
inline constexpr int kUsage = 2;     // usage or I/O error


inline bool parse_u64(const char* s, std::uint64_t* out) {
  if (s == nullptr || *s == '\0' || *s == '-') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

inline int usage_error(const std::string& msg, const char* help) {
  fmt::print(stderr, "fooocus-audit: {}\n\n{}", msg, help);
  return kUsage;
}

inline int fail(const char* cmd, const std::string& msg) {
  fmt::print(stderr, "fooocus-audit {}: {}\n", cmd, msg);
  return kUsage;
}

inline bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

/// Reads a file, or standard input for "-", keeping at most `limit` + 1 bytes (the caller refuses more).
inline fa::Result<std::string> read_input(const std::string& path, std::size_t limit) {
  const int fd = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fa::detail::errno_status(fmt::format("open {}", path), errno);
  std::string out;
  fa::Status s = fa::detail::read_chunks(
      fd, 1u << 16,
      [&](std::string_view chunk) { out.append(chunk.substr(0, limit + 1 - std::min(out.size(), limit + 1))); },
      path == "-" ? "standard input" : path);
  if (fd != STDIN_FILENO) ::close(fd);
  if (!s) return s;
  return out;
}

/// Writes `data` to a file created or replaced with mode 0600 (a bundle holds a record), or to standard output.
inline fa::Status write_output(const std::string& path, const std::string& data) {
  if (path == "-") return fa::detail::write_all(STDOUT_FILENO, data.data(), data.size(), "standard output");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fa::detail::errno_status(fmt::format("open {}", path), errno);
  fa::Status s = fa::detail::write_all(fd, data.data(), data.size(), path);
  if (s && ::fsync(fd) != 0) s = fa::detail::errno_status(fmt::format("fsync {}", path), errno);
  ::close(fd);
  return s;
}

// Reads one line of at most `limit` bytes; longer lines are consumed and reported as too long.
enum class LineResult { ok, too_long, eof };
inline LineResult read_line(std::FILE* in, std::string& line, std::size_t limit) {
  // Byte by byte (getc_unlocked: no lock per byte), so a NUL inside a line is kept as data; a line longer than
  // limit is consumed to its end and reported as too_long.
  line.clear();
  bool too_long = false, any = false;
  for (int c; (c = getc_unlocked(in)) != EOF;) {
    any = true;
    if (c == '\n') return too_long ? LineResult::too_long : LineResult::ok;
    if (too_long) continue;
    if (line.size() == limit) {
      too_long = true;
      line.clear();
      continue;
    }
    line.push_back(static_cast<char>(c));
  }
  if (!any) return LineResult::eof;
  return too_long ? LineResult::too_long : LineResult::ok;
}

}  // namespace fa_cli
