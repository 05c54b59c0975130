// SPDX-License-Identifier: Apache-2.0
// The event schema (docs/events.md): every known event type accepted in full and refused by each rule of its
// table entry with a message naming the member (never its value); key identifiers versus key material; the
// seed article's §2.2 record; custom and unknown types; typed builders; the same checks through
// AuditLogger::log (both overloads) and through `fooocus-audit append`.

#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/events.hpp"
#include "support/cli_support.hpp"
#include "support/log_fixture.hpp"
#include "support/logger_support.hpp"

namespace fa = fooocus_audit;
namespace ev = fooocus_audit::events;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nlohmann::json;

namespace {

// Real SHA-256 values (of "", "abc" and "hello").
const std::string kH1 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kH2 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const std::string kH3 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

// A value no error message may repeat.
const std::string kMarker = "SECRETMARKER";

std::string message_of(const json& e) { return ev::validate_event(e).message(); }

json with_common(json e) {
  const json common = {{"timestamp", "2026-03-25T14:30:45.123Z"},
                       {"user_id", "alice@enterprise.com"},
                       {"tenant_id", "acme_corp"},
                       {"session_id", "sess_abc123def456"},
                       {"ip_address", "10.2.3.4"},
                       {"user_agent", "Fooocus-API-client/1.0"}};
  for (const auto& [k, v] : common.items())
    if (!e.contains(k)) e[k] = v;
  return e;
}

void expect_refused(const std::string& type, const json& e, const std::string& path,
                    const std::string& what) {
  const fa::Status s = ev::validate_event(e);
  INFO("event " << e.dump());
  INFO("message " << s.message());
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == fa::Code::invalid_argument);
  CHECK_THAT(s.message(), StartsWith(type + ": " + path));
  CHECK_THAT(s.message(), Contains(what));
  CHECK_THAT(s.message(), !Contains(kMarker));
}

std::vector<json> wrong_values(fa::events::FieldType t) {
  using FT = fa::events::FieldType;
  switch (t) {
    case FT::string:
      return {42, true, nullptr, json::array({"x"}), json::object()};
    case FT::integer:
      return {"7", 1.5, true, nullptr, json::array()};
    case FT::number:
      return {"1.5", true, nullptr, json::object()};
    case FT::boolean:
      return {"true", 1, nullptr};
    case FT::object:
      return {"x", json::array({1}), nullptr};
    case FT::any:
      return {};
    case FT::string_array:
      return {"a", json::object(), json::array({"a", 1})};
    case FT::object_array:
      return {json::object(), "x", json::array({1})};
    case FT::bool_or_bool_array:
      return {"yes", 1, nullptr, json::array({true, "no"})};
    case FT::seed:
      return {-1, "12a", "", true, 1.5, nullptr};
  }
  return {};
}

json bad_format_value(fa::events::FieldFormat f) {
  using FF = fa::events::FieldFormat;
  switch (f) {
    case FF::none:
      return nullptr;
    case FF::sha256:
      return "sha256:" + kH1.substr(0, 32);  // truncated, like the article's example
    case FF::prompt_hash:
      return "md5:" + kH1;
    case FF::timestamp:
      return "25/03/2026 14:30 " + kMarker;
    case FF::key_id:
      return "sk-" + kMarker + "abcdefghijklmnop";
    case FF::host:
      return "hooks.example.com/services/" + kMarker + "?token=x";
  }
  return nullptr;
}

// Walks one schema level: every rule of every member is broken once in a copy of `full`, which must be
// refused with a message that starts with "<type>: <path>".
void break_each_rule(const std::string& type, const json& full, const std::vector<ev::FieldSpec>& fields,
                     const json::json_pointer& base, const std::string& prefix) {
  for (const ev::FieldSpec& f : fields) {
    const json::json_pointer at = base / f.name;
    const std::string path = prefix + f.name;
    INFO("member " << path);
    if (f.presence == ev::Presence::forbidden) {
      json e = full;
      e[at] = "some text";
      expect_refused(type, e, path, "must not be present");
      continue;
    }
    REQUIRE(full.contains(at));  // the example carries every member, so every rule is exercised
    if (f.presence == ev::Presence::required) {
      json e = full;
      e[base].erase(f.name);
      expect_refused(type, e, path, "is missing");
      if (f.type == ev::FieldType::string) {
        e[at] = "";
        expect_refused(type, e, path, "required string is empty");
      }
    }
    for (const json& bad : wrong_values(f.type)) {
      json e = full;
      e[at] = bad;
      expect_refused(type, e, path, "must be");
    }
    if (!f.allowed.empty()) {
      json e = full;
      e[at] = kMarker;
      expect_refused(type, e, path, "must be one of");
      e[at] = f.allowed.front() + " ";
      expect_refused(type, e, path, "must be one of");
    }
    if (f.format != ev::FieldFormat::none) {
      json e = full;
      e[at] = bad_format_value(f.format);
      expect_refused(type, e, path, f.format == ev::FieldFormat::key_id ? "key material" : "must be");
      if (!f.empty_means_absent && f.presence != ev::Presence::required) {
        e[at] = "";
        expect_refused(type, e, path, "must be");
      }
    }
    if (f.type == ev::FieldType::integer) {
      json e = full;
      if (f.min > -fa::record::kMaxSafeInteger) {
        e[at] = f.min - 1;
        expect_refused(type, e, path, "must be an integer");
        e[at] = f.min;
        CHECK(ev::validate_event(e).ok());
      }
      if (f.max < fa::record::kMaxSafeInteger) {
        e[at] = f.max + 1;
        expect_refused(type, e, path, "must be an integer");
      }
      e[at] = std::uint64_t{1} << 60;
      expect_refused(type, e, path, "must be an integer");
      e[at] = static_cast<double>(full[at].get<std::int64_t>());  // 3.0 is the integer 3
      CHECK(ev::validate_event(e).ok());
    }
    if (f.type == ev::FieldType::object) break_each_rule(type, full, f.members, at, path + ".");
    if (f.type == ev::FieldType::object_array) {
      REQUIRE_FALSE(full[at].empty());
      break_each_rule(type, full, f.members, at / 0, path + "[0].");
    }
  }
}

// The whole schema entry of `type` against a full example: accepted, each rule refused by name, members not
// in the schema allowed.
void check_type(const std::string& type, const json& example) {
  const json full = with_common(example);
  INFO("example " << full.dump());
  REQUIRE(full["event_type"] == type);
  const fa::Status ok = ev::validate_event(full);
  INFO(ok.message());
  REQUIRE(ok.ok());
  const ev::EventSchema* s = ev::find_schema(type);
  REQUIRE(s != nullptr);
  break_each_rule(type, full, s->fields, json::json_pointer(), "");
  json extra = full;
  extra["x_application_member"] = {{"anything", json::array({1, "two", nullptr})}};
  CHECK(ev::validate_event(extra).ok());
}

// Full examples: every member the contract lists (the members every event may carry are added by
// with_common()).
json image_generation_example() {
  return json::parse(R"({
    "event_type": "image_generation", "version": "1.0", "timestamp": "2026-03-25T14:30:45.123Z",
    "request_id": "req_764cabcf-b745-4b3e-ae38-1200304cf45b", "user_id": "alice@enterprise.com",
    "tenant_id": "acme_corp", "session_id": "sess_abc123def456", "ip_address": "10.2.3.4",
    "user_agent": "Fooocus-API-client/1.0",
    "request": {
      "prompt_sanitized": "professional product photography, luxury watch on marble surface",
      "prompt_hash": "sha256:)" +
                     kH1 + R"(",
      "negative_prompt": "blurry, low resolution, watermark", "performance": "Quality",
      "aspect_ratio": "1024x1024", "num_images": 1, "seed": 176400,
      "loras": [{"name": "brand-style-v2", "weight": 0.8}],
      "styles": ["Fooocus Enhance", "Fooocus Sharp"], "guidance_scale": 4.0, "sharpness": 2.0,
      "enable_safety_checker": true
    },
    "processing": {"worker_id": "gpu-node-5", "queue_wait_ms": 234, "generation_duration_ms": 8542,
                   "retry_count": 0, "model_version": "sd_xl_base_1.0", "refiner_model": "None"},
    "outputs": [{"url": "s3://company-images/generations/acme_corp/req_764cabcf.png",
                 "hash": "sha256:)" +
                     kH2 + R"(", "width": 1024, "height": 1024, "file_size_bytes": 524288}],
    "safety": {"has_nsfw_concepts": false, "safety_checker_version": "v2.1"},
    "result": "success"
  })");
}

json request_object() { return image_generation_example()["request"]; }

}  // namespace

// --- one test per event type
// -----------------------------------------------------------------------------------

TEST_CASE("events: image_generation", "[events]") {
  check_type("image_generation", image_generation_example());
}

TEST_CASE("events: generation.submitted", "[events]") {
  check_type("generation.submitted", {{"event_type", "generation.submitted"},
                                      {"request_id", "req_1"},
                                      {"request", request_object()},
                                      {"model_version", "sd_xl_base_1.0"},
                                      {"refiner_model", "None"}});
}

TEST_CASE("events: generation.queued", "[events]") {
  check_type("generation.queued",
             {{"event_type", "generation.queued"}, {"request_id", "req_1"}, {"queue_position", 3}});
}

TEST_CASE("events: generation.started", "[events]") {
  check_type("generation.started", {{"event_type", "generation.started"},
                                    {"request_id", "req_1"},
                                    {"worker_id", "gpu-node-5"},
                                    {"queue_wait_ms", 234}});
}

TEST_CASE("events: generation.completed", "[events]") {
  check_type("generation.completed",
             {{"event_type", "generation.completed"},
              {"request_id", "req_1"},
              {"generation_duration_ms", 8542},
              {"outputs",
               {{{"url", "s3://company-images/req_1_0.png"},
                 {"path", "outputs/req_1_0.png"},
                 {"sha256", "sha256:" + kH2},
                 {"width", 1024},
                 {"height", 1024},
                 {"file_size_bytes", 524288},
                 {"format", "png"}}}},
              {"safety", {{"has_nsfw_concepts", json::array({false})}, {"safety_checker_version", "v2.1"}}}});
  // The existing tests' minimal form stays valid.
  CHECK(ev::validate_event({{"event_type", "generation.completed"}, {"request_id", "req_1"}}).ok());
}

TEST_CASE("events: generation.failed", "[events]") {
  check_type("generation.failed", {{"event_type", "generation.failed"},
                                   {"request_id", "req_1"},
                                   {"error_details", "CUDA out of memory"},
                                   {"retry_count", 1},
                                   {"generation_duration_ms", 1200}});
  CHECK(message_of({{"event_type", "generation.failed"}, {"request_id", "req_1"}}) ==
        "generation.failed: error_details: required string is missing");
}

TEST_CASE("events: generation.cancelled", "[events]") {
  check_type("generation.cancelled", {{"event_type", "generation.cancelled"},
                                      {"request_id", "req_1"},
                                      {"cancelled_by", "alice@enterprise.com"},
                                      {"reason", "stopped by user"}});
}

TEST_CASE("events: generation.abandoned", "[events]") {
  check_type("generation.abandoned", {{"event_type", "generation.abandoned"},
                                      {"request_id", "req_1"},
                                      {"last_state", "queued"},
                                      {"timeout_ms", 600000}});
}

TEST_CASE("events: generation.anomaly", "[events]") {
  check_type("generation.anomaly", {{"event_type", "generation.anomaly"},
                                    {"request_id", "req_1"},
                                    {"anomaly", "completed_twice"},
                                    {"state", "completed"},
                                    {"received", "generation.completed"}});
}

TEST_CASE("events: webhook.delivered", "[events]") {
  check_type("webhook.delivered", {{"event_type", "webhook.delivered"},
                                   {"request_id", "req_1"},
                                   {"attempt", 1},
                                   {"status", 200},
                                   {"url_host", "hooks.example.com"},
                                   {"retry", false}});
  for (const char* host : {"hooks.example.com:8443", "10.0.0.7", "[2001:db8::1]:443", "localhost"})
    CHECK(ev::validate_event(
              {{"event_type", "webhook.delivered"}, {"request_id", "r"}, {"attempt", 1}, {"url_host", host}})
              .ok());
  for (const char* host : {"https://hooks.example.com", "user:pw@hooks.example.com", "hooks.example.com/x",
                           "hooks.example.com?sig=1", "hooks.example.com:", "[::1"})
    CHECK_FALSE(
        ev::validate_event(
            {{"event_type", "webhook.delivered"}, {"request_id", "r"}, {"attempt", 1}, {"url_host", host}})
            .ok());
}

TEST_CASE("events: webhook.failed", "[events]") {
  check_type("webhook.failed", {{"event_type", "webhook.failed"},
                                {"request_id", "req_1"},
                                {"attempt", 2},
                                {"status", 503},
                                {"url_host", "hooks.example.com"},
                                {"retry", true},
                                {"error", "service unavailable"}});
}

TEST_CASE("events: auth.succeeded", "[events]") {
  check_type("auth.succeeded", {{"event_type", "auth.succeeded"},
                                {"user_id", "alice@enterprise.com"},
                                {"method", "oidc"},
                                {"mfa", true}});
}

TEST_CASE("events: auth.failed", "[events]") {
  check_type("auth.failed", {{"event_type", "auth.failed"},
                             {"user_id", "mallory"},
                             {"method", "password"},
                             {"mfa", false},
                             {"reason", "bad credentials"}});
  CHECK(ev::validate_event({{"event_type", "auth.failed"}, {"user_id", "mallory"}}).ok());  // the README's
}

TEST_CASE("events: session.started", "[events]") {
  check_type("session.started", {{"event_type", "session.started"},
                                 {"session_id", "sess_abc123def456"},
                                 {"user_id", "alice@enterprise.com"},
                                 {"auth_method", "SAML"},
                                 {"mfa_verified", true}});
}

TEST_CASE("events: session.ended", "[events]") {
  check_type("session.ended", {{"event_type", "session.ended"},
                               {"session_id", "sess_abc123def456"},
                               {"user_id", "alice@enterprise.com"},
                               {"duration_ms", 3600000},
                               {"end_reason", "forced_termination"}});
}

TEST_CASE("events: apikey.created", "[events]") {
  check_type("apikey.created", {{"event_type", "apikey.created"},
                                {"key_id", "key_2f9c"},
                                {"owner", "svc-batch"},
                                {"scopes", {"images:generate", "images:read"}},
                                {"actor", "admin@enterprise.com"}});
}

TEST_CASE("events: apikey.used", "[events]") {
  check_type("apikey.used", {{"event_type", "apikey.used"},
                             {"key_id", "ak_01HXYZ3K8M9N2P4Q6R7S0T5VWX"},
                             {"owner", "svc-batch"},
                             {"scopes", {"images:generate"}},
                             {"actor", "svc-batch"}});
}

TEST_CASE("events: apikey.rotated", "[events]") {
  check_type("apikey.rotated", {{"event_type", "apikey.rotated"},
                                {"key_id", "key_2f9c"},
                                {"new_key_id", "key_7a01"},
                                {"owner", "svc-batch"},
                                {"scopes", json::array()},
                                {"actor", "admin@enterprise.com"}});
}

TEST_CASE("events: apikey.revoked", "[events]") {
  check_type("apikey.revoked", {{"event_type", "apikey.revoked"},
                                {"key_id", "key_7a01"},
                                {"owner", "svc-batch"},
                                {"scopes", {"images:generate"}},
                                {"actor", "security@enterprise.com"}});
  // The secret itself in key_id: refused, and the message does not repeat it.
  const std::string secret = "sk-proj-" + kMarker + "Xr4mQ9vTz2LpW8nB";
  const fa::Status s = ev::validate_event({{"event_type", "apikey.revoked"}, {"key_id", secret}});
  CHECK(s.message().find("sk-proj") == std::string::npos);
  CHECK_THAT(s.message(), StartsWith("apikey.revoked: key_id: looks like key material"));
}

TEST_CASE("events: permission.changed", "[events]") {
  check_type("permission.changed", {{"event_type", "permission.changed"},
                                    {"subject", "bob@enterprise.com"},
                                    {"permission", "role"},
                                    {"old_value", "viewer"},
                                    {"new_value", "generator"},
                                    {"changed_by", "admin@enterprise.com"}});
}

TEST_CASE("events: model.registered", "[events]") {
  check_type("model.registered", {{"event_type", "model.registered"},
                                  {"model_id", "sd_xl_base_1.0"},
                                  {"version", "1.0"},
                                  {"kind", "base"},
                                  {"sha256", "sha256:" + kH3},
                                  {"size_bytes", 6938078334},
                                  {"path", "models/checkpoints/sd_xl_base_1.0.safetensors"},
                                  {"source", "https://huggingface.co/stabilityai"},
                                  {"registered_by", "mlops@enterprise.com"}});
}

TEST_CASE("events: model.approved", "[events]") {
  check_type("model.approved", {{"event_type", "model.approved"},
                                {"model_id", "sd_xl_base_1.0"},
                                {"version", "1.0"},
                                {"actor", "ciso@enterprise.com"},
                                {"reason", "security review 2026-03"}});
}

TEST_CASE("events: model.deprecated", "[events]") {
  check_type("model.deprecated", {{"event_type", "model.deprecated"},
                                  {"model_id", "sd_xl_base_1.0"},
                                  {"version", "1.0"},
                                  {"actor", "mlops@enterprise.com"},
                                  {"reason", "superseded"}});
}

TEST_CASE("events: model.revoked", "[events]") {
  check_type("model.revoked", {{"event_type", "model.revoked"},
                               {"model_id", "sd_xl_base_1.0"},
                               {"version", "1.0"},
                               {"actor", "ciso@enterprise.com"},
                               {"reason", "licence withdrawn"}});
}

TEST_CASE("events: model.violation", "[events]") {
  check_type("model.violation", {{"event_type", "model.violation"},
                                 {"request_id", "req_1"},
                                 {"model_id", "juggernautXL_v8"},
                                 {"version", "8.0"},
                                 {"problem", "modified"},
                                 {"action", "blocked"}});
}

TEST_CASE("events: lora.trained", "[events]") {
  check_type("lora.trained", {{"event_type", "lora.trained"},
                              {"lora_id", "brand-style-v2"},
                              {"version", "2"},
                              {"dataset_id", "ds_brand_2026q1"},
                              {"trained_by", "ml@enterprise.com"},
                              {"parameters", {{"rank", 16}, {"steps", 2000}}},
                              {"sha256", "sha256:" + kH1}});
}

TEST_CASE("events: lora.approved", "[events]") {
  check_type("lora.approved", {{"event_type", "lora.approved"},
                               {"lora_id", "brand-style-v2"},
                               {"version", "2"},
                               {"approved_by", "legal@enterprise.com"}});
}

TEST_CASE("events: lora.used", "[events]") {
  check_type("lora.used", {{"event_type", "lora.used"},
                           {"lora_id", "brand-style-v2"},
                           {"version", "2"},
                           {"weight", 0.8},
                           {"request_id", "req_1"}});
}

TEST_CASE("events: config.<suffix>", "[events]") {
  for (const char* type : {"config.updated", "config.safety_checker", "config.rate_limit.per_user"})
    check_type(type, {{"event_type", type},
                      {"setting", "safety_checker.enabled"},
                      {"old_value", true},
                      {"new_value", false},
                      {"changed_by", "admin@enterprise.com"},
                      {"approved_by", "ciso@enterprise.com"}});
  for (const char* type : {"config", "config."}) {
    INFO(type);
    CHECK_THAT(message_of({{"event_type", type}, {"setting", "x"}, {"changed_by", "y"}}),
               Contains("unknown event type"));
  }
}

TEST_CASE("events: safety_check.completed", "[events]") {
  check_type("safety_check.completed", {{"event_type", "safety_check.completed"},
                                        {"request_id", "req_1"},
                                        {"prompt_hash", "hmac-sha256:" + kH2},
                                        {"has_nsfw_concepts", false},
                                        {"safety_checker_version", "v2.1"},
                                        {"action", "allowed"}});
  CHECK(ev::validate_event({{"event_type", "safety_check.completed"},
                            {"request_id", "req_1"},
                            {"prompt_hash", "sha256:" + kH2},
                            {"has_nsfw_concepts", {false, true}},
                            {"action", "flagged_for_review"}})
            .ok());
}

TEST_CASE("events: policy.violation", "[events]") {
  check_type("policy.violation", {{"event_type", "policy.violation"},
                                  {"prompt_hash", "hmac-sha256:" + kH3},
                                  {"rule_id", "R-017"},
                                  {"rule_name", "public figures"},
                                  {"severity", "high"},
                                  {"action", "rejected"},
                                  {"request_id", "req_1"}});
  CHECK(message_of({{"event_type", "policy.violation"},
                    {"prompt_hash", "sha256:" + kH3},
                    {"rule_id", "R-017"},
                    {"rule_name", "n"},
                    {"severity", "low"},
                    {"action", "flagged"},
                    {"prompt", kMarker}}) ==
        "policy.violation: prompt: must not be present: a policy violation records the prompt's hash, never "
        "the "
        "prompt");
}

TEST_CASE("events: every known type has its test, and the table is what the contract lists", "[events]") {
  const std::set<std::string> expected = {"image_generation",
                                          "generation.submitted",
                                          "generation.queued",
                                          "generation.started",
                                          "generation.completed",
                                          "generation.failed",
                                          "generation.cancelled",
                                          "generation.abandoned",
                                          "generation.anomaly",
                                          "webhook.delivered",
                                          "webhook.failed",
                                          "auth.succeeded",
                                          "auth.failed",
                                          "session.started",
                                          "session.ended",
                                          "apikey.created",
                                          "apikey.used",
                                          "apikey.rotated",
                                          "apikey.revoked",
                                          "permission.changed",
                                          "model.registered",
                                          "model.approved",
                                          "model.deprecated",
                                          "model.revoked",
                                          "model.violation",
                                          "lora.trained",
                                          "lora.approved",
                                          "lora.used",
                                          "config.*",
                                          "safety_check.completed",
                                          "policy.violation",
                                          "alert.raised"};  // tested in test_monitor.cpp
  std::set<std::string> actual;
  for (const ev::EventSchema& s : ev::schema()) actual.insert(s.event_type);
  CHECK(actual == expected);
}

// --- key material
// ----------------------------------------------------------------------------------------------

TEST_CASE("events: key material is told from key identifiers", "[events]") {
  for (const std::string s : {
           "sk-proj-4eC39HqLyjWDarjt",                  // OpenAI-style prefix
           "sk_live_4eC39HqLyjWDarjtT1zdp7dc",          // Stripe
           "ghp_16C7e42F292c6912E7710c838347Ae178B4a",  // GitHub
           "AKIAIOSFODNN7EXAMPLE",                      // AWS access key id
           "xoxb-17653672481-19874698323",              // Slack
           "da39a3ee5e6b4b0d3255bfef95601890afd80709",  // 40 hex characters
           "9f86d081884c7d659a2feaa0c55ad015",          // 32 hex characters
           "q8Zr3JX9vN2mT7wK4yLp1aHcE6sBuDfG",          // a base64 blob
           "key_Zm9vYmFyYmF6cXV4cXV1eA==",              // base64 after an identifier prefix
           "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",  // AWS secret access key
           "-----BEGIN PRIVATE KEY-----",               // PEM
           "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n",
           "key_0123456789012345678901234567890123456789",  // longer than 40 characters
       }) {
    INFO(s);
    CHECK(ev::looks_like_key_material(s));
  }
  for (const std::string s : {
           "key_2f9c",
           "ak_01HXYZ",
           "ak_01HXYZ3K8M9N2P4Q6R7S0T5VWX",         // "ak_" + a ULID
           "3f2a9c1e-7b4d-4e8a-9f1c-2d5e6a7b8c9d",  // a UUID
           "key_prod_batch_2026_03",
           "svc-batch-generator-key-1",
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  // long but no entropy
           "123456789012345678901234567890",    // digits: at most 3.32 bits per character
           "",
       }) {
    INFO(s);
    CHECK_FALSE(ev::looks_like_key_material(s));
  }
  // 41 characters is over the limit, 40 is not (when the rest does not look secret).
  CHECK(ev::looks_like_key_material(std::string(41, 'k')));
  CHECK_FALSE(ev::looks_like_key_material(std::string(40, 'k')));
}

// --- the seed article, custom and unknown types
// ----------------------------------------------------------------

TEST_CASE("events: the seed article's 2.2 record (with real hashes) is a valid image_generation",
          "[events]") {
  const json body = image_generation_example();
  CHECK(ev::validate_event(body).ok());
  // As printed in the article, the hashes are placeholders: refused, naming the member.
  json as_printed = body;
  as_printed["request"]["prompt_hash"] = "sha256:a7f8e9d1c2b3a4f5e6d7c8b9a0f1e2d3";
  CHECK_THAT(message_of(as_printed), StartsWith("image_generation: request.prompt_hash: must be"));
  as_printed = body;
  as_printed["outputs"][0]["hash"] = "sha256:abc123def456789...";
  CHECK_THAT(message_of(as_printed), StartsWith("image_generation: outputs[0].hash: must be"));
  // GenerationEvent's JSON form is the same shape.
  fa::GenerationEvent g = fa_test::generation_event("req_1");
  CHECK(ev::validate_event(g.to_json()).ok());
  CHECK(ev::validate_event(fa::GenerationEvent().to_json()).message() ==
        "image_generation: request_id: required string is empty");
}

TEST_CASE("events: custom namespaced events are accepted as they are", "[events]") {
  for (const char* type : {"acme.billing.charged", "test.crash", "bench.event", "x", "generations.done",
                           "imagegen.done", "models.synced", "auth0.login", "policyengine.loaded"}) {
    INFO(type);
    CHECK(ev::validate_event({{"event_type", type}, {"request_id", 42}, {"anything", {{"nested", true}}}})
              .ok());
    CHECK(ev::find_schema(type) == nullptr);
    CHECK_FALSE(ev::is_reserved_family(type));
  }
}

TEST_CASE("events: an unknown type in a reserved family is refused, log.* too", "[events]") {
  for (const char* type : {"generation.finished", "generation", "model.loaded", "session.login",
                           "auth.logout", "apikey.leaked", "webhook.sent", "permission.granted",
                           "lora.deleted", "policy.updated", "safety_check.started", "image_generation.v2"}) {
    INFO(type);
    const std::string m = message_of({{"event_type", type}, {"request_id", "r"}});
    CHECK_THAT(m, StartsWith(std::string(type) + ": unknown event type"));
    CHECK(ev::is_reserved_family(type));
  }
  CHECK(message_of({{"event_type", "log.opened"}, {"reason", "created"}}) ==
        "event_type: the log. prefix is reserved");
  CHECK(message_of({{"event_type", "Bad Type"}}) ==
        "event_type: must be 1-128 characters of [a-z0-9_.-] starting with a letter");
  CHECK(message_of({{"request_id", "r"}}) == "event_type: missing or not a string");
  CHECK(message_of(json::array({1})) == "event must be a JSON object");
}

// --- builders
// --------------------------------------------------------------------------------------------------

namespace {

// The event built with every optional member set: valid, and naming only members of its schema entry.
void check_built(const fa::Result<json>& r) {
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  const json& e = r.value();
  INFO(e.dump());
  CHECK(ev::validate_event(e).ok());
  const ev::EventSchema* s = ev::find_schema(e["event_type"].get<std::string>());
  REQUIRE(s != nullptr);
  std::set<std::string> names{"event_type"};
  for (const ev::FieldSpec& f : s->fields) names.insert(f.name);
  for (const auto& [k, v] : e.items()) {
    INFO(k);
    CHECK(names.count(k) == 1);
  }
}

template <typename T>
T& with_context(T& b) {
  b.timestamp = "2026-03-25T14:30:45Z";
  b.tenant_id = "acme_corp";
  b.ip_address = "10.2.3.4";
  b.user_agent = "Fooocus-API-client/1.0";
  if (!b.user_id) b.user_id = "alice@enterprise.com";
  if (!b.session_id) b.session_id = "sess_1";
  return b;
}

}  // namespace

TEST_CASE("events: builders produce valid events from the schema's members", "[events]") {
  {
    ev::GenerationSubmitted b("req_1");
    b.request = fa_test::generation_event("req_1").request;
    b.model_version = "sd_xl_base_1.0";
    b.refiner_model = "None";
    check_built(with_context(b).to_json());
    CHECK(b.to_json().value()["request"] == fa_test::generation_event("req_1").to_json()["request"]);
  }
  {
    ev::GenerationQueued b("req_1");
    b.queue_position = 0;
    check_built(with_context(b).to_json());
  }
  {
    ev::GenerationStarted b("req_1");
    b.worker_id = "gpu-node-5";
    b.queue_wait_ms = 234;
    check_built(with_context(b).to_json());
  }
  {
    ev::GenerationCompleted b("req_1");
    b.generation_duration_ms = 8542;
    ev::GenerationCompleted::Output o;
    o.url = "s3://bucket/req_1.png";
    o.path = "outputs/req_1.png";
    o.sha256 = "sha256:" + kH1;
    o.width = 1024;
    o.height = 1024;
    o.file_size_bytes = 524288;
    o.format = ev::ImageFormat::webp;
    b.outputs = std::vector<ev::GenerationCompleted::Output>{o};
    b.safety = ev::GenerationCompleted::Safety{ev::NsfwFlags(std::vector<bool>{false}), std::string("v2.1")};
    check_built(with_context(b).to_json());
    CHECK(b.to_json().value()["outputs"][0]["format"] == "webp");
    o.sha256 = "sha256:" + kMarker;
    b.outputs = std::vector<ev::GenerationCompleted::Output>{o};
    CHECK_THAT(b.to_json().status().message(),
               StartsWith("generation.completed: outputs[0].sha256: must be"));
  }
  {
    ev::GenerationFailed b("req_1", "CUDA out of memory");
    b.retry_count = 2;
    b.generation_duration_ms = 10;
    check_built(with_context(b).to_json());
    CHECK(ev::GenerationFailed("req_1", "").to_json().status().message() ==
          "generation.failed: error_details: required string is empty");
  }
  {
    ev::GenerationCancelled b("req_1");
    b.cancelled_by = "alice";
    b.reason = "stopped";
    check_built(with_context(b).to_json());
  }
  check_built(ev::GenerationAbandoned("req_1", ev::LastState::started, 600000).to_json());
  CHECK_FALSE(ev::GenerationAbandoned("req_1", ev::LastState::started, -1).to_json().ok());
  {
    ev::GenerationAnomaly b("req_1", "event_after_terminal");
    b.state = "failed";
    b.received = "generation.completed";
    check_built(with_context(b).to_json());
  }
  {
    ev::WebhookDelivered b("req_1", 1);
    b.status = 204;
    b.url_host = "hooks.example.com";
    b.retry = false;
    check_built(with_context(b).to_json());
    CHECK_FALSE(ev::WebhookDelivered("req_1", 0).to_json().ok());
  }
  {
    ev::WebhookFailed b("req_1", 3);
    b.status = 500;
    b.url_host = "hooks.example.com:8443";
    b.retry = false;
    b.error = "HTTP 500";
    check_built(with_context(b).to_json());
  }
  {
    ev::AuthSucceeded b("alice@enterprise.com");
    b.method = ev::AuthMethod::saml;
    b.mfa = true;
    check_built(with_context(b).to_json());
    CHECK(b.to_json().value()["method"] == "saml");
    CHECK(ev::AuthSucceeded("").to_json().status().message() ==
          "auth.succeeded: user_id: required string is empty");
  }
  {
    ev::AuthFailed b;
    b.method = ev::AuthMethod::api_key;
    b.mfa = false;
    b.reason = "unknown key";
    check_built(with_context(b).to_json());
    check_built(ev::AuthFailed().to_json());
  }
  {
    ev::SessionStarted b("sess_1", "alice@enterprise.com");
    b.auth_method = ev::SessionAuthMethod::oidc;
    b.mfa_verified = true;
    check_built(with_context(b).to_json());
    CHECK(b.to_json().value()["auth_method"] == "OIDC");
  }
  {
    ev::SessionEnded b("sess_1", ev::SessionEndReason::timeout);
    b.duration_ms = 1800000;
    check_built(with_context(b).to_json());
  }
  {
    ev::ApiKeyCreated c("key_2f9c");
    c.owner = "svc-batch";
    c.scopes = std::vector<std::string>{"images:generate"};
    c.actor = "admin";
    check_built(with_context(c).to_json());
    check_built(ev::ApiKeyUsed("key_2f9c").to_json());
    check_built(ev::ApiKeyRevoked("key_2f9c").to_json());
    check_built(ev::ApiKeyRotated("key_2f9c", "key_7a01").to_json());
    const auto leaked = ev::ApiKeyRotated("key_2f9c", "sk_live_" + kMarker + "4eC39HqLyjWD").to_json();
    CHECK_THAT(leaked.status().message(), StartsWith("apikey.rotated: new_key_id: looks like key material"));
    CHECK_THAT(leaked.status().message(), !Contains(kMarker));
  }
  {
    ev::PermissionChanged b("bob", "role", "admin");
    b.old_value = "viewer";
    b.new_value = json::array({"generator", "reviewer"});
    check_built(with_context(b).to_json());
  }
  {
    ev::ModelRegistered b("sd_xl_base_1.0", "1.0", "sha256:" + kH3, "mlops");
    b.kind = ev::ModelKind::refiner;
    b.size_bytes = 6938078334;
    b.path = "models/checkpoints/x.safetensors";
    b.source = "huggingface";
    check_built(with_context(b).to_json());
    CHECK_THAT(ev::ModelRegistered("m", "1", kH3.substr(0, 8), "mlops").to_json().status().message(),
               StartsWith("model.registered: sha256: must be"));
  }
  {
    ev::ModelApproved a("m", "1", "ciso");
    a.reason = "reviewed";
    check_built(with_context(a).to_json());
    check_built(ev::ModelDeprecated("m", "1", "mlops").to_json());
    check_built(ev::ModelRevoked("m", "1", "ciso").to_json());
  }
  {
    ev::ModelViolation b("req_1", "m", ev::ModelProblem::unregistered, ev::ModelAction::flagged);
    b.version = "1";
    check_built(with_context(b).to_json());
  }
  {
    ev::LoraTrained b("brand-style-v2", "2", "ds_1", "ml");
    b.parameters = json{{"rank", 16}};
    b.sha256 = "sha256:" + kH1;
    check_built(with_context(b).to_json());
    b.parameters = json::array();
    CHECK_THAT(b.to_json().status().message(), StartsWith("lora.trained: parameters: must be an object"));
  }
  check_built(ev::LoraApproved("brand-style-v2", "2", "legal").to_json());
  {
    ev::LoraUsed b("brand-style-v2", "req_1");
    b.version = "2";
    b.weight = 0.8;
    check_built(with_context(b).to_json());
  }
  {
    ev::ConfigChanged b("Safety Checker/Enabled", "admin");
    b.old_value = true;
    b.new_value = false;
    b.approved_by = "ciso";
    CHECK(b.event_type() == "config.safety_checker_enabled");
    check_built(with_context(b).to_json());
    b.type_suffix = "updated";
    CHECK(b.to_json().value()["event_type"] == "config.updated");
    b.type_suffix = "Bad Suffix";
    CHECK_THAT(b.to_json().status().message(), StartsWith("event_type: must be"));
    CHECK(ev::ConfigChanged(std::string(300, 'a'), "admin").event_type().size() == 128);
    CHECK_FALSE(ev::ConfigChanged("", "admin").to_json().ok());
  }
  {
    ev::SafetyCheckCompleted b("req_1", "hmac-sha256:" + kH2, ev::NsfwFlags(true), ev::SafetyAction::blocked);
    b.safety_checker_version = "v2.1";
    check_built(with_context(b).to_json());
  }
  {
    ev::PolicyViolation b("hmac-sha256:" + kH2, "R-017", "public figures", ev::Severity::critical,
                          ev::PolicyAction::rejected);
    b.request_id = "req_1";
    check_built(with_context(b).to_json());
    b.extra = {{"prompt", "the prompt itself"}};
    CHECK(b.to_json().status().message() ==
          "policy.violation: prompt: must not be present: a policy violation records the prompt's hash, "
          "never the "
          "prompt");
  }
  {
    ev::GenerationQueued b("req_1");
    b.extra = {{"priority", "high"}};
    CHECK(b.to_json().value()["priority"] == "high");
    b.extra = {{"request_id", "req_2"}};
    CHECK(b.to_json().status().message() ==
          "generation.queued: extra.request_id: the builder sets this member; use its typed field");
    b.extra = {{"event_type", "x.y"}};
    CHECK_FALSE(b.to_json().ok());
    b.extra = json::array();
    CHECK_FALSE(b.to_json().ok());
  }
}

// --- the struct path gives the JSON path's answers
// ---------------------------------------------------------------

TEST_CASE("events: validate_event(GenerationEvent) agrees with validate_event(its to_json())", "[events]") {
  std::vector<std::function<void(fa::GenerationEvent&)>> edits = {
      [](fa::GenerationEvent&) {},
      [](fa::GenerationEvent& g) { g.request_id.clear(); },
      [](fa::GenerationEvent& g) { g.timestamp = "yesterday"; },
      [](fa::GenerationEvent& g) { g.timestamp.clear(); },
      [](fa::GenerationEvent& g) { g.request.prompt_hash = "sha256:abc"; },
      [](fa::GenerationEvent& g) { g.request.prompt_hash = "hmac-sha256:" + kH1; },
      [](fa::GenerationEvent& g) { g.request.prompt_hash.clear(); },
      [](fa::GenerationEvent& g) { g.request.num_images = 0; },
      [](fa::GenerationEvent& g) { g.request.seed = ~std::uint64_t{0}; },
      [](fa::GenerationEvent& g) { g.request.loras[0].weight = std::nan(""); },
      [](fa::GenerationEvent& g) { g.request.guidance_scale = std::numeric_limits<double>::infinity(); },
      [](fa::GenerationEvent& g) { g.processing.queue_wait_ms = -1; },
      [](fa::GenerationEvent& g) { g.processing.retry_count = std::int64_t{1} << 60; },
      [](fa::GenerationEvent& g) { g.outputs[0].hash = "sha256:" + kH1.substr(1); },
      [](fa::GenerationEvent& g) { g.outputs[0].hash.clear(); },
      [](fa::GenerationEvent& g) { g.outputs[0].width = -1024; },
      [](fa::GenerationEvent& g) {
        g.outputs.push_back(g.outputs[0]);
        g.outputs[1].file_size_bytes = -1;
      },
      [](fa::GenerationEvent& g) { g.event_type = "generation.completed"; },
      [](fa::GenerationEvent& g) { g.event_type = "generation.finished"; },
      [](fa::GenerationEvent& g) { g.event_type = "log.opened"; },
      [](fa::GenerationEvent& g) { g.event_type = "acme.generation"; },
  };
  for (std::size_t i = 0; i < edits.size(); ++i) {
    INFO("edit " << i);
    fa::GenerationEvent g = fa_test::generation_event("req_1");
    edits[i](g);
    const fa::Status fast = ev::validate_event(g);
    const fa::Status tree = ev::validate_event(g.to_json());
    CHECK(fast.ok() == tree.ok());
    CHECK(fast.message() == tree.message());
    CHECK(fast.ok() == (i == 0 || i == 3 || i == 5 || i == 6 || i == 8 || i == 14 || i == 17 || i == 20));
  }
}

// --- every way in
// ------------------------------------------------------------------------------------------------

TEST_CASE("events: AuditLogger::log refuses an invalid known event and logs nothing", "[events]") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  auto logger = fa_test::must_open(fa_test::options_for(dir));
  fa::Status s = logger->log({{"event_type", "generation.failed"}, {"request_id", "req_1"}});
  CHECK(s.code() == fa::Code::invalid_argument);
  CHECK(s.message() == "generation.failed: error_details: required string is missing");
  s = logger->log({{"event_type", "apikey.created"}, {"key_id", "AKIAIOSFODNN7" + kMarker}});
  CHECK_THAT(s.message(), StartsWith("apikey.created: key_id: looks like key material"));
  CHECK_THAT(s.message(), !Contains(kMarker));
  s = logger->log({{"event_type", "model.loaded"}, {"model_id", "m"}});
  CHECK_THAT(s.message(), StartsWith("model.loaded: unknown event type"));
  fa::GenerationEvent g = fa_test::generation_event("");
  s = logger->log(g);
  CHECK(s.message() == "image_generation: request_id: required string is empty");
  g = fa_test::generation_event("req_2");
  g.outputs[0].hash = "sha256:short";
  CHECK_THAT(logger->log(g).message(), StartsWith("image_generation: outputs[0].hash: must be"));
  CHECK(logger->stats().accepted == 0);

  REQUIRE(logger->log({{"event_type", "generation.completed"}, {"request_id", "req_1"}}).ok());
  REQUIRE(logger->log({{"event_type", "acme.billing.charged"}, {"cents", 120}}).ok());
  REQUIRE(logger->log(fa_test::generation_event("req_3")).ok());
  REQUIRE(logger->close().ok());
  const std::vector<json> events = fa_test::user_events(fa_test::read_records(dir));
  REQUIRE(events.size() == 3);
  CHECK(events[0]["event_type"] == "generation.completed");
  CHECK(events[1]["event_type"] == "acme.billing.charged");
  CHECK(events[2]["request_id"] == "req_3");
}

#ifdef FA_CLI_PATH
TEST_CASE("events: fooocus-audit append refuses a line by the schema, naming the member", "[events][cli]") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  const std::string secret = "sk-" + kMarker + "9vN2mT7wK4yLp1aH";
  const std::string input =
      R"({"event_type":"generation.failed","request_id":"r1","error_details":"CUDA out of memory"})"
      "\n"
      R"({"event_type":"generation.failed","request_id":"r2"})"
      "\n"
      R"({"event_type":"apikey.used","key_id":")" +
      secret +
      R"("})"
      "\n"
      R"({"event_type":"session.ended","session_id":"s1","end_reason":"closed"})"
      "\n"
      R"({"event_type":"acme.billing.charged","cents":120})"
      "\n";
  const fa_test::Run r = fa_test::run_cli({"append", "--dir", dir}, input);
  INFO(r.err);
  CHECK(r.status == 1);
  CHECK_THAT(
      r.err,
      Contains("line 2: invalid_argument: generation.failed: error_details: required string is missing"));
  CHECK_THAT(r.err, Contains("line 3: invalid_argument: apikey.used: key_id: looks like key material"));
  CHECK_THAT(r.err, Contains("line 4: invalid_argument: session.ended: end_reason: must be one of "
                             "logout|timeout|forced_termination"));
  CHECK_THAT(r.err, !Contains(kMarker));
  CHECK_THAT(r.err, Contains("appended 2 event(s), refused 3"));
  const std::vector<json> events = fa_test::user_events(fa_test::read_records(dir));
  REQUIRE(events.size() == 2);
  CHECK(events[0]["request_id"] == "r1");
  CHECK(events[1]["event_type"] == "acme.billing.charged");
}
#endif

// --- the document
// ------------------------------------------------------------------------------------------------

TEST_CASE("events: docs/events.md documents every type and member, and its examples are valid", "[events]") {
  const std::string doc = fa_test::read_bytes(std::string(FA_SOURCE_DIR) + "/docs/events.md");
  std::set<std::string> exemplified;
  const std::string open = "```json\n";
  for (std::size_t at = doc.find(open); at != std::string::npos; at = doc.find(open, at)) {
    at += open.size();
    const std::size_t end = doc.find("```", at);
    REQUIRE(end != std::string::npos);
    const std::string text = doc.substr(at, end - at);
    at = end + 3;
    INFO(text);
    json e;
    REQUIRE_NOTHROW(e = json::parse(text));
    const fa::Status s = ev::validate_event(e);
    INFO(s.message());
    CHECK(s.ok());
    const std::string type = e.value("event_type", "");
    const ev::EventSchema* schema = ev::find_schema(type);
    exemplified.insert(schema != nullptr ? schema->event_type : type);
  }
  for (const ev::EventSchema& s : ev::schema()) {
    INFO(s.event_type);
    CHECK(exemplified.count(s.event_type) == 1);
    if (s.event_type != "config.*") CHECK_THAT(doc, Contains("`" + s.event_type + "`"));
    std::vector<const ev::FieldSpec*> all;
    for (const ev::FieldSpec& f : s.fields) all.push_back(&f);
    for (std::size_t i = 0; i < all.size(); ++i)
      for (const ev::FieldSpec& m : all[i]->members) all.push_back(&m);
    for (const ev::FieldSpec* f : all) {
      INFO(f->name);
      CHECK_THAT(doc, Contains("`" + f->name + "`"));
      for (const std::string& v : f->allowed) CHECK_THAT(doc, Contains("`" + v + "`"));
    }
  }
}
