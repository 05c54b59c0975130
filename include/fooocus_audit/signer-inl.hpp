// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/signer.hpp"
#endif

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <exception>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fooocus_audit/detail/segment_store.hpp"
#include "fooocus_audit/merkle.hpp"
#include "fooocus_audit/record.hpp"

namespace fooocus_audit {

namespace signer_impl {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxClients = 16;
constexpr std::size_t kMaxFrontierNodes = 64;
constexpr int kStopPollMs = 100;
constexpr std::chrono::seconds kServerReplyTimeout{30};

inline Status bad(std::string message) { return {Code::invalid_argument, std::move(message)}; }

inline std::size_t popcount(std::uint64_t x) noexcept {
  std::size_t c = 0;
  for (; x != 0; x &= x - 1) ++c;
  return c;
}

/// One line of a note text: what a checkpoint origin can be.
inline bool valid_origin(std::string_view origin) {
  return !origin.empty() && origin.size() < note::kMaxNoteBytes && origin.find('\n') == std::string_view::npos &&
         note::valid_note_text(std::string(origin) + "\n");
}

/// The signers' policy: a key signs only "<its name>/<log_id>".
inline Status check_origin_of_key(const note::VerifierKey& key, std::string_view origin) {
  const std::string_view name = key.name;
  if (origin.size() == name.size() + 1 + record::kLogIdChars && origin.substr(0, name.size()) == name &&
      origin[name.size()] == '/' && record::valid_log_id(origin.substr(name.size() + 1)))
    return {};
  return bad(fmt::format("origin is not \"{}/<log_id>\" (log_id: 32 lowercase hex); this signer signs only "
                         "checkpoints of its own logs",
                         name));
}

/// JSON text of a value that may carry invalid UTF-8 from the wire: never throws on it.
inline std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline std::string error_reply(const Status& s) {
  nlohmann::json j = nlohmann::json::object();
  j["ok"] = false;
  j["code"] = std::string(code_name(s.code()));
  j["message"] = s.message();
  return dump(j);
}

inline std::optional<Code> code_from_name(std::string_view name) {
  for (int i = 1; i <= static_cast<int>(Code::internal); ++i)
    if (code_name(static_cast<Code>(i)) == name) return static_cast<Code>(i);
  return std::nullopt;
}

/// The checkpoint of a request, signed, after the policy checks; the state advances (and is saved when
/// state_path is set) before the signature is made, so a signature never exists that the state does not cover.
inline Result<std::string> sign_request(const note::SigningKey& key, SignerState& state, const std::string& state_path,
                                        const CheckpointRequest& request) {
  Status s = check_origin_of_key(key.verifier(), request.origin);
  if (!s) return s;
  SignerState next = state;
  s = next.check_and_advance(request);
  if (!s) return s;
  if (!state_path.empty()) {
    s = next.save(state_path);
    if (!s) return s;
  }
  state = std::move(next);
  note::Checkpoint c;
  c.origin = request.origin;
  c.size = request.size;
  c.root = request.root;
  return note::sign_note(note::format_checkpoint(c), key);
}

// ---- socket I/O with a deadline --------------------------------------------------------------------------------

inline int remaining_ms(Clock::time_point deadline) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms <= 0 ? 0 : static_cast<int>(std::min<long long>(ms, INT_MAX));
}

/// Waits until fd is ready for `events` (or has an error/hang-up the next call will report) before deadline.
inline Status wait_ready(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc > 0) return {};
    if (rc == 0) return {Code::io_error, "signer socket: timed out"};
    if (errno != EINTR) return detail::errno_status("poll signer socket", errno);
  }
}

inline bool is_broken(int err) noexcept {
  return err == EPIPE || err == ECONNRESET || err == ENOTCONN || err == ECONNABORTED;
}

inline Status send_all(int fd, const char* data, std::size_t n, Clock::time_point deadline, bool* broken) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      data += w;
      n -= static_cast<std::size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      Status s = wait_ready(fd, POLLOUT, deadline);
      if (!s) return s;
      continue;
    }
    if (is_broken(errno)) *broken = true;
    return detail::errno_status("send on signer socket", errno);
  }
  return {};
}

inline Status recv_all(int fd, char* data, std::size_t n, Clock::time_point deadline, bool* broken) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, data, n, MSG_DONTWAIT);
    if (r > 0) {
      data += r;
      n -= static_cast<std::size_t>(r);
      continue;
    }
    if (r == 0) {
      *broken = true;
      return {Code::io_error, "signer socket: connection closed by the peer"};
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      Status s = wait_ready(fd, POLLIN, deadline);
      if (!s) return s;
      continue;
    }
    if (is_broken(errno)) *broken = true;
    return detail::errno_status("recv on signer socket", errno);
  }
  return {};
}

inline void put_be32(std::uint32_t v, char* out) noexcept {
  out[0] = static_cast<char>(v >> 24);
  out[1] = static_cast<char>(v >> 16);
  out[2] = static_cast<char>(v >> 8);
  out[3] = static_cast<char>(v);
}

inline std::uint32_t get_be32(const char* p) noexcept {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
}

inline Status send_frame(int fd, std::string_view payload, Clock::time_point deadline, bool* broken) {
  if (payload.size() > kSignerMaxMessageBytes)
    return {Code::too_large, fmt::format("signer message of {} bytes exceeds {}", payload.size(), kSignerMaxMessageBytes)};
  char header[4];
  put_be32(static_cast<std::uint32_t>(payload.size()), header);
  Status s = send_all(fd, header, sizeof header, deadline, broken);
  if (s) s = send_all(fd, payload.data(), payload.size(), deadline, broken);
  return s;
}

inline Result<std::string> recv_frame(int fd, Clock::time_point deadline, bool* broken) {
  char header[4];
  Status s = recv_all(fd, header, sizeof header, deadline, broken);
  if (!s) return s;
  const std::uint32_t n = get_be32(header);
  if (n == 0 || n > kSignerMaxMessageBytes)
    return Status(Code::io_error, fmt::format("signer socket: message length {} outside 1..{}", n, kSignerMaxMessageBytes));
  std::string payload(n, '\0');
  s = recv_all(fd, payload.data(), n, deadline, broken);
  if (!s) return s;
  return payload;
}

inline Status fill_sockaddr(const std::string& path, sockaddr_un* addr) {
  if (path.empty() || path.size() >= sizeof addr->sun_path)
    return bad(fmt::format("socket path must have 1..{} bytes: {}", sizeof addr->sun_path - 1, path));
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return {};
}

// ---- JSON fields -------------------------------------------------------------------------------------------------

inline Status only_members(const nlohmann::json& j, std::initializer_list<std::string_view> allowed, std::string_view what) {
  for (const auto& item : j.items())
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end())
      return bad(fmt::format("{}: unexpected member {}", what, dump(item.key())));
  for (const std::string_view key : allowed)
    if (!j.contains(key)) return bad(fmt::format("{}: missing member \"{}\"", what, key));
  return {};
}

inline Status get_u64(const nlohmann::json& j, const char* key, std::uint64_t* out) {
  const auto& v = j.at(key);
  if (!v.is_number_unsigned()) return bad(fmt::format("{} must be a non-negative integer", key));
  *out = v.get<std::uint64_t>();
  return {};
}

inline Status get_hash(const nlohmann::json& v, const char* what, Hash* out) {
  if (!v.is_string() || !detail::parse_hash_hex(v.get_ref<const std::string&>(), out))
    return bad(fmt::format("{} must be 64 lowercase hex characters", what));
  return {};
}

inline Status get_hashes(const nlohmann::json& j, const char* key, std::size_t max, std::vector<Hash>* out) {
  const auto& v = j.at(key);
  if (!v.is_array()) return bad(fmt::format("{} must be an array", key));
  if (v.size() > max) return bad(fmt::format("{} has more than {} entries", key, max));
  out->resize(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    Status s = get_hash(v[i], key, &(*out)[i]);
    if (!s) return s;
  }
  return {};
}

inline void append_hashes(std::string& out, const std::vector<Hash>& hashes) {
  out.push_back('[');
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    detail::append_hex(out, hashes[i].data(), hashes[i].size());
    out.push_back('"');
  }
  out.push_back(']');
}

/// The sign request as JSON text, written directly: a request may carry a million hashes.
inline std::string sign_request_json(const CheckpointRequest& r) {
  std::string out;
  out.reserve(160 + r.origin.size() * 2 + (r.base_frontier.size() + r.leaves.size()) * 67);
  out.append(R"({"op":"sign","origin":)").append(dump(r.origin));
  out.append(R"(,"base_size":)").append(std::to_string(r.base_size));
  out.append(R"(,"base_frontier":)");
  append_hashes(out, r.base_frontier);
  out.append(R"(,"leaves":)");
  append_hashes(out, r.leaves);
  out.append(R"(,"size":)").append(std::to_string(r.size));
  out.append(R"(,"root":")").append(detail::to_hex(r.root)).append("\"}");
  return out;
}

/// Parses a reply: an object with a boolean "ok". For ok:false, the server's error as a Status
/// ("signer: ..."); for ok:true, the object, whose members the caller checks.
inline Result<nlohmann::json> parse_reply(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("ok") || !j["ok"].is_boolean())
    return Status(Code::corruption, "signer reply: not a JSON object with a boolean \"ok\"");
  if (j["ok"].get<bool>()) return j;
  Status s = only_members(j, {"ok", "code", "message"}, "signer reply");
  if (!s || !j["code"].is_string() || !j["message"].is_string())
    return Status(Code::corruption, "signer reply: an error without string \"code\" and \"message\"");
  const std::optional<Code> code = code_from_name(j["code"].get<std::string>());
  if (!code) return Status(Code::corruption, "signer reply: unknown error code");
  return Status(*code, "signer: " + j["message"].get<std::string>());
}

}  // namespace signer_impl

// ------------------------------------------------------------------------------------------------------------
// CheckpointSigner, SignerState

FA_INLINE CheckpointSigner::~CheckpointSigner() = default;

FA_INLINE const SignerState::Entry* SignerState::find(std::string_view origin) const {
  const auto it = entries_.find(origin);
  return it == entries_.end() ? nullptr : &it->second;
}

FA_INLINE Status SignerState::check_and_advance(const CheckpointRequest& r) {
  using signer_impl::bad;
  if (!signer_impl::valid_origin(r.origin))
    return bad("origin must be one line of valid UTF-8 without control characters");
  if (r.size < r.base_size) return bad(fmt::format("size {} is smaller than base_size {}", r.size, r.base_size));
  if (r.leaves.size() != r.size - r.base_size)
    return bad(fmt::format("{} leaves given for the sizes {} .. {} ({} expected)", r.leaves.size(), r.base_size,
                           r.size, r.size - r.base_size));
  if (r.base_frontier.size() != signer_impl::popcount(r.base_size))
    return bad(fmt::format("base_frontier has {} hashes; a frontier at size {} has {}", r.base_frontier.size(),
                           r.base_size, signer_impl::popcount(r.base_size)));
  try {
    const Entry* last = find(r.origin);
    merkle::Frontier f = merkle::Frontier::from_nodes(r.base_size, r.base_frontier);
    std::optional<Hash> root_at_last;
    if (last != nullptr && f.size() == last->size) root_at_last = f.root();
    for (const Hash& leaf : r.leaves) {
      f.append(leaf);
      if (last != nullptr && f.size() == last->size) root_at_last = f.root();
    }
    if (f.root() != r.root)
      return bad(fmt::format("root does not match leaves: the tree of size {} has root {}, the request claims {}",
                             r.size, detail::to_hex(f.root()), detail::to_hex(r.root)));
    if (last != nullptr) {
      if (r.size < last->size)
        return Status(Code::corruption,
                      fmt::format("rollback refused: size {} is smaller than the last signed size {} of {}", r.size,
                                  last->size, r.origin));
      if (r.base_size > last->size)
        return bad(fmt::format("gap: the request starts at size {} but the last signed checkpoint of {} has size {}; "
                               "send the leaves from {} on",
                               r.base_size, r.origin, last->size, last->size));
      const Hash signed_root = merkle::Frontier::from_nodes(last->size, last->frontier).root();
      if (!root_at_last || *root_at_last != signed_root)
        return Status(Code::corruption,
                      fmt::format("fork refused: at size {} the requested tree (size {}) has root {}, but the "
                                  "checkpoint signed at size {} has root {}",
                                  last->size, r.size, root_at_last ? detail::to_hex(*root_at_last) : "?",
                                  last->size, detail::to_hex(signed_root)));
    }
    entries_[r.origin] = Entry{r.size, f.nodes()};
  } catch (const std::exception& e) {
    return Status(Code::internal, e.what());
  }
  return {};
}

FA_INLINE std::string SignerState::to_json() const {
  nlohmann::json origins = nlohmann::json::object();
  for (const auto& [origin, entry] : entries_) {
    nlohmann::json frontier = nlohmann::json::array();
    for (const Hash& h : entry.frontier) frontier.push_back(detail::to_hex(h));
    origins[origin] = {{"frontier", std::move(frontier)}, {"size", entry.size}};
  }
  const nlohmann::json j = {{"origins", std::move(origins)}, {"v", 1}};
  return signer_impl::dump(j);
}

FA_INLINE Result<SignerState> SignerState::parse(std::string_view json) {
  using signer_impl::bad;
  try {
    const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return bad("signer state: not a JSON object");
    Status s = signer_impl::only_members(j, {"origins", "v"}, "signer state");
    if (!s) return s;
    if (!j["v"].is_number_unsigned() || j["v"].get<std::uint64_t>() != 1) return bad("signer state: v must be 1");
    if (!j["origins"].is_object()) return bad("signer state: origins must be an object");
    SignerState state;
    for (const auto& item : j["origins"].items()) {
      const std::string& origin = item.key();
      if (!signer_impl::valid_origin(origin)) return bad("signer state: an origin is not one line of valid UTF-8");
      const nlohmann::json& e = item.value();
      if (!e.is_object()) return bad(fmt::format("signer state: {}: not an object", origin));
      s = signer_impl::only_members(e, {"frontier", "size"}, "signer state: " + origin);
      if (!s) return s;
      Entry entry;
      s = signer_impl::get_u64(e, "size", &entry.size);
      if (s) s = signer_impl::get_hashes(e, "frontier", signer_impl::kMaxFrontierNodes, &entry.frontier);
      if (!s) return bad(fmt::format("signer state: {}: {}", origin, s.message()));
      if (entry.frontier.size() != signer_impl::popcount(entry.size))
        return bad(fmt::format("signer state: {}: {} frontier hashes for size {}", origin, entry.frontier.size(),
                               entry.size));
      state.entries_.emplace(origin, std::move(entry));
    }
    return state;
  } catch (const std::exception& e) {
    return Status(Code::internal, e.what());
  }
}

FA_INLINE Result<SignerState> SignerState::load(const std::string& path) {
  return detail::parse_file<SignerState>(path, parse);
}

FA_INLINE Status SignerState::save(const std::string& path) const {
  return detail::write_file_atomic(path, to_json() + "\n", 0600);
}

// ------------------------------------------------------------------------------------------------------------
// LocalSigner

FA_INLINE LocalSigner::LocalSigner(note::SigningKey key, SignerState state)
    : key_(std::move(key)), state_(std::move(state)) {}

FA_INLINE Result<std::unique_ptr<LocalSigner>> LocalSigner::open(note::SigningKey key, std::string state_path) {
  if (state_path.empty()) return Status(Code::invalid_argument, "LocalSigner::open: empty state path");
  Result<SignerState> state = SignerState::load(state_path);
  if (!state && state.status().code() != Code::not_found) return state.status();
  auto signer = std::make_unique<LocalSigner>(std::move(key), state ? std::move(state).value() : SignerState());
  signer->state_path_ = std::move(state_path);
  return signer;
}

FA_INLINE Result<std::string> LocalSigner::sign_checkpoint(const CheckpointRequest& request) {
  return signer_impl::sign_request(key_, state_, state_path_, request);
}

// ------------------------------------------------------------------------------------------------------------
// RemoteSigner

FA_INLINE Result<std::unique_ptr<RemoteSigner>> RemoteSigner::connect(const std::string& socket_path,
                                                                     std::chrono::milliseconds timeout) {
  std::unique_ptr<RemoteSigner> signer(new RemoteSigner());
  signer->socket_path_ = socket_path;
  signer->timeout_ = timeout;
  Status s = signer->open_connection();
  if (!s) return s;
  return signer;
}

FA_INLINE RemoteSigner::~RemoteSigner() { close_connection(); }

FA_INLINE void RemoteSigner::close_connection() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

FA_INLINE Status RemoteSigner::open_connection() {
  close_connection();
  sockaddr_un addr{};
  Status s = signer_impl::fill_sockaddr(socket_path_, &addr);
  if (!s) return s;
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return detail::errno_status("create socket", errno);
  int rc;
  do {
    rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    close_connection();
    return detail::errno_status(fmt::format("connect to signer {}", socket_path_), err);
  }
  Result<note::VerifierKey> key = hello();
  if (!key) {
    close_connection();
    return key.status();
  }
  if (!key_.name.empty() && key.value() != key_) {
    close_connection();
    return {Code::corruption, fmt::format("the signer at {} now has the key {}; it had {}", socket_path_,
                                          key->text(), key_.text())};
  }
  key_ = std::move(key).value();
  return {};
}

FA_INLINE Result<note::VerifierKey> RemoteSigner::hello() {
  bool broken = false;
  Result<std::string> text = exchange_once(R"({"op":"hello"})", &broken);
  if (!text) return text.status();
  Result<nlohmann::json> reply = signer_impl::parse_reply(text.value());
  if (!reply) return reply.status();
  const nlohmann::json& j = reply.value();
  Status s = signer_impl::only_members(j, {"ok", "verifier_key"}, "signer hello reply");
  if (!s || !j["verifier_key"].is_string())
    return Status(Code::corruption, "signer hello reply: expected {\"ok\":true,\"verifier_key\":\"...\"}");
  Result<note::VerifierKey> key = note::parse_verifier_key(j["verifier_key"].get<std::string>());
  if (!key) return Status(Code::corruption, "signer hello reply: " + key.status().message());
  return key;
}

FA_INLINE Result<std::string> RemoteSigner::exchange_once(const std::string& request, bool* broken) {
  if (fd_ < 0) {
    *broken = true;
    return Status(Code::io_error, "signer socket: not connected");
  }
  const auto deadline = signer_impl::Clock::now() + timeout_;
  Status s = signer_impl::send_frame(fd_, request, deadline, broken);
  if (!s) return s;
  return signer_impl::recv_frame(fd_, deadline, broken);
}

FA_INLINE Result<std::string> RemoteSigner::round_trip(const std::string& request) {
  for (int attempt = 0;; ++attempt) {
    if (fd_ < 0) {
      Status s = open_connection();
      if (!s) return s;
    }
    bool broken = false;
    Result<std::string> reply = exchange_once(request, &broken);
    if (reply) return reply;
    // A reply we did not read completely leaves the stream out of step: never reuse the connection.
    close_connection();
    if (!broken || attempt > 0) return reply.status();
  }
}

FA_INLINE Result<std::string> RemoteSigner::sign_checkpoint(const CheckpointRequest& request) {
  if (!signer_impl::valid_origin(request.origin))
    return Status(Code::invalid_argument, "origin must be one line of valid UTF-8 without control characters");
  const std::string body = signer_impl::sign_request_json(request);
  if (body.size() > kSignerMaxMessageBytes)
    return Status(Code::too_large, fmt::format("sign request of {} leaves exceeds the {}-byte message limit; "
                                               "checkpoint more often",
                                               request.leaves.size(), kSignerMaxMessageBytes));
  Result<std::string> text = round_trip(body);
  if (!text) return text.status();
  try {
    Result<nlohmann::json> reply = signer_impl::parse_reply(text.value());
    if (!reply) return reply.status();
    const nlohmann::json& j = reply.value();
    Status s = signer_impl::only_members(j, {"ok", "note"}, "signer sign reply");
    if (!s || !j["note"].is_string())
      return Status(Code::corruption, "signer sign reply: expected {\"ok\":true,\"note\":\"...\"}");
    std::string signed_note = j["note"].get<std::string>();
    Result<note::NoteVerification> v = note::verify_note(signed_note, {key_});
    if (!v || !v->accepted())
      return Status(Code::corruption, fmt::format("signer sign reply: the note is not validly signed by {}",
                                                  note::key_label(key_.name, key_.id)));
    note::Checkpoint expected;
    expected.origin = request.origin;
    expected.size = request.size;
    expected.root = request.root;
    Result<note::Note> parsed = note::parse_note(signed_note);
    if (!parsed || parsed->text != note::format_checkpoint(expected))
      return Status(Code::corruption, "signer sign reply: the note is not the requested checkpoint");
    return signed_note;
  } catch (const std::exception& e) {
    return Status(Code::internal, e.what());
  }
}

// ------------------------------------------------------------------------------------------------------------
// SignServer

FA_INLINE Result<SignServer> SignServer::create(note::SigningKey key, std::string state_path, std::string socket_path) {
  sockaddr_un addr{};
  Status s = signer_impl::fill_sockaddr(socket_path, &addr);
  if (!s) return s;
  SignServer server(std::move(key));
  server.state_path_ = std::move(state_path);
  if (!server.state_path_.empty()) {
    Result<SignerState> state = SignerState::load(server.state_path_);
    if (state) {
      server.state_ = std::move(state).value();
    } else if (state.status().code() != Code::not_found) {
      return state.status();
    }
  }

  struct stat st {};
  if (::lstat(socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return Status(Code::invalid_argument, fmt::format("refusing to replace {}: it is not a socket", socket_path));
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return detail::errno_status("create socket", errno);
    const int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    const int err = errno;
    ::close(probe);
    if (rc == 0) return Status(Code::locked, fmt::format("another signer is listening on {}", socket_path));
    if (err != ECONNREFUSED) return detail::errno_status(fmt::format("probe socket {}", socket_path), err);
    if (::unlink(socket_path.c_str()) != 0 && errno != ENOENT)
      return detail::errno_status(fmt::format("remove stale socket {}", socket_path), errno);
  } else if (errno != ENOENT) {
    return detail::errno_status(fmt::format("stat {}", socket_path), errno);
  }

  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return detail::errno_status("create socket", errno);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    return detail::errno_status(fmt::format("bind {}", socket_path), err);
  }
  // Connections are refused until listen(), so restricting the mode between bind() and listen() leaves no
  // window in which another user could connect (and no process-wide umask change is needed).
  if (::chmod(socket_path.c_str(), 0600) != 0 || ::lstat(socket_path.c_str(), &st) != 0 ||
      ::listen(fd, static_cast<int>(signer_impl::kMaxClients)) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(socket_path.c_str());
    return detail::errno_status(fmt::format("set up socket {}", socket_path), err);
  }
  server.listen_fd_ = fd;
  server.socket_path_ = std::move(socket_path);
  server.socket_dev_ = static_cast<std::uint64_t>(st.st_dev);
  server.socket_ino_ = static_cast<std::uint64_t>(st.st_ino);
  return server;
}

FA_INLINE SignServer::~SignServer() { close_listener(); }

FA_INLINE SignServer::SignServer(SignServer&& other) noexcept
    : key_(std::move(other.key_)),
      state_(std::move(other.state_)),
      state_path_(std::move(other.state_path_)),
      socket_path_(std::move(other.socket_path_)),
      listen_fd_(std::exchange(other.listen_fd_, -1)),
      socket_dev_(other.socket_dev_),
      socket_ino_(other.socket_ino_) {}

FA_INLINE SignServer& SignServer::operator=(SignServer&& other) noexcept {
  if (this != &other) {
    close_listener();
    key_ = std::move(other.key_);
    state_ = std::move(other.state_);
    state_path_ = std::move(other.state_path_);
    socket_path_ = std::move(other.socket_path_);
    listen_fd_ = std::exchange(other.listen_fd_, -1);
    socket_dev_ = other.socket_dev_;
    socket_ino_ = other.socket_ino_;
  }
  return *this;
}

FA_INLINE void SignServer::close_listener() noexcept {
  if (listen_fd_ < 0) return;
  ::close(listen_fd_);
  listen_fd_ = -1;
  struct stat st {};
  if (::lstat(socket_path_.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_dev) == socket_dev_ &&
      static_cast<std::uint64_t>(st.st_ino) == socket_ino_)
    ::unlink(socket_path_.c_str());
}

FA_INLINE std::string SignServer::handle(std::string_view request) {
  using signer_impl::bad;
  using signer_impl::error_reply;
  try {
    const nlohmann::json j = nlohmann::json::parse(request, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return error_reply(bad("request is not a JSON object"));
    const auto op = j.find("op");
    if (op == j.end() || !op->is_string()) return error_reply(bad("request has no string \"op\""));
    const std::string& name = op->get_ref<const std::string&>();
    if (name == "hello") {
      Status s = signer_impl::only_members(j, {"op"}, "hello");
      if (!s) return error_reply(s);
      nlohmann::json reply = nlohmann::json::object();
      reply["ok"] = true;
      reply["verifier_key"] = key_.verifier().text();
      return signer_impl::dump(reply);
    }
    if (name != "sign") return error_reply(bad("unknown op (expected \"hello\" or \"sign\")"));
    Status s = signer_impl::only_members(j, {"op", "origin", "base_size", "base_frontier", "leaves", "size", "root"},
                                         "sign");
    if (!s) return error_reply(s);
    CheckpointRequest r;
    if (!j["origin"].is_string()) return error_reply(bad("origin must be a string"));
    r.origin = j["origin"].get<std::string>();
    s = signer_impl::get_u64(j, "base_size", &r.base_size);
    if (s) s = signer_impl::get_u64(j, "size", &r.size);
    if (s) s = signer_impl::get_hashes(j, "base_frontier", signer_impl::kMaxFrontierNodes, &r.base_frontier);
    if (s) s = signer_impl::get_hashes(j, "leaves", j["leaves"].is_array() ? j["leaves"].size() : 0, &r.leaves);
    if (s) s = signer_impl::get_hash(j["root"], "root", &r.root);
    if (!s) return error_reply(s);
    Result<std::string> signed_note = signer_impl::sign_request(key_, state_, state_path_, r);
    if (!signed_note) return error_reply(signed_note.status());
    nlohmann::json reply = nlohmann::json::object();
    reply["ok"] = true;
    reply["note"] = std::move(signed_note).value();
    return signer_impl::dump(reply);
  } catch (const std::exception& e) {
    return error_reply(Status(Code::internal, e.what()));
  }
}

FA_INLINE Status SignServer::serve(const std::atomic<bool>& stop) {
  if (listen_fd_ < 0) return Status(Code::closed, "sign server: not listening");
  struct Client {
    int fd = -1;
    std::string in;
    bool done = false;
  };
  std::vector<Client> clients;
  auto close_all = [&] {
    for (Client& c : clients) ::close(c.fd);
    clients.clear();
  };
  std::vector<pollfd> fds;
  char buf[1 << 16];
  while (!stop.load(std::memory_order_acquire)) {
    fds.clear();
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const Client& c : clients) fds.push_back({c.fd, POLLIN, 0});
    const int rc = ::poll(fds.data(), fds.size(), signer_impl::kStopPollMs);
    if (rc < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      close_all();
      return detail::errno_status("poll sign server sockets", err);
    }
    if (rc == 0) continue;

    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (fds[i + 1].revents == 0) continue;
      Client& c = clients[i];
      // Read what is there (bounded per round), then answer every complete request in order.
      bool eof = false;
      for (std::size_t got = 0; got < (std::size_t{1} << 20);) {
        const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
          c.in.append(buf, static_cast<std::size_t>(n));
          got += static_cast<std::size_t>(n);
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        eof = true;  // end of stream or a socket error
        break;
      }
      while (!c.done && c.in.size() >= 4) {
        const std::uint32_t len = signer_impl::get_be32(c.in.data());
        const auto deadline = signer_impl::Clock::now() + signer_impl::kServerReplyTimeout;
        bool broken = false;
        if (len > kSignerMaxMessageBytes) {
          // The stream cannot be resynchronised: say why, then hang up.
          const std::string reply = signer_impl::error_reply(
              Status(Code::too_large, fmt::format("message length {} exceeds {}", len, kSignerMaxMessageBytes)));
          (void)signer_impl::send_frame(c.fd, reply, deadline, &broken);
          c.done = true;
          break;
        }
        if (c.in.size() < 4 + std::size_t{len}) break;
        const std::string reply = handle(std::string_view(c.in).substr(4, len));
        c.in.erase(0, 4 + std::size_t{len});
        if (!signer_impl::send_frame(c.fd, reply, deadline, &broken)) c.done = true;
      }
      if (eof) c.done = true;
    }

    if ((fds[0].revents & POLLIN) != 0) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        if (clients.size() >= signer_impl::kMaxClients) {
          ::close(fd);
        } else {
          clients.push_back(Client{fd, {}, false});
        }
      }
      // accept errors (a client that gave up, EMFILE) are transient: poll again.
    }

    for (Client& c : clients)
      if (c.done) ::close(c.fd);
    clients.erase(std::remove_if(clients.begin(), clients.end(), [](const Client& c) { return c.done; }),
                  clients.end());
  }
  close_all();
  return {};
}

}  // namespace fooocus_audit
