// SPDX-License-Identifier: Apache-2.0
// ModelVersionRegistry (include/fooocus_audit/model_registry.hpp): the lifecycle and its events in the log,
// refused transitions, tampered model files, the registry rebuilt from the log, check_generation for every
// problem and policy, LoRA provenance, and the `fooocus-audit model` commands.

#include <atomic>
#include <catch2/catch.hpp>
#include <cctype>
#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fooocus_audit/model_registry.hpp"
#include "support/cli_support.hpp"
#include "support/log_fixture.hpp"
#include "support/logger_support.hpp"

// The event contract (docs/events.md): every event the registry writes must pass the validator.
#if __has_include("fooocus_audit/events.hpp") && __has_include("fooocus_audit/events-inl.hpp")
#include "fooocus_audit/events.hpp"
#define FA_REGISTRY_HAVE_EVENTS 1
#endif

using namespace fa_test;
namespace fa = fooocus_audit;
using nlohmann::json;

namespace {

/// Deterministic pseudo-random bytes (a stand-in for a .safetensors file).
std::string model_bytes(std::size_t n, std::uint32_t seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

std::string sha256_of(std::string_view bytes) {
  return "sha256:" + fa::detail::to_hex(fa::detail::sha256(bytes));
}

fa::LoggerOptions registry_log_options(const std::string& dir,
                                       std::uint64_t max_segment_bytes = 64ull << 20) {
  fa::LoggerOptions o = options_for(dir);
  o.durability = fa::Durability::none;
  o.max_segment_bytes = max_segment_bytes;
  return o;
}

fa::ModelVersionRegistry must_open_registry(fa::AuditLogger& logger, fa::RegistryOptions opt = {}) {
  auto r = fa::ModelVersionRegistry::open(logger, {}, std::move(opt));
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return std::move(r).value();
}

/// The model.* and lora.* events of a log, in order; each one checked against the event contract.
std::vector<json> registry_events(const std::string& dir) {
  std::vector<json> out;
  for (const json& e : user_events(read_records(dir))) {
    const std::string type = e["event_type"];
    if (type.rfind("model.", 0) != 0 && type.rfind("lora.", 0) != 0) continue;
#ifdef FA_REGISTRY_HAVE_EVENTS
    const fa::Status s = fa::events::validate_event(e);
    INFO(e.dump() << " -> " << s.to_string());
    CHECK(s.ok());
#endif
    out.push_back(e);
  }
  return out;
}

std::vector<json> of_type(const std::vector<json>& events, const std::string& type) {
  std::vector<json> out;
  for (const json& e : events)
    if (e["event_type"] == type) out.push_back(e);
  return out;
}

fa::ModelRegistration registration(const std::string& id, const std::string& version, const std::string& path,
                                   fa::ModelKind kind = fa::ModelKind::base) {
  fa::ModelRegistration r;
  r.model_id = id;
  r.version = version;
  r.kind = kind;
  r.path = path;
  r.source = "https://huggingface.co/stabilityai/" + id;
  r.registered_by = "mlops@acme";
  return r;
}

void require_ok(const fa::Status& s) {
  INFO(s.to_string());
  REQUIRE(s.ok());
}

}  // namespace

TEST_CASE("registry: hash_model_file streams any size to the SHA-256 of the bytes", "[registry]") {
  TempDir tmp;
  write_bytes(tmp / "empty", "");
  auto e = fa::hash_model_file(tmp / "empty");
  REQUIRE(e.ok());
  CHECK(e->sha256 == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(e->size_bytes == 0);
  write_bytes(tmp / "abc", "abc");
  CHECK(fa::hash_model_file(tmp / "abc")->sha256 ==
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string big = model_bytes((3u << 20) + 17, 1);  // crosses read boundaries
  write_bytes(tmp / "big", big);
  auto b = fa::hash_model_file(tmp / "big");
  REQUIRE(b.ok());
  CHECK(b->sha256 == sha256_of(big));
  CHECK(b->size_bytes == big.size());
  CHECK(fa::hash_model_file(tmp / "nope").status().code() == fa::Code::not_found);
  CHECK(fa::hash_model_file(tmp.path()).status().code() == fa::Code::invalid_argument);
}

TEST_CASE("registry: lifecycle pending, approved, deprecated, revoked - one event per step - the log verifies",
          "[registry]") {
  TempDir tmp;
  const std::string dir = tmp / "log", file = tmp / "sd_xl_base_1.0.safetensors";
  const std::string bytes = model_bytes(1u << 20, 7);
  write_bytes(file, bytes);
  auto logger = must_open(registry_log_options(dir));
  fa::ModelVersionRegistry reg = must_open_registry(*logger);
  CHECK(reg.list().empty());

  auto m = reg.register_model(registration("sd_xl_base_1.0", "1.0", file));
  INFO(m.status().to_string());
  REQUIRE(m.ok());
  CHECK(m->state == fa::ModelState::pending);
  CHECK(m->sha256 == sha256_of(bytes));
  CHECK(m->size_bytes == bytes.size());
  CHECK(m->registered_by == "mlops@acme");
  CHECK(m->registered_at.size() == 27);

  require_ok(reg.approve("sd_xl_base_1.0", "1.0", "alice@acme", "passed red-team review"));
  CHECK(reg.find("sd_xl_base_1.0", "1.0")->state == fa::ModelState::approved);
  require_ok(reg.deprecate("sd_xl_base_1.0", "1.0", "bob@acme", "superseded by 1.1"));
  CHECK(reg.find("sd_xl_base_1.0", "1.0")->state == fa::ModelState::deprecated);
  require_ok(reg.revoke("sd_xl_base_1.0", "1.0", "carol@acme", "license withdrawn"));
  const fa::ModelVersion done = *reg.find("sd_xl_base_1.0", "1.0");
  CHECK(done.state == fa::ModelState::revoked);
  REQUIRE(done.transitions.size() == 3);
  CHECK(done.transitions[0].to == fa::ModelState::approved);
  CHECK(done.transitions[0].actor == "alice@acme");
  CHECK(done.transitions[0].reason == "passed red-team review");
  CHECK(done.transitions[1].actor == "bob@acme");
  CHECK(done.transitions[2].to == fa::ModelState::revoked);
  CHECK(done.transitions[2].at >= done.transitions[1].at);

  require_ok(logger->close());
  const fa::VerifySummary sum = verify(dir);
  CHECK(sum.intact);
  const std::vector<json> ev = registry_events(dir);
  REQUIRE(ev.size() == 4);
  CHECK(ev[0]["event_type"] == "model.registered");
  CHECK(ev[0]["model_id"] == "sd_xl_base_1.0");
  CHECK(ev[0]["version"] == "1.0");
  CHECK(ev[0]["kind"] == "base");
  CHECK(ev[0]["sha256"] == sha256_of(bytes));  // the full hash, not truncated as in the article
  CHECK(ev[0]["size_bytes"] == bytes.size());
  CHECK(ev[0]["path"] == file);
  CHECK(ev[0]["registered_by"] == "mlops@acme");
  CHECK(ev[0]["source"] == "https://huggingface.co/stabilityai/sd_xl_base_1.0");
  CHECK(ev[1]["event_type"] == "model.approved");
  CHECK(ev[1]["actor"] == "alice@acme");
  CHECK(ev[1]["reason"] == "passed red-team review");
  CHECK(ev[1]["timestamp"] == done.transitions[0].at);
  CHECK(ev[2]["event_type"] == "model.deprecated");
  CHECK(ev[3]["event_type"] == "model.revoked");
  CHECK(ev[3]["actor"] == "carol@acme");
}

TEST_CASE("registry: illegal transitions and bad registrations are refused and write nothing", "[registry]") {
  TempDir tmp;
  const std::string dir = tmp / "log", file = tmp / "m.safetensors";
  write_bytes(file, model_bytes(4096, 1));
  auto logger = must_open(registry_log_options(dir));
  fa::ModelVersionRegistry reg = must_open_registry(*logger);
  REQUIRE(reg.register_model(registration("m", "1", file)).ok());
  const std::uint64_t accepted = logger->stats().accepted;

  auto refused = [&](const fa::Status& s, fa::Code code, const std::string& words) {
    INFO(s.to_string());
    CHECK(s.code() == code);
    CHECK(contains(s.message(), words));
  };
  refused(reg.deprecate("m", "1", "bob"), fa::Code::invalid_argument, "is pending: cannot deprecate");
  refused(reg.approve("m", "2", "bob"), fa::Code::not_found, "model m version 2 is not registered");
  refused(reg.approve("m", "1", ""), fa::Code::invalid_argument, "actor");
  require_ok(reg.approve("m", "1", "alice"));
  refused(reg.approve("m", "1", "alice"), fa::Code::invalid_argument, "is approved: cannot approve");
  require_ok(reg.revoke("m", "1", "carol"));
  refused(reg.approve("m", "1", "alice"), fa::Code::invalid_argument, "is revoked: cannot approve");
  refused(reg.deprecate("m", "1", "alice"), fa::Code::invalid_argument, "is revoked: cannot deprecate");
  refused(reg.revoke("m", "1", "alice"), fa::Code::invalid_argument, "is revoked: cannot revoke");
  const std::uint64_t after_transitions = logger->stats().accepted;
  CHECK(after_transitions == accepted + 2);  // the approval and the revocation only

  // Registrations.
  refused(reg.register_model(registration("m", "1", file)).status(), fa::Code::invalid_argument,
          "registered already");
  fa::ModelRegistration wrong = registration("m", "2", file);
  wrong.sha256 = std::string(64, 'a');
  refused(reg.register_model(wrong).status(), fa::Code::invalid_argument, "not the given");
  wrong.sha256 = "sha256:xyz";
  refused(reg.register_model(wrong).status(), fa::Code::invalid_argument, "sha256");
  refused(reg.register_model(registration("m", "3", tmp / "missing")).status(), fa::Code::not_found,
          "missing");
  fa::ModelRegistration nobody = registration("m", "4", file);
  nobody.registered_by.clear();
  refused(reg.register_model(nobody).status(), fa::Code::invalid_argument, "registered_by");
  fa::ModelRegistration nothing = registration("m", "5", "");
  refused(reg.register_model(nothing).status(), fa::Code::invalid_argument, "path or its sha256");
  CHECK(logger->stats().accepted == after_transitions);
  CHECK(reg.list().size() == 1);

  // A hash given with the file must match it; a hash alone registers without a file (upper case accepted).
  fa::ModelRegistration right = registration("m", "6", file);
  right.sha256 = sha256_of(model_bytes(4096, 1));
  REQUIRE(reg.register_model(right).ok());
  fa::ModelRegistration by_hash = registration("vendor_vae", "2", "");
  by_hash.kind = fa::ModelKind::vae;
  std::string upper = fa::detail::to_hex(fa::detail::sha256("vae"));
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  by_hash.sha256 = upper;
  auto v = reg.register_model(by_hash);
  REQUIRE(v.ok());
  CHECK(v->sha256 == sha256_of("vae"));
  CHECK_FALSE(v->size_bytes.has_value());
  CHECK(v->path.empty());
}

TEST_CASE("registry: verify_file catches a model file changed, truncated or removed since registration",
          "[registry]") {
  TempDir tmp;
  const std::string dir = tmp / "log", file = tmp / "juggernaut.safetensors";
  const std::string bytes = model_bytes((2u << 20) + 5, 3);
  write_bytes(file, bytes);
  auto logger = must_open(registry_log_options(dir));
  fa::ModelVersionRegistry reg = must_open_registry(*logger);
  REQUIRE(reg.register_model(registration("juggernaut", "v8", file)).ok());

  auto check = [&](const std::string& path = {}) {
    auto c = reg.verify_file("juggernaut", "v8", path);
    INFO(c.status().to_string());
    REQUIRE(c.ok());
    return c.value();
  };
  fa::FileCheck c = check();
  CHECK(c.unchanged());
  CHECK(c.actual_sha256 == sha256_of(bytes));
  CHECK(c.path == file);

  patch_file(file, 1234567, std::string(1, static_cast<char>(bytes[1234567] ^ 0x01)));  // one bit, same size
  c = check();
  CHECK(c.outcome == fa::FileCheck::Outcome::modified);
  CHECK(c.actual_sha256 != c.expected_sha256);
  CHECK(c.actual_sha256.size() == 71);

  write_bytes(file, bytes);
  CHECK(check().unchanged());
  truncate_file(file, bytes.size() - 1);
  c = check();
  CHECK(c.outcome == fa::FileCheck::Outcome::modified);
  CHECK(c.actual_sha256.empty());  // the size alone proves it
  CHECK(c.actual_size == bytes.size() - 1);

  ::unlink(file.c_str());
  CHECK(check().outcome == fa::FileCheck::Outcome::missing);
  write_bytes(tmp / "copy", bytes);
  CHECK(check(tmp / "copy").unchanged());  // another path: the same bytes

  CHECK(reg.verify_file("juggernaut", "v9").status().code() == fa::Code::not_found);
  fa::ModelRegistration by_hash = registration("hashed", "1", "");
  by_hash.sha256 = sha256_of(bytes);
  REQUIRE(reg.register_model(by_hash).ok());
  CHECK(reg.verify_file("hashed", "1").status().code() == fa::Code::invalid_argument);
  auto h = reg.verify_file("hashed", "1", tmp / "copy");
  REQUIRE(h.ok());
  CHECK(h->unchanged());
}

TEST_CASE("registry: rebuilt from the log after a restart, it equals the state before", "[registry]") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  std::vector<fa::ModelVersion> before;
  const json params = {{"rank", 32}, {"learning_rate", 0.0001}, {"steps", 4000}, {"base", "sd_xl_base_1.0"}};
  {
    // Small segments and large unrelated events around the registry's, so that its records sit in several
    // segments and straddle the 4 MiB reads of open().
    auto logger = must_open(registry_log_options(dir, 3u << 20));
    fa::ModelVersionRegistry reg = must_open_registry(*logger);
    const std::string pad(3000, 'x');
    int k = 0;
    auto filler = [&](int n) {
      for (int i = 0; i < n; ++i)
        require_ok(logger->log({{"event_type", "acme.filler"}, {"i", k++}, {"pad", pad}}));
    };
    for (int i = 0; i < 12; ++i) {
      const std::string id = "model_" + std::to_string(i % 4), version = std::to_string(i / 4);
      const std::string file = tmp / (id + "_" + version);
      write_bytes(file, model_bytes(1000 + static_cast<std::size_t>(i), static_cast<std::uint32_t>(i)));
      const fa::ModelKind kind = i % 4 == 3 ? fa::ModelKind::lora : fa::ModelKind::base;
      REQUIRE(reg.register_model(registration(id, version, file, kind)).ok());
      filler(300);
      if (kind == fa::ModelKind::lora)
        require_ok(reg.record_lora_training({id, version, "ds_brand_2026q1", "trainer@acme", params}));
      if (i % 3 != 2) require_ok(reg.approve(id, version, "alice", i % 2 ? "" : "reviewed"));
      filler(200);
      if (i % 3 != 2 && i % 5 == 1) require_ok(reg.deprecate(id, version, "bob", "old"));
      if (i % 7 == 6) require_ok(reg.revoke(id, version, "carol"));
    }
    fa::GenerationModels g;
    g.request_id = "req_1";
    g.base = fa::ModelUse{"model_0", "", "", 1.0};
    g.loras = {fa::ModelUse{"model_3", "", "", 0.8}};
    REQUIRE(reg.check_generation(g, fa::ViolationPolicy::flag).ok());
    before = reg.list();
    require_ok(logger->close());
  }
  REQUIRE(segments(dir).size() >= 4);
  REQUIRE(before.size() == 12);

  auto logger = must_open(registry_log_options(dir));
  fa::ModelVersionRegistry reg = must_open_registry(*logger);
  const std::vector<fa::ModelVersion> after = reg.list();
  REQUIRE(after.size() == before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    INFO(fa::model_version_json(before[i]).dump() << "\n" << fa::model_version_json(after[i]).dump());
    CHECK(after[i] == before[i]);
  }
  CHECK(reg.replay_notes().empty());
  CHECK(reg.records_replayed() >= 12 + 8 + 3);
  CHECK(after[3].lora.has_value());
  CHECK(after[3].lora->parameters == params);

  // The rebuilt registry goes on where the old one stopped, and a third generation agrees.
  require_ok(reg.revoke("model_0", "0", "carol"));
  const std::vector<fa::ModelVersion> third_before = reg.list();
  require_ok(logger->close());
  auto logger3 = must_open(registry_log_options(dir));
  CHECK(must_open_registry(*logger3).list() == third_before);
}

TEST_CASE("registry: open refuses a log that does not verify, and a directory that is not the logger's",
          "[registry]") {
  TempDir tmp;
  const std::string dir = tmp / "log", file = tmp / "m";
  write_bytes(file, model_bytes(100, 1));
  {
    auto logger = must_open(registry_log_options(dir, 4096));
    fa::ModelVersionRegistry reg = must_open_registry(*logger);
    REQUIRE(reg.register_model(registration("m", "1", file)).ok());
    require_ok(reg.approve("m", "1", "alice"));
    for (int i = 0; i < 40; ++i) require_ok(logger->log({{"event_type", "acme.filler"}, {"i", i}}));
    require_ok(logger->close());
  }
  REQUIRE(segments(dir).size() >= 2);
  {
    auto logger = must_open(registry_log_options(dir));
    auto wrong = fa::ModelVersionRegistry::open(*logger, tmp / "other");
    CHECK(wrong.status().code() == fa::Code::invalid_argument);
    CHECK(fa::ModelVersionRegistry::open(*logger, dir).ok());
    require_ok(logger->close());
  }
  // An intruder turns the approver into someone else in the oldest segment (the writer resumes from the
  // newest one and does not notice).
  const std::string first = segments(dir).front().path;
  std::string bytes = read_bytes(first);
  const auto at = bytes.find(R"("actor":"alice")");
  REQUIRE(at != std::string::npos);
  patch_file(first, at + 9, "mallo");
  auto logger = must_open(registry_log_options(dir));
  auto reg = fa::ModelVersionRegistry::open(*logger);
  INFO(reg.status().to_string());
  CHECK(reg.status().code() == fa::Code::corruption);
  CHECK(contains(reg.status().message(), "does not verify"));
  CHECK(contains(reg.status().message(), "hash_mismatch"));
}

TEST_CASE("registry: events from other writers that are not legal steps are reported at open, not applied",
          "[registry]") {
  TempDir tmp;
  const std::string dir = tmp / "log", file = tmp / "m";
  write_bytes(file, model_bytes(100, 1));
  {
    auto logger = must_open(registry_log_options(dir));
    fa::ModelVersionRegistry reg = must_open_registry(*logger);
    REQUIRE(reg.register_model(registration("m", "1", file)).ok());
    // Logged around the registry (e.g. with `fooocus-audit append`): an approval of an unknown model and a
    // deprecation of a pending one.
    require_ok(logger->log(
        {{"event_type", "model.approved"}, {"model_id", "ghost"}, {"version", "1"}, {"actor", "mallory"}}));
    require_ok(logger->log(
        {{"event_type", "model.deprecated"}, {"model_id", "m"}, {"version", "1"}, {"actor", "mallory"}}));
    require_ok(logger->log(
        {{"event_type", "model.approved"}, {"model_id", "m"}, {"version", "1"}, {"actor", "dave"}}));
    require_ok(logger->close());
  }
  auto logger = must_open(registry_log_options(dir));
  fa::ModelVersionRegistry reg = must_open_registry(*logger);
  const auto notes = reg.replay_notes();
  REQUIRE(notes.size() == 2);
  CHECK(notes[0].event_type == "model.approved");
  CHECK(contains(notes[0].detail, "ghost"));
  CHECK(notes[1].event_type == "model.deprecated");
  CHECK(notes[1].seq > notes[0].seq);
  const fa::ModelVersion m = *reg.find("m", "1");
  CHECK(m.state == fa::ModelState::approved);  // the legal approval applies, dated by the record's ts
  REQUIRE(m.transitions.size() == 1);
  CHECK(m.transitions[0].actor == "dave");
  CHECK(m.transitions[0].at.size() == 27);
  CHECK_FALSE(reg.find("ghost", "1"));
}

TEST_CASE("registry: check_generation reports every problem, blocks or flags, and logs lora.used",
          "[registry]") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  auto logger = must_open(registry_log_options(dir));
  fa::ModelVersionRegistry reg = must_open_registry(*logger);
  auto add = [&](const std::string& id, const std::string& version, fa::ModelKind kind, std::uint32_t seed) {
    const std::string path = tmp / (id + "-" + version + ".safetensors");
    write_bytes(path, model_bytes(5000, seed));
    REQUIRE(reg.register_model(registration(id, version, path, kind)).ok());
    if (kind == fa::ModelKind::lora)
      require_ok(reg.record_lora_training({id, version, "ds_1", "trainer", nullptr}));
    return path;
  };
  const std::string base1 = add("sdxl", "1.0", fa::ModelKind::base, 1);
  const std::string base2 = add("sdxl", "1.1", fa::ModelKind::base, 2);
  add("refiner", "1.0", fa::ModelKind::refiner, 3);
  add("brand-style", "v1", fa::ModelKind::lora, 4);
  add("brand-style", "v2", fa::ModelKind::lora, 5);
  add("old-style", "v1", fa::ModelKind::lora, 6);
  require_ok(reg.approve("sdxl", "1.0", "alice"));
  require_ok(reg.approve("sdxl", "1.1", "alice"));
  require_ok(reg.approve("brand-style", "v1", "alice"));
  require_ok(reg.approve("brand-style", "v2", "alice"));
  require_ok(reg.deprecate("brand-style", "v1", "alice"));
  require_ok(reg.revoke("old-style", "v1", "carol", "trained on unlicensed images"));
  // refiner 1.0 stays pending.

  std::uint64_t request = 0;
  auto run = [&](fa::GenerationModels g, fa::ViolationPolicy p) {
    g.request_id = "req_" + std::to_string(++request);
    g.user_id = "alice@enterprise.com";
    auto d = reg.check_generation(g, p);
    INFO(d.status().to_string());
    REQUIRE(d.ok());
    return d.value();
  };
  auto base = [](std::string version = {}, std::string path = {}) {
    return fa::ModelUse{"sdxl", std::move(version), std::move(path), 1.0};
  };

  SECTION("all approved: allowed, no violation, lora.used per LoRA") {
    fa::GenerationModels g;
    g.base = base("", base2);
    g.loras = {fa::ModelUse{"brand-style", "v2", "", 0.8}};
    const fa::GenerationDecision d = run(g, fa::ViolationPolicy::block);
    CHECK(d.allowed);
    CHECK(d.violations.empty());
    REQUIRE(d.resolved.size() == 2);
    CHECK(d.resolved[0].version == "1.1");  // identified by the file's hash
    require_ok(logger->close());
    const auto ev = registry_events(dir);
    CHECK(of_type(ev, "model.violation").empty());
    const auto used = of_type(ev, "lora.used");
    REQUIRE(used.size() == 1);
    CHECK(used[0]["lora_id"] == "brand-style");
    CHECK(used[0]["version"] == "v2");
    CHECK(used[0]["weight"] == 0.8);
    CHECK(used[0]["request_id"] == "req_1");
    CHECK(used[0]["user_id"] == "alice@enterprise.com");
  }

  SECTION("each problem kind, under block and under flag") {
    struct Case {
      fa::ModelProblem problem;
      std::function<void(fa::GenerationModels&)> set;
      std::string role;
    };
    const std::vector<Case> cases = {
        {fa::ModelProblem::unregistered,
         [&](fa::GenerationModels& g) {
           g.base = fa::ModelUse{"mystery", "", "", 1};
         },
         "base"},
        {fa::ModelProblem::unregistered, [&](fa::GenerationModels& g) { g.base = base("9.9"); }, "base"},
        {fa::ModelProblem::unapproved,
         [&](fa::GenerationModels& g) {
           g.base = base();
           g.refiner = fa::ModelUse{"refiner", "", "", 1};
         },
         "refiner"},
        {fa::ModelProblem::deprecated,
         [&](fa::GenerationModels& g) {
           g.base = base("1.0");
           g.loras = {fa::ModelUse{"brand-style", "v1", "", 0.5}};
         },
         "lora"},
        {fa::ModelProblem::revoked,
         [&](fa::GenerationModels& g) {
           g.loras = {fa::ModelUse{"old-style", "", "", 1.0}};
         },
         "lora"},
        {fa::ModelProblem::modified, [&](fa::GenerationModels& g) { g.base = base("1.0", base2); }, "base"},
        {fa::ModelProblem::modified,
         [&](fa::GenerationModels& g) {
           write_bytes(tmp / "tampered", model_bytes(5000, 99));
           g.base = base("", tmp / "tampered");
         },
         "base"},
    };
    std::uint64_t first_request = request + 1;
    for (fa::ViolationPolicy policy : {fa::ViolationPolicy::block, fa::ViolationPolicy::flag}) {
      for (const Case& c : cases) {
        fa::GenerationModels g;
        c.set(g);
        const fa::GenerationDecision d = run(g, policy);
        INFO("problem " << fa::model_problem_name(c.problem) << " policy " << static_cast<int>(policy));
        REQUIRE(d.violations.size() == 1);
        CHECK(d.violations[0].problem == c.problem);
        CHECK(d.violations[0].role == c.role);
        CHECK(d.allowed == (policy == fa::ViolationPolicy::flag));
      }
    }
    require_ok(logger->close());
    const auto ev = registry_events(dir);
    const auto violations = of_type(ev, "model.violation");
    REQUIRE(violations.size() == 2 * cases.size());
    for (std::size_t i = 0; i < violations.size(); ++i) {
      const json& v = violations[i];
      const Case& c = cases[i % cases.size()];
      INFO(v.dump());
      CHECK(v["request_id"] == "req_" + std::to_string(first_request + i));
      CHECK(v["problem"] == fa::model_problem_name(c.problem));
      CHECK(v["action"] == (i < cases.size() ? "blocked" : "flagged"));
      CHECK(v["role"] == c.role);
      CHECK(v["user_id"] == "alice@enterprise.com");
    }
    CHECK(violations[1]["version"] == "9.9");
    CHECK(violations[5]["observed_sha256"] == sha256_of(model_bytes(5000, 2)));
    CHECK_FALSE(violations[6].contains("version"));  // a file that is none of the versions
    // lora.used only for generations that run: the flagged deprecated and revoked LoRAs.
    const auto used = of_type(ev, "lora.used");
    REQUIRE(used.size() == 2);
    CHECK(used[0]["lora_id"] == "brand-style");
    CHECK(used[0]["version"] == "v1");
    CHECK(used[0]["weight"] == 0.5);
    CHECK(used[1]["lora_id"] == "old-style");
    CHECK(verify(dir).intact);
  }

  SECTION("several problems in one request, and errors that record nothing") {
    fa::GenerationModels g;
    g.base = base("1.0", base2);                        // modified
    g.refiner = fa::ModelUse{"refiner", "1.0", "", 1};  // unapproved
    g.loras = {fa::ModelUse{"old-style", "v1", "", 1},
               fa::ModelUse{"nobody", "", "", 1}};  // revoked, unregistered
    const fa::GenerationDecision d = run(g, fa::ViolationPolicy::block);
    CHECK_FALSE(d.allowed);
    REQUIRE(d.violations.size() == 4);
    CHECK(d.violations[0].problem == fa::ModelProblem::modified);
    CHECK(d.violations[1].problem == fa::ModelProblem::unapproved);
    CHECK(d.violations[2].problem == fa::ModelProblem::revoked);
    CHECK(d.violations[3].problem == fa::ModelProblem::unregistered);

    const std::uint64_t accepted = logger->stats().accepted;
    fa::GenerationModels bad;
    CHECK(reg.check_generation(bad).status().code() == fa::Code::invalid_argument);  // no request id
    bad.request_id = "req_x";
    bad.base = base("1.0", tmp / "no-such-file");
    CHECK(reg.check_generation(bad).status().code() == fa::Code::not_found);
    bad.base = base("1.0");
    bad.loras = {fa::ModelUse{"brand-style", "v2", "", std::nan("")}};
    CHECK(reg.check_generation(bad).status().code() == fa::Code::invalid_argument);
    CHECK(logger->stats().accepted == accepted);
  }
}

TEST_CASE("registry: a LoRA needs its training record before approval - lora.trained and lora.approved",
          "[registry]") {
  TempDir tmp;
  const std::string dir = tmp / "log", file = tmp / "brand-style-v2.safetensors";
  const std::string bytes = model_bytes(20000, 11);
  write_bytes(file, bytes);
  auto logger = must_open(registry_log_options(dir));
  fa::ModelVersionRegistry reg = must_open_registry(*logger);
  REQUIRE(reg.register_model(registration("brand-style", "v2", file, fa::ModelKind::lora)).ok());

  const fa::Status early = reg.approve("brand-style", "v2", "alice");
  CHECK(early.code() == fa::Code::invalid_argument);
  CHECK(contains(early.message(), "training record"));

  const json params = {{"rank", 16}, {"alpha", 8}, {"steps", 2500}, {"learning_rate", 0.0004}};
  CHECK(reg.record_lora_training({"brand-style", "v2", "", "bob", params}).code() ==
        fa::Code::invalid_argument);
  CHECK(reg.record_lora_training({"brand-style", "v2", "ds", "bob", json::array()}).code() ==
        fa::Code::invalid_argument);
  CHECK(reg.record_lora_training({"brand-style", "v9", "ds", "bob", params}).code() == fa::Code::not_found);
  require_ok(reg.record_lora_training({"brand-style", "v2", "ds_brand_assets_2026", "bob@acme", params}));
  CHECK(reg.record_lora_training({"brand-style", "v2", "ds", "bob", params}).code() ==
        fa::Code::invalid_argument);
  require_ok(reg.approve("brand-style", "v2", "alice@acme"));

  write_bytes(tmp / "base", "base");
  REQUIRE(reg.register_model(registration("sdxl", "1", tmp / "base")).ok());
  const fa::Status not_lora = reg.record_lora_training({"sdxl", "1", "ds", "bob", nullptr});
  CHECK(not_lora.code() == fa::Code::invalid_argument);
  CHECK(contains(not_lora.message(), "not lora"));

  const fa::ModelVersion m = *reg.find("brand-style", "v2");
  CHECK(m.state == fa::ModelState::approved);
  REQUIRE(m.lora);
  CHECK(m.lora->trained_by == "bob@acme");
  CHECK(m.lora->dataset_id == "ds_brand_assets_2026");
  CHECK(m.lora->parameters == params);

  require_ok(logger->close());
  const auto ev = registry_events(dir);
  const auto trained = of_type(ev, "lora.trained");
  REQUIRE(trained.size() == 1);
  CHECK(trained[0]["lora_id"] == "brand-style");
  CHECK(trained[0]["version"] == "v2");
  CHECK(trained[0]["trained_by"] == "bob@acme");
  CHECK(trained[0]["dataset_id"] == "ds_brand_assets_2026");
  CHECK(trained[0]["parameters"] == params);
  CHECK(trained[0]["sha256"] == sha256_of(bytes));  // the record names the file
  const auto approved = of_type(ev, "lora.approved");
  REQUIRE(approved.size() == 1);
  CHECK(approved[0]["approved_by"] == "alice@acme");
  CHECK(of_type(ev, "model.approved").empty());
}

TEST_CASE("registry: concurrent changes and checks from several threads stay consistent with the log",
          "[registry]") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  std::vector<fa::ModelVersion> before;
  {
    auto logger = must_open(registry_log_options(dir));
    fa::ModelVersionRegistry reg = must_open_registry(*logger);
    write_bytes(tmp / "shared", model_bytes(3000, 5));
    REQUIRE(reg.register_model(registration("shared", "1", tmp / "shared")).ok());
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 10; ++i) {
          const std::string id = "t" + std::to_string(t) + "_" + std::to_string(i);
          fa::ModelRegistration r = registration(id, "1", "");
          r.sha256 = sha256_of(id);
          if (!reg.register_model(r).ok()) ++failures;
          if (!reg.approve(id, "1", "alice")) ++failures;
          // Everyone races to approve and deprecate the shared model: exactly one of each wins.
          (void)reg.approve("shared", "1", "racer" + std::to_string(t));
          (void)reg.deprecate("shared", "1", "racer" + std::to_string(t));
          fa::GenerationModels g;
          g.request_id = "req_" + id;
          g.base = fa::ModelUse{id, "", "", 1};
          g.loras = {fa::ModelUse{"shared", "", tmp / "shared", 0.5}};
          if (!reg.check_generation(g, fa::ViolationPolicy::flag).ok()) ++failures;
        }
      });
    }
    for (std::thread& th : threads) th.join();
    CHECK(failures == 0);
    before = reg.list();
    CHECK(before.size() == 41);
    CHECK(reg.find("shared", "1")->transitions.size() == 2);
    require_ok(logger->close());
  }
  CHECK(verify(dir).intact);
  CHECK(of_type(registry_events(dir), "model.approved").size() == 41);
  auto logger = must_open(registry_log_options(dir));
  CHECK(must_open_registry(*logger).list() == before);
}

#ifdef FA_CLI_PATH

TEST_CASE("registry: cli model register, verify, list, and their exit codes", "[registry][cli]") {
  TempDir tmp;
  const std::string dir = tmp / "log", file = tmp / "sd_xl_base_1.0.safetensors";
  const std::string bytes = model_bytes(300000, 21);
  write_bytes(file, bytes);

  Run r = run_cli({"model", "register", "--dir", dir, "--id", "sd_xl_base_1.0", "--version", "1.0", "--file",
                   file, "--source", "https://huggingface.co/stabilityai", "--approved-by", "alice@acme"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "registered sd_xl_base_1.0 1.0 (base) " + sha256_of(bytes)));
  CHECK(contains(r.out, "approved by alice@acme"));

  r = run_cli({"model", "list", "--dir", dir});
  CHECK(r.status == 0);
  CHECK(contains(r.out, "sd_xl_base_1.0"));
  CHECK(contains(r.out, "approved"));
  r = run_cli({"model", "list", "--dir", dir, "--json"});
  REQUIRE(r.status == 0);
  const json list = json::parse(r.out);
  REQUIRE(list.size() == 1);
  CHECK(list[0]["state"] == "approved");
  CHECK(list[0]["sha256"] == sha256_of(bytes));
  CHECK(list[0]["registered_by"] == "alice@acme");
  CHECK(list[0]["transitions"][0]["actor"] == "alice@acme");

  r = run_cli({"model", "verify", "--dir", dir, "--id", "sd_xl_base_1.0"});
  CHECK(r.status == 0);
  CHECK(contains(r.out, "unchanged"));
  patch_file(file, 1000, std::string(1, static_cast<char>(bytes[1000] ^ 0x80)));
  r = run_cli({"model", "verify", "--dir", dir, "--id", "sd_xl_base_1.0", "--version", "1.0"});
  CHECK(r.status == 1);
  CHECK(contains(r.out, "MODIFIED"));
  ::unlink(file.c_str());
  r = run_cli({"model", "verify", "--dir", dir, "--id", "sd_xl_base_1.0"});
  CHECK(r.status == 1);
  CHECK(contains(r.out, "MISSING"));

  // Transitions, refused ones exit 2.
  CHECK(run_cli({"model", "deprecate", "--dir", dir, "--id", "sd_xl_base_1.0", "--version", "1.0", "--by",
                 "bob", "--reason", "superseded"})
            .status == 0);
  r = run_cli(
      {"model", "approve", "--dir", dir, "--id", "sd_xl_base_1.0", "--version", "1.0", "--by", "bob"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "is deprecated: cannot approve"));
  CHECK(run_cli(
            {"model", "revoke", "--dir", dir, "--id", "sd_xl_base_1.0", "--version", "1.0", "--by", "carol"})
            .status == 0);

  // Usage and I/O errors exit 2.
  CHECK(run_cli({"model", "verify", "--dir", dir, "--id", "unknown"}).status == 2);
  CHECK(run_cli({"model", "verify", "--dir", dir, "--id", "sd_xl_base_1.0", "--version", "9"}).status == 2);
  CHECK(run_cli({"model", "list", "--dir", tmp / "nowhere"}).status == 2);
  CHECK(run_cli({"model", "register", "--dir", dir, "--id", "x", "--version", "1", "--file", file}).status ==
        2);
  CHECK(run_cli({"model", "register", "--dir", dir, "--id", "x", "--version", "1", "--file", tmp / "missing",
                 "--source", "s", "--approved-by", "a"})
            .status == 2);
  CHECK(run_cli({"model", "frobnicate", "--dir", dir}).status == 2);
  CHECK(run_cli({"model"}).status == 2);
  CHECK(run_cli({"model", "--help"}).status == 0);
  CHECK(run_cli({"model", "list", "--dir", dir, "--bogus"}).status == 2);

  r = run_cli({"verify", dir});
  CHECK(r.status == 0);
  const auto ev = registry_events(dir);
  CHECK(of_type(ev, "model.registered").size() == 1);
  CHECK(of_type(ev, "model.revoked").size() == 1);
}

TEST_CASE("registry: cli model register of a LoRA with its training record, and --pending",
          "[registry][cli]") {
  TempDir tmp;
  const std::string dir = tmp / "log", file = tmp / "brand.safetensors";
  write_bytes(file, model_bytes(1000, 2));
  Run r = run_cli({"model", "register", "--dir", dir, "--id", "brand-style", "--version", "v2", "--file",
                   file, "--source", "training run 42", "--approved-by", "alice", "--kind", "lora"});
  CHECK(r.status == 2);  // a LoRA is not approved without its training record
  CHECK(contains(r.err, "--trained-by"));
  r = run_cli({"model",         "register",
               "--dir",         dir,
               "--id",          "brand-style",
               "--version",     "v2",
               "--file",        file,
               "--source",      "training run 42",
               "--approved-by", "alice",
               "--kind",        "lora",
               "--trained-by",  "bob",
               "--dataset-id",  "ds_brand",
               "--parameters",  R"({"rank":16,"steps":2500})"});
  INFO(r.err);
  CHECK(r.status == 0);
  r = run_cli({"model", "register", "--dir", dir, "--id", "sdxl", "--version", "1", "--file", file,
               "--source", "s", "--registered-by", "mlops", "--pending"});
  CHECK(r.status == 0);
  r = run_cli({"model", "list", "--dir", dir, "--json"});
  REQUIRE(r.status == 0);
  const json list = json::parse(r.out);
  REQUIRE(list.size() == 2);
  CHECK(list[0]["kind"] == "lora");
  CHECK(list[0]["state"] == "approved");
  CHECK(list[0]["lora"]["trained_by"] == "bob");
  CHECK(list[0]["lora"]["parameters"]["rank"] == 16);
  CHECK(list[1]["state"] == "pending");
  CHECK(list[1]["registered_by"] == "mlops");
  CHECK(
      run_cli({"model", "approve", "--dir", dir, "--id", "sdxl", "--version", "1", "--by", "alice"}).status ==
      0);
}

TEST_CASE("registry: cli model commands report a log locked by another writer", "[registry][cli]") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  auto logger = must_open(registry_log_options(dir));
  const Run r = run_cli({"model", "list", "--dir", dir});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "locked: another writer"));
  require_ok(logger->close());
  CHECK(run_cli({"model", "list", "--dir", dir}).status == 0);
}

#endif  // FA_CLI_PATH
