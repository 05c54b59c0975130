// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file compliance_report.hpp
/// ComplianceReportGenerator: the evidence an auditor asks for (the seed article's §7), computed from a log
/// while ChainVerifier verifies it, in one streaming pass. Access review, generation summary per user, model
/// usage (model_version x LoRA) and the monthly audit report (§7.3), as JSON (schema
/// "fooocus-audit.report/1"), Markdown or a self-contained HTML page with inline SVG charts.
/// docs/reports.md defines every figure, the period and tenant filters and the JSON schema member by member.
///
/// A report over a log that fails verification says so on its first line, in every format, and names the
/// broken ranges: evidence from a tampered log is never presented as clean.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fooocus_audit/chain_verifier.hpp"
#include "fooocus_audit/common.hpp"

namespace fooocus_audit {

/// The JSON schema identifier written as the report's `schema` member.
inline constexpr std::string_view kReportSchema = "fooocus-audit.report/1";

/// Which sections a rendered report holds (docs/reports.md §2). Every kind is computed in the same pass.
enum class ReportKind { monthly, access, generations, models };
enum class ReportFormat { json, markdown, html };

std::string_view report_kind_name(ReportKind k) noexcept;
/// "monthly", "access", "generations", "models"; nullopt otherwise.
std::optional<ReportKind> parse_report_kind(std::string_view s) noexcept;
/// "json", "md" (or "markdown"), "html"; nullopt otherwise.
std::optional<ReportFormat> parse_report_format(std::string_view s) noexcept;

/// A period bound: "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z" (UTC only), as microseconds
/// since the Unix epoch. invalid_argument otherwise.
Result<std::int64_t> parse_report_time(std::string_view text);
/// "YYYY-MM" -> [first day of the month, first day of the next month), in microseconds. invalid_argument otherwise.
Status month_period(std::string_view yyyy_mm, std::int64_t* from_micros, std::int64_t* to_micros);

struct ReportOptions {
  /// The period, on the records' sealed `ts`, half-open: from <= ts < to. Unset: unbounded on that side.
  std::optional<std::int64_t> from_micros;
  std::optional<std::int64_t> to_micros;
  /// Non-empty: only events whose top-level `tenant_id` equals it (events without one are excluded).
  std::string tenant;
  /// Passed to ChainVerifier (anchor, trusted keys, MAC key, threads, ...). on_record is the generator's own.
  VerifyOptions verify;
  /// Lists of individual changes (permission, configuration, model changes) keep at most this many entries
  /// each (the totals count all of them), so that memory does not grow with the number of events.
  std::size_t max_list_entries = 1000;
  /// The `generated_at` text of the report (any string; tests fix it). Empty: the current UTC time.
  std::string generated_at;
};

/// A computed report: the verifier's summary and every figure, in the documented JSON schema.
struct ComplianceReport {
  VerifySummary verification;
  bool verified = false;         ///< verification.intact: the report's figures come from an intact log
  std::string banner;            ///< the first line of every rendering ("VERIFIED: ..." / "NOT VERIFIED: ...")
  nlohmann::ordered_json data;   ///< the full report (schema fooocus-audit.report/1, all sections)
};

/// Streaming report builder. Memory grows with the number of distinct users, API keys, models, LoRAs, rules
/// and days (and the capped change lists), never with the number of events. Not thread-safe; single use.
class ComplianceReportGenerator {
 public:
  explicit ComplianceReportGenerator(ReportOptions options = {});
  ~ComplianceReportGenerator();
  ComplianceReportGenerator(const ComplianceReportGenerator&) = delete;
  ComplianceReportGenerator& operator=(const ComplianceReportGenerator&) = delete;

  /// Verifies the log directory (or one segment file) and computes the report in the same pass. Errors (not
  /// findings): those of ChainVerifier::verify_path (not_found, io_error, ...). A log that fails verification is
  /// not an error: the report is returned with verified == false and the banner naming the broken ranges.
  Result<ComplianceReport> generate(const std::string& log_path);

  /// The streaming interface behind generate(): hand every record from VerifyOptions::on_record to add(), then
  /// finish() with the verifier's summary.
  void add(const VerifiedRecord& record);
  ComplianceReport finish(const VerifySummary& verification);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Renders a report. JSON: the sections of `kind` (docs/reports.md §3), its first line holds the banner.
/// Markdown: the banner is its first line. HTML: one self-contained page (inline CSS and SVG, no scripts, no
/// external resources) whose first line holds the banner in its <title>; every string from the log is escaped.
std::string render_report(const ComplianceReport& report, ReportKind kind, ReportFormat format);

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/compliance_report-inl.hpp"
#endif
