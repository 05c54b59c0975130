// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/compliance_report.hpp"
#endif

#include "fooocus_audit/detail/utf8.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/record.hpp"

namespace fooocus_audit {

FA_INLINE std::string_view report_kind_name(ReportKind k) noexcept {
  switch (k) {
    case ReportKind::monthly: return "monthly";
    case ReportKind::access: return "access";
    case ReportKind::generations: return "generations";
    case ReportKind::models: return "models";
  }
  return "monthly";
}

FA_INLINE std::optional<ReportKind> parse_report_kind(std::string_view s) noexcept {
  if (s == "monthly") return ReportKind::monthly;
  if (s == "access") return ReportKind::access;
  if (s == "generations") return ReportKind::generations;
  if (s == "models") return ReportKind::models;
  return std::nullopt;
}

FA_INLINE std::optional<ReportFormat> parse_report_format(std::string_view s) noexcept {
  if (s == "json") return ReportFormat::json;
  if (s == "md" || s == "markdown") return ReportFormat::markdown;
  if (s == "html") return ReportFormat::html;
  return std::nullopt;
}

FA_INLINE Result<std::int64_t> parse_report_time(std::string_view text) {
  const Status bad(Code::invalid_argument,
                   "a time must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.ffffff]Z (UTC)");
  std::string full;
  if (text.size() == 10) {
    full = std::string(text) + "T00:00:00.000000Z";
  } else if (text.size() >= 20 && text.back() == 'Z' && text[10] == 'T') {
    std::string_view frac = text.substr(19, text.size() - 20);
    if (!frac.empty()) {
      if (frac[0] != '.' || frac.size() < 2 || frac.size() > 7) return bad;
      frac.remove_prefix(1);
    }
    full = std::string(text.substr(0, 19)) + "." + std::string(frac) + std::string(6 - frac.size(), '0') + "Z";
  } else {
    return bad;
  }
  std::int64_t micros = 0;
  if (full.size() != record::kTimestampChars || !record::parse_timestamp(full, &micros)) return bad;
  return micros;
}

FA_INLINE Status month_period(std::string_view m, std::int64_t* from, std::int64_t* to) {
  const Status bad(Code::invalid_argument, "a month must be YYYY-MM");
  if (m.size() != 7 || m[4] != '-') return bad;
  int y = 0, mo = 0;
  if (std::from_chars(m.data(), m.data() + 4, y).ptr != m.data() + 4 ||
      std::from_chars(m.data() + 5, m.data() + 7, mo).ptr != m.data() + 7 || mo < 1 || mo > 12)
    return bad;
  Result<std::int64_t> a = parse_report_time(fmt::format("{:04}-{:02}-01", y, mo));
  Result<std::int64_t> b = parse_report_time(mo == 12 ? fmt::format("{:04}-01-01", y + 1)
                                                      : fmt::format("{:04}-{:02}-01", y, mo + 1));
  if (!a || !b) return bad;
  *from = a.value();
  *to = b.value();
  return Status::OK();
}

namespace report_impl {

using ojson = nlohmann::ordered_json;

// ---- Reading members of a canonical event without building a tree ----

inline constexpr std::size_t kMaxMembers = 64;

struct Fields {
  std::array<jcs::Member, kMaxMembers> m{};
  // An object with more members than kMaxMembers (members not listed are allowed, docs/events.md): all of them,
  // else the members sorting after the first 64 (tenant_id, user_id, result, ... after 64 padding members
  // named "a..") would read as absent and the event would vanish from its tenant's report.
  std::vector<jcs::Member> more;
  const jcs::Member* data = m.data();
  std::size_t n = 0;
  bool scan(std::string_view object) {
    jcs::ScanResult r = jcs::scan_object(object, m.data(), m.size());
    data = m.data();
    if (r && r.total_members > m.size()) {
      more.resize(r.total_members);
      r = jcs::scan_object(object, more.data(), more.size());
      data = more.data();
    }
    n = r.members;
    return static_cast<bool>(r);
  }
  /// Raw JSON value of a top-level member; empty when absent (member names in our events need no escapes).
  std::string_view get(std::string_view key) const {
    for (std::size_t i = 0; i < n; ++i)
      if (data[i].key == key) return data[i].value;
    return {};
  }
};

inline bool is_string(std::string_view raw) { return raw.size() >= 2 && raw.front() == '"'; }

/// The text of a JSON string value; nullopt when raw is absent or not a string.
inline std::optional<std::string> text(std::string_view raw) {
  if (!is_string(raw)) return std::nullopt;
  const std::string_view inner = raw.substr(1, raw.size() - 2);
  if (inner.find('\\') == std::string_view::npos) return std::string(inner);
  const nlohmann::json j = nlohmann::json::parse(raw, nullptr, false);
  if (!j.is_string()) return std::nullopt;
  return j.get<std::string>();
}

inline std::optional<std::int64_t> integer(std::string_view raw) {
  if (raw.empty()) return std::nullopt;
  std::int64_t v = 0;
  const auto r = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (r.ec == std::errc() && r.ptr == raw.data() + raw.size()) return v;
  return std::nullopt;
}

/// has_nsfw_concepts: true, or an array of booleans with at least one true.
inline bool nsfw(std::string_view raw) {
  if (raw == "true") return true;
  return !raw.empty() && raw.front() == '[' && raw.find("true") != std::string_view::npos;
}

/// A member value kept as JSON (old_value/new_value may be anything).
inline ojson value_or_null(std::string_view raw) {
  if (raw.empty()) return nullptr;
  ojson j = ojson::parse(raw, nullptr, false);
  return j.is_discarded() ? ojson(nullptr) : j;
}

inline ojson str_or_null(const std::optional<std::string>& s) { return s ? ojson(*s) : ojson(nullptr); }

inline double round_to(double v, int decimals) {
  const double f = std::pow(10.0, decimals);
  return std::round(v * f) / f;
}

inline ojson percent(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return nullptr;
  return round_to(100.0 * static_cast<double>(part) / static_cast<double>(whole), 3);
}

/// Days since the Unix epoch of a time in microseconds (floor).
inline std::int64_t day_index(std::int64_t micros) {
  constexpr std::int64_t kDay = 86400LL * 1000000;
  return micros >= 0 ? micros / kDay : -((-micros + kDay - 1) / kDay);
}

// ---- Aggregates ----

struct UserStats {
  std::string last_activity;
  std::uint64_t events = 0;
  std::uint64_t generations = 0, successful = 0, failed = 0, nsfw = 0;
  std::uint64_t duration_sum = 0, duration_count = 0;
  std::uint64_t auth_ok = 0, auth_failed = 0, mfa = 0, sessions = 0;
  std::map<std::string, ojson> permissions;  // state at the end of the period
};

struct KeyState {
  bool active = false;
  std::uint64_t uses = 0;  // in the period
};

struct DayStats {
  std::uint64_t generations = 0, successful = 0, failed = 0, nsfw = 0, safety_flagged = 0, violations = 0,
                alerts = 0;
};

struct Combo {
  std::uint64_t uses = 0;
  std::set<std::string> users;
};

struct CappedList {
  std::uint64_t total = 0;
  ojson entries = ojson::array();
  void add(std::size_t cap, ojson e) {
    ++total;
    if (entries.size() < cap) entries.push_back(std::move(e));
  }
  ojson to_json() const {
    return ojson{{"total", total}, {"truncated", total > entries.size()}, {"entries", entries}};
  }
};

}  // namespace report_impl

struct ComplianceReportGenerator::Impl {
  using ojson = report_impl::ojson;
  ReportOptions opt;

  // What was read.
  std::uint64_t delivered = 0, in_report = 0, system = 0, outside_period = 0, other_tenants = 0, unreadable = 0;
  std::uint64_t gap_records = 0, dropped = 0, recovered_tails = 0;  // log.gap / log.recovered in the period
  std::optional<std::int64_t> first_ts, last_ts;  // records in the period (with a tenant: its events only)

  std::unordered_map<std::string, report_impl::UserStats> users;
  std::unordered_map<std::string, report_impl::KeyState> keys;
  std::map<std::string, report_impl::DayStats> days;
  std::map<std::pair<std::string, std::string>, report_impl::Combo> combos;  // (model, lora or "")
  std::map<std::string, std::uint64_t> models, loras;
  std::set<std::string> generation_users;
  std::map<std::string, std::uint64_t> lifecycle;

  std::uint64_t generations = 0, successful = 0, failed_generations = 0, summaries = 0, nsfw_generations = 0;
  std::uint64_t keys_created = 0, keys_rotated = 0, keys_revoked = 0, auth_ok = 0, auth_failed = 0, auth_mfa = 0,
                sessions = 0;
  std::uint64_t checks = 0, checks_nsfw = 0;
  std::map<std::string, std::uint64_t> check_actions;
  std::uint64_t model_violations = 0;
  std::map<std::string, std::uint64_t> model_violation_problems, model_violation_actions;
  std::uint64_t violations = 0;
  std::map<std::string, std::uint64_t> violation_severity, violation_action;
  std::map<std::pair<std::string, std::string>, std::uint64_t> violation_rules;
  std::uint64_t alerts = 0;
  std::map<std::pair<std::string, std::string>, std::uint64_t> alert_rules;
  std::map<std::string, std::uint64_t> alert_severity;
  std::uint64_t tracker_anomalies = 0;
  std::map<std::string, std::uint64_t> tracker_anomaly_kinds;
  report_impl::CappedList permission_changes, config_changes, model_changes;

  explicit Impl(ReportOptions o) : opt(std::move(o)) {}

  report_impl::UserStats& user(const std::string& id) { return users[id]; }

  void add(const VerifiedRecord& r) {
    using report_impl::text;
    ++delivered;
    const bool tenant_mode = !opt.tenant.empty();
    const bool after = opt.to_micros && r.ts_micros >= *opt.to_micros;
    const bool before = opt.from_micros && r.ts_micros < *opt.from_micros;
    // With a tenant, nothing that depends on other tenants' records (or on log.* records, whose number follows
    // the whole log's volume: checkpoints, rotations) is counted: outside_period, system, first/last record ts
    // and hence the period's days describe the tenant's own events only (docs/reports.md §4.1).
    if (r.event_type.size() > 4 && r.event_type.substr(0, 4) == "log.") {
      // Events the writer lost in the period (a lossy queue dropped them, or recovery quarantined a torn or
      // invalid tail): an intact log then still lacks them, and the banner must say so (any tenant's events may
      // be among them, so a tenant's report says it too).
      if (!after && !before) {
        if (r.event_type == "log.gap") {
          ++gap_records;
          report_impl::Fields g;
          if (g.scan(r.event))
            if (const std::optional<std::int64_t> d = report_impl::integer(g.get("dropped")); d && *d > 0)
              dropped += static_cast<std::uint64_t>(*d);
        } else if (r.event_type == "log.recovered") {
          ++recovered_tails;
        }
      }
      if (tenant_mode) return;
      if (after || before) {
        ++outside_period;
        return;
      }
      if (!first_ts) first_ts = r.ts_micros;
      last_ts = r.ts_micros;
      ++system;
      return;
    }
    if (after && !tenant_mode) {
      ++outside_period;
      return;
    }
    report_impl::Fields f;
    if (!f.scan(r.event)) {
      ++unreadable;
      return;
    }
    if (tenant_mode) {
      const std::optional<std::string> t = text(f.get("tenant_id"));
      if (!t || *t != opt.tenant) {
        ++other_tenants;
        return;
      }
    }
    if (after) {
      ++outside_period;
      return;
    }
    if (before) {
      ++outside_period;
    } else {
      if (!first_ts) first_ts = r.ts_micros;
      last_ts = r.ts_micros;
    }
    const std::optional<std::string> uid = text(f.get("user_id"));
    const std::string_view type = r.event_type;

    // State that the period's end inherits from before the period.
    if (type == "permission.changed") {
      const std::optional<std::string> subject = text(f.get("subject"));
      const std::optional<std::string> perm = text(f.get("permission"));
      if (subject && perm) user(*subject).permissions[*perm] = report_impl::value_or_null(f.get("new_value"));
      if (!before)
        permission_changes.add(opt.max_list_entries,
                               ojson{{"ts", std::string(r.ts)},
                                     {"seq", r.seq},
                                     {"subject", report_impl::str_or_null(subject)},
                                     {"permission", report_impl::str_or_null(perm)},
                                     {"old_value", report_impl::value_or_null(f.get("old_value"))},
                                     {"new_value", report_impl::value_or_null(f.get("new_value"))},
                                     {"changed_by", report_impl::str_or_null(text(f.get("changed_by")))},
                                     {"approved_by", report_impl::str_or_null(text(f.get("approved_by")))}});
    } else if (type.substr(0, 7) == "apikey.") {
      const std::optional<std::string> key = text(f.get("key_id"));
      if (key) {
        report_impl::KeyState& k = keys[*key];
        if (type == "apikey.created" || type == "apikey.used") k.active = true;
        if (type == "apikey.revoked" || type == "apikey.rotated") k.active = false;
        if (type == "apikey.used" && !before) ++k.uses;
        if (type == "apikey.rotated") {
          if (const std::optional<std::string> nk = text(f.get("new_key_id"))) keys[*nk].active = true;
        }
      }
      if (!before) {
        if (type == "apikey.created") ++keys_created;
        else if (type == "apikey.rotated") ++keys_rotated;
        else if (type == "apikey.revoked") ++keys_revoked;
      }
    }
    if (before) return;
    ++in_report;
    const std::string day(r.ts.substr(0, 10));
    if (uid) {
      report_impl::UserStats& u = user(*uid);
      ++u.events;
      u.last_activity.assign(r.ts.data(), r.ts.size());
    }

    if (type == "image_generation") {
      ++summaries;
      ++lifecycle["image_generation"];
      const std::optional<std::string> result = text(f.get("result"));
      const bool ok = result && *result == "success";
      std::string model;
      std::optional<std::int64_t> duration;
      report_impl::Fields sub;
      if (sub.scan(f.get("processing"))) {
        model = text(sub.get("model_version")).value_or("");
        duration = report_impl::integer(sub.get("generation_duration_ms"));
      }
      bool flagged = false;
      if (sub.scan(f.get("safety"))) flagged = report_impl::nsfw(sub.get("has_nsfw_concepts"));
      std::vector<std::string> used_loras;
      if (sub.scan(f.get("request"))) {
        const std::string_view raw = sub.get("loras");
        if (raw.size() > 2) {
          const nlohmann::json arr = nlohmann::json::parse(raw, nullptr, false);
          if (arr.is_array())
            for (const auto& l : arr)
              if (l.is_object() && l.contains("name") && l["name"].is_string()) {
                std::string n = l["name"].get<std::string>();
                if (std::find(used_loras.begin(), used_loras.end(), n) == used_loras.end())
                  used_loras.push_back(std::move(n));
              }
        }
      }
      count_generation(uid, day, ok, flagged, duration);
      ++models[model];
      const std::string who = uid.value_or("");
      if (used_loras.empty()) {
        report_impl::Combo& c = combos[{model, ""}];
        ++c.uses;
        if (uid) c.users.insert(who);
      }
      for (const std::string& l : used_loras) {
        ++loras[l];
        report_impl::Combo& c = combos[{model, l}];
        ++c.uses;
        if (uid) c.users.insert(who);
      }
    } else if (type == "generation.failed") {
      ++lifecycle[std::string(type)];
      count_generation(uid, day, false, false, report_impl::integer(f.get("generation_duration_ms")));
    } else if (type.substr(0, 11) == "generation.") {
      ++lifecycle[std::string(type)];
      if (type == "generation.anomaly") {
        ++tracker_anomalies;
        ++tracker_anomaly_kinds[text(f.get("anomaly")).value_or("")];
      }
    } else if (type == "auth.succeeded") {
      ++auth_ok;
      const bool mfa = f.get("mfa") == "true";
      if (mfa) ++auth_mfa;
      if (uid) {
        ++user(*uid).auth_ok;
        if (mfa) ++user(*uid).mfa;
      }
    } else if (type == "auth.failed") {
      ++auth_failed;
      if (uid) ++user(*uid).auth_failed;
    } else if (type == "session.started") {
      ++sessions;
      if (uid) ++user(*uid).sessions;
    } else if (type.substr(0, 7) == "config.") {
      config_changes.add(opt.max_list_entries,
                         ojson{{"ts", std::string(r.ts)},
                               {"seq", r.seq},
                               {"event_type", std::string(type)},
                               {"setting", report_impl::str_or_null(text(f.get("setting")))},
                               {"old_value", report_impl::value_or_null(f.get("old_value"))},
                               {"new_value", report_impl::value_or_null(f.get("new_value"))},
                               {"changed_by", report_impl::str_or_null(text(f.get("changed_by")))},
                               {"approved_by", report_impl::str_or_null(text(f.get("approved_by")))}});
    } else if (type == "model.violation") {
      ++model_violations;
      ++model_violation_problems[text(f.get("problem")).value_or("")];
      ++model_violation_actions[text(f.get("action")).value_or("")];
    } else if (type.substr(0, 6) == "model." || type == "lora.trained" || type == "lora.approved") {
      const bool lora = type.substr(0, 5) == "lora.";
      std::optional<std::string> actor = text(f.get(lora ? (type == "lora.trained" ? "trained_by" : "approved_by")
                                                         : (type == "model.registered" ? "registered_by" : "actor")));
      model_changes.add(opt.max_list_entries,
                        ojson{{"ts", std::string(r.ts)},
                              {"seq", r.seq},
                              {"event_type", std::string(type)},
                              {"id", report_impl::str_or_null(text(f.get(lora ? "lora_id" : "model_id")))},
                              {"version", report_impl::str_or_null(text(f.get("version")))},
                              {"actor", report_impl::str_or_null(actor)},
                              {"reason", report_impl::str_or_null(text(f.get("reason")))}});
    } else if (type == "safety_check.completed") {
      ++checks;
      const bool n = report_impl::nsfw(f.get("has_nsfw_concepts"));
      if (n) ++checks_nsfw;
      const std::string action = text(f.get("action")).value_or("");
      ++check_actions[action];
      if (action == "blocked" || action == "flagged_for_review") ++days[day].safety_flagged;
    } else if (type == "policy.violation") {
      ++violations;
      ++days[day].violations;
      ++violation_severity[text(f.get("severity")).value_or("")];
      ++violation_action[text(f.get("action")).value_or("")];
      ++violation_rules[{text(f.get("rule_id")).value_or(""), text(f.get("rule_name")).value_or("")}];
    } else if (type == "alert.raised") {
      ++alerts;
      ++days[day].alerts;
      const std::string sev = text(f.get("severity")).value_or("");
      ++alert_rules[{text(f.get("rule")).value_or(""), sev}];
      ++alert_severity[sev];
    }
  }

  void count_generation(const std::optional<std::string>& uid, const std::string& day, bool ok, bool flagged,
                        std::optional<std::int64_t> duration) {
    ++generations;
    if (ok) ++successful;
    else ++failed_generations;
    if (flagged) ++nsfw_generations;
    report_impl::DayStats& d = days[day];
    ++d.generations;
    if (ok) ++d.successful;
    else ++d.failed;
    if (flagged) ++d.nsfw;
    if (!uid) return;
    generation_users.insert(*uid);
    report_impl::UserStats& u = user(*uid);
    ++u.generations;
    if (ok) ++u.successful;
    else ++u.failed;
    if (flagged) ++u.nsfw;
    if (duration && *duration >= 0) {
      u.duration_sum += static_cast<std::uint64_t>(*duration);
      ++u.duration_count;
    }
  }

  // ---- The report ----

  static std::string range_text(const Finding& f) {
    std::string s = !f.seq ? std::string("seq ?")
                    : f.count > 1 ? fmt::format("seq {}..{}", *f.seq, *f.seq + f.count - 1)
                                  : fmt::format("seq {}", *f.seq);
    return fmt::format("{} ({} in {})", s, reason_name(f.reason), f.segment);
  }

  static std::string banner_for(const VerifySummary& v) {
    if (v.intact) {
      // What an intact verdict does not cover (docs/log-format.md §8.3), so that it is not over-read.
      std::vector<std::string> unchecked;
      if (v.macs_unchecked > 0 && v.macs_checked == 0) unchecked.push_back("MACs (no MAC key)");
      if (v.checkpoints_sig_unchecked > 0 && v.checkpoints_verified == 0)
        unchecked.push_back("checkpoint signatures (no trusted key)");
      if (!v.anchor_checked && v.checkpoint_anchors_checked == 0)
        unchecked.push_back("no anchor (records deleted from the end would not be detected)");
      return fmt::format("VERIFIED: log {} is intact: {} records{} in {} segment(s); the figures below come from "
                         "verified records{}",
                         v.log_id.empty() ? std::string("(empty)") : v.log_id, v.records,
                         v.first_seq ? fmt::format(" (seq {}..{})", *v.first_seq, *v.last_seq) : std::string(),
                         v.segments,
                         unchecked.empty() ? std::string() : fmt::format("; not checked: {}", fmt::join(unchecked, "; ")));
    }
    std::string ranges;
    const std::size_t shown = std::min<std::size_t>(v.findings.size(), 10);
    for (std::size_t i = 0; i < shown; ++i) ranges += (i ? "; " : "") + range_text(v.findings[i]);
    if (v.findings_total > shown) ranges += fmt::format("; and {} more", v.findings_total - shown);
    return fmt::format("NOT VERIFIED: the log {}FAILED verification with {} finding(s); the figures below include "
                       "records from damaged ranges and are not evidence. Broken ranges: {}",
                       v.log_id.empty() ? std::string() : v.log_id + " ", v.findings_total,
                       ranges.empty() ? std::string("none listed") : ranges);
  }

  static ojson verification_json(const VerifySummary& v) {
    ojson ranges = ojson::array();
    for (const Finding& f : v.findings)
      ranges.push_back({{"first_seq", f.seq ? ojson(*f.seq) : ojson(nullptr)},
                        {"last_seq", f.seq ? ojson(*f.seq + f.count - 1) : ojson(nullptr)},
                        {"reason", std::string(reason_name(f.reason))},
                        {"segment", f.segment},
                        {"offset", f.offset},
                        {"detail", f.detail}});
    const nlohmann::json s = nlohmann::json::parse(format_summary_json(v));
    auto opt_u64 = [](const std::optional<std::uint64_t>& x) { return x ? ojson(*x) : ojson(nullptr); };
    return ojson{{"verified", v.intact},
                 {"log_id", v.log_id},
                 {"records", v.records},
                 {"segments", v.segments},
                 {"first_seq", opt_u64(v.first_seq)},
                 {"last_seq", opt_u64(v.last_seq)},
                 {"head", s["head"]},
                 {"merkle_root", s["merkle_root"]},
                 {"findings_total", v.findings_total},
                 {"broken_ranges", ranges},
                 {"guarantees", s["guarantees"]}};
  }

  static std::string iso(std::int64_t micros) { return record::format_timestamp(micros); }

  ComplianceReport finish(const VerifySummary& v) {
    using report_impl::percent;
    using report_impl::round_to;
    ComplianceReport rep;
    rep.verification = v;
    rep.verified = v.intact;
    rep.banner = banner_for(v);
    if (gap_records > 0 || recovered_tails > 0) {
      std::vector<std::string> lost;
      if (gap_records > 0)
        lost.push_back(fmt::format("{} event(s) dropped by the writer's lossy queue ({} log.gap record(s))", dropped,
                                   gap_records));
      if (recovered_tails > 0)
        lost.push_back(fmt::format("{} torn or invalid tail(s) quarantined on recovery (log.recovered)",
                                   recovered_tails));
      rep.banner += fmt::format("; INCOMPLETE: in the period {}: the figures below do not include those events",
                                fmt::join(lost, " and "));
    }
    ojson& j = rep.data;
    j["banner"] = rep.banner;
    j["schema"] = std::string(kReportSchema);
    j["kind"] = "monthly";
    j["title"] = "Fooocus Generation Audit Report";
    std::string generated = opt.generated_at;
    if (generated.empty())
      generated = iso(std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count());
    j["generated_at"] = generated;
    j["verification"] = verification_json(v);

    // Period and its days (docs/reports.md §4.2).
    std::optional<std::int64_t> start = opt.from_micros ? opt.from_micros : first_ts;
    std::optional<std::int64_t> end_incl = opt.to_micros ? std::optional<std::int64_t>(*opt.to_micros - 1) : last_ts;
    std::uint64_t period_days = 0;
    if (start && end_incl && *end_incl >= *start)
      period_days = static_cast<std::uint64_t>(report_impl::day_index(*end_incl) - report_impl::day_index(*start) + 1);
    j["period"] = {{"from", opt.from_micros ? ojson(iso(*opt.from_micros)) : ojson(nullptr)},
                   {"to", opt.to_micros ? ojson(iso(*opt.to_micros)) : ojson(nullptr)},
                   {"first_record_ts", first_ts ? ojson(iso(*first_ts)) : ojson(nullptr)},
                   {"last_record_ts", last_ts ? ojson(iso(*last_ts)) : ojson(nullptr)},
                   {"days", period_days}};
    j["tenant"] = opt.tenant.empty() ? ojson(nullptr) : ojson(opt.tenant);
    // How many records of other tenants were skipped is not said: a tenant's report holds nothing about others.
    j["records"] = {{"delivered", delivered},
                    {"in_report", in_report},
                    {"system", system},
                    {"outside_period", outside_period},
                    {"unreadable_events", unreadable},
                    {"dropped_by_writer", dropped},
                    {"gap_records", gap_records},
                    {"recovered_tails", recovered_tails}};

    j["executive_summary"] = {
        {"total_generations", generations},
        {"successful_generations", successful},
        {"failed_generations", failed_generations},
        {"unique_users", generation_users.size()},
        {"average_per_day",
         period_days == 0 ? ojson(nullptr)
                          : ojson(round_to(static_cast<double>(generations) / static_cast<double>(period_days), 2))},
        {"success_rate_percent", percent(successful, generations)}};
    ojson lc = ojson::object();
    for (const char* t : {"image_generation", "generation.submitted", "generation.queued", "generation.started",
                          "generation.completed", "generation.failed", "generation.cancelled",
                          "generation.abandoned", "generation.anomaly"}) {
      auto it = lifecycle.find(t);
      lc[t] = it == lifecycle.end() ? 0 : it->second;
    }
    j["lifecycle_records"] = lc;

    std::uint64_t active = 0, used = 0;
    for (const auto& k : keys) {
      if (k.second.active) ++active;
      if (k.second.uses > 0) ++used;
    }
    j["access_summary"] = {{"active_api_keys", active},
                           {"api_keys_used", used},
                           {"api_keys_created", keys_created},
                           {"api_keys_rotated", keys_rotated},
                           {"api_keys_revoked", keys_revoked},
                           {"authentications_succeeded", auth_ok},
                           {"failed_authentications", auth_failed},
                           {"authentications_with_mfa", auth_mfa},
                           {"mfa_percent", percent(auth_mfa, auth_ok)},
                           {"sessions_started", sessions}};

    std::vector<const std::pair<const std::string, report_impl::UserStats>*> sorted;
    for (const auto& u : users) sorted.push_back(&u);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
    ojson review = ojson::array(), per_user = ojson::array();
    for (const auto* u : sorted) {
      const report_impl::UserStats& s = u->second;
      ojson perms = ojson::object();
      for (const auto& p : s.permissions) perms[p.first] = p.second;
      auto role = s.permissions.find("role");
      if (s.events > 0 || !s.permissions.empty())
        review.push_back({{"user_id", u->first},
                          {"role", role != s.permissions.end() ? role->second : ojson(nullptr)},
                          {"permissions", perms},
                          {"last_activity", s.last_activity.empty() ? ojson(nullptr) : ojson(s.last_activity)},
                          {"events", s.events},
                          {"sessions_started", s.sessions},
                          {"authentications_succeeded", s.auth_ok},
                          {"authentications_with_mfa", s.mfa},
                          {"failed_authentications", s.auth_failed},
                          {"generations", s.generations}});
      if (s.generations > 0)
        per_user.push_back(
            {{"user_id", u->first},
             {"generations", s.generations},
             {"successful", s.successful},
             {"failed", s.failed},
             {"nsfw", s.nsfw},
             {"average_duration_ms",
              s.duration_count == 0
                  ? ojson(nullptr)
                  : ojson(round_to(static_cast<double>(s.duration_sum) / static_cast<double>(s.duration_count), 1))}});
    }
    j["access_review"] = {{"users", review}, {"permission_changes", permission_changes.to_json()}};
    j["generation_summary"] = per_user;

    auto by_count = [](const std::map<std::string, std::uint64_t>& m) {
      std::vector<std::pair<std::string, std::uint64_t>> v(m.begin(), m.end());
      std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
      return v;
    };
    ojson mj = ojson::array(), lj = ojson::array(), cj = ojson::array();
    for (const auto& m : by_count(models))
      mj.push_back({{"model_version", m.first.empty() ? ojson(nullptr) : ojson(m.first)},
                    {"generations", m.second},
                    {"percent", percent(m.second, summaries)}});
    for (const auto& l : by_count(loras))
      lj.push_back({{"lora", l.first}, {"generations", l.second}, {"percent", percent(l.second, summaries)}});
    std::vector<std::pair<std::pair<std::string, std::string>, const report_impl::Combo*>> cv;
    for (const auto& c : combos) cv.push_back({c.first, &c.second});
    std::stable_sort(cv.begin(), cv.end(), [](const auto& a, const auto& b) { return a.second->uses > b.second->uses; });
    for (const auto& c : cv)
      cj.push_back({{"model_version", c.first.first.empty() ? ojson(nullptr) : ojson(c.first.first)},
                    {"lora", c.first.second.empty() ? ojson(nullptr) : ojson(c.first.second)},
                    {"uses", c.second->uses},
                    {"distinct_users", c.second->users.size()}});
    j["model_usage"] = {{"generations_with_summary", summaries},
                        {"models", mj},
                        {"loras", lj},
                        {"combinations", cj},
                        {"model_changes", model_changes.to_json()}};

    auto counts = [](const std::map<std::string, std::uint64_t>& m, std::initializer_list<const char*> keys) {
      ojson o = ojson::object();
      for (const char* k : keys) {
        auto it = m.find(k);
        o[k] = it == m.end() ? 0 : it->second;
      }
      std::uint64_t other = 0;
      for (const auto& e : m)
        if (std::find_if(keys.begin(), keys.end(), [&](const char* k) { return e.first == k; }) == keys.end())
          other += e.second;
      o["other"] = other;
      return o;
    };
    j["safety_events"] = {
        {"nsfw_generations", nsfw_generations},
        {"nsfw_percent_of_generations", percent(nsfw_generations, generations)},
        {"safety_checks",
         {{"total", checks},
          {"nsfw", checks_nsfw},
          {"by_action", counts(check_actions, {"blocked", "allowed", "flagged_for_review"})}}},
        {"model_violations",
         {{"total", model_violations},
          {"by_problem", counts(model_violation_problems, {"unregistered", "unapproved", "deprecated", "revoked", "modified"})},
          {"by_action", counts(model_violation_actions, {"blocked", "flagged"})}}}};
    ojson rules = ojson::array();
    std::vector<std::pair<std::pair<std::string, std::string>, std::uint64_t>> rv(violation_rules.begin(),
                                                                                  violation_rules.end());
    std::stable_sort(rv.begin(), rv.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (const auto& r : rv) rules.push_back({{"rule_id", r.first.first}, {"rule_name", r.first.second}, {"count", r.second}});
    j["content_policy"] = {{"violations", violations},
                           {"by_severity", counts(violation_severity, {"low", "medium", "high", "critical"})},
                           {"by_action", counts(violation_action, {"rejected", "flagged"})},
                           {"by_rule", rules}};
    ojson ar = ojson::array();
    std::vector<std::pair<std::pair<std::string, std::string>, std::uint64_t>> av(alert_rules.begin(), alert_rules.end());
    std::stable_sort(av.begin(), av.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (const auto& a : av) ar.push_back({{"rule", a.first.first}, {"severity", a.first.second}, {"count", a.second}});
    ojson tk = ojson::array();
    for (const auto& a : by_count(tracker_anomaly_kinds)) tk.push_back({{"anomaly", a.first}, {"count", a.second}});
    j["anomalies"] = {{"alerts_raised", alerts},
                      {"by_severity", counts(alert_severity, {"low", "medium", "high", "critical"})},
                      {"by_rule", ar},
                      {"tracker_anomalies", {{"total", tracker_anomalies}, {"by_kind", tk}}}};
    j["configuration_changes"] = config_changes.to_json();
    ojson pd = ojson::array();
    for (const auto& d : days)
      pd.push_back({{"date", d.first},
                    {"generations", d.second.generations},
                    {"successful", d.second.successful},
                    {"failed", d.second.failed},
                    {"nsfw", d.second.nsfw},
                    {"safety_flagged", d.second.safety_flagged},
                    {"policy_violations", d.second.violations},
                    {"alerts", d.second.alerts}});
    j["generations_per_day"] = pd;
    return rep;
  }
};

FA_INLINE ComplianceReportGenerator::ComplianceReportGenerator(ReportOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
FA_INLINE ComplianceReportGenerator::~ComplianceReportGenerator() = default;

FA_INLINE void ComplianceReportGenerator::add(const VerifiedRecord& record) { impl_->add(record); }
FA_INLINE ComplianceReport ComplianceReportGenerator::finish(const VerifySummary& v) { return impl_->finish(v); }

FA_INLINE Result<ComplianceReport> ComplianceReportGenerator::generate(const std::string& log_path) {
  try {
    VerifyOptions vo = impl_->opt.verify;
    vo.on_record = [this](const VerifiedRecord& r) { impl_->add(r); };
    ChainVerifier verifier(std::move(vo));
    Result<VerifySummary> s = verifier.verify_path(log_path);
    if (!s) return s.status();
    return impl_->finish(s.value());
  } catch (const std::bad_alloc&) {
    return Status(Code::internal, "report: out of memory");
  } catch (const std::exception& e) {
    return Status(Code::internal, std::string("report: ") + e.what());
  }
}

// ---- Rendering ----

namespace report_impl {

inline std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

/// Markdown table cell / text: no markup, no HTML, one line.
inline std::string md_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '\n': case '\r': out += ' '; break;
      case '|': case '*': case '_': case '`': case '[': case ']': case '\\': case '#': case '~': case '!':
        out += '\\';
        out += c;
        break;
      default: out += c;
    }
  }
  return out;
}

/// A figure as text: strings as they are, numbers as JSON writes them, null as "n/a".
inline std::string plain(const ojson& v) {
  if (v.is_null()) return "n/a";
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline std::string dump(const ojson& v, int indent) {
  return v.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct Section {
  const char* key;
  const char* title;
};

inline std::vector<Section> sections_of(ReportKind k) {
  switch (k) {
    case ReportKind::access:
      return {{"access_summary", "Access summary"}, {"access_review", "Access review"}};
    case ReportKind::generations:
      return {{"executive_summary", "Executive summary"},
              {"lifecycle_records", "Lifecycle records"},
              {"generation_summary", "Generation summary per user"},
              {"generations_per_day", "Generations per day"}};
    case ReportKind::models:
      return {{"executive_summary", "Executive summary"}, {"model_usage", "Model usage"}};
    case ReportKind::monthly:
      break;
  }
  return {{"executive_summary", "Executive summary"},
          {"access_summary", "Access summary"},
          {"model_usage", "Model usage"},
          {"safety_events", "Safety events"},
          {"content_policy", "Content policy violations"},
          {"anomalies", "Anomalies raised"},
          {"configuration_changes", "Configuration changes"},
          {"generations_per_day", "Generations per day"},
          {"lifecycle_records", "Lifecycle records"}};
}

/// The heading of a section ("Executive summary" for executive_summary).
inline std::string section_title(const std::string& key) {
  for (ReportKind k : {ReportKind::monthly, ReportKind::access, ReportKind::generations, ReportKind::models})
    for (const Section& s : sections_of(k))
      if (key == s.key) return s.title;
  return key;
}

/// "from A to B (half-open)" with "the start/end of the log" for an open side.
inline std::string period_text(const ojson& p, const std::string& from, const std::string& to) {
  if (p.at("from").is_null() && p.at("to").is_null()) return "the whole log";
  return (p.at("from").is_null() ? std::string("the start of the log") : from) + " to " +
         (p.at("to").is_null() ? std::string("the end of the log") : to) + " (half-open)";
}

inline const char* kind_title(ReportKind k) {
  switch (k) {
    case ReportKind::access: return "Access Review Report";
    case ReportKind::generations: return "Generation Summary Report";
    case ReportKind::models: return "Model Usage Report";
    case ReportKind::monthly: break;
  }
  return "Fooocus Generation Audit Report";
}

inline ojson select(const ComplianceReport& r, ReportKind kind) {
  ojson j = ojson::object();
  for (const char* k : {"banner", "schema"}) j[k] = r.data.at(k);
  j["kind"] = std::string(report_kind_name(kind));
  j["title"] = kind_title(kind);
  for (const char* k : {"generated_at", "verification", "period", "tenant", "records"}) j[k] = r.data.at(k);
  for (const Section& s : sections_of(kind)) j[s.key] = r.data.at(s.key);
  return j;
}

inline std::string render_json(const ojson& j) {
  std::string s = dump(j, 2);
  // The banner on the first line: "{\n  \"banner\": ..." becomes "{\"banner\": ...".
  if (s.size() > 4 && s.compare(0, 4, "{\n  ") == 0) s.replace(0, 4, "{");
  s += '\n';
  return s;
}

// -- Markdown --

inline void md_object_table(std::string& out, const ojson& o) {
  if (std::none_of(o.begin(), o.end(), [](const ojson& v) { return !v.is_structured(); })) return;
  out += "| figure | value |\n|---|---|\n";
  for (const auto& it : o.items()) {
    if (it.value().is_structured()) continue;
    out += fmt::format("| {} | {} |\n", md_escape(it.key()), md_escape(plain(it.value())));
  }
  out += '\n';
}

inline void md_array_table(std::string& out, const ojson& arr) {
  if (!arr.is_array() || arr.empty()) {
    out += "_none_\n\n";
    return;
  }
  std::vector<std::string> cols;
  for (const auto& it : arr.front().items()) cols.push_back(it.key());
  out += "|";
  for (const std::string& c : cols) out += " " + md_escape(c) + " |";
  out += "\n|";
  for (std::size_t i = 0; i < cols.size(); ++i) out += "---|";
  out += '\n';
  for (const auto& row : arr) {
    out += "|";
    for (const std::string& c : cols) {
      const ojson& v = row.contains(c) ? row.at(c) : ojson(nullptr);
      out += " " + md_escape(v.is_structured() ? dump(v, -1) : plain(v)) + " |";
    }
    out += '\n';
  }
  out += '\n';
}

inline void md_section(std::string& out, const ojson& v) {
  if (v.is_array()) return md_array_table(out, v);
  md_object_table(out, v);
  for (const auto& it : v.items()) {
    if (!it.value().is_structured()) continue;
    out += fmt::format("**{}**\n\n", md_escape(it.key()));
    if (it.value().is_object() && it.value().contains("entries")) {
      out += fmt::format("{} in total{}\n\n", it.value().at("total").get<std::uint64_t>(),
                         it.value().at("truncated").get<bool>() ? " (list truncated)" : "");
      md_array_table(out, it.value().at("entries"));
    } else if (it.value().is_array()) {
      md_array_table(out, it.value());
    } else {
      md_section(out, it.value());
    }
  }
}

inline std::string render_markdown(const ojson& j) {
  std::string out = md_escape(j.at("banner").get<std::string>()) + "\n\n";
  out += "# " + md_escape(j.at("title").get<std::string>()) + "\n\n";
  const ojson& p = j.at("period");
  out += fmt::format("- Period: {}, {} day(s)\n",
                     period_text(p, md_escape(plain(p.at("from"))), md_escape(plain(p.at("to")))), plain(p.at("days")));
  out += fmt::format("- Tenant: {}\n", j.at("tenant").is_null() ? "all" : md_escape(plain(j.at("tenant"))));
  out += fmt::format("- Log: {} ({} records verified: {})\n", md_escape(plain(j.at("verification").at("log_id"))),
                     plain(j.at("verification").at("records")), j.at("verification").at("verified").get<bool>() ? "yes" : "NO");
  out += fmt::format("- Generated at: {}; schema {}\n\n", md_escape(plain(j.at("generated_at"))),
                     md_escape(plain(j.at("schema"))));
  if (!j.at("verification").at("verified").get<bool>()) {
    out += "## Verification findings\n\n";
    md_array_table(out, j.at("verification").at("broken_ranges"));
  }
  for (const auto& it : j.items()) {
    static const std::set<std::string> head = {"banner", "schema", "kind", "title", "generated_at",
                                               "verification", "period", "tenant", "records"};
    if (head.count(it.key())) continue;
    out += "## " + md_escape(section_title(it.key())) + "\n\n";
    if (it.value().is_object() && it.value().contains("entries")) {
      out += fmt::format("{} in total{}\n\n", it.value().at("total").get<std::uint64_t>(),
                         it.value().at("truncated").get<bool>() ? " (list truncated)" : "");
      md_array_table(out, it.value().at("entries"));
    } else {
      md_section(out, it.value());
    }
  }
  out += "## Records read\n\n";
  md_object_table(out, j.at("records"));
  return out;
}

// -- HTML --

/// A JSON Pointer (RFC 6901) reference token.
inline std::string ptr(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return "/" + out;
}

/// An element holding one figure, tagged with its JSON Pointer so that a reader (or a test) can match it.
inline std::string fig(const std::string& path, const ojson& v) {
  return fmt::format("<span data-figure=\"{}\">{}</span>", html_escape(path), html_escape(plain(v)));
}

inline void html_table(std::string& out, const ojson& arr, const std::string& path) {
  if (!arr.is_array() || arr.empty()) {
    out += "<p class=\"none\">none</p>\n";
    return;
  }
  std::vector<std::string> cols;
  for (const auto& it : arr.front().items()) cols.push_back(it.key());
  out += "<table><thead><tr>";
  for (const std::string& c : cols) out += "<th>" + html_escape(c) + "</th>";
  out += "</tr></thead><tbody>\n";
  for (std::size_t i = 0; i < arr.size(); ++i) {
    out += "<tr>";
    for (const std::string& c : cols) {
      const ojson& v = arr[i].contains(c) ? arr[i].at(c) : ojson(nullptr);
      if (v.is_structured())
        out += "<td><code>" + html_escape(dump(v, -1)) + "</code></td>";
      else
        out += "<td>" + fig(path + "/" + std::to_string(i) + ptr(c), v) + "</td>";
    }
    out += "</tr>\n";
  }
  out += "</tbody></table>\n";
}

inline void html_object(std::string& out, const ojson& o, const std::string& path) {
  bool any = false;
  for (const auto& it : o.items())
    if (!it.value().is_structured()) any = true;
  if (any) {
    out += "<table class=\"kv\"><tbody>\n";
    for (const auto& it : o.items())
      if (!it.value().is_structured())
        out += "<tr><th>" + html_escape(it.key()) + "</th><td>" + fig(path + ptr(it.key()), it.value()) +
               "</td></tr>\n";
    out += "</tbody></table>\n";
  }
  for (const auto& it : o.items()) {
    if (!it.value().is_structured()) continue;
    const std::string sub = path + ptr(it.key());
    out += "<h3>" + html_escape(it.key()) + "</h3>\n";
    if (it.value().is_object() && it.value().contains("entries")) {
      out += "<p>" + fig(sub + "/total", it.value().at("total")) + " in total" +
             (it.value().at("truncated").get<bool>() ? " (list truncated)" : "") + "</p>\n";
      html_table(out, it.value().at("entries"), sub + "/entries");
    } else if (it.value().is_array()) {
      html_table(out, it.value(), sub);
    } else {
      html_object(out, it.value(), sub);
    }
  }
}

inline const char* kPalette[] = {"#2f6fdf", "#e8833a", "#3aa35b", "#c9393f", "#8e5cc4",
                                 "#1fa3a3", "#d4a017", "#7a7a7a", "#e05fa8", "#5b8c2a"};

/// A horizontal bar chart (inline SVG). Labels are escaped; bars scale to the largest value.
// A chart label of at most 40 bytes: longer ones are cut to 37 bytes at a code point boundary, plus "...".
inline std::string short_label(const std::string& label) {
  if (label.size() <= 40) return label;
  return label.substr(0, utf8::floor_boundary(label, 37)) + "...";
}

inline std::string svg_bars(const std::string& title, const std::vector<std::pair<std::string, double>>& bars,
                            bool multicolour) {
  const int row = 22, label_w = 260, bar_w = 560, h = static_cast<int>(bars.size()) * row + 30;
  double max = 0;
  for (const auto& b : bars) max = std::max(max, b.second);
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"{}\">\n",
      label_w + bar_w + 80, h, html_escape(title));
  s += fmt::format("<text x=\"0\" y=\"16\" class=\"ct\">{}</text>\n", html_escape(title));
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const int y = 26 + static_cast<int>(i) * row;
    const double w = max > 0 ? bars[i].second / max * bar_w : 0;
    const char* colour = multicolour ? kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))] : kPalette[0];
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"cl\">{}</text>", label_w - 6, y + 14,
                     html_escape(short_label(bars[i].first)));
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\"/>", label_w, y,
                     std::max(w, bars[i].second > 0 ? 1.0 : 0.0), row - 6, colour);
    const double v = bars[i].second;
    const std::string shown = v == std::floor(v) && std::fabs(v) < 1e15 ? fmt::format("{}", static_cast<std::int64_t>(v))
                                                                         : plain(ojson(v));
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"cl\">{}</text>\n", label_w + w + 6, y + 14, html_escape(shown));
  }
  s += "</svg>\n";
  return s;
}

inline std::string charts(const ojson& j) {
  std::string out;
  if (j.contains("generations_per_day")) {
    std::vector<std::pair<std::string, double>> b;
    for (const auto& d : j.at("generations_per_day"))
      b.push_back({d.at("date").get<std::string>(), static_cast<double>(d.at("generations").get<std::uint64_t>())});
    if (!b.empty()) out += "<figure>" + svg_bars("Generations per day", b, false) + "</figure>\n";
  }
  if (j.contains("model_usage")) {
    std::vector<std::pair<std::string, double>> b;
    for (const auto& m : j.at("model_usage").at("models"))
      b.push_back({m.at("model_version").is_null() ? "(not given)" : m.at("model_version").get<std::string>(),
                   m.at("percent").is_null() ? 0.0 : m.at("percent").get<double>()});
    if (!b.empty()) out += "<figure>" + svg_bars("Model share (% of generations)", b, true) + "</figure>\n";
  }
  if (j.contains("safety_events")) {
    const ojson& s = j.at("safety_events");
    std::vector<std::pair<std::string, double>> b = {
        {"NSFW generations", static_cast<double>(s.at("nsfw_generations").get<std::uint64_t>())},
        {"safety checks: blocked",
         static_cast<double>(s.at("safety_checks").at("by_action").at("blocked").get<std::uint64_t>())},
        {"safety checks: flagged for review",
         static_cast<double>(s.at("safety_checks").at("by_action").at("flagged_for_review").get<std::uint64_t>())},
        {"model violations", static_cast<double>(s.at("model_violations").at("total").get<std::uint64_t>())}};
    if (j.contains("content_policy"))
      b.push_back({"content policy violations",
                   static_cast<double>(j.at("content_policy").at("violations").get<std::uint64_t>())});
    out += "<figure>" + svg_bars("Safety events", b, true) + "</figure>\n";
  }
  return out;
}

inline std::string render_html(const ojson& j) {
  const bool ok = j.at("verification").at("verified").get<bool>();
  const std::string banner = j.at("banner").get<std::string>();
  std::string out = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(banner) +
                    "</title>\n";
  out += R"(<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#1d2330;background:#fff}
h1{font-size:26px;margin:8px 0}h2{font-size:20px;border-bottom:2px solid #dde3ee;padding-bottom:4px;margin-top:28px}
h3{font-size:15px;margin:14px 0 6px}
.banner{padding:12px 16px;border-radius:6px;font-weight:600;margin-bottom:12px}
.ok{background:#e3f4e8;border:2px solid #3aa35b;color:#1d5a31}.bad{background:#fde8e8;border:3px solid #c9393f;color:#7d1218}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}th,td{border:1px solid #d5dbe5;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef2f8}table.kv th{width:280px}code{font-size:12px;word-break:break-all}
.meta{color:#4a5568;font-size:13px}.none{color:#777;font-style:italic}
figure{margin:10px 0;padding:8px;border:1px solid #e2e7ef;border-radius:6px;background:#fafbfd}
.ct{font:600 14px sans-serif;fill:#1d2330}.cl{font:12px sans-serif;fill:#1d2330}
</style></head><body>
)";
  out += fmt::format("<div class=\"banner {}\" data-figure=\"/verification/verified\" data-value=\"{}\">{}</div>\n",
                     ok ? "ok" : "bad", ok ? "true" : "false", html_escape(banner));
  out += "<h1>" + html_escape(j.at("title").get<std::string>()) + "</h1>\n";
  const ojson& p = j.at("period");
  out += "<p class=\"meta\">Period: " + period_text(p, fig("/period/from", p.at("from")), fig("/period/to", p.at("to"))) +
         ", " + fig("/period/days", p.at("days")) + " day(s) &middot; Tenant: " +
         (j.at("tenant").is_null() ? std::string("all") : fig("/tenant", j.at("tenant"))) + " &middot; Log " +
         fig("/verification/log_id", j.at("verification").at("log_id")) + ", " +
         fig("/verification/records", j.at("verification").at("records")) + " records &middot; Generated " +
         html_escape(plain(j.at("generated_at"))) + " &middot; Schema " + html_escape(plain(j.at("schema"))) + "</p>\n";
  if (!ok) {
    out += "<h2>Verification findings</h2>\n";
    html_table(out, j.at("verification").at("broken_ranges"), "/verification/broken_ranges");
  }
  out += "<h2>Charts</h2>\n" + charts(j);
  static const std::set<std::string> head = {"banner", "schema", "kind", "title", "generated_at",
                                             "verification", "period", "tenant", "records"};
  for (const auto& it : j.items()) {
    if (head.count(it.key())) continue;
    out += "<h2>" + html_escape(section_title(it.key())) + "</h2>\n";
    const std::string path = ptr(it.key());
    if (it.value().is_array()) {
      html_table(out, it.value(), path);
    } else if (it.value().is_object() && it.value().contains("entries")) {
      out += "<p>" + fig(path + "/total", it.value().at("total")) + " in total" +
             (it.value().at("truncated").get<bool>() ? " (list truncated)" : "") + "</p>\n";
      html_table(out, it.value().at("entries"), path + "/entries");
    } else {
      html_object(out, it.value(), path);
    }
  }
  out += "<h2>Records read</h2>\n";
  html_object(out, j.at("records"), "/records");
  out += "</body></html>\n";
  return out;
}

}  // namespace report_impl

FA_INLINE std::string render_report(const ComplianceReport& report, ReportKind kind, ReportFormat format) {
  const report_impl::ojson j = report_impl::select(report, kind);
  switch (format) {
    case ReportFormat::json: return report_impl::render_json(j);
    case ReportFormat::markdown: return report_impl::render_markdown(j);
    case ReportFormat::html: return report_impl::render_html(j);
  }
  return report_impl::render_json(j);
}

}  // namespace fooocus_audit
