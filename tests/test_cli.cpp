// SPDX-License-Identifier: Apache-2.0
// The fooocus-audit command-line tool (docs/cli.md), run as a separate process: exit codes, what is
// appended and refused, verify's text and JSON reports, standard input, and anchors.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/cli_support.hpp"
#include "support/log_fixture.hpp"

using namespace fa_test;
namespace fa = fooocus_audit;
using nlohmann::json;

#ifdef FA_CLI_PATH

namespace {

/// The events of a log in order (system records included), as parsed JSON.
std::vector<json> events_of(const std::string& dir) {
  std::vector<json> out;
  for (const auto& seg : LogImage::load(dir).segs)
    for (const std::string& l : seg.lines) out.push_back(json::parse(parse_rec(l).event));
  return out;
}

}  // namespace

TEST_CASE("cli: append refuses bad lines by number and appends the others in order", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  const std::vector<std::string> lines = {
      R"({"event_type":"generation.started","request_id":"r1"})",                // 1 ok
      R"({not json)",                                                            // 2 invalid JSON
      R"([1,2,3])",                                                              // 3 not an object
      R"({"request_id":"no type"})",                                             // 4 no event_type
      R"({"event_type":"log.opened","reason":"created"})",                       // 5 reserved
      "",                                                                        // 6 blank: ignored
      R"({"event_type":"big","blob":")" + std::string(1u << 20, 'x') + R"("})",  // 7 too large
      R"({"b":[1,{"c":null}],"event_type":"generation.completed","n":1.50,"request_id":"r8"})",  // 8 ok
      R"({"event_type":"Bad Type"})",                                            // 9 bad event_type
      R"({"event_type":"acme.ended","b":9007199254740992})",                     // 10 integer out of range
      "   ",                                                                     // 11 blank: ignored
      R"({"event_type":"z.last","u":"\u00e9\ud83c\udfa8"})",                     // 12 ok, no final LF
  };
  std::string input;
  for (std::size_t i = 0; i < lines.size(); ++i) input += lines[i] + (i + 1 < lines.size() ? "\n" : "");

  const Run r = run_cli({"append", "--dir", dir}, input);
  INFO(r.err);
  CHECK(r.status == 1);
  for (int bad : {2, 3, 4, 5, 7, 9, 10}) CHECK(contains(r.err, "line " + std::to_string(bad) + ": "));
  for (int good : {1, 6, 8, 11, 12}) CHECK_FALSE(contains(r.err, "line " + std::to_string(good) + ": "));
  CHECK(contains(r.err, "line 7: too_large"));
  CHECK(contains(r.err, "line 5: invalid_argument"));
  CHECK(contains(r.err, "appended 3 event(s), refused 7"));

  const std::vector<json> ev = events_of(dir);
  REQUIRE(ev.size() == 4);
  CHECK(ev[0]["event_type"] == "log.opened");
  CHECK(ev[1] == json::parse(lines[0]));
  CHECK(ev[2] == json::parse(lines[7]));
  CHECK(ev[3] == json::parse(lines[11]));
  // Stored canonically.
  const LogImage img = LogImage::load(dir);
  CHECK(parse_rec(img.line(2)).event ==
        R"({"b":[1,{"c":null}],"event_type":"generation.completed","n":1.5,"request_id":"r8"})");
  CHECK(verify_path(dir).intact);
}

TEST_CASE("cli: append of valid lines exits 0, and a second run resumes the log", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  Run r = run_cli({"append", "--dir", dir, "--max-segment-bytes", "4096"}, ndjson(0, 30));
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(contains(r.err, "appended 30 event(s), refused 0"));
  r = run_cli({"append", "--dir", dir, "--max-segment-bytes", "4096", "--durability", "none"},
              ndjson(30, 40));
  CHECK(r.status == 0);

  const std::vector<json> ev = events_of(dir);
  REQUIRE(ev.size() == 42);  // log.opened + 30 + log.opened (resumed) + 10
  CHECK(ev[0]["reason"] == "created");
  CHECK(ev[31]["event_type"] == "log.opened");
  CHECK(ev[31]["reason"] == "resumed");
  for (int i = 0; i < 30; ++i) CHECK(ev[1 + i] == sample_event(i));
  for (int i = 30; i < 40; ++i) CHECK(ev[2 + i] == sample_event(i));
  const fa::VerifySummary s = verify_path(dir);
  CHECK(s.intact);
  CHECK(s.segments > 1);
}

TEST_CASE("cli: verify prints INTACT and exits 0, or the findings and exits 1", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  write_log(dir, 60, 4096);

  Run r = run_cli({"verify", dir});
  CHECK(r.status == 0);
  CHECK(r.out.rfind("INTACT: 61 records (seq 0..60)", 0) == 0);
  CHECK(contains(r.out, "head "));

  LogImage img = LogImage::load(dir);
  const std::uint64_t k = img.middle_seq();  // two successors in its own segment file
  const std::string seg = img.segment_of(k);
  const std::uint64_t off = img.offset_of(k);
  patch_file(dir + "/" + seg, off + img.line(k).find("alice"), "A");
  r = run_cli({"verify", dir});
  CHECK(r.status == 1);
  CHECK(r.out.rfind("TAMPERED OR DAMAGED: 1 finding(s)", 0) == 0);
  CHECK(contains(r.out, "hash_mismatch"));
  CHECK(contains(r.out, "seq " + std::to_string(k) + " "));
  CHECK(contains(r.out, seg + " @ byte " + std::to_string(off)));

  SECTION("--json") {
    r = run_cli({"verify", "--json", dir});
    CHECK(r.status == 1);
    const json j = json::parse(r.out);
    CHECK(j["intact"] == false);
    CHECK(j["findings_total"] == 1);
    CHECK(j["findings"][0]["reason"] == "hash_mismatch");
    CHECK(j["findings"][0]["seq"] == k);
    CHECK(j["findings"][0]["segment"] == seg);
    CHECK(j["findings"][0]["offset"] == off);
  }
  SECTION("--json on an intact log, options after the path, --threads") {
    patch_file(dir + "/" + seg, off + img.line(k).find("alice"), "a");
    r = run_cli({"verify", dir, "--threads", "2", "--json"});
    CHECK(r.status == 0);
    const json j = json::parse(r.out);
    CHECK(j["intact"] == true);
    CHECK(j["records"] == 61);
    CHECK(j["findings"].empty());
  }
  SECTION("one segment file") {
    r = run_cli({"verify", dir + "/" + seg});
    INFO(r.out);
    CHECK(r.status == 1);
    CHECK(contains(r.out, "hash_mismatch"));
  }
}

TEST_CASE("cli: usage and I/O errors exit 2", "[cli]") {
  TempDir tmp;
  write_log(tmp / "log", 3);
  struct Case {
    std::vector<std::string> args;
    const char* why;
  };
  const std::vector<Case> cases = {
      {{}, "no command"},
      {{"frobnicate"}, "unknown command"},
      {{"verify"}, "verify without a path"},
      {{"verify", "--bogus", tmp / "log"}, "unknown option"},
      {{"verify", tmp / "log", tmp / "log"}, "two paths"},
      {{"verify", tmp / "does-not-exist"}, "nonexistent path"},
      {{"verify", "--threads", "0", tmp / "log"}, "--threads 0"},
      {{"verify", "--threads", "x", tmp / "log"}, "--threads not a number"},
      {{"verify", "--start-seq", "-1", tmp / "log"}, "negative --start-seq"},
      {{"verify", "--anchor", tmp / "no-anchor.json", tmp / "log"}, "missing anchor file"},
      {{"verify", tmp / "log", "--anchor"}, "--anchor without a value"},
      {{"append"}, "append without --dir"},
      {{"append", "--dir"}, "--dir without a value"},
      {{"append", "--dir", tmp / "x", "--bogus"}, "append: unknown option"},
      {{"append", "--dir", tmp / "x", "--durability", "sometimes"}, "bad --durability"},
      {{"append", "--dir", tmp / "x", "--max-segment-bytes", "lots"}, "bad --max-segment-bytes"},
      {{"append", "--dir", tmp / "no/such/parent"}, "log directory cannot be created"},
  };
  for (const Case& c : cases) {
    INFO(c.why);
    const Run r = run_cli(c.args);
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK_FALSE(r.err.empty());
  }
  SECTION("a bad anchor file") {
    write_bytes(tmp / "bad-anchor.json", "{\"v\":1}");
    CHECK(run_cli({"verify", "--anchor", tmp / "bad-anchor.json", tmp / "log"}).status == 2);
  }
}

TEST_CASE("cli: --help prints the usage of each command and exits 0", "[cli]") {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{{"--help"},
                                                                                    {"-h"},
                                                                                    {"help"},
                                                                                    {"append", "--help"},
                                                                                    {"append", "-h"},
                                                                                    {"verify", "--help"},
                                                                                    {"verify", "-h"}}) {
    const Run r = run_cli(args);
    INFO(args.front() << (args.size() > 1 ? " " + args[1] : ""));
    CHECK(r.status == 0);
    CHECK(r.out.rfind("usage: fooocus-audit", 0) == 0);
  }
  CHECK(contains(run_cli({"append", "--help"}).out, "--dir DIR"));
  CHECK(contains(run_cli({"verify", "--help"}).out, "--write-anchor FILE"));
  const Run v = run_cli({"version"});
  CHECK(v.status == 0);
  CHECK(v.out == std::string("fooocus-audit ") + FOOOCUS_AUDIT_VERSION_STRING + "\n");
}

TEST_CASE("cli: verify - reads records from standard input", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  write_log(dir, 60, 4096);
  const LogImage img = LogImage::load(dir);
  REQUIRE(img.segs.size() >= 3);

  Run r = run_cli({"verify", "-"}, LogImage::bytes(img.segs[0]));
  CHECK(r.status == 0);
  CHECK(r.out.rfind("INTACT", 0) == 0);

  r = run_cli({"verify", "-"}, img.concatenated());
  CHECK(r.status == 0);
  CHECK(contains(r.out, "INTACT: 61 records"));

  const std::uint64_t first = parse_rec(img.segs[1].lines.front()).seq;
  r = run_cli({"verify", "--start-seq", std::to_string(first), "-"}, LogImage::bytes(img.segs[1]));
  CHECK(r.status == 0);
  r = run_cli({"verify", "--json", "-"}, LogImage::bytes(img.segs[1]));
  CHECK(r.status == 1);
  const json j = json::parse(r.out);
  CHECK(j["findings"][0]["reason"] == "sequence_gap");
  CHECK(j["findings"][0]["seq"] == 0);
  CHECK(j["findings"][0]["count"] == first);
  CHECK(j["findings"][0]["segment"] == "-");

  r = run_cli({"verify", "-"}, img.concatenated().substr(0, img.concatenated().size() - 5));
  CHECK(r.status == 1);
  CHECK(contains(r.out, "torn_record"));
}

TEST_CASE("cli: --write-anchor then --anchor detects a deleted last record", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "log", anchor = tmp / "anchor.json";
  write_log(dir, 40, 4096);

  Run r = run_cli({"verify", "--write-anchor", anchor, dir});
  REQUIRE(r.status == 0);
  auto a = fa::Anchor::load(anchor);
  REQUIRE(a);
  CHECK(a->seq == 40);
  CHECK(run_cli({"verify", "--anchor", anchor, dir}).status == 0);

  LogImage img = LogImage::load(dir);
  img.segs.back().lines.pop_back();
  if (img.segs.back().lines.empty()) img.segs.pop_back();
  img.save(dir);

  r = run_cli({"verify", dir});
  CHECK(r.status == 0);  // without the anchor a shorter log is indistinguishable
  r = run_cli({"verify", "--anchor", anchor, dir});
  CHECK(r.status == 1);
  CHECK(contains(r.out, "truncated_tail"));
  CHECK(contains(r.out, "seq 40 "));
  r = run_cli({"verify", "--json", "--anchor", anchor, dir});
  CHECK(r.status == 1);
  CHECK(json::parse(r.out)["findings"][0]["reason"] == "truncated_tail");

  SECTION("--write-anchor writes nothing for a damaged log") {
    const std::string other = tmp / "other.json";
    r = run_cli({"verify", "--write-anchor", other, "--anchor", anchor, dir});
    CHECK(r.status == 1);
    CHECK_FALSE(file_exists(other));
  }
  SECTION("append --anchor-out saves the head after appending") {
    const std::string dir2 = tmp / "log2", a2 = tmp / "a2.json";
    REQUIRE(run_cli({"append", "--dir", dir2, "--anchor-out", a2}, ndjson(0, 5)).status == 0);
    auto head = fa::Anchor::load(a2);
    REQUIRE(head);
    CHECK(head->seq == 5);
    CHECK(run_cli({"verify", "--anchor", a2, dir2}).status == 0);
  }
}

#else
TEST_CASE("cli: skipped, the fooocus-audit tool is not built", "[cli]") {
  WARN("FA_CLI_PATH is not defined");
}
#endif
