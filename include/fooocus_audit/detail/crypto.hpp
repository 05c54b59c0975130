// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file detail/crypto.hpp
/// Thin RAII wrappers over OpenSSL EVP. Nothing else in the library calls OpenSSL directly.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fooocus_audit/common.hpp"

namespace fooocus_audit {

/// A SHA-256 output.
using Hash = std::array<std::uint8_t, 32>;

namespace detail {

/// Incremental SHA-256 over EVP. Reusable: final() resets it for the next message.
/// Not thread-safe; give each thread its own.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  /// Moves the running digest; the moved-from object may only be destroyed or assigned to.
  Sha256(Sha256&& other) noexcept : ctx_(other.ctx_) { other.ctx_ = nullptr; }
  Sha256& operator=(Sha256&& other) noexcept;

  void update(const void* data, std::size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  /// Writes the digest and resets the context for a new message.
  Hash final();
  /// Makes `out` an independent copy of this running digest (EVP_MD_CTX_copy_ex): both go on from the
  /// bytes hashed so far. Reusing `out` avoids an allocation. Throws std::runtime_error if OpenSSL fails.
  void copy_to(Sha256& out) const;

 private:
  void* ctx_;  // EVP_MD_CTX*
};

/// SHA-256 of one buffer (one-shot EVP_Digest).
Hash sha256(const void* data, std::size_t n);
inline Hash sha256(std::string_view s) { return sha256(s.data(), s.size()); }

/// HMAC-SHA256 (EVP_MAC) of data under key. Throws std::runtime_error if OpenSSL fails.
Hash hmac_sha256(const void* key, std::size_t key_len, std::string_view data);

/// HMAC-SHA256 (EVP_MAC) under one fixed key, for many short messages: the key is absorbed once and every
/// mac() restarts from the keyed state (about 150 ns for a 32-byte message, against 850 ns for
/// hmac_sha256()). OpenSSL cleanses the key copy it holds when the object dies. Not thread-safe: mac()
/// reuses one context; give each thread its own clone(). Throws std::runtime_error if OpenSSL fails.
class HmacSha256 {
 public:
  /// An empty object: only assignment and destruction are allowed.
  HmacSha256() noexcept = default;
  HmacSha256(const void* key, std::size_t key_len);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;
  HmacSha256(HmacSha256&& other) noexcept : ctx_(other.ctx_) { other.ctx_ = nullptr; }
  HmacSha256& operator=(HmacSha256&& other) noexcept;

  /// A second context under the same key (EVP_MAC_CTX_dup).
  HmacSha256 clone() const;
  /// HMAC of one message under the key.
  Hash mac(const void* data, std::size_t n);

 private:
  void* ctx_ = nullptr;  // EVP_MAC_CTX*, keyed
};

/// Cryptographically secure random bytes (RAND_bytes). Throws std::runtime_error on failure.
void random_bytes(void* out, std::size_t n);

/// Constant-time equality for MACs and tags (CRYPTO_memcmp).
bool constant_time_equal(const void* a, const void* b, std::size_t n) noexcept;

/// Overwrites memory in a way the compiler may not elide (OPENSSL_cleanse).
void secure_wipe(void* p, std::size_t n) noexcept;

/// Lowercase hexadecimal of bytes.
std::string to_hex(const std::uint8_t* p, std::size_t n);
inline std::string to_hex(const Hash& h) { return to_hex(h.data(), h.size()); }
/// Appends lowercase hex to out (no allocation beyond out's growth).
void append_hex(std::string& out, const std::uint8_t* p, std::size_t n);
/// Parses exactly 64 lowercase hex characters. Returns false on any other input.
bool parse_hash_hex(std::string_view s, Hash* out) noexcept;

}  // namespace detail
}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/detail/crypto-inl.hpp"
#endif
