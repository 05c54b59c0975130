// SPDX-License-Identifier: Apache-2.0
// fooocus_demo: a realistic Fooocus workload written to a local audit log (the embedded default: no
// server) with forward-secure MACs and Ed25519-signed checkpoints, verified with the auditor's keys, then
// tampered with in copies to show the verifier pinpointing each change — including an intruder who
// recomputes every hash — and one generation proven offline with a one-record proof bundle.
//
//   fooocus_demo [--out DIR] [--requests N] [--seed S]
//
// Exit status: 0 when the original log verifies and every tampering is detected as expected.

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "fooocus_audit/detail/crypto.hpp"  // demo stand-in for PromptSanitizer's keyed prompt hash
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
const char* const kPerformance[] = {"Speed", "Quality", "Extreme Speed", "Lightning", "Hyper-SD"};
const char* const kAspect[] = {"1152x896", "1024x1024", "896x1152", "1216x832", "1344x768"};
const char* const kStyles[] = {"Fooocus V2", "Fooocus Enhance", "Fooocus Sharp", "Fooocus Photograph",
                               "Fooocus Cinematic"};
const char* const kModels[] = {"juggernautXL_v8Rundiffusion.safetensors", "sd_xl_base_1.0.safetensors"};

struct Workload {
  std::uint64_t events = 0, generations = 0, failed = 0, cancelled = 0, nsfw = 0;
};

std::string hex_id(std::mt19937_64& rng) { return fmt::format("{:016x}", rng()); }

// Writes a small stand-in for a generated PNG and returns its size.
std::int64_t write_fake_png(const std::string& path, std::mt19937_64& rng) {
  std::string bytes = "\x89PNG\r\n\x1a\n";
  const std::size_t n = 2048 + rng() % 6144;
  while (bytes.size() < n) bytes.push_back(static_cast<char>(rng()));
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<std::int64_t>(bytes.size());
}

bool check(const fa::Status& s, const char* what) {
  if (!s) fmt::print(stderr, "demo: {}: {}\n", what, s.to_string());
  return s.ok();
}

bool run_workload(fa::AuditLogger& log, const std::string& outputs_dir, int requests, std::mt19937_64& rng,
                  Workload* w) {
  std::array<std::uint8_t, 32> tenant_key{};  // per-tenant prompt key (PromptSanitizer will own this)
  fa::detail::random_bytes(tenant_key.data(), tenant_key.size());
  struct Wipe {
    std::array<std::uint8_t, 32>& key;
    ~Wipe() { fa::detail::secure_wipe(key.data(), key.size()); }
  } wipe{tenant_key};
  auto keyed_hash = [&](const std::string& prompt) {
    return "hmac-sha256:" + fa::detail::to_hex(fa::detail::hmac_sha256(tenant_key.data(), tenant_key.size(), prompt));
  };
  auto emit = [&](const nlohmann::json& e) {
    ++w->events;
    return check(log.log(e), "log");
  };

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
  for (int i = 0; i < requests; ++i) {
    const std::size_t ui = rng() % std::size(kUsers);
    const User& u = kUsers[ui];
    const std::string request_id = "req_" + hex_id(rng);
    const std::string prompt = kPrompts[rng() % std::size(kPrompts)];
    const std::string model = kModels[rng() % std::size(kModels)];
    fa::GenerationEvent g;
    g.request_id = request_id;
    g.user_id = u.id;
    g.tenant_id = u.tenant;
    g.session_id = sessions[ui];
    g.ip_address = u.ip;
    g.user_agent = u.agent;
    g.request.prompt_sanitized = prompt;
    g.request.prompt_hash = keyed_hash(prompt);
    g.request.negative_prompt = "blurry, low resolution, watermark";
    g.request.performance = kPerformance[rng() % std::size(kPerformance)];
    g.request.aspect_ratio = kAspect[rng() % std::size(kAspect)];
    g.request.num_images = 1 + static_cast<std::int64_t>(rng() % 2);
    g.request.seed = rng() % 9007199254740991ULL;
    if (rng() % 3 == 0) g.request.loras.push_back({"sd_xl_offset_example-lora_1.0.safetensors", 0.1});
    if (rng() % 4 == 0) g.request.loras.push_back({"brand-style-v2.safetensors", 0.8});
    g.request.styles = {kStyles[0], kStyles[1 + rng() % (std::size(kStyles) - 1)]};
    g.request.guidance_scale = 4.0;
    g.request.sharpness = 2.0;
    g.processing.worker_id = fmt::format("gpu-node-{}", 1 + rng() % 6);
    g.processing.model_version = model;
    g.processing.refiner_model = "None";
    g.safety.safety_checker_version = "CompVis/stable-diffusion-safety-checker";

    const nlohmann::json who = {{"request_id", request_id}, {"user_id", u.id}, {"tenant_id", u.tenant}};
    nlohmann::json submitted = who;
    submitted.update({{"event_type", "generation.submitted"}, {"session_id", sessions[ui]},
                      {"prompt_hash", g.request.prompt_hash}, {"performance", g.request.performance},
                      {"aspect_ratio", g.request.aspect_ratio}, {"num_images", g.request.num_images},
                      {"base_model", model}});
    nlohmann::json queued = who, started = who;
    queued["event_type"] = "generation.queued";
    started.update({{"event_type", "generation.started"}, {"worker_id", g.processing.worker_id}});
    if (!emit(submitted) || !emit(queued) || !emit(started)) return false;

    g.processing.queue_wait_ms = static_cast<std::int64_t>(50 + rng() % 4000);
    g.processing.generation_duration_ms = static_cast<std::int64_t>(2500 + rng() % 30000);
    const unsigned outcome = static_cast<unsigned>(rng() % 100);
    if (outcome < 3) {
      nlohmann::json failed = who;
      failed.update({{"event_type", "generation.failed"}, {"error_details", "CUDA out of memory"}, {"retry_count", 1}});
      ++w->failed;
      if (!emit(failed)) return false;
      continue;
    }
    if (outcome < 5) {
      nlohmann::json cancelled = who;
      cancelled.update({{"event_type", "generation.cancelled"}, {"reason", "stopped by user"}});
      ++w->cancelled;
      if (!emit(cancelled)) return false;
      continue;
    }
    for (std::int64_t k = 0; k < g.request.num_images; ++k) {
      const std::string path = fmt::format("{}/{}_{}.png", outputs_dir, request_id, k);
      fa::GenerationEvent::Output out;
      out.url = "file://" + path;
      out.file_size_bytes = write_fake_png(path, rng);
      auto h = fa::hash_file(path);
      if (!check(h.status(), "hash output")) return false;
      out.hash = h.value();
      out.width = 1024;
      out.height = 1024;
      g.outputs.push_back(out);
    }
    g.safety.has_nsfw_concepts = rng() % 100 == 0;
    if (g.safety.has_nsfw_concepts) ++w->nsfw;
    nlohmann::json safety = who;
    safety.update({{"event_type", "safety_check.completed"}, {"prompt_hash", g.request.prompt_hash},
                   {"has_nsfw_concepts", g.safety.has_nsfw_concepts},
                   {"action", g.safety.has_nsfw_concepts ? "blocked" : "allowed"}});
    if (!emit(safety)) return false;
    ++w->events;
    ++w->generations;
    if (!check(log.log(g), "log generation")) return false;
  }
  for (std::size_t ui = 0; ui < std::size(kUsers); ++ui)
    if (!emit({{"event_type", "session.ended"}, {"user_id", kUsers[ui].id}, {"session_id", sessions[ui]},
               {"end_reason", "logout"}}))
      return false;
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
    for (std::size_t i = 0; i < lines.size(); ++i) {
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
  if (!run_workload(**logger, outputs.string(), requests, rng, &w)) return 1;
  if (!check((*logger)->flush(), "flush") || !check((*logger)->close(), "close")) return 1;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("logged {} events ({} generations, {} failed, {} cancelled, {} NSFW) in {:.2f} s, group commit 10 ms\n",
             w.events, w.generations, w.failed, w.cancelled, w.nsfw, secs);
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
  fmt::print("\n{}\nTry it yourself (from the repository root, after scripts/demo.sh):\n"
             "  build/fooocus-audit verify {} --key {} --mac-key {} --anchor {}\n",
             ok ? "DEMO OK: the log verified and every tampering was pinpointed."
                : "DEMO FAILED: see above.",
             (root / "tampered-rewrite").string(), (keys_dir / "verifier.key").string(), auditor.seed_path,
             checkpoints_path.string());
  return ok ? 0 : 1;
}
