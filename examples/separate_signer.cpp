// SPDX-License-Identifier: Apache-2.0
// Separation of duties in one program: the checkpoint signing key lives in a separate signer process, and the
// writer (the Fooocus service) only ever sees the public verifier key. An intruder in the writer can then
// neither steal the key nor get a rewritten, truncated or forked history of the log signed (docs/log-format.md
// §10.4).
//
//   separate_signer [PARENT_DIR]     (default $TMPDIR or /tmp; a fresh directory is made inside it)
//
// In production the two halves are two services, e.g. `fooocus-audit sign-server --key signing.key --socket
// /run/fa/signer.sock --state /var/lib/fa-signer/state.json` under its own user, and the Fooocus process with
// a RemoteSigner. Exit status: 0 when the log verifies with its signed checkpoints, 1 otherwise, 2 on a setup
// error.

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "fooocus_audit/fooocus_audit.hpp"

namespace fa = fooocus_audit;

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_sigterm(int) { g_stop.store(true); }

// The signer process: it creates the key, so the key never exists in the writer's memory; it publishes only
// the verifier key (through `pipe_fd`, once the socket is listening), then signs until SIGTERM.
[[noreturn]] void run_signer(int pipe_fd, const std::string& socket_path, const std::string& state_path) {
  struct sigaction sa {};
  sa.sa_handler = on_sigterm;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  fa::Result<fa::note::SigningKey> key = fa::note::SigningKey::generate("fooocus-demo");
  fa::Result<fa::SignServer> server =
      key ? fa::SignServer::create(std::move(key.value()), state_path, socket_path) : key.status();
  const std::string published = server ? server->verifier_key().text() + "\n" : "\n";  // "\n" alone: failure
  if (::write(pipe_fd, published.data(), published.size()) < 0) ::_exit(2);
  ::close(pipe_fd);
  if (!server) {
    fmt::print(stderr, "signer: {}\n", server.status().to_string());
    ::_exit(2);
  }
  ::_exit(server->serve(g_stop) ? 0 : 2);
}

// Reads the verifier key line the signer publishes.
std::string read_line(int fd) {
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string parent = argc > 1 ? argv[1] : (tmp != nullptr && *tmp != '\0' ? tmp : "/tmp");
  if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) return 2;
  std::string base = parent + "/separate-signer.XXXXXX";
  if (::mkdtemp(base.data()) == nullptr) return 2;
  const std::string socket_path = base + "/signer.sock", log_dir = base + "/log";

  // 1. Start the signer before this process has any thread (fork copies only the calling thread).
  int fds[2];
  if (::pipe(fds) != 0) return 2;
  const pid_t signer = ::fork();
  if (signer < 0) return 2;
  if (signer == 0) {
    ::close(fds[0]);
    run_signer(fds[1], socket_path, base + "/signer-state.json");
  }
  ::close(fds[1]);
  auto stop_signer = [&] {
    ::kill(signer, SIGTERM);
    int status = 0;
    ::waitpid(signer, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  };

  // 2. The only thing the writer and the auditor learn from the signer: its public verifier key.
  const std::string published = read_line(fds[0]);
  ::close(fds[0]);
  fa::Result<fa::note::VerifierKey> verifier = fa::note::parse_verifier_key(published);
  if (!verifier) {
    fmt::print(stderr, "the signer did not start: {}\n", verifier.status().to_string());
    stop_signer();
    return 2;
  }

  // 3. The writer signs its checkpoints through the socket. RemoteSigner checks every note it gets back.
  fa::Result<std::unique_ptr<fa::RemoteSigner>> remote = fa::RemoteSigner::connect(socket_path);
  if (!remote || (*remote)->verifier_key() != verifier.value()) {
    fmt::print(stderr, "cannot reach the signer: {}\n", remote.status().to_string());
    stop_signer();
    return 2;
  }
  fa::LoggerOptions options;
  options.dir = log_dir;
  options.signer = std::move(remote.value());
  options.checkpoint_records = 5;  // small, to show several checkpoints; the default is 10,000
  options.on_error = [](const fa::Status& s) { fmt::print(stderr, "writer: {}\n", s.to_string()); };
  auto logger = fa::AuditLogger::open(options);
  if (!logger) {
    fmt::print(stderr, "{}\n", logger.status().to_string());
    stop_signer();
    return 2;
  }
  fa::Status s;
  for (int i = 0; i < 12 && s; ++i) {
    fa::GenerationEvent g;
    g.request_id = fmt::format("req_{:04}", i);
    g.user_id = "alice@enterprise.com";
    g.request.prompt_sanitized = "professional product photography, luxury watch on marble surface";
    g.processing.model_version = "juggernautXL_v8Rundiffusion";
    s = (*logger)->log(g);
  }
  if (s) s = (*logger)->close();  // writes and signs a final checkpoint
  const fa::LoggerStats stats = (*logger)->stats();
  const bool signer_ok = stop_signer();
  if (!s) {
    fmt::print(stderr, "{}\n", s.to_string());
    return 2;
  }

  // 4. The auditor: the log and the verifier key, nothing else.
  fa::VerifyOptions vo;
  vo.trusted_keys = {verifier.value()};
  fa::Result<fa::VerifySummary> report = fa::ChainVerifier(vo).verify_path(log_dir);
  if (!report) {
    fmt::print(stderr, "{}\n", report.status().to_string());
    return 2;
  }
  fmt::print("log {}: {} checkpoint(s) signed by the separate signer {}\n", log_dir, stats.checkpoints,
             verifier->text());
  fmt::print("{}", fa::format_summary_text(report.value()));
  const bool ok =
      report->intact && report->checkpoints_verified > 0 && stats.checkpoints_unsigned == 0 && signer_ok;
  return ok ? 0 : 1;
}
