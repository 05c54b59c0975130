// SPDX-License-Identifier: Apache-2.0
// The secret detectors (detail/secret_detectors.hpp): for every detector at least 20 texts that must be found
// with their exact span and at least 20 that must not; the prefilter's guarantee; linear time on adversarial
// input. Keys are generated at run time (random bodies, checksums computed here independently), so this file
// holds no string that a secret scanner would take for a real key.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "fooocus_audit/detail/secret_detectors.hpp"
#include "support/random_text.hpp"

namespace d = fooocus_audit::detect;
using d::Detector;

namespace {

using fa_test::kB64Url;
using fa_test::kBase62;
const std::string kUpperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

std::mt19937_64& rng() {
  static std::mt19937_64 r(20260325);
  return r;
}
std::string rnd(const std::string& alphabet, std::size_t n) { return fa_test::random_text(rng(), alphabet, n); }
/// Random text over `alphabet` containing at least a lower case letter, an upper case letter and a digit.
std::string rnd_mixed(const std::string& alphabet, std::size_t n) {
  return fa_test::random_mixed(rng(), alphabet, n);
}

// CRC-32 written bit by bit (independent of the library's table) and GitHub's base62 encoding.
std::uint32_t crc32_bitwise(const std::string& s) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : s) {
    c ^= ch;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}
std::string base62_6(std::uint32_t v) {
  std::string out(6, '0');
  for (int i = 5; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kBase62[v % 62];
    v /= 62;
  }
  return out;
}
std::string github_token(const std::string& kind) {
  const std::string body = rnd(kBase62, 30);
  return "gh" + kind + "_" + body + base62_6(crc32_bitwise(body));
}

/// A body over [A-Za-z0-9_-] that ends with an alphanumeric (detectors drop a trailing - or _).
std::string body_b64(std::size_t n) { return rnd_mixed(kB64Url, n - 1) + rnd(kBase62, 1); }

std::string aws_key(const std::string& prefix) { return prefix + rnd(kUpperDigits, 16); }
std::string google_key() { return "AI" "za" + body_b64(35); }
std::string gitlab_token(const std::string& prefix, std::size_t n = 20) { return prefix + body_b64(n); }
std::string slack_token(char kind) {
  return std::string("xox") + kind + "-" + rnd("0123456789", 11) + "-" + rnd("0123456789", 12) + "-" +
         rnd_mixed(kBase62, 24);
}
std::string openai_key(bool marker) {
  if (marker) return "sk-" "proj-" + body_b64(20) + "T3Blbk" "FJ" + body_b64(20);
  return "sk-" + rnd_mixed(kBase62, 48);
}
std::string anthropic_key(const std::string& kind = "api03") {
  return "sk-" "ant-" + kind + "-" + body_b64(93) + "AA";
}
std::string stripe_key(const std::string& prefix) { return prefix + rnd_mixed(kBase62, 24); }
std::string base64url(const std::string& in) {
  static const char* kT = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kT[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kT[(acc << (6 - bits)) & 63]);
  return out;
}
std::string jwt(const std::string& header_json = R"({"alg":"HS256","typ":"JWT"})") {
  return base64url(header_json) + "." + base64url(R"({"sub":")" + rnd(kBase62, 10) + R"(","iat":1516239022})") +
         "." + body_b64(43);
}
std::string pem_body(int lines) {
  std::string s;
  for (int i = 0; i < lines; ++i) s += rnd_mixed(kBase62 + "+/", 64) + "\n";
  return s;
}
std::string pem(const std::string& label, int lines = 3) {
  return "-----BEGIN " + label + "-----\n" + pem_body(lines) + "-----END " + label + "-----";
}

struct Positive {
  std::string text;
  std::string secret;  // the exact span expected
};

std::vector<std::string> contexts() {
  return {"{}",
          "here it is: {} (do not share)",
          "\"{}\"",
          "prompt: a cat, {}, 8k",
          "({})",
          "line one\n{}\nline three",
          "caf\xc3\xa9 {} \xe2\x9c\x93 \xe4\xb8\xad\xe6\x96\x87",
          "value='{}';",
          "{}.",
          "x\t{}\ty"};
}
std::string place(const std::string& ctx, const std::string& secret) {
  const std::size_t at = ctx.find("{}");
  return ctx.substr(0, at) + secret + ctx.substr(at + 2);
}

/// The detector finds `p.secret` at its exact position (alone and with every detector on); the prefilter
/// says the text may contain a secret.
void require_found(Detector det, const Positive& p) {
  INFO(d::detector_name(det) << " in: " << p.text);
  const std::size_t at = p.text.find(p.secret);
  REQUIRE(at != std::string::npos);
  CHECK(d::may_contain_secret(p.text));
  for (d::DetectorMask mask : {d::mask_of(det), d::kSecretDetectors}) {
    std::vector<d::Match> m;
    d::scan_secrets(p.text, mask, m);
    bool exact = false;
    for (const d::Match& x : m) {
      CHECK(x.end <= p.text.size());
      CHECK(x.begin < x.end);
      if (x.detector == det && x.begin == at && x.end == at + p.secret.size()) {
        exact = true;
        CHECK(x.confidence > 0.0f);
        CHECK(x.confidence <= 1.0f);
      }
    }
    CHECK(exact);
  }
}

/// The detector reports nothing in `text`.
void require_not_found(Detector det, const std::string& text) {
  INFO(d::detector_name(det) << " must not fire on: " << text);
  std::vector<d::Match> m;
  d::scan_secrets(text, d::mask_of(det), m);
  CHECK(m.empty());
  std::vector<d::Match> all;
  d::scan_secrets(text, d::kSecretDetectors, all);
  for (const d::Match& x : all) CHECK(x.detector != det);
}

std::vector<Positive> in_contexts(const std::vector<std::string>& secrets) {
  std::vector<Positive> out;
  const auto ctx = contexts();
  for (std::size_t i = 0; i < secrets.size(); ++i)
    for (std::size_t k = 0; k < ctx.size(); k += 3) out.push_back({place(ctx[(i + k) % ctx.size()], secrets[i]), secrets[i]});
  return out;
}

}  // namespace

TEST_CASE("secret detectors: the CRC32 and base62 of GitHub tokens match a published example", "[secrets]") {
  // Example from the GitHub token checksum write-ups (a revoked token's random part and checksum).
  CHECK(base62_6(crc32_bitwise(std::string("fIkRGaBu5PeKsznM") + "zXQOg3kETH1Sgx")) == "2oIfSC");
  const std::string token = std::string("gh") + "p_fIkRGaBu5PeKsznM" + "zXQOg3kETH1Sgx" + "2oIfSC";
  require_found(Detector::github_token, {"token " + token, token});
  std::string wrong = token;
  wrong.back() = 'D';
  require_not_found(Detector::github_token, wrong);
}

TEST_CASE("secret detectors: aws_access_key", "[secrets]") {
  std::vector<std::string> keys;
  for (const char* p : {"AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"}) keys.push_back(aws_key(p));
  keys.push_back(std::string("AKIA") + "IOSFODNN7EXAMPLE");  // the AWS documentation example
  const auto pos = in_contexts(keys);
  REQUIRE(pos.size() >= 20);
  for (const auto& p : pos) require_found(Detector::aws_access_key, p);
  const std::string k = std::string("AKIA") + "IOSFODNN7EXAMPLE";
  for (const std::string& t : std::vector<std::string>{
           "AKIA IOSF ODNN 7EXA MPLE",  // split across spaces
           "AKIA-IOSF-ODNN-7EXA-MPLE", "x" + k, "9" + k, k + "X", k + "9", k.substr(0, 19),
           "AKIAiosfodnn7example", "akiaiosfodnn7example", "ABIAIOSFODNN7EXAMPLE", "AKIA_IOSFODNN7EXAMPLE",
           k.substr(0, 19) + "\xc3\xa9", "AKIA", "ASIA is a continent", "AIDA, an opera by Verdi",
           "AKIA\nIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXA.MPLE", "AKIAIOSFODNN7EXAM PLE", "ANVA" + k.substr(5),
           "a photo of ASIA in AKIA style, ANVA, AIPA", "my" + k + "key"})
    require_not_found(Detector::aws_access_key, t);
}

TEST_CASE("secret detectors: github_token with its checksum", "[secrets]") {
  std::vector<std::string> keys;
  for (const char* kind : {"p", "o", "u", "s", "r", "p", "o"}) keys.push_back(github_token(kind));
  keys.push_back("github_" "pat_" + rnd_mixed(kBase62, 22) + "_" + rnd_mixed(kBase62, 59));
  keys.push_back("github_" "pat_" + rnd_mixed(kBase62, 22) + "_" + rnd_mixed(kBase62, 59));
  const auto pos = in_contexts(keys);
  REQUIRE(pos.size() >= 20);
  for (const auto& p : pos) require_found(Detector::github_token, p);
  std::vector<std::string> neg;
  for (int i = 0; i < 6; ++i) {  // a wrong checksum: change one character of the random part
    std::string t = github_token("p");
    t[6 + static_cast<std::size_t>(i)] = t[6 + static_cast<std::size_t>(i)] == 'a' ? 'b' : 'a';
    neg.push_back(t);
  }
  const std::string t = github_token("p");
  std::string bad_sum = t;
  bad_sum.back() = bad_sum.back() == '0' ? '1' : '0';
  neg.push_back(bad_sum);
  neg.push_back(t.substr(0, 39));
  neg.push_back(t + "Z");
  neg.push_back("x" + t);
  neg.push_back("ghx_" + t.substr(4));
  neg.push_back("GHP_" + t.substr(4));
  neg.push_back("ghp-" + t.substr(4));
  neg.push_back("ghp_ " + t.substr(4));
  neg.push_back(t.substr(0, 20) + " " + t.substr(20));
  {  // checksum computed over prefix and body: the wrong method
    const std::string body = rnd(kBase62, 30);
    neg.push_back("ghp_" + body + base62_6(crc32_bitwise("ghp_" + body)));
  }
  neg.push_back("github_" "pat_" + rnd_mixed(kBase62, 22) + "_" + rnd_mixed(kBase62, 58));
  neg.push_back("github_" "pat_" + rnd_mixed(kBase62, 81));
  neg.push_back("github_" "pat_");
  neg.push_back("light and shadow, high contrast, night sky");
  neg.push_back("ghp_" + rnd(kBase62, 20) + "!" + rnd(kBase62, 15));
  for (const auto& n : neg) require_not_found(Detector::github_token, n);
}

TEST_CASE("secret detectors: gitlab_token", "[secrets]") {
  std::vector<std::string> keys;
  for (const char* p : {"glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "glimt-", "glsoat-"}) keys.push_back(gitlab_token(p));
  keys.push_back(gitlab_token("glpat-", 27) + ".01." + rnd("abcdefghij0123456789", 9));  // routable token
  const auto pos = in_contexts(keys);
  REQUIRE(pos.size() >= 20);
  for (const auto& p : pos) require_found(Detector::gitlab_token, p);
  const std::string b = body_b64(20);
  for (const std::string& t : std::vector<std::string>{
           "glpat-" + b.substr(0, 19), "glpat-" + std::string(20, 'x'), "glpat-" + std::string(24, '7'),
           "glpat_" + b, "xglpat-" + b, "glxyz-" + b, "GLPAT-" + b, "glpat- " + b, "glpat-", "gl-pat-" + b,
           "glow-in-the-dark glitter, glass sculpture", "glpat-" + b.substr(0, 10) + " " + b.substr(10),
           "glpat-" + b.substr(0, 10) + "\xc3\xa9" + b.substr(10), "glossy-" + b, "glrt" + b, "glpatt-" + b,
           "1glpat-" + b, "glpat-----------------------", "glpat-" + std::string(10, '-') + "abc",
           "glimpse-of-the-future-2024"})
    require_not_found(Detector::gitlab_token, t);
}

TEST_CASE("secret detectors: slack_token and webhooks", "[secrets]") {
  std::vector<std::string> keys;
  for (char k : {'b', 'p', 'a', 'r', 's', 'e', 'b'}) keys.push_back(slack_token(k));
  keys.push_back("https://hooks.slack.com/services/T" + rnd("ABCDEFGHIJ0123456789", 8) + "/B" +
                 rnd("ABCDEFGHIJ0123456789", 8) + "/" + rnd_mixed(kBase62, 24));
  keys.push_back("https://hooks.slack.com/services/T" + rnd("ABCDEFGHIJ0123456789", 10) + "/B" +
                 rnd("ABCDEFGHIJ0123456789", 10) + "/" + rnd_mixed(kBase62, 24));
  const auto pos = in_contexts(keys);
  REQUIRE(pos.size() >= 20);
  for (const auto& p : pos) require_found(Detector::slack_token, p);
  const std::string tail = rnd("0123456789", 11) + "-" + rnd_mixed(kBase62, 24);
  for (const std::string& t : std::vector<std::string>{
           "xoxb-123", "xoxb-abcdefghijklmnopqrstuvwx", "xoxz-" + tail, "xox-" + tail, "XOXB-" + tail,
           "axoxb-" + tail, "xoxb " + tail, "xoxo hugs and kisses", "xoxb-", "xoxb_" + tail,
           "https://hooks.slack.com/services/", "https://hooks.slack.com/services/T123/B456/short",
           "https://hooks.slack.example.com/services/T1234567/B1234567/" + rnd_mixed(kBase62, 24),
           "https://example.com/hooks.slack.com/services/T1/B1/" + rnd_mixed(kBase62, 24),
           "hooks.slack.com is the host", "xoxb-12345678\xc3\xa9", "xo xb-" + tail, "1xoxp-" + tail,
           "xoxb------------------", "boxoxb-" + tail})
    require_not_found(Detector::slack_token, t);
}

TEST_CASE("secret detectors: openai_key", "[secrets]") {
  std::vector<std::string> keys;
  for (int i = 0; i < 4; ++i) keys.push_back(openai_key(true));
  for (int i = 0; i < 3; ++i) keys.push_back(openai_key(false));
  keys.push_back("sk-" "svcacct-" + body_b64(40));
  const auto pos = in_contexts(keys);
  REQUIRE(pos.size() >= 20);
  for (const auto& p : pos) require_found(Detector::openai_key, p);
  {  // the marker raises the confidence
    std::vector<d::Match> m;
    d::scan_secrets(keys[0], d::mask_of(Detector::openai_key), m);
    REQUIRE(m.size() == 1);
    CHECK(m[0].confidence == 1.0f);
  }
  const std::string b = rnd_mixed(kBase62, 32);
  for (const std::string& t : std::vector<std::string>{
           "sk-" + b.substr(0, 19), "sk-learn-cross-validation-pipeline", "task-" + b, "risk-free investment 2024",
           "sk- " + b, "SK-" + b, "sk_" + b, "desk-lamp-photography-studio-lighting", anthropic_key(),
           "sk-" + std::string(24, 'x'), "sk-" + std::string(24, '-'), "ask-" + b, "whisk-" + b, "husk-1234",
           "sk-1234", "sk-ABCDEFGHIJKLMNOPQRSTUVWXYZ", "sk-" + b.substr(0, 10) + " " + b.substr(10),
           "sk-" + b.substr(0, 10) + "\xc3\xa9" + b.substr(10), "1sk-" + b, "sk" + b})
    require_not_found(Detector::openai_key, t);
}

TEST_CASE("secret detectors: anthropic_key", "[secrets]") {
  std::vector<std::string> keys;
  for (int i = 0; i < 5; ++i) keys.push_back(anthropic_key());
  keys.push_back(anthropic_key("admin01"));
  keys.push_back("sk-" "ant-" "api03-" + body_b64(40));
  const auto pos = in_contexts(keys);
  REQUIRE(pos.size() >= 20);
  for (const auto& p : pos) require_found(Detector::anthropic_key, p);
  const std::string b = body_b64(40);
  for (const std::string& t : std::vector<std::string>{
           "sk-ant-api03-short", "sk-ant-" + b, "sk-ant-api3-" + b, "sk-ant-API03-" + b, "xsk-ant-api03-" + b,
           "sk-ant-api03-" + b.substr(0, 31), "sk-ant-api03-" + std::string(40, 'a'), "sk-ant- api03-" + b,
           "sk-antelope-" + b, "sk_ant_api03_" + b, "sk-ant-api03 " + b, "sk-ant-api03-", "sk-ant-",
           "sk-ant-api03-" + b.substr(0, 20) + " " + b.substr(20), "SK-ANT-API03-" + b, "ask-ant-api03-" + b,
           "sk-ant-apiXY-" + b, "sk-ant-a03-" + b, openai_key(false), "elephant-api03-" + b})
    require_not_found(Detector::anthropic_key, t);
}

TEST_CASE("secret detectors: stripe_key: secret and restricted and webhook keys but not publishable keys",
          "[secrets]") {
  std::vector<std::string> keys;
  for (const char* p : {"sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_", "sk_live_", "whsec_"})
    keys.push_back(stripe_key(p));
  const auto pos = in_contexts(keys);
  REQUIRE(pos.size() >= 20);
  for (const auto& p : pos) require_found(Detector::stripe_key, p);
  const std::string b = rnd_mixed(kBase62, 24);
  for (const std::string& t : std::vector<std::string>{
           "pk_live_" + b, "pk_test_" + b, "sk_live_" + b.substr(0, 15), "sk_live_" + std::string(24, 'x'),
           "sk_prod_" + b, "ask_live_" + b, "sk_live_" + b + "_more", "SK_LIVE_" + b, "sk_live " + b,
           "whsec_" + b.substr(0, 23), "whsec_" + std::string(30, 'q'), "xwhsec_" + b, "rk_dev_" + b,
           "disk_live_" + b, "sk_test", "task_test_" + b, "sk_live_" + b.substr(0, 8) + " " + b.substr(8),
           "sk_live_" + b.substr(0, 8) + "\xc3\xa9" + b.substr(8), "whsec " + b, "sk__live_" + b})
    require_not_found(Detector::stripe_key, t);
}

TEST_CASE("secret detectors: google_api_key", "[secrets]") {
  std::vector<std::string> keys;
  for (int i = 0; i < 7; ++i) keys.push_back(google_key());
  const auto pos = in_contexts(keys);
  REQUIRE(pos.size() >= 20);
  for (const auto& p : pos) require_found(Detector::google_api_key, p);
  const std::string b = body_b64(35);
  for (const std::string& t : std::vector<std::string>{
           "AIza" + b.substr(0, 34), "AIza" + b + "Q", "AIza" + b + "-", "xAIza" + b, "AIzb" + b, "aiza" + b,
           "AIza" + b.substr(0, 20) + "!" + b.substr(21), "AIza " + b, "AIza", "AIzaSy", "AIza" + b.substr(0, 20) + "." + b.substr(21),
           "AIZA" + b, "AIza" + b.substr(0, 17) + "\xc3\xa9" + b.substr(19), "1AIza" + b, "A Iza" + b,
           "AIza" + b.substr(0, 10) + " " + b.substr(10), "AIza\n" + b, "AIDA opera, AIza brand", "_AIza" + b.substr(0, 30),
           "AIzaAIzaAIzaAIza"})
    require_not_found(Detector::google_api_key, t);
}

TEST_CASE("secret detectors: jwt with a decoded JSON header", "[secrets]") {
  std::vector<std::string> keys;
  for (int i = 0; i < 4; ++i) keys.push_back(jwt());
  keys.push_back(jwt(R"({"typ":"JWT","alg":"RS256","kid":"k1"})"));
  keys.push_back(jwt(R"({"alg":"none"})"));
  keys.push_back(jwt(R"({"alg":"ES256"})"));
  const auto pos = in_contexts(keys);
  REQUIRE(pos.size() >= 20);
  for (const auto& p : pos) require_found(Detector::jwt, p);
  require_found(Detector::jwt, {"Authorization: Bearer " + keys[0], keys[0]});
  const std::string payload = base64url(R"({"sub":"1"})");
  const std::string sig = body_b64(43);
  for (const std::string& t : std::vector<std::string>{
           base64url("{not json at all") + "." + payload + "." + sig,      // non-JSON header
           base64url(R"({"typ":"JWT"})") + "." + payload + "." + sig,       // no alg
           base64url(R"({"x":{"alg":"HS256"}})") + "." + payload + "." + sig,  // alg only nested
           base64url(R"({"alg":"HS256"})") + "." + payload,                 // two segments
           base64url(R"({"alg":"HS256"})"),                                  // header alone
           "x" + base64url(R"({"alg":"HS256"})") + "." + payload + "." + sig,
           base64url(R"({"alg":"HS256"})") + "x." + payload + "." + sig,    // bad base64 length
           base64url(R"({"alg":"HS256"})") + ". " + payload + "." + sig,
           base64url(R"({"alg":"HS256"})") + "." + "." + sig,               // empty payload
           "eyJ is not a token", "eyJhbGci", "eyJ.eyJ.eyJ", base64url(R"({"alg":"HS256")") + "." + payload + "." + sig,
           base64url(R"("alg")") + "." + payload + "." + sig, base64url(R"([{"alg":1}])") + "." + payload + "." + sig,
           "EYJ" + base64url(R"({"alg":"HS256"})").substr(3) + "." + payload + "." + sig,
           base64url(R"({"alg":"HS256"})").substr(0, 10) + " " + base64url(R"({"alg":"HS256"})").substr(10) + "." +
               payload + "." + sig,
           base64url(R"({"alg":"HS256"})") + "\xc3\xa9." + payload + "." + sig,
           "version 1.2.3 of eyJ-lib", "a.b.c"})
    require_not_found(Detector::jwt, t);
}

TEST_CASE("secret detectors: private_key blocks, whole and truncated", "[secrets]") {
  std::vector<Positive> pos;
  for (const char* label : {"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY",
                            "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "PGP PRIVATE KEY BLOCK"}) {
    const std::string k = pem(label);
    pos.push_back({k, k});
    pos.push_back({"key file:\n" + k + "\nend of file", k});
    pos.push_back({"{\"k\": \"" + k + "\"}", k});
  }
  {  // encrypted PEM with headers
    const std::string k = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
                          "00112233445566778899AABBCCDDEEFF\n\n" + pem_body(2) + "-----END RSA PRIVATE KEY-----";
    pos.push_back({k, k});
  }
  {  // truncated: no END line; the header and the body that follows
    const std::string head = "-----BEGIN PRIVATE KEY-----\n" + pem_body(2);
    const std::string k = head.substr(0, head.size() - 1);  // without the final newline
    pos.push_back({"pasted: " + head + "   \n", k});
    pos.push_back({head + "\"}", k});
  }
  REQUIRE(pos.size() >= 20);
  for (const auto& p : pos) require_found(Detector::private_key, p);
  const std::string body = pem_body(2);
  for (const std::string& t : std::vector<std::string>{
           "-----BEGIN PUBLIC KEY-----\n" + body + "-----END PUBLIC KEY-----",
           "-----BEGIN CERTIFICATE-----\n" + body + "-----END CERTIFICATE-----",
           "-----BEGIN RSA PUBLIC KEY-----\n" + body + "-----END RSA PUBLIC KEY-----",
           "-----BEGIN PGP PUBLIC KEY BLOCK-----\n" + body + "-----END PGP PUBLIC KEY BLOCK-----",
           "-----BEGIN PGP SIGNATURE-----\n" + body + "-----END PGP SIGNATURE-----",
           "-----BEGIN X509 CRL-----\n" + body, "-----BEGIN PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----\nabc\n",
           "-----BEGIN PRIVATE KEY-----\n\xc3\xa9" + body, "----BEGIN PRIVATE KEY-----\n" + body,
           "-----BEGIN PRIVATE KEY\n" + body, "-----begin private key-----\n" + body,
           "BEGIN PRIVATE KEY\n" + body, "-----BEGIN ENCRYPTED MESSAGE-----\n" + body,
           "-----BEGIN CERTIFICATE REQUEST-----\n" + body, "----- BEGIN PRIVATE KEY -----\n" + body,
           "-----BEGINPRIVATE KEY-----\n" + body, "-----BEGIN PRIVATE KEYS-----\n" + body,
           "-----BEGIN DH PARAMETERS-----\n" + body, "prompt: --ar 16:9 --BEGIN"})
    require_not_found(Detector::private_key, t);
}

TEST_CASE("secret detectors: url_credentials span the user:password part", "[secrets]") {
  std::vector<Positive> pos;
  const std::vector<std::pair<std::string, std::string>> urls{
      {"postgres://", "admin:s3cr3t@db.internal:5432/app"},
      {"https://", "alice:" + rnd_mixed(kBase62, 12) + "@example.com/x"},
      {"mysql://", "root:p%40ss@127.0.0.1/db"},
      {"redis://", ":" + rnd_mixed(kBase62, 16) + "@cache:6379"},
      {"ftp://", "user:pw@ftp.example.org"},
      {"amqp://", "guest:guest@rabbit/"},
      {"mongodb+srv://", "u:" + rnd_mixed(kBase62, 10) + "@cluster0.example.net/?retryWrites=true"},
      {"http://", "a.b-c_d~e:x!$&'()*+,;=y@[2001:db8::1]/p"},
      {"smtp://", "mailer:p@ss@mail.example.com"},  // an unencoded @ in the password: the last @ ends it
      {"git+ssh://", "deploy:" + rnd_mixed(kBase62, 20) + "@git.example.com/repo.git"},
  };
  for (const auto& [scheme, rest] : urls) {
    const std::string url = scheme + rest;
    const std::size_t at = rest.find('/') == std::string::npos ? rest.rfind('@') : rest.rfind('@', rest.find('/'));
    const std::string cred = rest.substr(0, at);
    pos.push_back({url, cred});
    pos.push_back({"DATABASE_URL=" + url + " # prod", cred});
  }
  REQUIRE(pos.size() >= 20);
  for (const auto& p : pos) require_found(Detector::url_credentials, p);
  for (const std::string& t : std::vector<std::string>{
           "https://example.com/path", "https://user@example.com", "https://user:@example.com",
           "mailto:a@b.com", "https://example.com/?email=a@b.com", "https://user:****@host",
           "https://user:xxxx@host", "user:pass@host", "https://host:8080/path", "ftp://ftp.example.org:21",
           "https://[::1]:8080/", "s3://bucket/key@v2", "://user:pw@host", "https://user:pw@",
           "https://a:b c@host", "file:///etc/passwd", "http://example.com/@user:pw",
           "git@github.com:org/repo.git", "https://example.com#user:pw@frag", "https://us\xc3\xa9r:pw@host"})
    require_not_found(Detector::url_credentials, t);
}

TEST_CASE("secret detectors: generic_secret after key words", "[secrets]") {
  std::vector<Positive> pos;
  auto add = [&](const std::string& text, const std::string& secret) { pos.push_back({text, secret}); };
  for (int i = 0; i < 2; ++i) {
    const std::string v = rnd_mixed(kBase62, 24);
    add("api_key=" + v, v);
    add("apiKey: \"" + v + "\"", v);
    add("{\"client_secret\": \"" + v + "\"}", v);
    add("Authorization: Bearer " + v, v);
    add("X-Api-Key: " + v, v);
    add("access_token=" + v + "&state=1", v);
    add("the secret is " + v + ".", v);
    add("token " + v, v);
    add("credentials: " + v, v);
    add("AUTH_TOKEN := '" + v + "'", v);
  }
  const std::string aws_secret = rnd_mixed(kBase62 + "/+", 40);
  add("AWS_SECRET_ACCESS_KEY=" + aws_secret, aws_secret);  // documented: generic_secret
  add("password: hunter2", "hunter2");                      // low entropy after "password": still a secret
  add("DB_PASSWORD=correct-horse", "correct-horse");
  add("pwd=abc123!", "abc123!");
  add("passwd:letmein", "letmein");
  add("PASSWORD = 'S3cure!Pass'", "S3cure!Pass");
  add("\"password\": \"hunter2\"", "hunter2");
  add("api_key: 123e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-426614174000");
  {
    const std::string v = "dXNlcjpw" + rnd_mixed(kBase62, 16) + "==";
    add("Authorization: Basic " + v, v);
  }
  REQUIRE(pos.size() >= 20);
  for (const auto& p : pos) require_found(Detector::generic_secret, p);
  const std::string v = rnd_mixed(kBase62, 24);
  for (const std::string& t : std::vector<std::string>{
           "token count: 77", "token_count=77", "Token count: 77 of 77",
           "key_id: ak_01HXYZ3K8M9N2P4Q6R7S0T5VWX", "prompt_hash: sha256:" + std::string(64, 'a'),
           "secret_hash: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
           "output hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
           "monkey=" + v, "keyboard: " + v, "The password is hunter2", "password: ****",
           "password: ${DB_PASSWORD}", "password: null", "a secret garden, key light, 8k, token of love",
           "api_key=short1", "token: abcdefghijklmnopqrstuvwxyz",
           "secret: models/checkpoints/juggernautXL_v8Rundiffusion.safetensors",
           "request_id: 123e4567-e89b-12d3-a456-426614174000", "tokenizer: clip-vit-large-patch14-2024",
           "author: John Smith", "authentication failed for user alice", "bearer of good news",
           "key frame 12", "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk",
           "password_length: 16", "secret: [GENERIC_SECRET_REDACTED]", "key: \xc3\xa9" + v,
           "api_key=" + v.substr(0, 8) + " " + v.substr(8)})
    require_not_found(Detector::generic_secret, t);
}

TEST_CASE("secret detectors: bytes >= 0x80 end a match and spans never split a code point", "[secrets]") {
  const std::string k = aws_key("AKIA");
  const std::string text = "\xe4\xb8\xad" + k + "\xe6\x96\x87 \xf0\x9f\x94\x91" + github_token("p") + "\xc3\xa9";
  std::vector<d::Match> m;
  d::scan_secrets(text, d::kSecretDetectors, m);
  REQUIRE(m.size() == 2);
  for (const d::Match& x : m) {
    for (std::size_t i = x.begin; i < x.end; ++i) CHECK(static_cast<unsigned char>(text[i]) < 0x80);
  }
}

TEST_CASE("secret detectors: disabled detectors report nothing and non-secret bits are ignored", "[secrets]") {
  const std::string text = "key " + aws_key("AKIA") + " and " + github_token("o");
  std::vector<d::Match> m;
  d::scan_secrets(text, d::kPiiDetectors, m);
  CHECK(m.empty());
  d::scan_secrets(text, d::mask_of(Detector::github_token) | d::kPiiDetectors, m);
  REQUIRE(m.size() == 1);
  CHECK(m[0].detector == Detector::github_token);
}

TEST_CASE("secret detectors: the prefilter is false on ordinary text and true around every planted secret",
          "[secrets]") {
  const std::vector<std::string> ordinary{
      "a photo of a beautiful woman in a secret garden, key light, cinematic, 8k, highly detailed",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
      "/home/fooocus/models/checkpoints/juggernautXL_v8Rundiffusion.safetensors",
      "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 23.65 GiB total capacity)",
      "https://cdn.example.com/outputs/2026-03-25/abc.png",
      "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      "token count: 77", "", "a"};
  for (const auto& t : ordinary) {
    INFO(t);
    CHECK_FALSE(d::may_contain_secret(t));
  }
  // Random texts of prompt words with one planted secret of each kind: the prefilter must say true, and the
  // scan must find the planted span.
  const std::vector<std::string> words{"a", "photo", "of", "the", "cat", "beautiful", "light", "key", "token",
                                       "secret", "sky", "8k", "(masterpiece:1.2)", "--ar", "16:9", "glow",
                                       "askew", "AS", "IS", "ok", "http://x.y/z", "e=mc2", "-", "_", "\xc3\xa9"};
  struct Planted {
    Detector det;
    std::string secret;
    std::string prefix;
  };
  for (int round = 0; round < 60; ++round) {
    const std::vector<Planted> plants{
        {Detector::aws_access_key, aws_key("ASIA"), ""},
        {Detector::github_token, github_token("s"), ""},
        {Detector::gitlab_token, gitlab_token("glpat-"), ""},
        {Detector::slack_token, slack_token('b'), ""},
        {Detector::openai_key, openai_key(round % 2 == 0), ""},
        {Detector::anthropic_key, anthropic_key(), ""},
        {Detector::stripe_key, stripe_key("rk_live_"), ""},
        {Detector::google_api_key, google_key(), ""},
        {Detector::jwt, jwt(), ""},
        {Detector::private_key, pem("EC PRIVATE KEY", 1), ""},
        {Detector::url_credentials, "bob:" + rnd_mixed(kBase62, 10), "https://"},
        {Detector::generic_secret, rnd_mixed(kBase62, 20), "password="},
    };
    const Planted& pl = plants[static_cast<std::size_t>(round) % plants.size()];
    std::string text;
    const int before = static_cast<int>(rng()() % 30);
    for (int i = 0; i < before; ++i) text += words[rng()() % words.size()] + " ";
    text += pl.prefix + pl.secret + (pl.det == Detector::url_credentials ? "@host.example/x" : "");
    const int after = static_cast<int>(rng()() % 30);
    for (int i = 0; i < after; ++i) text += " " + words[rng()() % words.size()];
    require_found(pl.det, {text, pl.secret});
  }
}

TEST_CASE("secret detectors: a key word before another key word with a separator yields the inner span",
          "[secrets]") {
  // Found by the randomized prefilter test under another compiler's evaluation order.
  const std::string value = "nm4TokXIHZqkbdNwXfTQ";
  require_found(Detector::generic_secret, {"secret (masterpiece:1.2) key password=" + value + " cat", value});
  require_found(Detector::generic_secret, {"token apikey: " + value, value});
  // After a strong separator the value is the outer key word's, even when it looks like "name:value".
  const std::string pw = "key:abc";
  require_found(Detector::generic_secret, {"password: " + pw + " ok", pw});
}

TEST_CASE("secret detectors: adversarial inputs finish and report what they contain", "[secrets]") {
  auto repeat = [](const std::string& unit, std::size_t bytes) {
    std::string s;
    s.reserve(bytes + unit.size());
    while (s.size() < bytes) s += unit;
    return s;
  };
  const std::size_t kSize = 2u << 20;
  struct Case {
    std::string unit;
    bool none;  // nothing to find
  };
  for (const Case& c : std::vector<Case>{{"sk-", true},
                                         {"sk-A1", false},
                                         {"eyJ", true},
                                         {"eyJhbGciOiJub25lIn0.", false},  // H.H.H... is a chain of valid JWTs
                                         {"eyJ.", true},
                                         {"key=", true},
                                         {"key_", true},
                                         {"password: ", false},
                                         {"-----BEGIN PRIVATE KEY-----", true},
                                         {"-----BEGIN PRIVATE KEY-----\nQUJDREVGR0hJSktMTU5PUFFS\n", false},
                                         {"a://", true},
                                         {"a://b:c@", false},
                                         {"AKIA", true},
                                         {"ghp_", true},
                                         {"xoxb-1", false},
                                         {"1234567890", true},
                                         {"@@@@((((", true}}) {
    INFO(c.unit);
    const std::string text = repeat(c.unit, kSize);
    std::vector<d::Match> m;
    d::scan_secrets(text, d::kSecretDetectors, m);
    if (c.none) CHECK(m.empty());
    else CHECK_FALSE(m.empty());
    // Keys do not nest: the matches of one detector never overlap.
    std::sort(m.begin(), m.end(), [](const d::Match& a, const d::Match& b) {
      return a.detector != b.detector ? a.detector < b.detector : a.begin < b.begin;
    });
    for (std::size_t k = 1; k < m.size(); ++k)
      if (m[k].detector == m[k - 1].detector) CHECK(m[k].begin >= m[k - 1].end);
    if (!c.none) CHECK(d::may_contain_secret(text));
  }
}

TEST_CASE("secret detectors: randomized texts never find what the prefilter ruled out", "[secrets]") {
  // Texts glued from fragments that exercise every path: key words, gap words, separators, quotes, prefixes,
  // values. Whenever scan_secrets finds anything, may_contain_secret must have said true.
  const std::vector<std::string> frags{
      "key", "token", "secret", "password", "pwd", "Bearer", "auth", "Authorization", "api", "Key", "_", "-", ".",
      " ", "  ", "\t", "is", "=", ":", ":=", "=>", "\"", "'", "`", "Basic", "digest", "AKIA", "gh", "p_", "sk", "-",
      "ant", "api03", "glpat", "xox", "b", "eyJ", "-----BEGIN ", "PRIVATE KEY", "-----", "://", "@", "/", "x",
      "AIza", "whsec", "live_", "\xc3\xa9", "\n", "count", "id", "hunter2", "1", "Zx8Kq2LmN4pR7sT9vW1yB3c",
      "abcDEF123ghiJKL456mnoPQR", "0123456789abcdef0123456789abcdef"};
  std::size_t found_texts = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string t;
    const int parts = 2 + static_cast<int>(rng()() % 14);
    for (int i = 0; i < parts; ++i) t += frags[rng()() % frags.size()];
    std::vector<d::Match> m;
    d::scan_secrets(t, d::kSecretDetectors, m);
    if (!m.empty()) {
      ++found_texts;
      INFO("text: " << t);
      CHECK(d::may_contain_secret(t));
    }
  }
  CHECK(found_texts > 100);  // the generator does reach the detectors
}

TEST_CASE("secret detectors: findings do not depend on where the 16- and 64-byte blocks of the walk fall",
          "[secrets]") {
  // The walk builds its masks 16 bytes at a time, with each byte's neighbours (the first lane, the last lane
  // of a text of 33+ bytes and texts under 33 bytes each take their own path), and looks 15 bytes into the
  // next 64-byte block for runs of 16 value bytes. Every secret, at every offset 0..80 and followed by 0..40
  // bytes, must give the same findings shifted by the offset, and the prefilter must say true.
  const std::vector<std::string> secrets{aws_key("AKIA"),
                                        google_key(),
                                        github_token("p"),
                                        gitlab_token("glpat-"),
                                        slack_token('b'),
                                        openai_key(false),
                                        anthropic_key(),
                                        stripe_key("sk_live_"),
                                        stripe_key("whsec_"),
                                        jwt(),
                                        pem("RSA PRIVATE KEY", 1),
                                        "https://admin:" + rnd_mixed(kBase62, 12) + "@db.example.com",
                                        "password=" + rnd_mixed(kBase62, 10),
                                        "api_key: " + rnd_mixed(kBase62, 32),
                                        "Authorization: Bearer " + rnd_mixed(kBase62, 40)};
  for (const std::string& secret : secrets) {
    std::vector<d::Match> base;
    d::scan_secrets(secret, d::kSecretDetectors, base);
    INFO("secret: " << secret);
    REQUIRE(!base.empty());
    for (std::size_t pad = 0; pad <= 80; ++pad)
      for (std::size_t tail : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{17},
                               std::size_t{40}}) {
        const std::string text = std::string(pad, ' ') + secret + std::string(tail, ' ');
        std::vector<d::Match> m;
        d::scan_secrets(text, d::kSecretDetectors, m);
        INFO("offset " << pad << ", " << tail << " bytes after");
        REQUIRE(m.size() == base.size());
        for (std::size_t k = 0; k < m.size(); ++k) {
          CHECK(m[k].detector == base[k].detector);
          CHECK(m[k].begin == base[k].begin + pad);
          CHECK(m[k].end == base[k].end + pad);
        }
        CHECK(d::may_contain_secret(text));
      }
  }
}
