// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file tests/support/report_workload.hpp
/// A known workload for the report tests (test_compliance_report.cpp, test_cli_report.cpp): two tenants, a
/// period (March 2026) with records on both sides of its bounds, a GenerationTracker writing lifecycle events
/// and image_generation summaries, access, keys, safety, policy, alerts and configuration events. Every
/// figure the tests expect is derived in the comments next to the events.

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "fooocus_audit/fooocus_audit.hpp"
#include "files.hpp"

namespace fa_test {

namespace report_workload {

namespace fa = fooocus_audit;

inline std::int64_t at(const std::string& ts) {
  auto r = fa::parse_report_time(ts);
  if (!r) throw std::runtime_error("bad test time " + ts);
  return r.value();
}

inline const std::string kHash = "hmac-sha256:" + std::string(64, 'a');

/// An image_generation summary as GenerationEvent writes it (only the members the report reads, and more).
inline nlohmann::json generation(const std::string& req, const std::string& user, const std::string& tenant,
                                 const std::string& model, const std::string& lora, std::int64_t duration_ms,
                                 bool nsfw, const std::string& result = "success") {
  nlohmann::json loras = nlohmann::json::array();
  if (!lora.empty()) loras.push_back({{"name", lora}, {"weight", 0.8}});
  nlohmann::json e = {{"event_type", "image_generation"},
                      {"version", "1.0"},
                      {"request_id", req},
                      {"user_id", user},
                      {"request", {{"prompt_sanitized", "a watch"}, {"num_images", 1}, {"loras", loras}}},
                      {"processing", {{"model_version", model}, {"generation_duration_ms", duration_ms}}},
                      {"safety", {{"has_nsfw_concepts", nsfw}, {"safety_checker_version", "v2.1"}}},
                      {"result", result}};
  if (!tenant.empty()) e["tenant_id"] = tenant;
  return e;
}

/// A log whose clock the test sets: every event logged after set(T) and before the next set() is sealed at T.
class TimedLog {
 public:
  TimedLog(const std::string& dir, std::int64_t start) : now_(std::make_shared<std::atomic<std::int64_t>>(start)) {
    fa::LoggerOptions o;
    o.dir = dir;
    o.durability = fa::Durability::none;
    auto now = now_;
    o.clock_micros = [now] { return now->load(); };
    auto r = fa::AuditLogger::open(std::move(o));
    if (!r) throw std::runtime_error("open: " + r.status().to_string());
    logger_ = std::move(r).value();
  }
  void set(const std::string& ts) {
    flush();
    now_->store(at(ts));
  }
  void log(const nlohmann::json& e) {
    if (fa::Status s = logger_->log(e); !s) throw std::runtime_error("log: " + s.to_string() + " " + e.dump());
  }
  void flush() {
    if (fa::Status s = logger_->flush(); !s) throw std::runtime_error("flush: " + s.to_string());
  }
  void close() {
    if (fa::Status s = logger_->close(); !s) throw std::runtime_error("close: " + s.to_string());
  }
  fa::AuditLogger& logger() { return *logger_; }

 private:
  std::shared_ptr<std::atomic<std::int64_t>> now_;
  std::unique_ptr<fa::AuditLogger> logger_;
};

/// Writes the workload into `dir` (which must exist and be empty). `outputs` is a scratch directory for the
/// tracker's output files.
inline void write(const std::string& dir, const std::string& outputs) {
  TimedLog lg(dir, at("2026-02-28T23:00:00Z"));
  const std::string A = "acme_corp", B = "beta_inc";
  auto ctx = [](nlohmann::json e, const std::string& user, const std::string& tenant) {
    if (!user.empty()) e["user_id"] = user;
    if (!tenant.empty()) e["tenant_id"] = tenant;
    return e;
  };

  // Before the period: state the period inherits (bob's role, key_old), and a generation that is not counted.
  lg.set("2026-02-28T23:59:59.999999Z");
  lg.log(ctx({{"event_type", "permission.changed"}, {"subject", "bob@acme.example"}, {"permission", "role"},
              {"old_value", "viewer"}, {"new_value", "generator"}, {"changed_by", "admin@acme.example"}},
             "", A));
  lg.log(ctx({{"event_type", "apikey.created"}, {"key_id", "key_old"}, {"owner", "svc"}, {"actor", "admin@acme.example"}},
             "", A));
  lg.log(generation("req_feb", "alice@acme.example", A, "sd_xl_base_1.0", "", 999, true));

  // 2026-03-01, exactly at the period's start: counted.
  lg.set("2026-03-01T00:00:00Z");
  lg.log(generation("req_1", "alice@acme.example", A, "sd_xl_base_1.0", "brand-style-v2", 1000, false));
  lg.set("2026-03-01T10:00:00Z");
  lg.log(generation("req_2", "bob@acme.example", A, "sd_xl_base_1.0", "", 3000, true));
  // The other tenant and an event without a tenant: in the all-tenant report only.
  lg.log(generation("req_b1", "eve@beta.example", B, "beta_secret_model", "beta-lora", 7777, true));
  lg.log(generation("req_n1", "notenant@nowhere.example", "", "sd_xl_base_1.0", "", 100, false));
  lg.log(ctx({{"event_type", "apikey.created"}, {"key_id", "key_beta_x"}, {"owner", "eve@beta.example"}}, "", B));
  lg.log(ctx({{"event_type", "auth.failed"}, {"method", "password"}, {"reason", "bad credentials"}},
             "eve@beta.example", B));
  lg.log(ctx({{"event_type", "config.updated"}, {"setting", "beta.secret_setting"}, {"old_value", 1}, {"new_value", 2},
              {"changed_by", "root@beta.example"}},
             "", B));

  // 2026-03-02: the tracker writes lifecycle events and one image_generation per completed request.
  lg.set("2026-03-02T09:00:00Z");
  {
    auto ms = std::make_shared<std::int64_t>(0);
    fa::TrackerOptions to;
    to.clock_ms = [ms] { return *ms; };
    fa::GenerationTracker tr(lg.logger(), to);
    fa::GenerationTracker::Submission sub;
    sub.user_id = "alice@acme.example";
    sub.tenant_id = A;
    sub.model_version = "juggernautXL_v8";
    sub.request.num_images = 1;
    auto check = [](fa::Status s) {
      if (!s) throw std::runtime_error("tracker: " + s.to_string());
    };
    check(tr.submitted("req_t1", sub));
    check(tr.started("req_t1", "gpu-0"));
    *ms = 5000;
    write_bytes(outputs + "/t1.png", "not really a png");
    fa::GenerationTracker::Completion c;
    c.outputs.push_back({outputs + "/t1.png", "s3://bucket/t1.png", false});
    check(tr.completed("req_t1", c));  // generation.completed + image_generation (5000 ms): ONE generation
    sub.user_id = "bob@acme.example";
    check(tr.submitted("req_t2", sub));
    *ms = 6000;
    check(tr.started("req_t2", "gpu-1"));
    *ms = 7500;
    check(tr.failed("req_t2", "CUDA out of memory", 1));  // a failed generation of 1500 ms
  }
  lg.set("2026-03-02T12:00:00Z");
  for (int i = 0; i < 3; ++i)
    lg.log(ctx({{"event_type", "auth.failed"}, {"method", "password"}, {"reason", "bad credentials"}},
               "mallory@acme.example", A));
  lg.log(ctx({{"event_type", "auth.succeeded"}, {"method", "oidc"}, {"mfa", true}}, "alice@acme.example", A));
  lg.log(ctx({{"event_type", "auth.succeeded"}, {"method", "password"}, {"mfa", false}}, "bob@acme.example", A));
  lg.log(ctx({{"event_type", "apikey.created"}, {"key_id", "key_a"}, {"owner", "svc"}}, "", A));
  lg.log(ctx({{"event_type", "apikey.used"}, {"key_id", "key_a"}}, "", A));
  lg.log(ctx({{"event_type", "apikey.used"}, {"key_id", "key_a"}}, "", A));
  lg.log(ctx({{"event_type", "apikey.revoked"}, {"key_id", "key_old"}}, "", A));
  lg.log(ctx({{"event_type", "apikey.created"}, {"key_id", "key_c"}}, "", A));
  lg.log(ctx({{"event_type", "apikey.rotated"}, {"key_id", "key_c"}, {"new_key_id", "key_d"}}, "", A));
  lg.log(ctx({{"event_type", "permission.changed"}, {"subject", "alice@acme.example"}, {"permission", "role"},
              {"old_value", "viewer"}, {"new_value", "admin"}, {"changed_by", "admin@acme.example"},
              {"approved_by", "ciso@acme.example"}},
             "", A));
  lg.set("2026-03-15T08:00:00Z");
  lg.log(ctx({{"event_type", "config.updated"}, {"setting", "safety_checker.enabled"}, {"old_value", false},
              {"new_value", true}, {"changed_by", "admin@acme.example"}, {"approved_by", "security@acme.example"}},
             "", A));
  lg.log(ctx({{"event_type", "policy.violation"}, {"prompt_hash", kHash}, {"rule_id", "R-017"},
              {"rule_name", "public figures"}, {"severity", "high"}, {"action", "rejected"}},
             "bob@acme.example", A));
  lg.log(ctx({{"event_type", "policy.violation"}, {"prompt_hash", kHash}, {"rule_id", "R-002"},
              {"rule_name", "violence"}, {"severity", "low"}, {"action", "flagged"}},
             "bob@acme.example", A));
  lg.log(ctx({{"event_type", "safety_check.completed"}, {"request_id", "req_2"}, {"prompt_hash", kHash},
              {"has_nsfw_concepts", {false, true}}, {"action", "flagged_for_review"}},
             "bob@acme.example", A));
  lg.log(ctx({{"event_type", "safety_check.completed"}, {"request_id", "req_1"}, {"prompt_hash", kHash},
              {"has_nsfw_concepts", false}, {"action", "allowed"}},
             "alice@acme.example", A));
  for (int i = 0; i < 2; ++i)
    lg.log(ctx({{"event_type", "alert.raised"}, {"rule", "unusual_generation_volume"}, {"severity", "high"},
                {"kind", "baseline"}, {"group", {{"user_id", "alice@acme.example"}}}, {"value", 40}, {"threshold", 30},
                {"window_seconds", 3600}, {"message", "unusual volume"}},
               "alice@acme.example", A));
  lg.log(ctx({{"event_type", "alert.raised"}, {"rule", "excessive_failed_auth"}, {"severity", "medium"},
              {"kind", "threshold"}, {"value", 11}, {"threshold", 10}, {"window_seconds", 300}},
             "", A));
  lg.log(ctx({{"event_type", "model.approved"}, {"model_id", "sd_xl_base_1.0"}, {"version", "1.0"},
              {"actor", "ciso@acme.example"}},
             "", A));

  // The last microsecond of the period is in it; the first of April is not.
  lg.set("2026-03-31T23:59:59.999999Z");
  lg.log(generation("req_3", "alice@acme.example", A, "sd_xl_base_1.0", "brand-style-v2", 2000, false));
  lg.set("2026-04-01T00:00:00Z");
  lg.log(generation("req_apr", "alice@acme.example", A, "sd_xl_base_1.0", "", 1, false));
  lg.close();
}

}  // namespace report_workload
}  // namespace fa_test
