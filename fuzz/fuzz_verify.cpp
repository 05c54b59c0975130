// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: ChainVerifier on arbitrary bytes.
//
// The input is the log itself, so seeds can be real segments. Everything else (1-3 segments, their names,
// the chunks given to feed(), options, an anchor) is derived from a hash of the input, so each input is
// verified the same way every time it runs.
//
// Invariants (any violation aborts):
// - The summary does not depend on how the bytes are chunked (the line-carry logic of feed()) nor on the
//   number of threads: fed in chunks with 2 threads, fed whole with 1 thread and fed whole with 2 threads,
//   the summaries are identical, findings included.
// - Counters agree with the bytes: bytes, segments, lines (LFs plus unterminated tails), records <= lines,
//   findings kept = min(total, max_findings), intact == no finding, findings ordered by seq.
// - An intact log from seq 0 has head = chain hash of its last line and the reference Merkle root.
// - Both report formatters accept every summary (no exception escapes).
// - Tamper evidence: when the input is an intact log (read as one stream), it stays intact under the anchor
//   of its head and reports truncated_tail / anchor_mismatch under a later / altered one; deleting,
//   duplicating, swapping or inserting lines, flipping any bit or cutting it short is reported under the
//   anchor of its head (and, for changes before the last record, without one); a record whose event was
//   edited is reported exactly once, as §8.2 step 9 says (hash_mismatch at it, broken_link at its successor
//   when that is the last record and no anchor confirms it).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fooocus_audit/anchor.hpp"
#include "fooocus_audit/chain_verifier.hpp"
#include "fooocus_audit/merkle.hpp"
#include "fooocus_audit/record.hpp"

namespace fa = fooocus_audit;

namespace {

std::string_view g_input;  // for failure messages

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_verify: invariant violated: %s\ninput (%zu bytes)\n", what, g_input.size());
  std::abort();
}

#define CHECK(cond)           \
  do {                        \
    if (!(cond)) fail(#cond); \
  } while (0)

struct Rng {
  std::uint64_t s;
  std::uint64_t next() {  // splitmix64
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
};

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
  return h;
}

struct Segment {
  std::string name;
  std::optional<std::uint64_t> first_seq;
  std::string_view bytes;
};

struct Plan {
  std::vector<Segment> segments;
  fa::VerifyOptions options;
  std::uint64_t chunk_seed = 0;
};

std::string segment_name(std::uint64_t seq) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "segment-%020llu.jsonl", static_cast<unsigned long long>(seq));
  return buf;
}

// The seq of the first line, if it is a record (used to name segments the way a writer would).
std::optional<std::uint64_t> first_record_seq(std::string_view bytes) {
  const std::size_t nl = bytes.find('\n');
  fa::record::View v;
  if (fa::record::parse(bytes.substr(0, nl), &v)) return v.seq;
  return std::nullopt;
}

Plan make_plan(std::string_view log, Rng& rng) {
  Plan plan;
  // Segment boundaries: anywhere (a torn line at a segment end) or just after an LF (how writers cut).
  const std::size_t nseg = 1 + rng.below(3);
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < nseg; ++i) {
    std::size_t at = rng.below(log.size() + 1);
    if (rng.below(2) == 0) {
      const std::size_t nl = log.find('\n', at);
      at = nl == std::string_view::npos ? log.size() : nl + 1;
    }
    cuts.push_back(at);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.push_back(log.size());
  std::size_t from = 0;
  for (std::size_t i = 0; i < cuts.size(); ++i) {
    Segment seg;
    seg.bytes = log.substr(from, cuts[i] - from);
    from = cuts[i];
    switch (rng.below(4)) {
      case 0:  // a stream: no name to check against
        seg.name = "-";
        break;
      case 1:
        seg.first_seq = i == 0 ? 0 : rng.below(8);
        seg.name = segment_name(*seg.first_seq);
        break;
      default:  // what a writer would have named it
        seg.first_seq = first_record_seq(seg.bytes).value_or(i);
        seg.name = segment_name(*seg.first_seq);
        break;
    }
    plan.segments.push_back(std::move(seg));
  }

  static constexpr std::size_t kMaxFindings[] = {1000, 0, 1, 3};
  plan.options.max_findings = kMaxFindings[rng.below(4)];
  if (rng.below(4) == 0) plan.options.start_seq = rng.below(4);

  // Sometimes an anchor taken from the last complete line, as it is or slightly wrong.
  if (rng.below(4) == 0) {
    std::string_view body = log.substr(0, log.rfind('\n') == std::string_view::npos ? 0 : log.rfind('\n'));
    const std::size_t prev_nl = body.rfind('\n');
    const std::string_view last = prev_nl == std::string_view::npos ? body : body.substr(prev_nl + 1);
    fa::record::View v;
    if (!last.empty() && fa::record::parse(last, &v)) {
      fa::Anchor a;
      a.log_id = std::string(v.log_id);
      a.seq = v.seq;
      a.head = fa::record::chain_hash(last);
      a.ts = std::string(v.ts);
      switch (rng.below(4)) {
        case 0:
          a.seq += 1;
          break;
        case 1:
          a.head[rng.below(a.head.size())] ^= 0x01;
          break;
        case 2:
          a.log_id[0] = a.log_id[0] == '0' ? '1' : '0';
          break;
        default:
          break;
      }
      plan.options.anchor = a;
    }
  }
  plan.chunk_seed = rng.next();
  return plan;
}

fa::VerifySummary run(const Plan& plan, unsigned threads, bool chunked) {
  fa::VerifyOptions opt = plan.options;
  opt.threads = threads;
  fa::ChainVerifier v(opt);
  Rng rng{plan.chunk_seed};
  for (const Segment& seg : plan.segments) {
    v.begin_segment(seg.name, seg.first_seq);
    if (!chunked) {
      v.feed(seg.bytes);
    } else {
      std::size_t at = 0;
      while (at < seg.bytes.size()) {
        // An empty read, byte by byte, the rest at once, up to and including the next LF, up to just
        // before it, or a small random size.
        const std::size_t nl = seg.bytes.find('\n', at);
        const std::size_t to_nl = nl == std::string_view::npos ? seg.bytes.size() - at : nl - at;
        std::size_t n;
        switch (rng.below(8)) {
          case 0:
            n = 0;
            break;
          case 1:
            n = 1;
            break;
          case 2:
            n = seg.bytes.size() - at;
            break;
          case 3:
            n = to_nl + 1;
            break;
          case 4:
            n = to_nl;
            break;
          default:
            n = 1 + rng.below(96);
            break;
        }
        n = std::min(n, seg.bytes.size() - at);
        v.feed(seg.bytes.substr(at, n));
        at += n;
      }
      if (rng.below(4) == 0) v.feed(std::string_view());  // an empty read: size 0, data() null
    }
    v.end_segment();
  }
  return v.finish();
}

bool same_finding(const fa::Finding& a, const fa::Finding& b) {
  return a.reason == b.reason && a.seq == b.seq && a.seq_inferred == b.seq_inferred && a.count == b.count &&
         a.segment == b.segment && a.offset == b.offset && a.detail == b.detail;
}

void print_summary(const char* label, const fa::VerifySummary& s) {
  std::fprintf(stderr, "---- %s\n%s\n", label, fa::format_summary_text(s).c_str());
}

void check_same(const fa::VerifySummary& a, const fa::VerifySummary& b, const char* what) {
  bool same = a.intact == b.intact && a.records == b.records && a.lines == b.lines && a.bytes == b.bytes &&
              a.segments == b.segments && a.log_id == b.log_id && a.first_seq == b.first_seq &&
              a.last_seq == b.last_seq && a.first_ts == b.first_ts && a.last_ts == b.last_ts &&
              a.head == b.head && a.merkle_root == b.merkle_root && a.tree_size == b.tree_size &&
              a.macs_unchecked == b.macs_unchecked && a.anchor_checked == b.anchor_checked &&
              a.findings_total == b.findings_total && a.findings.size() == b.findings.size();
  for (std::size_t i = 0; same && i < a.findings.size(); ++i)
    same = same_finding(a.findings[i], b.findings[i]);
  if (!same) {
    print_summary("first", a);
    print_summary("second", b);
    fail(what);
  }
}

std::uint64_t expected_lines(const Plan& plan) {
  std::uint64_t n = 0;
  for (const Segment& seg : plan.segments) {
    n += static_cast<std::uint64_t>(std::count(seg.bytes.begin(), seg.bytes.end(), '\n'));
    if (!seg.bytes.empty() && seg.bytes.back() != '\n') ++n;
  }
  return n;
}

void check_consistent(const Plan& plan, std::string_view log, const fa::VerifySummary& s) {
  CHECK(s.bytes == log.size());
  CHECK(s.segments == plan.segments.size());
  CHECK(s.lines == expected_lines(plan));
  CHECK(s.records <= s.lines);
  CHECK(s.intact == (s.findings_total == 0));
  CHECK(s.findings.size() == std::min<std::uint64_t>(s.findings_total, plan.options.max_findings));
  CHECK(s.anchor_checked == plan.options.anchor.has_value());
  CHECK(s.macs_unchecked <= s.records);
  CHECK(s.first_seq.has_value() == (s.records > 0));
  CHECK(s.head.has_value() == (s.records > 0));
  for (std::size_t i = 1; i < s.findings.size(); ++i)
    CHECK(s.findings[i - 1].seq.value_or(UINT64_MAX) <= s.findings[i].seq.value_or(UINT64_MAX));
  // Findings point into the input: a segment of the plan, an offset inside it. Without file names (a stream)
  // there is no missing_segment and no segment_name_mismatch (§8.2 step 7).
  const bool any_name = std::any_of(plan.segments.begin(), plan.segments.end(),
                                    [](const Segment& g) { return g.first_seq.has_value(); });
  for (const fa::Finding& f : s.findings) {
    CHECK(fa::reason_name(f.reason) != "unknown");
    CHECK(f.count >= 1);
    const auto seg = std::find_if(plan.segments.begin(), plan.segments.end(),
                                  [&](const Segment& g) { return g.name == f.segment; });
    CHECK(seg != plan.segments.end());
    std::uint64_t max_offset = 0;  // names may repeat: the largest segment of that name bounds the offset
    for (const Segment& g : plan.segments)
      if (g.name == f.segment) max_offset = std::max<std::uint64_t>(max_offset, g.bytes.size());
    CHECK(f.offset <= max_offset);
    if (!any_name)
      CHECK(f.reason != fa::Reason::missing_segment && f.reason != fa::Reason::segment_name_mismatch);
  }
  if (s.merkle_root) {
    CHECK(s.intact);
    CHECK(s.tree_size == s.records);
  }
  // Formatters must take any summary (JSON output throws on invalid UTF-8 in a detail, for instance).
  (void)fa::format_summary_text(s);
  (void)fa::format_summary_json(s);

  if (!s.intact) return;
  // Intact: every line is a record, in order, and the summary's hashes are those of the bytes.
  CHECK(s.records == s.lines);
  const std::uint64_t start = plan.options.start_seq.value_or(0);
  std::vector<fa::Hash> leaves;
  std::string_view last;
  for (const Segment& seg : plan.segments) {
    std::string_view rest = seg.bytes;
    while (!rest.empty()) {
      const std::size_t nl = rest.find('\n');
      CHECK(nl != std::string_view::npos);
      last = rest.substr(0, nl);
      fa::record::View v;
      CHECK(fa::record::parse(last, &v));
      CHECK(v.seq == start + leaves.size());
      leaves.push_back(fa::record::chain_hash(last));
      rest.remove_prefix(nl + 1);
    }
  }
  CHECK(leaves.size() == s.records);
  if (s.records == 0) {
    CHECK(!s.merkle_root || *s.merkle_root == fa::merkle::empty_root());
    return;
  }
  CHECK(*s.first_seq == start && *s.last_seq == start + s.records - 1);
  CHECK(*s.head == leaves.back());
  if (start == 0) {
    CHECK(s.merkle_root.has_value());
    CHECK(*s.merkle_root == fa::merkle::root_of(leaves));
  } else {
    CHECK(!s.merkle_root.has_value());
  }
}

// ---------------------------------------------------------------------------------------------------
// Tampering with an intact log. With the anchor of its head every change must be found; without it,
// every change before the last record. An edit that keeps a record valid (only its event differs) must be
// pinpointed exactly as docs/log-format.md §8.2 step 9 says.

fa::VerifySummary verify_stream(std::string_view bytes, const std::optional<fa::Anchor>& anchor) {
  fa::VerifyOptions opt;
  opt.threads = 1;
  opt.anchor = anchor;
  fa::ChainVerifier v(opt);
  v.begin_segment("-", std::nullopt);
  v.feed(bytes);
  v.end_segment();
  return v.finish();
}

struct LineSpan {
  std::size_t begin, size;  // without the LF
};

std::string join_lines(std::string_view log, const std::vector<LineSpan>& lines,
                       const std::vector<std::size_t>& order) {
  std::string out;
  for (const std::size_t i : order) out.append(log.substr(lines[i].begin, lines[i].size)).push_back('\n');
  return out;
}

void expect_detected(std::string_view tampered, const fa::Anchor& anchor, bool without_anchor_too,
                     const char* what) {
  const fa::VerifySummary with = verify_stream(tampered, anchor);
  if (with.intact) {
    std::fprintf(stderr, "tampering not detected (with anchor): %s\n", what);
    fail("a change to an anchored intact log went unnoticed");
  }
  if (!without_anchor_too) return;
  const fa::VerifySummary without = verify_stream(tampered, std::nullopt);
  if (without.intact) {
    std::fprintf(stderr, "tampering not detected (no anchor): %s\n", what);
    fail("a change before the last record went unnoticed");
  }
}

// Changes one byte inside the event of line i so that the line is still a valid record with the same
// log_id, seq, ts and prev. Returns false if no such change was found in a few tries.
bool edit_event(std::string_view line, Rng& rng, std::string* out) {
  fa::record::View orig;
  if (!fa::record::parse(line, &orig)) return false;
  const std::size_t from = static_cast<std::size_t>(orig.event.data() - line.data());
  for (int attempt = 0; attempt < 24; ++attempt) {
    std::string edited(line);
    const std::size_t at = from + 1 + rng.below(orig.event.size() - 2);
    edited[at] = static_cast<char>(edited[at] ^ (1 << rng.below(4)));
    fa::record::View v;
    if (fa::record::parse(edited, &v) && v.seq == orig.seq && v.log_id == orig.log_id && v.ts == orig.ts &&
        v.prev == orig.prev) {
      *out = std::move(edited);
      return true;
    }
  }
  return false;
}

void check_tampering(std::string_view log, Rng& rng) {
  const fa::VerifySummary s = verify_stream(log, std::nullopt);
  if (!s.intact || s.records == 0) return;
  std::vector<LineSpan> lines;
  for (std::size_t at = 0; at < log.size();) {
    const std::size_t nl = log.find('\n', at);
    CHECK(nl != std::string_view::npos);
    lines.push_back({at, nl - at});
    at = nl + 1;
  }
  CHECK(lines.size() == s.records);
  const std::size_t n = lines.size(), last = n - 1;
  fa::Anchor anchor;
  anchor.log_id = s.log_id;
  anchor.seq = *s.last_seq;
  anchor.head = *s.head;
  anchor.ts = s.last_ts;
  const fa::VerifySummary own = verify_stream(log, anchor);
  CHECK(own.intact && own.anchor_checked);
  {  // an anchor one record further: the tail was cut; an anchor with another head: the log was rewritten
    fa::Anchor later = anchor;
    later.seq += 1;
    const fa::VerifySummary r = verify_stream(log, later);
    CHECK(r.findings_total == 1 && r.findings[0].reason == fa::Reason::truncated_tail);
    fa::Anchor other = anchor;
    other.head[rng.below(other.head.size())] ^= 0x80;
    const fa::VerifySummary r2 = verify_stream(log, other);
    CHECK(r2.findings_total == 1 && r2.findings[0].reason == fa::Reason::anchor_mismatch);
  }

  std::vector<std::size_t> order;
  auto reset = [&] {
    order.resize(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
  };
  auto pick = [&] { return static_cast<std::size_t>(rng.below(n)); };
  const std::size_t rounds = std::min<std::size_t>(n, 8);

  for (std::size_t k = 0; k < rounds; ++k) {
    const std::size_t i = n <= 8 ? k : pick();
    reset();  // delete line i
    order.erase(order.begin() + static_cast<std::ptrdiff_t>(i));
    expect_detected(join_lines(log, lines, order), anchor, i != last, "line deleted");
    reset();  // duplicate line i
    order.insert(order.begin() + static_cast<std::ptrdiff_t>(i), i);
    expect_detected(join_lines(log, lines, order), anchor, true, "line duplicated");
    if (n >= 2) {  // swap line i with another
      std::size_t j = pick();
      if (j == i) j = (i + 1) % n;
      reset();
      std::swap(order[i], order[j]);
      expect_detected(join_lines(log, lines, order), anchor, true, "lines swapped");
    }
  }

  for (int k = 0; k < 16; ++k) {  // one bit anywhere
    std::string t(log);
    const std::size_t at = rng.below(t.size());
    t[at] = static_cast<char>(t[at] ^ (1 << rng.below(8)));
    expect_detected(t, anchor, at < lines[last].begin, "bit flipped");
  }
  for (int k = 0; k < 4; ++k) {  // cut short
    const std::size_t at = rng.below(log.size());
    const bool at_boundary = at == 0 || log[at - 1] == '\n';
    expect_detected(log.substr(0, at), anchor, !at_boundary, "truncated");
  }
  {
    std::string t(log);  // garbage line inserted
    t.insert(lines[pick()].begin, "{}\n");
    expect_detected(t, anchor, true, "line inserted");
  }

  // A record whose event changed while it stays a valid record: exactly one finding, where §8.2 puts it.
  for (std::size_t k = 0; k < rounds; ++k) {
    const std::size_t i = n <= 8 ? k : pick();
    std::string edited;
    if (!edit_event(log.substr(lines[i].begin, lines[i].size), rng, &edited)) continue;
    std::string t(log.substr(0, lines[i].begin));
    t.append(edited).append(log.substr(lines[i].begin + lines[i].size));
    const fa::VerifySummary with = verify_stream(t, anchor);
    const fa::VerifySummary without = verify_stream(t, std::nullopt);
    const std::uint64_t seq = i;
    const bool ok_with =
        with.findings_total == 1 && with.findings[0].seq == seq &&
        with.findings[0].reason == (i == last ? fa::Reason::anchor_mismatch : fa::Reason::hash_mismatch);
    bool ok_without;
    if (i == last)
      ok_without = without.intact;  // nothing commits to the last record but the anchor
    else if (i + 1 == last)
      ok_without = without.findings_total == 1 && without.findings[0].reason == fa::Reason::broken_link &&
                   without.findings[0].seq == seq + 1;
    else
      ok_without = without.findings_total == 1 && without.findings[0].reason == fa::Reason::hash_mismatch &&
                   without.findings[0].seq == seq;
    if (!ok_with || !ok_without) {
      std::fprintf(stderr, "event of record %llu edited (%zu records)\n",
                   static_cast<unsigned long long>(seq), n);
      print_summary("with anchor", with);
      print_summary("without anchor", without);
      fail("an altered record is not pinpointed as docs/log-format.md §8.2 step 9 says");
    }
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view log(reinterpret_cast<const char*>(data), size);
  g_input = log;
  Rng rng{fnv1a(log)};

  // Parsing goes parallel only for 64 lines or more at once; small inputs are sometimes repeated to get
  // there (the copies are duplicates to the verifier, which is fine: the thread count must not matter).
  std::string grown;
  const auto lf = static_cast<std::size_t>(std::count(log.begin(), log.end(), '\n'));
  if (lf > 0 && lf < 64 && rng.below(4) == 0) {
    for (std::size_t copies = 0; copies * lf < 64 && grown.size() < (64u << 10); ++copies) grown.append(log);
    log = grown;
  }

  const Plan plan = make_plan(log, rng);
  const fa::VerifySummary whole1 = run(plan, 1, false);
  const fa::VerifySummary whole2 = run(plan, 2, false);
  const fa::VerifySummary chunked = run(plan, 2, true);
  check_same(whole1, whole2, "threads=1 and threads=2 disagree");
  check_same(whole1, chunked, "chunked feed() and whole-segment feed() disagree");
  check_consistent(plan, log, whole1);
  check_tampering(log, rng);
  return 0;
}
