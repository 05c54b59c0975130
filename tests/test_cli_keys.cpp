// SPDX-License-Identifier: Apache-2.0
// The fooocus-audit tool with keys (docs/cli.md): keygen, append and verify with signing and MAC keys, prove
// and check-proof, and a separate sign-server process. Each test spawns the built tool as a separate process.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/cli_support.hpp"
#include "support/log_fixture.hpp"

using namespace fa_test;
namespace fa = fooocus_audit;
using nlohmann::json;

#ifdef FA_CLI_PATH

namespace {

/// The line of a verify report that starts with `label` ("macs", "checkpoints", ...).
std::string report_line(const std::string& out, const std::string& label) {
  std::size_t at = 0;
  while (at < out.size()) {
    const std::size_t nl = out.find('\n', at);
    const std::string line = out.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if (line.rfind(label + " ", 0) == 0) return line;
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return "";
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

/// keygen into tmp/keys, and the auditor's copy of the MAC seed in tmp/auditor-mac.key (made before any
/// append).
void make_keys(const TempDir& tmp, const std::string& name = "keys") {
  const Run r = run_cli({"keygen", "--out", tmp / name});
  INFO(r.err);
  REQUIRE(r.status == 0);
  write_bytes(tmp / ("auditor-" + name + "-mac.key"), read_bytes(tmp / (name + "/mac.key")));
}

/// A signed, MAC'd log in tmp/log with its checkpoint anchors in tmp/anchors.jsonl.
void make_log(const TempDir& tmp, int events) {
  const Run r = run_cli({"append", "--dir", tmp / "log", "--signing-key", tmp / "keys/signing.key",
                         "--mac-key", tmp / "keys/mac.key", "--anchor-file", tmp / "anchors.jsonl",
                         "--checkpoint-records", "5", "--durability", "none"},
                        ndjson(0, events));
  INFO(r.err);
  REQUIRE(r.status == 0);
}

/// A background process killed (SIGKILL) if the test ends before it was stopped.
struct Background {
  pid_t pid = -1;
  ~Background() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      int ws = 0;
      ::waitpid(pid, &ws, 0);
    }
  }
  int stop() {
    REQUIRE(::kill(pid, SIGTERM) == 0);
    const int status = wait_exit(pid);
    pid = -1;
    return status;
  }
};

}  // namespace

TEST_CASE("cli: keygen writes 0600 secret keys and the verifier key, never overwrites, prints no secret",
          "[cli][keys]") {
  TempDir tmp;
  const std::string dir = tmp / "keys";
  Run r = run_cli({"keygen", "--out", dir, "--origin", "acme-audit"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(dir + "/signing.key") == 0600);
  CHECK(mode_of(dir + "/mac.key") == 0600);
  CHECK((mode_of(dir + "/verifier.key") & 0600) == 0600);

  auto key = fa::note::SigningKey::load(dir + "/signing.key");
  REQUIRE(key.ok());
  CHECK(key->name() == "acme-audit");
  auto verifier = fa::note::load_verifier_key(dir + "/verifier.key");
  REQUIRE(verifier.ok());
  CHECK(verifier.value() == key->verifier());
  CHECK(trim(r.out) == verifier->text());
  REQUIRE(fa::mac::Seed::load(dir + "/mac.key").ok());
  // No secret on the terminal.
  const std::string signing = trim(read_bytes(dir + "/signing.key"));
  const std::string seed_hex = trim(read_bytes(dir + "/mac.key")).substr(fa::mac::kSeedMagic.size() + 1);
  // PRIVATE+KEY+<name>+<key id>+<base64 seed>: the name and the id hold no '+', the base64 may.
  const std::size_t name_end = signing.find('+', std::string_view("PRIVATE+KEY+").size());
  const std::string seed_b64 = signing.substr(signing.find('+', name_end + 1) + 1);
  REQUIRE(seed_b64.size() == 44);
  for (const std::string& secret : {signing, seed_b64, seed_hex}) {
    CHECK_FALSE(contains(r.out, secret));
    CHECK_FALSE(contains(r.err, secret));
  }
  CHECK(contains(r.err, "mac.key"));
  CHECK(contains(r.err, "before the first append"));

  // A second run refuses and changes nothing.
  const std::string before = read_bytes(dir + "/signing.key") + read_bytes(dir + "/mac.key");
  r = run_cli({"keygen", "--out", dir});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "refusing to overwrite"));
  CHECK(read_bytes(dir + "/signing.key") + read_bytes(dir + "/mac.key") == before);
  // One existing file is enough to refuse, and nothing else is created.
  const std::string dir2 = tmp / "keys2";
  REQUIRE(::mkdir(dir2.c_str(), 0700) == 0);
  write_bytes(dir2 + "/mac.key", "mine");
  CHECK(run_cli({"keygen", "--out", dir2}).status == 2);
  CHECK_FALSE(file_exists(dir2 + "/signing.key"));
  CHECK_FALSE(file_exists(dir2 + "/verifier.key"));
  CHECK(read_bytes(dir2 + "/mac.key") == "mine");

  CHECK(run_cli({"keygen"}).status == 2);
  CHECK(run_cli({"keygen", "--out", tmp / "k3", "--origin", "bad name"}).status == 2);
  CHECK(run_cli({"keygen", "--out", tmp / "no/such/parent"}).status == 2);
}

TEST_CASE("cli: append with keys, then verify with keys checks MACs, checkpoints and anchors and exits 0",
          "[cli][keys]") {
  TempDir tmp;
  make_keys(tmp);
  make_log(tmp, 23);
  CHECK(mode_of(tmp / "keys/mac.key") == 0600);  // now the writer's state
  auto anchors = fa::AnchorSet::load(tmp / "anchors.jsonl");
  REQUIRE(anchors.ok());
  CHECK(anchors->checkpoints.size() >= 4);

  Run r = run_cli({"verify", tmp / "log", "--key", tmp / "keys/verifier.key", "--mac-key",
                   tmp / "auditor-keys-mac.key", "--anchor", tmp / "anchors.jsonl"});
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.out.rfind("INTACT", 0) == 0);
  const std::string macs = report_line(r.out, "macs"), cps = report_line(r.out, "checkpoints");
  CHECK(contains(macs, "verified"));
  CHECK_FALSE(contains(macs, "NOT CHECKED"));
  CHECK(contains(cps, "checked: "));
  CHECK_FALSE(contains(cps, "NOT CHECKED"));
  CHECK(contains(report_line(r.out, "anchors"), "checkpoint anchor(s) compared"));

  SECTION("--json says the same") {
    r = run_cli({"verify", "--json", tmp / "log", "--key", tmp / "keys/verifier.key", "--mac-key",
                 tmp / "auditor-keys-mac.key"});
    CHECK(r.status == 0);
    const json j = json::parse(r.out);
    CHECK(j["macs_checked"].get<std::uint64_t>() > 0);
    CHECK(j["checkpoints_verified"].get<std::uint64_t>() > 0);
  }
  SECTION("a key the log was not signed with: findings, exit 1") {
    make_keys(tmp, "other");
    r = run_cli({"verify", tmp / "log", "--key", tmp / "other/verifier.key"});
    CHECK(r.status == 1);
    CHECK(contains(r.out, "checkpoint_signature"));
  }
  SECTION("a second run resumes with the same keys") {
    r = run_cli({"append", "--dir", tmp / "log", "--signing-key", tmp / "keys/signing.key", "--mac-key",
                 tmp / "keys/mac.key", "--anchor-file", tmp / "anchors.jsonl"},
                ndjson(23, 30));
    INFO(r.err);
    CHECK(r.status == 0);
    r = run_cli({"verify", tmp / "log", "--key", tmp / "keys/verifier.key", "--mac-key",
                 tmp / "auditor-keys-mac.key", "--anchor", tmp / "anchors.jsonl"});
    INFO(r.out);
    CHECK(r.status == 0);
  }
  SECTION("usage errors") {
    CHECK(run_cli({"append", "--dir", tmp / "l2", "--signing-key", tmp / "keys/signing.key",
                   "--signer-socket", tmp / "s.sock"})
              .status == 2);
    CHECK(run_cli({"append", "--dir", tmp / "l2", "--anchor-file", tmp / "a.jsonl"}).status == 2);
    CHECK(run_cli({"append", "--dir", tmp / "l2", "--signing-key", tmp / "missing.key"}).status == 2);
    CHECK(run_cli({"verify", tmp / "log", "--key", tmp / "missing.key"}).status == 2);
    CHECK(run_cli({"verify", tmp / "log", "--key", tmp / "keys/signing.key"}).status == 2);
  }
}

TEST_CASE("cli: verify without keys says which guarantees it could not check", "[cli][keys]") {
  TempDir tmp;
  make_keys(tmp);
  make_log(tmp, 12);
  Run r = run_cli({"verify", tmp / "log"});
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK(contains(report_line(r.out, "macs"), "NOT CHECKED"));
  CHECK(contains(report_line(r.out, "checkpoints"), "NOT CHECKED"));
  CHECK(contains(report_line(r.out, "anchors"), "NOT CHECKED"));
  CHECK(contains(report_line(r.out, "chain"), "checked"));

  // A MAC key that cannot be used is a usage error, not a silent "not checked".
  ::chmod((tmp / "auditor-keys-mac.key").c_str(), 0644);
  r = run_cli({"verify", tmp / "log", "--mac-key", tmp / "auditor-keys-mac.key"});
  INFO(r.out << r.err);
  CHECK(r.status == 2);
  CHECK(contains(r.err, "MAC key"));
}

TEST_CASE("cli: prove and check-proof round trip, and a tampered bundle exits 1", "[cli][keys]") {
  TempDir tmp;
  make_keys(tmp);
  make_log(tmp, 20);
  const std::string vk = tmp / "keys/verifier.key", bundle = tmp / "b.json";
  Run r = run_cli({"prove", "--dir", tmp / "log", "--seq", "3", "--out", bundle});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(mode_of(bundle) == 0600);

  r = run_cli({"check-proof", bundle, "--key", vk, "--mac-key", tmp / "auditor-keys-mac.key"});
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.out.rfind("VALID: record 3 of log ", 0) == 0);
  CHECK(contains(r.out, "checked      signature"));
  CHECK(contains(r.out, "checked      inclusion"));
  CHECK(contains(r.out, "checked      mac"));
  r = run_cli({"check-proof", bundle, "--key", vk});
  CHECK(r.status == 0);
  CHECK(contains(r.out, "NOT CHECKED  mac"));
  r = run_cli({"check-proof", "--json", "-", "--key", vk}, read_bytes(bundle));
  CHECK(r.status == 0);
  CHECK(json::parse(r.out)["ok"] == true);

  SECTION("tampered") {
    json b = json::parse(read_bytes(bundle));
    b["record"] = replace_once(b["record"].get<std::string>(), "req_", "REQ_");
    write_bytes(tmp / "t.json", fa::jcs::serialize(b));
    r = run_cli({"check-proof", tmp / "t.json", "--key", vk});
    CHECK(r.status == 1);
    CHECK(r.out.rfind("INVALID: inclusion_invalid", 0) == 0);
    make_keys(tmp, "other");
    r = run_cli({"check-proof", bundle, "--key", tmp / "other/verifier.key"});
    CHECK(r.status == 1);
    CHECK(contains(r.out, "untrusted_key"));
  }
  SECTION("without keys only on request") {
    r = run_cli({"check-proof", bundle});
    CHECK(r.status == 2);
    r = run_cli({"check-proof", bundle, "--no-signature-check"});
    CHECK(r.status == 0);
    CHECK(contains(r.out, "NOT CHECKED  signature"));
  }
  SECTION("consistency") {
    auto anchors = fa::AnchorSet::load(tmp / "anchors.jsonl");
    REQUIRE(anchors.ok());
    const std::string first = anchors->checkpoints.front().to_json();
    write_bytes(tmp / "old.anchor", first + "\n");
    r = run_cli({"prove", "--dir", tmp / "log", "--consistency", tmp / "old.anchor", "latest", "--out",
                 tmp / "c.json"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    r = run_cli({"check-proof", tmp / "c.json", "--key", vk});
    INFO(r.out);
    CHECK(r.status == 0);
    CHECK(contains(r.out, "VALID: the checkpoint of size"));
    r = run_cli({"prove", "--dir", tmp / "log", "--consistency", "5", "latest", "--anchor",
                 tmp / "anchors.jsonl", "--out", tmp / "c2.json"});
    INFO(r.err);
    CHECK(r.status == 0);
  }
  SECTION("errors exit 2") {
    CHECK(run_cli({"prove", "--dir", tmp / "log", "--seq", "100000", "--out", tmp / "x.json"}).status == 2);
    CHECK(run_cli({"prove", "--dir", tmp / "log", "--out", tmp / "x.json"}).status == 2);
    CHECK(run_cli({"prove", "--dir", tmp / "log", "--seq", "1"}).status == 2);
    CHECK(run_cli({"prove", "--dir", tmp / "nolog", "--seq", "1", "--out", tmp / "x.json"}).status == 2);
    CHECK(run_cli({"check-proof", tmp / "missing.json", "--key", vk}).status == 2);
    CHECK_FALSE(file_exists(tmp / "x.json"));
  }
}

TEST_CASE("cli: sign-server in the background signs for append --signer-socket, and verify trusts its key",
          "[cli][keys]") {
  TempDir tmp;
  make_keys(tmp);
  const std::string sock = tmp / "signer.sock", state = tmp / "signer-state.json";
  write_bytes(tmp / "empty", "");
  Background server;
  server.pid =
      spawn_cli({"sign-server", "--key", tmp / "keys/signing.key", "--socket", sock, "--state", state},
                tmp / "empty", tmp / "server.out", tmp / "server.err");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!file_exists(sock) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  INFO(read_bytes(tmp / "server.err"));
  REQUIRE(file_exists(sock));

  Run r = run_cli({"append", "--dir", tmp / "log", "--signer-socket", sock, "--anchor-file",
                   tmp / "anchors.jsonl", "--checkpoint-records", "4"},
                  ndjson(0, 15));
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(contains(r.err, "checkpoints: "));
  CHECK_FALSE(contains(r.err, "UNSIGNED"));
  CHECK(server.stop() == 0);
  CHECK(file_exists(state));
  CHECK_FALSE(file_exists(sock));

  r = run_cli({"verify", tmp / "log", "--key", tmp / "keys/verifier.key", "--anchor", tmp / "anchors.jsonl"});
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK(contains(report_line(r.out, "checkpoints"), "checked: "));
  CHECK_FALSE(contains(report_line(r.out, "checkpoints"), "NOT CHECKED"));

  // No server: append cannot get its checkpoints signed and refuses to start.
  r = run_cli({"append", "--dir", tmp / "log", "--signer-socket", sock}, ndjson(15, 16));
  CHECK(r.status == 2);
  CHECK(run_cli({"sign-server", "--key", tmp / "keys/signing.key", "--socket", sock}).status == 2);
}

#endif
