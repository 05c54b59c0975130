// SPDX-License-Identifier: Apache-2.0
// The secret guard's prefilter over canonical bytes (guard_may_redact_canonical, docs/privacy.md §4.5) against
// the guard on the JSON tree: random events (random nesting, random member names, strings that hold secrets of
// every detector kind next to quotes, backslashes, control characters and non-ASCII text) must get the same
// answer from both, a redaction on the tree must never pass the bytes prefilter unseen, and AuditLogger must
// write, byte for byte, the event the tree guard would have produced.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/events.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/record.hpp"
#include "fooocus_audit/secret_guard.hpp"
#include "support/files.hpp"
#include "support/log_fixture.hpp"
#include "support/random_text.hpp"

namespace fa = fooocus_audit;
using nlohmann::json;

namespace {

using fa_test::kB64Url;
using fa_test::kBase62;

class Gen {
 public:
  explicit Gen(std::uint64_t seed) : r_(seed) {}

  std::size_t below(std::size_t n) { return static_cast<std::size_t>(r_() % n); }
  bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }
  std::string rnd(const std::string& alphabet, std::size_t n) { return fa_test::random_text(r_, alphabet, n); }
  /// At least one lower, one upper, one digit: high entropy for generic_secret.
  std::string mixed(const std::string& alphabet, std::size_t n) { return fa_test::random_mixed(r_, alphabet, n); }

  /// A secret of one detector kind (assembled at run time: nothing here is a real key).
  std::string secret() {
    switch (below(18)) {
      case 0: return pick<std::string>({"AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"}) +
                     rnd("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
      case 1: return "AI" "za" + mixed(kB64Url, 34) + "Q";
      case 2: return github_classic();
      case 3: return "github_" "pat_" + mixed(kBase62, 22) + "_" + mixed(kBase62, 59);
      case 4: return pick<std::string>({"glpat-", "gldt-", "glrt-", "glptt-", "glagent-", "glsoat-"}) +
                     mixed(kB64Url, 23) + "x";
      case 5: return std::string("xox") + pick<std::string>({"b", "p", "a", "s"}) + "-" + rnd("0123456789", 11) + "-" +
                     mixed(kBase62, 24);
      case 6: return "sk-" "proj-" + mixed(kBase62, 20) + "T3Blbk" "FJ" + mixed(kBase62, 20);
      case 7: return "sk-" "ant-api03-" + mixed(kB64Url, 93) + "AA";
      case 8: return pick<std::string>({"sk_live_", "sk_test_", "rk_live_"}) + mixed(kBase62, 24);
      case 9: return "whsec_" + mixed(kBase62, 32);
      case 10: return "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI" + mixed(kBase62, 8) + ".sig" + mixed(kB64Url, 20);
      case 11: return "-----BEGIN " + pick<std::string>({"RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY"}) +
                      "-----\n" + mixed(kBase62 + "+/", 64) + "\n" +
                      (chance(50) ? "-----END PRIVATE KEY-----" : std::string());
      case 12: return pick<std::string>({"https://", "postgres://", "redis://"}) + rnd("abcdefgh", 5) + ":" +
                      mixed(kBase62, 10) + "@db.internal:5432/app";
      case 13: return "https://hooks.slack.com/services/T" + mixed(kBase62, 8) + "/B" + mixed(kBase62, 8) + "/" +
                      mixed(kBase62, 24);
      case 14: return pick<std::string>({"api_key", "API_KEY", "clientSecret", "token", "aws_secret_access_key",
                                         "Authorization", "auth"}) +
                      pick<std::string>({"=", ": ", ":=", " => ", " ", " is ", "=\"", ": Bearer "}) +
                      mixed(kBase62 + "+/_-", 32);
      case 15: return pick<std::string>({"password", "passwd", "pwd", "DB_PASSWORD", "Password"}) +
                      pick<std::string>({"=", ": ", ":", "\":\"", "\t=\t"}) +
                      pick<std::string>({"hunter2", "p@ss!w0rd", "abc"});
      case 16: return "bearer " + mixed(kBase62, 40);
      default: return "credentials " + mixed(kBase62 + "/+", 30);
    }
  }

  /// A GitHub classic token with its CRC-32 checksum (bitwise CRC, independent of the library's table).
  std::string github_classic() {
    const std::string body = rnd(kBase62, 30);
    std::uint32_t c = 0xFFFFFFFFu;
    for (unsigned char ch : body) {
      c ^= ch;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    std::uint32_t v = ~c;
    std::string sum(6, '0');
    for (int i = 5; i >= 0; --i) {
      sum[static_cast<std::size_t>(i)] = kBase62[v % 62];
      v /= 62;
    }
    return "gh" + pick<std::string>({"p", "o", "u", "s", "r"}) + "_" + body + sum;
  }

  /// Bytes that JCS escapes, or that sit next to a trigger: quotes, backslashes, control characters.
  std::string awkward() {
    static const std::vector<std::string> v{
        "\"", "\\", "\n", "\t", "\r", "\b", "\f", std::string(1, '\x01'), std::string(1, '\x1f'), std::string(1, '\0'),
        "\x7f", "\\\\", "\\\"", "\"\\", "\\n", "\\u0041", "'", "`", " ", "=", ":", "://", "@", "-", "_", "/"};
    return pick(v);
  }
  std::string non_ascii() {
    static const std::vector<std::string> v{"caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x99\x82",
                                            "\xc3\x9f", "\xe2\x9c\x93", "na\xc3\xafve"};
    return pick(v);
  }
  /// Words and near misses: key words as components and inside words, schema names, prefixes cut short.
  std::string word() {
    static const std::vector<std::string> v{
        "a cat", "key light", "monkey", "keyboard", "tokenizer", "author", "secret garden", "token count: 77",
        "api_key_id", "key_id", "token_count", "secret_hash", "password_length", "auth_method", "apiKey",
        "clientSecret", "AKIA", "AIza", "ghp_", "sk-", "sk_live_", "xoxb-", "eyJ", "-----BEGIN ", "glpat-",
        "whsec_", "https://example.com/a", "s3://bucket/x.png", "user@example.com", "1024x1024",
        "sha256:c630f4de33836ed2a6c23d695b33f80035594b5b0feaa3b56eab4a5b0b9ce1bb", "req_764cabcf-b745",
        "Fooocus V2", "(masterpiece:1.2)", "password", "Token", "KEY", "Bearer", "is", "=", ": ", "\"key\":",
        "desk-lamp", "task_queue", "glow-in-the-dark", "xoxo", "they", "book", "crown", "sword", "beach", "autumn"};
    return pick(v);
  }

  std::string text() {
    std::string s;
    const std::size_t parts = below(7);
    for (std::size_t i = 0; i < parts; ++i) {
      switch (below(10)) {
        case 0: case 1: s += secret(); break;
        case 2: case 3: s += awkward(); break;
        case 4: s += non_ascii(); break;
        case 5: s += rnd(kBase62 + " -_.:/=", below(24)); break;
        default: s += word(); break;
      }
      if (chance(40)) s += pick<std::string>({" ", ", ", "\n", "\"", "\\", "=", ":", "\t", ""});
    }
    return s;
  }
  std::string name() {
    switch (below(6)) {
      case 0: return pick<std::string>({"password", "api_key", "clientSecret", "DB_PASSWORD", "token", "authorization",
                                        "secret", "key", "credentials", "apikey", "private_key", "x-api-key"});
      case 1: return pick<std::string>({"api_key_id", "key_id", "token_count", "secret_hash", "prompt_hash", "user_id",
                                        "request_id", "event_type_x", "url", "model_version"});
      case 2: return text();
      default: return word() + (chance(50) ? "_" + rnd("abcdefghij", 1 + below(6)) : std::string());
    }
  }

  json value(int depth) {
    const std::size_t k = below(depth <= 0 ? 6 : 10);
    switch (k) {
      case 0: return static_cast<std::int64_t>(below(100000));
      case 1: return chance(50);
      case 2: return nullptr;
      case 3: case 4: case 5: return text();
      case 6: case 7: {
        json o = json::object();
        const std::size_t n = below(5);
        for (std::size_t i = 0; i < n; ++i) o[name()] = value(depth - 1);
        return o;
      }
      default: {
        json a = json::array();
        const std::size_t n = below(5);
        for (std::size_t i = 0; i < n; ++i) a.push_back(value(depth - 1));
        return a;
      }
    }
  }

  json event() {
    json e = json::object();
    e["event_type"] = "app.property";
    const std::size_t n = 1 + below(6);
    for (std::size_t i = 0; i < n; ++i) {
      std::string nm = name();
      if (nm == "event_type") nm += "_";
      e[nm] = value(static_cast<int>(below(5)));
    }
    return e;
  }

 private:
  std::mt19937_64 r_;
};

std::string canonical(const json& j) {
  std::string s;
  fa::jcs::append(s, j);
  return s;
}

/// What AuditLogger wrote before the bytes prefilter: the tree guard on a copy, then the copy serialized.
struct OldPath {
  bool refused = false;
  std::string bytes;
  std::size_t redacted = 0;
};
OldPath old_path(const json& event) {
  OldPath r;
  json copy = event;
  if (fa::guard_may_redact(event, {})) r.redacted = fa::guard_redact(copy, {});
  if (r.redacted != 0 && !fa::events::validate_event(copy)) {
    r.refused = true;
    return r;
  }
  r.bytes = canonical(r.redacted != 0 ? copy : event);
  return r;
}

}  // namespace

// Sanitizer builds check the same properties on a quarter of the inputs (ASan and UBSan make this -O0 test code
// about ten times slower); the release build runs them all.
#if defined(FA_SANITIZER_ADDRESS) || defined(FA_SANITIZER_THREAD)
constexpr int kScale = 4;
#else
constexpr int kScale = 1;
#endif

TEST_CASE("secret guard property: the canonical-bytes prefilter answers as the tree guard on random events",
          "[guard][property]") {
  std::size_t redacting = 0, firing = 0, total = 0;
  for (std::uint64_t seed = 1; seed <= 40 / kScale; ++seed) {
    Gen g(seed * 0x9E3779B97F4A7C15ull);
    for (int i = 0; i < 1000; ++i) {
      const json e = i % 4 == 0 ? g.value(4) : g.event();
      const std::string c = canonical(e);
      const bool tree = fa::guard_may_redact(e, {});
      const bool bytes = fa::guard_may_redact_canonical(c);
      json copy = e;
      const std::size_t n = fa::guard_redact(copy, {});
      INFO("seed " << seed << " event " << i << ": " << c);
      // Soundness: whatever the tree guard redacts, the bytes prefilter saw.
      if (n != 0) REQUIRE(bytes);
      // And no more: on canonical bytes both prefilters give the same answer.
      REQUIRE(bytes == tree);
      // Any other JSON text of the same event (whitespace, other escapes) is still covered.
      if (tree) {
        REQUIRE(fa::guard_may_redact_canonical(e.dump(2)));
        REQUIRE(fa::guard_may_redact_canonical(e.dump(-1, ' ', true)));
      }
      redacting += n != 0;
      firing += bytes;
      ++total;
    }
  }
  // The generator exercises both outcomes, and many events redact something.
  CHECK(redacting > total / 4);
  CHECK(total - firing > total / 10);
}

TEST_CASE("secret guard property: a secret next to every escape is seen in the canonical bytes",
          "[guard][property]") {
  Gen g(7);
  std::size_t cases = 0;
  for (int i = 0; i < 3000 / kScale; ++i) {
    const std::string sec = g.secret();
    for (const char* before : {"", "\"", "\\", "\n", "\t", "\x01", "\x1f", "\x7f", "\xc3\xa9", "\\n"})
      for (const char* after : {"", "\"", "\\", "\n", "\x01", "\xc3\xa9", "x"}) {
        const std::string s = std::string(before) + sec + after;
        for (const json& e : {json{{"v", s}}, json{{s, 1}}, json::array({s}), json{{"password", s}}}) {
          json copy = e;
          if (fa::guard_redact(copy, {}) == 0) continue;
          ++cases;
          INFO(canonical(e));
          REQUIRE(fa::guard_may_redact_canonical(canonical(e)));
        }
      }
  }
  CHECK(cases > 100000 / kScale);
}

TEST_CASE("secret guard property: AuditLogger writes the tree guard's output byte for byte", "[guard][property]") {
  fa_test::TempDir tmp;
  const std::string dir = tmp / "log";
  fa::LoggerOptions opt;
  opt.dir = dir;
  opt.durability = fa::Durability::none;
  opt.clock_micros = fa_test::stepping_clock();
  auto lg = fa::AuditLogger::open(opt);
  REQUIRE(lg);
  Gen g(424242);
  std::vector<std::string> expected;
  std::size_t expected_redactions = 0, refused = 0;
  for (int i = 0; i < 1500; ++i) {
    const json e = g.event();
    if (!fa::events::validate_event(e)) continue;
    const OldPath want = old_path(e);
    const fa::Status s = (*lg)->log(e);
    INFO(canonical(e));
    REQUIRE(s.ok() == !want.refused);
    if (want.refused) {
      ++refused;
      continue;
    }
    expected.push_back(want.bytes);
    expected_redactions += want.redacted;
  }
  REQUIRE((*lg)->flush());
  CHECK((*lg)->stats().secrets_redacted == expected_redactions);
  REQUIRE((*lg)->close());
  // The records' events, in sequence order.
  std::map<std::uint64_t, std::string> written;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
    if (!f.is_regular_file()) continue;
    const std::string bytes = fa_test::read_bytes(f.path().string());
    std::size_t b = 0;
    while (b < bytes.size()) {
      std::size_t e = bytes.find('\n', b);
      if (e == std::string::npos) e = bytes.size();
      fa::record::View v;
      if (fa::record::parse(std::string_view(bytes).substr(b, e - b), &v) &&
          v.event.find(R"("event_type":"app.property")") != std::string_view::npos)
        written[v.seq] = std::string(v.event);
      b = e + 1;
    }
  }
  REQUIRE(written.size() == expected.size());
  std::size_t k = 0;
  for (const auto& [seq, ev] : written) {
    INFO("record " << seq);
    REQUIRE(ev == expected[k++]);
  }
  CHECK(expected_redactions > 100);
  CHECK(expected.size() > 1000);
  (void)refused;
}

TEST_CASE("secret guard property: GenerationEvent canonical bytes answer as the struct guard", "[guard][property]") {
  Gen g(99);
  for (int i = 0; i < 3000; ++i) {
    fa::GenerationEvent e;
    e.event_type = "image_generation";
    e.request_id = "req_" + std::to_string(i);
    std::string* fields[] = {&e.user_agent, &e.user_id, &e.request.prompt_sanitized, &e.request.negative_prompt,
                             &e.processing.model_version, &e.result, &e.safety.safety_checker_version};
    for (std::string* f : fields)
      if (g.chance(30)) *f = g.text();
    if (g.chance(30)) e.request.styles.push_back(g.text());
    if (g.chance(30)) e.request.loras.push_back({g.text(), 0.5});
    if (g.chance(30)) e.outputs.push_back({g.text(), g.text(), 1, 1, 1});
    std::string c;
    try {
      e.append_canonical(c);
    } catch (const fa::jcs::Error&) {
      continue;  // a lone NUL or the like: the logger refuses such an event before the guard matters
    }
    INFO(c);
    REQUIRE(fa::guard_may_redact_canonical(c) == fa::guard_may_redact(e, {}));
  }
}

TEST_CASE("secret guard property: the AVX2 stage 1 answers as the SSE2 one at every offset", "[guard][property]") {
  if (!fa::detail::guard_canonical_uses_avx2()) {
    WARN("no AVX2 on this CPU: guard_may_redact_canonical has one stage 1 only");
    return;
  }
  auto same = [](std::string_view t) {
    const bool avx2 = fa::guard_may_redact_canonical(t);
    REQUIRE(avx2 == fa::detail::guard_may_redact_canonical_portable(t));
    return avx2;
  };
  std::size_t firing = 0, total = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    Gen g(seed * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 400; ++i) {
      const std::string c = canonical(i % 4 == 0 ? g.value(4) : g.event());
      // Start offsets and lengths around the 32- and 16-byte steps and the zero-padded tail.
      for (std::size_t off = 0; off < std::min<std::size_t>(c.size(), 40); off += 3)
        for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{21}, std::size_t{37}, std::size_t{38}}) {
          if (off + cut > c.size()) continue;
          const std::string_view t = std::string_view(c).substr(off, c.size() - off - cut);
          INFO("seed " << seed << " event " << i << " offset " << off << " cut " << cut << ": " << t);
          firing += same(t);
          ++total;
        }
    }
  }
  // One trigger at each position of a run of plain bytes: both stage 1 forms see it wherever it falls.
  for (const char* trig : {"sk_live_", "AKIA", "ghp_", "xoxb", "eyJ", "://u@h", "\\/", "key", "token", "password"})
    for (std::size_t at = 0; at < 100; ++at) {
      std::string t = "\"" + std::string(100, 'z') + "\"";
      t.insert(1 + at, std::string(" ") + trig + " ");
      INFO(t);
      same(t);
    }
  CHECK(firing > total / 10);
  CHECK(total - firing > total / 10);
}
