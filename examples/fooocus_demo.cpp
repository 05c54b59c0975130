// SPDX-License-Identifier: Apache-2.0
// fooocus_demo: a realistic Fooocus workload written to a local audit log (the embedded default: no
// server) with forward-secure MACs and Ed25519-signed checkpoints, verified with the auditor's keys, then
// tampered with in copies to show the verifier pinpointing each change — including an intruder who
// recomputes every hash — and one generation proven offline with a one-record proof bundle. The workload
// goes through the governance APIs: a ModelVersionRegistry (two base models and a LoRA registered and
// approved; one request uses an unregistered model), a ContentPolicyEnforcer (a few prompts rejected) and a
// GenerationTracker writing each request's lifecycle, outputs and webhook deliveries.
//
//   fooocus_demo [--out DIR] [--requests N] [--seed S]
//
// Exit status: 0 when the original log verifies and every tampering is detected as expected.

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "fooocus_audit/detail/crypto.hpp"  // random key bytes, hex, and the tampering helpers' chain hash
#include "fooocus_audit/fooocus_audit.hpp"

namespace fa = fooocus_audit;
namespace fs = std::filesystem;

namespace {

struct User {
  const char* id;
  const char* tenant;
  const char* ip;
  const char* agent;
};

const User kUsers[] = {
    {"alice@enterprise.com", "acme_corp", "10.2.3.4", "Fooocus-API-client/1.0"},
    {"bob@enterprise.com", "acme_corp", "10.2.3.17", "Mozilla/5.0 (Gradio; Fooocus 2.5.5)"},
    {"carol@clinic.example", "medcare_health", "10.8.0.21", "Fooocus-API-client/1.0"},
    {"dave@bank.example", "fin_services", "10.9.4.2", "python-requests/2.31"},
    {"erin@studio.example", "studio_north", "10.4.1.9", "Mozilla/5.0 (Gradio; Fooocus 2.5.5)"},
};

const char* const kPrompts[] = {
    "professional product photography, luxury watch on marble surface",
    "isometric illustration of a data center, soft pastel colors",
    "portrait of an astronaut in a sunflower field, golden hour",
    "minimalist logo concept for a coffee roastery, flat vector",
    "architectural rendering of a timber pavilion in the rain",
    "macro photo of dew on a spider web, shallow depth of field",
};
// What users also type: personal data and keys. The PromptSanitizer replaces each before the prompt is logged
// (emails by a keyed pseudonym of the tenant, the rest by labels); the demo checks that none of these raw values
// is anywhere in the log's bytes.
const char* const kPiiPrompts[] = {
    "badge portrait for jane.doe@clinic.example, patient MRN 4829113, soft studio light",
    "poster of our support line +1 415 555 0132 in neon, retro diner style",
    "prop credit card reading 4111 1111 1111 1111 on a wooden desk, macro",
    "banner that says deploy key 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, cyberpunk",
};
const char* const kPiiRaw[] = {"jane.doe@clinic.example", "4829113", "415 555 0132", "4111 1111 1111 1111",
                               "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", "AKIAZ7VRSQ5TJN2XMY6P"};
const char* const kPerformance[] = {"Speed", "Quality", "Extreme Speed", "Lightning", "Hyper-SD"};
const char* const kAspect[] = {"1152x896", "1024x1024", "896x1152", "1216x832", "1344x768"};
const char* const kStyles[] = {"Fooocus V2", "Fooocus Enhance", "Fooocus Sharp", "Fooocus Photograph",
                               "Fooocus Cinematic"};
// The base models and the LoRA the demo registers and approves (fake .safetensors files in the output dir).
struct DemoModel {
  const char* id;
  const char* version;
  const char* file;
  fa::ModelKind kind;
};
const DemoModel kModels[] = {
    {"juggernautXL", "v8", "juggernautXL_v8Rundiffusion.safetensors", fa::ModelKind::base},
    {"sd_xl_base", "1.0", "sd_xl_base_1.0.safetensors", fa::ModelKind::base},
};
const DemoModel kLora = {"brand-style", "v2", "brand-style-v2.safetensors", fa::ModelKind::lora};
// A model nobody registered: one request uses it, to show model.violation.
const char* const kRogueModel = "dreamshaperXL_turbo.safetensors";

// Prompts the content policy rejects (never logged: only their hash goes into policy.violation).
const char* const kBadPrompts[] = {
    "step by step blueprint of a ghost gun on a workbench",
    "news photo of a pipe bomb in a subway station",
    "3d printed pistol assembly diagram, exploded view",
};
const char* const kPolicyRules = R"({
  "version": 1,
  "rules": [
    {"id": "weapons-001", "name": "Weapons manufacturing", "severity": "critical", "action": "reject",
     "keywords": ["ghost gun", "untraceable firearm"]},
    {"id": "explosives-002", "name": "Explosive devices", "severity": "critical", "action": "reject",
     "whole_words": ["pipe bomb"]},
    {"id": "printed-arms-003", "name": "3D-printed weapons", "severity": "high", "action": "reject",
     "patterns": ["(?i)\\b3d[- ]?print(ed|ing)?\\s+(gun|rifle|pistol)s?\\b"]}
  ]
})";

struct Workload {
  std::uint64_t events = 0, generations = 0, failed = 0, cancelled = 0, nsfw = 0;
  std::uint64_t models = 0, violations = 0, rejections = 0, anomalies = 0;
  std::uint64_t pii_prompts = 0, pii_findings = 0, secrets_redacted = 0;
};

std::string hex_id(std::mt19937_64& rng) { return fmt::format("{:016x}", rng()); }

std::uint32_t crc32(const std::string& s) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

void be32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFF));
}

std::string png_chunk(const std::string& type, const std::string& data) {
  std::string out;
  be32(out, static_cast<std::uint32_t>(data.size()));
  out += type + data;
  be32(out, crc32(type + data));
  return out;
}

// Writes a small stand-in for a generated PNG: a valid signature, IHDR (8-bit RGB, width x height), an
// opaque IDAT of random bytes (never decoded: the tracker reads the header only) and IEND.
void write_fake_png(const std::string& path, std::uint32_t width, std::uint32_t height, std::mt19937_64& rng) {
  std::string ihdr;
  be32(ihdr, width);
  be32(ihdr, height);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);
  std::string idat;
  const std::size_t n = 2048 + rng() % 6144;
  while (idat.size() < n) idat.push_back(static_cast<char>(rng()));
  const std::string bytes = std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", ihdr) + png_chunk("IDAT", idat) +
                            png_chunk("IEND", "");
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Writes a small stand-in for a model file.
std::string write_fake_model(const fs::path& dir, const char* file, std::mt19937_64& rng) {
  const fs::path path = dir / file;
  std::string bytes = std::string("{\"__metadata__\":{\"format\":\"pt\"}}");
  while (bytes.size() < 16384) bytes.push_back(static_cast<char>(rng()));
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path.string();
}

bool check(const fa::Status& s, const char* what) {
  if (!s) fmt::print(stderr, "demo: {}: {}\n", what, s.to_string());
  return s.ok();
}

// Registers and approves the two base models and the LoRA (with its training record).
bool register_models(fa::ModelVersionRegistry& reg, const fs::path& models_dir, std::mt19937_64& rng,
                     std::vector<std::string>* paths, std::string* lora_path, Workload* w) {
  auto add = [&](const DemoModel& m) -> std::string {
    fa::ModelRegistration r;
    r.model_id = m.id;
    r.version = m.version;
    r.kind = m.kind;
    r.path = write_fake_model(models_dir, m.file, rng);
    r.source = m.kind == fa::ModelKind::lora ? "internal training run" : "https://huggingface.co/";
    r.registered_by = "mlops@enterprise.com";
    auto v = reg.register_model(r);
    if (!check(v.status(), "register model")) return {};
    if (m.kind == fa::ModelKind::lora &&
        !check(reg.record_lora_training({m.id, m.version, "ds_brand_assets_2026q1", "trainer@enterprise.com",
                                         {{"rank", 16}, {"alpha", 8}, {"steps", 2500}, {"base_model", "sd_xl_base"}}}),
               "record LoRA training"))
      return {};
    if (!check(reg.approve(m.id, m.version, "security@enterprise.com", "passed red-team review"), "approve"))
      return {};
    ++w->models;
    return r.path;
  };
  for (const DemoModel& m : kModels) {
    paths->push_back(add(m));
    if (paths->back().empty()) return false;
  }
  *lora_path = add(kLora);
  return !lora_path->empty();
}

bool run_workload(fa::AuditLogger& log, const fs::path& root, const std::string& outputs_dir, int requests,
                  std::mt19937_64& rng, Workload* w) {
  // Governance: the model registry (rebuilt from this log, empty at first), the content policy and the
  // lifecycle tracker, all writing into the same audit log.
  auto registry = fa::ModelVersionRegistry::open(log);
  if (!check(registry.status(), "open model registry")) return false;
  const fs::path models_dir = root / "models";
  fs::remove_all(models_dir);
  fs::create_directories(models_dir);
  std::vector<std::string> model_paths;
  std::string lora_path;
  if (!register_models(*registry, models_dir, rng, &model_paths, &lora_path, w)) return false;
  const std::string rogue_path = write_fake_model(models_dir, kRogueModel, rng);

  auto policy = fa::ContentPolicyEnforcer::parse(kPolicyRules, "demo-rules");
  if (!check(policy.status(), "content policy")) return false;
  std::array<std::uint8_t, 32> tenant_key{};  // keyed prompt hashes: the log cannot be searched by guessing
  fa::detail::random_bytes(tenant_key.data(), tenant_key.size());
  auto hasher = fa::hmac_prompt_hasher(
      std::string_view(reinterpret_cast<const char*>(tenant_key.data()), tenant_key.size()));
  fa::detail::secure_wipe(tenant_key.data(), tenant_key.size());  // the hasher keeps its own copy
  if (!check(hasher.status(), "prompt hasher")) return false;
  policy->set_prompt_hasher(std::move(hasher.value()));

  // One PromptSanitizer per tenant, each with its own key: e-mail addresses become keyed pseudonyms that stay
  // the same within a tenant and cannot be linked across tenants; the prompt hash is keyed too.
  std::vector<std::pair<std::string, fa::PromptSanitizer>> sanitizers;
  for (const User& u : kUsers) {
    bool have = false;
    for (const auto& t : sanitizers) have |= t.first == u.tenant;
    if (have) continue;
    auto config = fa::SanitizerConfig::parse(
        fmt::format(R"({{"tenant_id": "{}", "detectors": {{"email": {{"mode": "token"}}}}}})", u.tenant));
    if (!check(config.status(), "sanitizer config")) return false;
    auto key = fa::TenantKey::generate();
    if (!check(key.status(), "tenant key")) return false;
    auto sanitizer = fa::PromptSanitizer::create(std::move(config.value()), std::move(key.value()));
    if (!check(sanitizer.status(), "sanitizer")) return false;
    sanitizers.emplace_back(u.tenant, std::move(sanitizer.value()));
  }
  auto sanitizer_of = [&](const std::string& tenant) -> const fa::PromptSanitizer& {
    for (const auto& t : sanitizers)
      if (t.first == tenant) return t.second;
    return sanitizers.front().second;
  };

  // Simulated time: durations follow the workload's numbers, not this machine's speed.
  std::int64_t now_ms = 0;
  fa::TrackerOptions topt;
  topt.clock_ms = [&now_ms] { return now_ms; };
  topt.abandon_after = std::chrono::hours(24);
  fa::GenerationTracker tracker(log, topt);

  auto emit = [&](const nlohmann::json& e) { return check(log.log(e), "log"); };

  std::vector<std::string> sessions;
  for (const User& u : kUsers) {
    sessions.push_back("sess_" + hex_id(rng));
    if (!emit({{"event_type", "auth.succeeded"}, {"user_id", u.id}, {"tenant_id", u.tenant}, {"method", "oidc"},
               {"mfa_verified", true}, {"ip_address", u.ip}}) ||
        !emit({{"event_type", "session.started"}, {"user_id", u.id}, {"tenant_id", u.tenant},
               {"session_id", sessions.back()}, {"auth_method", "OIDC"}, {"mfa_verified", true},
               {"ip_address", u.ip}, {"user_agent", u.agent}}))
      return false;
  }
  const int rogue_request = requests / 2;
  for (int i = 0; i < requests; ++i) {
    const std::size_t ui = rng() % std::size(kUsers);
    const User& u = kUsers[ui];
    const std::string request_id = "req_" + hex_id(rng);
    const bool bad = i % 97 == 41;  // a few prompts break the content policy
    const bool pii = !bad && i % 50 == 7;  // and some carry personal data or a key
    const std::string prompt = bad   ? kBadPrompts[(i / 97) % std::size(kBadPrompts)]
                               : pii ? kPiiPrompts[(i / 50) % std::size(kPiiPrompts)]
                                     : kPrompts[rng() % std::size(kPrompts)];
    const std::size_t mi = rng() % std::size(kModels);
    const bool rogue = i == rogue_request;
    const std::string model = rogue ? kRogueModel : kModels[mi].file;
    now_ms += static_cast<std::int64_t>(100 + rng() % 900);

    fa::events::Context ctx;
    ctx.user_id = u.id;
    ctx.tenant_id = u.tenant;
    ctx.session_id = sessions[ui];
    auto verdict = policy->enforce(prompt, request_id, log, ctx);
    if (!check(verdict.status(), "content policy")) return false;
    if (verdict->reject()) {  // never submitted: the prompt's text stays out of the log
      ++w->rejections;
      continue;
    }

    fa::GenerationTracker::Submission s;
    s.user_id = u.id;
    s.tenant_id = u.tenant;
    s.session_id = sessions[ui];
    s.ip_address = u.ip;
    s.user_agent = u.agent;
    auto clean = sanitizer_of(u.tenant).sanitize(prompt);
    if (!check(clean.status(), "sanitize")) return false;
    if (!clean->findings.empty()) ++w->pii_prompts;
    w->pii_findings += clean->findings.size();
    s.request.prompt_sanitized = clean->text;
    s.request.prompt_hash = clean->prompt_hash;
    s.request.negative_prompt = "blurry, low resolution, watermark";
    s.request.performance = kPerformance[rng() % std::size(kPerformance)];
    s.request.aspect_ratio = kAspect[rng() % std::size(kAspect)];
    s.request.num_images = 1 + static_cast<std::int64_t>(rng() % 2);
    s.request.seed = rng() % 9007199254740991ULL;
    const bool with_lora = rng() % 4 == 0;
    if (with_lora) s.request.loras.push_back({kLora.file, 0.8});
    s.request.styles = {kStyles[0], kStyles[1 + rng() % (std::size(kStyles) - 1)]};
    s.request.guidance_scale = 4.0;
    s.request.sharpness = 2.0;
    s.model_version = model;
    s.refiner_model = "None";

    // May these models run? Flag policy: problems are recorded, the generation goes ahead.
    fa::GenerationModels gm;
    gm.request_id = request_id;
    gm.user_id = u.id;
    gm.base = rogue ? fa::ModelUse{"dreamshaperXL", "", rogue_path, 1.0}
                    : fa::ModelUse{kModels[mi].id, "", model_paths[mi], 1.0};
    if (with_lora) gm.loras.push_back(fa::ModelUse{kLora.id, "", lora_path, 0.8});
    auto decision = registry->check_generation(gm, fa::ViolationPolicy::flag);
    if (!check(decision.status(), "check generation")) return false;
    w->violations += decision->violations.size();

    if (!check(tracker.submitted(request_id, s), "submitted")) return false;
    now_ms += static_cast<std::int64_t>(rng() % 200);
    if (!check(tracker.queued(request_id, 1 + static_cast<std::int64_t>(rng() % 8)), "queued")) return false;
    now_ms += static_cast<std::int64_t>(50 + rng() % 4000);
    if (!check(tracker.started(request_id, fmt::format("gpu-node-{}", 1 + rng() % 6)), "started")) return false;
    now_ms += static_cast<std::int64_t>(2500 + rng() % 30000);

    const unsigned outcome = static_cast<unsigned>(rng() % 100);
    if (outcome < 3) {
      if (!check(tracker.failed(request_id, "CUDA out of memory", 1), "failed")) return false;
      ++w->failed;
    } else if (outcome < 5) {
      if (!check(tracker.cancelled(request_id, u.id, "stopped by user"), "cancelled")) return false;
      ++w->cancelled;
    } else {
      unsigned width = 1024, height = 1024;
      std::sscanf(s.request.aspect_ratio.c_str(), "%ux%u", &width, &height);
      const bool nsfw = rng() % 100 == 0;
      fa::GenerationTracker::Completion c;
      c.safety_checker_version = "CompVis/stable-diffusion-safety-checker";
      for (std::int64_t k = 0; k < s.request.num_images; ++k) {
        const std::string path = fmt::format("{}/{}_{}.png", outputs_dir, request_id, k);
        write_fake_png(path, width, height, rng);
        c.outputs.push_back({path, "file://" + path, nsfw});
      }
      if (nsfw) ++w->nsfw;
      if (!check(policy->log_safety_check(prompt, request_id, log, nsfw,
                                          nsfw ? fa::events::SafetyAction::blocked : fa::events::SafetyAction::allowed,
                                          c.safety_checker_version, ctx),
                 "safety check"))
        return false;
      if (!check(tracker.completed(request_id, c), "completed")) return false;
      ++w->generations;
    }
    // The client's webhook: now and then the first attempt fails and the second gets through.
    now_ms += static_cast<std::int64_t>(rng() % 300);
    if (rng() % 20 == 0) {
      fa::GenerationTracker::WebhookAttempt a;
      a.attempt = 1;
      a.status = 503;
      a.retry = true;
      a.url_host = "hooks.enterprise.com";
      a.error = "service unavailable";
      if (!check(tracker.webhook(request_id, a), "webhook")) return false;
      now_ms += 1000;
      if (!check(tracker.webhook(request_id, 2, 200, true), "webhook")) return false;
    } else if (!check(tracker.webhook(request_id, 1, 200, true), "webhook")) {
      return false;
    }
  }
  // A client that pasted an AWS key into its user agent: the logger's secret guard redacts it before sealing.
  if (!emit({{"event_type", "auth.failed"}, {"user_id", "mallory@outside.example"}, {"reason", "invalid_token"},
             {"ip_address", "203.0.113.9"}, {"user_agent", "curl/8.1 (key AKIAZ7VRSQ5TJN2XMY6P)"}}))
    return false;
  for (std::size_t ui = 0; ui < std::size(kUsers); ++ui)
    if (!emit({{"event_type", "session.ended"}, {"user_id", kUsers[ui].id}, {"session_id", sessions[ui]},
               {"end_reason", "logout"}}))
      return false;
  if (!check(tracker.sweep(), "sweep")) return false;
  const fa::TrackerStats ts = tracker.stats();
  w->anomalies = ts.anomalies;
  if (ts.sink_errors != 0) return check(fa::Status(fa::Code::io_error, "tracker events refused"), "tracker");
  w->events = log.stats().accepted;
  w->secrets_redacted = log.stats().secrets_redacted;
  return true;
}

// --- tampering helpers: plain file edits, exactly what an intruder with write access could do ---

struct Line {
  fs::path segment;
  std::size_t index;
  std::uint64_t seq;
};

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

void write_lines(const fs::path& p, const std::vector<std::string>& lines) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  for (const std::string& l : lines) out << l << '\n';
}

std::vector<fs::path> segments_of(const fs::path& dir) {
  std::vector<fs::path> segs;
  for (const auto& e : fs::directory_iterator(dir))
    if (fa::detail::parse_segment_name(e.path().filename().string())) segs.push_back(e.path());
  std::sort(segs.begin(), segs.end());
  return segs;
}

// The first record at or after `fraction` of the log whose event_type is `type`.
std::optional<Line> find_record(const fs::path& dir, double fraction, std::string_view type) {
  std::vector<Line> all;
  for (const fs::path& seg : segments_of(dir)) {
    const auto lines = read_lines(seg);
    // Interior records only: an edit, a deletion or a swap with the next record then stays inside one segment,
    // and the verifier's finding is the record-level one the demo expects (a deleted last record of a segment is
    // reported as a missing segment instead; where segments end depends on the writer's timing).
    for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
      fa::record::View v;
      if (fa::record::parse(lines[i], &v) && v.event_type == type) all.push_back({seg, i, v.seq});
    }
  }
  if (all.empty()) return std::nullopt;
  return all[std::min(all.size() - 1, static_cast<std::size_t>(fraction * static_cast<double>(all.size())))];
}

fs::path copy_log(const fs::path& from, const fs::path& to) {
  fs::remove_all(to);
  fs::create_directories(to);
  for (const fs::path& seg : segments_of(from)) fs::copy_file(seg, to / seg.filename());
  return to;
}

// What the auditor holds, off the log host: the MAC seed and the trusted checkpoint key.
struct AuditorKeys {
  std::string seed_path;
  fa::note::VerifierKey verifier;
};

bool expect(const fs::path& dir, const std::optional<fa::Anchor>& anchor, fa::Reason reason, std::uint64_t seq,
            const std::string& title, const AuditorKeys* keys = nullptr) {
  fa::VerifyOptions opt;
  opt.anchor = anchor;
  if (keys != nullptr) {
    opt.mac_key_path = keys->seed_path;
    opt.trusted_keys = {keys->verifier};
  }
  fa::ChainVerifier v(opt);
  auto r = v.verify_path(dir.string());
  if (!r) {
    fmt::print("  verifier error: {}\n", r.status().to_string());
    return false;
  }
  bool found = false;
  for (const fa::Finding& f : r->findings) found |= f.reason == reason && f.seq == seq;
  fmt::print("\n== {}\n   verifier on {}{}{}:\n", title, dir.string(), anchor ? " with the anchor" : "",
             keys != nullptr ? " with the MAC seed and the trusted key" : " (chain only)");
  std::size_t shown = 0;
  for (const fa::Finding& f : r->findings)
    if (++shown <= 5) fmt::print("   -> {} at seq {}{} in {} @ byte {}: {}\n", fa::reason_name(f.reason), f.seq ? *f.seq : 0,
               f.seq_inferred ? " (inferred)" : "", f.segment, f.offset, f.detail);
  if (r->findings_total > 5) fmt::print("   ... {} findings in all\n", r->findings_total);
  fmt::print("   {}\n", found ? "DETECTED and pinpointed as expected" : "NOT detected as expected");
  return found;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = "demo-out";
  int requests = 2000;
  std::uint64_t seed = 2026;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else if (a == "--requests" && i + 1 < argc) {
      requests = std::max(10, std::atoi(argv[++i]));
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      fmt::print(stderr, "usage: fooocus_demo [--out DIR] [--requests N] [--seed S]\n");
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  const fs::path root = fs::absolute(out);
  const fs::path log_dir = root / "log", outputs = root / "outputs", anchor_path = root / "anchor.json";
  const fs::path keys_dir = root / "keys", checkpoints_path = root / "checkpoints.anchor";
  fs::remove_all(log_dir);
  fs::remove_all(outputs);
  fs::remove_all(keys_dir);
  fs::remove(checkpoints_path);
  fs::create_directories(outputs);
  fs::create_directories(keys_dir);
  fs::permissions(keys_dir, fs::perms::owner_all);
  std::mt19937_64 rng(seed);

  // Keys, as `fooocus-audit keygen` makes them: a MAC seed (the auditor keeps a copy; the writer's copy is
  // turned into its evolving key in place) and an Ed25519 checkpoint key. In production the signing key lives
  // in another process or host (examples/separate_signer.cpp); here it signs in process.
  AuditorKeys auditor;
  auditor.seed_path = (keys_dir / "auditor-mac.key").string();
  const std::string writer_key = (keys_dir / "writer-mac.key").string();
  auto mac_seed = fa::mac::Seed::generate();
  if (!check(mac_seed.status(), "MAC seed") || !check(mac_seed->save(auditor.seed_path), "save seed") ||
      !check(mac_seed->save(writer_key), "save seed"))
    return 1;
  auto signing_key = fa::note::SigningKey::generate("demo.example/fooocus");
  if (!check(signing_key.status(), "signing key")) return 1;
  auditor.verifier = signing_key->verifier();

  fmt::print("fooocus_audit {} demo: {} simulated Fooocus requests from {} users in {} tenants\n",
             FOOOCUS_AUDIT_VERSION_STRING, requests, std::size(kUsers), 4);
  fa::LoggerOptions opt;
  opt.dir = log_dir.string();
  opt.durability = fa::Durability::group_commit;
  opt.max_segment_bytes = 512 * 1024;  // small segments so the demo shows rotation
  opt.anchor_path = anchor_path.string();
  opt.mac_key_path = writer_key;
  opt.signer = std::make_shared<fa::LocalSigner>(std::move(signing_key.value()));
  opt.checkpoint_records = 1000;
  opt.checkpoint_anchor_path = checkpoints_path.string();
  const auto t0 = std::chrono::steady_clock::now();
  auto logger = fa::AuditLogger::open(opt);
  if (!logger) {
    fmt::print(stderr, "demo: {}\n", logger.status().to_string());
    return 1;
  }
  if (!check(fa::note::save_verifier_key((keys_dir / "verifier.key").string(), auditor.verifier), "save key"))
    return 1;
  Workload w;
  if (!run_workload(**logger, root, outputs.string(), requests, rng, &w)) return 1;
  if (!check((*logger)->flush(), "flush") || !check((*logger)->close(), "close")) return 1;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("logged {} events ({} generations, {} failed, {} cancelled, {} NSFW) in {:.2f} s, group commit 10 ms\n",
             w.events, w.generations, w.failed, w.cancelled, w.nsfw, secs);
  fmt::print("governance: {} models registered and approved, {} model violations, {} policy rejections, "
             "{} lifecycle anomalies\n",
             w.models, w.violations, w.rejections, w.anomalies);
  fmt::print("privacy: {} prompts carried personal data or keys ({} findings, replaced before logging); the secret "
             "guard redacted {} key(s) in other fields\n",
             w.pii_prompts, w.pii_findings, w.secrets_redacted);
  fmt::print("log:    {} ({} segments)\nanchor: {} and {} (keep copies off this host)\nkey:    {}\n",
             log_dir.string(), segments_of(log_dir).size(), anchor_path.string(), checkpoints_path.string(),
             auditor.verifier.text());

  auto anchor = fa::Anchor::load(anchor_path.string());
  if (!check(anchor.status(), "load anchor")) return 1;
  auto checkpoints = fa::AnchorSet::load(checkpoints_path.string());
  if (!check(checkpoints.status(), "load checkpoint anchors")) return 1;
  fa::VerifyOptions vopt;
  vopt.anchor = anchor.value();
  vopt.checkpoint_anchors = checkpoints->checkpoints;
  vopt.mac_key_path = auditor.seed_path;
  vopt.trusted_keys = {auditor.verifier};
  fa::ChainVerifier verifier(vopt);
  auto summary = verifier.verify_path(log_dir.string());
  if (!summary) return check(summary.status(), "verify"), 1;
  summary->findings.resize(std::min<std::size_t>(summary->findings.size(), 10));
  fmt::print("\n== The original log\n{}", fa::format_summary_text(summary.value()));
  if (!summary->intact) {
    fmt::print("DEMO FAILED: the freshly written log does not verify\n");
    return 1;
  }
  bool ok = true;
  {  // What the users typed is nowhere in the log: grep every byte of every file in the log directory.
    std::string all;
    for (const auto& entry : fs::recursive_directory_iterator(log_dir))
      if (entry.is_regular_file()) {
        std::ifstream in(entry.path(), std::ios::binary);
        all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
    std::size_t found = 0;
    for (const char* raw : kPiiRaw) found += all.find(raw) != std::string::npos;
    fmt::print("\n== Personal data and keys\n   {} of the {} raw values users typed (e-mail, MRN, phone, card, "
               "GitHub and AWS keys) appear in the log's {} bytes\n",
               found, std::size(kPiiRaw), all.size());
    ok &= found == 0 && w.pii_prompts > 0 && w.secrets_redacted > 0;
  }
  auto missing = [](const char* type) {
    fmt::print(stderr, "demo: no {} record in the workload; use more --requests\n", type);
    return 1;
  };

  // 1. An insider edits one byte of a prompt in the middle of the log.
  {
    const fs::path dir = copy_log(log_dir, root / "tampered-edit");
    auto target = find_record(dir, 0.4, "image_generation");
    if (!target) return missing("image_generation");
    auto lines = read_lines(target->segment);
    std::string& l = lines[target->index];
    l[l.find("\"prompt_sanitized\":\"") + 20] ^= 0x20;  // flip the case of the first letter
    write_lines(target->segment, lines);
    ok &= expect(dir, std::nullopt, fa::Reason::hash_mismatch, target->seq,
                 fmt::format("One byte of the prompt in record {} changed", target->seq));
  }
  // 2. A failed generation is deleted to hide it.
  {
    const fs::path dir = copy_log(log_dir, root / "tampered-delete");
    auto target = find_record(dir, 0.5, "generation.failed");
    if (!target) return missing("generation.failed");
    auto lines = read_lines(target->segment);
    lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(target->index));
    write_lines(target->segment, lines);
    ok &= expect(dir, std::nullopt, fa::Reason::sequence_gap, target->seq,
                 fmt::format("Record {} (generation.failed) deleted", target->seq));
  }
  // 3. Two records swapped to change the apparent order of events.
  {
    const fs::path dir = copy_log(log_dir, root / "tampered-swap");
    auto target = find_record(dir, 0.6, "generation.started");
    if (!target) return missing("generation.started");
    auto lines = read_lines(target->segment);
    if (target->index + 1 < lines.size()) {
      std::swap(lines[target->index], lines[target->index + 1]);
      write_lines(target->segment, lines);
      ok &= expect(dir, std::nullopt, fa::Reason::sequence_reorder, target->seq,
                   fmt::format("Records {} and {} swapped", target->seq, target->seq + 1));
    }
  }
  // 4. The newest records are cut off. Without the anchor nothing inside the log can tell; with it, it shows.
  {
    const fs::path dir = copy_log(log_dir, root / "tampered-truncate");
    const fs::path last = segments_of(dir).back();
    auto lines = read_lines(last);
    const std::size_t cut = std::min<std::size_t>(5, lines.size() - 1);
    lines.resize(lines.size() - cut);
    write_lines(last, lines);
    ok &= expect(dir, anchor.value(), fa::Reason::truncated_tail, anchor->seq + 1 - cut,
                 fmt::format("The last {} records cut off", cut));
    fa::ChainVerifier plain;
    auto r = plain.verify_path(dir.string());
    fmt::print("   (without the anchor the verifier says {}: a hash chain alone cannot see a clean cut;\n"
               "    that is why the anchor is kept off this host)\n",
               r && r->intact ? "INTACT" : "not intact");
  }
  // 5. An intruder with root rewrites a generation record and recomputes every hash after it. The chain
  //    verifies again; the MAC of the record (under a key wiped epochs ago) does not.
  {
    const fs::path dir = copy_log(log_dir, root / "tampered-rewrite");
    auto target = find_record(dir, 0.3, "image_generation");
    if (!target) return missing("image_generation");
    std::string before;  // the previous line, once known
    bool on = false;
    for (const fs::path& seg : segments_of(dir)) {
      auto lines = read_lines(seg);
      for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string& l = lines[i];
        if (seg == target->segment && i == target->index) {
          on = true;
          l[l.find("\"prompt_sanitized\":\"") + 20] ^= 0x20;
        } else if (on) {  // re-link to the rewritten predecessor, as anyone can: the chain is public computation
          const std::size_t at = l.rfind("\"prev\":\"") + 8;
          l.replace(at, 64, fa::detail::to_hex(fa::record::chain_hash(before)));
        }
        before = l;
      }
      write_lines(seg, lines);
    }
    ok &= expect(dir, std::nullopt, fa::Reason::mac_invalid, target->seq,
                 fmt::format("Record {} rewritten and every later hash recomputed", target->seq), &auditor);
  }
  // 6. One generation proven to an auditor who has neither the log nor any secret: the record, its Merkle
  //    inclusion proof and the signed checkpoint in one JSON file, checked offline with the public key.
  {
    auto target = find_record(log_dir, 0.5, "image_generation");
    if (!target) return missing("image_generation");
    auto bundle = fa::make_inclusion_bundle(log_dir.string(), target->seq);
    if (!check(bundle.status(), "prove")) return 1;
    const fs::path proof_path = root / fmt::format("proof-{}.json", target->seq);
    std::ofstream(proof_path, std::ios::binary | std::ios::trunc) << bundle.value() << '\n';
    auto verdict = fa::check_bundle(bundle.value(), {auditor.verifier});
    if (!check(verdict.status(), "check proof")) return 1;
    fmt::print("\n== A one-record proof bundle for generation record {} ({} bytes): {}\n", target->seq,
               bundle->size(), proof_path.string());
    for (const std::string& c : verdict->checked) fmt::print("   checked: {}\n", c);
    fmt::print("   {}\n", verdict->ok ? "VALID: the record is in the signed log" : "INVALID: " + verdict->detail);
    ok &= verdict->ok;
    std::string tampered = bundle.value();
    tampered[tampered.find("prompt_sanitized") + 21] ^= 0x20;
    auto bad = fa::check_bundle(tampered, {auditor.verifier});
    fmt::print("   the same bundle with one byte of the prompt changed: {}\n",
               bad && !bad->ok ? "INVALID (" + bad->reason + ")" : "accepted?!");
    ok &= bad && !bad->ok;
  }
  // 7. The monthly audit report of this workload (docs/reports.md), computed while the log is verified, with
  //    the same keys and anchors as the auditor above.
  const fs::path report_html = root / "report-monthly.html", report_json = root / "report-monthly.json";
  {
    fa::ReportOptions ro;
    ro.verify = vopt;
    fa::ComplianceReportGenerator generator(ro);
    auto report = generator.generate(log_dir.string());
    if (!check(report.status(), "report")) return 1;
    std::ofstream(report_html, std::ios::binary | std::ios::trunc)
        << fa::render_report(report.value(), fa::ReportKind::monthly, fa::ReportFormat::html);
    std::ofstream(report_json, std::ios::binary | std::ios::trunc)
        << fa::render_report(report.value(), fa::ReportKind::monthly, fa::ReportFormat::json);
    const auto& ex = report->data["executive_summary"];
    fmt::print("\n== The monthly audit report of this workload\n   {}\n   {} generations by {} users, success rate "
               "{} %, {} content policy violation(s), {} configuration change(s)\n",
               report->banner, ex["total_generations"].dump(), ex["unique_users"].dump(),
               ex["success_rate_percent"].dump(), report->data["content_policy"]["violations"].dump(),
               report->data["configuration_changes"]["total"].dump());
    ok &= report->verified;
  }
  fmt::print("\n{}\nTry it yourself (from the repository root, after scripts/demo.sh):\n"
             "  build/fooocus-audit verify {} --key {} --mac-key {} --anchor {}\n",
             ok ? "DEMO OK: the log verified and every tampering was pinpointed."
                : "DEMO FAILED: see above.",
             (root / "tampered-rewrite").string(), (keys_dir / "verifier.key").string(), auditor.seed_path,
             checkpoints_path.string());
  fmt::print("\nMonthly audit report (open it in a browser): file://{}\n  the same as JSON: {}\n  again, or as "
             "Markdown: build/fooocus-audit report {} --format md --key {} --mac-key {} --anchor {}\n",
             fs::absolute(report_html).string(), fs::absolute(report_json).string(), log_dir.string(),
             (keys_dir / "verifier.key").string(), auditor.seed_path, checkpoints_path.string());
  return ok ? 0 : 1;
}
