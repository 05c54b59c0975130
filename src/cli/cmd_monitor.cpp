// SPDX-License-Identifier: Apache-2.0
// fooocus-audit monitor: replays a log against monitoring rules (docs/monitoring.md) and compares the alerts
// with the alert.raised records the writer sealed.

#include <string>
#include <string_view>
#include <vector>

#include "cli_common.hpp"
#include "commands.hpp"

namespace fa_cli {

namespace {

constexpr const char* kMonitorHelp = R"(usage: fooocus-audit monitor PATH [options]

Replays a log (a directory or one segment file) against monitoring rules, verifying it as it
reads, and prints the alerts the rules raise. Each is compared with the alert.raised records the
writer sealed live: 'logged' (the log holds the same alert), 'MISSING' (the log does not: an alert
was suppressed, the log was written without this monitor, or with other rules), and 'UNEXPECTED'
(an alert.raised record for one of these rules that the replay does not raise). The state restarts
at each log.opened record, as the live monitor does. docs/monitoring.md has the rule format.

options:
  --rules FILE     rules file (default: the built-in rules of share/monitoring/default-rules.json)
  --json           one JSON object per line: alerts, unexpected records, then a summary
  --mismatch-only  exit 1 only for a mismatch or a damaged log, not for alerts that match
  --key FILE       a trusted verifier key (checks checkpoint signatures); repeatable
  --mac-key FILE   the auditor's MAC seed (checks every record's MAC)
  --anchor FILE    an anchor file (detects truncation and rewriting of the tail); repeatable
  -h, --help       this help

exit status: 0 the log is intact, the replay raised no alert and no logged alert is unexplained
             (with --mismatch-only: alerts are allowed if each is logged and every logged one is raised);
             1 alerts raised, missing or unexpected alerts, or the log is not intact (findings reported);
             2 usage or I/O error, a rules file or key that cannot be used.
)";

/// A value from the log on one line of text output: control characters (a newline in a user_id would start a
/// forged "ALERT ... (logged)" line) and backslashes as \xNN.
std::string printable(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f || c == '\\') out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
    else out += ch;
  }
  return out;
}

std::string group_text(const fa::Alert& a) {
  std::string out;
  if (!a.tenant_id.empty()) out += fmt::format(" tenant_id={}", printable(a.tenant_id));
  for (const auto& [k, v] : a.group) out += fmt::format(" {}={}", k, printable(v));
  if (!a.new_value.empty()) out += fmt::format(" new {}={}", a.value_field, printable(a.new_value));
  return out;
}

}  // namespace

int cmd_monitor(int argc, char** argv) {
  fa::VerifyOptions opt;
  std::string path, rules_path;
  bool json = false, mismatch_only = false;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "-h" || a == "--help") {
      fmt::print("{}", kMonitorHelp);
      return kOk;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--mismatch-only") {
      mismatch_only = true;
    } else if (a == "--rules") {
      const char* v = value();
      if (!v) return usage_error("--rules needs a file", kMonitorHelp);
      rules_path = v;
    } else if (a == "--key") {
      const char* v = value();
      if (!v) return usage_error("--key needs a file", kMonitorHelp);
      fa::Result<fa::note::VerifierKey> k = fa::note::load_verifier_key(v);
      if (!k) return fail("monitor", fmt::format("--key {}: {}", v, k.status().to_string()));
      opt.trusted_keys.push_back(std::move(k.value()));
    } else if (a == "--mac-key") {
      const char* v = value();
      if (!v) return usage_error("--mac-key needs a file", kMonitorHelp);
      opt.mac_key_path = v;
    } else if (a == "--anchor") {
      const char* v = value();
      if (!v) return usage_error("--anchor needs a file", kMonitorHelp);
      auto set = fa::AnchorSet::load(v);
      if (!set) return fail("monitor", set.status().to_string());
      for (const fa::Anchor& h : set->heads)
        if (!opt.anchor || h.seq >= opt.anchor->seq) opt.anchor = h;
      for (fa::CheckpointAnchor& c : set->checkpoints) opt.checkpoint_anchors.push_back(std::move(c));
    } else if (!a.empty() && a[0] == '-') {
      return usage_error(fmt::format("unknown option {}", a), kMonitorHelp);
    } else if (path.empty()) {
      path = a;
    } else {
      return usage_error("only one PATH may be given", kMonitorHelp);
    }
  }
  if (path.empty()) return usage_error("PATH is required", kMonitorHelp);

  std::vector<fa::MonitorRule> rules = fa::Monitor::default_rules();
  if (!rules_path.empty()) {
    fa::Result<std::vector<fa::MonitorRule>> r = fa::Monitor::load_rules(rules_path);
    if (!r) return fail("monitor", r.status().to_string());
    rules = std::move(r.value());
  }
  fa::Result<std::shared_ptr<fa::Monitor>> monitor = fa::Monitor::create(std::move(rules));
  if (!monitor) return fail("monitor", monitor.status().to_string());
  fa::Result<fa::MonitorReplay> replay = monitor.value()->replay(path, opt);
  if (!replay) return fail("monitor", replay.status().to_string());
  const fa::MonitorReplay& r = replay.value();
  if (!r.summary.mac_key_problem.empty())
    return fail("monitor", fmt::format("--mac-key {}: the MAC key cannot be used: {}", opt.mac_key_path,
                                       r.summary.mac_key_problem));

  std::vector<bool> missing(r.alerts.size(), false);
  for (std::size_t i : r.missing) missing[i] = true;
  std::string out;
  if (json) {
    for (std::size_t i = 0; i < r.alerts.size(); ++i) {
      const fa::Alert& a = r.alerts[i];
      nlohmann::json line = {{"type", "alert"},
                             {"status", missing[i] ? "missing" : "logged"},
                             {"ts", fa::record::format_timestamp(a.ts_micros)},
                             {"alert", a.to_json()}};
      out += fa::jcs::serialize(line) + "\n";
    }
    for (std::size_t i : r.unexpected) {
      nlohmann::json line = {{"type", "unexpected"}, {"seq", r.logged[i].seq}, {"alert", r.logged[i].event}};
      out += fa::jcs::serialize(line) + "\n";
    }
    nlohmann::json sum = {{"type", "summary"},
                          {"intact", r.summary.intact},
                          {"records", r.summary.records},
                          {"findings", r.summary.findings_total},
                          {"rules", monitor.value()->rules().size()},
                          {"events_evaluated", r.events},
                          {"sessions", r.sessions},
                          {"alerts", r.alerts.size()},
                          {"matched", r.matched},
                          {"missing", r.missing.size()},
                          {"unexpected", r.unexpected.size()},
                          {"other_logged", r.other_logged}};
    out += fa::jcs::serialize(sum) + "\n";
  } else {
    if (!r.summary.intact)
      out += fmt::format("LOG NOT INTACT: {} finding(s); run 'fooocus-audit verify {}'. Alerts from a damaged "
                         "log are not evidence.\n",
                         r.summary.findings_total, path);
    out += fmt::format("log: {} records, {} writer session(s); rules: {} ({}); events evaluated: {}\n",
                       r.summary.records, r.sessions, monitor.value()->rules().size(),
                       rules_path.empty() ? "defaults" : rules_path, r.events);
    for (std::size_t i = 0; i < r.alerts.size(); ++i) {
      const fa::Alert& a = r.alerts[i];
      out += fmt::format("ALERT {} seq {} {} [{}]{}: {} ({})\n", fa::record::format_timestamp(a.ts_micros),
                         a.last_seq, a.rule, fa::events::to_string(a.severity), group_text(a), a.message,
                         missing[i] ? "MISSING from the log" : "logged");
    }
    for (std::size_t i : r.unexpected) {
      const nlohmann::json& e = r.logged[i].event;
      out += fmt::format("UNEXPECTED seq {} alert.raised rule {}: the replay does not raise it\n", r.logged[i].seq,
                         e.value("rule", std::string()));
    }
    out += fmt::format("alerts: {} raised by the replay, {} logged, {} missing, {} unexpected", r.alerts.size(),
                       r.matched, r.missing.size(), r.unexpected.size());
    if (r.other_logged > 0) out += fmt::format(" ({} alert.raised records of other rules not compared)", r.other_logged);
    out += "\n";
  }
  if (fa::Status s = fa::detail::write_all(STDOUT_FILENO, out.data(), out.size(), "standard output"); !s)
    return fail("monitor", s.to_string());
  const bool mismatch = !r.consistent();
  if (!r.summary.intact || mismatch) return kFindings;
  if (!mismatch_only && !r.alerts.empty()) return kFindings;
  return kOk;
}

}  // namespace fa_cli
