// SPDX-License-Identifier: Apache-2.0
// The tamper matrix: logs written by the real AuditLogger, altered on disk the way an attacker or a broken
// disk would, then checked with ChainVerifier. Each case asserts the exact reason code, sequence number,
// segment file and byte offset of what docs/log-format.md §8.2 says must be reported, in directory mode and,
// where it means something, in single-segment-file mode and stream mode (verify_fd on a pipe).

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "support/expect_findings.hpp"
#include "support/log_fixture.hpp"

using namespace fa_test;
using fooocus_audit::Reason;
namespace fa = fooocus_audit;

namespace {

constexpr int kEvents = 200;

/// A fresh 201-record log (log.opened + 200 events) in several segments, verified intact, with the anchor
/// of its last record taken before any tampering.
struct TamperLog {
  TempDir tmp;
  std::string dir = tmp / "log";
  WrittenLog written = write_log(dir, kEvents);
  LogImage img = LogImage::load(dir);
  fa::VerifySummary baseline = verify_path(dir);
  fa::Anchor anchor = anchor_of(baseline);
  std::uint64_t last = kEvents;  // seq of the last record

  TamperLog() {
    require_intact(baseline);
    REQUIRE(baseline.records == kEvents + 1);
    REQUIRE(img.segs.size() >= 5);
    REQUIRE(img.count() == kEvents + 1);
    // The writer's own durable head and the verifier's agree.
    REQUIRE(written.head.seq == last);
    REQUIRE(written.head.head == anchor.head);
    REQUIRE(written.head.ts == anchor.ts);
  }

  std::string seg_path(const std::string& name) const { return dir + "/" + name; }
  fa::VerifySummary verify(std::optional<fa::Anchor> a = std::nullopt) const {
    fa::VerifyOptions o;
    o.anchor = std::move(a);
    return verify_path(dir, o);
  }
  fa::VerifySummary verify_segment_file(const std::string& name) const { return verify_path(seg_path(name)); }
  /// The current files, concatenated in name order, through a pipe.
  fa::VerifySummary verify_as_stream(std::optional<fa::Anchor> a = std::nullopt) const {
    fa::VerifyOptions o;
    o.anchor = std::move(a);
    return verify_stream(LogImage::load(dir).concatenated(), o);
  }
};

std::string hex_of(std::string_view s) { return fa::detail::to_hex(fa::detail::sha256(s)); }

}  // namespace

TEST_CASE("tamper: one byte changed in a middle record's event is hash_mismatch at that record", "[tamper]") {
  TamperLog t;
  const std::uint64_t k = t.img.middle_seq();
  const std::string seg = t.img.segment_of(k);
  const std::uint64_t off = t.img.offset_of(k);
  const std::string& line = t.img.line(k);
  const auto at = line.find("alice@enterprise.com");
  REQUIRE(at != std::string::npos);
  patch_file(t.seg_path(seg), off + at, "A");  // "Alice@...": still valid, canonical JSON

  require_exactly(t.verify(), {{Reason::hash_mismatch, k, seg, off}});
  require_exactly(t.verify_segment_file(seg), {{Reason::hash_mismatch, k, seg, off}});
  require_exactly(t.verify_as_stream(), {{Reason::hash_mismatch, k, "-", t.img.stream_offset_of(k)}});
}

TEST_CASE("tamper: a changed timestamp is hash_mismatch at that record", "[tamper]") {
  TamperLog t;
  const std::uint64_t k = t.img.middle_seq();
  const std::string seg = t.img.segment_of(k);
  const std::uint64_t off = t.img.offset_of(k);
  const std::string& line = t.img.line(k);
  const auto at = line.find("\"ts\":\"");
  REQUIRE(at != std::string::npos);
  // First fractional digit: .000000 -> .500000, still between the neighbours (the test clock steps 1 s).
  REQUIRE(line[at + 6 + 20] == '0');
  patch_file(t.seg_path(seg), off + at + 6 + 20, "5");

  require_exactly(t.verify(), {{Reason::hash_mismatch, k, seg, off}});
  require_exactly(t.verify_segment_file(seg), {{Reason::hash_mismatch, k, seg, off}});
  require_exactly(t.verify_as_stream(), {{Reason::hash_mismatch, k, "-", t.img.stream_offset_of(k)}});
}

TEST_CASE("tamper: deleting the first record is sequence_gap at 0 and segment_name_mismatch", "[tamper]") {
  TamperLog t;
  const std::string seg0 = t.img.segs[0].name;
  t.img.segs[0].lines.erase(t.img.segs[0].lines.begin());
  t.img.save(t.dir);

  // segment-0 now starts with record 1: one record is missing inside the file, not a whole file.
  const std::vector<Expect> want = {{Reason::sequence_gap, 0, seg0, 0, 1},
                                    {Reason::segment_name_mismatch, 1, seg0, 0}};
  require_exactly(t.verify(), want);
  require_exactly(t.verify_segment_file(seg0), want);
  require_exactly(t.verify_as_stream(), {{Reason::sequence_gap, 0, "-", 0, 1}});
}

TEST_CASE("tamper: deleting a middle record is sequence_gap at that seq", "[tamper]") {
  TamperLog t;
  const std::uint64_t k = t.img.middle_seq();
  const auto pos = t.img.find(k);
  const std::string seg = t.img.segs[pos.seg].name;
  const std::uint64_t off = t.img.offset(pos), stream_off = t.img.stream_offset(pos);
  t.img.segs[pos.seg].lines.erase(t.img.segs[pos.seg].lines.begin() + static_cast<std::ptrdiff_t>(pos.line));
  t.img.save(t.dir);

  // Reported where the missing record was: at the offset of the record that follows the gap.
  require_exactly(t.verify(), {{Reason::sequence_gap, k, seg, off, 1}});
  require_exactly(t.verify_segment_file(seg), {{Reason::sequence_gap, k, seg, off, 1}});
  require_exactly(t.verify_as_stream(), {{Reason::sequence_gap, k, "-", stream_off, 1}});
}

TEST_CASE("tamper: deleting the last record is undetectable without an anchor, truncated_tail with one",
          "[tamper]") {
  TamperLog t;
  t.img.segs.back().lines.pop_back();
  t.img.save(t.dir);
  const std::string last_seg = t.img.segs.back().name;

  // Documented limitation (docs/log-format.md §5.2): a hash chain alone cannot tell a deleted tail from a log
  // that simply ended earlier. Anchors kept elsewhere close that gap.
  const fa::VerifySummary plain = t.verify();
  require_intact(plain);
  REQUIRE(plain.last_seq == t.last - 1);
  require_intact(t.verify_as_stream());

  require_exactly(t.verify(t.anchor), {{Reason::truncated_tail, t.last, last_seg, std::nullopt, 1}});
  require_exactly(t.verify_as_stream(t.anchor), {{Reason::truncated_tail, t.last, "-", std::nullopt, 1}});
}

TEST_CASE("tamper: a forged copy of record k inserted before it is sequence_duplicate at k", "[tamper]") {
  TamperLog t;
  const std::uint64_t k = t.img.middle_seq();
  Rec forged = parse_rec(t.img.line(k));
  forged.event = replace_once(forged.event, "alice@enterprise.com", "mallory@evil.example");
  forged.prev = chain_hash(t.img.line(k - 1));  // links correctly to k-1
  const auto pos = t.img.find(k);
  auto& lines = t.img.segs[pos.seg].lines;
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(pos.line), build(forged));
  t.img.save(t.dir);
  const std::string seg = t.img.segs[pos.seg].name;
  // The second copy (the original) is the one reported: nothing in the bytes says which copy is forged.
  const LogImage::Pos second{pos.seg, pos.line + 1};

  require_exactly(t.verify(), {{Reason::sequence_duplicate, k, seg, t.img.offset(second)}});
  require_exactly(t.verify_segment_file(seg), {{Reason::sequence_duplicate, k, seg, t.img.offset(second)}});
  require_exactly(t.verify_as_stream(), {{Reason::sequence_duplicate, k, "-", t.img.stream_offset(second)}});
}

TEST_CASE("tamper: a forged record with an invented prev inserted before record k is broken_link",
          "[tamper]") {
  TamperLog t;
  const std::uint64_t k = t.img.middle_seq();
  Rec forged = parse_rec(t.img.line(k));
  forged.event = replace_once(forged.event, "alice@enterprise.com", "mallory@evil.example");
  REQUIRE(fa::detail::parse_hash_hex(hex_of("made up"), &forged.prev));  // correct-looking, links to nothing
  const auto pos = t.img.find(k);
  auto& lines = t.img.segs[pos.seg].lines;
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(pos.line), build(forged));
  t.img.save(t.dir);
  const std::string seg = t.img.segs[pos.seg].name;
  const LogImage::Pos second{pos.seg, pos.line + 1};

  const std::vector<Expect> want = {{Reason::broken_link, k, seg, t.img.offset(pos)},
                                    {Reason::sequence_duplicate, k, seg, t.img.offset(second)}};
  require_exactly(t.verify(), want);
  require_exactly(t.verify_segment_file(seg), want);
}

TEST_CASE("tamper: a forged record with the next free seq inserted in the middle is sequence_reorder",
          "[tamper]") {
  TamperLog t;
  // The attacker seals a perfectly linked record N = last+1 but places it in the middle of the log.
  Rec forged = parse_rec(t.img.line(t.last));
  forged.seq = t.last + 1;
  forged.prev = chain_hash(t.img.line(t.last));
  forged.event = replace_once(forged.event, "alice@enterprise.com", "mallory@evil.example");
  const std::uint64_t k = t.img.middle_seq();
  const auto pos = t.img.find(k);
  auto& lines = t.img.segs[pos.seg].lines;
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(pos.line), build(forged));
  t.img.save(t.dir);
  const std::string seg = t.img.segs[pos.seg].name;

  // Records k..last now come "after" record last+1: one reorder, reported at the first of them.
  require_exactly(t.verify(), {{Reason::sequence_reorder, k, seg, t.img.offset({pos.seg, pos.line + 1})}});
  require_exactly(t.verify_as_stream(),
                  {{Reason::sequence_reorder, k, "-", t.img.stream_offset({pos.seg, pos.line + 1})}});
}

TEST_CASE("tamper: limitation: a correctly sealed record appended at the end passes, even with an old anchor",
          "[tamper]") {
  TamperLog t;
  // Without keyed MACs or signed checkpoints (docs/log-format.md §9) anyone with write access can extend
  // the chain. An anchor only pins the past: it still matches record `last`.
  Rec forged = parse_rec(t.img.line(t.last));
  forged.seq = t.last + 1;
  forged.prev = chain_hash(t.img.line(t.last));
  forged.event = replace_once(forged.event, "alice@enterprise.com", "mallory@evil.example");
  t.img.segs.back().lines.push_back(build(forged));
  t.img.save(t.dir);
  require_intact(t.verify());
  const fa::VerifySummary s = t.verify(t.anchor);
  require_intact(s);
  REQUIRE(s.anchor_checked);
  REQUIRE(s.last_seq == t.last + 1);
}

TEST_CASE("tamper: swapping two adjacent records is sequence_reorder at the one that comes late",
          "[tamper]") {
  TamperLog t;
  const std::uint64_t k = t.img.middle_seq();
  const auto pos = t.img.find(k);
  auto& lines = t.img.segs[pos.seg].lines;
  REQUIRE(pos.line + 1 < lines.size());
  std::swap(lines[pos.line], lines[pos.line + 1]);  // ... k-1, k+1, k, k+2 ...
  t.img.save(t.dir);
  const std::string seg = t.img.segs[pos.seg].name;
  const LogImage::Pos late{pos.seg, pos.line + 1};

  require_exactly(t.verify(), {{Reason::sequence_reorder, k, seg, t.img.offset(late)}});
  require_exactly(t.verify_segment_file(seg), {{Reason::sequence_reorder, k, seg, t.img.offset(late)}});
  require_exactly(t.verify_as_stream(), {{Reason::sequence_reorder, k, "-", t.img.stream_offset(late)}});
}

TEST_CASE("tamper: a duplicated record is sequence_duplicate at its second copy", "[tamper]") {
  TamperLog t;
  const std::uint64_t k = t.img.middle_seq();
  const auto pos = t.img.find(k);
  auto& lines = t.img.segs[pos.seg].lines;
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(pos.line) + 1, lines[pos.line]);
  t.img.save(t.dir);
  const std::string seg = t.img.segs[pos.seg].name;
  const LogImage::Pos second{pos.seg, pos.line + 1};

  require_exactly(t.verify(), {{Reason::sequence_duplicate, k, seg, t.img.offset(second)}});
  require_exactly(t.verify_segment_file(seg), {{Reason::sequence_duplicate, k, seg, t.img.offset(second)}});
  require_exactly(t.verify_as_stream(), {{Reason::sequence_duplicate, k, "-", t.img.stream_offset(second)}});

  SECTION("a record repeated much later is a duplicate too") {
    LogImage img = LogImage::load(t.dir);
    img.segs[pos.seg].lines.erase(img.segs[pos.seg].lines.begin() + static_cast<std::ptrdiff_t>(pos.line) +
                                  1);
    img.segs.back().lines.insert(img.segs.back().lines.end() - 1, t.img.line(k));
    img.save(t.dir);
    const LogImage::Pos copy{img.segs.size() - 1, img.segs.back().lines.size() - 2};
    require_exactly(t.verify(), {{Reason::sequence_duplicate, k, img.segs.back().name, img.offset(copy)}});
  }
}

TEST_CASE("tamper: removing a middle segment is missing_segment at its first seq with its count",
          "[tamper]") {
  TamperLog t;
  const std::size_t j = t.img.segs.size() / 2;
  const std::uint64_t first = parse_rec(t.img.segs[j].lines.front()).seq;
  const std::uint64_t count = t.img.segs[j].lines.size();
  const std::string next = t.img.segs[j + 1].name;
  const std::uint64_t stream_off = t.img.stream_offset({j, 0});
  REQUIRE(std::remove(t.seg_path(t.img.segs[j].name).c_str()) == 0);

  require_exactly(t.verify(), {{Reason::missing_segment, first, next, 0, count}});
  // A stream has no file names: the same hole is an ordinary gap there.
  require_exactly(t.verify_as_stream(), {{Reason::sequence_gap, first, "-", stream_off, count}});
}

TEST_CASE("tamper: removing the first segment is missing_segment at 0", "[tamper]") {
  TamperLog t;
  const std::uint64_t count = t.img.segs[0].lines.size();
  const std::string next = t.img.segs[1].name;
  REQUIRE(std::remove(t.seg_path(t.img.segs[0].name).c_str()) == 0);

  require_exactly(t.verify(), {{Reason::missing_segment, 0, next, 0, count}});
  require_exactly(t.verify_as_stream(), {{Reason::sequence_gap, 0, "-", 0, count}});
  // The remaining files on their own are fine: each starts where its name says.
  require_intact(t.verify_segment_file(next));
}

TEST_CASE("tamper: swapping two segment files' names is segment_name_mismatch and sequence_reorder",
          "[tamper]") {
  TamperLog t;
  const std::size_t j = t.img.segs.size() / 2;
  const std::string a = t.img.segs[j].name, b = t.img.segs[j + 1].name;
  const std::uint64_t a_seq = parse_rec(t.img.segs[j].lines.front()).seq;
  const std::uint64_t b_seq = parse_rec(t.img.segs[j + 1].lines.front()).seq;
  REQUIRE(std::rename(t.seg_path(a).c_str(), t.seg_path("swap.tmp").c_str()) == 0);
  REQUIRE(std::rename(t.seg_path(b).c_str(), t.seg_path(a).c_str()) == 0);
  REQUIRE(std::rename(t.seg_path("swap.tmp").c_str(), t.seg_path(b).c_str()) == 0);

  // File a now holds b_seq.., file b holds a_seq..: both names are wrong, and a_seq.. arrive late.
  require_exactly(t.verify(), {{Reason::segment_name_mismatch, b_seq, a, 0},
                               {Reason::segment_name_mismatch, a_seq, b, 0},
                               {Reason::sequence_reorder, a_seq, b, 0}});
  const LogImage now = LogImage::load(t.dir);
  require_exactly(t.verify_as_stream(),
                  {{Reason::sequence_reorder, a_seq, "-", now.stream_offset({j + 1, 0})}});
}

TEST_CASE("tamper: truncating the tail at a record boundary is truncated_tail with an anchor", "[tamper]") {
  TamperLog t;
  for (int i = 0; i < 3; ++i) {
    if (t.img.segs.back().lines.empty()) t.img.segs.pop_back();
    t.img.segs.back().lines.pop_back();
  }
  t.img.save(t.dir);

  require_intact(t.verify());  // without an anchor: indistinguishable from a shorter log
  require_exactly(t.verify(t.anchor), {{Reason::truncated_tail, t.last - 2, std::nullopt, std::nullopt, 3}});
  require_exactly(t.verify_as_stream(t.anchor), {{Reason::truncated_tail, t.last - 2, "-", std::nullopt, 3}});
}

TEST_CASE("tamper: truncating mid-record is torn_record at the inferred seq", "[tamper]") {
  TamperLog t;
  const std::string seg = t.img.segment_of(t.last);
  const std::uint64_t off = t.img.offset_of(t.last);
  truncate_file(t.seg_path(seg), off + t.img.line(t.last).size() / 2);

  const Expect torn{Reason::torn_record, t.last, seg, off, 1, true};
  require_exactly(t.verify(), {torn});
  require_exactly(t.verify_segment_file(seg), {torn});
  require_exactly(t.verify(t.anchor), {torn, {Reason::truncated_tail, t.last, seg, std::nullopt, 1}});
  require_exactly(t.verify_as_stream(),
                  {{Reason::torn_record, t.last, "-", t.img.stream_offset_of(t.last), 1, true}});

  SECTION("a last record that only lacks its LF is torn too") {
    truncate_file(t.seg_path(seg), off + t.img.line(t.last).size());
    require_exactly(t.verify(), {torn});
  }
}

TEST_CASE("tamper: rewriting the tail with recomputed hashes passes without an anchor, not with one",
          "[tamper]") {
  TamperLog t;
  // An attacker with write access edits the last 3 events and re-seals them: every link is valid again.
  for (std::uint64_t s = t.last - 2; s <= t.last; ++s) {
    Rec r = parse_rec(t.img.line(s));
    r.event = replace_once(r.event, "alice@enterprise.com", "mallory@evil.example");
    t.img.line(s) = build(r);
  }
  t.img.rechain_from(t.last - 2);
  t.img.save(t.dir);

  // Limitation without an anchor (closed by keyed MACs / signed checkpoints, docs/log-format.md §9).
  require_intact(t.verify());
  require_intact(t.verify_as_stream());
  // The anchor taken before the rewrite pins record `last`.
  const std::string seg = t.img.segment_of(t.last);
  require_exactly(t.verify(t.anchor), {{Reason::anchor_mismatch, t.last, seg, t.img.offset_of(t.last)}});
  require_exactly(t.verify_as_stream(t.anchor),
                  {{Reason::anchor_mismatch, t.last, "-", t.img.stream_offset_of(t.last)}});

  SECTION("an anchor older than the rewritten records does not help") {
    const fa::Anchor older{t.anchor.log_id, t.last - 3, chain_hash(t.img.line(t.last - 3)), ""};
    const fa::VerifySummary s = t.verify(older);
    require_intact(s);
    REQUIRE(s.anchor_checked);
  }
}

TEST_CASE("tamper: altering the last record needs the anchor - altering the one before needs its successor",
          "[tamper]") {
  TamperLog t;
  const std::string seg = t.img.segment_of(t.last);

  SECTION("last record: no successor commits to it") {
    const std::uint64_t off = t.img.offset_of(t.last);
    const auto at = t.img.line(t.last).find("alice");
    patch_file(t.seg_path(seg), off + at, "A");
    require_intact(t.verify());
    require_exactly(t.verify(t.anchor), {{Reason::anchor_mismatch, t.last, seg, off}});
  }
  SECTION("record last-1: the last record's link breaks, and only the anchor can confirm the last record") {
    const std::uint64_t off = t.img.offset_of(t.last - 1);
    const auto at = t.img.line(t.last - 1).find("alice");
    patch_file(t.seg_path(t.img.segment_of(t.last - 1)), off + at, "A");
    // Without the anchor the verifier cannot tell which of the two was altered: it blames the last record.
    require_exactly(t.verify(), {{Reason::broken_link, t.last, seg, t.img.offset_of(t.last)}});
    require_exactly(t.verify(t.anchor),
                    {{Reason::hash_mismatch, t.last - 1, t.img.segment_of(t.last - 1), off}});
  }
}

TEST_CASE("tamper: changing only a record's prev is broken_link at that record", "[tamper]") {
  TamperLog t;
  const std::uint64_t k = t.img.middle_seq();
  const std::string seg = t.img.segment_of(k);
  const std::uint64_t off = t.img.offset_of(k);
  Rec r = parse_rec(t.img.line(k));
  REQUIRE(fa::detail::parse_hash_hex(hex_of("another record"), &r.prev));
  t.img.line(k) = build(r);
  t.img.save(t.dir);

  require_exactly(t.verify(), {{Reason::broken_link, k, seg, off}});
  require_exactly(t.verify_segment_file(seg), {{Reason::broken_link, k, seg, off}});
  require_exactly(t.verify_as_stream(), {{Reason::broken_link, k, "-", t.img.stream_offset_of(k)}});

  SECTION("with its successors re-sealed too, only the link into it is broken") {
    LogImage img = LogImage::load(t.dir);
    img.rechain_from(k + 1);
    img.save(t.dir);
    // Now k's successor confirms k, so by §8.2 step 9 the bytes of k-1 are blamed (hash_mismatch at k-1):
    // "k-1 altered" and "k's prev altered and everything after it re-sealed" leave the same bytes behind.
    require_exactly(t.verify(),
                    {{Reason::hash_mismatch, k - 1, t.img.segment_of(k - 1), t.img.offset_of(k - 1)}});
  }
}

TEST_CASE("tamper: a line that is not JSON is bad_json with the seq inferred", "[tamper]") {
  TamperLog t;
  const std::uint64_t k = t.img.middle_seq();
  const auto pos = t.img.find(k);
  const std::string seg = t.img.segs[pos.seg].name;
  const std::uint64_t off = t.img.offset(pos), stream_off = t.img.stream_offset(pos);

  SECTION("record k replaced by garbage") {
    t.img.segs[pos.seg].lines[pos.line] = "this is not JSON at all";
    t.img.save(t.dir);
    const Expect want{Reason::bad_json, k, seg, off, 1, true};
    require_exactly(t.verify(), {want});
    require_exactly(t.verify_segment_file(seg), {want});
    require_exactly(t.verify_as_stream(), {{Reason::bad_json, k, "-", stream_off, 1, true}});
  }
  SECTION("record k cut in the middle, LF kept") {
    std::string& l = t.img.segs[pos.seg].lines[pos.line];
    l.resize(l.size() / 2);
    t.img.save(t.dir);
    require_exactly(t.verify(), {{Reason::bad_json, k, seg, off, 1, true}});
  }
  SECTION("two consecutive records replaced: seqs k and k+1 inferred, no gap reported") {
    t.img.segs[pos.seg].lines[pos.line] = "garbage one";
    t.img.segs[pos.seg].lines[pos.line + 1] = "garbage two";
    t.img.save(t.dir);
    require_exactly(t.verify(),
                    {{Reason::bad_json, k, seg, off, 1, true},
                     {Reason::bad_json, k + 1, seg, t.img.offset({pos.seg, pos.line + 1}), 1, true}});
  }
  SECTION("garbage inserted before record k") {
    auto& lines = t.img.segs[pos.seg].lines;
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(pos.line), "[\"not\", \"an object\"]");
    t.img.save(t.dir);
    require_exactly(t.verify(), {{Reason::bad_json, k, seg, off, 1, true}});
  }
}

TEST_CASE("tamper: valid JSON that is not canonical is non_canonical", "[tamper]") {
  TamperLog t;
  const std::uint64_t k = t.img.middle_seq();
  const std::string seg = t.img.segment_of(k);
  const std::uint64_t off = t.img.offset_of(k);
  std::string& l = t.img.line(k);

  SECTION("a space after a colon") { l = replace_once(l, "\"seq\":", "\"seq\": "); }
  SECTION("members out of order") {
    // Move "v":1 to the front: same value, wrong member order.
    l = "{\"v\":1," + replace_once(l, ",\"v\":1}", "}").substr(1);
  }
  SECTION("an escaped slash") { l = replace_once(l, "s3://", "s3:\\/\\/"); }
  t.img.save(t.dir);
  const Expect want{Reason::non_canonical, k, seg, off, 1, true};
  require_exactly(t.verify(), {want});
  require_exactly(t.verify_segment_file(seg), {want});
}

TEST_CASE("tamper: a record of another format version is unknown_version", "[tamper]") {
  TamperLog t;
  const std::uint64_t k = t.img.middle_seq();
  const std::string seg = t.img.segment_of(k);
  const std::uint64_t off = t.img.offset_of(k), stream_off = t.img.stream_offset_of(k);
  t.img.line(k) = replace_once(t.img.line(k), ",\"v\":1}", ",\"v\":2}");
  t.img.save(t.dir);
  require_exactly(t.verify(), {{Reason::unknown_version, k, seg, off, 1, true}});
  require_exactly(t.verify_as_stream(), {{Reason::unknown_version, k, "-", stream_off, 1, true}});
}

TEST_CASE("tamper: a record with a foreign log_id is log_id_mismatch", "[tamper]") {
  TamperLog t;
  const std::uint64_t k = t.img.middle_seq();
  const std::string seg = t.img.segment_of(k);
  const std::uint64_t off = t.img.offset_of(k);
  Rec r = parse_rec(t.img.line(k));
  r.log_id[0] = r.log_id[0] == 'a' ? 'b' : 'a';
  t.img.line(k) = build(r);
  t.img.save(t.dir);
  // Reported once: the broken link out of that record is not reported again (§8.2 step 9, last sentence).
  require_exactly(t.verify(), {{Reason::log_id_mismatch, k, seg, off}});
  require_exactly(t.verify_as_stream(), {{Reason::log_id_mismatch, k, "-", t.img.stream_offset_of(k)}});
}

TEST_CASE("tamper: a timestamp going backwards is timestamp_regression", "[tamper]") {
  TamperLog t;
  const std::uint64_t k = t.img.middle_seq();
  const std::string seg = t.img.segment_of(k);
  const std::uint64_t off = t.img.offset_of(k);
  Rec r = parse_rec(t.img.line(k));
  r.ts = "2026-03-25T14:00:00.000000Z";  // before record 0
  t.img.line(k) = build(r);

  SECTION("with the chain recomputed after it") { t.img.rechain_from(k + 1); }
  SECTION("without (the broken link out of it is not reported again)") {}
  t.img.save(t.dir);
  require_exactly(t.verify(), {{Reason::timestamp_regression, k, seg, off}});
  require_exactly(t.verify_as_stream(), {{Reason::timestamp_regression, k, "-", t.img.stream_offset_of(k)}});
}

TEST_CASE("tamper: record 0 with a wrong prev is genesis_mismatch", "[tamper]") {
  TamperLog t;
  const std::string seg0 = t.img.segs[0].name;
  Rec r = parse_rec(t.img.line(0));
  REQUIRE(fa::detail::parse_hash_hex(hex_of("not the genesis"), &r.prev));
  t.img.line(0) = build(r);

  SECTION("chain recomputed after it") { t.img.rechain_from(1); }
  SECTION("only record 0 changed") {}
  t.img.save(t.dir);
  require_exactly(t.verify(), {{Reason::genesis_mismatch, 0, seg0, 0}});
  require_exactly(t.verify_segment_file(seg0), {{Reason::genesis_mismatch, 0, seg0, 0}});
  require_exactly(t.verify_as_stream(), {{Reason::genesis_mismatch, 0, "-", 0}});
}

TEST_CASE("tamper: a CR before the LF is non_canonical at that record", "[tamper]") {
  TamperLog t;
  const std::uint64_t k = t.img.middle_seq();
  const std::string seg = t.img.segment_of(k);
  const std::uint64_t off = t.img.offset_of(k), stream_off = t.img.stream_offset_of(k);
  t.img.line(k) += "\r";
  t.img.save(t.dir);
  // `{...}\r` is valid JSON (CR is JSON whitespace) but not canonical (docs/log-format.md §5.1: no CR).
  require_exactly(t.verify(), {{Reason::non_canonical, k, seg, off, 1, true}});
  require_exactly(t.verify_as_stream(), {{Reason::non_canonical, k, "-", stream_off, 1, true}});
}

TEST_CASE("tamper: an empty line is bad_json", "[tamper]") {
  TamperLog t;
  const std::uint64_t k = t.img.middle_seq();
  const auto pos = t.img.find(k);
  const std::string seg = t.img.segs[pos.seg].name;
  const std::uint64_t off = t.img.offset(pos);
  auto& lines = t.img.segs[pos.seg].lines;
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(pos.line), "");
  t.img.save(t.dir);
  require_exactly(t.verify(), {{Reason::bad_json, k, seg, off, 1, true}});
  require_exactly(t.verify_segment_file(seg), {{Reason::bad_json, k, seg, off, 1, true}});
  require_exactly(t.verify_as_stream(), {{Reason::bad_json, k, "-", t.img.stream_offset(pos), 1, true}});

  SECTION("an empty line at the very end of the log") {
    LogImage img = LogImage::load(t.dir);
    img.segs[pos.seg].lines.erase(img.segs[pos.seg].lines.begin() + static_cast<std::ptrdiff_t>(pos.line));
    img.segs.back().lines.push_back("");
    img.save(t.dir);
    const LogImage::Pos end{img.segs.size() - 1, img.segs.back().lines.size() - 1};
    require_exactly(t.verify(),
                    {{Reason::bad_json, t.last + 1, img.segs.back().name, img.offset(end), 1, true}});
  }
}

TEST_CASE("tamper: a byte-order mark is bad_json", "[tamper]") {
  TamperLog t;
  const std::string seg0 = t.img.segs[0].name;
  t.img.segs[0].lines[0] = "\xEF\xBB\xBF" + t.img.segs[0].lines[0];
  t.img.save(t.dir);
  require_exactly(t.verify(), {{Reason::bad_json, 0, seg0, 0, 1, true}});
}
