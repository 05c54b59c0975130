// SPDX-License-Identifier: Apache-2.0
// AuditLogger against docs/log-format.md §5-§7: records and order, sessions, rotation, files and the lock,
// input validation, durability, anchors, the lossy overflow policy, torn-tail recovery, corruption
// refusal and write errors.
#include <fmt/format.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fooocus_audit/anchor.hpp"
#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/chain_verifier.hpp"
#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/record.hpp"
#include "support/logger_support.hpp"

using fooocus_audit::Anchor;
using fooocus_audit::AuditLogger;
using fooocus_audit::Code;
using fooocus_audit::Durability;
using fooocus_audit::LoggerOptions;
using fooocus_audit::OverflowPolicy;
using fooocus_audit::Status;
using nlohmann::json;

namespace {

using fa_test::must_open;

json test_event(int i, std::size_t pad = 0) {
  return {{"event_type", "test.event"},
          {"i", i},
          {"nested", {{"a", {1, 2.5, "x"}}, {"b", nullptr}}},
          {"text", "line\nbreak \"q\" caf\xc3\xa9"},
          {"pad", std::string(pad, 'z')}};
}

mode_t file_mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

void require_intact(const std::string& dir, std::optional<Anchor> anchor = std::nullopt) {
  const auto s = fa_test::verify(dir, std::move(anchor));
  INFO(fa_test::describe(s));
  REQUIRE(s.intact);
}

// Runs body in a forked child; the child's result text (empty = success) comes back through a pipe.
struct ChildResult {
  bool exited_ok = false;
  std::string output;
};

ChildResult run_forked(const std::function<std::string()>& body) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    try {
      out = body();
    } catch (const std::exception& e) {
      out = std::string("exception: ") + e.what();
    } catch (...) {
      out = "unknown exception";
    }
    (void)fooocus_audit::detail::write_all(fds[1], out.data(), out.size(), "pipe");
    ::_exit(out.empty() ? 0 : 1);
  }
  ::close(fds[1]);
  ChildResult res;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    res.output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  res.exited_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!WIFEXITED(status)) res.output += fmt::format(" (child ended by signal {})", WTERMSIG(status));
  return res;
}

}  // namespace

TEST_CASE("logger: logged events are written in order and the chain verifies") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto lg = must_open(fa_test::options_for(dir));
  CHECK(lg->recovered().empty());
  CHECK(fooocus_audit::record::valid_log_id(lg->log_id()));

  std::vector<json> expected;
  for (int i = 0; i < 60; ++i) {
    if (i % 3 == 2) {
      const auto e = fa_test::generation_event(fmt::format("req_{}", i));
      REQUIRE(lg->log(e).ok());
      expected.push_back(e.to_json());
    } else {
      const json e = test_event(i, static_cast<std::size_t>(i));
      REQUIRE(lg->log(e).ok());
      expected.push_back(e);
    }
  }
  REQUIRE(lg->flush().ok());
  const auto st = lg->stats();
  CHECK(st.accepted == 60);
  CHECK(st.written == 60);
  CHECK(st.durable == 60);
  CHECK(st.dropped == 0);
  CHECK(st.records == 61);
  CHECK(st.write_errors == 0);
  REQUIRE(lg->close().ok());

  require_intact(dir);
  const auto records = fa_test::read_records(dir);
  REQUIRE(records.size() == 61);
  const json& opened = records[0].value["event"];
  CHECK(opened["event_type"] == "log.opened");
  CHECK(opened["reason"] == "created");
  CHECK(opened["pid"] == static_cast<std::int64_t>(::getpid()));
  CHECK(opened["durability"] == "group_commit");
  CHECK(opened["group_commit_ms"] == 2);
  CHECK(opened["library"].get<std::string>().rfind("fooocus_audit ", 0) == 0);

  std::string last_ts;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const json& r = records[i].value;
    CHECK(r["v"] == 1);
    CHECK(r["seq"] == i);
    CHECK(r["log_id"] == lg->log_id());
    const std::string ts = r["ts"].get<std::string>();
    CHECK(ts.size() == 27);
    CHECK(ts >= last_ts);
    last_ts = ts;
  }
  CHECK(fa_test::user_events(records) == expected);
}

TEST_CASE("logger: record buffers reused across events and threads and loggers carry nothing over") {
  // The writer hands emptied record buffers back to the producers (spare_heads_); a large event's buffer that
  // comes back for a small one, or one logger's buffer used by another, must give exactly the small event.
  fa_test::TempDir tmp;
  const std::string dir_a = tmp / "a", dir_b = tmp / "b";
  auto a = must_open(fa_test::options_for(dir_a));
  auto b = must_open(fa_test::options_for(dir_b));
  std::vector<json> expected_a, expected_b;
  std::mutex mu;
  std::atomic<int> failures{0};  // Catch2 assertions are not for other threads
  auto produce = [&](int t) {
    for (int i = 0; i < 400; ++i) {
      const int id = t * 1000 + i;
      const std::size_t pad = i % 5 == 0 ? 12000 : static_cast<std::size_t>(i % 7);  // large ones and small ones
      const bool to_a = (i + t) % 2 == 0;
      fooocus_audit::AuditLogger& lg = to_a ? *a : *b;
      if (i % 4 == 3) {
        const auto e = fa_test::generation_event(fmt::format("req_{}", id));
        std::lock_guard<std::mutex> g(mu);  // the expected order is the order of acceptance
        if (!lg.log(e).ok()) ++failures;
        (to_a ? expected_a : expected_b).push_back(e.to_json());
      } else {
        const json e = test_event(id, pad);
        std::lock_guard<std::mutex> g(mu);
        if (!lg.log(e).ok()) ++failures;
        (to_a ? expected_a : expected_b).push_back(e);
      }
      if (i % 50 == 49 && !lg.flush().ok()) ++failures;  // let buffers come back
    }
  };
  std::thread t1(produce, 1), t2(produce, 2);
  t1.join();
  t2.join();
  REQUIRE(failures == 0);
  REQUIRE(a->close().ok());
  REQUIRE(b->close().ok());
  require_intact(dir_a);
  require_intact(dir_b);
  CHECK(fa_test::user_events(fa_test::read_records(dir_a)) == expected_a);
  CHECK(fa_test::user_events(fa_test::read_records(dir_b)) == expected_b);
}

TEST_CASE("logger: reopening writes log.opened resumed and continues the chain") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  std::string log_id;
  for (int session = 0; session < 3; ++session) {
    auto lg = must_open(fa_test::options_for(dir));
    if (session == 0)
      log_id = lg->log_id();
    else
      CHECK(lg->log_id() == log_id);
    CHECK(lg->head().seq == static_cast<std::uint64_t>(session * 6));
    for (int i = 0; i < 5; ++i) REQUIRE(lg->log(test_event(session * 100 + i)).ok());
    REQUIRE(lg->close().ok());
  }
  require_intact(dir);
  const auto records = fa_test::read_records(dir);
  REQUIRE(records.size() == 18);
  for (std::size_t i = 0; i < records.size(); ++i) {
    CHECK(records[i].value["seq"] == i);
    CHECK(records[i].value["log_id"] == log_id);
  }
  const auto opened = fa_test::system_records(records, "log.opened");
  REQUIRE(opened.size() == 3);
  CHECK(opened[0].value["event"]["reason"] == "created");
  CHECK(opened[1].value["event"]["reason"] == "resumed");
  CHECK(opened[2].value["event"]["reason"] == "resumed");
  CHECK(opened[1].value["seq"] == 6);
  CHECK(opened[2].value["seq"] == 12);
  // The resumed session's first record links to the last record of the one before.
  CHECK(opened[1].value["prev"] ==
        fooocus_audit::detail::to_hex(fooocus_audit::record::chain_hash(records[5].line)));
  std::vector<int> order;
  for (const json& e : fa_test::user_events(records)) order.push_back(e["i"].get<int>());
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 100, 101, 102, 103, 104, 200, 201, 202, 203, 204});
}

TEST_CASE("logger: rotation by size gives segments named by their first seq") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto opts = fa_test::options_for(dir);
  opts.max_segment_bytes = 4096;
  for (int session = 0; session < 2; ++session) {
    auto lg = must_open(opts);
    for (int i = 0; i < 80; ++i) {
      if (i % 4 == 0)
        REQUIRE(
            lg->log(fa_test::generation_event(fmt::format("r{}", i), static_cast<std::size_t>(i * 5))).ok());
      else
        REQUIRE(lg->log(test_event(i, static_cast<std::size_t>(i * 7))).ok());
    }
    REQUIRE(lg->close().ok());
  }
  const auto segs = fa_test::segments(dir);
  REQUIRE(segs.size() >= 5);
  CHECK(segs.front().first_seq == 0);
  std::uint64_t expect_seq = 0;
  for (const auto& seg : segs) {
    CHECK(seg.name == fooocus_audit::detail::segment_name(seg.first_seq));
    const std::string bytes = fa_test::read_bytes(seg.path);
    CHECK(bytes.size() <= opts.max_segment_bytes);
    REQUIRE(!bytes.empty());
    CHECK(bytes.back() == '\n');
    const auto lines = fa_test::split_lines(bytes);
    CHECK(json::parse(lines.front())["seq"] == seg.first_seq);
    CHECK(seg.first_seq == expect_seq);
    expect_seq = seg.first_seq + lines.size();
  }
  CHECK(expect_seq == 162);
  const auto s = fa_test::verify(dir);
  INFO(fa_test::describe(s));
  CHECK(s.intact);
  CHECK(s.records == 162);
  CHECK(s.segments == segs.size());
}

TEST_CASE("logger: a reopened log does not grow a full segment past its size limit") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto opts = fa_test::options_for(dir);
  opts.max_segment_bytes = 4096;
  {
    auto lg = must_open(opts);
    REQUIRE(lg->log(test_event(0)).ok());
    REQUIRE(lg->flush().ok());
    const std::string seg = fa_test::segments(dir).back().path;
    const auto sizes = fa_test::split_lines(fa_test::read_bytes(seg));
    REQUIRE(sizes.size() == 2);
    // One more record, padded to end the segment at 4000 bytes: too little room for the next log.opened.
    const std::size_t used = sizes[0].size() + sizes[1].size() + 2;
    REQUIRE(lg->log(test_event(1, 4000 - used - (sizes[1].size() + 1))).ok());
    REQUIRE(lg->close().ok());
    REQUIRE(fa_test::read_bytes(seg).size() == 4000);
    REQUIRE(fa_test::segments(dir).size() == 1);
  }
  auto lg = must_open(opts);
  REQUIRE(lg->close().ok());
  const auto segs = fa_test::segments(dir);
  REQUIRE(segs.size() == 2);
  CHECK(segs[1].name == fooocus_audit::detail::segment_name(3));
  for (const auto& seg : segs) CHECK(fa_test::read_bytes(seg.path).size() <= opts.max_segment_bytes);
  require_intact(dir);
}

TEST_CASE("logger: rotation by age starts a new segment") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto opts = fa_test::options_for(dir);
  opts.max_segment_age = std::chrono::seconds(1);
  auto lg = must_open(opts);
  REQUIRE(lg->log(test_event(1)).ok());
  REQUIRE(lg->flush().ok());
  // steady_clock: the segment opened above is certainly older than 1 s after this.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  REQUIRE(lg->log(test_event(2)).ok());
  REQUIRE(lg->close().ok());

  const auto segs = fa_test::segments(dir);
  REQUIRE(segs.size() >= 2);
  const auto records = fa_test::read_records(dir);
  REQUIRE(records.size() == 3);
  CHECK(records[2].segment != segs.front().name);
  CHECK(records[2].segment == fooocus_audit::detail::segment_name(2));
  require_intact(dir);
}

TEST_CASE("logger: files are created 0600 and the directory holds LOCK") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  {
    auto opts = fa_test::options_for(dir);
    opts.max_segment_bytes = 4096;
    auto lg = must_open(opts);
    for (int i = 0; i < 40; ++i) REQUIRE(lg->log(test_event(i, 200)).ok());
    REQUIRE(lg->flush().ok());
    CHECK(fa_test::file_exists(tmp / "log/LOCK"));
    CHECK(file_mode(tmp / "log/LOCK") == 0600);
    CHECK(file_mode(dir) == 0700);
    REQUIRE(lg->close().ok());
  }
  const auto segs = fa_test::segments(dir);
  REQUIRE(segs.size() >= 2);
  for (const auto& seg : segs) CHECK(file_mode(seg.path) == 0600);
  CHECK(fa_test::file_exists(tmp / "log/LOCK"));

  // A configured mode is used (minus the umask).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  const std::string dir2 = tmp / "log2";
  auto opts2 = fa_test::options_for(dir2);
  opts2.file_mode = 0640;
  auto lg2 = must_open(opts2);
  REQUIRE(lg2->close().ok());
  CHECK(file_mode(fa_test::segments(dir2).front().path) == (0640 & ~mask));

  // Modes that let group or others write, that deny the owner, or that carry special bits are refused.
  for (mode_t bad : {mode_t{0660}, mode_t{0666}, mode_t{0602}, mode_t{0400}, mode_t{0200}, mode_t{0700},
                     mode_t{04600}, mode_t{01600}}) {
    auto o = fa_test::options_for(tmp / "log3");
    o.file_mode = bad;
    auto r = AuditLogger::open(o);
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::invalid_argument);
    CHECK(r.status().message().find("file_mode") != std::string::npos);
  }
  CHECK_FALSE(fa_test::file_exists(tmp / "log3"));  // refused before anything is created
}

TEST_CASE("logger: a second writer is refused with Code::locked until the first closes") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto opts = fa_test::options_for(dir);
  opts.durability = Durability::none;
  opts.anchor_path = tmp / "anchor.json";
  auto first = must_open(opts);
  REQUIRE(first->log(test_event(1)).ok());
  REQUIRE(first->flush().ok());
  const std::string anchor_before = fa_test::read_bytes(opts.anchor_path);

  // Same process.
  auto second = AuditLogger::open(opts);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == Code::locked);
  // The failed open did not touch the first writer's anchor.
  CHECK(fa_test::read_bytes(opts.anchor_path) == anchor_before);

  // Another process.
  const ChildResult child = run_forked([&]() -> std::string {
    auto r = AuditLogger::open(opts);
    if (r.ok()) return "second open in a child process succeeded";
    if (r.status().code() != Code::locked) return "expected locked, got " + r.status().to_string();
    return "";
  });
  INFO(child.output);
  CHECK(child.exited_ok);

  REQUIRE(first->close().ok());
  auto third = must_open(opts);
  REQUIRE(third->close().ok());
  require_intact(dir);
}

TEST_CASE("logger: invalid events are refused with invalid_argument naming the field") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto lg = must_open(fa_test::options_for(dir));
  REQUIRE(lg->log(test_event(1)).ok());

  const auto refused = [&](const json& ev, const std::string& field) {
    const Status s = lg->log(ev);
    INFO("event " << ev.dump(-1, ' ', false, json::error_handler_t::replace) << " -> " << s.to_string());
    CHECK(s.code() == Code::invalid_argument);
    CHECK_THAT(s.message(), Catch::Contains(field));
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::int64_t two53 = std::int64_t{1} << 53;

  refused(json::array({1, 2}), "object");
  refused(json("a string"), "object");
  refused(json{{"x", 1}}, "event_type");
  refused(json{{"event_type", 5}}, "event_type");
  refused(json{{"event_type", ""}}, "event_type");
  refused(json{{"event_type", "Bad-Type"}}, "event_type");
  refused(json{{"event_type", "1abc"}}, "event_type");
  refused(json{{"event_type", "has space"}}, "event_type");
  refused(json{{"event_type", std::string(129, 'a')}}, "event_type");
  refused(json{{"event_type", "log.opened"}}, "event_type");
  refused(json{{"event_type", "log.custom"}}, "reserved");
  refused(json{{"event_type", "t"}, {"score", nan}}, "/score");
  refused(json{{"event_type", "t"}, {"score", -inf}}, "/score");
  refused(json{{"event_type", "t"}, {"count", two53}}, "/count");
  refused(json{{"event_type", "t"}, {"count", -two53}}, "/count");
  refused(json{{"event_type", "t"}, {"count", static_cast<std::uint64_t>(two53)}}, "/count");
  refused(json{{"event_type", "t"}, {"a", {{"b", json::array({1, two53})}}}}, "/a/b/1");
  refused(json{{"event_type", "t"}, {"name", "bad \xff utf-8"}}, "/name");
  refused(json{{"event_type", "t"}, {"name", "overlong \xc0\xaf"}}, "/name");
  refused(json{{"event_type", "t"}, {"name", "surrogate \xed\xa0\x80"}}, "/name");
  refused(json{{"event_type", "t"}, {"bad\xfekey", 1}}, "member name");

  // The record nests the event one level down: 63 levels are the most an event may use.
  json deep = {{"event_type", "t"}};
  json* p = &deep;
  for (int level = 2; level <= 63; ++level) {
    (*p)["d"] = json::object();
    p = &(*p)["d"];
  }
  REQUIRE(lg->log(deep).ok());
  const json deep63 = deep;
  (*p)["d"] = json::object();  // 64 levels
  refused(deep, "nest");

  auto gen = fa_test::generation_event("g1");
  gen.request.guidance_scale = nan;
  CHECK(lg->log(gen).code() == Code::invalid_argument);
  gen = fa_test::generation_event("g2");
  gen.request.prompt_sanitized = "broken \xe2\x82";
  CHECK(lg->log(gen).code() == Code::invalid_argument);
  gen = fa_test::generation_event("g3");
  gen.event_type = "log.generation";
  CHECK(lg->log(gen).code() == Code::invalid_argument);
  gen = fa_test::generation_event("g4");
  gen.event_type = "Image";
  CHECK(lg->log(gen).code() == Code::invalid_argument);

  // Values at the limits are accepted.
  const json limits = {{"event_type", "t"}, {"max", two53 - 1}, {"min", -(two53 - 1)}, {"big", 1e300}};
  REQUIRE(lg->log(limits).ok());
  REQUIRE(lg->log(test_event(2)).ok());
  CHECK(lg->stats().accepted == 4);
  REQUIRE(lg->close().ok());

  require_intact(dir);
  const auto events = fa_test::user_events(fa_test::read_records(dir));
  REQUIRE(events.size() == 4);
  CHECK(events[0] == test_event(1));
  CHECK(events[1] == deep63);
  CHECK(events[2] == limits);
  CHECK(events[3] == test_event(2));
}

TEST_CASE("logger: an event above max_event_bytes is too_large and not written") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto opts = fa_test::options_for(dir);
  opts.max_event_bytes = 1024;
  auto lg = must_open(opts);
  const json big = {{"event_type", "t"}, {"blob", std::string(2000, 'x')}};
  const Status s = lg->log(big);
  CHECK(s.code() == Code::too_large);
  const json fits = {{"event_type", "t"}, {"blob", std::string(900, 'x')}};
  REQUIRE(lg->log(fits).ok());
  auto gen = fa_test::generation_event("big", 2000);
  CHECK(lg->log(gen).code() == Code::too_large);
  REQUIRE(lg->close().ok());
  const auto events = fa_test::user_events(fa_test::read_records(dir));
  REQUIRE(events.size() == 1);
  CHECK(events[0] == fits);

  // Options outside the format's limits are refused.
  auto bad = fa_test::options_for(tmp / "other");
  bad.max_event_bytes = 16u << 20;
  CHECK(AuditLogger::open(bad).status().code() == Code::invalid_argument);
  bad = fa_test::options_for(tmp / "other");
  bad.queue_capacity = 0;
  CHECK(AuditLogger::open(bad).status().code() == Code::invalid_argument);
}

TEST_CASE("logger: log and flush after close return Code::closed") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto lg = must_open(fa_test::options_for(dir));
  REQUIRE(lg->log(test_event(1)).ok());
  REQUIRE(lg->close().ok());
  CHECK(lg->log(test_event(2)).code() == Code::closed);
  CHECK(lg->log(fa_test::generation_event("x")).code() == Code::closed);
  CHECK(lg->flush().code() == Code::closed);
  CHECK(lg->close().ok());  // idempotent
  CHECK(lg->head().seq == 1);
  CHECK(fa_test::user_events(fa_test::read_records(dir)).size() == 1);
}

TEST_CASE("logger: flush makes every accepted event durable under each policy") {
  const Durability mode = GENERATE(Durability::none, Durability::group_commit, Durability::always);
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto opts = fa_test::options_for(dir);
  opts.durability = mode;
  opts.group_commit_interval = std::chrono::milliseconds(20);
  opts.max_segment_bytes = 8192;
  auto lg = must_open(opts);
  int n = 0;
  for (int round = 0; round < 25; ++round) {
    for (int k = 0; k <= round % 7; ++k) {
      if (n % 5 == 0)
        REQUIRE(lg->log(fa_test::generation_event(fmt::format("r{}", n))).ok());
      else
        REQUIRE(lg->log(test_event(n)).ok());
      ++n;
    }
    const std::uint64_t before = lg->stats().accepted;
    REQUIRE(lg->flush().ok());
    const auto st = lg->stats();
    CHECK(st.durable >= before);
    CHECK(st.written >= before);
    // Written means write(2) returned: the records are in the files now.
    std::size_t lines = 0;
    for (const auto& seg : fa_test::segments(dir))
      lines += fa_test::split_lines(fa_test::read_bytes(seg.path)).size();
    CHECK(lines >= before + 1);
  }
  REQUIRE(lg->close().ok());
  CHECK(lg->stats().durable == static_cast<std::uint64_t>(n));
  require_intact(dir);
  CHECK(fa_test::user_events(fa_test::read_records(dir)).size() == static_cast<std::size_t>(n));
}

TEST_CASE("logger: group commit syncs pending records without a flush") {
  fa_test::TempDir tmp;
  auto opts = fa_test::options_for(tmp / "log");
  opts.durability = Durability::group_commit;
  opts.group_commit_interval = std::chrono::milliseconds(5);
  auto lg = must_open(opts);
  for (int i = 0; i < 10; ++i) REQUIRE(lg->log(test_event(i)).ok());
  // Liveness, not speed: the writer syncs at least once per interval while records are pending.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (lg->stats().durable < 10 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  CHECK(lg->stats().durable == 10);
  CHECK(lg->head().seq == 10);
  REQUIRE(lg->close().ok());
}

TEST_CASE("logger: head() after close equals the verifier's head") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto opts = fa_test::options_for(dir);
  opts.max_segment_bytes = 4096;
  auto lg = must_open(opts);
  const Anchor first = lg->head();
  CHECK(first.seq == 0);
  CHECK(first.log_id == lg->log_id());
  for (int i = 0; i < 30; ++i) REQUIRE(lg->log(test_event(i, 100)).ok());
  REQUIRE(lg->flush().ok());
  CHECK(lg->head().seq == 30);
  REQUIRE(lg->log(test_event(99)).ok());
  REQUIRE(lg->close().ok());

  const Anchor head = lg->head();
  const auto s = fa_test::verify(dir);
  REQUIRE(s.intact);
  REQUIRE(s.head.has_value());
  CHECK(head.seq == 31);
  CHECK(head.seq == s.last_seq.value());
  CHECK(head.head == *s.head);
  CHECK(head.log_id == s.log_id);
  CHECK(head.ts == s.last_ts);
  require_intact(dir, head);
}

TEST_CASE("logger: anchor_path receives an anchor the verifier accepts") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto opts = fa_test::options_for(dir);
  opts.anchor_path = tmp / "anchor.json";
  auto lg = must_open(opts);
  for (int i = 0; i < 10; ++i) REQUIRE(lg->log(test_event(i)).ok());
  REQUIRE(lg->flush().ok());
  auto saved = Anchor::load(opts.anchor_path);
  REQUIRE(saved.ok());
  CHECK(saved->seq == 10);
  CHECK(saved->head == lg->head().head);
  CHECK(file_mode(opts.anchor_path) == 0600);

  for (int i = 10; i < 15; ++i) REQUIRE(lg->log(test_event(i)).ok());
  REQUIRE(lg->close().ok());
  saved = Anchor::load(opts.anchor_path);
  REQUIRE(saved.ok());
  CHECK(saved->seq == 15);
  CHECK(saved->log_id == lg->log_id());
  const auto s = fa_test::verify(dir, saved.value());
  INFO(fa_test::describe(s));
  CHECK(s.intact);
  CHECK(s.anchor_checked);

  // The anchor is what detects a deleted tail.
  const auto seg = fa_test::segments(dir).back();
  std::string bytes = fa_test::read_bytes(seg.path);
  bytes.erase(bytes.rfind('\n', bytes.size() - 2) + 1);
  fa_test::write_bytes(seg.path, bytes);
  CHECK(fa_test::verify(dir).intact);
  const auto cut = fa_test::verify(dir, saved.value());
  REQUIRE_FALSE(cut.intact);
  CHECK(cut.findings.front().reason == fooocus_audit::Reason::truncated_tail);
}

TEST_CASE("logger: drop_and_record_gap returns dropped and seals log.gap with the counts") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto opts = fa_test::options_for(dir);
  opts.durability = Durability::none;
  opts.queue_capacity = 1;
  opts.overflow = OverflowPolicy::drop_and_record_gap;
  // The writer reads the clock while sealing: holding the clock holds the writer, so the queue fills.
  auto hold = std::make_shared<std::atomic<bool>>(false);
  opts.clock_micros = fa_test::holdable_clock(hold);
  auto lg = must_open(opts);

  std::atomic<std::uint64_t> ok{0}, dropped{0};
  std::atomic<int> other{0};
  auto tally = [&](const Status& s) {
    if (s.ok())
      ++ok;
    else if (s.code() == Code::dropped)
      ++dropped;
    else
      ++other;
  };
  hold->store(true);
  // At most one event is in the writer's hands and one in the queue: the third is dropped.
  for (int i = 0; i < 3; ++i) tally(lg->log(test_event(i)));
  CHECK(dropped.load() >= 1);

  std::vector<std::thread> producers;
  for (int t = 0; t < 6; ++t)
    producers.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (t == 0 && i == 200) hold->store(false);
        if (i % 2 == 0)
          tally(lg->log(test_event(t * 10000 + i)));
        else
          tally(lg->log(fa_test::generation_event(fmt::format("t{}-{}", t, i))));
      }
    });
  for (auto& p : producers) p.join();
  hold->store(false);
  for (int i = 0; i < 50; ++i) tally(lg->log(test_event(90000 + i)));
  REQUIRE(lg->close().ok());
  CHECK(other.load() == 0);

  const auto st = lg->stats();
  CHECK(st.dropped == dropped.load());
  CHECK(st.accepted == ok.load());
  const auto records = fa_test::read_records(dir);
  std::uint64_t gap_sum = 0;
  const auto gaps = fa_test::system_records(records, "log.gap");
  CHECK_FALSE(gaps.empty());
  for (const auto& g : gaps) {
    CHECK(g.value["event"]["reason"] == "queue_full");
    CHECK(g.value["event"]["dropped"].get<std::uint64_t>() > 0);
    gap_sum += g.value["event"]["dropped"].get<std::uint64_t>();
  }
  CHECK(gap_sum == st.dropped);
  CHECK(fa_test::user_events(records).size() == ok.load());
  CHECK(records.size() == 1 + ok.load() + gaps.size());
  require_intact(dir);
}

// A writer that quarantined a torn tail but stopped before its log.recovered record was durable leaves
// "<name>.torn.pending": the next open must announce those bytes (interrupted: true), never lose them.
TEST_CASE("logger: a quarantine interrupted before log.recovered is announced by the next open") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  {
    auto lg = must_open(fa_test::options_for(dir));
    for (int i = 0; i < 5; ++i) REQUIRE(lg->log(test_event(i)).ok());
    REQUIRE(lg->close().ok());
  }
  const auto seg = fa_test::segments(dir).back();
  const std::string original = fa_test::read_bytes(seg.path);
  const std::string tail = "{\"event\":{\"event_type\":\"torn";
  fa_test::append_bytes(seg.path, tail);
  // Exactly the first step of recovery, then the "crash".
  auto q = fooocus_audit::detail::quarantine_tail(dir, seg, original.size(), tail, 0600);
  REQUIRE(q.ok());
  CHECK(fa_test::file_exists(dir + "/" + q.value() + ".pending"));
  CHECK_FALSE(fa_test::file_exists(dir + "/" + q.value()));
  CHECK(fa_test::read_bytes(seg.path) == original);

  auto lg = must_open(fa_test::options_for(dir));
  REQUIRE(lg->recovered().size() == 1);
  const auto& note = lg->recovered().front();
  CHECK(note.interrupted);
  CHECK(note.segment == seg.name);
  CHECK(note.offset == original.size());
  CHECK(note.bytes == tail.size());
  CHECK(note.quarantine == q.value());
  CHECK(note.sha256 == fooocus_audit::detail::to_hex(fooocus_audit::detail::sha256(tail)));
  REQUIRE(lg->close().ok());
  CHECK(fa_test::read_bytes(dir + "/" + q.value()) == tail);
  CHECK_FALSE(fa_test::file_exists(dir + "/" + q.value() + ".pending"));

  const auto notes = fa_test::system_records(fa_test::read_records(dir), "log.recovered");
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].value["event"]["interrupted"] == true);
  CHECK(notes[0].value["event"]["quarantine"] == q.value());
  require_intact(dir);
  auto again = must_open(fa_test::options_for(dir));
  CHECK(again->recovered().empty());
  REQUIRE(again->close().ok());
}

TEST_CASE("logger: a torn tail is quarantined, recorded and cut off on reopen") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  {
    auto lg = must_open(fa_test::options_for(dir));
    for (int i = 0; i < 10; ++i) REQUIRE(lg->log(test_event(i)).ok());
    REQUIRE(lg->close().ok());
  }
  const auto seg = fa_test::segments(dir).back();
  const std::string original = fa_test::read_bytes(seg.path);
  const auto lines = fa_test::split_lines(original);
  REQUIRE(lines.size() == 11);

  std::string tail;
  std::string reason = "torn_record";
  SECTION("garbage without LF") { tail = "garbage \x01\x02 without a line feed"; }
  SECTION("a partial copy of a record") { tail = lines.back().substr(0, lines.back().size() / 2); }
  SECTION("a block of zero bytes") { tail = std::string(4096, '\0'); }
  SECTION("an unreadable line with its LF") {
    tail = std::string(100, '\0') + "\"seq\":11}\n";
    reason = "invalid_record";
  }
  fa_test::append_bytes(seg.path, tail);

  auto lg = must_open(fa_test::options_for(dir));
  REQUIRE(lg->recovered().size() == 1);
  const auto& note = lg->recovered().front();
  CHECK(note.segment == seg.name);
  CHECK(note.offset == original.size());
  CHECK(note.bytes == tail.size());
  CHECK(note.reason == reason);
  CHECK(note.quarantine == fmt::format("quarantine/{}.{}.torn", seg.name, original.size()));
  CHECK(note.sha256 == fooocus_audit::detail::to_hex(fooocus_audit::detail::sha256(tail)));
  CHECK(fa_test::read_bytes(dir + "/" + note.quarantine) == tail);
  REQUIRE(lg->log(test_event(10)).ok());
  REQUIRE(lg->close().ok());

  // The segment was cut back to its last complete record before anything new was appended.
  const std::string now = fa_test::read_bytes(seg.path);
  CHECK(now.compare(0, original.size(), original) == 0);
  const std::string opened_start = "{\"event\":{\"durability\":\"group_commit\"";
  CHECK(now.compare(original.size(), opened_start.size(), opened_start) == 0);

  const auto records = fa_test::read_records(dir);
  REQUIRE(records.size() == 14);
  // The torn record's seq (11) goes to the session's log.opened; log.recovered follows it.
  CHECK(records[11].value["event"]["event_type"] == "log.opened");
  CHECK(records[11].value["event"]["reason"] == "resumed");
  const json& rec = records[12].value["event"];
  CHECK(rec["event_type"] == "log.recovered");
  CHECK(rec["segment"] == seg.name);
  CHECK(rec["offset"] == original.size());
  CHECK(rec["bytes"] == tail.size());
  CHECK(rec["sha256"] == note.sha256);
  CHECK(rec["quarantine"] == note.quarantine);
  CHECK(rec["reason"] == reason);
  CHECK(records[13].value["event"] == test_event(10));
  require_intact(dir);

  // Nothing left to recover the next time.
  auto again = must_open(fa_test::options_for(dir));
  CHECK(again->recovered().empty());
  REQUIRE(again->close().ok());
  require_intact(dir);
}

TEST_CASE("logger: a torn first record in a fresh segment after rotation is recovered") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto opts = fa_test::options_for(dir);
  opts.max_segment_bytes = 4096;
  {
    auto lg = must_open(opts);
    for (int i = 0; i < 30; ++i) REQUIRE(lg->log(test_event(i, 200)).ok());
    REQUIRE(lg->close().ok());
  }
  auto segs = fa_test::segments(dir);
  REQUIRE(segs.size() >= 2);
  // A crash right after rotation: a new, empty newest segment holding only a torn first record.
  const std::string next = dir + "/" + fooocus_audit::detail::segment_name(31);
  const std::string fragment = "{\"event\":{\"event_type\":\"test.ev";
  fa_test::write_bytes(next, fragment);
  auto lg = must_open(opts);
  REQUIRE(lg->recovered().size() == 1);
  CHECK(lg->recovered().front().segment == fooocus_audit::detail::segment_name(31));
  CHECK(lg->recovered().front().offset == 0);
  REQUIRE(lg->close().ok());
  require_intact(dir);
  const auto records = fa_test::read_records(dir);
  CHECK(records[31].segment == fooocus_audit::detail::segment_name(31));
  CHECK(records[31].value["event"]["event_type"] == "log.opened");
}

TEST_CASE("logger: invalid bytes followed by valid records refuse to open and change nothing") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  {
    auto lg = must_open(fa_test::options_for(dir));
    for (int i = 0; i < 10; ++i) REQUIRE(lg->log(test_event(i)).ok());
    REQUIRE(lg->close().ok());
  }
  const auto seg = fa_test::segments(dir).back();
  const auto lines = fa_test::split_lines(fa_test::read_bytes(seg.path));
  std::string damaged;
  SECTION("a garbage line in the middle") {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i == 4) damaged += "not a record\n";
      damaged += lines[i] + "\n";
    }
  }
  SECTION("a block of zeros with a line feed in the middle") {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i == 7) damaged += std::string(512, '\0') + "\n";
      damaged += lines[i] + "\n";
    }
  }
  SECTION("a changed record before the last one") {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      std::string l = lines[i];
      if (i == lines.size() - 2) {
        const auto at = l.find("\"i\":8");
        REQUIRE(at != std::string::npos);
        l[at + 4] = '7';
      }
      damaged += l + "\n";
    }
  }
  SECTION("the last record appended twice") {
    for (const auto& l : lines) damaged += l + "\n";
    damaged += lines.back() + "\n";
  }
  SECTION("a record of another log at the end") {
    for (const auto& l : lines) damaged += l + "\n";
    json other = json::parse(lines.back());
    other["seq"] = lines.size();
    other["log_id"] = std::string(32, 'a');
    damaged += fooocus_audit::jcs::serialize(other) + "\n";
  }
  fa_test::write_bytes(seg.path, damaged);
  const auto segs_before = fa_test::segments(dir).size();

  for (int attempt = 0; attempt < 2; ++attempt) {  // the refused open released the lock
    auto r = AuditLogger::open(fa_test::options_for(dir));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::corruption);
    CHECK_THAT(r.status().message(), Catch::Contains(seg.name));
  }
  CHECK(fa_test::read_bytes(seg.path) == damaged);
  CHECK_FALSE(fa_test::file_exists(dir + "/quarantine"));
  CHECK(fa_test::segments(dir).size() == segs_before);
}

namespace {

// The body of the write-error tests, run in a forked child (RLIMIT_FSIZE is per process). Returns "" on
// success, else what went wrong.
std::string write_error_child(const std::string& dir, bool writes_recover) {
  std::string fail;
  const auto check = [&](bool cond, const std::string& what) {
    if (!cond) fail += what + "\n";
    return cond;
  };
  std::mutex mu;
  std::vector<Status> reported;
  auto opts = fa_test::options_for(dir);
  opts.durability = Durability::always;
  opts.on_error = [&](const Status& s) {
    std::lock_guard<std::mutex> g(mu);
    reported.push_back(s);
  };
  auto r = AuditLogger::open(opts);
  if (!r.ok()) return "open: " + r.status().to_string();
  auto lg = std::move(r).value();
  int n = 0;
  std::vector<int> accepted;
  for (; n < 5; ++n) {
    if (!check(lg->log(test_event(n)).ok(), "log before the limit")) return fail;
    accepted.push_back(n);
  }
  if (!check(lg->flush().ok(), "flush before the limit")) return fail;
  const std::string seg = fa_test::segments(dir).back().path;
  const std::uint64_t size = fa_test::read_bytes(seg).size();

  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(size + 1500);
  ::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of a signal
  if (::setrlimit(RLIMIT_FSIZE, &low) != 0) return "setrlimit failed";

  int refused = 0;
  for (int i = 0; i < 60; ++i, ++n) {
    const Status s = lg->log(test_event(n, 200));
    if (s.ok())
      accepted.push_back(n);
    else if (s.code() == Code::io_error)
      ++refused;
    else
      check(false, "unexpected log() status " + s.to_string());
  }
  const Status f = lg->flush();
  check(f.code() == Code::io_error, "flush() after EFBIG returned " + f.to_string());
  check(lg->log(test_event(n++)).code() == Code::io_error, "log() while failing was not io_error");
  {
    std::lock_guard<std::mutex> g(mu);
    check(!reported.empty() && reported.front().code() == Code::io_error,
          "on_error was not called with io_error");
  }
  const auto st = lg->stats();
  check(st.write_errors >= 1, "write_errors not counted");
  check(st.written < st.accepted, "written should be below accepted");
  check(st.accepted == accepted.size(), "accepted count");

  std::vector<int> expect = accepted;
  if (!writes_recover) {
    const Status c = lg->close();
    const auto fin = lg->stats();
    check(c.code() == Code::io_error, "close() returned " + c.to_string());
    check(c.message().find(fmt::format("{} accepted events could not be written",
                                       fin.accepted - fin.written)) != std::string::npos,
          "close() message does not count the unwritten events: " + c.message());
    expect.resize(fin.written);
  } else {
    if (::setrlimit(RLIMIT_FSIZE, &old) != 0) return "setrlimit (restore) failed";
    // The writer retries on its own; flush() reports the error until a retry has succeeded.
    Status g = lg->flush();
    for (int i = 0; i < 6000 && !g.ok(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      g = lg->flush();
    }
    check(g.ok(), "flush() after the limit was raised: " + g.to_string());
    {
      std::lock_guard<std::mutex> lk(mu);
      check(!reported.empty() && reported.back().ok(), "on_error was not told about the recovery");
    }
    for (int i = 0; i < 3; ++i, ++n) {
      check(lg->log(test_event(n)).ok(), "log() after recovery");
      expect.push_back(n);
    }
    const Status c = lg->close();
    check(c.ok(), "close() after recovery: " + c.to_string());
    check(lg->stats().written == lg->stats().accepted, "everything written after recovery");
  }
  // Only complete records on disk, a verifiable chain, and exactly the events reported as written.
  const std::string bytes = fa_test::read_bytes(seg);
  check(!bytes.empty() && bytes.back() == '\n', "the segment does not end with a complete line");
  const auto s = fa_test::verify(dir);
  check(s.intact, "verifier: " + fa_test::describe(s));
  std::vector<int> got;
  for (const json& e : fa_test::user_events(fa_test::read_records(dir))) got.push_back(e["i"].get<int>());
  check(got == expect, fmt::format("events on disk {} != expected {}", got.size(), expect.size()));
  (void)refused;
  return fail;
}

}  // namespace

TEST_CASE("logger: write errors truncate to complete records, fail flush and log, and are counted at close") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  const ChildResult child = run_forked([&] { return write_error_child(dir, false); });
  INFO(child.output);
  CHECK(child.exited_ok);
  require_intact(dir);
}

TEST_CASE("logger: after a write error the writer retries and loses nothing once writes succeed") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  const ChildResult child = run_forked([&] { return write_error_child(dir, true); });
  INFO(child.output);
  CHECK(child.exited_ok);
  require_intact(dir);
  // The log is usable again afterwards.
  auto lg = must_open(fa_test::options_for(dir));
  REQUIRE(lg->close().ok());
  require_intact(dir);
}

namespace {

// A real full disk: a 256 KiB tmpfs mounted in a private mount namespace of a forked child (root only).
std::string enospc_child(const std::string& mnt) {
  if (::unshare(CLONE_NEWNS) != 0) return fmt::format("unshare(CLONE_NEWNS): {}", std::strerror(errno));
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return "make / private failed";
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=256k") != 0)
    return fmt::format("mount tmpfs: {}", std::strerror(errno));
  const std::string dir = mnt + "/log";
  std::mutex mu;
  std::vector<Status> reported;
  LoggerOptions opt = fa_test::options_for(dir);
  opt.durability = Durability::always;
  opt.on_error = [&](const Status& s) {
    std::lock_guard<std::mutex> lk(mu);
    reported.push_back(s);
  };
  auto opened = AuditLogger::open(opt);
  if (!opened) return "open: " + opened.status().to_string();
  auto& lg = opened.value();
  std::vector<int> accepted;
  Status failure;
  for (int i = 0; i < 2000 && failure.ok(); ++i) {
    const Status s = lg->log(test_event(i));
    if (s.ok()) {
      accepted.push_back(i);
    } else {
      failure = s;
      break;
    }
    if (i % 8 == 7) failure = lg->flush();
  }
  if (failure.ok()) return "the 256 KiB file system never filled up";
  if (failure.code() != Code::io_error || failure.message().find("No space left on device") == std::string::npos)
    return "expected io_error with ENOSPC, got " + failure.to_string();
  {
    std::lock_guard<std::mutex> lk(mu);
    if (reported.empty() || reported.front().ok()) return "on_error was not called with the failure";
  }
  const Status refused = lg->log(test_event(100000));
  if (refused.code() != Code::io_error) return "log() while the disk is full: " + refused.to_string();
  for (const auto& seg : fa_test::segments(dir)) {
    const std::string bytes = fa_test::read_bytes(seg.path);
    if (!bytes.empty() && bytes.back() != '\n') return "a partial line was left in " + seg.name;
  }
  // Room again: the writer's retry writes what it kept, in order, and nothing accepted is lost.
  if (::mount(nullptr, mnt.c_str(), nullptr, MS_REMOUNT, "size=8m") != 0) return "remount failed";
  Status g = lg->flush();
  for (int i = 0; i < 600 && !g.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    g = lg->flush();
  }
  if (!g.ok()) return "flush() after space was freed: " + g.to_string();
  const Status c = lg->close();
  if (!c.ok()) return "close(): " + c.to_string();
  const auto s = fa_test::verify(dir);
  if (!s.intact) return "verifier: " + fa_test::describe(s);
  std::vector<int> got;
  for (const json& e : fa_test::user_events(fa_test::read_records(dir))) got.push_back(e["i"].get<int>());
  if (got != accepted) return fmt::format("{} events on disk, {} accepted", got.size(), accepted.size());
  return "";
}

}  // namespace

TEST_CASE("logger: a full disk (ENOSPC) is reported, leaves no partial line, and loses nothing once space returns") {
  if (::geteuid() != 0) {
    // Mounting a small file system needs root; the project's test command and CI run as root.
    WARN("not root: the ENOSPC test needs to mount a tmpfs and was not run");
    return;
  }
  fa_test::TempDir tmp;
  const std::string mnt = tmp / "small";
  REQUIRE(::mkdir(mnt.c_str(), 0700) == 0);
  const ChildResult child = run_forked([&] { return enospc_child(mnt); });
  INFO(child.output);
  CHECK(child.exited_ok);
}
