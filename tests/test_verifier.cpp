// SPDX-License-Identifier: Apache-2.0
// ChainVerifier beyond the tamper matrix: the summary of an intact log checked against independent
// computations, finding locations, the findings cap, the streaming carry buffer, flat memory, over-long
// lines, thread count independence, the JSON report, and empty logs.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "support/expect_findings.hpp"
#include "support/log_fixture.hpp"

using namespace fa_test;
using fooocus_audit::Reason;
namespace fa = fooocus_audit;

namespace {

/// Feeds `bytes` as one stream, `chunk(i)` bytes at a time.
template <typename ChunkFn>
fa::VerifySummary feed_in_chunks(const std::string& bytes, ChunkFn chunk, fa::VerifyOptions opt = {}) {
  fa::ChainVerifier v(std::move(opt));
  v.begin_segment("-", std::nullopt);
  std::size_t at = 0;
  for (std::size_t i = 0; at < bytes.size(); ++i) {
    const std::size_t n = std::min(bytes.size() - at, std::max<std::size_t>(1, chunk(i)));
    v.feed(std::string_view(bytes).substr(at, n));
    at += n;
  }
  v.end_segment();
  return v.finish();
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

/// A log whose records are built directly (no writer): fast, and any size.
class SyntheticLog {
 public:
  explicit SyntheticLog(std::string log_id)
      : log_id_(std::move(log_id)), prev_(fa::record::genesis_hash(log_id_)) {}

  /// Appends the next record with the given event bytes (canonical) and returns its line (without LF).
  const std::string& next(const std::string& event) {
    line_.clear();
    fa::record::append_record(line_, event, log_id_, prev_, seq_, fa::record::format_timestamp(ts_ + seq_));
    prev_ = fa::record::chain_hash(line_);
    ++seq_;
    return line_;
  }
  const fa::Hash& head() const { return prev_; }
  std::uint64_t size() const { return seq_; }

 private:
  std::string log_id_;
  fa::Hash prev_;
  std::uint64_t seq_ = 0;
  std::int64_t ts_ = 1774449000LL * 1000000;
  std::string line_;
};

const std::string kLogId = "9f0c2d6a51e84b3f8a7d1c0b2e3f4a5b";

/// A tampered multi-segment log, as one stream: findings of several kinds and a torn tail.
std::string tampered_stream(const TempDir& tmp) {
  const std::string dir = tmp / "log";
  write_log(dir, 120, 8192);
  LogImage img = LogImage::load(dir);
  img.line(10) = replace_once(img.line(10), "alice", "Alice");         // hash_mismatch at 10
  img.segs[2].lines.erase(img.segs[2].lines.begin() + 3);              // a gap
  img.line(60) = replace_once(img.line(60), "\"seq\":", "\"seq\": ");  // non_canonical
  std::string s = img.concatenated();
  return s.substr(0, s.size() - 40);  // torn tail
}

}  // namespace

TEST_CASE("verifier: the summary of an intact log matches independent computations", "[verifier]") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  const WrittenLog w = write_log(dir, 200, 8192);
  const LogImage img = LogImage::load(dir);
  const fa::VerifySummary s = verify_path(dir);
  require_intact(s);

  std::uint64_t bytes = 0;
  std::vector<fa::Hash> leaves;
  for (const auto& seg : img.segs) {
    bytes += LogImage::bytes(seg).size();
    for (const std::string& l : seg.lines) leaves.push_back(fa::merkle::leaf_hash(l));
  }
  const std::string& first = img.segs.front().lines.front();
  const std::string& last = img.segs.back().lines.back();

  CHECK(s.records == 201);
  CHECK(s.lines == 201);
  CHECK(s.segments == img.segs.size());
  CHECK(s.bytes == bytes);
  CHECK(s.log_id == w.log_id);
  CHECK(s.first_seq == 0u);
  CHECK(s.last_seq == 200u);
  CHECK(s.first_ts == parse_rec(first).ts);
  CHECK(s.last_ts == parse_rec(last).ts);
  // head = SHA-256(0x00 || last record bytes), computed here without the library's chain_hash.
  REQUIRE(s.head);
  CHECK(*s.head == fa::detail::sha256(std::string(1, '\0') + last));
  CHECK(*s.head == w.head.head);
  REQUIRE(s.merkle_root);
  CHECK(s.tree_size == 201);
  CHECK(*s.merkle_root == fa::merkle::root_of(leaves));
  CHECK_FALSE(s.anchor_checked);
  CHECK(s.macs_unchecked == 0);
  CHECK(fa::format_summary_text(s).rfind("INTACT: 201 records (seq 0..200)", 0) == 0);

  SECTION("with its own anchor") {
    fa::VerifyOptions o;
    o.anchor = w.head;
    const fa::VerifySummary a = verify_path(dir, o);
    require_intact(a);
    CHECK(a.anchor_checked);
    CHECK(fa::format_summary_text(a).find("anchor       consistent") != std::string::npos);
  }
  SECTION("with an anchor of an earlier record") {
    fa::VerifyOptions o;
    o.anchor = fa::Anchor{w.log_id, 150, fa::merkle::leaf_hash(img.line(150)), parse_rec(img.line(150)).ts};
    require_intact(verify_path(dir, o));
  }
  SECTION("with an anchor of another log") {
    fa::VerifyOptions o;
    o.anchor = w.head;
    o.anchor->log_id = "00000000000000000000000000000000";
    require_exactly(verify_path(dir, o), {{Reason::anchor_mismatch, 200}});
  }
}

TEST_CASE("verifier: findings carry segment names and the byte offsets of their lines", "[verifier]") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  write_log(dir, 200, 8192);
  LogImage img = LogImage::load(dir);
  REQUIRE(img.segs.size() >= 4);
  // Garbage as the 4th line of segment 1, one changed byte in the 6th record of segment 3.
  const std::uint64_t bad_seq = parse_rec(img.segs[1].lines[3]).seq;
  img.segs[1].lines[3] = "{\"not\":\"a record\"}";
  const std::uint64_t k = parse_rec(img.segs[3].lines[5]).seq;
  img.segs[3].lines[5] = replace_once(img.segs[3].lines[5], "acme_corp", "acme_corq");
  img.save(dir);

  // Offsets found by searching the files themselves, independently of LogImage.
  const std::string seg1 = read_bytes(dir + "/" + img.segs[1].name);
  const std::string seg3 = read_bytes(dir + "/" + img.segs[3].name);
  const auto off1 = seg1.find("{\"not\":\"a record\"}\n");
  const auto off3 = seg3.find(img.segs[3].lines[5] + "\n");
  REQUIRE(off1 != std::string::npos);
  REQUIRE(off3 != std::string::npos);
  REQUIRE(seg1[off1 - 1] == '\n');
  REQUIRE(seg3[off3 - 1] == '\n');

  const fa::VerifySummary s = verify_path(dir);
  require_exactly(s, {{Reason::bad_record, bad_seq, img.segs[1].name, off1, 1, true},
                      {Reason::hash_mismatch, k, img.segs[3].name, off3, 1, false}});
  // Sorted by seq.
  REQUIRE(s.findings[0].seq < s.findings[1].seq);
  const std::string text = fa::format_summary_text(s);
  CHECK(text.rfind("TAMPERED OR DAMAGED: 2 finding(s)", 0) == 0);
  CHECK(text.find(img.segs[1].name + " @ byte " + std::to_string(off1)) != std::string::npos);
  CHECK(text.find(img.segs[3].name + " @ byte " + std::to_string(off3)) != std::string::npos);
  CHECK(text.find("seq " + std::to_string(bad_seq) + "?") != std::string::npos);  // inferred
  CHECK_FALSE(s.merkle_root);
}

TEST_CASE("verifier: max_findings caps the list while findings_total counts everything", "[verifier]") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  write_log(dir, 60, 1 << 20);
  LogImage img = LogImage::load(dir);
  auto& lines = img.segs[0].lines;
  for (std::size_t i = 1; i <= 30; ++i)
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(2 * i), "junk");
  img.save(dir);

  fa::VerifyOptions o;
  o.max_findings = 5;
  const fa::VerifySummary s = verify_path(dir, o);
  CHECK_FALSE(s.intact);
  CHECK(s.findings.size() == 5);
  CHECK(s.findings_total == 30);
  CHECK(s.records == 61);
  CHECK(s.lines == 91);
  for (const fa::Finding& f : s.findings) CHECK(f.reason == Reason::bad_json);
  CHECK(fa::format_summary_text(s).find("... and 25 more") != std::string::npos);
  const auto j = nlohmann::json::parse(fa::format_summary_json(s));
  CHECK(j["findings"].size() == 5);
  CHECK(j["findings_total"] == 30);

  SECTION("max_findings 0 keeps none but still counts") {
    o.max_findings = 0;
    const fa::VerifySummary z = verify_path(dir, o);
    CHECK(z.findings.empty());
    CHECK(z.findings_total == 30);
    CHECK_FALSE(z.intact);
  }
}

TEST_CASE("verifier: lines split across arbitrary feed() boundaries give identical results", "[verifier]") {
  TempDir tmp;
  const std::string bytes = tampered_stream(tmp);
  const fa::VerifySummary whole = verify_stream(bytes);
  REQUIRE_FALSE(whole.intact);
  REQUIRE(with_reason(whole, Reason::hash_mismatch).size() == 1);
  REQUIRE(with_reason(whole, Reason::sequence_gap).size() == 1);
  REQUIRE(with_reason(whole, Reason::non_canonical).size() == 1);
  REQUIRE(with_reason(whole, Reason::torn_record).size() == 1);
  const std::string expected = fa::format_summary_json(whole);

  CHECK(fa::format_summary_json(feed_in_chunks(bytes, [&](std::size_t) { return bytes.size(); })) ==
        expected);
  CHECK(fa::format_summary_json(feed_in_chunks(bytes, [](std::size_t) { return 1; })) == expected);
  CHECK(fa::format_summary_json(feed_in_chunks(bytes, [](std::size_t) { return 7; })) == expected);
  CHECK(fa::format_summary_json(feed_in_chunks(bytes, [](std::size_t) { return 4096; })) == expected);
  std::mt19937 rng(20260325);
  std::uniform_int_distribution<std::size_t> len(1, 3000);
  for (int round = 0; round < 5; ++round)
    CHECK(fa::format_summary_json(feed_in_chunks(bytes, [&](std::size_t) { return len(rng); })) == expected);
  // Chunks ending exactly at, just before and just after each LF.
  std::vector<std::size_t> cuts;
  for (std::size_t i = 0; i < bytes.size(); ++i)
    if (bytes[i] == '\n') cuts.push_back(i + 1 + static_cast<std::size_t>(cuts.size() % 3) - 1);
  std::size_t prev = 0, c = 0;
  CHECK(fa::format_summary_json(feed_in_chunks(bytes, [&](std::size_t) {
          while (c < cuts.size() && cuts[c] <= prev) ++c;
          const std::size_t n = c < cuts.size() ? cuts[c] - prev : bytes.size() - prev;
          prev += n;
          return n;
        })) == expected);
}

TEST_CASE("verifier: a 200 MB stream is verified in chunks with flat memory", "[verifier][slow]") {
  constexpr std::uint64_t kTarget = 200u << 20;
  SyntheticLog log(kLogId);
  fa::merkle::Frontier tree;
  fa::ChainVerifier v;
  v.begin_segment("-", std::nullopt);
  const std::string blob(1800, 'p');
  std::string chunk;
  std::uint64_t total = 0, peak_growth = 0;
  const std::uint64_t rss0 = resident_bytes();
  while (total < kTarget) {
    chunk.clear();
    while (chunk.size() < (1u << 20)) {
      const std::string& line = log.next(R"({"blob":")" + blob + R"(","event_type":"bench.event","i":)" +
                                         std::to_string(log.size()) + "}");
      tree.append(fa::record::chain_hash(line));
      chunk += line;
      chunk += '\n';
    }
    // Cut the megabyte at an odd place so that lines straddle feed() calls.
    const std::size_t cut = chunk.size() / 3 + 17;
    v.feed(std::string_view(chunk).substr(0, cut));
    v.feed(std::string_view(chunk).substr(cut));
    total += chunk.size();
    const std::uint64_t rss = resident_bytes();
    if (rss > rss0) peak_growth = std::max(peak_growth, rss - rss0);
  }
  v.end_segment();
  const fa::VerifySummary s = v.finish();
  require_intact(s);
  CHECK(s.bytes == total);
  CHECK(s.records == log.size());
  CHECK(*s.head == log.head());
  CHECK(s.tree_size == log.size());
  CHECK(*s.merkle_root == tree.root());
  // Nothing proportional to the input is kept (the input itself is 200 MB). Not measurable under ASan/TSan:
  // their allocators keep freed memory in quarantine (ASan: 256 MiB by default).
  INFO("resident growth " << peak_growth / (1 << 20) << " MiB");
  if (!kSanitized) CHECK(peak_growth < (48u << 20));
}

TEST_CASE("verifier: a line longer than 16 MiB is record_too_large and the next line is still checked",
          "[verifier]") {
  SyntheticLog log(kLogId);
  std::vector<std::string> lines;
  for (int i = 0; i < 6; ++i)
    lines.push_back(log.next(R"({"event_type":"test.event","i":)" + std::to_string(i) + "}"));
  const std::uint64_t k = 3;
  const std::size_t big = fa::record::kMaxRecordBytes + 1;
  std::string bytes, prefix;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i == k) prefix = bytes;
    bytes += i == k ? std::string(big, 'x') : lines[i];
    bytes += '\n';
  }
  const Expect too_large{Reason::record_too_large, k, "-", prefix.size(), 1, true};

  SECTION("one feed() call") {
    require_exactly(feed_in_chunks(bytes, [&](std::size_t) { return bytes.size(); }), {too_large});
  }
  SECTION("1 MiB chunks") {
    require_exactly(feed_in_chunks(bytes, [](std::size_t) { return 1u << 20; }), {too_large});
  }
  SECTION("odd chunks") {
    require_exactly(feed_in_chunks(bytes, [](std::size_t) { return 999983; }), {too_large});
  }
  SECTION("a file read by verify_path") {
    TempDir tmp;
    const std::string path = tmp / "segment-00000000000000000000.jsonl";
    write_bytes(path, bytes);
    require_exactly(verify_path(path), {{Reason::record_too_large, k, "segment-00000000000000000000.jsonl",
                                         prefix.size(), 1, true}});
  }
  SECTION("exactly 16 MiB is within the limit (and here simply not JSON)") {
    std::string ok = prefix + std::string(fa::record::kMaxRecordBytes, 'x') + "\n";
    for (std::size_t i = k + 1; i < lines.size(); ++i) ok += lines[i] + "\n";
    require_exactly(feed_in_chunks(ok, [](std::size_t) { return 1u << 20; }),
                    {{Reason::bad_json, k, "-", prefix.size(), 1, true}});
  }
  SECTION("an over-long last line without LF is a torn record (§8.2 checks the LF first)") {
    const std::string torn = prefix + std::string(big, 'x');
    require_exactly(feed_in_chunks(torn, [](std::size_t) { return 1u << 20; }),
                    {{Reason::torn_record, k, "-", prefix.size(), 1, true}});
  }
}

TEST_CASE("verifier: threads=1, 2 and 4 give identical summaries", "[verifier]") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  write_log(dir, 600, 64u << 20);  // one segment: each 4 MiB read holds hundreds of lines
  auto run = [&](unsigned threads) {
    fa::VerifyOptions o;
    o.threads = threads;
    return fa::format_summary_json(verify_path(dir, o));
  };
  const std::string one = run(1);
  CHECK(nlohmann::json::parse(one)["intact"] == true);
  CHECK(run(2) == one);
  CHECK(run(4) == one);

  LogImage img = LogImage::load(dir);
  REQUIRE(img.segs.size() == 1);
  img.line(100) = replace_once(img.line(100), "alice", "Alice");
  img.segs[0].lines.erase(img.segs[0].lines.begin() + 300);
  img.segs[0].lines[450] = "garbage";
  std::swap(img.segs[0].lines[500], img.segs[0].lines[501]);
  img.save(dir);
  const std::string tampered = run(1);
  CHECK(nlohmann::json::parse(tampered)["findings_total"] == 4);
  CHECK(run(2) == tampered);
  CHECK(run(4) == tampered);
  CHECK(run(0) == tampered);
}

TEST_CASE("verifier: format_summary_json parses and has the documented fields", "[verifier]") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  const WrittenLog w = write_log(dir, 40, 4096);
  LogImage img = LogImage::load(dir);
  const std::uint64_t k = 20;
  const std::string seg = img.segment_of(k);
  const std::uint64_t off = img.offset_of(k);
  img.line(k) = "not json";
  img.save(dir);

  const auto j = nlohmann::json::parse(fa::format_summary_json(verify_path(dir)));
  for (const char* key : {"intact", "records", "lines", "bytes", "segments", "log_id", "first_seq",
                          "last_seq", "first_ts", "last_ts", "head", "merkle_root", "tree_size",
                          "anchor_checked", "macs_unchecked", "findings_total", "findings"}) {
    INFO(key);
    CHECK(j.contains(key));
  }
  CHECK(j["intact"] == false);
  CHECK(j["records"] == 40);
  CHECK(j["lines"] == 41);
  CHECK(j["log_id"] == w.log_id);
  CHECK(j["first_seq"] == 0);
  CHECK(j["last_seq"] == 40);
  CHECK(j["head"] == fa::detail::to_hex(w.head.head));
  CHECK(j["merkle_root"].is_null());  // not exactly 0..N-1
  CHECK(j["findings_total"] == 1);
  REQUIRE(j["findings"].size() == 1);
  const auto& f = j["findings"][0];
  CHECK(f["reason"] == "bad_json");
  CHECK(f["seq"] == k);
  CHECK(f["seq_inferred"] == true);
  CHECK(f["count"] == 1);
  CHECK(f["segment"] == seg);
  CHECK(f["offset"] == off);
  CHECK(f["detail"].is_string());

  SECTION("an intact empty log: nulls where nothing was read") {
    TempDir empty;
    const auto e = nlohmann::json::parse(fa::format_summary_json(verify_path(empty.path())));
    CHECK(e["intact"] == true);
    CHECK(e["records"] == 0);
    CHECK(e["first_seq"].is_null());
    CHECK(e["last_seq"].is_null());
    CHECK(e["head"].is_null());
    CHECK(e["findings"].empty());
  }
}

TEST_CASE("verifier: an empty directory is an intact empty log, and truncated_tail with an anchor",
          "[verifier]") {
  TempDir tmp;
  const fa::VerifySummary s = verify_path(tmp.path());
  require_intact(s);
  CHECK(s.records == 0);
  CHECK(s.segments == 0);
  CHECK_FALSE(s.first_seq);
  CHECK_FALSE(s.head);
  CHECK(s.tree_size == 0);
  if (s.merkle_root) CHECK(*s.merkle_root == fa::merkle::empty_root());

  fa::VerifyOptions o;
  o.anchor = fa::Anchor{kLogId, 4, fa::detail::sha256("x"), "2026-03-25T14:30:45.123456Z"};
  const fa::VerifySummary a = verify_path(tmp.path(), o);
  require_exactly(a, {{Reason::truncated_tail, 0, std::nullopt, std::nullopt, 5}});
  CHECK(a.anchor_checked);

  SECTION("files that are not segments are ignored") {
    write_bytes(tmp / "LOCK", "");
    write_bytes(tmp / "segment-1.jsonl", "garbage\n");
    write_bytes(tmp / "notes.txt", "garbage\n");
    require_intact(verify_path(tmp.path()));
  }
  SECTION("only an empty newest segment (a writer stopped before writing)") {
    write_bytes(tmp / "segment-00000000000000000000.jsonl", "");
    const fa::VerifySummary e = verify_path(tmp.path());
    require_intact(e);
    CHECK(e.segments == 1);
  }
  SECTION("a path that does not exist is an error, not a finding") {
    fa::ChainVerifier v;
    auto r = v.verify_path(tmp / "missing");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == fa::Code::not_found);
  }
}

TEST_CASE("verifier: one segment file of a longer log starts where its name says", "[verifier]") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  write_log(dir, 100, 4096);
  const LogImage img = LogImage::load(dir);
  REQUIRE(img.segs.size() >= 3);
  const auto& mid = img.segs[1];
  const std::uint64_t first = parse_rec(mid.lines.front()).seq;
  REQUIRE(first > 0);

  const fa::VerifySummary s = verify_path(dir + "/" + mid.name);
  require_intact(s);
  CHECK(s.first_seq == first);
  CHECK(s.records == mid.lines.size());
  CHECK_FALSE(s.merkle_root);  // not a prefix of the log

  SECTION("--start-seq 0: the earlier segments are missing") {
    fa::VerifyOptions o;
    o.start_seq = 0;
    require_exactly(verify_path(dir + "/" + mid.name, o), {{Reason::missing_segment, 0, mid.name, 0, first}});
  }
  SECTION("a record from before the file's start: reorder in the file alone, duplicate in the whole log") {
    LogImage copy = img;
    auto& lines = copy.segs[1].lines;
    lines.insert(lines.begin() + 2, copy.segs[0].lines[1]);  // record 1 inside segment 1
    copy.save(dir);
    const std::uint64_t off = copy.offset({1, 2});
    require_exactly(verify_path(dir + "/" + mid.name), {{Reason::sequence_reorder, 1, mid.name, off}});
    require_exactly(verify_path(dir), {{Reason::sequence_duplicate, 1, mid.name, off}});
  }
  SECTION("the same bytes as a stream") {
    fa::VerifyOptions o;
    o.start_seq = first;
    require_intact(verify_stream(LogImage::bytes(mid), o));
    // Without a start the stream starts at 0; a stream has no file names, so this is a plain gap.
    require_exactly(verify_stream(LogImage::bytes(mid)), {{Reason::sequence_gap, 0, "-", 0, first}});
  }
}

// A log whose first record has no mac does not use MACs (§8.2 step 10); a stray mac later cannot be checked.
TEST_CASE("verifier: a mac member in a log without MACs is accepted and counted as unchecked", "[verifier]") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  write_log(dir, 30, 1 << 20);
  LogImage img = LogImage::load(dir);
  // §9.1: "mac" sorts between "log_id" and "prev". The chain hash covers the record with it.
  const std::string mac = R"("mac":{"epoch":1,"tag":")" + std::string(64, 'a') + R"("},)";
  img.line(12) = replace_once(img.line(12), "\"prev\":", mac + "\"prev\":");
  img.rechain_from(13);
  img.save(dir);
  const fa::VerifySummary s = verify_path(dir);
  require_intact(s);
  CHECK(s.macs_unchecked == 1);
  CHECK_FALSE(s.uses_macs);
  CHECK(fa::format_summary_text(s).find("NOT CHECKED: the log has no MACs from its start, yet 1 record(s) carry one") !=
        std::string::npos);
}

// Found by fuzz/fuzz_verify (corpus: repro_null_empty_feed): an empty feed() while a partial line is carried.
TEST_CASE("verifier: an empty feed between partial lines changes nothing", "[verifier]") {
  fooocus_audit::ChainVerifier v;
  v.begin_segment("-", std::nullopt);
  v.feed("x");
  v.feed(std::string_view{});
  v.feed("y");
  v.end_segment();
  const fooocus_audit::VerifySummary s = v.finish();
  REQUIRE(s.findings.size() == 1);
  CHECK(s.findings[0].reason == Reason::torn_record);
  CHECK(s.bytes == 2);
}

// A hostile log full of holes (seq 0, 2, 4, ...) must not make the verifier's memory grow with the log:
// at most kMaxOpenGaps holes are remembered at once, and every hole is still reported.
TEST_CASE("verifier: a log with thousands of holes reports each and keeps its gap memory bounded", "[verifier]") {
  namespace record = fooocus_audit::record;
  const std::string log_id = "00000000000000000000000000000000";
  std::string stream;
  constexpr std::uint64_t kRecords = 10000;
  for (std::uint64_t i = 0; i < kRecords; ++i) {
    const fooocus_audit::Hash prev = i == 0 ? record::genesis_hash(log_id) : fooocus_audit::Hash{};
    record::append_record(stream, R"({"event_type":"x"})", log_id, prev, 2 * i, "2026-03-25T14:30:45.123456Z");
    stream.push_back('\n');
  }
  fooocus_audit::VerifyOptions opt;
  opt.max_findings = 20000;
  fooocus_audit::ChainVerifier v(opt);
  v.begin_segment("-", std::nullopt);
  v.feed(stream);
  v.end_segment();
  const fooocus_audit::VerifySummary s = v.finish();
  CHECK(s.records == kRecords);
  REQUIRE(s.findings_total == kRecords - 1);
  std::uint64_t expect = 1;
  for (const fooocus_audit::Finding& f : s.findings) {
    CHECK(f.reason == Reason::sequence_gap);
    CHECK(f.seq == expect);  // reported in seq order: 1, 3, 5, ...
    expect += 2;
  }
}
