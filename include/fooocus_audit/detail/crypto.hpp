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

// ---- Key derivation, AEAD and Base64 (PromptSanitizer, docs/privacy.md §5, docs/log-format.md §12.1) ----

/// HKDF-SHA256 (RFC 5869, extract then expand) through EVP_KDF "HKDF": writes out_len (<= 8160) bytes of
/// OKM derived from ikm with `salt` and `info`. Throws std::runtime_error if OpenSSL fails.
void hkdf_sha256(const void* ikm, std::size_t ikm_len, std::string_view salt, std::string_view info, void* out,
                 std::size_t out_len);

/// Bytes of the AES-SIV synthetic IV (RFC 5297 "V") and of the GCM nonce and tag.
inline constexpr std::size_t kSivTagBytes = 16;
inline constexpr std::size_t kGcmNonceBytes = 12;
inline constexpr std::size_t kGcmTagBytes = 16;

/// AES-256-SIV (RFC 5297, EVP "AES-256-SIV"): deterministic authenticated encryption under a 64-byte key
/// (K1 for S2V/CMAC, K2 for CTR), one associated-data component `ad`. Returns V (16 bytes) || C, the RFC's
/// output order. The same key, ad and plaintext always give the same bytes. The plaintext must not be empty
/// (OpenSSL 3.0's SIV provider cannot encrypt an empty message). Throws std::runtime_error for an empty
/// plaintext or if OpenSSL fails.
std::string aes256_siv_encrypt(const std::uint8_t* key64, std::string_view ad, std::string_view plaintext);
/// Inverse of aes256_siv_encrypt. False, and *out empty, when the input is shorter than V or the tag does
/// not verify (wrong key, wrong ad, altered bytes).
bool aes256_siv_decrypt(const std::uint8_t* key64, std::string_view ad, std::string_view v_and_c,
                        std::string* out);

/// AES-256-GCM (EVP "AES-256-GCM") under a 32-byte key with a fresh random 96-bit nonce. Returns
/// nonce (12) || C || tag (16). Throws std::runtime_error if OpenSSL fails.
std::string aes256_gcm_encrypt(const std::uint8_t* key32, std::string_view ad, std::string_view plaintext);
/// Inverse of aes256_gcm_encrypt; false, and *out empty, when the input is too short or the tag does not
/// verify.
bool aes256_gcm_decrypt(const std::uint8_t* key32, std::string_view ad, std::string_view nonce_c_tag,
                        std::string* out);

/// RFC 4648 §4 Base64 with padding ("+/", "=").
std::string b64_encode(const void* data, std::size_t n);
/// RFC 4648 §5 base64url without padding ("-_").
std::string b64url_encode(const void* data, std::size_t n);
/// Strict decoders: canonical input only (correct padding for b64, none for b64url, unused bits zero).
/// False on anything else.
bool b64_decode(std::string_view text, std::string* out);
bool b64url_decode(std::string_view text, std::string* out);

}  // namespace detail
}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/detail/crypto-inl.hpp"
#endif
