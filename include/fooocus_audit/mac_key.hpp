// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file mac_key.hpp
/// The forward-secure MAC key schedule (docs/log-format.md §9.1) and its key files (§10.6): the auditor's
/// seed, the one-way evolving epoch keys, the per-record tag, and the writer's crash-safe state file.
///
/// Every object that holds key bytes is move-only and wipes them when it dies or is moved from. No message
/// of a returned Status contains key material.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/detail/crypto.hpp"

namespace fooocus_audit {
namespace mac {

/// 32 secret bytes (a seed, an epoch key K_e or a record key M_e).
using Key = std::array<std::uint8_t, 32>;

/// First token of a seed file: "fooocus-audit-mac-seed-v1 <64 lowercase hex>\n".
inline constexpr std::string_view kSeedMagic = "fooocus-audit-mac-seed-v1";
/// Magic of a state-file slot.
inline constexpr std::string_view kStateMagic = "FAMACST1";
inline constexpr std::size_t kSlotBytes = 128;
inline constexpr std::size_t kStateFileBytes = 2 * kSlotBytes;

/// The auditor's seed S. Move-only; wiped on destruction.
class Seed {
 public:
  ~Seed();
  Seed(Seed&& other) noexcept;
  Seed& operator=(Seed&& other) noexcept;
  Seed(const Seed&) = delete;
  Seed& operator=(const Seed&) = delete;

  /// 32 fresh bytes from RAND_bytes (Code::internal if OpenSSL fails).
  static Result<Seed> generate();
  /// A seed from its 32 bytes (test vectors, tools).
  static Seed from_bytes(const Key& bytes) noexcept;
  /// Parses the seed-file text; one trailing LF is optional, nothing else may differ
  /// (Code::invalid_argument).
  static Result<Seed> parse(std::string_view text);
  /// Reads a seed file. Refuses a file with group/other permission bits and a writer state file
  /// (Code::invalid_argument); not_found / io_error from the OS.
  static Result<Seed> load(const std::string& path);

  /// Creates `path` (O_EXCL, mode 0600) with text(), fsyncs it and its directory. Fails (io_error) if the
  /// file exists; removes what it created when a later step fails.
  Status save(const std::string& path) const;
  /// The seed-file text. Secret: wipe it (detail::secure_wipe) when done.
  std::string text() const;
  /// The seed bytes. Secret.
  const Key& bytes() const noexcept { return bytes_; }

 private:
  Seed() noexcept : bytes_{} {}
  Key bytes_;
};

/// K_e with its epoch number e. Move-only; wiped on destruction.
class EpochKey {
 public:
  ~EpochKey();
  EpochKey(EpochKey&& other) noexcept;
  EpochKey& operator=(EpochKey&& other) noexcept;
  EpochKey(const EpochKey&) = delete;
  EpochKey& operator=(const EpochKey&) = delete;

  /// K_0 of log `log_id` (its 32 ASCII characters; callers check record::valid_log_id). Throws
  /// std::runtime_error only if OpenSSL fails.
  static EpochKey initial(const Seed& seed, std::string_view log_id);
  /// A key for epoch `epoch` from its bytes (a state file, test vectors).
  static EpochKey from_bytes(std::uint64_t epoch, const Key& bytes) noexcept;
  /// The key a verifier starts from, read from a seed file (epoch 0) or a writer state file (its current
  /// epoch) without changing the file. Refuses a state of another log and group/other-readable files
  /// (Code::invalid_argument); a state file without a valid slot is Code::corruption.
  static Result<EpochKey> load(const std::string& path, std::string_view log_id);

  /// K_{e+1}. Requires epoch() < UINT64_MAX. Throws std::runtime_error only if OpenSSL fails.
  EpochKey next() const;
  /// The key of a later (or the same) epoch, by evolving; Code::invalid_argument for an earlier epoch,
  /// which the one-way schedule cannot reach. Costs one HMAC (~0.7 µs) per epoch crossed: callers bound
  /// `epoch` (a verifier following §9.2 moves one epoch at a time).
  Result<EpochKey> forward_to(std::uint64_t epoch) const;

  std::uint64_t epoch() const noexcept { return epoch_; }
  /// K_e. Secret.
  const Key& bytes() const noexcept { return key_; }
  /// A copy of M_e = HMAC(K_e, "fooocus-audit/v1/mac/record"). Secret: wipe it when done; RecordMac is the
  /// normal way to use it.
  Key record_key() const;

 private:
  EpochKey() noexcept : key_{} {}
  std::uint64_t epoch_ = 0;
  Key key_;
};

/// K_e for a verifier holding the seed: K_0 evolved `epoch` times.
EpochKey key_for_epoch(const Seed& seed, std::string_view log_id, std::uint64_t epoch);

/// Tags of one epoch: HMAC(M_e, d) where d = SHA-256(0x00 ‖ U) is computed by the caller (§9.1).
/// Holds M_e only inside a keyed OpenSSL context (cleansed when it dies). About 150 ns per tag.
/// Not thread-safe (tag() and check() reuse one context); give each thread its own clone().
class RecordMac {
 public:
  /// Derives M_e from the epoch key. Throws std::runtime_error only if OpenSSL fails.
  explicit RecordMac(const EpochKey& key);
  RecordMac(RecordMac&&) noexcept = default;
  RecordMac& operator=(RecordMac&&) noexcept = default;
  RecordMac(const RecordMac&) = delete;
  RecordMac& operator=(const RecordMac&) = delete;

  RecordMac clone() const;
  /// The epoch whose record key this is (the `mac.epoch` of the records it tags).
  std::uint64_t epoch() const noexcept { return epoch_; }
  /// The tag of a record whose digest is d.
  Hash tag(const Hash& d);
  /// True when tag32 (32 bytes) is the tag of d; constant-time comparison.
  bool check(const Hash& d, const std::uint8_t* tag32);

 private:
  RecordMac(std::uint64_t epoch, detail::HmacSha256 hmac) noexcept : epoch_(epoch), hmac_(std::move(hmac)) {}
  std::uint64_t epoch_ = 0;
  detail::HmacSha256 hmac_;
};

/// What a key file is.
enum class KeyFileKind { seed, state };

/// Whether `path` is a seed or a writer state file, from its first bytes and size (a state file may be
/// damaged; WriterState::inspect checks its slots). Refuses group/other-readable files
/// (Code::invalid_argument); a file that is neither is Code::corruption.
Result<KeyFileKind> detect_key_file(const std::string& path);

/// A key file described without its keys, for diagnostics.
struct StateInfo {
  KeyFileKind kind = KeyFileKind::seed;
  std::uint64_t epoch = 0;  ///< 0 for a seed
  std::string log_id;       ///< the log a state is bound to; empty for a seed
};

/// The writer's key file: converted in place from the seed on first use for a log, then evolved in place.
/// Holds an exclusive flock(2) on the file for its lifetime. Move-only; not thread-safe.
///
/// File (§10.6): 256 bytes, two 128-byte slots; slot = "FAMACST1", epoch (u64 big-endian), log_id (16 raw
/// bytes), K_epoch, 32 zero bytes, SHA-256 of the preceding 96 bytes. The state is the valid slot with the
/// highest epoch. A crash during advance() leaves epoch e or e + 1 loadable.
class WriterState {
 public:
  ~WriterState();
  WriterState(WriterState&& other) noexcept;
  WriterState& operator=(WriterState&& other) noexcept;
  WriterState(const WriterState&) = delete;
  WriterState& operator=(const WriterState&) = delete;

  /// Opens the key file for log `log_id` (32 lowercase hex). A seed file is converted in place into a state
  /// file at epoch 0 bound to the log (the seed bytes are overwritten, fdatasync'd); a state file is loaded.
  /// Errors: invalid_argument (bad log_id; group/other permission bits: "chmod 600"; a state file of another
  /// log: "MAC key file belongs to log <id>"), locked (another WriterState holds the file), corruption (no
  /// valid slot, or not a key file), not_found / io_error from the OS.
  static Result<WriterState> open(const std::string& path, std::string_view log_id);
  /// Kind, epoch and log of a key file, without keeping any key (same refusals as open()).
  static Result<StateInfo> inspect(const std::string& path);

  std::uint64_t epoch() const noexcept { return key_.epoch(); }
  const std::string& log_id() const noexcept { return log_id_; }
  /// The tagger of the current epoch. The reference stays valid; advance() re-keys the object it refers to.
  RecordMac& mac() noexcept { return mac_; }

  /// Moves to epoch e + 1 durably: writes the new state into the slot not holding the current one,
  /// fdatasync, zeroes the old slot, fdatasync; only then K_e is wiped from memory. On an error from the
  /// first step the state stays at e; from the second it is e + 1 (the new state is durable, the old slot
  /// may still hold K_e until the next advance). Either way epoch() tells the current epoch.
  Status advance();

 private:
  WriterState(EpochKey key, RecordMac mac) noexcept : key_(std::move(key)), mac_(std::move(mac)) {}
  void close() noexcept;

  int fd_ = -1;
  int slot_ = 0;  // slot holding the current state
  std::string path_;
  std::string log_id_;
  EpochKey key_;
  RecordMac mac_;
};

}  // namespace mac
}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/mac_key-inl.hpp"
#endif
