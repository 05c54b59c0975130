// SPDX-License-Identifier: Apache-2.0
// VerifyOptions::on_record: every well-formed record, in log order, with the exact event bytes; the same
// sequence whatever the thread count or feed boundaries; what a damaged log delivers; a throwing callback.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/log_fixture.hpp"

using namespace fa_test;
namespace fa = fooocus_audit;

namespace {

struct Seen {
  std::uint64_t seq;
  std::string ts;
  std::int64_t ts_micros;
  std::string event_type;
  std::string event;
  bool operator==(const Seen& o) const {
    return seq == o.seq && ts == o.ts && ts_micros == o.ts_micros && event_type == o.event_type && event == o.event;
  }
};

std::vector<Seen> collect(const std::string& path, unsigned threads, fa::VerifySummary* sum = nullptr) {
  std::vector<Seen> out;
  fa::VerifyOptions opt;
  opt.threads = threads;
  opt.on_record = [&out](const fa::VerifiedRecord& r) {
    out.push_back({r.seq, std::string(r.ts), r.ts_micros, std::string(r.event_type), std::string(r.event)});
  };
  fa::VerifySummary s = verify_path(path, std::move(opt));
  if (sum != nullptr) *sum = s;
  return out;
}

/// What an independent reader (nlohmann over each line) says the records are.
std::vector<Seen> expected_from_files(const std::string& dir) {
  std::vector<Seen> out;
  for (const LogImage::Segment& s : LogImage::load(dir).segs)
    for (const std::string& line : s.lines) {
      fa::record::View v;
      if (!fa::record::parse(line, &v)) continue;
      const nlohmann::json j = nlohmann::json::parse(line);
      std::int64_t micros = 0;
      REQUIRE(fa::record::parse_timestamp(j["ts"].get<std::string>(), &micros));
      out.push_back({j["seq"].get<std::uint64_t>(), j["ts"].get<std::string>(), micros,
                     j["event"]["event_type"].get<std::string>(), fa::jcs::serialize(j["event"])});
    }
  return out;
}

}  // namespace

TEST_CASE("verifier hook: every record of an intact log in seq order with its exact event bytes", "[verifier][hook]") {
  TempDir dir;
  const WrittenLog w = write_log(dir.path(), 300, 4096);
  fa::VerifySummary sum;
  const std::vector<Seen> seen = collect(dir.path(), 1, &sum);
  REQUIRE(sum.intact);
  REQUIRE(seen.size() == w.records);
  REQUIRE(sum.segments > 3);  // the log spans several segment files
  for (std::size_t i = 0; i < seen.size(); ++i) REQUIRE(seen[i].seq == i);
  CHECK(seen == expected_from_files(dir.path()));
  // System records are delivered too: record 0 is log.opened.
  CHECK(seen.front().event_type == "log.opened");
  std::size_t user = 0;
  for (const Seen& s : seen)
    if (s.event_type == "generation.completed") ++user;
  CHECK(user == 300);
}

TEST_CASE("verifier hook: threads=1 and threads=4 and stream mode give the same sequence", "[verifier][hook]") {
  TempDir dir;
  write_log(dir.path(), 2000, 1 << 20);  // one segment: batches large enough for the parallel stage
  const std::vector<Seen> one = collect(dir.path(), 1);
  const std::vector<Seen> four = collect(dir.path(), 4);
  REQUIRE(one.size() > 2000);
  CHECK(one == four);
  std::vector<Seen> stream;
  fa::VerifyOptions opt;
  opt.threads = 4;
  opt.on_record = [&stream](const fa::VerifiedRecord& r) {
    stream.push_back({r.seq, std::string(r.ts), r.ts_micros, std::string(r.event_type), std::string(r.event)});
  };
  // Split the bytes at awkward places so that some records reach the verifier through its carry buffer.
  const std::string bytes = LogImage::load(dir.path()).concatenated();
  fa::ChainVerifier v(opt);
  v.begin_segment("-", std::nullopt);
  for (std::size_t at = 0; at < bytes.size(); at += 977) v.feed(std::string_view(bytes).substr(at, 977));
  v.end_segment();
  CHECK(v.finish().intact);
  CHECK(v.hook_status().ok());
  CHECK(stream == one);
}

TEST_CASE("verifier hook: a damaged log delivers well-formed records only and the findings name the rest",
          "[verifier][hook]") {
  TempDir dir;
  write_log(dir.path(), 100, 1 << 20);
  LogImage img = LogImage::load(dir.path());
  const std::string original20 = img.line(20);
  img.line(20) = replace_once(img.line(20), "alice@enterprise.com", "mallory@evil.com");  // altered, not re-sealed
  img.line(40).insert(img.line(40).size() - 3, " ");   // not canonical: fails its own checks
  img.line(60) = img.line(60).substr(0, 50);            // torn in the middle: not JSON
  auto& lines = img.segs[0].lines;
  lines.erase(lines.begin() + 80);                      // record 80 deleted: a gap
  img.save(dir.path());
  (void)original20;

  for (unsigned threads : {1u, 4u}) {
    fa::VerifySummary sum;
    const std::vector<Seen> seen = collect(dir.path(), threads, &sum);
    CHECK_FALSE(sum.intact);
    std::vector<std::uint64_t> seqs;
    for (const Seen& s : seen) seqs.push_back(s.seq);
    std::vector<std::uint64_t> want;
    for (std::uint64_t i = 0; i < 101; ++i)
      if (i != 40 && i != 60 && i != 80) want.push_back(i);
    CHECK(seqs == want);
    // The altered record is delivered as written (with mallory); the consumer learns from the findings.
    const auto it = std::find_if(seen.begin(), seen.end(), [](const Seen& s) { return s.seq == 20; });
    REQUIRE(it != seen.end());
    CHECK(it->event.find("mallory@evil.com") != std::string::npos);
    bool about20 = false, about40 = false, about60 = false, about80 = false;
    for (const fa::Finding& f : sum.findings) {
      about20 = about20 || f.seq == 20u;
      about40 = about40 || f.seq == 40u;
      about60 = about60 || f.seq == 60u;
      about80 = about80 || f.seq == 80u;
    }
    CHECK(about20);
    CHECK(about40);
    CHECK(about60);
    CHECK(about80);
  }
}

TEST_CASE("verifier hook: a throwing callback stops delivery and verify_path reports it", "[verifier][hook]") {
  TempDir dir;
  write_log(dir.path(), 50);
  int calls = 0;
  fa::VerifyOptions opt;
  opt.on_record = [&calls](const fa::VerifiedRecord& r) {
    ++calls;
    if (r.seq == 10) throw std::runtime_error("consumer failed");
  };
  fa::ChainVerifier v(opt);
  auto r = v.verify_path(dir.path());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == fa::Code::invalid_argument);
  CHECK(r.status().message().find("consumer failed") != std::string::npos);
  CHECK(calls == 11);
  CHECK_FALSE(v.hook_status().ok());
}

TEST_CASE("verifier hook: without a callback nothing changes", "[verifier][hook]") {
  TempDir dir;
  write_log(dir.path(), 50);
  fa::VerifySummary a = verify_path(dir.path());
  fa::VerifySummary b;
  collect(dir.path(), 2, &b);
  CHECK(fa::format_summary_json(a) == fa::format_summary_json(b));
}
