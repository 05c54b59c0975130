// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file signer.hpp
/// Checkpoint signers: whoever holds the log's signing key signs C2SP checkpoints (signed_note.hpp) of the
/// log, and only checkpoints that extend the ones it signed before. The key can stay in the writer's process
/// (LocalSigner) or live in a separate signer process (SignServer) that the writer reaches over a Unix domain
/// socket (RemoteSigner), so that an intruder in the writer can neither read the key nor obtain a signature
/// on a rewritten history (separation of duties).
///
/// Signing policy, the same for both: a signer signs the checkpoint of a request only when
///  - the origin is "<its key name>/<log_id>" (note::checkpoint_origin, log_id 32 lowercase hex);
///  - the leaves of the request, appended to its base frontier, give exactly the claimed size and root;
///  - the tree extends the last checkpoint it signed for that origin (SignerState::check_and_advance):
///    no smaller size (rollback) and the same root at the last signed size (no fork).
/// An origin the signer has never signed for is accepted as first use: deleting the state file of a signer
/// resets its memory, so keep that file where the writer cannot reach it.
///
/// Wire protocol of SignServer / RemoteSigner (also docs/signer-protocol.md), version 1:
///   Unix domain stream socket, created mode 0600. Each message, in both directions, is a 4-byte big-endian
///   length n (1 <= n <= 64 MiB) followed by n bytes of one UTF-8 JSON object. One reply per request, in order.
///   {"op":"hello"}
///     -> {"ok":true,"verifier_key":"<name>+<hex id>+<base64>"}
///   {"op":"sign","origin":"<origin>","base_size":<u64>,"base_frontier":["<64 hex>",...],
///    "leaves":["<64 hex>",...],"size":<u64>,"root":"<64 hex>"}
///     -> {"ok":true,"note":"<the signed checkpoint note>"}
///   any failure
///     -> {"ok":false,"code":"<code_name(Code)>","message":"<why>"}
///   Members other than those listed are errors. A malformed request gets an error reply and the connection
///   stays usable; a length over 64 MiB gets an error reply and the connection is closed.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/signed_note.hpp"

namespace fooocus_audit {

/// What the writer sends to have the checkpoint of its log at `size` signed. The writer knows all of it; the
/// signer recomputes the root from it instead of trusting the claim.
struct CheckpointRequest {
  std::string origin;               ///< note::checkpoint_origin(key name, log_id)
  std::uint64_t base_size = 0;      ///< a tree size the request starts from (<= the last signed size)
  std::vector<Hash> base_frontier;  ///< merkle::Frontier::nodes() at base_size
  std::vector<Hash> leaves;         ///< leaf (chain) hashes of records base_size .. size-1
  std::uint64_t size = 0;           ///< tree size of the checkpoint
  Hash root{};                      ///< RFC 6962 root at size
};

/// Largest message of the signer protocol (either direction). A sign request carries ~67 bytes per leaf, so
/// one request covers up to about a million new records: checkpoint more often than that.
inline constexpr std::uint32_t kSignerMaxMessageBytes = 64u << 20;

/// Signs checkpoints of logs. Thread-compatible: calls on one object must not overlap (one caller at a time,
/// or the caller's own mutex); different objects are independent.
class CheckpointSigner {
 public:
  virtual ~CheckpointSigner();
  /// The key checkpoints are signed with (what verifiers must trust).
  virtual const note::VerifierKey& verifier_key() const = 0;
  /// The complete signed note of note::format_checkpoint({origin, size, root}) (no extension lines).
  /// invalid_argument: a malformed request, an origin not of this key, leaves that do not give the root, or
  /// leaves missing between the last signed size and base_size. corruption: a rollback or a fork of what this
  /// signer signed before. io_error: the state could not be persisted, or the signer process is unreachable.
  virtual Result<std::string> sign_checkpoint(const CheckpointRequest& request) = 0;
};

/// The signer's memory: per origin, the tree size and frontier of the last checkpoint it signed. Not
/// thread-safe; copyable. A default-constructed state is empty and lives in memory only.
class SignerState {
 public:
  struct Entry {
    std::uint64_t size = 0;
    std::vector<Hash> frontier;  ///< merkle::Frontier::nodes() at size
  };

  /// Checks that `request` may be signed and, only if so, remembers its size and frontier for its origin:
  ///  - base_frontier has one hash per set bit of base_size, leaves.size() == size - base_size, and the
  ///    leaves appended to the base frontier give `root` (else invalid_argument "root does not match leaves");
  ///  - for an origin signed before at size s: size >= s (else corruption, rollback), base_size <= s (else
  ///    invalid_argument, a gap: the leaves after s are missing), and the root of the request's tree at size s
  ///    equals the root signed at s (else corruption, fork). Messages name both sizes.
  /// An unknown origin is accepted (first use). On any error the state is unchanged.
  Status check_and_advance(const CheckpointRequest& request);

  /// The last signed checkpoint of origin, or nullptr when there is none.
  const Entry* find(std::string_view origin) const;
  const std::map<std::string, Entry, std::less<>>& entries() const noexcept { return entries_; }

  /// {"origins":{"<origin>":{"frontier":["<64 hex>",...],"size":<n>},...},"v":1}
  std::string to_json() const;
  /// Parses to_json()'s output strictly (invalid_argument on anything else).
  static Result<SignerState> parse(std::string_view json);
  /// Reads a state file. not_found when it does not exist (the caller decides whether that is first use).
  static Result<SignerState> load(const std::string& path);
  /// Atomically replaces path: a temporary file (mode 0600) written and fsynced, renamed over path, then the
  /// directory fsynced. After a crash the file holds the old or the new state, never a mix.
  Status save(const std::string& path) const;

 private:
  std::map<std::string, Entry, std::less<>> entries_;
};

/// A signer in the caller's process: the key, the state, and an optional state file.
class LocalSigner final : public CheckpointSigner {
 public:
  /// State in memory only (it starts from `state` and is lost with the object).
  explicit LocalSigner(note::SigningKey key, SignerState state = SignerState());
  /// State persisted to state_path after every advance (before the signature is returned). A missing file is
  /// first use; an unreadable or malformed one is an error.
  static Result<std::unique_ptr<LocalSigner>> open(note::SigningKey key, std::string state_path);

  const note::VerifierKey& verifier_key() const override { return key_.verifier(); }
  Result<std::string> sign_checkpoint(const CheckpointRequest& request) override;
  const SignerState& state() const noexcept { return state_; }

 private:
  note::SigningKey key_;
  SignerState state_;
  std::string state_path_;
};

/// Client of a SignServer. Thread-compatible (one call at a time). On a broken connection (closed, reset) it
/// reconnects once and repeats the request; that is safe because signing the same checkpoint twice is
/// allowed. Every reply is validated: the returned note must verify under the key the server announced at
/// connect and its text must be exactly the requested checkpoint.
class RemoteSigner final : public CheckpointSigner {
 public:
  /// Connects to socket_path and asks the server for its verifier key ({"op":"hello"}). `timeout` bounds
  /// each exchange (send and reply). A reconnect must find the same key (else Code::corruption).
  static Result<std::unique_ptr<RemoteSigner>> connect(const std::string& socket_path,
                                                       std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~RemoteSigner() override;
  RemoteSigner(const RemoteSigner&) = delete;
  RemoteSigner& operator=(const RemoteSigner&) = delete;

  const note::VerifierKey& verifier_key() const override { return key_; }
  /// Errors reported by the server keep their code, the message starts with "signer: ". io_error when the
  /// server cannot be reached or does not answer in time; corruption when its reply does not verify.
  Result<std::string> sign_checkpoint(const CheckpointRequest& request) override;

 private:
  RemoteSigner() = default;
  Status open_connection();
  void close_connection() noexcept;
  /// One request, one reply; reconnects once if the connection turns out to be broken.
  Result<std::string> round_trip(const std::string& request);
  Result<std::string> exchange_once(const std::string& request, bool* broken);
  Result<note::VerifierKey> hello();

  std::string socket_path_;
  std::chrono::milliseconds timeout_{30000};
  int fd_ = -1;
  note::VerifierKey key_;
};

/// The signer process's side: holds the key and the state file, answers RemoteSigners on a Unix socket.
/// Never logs or sends key material. Movable; not thread-safe (serve() runs on one thread).
class SignServer {
 public:
  /// Loads the state from state_path (a missing file is first use; an empty path keeps the state in memory,
  /// for tests) and listens on socket_path, created with mode 0600. Refuses to replace anything that is not a
  /// socket (invalid_argument) or a socket another server listens on (Code::locked); removes a stale one.
  /// Put the socket in a directory only the writer's and the signer's users can enter.
  static Result<SignServer> create(note::SigningKey key, std::string state_path, std::string socket_path);
  ~SignServer();
  SignServer(SignServer&& other) noexcept;
  SignServer& operator=(SignServer&& other) noexcept;
  SignServer(const SignServer&) = delete;
  SignServer& operator=(const SignServer&) = delete;

  /// Accepts clients and answers their requests until `stop` is true (observed at least every 100 ms), then
  /// closes the connections and returns OK. Requests are handled one at a time, in arrival order (several
  /// clients may stay connected, up to 16). The state is saved after each advance, before the reply.
  /// A malformed request gets an error reply; only a failing poll(2) ends serve() with an error.
  Status serve(const std::atomic<bool>& stop);

  const note::VerifierKey& verifier_key() const noexcept { return key_.verifier(); }
  const std::string& socket_path() const noexcept { return socket_path_; }
  const SignerState& state() const noexcept { return state_; }

  /// The reply (JSON text) to one request (JSON text): what serve() sends back. Exposed for tests.
  std::string handle(std::string_view request);

 private:
  explicit SignServer(note::SigningKey key) : key_(std::move(key)) {}
  void close_listener() noexcept;

  note::SigningKey key_;
  SignerState state_;
  std::string state_path_;
  std::string socket_path_;
  int listen_fd_ = -1;
  std::uint64_t socket_dev_ = 0, socket_ino_ = 0;  // what we bound, so that we only unlink our own socket
};

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/signer-inl.hpp"
#endif
