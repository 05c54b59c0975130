// SPDX-License-Identifier: Apache-2.0
// AuditLogger under concurrent callers: many producers form one chain, flush()/head()/stats() from other
// threads, close() against blocked producers. The test script runs every test named "concurrency" under
// ThreadSanitizer too, where the event counts are scaled down.
#include <fmt/format.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fooocus_audit/audit_logger.hpp"
#include "support/logger_support.hpp"

using fooocus_audit::Anchor;
using fooocus_audit::AuditLogger;
using fooocus_audit::Code;
using fooocus_audit::Durability;
using fooocus_audit::LoggerOptions;
using fooocus_audit::Status;
using nlohmann::json;

namespace {

using fa_test::must_open;

// Producer p's event i: a GenerationEvent or a JSON event, both carrying request_id "p<p>-<i>".
Status log_numbered(AuditLogger& lg, int p, int i) {
  const std::string id = fmt::format("p{}-{}", p, i);
  if (i % 2 == 0) return lg.log(fa_test::generation_event(id, static_cast<std::size_t>(i % 97)));
  return lg.log(json{{"event_type", "test.concurrent"}, {"request_id", id}, {"producer", p}, {"i", i}});
}

// Checks the log in dir: intact, and for each producer its events 0..counts[p]-1 in its own order,
// each exactly once. Returns the number of records.
std::uint64_t check_producers(const std::string& dir, const std::vector<int>& counts) {
  const auto summary = fa_test::verify(dir);
  INFO(fa_test::describe(summary));
  REQUIRE(summary.intact);
  std::vector<int> next(counts.size(), 0);
  std::uint64_t records = 0, seq = 0;
  for (const auto& seg : fa_test::segments(dir)) {
    for (const std::string& line : fa_test::split_lines(fa_test::read_bytes(seg.path))) {
      ++records;
      // Cheaper than a full parse for 160,000 records: the id is the only request_id in the line.
      REQUIRE(line.find(fmt::format("\"seq\":{},", seq++)) != std::string::npos);
      const auto at = line.find("\"request_id\":\"p");
      if (at == std::string::npos) {
        REQUIRE(line.find("\"event_type\":\"log.") != std::string::npos);
        continue;
      }
      const auto start = at + 15;
      const auto dash = line.find('-', start);
      const auto end = line.find('"', start);
      const int p = std::stoi(line.substr(start, dash - start));
      const int i = std::stoi(line.substr(dash + 1, end - dash - 1));
      REQUIRE(p >= 0);
      REQUIRE(static_cast<std::size_t>(p) < counts.size());
      REQUIRE(i == next[static_cast<std::size_t>(p)]);
      ++next[static_cast<std::size_t>(p)];
    }
  }
  CHECK(next == counts);
  CHECK(records == summary.records);
  return records;
}

}  // namespace

TEST_CASE("concurrency: 8 producers x 20000 events form one contiguous chain in each producer's order") {
  const int producers = 8;
  const int per_producer = fa_test::kUnderTsan ? 5000 : 20000;
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto opts = fa_test::options_for(dir);
  opts.queue_capacity = 1024;
  opts.max_segment_bytes = 4u << 20;  // rotation while producers run
  auto lg = must_open(opts);

  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i)
        if (!log_numbered(*lg, p, i).ok()) ++failures;
    });
  for (auto& t : threads) t.join();
  REQUIRE(lg->close().ok());
  CHECK(failures.load() == 0);
  const auto st = lg->stats();
  CHECK(st.accepted == static_cast<std::uint64_t>(producers * per_producer));
  CHECK(st.written == st.accepted);
  CHECK(st.durable == st.accepted);

  const std::uint64_t records = check_producers(dir, std::vector<int>(producers, per_producer));
  CHECK(records == static_cast<std::uint64_t>(producers * per_producer) + 1);  // + log.opened
  CHECK(fa_test::segments(dir).size() >= 2);
}

TEST_CASE("concurrency: flush from several callers while producers log") {
  const Durability mode = GENERATE(Durability::none, Durability::group_commit, Durability::always);
  const int producers = 4, flushers = 3;
  const int per_producer = fa_test::kUnderTsan ? 500 : 4000;
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto opts = fa_test::options_for(dir);
  opts.durability = mode;
  opts.group_commit_interval = std::chrono::milliseconds(3);
  opts.queue_capacity = 256;
  opts.anchor_path = tmp / "anchor.json";
  auto lg = must_open(opts);

  std::atomic<int> producing{producers}, failures{0}, flushes{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i)
        if (!log_numbered(*lg, p, i).ok()) ++failures;
      --producing;
    });
  for (int f = 0; f < flushers; ++f)
    threads.emplace_back([&] {
      do {
        const std::uint64_t before = lg->stats().accepted;
        if (!lg->flush().ok()) ++failures;
        const auto st = lg->stats();
        if (st.durable < before || st.written < before) ++failures;
        ++flushes;
      } while (producing.load() > 0);
    });
  for (auto& t : threads) t.join();
  CHECK(failures.load() == 0);
  CHECK(flushes.load() >= flushers);
  REQUIRE(lg->close().ok());

  check_producers(dir, std::vector<int>(producers, per_producer));
  auto anchor = Anchor::load(opts.anchor_path);
  REQUIRE(anchor.ok());
  CHECK(anchor->seq == lg->head().seq);
  const auto s = fa_test::verify(dir, anchor.value());
  INFO(fa_test::describe(s));
  CHECK(s.intact);
}

TEST_CASE("concurrency: head() and stats() readers alongside producers") {
  const int producers = 4, readers = 3;
  const int per_producer = fa_test::kUnderTsan ? 500 : 5000;
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto opts = fa_test::options_for(dir);
  opts.durability = Durability::group_commit;
  auto lg = must_open(opts);
  const std::string log_id = lg->log_id();

  std::atomic<int> producing{producers}, failures{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i)
        if (!log_numbered(*lg, p, i).ok()) ++failures;
      --producing;
    });
  for (int r = 0; r < readers; ++r)
    threads.emplace_back([&] {
      std::uint64_t last_seq = 0, last_durable = 0, last_accepted = 0;
      do {
        const Anchor h = lg->head();
        const auto st = lg->stats();
        // Everything only moves forward, and the counters are consistent with each other.
        if (h.log_id != log_id || h.seq < last_seq || h.ts.size() != 27) ++failures;
        if (st.durable < last_durable || st.accepted < last_accepted) ++failures;
        if (st.durable > st.written || st.written > st.accepted || st.records < st.written + 1) ++failures;
        last_seq = h.seq;
        last_durable = st.durable;
        last_accepted = st.accepted;
      } while (producing.load() > 0);
    });
  for (auto& t : threads) t.join();
  CHECK(failures.load() == 0);
  REQUIRE(lg->close().ok());

  check_producers(dir, std::vector<int>(producers, per_producer));
  const auto s = fa_test::verify(dir);
  REQUIRE(s.head.has_value());
  CHECK(lg->head().head == *s.head);
  CHECK(lg->head().seq == *s.last_seq);
}

TEST_CASE("concurrency: close() while producers are blocked on a full queue") {
  const int producers = 8;
  const int per_producer = fa_test::kUnderTsan ? 300 : 2000;
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto opts = fa_test::options_for(dir);
  opts.queue_capacity = 4;
  // Holding the clock holds the writer in its first seal, so the queue fills and producers block.
  auto hold = std::make_shared<std::atomic<bool>>(false);
  opts.clock_micros = fa_test::holdable_clock(hold);
  auto lg = must_open(opts);
  hold->store(true);

  std::atomic<int> unexpected{0};
  std::vector<std::vector<int>> ok_ids(producers);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) {
        const Status s = log_numbered(*lg, p, i);
        if (s.ok())
          ok_ids[static_cast<std::size_t>(p)].push_back(i);
        else if (s.code() != Code::closed)
          ++unexpected;
        // After closed, every later call is refused as well.
      }
    });
  // Wait (no time limit needed: the writer holds one batch, the queue holds 4) until the queue is full.
  while (lg->stats().accepted < 5) std::this_thread::yield();

  Status closed_with;
  std::thread closer([&] { closed_with = lg->close(); });
  std::this_thread::sleep_for(
      std::chrono::milliseconds(20));  // usually lets close() begin first; either order is valid
  hold->store(false);
  closer.join();
  for (auto& t : threads) t.join();

  CHECK(closed_with.ok());
  CHECK(unexpected.load() == 0);
  CHECK(lg->log(json{{"event_type", "late"}}).code() == Code::closed);
  const auto st = lg->stats();
  std::uint64_t ok_total = 0;
  std::vector<int> counts;
  for (const auto& ids : ok_ids) {
    ok_total += ids.size();
    // A producer's accepted events are a prefix of its sequence: once refused, it stays refused.
    for (std::size_t k = 0; k < ids.size(); ++k) REQUIRE(ids[k] == static_cast<int>(k));
    counts.push_back(static_cast<int>(ids.size()));
  }
  CHECK(st.accepted == ok_total);
  CHECK(st.written == ok_total);
  CHECK(check_producers(dir, counts) == ok_total + 1);
}

TEST_CASE("concurrency: close() called from several callers at once") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto lg = must_open(fa_test::options_for(dir));
  for (int i = 0; i < 100; ++i) REQUIRE(log_numbered(*lg, 0, i).ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> closers;
  for (int c = 0; c < 4; ++c)
    closers.emplace_back([&] {
      if (!lg->close().ok()) ++failures;
      if (lg->flush().code() != Code::closed) ++failures;
    });
  for (auto& t : closers) t.join();
  CHECK(failures.load() == 0);
  check_producers(dir, {100});
}
