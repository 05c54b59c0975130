// SPDX-License-Identifier: Apache-2.0
// fooocus-audit report: a compliance report (docs/reports.md) over a log, verified as it is read.

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "cli_common.hpp"
#include "commands.hpp"

namespace fa_cli {

namespace {

constexpr const char* kReportHelp = R"(usage: fooocus-audit report DIR [options]

Verifies a log (a directory or one segment file) and writes a compliance report over it in the same
pass (docs/reports.md). A log that fails verification still gets its report, whose FIRST line says
NOT VERIFIED and names the broken ranges; the exit status is then 1.

options:
  --kind K        monthly (default: the seed article's monthly audit report), access (access review),
                  generations (generation summary per user), models (model_version x LoRA usage)
  --format F      json (default), md, html (one self-contained page with inline SVG charts)
  --from T        period start, inclusive: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.ffffff]Z (UTC)
  --to T          period end, EXCLUSIVE (same forms); the period is from <= record ts < to
  --month YYYY-MM the calendar month (UTC); instead of --from/--to
  --tenant ID     only events whose tenant_id is ID (events without tenant_id are excluded)
  --out FILE      write the report to FILE (mode 0600) instead of standard output
  --key FILE      a trusted verifier key (checks checkpoint signatures); repeatable
  --mac-key FILE  the auditor's MAC seed (checks every record's MAC)
  --anchor FILE   an anchor file (detects truncation and rewriting of the tail); repeatable
  -h, --help      this help

exit status: 0 the report was written and the log is intact;
             1 the report was written but the log failed verification (its first line says so);
             2 usage or I/O error (no report written), a key that cannot be used.
)";

}  // namespace

int cmd_report(int argc, char** argv) {
  fa::ReportOptions opt;
  std::string path, out = "-", month;
  std::optional<std::string> from, to;
  fa::ReportKind kind = fa::ReportKind::monthly;
  fa::ReportFormat format = fa::ReportFormat::json;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "-h" || a == "--help") {
      fmt::print("{}", kReportHelp);
      return kOk;
    } else if (a == "--kind") {
      const char* v = value();
      const auto k = v ? fa::parse_report_kind(v) : std::nullopt;
      if (!k) return usage_error("--kind needs monthly, access, generations or models", kReportHelp);
      kind = *k;
    } else if (a == "--format") {
      const char* v = value();
      const auto f = v ? fa::parse_report_format(v) : std::nullopt;
      if (!f) return usage_error("--format needs json, md or html", kReportHelp);
      format = *f;
    } else if (a == "--from" || a == "--to" || a == "--month" || a == "--tenant" || a == "--out") {
      const char* v = value();
      if (!v || *v == '\0') return usage_error(a + " needs a value", kReportHelp);
      if (a == "--from") from = v;
      else if (a == "--to") to = v;
      else if (a == "--month") month = v;
      else if (a == "--tenant") opt.tenant = v;
      else out = v;
    } else if (a == "--key") {
      const char* v = value();
      if (!v) return usage_error("--key needs a file", kReportHelp);
      fa::Result<fa::note::VerifierKey> k = fa::note::load_verifier_key(v);
      if (!k) return fail("report", fmt::format("--key {}: {}", v, k.status().to_string()));
      opt.verify.trusted_keys.push_back(std::move(k.value()));
    } else if (a == "--mac-key") {
      const char* v = value();
      if (!v) return usage_error("--mac-key needs a file", kReportHelp);
      opt.verify.mac_key_path = v;
    } else if (a == "--anchor") {
      const char* v = value();
      if (!v) return usage_error("--anchor needs a file", kReportHelp);
      auto set = fa::AnchorSet::load(v);
      if (!set) return fail("report", set.status().to_string());
      for (const fa::Anchor& h : set->heads)
        if (!opt.verify.anchor || h.seq >= opt.verify.anchor->seq) opt.verify.anchor = h;
      for (fa::CheckpointAnchor& c : set->checkpoints) opt.verify.checkpoint_anchors.push_back(std::move(c));
    } else if (!a.empty() && a[0] == '-') {
      return usage_error(fmt::format("unknown option {}", a), kReportHelp);
    } else if (path.empty()) {
      path = a;
    } else {
      return usage_error("only one DIR may be given", kReportHelp);
    }
  }
  if (path.empty()) return usage_error("DIR is required", kReportHelp);
  if (!month.empty()) {
    if (from || to) return usage_error("--month cannot be combined with --from or --to", kReportHelp);
    std::int64_t f = 0, t = 0;
    if (fa::Status s = fa::month_period(month, &f, &t); !s) return usage_error("--month: " + s.message(), kReportHelp);
    opt.from_micros = f;
    opt.to_micros = t;
  }
  for (auto [text, dst, name] : {std::tuple{&from, &opt.from_micros, "--from"}, std::tuple{&to, &opt.to_micros, "--to"}}) {
    if (!*text) continue;
    fa::Result<std::int64_t> t = fa::parse_report_time(**text);
    if (!t) return usage_error(fmt::format("{}: {}", name, t.status().message()), kReportHelp);
    *dst = t.value();
  }
  if (opt.from_micros && opt.to_micros && *opt.from_micros >= *opt.to_micros)
    return usage_error("the period is empty: --from must be before --to", kReportHelp);

  fa::ComplianceReportGenerator generator(opt);
  fa::Result<fa::ComplianceReport> r = generator.generate(path);
  if (!r) return fail("report", r.status().to_string());
  if (!r->verification.mac_key_problem.empty())
    return fail("report", fmt::format("--mac-key {}: the MAC key cannot be used: {}", opt.verify.mac_key_path,
                                      r->verification.mac_key_problem));
  if (fa::Status s = write_output(out, fa::render_report(r.value(), kind, format)); !s)
    return fail("report", s.to_string());
  if (out != "-")
    fmt::print(stderr, "fooocus-audit report: {} written to {}\n{}\n", fa::report_kind_name(kind), out, r->banner);
  return r->verified ? kOk : kFindings;
}

}  // namespace fa_cli
