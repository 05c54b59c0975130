// SPDX-License-Identifier: Apache-2.0
// The C ABI (include/fooocus_audit/fooocus_audit.h) of the logger, the generation tracker, the model registry
// and the verifier: handles in, JSON translated to the C++ structs and back, Status to fa_status. No logic of
// its own (docs/c-api.md is the reference).

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "capi_event.hpp"
#include "capi_json.hpp"
#include "capi_support.hpp"
#include "fooocus_audit/anchor.hpp"
#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/chain_verifier.hpp"
#include "fooocus_audit/fooocus_audit.h"
#include "fooocus_audit/mac_key.hpp"
#include "fooocus_audit/model_registry.hpp"
#include "fooocus_audit/monitor.hpp"
#include "fooocus_audit/record.hpp"
#include "fooocus_audit/secret_guard.hpp"
#include "fooocus_audit/signed_note.hpp"
#include "fooocus_audit/signer.hpp"
#include "fooocus_audit/tracker.hpp"

namespace fooocus_audit::capi {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// Durations in milliseconds are limited to ~31 years so that no chrono arithmetic overflows.
constexpr std::uint64_t kMaxMillis = 1000ull * 1000 * 1000 * 1000;

// ---------------------------------------------------------------------------------------------------------------
// Impls behind the handles. Objects made from a logger share its ownership: destroying the logger handle closes
// the logger, and they then get Code::closed from it.

struct LoggerImpl {
  std::shared_ptr<AuditLogger> logger;
};

struct TrackerImpl {
  std::shared_ptr<AuditLogger> logger;         // declared first: destroyed after the tracker
  std::unique_ptr<GenerationTracker> tracker;  // holds a reference to *logger
};

struct RegistryImpl {
  std::shared_ptr<AuditLogger> logger;
  std::unique_ptr<ModelVersionRegistry> registry;
};

struct VerifierImpl {
  VerifyOptions options;  // read only after create: every call makes its own single-use ChainVerifier
};

// ---------------------------------------------------------------------------------------------------------------
// Logger configuration

template <typename T>
bool one_of(Members& m, std::string_view key, std::initializer_list<std::pair<std::string_view, T>> names, T* out) {
  const json* v = m.get(key);
  if (v == nullptr) return false;
  std::string list;
  for (const auto& [name, value] : names) {
    if (v->is_string() && v->get_ref<const std::string&>() == name) {
      *out = value;
      return true;
    }
    list += list.empty() ? std::string(name) : fmt::format(", {}", name);
  }
  m.fail(key, fmt::format("must be one of {}", list));
  return false;
}

bool millis(Members& m, std::string_view key, milliseconds* out) {
  std::uint64_t n = 0;
  if (!m.u64(key, &n, kMaxMillis)) return false;
  *out = milliseconds(static_cast<milliseconds::rep>(n));
  return true;
}

// secret_guard: {"enabled": bool, "detectors": ["<secret detector name>", ...]} (docs/privacy.md §4).
Status guard_options_from_json(const json& j, GuardOptions* g) {
  Members m(j, "config.secret_guard");
  m.boolean("enabled", &g->enabled);
  std::vector<std::string> names;
  if (m.str_list("detectors", &names)) {
    detect::DetectorMask mask = 0;
    for (const std::string& name : names) {
      detect::Detector d{};
      if (!detect::parse_detector(name, &d) || (detect::mask_of(d) & detect::kSecretDetectors) == 0) {
        m.fail("detectors", "must name secret detectors (docs/privacy.md §4)");
        break;
      }
      mask |= detect::mask_of(d);
    }
    g->detectors = mask;
  }
  return m.finish();
}

// A path the logger opens again after fa_logger_open returned (segments, anchors, MAC and signer state) is
// resolved against the working directory now: a process that changes directory later (Fooocus's
// entry_with_update.py does os.chdir) must go on writing where the log was opened.
Status make_absolute(std::string* path, std::string_view where) {
  if (path->empty()) return Status::OK();
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(std::filesystem::path(*path), ec);
  if (ec)
    return {Code::io_error,
            fmt::format("{}: cannot resolve against the working directory: {}", where, ec.message())};
  *path = abs.string();
  return Status::OK();
}

Status logger_options_from_json(const json& j, LoggerOptions* opt) {
  Members m(j, "config");
  m.file("dir", &opt->dir, /*required=*/true);
  one_of<Durability>(m, "durability",
                     {{"none", Durability::none}, {"group_commit", Durability::group_commit},
                      {"always", Durability::always}},
                     &opt->durability);
  millis(m, "group_commit_interval_ms", &opt->group_commit_interval);
  std::uint64_t n = 0;
  if (m.u64("queue_capacity", &n, std::uint64_t{1} << 32)) opt->queue_capacity = static_cast<std::size_t>(n);
  one_of<OverflowPolicy>(m, "overflow",
                         {{"block", OverflowPolicy::block}, {"drop_and_record_gap", OverflowPolicy::drop_and_record_gap}},
                         &opt->overflow);
  m.u64("max_segment_bytes", &opt->max_segment_bytes);
  if (m.u64("max_segment_age_s", &n, kMaxMillis / 1000))
    opt->max_segment_age = std::chrono::seconds(static_cast<std::chrono::seconds::rep>(n));
  if (m.u64("max_event_bytes", &n, std::uint64_t{1} << 32)) opt->max_event_bytes = static_cast<std::size_t>(n);
  if (m.u64("file_mode", &n, 0777)) opt->file_mode = static_cast<mode_t>(n);
  m.file("anchor_path", &opt->anchor_path);
  m.file("mac_key_path", &opt->mac_key_path);
  m.u64("mac_epoch_records", &opt->mac_epoch_records);
  millis(m, "mac_epoch_interval_ms", &opt->mac_epoch_interval);
  std::string signing_key_path, signer_state_path, signer_socket;
  milliseconds signer_timeout{30000};
  m.file("signing_key_path", &signing_key_path);
  m.file("signer_state_path", &signer_state_path);
  m.file("signer_socket", &signer_socket);
  millis(m, "signer_timeout_ms", &signer_timeout);
  m.u64("checkpoint_records", &opt->checkpoint_records);
  millis(m, "checkpoint_interval_ms", &opt->checkpoint_interval);
  m.file("checkpoint_anchor_path", &opt->checkpoint_anchor_path);
  if (const json* g = m.get("secret_guard")) {
    if (g->is_boolean()) opt->secret_guard.enabled = g->get<bool>();
    else if (g->is_object()) m.fail(guard_options_from_json(*g, &opt->secret_guard));
    else m.fail("secret_guard", "must be true, false or a JSON object {\"enabled\", \"detectors\"}");
  }
  std::string monitor_rules_path;
  bool monitor_default_rules = false;
  m.file("monitor_rules_path", &monitor_rules_path);
  m.boolean("monitor_default_rules", &monitor_default_rules);
  if (Status s = m.finish(); !s.ok()) return s;
  for (auto [path, member] : {std::pair<std::string*, std::string_view>{&opt->dir, "config.dir"},
                              {&opt->anchor_path, "config.anchor_path"},
                              {&opt->mac_key_path, "config.mac_key_path"},
                              {&opt->checkpoint_anchor_path, "config.checkpoint_anchor_path"},
                              {&signer_state_path, "config.signer_state_path"}})
    if (Status s = make_absolute(path, member); !s.ok()) return s;

  if (!monitor_rules_path.empty() && monitor_default_rules)
    return {Code::invalid_argument, "config: give either monitor_rules_path or monitor_default_rules, not both"};
  if (!monitor_rules_path.empty() || monitor_default_rules) {
    std::vector<MonitorRule> rules;
    if (monitor_default_rules) {
      rules = Monitor::default_rules();
    } else {
      Result<std::vector<MonitorRule>> loaded = Monitor::load_rules(monitor_rules_path);
      if (!loaded) return {loaded.status().code(), "config.monitor_rules_path: " + loaded.status().message()};
      rules = std::move(loaded.value());
    }
    Result<std::shared_ptr<Monitor>> monitor = Monitor::create(std::move(rules));
    if (!monitor) return {monitor.status().code(), "config.monitor_rules_path: " + monitor.status().message()};
    opt->monitor = std::move(monitor.value());
  }

  if (!signing_key_path.empty() && !signer_socket.empty())
    return {Code::invalid_argument, "config: give either signing_key_path or signer_socket, not both"};
  if (!signer_state_path.empty() && signing_key_path.empty())
    return {Code::invalid_argument, "config.signer_state_path: goes with signing_key_path"};
  if (!opt->checkpoint_anchor_path.empty() && signing_key_path.empty() && signer_socket.empty())
    return {Code::invalid_argument,
            "config.checkpoint_anchor_path: needs a signer (signing_key_path or signer_socket)"};
  if (!signing_key_path.empty()) {
    Result<note::SigningKey> key = note::SigningKey::load(signing_key_path);
    if (!key) return {key.status().code(), "config.signing_key_path: " + key.status().message()};
    if (signer_state_path.empty()) {
      opt->signer = std::make_shared<LocalSigner>(std::move(key.value()));
    } else {
      Result<std::unique_ptr<LocalSigner>> local = LocalSigner::open(std::move(key.value()), signer_state_path);
      if (!local) return {local.status().code(), "config.signer_state_path: " + local.status().message()};
      opt->signer = std::move(local.value());
    }
  } else if (!signer_socket.empty()) {
    Result<std::unique_ptr<RemoteSigner>> remote = RemoteSigner::connect(signer_socket, signer_timeout);
    if (!remote) return {remote.status().code(), "config.signer_socket: " + remote.status().message()};
    opt->signer = std::move(remote.value());
  }
  return Status::OK();
}

json stats_json(const LoggerStats& s) {
  return {{"accepted", s.accepted},       {"written", s.written},
          {"durable", s.durable},         {"dropped", s.dropped},
          {"records", s.records},         {"write_errors", s.write_errors},
          {"mac_epoch", s.mac_epoch},     {"checkpoints", s.checkpoints},
          {"checkpoints_unsigned", s.checkpoints_unsigned}, {"secrets_redacted", s.secrets_redacted}};
}

json info_json(const AuditLogger& l) {
  json recovered = json::array();
  for (const RecoveryNote& r : l.recovered())
    recovered.push_back({{"segment", r.segment},
                         {"offset", r.offset},
                         {"bytes", r.bytes},
                         {"sha256", r.sha256},
                         {"quarantine", r.quarantine},
                         {"reason", r.reason},
                         {"interrupted", r.interrupted}});
  return {{"log_id", l.log_id()}, {"dir", l.dir()}, {"recovered", recovered}};
}

// ---------------------------------------------------------------------------------------------------------------
// Verifier options (also the "verify" member of the registry's options)

Status verify_options_from_json(const json& j, const std::string& what, VerifyOptions* opt) {
  Members m(j, what);
  std::string anchor_path;
  std::vector<std::string> checkpoint_anchor_paths, key_paths, keys;
  m.file("anchor_path", &anchor_path);
  m.str_list("checkpoint_anchor_paths", &checkpoint_anchor_paths);
  m.str_list("trusted_key_paths", &key_paths);
  m.str_list("trusted_keys", &keys);
  m.file("mac_key_path", &opt->mac_key_path);
  if (m.str("expected_log_id", &opt->expected_log_id) && !record::valid_log_id(opt->expected_log_id))
    m.fail("expected_log_id", "must be 32 lowercase hex characters");
  std::uint64_t n = 0;
  if (m.u64("threads", &n, 64)) opt->threads = static_cast<unsigned>(n);
  if (m.u64("max_findings", &n, 1000000)) opt->max_findings = static_cast<std::size_t>(n);
  if (m.u64("start_seq", &n)) opt->start_seq = n;
  if (Status s = m.finish(); !s.ok()) return s;
  // Read at every verification, not at create: resolved now, like the logger's paths.
  if (Status s = make_absolute(&opt->mac_key_path, what + ".mac_key_path"); !s.ok()) return s;

  // Anchor files: every head anchor counts (the newest is checked: it confirms what the older ones do), every
  // checkpoint anchor is compared with the log.
  std::vector<std::pair<std::string, std::string>> files;  // (member, path)
  if (!anchor_path.empty()) files.emplace_back(what + ".anchor_path", anchor_path);
  for (std::size_t i = 0; i < checkpoint_anchor_paths.size(); ++i)
    files.emplace_back(fmt::format("{}.checkpoint_anchor_paths[{}]", what, i), checkpoint_anchor_paths[i]);
  for (const auto& [member, path] : files) {
    Result<AnchorSet> set = AnchorSet::load(path);
    if (!set) return {set.status().code(), fmt::format("{}: {}", member, set.status().message())};
    for (const Anchor& h : set->heads)
      if (!opt->anchor || h.seq >= opt->anchor->seq) opt->anchor = h;
    for (CheckpointAnchor& c : set->checkpoints) opt->checkpoint_anchors.push_back(std::move(c));
  }
  for (std::size_t i = 0; i < key_paths.size(); ++i) {
    Result<note::VerifierKey> k = note::load_verifier_key(key_paths[i]);
    if (!k) return {k.status().code(), fmt::format("{}.trusted_key_paths[{}]: {}", what, i, k.status().message())};
    opt->trusted_keys.push_back(std::move(k.value()));
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    Result<note::VerifierKey> k = note::parse_verifier_key(keys[i]);
    if (!k) return {k.status().code(), fmt::format("{}.trusted_keys[{}]: {}", what, i, k.status().message())};
    opt->trusted_keys.push_back(std::move(k.value()));
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------------------------
// Tracker JSON

Status tracker_options_from_json(const json& j, TrackerOptions* opt) {
  Members m(j, "options");
  millis(m, "abandon_after_ms", &opt->abandon_after);
  millis(m, "finished_retention_ms", &opt->finished_retention);
  std::uint64_t n = 0;
  if (m.u64("max_tracked", &n, std::uint64_t{1} << 32)) opt->max_tracked = static_cast<std::size_t>(n);
  if (m.u64("max_forgotten", &n, std::uint64_t{1} << 32)) opt->max_forgotten = static_cast<std::size_t>(n);
  millis(m, "sweep_interval_ms", &opt->sweep_interval);
  m.boolean("emit_summary", &opt->emit_summary);
  if (Status s = m.finish(); !s.ok()) return s;
  if (opt->max_tracked == 0) return {Code::invalid_argument, "options.max_tracked: must be at least 1"};
  return Status::OK();
}

// seed: a non-negative integer, or its decimal string (what the summary writes above 2^53 - 1).
void read_seed(Members& m, std::uint64_t* out) {
  const json* v = m.get("seed");
  if (v == nullptr) return;
  if (v->is_number_unsigned()) {
    *out = v->get<std::uint64_t>();
  } else if (v->is_number_integer() && v->get<std::int64_t>() >= 0) {
    *out = static_cast<std::uint64_t>(v->get<std::int64_t>());
  } else if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    std::uint64_t value = 0;
    bool ok = !s.empty() && s.size() <= 20 && (s.size() == 1 || s[0] != '0');
    for (char c : s) {
      if (!ok) break;
      if (c < '0' || c > '9') ok = false;
      else if (value > (UINT64_MAX - static_cast<std::uint64_t>(c - '0')) / 10) ok = false;
      else value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (ok) *out = value;
    else m.fail("seed", "must be a non-negative integer below 2^64 (a number or its decimal string)");
  } else {
    m.fail("seed", "must be a non-negative integer below 2^64 (a number or its decimal string)");
  }
}

Status request_from_json(const json& j, GenerationEvent::Request* r) {
  Members m(j, "submission.request");
  m.str("prompt_sanitized", &r->prompt_sanitized);
  m.str("prompt_hash", &r->prompt_hash);
  m.str("negative_prompt", &r->negative_prompt);
  m.str("performance", &r->performance);
  m.str("aspect_ratio", &r->aspect_ratio);
  m.i64("num_images", &r->num_images, 0);
  read_seed(m, &r->seed);
  if (const json* loras = m.array("loras")) {
    for (std::size_t i = 0; i < loras->size() && m.ok(); ++i) {
      const json& e = (*loras)[i];
      const std::string where = fmt::format("submission.request.loras[{}]", i);
      if (!e.is_object()) {
        m.fail(Status(Code::invalid_argument, where + ": must be a JSON object {\"name\", \"weight\"}"));
        break;
      }
      Members lm(e, where);
      GenerationEvent::Lora l;
      lm.str("name", &l.name, /*required=*/true);
      lm.number("weight", &l.weight);
      m.fail(lm.finish());
      r->loras.push_back(std::move(l));
    }
  }
  m.str_list("styles", &r->styles);
  m.number("guidance_scale", &r->guidance_scale);
  m.number("sharpness", &r->sharpness);
  m.boolean("enable_safety_checker", &r->enable_safety_checker);
  return m.finish();
}

Status submission_from_json(const json& j, GenerationTracker::Submission* s) {
  Members m(j, "submission");
  m.str("user_id", &s->user_id);
  m.str("tenant_id", &s->tenant_id);
  m.str("session_id", &s->session_id);
  m.str("ip_address", &s->ip_address);
  m.str("user_agent", &s->user_agent);
  m.str("model_version", &s->model_version);
  m.str("refiner_model", &s->refiner_model);
  if (const json* r = m.object("request")) m.fail(request_from_json(*r, &s->request));
  return m.finish();
}

Status completion_from_json(const json& j, GenerationTracker::Completion* c) {
  Members m(j, "completion");
  if (const json* outs = m.array("outputs")) {
    for (std::size_t i = 0; i < outs->size() && m.ok(); ++i) {
      const json& e = (*outs)[i];
      const std::string where = fmt::format("completion.outputs[{}]", i);
      if (!e.is_object()) {
        m.fail(Status(Code::invalid_argument, where + ": must be a JSON object {\"path\", \"url\", ...}"));
        break;
      }
      Members om(e, where);
      GenerationTracker::Output o;
      om.file("path", &o.path, /*required=*/true);
      om.str("url", &o.url);
      bool nsfw = false;
      if (const json* v = om.get("has_nsfw_concepts"); v != nullptr && !v->is_null()) {
        if (v->is_boolean()) nsfw = v->get<bool>(), o.has_nsfw_concepts = nsfw;
        else om.fail("has_nsfw_concepts", "must be true, false or null");
      }
      m.fail(om.finish());
      c->outputs.push_back(std::move(o));
    }
  }
  m.str("safety_checker_version", &c->safety_checker_version);
  m.i64("retry_count", &c->retry_count, 0);
  return m.finish();
}

Status webhook_from_json(const json& j, GenerationTracker::WebhookAttempt* a) {
  Members m(j, "attempt");
  m.i64("attempt", &a->attempt);
  std::int64_t status = 0;
  if (m.i64("status", &status, 0, 999)) a->status = static_cast<int>(status);
  m.boolean("delivered", &a->delivered);
  m.boolean("retry", &a->retry);
  m.str("url_host", &a->url_host);
  m.str("error", &a->error);
  return m.finish();
}

json tracker_stats_json(const TrackerStats& s) {
  return {{"active", s.active},       {"finished", s.finished},       {"forgotten", s.forgotten},
          {"events", s.events},       {"anomalies", s.anomalies},     {"abandoned", s.abandoned},
          {"evicted", s.evicted},     {"sink_errors", s.sink_errors}};
}

// ---------------------------------------------------------------------------------------------------------------
// Registry JSON

Status registry_options_from_json(const json& j, RegistryOptions* opt) {
  Members m(j, "options");
  if (const json* v = m.object("verify")) m.fail(verify_options_from_json(*v, "options.verify", &opt->verify));
  return m.finish();
}

Status registration_from_json(const json& j, ModelRegistration* r) {
  Members m(j, "registration");
  m.str("model_id", &r->model_id, true);
  m.str("version", &r->version, true);
  std::string kind;
  if (m.str("kind", &kind)) {
    if (std::optional<ModelKind> k = parse_model_kind(kind)) r->kind = *k;
    else m.fail("kind", "must be one of base, refiner, lora, vae, other");
  }
  m.file("path", &r->path);
  m.str("sha256", &r->sha256);
  m.str("source", &r->source);
  m.str("registered_by", &r->registered_by, true);
  return m.finish();
}

struct Transition {
  std::string model_id, version, actor, reason;
};

Status transition_from_json(const json& j, Transition* t) {
  Members m(j, "transition");
  m.str("model_id", &t->model_id, true);
  m.str("version", &t->version, true);
  m.str("actor", &t->actor, true);
  m.str("reason", &t->reason);
  return m.finish();
}

Status training_from_json(const json& j, LoraTraining* t) {
  Members m(j, "training");
  m.str("lora_id", &t->lora_id, true);
  m.str("version", &t->version, true);
  m.str("dataset_id", &t->dataset_id, true);
  m.str("trained_by", &t->trained_by, true);
  if (const json* p = m.get("parameters")) {
    if (p->is_object() || p->is_null()) t->parameters = *p;
    else m.fail("parameters", "must be a JSON object or null");
  }
  return m.finish();
}

Status model_use_from_json(const json& j, const std::string& where, ModelUse* u) {
  if (!j.is_object()) return {Code::invalid_argument, where + ": must be a JSON object {\"model_id\", ...}"};
  Members m(j, where);
  m.str("model_id", &u->model_id, true);
  m.str("version", &u->version);
  m.file("path", &u->path);
  m.number("weight", &u->weight);
  return m.finish();
}

Status generation_from_json(const json& j, GenerationModels* g, ViolationPolicy* policy) {
  Members m(j, "generation");
  m.str("request_id", &g->request_id, true);
  if (const json* b = m.get("base"); b != nullptr && !b->is_null()) {
    ModelUse u;
    m.fail(model_use_from_json(*b, "generation.base", &u));
    g->base = std::move(u);
  }
  if (const json* r = m.get("refiner"); r != nullptr && !r->is_null()) {
    ModelUse u;
    m.fail(model_use_from_json(*r, "generation.refiner", &u));
    g->refiner = std::move(u);
  }
  if (const json* loras = m.array("loras")) {
    for (std::size_t i = 0; i < loras->size() && m.ok(); ++i) {
      ModelUse u;
      m.fail(model_use_from_json((*loras)[i], fmt::format("generation.loras[{}]", i), &u));
      g->loras.push_back(std::move(u));
    }
  }
  m.str("user_id", &g->user_id);
  one_of<ViolationPolicy>(m, "policy", {{"block", ViolationPolicy::block}, {"flag", ViolationPolicy::flag}},
                          policy);
  return m.finish();
}

std::string_view outcome_name(FileCheck::Outcome o) {
  switch (o) {
    case FileCheck::Outcome::unchanged: return "unchanged";
    case FileCheck::Outcome::modified: return "modified";
    case FileCheck::Outcome::missing: return "missing";
  }
  return "unknown";
}

json file_check_json(const FileCheck& c) {
  return {{"outcome", outcome_name(c.outcome)},
          {"unchanged", c.unchanged()},
          {"path", c.path},
          {"expected_sha256", c.expected_sha256},
          {"actual_sha256", c.actual_sha256},
          {"expected_size", c.expected_size ? json(*c.expected_size) : json(nullptr)},
          {"actual_size", c.actual_size}};
}

json decision_json(const GenerationDecision& d) {
  json violations = json::array();
  for (const ModelViolation& v : d.violations)
    violations.push_back({{"role", v.role},
                          {"model_id", v.model_id},
                          {"version", v.version},
                          {"problem", model_problem_name(v.problem)},
                          {"detail", v.detail}});
  json resolved = json::array();
  for (const GenerationDecision::Resolved& r : d.resolved)
    resolved.push_back({{"role", r.role}, {"model_id", r.model_id}, {"version", r.version}});
  return {{"allowed", d.allowed}, {"violations", violations}, {"resolved", resolved}};
}

// Parses an optional JSON argument: NULL/0 is an empty object.
Status optional_object(const char* data, std::size_t len, std::string_view what, json* out) {
  if (data == nullptr && len == 0) {
    *out = json::object();
    return Status::OK();
  }
  return parse_json_object(data, len, what, out);
}

Status registry_transition(fa_registry* r, const char* data, std::size_t len, ModelState to) {
  RegistryImpl& impl = get<RegistryImpl>(r, Kind::registry);
  json j;
  if (Status s = parse_json_object(data, len, "transition", &j); !s.ok()) return s;
  Transition t;
  if (Status s = transition_from_json(j, &t); !s.ok()) return s;
  switch (to) {
    case ModelState::approved: return impl.registry->approve(t.model_id, t.version, t.actor, t.reason);
    case ModelState::deprecated: return impl.registry->deprecate(t.model_id, t.version, t.actor, t.reason);
    case ModelState::revoked: return impl.registry->revoke(t.model_id, t.version, t.actor, t.reason);
    case ModelState::pending: break;
  }
  return {Code::internal, "registry_transition: no such transition"};
}

}  // namespace
}  // namespace fooocus_audit::capi

namespace fa = fooocus_audit;
using fa::Code;
using fa::Status;
using fa::capi::get;
using fa::capi::guarded;
using fa::capi::guarded_out;
using fa::capi::json_text;
using fa::capi::Kind;
using fa::capi::read_text;
using nlohmann::json;

extern "C" {

// ---------------------------------------------------------------------------------------------------------------
// AuditLogger

FA_EXPORT fa_status fa_logger_open(const char* config_json, size_t config_len, fa_logger** out) {
  if (out != nullptr) *out = nullptr;
  return guarded([&]() -> Status {
    if (out == nullptr) return {Code::invalid_argument, "out: NULL out-parameter"};
    json j;
    if (Status s = fa::capi::parse_json_object(config_json, config_len, "config", &j); !s.ok()) return s;
    fa::LoggerOptions opt;
    if (Status s = fa::capi::logger_options_from_json(j, &opt); !s.ok()) return s;
    fa::Result<std::unique_ptr<fa::AuditLogger>> logger = fa::AuditLogger::open(std::move(opt));
    if (!logger) return logger.status();
    auto impl = std::make_unique<fa::capi::LoggerImpl>();
    impl->logger = std::shared_ptr<fa::AuditLogger>(std::move(logger.value()));
    *out = reinterpret_cast<fa_logger*>(fa::capi::make_shell(Kind::logger, impl.get()));
    impl.release();
    return Status::OK();
  });
}

FA_EXPORT fa_status fa_logger_log(fa_logger* logger, const char* event_json, size_t event_len) {
  return guarded([&]() -> Status {
    fa::capi::LoggerImpl& impl = get<fa::capi::LoggerImpl>(logger, Kind::logger);
    return fa::capi::log_json_text(*impl.logger, event_json, event_len);
  });
}

FA_EXPORT fa_status fa_logger_log_marshal(fa_logger* logger, const void* data, size_t len) {
  return guarded([&]() -> Status {
    fa::capi::LoggerImpl& impl = get<fa::capi::LoggerImpl>(logger, Kind::logger);
    return fa::capi::log_marshal(*impl.logger, data, len);
  });
}

FA_EXPORT fa_status fa_event_marshal_to_json(const void* data, size_t len, char** out_json, size_t* out_len) {
  return guarded_out(out_json, out_len,
                     [&](std::string& out) -> Status { return fa::capi::marshal_to_json_text(data, len, &out); });
}

FA_EXPORT fa_status fa_logger_flush(fa_logger* logger) {
  return guarded([&]() -> Status { return get<fa::capi::LoggerImpl>(logger, Kind::logger).logger->flush(); });
}

FA_EXPORT fa_status fa_logger_close(fa_logger* logger) {
  return guarded([&]() -> Status { return get<fa::capi::LoggerImpl>(logger, Kind::logger).logger->close(); });
}

FA_EXPORT fa_status fa_logger_stats(fa_logger* logger, char** out_json, size_t* out_len) {
  return guarded_out(out_json, out_len, [&](std::string& out) -> Status {
    out = json_text(fa::capi::stats_json(get<fa::capi::LoggerImpl>(logger, Kind::logger).logger->stats()));
    return Status::OK();
  });
}

FA_EXPORT fa_status fa_logger_head(fa_logger* logger, char** out_json, size_t* out_len) {
  return guarded_out(out_json, out_len, [&](std::string& out) -> Status {
    out = get<fa::capi::LoggerImpl>(logger, Kind::logger).logger->head().to_json();
    return Status::OK();
  });
}

FA_EXPORT fa_status fa_logger_info(fa_logger* logger, char** out_json, size_t* out_len) {
  return guarded_out(out_json, out_len, [&](std::string& out) -> Status {
    out = json_text(fa::capi::info_json(*get<fa::capi::LoggerImpl>(logger, Kind::logger).logger));
    return Status::OK();
  });
}

FA_EXPORT void fa_logger_destroy(fa_logger* logger) {
  fa::capi::destroy_handle<fa::capi::LoggerImpl>(logger, Kind::logger, [](fa::capi::LoggerImpl& impl) {
    // Trackers and registries made from it keep the object alive; they get Code::closed from now on.
    (void)impl.logger->close();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// GenerationTracker

FA_EXPORT fa_status fa_tracker_create(fa_logger* logger, const char* options_json, size_t options_len,
                                      fa_tracker** out) {
  if (out != nullptr) *out = nullptr;
  return guarded([&]() -> Status {
    fa::capi::LoggerImpl& l = get<fa::capi::LoggerImpl>(logger, Kind::logger);
    if (out == nullptr) return {Code::invalid_argument, "out: NULL out-parameter"};
    json j;
    if (Status s = fa::capi::optional_object(options_json, options_len, "options", &j); !s.ok()) return s;
    fa::TrackerOptions opt;
    if (Status s = fa::capi::tracker_options_from_json(j, &opt); !s.ok()) return s;
    auto impl = std::make_unique<fa::capi::TrackerImpl>();
    impl->logger = l.logger;
    impl->tracker = std::make_unique<fa::GenerationTracker>(*impl->logger, std::move(opt));
    *out = reinterpret_cast<fa_tracker*>(fa::capi::make_shell(Kind::tracker, impl.get()));
    impl.release();
    return Status::OK();
  });
}

#define FA_TRACKER_BEGIN                                                                          \
  fa::capi::TrackerImpl& impl = get<fa::capi::TrackerImpl>(t, Kind::tracker);                     \
  std::string id;                                                                                 \
  if (Status s = read_text(request_id, request_id_len, "request_id", &id); !s.ok()) return s;

FA_EXPORT fa_status fa_tracker_submitted(fa_tracker* t, const char* request_id, size_t request_id_len,
                                         const char* submission_json, size_t submission_len) {
  return guarded([&]() -> Status {
    FA_TRACKER_BEGIN
    json j;
    if (Status s = fa::capi::optional_object(submission_json, submission_len, "submission", &j); !s.ok())
      return s;
    fa::GenerationTracker::Submission sub;
    if (Status s = fa::capi::submission_from_json(j, &sub); !s.ok()) return s;
    return impl.tracker->submitted(id, sub);
  });
}

FA_EXPORT fa_status fa_tracker_queued(fa_tracker* t, const char* request_id, size_t request_id_len,
                                      int64_t queue_position) {
  return guarded([&]() -> Status {
    FA_TRACKER_BEGIN
    return impl.tracker->queued(id, queue_position);
  });
}

FA_EXPORT fa_status fa_tracker_started(fa_tracker* t, const char* request_id, size_t request_id_len,
                                       const char* worker_id, size_t worker_id_len) {
  return guarded([&]() -> Status {
    FA_TRACKER_BEGIN
    std::string worker;
    if (Status s = read_text(worker_id, worker_id_len, "worker_id", &worker); !s.ok()) return s;
    return impl.tracker->started(id, worker);
  });
}

FA_EXPORT fa_status fa_tracker_completed(fa_tracker* t, const char* request_id, size_t request_id_len,
                                         const char* completion_json, size_t completion_len) {
  return guarded([&]() -> Status {
    FA_TRACKER_BEGIN
    json j;
    if (Status s = fa::capi::optional_object(completion_json, completion_len, "completion", &j); !s.ok())
      return s;
    fa::GenerationTracker::Completion c;
    if (Status s = fa::capi::completion_from_json(j, &c); !s.ok()) return s;
    return impl.tracker->completed(id, c);
  });
}

FA_EXPORT fa_status fa_tracker_failed(fa_tracker* t, const char* request_id, size_t request_id_len,
                                      const char* error_details, size_t error_details_len, int64_t retry_count) {
  return guarded([&]() -> Status {
    FA_TRACKER_BEGIN
    std::string details;
    if (Status s = read_text(error_details, error_details_len, "error_details", &details); !s.ok()) return s;
    if (retry_count < 0) return {Code::invalid_argument, "retry_count: must not be negative"};
    return impl.tracker->failed(id, details, retry_count);
  });
}

FA_EXPORT fa_status fa_tracker_cancelled(fa_tracker* t, const char* request_id, size_t request_id_len,
                                         const char* cancelled_by, size_t cancelled_by_len, const char* reason,
                                         size_t reason_len) {
  return guarded([&]() -> Status {
    FA_TRACKER_BEGIN
    std::string by, why;
    if (Status s = read_text(cancelled_by, cancelled_by_len, "cancelled_by", &by); !s.ok()) return s;
    if (Status s = read_text(reason, reason_len, "reason", &why); !s.ok()) return s;
    return impl.tracker->cancelled(id, by, why);
  });
}

FA_EXPORT fa_status fa_tracker_webhook(fa_tracker* t, const char* request_id, size_t request_id_len,
                                       const char* attempt_json, size_t attempt_len) {
  return guarded([&]() -> Status {
    FA_TRACKER_BEGIN
    json j;
    if (Status s = fa::capi::parse_json_object(attempt_json, attempt_len, "attempt", &j); !s.ok()) return s;
    fa::GenerationTracker::WebhookAttempt a;
    if (Status s = fa::capi::webhook_from_json(j, &a); !s.ok()) return s;
    return impl.tracker->webhook(id, a);
  });
}

#undef FA_TRACKER_BEGIN

FA_EXPORT fa_status fa_tracker_sweep(fa_tracker* t) {
  return guarded([&]() -> Status { return get<fa::capi::TrackerImpl>(t, Kind::tracker).tracker->sweep(); });
}

FA_EXPORT fa_status fa_tracker_state(fa_tracker* t, const char* request_id, size_t request_id_len, char** out_json,
                                     size_t* out_len) {
  return guarded_out(out_json, out_len, [&](std::string& out) -> Status {
    fa::capi::TrackerImpl& impl = get<fa::capi::TrackerImpl>(t, Kind::tracker);
    std::string id;
    if (Status s = read_text(request_id, request_id_len, "request_id", &id); !s.ok()) return s;
    std::optional<fa::GenerationState> st = impl.tracker->state(id);
    if (!st) return {Code::not_found, "request_id: not tracked (never seen, or forgotten)"};
    out = json_text({{"state", fa::generation_state_name(*st)}});
    return Status::OK();
  });
}

FA_EXPORT fa_status fa_tracker_stats(fa_tracker* t, char** out_json, size_t* out_len) {
  return guarded_out(out_json, out_len, [&](std::string& out) -> Status {
    out = json_text(fa::capi::tracker_stats_json(get<fa::capi::TrackerImpl>(t, Kind::tracker).tracker->stats()));
    return Status::OK();
  });
}

FA_EXPORT void fa_tracker_destroy(fa_tracker* t) {
  fa::capi::destroy_handle<fa::capi::TrackerImpl>(t, Kind::tracker, [](fa::capi::TrackerImpl&) {});
}

// ---------------------------------------------------------------------------------------------------------------
// ModelVersionRegistry

FA_EXPORT fa_status fa_registry_open(fa_logger* logger, const char* options_json, size_t options_len,
                                     fa_registry** out) {
  if (out != nullptr) *out = nullptr;
  return guarded([&]() -> Status {
    fa::capi::LoggerImpl& l = get<fa::capi::LoggerImpl>(logger, Kind::logger);
    if (out == nullptr) return {Code::invalid_argument, "out: NULL out-parameter"};
    json j;
    if (Status s = fa::capi::optional_object(options_json, options_len, "options", &j); !s.ok()) return s;
    fa::RegistryOptions opt;
    if (Status s = fa::capi::registry_options_from_json(j, &opt); !s.ok()) return s;
    fa::Result<fa::ModelVersionRegistry> reg = fa::ModelVersionRegistry::open(*l.logger, {}, std::move(opt));
    if (!reg) return reg.status();
    auto impl = std::make_unique<fa::capi::RegistryImpl>();
    impl->logger = l.logger;
    impl->registry = std::make_unique<fa::ModelVersionRegistry>(std::move(reg.value()));
    *out = reinterpret_cast<fa_registry*>(fa::capi::make_shell(Kind::registry, impl.get()));
    impl.release();
    return Status::OK();
  });
}

FA_EXPORT fa_status fa_registry_register(fa_registry* r, const char* registration_json, size_t len, char** out_json,
                                         size_t* out_len) {
  return guarded_out(out_json, out_len, [&](std::string& out) -> Status {
    fa::capi::RegistryImpl& impl = get<fa::capi::RegistryImpl>(r, Kind::registry);
    json j;
    if (Status s = fa::capi::parse_json_object(registration_json, len, "registration", &j); !s.ok()) return s;
    fa::ModelRegistration reg;
    if (Status s = fa::capi::registration_from_json(j, &reg); !s.ok()) return s;
    fa::Result<fa::ModelVersion> v = impl.registry->register_model(reg);
    if (!v) return v.status();
    out = json_text(fa::model_version_json(v.value()));
    return Status::OK();
  });
}

FA_EXPORT fa_status fa_registry_approve(fa_registry* r, const char* transition_json, size_t len) {
  return guarded([&]() { return fa::capi::registry_transition(r, transition_json, len, fa::ModelState::approved); });
}

FA_EXPORT fa_status fa_registry_deprecate(fa_registry* r, const char* transition_json, size_t len) {
  return guarded(
      [&]() { return fa::capi::registry_transition(r, transition_json, len, fa::ModelState::deprecated); });
}

FA_EXPORT fa_status fa_registry_revoke(fa_registry* r, const char* transition_json, size_t len) {
  return guarded([&]() { return fa::capi::registry_transition(r, transition_json, len, fa::ModelState::revoked); });
}

FA_EXPORT fa_status fa_registry_record_lora_training(fa_registry* r, const char* training_json, size_t len) {
  return guarded([&]() -> Status {
    fa::capi::RegistryImpl& impl = get<fa::capi::RegistryImpl>(r, Kind::registry);
    json j;
    if (Status s = fa::capi::parse_json_object(training_json, len, "training", &j); !s.ok()) return s;
    fa::LoraTraining t;
    if (Status s = fa::capi::training_from_json(j, &t); !s.ok()) return s;
    return impl.registry->record_lora_training(t);
  });
}

FA_EXPORT fa_status fa_registry_verify_file(fa_registry* r, const char* file_json, size_t len, char** out_json,
                                            size_t* out_len) {
  return guarded_out(out_json, out_len, [&](std::string& out) -> Status {
    fa::capi::RegistryImpl& impl = get<fa::capi::RegistryImpl>(r, Kind::registry);
    json j;
    if (Status s = fa::capi::parse_json_object(file_json, len, "file", &j); !s.ok()) return s;
    fa::capi::Members m(j, "file");
    std::string model_id, version, path;
    m.str("model_id", &model_id, true);
    m.str("version", &version, true);
    m.file("path", &path);
    if (Status s = m.finish(); !s.ok()) return s;
    fa::Result<fa::FileCheck> c = impl.registry->verify_file(model_id, version, path);
    if (!c) return c.status();
    out = json_text(fa::capi::file_check_json(c.value()));
    return Status::OK();
  });
}

FA_EXPORT fa_status fa_registry_check_generation(fa_registry* r, const char* generation_json, size_t len,
                                                 char** out_json, size_t* out_len) {
  return guarded_out(out_json, out_len, [&](std::string& out) -> Status {
    fa::capi::RegistryImpl& impl = get<fa::capi::RegistryImpl>(r, Kind::registry);
    json j;
    if (Status s = fa::capi::parse_json_object(generation_json, len, "generation", &j); !s.ok()) return s;
    fa::GenerationModels g;
    fa::ViolationPolicy policy = fa::ViolationPolicy::block;
    if (Status s = fa::capi::generation_from_json(j, &g, &policy); !s.ok()) return s;
    fa::Result<fa::GenerationDecision> d = impl.registry->check_generation(g, policy);
    if (!d) return d.status();
    out = json_text(fa::capi::decision_json(d.value()));
    return Status::OK();
  });
}

FA_EXPORT fa_status fa_registry_list(fa_registry* r, char** out_json, size_t* out_len) {
  return guarded_out(out_json, out_len, [&](std::string& out) -> Status {
    fa::capi::RegistryImpl& impl = get<fa::capi::RegistryImpl>(r, Kind::registry);
    json models = json::array();
    for (const fa::ModelVersion& v : impl.registry->list()) models.push_back(fa::model_version_json(v));
    json notes = json::array();
    for (const fa::ReplayNote& n : impl.registry->replay_notes())
      notes.push_back({{"seq", n.seq}, {"event_type", n.event_type}, {"detail", n.detail}});
    out = json_text({{"models", models},
                     {"replay_notes", notes},
                     {"records_replayed", impl.registry->records_replayed()}});
    return Status::OK();
  });
}

FA_EXPORT void fa_registry_destroy(fa_registry* r) {
  fa::capi::destroy_handle<fa::capi::RegistryImpl>(r, Kind::registry, [](fa::capi::RegistryImpl&) {});
}

// ---------------------------------------------------------------------------------------------------------------
// ChainVerifier

FA_EXPORT fa_status fa_verifier_create(const char* options_json, size_t options_len, fa_verifier** out) {
  if (out != nullptr) *out = nullptr;
  return guarded([&]() -> Status {
    if (out == nullptr) return {Code::invalid_argument, "out: NULL out-parameter"};
    json j;
    if (Status s = fa::capi::optional_object(options_json, options_len, "options", &j); !s.ok()) return s;
    auto impl = std::make_unique<fa::capi::VerifierImpl>();
    if (Status s = fa::capi::verify_options_from_json(j, "options", &impl->options); !s.ok()) return s;
    *out = reinterpret_cast<fa_verifier*>(fa::capi::make_shell(Kind::verifier, impl.get()));
    impl.release();
    return Status::OK();
  });
}

FA_EXPORT fa_status fa_verifier_verify_path(fa_verifier* v, const char* path, size_t path_len, char** out_json,
                                            size_t* out_len) {
  return guarded_out(out_json, out_len, [&](std::string& out) -> Status {
    fa::capi::VerifierImpl& impl = get<fa::capi::VerifierImpl>(v, Kind::verifier);
    std::string p;
    if (Status s = read_text(path, path_len, "path", &p); !s.ok()) return s;
    if (p.empty()) return {Code::invalid_argument, "path: empty"};
    if (p.find('\0') != std::string::npos) return {Code::invalid_argument, "path: contains a NUL byte"};
    fa::ChainVerifier verifier(impl.options);
    fa::Result<fa::VerifySummary> sum = verifier.verify_path(p);
    if (!sum) return sum.status();
    out = fa::format_summary_json(sum.value());
    return Status::OK();
  });
}

FA_EXPORT void fa_verifier_destroy(fa_verifier* v) {
  fa::capi::destroy_handle<fa::capi::VerifierImpl>(v, Kind::verifier, [](fa::capi::VerifierImpl&) {});
}

}  // extern "C"
