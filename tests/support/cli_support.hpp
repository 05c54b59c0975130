// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file tests/support/cli_support.hpp
/// The fooocus-audit tool run as a separate process, for test_cli.cpp and test_cli_keys.cpp: spawn it with
/// files for standard input, output and error, wait for its exit status, or run it to completion.
/// Available when the build defines FA_CLI_PATH (the tool's path).

#include <fcntl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>
#include <vector>

#include "log_fixture.hpp"

#ifdef FA_CLI_PATH

namespace fa_test {

/// What a finished run of the tool left behind.
struct Run {
  int status = -1;  ///< exit status, or -1 if the process did not exit normally
  std::string out, err;
};

/// Starts the CLI with `args`, standard input from in_path, output to out_path / err_path. Returns its pid.
inline pid_t spawn_cli(const std::vector<std::string>& args, const std::string& in_path,
                       const std::string& out_path, const std::string& err_path) {
  std::vector<std::string> argv_s{FA_CLI_PATH};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int in = ::open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
  const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(in >= 0);
  REQUIRE(out >= 0);
  REQUIRE(err >= 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec (the test process has threads).
    if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(127);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in);
  ::close(out);
  ::close(err);
  return pid;
}

/// Waits for pid; its exit status, or -1 if it did not exit normally.
inline int wait_exit(pid_t pid) {
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) REQUIRE(errno == EINTR);
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

/// Runs the CLI to completion with `input` on standard input, and collects its exit status and output.
inline Run run_cli(const std::vector<std::string>& args, const std::string& input = "") {
  TempDir io;
  write_bytes(io / "stdin", input);
  const pid_t pid = spawn_cli(args, io / "stdin", io / "stdout", io / "stderr");
  Run r;
  r.status = wait_exit(pid);
  r.out = read_bytes(io / "stdout");
  r.err = read_bytes(io / "stderr");
  return r;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// sample_event(from) .. sample_event(to - 1), one JSON line each: what `append` reads.
inline std::string ndjson(int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i) s += sample_event(i).dump() + "\n";
  return s;
}

}  // namespace fa_test

#endif  // FA_CLI_PATH
