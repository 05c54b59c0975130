// SPDX-License-Identifier: Apache-2.0
// Crash consistency (docs/log-format.md §6.3, §7.1): tests/helpers/crash_writer logs numbered events and
// acknowledges every successful flush(); the test SIGKILLs it at a random moment, reopens the log (a torn
// tail is quarantined), verifies it and checks that every acknowledged event is there, in order, exactly
// once, and that what survived of the killed run is a prefix of what it logged.
//
// FA_CRASH_SEED=<n> replays a run; FA_CRASH_KILLS=<n> changes the number of kills (default 54).
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/chain_verifier.hpp"
#include "fooocus_audit/mac_key.hpp"
#include "fooocus_audit/signer.hpp"
#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/record.hpp"
#include "support/logger_support.hpp"

#ifndef FA_TEST_HELPER_DIR
#error "FA_TEST_HELPER_DIR must name the directory of the test helper programs (tests/CMakeLists.txt)"
#endif

using fooocus_audit::AuditLogger;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

struct Spawned {
  pid_t pid = -1;
  int out = -1;  // read end of the helper's standard output
};

Spawned spawn_writer(const std::vector<std::string>& args) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

// Reads what the helper wrote until `deadline` (or EOF); complete lines go to `lines`.
// Returns false on EOF (the helper is gone).
bool read_lines_until(int fd, Clock::time_point deadline, std::string& partial,
                      std::vector<std::string>& lines, bool stop_at_ready = false) {
  char buf[4096];
  for (;;) {
    const auto now = Clock::now();
    if (now >= deadline) return true;
    pollfd p{fd, POLLIN, 0};
    const int ms =
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
    const int rc = ::poll(&p, 1, ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    partial.append(buf, static_cast<std::size_t>(n));
    bool ready = false;
    for (std::size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
      lines.push_back(partial.substr(0, nl));
      if (lines.back() == "ready") ready = true;
      partial.erase(0, nl + 1);
    }
    if (stop_at_ready && ready) return true;
  }
}

// Where the previous check stopped, so that each check parses only the records added since.
struct Cursor {
  std::uint64_t segment_first_seq = 0;
  std::uint64_t offset = 0;
  std::uint64_t next_seq = 0;
  std::string prev_hex;
};

// New records since the cursor, with seq and link checked against the records before them.
std::vector<json> read_new_records(const std::string& dir, Cursor& c) {
  std::vector<json> out;
  for (const auto& seg : fa_test::segments(dir)) {
    if (seg.first_seq < c.segment_first_seq) continue;
    const std::string bytes = fa_test::read_bytes(seg.path);
    const std::uint64_t from = seg.first_seq == c.segment_first_seq ? c.offset : 0;
    REQUIRE(bytes.size() >= from);
    REQUIRE((bytes.size() == from || bytes.back() == '\n'));
    for (const std::string& line : fa_test::split_lines(std::string_view(bytes).substr(from))) {
      json r = json::parse(line);
      REQUIRE(r["seq"] == c.next_seq);
      if (c.next_seq > 0) REQUIRE(r["prev"] == c.prev_hex);
      c.prev_hex = fooocus_audit::detail::to_hex(fooocus_audit::record::chain_hash(line));
      ++c.next_seq;
      out.push_back(std::move(r));
    }
    c.segment_first_seq = seg.first_seq;
    c.offset = bytes.size();
  }
  return out;
}

// (run, n) of a crash_writer event; false for other records.
bool crash_event_id(const json& event, std::int64_t* run, std::int64_t* n) {
  const std::string type = event["event_type"].get<std::string>();
  if (type == "test.crash") {
    *run = event["run"].get<std::int64_t>();
    *n = event["n"].get<std::int64_t>();
    return true;
  }
  if (type == "image_generation") {
    const std::string id = event["request_id"].get<std::string>();  // r<run>-n<n>
    const auto dash = id.find("-n");
    REQUIRE((id.size() > 1 && id[0] == 'r' && dash != std::string::npos));
    *run = std::stoll(id.substr(1, dash - 1));
    *n = std::stoll(id.substr(dash + 2));
    return true;
  }
  return false;
}

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

}  // namespace

TEST_CASE("crash: SIGKILLed writers lose no acknowledged event and the log reopens intact") {
  const std::uint64_t seed = env_or("FA_CRASH_SEED", std::random_device{}());
  const std::uint64_t kills = env_or("FA_CRASH_KILLS", 54);
  std::cout << "crash: seed " << seed << " (FA_CRASH_SEED=" << seed << " replays it), " << kills << " kills"
            << std::endl;
  INFO("FA_CRASH_SEED=" << seed);
  std::mt19937_64 rng(seed);

  fa_test::TempDir tmp("fa-crash");
  const std::string dir = tmp / "log";
  const std::string helper = std::string(FA_TEST_HELPER_DIR) + "/crash_writer";
  REQUIRE(fa_test::file_exists(helper));
  const char* const modes[] = {"none", "group_commit", "always"};

  Cursor cursor;
  std::uint64_t acked_total = 0, recoveries = 0, injections = 0, killed_before_ready = 0, events_total = 0;
  for (std::uint64_t k = 0; k < kills; ++k) {
    const std::string mode = modes[k % 3];
    const auto flush_every = 1 + rng() % 16;
    // Mostly a random 5-60 ms after the log is open; every fourth kill lands during start-up and recovery.
    const bool early = k % 4 == 3;
    const auto delay = std::chrono::milliseconds(early ? rng() % 15 : 5 + rng() % 56);
    INFO("kill " << k << ": durability " << mode << ", flush every " << flush_every << ", "
                 << (early ? "from spawn " : "after ready ") << delay.count() << " ms");

    const Spawned child = spawn_writer(
        {helper, dir, mode, std::to_string(k), std::to_string(flush_every), std::to_string(256 * 1024)});
    std::string partial;
    std::vector<std::string> lines;
    bool alive = true;
    if (early) {
      alive = read_lines_until(child.out, Clock::now() + delay, partial, lines);
    } else {
      alive = read_lines_until(child.out, Clock::now() + std::chrono::seconds(60), partial, lines, true);
      if (alive) alive = read_lines_until(child.out, Clock::now() + delay, partial, lines);
    }
    ::kill(child.pid, SIGKILL);
    // Acknowledgements written before the kill are still in the pipe.
    while (read_lines_until(child.out, Clock::now() + std::chrono::seconds(60), partial, lines)) {
    }
    ::close(child.out);
    int status = 0;
    while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
    }
    INFO("helper output: " << lines.size() << " lines; alive until the kill: " << alive);
    REQUIRE(WIFSIGNALED(status));  // it never stops on its own: an exit means it failed
    REQUIRE(WTERMSIG(status) == SIGKILL);

    bool ready = false;
    std::int64_t last_acked = -1;
    for (const std::string& l : lines) {
      if (l == "ready") {
        ready = true;
        continue;
      }
      REQUIRE(ready);
      const std::int64_t n = std::stoll(l);
      REQUIRE(n > last_acked);
      last_acked = n;
    }
    if (!ready) ++killed_before_ready;
    acked_total += static_cast<std::uint64_t>(last_acked + 1);

    // A SIGKILL seldom tears a write(2) (only between pages); a power loss leaves zeros or a partial
    // page. Every third kill adds such a tail on top of whatever the kill left.
    std::string injected;
    if (rng() % 3 == 0) {
      const auto segs = fa_test::segments(dir);
      REQUIRE(!segs.empty());
      const std::string newest = fa_test::read_bytes(segs.back().path);
      const auto lines_now = fa_test::split_lines(newest);
      switch (rng() % 3) {
        case 0:
          injected.assign(1 + rng() % 8192, '\0');
          break;
        case 1:
          if (!lines_now.empty() && newest.back() == '\n') {
            const std::string& l = lines_now.back();
            injected = l.substr(0, 1 + rng() % (l.size() - 1));
            break;
          }
          [[fallthrough]];
        default:
          for (auto len = 1 + rng() % 300; len > 0; --len)
            injected.push_back(static_cast<char>(0x20 + rng() % 90));
      }
      fa_test::append_bytes(segs.back().path, injected);
      ++injections;
    }

    // Reopen: must succeed whatever the moment of the kill; a torn tail is quarantined.
    {
      fooocus_audit::LoggerOptions o;
      o.dir = dir;
      o.durability = fooocus_audit::Durability::none;
      o.max_segment_bytes = 256 * 1024;
      auto r = AuditLogger::open(o);
      INFO(r.status().to_string());
      REQUIRE(r.ok());
      const auto& notes = r.value()->recovered();
      recoveries += notes.size();
      if (!injected.empty()) {
        REQUIRE(notes.size() == 1);
        const std::string moved = fa_test::read_bytes(dir + "/" + notes.front().quarantine);
        REQUIRE(moved.size() >= injected.size());
        REQUIRE(moved.compare(moved.size() - injected.size(), injected.size(), injected) == 0);
      }
      REQUIRE(r.value()->close().ok());
    }
    const auto summary = fa_test::verify(dir);
    INFO(fa_test::describe(summary));
    REQUIRE(summary.intact);

    // What the killed run left is a prefix 0..m-1 of its events, with every acknowledged one in it.
    std::int64_t expect_n = 0;
    for (const json& r : read_new_records(dir, cursor)) {
      std::int64_t run = 0, n = 0;
      if (!crash_event_id(r["event"], &run, &n)) continue;
      REQUIRE(run == static_cast<std::int64_t>(k));
      REQUIRE(n == expect_n);
      ++expect_n;
    }
    REQUIRE(expect_n > last_acked);
    events_total += static_cast<std::uint64_t>(expect_n);
  }
  REQUIRE(cursor.next_seq == fa_test::verify(dir).records);
  std::cout << "crash: " << kills << " kills, " << events_total << " events kept, " << acked_total
            << " acknowledged, " << recoveries << " torn tails quarantined (" << injections << " injected), "
            << killed_before_ready << " kills before the log was open, " << fa_test::segments(dir).size()
            << " segments" << std::endl;
  CHECK(acked_total > 0);
}

// The keyed writer under SIGKILL (docs/log-format.md §9.2): an epoch end is durable before the key file moves
// on, so whatever moment the kill lands on, the next writer finds the log and its key file in agreement, and
// the whole log verifies with the auditor's seed and public key, checkpoints and anchors included.
TEST_CASE("crash: SIGKILLed keyed writers keep the MAC epochs and checkpoints verifiable") {
  const std::uint64_t seed = env_or("FA_CRASH_SEED", std::random_device{}());
  const std::uint64_t kills = env_or("FA_CRASH_KILLS", 54) / 3;
  std::cout << "crash (keyed): seed " << seed << ", " << kills << " kills" << std::endl;
  INFO("FA_CRASH_SEED=" << seed);
  std::mt19937_64 rng(seed);

  fa_test::TempDir tmp("fa-crash-keys");
  const std::string dir = tmp / "log";
  const std::string auditor_seed = tmp / "auditor-mac.key", writer_key = tmp / "writer-mac.key";
  const std::string signing = tmp / "signing.key", anchor = tmp / "checkpoints.anchor";
  {
    auto s = fooocus_audit::mac::Seed::generate();
    REQUIRE(s);
    REQUIRE(s->save(auditor_seed));
    REQUIRE(s->save(writer_key));
    auto k = fooocus_audit::note::SigningKey::generate("crash.example/fooocus");
    REQUIRE(k);
    REQUIRE(k->save(signing));
  }
  ::setenv("FA_CRASH_MAC_KEY", writer_key.c_str(), 1);
  ::setenv("FA_CRASH_SIGNING_KEY", signing.c_str(), 1);
  ::setenv("FA_CRASH_ANCHOR", anchor.c_str(), 1);
  const std::string helper = std::string(FA_TEST_HELPER_DIR) + "/crash_writer";
  const char* const modes[] = {"none", "group_commit", "always"};
  std::uint64_t ready_runs = 0;
  for (std::uint64_t k = 0; k < kills; ++k) {
    const bool early = k % 4 == 3;
    const auto delay = std::chrono::milliseconds(early ? rng() % 15 : 5 + rng() % 56);
    INFO("kill " << k << (early ? " from spawn " : " after ready ") << delay.count() << " ms");
    const Spawned child = spawn_writer({helper, dir, modes[k % 3], std::to_string(k), std::to_string(1 + rng() % 16),
                                        std::to_string(64 * 1024)});
    std::string partial;
    std::vector<std::string> lines;
    if (early) {
      read_lines_until(child.out, Clock::now() + delay, partial, lines);
    } else if (read_lines_until(child.out, Clock::now() + std::chrono::seconds(60), partial, lines, true)) {
      read_lines_until(child.out, Clock::now() + delay, partial, lines);
    }
    ::kill(child.pid, SIGKILL);
    while (read_lines_until(child.out, Clock::now() + std::chrono::seconds(60), partial, lines)) {
    }
    ::close(child.out);
    int status = 0;
    while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
    }
    REQUIRE(WIFSIGNALED(status));  // an exit means the writer refused to open or failed
    for (const std::string& l : lines) ready_runs += l == "ready";
  }
  ::unsetenv("FA_CRASH_MAC_KEY");
  ::unsetenv("FA_CRASH_SIGNING_KEY");
  ::unsetenv("FA_CRASH_ANCHOR");
  REQUIRE(ready_runs > 0);

  // One clean open and close quarantines the last torn tail and seals a final checkpoint.
  {
    fooocus_audit::LoggerOptions o = fa_test::options_for(dir);
    o.mac_key_path = writer_key;
    o.mac_epoch_records = 25;
    auto key = fooocus_audit::note::SigningKey::load(signing);
    REQUIRE(key);
    o.signer = std::make_shared<fooocus_audit::LocalSigner>(std::move(key.value()));
    o.checkpoint_anchor_path = anchor;
    auto lg = fa_test::must_open(o);
    REQUIRE(lg->close());
  }
  fooocus_audit::VerifyOptions v;
  v.mac_key_path = auditor_seed;
  auto verifier_key = fooocus_audit::note::SigningKey::load(signing);
  REQUIRE(verifier_key);
  v.trusted_keys = {verifier_key->verifier()};
  auto anchors = fooocus_audit::AnchorSet::load(anchor);
  REQUIRE(anchors);
  v.checkpoint_anchors = anchors->checkpoints;
  fooocus_audit::ChainVerifier verifier(v);
  auto r = verifier.verify_path(dir);
  REQUIRE(r);
  INFO(fa_test::describe(r.value()));
  std::cout << "crash (keyed): " << r->records << " records, epochs " << r->mac_first_epoch.value_or(0) << ".."
            << r->mac_last_epoch.value_or(0) << ", " << r->checkpoints_verified << " signed checkpoints, "
            << r->checkpoint_anchors_checked << " anchors" << std::endl;
  CHECK(r->intact);
  CHECK(r->macs_checked == r->records);
  CHECK(r->checkpoints_verified >= 1);
  CHECK(r->checkpoint_anchors_checked == anchors->checkpoints.size());
}
