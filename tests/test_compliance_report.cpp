// SPDX-License-Identifier: Apache-2.0
// ComplianceReportGenerator over a known workload (tests/support/report_workload.hpp): every figure exactly,
// the definition of a generation (lifecycle + summary counted once), period bounds, tenant isolation, the
// verification banner of a tampered log in every format, HTML/Markdown escaping and the JSON schema.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "fooocus_audit/detail/utf8.hpp"
#include "support/log_fixture.hpp"
#include "support/report_workload.hpp"

using namespace fa_test;
namespace fa = fooocus_audit;
using ojson = nlohmann::ordered_json;

namespace {

struct Built {
  TempDir dir{"fa_report"};
  TempDir outputs{"fa_report_out"};
  Built() { report_workload::write(dir.path(), outputs.path()); }
};

fa::ComplianceReport make(const std::string& dir, const std::string& tenant = "", bool march = true,
                          fa::VerifyOptions vo = {}) {
  fa::ReportOptions o;
  o.tenant = tenant;
  o.generated_at = "2026-04-01T08:00:00Z";
  o.verify = std::move(vo);
  if (march) {
    std::int64_t from = 0, to = 0;
    REQUIRE(fa::month_period("2026-03", &from, &to).ok());
    o.from_micros = from;
    o.to_micros = to;
  }
  fa::ComplianceReportGenerator g(o);
  auto r = g.generate(dir);
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

ojson find_row(const ojson& arr, const std::string& key, const ojson& value) {
  for (const auto& row : arr)
    if (row.at(key) == value) return row;
  FAIL("no row with " << key << " = " << value.dump());
  return {};
}

}  // namespace

TEST_CASE("report: every figure of the monthly report of one tenant is exact", "[report]") {
  Built b;
  const fa::ComplianceReport r = make(b.dir.path(), "acme_corp");
  const ojson& j = r.data;
  INFO(j.dump(2));
  REQUIRE(r.verified);
  CHECK(j["schema"] == "fooocus-audit.report/1");
  CHECK(j["period"]["from"] == "2026-03-01T00:00:00.000000Z");
  CHECK(j["period"]["to"] == "2026-04-01T00:00:00.000000Z");
  CHECK(j["period"]["days"] == 31);
  CHECK(j["tenant"] == "acme_corp");

  // Generations: 4 image_generation summaries + 1 generation.failed; the tracker's generation.completed is the
  // same request as its summary and is not counted again.
  const ojson& ex = j["executive_summary"];
  CHECK(ex["total_generations"] == 5);
  CHECK(ex["successful_generations"] == 4);
  CHECK(ex["failed_generations"] == 1);
  CHECK(ex["unique_users"] == 2);
  CHECK(ex["average_per_day"] == 0.16);  // 5 / 31
  CHECK(ex["success_rate_percent"] == 80.0);
  const ojson& lc = j["lifecycle_records"];
  CHECK(lc["image_generation"] == 4);
  CHECK(lc["generation.completed"] == 1);
  CHECK(lc["generation.submitted"] == 2);
  CHECK(lc["generation.started"] == 2);
  CHECK(lc["generation.failed"] == 1);

  const ojson& ac = j["access_summary"];
  CHECK(ac["active_api_keys"] == 2);  // key_a, key_d (key_old revoked, key_c rotated away)
  CHECK(ac["api_keys_used"] == 1);
  CHECK(ac["api_keys_created"] == 2);
  CHECK(ac["api_keys_rotated"] == 1);
  CHECK(ac["api_keys_revoked"] == 1);
  CHECK(ac["failed_authentications"] == 3);
  CHECK(ac["authentications_succeeded"] == 2);
  CHECK(ac["authentications_with_mfa"] == 1);
  CHECK(ac["mfa_percent"] == 50.0);

  const ojson& mu = j["model_usage"];
  CHECK(mu["generations_with_summary"] == 4);
  CHECK(mu["models"][0] == ojson({{"model_version", "sd_xl_base_1.0"}, {"generations", 3}, {"percent", 75.0}}));
  CHECK(mu["models"][1] == ojson({{"model_version", "juggernautXL_v8"}, {"generations", 1}, {"percent", 25.0}}));
  CHECK(mu["models"].size() == 2);
  CHECK(mu["loras"] == ojson::parse(R"([{"lora":"brand-style-v2","generations":2,"percent":50.0}])"));
  CHECK(mu["combinations"].size() == 3);
  CHECK(mu["combinations"][0] ==
        ojson({{"model_version", "sd_xl_base_1.0"}, {"lora", "brand-style-v2"}, {"uses", 2}, {"distinct_users", 1}}));
  CHECK(mu["model_changes"]["total"] == 1);
  CHECK(mu["model_changes"]["entries"][0]["actor"] == "ciso@acme.example");

  const ojson& se = j["safety_events"];
  CHECK(se["nsfw_generations"] == 1);
  CHECK(se["nsfw_percent_of_generations"] == 20.0);
  CHECK(se["safety_checks"]["total"] == 2);
  CHECK(se["safety_checks"]["nsfw"] == 1);
  CHECK(se["safety_checks"]["by_action"]["flagged_for_review"] == 1);
  CHECK(se["safety_checks"]["by_action"]["allowed"] == 1);
  CHECK(se["safety_checks"]["by_action"]["blocked"] == 0);

  const ojson& cp = j["content_policy"];
  CHECK(cp["violations"] == 2);
  CHECK(cp["by_severity"]["high"] == 1);
  CHECK(cp["by_severity"]["low"] == 1);
  CHECK(cp["by_action"]["rejected"] == 1);
  CHECK(cp["by_action"]["flagged"] == 1);
  CHECK(cp["by_rule"].size() == 2);

  const ojson& an = j["anomalies"];
  CHECK(an["alerts_raised"] == 3);
  CHECK(an["by_severity"]["high"] == 2);
  CHECK(an["by_severity"]["medium"] == 1);
  CHECK(an["by_rule"][0] == ojson({{"rule", "unusual_generation_volume"}, {"severity", "high"}, {"count", 2}}));
  CHECK(an["by_rule"][1] == ojson({{"rule", "excessive_failed_auth"}, {"severity", "medium"}, {"count", 1}}));

  const ojson& cc = j["configuration_changes"];
  CHECK(cc["total"] == 1);
  CHECK(cc["entries"][0]["setting"] == "safety_checker.enabled");
  CHECK(cc["entries"][0]["approved_by"] == "security@acme.example");
  CHECK(cc["entries"][0]["changed_by"] == "admin@acme.example");
  CHECK(cc["entries"][0]["ts"] == "2026-03-15T08:00:00.000000Z");

  // Per day: 03-01 has req_1 and req_2; 03-02 the tracker's two; 03-31 req_3.
  const ojson& pd = j["generations_per_day"];
  CHECK(find_row(pd, "date", "2026-03-01")["generations"] == 2);
  CHECK(find_row(pd, "date", "2026-03-01")["nsfw"] == 1);
  CHECK(find_row(pd, "date", "2026-03-02")["generations"] == 2);
  CHECK(find_row(pd, "date", "2026-03-02")["failed"] == 1);
  CHECK(find_row(pd, "date", "2026-03-31")["generations"] == 1);
  CHECK(find_row(pd, "date", "2026-03-15")["policy_violations"] == 2);
  CHECK(find_row(pd, "date", "2026-03-15")["safety_flagged"] == 1);
}

TEST_CASE("report: generation summary per user and access review", "[report]") {
  Built b;
  const ojson j = make(b.dir.path(), "acme_corp").data;
  const ojson& gs = j["generation_summary"];
  REQUIRE(gs.size() == 2);
  CHECK(gs[0] == ojson({{"user_id", "alice@acme.example"},
                        {"generations", 3},
                        {"successful", 3},
                        {"failed", 0},
                        {"nsfw", 0},
                        {"average_duration_ms", 2666.7}}));  // (1000 + 5000 + 2000) / 3
  CHECK(gs[1] == ojson({{"user_id", "bob@acme.example"},
                        {"generations", 2},
                        {"successful", 1},
                        {"failed", 1},
                        {"nsfw", 1},
                        {"average_duration_ms", 2250.0}}));  // (3000 + 1500) / 2

  const ojson& users = j["access_review"]["users"];
  const ojson alice = find_row(users, "user_id", "alice@acme.example");
  CHECK(alice["role"] == "admin");
  CHECK(alice["last_activity"] == "2026-03-31T23:59:59.999999Z");
  CHECK(alice["authentications_with_mfa"] == 1);
  const ojson bob = find_row(users, "user_id", "bob@acme.example");
  CHECK(bob["role"] == "generator");  // granted before the period: the state at its end
  const ojson mallory = find_row(users, "user_id", "mallory@acme.example");
  CHECK(mallory["failed_authentications"] == 3);
  CHECK(mallory["role"].is_null());
  const ojson& pc = j["access_review"]["permission_changes"];
  CHECK(pc["total"] == 1);  // bob's change was before the period
  CHECK(pc["entries"][0]["subject"] == "alice@acme.example");
  CHECK(pc["entries"][0]["approved_by"] == "ciso@acme.example");
  CHECK(pc["entries"][0]["old_value"] == "viewer");
}

TEST_CASE("report: period bounds are half-open on the sealed ts", "[report]") {
  Built b;
  // Without a period: February's and April's generations, the other tenant's and the tenant-less one count.
  const ojson all = make(b.dir.path(), "", false).data;
  CHECK(all["executive_summary"]["total_generations"] == 9);
  CHECK(all["period"]["from"].is_null());
  CHECK(all["period"]["days"] == 33);  // 2026-02-28 .. 2026-04-01: the calendar days touched
  // records.*: counted independently from the files.
  const ojson march = make(b.dir.path(), "acme_corp").data;
  std::uint64_t outside = 0, system = 0, total = 0;
  for (const LogImage::Segment& seg : LogImage::load(b.dir.path()).segs)
    for (const std::string& line : seg.lines) {
      const Rec rec = parse_rec(line);
      ++total;
      // With a tenant, outside_period counts the tenant's own events only and system records are not counted
      // (their number follows the whole log's volume): nothing depends on other tenants' records.
      if (rec.event.find("\"tenant_id\":\"acme_corp\"") == std::string::npos) continue;
      if (rec.ts < "2026-03-01" || rec.ts >= "2026-04-01") ++outside;
    }
  CHECK(march["records"]["delivered"] == total);
  CHECK(march["records"]["outside_period"] == outside);
  CHECK(march["records"]["system"] == system);
  CHECK(outside >= 4);
  // Without a tenant, every record outside the period, and the log.* records in it.
  const ojson march_all = make(b.dir.path()).data;
  std::uint64_t outside_all = 0, system_all = 0;
  for (const LogImage::Segment& seg : LogImage::load(b.dir.path()).segs)
    for (const std::string& line : seg.lines) {
      const Rec rec = parse_rec(line);
      if (rec.ts < "2026-03-01" || rec.ts >= "2026-04-01") ++outside_all;
      else if (rec.event.find("\"event_type\":\"log.") != std::string::npos) ++system_all;
    }
  CHECK(march_all["records"]["outside_period"] == outside_all);
  CHECK(march_all["records"]["system"] == system_all);
  // The last microsecond before the start is out, the start itself is in.
  fa::ReportOptions o;
  o.tenant = "acme_corp";
  o.from_micros = report_workload::at("2026-03-01T00:00:00Z");
  o.to_micros = report_workload::at("2026-03-01T00:00:00.000001Z");
  fa::ComplianceReportGenerator g(o);
  auto r = g.generate(b.dir.path());
  REQUIRE(r.ok());
  CHECK(r->data["executive_summary"]["total_generations"] == 1);
  CHECK(r->data["period"]["days"] == 1);
  o.from_micros = report_workload::at("2026-03-31T23:59:59.999999Z");
  o.to_micros = report_workload::at("2026-04-01T00:00:00Z");
  fa::ComplianceReportGenerator g2(o);
  auto r2 = g2.generate(b.dir.path());
  REQUIRE(r2.ok());
  CHECK(r2->data["executive_summary"]["total_generations"] == 1);
  CHECK(r2->data["generation_summary"][0]["user_id"] == "alice@acme.example");
}

TEST_CASE("report: a tenant's report contains nothing of another tenant in any format", "[report]") {
  Built b;
  const fa::ComplianceReport acme = make(b.dir.path(), "acme_corp");
  for (fa::ReportKind k : {fa::ReportKind::monthly, fa::ReportKind::access, fa::ReportKind::generations,
                           fa::ReportKind::models})
    for (fa::ReportFormat f : {fa::ReportFormat::json, fa::ReportFormat::markdown, fa::ReportFormat::html}) {
      const std::string out = fa::render_report(acme, k, f);
      for (const char* other : {"eve@beta.example", "beta_secret_model", "beta-lora", "key_beta_x", "beta_inc",
                                "root@beta.example", "beta.secret_setting", "notenant@nowhere.example", "7777"})
        CHECK(out.find(other) == std::string::npos);
    }
  // And the other tenant sees its own data only.
  const ojson beta = make(b.dir.path(), "beta_inc").data;
  CHECK(beta["executive_summary"]["total_generations"] == 1);
  CHECK(beta["generation_summary"][0]["user_id"] == "eve@beta.example");
  CHECK(beta["access_summary"]["failed_authentications"] == 1);
  CHECK(beta["access_summary"]["active_api_keys"] == 1);
  CHECK(beta["configuration_changes"]["total"] == 1);
  const std::string beta_html =
      fa::render_report(make(b.dir.path(), "beta_inc"), fa::ReportKind::monthly, fa::ReportFormat::html);
  CHECK(beta_html.find("alice@acme.example") == std::string::npos);
  CHECK(beta_html.find("juggernautXL_v8") == std::string::npos);
  // The all-tenant report has both, and the tenant-less event.
  const ojson all = make(b.dir.path()).data;
  CHECK(all["executive_summary"]["total_generations"] == 7);
  CHECK(all["executive_summary"]["unique_users"] == 4);
}

TEST_CASE("report: a tenant's period facts and record counts come from its own events only", "[report]") {
  Built b;
  // beta_inc's only events are at 2026-03-01T10:00:00Z; the log runs from 2026-02-28 to 2026-04-01. Neither the
  // other tenant's records nor the log.* records (whose number follows the whole log's volume) may show through
  // first/last_record_ts, the period's days, the average per day or the record counts.
  const ojson beta = make(b.dir.path(), "beta_inc", false).data;
  INFO(beta.dump(2));
  CHECK(beta["period"]["first_record_ts"] == "2026-03-01T10:00:00.000000Z");
  CHECK(beta["period"]["last_record_ts"] == "2026-03-01T10:00:00.000000Z");
  CHECK(beta["period"]["days"] == 1);
  CHECK(beta["executive_summary"]["average_per_day"] == 1.0);
  CHECK(beta["records"]["outside_period"] == 0);
  CHECK(beta["records"]["system"] == 0);
  const ojson beta_march = make(b.dir.path(), "beta_inc").data;
  CHECK(beta_march["records"]["outside_period"] == 0);
  CHECK(beta_march["records"]["system"] == 0);
  CHECK(beta_march["records"]["in_report"] == 4);
}

TEST_CASE("report: events with more than 64 top-level members are read in full", "[report]") {
  // Members not listed by the schema are allowed. 70 padding members that sort before "event_type",
  // "processing", "result", "tenant_id" and "user_id" must not hide those members: the events would vanish from
  // their tenant's report (or count as failed generations of no user) while the banner says VERIFIED.
  TempDir dir{"fa_report_wide"};
  {
    report_workload::TimedLog lg(dir.path(), report_workload::at("2026-03-01T00:00:00Z"));
    lg.set("2026-03-02T00:00:00Z");
    auto pad = [](nlohmann::json e) {
      for (int i = 0; i < 70; ++i) e["a" + std::to_string(100 + i)] = i;
      return e;
    };
    lg.log(pad(report_workload::generation("req_w", "wide@acme.example", "acme_corp", "sd_xl_base_1.0", "", 1000,
                                           true)));
    lg.log(pad({{"event_type", "policy.violation"}, {"prompt_hash", report_workload::kHash}, {"rule_id", "R-9"},
                {"rule_name", "padded"}, {"severity", "high"}, {"action", "rejected"}, {"tenant_id", "acme_corp"},
                {"user_id", "wide@acme.example"}}));
    lg.close();
  }
  const ojson j = make(dir.path(), "acme_corp").data;
  INFO(j.dump(2));
  REQUIRE(j["verification"]["verified"] == true);
  CHECK(j["records"]["in_report"] == 2);
  CHECK(j["executive_summary"]["total_generations"] == 1);
  CHECK(j["executive_summary"]["successful_generations"] == 1);
  CHECK(j["executive_summary"]["unique_users"] == 1);
  CHECK(j["safety_events"]["nsfw_generations"] == 1);
  CHECK(j["model_usage"]["models"][0]["model_version"] == "sd_xl_base_1.0");
  CHECK(j["content_policy"]["violations"] == 1);
  CHECK(j["content_policy"]["by_severity"]["high"] == 1);
}

TEST_CASE("report: events the writer lost in the period are named on the banner of an intact log", "[report]") {
  // log.gap (a lossy queue dropped events) and log.recovered (a tail quarantined on recovery) leave a log that
  // verifies but lacks events: "VERIFIED ... the figures below come from verified records" alone would present
  // an incomplete period as complete.
  const std::string ts = "2026-03-02T00:00:00.000000Z";
  auto rec = [&](std::uint64_t seq, const char* type, const char* event) {
    fa::VerifiedRecord r;
    r.seq = seq;
    r.ts = ts;
    r.ts_micros = report_workload::at(ts);
    r.event_type = type;
    r.event = event;
    return r;
  };
  fa::VerifySummary v;
  v.intact = true;
  v.records = 3;
  v.segments = 1;
  v.first_seq = 0;
  v.last_seq = 2;
  for (const char* tenant : {"", "acme_corp"}) {
    fa::ReportOptions o;
    o.tenant = tenant;
    o.generated_at = "2026-04-01T08:00:00Z";
    fa::ComplianceReportGenerator g(o);
    g.add(rec(0, "image_generation",
              R"({"event_type":"image_generation","request_id":"r1","result":"success","tenant_id":"acme_corp","user_id":"u"})"));
    g.add(rec(1, "log.gap", R"({"dropped":7,"event_type":"log.gap","reason":"queue_full"})"));
    g.add(rec(2, "log.recovered",
              R"({"bytes":10,"event_type":"log.recovered","offset":0,"quarantine":"q","reason":"torn_record","segment":"s","sha256":"00"})"));
    const fa::ComplianceReport r = g.finish(v);
    INFO(r.banner);
    CHECK(r.banner.rfind("VERIFIED: ", 0) == 0);
    CHECK(r.banner.find("INCOMPLETE") != std::string::npos);
    CHECK(r.banner.find("7 event(s) dropped") != std::string::npos);
    CHECK(r.banner.find("1 torn or invalid tail(s)") != std::string::npos);
    CHECK(r.data["records"]["dropped_by_writer"] == 7);
    CHECK(r.data["records"]["gap_records"] == 1);
    CHECK(r.data["records"]["recovered_tails"] == 1);
    CHECK(r.data["executive_summary"]["total_generations"] == 1);
    for (fa::ReportKind k : {fa::ReportKind::monthly, fa::ReportKind::access, fa::ReportKind::generations,
                             fa::ReportKind::models})
      for (fa::ReportFormat f : {fa::ReportFormat::json, fa::ReportFormat::markdown, fa::ReportFormat::html})
        CHECK(first_line(fa::render_report(r, k, f)).find("INCOMPLETE") != std::string::npos);
  }
  // Without lost events the banner says nothing of the kind.
  fa::ComplianceReportGenerator g;
  g.add(rec(0, "image_generation",
            R"({"event_type":"image_generation","request_id":"r1","result":"success","user_id":"u"})"));
  CHECK(g.finish(v).banner.find("INCOMPLETE") == std::string::npos);
}

TEST_CASE("report: a tampered log is NOT VERIFIED on the first line of every format with its range",
          "[report]") {
  Built b;
  LogImage img = LogImage::load(b.dir.path());
  // Alter req_2 (bob's NSFW generation) into a clean one without re-sealing.
  std::uint64_t victim = 0;
  for (const auto& s : img.segs)
    for (const std::string& l : s.lines)
      if (l.find("\"req_2\"") != std::string::npos && l.find("image_generation") != std::string::npos)
        victim = parse_rec(l).seq;
  REQUIRE(victim > 0);
  img.line(victim) = replace_once(img.line(victim), "\"has_nsfw_concepts\":true", "\"has_nsfw_concepts\":false");
  img.save(b.dir.path());
  const fa::ComplianceReport r = make(b.dir.path(), "acme_corp");
  CHECK_FALSE(r.verified);
  for (fa::ReportFormat f : {fa::ReportFormat::json, fa::ReportFormat::markdown, fa::ReportFormat::html}) {
    const std::string line = first_line(fa::render_report(r, fa::ReportKind::monthly, f));
    INFO(line);
    CHECK(line.find("NOT VERIFIED") != std::string::npos);
    CHECK(line.find("seq " + std::to_string(victim)) != std::string::npos);
    CHECK(line.find("VERIFIED: log") == std::string::npos);
  }
  CHECK(first_line(fa::render_report(r, fa::ReportKind::access, fa::ReportFormat::json)).find("NOT VERIFIED") !=
        std::string::npos);
  const ojson j = ojson::parse(fa::render_report(r, fa::ReportKind::monthly, fa::ReportFormat::json));
  CHECK(j["verification"]["verified"] == false);
  bool named = false;
  for (const auto& br : j["verification"]["broken_ranges"])
    named = named || (br["first_seq"] <= victim && br["last_seq"] >= victim);
  CHECK(named);
  // An intact log says VERIFIED on its first line.
  Built clean;
  const std::string ok = fa::render_report(make(clean.dir.path()), fa::ReportKind::monthly, fa::ReportFormat::markdown);
  CHECK(first_line(ok).rfind("VERIFIED: log ", 0) == 0);
}

TEST_CASE("report: a log cut at its tail with an anchor is not verified", "[report]") {
  Built b;
  const fa::VerifySummary before = verify_path(b.dir.path());
  REQUIRE(before.intact);
  fa::Anchor anchor;
  anchor.log_id = before.log_id;
  anchor.seq = *before.last_seq;
  anchor.head = *before.head;
  {
    fa::VerifyOptions vo;
    vo.anchor = anchor;
    const fa::ComplianceReport ok = make(b.dir.path(), "acme_corp", true, vo);
    CHECK(ok.verified);
    CHECK(ok.banner.find("no anchor") == std::string::npos);
    CHECK(make(b.dir.path()).banner.find("not checked: no anchor (records deleted from the end") != std::string::npos);
  }
  LogImage img = LogImage::load(b.dir.path());
  img.segs.back().lines.pop_back();  // the newest record removed: March's figures would not change
  img.save(b.dir.path());
  fa::VerifyOptions vo;
  vo.anchor = anchor;
  const fa::ComplianceReport r = make(b.dir.path(), "acme_corp", true, vo);
  CHECK_FALSE(r.verified);
  CHECK(r.banner.rfind("NOT VERIFIED", 0) == 0);
  CHECK(r.banner.find("truncated_tail") != std::string::npos);
}

TEST_CASE("report: strings from the log are escaped in HTML and Markdown", "[report]") {
  TempDir dir, outputs;
  {
    report_workload::TimedLog lg(dir.path(), report_workload::at("2026-03-05T00:00:00Z"));
    lg.log(report_workload::generation("r1", "<script>alert(1)</script>", "t", "\"><img src=x onerror=alert(2)>",
                                       "<b>lora</b>|x", 10, false));
    lg.log({{"event_type", "config.updated"}, {"setting", "</td><script>alert(3)</script>"}, {"changed_by", "a&b"},
            {"approved_by", "'quote'"}});
    lg.close();
  }
  fa::ReportOptions o;
  o.generated_at = "<i>now</i>";
  fa::ComplianceReportGenerator g(o);
  auto r = g.generate(dir.path());
  REQUIRE(r.ok());
  for (fa::ReportKind k : {fa::ReportKind::monthly, fa::ReportKind::access, fa::ReportKind::generations,
                           fa::ReportKind::models}) {
    const std::string html = fa::render_report(*r, k, fa::ReportFormat::html);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("<img") == std::string::npos);
    CHECK(html.find("<b>") == std::string::npos);
    CHECK(html.find("<i>") == std::string::npos);
    const std::string md = fa::render_report(*r, k, fa::ReportFormat::markdown);
    CHECK(md.find("<script") == std::string::npos);
    CHECK(md.find("<img") == std::string::npos);
  }
  const std::string html = fa::render_report(*r, fa::ReportKind::monthly, fa::ReportFormat::html);
  CHECK(fa::render_report(*r, fa::ReportKind::generations, fa::ReportFormat::html)
            .find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;") != std::string::npos);
  CHECK(html.find("a&amp;b") != std::string::npos);
  CHECK(html.find("&#39;quote&#39;") != std::string::npos);
  // Self-contained: no external resources, no scripts.
  std::string stripped = html;
  for (std::size_t at; (at = stripped.find("http://www.w3.org/2000/svg")) != std::string::npos;) stripped.erase(at, 26);
  CHECK(stripped.find("http") == std::string::npos);
  CHECK(stripped.find("<script") == std::string::npos);
  CHECK(html.find("<svg") != std::string::npos);
  // The JSON keeps the values exactly.
  const ojson j = ojson::parse(fa::render_report(*r, fa::ReportKind::generations, fa::ReportFormat::json));
  CHECK(j["generation_summary"][0]["user_id"] == "<script>alert(1)</script>");
}

TEST_CASE("report: long chart labels are shortened on a character boundary", "[report]") {
  TempDir dir, outputs;
  std::string model;
  for (int i = 0; i < 30; ++i) model += "\xC3\xA9";  // 30 x U+00E9, 60 bytes: byte 37 is inside a character
  {
    report_workload::TimedLog lg(dir.path(), report_workload::at("2026-03-05T00:00:00Z"));
    lg.log(report_workload::generation("r1", "alice", "t", model, "", 10, false));
    lg.close();
  }
  fa::ComplianceReportGenerator g{fa::ReportOptions{}};
  auto r = g.generate(dir.path());
  REQUIRE(r.ok());
  const std::string html = fa::render_report(*r, fa::ReportKind::models, fa::ReportFormat::html);
  CHECK(fa::utf8::is_valid(html));
  CHECK(html.find(model.substr(0, 36) + "...") != std::string::npos);  // 18 characters, not 18 and a half
  CHECK(html.find(model) != std::string::npos);                        // the table keeps the whole name
}

TEST_CASE("report: the JSON schema members are stable and the banner is on the first line", "[report]") {
  Built b;
  const fa::ComplianceReport r = make(b.dir.path(), "acme_corp");
  auto keys = [](const ojson& o) {
    std::vector<std::string> k;
    for (const auto& it : o.items()) k.push_back(it.key());
    return k;
  };
  const std::vector<std::string> head = {"banner", "schema", "kind", "title", "generated_at",
                                         "verification", "period", "tenant", "records"};
  auto with = [&](std::vector<std::string> rest) {
    std::vector<std::string> all = head;
    all.insert(all.end(), rest.begin(), rest.end());
    return all;
  };
  const std::string text = fa::render_report(r, fa::ReportKind::monthly, fa::ReportFormat::json);
  CHECK(first_line(text).rfind("{\"banner\": \"VERIFIED: log ", 0) == 0);
  const ojson m = ojson::parse(text);
  CHECK(keys(m) == with({"executive_summary", "access_summary", "model_usage", "safety_events", "content_policy",
                         "anomalies", "configuration_changes", "generations_per_day", "lifecycle_records"}));
  CHECK(keys(ojson::parse(fa::render_report(r, fa::ReportKind::access, fa::ReportFormat::json))) ==
        with({"access_summary", "access_review"}));
  CHECK(keys(ojson::parse(fa::render_report(r, fa::ReportKind::generations, fa::ReportFormat::json))) ==
        with({"executive_summary", "lifecycle_records", "generation_summary", "generations_per_day"}));
  CHECK(keys(ojson::parse(fa::render_report(r, fa::ReportKind::models, fa::ReportFormat::json))) ==
        with({"executive_summary", "model_usage"}));
  CHECK(keys(m["verification"]) == std::vector<std::string>{"verified", "log_id", "records", "segments",
                                                            "first_seq", "last_seq", "head", "merkle_root",
                                                            "findings_total", "broken_ranges", "guarantees"});
  CHECK(keys(m["executive_summary"]) ==
        std::vector<std::string>{"total_generations", "successful_generations", "failed_generations", "unique_users",
                                 "average_per_day", "success_rate_percent"});
  CHECK(keys(m["access_summary"]) ==
        std::vector<std::string>{"active_api_keys", "api_keys_used", "api_keys_created", "api_keys_rotated",
                                 "api_keys_revoked", "authentications_succeeded", "failed_authentications",
                                 "authentications_with_mfa", "mfa_percent", "sessions_started"});
  CHECK(m["kind"] == "monthly");
  // Rendering is deterministic (generated_at fixed).
  CHECK(text == fa::render_report(make(b.dir.path(), "acme_corp"), fa::ReportKind::monthly, fa::ReportFormat::json));
}

TEST_CASE("report: period parsing and the change lists are capped", "[report]") {
  CHECK(fa::parse_report_time("2026-03-01").value() == fa::parse_report_time("2026-03-01T00:00:00Z").value());
  CHECK(fa::parse_report_time("2026-03-01T00:00:00.5Z").value() ==
        fa::parse_report_time("2026-03-01T00:00:00.500000Z").value());
  CHECK_FALSE(fa::parse_report_time("2026-03-01T00:00:00+01:00").ok());
  CHECK_FALSE(fa::parse_report_time("2026-02-30").ok());
  CHECK_FALSE(fa::parse_report_time("yesterday").ok());
  std::int64_t from = 0, to = 0;
  REQUIRE(fa::month_period("2026-12", &from, &to).ok());
  CHECK(to == fa::parse_report_time("2027-01-01").value());
  CHECK_FALSE(fa::month_period("2026-13", &from, &to).ok());
  CHECK_FALSE(fa::month_period("2026-1", &from, &to).ok());

  TempDir dir;
  {
    report_workload::TimedLog lg(dir.path(), report_workload::at("2026-03-05T00:00:00Z"));
    for (int i = 0; i < 30; ++i)
      lg.log({{"event_type", "config.updated"}, {"setting", "s" + std::to_string(i)}, {"changed_by", "a"}});
    lg.close();
  }
  fa::ReportOptions o;
  o.max_list_entries = 10;
  fa::ComplianceReportGenerator g(o);
  auto r = g.generate(dir.path());
  REQUIRE(r.ok());
  CHECK(r->data["configuration_changes"]["total"] == 30);
  CHECK(r->data["configuration_changes"]["truncated"] == true);
  CHECK(r->data["configuration_changes"]["entries"].size() == 10);
  CHECK(r->data["executive_summary"]["success_rate_percent"].is_null());  // no generations: no rate
}

TEST_CASE("report: a missing log directory is an error and an empty one an empty verified report", "[report]") {
  TempDir dir;
  fa::ComplianceReportGenerator g;
  CHECK_FALSE(g.generate(dir / "missing").ok());
  fa::ComplianceReportGenerator g2;
  auto r = g2.generate(dir.path());
  REQUIRE(r.ok());
  CHECK(r->verified);
  CHECK(r->data["executive_summary"]["total_generations"] == 0);
  CHECK(r->data["executive_summary"]["average_per_day"].is_null());
}

TEST_CASE("report: every figure of the HTML page equals the JSON report at its pointer", "[report]") {
  Built b;
  const fa::ComplianceReport r = make(b.dir.path(), "acme_corp");
  auto unescape = [](std::string s) {
    for (auto [from, to] : {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}})
      for (std::size_t at; (at = s.find(from)) != std::string::npos;) s.replace(at, std::strlen(from), to);
    return s;
  };
  for (fa::ReportKind k : {fa::ReportKind::monthly, fa::ReportKind::access, fa::ReportKind::generations,
                           fa::ReportKind::models}) {
    const std::string html = fa::render_report(r, k, fa::ReportFormat::html);
    const ojson j = ojson::parse(fa::render_report(r, k, fa::ReportFormat::json));
    std::size_t figures = 0;
    for (std::size_t at = 0; (at = html.find("<span data-figure=\"", at)) != std::string::npos; ++figures) {
      at += 19;
      const std::string pointer = unescape(html.substr(at, html.find('"', at) - at));
      const std::size_t text_at = html.find('>', at) + 1;
      const std::string text = unescape(html.substr(text_at, html.find("</span>", text_at) - text_at));
      INFO(pointer);
      const ojson& v = j.at(ojson::json_pointer(pointer));
      CHECK(text == (v.is_null() ? "n/a" : v.is_string() ? v.get<std::string>() : v.dump()));
    }
    CHECK(figures > 20);
  }
  const std::string page = fa::render_report(r, fa::ReportKind::monthly, fa::ReportFormat::html);
  CHECK(page.find("data-figure=\"/executive_summary/total_generations\">5<") != std::string::npos);
  CHECK(page.find("data-figure=\"/executive_summary/success_rate_percent\">80.0<") != std::string::npos);
}
