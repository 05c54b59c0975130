// SPDX-License-Identifier: Apache-2.0
// fooocus-audit: the command-line tool. Each subcommand is a thin layer over the library API.

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fooocus_audit/fooocus_audit.hpp"
#include "fooocus_audit/mac_key.hpp"
#include "cli_common.hpp"
#include "commands.hpp"

namespace fa = fooocus_audit;

using namespace fa_cli;  // NOLINT(google-build-using-namespace): the tool's shared helpers

namespace {

constexpr const char* kMainHelp = R"(usage: fooocus-audit <command> [options]

Tamper-evident audit log for Fooocus deployments.

commands:
  keygen       create a signing key, a MAC seed and the verifier key
  append       append newline-delimited JSON events from standard input to a log
  verify       verify a log directory, a segment file or standard input
  prove        write a proof bundle: one record's inclusion, or consistency of two checkpoints
  check-proof  check a proof bundle offline
  sign-server  hold the signing key in a separate process and sign checkpoints over a Unix socket
  model        register, approve, verify and list model files (the registry lives in the log)
  monitor      replay a log against monitoring rules; compare with the alerts it holds
  report       compliance reports (monthly audit, access review, generations, models) as JSON/MD/HTML
  sanitize     redact personal data and secrets from prompts, one per line (try a policy)
  version      print the library version

Run 'fooocus-audit <command> --help' for a command's options.
)";

constexpr const char* kKeygenHelp = R"(usage: fooocus-audit keygen --out DIR [--origin NAME]

Creates DIR (mode 0700) if missing and writes three files into it; never replaces one:
  signing.key   the checkpoint signing key (secret, 0600): give it to the writer or to sign-server
  mac.key       the MAC seed (secret, 0600): COPY IT TO THE AUDITOR BEFORE THE FIRST APPEND,
                the writer converts it in place and the seed is gone from the host
  verifier.key  the verifier key (public): give it to everyone who verifies
Prints the verifier key. Secrets are never printed.

options:
  --out DIR       where to write the key files (required)
  --origin NAME   key name; checkpoints of a log get the origin NAME/<log_id> (default: fooocus-audit)
  -h, --help      this help

exit status: 0 keys written, 2 usage error, a file exists already, or it could not be written.
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
  --signing-key FILE        sign checkpoints in this process with this key (from keygen)
  --signer-state FILE       with --signing-key: the signer's memory of what it signed (kept across runs)
  --signer-socket PATH      sign checkpoints by a separate 'fooocus-audit sign-server' on PATH
  --mac-key FILE            forward-secure MACs: the seed from keygen for a new log (converted in
                            place into the writer's state), the writer's state file afterwards
  --anchor-file FILE        append every signed checkpoint to this anchor file (keep it off the host)
  --checkpoint-records N    a checkpoint at least every N records (default: 10000)
  -h, --help                this help

exit status: 0 all lines appended, 1 some lines refused (the others were appended),
             2 usage error, or the log, a key or the signer could not be opened or written.
)";

constexpr const char* kVerifyHelp = R"(usage: fooocus-audit verify PATH [options]

Verifies a log: PATH is a log directory, one segment file, or '-' for standard input
(records of consecutive segments, in order). Every problem is reported with its sequence
number, segment file, byte offset and reason code. The report ends with what was checked
(chain, MACs, checkpoint signatures, anchors) and what could not be.

options:
  --anchor FILE        an anchor file: head anchors (detect truncation and rewriting of the tail)
                       and signed checkpoint anchors (prove the log extends each); repeatable
  --key FILE           a trusted verifier key (verifier.key); repeatable. Checks checkpoint signatures
  --mac-key FILE       the auditor's MAC seed (mac.key as keygen wrote it). Checks every record's MAC
  --log-id HEX         the log id expected (32 hex); another log is reported (log_id_mismatch)
  --start-seq N        the first record expected (default 0; a single segment file: its name)
  --json               machine-readable report on standard output
  --write-anchor FILE  if the log is intact, save its head as an anchor to FILE
  --threads N          parsing/hashing threads (default: one per core, at most 4)
  -h, --help           this help

exit status: 0 intact, 1 tampered or damaged (findings reported), 2 usage or I/O error
             (including a key that cannot be used).
)";

constexpr const char* kProveHelp = R"(usage: fooocus-audit prove --dir DIR --seq N --out FILE [--anchor FILE] [--newest]
       fooocus-audit prove --dir DIR --consistency OLD NEW --out FILE [--anchor FILE]

Writes a proof bundle (docs/log-format.md 11.2) that anyone can check offline with check-proof.

  --seq N         inclusion of record N in a signed checkpoint: the smallest checkpoint of the
                  anchor file that covers N (with --anchor), else the log's newest signed checkpoint
  --consistency OLD NEW
                  the checkpoint OLD is a prefix of NEW. Each is a file holding a signed note (or a
                  one-checkpoint anchor file), a tree size (the checkpoint of that size, from --anchor
                  or from the log), or 'latest' (the newest signed checkpoint)
  --dir DIR       the log directory (required); its tree cache DIR/tree is created or updated
  --out FILE      where to write the bundle ('-': standard output) (required)
  --anchor FILE   take checkpoints from this anchor file instead of the log
  --newest        with --seq and --anchor: the newest covering checkpoint instead of the smallest
  -h, --help      this help

exit status: 0 bundle written, 2 usage or I/O error, no such record, no checkpoint covers it yet,
             or the log does not match the checkpoint.
)";

constexpr const char* kCheckProofHelp = R"(usage: fooocus-audit check-proof FILE --key FILE [--key FILE...] [--mac-key FILE]
                                 [--json]

Checks a proof bundle offline ('-' reads standard input): the record and the proof against the
signed checkpoint (inclusion), or the proof between two signed checkpoints (consistency).
Prints VALID or INVALID with a reason code, then which guarantees were checked and which not.

options:
  --key FILE              a trusted verifier key (verifier.key); repeatable, at least one
  --no-signature-check    check everything but the signatures (the output says so); instead of --key
  --mac-key FILE          the auditor's MAC seed: also checks the record's MAC
  --json                  machine-readable result on standard output
  -h, --help              this help

exit status: 0 valid, 1 invalid (the reason is printed), 2 usage or I/O error.
)";

constexpr const char* kSignServerHelp = R"(usage: fooocus-audit sign-server --key FILE --socket PATH --state FILE

Holds the signing key in this process and signs the checkpoints writers send over the Unix socket
PATH (created 0600), but only checkpoints that extend what it signed before (no rollback, no fork).
Runs until SIGTERM or SIGINT.

options:
  --key FILE      the signing key (signing.key from keygen, mode 0600) (required)
  --socket PATH   the socket to listen on (required); put it in a directory only the writer can enter
  --state FILE    what the server signed per log, kept across restarts (required); keep it where
                  the writer cannot reach it
  -h, --help      this help

exit status: 0 stopped by a signal, 2 usage error, or the key, state or socket could not be used.
)";

// ---------------------------------------------------------------------------------------------------------------
// keygen

int cmd_keygen(int argc, char** argv) {
  std::string out, name = "fooocus-audit";
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "-h" || a == "--help") {
      fmt::print("{}", kKeygenHelp);
      return kOk;
    } else if (a == "--out") {
      const char* v = value();
      if (!v) return usage_error("--out needs a directory", kKeygenHelp);
      out = v;
    } else if (a == "--origin") {
      const char* v = value();
      if (!v) return usage_error("--origin needs a name", kKeygenHelp);
      name = v;
    } else {
      return usage_error(fmt::format("unknown option {}", a), kKeygenHelp);
    }
  }
  if (out.empty()) return usage_error("--out is required", kKeygenHelp);
  if (!fa::note::valid_key_name(name))
    return usage_error("--origin must be a key name: not empty, no white space, no '+'", kKeygenHelp);

  if (::mkdir(out.c_str(), 0700) != 0 && errno != EEXIST)
    return fail("keygen", fa::detail::errno_status(fmt::format("mkdir {}", out), errno).to_string());
  struct stat st {};
  if (::stat(out.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return fail("keygen", out + " is not a directory");
  const std::string signing_path = out + "/signing.key", mac_path = out + "/mac.key",
                    verifier_path = out + "/verifier.key";
  for (const std::string& p : {signing_path, mac_path, verifier_path})
    if (exists(p)) return fail("keygen", fmt::format("{} exists already; refusing to overwrite a key", p));

  fa::Result<fa::note::SigningKey> key = fa::note::SigningKey::generate(name);
  if (!key) return fail("keygen", key.status().to_string());
  fa::Result<fa::mac::Seed> seed = fa::mac::Seed::generate();
  if (!seed) return fail("keygen", seed.status().to_string());
  // Whatever fails, leave no partial set behind (each file was created by this run: O_EXCL).
  std::vector<std::string> created;
  auto undo = [&](const fa::Status& s) {
    for (const std::string& p : created) ::unlink(p.c_str());
    return fail("keygen", s.to_string());
  };
  if (fa::Status s = key->save(signing_path); !s) return undo(s);
  created.push_back(signing_path);
  if (fa::Status s = seed->save(mac_path); !s) return undo(s);
  created.push_back(mac_path);
  if (fa::Status s = fa::note::save_verifier_key(verifier_path, key->verifier()); !s) return undo(s);

  fmt::print("{}\n", key->verifier().text());
  fmt::print(stderr,
             "wrote {} (secret, 0600), {} (secret, 0600) and {} (public)\n"
             "WARNING: copy {} to the auditor now, before the first append: the writer converts it in place\n"
             "         into its evolving state, after which the seed exists nowhere else and MACs cannot be checked.\n"
             "         Keep {} away from the log host (or run 'fooocus-audit sign-server' with it).\n",
             signing_path, mac_path, verifier_path, mac_path, signing_path);
  return kOk;
}

// ---------------------------------------------------------------------------------------------------------------
// append

int cmd_append(int argc, char** argv) {
  fa::LoggerOptions opt;
  opt.durability = fa::Durability::always;
  std::string anchor_out, signing_key, signer_state, signer_socket;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    auto path = [&](std::string* dst) {
      const char* v = value();
      if (v == nullptr) return false;
      *dst = v;
      return true;
    };
    if (a == "-h" || a == "--help") {
      fmt::print("{}", kAppendHelp);
      return kOk;
    } else if (a == "--dir") {
      if (!path(&opt.dir)) return usage_error("--dir needs a value", kAppendHelp);
    } else if (a == "--durability") {
      const char* v = value();
      const std::string m = v ? v : "";
      if (m == "none") opt.durability = fa::Durability::none;
      else if (m == "group_commit") opt.durability = fa::Durability::group_commit;
      else if (m == "always") opt.durability = fa::Durability::always;
      else return usage_error("--durability must be none, group_commit or always", kAppendHelp);
    } else if (a == "--max-segment-bytes") {
      std::uint64_t n = 0;
      if (!parse_u64(value(), &n)) return usage_error("--max-segment-bytes needs a number", kAppendHelp);
      opt.max_segment_bytes = n;
    } else if (a == "--anchor-out") {
      if (!path(&anchor_out)) return usage_error("--anchor-out needs a value", kAppendHelp);
    } else if (a == "--signing-key") {
      if (!path(&signing_key)) return usage_error("--signing-key needs a file", kAppendHelp);
    } else if (a == "--signer-state") {
      if (!path(&signer_state)) return usage_error("--signer-state needs a file", kAppendHelp);
    } else if (a == "--signer-socket") {
      if (!path(&signer_socket)) return usage_error("--signer-socket needs a path", kAppendHelp);
    } else if (a == "--mac-key") {
      if (!path(&opt.mac_key_path)) return usage_error("--mac-key needs a file", kAppendHelp);
    } else if (a == "--anchor-file") {
      if (!path(&opt.checkpoint_anchor_path)) return usage_error("--anchor-file needs a file", kAppendHelp);
    } else if (a == "--checkpoint-records") {
      std::uint64_t n = 0;
      if (!parse_u64(value(), &n) || n == 0) return usage_error("--checkpoint-records needs a number > 0", kAppendHelp);
      opt.checkpoint_records = n;
    } else {
      return usage_error(fmt::format("unknown option {}", a), kAppendHelp);
    }
  }
  if (opt.dir.empty()) return usage_error("--dir is required", kAppendHelp);
  if (!signing_key.empty() && !signer_socket.empty())
    return usage_error("give either --signing-key or --signer-socket, not both", kAppendHelp);
  if (!signer_state.empty() && signing_key.empty())
    return usage_error("--signer-state goes with --signing-key", kAppendHelp);
  if (!opt.checkpoint_anchor_path.empty() && signing_key.empty() && signer_socket.empty())
    return usage_error("--anchor-file needs a signer: --signing-key or --signer-socket", kAppendHelp);

  if (!signing_key.empty()) {
    fa::Result<fa::note::SigningKey> key = fa::note::SigningKey::load(signing_key);
    if (!key) return fail("append", key.status().to_string());
    if (signer_state.empty()) {
      opt.signer = std::make_shared<fa::LocalSigner>(std::move(*key));
    } else {
      auto local = fa::LocalSigner::open(std::move(*key), signer_state);
      if (!local) return fail("append", local.status().to_string());
      opt.signer = std::move(local.value());
    }
  } else if (!signer_socket.empty()) {
    std::signal(SIGPIPE, SIG_IGN);  // a signer that goes away must be an error, not the end of this process
    auto remote = fa::RemoteSigner::connect(signer_socket);
    if (!remote) return fail("append", fmt::format("signer at {}: {}", signer_socket, remote.status().to_string()));
    opt.signer = std::move(remote.value());
  }
  bool seed_given = false;
  if (!opt.mac_key_path.empty()) {
    fa::Result<fa::mac::KeyFileKind> kind = fa::mac::detect_key_file(opt.mac_key_path);
    if (!kind) return fail("append", kind.status().to_string());
    seed_given = *kind == fa::mac::KeyFileKind::seed;
  }
  // Warnings from the writer thread: a checkpoint that could not be signed or appended to the anchor file, a
  // write error being retried. Logging goes on; flush() and close() report what could not be written.
  opt.on_error = [](const fa::Status& s) {
    if (s) fmt::print(stderr, "fooocus-audit append: recovered\n");
    else fmt::print(stderr, "fooocus-audit append: warning: {}\n", s.to_string());
  };

  auto logger = fa::AuditLogger::open(opt);
  if (!logger) {
    fmt::print(stderr, "fooocus-audit append: {}\n", logger.status().to_string());
    return kUsage;
  }
  if (seed_given)
    fmt::print(stderr, "fooocus-audit append: {} now holds the writer's MAC state; the seed exists only in the "
                       "auditor's copy\n",
               opt.mac_key_path);
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
  fa::Status c = (*logger)->close();
  // After close(): the head includes what close() wrote itself (a final checkpoint, an epoch end).
  const fa::Anchor head = (*logger)->head();
  const fa::LoggerStats stats = (*logger)->stats();
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
  if (opt.signer) {
    fmt::print(stderr, "checkpoints: {} signed by {}{}\n", stats.checkpoints, opt.signer->verifier_key().text(),
               opt.checkpoint_anchor_path.empty() ? "" : ", appended to " + opt.checkpoint_anchor_path);
    if (stats.checkpoints_unsigned > 0)
      fmt::print(stderr, "fooocus-audit append: warning: {} checkpoint(s) written UNSIGNED (the signer failed, see "
                         "above); the records after the last signed checkpoint are protected by the chain{} only\n",
                 stats.checkpoints_unsigned, opt.mac_key_path.empty() ? "" : " and MACs");
  }
  if (!opt.mac_key_path.empty()) fmt::print(stderr, "macs: epoch {}\n", stats.mac_epoch);
  return refused > 0 ? kFindings : kOk;
}

// ---------------------------------------------------------------------------------------------------------------
// verify

/// Loads --key files (trusted verifier keys).
bool load_keys(const std::vector<std::string>& paths, std::vector<fa::note::VerifierKey>* keys, const char* cmd) {
  for (const std::string& p : paths) {
    fa::Result<fa::note::VerifierKey> k = fa::note::load_verifier_key(p);
    if (!k) {
      fail(cmd, fmt::format("--key {}: {}", p, k.status().to_string()));
      return false;
    }
    keys->push_back(std::move(k.value()));
  }
  return true;
}

int cmd_verify(int argc, char** argv) {
  fa::VerifyOptions opt;
  std::string path, write_anchor;
  std::vector<std::string> key_files;
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
      auto set = fa::AnchorSet::load(v);
      if (!set) return fail("verify", set.status().to_string());
      // One head anchor is checked: the newest (highest seq) confirms everything the older ones do.
      for (const fa::Anchor& h : set->heads)
        if (!opt.anchor || h.seq >= opt.anchor->seq) opt.anchor = h;
      for (fa::CheckpointAnchor& c : set->checkpoints) opt.checkpoint_anchors.push_back(std::move(c));
    } else if (a == "--key") {
      const char* v = value();
      if (!v) return usage_error("--key needs a file", kVerifyHelp);
      key_files.emplace_back(v);
    } else if (a == "--mac-key") {
      const char* v = value();
      if (!v) return usage_error("--mac-key needs a file", kVerifyHelp);
      opt.mac_key_path = v;
    } else if (a == "--log-id") {
      const char* v = value();
      if (!v || !fa::record::valid_log_id(v)) return usage_error("--log-id needs 32 lowercase hex characters", kVerifyHelp);
      opt.expected_log_id = v;
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
  if (!load_keys(key_files, &opt.trusted_keys, "verify")) return kUsage;
  fa::ChainVerifier verifier(opt);
  fa::Result<fa::VerifySummary> r = path == "-" ? verifier.verify_fd(STDIN_FILENO) : verifier.verify_path(path);
  if (!r) {
    fmt::print(stderr, "fooocus-audit verify: {}\n", r.status().to_string());
    return kUsage;
  }
  const fa::VerifySummary& sum = r.value();
  if (!sum.mac_key_problem.empty())
    return fail("verify", fmt::format("--mac-key {}: the MAC key cannot be used: {}", opt.mac_key_path,
                                      sum.mac_key_problem));
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

// ---------------------------------------------------------------------------------------------------------------
// prove

/// OLD or NEW of --consistency: a tree size, "latest", or a file holding a note or a one-checkpoint anchor file.
fa::Result<std::string> resolve_checkpoint(const std::string& dir, const std::string& arg,
                                           const fa::ProveOptions& popt) {
  std::uint64_t size = 0;
  if (parse_u64(arg.c_str(), &size)) return fa::find_checkpoint(dir, size, popt);
  if (arg == "latest") return fa::find_checkpoint(dir, std::nullopt, popt);
  fa::Result<std::string> text = fa::detail::read_file(arg);
  if (!text) return text.status();
  if (!text->empty() && text->front() == '{') {
    fa::Result<fa::AnchorSet> set = fa::AnchorSet::parse(text.value());
    if (!set) return fa::Status(set.status().code(), fmt::format("{}: {}", arg, set.status().message()));
    if (set->checkpoints.size() != 1)
      return fa::Status(fa::Code::invalid_argument,
                        fmt::format("{} holds {} checkpoints: give the tree size and --anchor {} instead", arg,
                                    set->checkpoints.size(), arg));
    return set->checkpoints.front().note;
  }
  return text;
}

int cmd_prove(int argc, char** argv) {
  std::string dir, out, old_arg, new_arg;
  std::optional<std::uint64_t> seq;
  fa::ProveOptions popt;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "-h" || a == "--help") {
      fmt::print("{}", kProveHelp);
      return kOk;
    } else if (a == "--dir") {
      const char* v = value();
      if (!v) return usage_error("--dir needs a directory", kProveHelp);
      dir = v;
    } else if (a == "--seq") {
      std::uint64_t n = 0;
      if (!parse_u64(value(), &n)) return usage_error("--seq needs a number", kProveHelp);
      seq = n;
    } else if (a == "--consistency") {
      const char* o = value();
      const char* n = value();
      if (!o || !n) return usage_error("--consistency needs OLD and NEW", kProveHelp);
      old_arg = o;
      new_arg = n;
    } else if (a == "--out") {
      const char* v = value();
      if (!v) return usage_error("--out needs a file", kProveHelp);
      out = v;
    } else if (a == "--anchor") {
      const char* v = value();
      if (!v) return usage_error("--anchor needs a file", kProveHelp);
      popt.anchor_file = v;
    } else if (a == "--newest") {
      popt.newest = true;
    } else {
      return usage_error(fmt::format("unknown option {}", a), kProveHelp);
    }
  }
  if (dir.empty()) return usage_error("--dir is required", kProveHelp);
  if (out.empty()) return usage_error("--out is required", kProveHelp);
  if (seq.has_value() == !old_arg.empty())
    return usage_error("give either --seq N or --consistency OLD NEW", kProveHelp);

  fa::Result<std::string> bundle = fa::Status(fa::Code::internal, "no bundle");
  if (seq) {
    bundle = fa::make_inclusion_bundle(dir, *seq, popt);
  } else {
    fa::Result<std::string> old_note = resolve_checkpoint(dir, old_arg, popt);
    if (!old_note) return fail("prove", fmt::format("OLD {}: {}", old_arg, old_note.status().to_string()));
    fa::Result<std::string> new_note = resolve_checkpoint(dir, new_arg, popt);
    if (!new_note) return fail("prove", fmt::format("NEW {}: {}", new_arg, new_note.status().to_string()));
    bundle = fa::make_consistency_bundle(dir, old_note.value(), new_note.value());
  }
  if (!bundle) return fail("prove", bundle.status().to_string());
  if (fa::Status s = write_output(out, bundle.value() + "\n"); !s) return fail("prove", s.to_string());
  // Describe what was written (the bundle was already checked by the library).
  fa::Result<fa::BundleCheck> c = fa::check_bundle(bundle.value(), {});
  if (c && seq)
    fmt::print(stderr, "wrote the inclusion proof of record {} in the checkpoint of size {} ({}) to {}\n", c->seq,
               c->tree_size, c->origin, out);
  else if (c)
    fmt::print(stderr, "wrote the consistency proof from tree size {} to {} ({}) to {}\n", c->old_size, c->tree_size,
               c->origin, out);
  return kOk;
}

// ---------------------------------------------------------------------------------------------------------------
// check-proof

int cmd_check_proof(int argc, char** argv) {
  std::string file, mac_key;
  std::vector<std::string> key_files;
  bool json = false, no_signatures = false;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "-h" || a == "--help") {
      fmt::print("{}", kCheckProofHelp);
      return kOk;
    } else if (a == "--key") {
      const char* v = value();
      if (!v) return usage_error("--key needs a file", kCheckProofHelp);
      key_files.emplace_back(v);
    } else if (a == "--mac-key") {
      const char* v = value();
      if (!v) return usage_error("--mac-key needs a file", kCheckProofHelp);
      mac_key = v;
    } else if (a == "--no-signature-check") {
      no_signatures = true;
    } else if (a == "--json") {
      json = true;
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      return usage_error(fmt::format("unknown option {}", a), kCheckProofHelp);
    } else if (file.empty()) {
      file = a;
    } else {
      return usage_error("only one FILE may be given", kCheckProofHelp);
    }
  }
  if (file.empty()) return usage_error("FILE is required", kCheckProofHelp);
  if (key_files.empty() && !no_signatures)
    return usage_error("--key FILE is required: a bundle proves nothing without a trusted key "
                       "(--no-signature-check checks the rest)",
                       kCheckProofHelp);
  if (!key_files.empty() && no_signatures)
    return usage_error("--key and --no-signature-check exclude each other", kCheckProofHelp);
  std::vector<fa::note::VerifierKey> keys;
  if (!load_keys(key_files, &keys, "check-proof")) return kUsage;
  fa::Result<std::string> text = read_input(file, fa::kMaxBundleBytes + 1);
  if (!text) return fail("check-proof", text.status().to_string());
  fa::Result<fa::BundleCheck> r = fa::check_bundle(text.value(), keys, mac_key);
  if (!r) return fail("check-proof", r.status().to_string());
  const fa::BundleCheck& c = r.value();
  if (json) {
    const nlohmann::json j = {{"ok", c.ok},
                              {"kind", c.kind},
                              {"reason", c.reason},
                              {"detail", c.detail},
                              {"seq", c.seq},
                              {"log_id", c.log_id},
                              {"origin", c.origin},
                              {"tree_size", c.tree_size},
                              {"old_size", c.old_size},
                              {"checked", c.checked},
                              {"not_checked", c.not_checked},
                              {"signed_by", c.signed_by}};
    fmt::print("{}\n", j.dump(2));
  } else {
    if (c.ok && c.kind == "inclusion")
      fmt::print("VALID: record {} of log {} is in the checkpoint of size {}\n", c.seq, c.log_id, c.tree_size);
    else if (c.ok)
      fmt::print("VALID: the checkpoint of size {} extends the one of size {} (log {})\n", c.tree_size, c.old_size,
                 c.log_id);
    else
      fmt::print("INVALID: {}: {}\n", c.reason, c.detail);
    for (const std::string& s : c.checked) fmt::print("  checked      {}\n", s);
    for (const std::string& s : c.not_checked) fmt::print("  NOT CHECKED  {}\n", s);
  }
  return c.ok ? kOk : kFindings;
}

// ---------------------------------------------------------------------------------------------------------------
// sign-server

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");

extern "C" void on_stop_signal(int) { g_stop.store(true); }

int cmd_sign_server(int argc, char** argv) {
  std::string key_path, socket, state;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "-h" || a == "--help") {
      fmt::print("{}", kSignServerHelp);
      return kOk;
    } else if (a == "--key") {
      const char* v = value();
      if (!v) return usage_error("--key needs a file", kSignServerHelp);
      key_path = v;
    } else if (a == "--socket") {
      const char* v = value();
      if (!v) return usage_error("--socket needs a path", kSignServerHelp);
      socket = v;
    } else if (a == "--state") {
      const char* v = value();
      if (!v) return usage_error("--state needs a file", kSignServerHelp);
      state = v;
    } else {
      return usage_error(fmt::format("unknown option {}", a), kSignServerHelp);
    }
  }
  if (key_path.empty() || socket.empty() || state.empty())
    return usage_error("--key, --socket and --state are required", kSignServerHelp);

  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a writer that disconnects mid-reply must not end the server

  fa::Result<fa::note::SigningKey> key = fa::note::SigningKey::load(key_path);
  if (!key) return fail("sign-server", key.status().to_string());
  fa::Result<fa::SignServer> server = fa::SignServer::create(std::move(*key), state, socket);
  if (!server) return fail("sign-server", server.status().to_string());
  fmt::print(stderr, "fooocus-audit sign-server: listening on {} as {}; stop with SIGTERM or SIGINT\n", socket,
             server->verifier_key().text());
  std::fflush(stderr);
  fa::Status s = server->serve(g_stop);
  if (!s) return fail("sign-server", s.to_string());
  fmt::print(stderr, "fooocus-audit sign-server: stopped\n");
  return kOk;
}

// ---------------------------------------------------------------------------------------------------------------
// model

constexpr const char* kModelHelp = R"(usage: fooocus-audit model <action> --dir DIR [options]

Keeps the model registry (which model files may run) in the audit log in DIR: every change is a
model.* or lora.* event, and the registry is rebuilt from the log, which must verify. The command
opens the log as its writer, so it fails with 'locked' while another writer (the Fooocus service,
an 'append') holds the log.

actions:
  register --id ID --version V --file PATH --source S --approved-by WHO [--kind K]
           hash the file (SHA-256, streaming), register it and approve it
             --kind K              base | refiner | lora | vae | other (default: base)
             --sha256 HEX          the published checksum: the file must have it
             --registered-by WHO   who registers it (default: the approver)
             --pending             register only, approve later with 'model approve'
                                   (instead of --approved-by: two people, two steps)
             --trained-by WHO --dataset-id D [--parameters JSON]
                                   LoRAs: the training record, required before approval
  approve | deprecate | revoke --id ID --version V --by WHO [--reason TEXT]
           pending -> approved -> deprecated -> revoked (revoke from any earlier state)
  verify   --id ID [--version V] [--file PATH]
           has the file changed since registration? Without --version: every version of ID
           registered with a path, revoked ones excepted
  list     [--json]
           every version: state, hash, who approved it

common options:
  --dir DIR        the log directory (required; register creates it if missing)
  --mac-key FILE   the writer's MAC state file, for a log with MACs
  -h, --help       this help

exit status: 0 done (verify: every file unchanged), 1 verify: a file changed or is missing,
             2 usage or I/O error, a change the registry refuses, a log that does not verify,
             or the log is locked by another writer.
)";

struct ModelArgs {
  std::string action, dir, id, version, file, source, approved_by, registered_by,
      kind = "base", sha256, by, reason, trained_by, dataset_id, parameters, mac_key;
  bool pending = false, json = false;
};

/// Prints the model versions as an aligned table.
void print_model_table(const std::vector<fa::ModelVersion>& models) {
  std::vector<std::vector<std::string>> rows = {
      {"MODEL", "VERSION", "KIND", "STATE", "SHA256", "BY", "AT", "SOURCE"}};
  for (const fa::ModelVersion& m : models) {
    // The actor and time of the newest change, else of the registration.
    const std::string by = m.transitions.empty() ? m.registered_by : m.transitions.back().actor;
    const std::string at = m.transitions.empty() ? m.registered_at : m.transitions.back().at;
    rows.push_back({m.model_id, m.version, std::string(fa::model_kind_name(m.kind)),
                    std::string(fa::model_state_name(m.state)), m.sha256.substr(0, 7 + 16), by,
                    at.substr(0, 19), m.source});
  }
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i)
      line += i + 1 < r.size() ? fmt::format("{:<{}}  ", r[i], width[i]) : r[i];
    fmt::print("{}\n", line);
  }
}

int model_verify(fa::ModelVersionRegistry& reg, const ModelArgs& a) {
  std::vector<fa::ModelVersion> targets;
  for (const fa::ModelVersion& m : reg.list()) {
    if (m.model_id != a.id || (!a.version.empty() && m.version != a.version)) continue;
    if (a.version.empty() && (m.state == fa::ModelState::revoked || (m.path.empty() && a.file.empty())))
      continue;
    targets.push_back(m);
  }
  if (targets.empty())
    return fail("model verify",
                a.version.empty()
                    ? fmt::format("model {} has no registered version with a file to check", a.id)
                    : fmt::format("model {} version {} is not registered", a.id, a.version));
  bool changed = false;
  for (const fa::ModelVersion& m : targets) {
    fa::Result<fa::FileCheck> c = reg.verify_file(m.model_id, m.version, a.file);
    if (!c) return fail("model verify", c.status().to_string());
    switch (c->outcome) {
      case fa::FileCheck::Outcome::unchanged:
        fmt::print("unchanged  {} {}  {}  {}\n", m.model_id, m.version, c->path, c->actual_sha256);
        break;
      case fa::FileCheck::Outcome::modified:
        changed = true;
        fmt::print("MODIFIED   {} {}  {}  registered {}, now {}\n", m.model_id, m.version, c->path,
                   c->expected_sha256,
                   c->actual_sha256.empty()
                       ? fmt::format("{} bytes instead of {}", c->actual_size, c->expected_size.value_or(0))
                       : c->actual_sha256);
        break;
      case fa::FileCheck::Outcome::missing:
        changed = true;
        fmt::print("MISSING    {} {}  {}\n", m.model_id, m.version, c->path);
        break;
    }
  }
  return changed ? kFindings : kOk;
}

int model_register(fa::ModelVersionRegistry& reg, const ModelArgs& a) {
  fa::ModelRegistration r;
  r.model_id = a.id;
  r.version = a.version;
  r.kind = *fa::parse_model_kind(a.kind);
  std::error_code ec;
  r.path =
      std::filesystem::absolute(a.file, ec).lexically_normal().string();  // verify works from any directory
  if (ec) r.path = a.file;
  r.sha256 = a.sha256;
  r.source = a.source;
  r.registered_by = a.registered_by.empty() ? a.approved_by : a.registered_by;
  fa::Result<fa::ModelVersion> m = reg.register_model(r);
  if (!m) return fail("model register", m.status().to_string());
  fmt::print("registered {} {} ({}) {} {} bytes\n", m->model_id, m->version, fa::model_kind_name(m->kind),
             m->sha256, m->size_bytes.value_or(0));
  if (!a.trained_by.empty()) {
    fa::LoraTraining t;
    t.lora_id = a.id;
    t.version = a.version;
    t.trained_by = a.trained_by;
    t.dataset_id = a.dataset_id;
    if (!a.parameters.empty()) t.parameters = nlohmann::json::parse(a.parameters);  // checked by the caller
    if (fa::Status s = reg.record_lora_training(t); !s)
      return fail(
          "model register",
          fmt::format("registered (pending), but the training record was refused: {}", s.to_string()));
    fmt::print("training recorded: trained by {} on dataset {}\n", a.trained_by, a.dataset_id);
  }
  if (!a.pending) {
    if (fa::Status s = reg.approve(a.id, a.version, a.approved_by, a.reason); !s)
      return fail("model register", fmt::format("registered (pending), but not approved: {}", s.to_string()));
    fmt::print("approved by {}\n", a.approved_by);
  }
  return kOk;
}

int cmd_model(int argc, char** argv) {
  if (argc < 1) return usage_error("model: an action is required", kModelHelp);
  ModelArgs a;
  a.action = argv[0];
  if (a.action == "-h" || a.action == "--help") {
    fmt::print("{}", kModelHelp);
    return kOk;
  }
  static const std::vector<std::string> kActions = {"register", "approve", "deprecate",
                                                    "revoke",   "verify",  "list"};
  if (std::find(kActions.begin(), kActions.end(), a.action) == kActions.end())
    return usage_error(fmt::format("model: unknown action '{}'", a.action), kModelHelp);
  const std::vector<std::pair<const char*, std::string*>> valued = {{"--dir", &a.dir},
                                                                    {"--id", &a.id},
                                                                    {"--version", &a.version},
                                                                    {"--file", &a.file},
                                                                    {"--source", &a.source},
                                                                    {"--approved-by", &a.approved_by},
                                                                    {"--registered-by", &a.registered_by},
                                                                    {"--kind", &a.kind},
                                                                    {"--sha256", &a.sha256},
                                                                    {"--by", &a.by},
                                                                    {"--reason", &a.reason},
                                                                    {"--trained-by", &a.trained_by},
                                                                    {"--dataset-id", &a.dataset_id},
                                                                    {"--parameters", &a.parameters},
                                                                    {"--mac-key", &a.mac_key}};
  for (int i = 1; i < argc; ++i) {
    const std::string opt = argv[i];
    if (opt == "-h" || opt == "--help") {
      fmt::print("{}", kModelHelp);
      return kOk;
    }
    if (opt == "--pending") {
      a.pending = true;
      continue;
    }
    if (opt == "--json") {
      a.json = true;
      continue;
    }
    const auto it = std::find_if(valued.begin(), valued.end(), [&](const auto& v) { return opt == v.first; });
    if (it == valued.end())
      return usage_error(fmt::format("model {}: unknown option {}", a.action, opt), kModelHelp);
    if (i + 1 >= argc)
      return usage_error(fmt::format("model {}: {} needs a value", a.action, opt), kModelHelp);
    *it->second = argv[++i];
  }
  auto need = [&](std::initializer_list<std::pair<const char*, const std::string*>> required) -> std::string {
    for (const auto& [name, value] : required)
      if (value->empty()) return fmt::format("model {}: {} is required", a.action, name);
    return {};
  };
  std::string missing = need({{"--dir", &a.dir}});
  if (missing.empty() && a.action == "register") {
    missing =
        need({{"--id", &a.id}, {"--version", &a.version}, {"--file", &a.file}, {"--source", &a.source}});
    if (missing.empty() && a.pending == !a.approved_by.empty())
      missing = "model register: give --approved-by WHO, or --pending to approve later";
    if (missing.empty() && !fa::parse_model_kind(a.kind))
      missing = "model register: --kind must be base, refiner, lora, vae or other";
    if (missing.empty() && a.pending && a.registered_by.empty())
      missing = "model register: --pending needs --registered-by WHO";
    if (missing.empty() && a.trained_by.empty() != a.dataset_id.empty())
      missing = "model register: --trained-by and --dataset-id go together";
    if (missing.empty() && a.kind == "lora" && !a.pending && a.trained_by.empty())
      missing =
          "model register: a LoRA is approved only with its training record: give --trained-by and "
          "--dataset-id (or --pending)";
    if (missing.empty() && !a.trained_by.empty() && a.kind != "lora")
      missing = "model register: --trained-by and --dataset-id are for --kind lora";
    if (missing.empty() && !a.parameters.empty()) {
      const nlohmann::json p = nlohmann::json::parse(a.parameters, nullptr, false);
      if (p.is_discarded() || !p.is_object()) missing = "model register: --parameters must be a JSON object";
    }
  } else if (missing.empty() && (a.action == "approve" || a.action == "deprecate" || a.action == "revoke")) {
    missing = need({{"--id", &a.id}, {"--version", &a.version}, {"--by", &a.by}});
  } else if (missing.empty() && a.action == "verify") {
    missing = need({{"--id", &a.id}});
  }
  if (!missing.empty()) return usage_error(missing, kModelHelp);

  const std::string cmd = "model " + a.action;
  if (a.action != "register") {
    struct stat st {};
    if (::stat(a.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return fail(cmd.c_str(), fmt::format("no log directory {}", a.dir));
  }
  fa::LoggerOptions opt;
  opt.dir = a.dir;
  opt.durability = fa::Durability::always;
  opt.mac_key_path = a.mac_key;
  auto logger = fa::AuditLogger::open(opt);
  if (!logger) {
    if (logger.status().code() == fa::Code::locked)
      return fail(
          cmd.c_str(),
          fmt::format("locked: another writer (the Fooocus service, an 'append') holds the log in {}; the "
                      "model commands write to the log, so stop that writer or use the registry through it",
                      a.dir));
    return fail(cmd.c_str(), logger.status().to_string());
  }
  int rc = kOk;
  {
    fa::Result<fa::ModelVersionRegistry> reg = fa::ModelVersionRegistry::open(**logger);
    if (!reg) {
      rc = fail(cmd.c_str(), reg.status().to_string());
    } else {
      for (const fa::ReplayNote& n : reg->replay_notes())
        fmt::print(stderr, "fooocus-audit {}: note: record {} ({}) not applied: {}\n", cmd, n.seq,
                   n.event_type, n.detail);
      if (a.action == "register") {
        rc = model_register(*reg, a);
      } else if (a.action == "verify") {
        rc = model_verify(*reg, a);
      } else if (a.action == "list") {
        const std::vector<fa::ModelVersion> models = reg->list();
        if (a.json) {
          nlohmann::json out = nlohmann::json::array();
          for (const fa::ModelVersion& m : models) out.push_back(fa::model_version_json(m));
          fmt::print("{}\n", out.dump(2));
        } else {
          print_model_table(models);
        }
      } else {
        fa::Status s = a.action == "approve"     ? reg->approve(a.id, a.version, a.by, a.reason)
                       : a.action == "deprecate" ? reg->deprecate(a.id, a.version, a.by, a.reason)
                                                 : reg->revoke(a.id, a.version, a.by, a.reason);
        if (!s)
          rc = fail(cmd.c_str(), s.to_string());
        else
          fmt::print("{} {}: {} by {}\n", a.id, a.version,
                     a.action == "approve"     ? "approved"
                     : a.action == "deprecate" ? "deprecated"
                                               : "revoked",
                     a.by);
      }
    }
  }
  fa::Status s = (*logger)->flush();
  fa::Status c = (*logger)->close();
  if (!s || !c) return fail(cmd.c_str(), (!s ? s : c).to_string());
  return rc;
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
    if (cmd == "keygen") return cmd_keygen(argc - 2, argv + 2);
    if (cmd == "prove") return cmd_prove(argc - 2, argv + 2);
    if (cmd == "check-proof") return cmd_check_proof(argc - 2, argv + 2);
    if (cmd == "sign-server") return cmd_sign_server(argc - 2, argv + 2);
    if (cmd == "model") return cmd_model(argc - 2, argv + 2);
    if (cmd == "monitor") return cmd_monitor(argc - 2, argv + 2);
    if (cmd == "report") return cmd_report(argc - 2, argv + 2);
    if (cmd == "sanitize") return cmd_sanitize(argc - 2, argv + 2);
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
