// SPDX-License-Identifier: Apache-2.0
// crash_writer: a process for tests/test_crash.cpp to SIGKILL at a random moment.
//
//   crash_writer <dir> <none|group_commit|always> <run> <flush_every> [max_segment_bytes]
//
// Opens the log in <dir>, writes "ready\n" to standard output, then logs numbered events forever,
// alternating GenerationEvents (request_id "r<run>-n<n>") and JSON events ({"run":<run>,"n":<n>,...}).
// After every <flush_every> events it calls flush() and, once flush() has returned ok, writes "<n>\n"
// (the last n covered) to standard output with write(2): the test's proof of what was acknowledged.
// With FA_CRASH_MAC_KEY=<file> and FA_CRASH_SIGNING_KEY=<file> in the environment the log is keyed:
// forward-secure MACs with short epochs (25 records) and signed checkpoints every 40 records, appended to
// FA_CRASH_ANCHOR=<file> when set.
// Exit codes: 2 usage, 3 open failed, 4 log/flush failed, 5 standard output closed.
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>

#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/signer.hpp"

namespace {

using fooocus_audit::AuditLogger;
using fooocus_audit::Durability;

bool say(std::string_view text) {
  while (!text.empty()) {
    const ssize_t w = ::write(STDOUT_FILENO, text.data(), text.size());
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(w));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || argc > 6) {
    std::fprintf(
        stderr,
        "usage: crash_writer <dir> <none|group_commit|always> <run> <flush_every> [max_segment_bytes]\n");
    return 2;
  }
  fooocus_audit::LoggerOptions opts;
  opts.dir = argv[1];
  const std::string_view mode = argv[2];
  if (mode == "none")
    opts.durability = Durability::none;
  else if (mode == "group_commit")
    opts.durability = Durability::group_commit;
  else if (mode == "always")
    opts.durability = Durability::always;
  else {
    std::fprintf(stderr, "crash_writer: unknown durability %s\n", argv[2]);
    return 2;
  }
  const std::int64_t run = std::strtoll(argv[3], nullptr, 10);
  const long flush_every = std::strtol(argv[4], nullptr, 10);
  if (flush_every < 1) return 2;
  if (argc == 6) opts.max_segment_bytes = std::strtoull(argv[5], nullptr, 10);
  opts.group_commit_interval = std::chrono::milliseconds(2);
  if (const char* mac = std::getenv("FA_CRASH_MAC_KEY")) {
    opts.mac_key_path = mac;
    opts.mac_epoch_records = 25;
  }
  if (const char* key_path = std::getenv("FA_CRASH_SIGNING_KEY")) {
    auto key = fooocus_audit::note::SigningKey::load(key_path);
    if (!key.ok()) {
      std::fprintf(stderr, "crash_writer: signing key: %s\n", key.status().to_string().c_str());
      return 3;
    }
    opts.signer = std::make_shared<fooocus_audit::LocalSigner>(std::move(key.value()));
    opts.checkpoint_records = 40;
    if (const char* anchor = std::getenv("FA_CRASH_ANCHOR")) opts.checkpoint_anchor_path = anchor;
  }

  auto opened = AuditLogger::open(opts);
  if (!opened.ok()) {
    std::fprintf(stderr, "crash_writer: open: %s\n", opened.status().to_string().c_str());
    return 3;
  }
  auto lg = std::move(opened).value();
  if (!say("ready\n")) return 5;

  // Event sizes vary so that the kill tears records at varied offsets.
  std::mt19937_64 rng(static_cast<std::uint64_t>(run) * 7919 + 17);
  fooocus_audit::GenerationEvent gen;
  gen.timestamp = "2026-03-25T14:30:45.123456Z";
  gen.user_id = "user_1";
  gen.request.performance = "Speed";
  gen.request.aspect_ratio = "1024x1024";
  gen.outputs = {{"https://example.invalid/out.png", "sha256:" + std::string(64, 'c'), 1024, 1024, 1234567}};
  for (std::int64_t n = 0;; ++n) {
    // Now and then a large event: a write(2) over many pages is where SIGKILL can tear a record.
    const std::size_t pad = static_cast<std::size_t>(rng() % 8 == 0 ? 4096 + rng() % 60000 : rng() % 600);
    fooocus_audit::Status s;
    if (n % 2 == 0) {
      s = lg->log(nlohmann::json{
          {"event_type", "test.crash"}, {"run", run}, {"n", n}, {"pad", std::string(pad, 'x')}});
    } else {
      gen.request_id = "r" + std::to_string(run) + "-n" + std::to_string(n);
      gen.request.prompt_sanitized.assign(pad, 'p');
      s = lg->log(gen);
    }
    if (!s.ok()) {
      std::fprintf(stderr, "crash_writer: log: %s\n", s.to_string().c_str());
      return 4;
    }
    if ((n + 1) % flush_every == 0) {
      if (fooocus_audit::Status f = lg->flush(); !f.ok()) {
        std::fprintf(stderr, "crash_writer: flush: %s\n", f.to_string().c_str());
        return 4;
      }
      if (!say(std::to_string(n) + "\n")) return 5;
    }
  }
}
