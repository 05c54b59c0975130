// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file tests/support/log_fixture.hpp
/// Test helpers shared by test_tamper.cpp, test_verifier.cpp, test_record.cpp and test_cli.cpp:
/// a temporary directory per test, a writer that produces a deterministic multi-segment log, an in-memory
/// image of a log directory (segments -> lines) to tamper with and write back, re-sealing of records the
/// way an attacker with write access would do it, and verifier runners for directory, file and stream mode.

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "fooocus_audit/fooocus_audit.hpp"
#include "describe.hpp"
#include "files.hpp"

namespace fa_test {

namespace fa = fooocus_audit;

/// Test clock: starts at 2026-03-25T14:30:00Z and advances `step` microseconds per call, so every record of
/// a test log has a distinct, predictable `ts`.
inline std::function<std::int64_t()> stepping_clock(std::int64_t step = 1000000) {
  auto t = std::make_shared<std::int64_t>(1774449000LL * 1000000);
  return [t, step] { return *t += step; };
}

/// A generation-like event of a few hundred bytes; `i` makes each one distinct.
inline nlohmann::json sample_event(int i) {
  return {{"event_type", "generation.completed"},
          {"request_id", "req_" + std::to_string(i)},
          {"user_id", "alice@enterprise.com"},
          {"tenant_id", "acme_corp"},
          {"prompt_sanitized", "professional product photography, luxury watch on marble surface"},
          {"seed", 176400 + i},
          {"performance", "Quality"},
          {"duration_ms", 8000 + i},
          {"output", "s3://fooocus-outputs/acme_corp/" + std::to_string(i) + ".png"}};
}

struct WrittenLog {
  std::string log_id;
  fa::Anchor head;  ///< the writer's durable head at close
  std::uint64_t records = 0;
};

/// Writes `events` sample events with the real AuditLogger (record 0 is log.opened), in segments of at most
/// `max_segment_bytes`, with a stepping clock; closes the logger.
inline WrittenLog write_log(const std::string& dir, int events, std::uint64_t max_segment_bytes = 8192) {
  fa::LoggerOptions opt;
  opt.dir = dir;
  opt.durability = fa::Durability::none;
  opt.max_segment_bytes = max_segment_bytes;
  opt.clock_micros = stepping_clock();
  auto lg = fa::AuditLogger::open(opt);
  if (!lg) throw std::runtime_error("open: " + lg.status().to_string());
  for (int i = 0; i < events; ++i) {
    fa::Status s = (*lg)->log(sample_event(i));
    if (!s) throw std::runtime_error("log: " + s.to_string());
  }
  if (fa::Status s = (*lg)->flush(); !s) throw std::runtime_error("flush: " + s.to_string());
  WrittenLog w;
  w.log_id = (*lg)->log_id();
  w.head = (*lg)->head();
  w.records = (*lg)->stats().records;
  if (fa::Status s = (*lg)->close(); !s) throw std::runtime_error("close: " + s.to_string());
  return w;
}

/// The fields of one record, enough to rebuild its bytes with record::append_record.
struct Rec {
  std::string event;  ///< canonical event bytes
  std::string log_id;
  std::uint64_t seq = 0;
  std::string ts;
  fa::Hash prev{};
  std::string mac;  ///< the record's `,"mac":{...}` member as written, or empty (kept as is by build())
};

inline Rec parse_rec(std::string_view line) {
  fa::record::View v;
  const fa::record::ParseResult r = fa::record::parse(line, &v);
  if (!r) throw std::runtime_error("not a record: " + r.detail);
  std::string mac = v.has_mac ? std::string(line.substr(v.mac_begin, v.mac_end - v.mac_begin)) : std::string();
  return {std::string(v.event), std::string(v.log_id), v.seq, std::string(v.ts), v.prev, std::move(mac)};
}

inline std::string build(const Rec& r) {
  std::string out;
  fa::record::append_record(out, r.event, r.log_id, r.prev, r.seq, r.ts);
  if (!r.mac.empty()) out.insert(out.rfind(R"(,"prev":")"), r.mac);  // JCS: mac between log_id and prev
  return out;
}

inline fa::Hash chain_hash(std::string_view line) { return fa::record::chain_hash(line); }

/// Replaces the first occurrence of `from` by `to` (which must exist) in s.
inline std::string replace_once(std::string s, std::string_view from, std::string_view to) {
  const auto at = s.find(from);
  if (at == std::string::npos) throw std::runtime_error("replace_once: not found: " + std::string(from));
  s.replace(at, from.size(), to);
  return s;
}

/// A log directory in memory: segment files (in name order) split into LF-terminated lines.
struct LogImage {
  struct Segment {
    std::string name;
    std::vector<std::string> lines;  ///< without their LF
    std::string tail;                ///< bytes after the last LF (normally empty)
  };
  struct Pos {
    std::size_t seg, line;
  };
  std::vector<Segment> segs;

  static LogImage load(const std::string& dir) {
    auto list = fa::detail::list_segments(dir);
    if (!list) throw std::runtime_error(list.status().to_string());
    LogImage img;
    for (const auto& s : list.value()) {
      Segment seg;
      seg.name = s.name;
      const std::string bytes = read_bytes(s.path);
      std::size_t at = 0;
      for (;;) {
        const auto nl = bytes.find('\n', at);
        if (nl == std::string::npos) break;
        seg.lines.push_back(bytes.substr(at, nl - at));
        at = nl + 1;
      }
      seg.tail = bytes.substr(at);
      img.segs.push_back(std::move(seg));
    }
    return img;
  }

  /// Removes every segment file of dir, then writes this image's segments.
  void save(const std::string& dir) const {
    auto list = fa::detail::list_segments(dir);
    if (!list) throw std::runtime_error(list.status().to_string());
    for (const auto& s : list.value()) ::unlink(s.path.c_str());
    for (const Segment& s : segs) write_bytes(dir + "/" + s.name, bytes(s));
  }

  static std::string bytes(const Segment& s) {
    std::string out;
    for (const std::string& l : s.lines) out.append(l).push_back('\n');
    return out + s.tail;
  }

  /// All segments concatenated: what `verify -` reads.
  std::string concatenated() const {
    std::string out;
    for (const Segment& s : segs) out += bytes(s);
    return out;
  }

  std::size_t count() const {
    std::size_t n = 0;
    for (const Segment& s : segs) n += s.lines.size();
    return n;
  }

  /// Position of the line that currently holds record `seq` (by parsing), or throws.
  Pos find(std::uint64_t seq) const {
    for (std::size_t i = 0; i < segs.size(); ++i)
      for (std::size_t j = 0; j < segs[i].lines.size(); ++j) {
        fa::record::View v;
        if (fa::record::parse(segs[i].lines[j], &v) && v.seq == seq) return {i, j};
      }
    throw std::runtime_error("record not found: " + std::to_string(seq));
  }
  std::string& line(std::uint64_t seq) {
    const Pos p = find(seq);
    return segs[p.seg].lines[p.line];
  }
  const std::string& line(std::uint64_t seq) const {
    const Pos p = find(seq);
    return segs[p.seg].lines[p.line];
  }

  /// Byte offset of a line inside its segment file.
  std::uint64_t offset(Pos p) const {
    std::uint64_t off = 0;
    for (std::size_t j = 0; j < p.line; ++j) off += segs[p.seg].lines[j].size() + 1;
    return off;
  }
  std::uint64_t offset_of(std::uint64_t seq) const { return offset(find(seq)); }
  /// Byte offset of a line in the concatenation of all segments (stream mode).
  std::uint64_t stream_offset(Pos p) const {
    std::uint64_t off = 0;
    for (std::size_t i = 0; i < p.seg; ++i) off += bytes(segs[i]).size();
    return off + offset(p);
  }
  std::uint64_t stream_offset_of(std::uint64_t seq) const { return stream_offset(find(seq)); }
  const std::string& segment_of(std::uint64_t seq) const { return segs[find(seq).seg].name; }

  /// The record in the middle of the middle segment: "a middle record" that does not sit at a segment
  /// boundary and has at least two successors in its own segment.
  std::uint64_t middle_seq() const {
    const Segment& s = segs[segs.size() / 2];
    return parse_rec(s.lines[s.lines.size() / 2]).seq;
  }

  /// Re-seals every record from `seq` on (in file order) so that each one links to the line before it,
  /// as an attacker with write access can: the chain verifies again from there.
  void rechain_from(std::uint64_t seq) {
    bool on = false;
    std::string before;  // the previous line, once known
    for (Segment& s : segs)
      for (std::string& l : s.lines) {
        Rec r = parse_rec(l);
        if (r.seq == seq) on = true;
        if (on) {
          r.prev = before.empty() ? fa::record::genesis_hash(r.log_id) : chain_hash(before);
          l = build(r);
        }
        before = l;
      }
    if (!on) throw std::runtime_error("rechain_from: record not found");
  }
};

/// Verifies a directory or one file with the given options.
inline fa::VerifySummary verify_path(const std::string& path, fa::VerifyOptions opt = {}) {
  fa::ChainVerifier v(std::move(opt));
  auto r = v.verify_path(path);
  if (!r) throw std::runtime_error("verify_path: " + r.status().to_string());
  return std::move(r).value();
}

/// Verifies bytes read from a pipe through verify_fd (stream mode, as `verify -`).
inline fa::VerifySummary verify_stream(const std::string& bytes, fa::VerifyOptions opt = {}) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  std::thread writer([&bytes, w = fds[1]] {
    std::size_t at = 0;
    while (at < bytes.size()) {
      const ssize_t n = ::write(w, bytes.data() + at, std::min<std::size_t>(65536, bytes.size() - at));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      at += static_cast<std::size_t>(n);
    }
    ::close(w);
  });
  fa::ChainVerifier v(std::move(opt));
  auto r = v.verify_fd(fds[0], "-");
  ::close(fds[0]);
  writer.join();
  if (!r) throw std::runtime_error("verify_fd: " + r.status().to_string());
  return std::move(r).value();
}

/// The findings with a given reason.
inline std::vector<fa::Finding> with_reason(const fa::VerifySummary& s, fa::Reason r) {
  std::vector<fa::Finding> out;
  for (const fa::Finding& f : s.findings)
    if (f.reason == r) out.push_back(f);
  return out;
}


/// An anchor for record `last` taken from a verified, intact log.
inline fa::Anchor anchor_of(const fa::VerifySummary& s) {
  return fa::Anchor{s.log_id, *s.last_seq, *s.head, s.last_ts};
}

}  // namespace fa_test
