// SPDX-License-Identifier: Apache-2.0
// fooocus-audit: the command-line tool. Each subcommand is a thin layer over the library API.

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "fooocus_audit/fooocus_audit.hpp"

namespace fa = fooocus_audit;

namespace {

// Exit codes (docs/cli.md).
constexpr int kOk = 0;
constexpr int kFindings = 1;  // verify: not intact; append: some lines refused
constexpr int kUsage = 2;     // usage or I/O error

constexpr const char* kMainHelp = R"(usage: fooocus-audit <command> [options]

Tamper-evident audit log for Fooocus deployments.

commands:
  append   append newline-delimited JSON events from standard input to a log
  verify   verify a log directory, a segment file or standard input
  version  print the library version

Run 'fooocus-audit <command> --help' for a command's options.
)";

constexpr const char* kAppendHelp = R"(usage: fooocus-audit append --dir DIR [options] < events.ndjson

Reads one JSON event per line on standard input and appends each to the log in DIR
(created if missing). Every event must be a JSON object with an "event_type" string.
A line that is not a valid event is reported on standard error with its line number and
is not appended; the other lines are. Blank lines are ignored.

options:
  --dir DIR                 log directory (required)
  --durability MODE         none | group_commit | always (default: always)
  --max-segment-bytes N     rotate segments at N bytes (default: 67108864)
  --anchor-out FILE         after the last event, save the log's anchor to FILE
  -h, --help                this help

exit status: 0 all lines appended, 1 some lines refused (the others were appended),
             2 usage error or the log could not be opened or written.
)";

constexpr const char* kVerifyHelp = R"(usage: fooocus-audit verify PATH [options]

Verifies a log: PATH is a log directory, one segment file, or '-' for standard input
(records of consecutive segments, in order). Every problem is reported with its sequence
number, segment file, byte offset and reason code.

options:
  --anchor FILE        an anchor saved earlier (detects truncation and rewriting of the tail)
  --start-seq N        the first record expected (default 0; a single segment file: its name)
  --json               machine-readable report on standard output
  --write-anchor FILE  if the log is intact, save its head as an anchor to FILE
  --threads N          parsing/hashing threads (default: one per core, at most 4)
  -h, --help           this help

exit status: 0 intact, 1 tampered or damaged (findings reported), 2 usage or I/O error.
)";

bool parse_u64(const char* s, std::uint64_t* out) {
  if (s == nullptr || *s == '\0' || *s == '-') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

int usage_error(const std::string& msg, const char* help) {
  fmt::print(stderr, "fooocus-audit: {}\n\n{}", msg, help);
  return kUsage;
}

// Reads one line of at most `limit` bytes; longer lines are consumed and reported as too long.
enum class LineResult { ok, too_long, eof };
LineResult read_line(std::FILE* in, std::string& line, std::size_t limit) {
  line.clear();
  bool too_long = false;
  char buf[65536];
  for (;;) {
    if (std::fgets(buf, sizeof buf, in) == nullptr) {
      if (line.empty() && !too_long) return LineResult::eof;
      break;
    }
    const std::size_t n = std::strlen(buf);
    const bool nl = n > 0 && buf[n - 1] == '\n';
    if (!too_long) {
      line.append(buf, nl ? n - 1 : n);
      if (line.size() > limit) {
        too_long = true;
        line.clear();
      }
    }
    if (nl) break;
  }
  return too_long ? LineResult::too_long : LineResult::ok;
}

int cmd_append(int argc, char** argv) {
  fa::LoggerOptions opt;
  opt.durability = fa::Durability::always;
  std::string anchor_out;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)name;
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      fmt::print("{}", kAppendHelp);
      return kOk;
    } else if (a == "--dir") {
      const char* v = value("--dir");
      if (!v) return usage_error("--dir needs a value", kAppendHelp);
      opt.dir = v;
    } else if (a == "--durability") {
      const char* v = value("--durability");
      const std::string m = v ? v : "";
      if (m == "none") opt.durability = fa::Durability::none;
      else if (m == "group_commit") opt.durability = fa::Durability::group_commit;
      else if (m == "always") opt.durability = fa::Durability::always;
      else return usage_error("--durability must be none, group_commit or always", kAppendHelp);
    } else if (a == "--max-segment-bytes") {
      std::uint64_t n = 0;
      if (!parse_u64(value("--max-segment-bytes"), &n)) return usage_error("--max-segment-bytes needs a number", kAppendHelp);
      opt.max_segment_bytes = n;
    } else if (a == "--anchor-out") {
      const char* v = value("--anchor-out");
      if (!v) return usage_error("--anchor-out needs a value", kAppendHelp);
      anchor_out = v;
    } else {
      return usage_error(fmt::format("unknown option {}", a), kAppendHelp);
    }
  }
  if (opt.dir.empty()) return usage_error("--dir is required", kAppendHelp);

  auto logger = fa::AuditLogger::open(opt);
  if (!logger) {
    fmt::print(stderr, "fooocus-audit append: {}\n", logger.status().to_string());
    return kUsage;
  }
  std::uint64_t line_no = 0, appended = 0, refused = 0;
  std::string line;
  for (;;) {
    const LineResult r = read_line(stdin, line, opt.max_event_bytes);
    if (r == LineResult::eof) break;
    ++line_no;
    if (r == LineResult::too_long) {
      fmt::print(stderr, "line {}: too_large: longer than {} bytes; not appended\n", line_no, opt.max_event_bytes);
      ++refused;
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json event = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (event.is_discarded()) {
      fmt::print(stderr, "line {}: invalid_argument: not valid JSON; not appended\n", line_no);
      ++refused;
      continue;
    }
    const fa::Status s = (*logger)->log(event);
    if (!s) {
      fmt::print(stderr, "line {}: {}; not appended\n", line_no, s.to_string());
      ++refused;
      if (s.code() == fa::Code::io_error || s.code() == fa::Code::closed) break;
      continue;
    }
    ++appended;
  }
  fa::Status s = (*logger)->flush();
  const fa::Anchor head = (*logger)->head();
  fa::Status c = (*logger)->close();
  if (!s || !c) {
    fmt::print(stderr, "fooocus-audit append: {}\n", (!s ? s : c).to_string());
    return kUsage;
  }
  if (!anchor_out.empty()) {
    if (fa::Status a = head.save(anchor_out); !a) {
      fmt::print(stderr, "fooocus-audit append: {}\n", a.to_string());
      return kUsage;
    }
  }
  fmt::print(stderr, "appended {} event(s), refused {}; head seq {} {}\n", appended, refused, head.seq,
             fa::detail::to_hex(head.head));
  return refused > 0 ? kFindings : kOk;
}

int cmd_verify(int argc, char** argv) {
  fa::VerifyOptions opt;
  std::string path, write_anchor;
  bool json = false;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "-h" || a == "--help") {
      fmt::print("{}", kVerifyHelp);
      return kOk;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--anchor") {
      const char* v = value();
      if (!v) return usage_error("--anchor needs a file", kVerifyHelp);
      auto an = fa::Anchor::load(v);
      if (!an) {
        fmt::print(stderr, "fooocus-audit verify: {}\n", an.status().to_string());
        return kUsage;
      }
      opt.anchor = an.value();
    } else if (a == "--start-seq") {
      std::uint64_t n = 0;
      if (!parse_u64(value(), &n)) return usage_error("--start-seq needs a number", kVerifyHelp);
      opt.start_seq = n;
    } else if (a == "--threads") {
      std::uint64_t n = 0;
      if (!parse_u64(value(), &n) || n == 0 || n > 64) return usage_error("--threads needs 1..64", kVerifyHelp);
      opt.threads = static_cast<unsigned>(n);
    } else if (a == "--write-anchor") {
      const char* v = value();
      if (!v) return usage_error("--write-anchor needs a file", kVerifyHelp);
      write_anchor = v;
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      return usage_error(fmt::format("unknown option {}", a), kVerifyHelp);
    } else if (path.empty()) {
      path = a;
    } else {
      return usage_error("only one PATH may be given", kVerifyHelp);
    }
  }
  if (path.empty()) return usage_error("PATH is required", kVerifyHelp);
  fa::ChainVerifier verifier(opt);
  fa::Result<fa::VerifySummary> r = path == "-" ? verifier.verify_fd(STDIN_FILENO) : verifier.verify_path(path);
  if (!r) {
    fmt::print(stderr, "fooocus-audit verify: {}\n", r.status().to_string());
    return kUsage;
  }
  const fa::VerifySummary& sum = r.value();
  fmt::print("{}", json ? fa::format_summary_json(sum) + "\n" : fa::format_summary_text(sum));
  if (!write_anchor.empty() && sum.intact && sum.head) {
    fa::Anchor an{sum.log_id, *sum.last_seq, *sum.head, sum.last_ts};
    if (fa::Status s = an.save(write_anchor); !s) {
      fmt::print(stderr, "fooocus-audit verify: {}\n", s.to_string());
      return kUsage;
    }
  }
  return sum.intact ? kOk : kFindings;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "{}", kMainHelp);
    return kUsage;
  }
  const std::string cmd = argv[1];
  try {
    if (cmd == "append") return cmd_append(argc - 2, argv + 2);
    if (cmd == "verify") return cmd_verify(argc - 2, argv + 2);
    if (cmd == "version" || cmd == "--version") {
      fmt::print("fooocus-audit {}\n", FOOOCUS_AUDIT_VERSION_STRING);
      return kOk;
    }
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
      fmt::print("{}", kMainHelp);
      return kOk;
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "fooocus-audit: internal error: {}\n", e.what());
    return kUsage;
  }
  fmt::print(stderr, "fooocus-audit: unknown command '{}'\n\n{}", cmd, kMainHelp);
  return kUsage;
}
