// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "fooocus_audit/merkle.hpp"
#include "fooocus_audit/signed_note.hpp"
#include "fooocus_audit/signer.hpp"
#include "support/files.hpp"

namespace fa = fooocus_audit;
namespace note = fooocus_audit::note;
namespace merkle = fooocus_audit::merkle;
using fa::Code;
using fa::Hash;

namespace {

const std::string kLogId = "0123456789abcdef0123456789abcdef";
const std::string kKeyName = "audit.example/signer";

std::vector<Hash> make_leaves(std::size_t n, const std::string& tag = "record") {
  std::vector<Hash> leaves;
  for (std::size_t i = 0; i < n; ++i) leaves.push_back(merkle::leaf_hash(tag + " " + std::to_string(i)));
  return leaves;
}

/// The request a writer holding `leaves` sends to have the checkpoint at `size` signed, starting at `base`.
fa::CheckpointRequest request(const std::string& origin, const std::vector<Hash>& leaves, std::uint64_t base,
                              std::uint64_t size) {
  merkle::Frontier f;
  for (std::uint64_t i = 0; i < base; ++i) f.append(leaves[i]);
  fa::CheckpointRequest r;
  r.origin = origin;
  r.base_size = base;
  r.base_frontier = f.nodes();
  r.leaves.assign(leaves.begin() + static_cast<std::ptrdiff_t>(base), leaves.begin() + static_cast<std::ptrdiff_t>(size));
  r.size = size;
  r.root = merkle::root_of(std::vector<Hash>(leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(size)));
  return r;
}

note::SigningKey new_key(const std::string& name = kKeyName) {
  auto k = note::SigningKey::generate(name);
  REQUIRE(k.ok());
  return std::move(k).value();
}

std::string origin_of(const note::SigningKey& key) { return note::checkpoint_origin(key.name(), kLogId); }

/// Checks that a signed note is the checkpoint (origin, size, root of leaves[0..size)) under key.
void check_checkpoint_note(const std::string& signed_note, const note::VerifierKey& key, const std::string& origin,
                           const std::vector<Hash>& leaves, std::uint64_t size) {
  auto v = note::verify_note(signed_note, {key});
  REQUIRE(v.ok());
  CHECK(v->accepted());
  auto n = note::parse_note(signed_note);
  REQUIRE(n.ok());
  auto cp = note::parse_checkpoint(n->text);
  REQUIRE(cp.ok());
  CHECK(cp->origin == origin);
  CHECK(cp->size == size);
  CHECK(cp->root == merkle::root_of(std::vector<Hash>(leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(size))));
  CHECK(cp->extensions.empty());
}

/// A SignServer serving on its own thread until the object dies.
class ServerThread {
 public:
  explicit ServerThread(fa::SignServer server) : server_(std::move(server)) {
    thread_ = std::thread([this] { result_ = server_.serve(stop_); });
  }
  ~ServerThread() { (void)stop(); }
  fa::Status stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return result_;
  }
  const fa::SignServer& server() const { return server_; }

 private:
  fa::SignServer server_;
  std::atomic<bool> stop_{false};
  fa::Status result_;
  std::thread thread_;
};

std::unique_ptr<ServerThread> start_server(note::SigningKey key, const std::string& state_path,
                                           const std::string& socket_path) {
  auto server = fa::SignServer::create(std::move(key), state_path, socket_path);
  REQUIRE(server.ok());
  return std::make_unique<ServerThread>(std::move(server).value());
}

std::unique_ptr<fa::RemoteSigner> connect(const std::string& socket_path) {
  auto c = fa::RemoteSigner::connect(socket_path, std::chrono::seconds(10));
  REQUIRE(c.ok());
  return std::move(c).value();
}

// A raw client: what a confused or hostile local process would send.
int raw_connect(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

void send_raw(int fd, const std::string& bytes) {
  REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

std::string frame(const std::string& payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  std::string out = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                     static_cast<char>(n)};
  return out + payload;
}

/// Reads exactly n bytes within 10 s; returns fewer at end of stream.
std::string read_n(int fd, std::size_t n) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
    if (r <= 0) break;
    out.append(buf, static_cast<std::size_t>(r));
  }
  return out;
}

nlohmann::json read_reply(int fd) {
  const std::string header = read_n(fd, 4);
  REQUIRE(header.size() == 4);
  const auto* b = reinterpret_cast<const unsigned char*>(header.data());
  const std::size_t n = (std::size_t{b[0]} << 24) | (std::size_t{b[1]} << 16) | (std::size_t{b[2]} << 8) | b[3];
  const std::string body = read_n(fd, n);
  REQUIRE(body.size() == n);
  return nlohmann::json::parse(body);
}

}  // namespace

TEST_CASE("signer: SignerState accepts extensions and re-signing, refuses rollback, fork, gap and a wrong root") {
  const std::string origin = "audit.example/signer/" + kLogId;
  const auto leaves = make_leaves(40);
  fa::SignerState state;
  CHECK(state.find(origin) == nullptr);
  REQUIRE(state.check_and_advance(request(origin, leaves, 0, 5)).ok());  // first use
  REQUIRE(state.check_and_advance(request(origin, leaves, 5, 9)).ok());
  REQUIRE(state.check_and_advance(request(origin, leaves, 3, 12)).ok());  // starting before the last size
  REQUIRE(state.check_and_advance(request(origin, leaves, 12, 12)).ok());  // the same checkpoint again
  REQUIRE(state.check_and_advance(request(origin, leaves, 0, 12)).ok());
  REQUIRE(state.find(origin) != nullptr);
  CHECK(state.find(origin)->size == 12);

  SECTION("rollback") {
    const fa::Status s = state.check_and_advance(request(origin, leaves, 0, 10));
    CHECK(s.code() == Code::corruption);
    CHECK_THAT(s.message(), Catch::Contains("10") && Catch::Contains("12") && Catch::Contains("rollback"));
  }
  SECTION("fork at a larger size") {
    auto forked = leaves;
    forked[7] = merkle::leaf_hash("rewritten record 7");
    const fa::Status s = state.check_and_advance(request(origin, forked, 0, 20));
    CHECK(s.code() == Code::corruption);
    CHECK_THAT(s.message(), Catch::Contains("fork") && Catch::Contains("12") && Catch::Contains("20"));
  }
  SECTION("fork at the same size") {
    auto forked = leaves;
    forked[11] = merkle::leaf_hash("rewritten record 11");
    CHECK(state.check_and_advance(request(origin, forked, 0, 12)).code() == Code::corruption);
    CHECK(state.check_and_advance(request(origin, forked, 12, 12)).code() == Code::corruption);
  }
  SECTION("fork hidden in the base frontier") {
    auto forked = leaves;
    forked[2] = merkle::leaf_hash("rewritten record 2");
    CHECK(state.check_and_advance(request(origin, forked, 10, 16)).code() == Code::corruption);
  }
  SECTION("gap: leaves after the last signed size are missing") {
    const fa::Status s = state.check_and_advance(request(origin, leaves, 13, 20));
    CHECK(s.code() == Code::invalid_argument);
    CHECK_THAT(s.message(), Catch::Contains("gap") && Catch::Contains("13") && Catch::Contains("12"));
  }
  SECTION("wrong root") {
    auto r = request(origin, leaves, 12, 20);
    r.root[0] ^= 1;
    const fa::Status s = state.check_and_advance(r);
    CHECK(s.code() == Code::invalid_argument);
    CHECK_THAT(s.message(), Catch::Contains("root does not match leaves"));
  }
  SECTION("malformed requests") {
    auto r = request(origin, leaves, 12, 20);
    r.leaves.pop_back();
    CHECK(state.check_and_advance(r).code() == Code::invalid_argument);
    r = request(origin, leaves, 12, 20);
    r.base_frontier.push_back(leaves[0]);
    CHECK(state.check_and_advance(r).code() == Code::invalid_argument);
    r = request(origin, leaves, 12, 20);
    r.size = 11;
    CHECK(state.check_and_advance(r).code() == Code::invalid_argument);
    for (const std::string& bad_origin : {std::string(), std::string("a\nb"), std::string("\xff"), std::string("a\tb")}) {
      r = request(bad_origin, leaves, 0, 3);
      CHECK(state.check_and_advance(r).code() == Code::invalid_argument);
    }
  }
  // Whatever was refused, the state still remembers size 12, and the honest extension goes on.
  CHECK(state.find(origin)->size == 12);
  REQUIRE(state.check_and_advance(request(origin, leaves, 12, 40)).ok());
  CHECK(state.find(origin)->size == 40);
  // Another origin is independent (first use).
  CHECK(state.check_and_advance(request("other.example/x", make_leaves(3, "other"), 0, 3)).ok());
}

TEST_CASE("signer: SignerState saves atomically with mode 0600 and loads strictly") {
  fa_test::TempDir dir("fa_signer");
  const std::string path = dir / "state.json";
  const auto leaves = make_leaves(11);
  fa::SignerState state;
  REQUIRE(state.check_and_advance(request("a.example/x/" + kLogId, leaves, 0, 11)).ok());
  REQUIRE(state.check_and_advance(request("b.example/ü", leaves, 0, 4)).ok());
  CHECK(fa::SignerState::load(path).status().code() == Code::not_found);
  REQUIRE(state.save(path).ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = fa::SignerState::load(path);
  REQUIRE(loaded.ok());
  CHECK(loaded->to_json() == state.to_json());
  REQUIRE(loaded->find("a.example/x/" + kLogId) != nullptr);
  CHECK(loaded->find("a.example/x/" + kLogId)->size == 11);
  CHECK(loaded->find("a.example/x/" + kLogId)->frontier.size() == 3);
  REQUIRE(state.save(path).ok());  // replaces
  CHECK(fa::SignerState::parse(fa_test::read_bytes(path)).ok());

  const std::string h = std::string(64, 'a');
  const std::vector<std::string> bad_states = {
           std::string("[]"), std::string("{}"), std::string(R"({"v":2,"origins":{}})"),
           std::string(R"({"v":1,"origins":{},"x":1})"), std::string(R"({"v":1,"origins":[]})"),
           R"({"v":1,"origins":{"o":{"size":1,"frontier":[]}}})",                  // wrong frontier count
           R"({"v":1,"origins":{"o":{"size":1,"frontier":[")" + h + R"("],"y":0}}})",  // extra member
           R"({"v":1,"origins":{"o":{"size":-1,"frontier":[]}}})",
           R"({"v":1,"origins":{"o":{"size":1,"frontier":["ABC"]}}})",
           R"({"v":1,"origins":{"":{"size":0,"frontier":[]}}})", std::string("not json")};
  for (const std::string& bad : bad_states)
    CHECK(fa::SignerState::parse(bad).status().code() == Code::invalid_argument);
  CHECK(fa::SignerState::parse(R"({"v":1,"origins":{"o":{"size":1,"frontier":[")" + h + R"("]}}})").ok());
}

TEST_CASE("signer: LocalSigner signs checkpoints that verify, keeps its policy, and persists its state") {
  fa_test::TempDir dir("fa_signer");
  note::SigningKey key = new_key();
  const note::VerifierKey vk = key.verifier();
  auto seed_text = key.text();
  const std::string origin = origin_of(key);
  const auto leaves = make_leaves(30);
  {
    auto opened = fa::LocalSigner::open(std::move(key), dir / "state.json");
    REQUIRE(opened.ok());
    fa::CheckpointSigner& signer = *opened.value();
    CHECK(signer.verifier_key() == vk);
    for (std::uint64_t size : {1, 2, 3, 8, 13}) {
      auto n = signer.sign_checkpoint(request(origin, leaves, 0, size));
      REQUIRE(n.ok());
      check_checkpoint_note(n.value(), vk, origin, leaves, size);
    }
    CHECK(signer.sign_checkpoint(request(origin, leaves, 0, 0)).status().code() == Code::corruption);
    // Only "<key name>/<log_id>" origins.
    for (const std::string& other : {std::string("evil.example/" + kLogId), kKeyName + "/0123",
                                     kKeyName + "/" + kLogId + "x", kKeyName + kLogId, kKeyName + "/" + std::string(32, 'A')}) {
      auto r = signer.sign_checkpoint(request(other, leaves, 0, 3));
      CHECK(r.status().code() == Code::invalid_argument);
    }
  }
  // A new signer over the same state file remembers size 13.
  auto again = fa::LocalSigner::open(note::SigningKey::parse(seed_text).value(), dir / "state.json");
  fa::detail::secure_wipe(seed_text.data(), seed_text.size());
  REQUIRE(again.ok());
  CHECK(again.value()->state().find(origin)->size == 13);
  CHECK(again.value()->sign_checkpoint(request(origin, leaves, 0, 12)).status().code() == Code::corruption);
  CHECK(again.value()->sign_checkpoint(request(origin, leaves, 13, 20)).ok());

  // In memory only.
  fa::LocalSigner mem(new_key());
  CHECK(mem.sign_checkpoint(request("other.example/" + kLogId, leaves, 0, 3)).status().code() == Code::invalid_argument);
  CHECK(mem.sign_checkpoint(request(note::checkpoint_origin(kKeyName, kLogId), leaves, 0, 3)).ok());

  fa_test::write_bytes(dir / "broken.json", "{");
  CHECK(fa::LocalSigner::open(new_key(), dir / "broken.json").status().code() == Code::invalid_argument);
}

TEST_CASE("signer: RemoteSigner and a SignServer thread sign a sequence and refuse a fork and a rollback") {
  fa_test::TempDir dir("fa_signer");
  note::SigningKey key = new_key();
  const note::VerifierKey vk = key.verifier();
  const std::string origin = origin_of(key);
  const std::string sock = dir / "signer.sock";
  auto server = start_server(std::move(key), dir / "state.json", sock);
  struct stat st {};
  REQUIRE(::lstat(sock.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);

  auto remote = connect(sock);
  CHECK(remote->verifier_key() == vk);
  const auto leaves = make_leaves(64);
  std::uint64_t last = 0;
  for (std::uint64_t size : {1, 4, 5, 16, 17, 33, 64}) {
    auto n = remote->sign_checkpoint(request(origin, leaves, last, size));
    REQUIRE(n.ok());
    check_checkpoint_note(n.value(), vk, origin, leaves, size);
    last = size;
  }
  auto forked = leaves;
  forked[40] = merkle::leaf_hash("rewritten");
  auto fork = remote->sign_checkpoint(request(origin, forked, 32, 64));
  CHECK(fork.status().code() == Code::corruption);
  CHECK_THAT(fork.status().message(), Catch::StartsWith("signer: ") && Catch::Contains("fork"));
  CHECK(remote->sign_checkpoint(request(origin, leaves, 0, 63)).status().code() == Code::corruption);
  auto wrong_root = request(origin, leaves, 64, 64);
  wrong_root.root[5] ^= 0x10;
  CHECK(remote->sign_checkpoint(wrong_root).status().code() == Code::invalid_argument);
  CHECK(remote->sign_checkpoint(request("evil.example/" + kLogId, leaves, 0, 1)).status().code() ==
        Code::invalid_argument);
  // Still serving after the refusals; a second client at the same time.
  auto second = connect(sock);
  CHECK(second->sign_checkpoint(request(origin, leaves, 64, 64)).ok());
  CHECK(remote->sign_checkpoint(request(origin, leaves, 60, 64)).ok());
  CHECK(server->stop().ok());
  CHECK(server->server().state().find(origin)->size == 64);
}

TEST_CASE("signer: SignServer answers malformed requests with errors and keeps serving") {
  fa_test::TempDir dir("fa_signer");
  note::SigningKey key = new_key();
  const std::string origin = origin_of(key);
  const std::string sock = dir / "signer.sock";
  auto server = start_server(std::move(key), "", sock);
  const auto leaves = make_leaves(8);

  const int fd = raw_connect(sock);
  const std::string h = std::string(64, '0');
  const std::vector<std::string> bad_requests = {
      "not json",
      "",
      "[1,2]",
      R"({"op":42})",
      R"({"op":"launch"})",
      R"({"op":"hello","extra":1})",
      R"({"op":"sign"})",
      R"({"op":"sign","origin":"o","base_size":0,"base_frontier":[],"leaves":[],"size":0,"root":"zz"})",
      R"({"op":"sign","origin":"o","base_size":-1,"base_frontier":[],"leaves":[],"size":0,"root":")" + h + R"("})",
      R"({"op":"sign","origin":"o","base_size":0,"base_frontier":[],"leaves":["x"],"size":1,"root":")" + h + R"("})",
      R"({"op":"sign","origin":1,"base_size":0,"base_frontier":[],"leaves":[],"size":0,"root":")" + h + R"("})",
      R"({"op":"sign","origin":"o","base_size":0,"base_frontier":[],"leaves":[],"size":1.5,"root":")" + h + R"("})",
      "{\"op\":\"sign\",\"origin\":\"\xff\",\"base_size\":0}",
  };
  for (const std::string& req : bad_requests) {
    send_raw(fd, frame(req));
    const nlohmann::json reply = read_reply(fd);
    CHECK(reply["ok"] == false);
    CHECK(reply["code"] == "invalid_argument");
    CHECK(reply["message"].is_string());
  }
  // A well-formed request on the same connection still works.
  send_raw(fd, frame(R"({"op":"hello"})"));
  CHECK(read_reply(fd)["ok"] == true);
  // Two requests in one write, answered in order.
  send_raw(fd, frame(R"({"op":"hello"})") + frame("{"));
  CHECK(read_reply(fd)["ok"] == true);
  CHECK(read_reply(fd)["ok"] == false);
  // A length over 64 MiB cannot be skipped: an error reply, then the server hangs up.
  send_raw(fd, std::string("\xff\xff\xff\xff", 4) + "garbage");
  const nlohmann::json too_large = read_reply(fd);
  CHECK(too_large["code"] == "too_large");
  CHECK(read_n(fd, 1).empty());
  ::close(fd);

  // Half a frame, then the client vanishes.
  const int fd2 = raw_connect(sock);
  send_raw(fd2, std::string("\x00\x00\x01\x00{\"op\"", 9));
  ::close(fd2);
  // Random bytes.
  const int fd3 = raw_connect(sock);
  send_raw(fd3, std::string("\x00\x00\x00\x05\x01\x02\x03\x04\x05", 9));
  CHECK(read_reply(fd3)["ok"] == false);
  ::close(fd3);

  auto remote = connect(sock);
  CHECK(remote->sign_checkpoint(request(origin, leaves, 0, 8)).ok());
  CHECK(server->stop().ok());
}

TEST_CASE("signer: the state survives a SignServer restart and RemoteSigner reconnects once") {
  fa_test::TempDir dir("fa_signer");
  note::SigningKey key = new_key();
  std::string key_text = key.text();
  const note::VerifierKey vk = key.verifier();
  const std::string origin = origin_of(key);
  const std::string sock = dir / "signer.sock", state = dir / "state.json";
  const auto leaves = make_leaves(20);

  auto server = start_server(std::move(key), state, sock);
  auto remote = connect(sock);
  REQUIRE(remote->sign_checkpoint(request(origin, leaves, 0, 10)).ok());
  CHECK(server->stop().ok());
  server.reset();  // closes the client's connection and removes the socket

  server = start_server(note::SigningKey::parse(key_text).value(), state, sock);
  // The old connection is gone: the client reconnects and repeats the request.
  auto n = remote->sign_checkpoint(request(origin, leaves, 10, 15));
  REQUIRE(n.ok());
  check_checkpoint_note(n.value(), vk, origin, leaves, 15);
  // The restarted server remembers what the first one signed.
  CHECK(remote->sign_checkpoint(request(origin, leaves, 0, 9)).status().code() == Code::corruption);
  CHECK(server->stop().ok());
  server.reset();

  // A server with another key behind the same socket: the client refuses it.
  server = start_server(new_key(), "", sock);
  auto other = remote->sign_checkpoint(request(origin, leaves, 15, 20));
  CHECK(other.status().code() == Code::corruption);
  CHECK_THAT(other.status().message(), Catch::Contains("now has the key"));
  server.reset();
  // No server at all.
  CHECK_FALSE(remote->sign_checkpoint(request(origin, leaves, 15, 20)).ok());
  CHECK_FALSE(fa::RemoteSigner::connect(sock, std::chrono::seconds(1)).ok());
  fa::detail::secure_wipe(key_text.data(), key_text.size());
}

TEST_CASE("signer: a SignServer in a forked child process signs for a RemoteSigner in the parent") {
  fa_test::TempDir dir("fa_signer");
  note::SigningKey key = new_key();
  const note::VerifierKey vk = key.verifier();
  const std::string origin = origin_of(key);
  const std::string sock = dir / "signer.sock", state = dir / "state.json";

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child: only async-signal-safe exits, never back into Catch2.
    auto server = fa::SignServer::create(std::move(key), state, sock);
    if (!server.ok()) ::_exit(3);
    std::atomic<bool> stop{false};
    ::_exit(server.value().serve(stop).ok() ? 0 : 4);
  }
  key = new_key("parent.example/unused");  // the parent drops its copy of the signing key

  std::unique_ptr<fa::RemoteSigner> remote;
  for (int i = 0; i < 200 && !remote; ++i) {
    auto c = fa::RemoteSigner::connect(sock, std::chrono::seconds(10));
    if (c.ok()) {
      remote = std::move(c).value();
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  REQUIRE(remote);
  CHECK(remote->verifier_key() == vk);
  const auto leaves = make_leaves(50);
  std::uint64_t last = 0;
  for (std::uint64_t size : {3, 7, 8, 25, 50}) {
    auto n = remote->sign_checkpoint(request(origin, leaves, last, size));
    REQUIRE(n.ok());
    check_checkpoint_note(n.value(), vk, origin, leaves, size);
    last = size;
  }
  auto forked = leaves;
  forked[0] = merkle::leaf_hash("rewritten");
  CHECK(remote->sign_checkpoint(request(origin, forked, 0, 50)).status().code() == Code::corruption);

  ::kill(pid, SIGTERM);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  // The state file the child wrote holds size 50.
  auto saved = fa::SignerState::load(state);
  REQUIRE(saved.ok());
  CHECK(saved->find(origin)->size == 50);
}

TEST_CASE("signer: SignServer::create guards its socket path") {
  fa_test::TempDir dir("fa_signer");
  const std::string file = dir / "not-a-socket";
  fa_test::write_bytes(file, "precious");
  auto refused = fa::SignServer::create(new_key(), "", file);
  CHECK(refused.status().code() == Code::invalid_argument);
  CHECK(fa_test::read_bytes(file) == "precious");

  const std::string sock = dir / "signer.sock";
  {
    auto live = fa::SignServer::create(new_key(), "", sock);
    REQUIRE(live.ok());
    CHECK(fa::SignServer::create(new_key(), "", sock).status().code() == Code::locked);
  }
  CHECK_FALSE(fa_test::file_exists(sock));  // removed by the server that made it

  // A stale socket (its server died without cleaning up) is replaced.
  {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, sock.data(), sock.size());
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    ::close(fd);
  }
  auto replaced = fa::SignServer::create(new_key(), "", sock);
  CHECK(replaced.ok());

  CHECK(fa::SignServer::create(new_key(), "", dir / std::string(120, 'x')).status().code() == Code::invalid_argument);
  fa_test::write_bytes(dir / "bad-state.json", "{}");
  CHECK(fa::SignServer::create(new_key(), dir / "bad-state.json", dir / "s2.sock").status().code() ==
        Code::invalid_argument);
}

TEST_CASE("signer: RemoteSigner times out on a server that does not answer") {
  fa_test::TempDir dir("fa_signer");
  const std::string sock = dir / "signer.sock";
  auto server = fa::SignServer::create(new_key(), "", sock);  // listening, but nobody calls serve()
  REQUIRE(server.ok());
  const auto t0 = std::chrono::steady_clock::now();
  auto c = fa::RemoteSigner::connect(sock, std::chrono::milliseconds(300));
  CHECK(c.status().code() == Code::io_error);
  CHECK_THAT(c.status().message(), Catch::Contains("timed out"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
}
